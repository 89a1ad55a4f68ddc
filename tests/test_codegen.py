"""The generated code of a point's passes: the engine's numbers bit for
bit, and nothing from the user in its text."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad import codegen, engine
from test_oracle import points, programs


def evaluated(function: cgrad.Function, values: dict, generated: bool) -> cgrad.Result:
    """One point's evaluation, by generated code or by walking the graph."""
    plan = engine.plan(function.graph)
    with np.errstate(all="ignore"):
        arrays = {name: np.float64(values[name]) for name in function.inputs}
        computed = None
        if generated and plan.point_passes is not None:
            computed = plan.point_passes(*arrays.values())
        return engine._evaluate_whole(plan, arrays, (), "reverse", computed)


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return bool(a == b) or (math.isnan(a) and math.isnan(b))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=points)
def test_generated_passes_give_the_engines_numbers_bit_for_bit(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    fast = evaluated(function, values, generated=True)
    slow = evaluated(function, values, generated=False)
    assert same(fast.value, slow.value) and all(
        same(fast.gradient[n], slow.gradient[n]) for n in function.inputs
    )
    assert all(map(same, fast.node_values, slow.node_values))
    assert all(map(same, fast.node_gradients, slow.node_gradients))
    assert [w.message for w in fast.warnings] == [w.message for w in slow.warnings]


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
