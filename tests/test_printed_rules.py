"""The op table's rules as `cgrad diff` prints them: the forms a person
writes (step for the piecewise rules, sqrt' without abs), the constants pi,
e, log(2) and 2/sqrt(pi) kept by name, folded only when asked, and the
printed piecewise forms giving cgrad's own numbers at kinks and ties.
"""

from __future__ import annotations

import itertools
import json
import math
import random

import numpy as np
import pytest

import cgrad
from cgrad.ops import OPS


def printed(text: str, name: str = "x", **options) -> str:
    """The formula `cgrad diff` prints for d text / d name, as one program."""
    found = cgrad.compile(text).formulas(**options)
    return "; ".join(found.derivatives[name])


# --------------------------------------------------------------------------
# The rows of issue 15 that are the rules' (the simplifier may still change
# the shape around them; the rules' own parts are what is pinned here).


@pytest.mark.parametrize(
    ("text", "name", "formula"),
    [
        ("e^x", "x", "e^x"),
        ("sin(pi*x)", "x", "pi*cos(pi*x)"),
        ("2^x", "x", "log(2)*2^x"),
        ("max(x, y)", "x", "step(x - y, 0.5)"),
        ("max(x, y)", "y", "step(y - x, 0.5)"),
        ("min(x, y)", "x", "step(y - x, 0.5)"),
        ("erf(x)", "x", "2/sqrt(pi)*exp(-x^2)"),
        ("relu(x)", "x", "step(x, 0)"),
        ("abs(x)", "x", "sign(x)"),
        ("sign(x)", "x", "0"),
        ("sqrt(x)", "x", "0.5/sqrt(x)"),
        ("log2(x)", "x", "log2(e)/x"),
        ("log10(x)", "x", "log10(e)/x"),
    ],
)
def test_golden_printed_rules(text, name, formula):
    assert printed(text, name) == formula


@pytest.mark.parametrize("text", ["log2(x)", "log10(x)", "e^x", "2^x", "erf(x)"])
def test_named_constants_in_a_rule_are_the_numeric_rules_floats(text):
    # log2(e) is LOG2_E, log(2) is the folded 0.6931471805599453, 2/sqrt(pi)
    # is erf's 1.1283791670955126: the named formula and the numeric one
    # give the same bits.
    named = cgrad.compile(printed(text))
    numeric = cgrad.compile(printed(text, numeric=True))
    for x in (0.3, 1.7, 25.0):
        assert named.evaluate(x=x).value == numeric.evaluate(x=x).value


def test_sqrt_prints_no_abs():
    # The numeric rule is 0.5/abs(sqrt(a)) (for sqrt(-0.0)); a formula is
    # the textbook's.
    formula = printed("sqrt(1+x^2)")
    assert formula == "x/sqrt(1 + x^2)"  # the issue's row, as a person writes it
    assert printed("sqrt(x)") == "0.5/sqrt(x)"


def test_the_issue_rows_through_the_command_line(cli):
    result = cli("diff", "e^x + 2^y + erf(z)")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "e^x + 2^y + erf(z)\n"
        "f = e^x + 2^y + erf(z)\n"
        "∂f/∂x = e^x\n"
        "∂f/∂y = log(2)*2^y\n"
        "∂f/∂z = 2/sqrt(pi)*exp(-z^2)\n"
    )
    result = cli("diff", "max(x, y)")
    assert result.stdout.splitlines()[2:] == [
        "∂f/∂x = step(x - y, 0.5)",
        "∂f/∂y = step(y - x, 0.5)",
    ]


# --------------------------------------------------------------------------
# Constants: kept by name in formulas, numbers only when asked.


def test_numeric_folds_the_constants(cli):
    result = cli("diff", "e^x + sin(pi*y) + 2^z", "--numeric", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["derivatives"] == {
        "x": "2.718281828459045^x",
        "y": "3.141592653589793*cos(3.141592653589793*y)",
        "z": "0.6931471805599453*2^z",
    }
    assert printed("erf(x)", numeric=True) == "1.1283791670955126*exp(-x^2)"


def test_a_function_of_a_number_stays_unless_it_is_whole():
    # log(e) is 1 and cos(0) is 1 to the bit: folding them changes no number.
    assert printed("x*log(e) + cos(0)*x + exp(0)*x") == "3"
    assert printed("x*sin(pi)") == "sin(pi)"
    assert printed("x*log(2, 3)") == "log(2, 3)"
    # Arithmetic on plain numbers still folds.
    assert printed("x*(2*3)") == "6"


def test_constants_keep_their_names_in_the_hessian():
    found = cgrad.compile("e^x*sin(pi*x)").formulas(order=2)
    assert found.hessian is not None
    hessian = "; ".join(found.hessian["x"]["x"])
    assert "2.718" not in hessian and "3.14" not in hessian
    assert "e^x" in hessian and "pi" in hessian


def test_pi_and_e_are_nodes_of_their_own_with_their_names():
    graph = cgrad.compile("pi*x + 3.141592653589793 + e").graph
    named = {n.name: n.value for n in graph.nodes if n.op == "const" and n.name}
    assert named == {"pi": math.pi, "e": math.e}
    assert [n.value for n in graph.nodes if n.op == "const" and not n.name] == [math.pi]


@pytest.mark.parametrize(
    ("text", "spelled"),
    [
        ("e^x*sin(pi*x)", "2.718281828459045^x*sin(3.141592653589793*x)"),
        (
            "pi*x^e - e*log(pi + x)",
            "3.141592653589793*x^2.718281828459045 - 2.718281828459045*log(3.141592653589793 + x)",
        ),
    ],
)
def test_values_and_derivatives_are_the_numbers_of_the_constants(text, spelled):
    # Named or written out, the constants are the same floats: eval's
    # numbers are the same bits, on floats and on arrays.
    named, numbers = cgrad.compile(text), cgrad.compile(spelled)
    points = [0.3, 1.7, 2.5, 0.01]
    for x in points:
        ours, theirs = named.evaluate(x=x), numbers.evaluate(x=x)
        assert (ours.value, ours.gradient) == (theirs.value, theirs.gradient)
    assert np.array_equal(
        named.evaluate(x=np.array(points)).gradient["x"],
        numbers.evaluate(x=np.array(points)).gradient["x"],
    )


# --------------------------------------------------------------------------
# The printed piecewise forms give cgrad's own numbers, at kinks and ties.


def same_numbers(text: str, points: list[dict[str, float]]) -> None:
    function = cgrad.compile(text)
    for name in function.inputs:
        formula = cgrad.compile(printed(text, name))
        for given in points:
            point = {k: v for k, v in given.items() if k in function.inputs}
            expected = function.evaluate(point).gradient[name]
            got = formula.evaluate({k: v for k, v in point.items() if k in formula.inputs}).value
            assert math.copysign(1.0, got) == math.copysign(1.0, expected), (text, name, point)
            assert got == expected or (math.isnan(got) and math.isnan(expected)), (
                text,
                name,
                point,
                got,
                expected,
            )


TIE_VALUES = (-1.0, 0.0, 2.0)


@pytest.mark.parametrize(
    "text", ["max(x, y)", "min(x, y)", "max(x, y, z)", "min(x, y, z)", "max(x, y, z, w)"]
)
def test_min_and_max_formulas_share_ties_as_eval_does(text):
    names = cgrad.compile(text).inputs
    # Every ordering and every tie of a few values, the k-way ties included.
    points = [
        dict(zip(names, values, strict=True))
        for values in itertools.product(TIE_VALUES, repeat=len(names))
    ]
    same_numbers(text, points)


@pytest.mark.parametrize("text", ["relu(x)", "abs(x)", "sign(x)", "step(x, y)", "max(x, 0)"])
def test_piecewise_formulas_keep_the_conventions_at_the_kink(text):
    points = [{"x": x, "y": 0.25} for x in (-2.0, -0.0, 0.0, 1e-300, 3.0)]
    same_numbers(text, points)


def test_piecewise_formulas_agree_away_from_kinks():
    rng = random.Random(15)
    text = "max(x, y*y) - min(x, 1 - y) + relu(x - y)*abs(y) + step(x, 0.5)*y"
    points = [{"x": rng.uniform(-2, 2), "y": rng.uniform(-2, 2)} for _ in range(50)]
    function = cgrad.compile(text)
    for name in function.inputs:
        formula = cgrad.compile(printed(text, name))
        for point in points:
            assert formula.evaluate(point).value == pytest.approx(
                function.evaluate(point).gradient[name], rel=1e-12, abs=1e-12
            )


# --------------------------------------------------------------------------
# step itself: a full op of the table.


def test_step_is_numpys_heaviside():
    step = cgrad.compile("step(x, h)")
    for x, h, value in [(-2.0, 0.5, 0.0), (0.0, 0.5, 0.5), (-0.0, 0.25, 0.25), (3.0, 0.5, 1.0)]:
        assert step.evaluate(x=x, h=h).value == value
    assert math.isnan(step.evaluate(x=math.nan, h=0.5).value)


def test_step_slopes_and_its_kink_convention():
    step = cgrad.compile("step(x, h)")
    assert step.evaluate(x=1.5, h=0.5).gradient == {"x": 0.0, "h": 0.0}
    assert step.evaluate(x=-1.5, h=0.5).gradient == {"x": 0.0, "h": 0.0}
    at_jump = step.evaluate(x=0.0, h=0.5)
    # d/dh is 1 at the jump, where the value is h.
    assert at_jump.gradient == {"x": 0.0, "h": 1.0}
    (kink,) = [w for w in at_jump.warnings if w.type == "kink"]
    assert OPS["step"].kink is not None
    assert OPS["step"].kink.convention in kink.message
    # With x a constant there is no jump in the derivative by h.
    assert cgrad.compile("step(0, h)").evaluate(h=0.5).warnings == ()


def test_step_is_documented_with_its_value_at_zero():
    from pathlib import Path

    docs = Path(__file__).parent.parent / "docs"
    assert "step(a, h)" in (docs / "language.md").read_text()
    assert "step(x - y, 0.5)" in (docs / "conventions.md").read_text()


def test_the_printed_tie_fed_to_cgrad_eval_gives_evals_slope(cli):
    diff = cli("diff", "max(x, y, z)", "--wrt", "y", "--json")
    formula = json.loads(diff.stdout)["derivatives"]["y"]
    tie = ("x=2", "y=2", "z=2")
    slope = json.loads(cli("eval", "max(x, y, z)", *tie, "--json").stdout)["gradient"]["y"]
    value = json.loads(cli("eval", formula, *tie, "--json").stdout)["value"]
    assert value == slope == 1 / 3
