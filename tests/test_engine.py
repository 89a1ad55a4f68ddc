"""Forward and backward passes: values, partials, broadcasting, warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad.autodiff import codegen
from cgrad.autodiff.floats import walk_on_floats
from cgrad.autodiff.passes import plan as plan_for
from test_codegen import handed_over, same, walked, wide_points
from test_oracle import programs


def test_seed_value_and_gradient():
    r = cgrad.compile("(x+y)*z").evaluate(x=1, y=2, z=3)
    assert r.value == 9.0
    assert r.gradient == {"x": 3.0, "y": 3.0, "z": 3.0}
    assert r.warnings == ()
    assert isinstance(r.value, float) and all(isinstance(g, float) for g in r.gradient.values())


def test_fan_out_sums_over_paths():
    # d/dx (x*x) = 2x; x*y + sin(x*y): the shared x*y node sums both paths.
    assert cgrad.compile("x*x").evaluate(x=3).gradient == {"x": 6.0}
    r = cgrad.compile("x*y + sin(x*y)").evaluate(x=0.5, y=2.0)
    assert r.gradient["x"] == pytest.approx(2.0 * (1 + math.cos(1.0)), rel=1e-15)
    assert r.gradient["y"] == pytest.approx(0.5 * (1 + math.cos(1.0)), rel=1e-15)


def test_node_gradients_are_the_adjoints():
    r = cgrad.compile("(x+y)*z").evaluate(x=1, y=2, z=3)
    assert [float(v) for v in r.node_values] == [1.0, 2.0, 3.0, 3.0, 9.0]
    assert [float(g) for g in r.node_gradients] == [3.0, 3.0, 3.0, 3.0, 1.0]


def test_vectorised_evaluation_broadcasts():
    f = cgrad.compile("x*y + sin(x*y)")
    xs = np.linspace(-1, 1, 7)
    r = f.evaluate(x=xs, y=2.0)
    assert r.value.shape == (7,) and r.gradient["y"].shape == (7,)
    for i, x in enumerate(xs):
        point = f.evaluate(x=float(x), y=2.0)
        assert r.value[i] == point.value
        assert r.gradient["x"][i] == point.gradient["x"]
        assert r.gradient["y"][i] == point.gradient["y"]
    grid = f.evaluate(x=xs[:, None], y=np.array([1.0, 2.0, 3.0]))
    assert grid.value.shape == (7, 3)


def test_constant_gradient_broadcasts_to_the_points():
    r = cgrad.compile("x + 2*y").evaluate(x=np.zeros(4), y=1.0)
    np.testing.assert_array_equal(r.gradient["y"], np.full(4, 2.0))


def test_forward_mode_matches_reverse_mode():
    f = cgrad.compile("a = x*y; b = sin(a); a + b*exp(-z^2)")
    reverse = f.evaluate(x=0.3, y=-1.2, z=0.7)
    forward = f.evaluate(x=0.3, y=-1.2, z=0.7, mode="forward")
    for name in f.inputs:
        assert forward.gradient[name] == pytest.approx(reverse.gradient[name], rel=1e-15)
    assert forward.node_gradients is None


def test_wrt_limits_the_partials():
    f = cgrad.compile("(x+y)*z")
    assert f.evaluate(x=1, y=2, z=3, wrt=["z"]).gradient == {"z": 3.0}
    assert f.evaluate(x=1, y=2, z=3, wrt="z,x").gradient == {"x": 3.0, "z": 3.0}
    assert f.evaluate(x=1, y=2, z=3, wrt=["y"], mode="forward").gradient == {"y": 3.0}


def test_values_by_mapping_for_names_that_are_not_keywords():
    f = cgrad.compile("lambda*mode")
    assert f.evaluate({"lambda": 2, "mode": 3}).value == 6.0


@pytest.mark.parametrize(
    ("call", "type", "fragment"),
    [
        (lambda f: f.evaluate(x=1), "missing_value", "missing a value for y"),
        (lambda f: f.evaluate(x=1, y=2, w=3), "unknown_input", "w is not an input"),
        (lambda f: f.evaluate({"x": 1}, x=2, y=1), "duplicate_value", "given twice"),
        (lambda f: f.evaluate(x="a", y=1), "invalid_value", "not a number"),
        (lambda f: f.evaluate(x=1, y=2, wrt=["q"]), "unknown_input", "respect to q"),
        (lambda f: f.evaluate({"pi": 1, "x": 1, "y": 1}), "unknown_input", "pi is a constant"),
        (lambda f: f.evaluate(x=None, y=1), "invalid_value", "not a number"),
        (lambda f: f.evaluate(x=[1, 2], y=[1, 2, 3]), "invalid_value", "x (2,), y (3,)"),
    ],
)
def test_bad_values_raise_input_errors(call, type, fragment):
    with pytest.raises(cgrad.InputError) as caught:
        call(cgrad.compile("x*y"))
    assert caught.value.type == type
    assert fragment in caught.value.message


@pytest.mark.parametrize(("text", "kind"), [(123, "int"), (None, "NoneType")])
def test_compile_wants_text(text, kind):
    with pytest.raises(cgrad.InputError) as raised:
        cgrad.compile(text)
    assert (raised.value.message, raised.value.type) == (
        f"cgrad.compile expects the program as a str, not {kind}",
        "usage_error",
    )


def test_a_point_gives_float64_everywhere():
    r = cgrad.compile("(x+y)*z").evaluate(x=1, y=2, z=3)
    assert all(isinstance(v, float) for v in r.node_values + r.node_gradients)


def warnings_of(text: str, **values) -> list[cgrad.EvaluationWarning]:
    return list(cgrad.compile(text).evaluate(values).warnings)


def test_domain_error_warns_at_the_node_where_it_happened():
    r = cgrad.compile("y + log(x)").evaluate(x=-1.0, y=1.0)
    assert math.isnan(r.value)
    (warning,) = r.warnings
    assert warning.type == "non_finite_value"
    assert warning.node == 2 and (warning.span.line, warning.span.column) == (1, 5)
    assert "`log(x)`" in warning.message and "log(-1) = NaN" in warning.message


def test_overflowing_literal_and_huge_powers_give_infinity_with_a_warning():
    (warning,) = warnings_of("1e999")
    assert "too large for float64" in warning.message
    r = cgrad.compile("9^9^9^9").evaluate()
    assert r.value == math.inf and r.warnings[0].type == "non_finite_value"
    r = cgrad.compile("exp(1000)").evaluate()
    assert r.value == math.inf and "exp(1000) = Infinity" in r.warnings[0].message


def test_zero_over_zero_is_nan_with_a_warning():
    (warning,) = warnings_of("0/0")
    assert "0 / 0 = NaN" in warning.message


def test_non_finite_input_is_named():
    r = cgrad.compile("x + y").evaluate(x=math.nan, y=1.0)
    assert math.isnan(r.value)
    assert r.warnings[0].type == "non_finite_input"
    assert r.warnings[0].message == "input x is NaN"


def test_infinite_derivative_is_explained():
    r = cgrad.compile("asin(x)").evaluate(x=1.0)
    assert r.gradient["x"] == math.inf
    assert r.warnings[0].type == "non_finite_derivative"
    assert "with respect to its argument" in r.warnings[0].message


@pytest.mark.parametrize(
    ("text", "values", "gradient", "convention"),
    [
        ("abs(x)", {"x": 0.0}, {"x": 0.0}, "abs'(0) = 0"),
        ("relu(x)", {"x": 0.0}, {"x": 0.0}, "relu'(0) = 0"),
        ("sign(x)", {"x": 0.0}, {"x": 0.0}, "sign'(0) = 0"),
        ("sqrt(x)", {"x": 0.0}, {"x": math.inf}, "sqrt'(0) = inf"),
        ("cbrt(x)", {"x": 0.0}, {"x": math.inf}, "cbrt'(0) = inf"),
        ("max(x, y)", {"x": 1.0, "y": 1.0}, {"x": 0.5, "y": 0.5}, "1/n each"),
        ("min(x, y, z)", {"x": 2.0, "y": 2.0, "z": 2.0}, {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}, ""),
        ("hypot(x, y)", {"x": 0.0, "y": 0.0}, {"x": 0.0, "y": 0.0}, "(0, 0)"),
    ],
)
def test_kinks_use_the_documented_convention_and_say_so(text, values, gradient, convention):
    r = cgrad.compile(text).evaluate(values)
    assert r.gradient == pytest.approx(gradient)
    kinks = [w for w in r.warnings if w.type == "kink"]
    assert len(kinks) == 1 and convention in kinks[0].message
    assert kinks[0].node == cgrad.compile(text).graph.output


def test_a_kink_in_a_constant_subexpression_is_not_reported():
    assert warnings_of("abs(0) + x", x=1.0) == []


def test_power_conventions():
    f = cgrad.compile("x^0")
    assert f.evaluate(x=0.0).value == 1.0 and f.evaluate(x=0.0).gradient == {"x": 0.0}
    # b free of inputs: d/da = b*a^(b-1), valid for negative a.
    assert cgrad.compile("x^3").evaluate(x=-2.0).gradient == {"x": 12.0}
    # d/db is 0 where a is 0 and b >= 0 (PyTorch's rule), 0^0 included.
    r = cgrad.compile("x^y").evaluate(x=0.0, y=2.0)
    assert r.value == 0.0 and r.gradient == {"x": 0.0, "y": 0.0}
    r = cgrad.compile("x^y").evaluate(x=0.0, y=0.0)
    assert r.value == 1.0 and r.gradient == {"x": 0.0, "y": 0.0}
    assert [w.type for w in r.warnings] == ["kink"]
    # d/db at a negative base is not a real number.
    assert math.isnan(cgrad.compile("x^y").evaluate(x=-2.0, y=2.0).gradient["y"])


@pytest.mark.parametrize(
    ("text", "x", "slope"),
    [
        ("x^1", 0.0, 1.0),
        ("x**1", -0.0, 1.0),
        ("pow(x, 1)", 0.0, 1.0),
        ("x^1.5", 0.0, 0.0),
        ("pow(x, 1.5)", 0.0, 0.0),
        ("x^0", 0.0, 0.0),
        ("x^0", -0.0, 0.0),
        ("x^2", 0.0, 0.0),
        ("x^3", 0.0, 0.0),
        ("x^2.5", 0.0, 0.0),
        ("(x^2)^1.5", 0.0, 0.0),
        ("x^1.5", 1e-300, 1.5e-150),
        ("sqrt(x)", 1e-300, 5e149),  # near a kink is not at it
        ("abs(x)", 5e-324, 1.0),
    ],
)
def test_no_kink_where_the_function_is_smooth(text, x, slope):
    # A power of 1 or more is differentiable at 0: no warning (a false kink
    # there would also have the oracle's generated programs fail).
    result = cgrad.compile(text).evaluate(x=x)
    assert result.warnings == ()
    assert result.gradient == {"x": slope}


@pytest.mark.parametrize("text", ["x^0.5", "x^0.25", "pow(x, 0.75)"])
def test_a_power_below_1_has_a_kink_at_0(text):
    result = cgrad.compile(text).evaluate(x=0.0)
    assert [w.type for w in result.warnings] == ["kink"]
    assert result.gradient == {"x": math.inf}


def test_atan2_at_the_origin_has_a_nan_gradient_with_a_warning():
    r = cgrad.compile("atan2(y, x)").evaluate(x=0.0, y=0.0)
    assert r.value == 0.0
    assert all(math.isnan(g) for g in r.gradient.values())
    assert r.warnings and r.warnings[0].type == "non_finite_derivative"


def test_warnings_on_arrays_count_the_points():
    r = cgrad.compile("log(x)").evaluate(x=np.array([1.0, -1.0, 2.0, -3.0]))
    (warning,) = r.warnings
    assert "at 2 of 4 points (first at index 1)" in warning.message


# Long arrays go through the graph a slice at a time (chunks.CHUNK); a slice
# with a kink or a non-finite number sends the whole call back through the
# unsliced path, which says which points. A small CHUNK makes both cheap.
LONG = "sin(x*y) + exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1) + tanh(x - z) * (x + y) * z"


@pytest.fixture
def small_chunks(monkeypatch):
    from cgrad.autodiff import chunks

    monkeypatch.setattr(chunks, "CHUNK", 64)


def test_sliced_evaluation_equals_point_by_point(small_chunks):
    f = cgrad.compile(LONG)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-2, 2, (2, 1000))
    r = f.evaluate(x=x, y=y, z=0.75)  # a scalar among arrays is not sliced
    assert r.value.shape == (1000,) and r.warnings == ()
    for i in (0, 63, 64, 500, 999):
        point = f.evaluate(x=x[i], y=y[i], z=0.75)
        assert r.value[i] == point.value
        assert {n: g[i] for n, g in r.gradient.items()} == point.gradient


def test_sliced_evaluation_keeps_the_shape_and_the_wrt(small_chunks):
    f = cgrad.compile("x*y + z")
    x = np.arange(300.0).reshape(3, 100)
    r = f.evaluate(x=x, y=2 * x, z=x, wrt="y")
    assert r.value.shape == (3, 100) and list(r.gradient) == ["y"]
    assert np.array_equal(r.gradient["y"], x)
    assert np.array_equal(r.value, 2 * x * x + x)


@pytest.mark.parametrize(
    ("text", "bad_point", "kind"),
    [("abs(x - 900)", 900, "kink"), ("1/(x - 900)", 900, "non_finite_value")],
)
def test_a_problem_in_a_late_slice_is_still_reported_with_its_points(
    small_chunks, text, bad_point, kind
):
    x = np.arange(1000.0)
    r = cgrad.compile(text).evaluate(x=x)
    assert [w.type for w in r.warnings] == [kind]
    assert np.flatnonzero(r.warnings[0].points).tolist() == [bad_point]
    assert "at 1 of 1000 points" in r.warnings[0].message


def test_results_never_alias_the_inputs_or_each_other():
    x = np.linspace(0.0, 1.0, 5)
    for text in ("x", "exp(x)", "x + y", "x*y"):
        f = cgrad.compile(text)
        r = f.evaluate({name: x for name in f.inputs})
        arrays = [r.value, *r.gradient.values()]
        assert all(not np.shares_memory(a, x) for a in arrays), text
        assert len({id(a) for a in arrays}) == len(arrays), text


def test_a_compiled_function_pickles():
    import pickle

    f = cgrad.compile("t = x*y; sin(t) + t")
    f.evaluate(x=1.0, y=2.0)  # plans made before pickling are not carried
    g = pickle.loads(pickle.dumps(f))
    assert g.source == f.source and g.inputs == ("x", "y")
    assert g.evaluate(x=1.0, y=2.0).gradient == f.evaluate(x=1.0, y=2.0).gradient


@pytest.mark.parametrize(
    ("op", "arguments", "position", "left", "right"),
    [
        ("abs", [0.0], 0, -1.0, 1.0),
        ("relu", [0.0], 0, 0.0, 1.0),
        ("sign", [0.0], 0, math.inf, math.inf),  # a jump: both quotients blow up
        ("sqrt", [0.0], 0, math.nan, math.inf),  # not defined left of 0
        ("cbrt", [0.0], 0, math.inf, math.inf),
        ("pow", [0.0, 0.5], 0, math.nan, math.inf),
        ("pow", [0.0, 0.0], 0, 0.0, 0.0),
        ("max", [1.0, 1.0, 1.0], 1, 0.0, 1.0),
        ("min", [2.0, 2.0], 0, 1.0, 0.0),
        ("hypot", [0.0, 0.0], 1, -1.0, 1.0),
        ("asin", [1.0], 0, math.inf, math.nan),
        ("sin", [0.0], 0, 1.0, 1.0),  # smooth: both sides agree
    ],
)
def test_one_sided_slopes(op, arguments, position, left, right):
    from cgrad.autodiff.diagnostics import one_sided_slopes

    found = one_sided_slopes(op, arguments, position)
    for got, expected in zip(found, (left, right), strict=True):
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == pytest.approx(expected, rel=1e-5, abs=1e-9)


def test_a_kink_warning_gives_the_one_sided_slopes_of_the_free_arguments():
    [warning] = cgrad.compile("max(x, y, 1)").evaluate(x=1, y=1).warnings
    assert warning.message.endswith(
        "(one-sided: in argument 1, 0 from the left, 1 from the right; "
        "in argument 2, 0 from the left, 1 from the right)"
    )
    [warning] = cgrad.compile("abs(x)").evaluate(x=0).warnings
    assert warning.message.endswith("abs'(0) = 0 (one-sided: -1 from the left, 1 from the right)")


def test_an_infinite_input_is_named_even_when_the_result_is_finite():
    r = cgrad.compile("x/y").evaluate(x=0.001, y=math.inf)
    assert r.value == 0.0
    assert [(w.type, w.message) for w in r.warnings] == [
        ("non_finite_input", "input y is Infinity")
    ]
    many = cgrad.compile("x/y").evaluate(x=np.ones(100_000), y=np.r_[np.ones(99_999), np.inf])
    assert [w.type for w in many.warnings] == ["non_finite_input"]
    assert np.flatnonzero(many.warnings[0].points).tolist() == [99_999]


# ---------------------------------------------------------------------------
# One point walked on floats (before generated code pays, or where there is
# none): the numbers of the walk on numpy scalars, bit for bit.


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(guarded=False, symbolic=False), point=wide_points)
def test_the_walk_on_floats_gives_numpys_numbers_or_raises(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    slow = walked(function, values)
    plan = plan_for(function.graph)
    try:
        computed = walk_on_floats(plan, [float(v) for v in values.values()])
    except (ArithmeticError, ValueError):
        # Python's float raises only where numpy gives inf or NaN (or a
        # rule's other branch is taken, at a kink): anywhere else it is a
        # bug of the walk on floats, not the hand-over to numpy.
        assert handed_over(slow), "the walk on floats raised at an ordinary point"
        computed = None
    if computed is not None:
        node_values, node_gradients = computed
        assert all(map(same, node_values, slow.node_values))
        assert all(map(same, node_gradients, slow.node_gradients))
    # Through the API, on a first call (no generated code yet): the same
    # numbers and warnings, whichever walk gave them.
    result = cgrad.compile(program.text).evaluate(values)
    assert same(result.value, slow.value)
    assert all(same(result.gradient[n], slow.gradient[n]) for n in slow.gradient)
    assert [w.message for w in result.warnings] == [w.message for w in slow.warnings]


def test_a_big_graph_at_a_point_is_walked_on_floats_without_numpy_warnings():
    # Over codegen.MAX_NODES: no generated code. 1/sin(x - x) divides a
    # numpy scalar by zero, which must not print numpy's RuntimeWarning.
    terms = " + ".join(f"sin(x*{i})" for i in range(1, 1200))
    function = cgrad.compile(f"{terms} + 1/sin(x - x)")
    assert len(function.graph) > codegen.MAX_NODES
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = function.evaluate(x=0.5)
    assert result.value == math.inf
    assert [w.type for w in result.warnings] == ["non_finite_value"]
    finite = cgrad.compile(terms).evaluate(x=0.5)
    assert type(finite.value) is float and type(finite.gradient["x"]) is float
    assert math.isclose(finite.value, sum(math.sin(0.5 * i) for i in range(1, 1200)), rel_tol=1e-9)


def test_a_plan_is_immutable_and_what_evaluating_it_learns_is_kept_beside_it():
    import dataclasses

    from cgrad.autodiff.runner import COMPILE_AFTER

    function = cgrad.compile("sin(x*y) + abs(x) + y^2")
    plan = function.plan()
    assert plan is function.plan()  # made once per choice of partials, and kept
    fields = {field.name for field in dataclasses.fields(plan)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.wrt = ()
    for _ in range(COMPILE_AFTER + 1):
        function.evaluate(x=0.5, y=2.0)
    function.evaluate(x=np.linspace(0.0, 1.0, 5000), y=2.0)
    # The generated code, the counts and the work arrays are the runner's.
    assert vars(plan).keys() == fields
    # The steps are views of the graph's columns and of tuples of their own.
    from cgrad.autodiff.passes import BackwardSteps, ForwardSteps

    views = {"forward_steps": ForwardSteps, "backward_steps": BackwardSteps}
    assert all(type(getattr(plan, name)) is views.get(name, tuple) for name in fields - {"graph"})
    assert type(plan.backward_steps.nodes) is tuple is type(plan.backward_steps.edges)
    runner = function._runner(None)
    assert runner.plan is plan and runner.point_passes is not None and runner.spare_work
    # y^2 has no kink to test: the runner's plan drops it; abs(x) keeps its own.
    assert [plan.graph.nodes[node].op for node, _, _ in plan.kink_steps] == ["abs"]
    assert len(plan_for(function.graph).kink_steps) == 2
