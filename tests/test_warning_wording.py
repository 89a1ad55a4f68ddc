"""The words of an evaluation's warnings (cgrad.autodiff.diagnostics): a
pole is not called a kink, and a -0 is written -0 where its sign decides
the result shown."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cgrad


def warnings_of(cli, *args: str) -> list[dict]:
    result = cli("eval", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["warnings"]


def test_a_pole_of_a_power_is_a_non_finite_value_not_a_kink(cli):
    assert warnings_of(cli, "x^-1", "x=0") == [
        {
            "type": "non_finite_value",
            "message": "`x^-1` (node @3, line 1, column 1) is Infinity: 0 ^ -1 = Infinity",
            "node": 3,
            "line": 1,
            "column": 1,
        }
    ]


def test_a_power_below_1_at_0_is_still_a_kink(cli):
    assert [w["type"] for w in warnings_of(cli, "x^0.5", "x=0")] == ["kink"]


def test_over_many_points_only_the_finite_ones_are_at_a_kink():
    # x^y at x = 0: y = -1 is a pole, y = 0.5 a kink.
    r = cgrad.compile("x^y").evaluate(x=np.array([0.0, 0.0]), y=np.array([-1.0, 0.5]))
    kinds = {w.type: w.points.tolist() for w in r.warnings}
    assert kinds["kink"] == [False, True]
    assert kinds["non_finite_value"] == [True, False]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "0.5/sqrt(x)",
            "`0.5/sqrt(x)` (node @3, line 1, column 1) is -Infinity: 0.5 / -0 = -Infinity",
        ),
        ("1/x", "`1/x` (node @2, line 1, column 1) is -Infinity: 1 / -0 = -Infinity"),
        # log(-0) is log(0): the sign decides nothing, and 0 is written.
        ("log(x)", "`log(x)` (node @1, line 1, column 1) is -Infinity: log(0) = -Infinity"),
    ],
)
def test_a_negative_zero_is_written_where_its_sign_decides(cli, text, said):
    messages = [w["message"] for w in warnings_of(cli, text, "x=-0.0")]
    assert said in messages


def test_a_negative_zero_alone_is_still_written_0(cli):
    result = cli("eval", "1/x", "x=-0.0")
    assert "x           0" in result.stdout


def test_a_rule_node_names_its_own_op_not_an_argument_of_the_users():
    # sqrt has one argument: "with respect to argument 2" was the rule's
    # 0.5 / sqrt(x), a div, spoken of as if it were sqrt's.
    result = cgrad.compile("sqrt(x)").derivative("x").evaluate({"x": 1e-320})
    messages = [w.message for w in result.warnings if w.type == "non_finite_derivative"]
    assert len(messages) == 1
    assert messages[0].startswith(
        "the derivative rule of `sqrt(x)` (node @1, line 1, column 1) has a derivative of "
        "-Infinity with respect to argument 2 of the rule's div, at 0.5 / "
    )
