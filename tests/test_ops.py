"""Every entry of the op table against finite differences, and the documented
conventions at the kinks.

The tests are parametrized over ``cgrad.ops.OPS`` itself, so an op added to
the table is exercised here without editing this file (it gets the generic
sample points below unless its domain needs its own).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import cgrad
from cgrad.ops import FUNCTIONS, OPS, Fixity, Op

NAMES = ("x", "y", "z")

# Variadic ops are exercised with this many arguments.
VARIADIC_COUNTS = (1, 2, 3)

# Generic points: positive, distinct, inside (-1, 1) and away from 0, which
# is inside the domain of nearly every real function. An op whose domain
# excludes them (or that has more interesting regions) lists its own.
GENERIC_POINTS = (0.25, 0.5, 0.8, 0.35, 0.65)

# Per op: a column of values per argument; point i takes the i-th value of
# each column. The values straddle zero where the domain allows, so both
# branches of sign-dependent rules run, and stay clear of the kinks and
# singularities, where finite differences lie.
POINTS: dict[str, tuple[tuple[float, ...], ...]] = {
    "add": ((-1.5, 0.3, 2.0), (0.7, -2.5, 1.25)),
    "sub": ((-1.5, 0.3, 2.0), (0.7, -2.5, 1.25)),
    "mul": ((-1.5, 0.3, 2.0), (0.7, -2.5, 1.25)),
    "div": ((-1.5, 0.3, 2.0, 7.0), (0.7, -2.5, 1.25, -0.4)),
    "neg": ((-1.5, 0.3, 2.0),),
    # A positive base, so that d/db = a^b log(a) is real; exponents of both
    # signs and non-integers.
    "pow": ((0.5, 1.7, 3.0, 0.9), (2.0, -1.5, 0.5, 3.25)),
    "sin": ((-2.0, -0.3, 0.0, 1.1, 4.0),),
    "cos": ((-2.0, -0.3, 0.0, 1.1, 4.0),),
    "tan": ((-1.2, -0.3, 0.0, 0.7, 1.3),),
    "asin": ((-0.9, -0.4, 0.0, 0.5, 0.9),),
    "acos": ((-0.9, -0.4, 0.0, 0.5, 0.9),),
    "atan": ((-3.0, -0.4, 0.0, 0.5, 2.5),),
    "sinh": ((-2.0, -0.4, 0.0, 0.5, 2.5),),
    "cosh": ((-2.0, -0.4, 0.0, 0.5, 2.5),),
    "tanh": ((-2.0, -0.4, 0.0, 0.5, 2.5),),
    "asinh": ((-3.0, -0.4, 0.0, 0.5, 2.5),),
    "acosh": ((1.1, 1.5, 2.0, 5.0),),
    "atanh": ((-0.9, -0.4, 0.0, 0.5, 0.9),),
    "exp": ((-3.0, -0.4, 0.0, 0.5, 2.5),),
    "expm1": ((-3.0, -0.4, 0.0, 1e-3, 0.5, 2.5),),
    "log": ((0.1, 0.5, 1.0, 2.0, 40.0),),
    # log(a, b): the base stays away from 1, where log(b) = 0.
    "logb": ((0.1, 0.5, 1.0, 2.0, 40.0), (2.0, 0.5, 10.0, 3.5, 0.2)),
    "log2": ((0.1, 0.5, 1.0, 2.0, 40.0),),
    "log10": ((0.1, 0.5, 1.0, 2.0, 40.0),),
    "log1p": ((-0.9, -0.3, 0.0, 1e-4, 0.5, 3.0),),
    "sqrt": ((0.1, 0.5, 1.0, 2.0, 40.0),),
    "cbrt": ((-8.0, -0.5, 0.1, 1.0, 27.0),),
    "abs": ((-2.0, -0.3, 0.4, 1.5),),
    "sign": ((-2.0, -0.3, 0.4, 1.5),),
    "relu": ((-2.0, -0.3, 0.4, 1.5),),
    # Both sides of the jump; d/dh is 0 away from it (1 at a = 0: see below).
    "step": ((-2.0, -0.3, 0.4, 1.5), (0.5, 0.25, 1.0, -3.0)),
    "sigmoid": ((-4.0, -0.3, 0.0, 0.4, 3.0),),
    "softplus": ((-4.0, -0.3, 0.0, 0.4, 3.0),),
    "erf": ((-2.0, -0.3, 0.0, 0.4, 1.5),),
    # atan2(y, x) in every quadrant, x < 0 included, away from its cut at y = 0.
    "atan2": ((0.5, -0.5, 0.5, -0.5, 2.0), (1.0, 1.0, -1.0, -1.0, 0.1)),
    "hypot": ((0.5, -0.5, 3.0, -2.0, 1e-3), (1.0, 1.0, -4.0, -0.3, 2.0)),
    # Distinct arguments in every order, so each position is the winner once.
    "min": ((-1.0, 0.5, 2.0, 0.25), (0.5, 2.0, -1.0, 1.5), (2.0, -1.0, 0.5, -0.75)),
    "max": ((-1.0, 0.5, 2.0, 0.25), (0.5, 2.0, -1.0, 1.5), (2.0, -1.0, 0.5, -0.75)),
}


def argument_counts(op: Op) -> tuple[int, ...]:
    return VARIADIC_COUNTS if op.arity is None else (op.arity,)


def spellings_of(op: Op, count: int, names: tuple[str, ...] = NAMES) -> list[str]:
    """Every way to write ``op`` applied to the first ``count`` of ``names``."""
    names = list(names[:count])
    forms = []
    match op.notation.fixity:
        case Fixity.INFIX:
            forms.append(f"{names[0]} {op.notation.symbol} {names[1]}")
        case Fixity.PREFIX:
            forms.append(f"{op.notation.symbol}{names[0]}")
        case Fixity.CALL:
            forms.append(f"{op.notation.symbol}({', '.join(names)})")
    # A function name can also spell an infix op (pow(a, b) is a^b), and an
    # op can have several names (ln is log).
    forms.extend(f"{name}({', '.join(names)})" for name in op.spellings)
    return list(dict.fromkeys(forms))


def sample_points(op: Op, count: int) -> list[dict[str, float]]:
    # Without a list of its own, argument k takes the generic points rotated
    # by k, so that the arguments of a point are distinct (min, max).
    columns = POINTS.get(op.name) or tuple(
        GENERIC_POINTS[k:] + GENERIC_POINTS[:k] for k in range(count)
    )
    assert len(columns) >= count, f"POINTS[{op.name!r}] needs a column per argument"
    names = NAMES[:count]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns[:count], strict=True)]


CASES = [
    pytest.param(op, text, point, id=f"{op.name}:{text}:{','.join(map(str, point.values()))}")
    for op in OPS.values()
    for count in argument_counts(op)
    for text in spellings_of(op, count)
    for point in sample_points(op, count)
]


def central_difference(function: cgrad.Function, point: dict[str, float], name: str) -> float:
    # h ~ 1e-6 relative balances truncation (h^2 f'''/6 ~ 1e-12) against
    # rounding (eps |f| / h ~ 1e-10), leaving ~1e-9 to spare under 1e-6.
    h = 1e-6 * max(1.0, abs(point[name]))
    up = function.evaluate({**point, name: point[name] + h}).value
    down = function.evaluate({**point, name: point[name] - h}).value
    return (up - down) / (2.0 * h)


def test_every_op_has_cases():
    # Guards the parametrization itself: an op that produced no case would
    # be silently untested.
    covered = {case.values[0].name for case in CASES}
    assert covered == set(OPS)


@pytest.mark.parametrize(("op", "text", "point"), CASES)
def test_gradient_matches_finite_differences(op: Op, text: str, point: dict[str, float]):
    function = cgrad.compile(text)
    # The text must denote the op under test, or the rest proves nothing.
    graph = function.graph
    assert graph.nodes[graph.output].op == op.name
    assert function.inputs == tuple(point)

    reverse = function.evaluate(point)
    forward = function.evaluate(point, mode="forward")
    # Inside the domain and away from kinks nothing deserves a warning.
    assert reverse.warnings == ()
    assert forward.warnings == ()
    assert forward.value == reverse.value
    assert set(reverse.gradient) == set(forward.gradient) == set(point)
    for name in point:
        expected = central_difference(function, point, name)
        assert math.isclose(reverse.gradient[name], expected, rel_tol=1e-6, abs_tol=1e-6), name
        assert math.isclose(forward.gradient[name], expected, rel_tol=1e-6, abs_tol=1e-6), name
        # Asking for one partial prunes the passes; it must not change it.
        for mode, full in (("reverse", reverse), ("forward", forward)):
            alone = function.evaluate(point, wrt=[name], mode=mode)
            assert alone.gradient == {name: full.gradient[name]}, (mode, name)


# x*x, hypot(x, x), x^x: one node feeds both arguments, so its slope is the
# sum of two partials, which each mode must add up (not keep one of).
REPEATED_POINTS = (0.3, 0.7, 1.6)


@pytest.mark.parametrize(
    "op",
    [op for op in OPS.values() if op.arity is not None and op.arity >= 2],
    ids=lambda op: op.name,
)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_repeated_argument_matches_finite_differences(op: Op, mode: str):
    for text in spellings_of(op, op.arity, ("x",) * op.arity):
        function = cgrad.compile(text)
        assert function.inputs == ("x",)
        for x in REPEATED_POINTS:
            result = function.evaluate(x=x, mode=mode)
            assert result.warnings == ()
            expected = central_difference(function, {"x": x}, "x")
            assert math.isclose(result.gradient["x"], expected, rel_tol=1e-6, abs_tol=1e-6), (
                text,
                x,
            )


# Per op, an independent implementation of its value (finite differences
# only check the slope against cgrad's own value).
REFERENCES = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "neg": lambda a: -a, "pow": lambda a, b: a**b,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin,
    "acos": math.acos, "atan": math.atan, "sinh": math.sinh, "cosh": math.cosh,
    "tanh": math.tanh, "asinh": math.asinh, "acosh": math.acosh, "atanh": math.atanh,
    "exp": math.exp, "expm1": math.expm1, "log": math.log, "logb": math.log,
    "log2": math.log2, "log10": math.log10, "log1p": math.log1p, "sqrt": math.sqrt,
    "cbrt": lambda a: math.copysign(abs(a) ** (1 / 3), a), "abs": abs,
    "sign": lambda a: float((a > 0) - (a < 0)), "relu": lambda a: max(a, 0.0),
    "step": lambda a, h: h if a == 0 else float(a > 0),
    "sigmoid": lambda a: 1 / (1 + math.exp(-a)),
    "softplus": lambda a: math.log1p(math.exp(a)), "erf": math.erf,
    "atan2": math.atan2, "hypot": math.hypot,
    "min": lambda *a: min(a), "max": lambda *a: max(a),
}  # fmt: skip


@pytest.mark.parametrize("op", list(OPS.values()), ids=list(OPS))
def test_value_matches_math_reference(op: Op):
    # Pin the value itself to an independent implementation.
    assert op.name in REFERENCES, f"add a reference for {op.name} to REFERENCES"
    for count in argument_counts(op):
        for text in spellings_of(op, count):
            function = cgrad.compile(text)
            for point in sample_points(op, count):
                expected = REFERENCES[op.name](*point.values())
                assert math.isclose(
                    function.evaluate(point).value, expected, rel_tol=1e-14, abs_tol=1e-300
                ), (text, point)


# The ops exempt from the precision table: piecewise or exact arithmetic.
NOT_MEASURED = {"sign", "relu", "step", "min", "max", "neg", "add", "sub", "mul"}


@pytest.mark.parametrize("op", list(OPS.values()), ids=list(OPS))
def test_every_op_has_its_rows_in_the_tables_that_guard_it(op: Op):
    # An op is one entry in ops.py plus its rows in these tables; a new op
    # without them fails here, by name, rather than being tested less.
    import test_oracle
    import test_precision
    import test_symbolic

    missing = [
        table
        for table, present in [
            ("test_ops.REFERENCES", op.name in REFERENCES),
            ("test_ops.KINK_POINTS", op.kink is None or op.name in KINK_POINTS),
            ("test_precision.CASES", op.name in test_precision.CASES or op.name in NOT_MEASURED),
            ("test_symbolic.EVERY_OP", op.name in test_symbolic.EVERY_OP),
            (
                "test_oracle.FUNCTION_MEANINGS",
                all(name in test_oracle.FUNCTION_MEANINGS for name in op.spellings),
            ),
        ]
        if not present
    ]
    assert not missing, f"{op.name} has no rows in {', '.join(missing)}"


def test_function_index_matches_table():
    # The parser resolves names through FUNCTIONS; every spelling of every
    # op must lead back to that op at its arity.
    for op in OPS.values():
        for name in op.spellings:
            assert FUNCTIONS[name][op.arity] is op
    assert set(FUNCTIONS["log"]) == {1, 2}


# --------------------------------------------------------------------------
# Conventions at the kinks.


def only_kink(result: cgrad.Result, function: cgrad.Function, op_name: str, text: str):
    """The single kink warning of ``result``; it must name the node of
    ``op_name`` whose source text is ``text``."""
    kinks = [w for w in result.warnings if w.type == "kink"]
    assert len(kinks) == 1, result.warnings
    (kink,) = kinks
    assert kink.node is not None
    assert function.graph.nodes[kink.node].op == op_name
    assert kink.span is not None
    assert function.source[kink.span.start : kink.span.end] == text
    assert text in kink.message
    return kink


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("text", "point", "value", "gradient"),
    [
        ("abs(x)", {"x": 0.0}, 0.0, {"x": 0.0}),
        ("relu(x)", {"x": 0.0}, 0.0, {"x": 0.0}),
        ("sign(x)", {"x": 0.0}, 0.0, {"x": 0.0}),
        ("sqrt(x)", {"x": 0.0}, 0.0, {"x": math.inf}),
        ("cbrt(x)", {"x": 0.0}, 0.0, {"x": math.inf}),
        ("hypot(x, y)", {"x": 0.0, "y": 0.0}, 0.0, {"x": 0.0, "y": 0.0}),
        ("max(x, y, z)", {"x": 2.0, "y": 2.0, "z": 2.0}, 2.0, {n: 1 / 3 for n in NAMES}),
        ("min(x, y, z)", {"x": -1.0, "y": -1.0, "z": -1.0}, -1.0, {n: 1 / 3 for n in NAMES}),
        # A tie of two shares between those two; the loser gets nothing.
        ("max(x, y, z)", {"x": 1.0, "y": 3.0, "z": 3.0}, 3.0, {"x": 0.0, "y": 0.5, "z": 0.5}),
        ("min(x, y)", {"x": 0.5, "y": 0.5}, 0.5, {"x": 0.5, "y": 0.5}),
        ("x^0.5", {"x": 0.0}, 0.0, {"x": math.inf}),
        ("x^0.5", {"x": -0.0}, 0.0, {"x": math.inf}),
        # -0.0 is 0: the convention holds there too (sqrt(-x) at x = 0 and
        # sqrt(sin(x)) at x = -0.0 land on it).
        ("sqrt(x)", {"x": -0.0}, 0.0, {"x": math.inf}),
    ],
)
def test_convention_at_kink(text, point, value, gradient, mode):
    function = cgrad.compile(text)
    result = function.evaluate(point, mode=mode)
    assert result.value == value
    assert result.gradient == pytest.approx(gradient, rel=1e-15)
    only_kink(result, function, function.graph.nodes[function.graph.output].op, text)


@pytest.mark.parametrize("x", [-3.0, -1e-300, 0.0, 1e-300, 2.5])
def test_sign_has_zero_slope_everywhere(x):
    result = cgrad.compile("sign(x)").evaluate(x=x)
    assert result.gradient == {"x": 0.0}
    assert result.value == float(np.sign(x))
    # Only 0 itself is the kink.
    assert [w.type for w in result.warnings] == (["kink"] if x == 0 else [])


def test_zero_to_the_zero_is_one():
    result = cgrad.compile("x^y").evaluate(x=0.0, y=0.0)
    assert result.value == 1.0
    # Only d/da is pinned by the conventions; d/db at a = 0 is cgrad's choice.
    assert result.gradient["x"] == 0.0


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("text", ["x^0", "x**0", "pow(x, 0)"])
def test_power_zero_has_zero_slope_at_zero(text, mode):
    # b*a^(b-1) would be 0 * 0^-1 = 0 * inf = NaN; the rule says 0.
    function = cgrad.compile(text)
    result = function.evaluate(x=0.0, mode=mode)
    assert result.value == 1.0
    assert result.gradient == {"x": 0.0}
    # Whether a = 0 counts as a kink of a^0 is not pinned down; a NaN or inf
    # being reported is wrong, as nothing non-finite came out.
    for warning in result.warnings:
        assert warning.type == "kink"
        assert warning.node == function.graph.output


def test_kink_names_the_inner_node():
    # The warning is about the kinked node deep inside, not about the output.
    text = "exp(y) * (1 + abs(x - 1))"
    function = cgrad.compile(text)
    result = function.evaluate(x=1.0, y=0.0)
    assert result.value == 1.0
    assert result.gradient == {"x": 0.0, "y": 1.0}
    kink = only_kink(result, function, "abs", "abs(x - 1)")
    assert kink.span.line == 1
    assert kink.span.column == text.index("abs") + 1


def test_kink_on_a_later_line_reports_that_line():
    function = cgrad.compile("a = x * y\nb = relu(a)\nb + a")
    result = function.evaluate(x=0.0, y=2.0)
    kink = only_kink(result, function, "relu", "relu(a)")
    assert (kink.span.line, kink.span.column) == (2, 5)
    # relu'(0) = 0, so only the direct path through a counts.
    assert result.gradient == {"x": 2.0, "y": 0.0}


KINK_POINTS: dict[str, tuple[float, ...]] = {
    "pow": (0.0, 0.5),
    "sqrt": (0.0,),
    "cbrt": (0.0,),
    "abs": (0.0,),
    "sign": (0.0,),
    "relu": (0.0,),
    "step": (0.0, 0.5),
    "hypot": (0.0, 0.0),
    "min": (1.0, 1.0),
    "max": (1.0, 1.0),
}


@pytest.mark.parametrize(
    "op", [op for op in OPS.values() if op.kink is not None], ids=lambda op: op.name
)
def test_every_kink_is_reported(op: Op):
    # An op with a kink convention must warn there; a new one needs a point.
    assert op.name in KINK_POINTS, f"add a kink point for {op.name} to KINK_POINTS"
    point = dict(zip(NAMES, KINK_POINTS[op.name], strict=False))
    text = spellings_of(op, len(point))[0]
    function = cgrad.compile(text)
    for mode in ("reverse", "forward"):
        result = function.evaluate(point, mode=mode)
        kink = only_kink(result, function, op.name, text)
        assert op.kink.convention in kink.message
    # The same op a little away from the kink is smooth and silent.
    nudged = {name: value + 0.125 * (i + 1) for i, (name, value) in enumerate(point.items())}
    assert function.evaluate(nudged).warnings == ()


def test_kink_is_not_reported_when_not_differentiated_through():
    # With wrt=['y'] no derivative passes through abs(x), so no convention
    # was used and there is nothing to report.
    function = cgrad.compile("abs(x) + y")
    assert function.evaluate(x=0.0, y=1.0, wrt=["y"]).warnings == ()
    assert [w.type for w in function.evaluate(x=0.0, y=1.0).warnings] == ["kink"]


# --------------------------------------------------------------------------
# Vectorised evaluation is pointwise evaluation, done at once.


VECTOR_CASES = [
    ("sin(x) * y", {"x": [-1.0, 0.0, 0.5, 2.0], "y": [3.0, -1.0, 0.25, 2.0]}),
    ("erf(x) / y", {"x": [-1.0, 0.0, 0.5, 2.0], "y": 1.5}),
    ("hypot(x, y)", {"x": [0.0, 3.0, -1.0, 0.5], "y": [0.0, 4.0, 2.0, -0.5]}),
    (
        "max(x, y, z)",
        {"x": [1.0, 2.0, 0.5, 3.0], "y": [1.0, 0.0, 0.5, 1.0], "z": [1.0, 2.0, 4.0, -1.0]},
    ),
    ("abs(x) ^ y", {"x": [-2.0, 0.0, 0.5, 3.0], "y": [2.0, 3.0, 0.5, -1.0]}),
    ("log(x, y) + relu(x - y)", {"x": [0.5, 4.0, 2.0, 8.0], "y": [2.0, 2.0, 10.0, 0.5]}),
    ("sqrt(x) + cbrt(x)", {"x": [0.0, 1.0, 8.0, 0.25]}),
]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("text", "arrays"), VECTOR_CASES, ids=[c[0] for c in VECTOR_CASES])
def test_vectorised_equals_pointwise(text, arrays, mode):
    function = cgrad.compile(text)
    arrays = {name: np.asarray(value, dtype=np.float64) for name, value in arrays.items()}
    batch = function.evaluate(arrays, mode=mode)
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    assert np.shape(batch.value) == shape
    assert all(np.shape(g) == shape for g in batch.gradient.values())

    any_warning = False
    for index in np.ndindex(shape):
        point = {name: float(np.broadcast_to(a, shape)[index]) for name, a in arrays.items()}
        single = function.evaluate(point, mode=mode)
        any_warning = any_warning or bool(single.warnings)
        np.testing.assert_allclose(batch.value[index], single.value, rtol=1e-14, atol=0)
        for name, g in single.gradient.items():
            np.testing.assert_allclose(batch.gradient[name][index], g, rtol=1e-14, atol=0)
    # A kink at one point of many is still reported.
    assert bool(batch.warnings) == any_warning


def test_vectorised_broadcasts_across_axes():
    function = cgrad.compile("atan2(y, x) * z + erf(x * y)")
    x = np.array([[0.5], [-1.0], [2.0]])
    y = np.array([1.0, -0.5, 0.25, 3.0])
    batch = function.evaluate(x=x, y=y, z=2.0)
    assert np.shape(batch.value) == (3, 4)
    # z is a scalar but its partial has the full shape: it varies with x, y.
    assert np.shape(batch.gradient["z"]) == (3, 4)
    for i in range(3):
        for j in range(4):
            single = function.evaluate(x=x[i, 0], y=y[j], z=2.0)
            assert batch.value[i, j] == pytest.approx(single.value, rel=1e-14)
            for name in ("x", "y", "z"):
                assert batch.gradient[name][i, j] == pytest.approx(single.gradient[name], rel=1e-14)


# --------------------------------------------------------------------------
# The rule namespace: one protocol, every variant derived from it.


def test_every_numeric_namespace_has_every_op_and_helper():
    from cgrad.namespaces import HELPERS
    from cgrad.ops import FLOATS, NUMERIC, POINT_TESTS

    for namespace in (NUMERIC, FLOATS, POINT_TESTS):
        assert set(vars(namespace)) == set(OPS) | set(HELPERS)


def test_a_namespace_without_a_helper_cannot_be_made():
    from cgrad.namespaces import RuleNamespace, namespace

    with pytest.raises(TypeError, match="helpers"):
        namespace({}, {"where": None})

    class NoHelpers(RuleNamespace):
        """A namespace that forgot its helpers."""

        def function(self, name):
            return name

    with pytest.raises(TypeError):
        NoHelpers()  # type: ignore[abstract]
