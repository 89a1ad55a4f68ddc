"""Symbolic derivatives (`cgrad diff`, `Function.derivative`, `eval --hessian`):
the formulas must parse, give the numeric gradient's numbers, stay linear
in size, and read as pinned here."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import cgrad
from cgrad.ops import OPS
from cgrad.symbolic.formulas import formulas, program_text
from test_oracle import finite, magnitude, points, programs, warned_where_due

RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much]


# --------------------------------------------------------------------------
# Round trips: the printed formula is the numeric gradient.


def close(actual: float, expected: float, scale: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9 * scale)


# The programs carry their meaning in sympy (symbolic=True) so that
# warned_where_due can tell a smooth point, where nothing may warn, from one
# near a kink, where the numbers follow a convention a formula need not share.


@settings(max_examples=300, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(), point=points)
def test_each_formula_parses_and_gives_the_numeric_gradient(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    result = function.evaluate(values)
    assume(warned_where_due(program, point, result))
    scale = magnitude(function, result)
    for name in function.inputs:
        derivative = function.derivative(name)
        assert derivative.inputs == function.inputs
        again = cgrad.compile(derivative.source)  # the text alone parses
        assert set(again.inputs) <= set(function.inputs)
        slope = derivative.evaluate(values).value
        assert close(slope, result.gradient[name], scale), (derivative.source, slope)


@settings(max_examples=100, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(depth=4), point=points)
def test_second_derivatives_are_the_derivatives_of_the_gradient(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    result = function.evaluate(values)
    assume(warned_where_due(program, point, result))
    for first in function.inputs:
        inner = function.derivative(first)
        row = inner.evaluate(values)
        # A formula has kinks the program has not: min's and max's slopes
        # pick the selected argument with sign(a - min), which is at its
        # kink wherever that argument is selected; relu's is sign(relu(a)).
        # The oracle knows the program's kinks, not the formula's.
        assume(not row.warnings and finite(row))
        scale = magnitude(inner, row)
        for second in function.inputs:
            entry = inner.derivative(second).evaluate(values).value
            assert close(entry, row.gradient[second], scale)


def central_differences(function, values: dict[str, float], name: str) -> dict[str, float]:
    """d gradient / d name by central differences, for the Hessian's row."""
    step = 1e-5 * max(1.0, abs(values[name]))
    up = function.evaluate({**values, name: values[name] + step}).gradient
    down = function.evaluate({**values, name: values[name] - step}).gradient
    return {other: (up[other] - down[other]) / (2 * step) for other in up}


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("x^3*y + sin(x*y)", {"x": 0.7, "y": -1.3}),
        ("exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1) + tanh(x - z) * (x + y) * z",
         {"x": 0.5, "y": -1.25, "z": 2.0}),
        ("t = x*y; h = tanh(t + z); h*h + atan2(y, x)", {"x": 1.5, "y": 0.25, "z": -0.5}),
    ],
)  # fmt: skip
def test_eval_hessian_matches_finite_differences_of_the_gradient(cli, text, point):
    values = [f"{name}={value}" for name, value in point.items()]
    result = cli("eval", text, *values, "--hessian", "--json")
    hessian = json.loads(result.stdout)["hessian"]
    function = cgrad.compile(text)
    assert list(hessian) == list(function.inputs)
    for name in point:
        estimate = central_differences(function, point, name)
        for other, entry in hessian[name].items():
            assert entry == pytest.approx(estimate[other], rel=1e-6, abs=1e-6)
            assert entry == pytest.approx(hessian[other][name], rel=1e-12, abs=1e-12)


def test_diff_order_two_text_evaluates_to_the_numeric_hessian(cli):
    text = "t = x*y; h = tanh(t + z); h*h + atan2(y, x)"
    point = {"x": 1.5, "y": 0.25, "z": -0.5}
    formulas_json = json.loads(cli("diff", text, "--order", "2", "--json").stdout)
    numeric = json.loads(
        cli("eval", text, *(f"{n}={v}" for n, v in point.items()), "--hessian", "--json").stdout
    )["hessian"]
    for first, row in formulas_json["hessian"].items():
        for second, formula in row.items():
            value = (
                cgrad.compile(formula)
                .evaluate({n: v for n, v in point.items() if n in cgrad.compile(formula).inputs})
                .value
            )
            assert value == pytest.approx(numeric[first][second], rel=1e-9, abs=1e-12)


def test_derivatives_compose_and_keep_the_inputs():
    f = cgrad.compile("x*y + sin(x*y)")
    fx = f.derivative("x")
    assert fx.source == "y*(1 + cos(x*y))" and fx.inputs == ("x", "y")
    fxy = fx.derivative("y")
    point = {"x": 0.5, "y": 2.0}
    expected = 1 + math.cos(1.0) - math.sin(1.0) * 1.0
    assert fxy.evaluate(point).value == pytest.approx(expected, rel=1e-15)
    # d/dx of y is 0, a function of x and y still, for points and arrays.
    zero = cgrad.compile("x*y").derivative("x").derivative("x")
    assert zero.source == "0" and zero.inputs == ("x", "y")
    assert zero.evaluate(x=1.0, y=2.0).gradient == {"x": 0.0, "y": 0.0}
    many = zero.evaluate(x=np.ones(3), y=2.0)
    assert many.value.shape == (3,) and many.gradient["y"].shape == (3,)
    with pytest.raises(cgrad.InputError, match="cannot differentiate with respect to q"):
        f.derivative("q")


# --------------------------------------------------------------------------
# Size: linear in the graph, whatever the number of paths.


@pytest.mark.parametrize("n", [500, 1000])
def test_a_derivative_with_heavy_sharing_grows_with_the_graph(n):
    # t_i = sin(t_(i-1))*t_(i-1): 2^n paths from the output to x.
    text = "t0 = x\n" + "".join(f"t{i} = sin(t{i - 1})*t{i - 1}\n" for i in range(1, n + 1))
    function = cgrad.compile(text + f"t{n}")
    assert len(function.graph) == 2 * n + 1
    derivative = function.derivative("x")
    # Counted, not timed: nodes and characters per node of the original.
    assert len(derivative.graph) <= 4 * len(function.graph)
    assert len(derivative.source) <= 45 * len(function.graph)
    assert derivative.source.count(";") <= 4 * n  # about 3 bindings a level


# --------------------------------------------------------------------------
# Golden: the derivative of every op of the table, simplified and printed.

EVERY_OP = {
    "add": ("x + y", {"x": "1", "y": "1"}),
    "sub": ("x - y", {"x": "1", "y": "-1"}),
    "mul": ("x*y", {"x": "y", "y": "x"}),
    "div": ("x/y", {"x": "1/y", "y": "-x/y^2"}),
    "neg": ("-x", {"x": "-1"}),
    "pow": (
        "x^y",
        {
            "x": "x^(y - 1)*y",
            "y": "log(x)*x^y",
        },
    ),
    "sin": ("sin(x)", {"x": "cos(x)"}),
    "cos": ("cos(x)", {"x": "-sin(x)"}),
    "tan": ("tan(x)", {"x": "1 + tan(x)^2"}),
    "asin": ("asin(x)", {"x": "1/sqrt((1 + x)*(1 - x))"}),
    "acos": ("acos(x)", {"x": "-1/sqrt((1 + x)*(1 - x))"}),
    "atan": ("atan(x)", {"x": "1/(1 + x^2)"}),
    "sinh": ("sinh(x)", {"x": "cosh(x)"}),
    "cosh": ("cosh(x)", {"x": "sinh(x)"}),
    "tanh": ("tanh(x)", {"x": "4*sigmoid(-2*x)*sigmoid(2*x)"}),
    "asinh": ("asinh(x)", {"x": "1/hypot(x, 1)"}),
    "acosh": ("acosh(x)", {"x": "1/(sqrt(1 + x)*sqrt(x - 1))"}),
    "atanh": ("atanh(x)", {"x": "1/((1 + x)*(1 - x))"}),
    "exp": ("exp(x)", {"x": "exp(x)"}),
    "expm1": ("expm1(x)", {"x": "exp(x)"}),
    "log": ("log(x)", {"x": "1/x"}),
    "logb": (
        "log(x, y)",
        {
            "x": "1/(log(y)*x)",
            "y": "-log(x, y)/(log(y)*y)",
        },
    ),
    "log2": ("log2(x)", {"x": "log2(e)/x"}),
    "log10": ("log10(x)", {"x": "log10(e)/x"}),
    "log1p": ("log1p(x)", {"x": "1/(1 + x)"}),
    "sqrt": ("sqrt(x)", {"x": "0.5/sqrt(x)"}),
    "cbrt": (
        "cbrt(x)",
        {
            "x": "1/(3*cbrt(x)^2)",
        },
    ),
    "abs": ("abs(x)", {"x": "sign(x)"}),
    "sign": ("sign(x)", {"x": "0"}),
    "relu": ("relu(x)", {"x": "step(x, 0)"}),
    "step": ("step(x, y)", {"x": "0", "y": "step(-abs(x), 1)"}),
    "sigmoid": (
        "sigmoid(x)",
        {
            "x": "sigmoid(-x)*sigmoid(x)",
        },
    ),
    "softplus": ("softplus(x)", {"x": "sigmoid(x)"}),
    "erf": (
        "erf(x)",
        {
            "x": "2/sqrt(pi)*exp(-x^2)",
        },
    ),
    "atan2": (
        "atan2(y, x)",
        {
            "y": "x/hypot(y, x)^2",
            "x": "-y/hypot(y, x)^2",
        },
    ),
    "hypot": ("hypot(x, y)", {"x": "x/hypot(x, y)", "y": "y/hypot(x, y)"}),
    "min": (
        "min(x, y)",
        {
            "x": "step(y - x, 0.5)",
            "y": "step(x - y, 0.5)",
        },
    ),
    "max": (
        "max(x, y, z)",
        {
            "x": "t1 = max(x, y, z); t2 = step(x - t1, 1); "
            "t2/(t2 + step(y - t1, 1) + step(z - t1, 1))",
            "y": "t1 = max(x, y, z); t2 = step(y - t1, 1); "
            "t2/(step(x - t1, 1) + t2 + step(z - t1, 1))",
            "z": "t1 = max(x, y, z); t2 = step(z - t1, 1); "
            "t2/(step(x - t1, 1) + step(y - t1, 1) + t2)",
        },
    ),
}


def test_every_op_has_a_golden_derivative():
    assert set(EVERY_OP) == set(OPS)


@pytest.mark.parametrize("op", sorted(EVERY_OP))
def test_golden_derivatives(op):
    text, expected = EVERY_OP[op]
    function = cgrad.compile(text)
    assert {name: function.derivative(name).source for name in function.inputs} == expected


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        # The simplifications the specification lists, and constant folding.
        ("0*x + y", "y"),
        ("1*x + y*1", "x + y"),
        ("(x + 0) - 0 + y/1", "x + y"),
        ("x^1 + y^0", "x + 1"),
        ("--x", "x"),
        ("-(x - y)", "y - x"),
        ("2*3 + x*(4 - 4)", "6"),
        ("x + -y", "x - y"),
        ("x - -y", "x + y"),
        ("-x*-y", "x*y"),
        ("x*2", "2*x"),
        ("4*(3*x)", "12*x"),
        ("sin(0) + cos(0)*x", "x"),
        ("1/0 + x", "1/0 + x"),  # no literal for inf: the division stays
        # The fewest parentheses that keep the order of evaluation.
        ("x - (y - z)", "x - (y - z)"),
        ("(x - y) - z", "x - y - z"),
        ("x/(y*z)", "x/(y*z)"),
        ("(x/y)*z", "x/y*z"),
        ("(-x)^2", "(-x)^2"),
        ("-(x^2)", "-x^2"),
        ("x^(y^z)", "x^y^z"),
        ("(x^y)^z", "(x^y)^z"),
        ("2^-x", "2^-x"),
        ("x*-y + z", "z - x*y"),
        ("(x + y)*(x - y)", "(x + y)*(x - y)"),
        ("-(-2)", "2"),
        ("x*(-2)", "-2*x"),
        ("(-2)^x", "(-2)^x"),
        ("1e-05*x + 1e+16", "1e-05*x + 1e+16"),
        # Each rule with 0, 1 and -1 on either side: 0 - a is -a, never a.
        ("0 - x", "-x"),
        ("0 - (x - y)", "y - x"),
        ("y + (0 - x)", "y - x"),
        ("0 - x*y", "-(x*y)"),
        ("0 - -x", "x"),
        ("(0 - x)^2", "(-x)^2"),
        ("0 + x - 0", "x"),
        ("0*x - y", "-y"),
        ("y - 0*x", "y"),
        ("-0*x + y", "y"),
        ("0/x + y", "y"),
        ("-1*x", "-x"),
        ("x*-1", "-x"),
        ("x/-1", "-x"),
        ("x/1/1 - 0", "x"),
        ("x - x + y", "y"),
    ],
)
def test_simplified_and_printed(text, printed):
    function = cgrad.compile(text)
    found = formulas(function.graph, [])
    assert program_text(found.value) == printed
    again = cgrad.compile(printed)
    point = {"x": 0.3, "y": 1.7, "z": -0.4}
    for f in (function, again):
        assert set(f.inputs) <= set(point)
    if math.isfinite(function.evaluate({n: point[n] for n in function.inputs}).value):
        assert again.evaluate({n: point[n] for n in again.inputs}).value == pytest.approx(
            function.evaluate({n: point[n] for n in function.inputs}).value, rel=1e-15
        )


@settings(max_examples=200, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(), point=points)
def test_printing_is_stable_and_keeps_the_numbers(program, point):
    function = cgrad.compile(program.text)
    # The inputs are taken names, as every caller of program_text passes
    # them: the generator names inputs t1 and t2. The same names stay taken
    # for the reprint, though simplifying may have dropped some (t1^0 is 1).
    text = program_text(formulas(function.graph, []).value, taken=function.inputs)
    again = cgrad.compile(text)
    assert program_text(formulas(again.graph, []).value, taken=function.inputs) == text
    values = {name: point[name] for name in function.inputs}
    result = function.evaluate(values)
    # 0*a is 0 and 0/a is 0 in a formula, NaN at a = inf or a = 0 in numbers:
    # the numbers are compared where they are finite (and a smooth point
    # must not warn).
    assume(warned_where_due(program, point, result))
    before = result.value
    after = again.evaluate({n: values[n] for n in again.inputs}).value
    assert (
        after == before
        or (math.isnan(after) and math.isnan(before))
        or close(after, before, magnitude(function, function.evaluate(values)))
    )


BINDING = re.compile(r"(?:^|; )(\w+) = ")


@pytest.mark.parametrize(
    ("text", "point"),
    [
        # sin(t1*t2) is used by exp and the quotient in the derivative: it is bound.
        ("exp(sin(t1*t2)) / (1 + sin(t1*t2))", {"t1": 0.5, "t2": -1.5}),
        # t and u are taken too (u1), and the bindings t2, t3 of the
        # program name no input: the derivative's bindings may be t-names.
        ("t2 = exp(sin(t1*u1)); t3 = 1 + sin(t1*u1); t2/t3", {"t1": 0.5, "u1": -1.5}),
        ("exp(sin(t1*t2*u1*v1*w1*s1*tmp1)) / (1 + sin(t1*t2*u1*v1*w1*s1*tmp1))",
         {"t1": 0.5, "t2": -1.5, "u1": 0.25, "v1": 1.0, "w1": 2.0, "s1": -1.0, "tmp1": 0.5}),
    ],
)  # fmt: skip
def test_binding_names_do_not_clash_with_inputs(text, point):
    # With t1 bound in the derivative, `t1 = t1*t2; ...` would refer to
    # itself: a ParseError, or wrong numbers.
    function = cgrad.compile(text)
    for name in function.inputs:
        derivative = function.derivative(name)
        bound = BINDING.findall(derivative.source)
        assert bound, derivative.source  # the test is about bindings: there are some
        assert not set(bound) & set(function.inputs), derivative.source
        assert derivative.inputs == function.inputs
        slope = derivative.evaluate(point).value
        assert slope == pytest.approx(function.evaluate(point).gradient[name], rel=1e-12)
    # And what cgrad diff prints (Function.formulas), read back as a program.
    for name, statements in function.formulas().derivatives.items():
        printed = "; ".join(statements)
        assert not set(BINDING.findall(printed)) & set(function.inputs), printed
        again = cgrad.compile(printed).evaluate(point).value
        assert again == pytest.approx(function.evaluate(point).gradient[name], rel=1e-12)


# --------------------------------------------------------------------------
# The command line.

DIFF = """\
x*y + sin(x*y)
f = x*y + sin(x*y)
∂f/∂x = y*(1 + cos(x*y))
∂f/∂y = x*(1 + cos(x*y))
∂²f/∂x² = -sin(x*y)*y^2
∂²f/∂x∂y = 1 + cos(x*y) - sin(x*y)*x*y
∂²f/∂y² = -sin(x*y)*x^2
"""


def test_diff_golden(cli):
    result = cli("diff", "x*y + sin(x*y)", "--order", "2")
    assert result.exit_code == 0 and result.stdout == DIFF


def test_diff_substitutes_the_values_given(cli):
    result = cli("diff", "(x+y)*z", "--x", "1")
    assert result.stdout == (
        "(x+y)*z   at x = 1\nf = (1 + y)*z\n∂f/∂x = z\n∂f/∂y = z\n∂f/∂z = 1 + y\n"
    )
    document = json.loads(cli("diff", "(x+y)*z", "--x", "1", "--wrt", "z", "--json").stdout)
    assert document == {
        "expression": "(x+y)*z",
        "inputs": {"x": 1.0},
        "value": "(1 + y)*z",
        "derivatives": {"z": "1 + y"},
    }
    everything = json.loads(cli("diff", "(x+y)*z", "x=1", "y=2", "z=3", "--json").stdout)
    assert everything["value"] == "9" and everything["derivatives"] == {
        "x": "3", "y": "3", "z": "3",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["x*y", "--order", "0"], "--order must be a whole number >= 1, not 0"),
        (["x*y", "--wrt", "q"], "cannot differentiate with respect to q"),
        (["x*y", "x=inf"], "the value of x is Infinity, which a formula cannot hold"),
        (["x*y", "q=1"], "q is not an input of this expression"),
        (["x*"], "line 1, column 3"),
    ],
)
def test_diff_usage_errors(cli, arguments, message):
    result = cli("diff", *arguments)
    assert result.exit_code == 2
    assert message in result.stderr


def test_eval_points_at_diff_when_values_are_missing(cli):
    result = cli("eval", "(x+y)*z", "--x", "1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "hint: pass them as --y VALUE --z VALUE (or y=VALUE z=VALUE); "
        "cgrad diff with the same arguments gives formulas in y and z"
    )


def test_the_library_gives_the_formulas_diff_prints():
    found = cgrad.compile("a = x*y; a + sin(a)").formulas(wrt=["x"], order=2)
    assert found.value == ["x*y + sin(x*y)"]
    assert found.derivatives == {"x": ["y*(1 + cos(x*y))"]}
    assert found.hessian == {"x": {"x": ["-sin(x*y)*y^2"]}}
    printed = subprocess.run(
        [sys.executable, "-m", "cgrad", "diff", "a = x*y; a + sin(a)", "--wrt", "x"]
        + ["--order", "2", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(printed.stdout)
    assert document["value"] == "; ".join(found.value)
    assert document["derivatives"]["x"] == found.derivatives["x"][0]
    assert document["hessian"]["x"]["x"] == found.hessian["x"]["x"][0]
    with_y = cgrad.compile("x^3*y").formulas(substitutions={"y": 2.0})
    assert with_y.value == ["2*x^3"] and with_y.hessian is None
    assert with_y.derivatives == {"x": ["6*x^2"], "y": ["x^3"]}


def test_the_library_refuses_an_order_it_has_no_formulas_for():
    with pytest.raises(cgrad.InputError, match="must be a whole number >= 1, not 0"):
        cgrad.compile("x").formulas(order=0)


def test_formula_bindings_are_not_named_as_the_programs_own():
    # The program binds t1; a formula binding named t1 too would read as
    # the program's t1 beside the formula's.
    function = cgrad.compile("t1 = x*y; sin(t1)*t1 + cos(t1)*t1")
    printed = function.formulas(["x"]).derivatives["x"]
    assert len(printed) > 1 and not any(s.startswith("t1 =") for s in printed), printed
    point = {"x": 0.3, "y": -1.2}
    again = cgrad.compile("; ".join(printed)).evaluate(point).value
    assert again == pytest.approx(function.evaluate(point).gradient["x"], rel=1e-12)


@pytest.mark.parametrize(
    ("op", "values"),
    [
        ("add", (0.1, 0.2)),
        ("sub", (1e16, 1.0)),
        ("mul", (3.0, 0.1)),
        ("mul", (1e308, 10.0)),  # inf: no literal, the product is kept
        ("div", (1.0, 3.0)),
        ("div", (1.0, 0.0)),  # Python raises, numpy gives inf: kept
        ("div", (-1.0, 3.0)),
        ("neg", (0.0,)),
        ("sqrt", (2.0,)),
        ("sqrt", (-1.0,)),  # Python raises, numpy gives NaN: kept
        ("abs", (-0.0,)),
        ("pow", (2.0, 0.5)),
    ],
)
def test_numbers_are_folded_to_the_bits_numpy_gives(op, values):
    # Folded on Python floats where the table says they give numpy's bits.
    from cgrad.ops import OPS
    from cgrad.symbolic.nodes import Builder

    made = Builder(numeric=True).apply(op, *values)
    with np.errstate(all="ignore"):
        expected = float(OPS[op].forward(*(np.float64(v) for v in values)))
    if math.isfinite(expected):
        assert made.is_constant() and made.value is not None
        assert made.value.hex() == expected.hex()
    else:
        assert made.op == op
