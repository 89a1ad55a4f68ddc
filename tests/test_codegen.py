"""The generated code of a point's passes: the engine's numbers bit for
bit, the array path's too, the walk's warnings where there are any, and
nothing from the user in its text."""

from __future__ import annotations

import builtins
import contextlib
import itertools
import math
import re
import threading
import warnings
from concurrent.futures import Future

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff import chunks, codegen, runner
from cgrad.autodiff.evaluation import evaluate_point, evaluate_whole
from cgrad.autodiff.passes import backward, forward
from cgrad.autodiff.passes import plan as plan_for
from cgrad.autodiff.runner import Runner
from cgrad.elementary import POWER_SQUARES
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
    made = Runner(plan_for(function.graph))
    if made.point_passes is None:  # made now, rather than after some walks
        return None
    return evaluate_point(made, [float(values[name]) for name in function.inputs])


def walked(function: cgrad.Function, values: dict) -> cgrad.Result:
    """One point's evaluation by walking the graph with numpy scalars."""
    arrays = {name: np.float64(values[name]) for name in function.inputs}
    with np.errstate(all="ignore"):
        return evaluate_whole(Runner(plan_for(function.graph)), arrays, (), "reverse")


def same(a, b) -> bool:
    """The same float64, -0.0 and 0.0 told apart (NaNs are all one NaN to
    the user)."""
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def handed_over(walk: cgrad.Result) -> bool:
    """Whether a fast path may hand this point to the walk: the walk warns
    (a kink, a NaN), or some node's value or adjoint is NaN or inf, which is
    where Python's float raises (1/0, sqrt(-1)) and numpy does not, dead
    bindings included."""
    numbers = [*walk.node_values, *(walk.node_gradients or ())]
    return bool(walk.warnings) or not all(math.isfinite(v) for v in numbers if v is not None)


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
    if Runner(plan_for(function.graph)).point_passes is None:
        return  # a rule that looks at the point: walked, nothing to compare
    if fast is None:
        # Generated code hands a point to the walk only where there is
        # something to warn about or a NaN or inf that Python's float raised
        # at: code that raises or gives up at an ordinary point fails here.
        assert handed_over(slow), "generated code gave up at an ordinary point"
        return
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
    passes = Runner(plan_for(function.graph)).point_passes
    values = {name: point[name] for name in function.inputs}
    slow = walked(function, values)
    try:
        computed = None if passes is None else passes(*values.values())
    except (ArithmeticError, ValueError):
        # Python's float raises (1/0, sqrt(-1)) only where numpy gives inf
        # or NaN: an exception anywhere else is a bug of the generated code,
        # not the documented hand-over.
        assert handed_over(slow), "generated code raised at an ordinary point"
        computed = None
    if computed is not None:
        node_values, node_gradients = computed
        assert all(map(same, node_values, slow.node_values))
        assert all(map(same, node_gradients, slow.node_gradients))
        assert all(type(v) is float for v in [*node_values, *node_gradients] if v is not None)
    # Through the API, once the code is made: the walk's numbers and warnings.
    compiled = cgrad.compile(program.text)
    compiled._runner(None).point_passes  # noqa: B018 - made now, not after 16 walks
    assert same_result(compiled.evaluate(values), slow)


def has_a_variable_exponent(function: cgrad.Function) -> bool:
    needed = plan_for(function.graph).needed
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
    function._runner(None).point_passes  # noqa: B018 - made now, not after 16 walks
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
    passes = Runner(plan_for(function.graph)).point_passes
    if raised is not None:
        with pytest.raises(raised):
            passes(*point.values())
    assert generated(function, point) is None
    function._runner(None).point_passes  # noqa: B018 - made now, not after 16 walks
    result = function.evaluate(point)
    assert result.warnings
    assert same_result(result, walked(function, point))


def test_a_finite_point_takes_the_generated_code():
    function = cgrad.compile("exp(-x^2) / (1 + y)")
    fast = generated(function, {"x": 0.5, "y": 1.0})
    assert fast is not None and same_result(fast, walked(function, {"x": 0.5, "y": 1.0}))


@pytest.mark.parametrize("value", [3, np.float64(3.0), np.array(3.0), np.float32(3.0)])
def test_every_kind_of_one_number_takes_the_generated_code(value):
    function = cgrad.compile("x * sin(x)")
    plan = function._runner(None)
    plan.point_passes  # noqa: B018 - made now, not after 16 walks
    result = function.evaluate(x=value)
    assert plan.points_walked == 0  # no walk counted: the generated code ran
    assert same_result(result, walked(function, {"x": float(value)}))
    assert type(result.value) is float


def test_a_square_is_numpys_square_to_the_last_bit():
    # pow(x, 2) is not always x*x to the last bit; numpy's loop squares by
    # multiplying where the exponent is one number 2.0 (numpy 2.1 on),
    # and generated code must do what the engine's numpy does.
    xs = np.random.default_rng(7).standard_normal(2000) * 10
    function = cgrad.compile("x^2")
    many = function.evaluate(x=xs)
    function._runner(None).point_passes  # noqa: B018 - made now, not after 16 walks
    for index, x in enumerate(xs):
        one = function.evaluate(x=float(x))
        assert one.value == many.value[index] and one.gradient["x"] == many.gradient["x"][index]
    if POWER_SQUARES:
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
    passes = Runner(plan_for(function.graph)).point_passes
    assert passes is not None
    assert codegen.SAFE.fullmatch(passes.source)
    for name in function.inputs:
        assert name not in passes.source
    function.evaluate({name: 0.5 for name in function.inputs})


def test_generated_code_is_made_once_it_pays():
    function = cgrad.compile("sin(x*y) + x")
    plan = function._runner(None)
    for _ in range(runner.COMPILE_AFTER):
        function.evaluate(x=0.5, y=2.0)
    assert "point_passes" not in plan.__dict__  # a one-off evaluation walks
    function.evaluate(x=0.5, y=2.0)
    assert plan.point_passes is not None and plan.points_walked == runner.COMPILE_AFTER + 1


def test_a_rule_that_must_look_at_the_point_is_walked():
    # hypot's slope is 0 where hypot is 0: a test of the value at run time.
    function = cgrad.compile("hypot(x, y)")
    assert Runner(plan_for(function.graph)).point_passes is None
    assert function.evaluate(x=0.0, y=0.0).gradient == {"x": 0.0, "y": 0.0}
    assert function.evaluate(x=3.0, y=4.0).gradient == {"x": 0.6, "y": 0.8}


def test_a_power_with_a_constant_exponent_has_no_kink_to_test():
    plan = Runner(plan_for(cgrad.compile("x^2 + sqrt(x)").graph)).plan
    assert [plan.graph.nodes[node].op for node, _, _ in plan.kink_steps] == ["sqrt"]
    assert Runner(plan_for(cgrad.compile("x^0.5").graph)).plan.kink_steps  # below 1: it has one


def test_big_graphs_are_walked():
    function = cgrad.compile(" + ".join(f"sin(x*{i})" for i in range(1, 1000)))
    assert len(function.graph) > codegen.MAX_NODES
    assert Runner(plan_for(function.graph)).point_passes is None


# --------------------------------------------------------------------------
# The passes over arrays.


def same_numbers(a, b) -> bool:
    """The same float64s, element by element: NaN where NaN, -0.0 and 0.0
    told apart (NaNs are all one NaN to the user)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    nan = np.isnan(a)
    return (
        np.array_equal(nan, np.isnan(b))
        and np.array_equal(a[~nan], b[~nan])
        and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan]))
    )


def inputs_for(function: cgrad.Function, column: list[dict], numbers: set[str]) -> dict:
    """Arrays of the column's points, one number for the inputs in ``numbers``."""
    return {
        name: np.float64(column[0][name])
        if name in numbers
        else np.array([point[name] for point in column])
        for name in function.inputs
    }


def pattern_of(function: cgrad.Function, inputs: dict) -> tuple[bool, ...]:
    return tuple(isinstance(inputs[name], np.ndarray) for name in function.graph.inputs)


def walked_over_arrays(function: cgrad.Function, inputs: dict) -> cgrad.Result:
    """The walk over whole arrays, with its warnings: what the generated
    code must match."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in inputs.values()))
    with np.errstate(all="ignore"):
        return evaluate_whole(Runner(plan_for(function.graph)), inputs, shape, "reverse")


def same_array_result(a: cgrad.Result, b: cgrad.Result) -> bool:
    return (
        same_numbers(a.value, b.value)
        and a.gradient.keys() == b.gradient.keys()
        and all(same_numbers(a.gradient[name], b.gradient[name]) for name in a.gradient)
        and [w.message for w in a.warnings] == [w.message for w in b.warnings]
    )


columns = st.lists(wide_points, min_size=1, max_size=24)
numbers_among_arrays = st.sets(st.sampled_from(NAMES), max_size=2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    program=programs(guarded=False, symbolic=False), column=columns, numbers=numbers_among_arrays
)
def test_generated_array_passes_give_the_walks_numbers_bit_for_bit(program, column, numbers):
    # Every number of the results and of the watched nodes, NaN and inf
    # included (the caller looks for them after the call), is the walk's;
    # the inputs are read, never written.
    function = cgrad.compile(program.text)
    inputs = inputs_for(function, column, numbers)
    pattern = pattern_of(function, inputs)
    assume(any(pattern))
    made = Runner(plan_for(function.graph))
    plan = made.plan
    passes = made.array_passes(pattern)
    # The same rules are traced, over one number or over arrays.
    assert (passes is None) == (made.point_passes is None)
    if passes is None:
        return
    originals = {name: np.copy(a) for name, a in inputs.items()}
    size = len(column)
    with np.errstate(all="ignore"):
        values = forward(plan, inputs)
        adjoints = backward(plan, values)
        columns = [np.full(size, 7.0) for _ in range(1 + len(plan.wrt))]
        work = [np.full(size, 7.0) for _ in range(passes.buffers)]
        got, watched = passes(*(inputs[n] for n in function.graph.inputs), *columns, *work)
    graph = function.graph
    expected = [values[graph.output], *(adjoints[graph.input_ids[n]] for n in plan.wrt)]
    for column_array, computed, walked in zip(columns, got, expected, strict=True):
        if computed is not column_array:
            column_array[...] = 0.0 if computed is None else computed
        assert same_numbers(column_array, np.broadcast_to(0.0 if walked is None else walked, size))
    for node_id, value in zip(passes.watched, watched, strict=True):
        assert same_numbers(value, values[node_id])
    for name, array in inputs.items():
        assert same_numbers(array, originals[name])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    program=programs(guarded=False, symbolic=False),
    column=st.lists(wide_points, min_size=1, max_size=40),
    numbers=numbers_among_arrays,
    chunk=st.sampled_from([1, 3, 8, 64]),
    threads=st.sampled_from([1, 3]),
)
def test_arrays_by_generated_code_give_the_walks_numbers_and_warnings(
    program, column, numbers, chunk, threads
):
    # Through the API, in chunks (the last one shorter), in one thread or
    # several, once the code is made: the walk's numbers where no chunk has
    # anything to warn about, and where one has, the walk's numbers and
    # warnings.
    function = cgrad.compile(program.text)
    inputs = inputs_for(function, column, numbers)
    pattern = pattern_of(function, inputs)
    assume(any(pattern))
    function._runner(None).array_passes(pattern)  # made now, not after some walks
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunks, "CHUNK", chunk)
        patch.setattr(chunks, "THREADS", threads)
        patch.setattr(chunks, "THREAD_POINTS", 2)
        result = function.evaluate(inputs)
    walked = walked_over_arrays(function, inputs)
    assert same_array_result(result, walked)
    arrays = [result.value, *result.gradient.values()]
    assert len({id(a) for a in arrays}) == len(arrays)
    assert not any(np.shares_memory(a, b) for a in arrays for b in inputs.values())


@pytest.mark.parametrize("text", ["x", "exp(x)", "x + y", "x*y", "x - x", "sqrt(x)*x", "2 + 0*x"])
def test_generated_results_are_arrays_of_their_own(text):
    # A result that is an input (d/dx x*y is y), another result (exp's
    # slope is its value) or a number is copied into an array of its own.
    function = cgrad.compile(text)
    x = np.linspace(0.5, 1.5, 9)
    inputs = {name: x for name in function.inputs}
    plan = function._runner(None)
    assert plan.array_passes(pattern_of(function, inputs)) is not None
    result = function.evaluate(inputs)
    arrays = [result.value, *result.gradient.values()]
    assert all(not np.shares_memory(a, b) for a in arrays for b in [*arrays, x] if a is not b)
    assert np.array_equal(x, np.linspace(0.5, 1.5, 9))
    assert same_array_result(result, walked_over_arrays(function, inputs))
    # Node values and adjoints are not kept: nothing a later chunk writes
    # over is handed out.
    assert result.node_values == [] and result.node_gradients is None


def test_node_values_handed_out_are_the_walks():
    # Where the walk runs (a warning), its node values and adjoints are
    # handed out, and no generated code has written over them.
    function = cgrad.compile("sqrt(x*y) + x*y*exp(x)")
    x = np.array([0.0, 1.0, 2.0, 3.0])
    inputs = {"x": x, "y": x + 1.0}
    function._runner(None).array_passes((True, True))
    result = function.evaluate(inputs)
    assert [w.type for w in result.warnings] == ["kink"]
    plan = plan_for(function.graph)
    with np.errstate(all="ignore"):
        values = forward(plan, inputs)
        adjoints = backward(plan, values)
    assert all(map(same_numbers, result.node_values, values))
    assert all(
        a is b is None or same_numbers(a, b)
        for a, b in zip(result.node_gradients, adjoints, strict=True)
    )


@pytest.mark.parametrize(
    ("text", "bad", "kind"),
    [("abs(x - 900)", 900, "kink"), ("1/(x - 900)", 900, "non_finite_value")],
)
def test_a_problem_in_a_late_chunk_of_generated_code_is_reported_with_its_points(
    monkeypatch, text, bad, kind
):
    monkeypatch.setattr(chunks, "CHUNK", 64)
    function = cgrad.compile(text)
    function._runner(None).array_passes((True,))
    result = function.evaluate(x=np.arange(1000.0))
    assert [w.type for w in result.warnings] == [kind]
    assert np.flatnonzero(result.warnings[0].points).tolist() == [bad]


def test_array_code_is_made_once_it_pays():
    function = cgrad.compile("sin(x*y) + x")
    plan = function._runner(None)
    small = np.linspace(0.0, 1.0, 10)
    for _ in range(runner.COMPILE_AFTER):
        function.evaluate(x=small, y=2.0)
    assert plan.made_array_passes == {}  # a few short arrays are walked
    function.evaluate(x=small, y=2.0)
    assert plan.made_array_passes[(True, False)] is not None
    big = np.linspace(0.0, 1.0, runner.COMPILE_AT_POINTS)
    function.evaluate(x=big, y=big)  # a long one at once
    assert plan.made_array_passes[(True, True)] is not None


def test_a_rule_that_must_look_at_the_point_is_walked_over_arrays():
    function = cgrad.compile("hypot(x, y)")
    assert Runner(plan_for(function.graph)).array_passes((True, True)) is None
    x = np.zeros(chunks.CHUNK + 5)
    x[1] = 3.0
    result = function.evaluate(x=x, y=np.where(x == 3.0, 4.0, 1.0))
    assert result.gradient["x"][1] == 0.6 and result.gradient["y"][1] == 0.8


def test_array_code_holds_nothing_from_the_user():
    function = cgrad.compile("__import__ * os + system - exec / eval + sqrt(globals)")
    plan = Runner(plan_for(function.graph))
    count = len(function.graph.inputs)
    for pattern in [(True,) * count, (True, False) * (count // 2) + (False,) * (count % 2)]:
        passes = plan.array_passes(pattern)
        assert codegen.SAFE.fullmatch(passes.source)
        assert not any(name in passes.source for name in function.inputs)


def test_no_points_are_walked_whole():
    function = cgrad.compile("x*y")
    function._runner(None).array_passes((True, True))
    result = function.evaluate(x=np.array([]), y=np.array([]))
    assert result.value.shape == (0,) and result.gradient["x"].shape == (0,)


@pytest.mark.parametrize(
    ("text", "inputs"),
    [
        ("exp(x)", {"x": -math.inf}),  # 0, and its slope 0
        ("tanh(x) * y", {"x": math.inf, "y": 2.0}),
        ("x / y", {"x": 1.0, "y": math.inf}),
        ("x * y", {"x": 0.5, "y": math.nan}),  # NaN in every result: no need to look
        ("x^0 + y", {"x": math.nan, "y": 1.0}),
    ],
)
def test_a_non_finite_input_is_named_though_the_results_are_finite(text, inputs):
    function = cgrad.compile(text)
    arrays = {name: np.array([1.0, inputs[name], 0.25]) for name in function.inputs}
    function._runner(None).array_passes((True,) * len(function.inputs))
    result = function.evaluate(arrays)
    assert "non_finite_input" in [w.type for w in result.warnings]
    assert same_array_result(result, walked_over_arrays(function, arrays))


def test_a_kink_that_the_signs_rule_out_is_not_looked_for():
    # y^2 + 1 is never 0, nor is it after rounding.
    plan = Runner(plan_for(cgrad.compile("sqrt(y^2 + 1) * x + abs(0.5 + exp(x) + y*y)").graph))
    assert len(plan.plan.kink_steps) == 2 and not plan.array_passes((True, True)).kink_steps


@pytest.mark.parametrize(
    ("text", "x"),
    [
        ("sqrt(y^2 + x^2)", 0.0),
        ("sqrt(x*y + y^2)", -0.0),
        ("abs(exp(x)) * y", -800.0),  # exp underflows to 0
        ("sqrt(exp(x) + y^2)", -800.0),
        ("sqrt(x) * y", -0.0),
        ("sqrt(1 + x) * y", -1.0),
    ],
)
def test_a_kink_that_the_signs_allow_is_looked_for(text, x):
    function = cgrad.compile(text)
    assert function._runner(None).array_passes((True, True)).kink_steps
    inputs = {"x": np.array([1.0, x, 1.0]), "y": np.array([1.0, 0.0, -0.0])}
    result = function.evaluate(inputs)
    assert "kink" in [w.type for w in result.warnings]
    assert same_array_result(result, walked_over_arrays(function, inputs))


def test_work_arrays_kept_between_calls_serve_any_length(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 100)
    function = cgrad.compile("sin(x*y) + exp(-y^2) * log(1 + x^2) / sqrt(y^2 + 1)")
    function._runner(None).array_passes((True, True))
    rng = np.random.default_rng(3)
    for size in [7, 250, 100, 3, 1000, 99, 101]:
        inputs = {"x": rng.uniform(-2, 2, size), "y": rng.uniform(-2, 2, size)}
        result = function.evaluate(inputs)
        assert not result.warnings
        assert same_array_result(result, walked_over_arrays(function, inputs))


def test_threads_evaluating_one_function_share_no_work_arrays():
    from concurrent.futures import ThreadPoolExecutor

    function = cgrad.compile("sin(x*y) + tanh(x - y) * (x + y)")
    function._runner(None).array_passes((True, True))
    rng = np.random.default_rng(4)
    columns = [rng.uniform(-2, 2, (2, 5000)) for _ in range(16)]

    def evaluate(xy):
        return function.evaluate(x=xy[0], y=xy[1])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(evaluate, columns))
    for (x, y), result in zip(columns, results, strict=True):
        assert same_array_result(result, walked_over_arrays(function, {"x": x, "y": y}))


W2 = "sin(x*y) + exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1) + tanh(x - z) * (x + y) * z"


@pytest.mark.parametrize("size", [5, 64, 257, 1000])
@pytest.mark.parametrize("summed", [False, True])
def test_threads_give_one_threads_numbers_bit_for_bit(monkeypatch, size, summed):
    # Parts of the points in threads: the same bits as one thread, a summed
    # partial (added up chunk by chunk) too.
    monkeypatch.setattr(chunks, "CHUNK", 16)
    monkeypatch.setattr(chunks, "THREAD_POINTS", 4)
    function = cgrad.compile(W2)
    rng = np.random.default_rng(size)
    inputs = {"x": rng.uniform(-2, 2, size), "y": rng.uniform(-2, 2, size)}
    inputs["z"] = 0.75 if summed else rng.uniform(-2, 2, size)
    pattern = pattern_of(function, inputs)
    passes = function._runner(None).array_passes(pattern)
    threads_seen = set()
    # The first two parts wait for each other: two threads must run them
    # (a thread that took every part would wait here until the timeout).
    meeting = threading.Barrier(2, timeout=60)
    calls = [itertools.count()]

    def spied(*arguments):
        threads_seen.add(threading.get_ident())
        if chunks.THREADS > 1 and len(chunks.parts(size, summed)) > 1 and next(calls[0]) < 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                meeting.wait()
        return passes(*arguments)

    for name in ("buffers", "kink_steps", "watched", "unechoed"):
        setattr(spied, name, getattr(passes, name))
    function._runner(None).made_array_passes[pattern] = spied
    results = {}
    for threads in (1, 3):
        monkeypatch.setattr(chunks, "THREADS", threads)
        threads_seen.clear()
        calls[0] = itertools.count()
        results[threads] = function.evaluate(inputs, summed=summed)
        assert not meeting.broken
        assert (len(threads_seen) > 1) == (len(chunks.parts(size, summed)) > 1)
    one, several = results[1], results[3]
    assert same_array_result(one, several)
    if summed:  # a number, summed in the same order
        assert type(several.gradient["z"]) is float
    assert same_array_result(one, walked_over_arrays(function, inputs)) or summed


def test_points_are_cut_into_parts_for_threads_at_chunk_boundaries_if_summed(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 10)
    monkeypatch.setattr(chunks, "THREAD_POINTS", 4)
    monkeypatch.setattr(chunks, "THREADS", 3)
    assert chunks.parts(7, False) == [(0, 7)]  # too few for two parts
    assert chunks.parts(9, False) == [(0, 4), (4, 9)]
    assert chunks.parts(35, False) == [(0, 8), (8, 17), (17, 26), (26, 35)]
    assert chunks.parts(100, False) == [(k, k + 10) for k in range(0, 100, 10)]
    assert chunks.parts(9, True) == [(0, 9)]  # one chunk
    assert chunks.parts(25, True) == [(0, 10), (10, 20), (20, 25)]
    monkeypatch.setattr(chunks, "THREADS", 1)
    assert chunks.parts(100, False) == [(0, 100)]


def test_the_results_over_arrays_are_rows_of_one_block():
    # One allocation a call, not one per result: freed, malloc keeps it
    # for the next call (several are given back to the system and faulted
    # in again). The rows never overlap.
    function = cgrad.compile("sin(x*y) + x")
    x = np.linspace(-1.0, 1.0, 5000)
    function._runner(None).array_passes((True, True))
    result = function.evaluate(x=x, y=x[::-1].copy())
    arrays = [result.value, *result.gradient.values()]
    assert arrays[0].base is not None and all(a.base is arrays[0].base for a in arrays)
    assert not any(np.shares_memory(a, b) for a in arrays for b in arrays if a is not b)
    summed = function.evaluate(x=x, y=0.5, summed=True)
    assert type(summed.gradient["y"]) is float and summed.value.base.shape == (2, 5000)


def test_the_results_are_looked_at_for_nan_and_inf_in_one_call(monkeypatch):
    # The block whose rows they are, once, rather than a call per result;
    # a partial not finite at one point (its row only) still warns.
    function = cgrad.compile("y / (1 + exp(x))")
    function._runner(None).array_passes((True, True))
    looked_at = []

    def spy(*arrays):
        looked_at.append([a.shape for a in arrays])
        return real(*arrays)

    real = chunks.sums_finite
    monkeypatch.setattr(chunks, "sums_finite", spy)
    x = np.linspace(-1.0, 1.0, 5000)
    assert not function.evaluate(x=x, y=x).warnings
    # x, whose inf the results may not show (exp(-inf) is 0); then the results
    assert looked_at == [[(5000,)], [(3, 5000)]]
    x[1234] = 800.0  # the value 0, d/dx NaN (exp overflows)
    warned = function.evaluate(x=x, y=x)
    assert warned.warnings
    assert np.isfinite(warned.value).all() and np.isnan(warned.gradient["x"][1234])


def test_a_thread_takes_the_parts_the_others_have_not_taken(monkeypatch):
    # On a busy machine the pool's threads may not start before this one has
    # done every part: it does not wait for them.
    class Idle:
        def submit(self, *arguments):
            return Future()  # never run

    monkeypatch.setattr(chunks, "THREADS", 3)
    monkeypatch.setattr(chunks._Pool, "get", classmethod(lambda cls: Idle()))
    items = list(range(10))
    assert chunks.in_threads(lambda k: k * k, items) == [k * k for k in items]
    seen = []
    found = chunks.in_threads(lambda k: seen.append(k) or (None if k == 3 else k), items)
    assert seen == [0, 1, 2, 3] and found == [0, 1, 2, None] + [None] * 6  # none after a None


def test_threads_say_nothing_of_numpys_floating_point_errors(monkeypatch):
    # The numbers are looked at instead (and the whole walk warns).
    monkeypatch.setattr(chunks, "THREAD_POINTS", 4)
    monkeypatch.setattr(chunks, "THREADS", 2)
    function = cgrad.compile("log(x) * y + 1/x")
    x = np.linspace(-1.0, 1.0, 64)
    function._runner(None).array_passes((True, True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = function.evaluate(x=x, y=x)
    assert {w.type for w in result.warnings} >= {"non_finite_value"}


@pytest.mark.parametrize("text", ["tanh(x) * y", "log(x, y)"])
def test_a_function_of_ufuncs_writes_each_call_into_a_work_array(text):
    # log(x, y) is log(x)/log(y): traced through, each of its ufuncs writes
    # into a work array (no temporary made per call), with the same numbers.
    function = cgrad.compile(text)
    passes = function._runner(None).array_passes((True, True))
    lines = passes.source.splitlines()[1:-1]
    assert lines and all(re.search(r", [so][0-9]+\)$", line) for line in lines), lines
    x = np.linspace(0.1, 3.0, 50)
    inputs = {"x": x, "y": x[::-1].copy()}
    assert same_array_result(function.evaluate(inputs), walked_over_arrays(function, inputs))


@pytest.mark.parametrize("text", ["erf(x) * y", "sigmoid(x) * y"])
def test_a_function_of_other_calls_is_recorded_whole(text):
    # erf is math.erf a point at a time, sigmoid takes exp(a) below -709:
    # called as they are.
    function = cgrad.compile(text)
    passes = function._runner(None).array_passes((True, True))
    assert text[:3] not in passes.source and len(passes.source.splitlines()) > 2
    x = np.linspace(-2.0, 2.0, 40)
    inputs = {"x": x, "y": x + 1.0}
    assert same_array_result(function.evaluate(inputs), walked_over_arrays(function, inputs))


# --------------------------------------------------------------------------
# The guard before exec: source outside the generated alphabet never runs.

# Lines that no tracing writes, each outside the alphabet in its own way.
BAD_LINES = [
    "t1 = __import__",  # a name that is not a generated one
    "import os",
    "from os import system",
    't1 = "text"',  # a string
    "t1 = b'text'",
    "t1 = i0.__class__",  # an attribute (a dunder)
    "t1 = f0.__globals__",
    "t1 = k0.real",
    "t1 = eval(i0)",  # a call of a builtin
    "t1 = open(k0)",
    "t1 = getattr(i0, k0)",
    "t1 = lambda: i0",
    "t1 = i0 if i0 else k0",
    "t1 = [t2 for t2 in i0]",
    "global t1",
    "t1 = i0  # a comment",
    "t1 = i0; t2 = i0",  # a second statement on the line
    "t1 = i0\tt2",  # a tab
    "t1 = 1.5",  # a literal: constants are k-names in the namespace
    "t1 = i0 @ i0",
    "t1 = {i0: k0}",
    "t1 = i\u0660",  # a digit outside ASCII (Arabic-Indic zero)
    "t1 = t\uff11",  # a fullwidth 1, which Python reads as t1
    "t1 = \u0456",  # Cyrillic i
    "t1 = x",
]


def around(line: str) -> str:
    return f"def passes(i0):\n    {line}\n    return [i0, t1], [None, k0]"


def test_the_alphabet_takes_generated_code():
    assert codegen.SAFE.fullmatch(around("t1 = f0(i0) * -k0 + (i0 / s1)"))


@pytest.mark.parametrize("line", BAD_LINES)
def test_the_alphabet_refuses(line):
    assert codegen.SAFE.fullmatch(around(line)) is None


@pytest.fixture
def exec_spy(monkeypatch) -> list:
    """Every source codegen hands to exec (none, when the guard refuses)."""
    executed: list = []

    def spy(code, *namespaces):
        executed.append(code)
        builtins.exec(code, *namespaces)  # noqa: S102 - generated code, let through

    monkeypatch.setattr(codegen, "exec", spy, raising=False)
    return executed


@pytest.mark.parametrize("line", BAD_LINES)
def test_the_guard_refuses_point_code_outside_the_alphabet(monkeypatch, exec_spy, line):
    # Tracing is made to write one bad line among its own; the guard must
    # raise before anything is compiled or run.
    trace = codegen._trace

    def trace_and_add(plan, recorder, *rest):
        traced = trace(plan, recorder, *rest)
        recorder.lines.insert(1, f"    {line}")
        return traced

    monkeypatch.setattr(codegen, "_trace", trace_and_add)
    plan = Runner(plan_for(cgrad.compile("sin(x*y) + x").graph))
    with pytest.raises(AssertionError, match="generated code outside its alphabet"):
        plan.point_passes  # noqa: B018
    assert exec_spy == []


@pytest.mark.parametrize("line", BAD_LINES)
def test_the_guard_refuses_array_code_outside_the_alphabet(monkeypatch, exec_spy, line):
    source_of = codegen._array_source

    def source_with_a_bad_line(*arguments):
        source, buffers = source_of(*arguments)
        first, rest = source.split("\n", 1)
        return f"{first}\n    {line}\n{rest}", buffers

    monkeypatch.setattr(codegen, "_array_source", source_with_a_bad_line)
    plan = Runner(plan_for(cgrad.compile("sin(x*y) + x").graph))
    with pytest.raises(AssertionError, match="generated code outside its alphabet"):
        plan.array_passes((True, False))
    assert exec_spy == []


def test_without_a_bad_line_the_guarded_code_runs(exec_spy):
    # The spy sees what the guard lets through: the control for the two above.
    plan = Runner(plan_for(cgrad.compile("sin(x*y) + x").graph))
    plan.array_passes((True, False))
    assert len(exec_spy) == 1


# The ops whose rules look at the point (is the exponent 0? is hypot 0? which
# argument is the least?): their graphs are walked. Every other op is traced
# from its table entry alone; a new op that is not fails here by name, so
# that none takes the walk without saying so.
WALKED_OPS = {"pow", "hypot", "min", "max"}


@pytest.mark.parametrize("op", list(cgrad.ops.OPS.values()), ids=list(cgrad.ops.OPS))
def test_every_op_is_traced_unless_its_rule_looks_at_the_point(op):
    from cgrad.autodiff.array_code import ArrayRecorder, ArrayTraced
    from cgrad.autodiff.tracing import Recorder, Traced, TracedNamespace, Untraceable

    count = 2 if op.arity is None else op.arity
    point, many = Recorder(), ArrayRecorder()
    for recorder, arguments in (
        (point, [Traced(point, f"i{k}") for k in range(count)]),
        (many, [ArrayTraced(many, f"i{k}", True) for k in range(count)]),
    ):
        m = TracedNamespace(recorder, cgrad.ops.NUMERIC)
        try:
            out = recorder.apply(op, arguments)
            for position in range(count):
                op.derivative(position)(m, out, *arguments)
            traced = True
        except Untraceable:
            traced = False
        assert traced == (op.name not in WALKED_OPS), op.name


def negations_written(function: cgrad.Function, pattern: tuple[bool, ...]) -> int:
    passes = function._runner(None).array_passes(pattern)
    called = "|".join(name for name, f in passes.__globals__.items() if f is np.negative)
    return sum(
        bool(called and re.search(f"= ({called})[(]", line)) for line in passes.source.splitlines()
    )


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("z * (x - z)", 0),  # d/dz: (x - z) + -z, made (x - z) - z
        ("sin(x) / cos(y) + x*y", 0),  # d/dy of a/b is -out/b: carried into the sum
        ("x/y - y/x", 0),
        ("-x * y + z * (-y)", 3),  # -y read twice (and -x by the partial by y): written
        ("exp(-x*y) + z*w", 2),  # what exp reads is written, as is a partial
        ("(x - y) * (z - w) * x", 2),  # the partials by y and w are negations
    ],
)
def test_negations_are_folded_into_what_reads_them(text, written):
    # a + -b is a - b and (-a)*b is -(a*b), bit for bit: a call fewer each;
    # the numbers are still the walk's.
    function = cgrad.compile(text)
    names = function.graph.inputs
    pattern = (True,) * len(names)
    assert negations_written(function, pattern) == written
    rng = np.random.default_rng(len(text))
    inputs = {name: rng.uniform(-2, 2, 300) for name in names}
    if "/" not in text:  # (in a divisor they would make infs, and the walk run)
        for name in names:
            inputs[name][:4] = [0.0, -0.0, 1e-310, -1.5]  # signed zeros, a subnormal
    result = function.evaluate(inputs)
    assert not result.warnings  # the generated passes' numbers
    assert same_array_result(result, walked_over_arrays(function, inputs))


def test_the_w2_passes_make_51_calls():
    # f and its 3 partials: each a ufunc writing into an array; the three
    # negations of the backward pass folded, the one of -z^2 written; no
    # abs in the slope of sqrt(y^2 + 1), which is positive.
    function = cgrad.compile(W2)
    passes = function._runner(None).array_passes((True, True, True))
    assert len(passes.source.splitlines()) == 1 + 51 + 1
    assert negations_written(function, (True, True, True)) == 1
    assert np.absolute not in passes.__globals__.values()


@pytest.mark.parametrize(
    ("text", "calls_abs"),
    [
        ("sqrt(y^2 + 1) * x", False),  # positive: abs(s) is s
        ("abs(exp(x) + 1) * y", False),
        ("sqrt(y^2) * x", True),  # y^2 may be 0, and sqrt(-0.0) is -0.0
        ("abs(x) * y", True),
    ],
)
def test_abs_of_a_value_known_positive_is_that_value(text, calls_abs):
    function = cgrad.compile(text)
    passes = function._runner(None).array_passes((True, True))
    assert (np.absolute in passes.__globals__.values()) == calls_abs
    x = np.linspace(-2.0, 2.0, 401)  # 0.0 among them
    inputs = {"x": x, "y": x[::-1].copy()}
    assert same_array_result(function.evaluate(inputs), walked_over_arrays(function, inputs))
