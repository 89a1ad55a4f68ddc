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


# max and min of three or more: the printed rule's indicator of the chosen
# argument, step(arg - max(...), 1), is at its jump wherever that argument
# is chosen. It is the rule's own (quiet): away from a tie nothing warns,
# and a real tie is told by the max itself, which the Hessian's formula holds.
Z = sp.Symbol("z", real=True)
EXTREMA = [
    ("max(x, y, z)*x", sp.Max(X, Y, Z) * X, {"x": 1.0, "y": 2.0, "z": 3.0}),
    ("max(x, y, z)*x", sp.Max(X, Y, Z) * X, {"x": 3.0, "y": 2.0, "z": -1.0}),
    ("min(x, y, z)^2*y", sp.Min(X, Y, Z) ** 2 * Y, {"x": 0.5, "y": -2.0, "z": 3.0}),
    ("max(x, x, y)*x", sp.Max(X, Y) * X, {"x": 1.0, "y": 2.0}),
    ("max(x, x, y)*x", sp.Max(X, Y) * X, {"x": 3.0, "y": 1.0}),
]


def _sympy_hessian(expression, point: dict) -> dict:
    at = {sp.Symbol(n, real=True): sp.Float(v) for n, v in point.items()}
    return {
        a: {b: float(sp.diff(expression, sp.Symbol(a, real=True), sp.Symbol(b, real=True)).subs(at))
            for b in point}
        for a in point
    }  # fmt: skip


@pytest.mark.parametrize(("program", "expression", "point"), EXTREMA)
def test_the_hessian_of_a_wide_extremum_warns_of_no_tie_where_there_is_none(
    cli, program, expression, point
):
    given = [f"{name}={value}" for name, value in point.items()]
    document = json.loads(cli("eval", program, *given, "--hessian", "--json").stdout)
    assert document["warnings"] == []
    assert document["hessian"] == _sympy_hessian(expression, point)
    matrix, warnings = cgrad.compile(program).hessian(point)
    assert (matrix, warnings) == (document["hessian"], [])


def test_batch_hessian_of_a_wide_extremum_warns_of_no_tie_where_there_is_none(cli):
    rows = "x,y\n1,2\n3,1\n-1,0.5\n"
    result = cli("batch", "-e", "max(x,x,y)*x", "--hessian", "--format", "ndjson", input=rows)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert ["warnings" in record for record in records] == [False, False, False]
    for record in records:
        expected = _sympy_hessian(sp.Max(X, Y) * X, record["inputs"])
        assert record["hessian"] == expected


def test_a_real_tie_of_a_wide_extremum_still_warns_in_the_hessian(cli):
    document = json.loads(
        cli("eval", "max(x, y, z)*x", "x=1", "y=1", "z=0", "--hessian", "--json").stdout
    )
    assert [w["message"] for w in document["warnings"]] == [
        "`max(x, y, z)` (node @3, line 1, column 1) is at a kink, max(1, 1, 0); by convention, "
        "tied arguments share the slope equally (1/n each) (one-sided: in argument 1, 0 from "
        "the left, 1 from the right; in argument 2, 0 from the left, 1 from the right; in "
        "argument 3, 0 from the left, 0 from the right)"
    ]
    assert document["hessian"]["x"] == {"x": 1.0, "y": 0.5, "z": 0.0}
    # The library's Hessian alone (no first derivatives' warnings known):
    # the tie is the max's own, in the second derivatives.
    _, warnings = cgrad.compile("max(x, y, z)*x").hessian(x=1, y=1, z=0)
    assert [w.message for w in warnings] == [
        "in the second derivatives, `max(x, y, z)` (node @3, line 1, column 1) is at a kink, "
        "max(1, 1, 0); by convention, tied arguments share the slope equally (1/n each) "
        "(one-sided: in argument 1, 0 from the left, 1 from the right; in argument 2, 0 from "
        "the left, 1 from the right; in argument 3, 0 from the left, 0 from the right)"
    ]
    # max(x, x, y) is max(x, y) (a node once): its warnings are max(x, y)'s,
    # the two-argument rule's step at its jump included.
    rows = "x,y\n1,1\n"
    said = {}
    for program in ("max(x,x,y)*x", "max(x,y)*x"):
        result = cli("batch", "-e", program, "--hessian", "--format", "ndjson", input=rows)
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        said[program] = [w["message"].replace(program[:-2], "M") for w in record["warnings"]]
    assert said["max(x,x,y)*x"] == said["max(x,y)*x"]
    assert said["max(x,y)*x"][0] == (
        "`M` (node @2, line 1, column 1) is at a kink, max(1, 1); by convention, "
        "tied arguments share the slope equally (1/n each) (one-sided: in argument 1, 0 from "
        "the left, 1 from the right; in argument 2, 0 from the left, 1 from the right)"
    )


def test_a_wide_extremum_leaves_the_rounding_of_another_entry_one_number(cli):
    # atan2's ∂²/∂x∂y is 0 at x = y = 1, computed as 1.1e-16 and -1.1e-16 in
    # the two orders: rounding, one entry. The indicator's false kink made
    # them two conventions, the entry NaN, with a warning of the order.
    document = json.loads(
        cli("eval", "atan2(y, x) + max(x, y, 2)", "x=1", "y=1", "--hessian", "--json").stdout
    )
    assert document["warnings"] == []
    entry = document["hessian"]["x"]["y"]
    assert entry == document["hessian"]["y"]["x"]
    assert entry == pytest.approx(0.0, abs=1e-15)
