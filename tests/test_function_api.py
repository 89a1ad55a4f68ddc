"""`cgrad.Function`'s methods beside ``evaluate``: ``hessian`` takes its
values as ``evaluate`` does, and a derivative's repr says what it is."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import cgrad

TEXT = "x^3*y + sin(z)"
POINT = {"x": 1.5, "y": -2.0, "z": 0.25}


def test_the_hessian_takes_keywords_a_mapping_or_both_and_matches_eval(cli):
    f = cgrad.compile(TEXT)
    values = [f"{name}={value}" for name, value in POINT.items()]
    oracle = json.loads(cli("eval", TEXT, *values, "--hessian", "--json").stdout)["hessian"]
    assert f.hessian(POINT) == (oracle, [])
    assert f.hessian(**POINT) == (oracle, [])
    assert f.hessian({"x": 1.5}, y=-2.0, z=0.25) == (oracle, [])
    # wrt None is every input, as for evaluate; a string is split at commas.
    assert f.hessian(POINT, None) == (oracle, [])
    assert f.hessian(POINT, wrt="x, z")[0] == {
        "x": {"x": oracle["x"]["x"], "z": oracle["x"]["z"]},
        "z": {"x": oracle["z"]["x"], "z": oracle["z"]["z"]},
    }


@pytest.mark.parametrize(
    ("call", "message", "kind"),
    [
        (
            lambda f: f.hessian({"x": np.array([1.0, 2.0]), "y": 1.0, "z": 0.0}),
            "the Hessian is taken at one point: one number per input, not an array (for x)",
            "invalid_value",
        ),
        (
            lambda f: f.hessian(5),
            "the values must be a mapping of input names to numbers, not 5",
            "usage_error",
        ),
        (
            lambda f: f.hessian(POINT, 5),
            "wrt must be input names, a list of them or one string, not 5",
            "usage_error",
        ),
        (lambda f: f.hessian(x=1.0, y=2.0), "missing a value for z", "missing_value"),
        (
            lambda f: f.hessian(POINT, x=1.0),
            "a value for x is given twice",
            "duplicate_value",
        ),
        (
            lambda f: f.hessian(POINT, ["w"]),
            "cannot differentiate with respect to w: it is not an input",
            "unknown_input",
        ),
    ],
)
def test_what_the_hessian_cannot_take_is_an_input_error(call, message, kind):
    with pytest.raises(cgrad.InputError) as raised:
        call(cgrad.compile(TEXT))
    assert (raised.value.message, raised.value.type) == (message, kind)


def test_the_command_line_hessian_is_unchanged(cli):
    result = cli("eval", "x^3*y", "x=1", "y=2", "--hessian", "--json")
    assert json.loads(result.stdout)["hessian"] == cgrad.compile("x^3*y").hessian(x=1, y=2)[0]


def test_a_derivatives_repr_shows_what_it_is_and_its_inputs():
    d = cgrad.compile("x*y").derivative("x")
    assert repr(d) == "<cgrad.Function 'y': the derivative of 'x*y' by x; inputs ('x', 'y')>"
    assert repr(d.derivative("y")) == (
        "<cgrad.Function '1': the derivative of 'y' by y; inputs ('x', 'y')>"
    )
    assert repr(pickle.loads(pickle.dumps(d))) == repr(d)
    assert d.evaluate(x=1.0, y=2.0).value == 2.0


def test_a_compiled_functions_repr_is_still_the_call_that_makes_it():
    assert repr(cgrad.compile("x*y + 1")) == "cgrad.compile('x*y + 1')"


def test_a_hessian_row_at_many_points_is_the_hessian_at_each():
    f = cgrad.compile("x^y + sin(x*y)")
    xs, ys = np.array([0.0, 0.5, 2.0, -1.5]), np.array([2.0, 3.0, 0.5, 2.0])
    for name in ("x", "y"):
        row = f.hessian_row(name).evaluate(x=xs, y=ys).gradient
        for k in range(len(xs)):
            matrix, _ = f.hessian(x=xs[k], y=ys[k])
            for other in ("x", "y"):
                expected = pytest.approx(matrix[name][other], rel=1e-12, abs=1e-300, nan_ok=True)
                assert row[other][k] == expected  # (NaN at x < 0: log(x))
    # At x = 0 the row by y holds the limits where the derivative's own
    # derivative is NaN (its rule has a special case there).
    power = cgrad.compile("x^y")
    assert power.hessian_row("y").evaluate(x=0.0, y=2.0).gradient == {"x": 0.0, "y": 0.0}
    plain = power.derivative("y").evaluate(x=0.0, y=2.0).gradient
    assert np.isnan(plain["x"]) and np.isnan(plain["y"])
