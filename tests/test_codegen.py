"""The generated code of a point's passes: the engine's numbers bit for
bit, the array path's too, the walk's warnings where there are any, and
nothing from the user in its text."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgrad
from cgrad import codegen, engine
from test_oracle import NAMES, coordinates, points, programs

# Besides the usual coordinates: signed zeros, numbers whose exp or square
# overflows or underflows, and numbers that are not finite.
EDGES = [0.0, -0.0, 1e-320, 800.0, -800.0, 1e200, -1e200, 1.7e308, math.inf, -math.inf, math.nan]
wide_points = st.fixed_dictionaries(
    {name: st.one_of(coordinates, st.sampled_from(EDGES)) for name in NAMES}
)


def generated(function: cgrad.Function, values: dict) -> cgrad.Result | None:
    """One point's evaluation by generated code, or None where it hands
    the point to the walk."""
    plan = engine.plan(function.graph)
    if plan.point_passes is None:  # made now, rather than after some walks
        return None
    return engine._evaluate_point(plan, [float(values[name]) for name in function.inputs])


def walked(function: cgrad.Function, values: dict) -> cgrad.Result:
    """One point's evaluation by walking the graph with numpy scalars."""
    arrays = {name: np.float64(values[name]) for name in function.inputs}
    with np.errstate(all="ignore"):
        return engine._evaluate_whole(engine.plan(function.graph), arrays, (), "reverse")


def same(a, b) -> bool:
    """The same float64, -0.0 and 0.0 told apart (NaNs are all one NaN to
    the user)."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def same_result(a: cgrad.Result, b: cgrad.Result) -> bool:
    return (
        same(a.value, b.value)
        and a.gradient.keys() == b.gradient.keys()
        and all(same(a.gradient[name], b.gradient[name]) for name in a.gradient)
        and [w.message for w in a.warnings] == [w.message for w in b.warnings]
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=points)
def test_generated_passes_give_the_engines_numbers_bit_for_bit(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    fast = generated(function, values)
    slow = walked(function, values)
    if fast is not None:
        assert same_result(fast, slow) and not fast.warnings
        assert all(map(same, fast.node_values, slow.node_values))
        assert all(map(same, fast.node_gradients, slow.node_gradients))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(guarded=False, symbolic=False), point=wide_points)
def test_generated_code_gives_numpys_numbers_or_raises_where_numpy_does_not(program, point):
    # Outside the domains (1/0, sqrt(-1), log(-1), exp(800)): every number
    # the generated function gives, NaN and inf included, is the walk's;
    # where Python's float raises instead, the point is the walk's.
    function = cgrad.compile(program.text)
    passes = engine.plan(function.graph).point_passes
    values = {name: point[name] for name in function.inputs}
    slow = walked(function, values)
    try:
        computed = None if passes is None else passes(*values.values())
    except (ArithmeticError, ValueError):
        computed = None
    if computed is not None:
        node_values, node_gradients = computed
        assert all(map(same, node_values, slow.node_values))
        assert all(map(same, node_gradients, slow.node_gradients))
        assert all(type(v) is float for v in [*node_values, *node_gradients] if v is not None)
    # Through the API, once the code is made: the walk's numbers and warnings.
    compiled = cgrad.compile(program.text)
    compiled._plan(None).point_passes  # noqa: B018 - made now, not after 16 walks
    assert same_result(compiled.evaluate(values), slow)


def has_a_variable_exponent(function: cgrad.Function) -> bool:
    needed = engine.plan(function.graph).needed
    return any(node.op == "pow" and needed[node.operands[1]] for node in function.graph.nodes)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    program=programs(guarded=False, symbolic=False),
    column=st.lists(wide_points, min_size=1, max_size=4),
)
def test_a_point_gives_the_numbers_of_the_array_path_bit_for_bit(program, column):
    # What `cgrad eval` prints of a point is what `cgrad batch` prints of it.
    function = cgrad.compile(program.text)
    # numpy's power loop takes a constant exponent of 2, 0.5 or -1 by
    # multiplying, sqrt and division, but a column of exponents by pow()
    # (SVML's on AVX512), whose last bit can differ: a known difference of
    # the engine's, which generated code does not change.
    assume(not has_a_variable_exponent(function))
    function._plan(None).point_passes  # noqa: B018 - made now, not after 16 walks
    arrays = {name: np.array([p[name] for p in column]) for name in function.inputs}
    many = function.evaluate(arrays)
    for index, point in enumerate(column):
        one = function.evaluate({name: point[name] for name in function.inputs})
        assert same(one.value, float(np.broadcast_to(many.value, len(column))[index]))
        for name in function.inputs:
            row = np.broadcast_to(many.gradient[name], len(column))
            assert same(one.gradient[name], float(row[index]))


@pytest.mark.parametrize(
    ("text", "point", "raised"),
    [
        ("1/x + x", {"x": 0.0}, ZeroDivisionError),  # numpy: inf, and a warning
        ("x/y", {"x": 0.0, "y": 0.0}, ZeroDivisionError),  # numpy: NaN
        ("sqrt(x) * y", {"x": -1.0, "y": 2.0}, ValueError),  # numpy: NaN
        ("log(x)", {"x": 0.0}, ZeroDivisionError),  # -inf, and d/dx = 1/0
        ("exp(x) * y", {"x": 800.0, "y": 1.0}, None),  # inf without an exception
        ("1 / (1 + exp(x))", {"x": 800.0}, None),  # a finite value, a NaN slope
        ("x / exp(y)", {"x": 1.0, "y": 800.0}, None),  # inf inside, finite outside
        ("x^2 * y", {"x": 1e200, "y": 1.0}, None),  # a square that overflows
        ("x + y", {"x": math.nan, "y": 1.0}, None),  # a non-finite input
        ("x + y", {"x": 1.0, "y": -math.inf}, None),
        ("abs(x) + sqrt(y)", {"x": 0.0, "y": 4.0}, None),  # a kink
        ("sqrt(y^2 + x)", {"x": 0.0, "y": 0.0}, None),  # a kink at a computed 0
        ("x^0.5", {"x": 0.0}, None),  # a kink of a power below 1
    ],
)
def test_a_point_with_something_to_warn_about_is_the_walks(text, point, raised):
    function = cgrad.compile(text)
    passes = engine.plan(function.graph).point_passes
    if raised is not None:
        with pytest.raises(raised):
            passes(*point.values())
    assert generated(function, point) is None
    function._plan(None).point_passes  # noqa: B018 - made now, not after 16 walks
    result = function.evaluate(point)
    assert result.warnings
    assert same_result(result, walked(function, point))


def test_a_finite_point_takes_the_generated_code():
    function = cgrad.compile("exp(-x^2) / (1 + y)")
    fast = generated(function, {"x": 0.5, "y": 1.0})
    assert fast is not None and same_result(fast, walked(function, {"x": 0.5, "y": 1.0}))


@pytest.mark.parametrize("value", [3, np.float64(3.0), np.array(3.0), np.float32(3.0), True])
def test_every_kind_of_one_number_takes_the_generated_code(value):
    function = cgrad.compile("x * sin(x)")
    plan = function._plan(None)
    plan.point_passes  # noqa: B018 - made now, not after 16 walks
    result = function.evaluate(x=value)
    assert plan.points_walked == [0]  # no walk counted: the generated code ran
    assert same_result(result, walked(function, {"x": float(value)}))
    assert type(result.value) is float


def test_a_square_is_numpys_square_to_the_last_bit():
    # pow(x, 2) is not always x*x to the last bit; numpy's loop squares by
    # multiplying where the exponent is one number 2.0 (numpy 2.1 on),
    # and generated code must do what the engine's numpy does.
    xs = np.random.default_rng(7).standard_normal(2000) * 10
    function = cgrad.compile("x^2")
    many = function.evaluate(x=xs)
    function._plan(None).point_passes  # noqa: B018 - made now, not after 16 walks
    for index, x in enumerate(xs):
        one = function.evaluate(x=float(x))
        assert one.value == many.value[index] and one.gradient["x"] == many.gradient["x"][index]
    if codegen.POWER_SQUARES:
        assert np.array_equal(np.power(xs, 2.0), xs * xs)


@pytest.mark.parametrize(
    "text",
    [
        "__import__ * os + system - exec / eval",
        "builtins^2 + 1e999*globals + 0.1*breakpoint",
        "x" * 500 + " + sin(" + "y" * 300 + ")",
        "t = exec*2; t + t",
    ],
)
def test_generated_code_holds_nothing_from_the_user(text):
    function = cgrad.compile(text)
    passes = engine.plan(function.graph).point_passes
    assert passes is not None
    assert codegen.SAFE.fullmatch(passes.source)
    for name in function.inputs:
        assert name not in passes.source
    function.evaluate({name: 0.5 for name in function.inputs})


def test_generated_code_is_made_once_it_pays():
    function = cgrad.compile("sin(x*y) + x")
    plan = function._plan(None)
    for _ in range(engine.COMPILE_AFTER):
        function.evaluate(x=0.5, y=2.0)
    assert "point_passes" not in plan.__dict__  # a one-off evaluation walks
    function.evaluate(x=0.5, y=2.0)
    assert plan.point_passes is not None and plan.points_walked == [engine.COMPILE_AFTER + 1]


def test_a_rule_that_must_look_at_the_point_is_walked():
    # hypot's slope is 0 where hypot is 0: a test of the value at run time.
    function = cgrad.compile("hypot(x, y)")
    assert engine.plan(function.graph).point_passes is None
    assert function.evaluate(x=0.0, y=0.0).gradient == {"x": 0.0, "y": 0.0}
    assert function.evaluate(x=3.0, y=4.0).gradient == {"x": 0.6, "y": 0.8}


def test_a_power_with_a_constant_exponent_has_no_kink_to_test():
    plan = engine.plan(cgrad.compile("x^2 + sqrt(x)").graph)
    assert [plan.graph.nodes[node].op for node, _, _ in plan.kink_steps] == ["sqrt"]
    assert engine.plan(cgrad.compile("x^0.5").graph).kink_steps  # below 1: it has one


def test_big_graphs_are_walked():
    function = cgrad.compile(" + ".join(f"sin(x*{i})" for i in range(1, 1000)))
    assert len(function.graph) > codegen.MAX_NODES
    assert engine.plan(function.graph).point_passes is None
