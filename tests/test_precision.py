"""Every derivative rule of the op table against mpmath at 60 digits.

Each rule is evaluated through the public API, at one point at a time (the
path of Python floats and generated code) and over an array (numpy), on a
grid that reaches into the tails: huge and tiny magnitudes, the points near
a domain's edge (1 - 2^-k for asin), the far ends where a naive formula
overflows or cancels (tanh' at 20, sigmoid' at 40, asinh' at 1e200). The
result must be within the rule's bound in units in the last place of the
truth, a subnormal truth included (its ULP is the least subnormal: a slope
flushed to 0 where it is 1e-310, atan' at 1e155 or sigmoid' at -740, is
far out); where the truth overflows the result must be the infinity of
its sign.
Every bound is a constant: erf' far out and d/da of a^b for a fractional b
below 1/2, whose errors once grew with the point, are held to a few ULP
too (see BOUNDS).

Run as a script (``python tests/test_precision.py [--dense]``) to print the
largest error of each rule, over the test's grid or a forty times finer one.
"""

from __future__ import annotations

import json
import math
import sys

import mpmath
import numpy as np
import pytest

import cgrad

DIGITS = 60  # the oracle's working precision, set only around its use

TINY = sys.float_info.min  # the smallest normal float
HUGE = sys.float_info.max

# --------------------------------------------------------------------------
# The points: for each domain, its tails as well as its middle.

_RNG = np.random.default_rng(13)
MAGNITUDES = tuple(
    float(m)
    for m in (
        5e-324, 1e-320, 1e-310, 3e-309, 6e-309, 8e-309, 1e-308, 1.5e-308, TINY, 1e-300,
        1e-200, 1e-160, 1e-100, 1e-20, 1e-10, 1e-8,
        1e-5, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.9, 1.0, 1.1, 2.0, 3.0, 5.0, 10.0, 20.0, 27.0,
        40.0, 100.0, 354.0, 355.5, 356.0, 360.0, 370.0, 400.0, 700.0, 709.0, 720.0,
        740.0, 745.0, 1e10, 1e100, 1e153, 1e155, 1e160, 1e200, 1e300, HUGE,
    )
)  # fmt: skip
SPREAD = tuple(float(v) for v in 10.0 ** _RNG.uniform(-300, 300, 60))
MIDDLE = tuple(float(v) for v in _RNG.uniform(-6.0, 6.0, 120)) + tuple(
    float(v) for v in _RNG.uniform(-28.0, 28.0, 60)
)


def _both_signs(values) -> list[float]:
    return sorted({s * v for v in values for s in (1.0, -1.0)})


EVERYWHERE = _both_signs(MAGNITUDES + SPREAD + MIDDLE) + [0.0]
POSITIVE = sorted({abs(v) for v in EVERYWHERE if v != 0.0})
# 1 - 2^-k and -1 + 2^-k: the points where 1 - a*a loses its digits.
_NEAR_ONE = [1.0 - 2.0**-k for k in range(1, 54)]
UNIT = sorted(
    set(_both_signs(_NEAR_ONE + [v for v in MAGNITUDES + MIDDLE if abs(v) < 1.0]) + [0.0])
)
ABOVE_ONE = sorted(
    v for v in {1.0 + 2.0**-k for k in range(1, 53)} | {1.0 + v for v in POSITIVE} if v > 1.0
)
ABOVE_MINUS_ONE = sorted(
    v for v in {-1.0 + 2.0**-k for k in range(1, 54)} | set(EVERYWHERE) if v > -1.0
)
# Near the poles of tan: the floats nearest odd multiples of pi/2 and their
# neighbours, where tan is near its largest.
with mpmath.workdps(DIGITS):
    _POLES = [float(k * mpmath.pi / 2) for k in (1, -1, 3, 101, 2001)]
NEAR_POLES = sorted(
    {math.nextafter(p, s * math.inf) for p in _POLES for s in (1, -1)} | set(_POLES)
)
_PAIR_MAGNITUDES = (1e-300, 1e-200, 1e-10, 0.3, 1.0, 3.0, 1e10, 1e200, 1e300)
PAIRS = [
    (sy * y, sx * x)
    for y in _PAIR_MAGNITUDES
    for x in _PAIR_MAGNITUDES
    for sy in (1.0, -1.0)
    for sx in (1.0, -1.0)
] + [tuple(float(v) for v in row) for row in _RNG.uniform(-5.0, 5.0, (60, 2))]


def _between(values, low, high):
    return [v for v in values if low <= v <= high]


# --------------------------------------------------------------------------
# The true partials, from the exact value of each float argument.


def _sigmoid(a):
    return 1 / (1 + mpmath.exp(-a))


def _ln(a):
    return mpmath.log(a)


# op: (program, points, partials as functions of the mpf arguments)
CASES = {
    "sin": ("sin(x)", EVERYWHERE, lambda a: (mpmath.cos(a),)),
    "cos": ("cos(x)", EVERYWHERE, lambda a: (-mpmath.sin(a),)),
    "tan": ("tan(x)", EVERYWHERE + NEAR_POLES, lambda a: (1 / mpmath.cos(a) ** 2,)),
    "asin": ("asin(x)", UNIT, lambda a: (1 / mpmath.sqrt(1 - a * a),)),
    "acos": ("acos(x)", UNIT, lambda a: (-1 / mpmath.sqrt(1 - a * a),)),
    "atan": ("atan(x)", EVERYWHERE, lambda a: (1 / (1 + a * a),)),
    "sinh": ("sinh(x)", _between(EVERYWHERE, -710, 710), lambda a: (mpmath.cosh(a),)),
    "cosh": ("cosh(x)", _between(EVERYWHERE, -710, 710), lambda a: (mpmath.sinh(a),)),
    "tanh": ("tanh(x)", EVERYWHERE, lambda a: (1 / mpmath.cosh(a) ** 2,)),
    "asinh": ("asinh(x)", EVERYWHERE, lambda a: (1 / mpmath.sqrt(a * a + 1),)),
    "acosh": ("acosh(x)", ABOVE_ONE, lambda a: (1 / mpmath.sqrt(a * a - 1),)),
    "atanh": ("atanh(x)", UNIT, lambda a: (1 / (1 - a * a),)),
    "exp": ("exp(x)", _between(EVERYWHERE, -750, 709), lambda a: (mpmath.exp(a),)),
    "expm1": ("expm1(x)", _between(EVERYWHERE, -1e300, 709), lambda a: (mpmath.exp(a),)),
    "log": ("log(x)", POSITIVE, lambda a: (1 / a,)),
    "log2": ("log2(x)", POSITIVE, lambda a: (1 / (a * _ln(2)),)),
    "log10": ("log10(x)", POSITIVE, lambda a: (1 / (a * _ln(10)),)),
    "log1p": ("log1p(x)", ABOVE_MINUS_ONE, lambda a: (1 / (1 + a),)),
    "sqrt": ("sqrt(x)", POSITIVE, lambda a: (1 / (2 * mpmath.sqrt(a)),)),
    "cbrt": (
        "cbrt(x)",
        [v for v in EVERYWHERE if v != 0.0],
        lambda a: (1 / (3 * mpmath.cbrt(abs(a)) ** 2),),
    ),
    "sigmoid": (
        "sigmoid(x)",
        EVERYWHERE,
        lambda a: (_sigmoid(a) * _sigmoid(-a),),
    ),
    "softplus": ("softplus(x)", EVERYWHERE, lambda a: (_sigmoid(a),)),
    "erf": (
        "erf(x)",
        EVERYWHERE,
        lambda a: (2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-a * a),),
    ),
    "abs": ("abs(x)", [v for v in EVERYWHERE if v != 0.0], lambda a: (mpmath.sign(a),)),
    "atan2": (
        "atan2(y, x)",
        [p for p in PAIRS if p != (0.0, 0.0)],
        lambda y, x: (x / (x * x + y * y), -y / (x * x + y * y)),
    ),
    "hypot": (
        "hypot(y, x)",
        [p for p in PAIRS if math.hypot(*p) < HUGE],
        lambda y, x: (y / mpmath.sqrt(x * x + y * y), x / mpmath.sqrt(x * x + y * y)),
    ),
    "div": (
        "y/x",
        [p for p in PAIRS if p[1] != 0.0 and abs(p[0] / p[1]) < HUGE],
        lambda y, x: (1 / x, -y / (x * x)),
    ),
    "logb": (
        "log(y, x)",
        [(abs(y), abs(x)) for y, x in PAIRS if abs(x) != 1.0],
        lambda y, x: (1 / (y * _ln(x)), -_ln(y) / (x * _ln(x) ** 2)),
    ),
    "pow": (
        "y^x",
        [(abs(y), x) for y, x in PAIRS if abs(x * math.log(abs(y))) < 700.0]
        + [(a, b) for a in (0.5, 1.5, 3.0, 1e-100, 1e100) for b in (2.0, 3.0, -1.0, 0.5, 0.3)],
        lambda y, x: (x * y ** (x - 1), y**x * _ln(y)),
    ),
}

# The largest error allowed, in units in the last place, per rule.
# Each is the largest error of a denser sweep (``python
# tests/test_precision.py --dense``) rounded up, with a quarter ULP to spare.
# erf' and d/da of a^b were 2 + a^2 ULP (a^2 rounded before exp: 500 ULP at
# |a| = 23) and 3 + |ln a|*ulp(b - 1)*2^52 ULP (b - 1 rounded: 316 ULP at
# (1e-300, 0.3)) before their numeric rules took the careful forms of
# cgrad.elementary; these bounds fail on those old forms.
# numpy picks the code of its cbrt, sinh, cosh and tanh by the CPU's
# instruction set: the sweep on an AMD EPYC (AVX2) found cbrt' 7.71, cosh'
# (np.sinh) 1.45, sinh' (np.cosh) 0.997 and tanh' 4.38 ULP, within 4, 1, 1
# and 4 on an Intel Xeon (AVX-512); each bound is the larger, rounded up.
BOUNDS = {
    "sin": 1, "cos": 1, "tan": 3, "asin": 3, "acos": 3, "atan": 3, "sinh": 2, "cosh": 2,
    "tanh": 5, "asinh": 2, "acosh": 4, "atanh": 3, "exp": 1, "expm1": 1, "log": 1,
    "log2": 1, "log10": 1, "log1p": 2, "sqrt": 2, "cbrt": 8, "sigmoid": 4, "softplus": 3,
    "abs": 0, "atan2": 4, "hypot": 2, "div": 2, "logb": 4, "erf": 3, "pow": 3,
}  # fmt: skip


def bound(op: str, row: tuple, name: str) -> float:
    return BOUNDS[op]


# --------------------------------------------------------------------------
# Measuring.


def _error(computed: float, truth) -> float:
    """The error of ``computed`` in units in the last place of the truth,
    a subnormal one's included (0 or inf where the truth overflows: see
    the module's rules)."""
    rounded = float(truth)
    if abs(truth) > HUGE:
        return 0.0 if computed == rounded else math.inf
    if not math.isfinite(computed):
        return math.inf
    return float(abs(mpmath.mpf(computed) - truth) / math.ulp(rounded))


def _names(program: str) -> list[str]:
    return list(cgrad.compile(program).inputs)


def errors(op: str, path: str, points=None) -> list[tuple[float, tuple, str]]:
    """(error in ULP, point, input) for every point (``op``'s grid unless
    given) and partial of ``op``'s rule, evaluated at one point at a time or
    over one array."""
    program, grid, truth_of = CASES[op]
    points = grid if points is None else points
    function = cgrad.compile(program)
    names = _names(program)
    rows = [p if isinstance(p, tuple) else (p,) for p in points]
    if path == "point":
        gradients = [function.evaluate(dict(zip(names, row, strict=True))).gradient for row in rows]
    else:
        columns = {name: np.array([row[i] for row in rows]) for i, name in enumerate(names)}
        gradient = function.evaluate(columns).gradient
        gradients = [{name: gradient[name][k] for name in names} for k in range(len(rows))]
    found = []
    with mpmath.workdps(DIGITS):
        for row, gradient in zip(rows, gradients, strict=True):
            truths = truth_of(*(mpmath.mpf(v) for v in row))
            for name, truth in zip(names, truths, strict=True):
                found.append((_error(float(gradient[name]), truth), row, name))
    return found


@pytest.mark.parametrize("path", ["point", "array"])
@pytest.mark.parametrize("op", sorted(CASES))
def test_rule_is_within_its_bound_of_mpmath(op, path):
    beyond = [
        f"d/d{name} at {row}: {error:.3g} ULP"
        for error, row, name in errors(op, path)
        if not error <= bound(op, row, name)
    ]
    assert not beyond, f"{op}: {len(beyond)} beyond the bound, e.g. {beyond[:3]}"


def test_every_smooth_function_of_one_argument_is_measured():
    from cgrad.ops import OPS

    piecewise = {"sign", "relu", "step", "min", "max", "neg", "add", "sub", "mul"}
    assert set(OPS) - piecewise <= set(CASES)


# The careful numeric forms of erf' and of d/da a^b are the numbers; a
# formula still prints the textbook's form (Op.printed).
@pytest.mark.parametrize(
    ("text", "formula"),
    [
        ("erf(x)", "2/sqrt(pi)*exp(-x^2)"),
        ("x^0.3", "0.3/x^0.7"),
        ("x^y", "x^(y - 1)*y"),
        ("x^3", "3*x^2"),
    ],
)
def test_careful_rules_print_as_the_textbook_writes_them(text, formula):
    assert cgrad.compile(text).derivative("x").source == formula


@pytest.mark.parametrize(
    ("exponent", "careful"), [(2.0, False), (3.0, False), (-1.0, False), (0.5, False), (0.3, True)]
)
def test_only_a_power_whose_b_minus_1_is_rounded_takes_the_careful_rule(exponent, careful):
    # Traced as generated code traces it: x^2, x^3 ... keep the plain rule
    # b*a^(b-1), two lines; x^0.3 takes the careful form, a few more.
    from cgrad.autodiff.tracing import Recorder, Traced, TracedNamespace
    from cgrad.ops import NUMERIC, OPS

    recorder = Recorder()
    x = Traced(recorder, "i0")
    OPS["pow"].derivatives[0](TracedNamespace(recorder, NUMERIC), x, x, exponent)
    assert (len(recorder.lines) > 2) == careful, recorder.lines


@pytest.mark.parametrize("text", ["tanh(x)", "sigmoid(x)", "asinh(x)", "atan2(x, 1)"])
@pytest.mark.parametrize("x", [-1e300, -720.0, 720.0, 1e300])
def test_second_derivatives_stay_numbers_in_the_tails(text, x):
    # A rule's own derivative runs through its form: one with an overflowing
    # piece (1/cosh(a)^2) gives 0*inf = NaN there though the truth is 0.
    result = cgrad.compile(text).derivative("x").evaluate(x=x)
    assert result.warnings == ()
    assert math.isfinite(result.gradient["x"])


# --------------------------------------------------------------------------
# The kink of a^b at a = 0: where a derivative has no limit, and only there.


def test_x_to_the_zero_at_zero_is_no_kink(cli):
    result = cli("eval", "x^0", "x=0", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "expression": "x^0",
        "inputs": {"x": 0.0},
        "value": 1.0,
        "gradient": {"x": 0.0},
        "warnings": [],
    }


# a^b at a = 0 with b a constant: a^0 is 1 on both sides of 0 and a^1, a^2,
# a^3 are smooth there; a^1.5 is defined on the right only (a negative base
# to a fractional power is NaN), where its slope tends to 0: cgrad gives that
# one-sided slope, 0, without a warning, as at any other domain edge with a
# finite slope.
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("text", "slope"),
    [("x^0", 0.0), ("x**0", 0.0), ("pow(x, 0)", 0.0), ("x^1", 1.0), ("x^2", 0.0),
     ("x^3", 0.0), ("x^1.5", 0.0)],
)  # fmt: skip
def test_smooth_powers_have_no_kink_at_zero(text, slope, mode):
    function = cgrad.compile(text)
    for x in (0.0, -0.0, np.array([0.5, 0.0, 2.0])):
        result = function.evaluate(x=x, mode=mode)
        assert result.warnings == ()
        assert np.all(np.asarray(result.gradient["x"])[np.asarray(x) == 0.0] == slope)


@pytest.mark.parametrize(
    ("text", "point", "wrt", "kink"),
    [
        ("x^0.5", {"x": 0.0}, None, True),  # slope +inf from the right
        # A pole: its infinite value is warned of; it is no kink, and 0^0's
        # convention has no say there.
        ("x^-1", {"x": 0.0}, None, False),
        ("x^y", {"x": 0.0, "y": 0.0}, None, True),  # 0^y jumps at y = 0
        ("x^y", {"x": 0.0, "y": 0.0}, "x", False),  # only d/dx: that of x^0
        ("x^y", {"x": 0.0, "y": 0.5}, "y", False),  # 0^y is 0 for y > 0
        ("x^y", {"x": 0.0, "y": 0.5}, "x", True),
    ],
)
def test_power_kinks_are_where_a_derivative_has_no_limit(text, point, wrt, kink):
    result = cgrad.compile(text).evaluate(point, wrt=wrt)
    assert [w.type for w in result.warnings if w.type == "kink"] == (["kink"] if kink else [])


def denser(points: list, between: int = 40) -> list:
    """``points`` (of one argument) and ``between`` random points in each gap
    between neighbours, spaced evenly in magnitude across a gap of decades."""
    rng = np.random.default_rng(7)
    ordered = sorted(set(points))
    found = list(ordered)
    for low, high in zip(ordered, ordered[1:], strict=False):
        if low > 0.0 and high / low > 10.0:
            found += list(np.exp(rng.uniform(math.log(low), math.log(high), between)))
        elif high < 0.0 and low / high > 10.0:
            found += list(-np.exp(rng.uniform(math.log(-high), math.log(-low), between)))
        else:
            found += list(rng.uniform(low, high, between))
    # A gap across 0 must not add 0 where the grid leaves it out (a kink).
    return [float(v) for v in found if v != 0.0 or 0.0 in ordered]


def main(dense: bool) -> None:
    """The largest error per rule, over its grid or (``dense``) a grid forty
    times finer for the rules of one argument; the point path only, which
    the tests hold to the array path's bits."""
    for op in sorted(CASES):
        points = CASES[op][1]
        if dense and not isinstance(points[0], tuple):
            points = denser(points)
        found = errors(op, "point", points)
        worst = max(found, key=lambda f: f[0])
        closest = max(found, key=lambda f: f[0] - bound(op, f[1], f[2]))
        print(
            f"{op:9} {len(found):6} partials, bound {BOUNDS[op]:5}: "
            f"max {worst[0]:.3g} ULP at {worst[1]} d/d{worst[2]}; "
            f"least room under the bound {bound(op, closest[1], closest[2]) - closest[0]:.3g} ULP"
        )


# --------------------------------------------------------------------------
# The values themselves, where a naive formula underflows or overflows early.

# op: (true value of an mpf, ULP bound). sigmoid's 1/(1 + exp(-a)) was 0
# below -709.8 (exp(-a) overflows) while the truth, e^a, is a subnormal
# float down to -745: its slope was not 0 there, its value was.
VALUES = {
    "sigmoid": (_sigmoid, 2),
    "softplus": (lambda a: mpmath.log1p(mpmath.exp(a)), 2),
    "tanh": (mpmath.tanh, 1),
    "erf": (mpmath.erf, 1),
    "exp": (mpmath.exp, 1),
    "expm1": (mpmath.expm1, 1),
}
_TAILS = [-1e300, -800.0, -746.0, -745.1, -745.0, -744.0, -740.0, -730.0, -720.0, -710.0,
          -709.8, -709.7, -709.0, -708.0, -700.0]  # fmt: skip


def _value_errors(op: str, path: str) -> list[tuple[float, float]]:
    truth_of, _ = VALUES[op]
    points = sorted(set(EVERYWHERE + _TAILS + [-v for v in _TAILS]))
    function = cgrad.compile(f"{op}(x)")
    if path == "point":  # past the first few points, by generated code
        values = [float(function.evaluate(x=p).value) for p in points]
    else:  # over an array: walked, and long enough for generated code
        repeats = 1 if path == "array" else -(-4096 // len(points))
        column = np.array(points * repeats)
        values = [float(v) for v in function.evaluate(x=column).value[: len(points)]]
    with mpmath.workdps(DIGITS):
        return [
            (_error(v, truth_of(mpmath.mpf(p))), p) for v, p in zip(values, points, strict=True)
        ]


@pytest.mark.parametrize("path", ["point", "array", "generated array"])
@pytest.mark.parametrize("op", sorted(VALUES))
def test_value_is_within_its_bound_of_mpmath_in_the_tails_too(op, path):
    beyond = [(p, e) for e, p in _value_errors(op, path) if not e <= VALUES[op][1]]
    assert not beyond, f"{op}: {len(beyond)} beyond the bound, e.g. {beyond[:3]}"


@pytest.mark.parametrize("x", [-720.0, -740.0, -745.0])
def test_sigmoid_and_its_slope_are_one_subnormal_number_far_out(cli, x):
    # sigmoid'(a) = sigmoid(a)*(1 - sigmoid(a)): the same float out there.
    document = json.loads(cli("eval", "sigmoid(x)", f"x={x}", "--json").stdout)
    assert document["value"] == document["gradient"]["x"] == float(math.exp(x))
    assert 0.0 < document["value"] < TINY


if __name__ == "__main__":
    main(dense="--dense" in sys.argv)
