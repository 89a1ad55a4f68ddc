"""Second derivatives at the points where a first-derivative rule has a
special case: the Hessian is symmetric (one value, or NaN on both sides),
equals the limit where the limit exists (sympy's), and each NaN comes with
a warning that says why."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp

import cgrad

X, Y = sp.symbols("x y", real=True)

# x^y along x = 0, where d/dy's rule takes 0 (x^y*log(x) is 0*-inf there).
POWER_POINTS = [(0.0, 3.0), (0.0, 2.0), (0.0, 1.5), (0.0, 1.0), (0.0, 0.5), (0.0, 0.0),
                (0.0, -1.0), (2.0, 0.0), (2.0, 3.0), (0.5, 1.0)]  # fmt: skip


def _limit(expression, x: float, y: float) -> float | None:
    """The limit of ``expression`` at (x, y) along x -> x from above with y
    fixed (x^y is real only there when x = 0), or None where it is not a
    finite number."""
    along = expression.subs(Y, sp.nsimplify(y))
    found = sp.limit(along, X, sp.nsimplify(x), "+") if x == 0 else along.subs(X, x)
    return float(found) if found.is_finite else None


def _symmetric(matrix: dict) -> None:
    for a in matrix:
        for b in matrix:
            one, other = matrix[a][b], matrix[b][a]
            assert one == other or (math.isnan(one) and math.isnan(other)), (a, b, matrix)


@pytest.mark.parametrize(("x", "y"), POWER_POINTS)
def test_the_hessian_of_a_power_is_symmetric_and_its_limit(x, y):
    function = cgrad.compile("x^y")
    matrix, warnings = function.hessian(x=x, y=y)
    _symmetric(matrix)
    power = X**Y
    for a, u in (("x", X), ("y", Y)):
        for b, v in (("x", X), ("y", Y)):
            expected = _limit(sp.diff(power, u, v), x, y)
            found = matrix[a][b]
            if expected is not None and not math.isnan(found):
                assert found == pytest.approx(expected, abs=1e-12), (a, b)
            if math.isnan(found):
                assert warnings, (a, b)
    if y > 1 or x != 0:  # the limits all exist: every entry is one
        assert not any(math.isnan(v) for row in matrix.values() for v in row.values())


def test_eval_gives_the_limits_of_x_to_the_y_at_0_2(cli):
    result = cli("eval", "x^y", "x=0", "y=2", "--hessian", "--json")
    document = json.loads(result.stdout)
    assert document["hessian"] == {"x": {"x": 2.0, "y": 0.0}, "y": {"x": 0.0, "y": 0.0}}
    # (No warning of the guard's own step and abs: they are no program's.)
    assert document["warnings"] == []


def test_two_orders_that_differ_are_nan_on_both_sides_with_both_values(cli):
    # At (0, 1) x^(y-1)*(1 + y*log(x)) diverges: one order meets 0^0 = 1,
    # the other x^y*log(x)'s guard.
    document = json.loads(cli("eval", "x^y", "x=0", "y=1", "--hessian", "--json").stdout)
    assert document["hessian"]["x"]["y"] == document["hessian"]["y"]["x"] == "NaN"
    assert document["warnings"][-1]["message"] == (
        "in the second derivatives, ∂²f/∂x∂y is NaN: by x then y it is 1, by y then x 0; "
        "where the order matters no one number is the entry"
    )


def test_hypot_has_no_second_derivatives_at_the_origin_and_says_so(cli):
    document = json.loads(cli("eval", "hypot(x,y)", "x=0", "y=0", "--hessian", "--json").stdout)
    assert document["hessian"] == {"x": {"x": "NaN", "y": "NaN"}, "y": {"x": "NaN", "y": "NaN"}}
    assert document["warnings"][-1] == {
        "type": "kink",
        "message": "in the second derivatives, `hypot(x,y)` (node @2, line 1, column 1) is at a "
        "kink: its second derivatives do not exist there (they grow as 1/hypot)",
        "node": 2,
        "line": 1,
        "column": 1,
    }


def test_a_kink_whose_second_derivatives_are_numbers_says_nothing_more(cli):
    # hypot(x, y)^2 is x^2 + y^2: its Hessian at the origin is a number.
    document = json.loads(cli("eval", "hypot(x,y)^2", "x=0", "y=0", "--hessian", "--json").stdout)
    assert document["hessian"] == {"x": {"x": 2.0, "y": 0.0}, "y": {"x": 0.0, "y": 2.0}}
    assert [w["message"] for w in document["warnings"] if "second" in w["message"]] == []


def test_batch_gives_each_row_the_hessian_eval_gives(cli):
    rows = "x,y\n0,2\n0,1\n0,0\n2,3\n0,0.5\n"
    result = cli("batch", "-e", "x^y", "--hessian", "--format", "ndjson", input=rows)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        point = record["inputs"]
        alone = json.loads(
            cli("eval", "x^y", f"x={point['x']}", f"y={point['y']}", "--hessian", "--json").stdout
        )
        assert record["hessian"] == alone["hessian"]
        assert record.get("warnings", []) == alone["warnings"]
    assert records[0]["hessian"] == {"x": {"x": 2.0, "y": 0.0}, "y": {"x": 0.0, "y": 0.0}}


def test_a_square_root_written_as_a_power_keeps_ieee_pow_at_minus_infinity(cli):
    # x^0.5 is +inf at -inf (IEEE's pow), its slope 0.5*x^-0.5 is 0 there:
    # the Hessian's formula keeps the power (sqrt(-inf) would be NaN).
    power = json.loads(cli("eval", "x^0.5", "x=-inf", "--hessian", "--json").stdout)
    assert (power["value"], power["gradient"]["x"], power["hessian"]["x"]["x"]) == (
        "Infinity",
        0.0,
        -0.0,
    )
    # sqrt is NaN there, and so are its derivatives.
    root = json.loads(cli("eval", "sqrt(x)", "x=-inf", "--hessian", "--json").stdout)
    assert root["hessian"]["x"]["x"] == "NaN"
