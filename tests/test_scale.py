"""Big inputs: nothing recurses on input size (SPEC section 2 and 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import cgrad

pytestmark = pytest.mark.slow


def test_a_100000_term_sum():
    n = 100_000
    f = cgrad.compile(" + ".join(f"sin(x*{i})" for i in range(1, n + 1)))
    r = f.evaluate(x=0.5)
    k = np.arange(1, n + 1, dtype=np.float64)
    # Magnitudes: the value is O(1) and the gradient O(n^2) at worst, so the
    # tolerance is relative to the size of the terms summed.
    assert r.value == pytest.approx(float(np.sum(np.sin(0.5 * k))), abs=1e-9 * n)
    assert r.gradient["x"] == pytest.approx(float(np.sum(k * np.cos(0.5 * k))), abs=1e-9 * n * n)
    # x, n constants, n products, n sines and n - 1 sums.
    assert len(f.graph) == 1 + n + n + n + (n - 1)


def test_50000_deep_nesting_of_functions():
    depth = 50_000
    f = cgrad.compile("sin(" * depth + "x" + ")" * depth)
    r = f.evaluate(x=1.0)
    value, slope = 1.0, 1.0
    for _ in range(depth):  # the chain rule, written out
        slope *= math.cos(value)
        value = math.sin(value)
    assert r.value == value
    assert r.gradient["x"] == pytest.approx(slope, rel=1e-12)
    assert len(f.graph) == depth + 1


@pytest.mark.parametrize(
    ("text", "x", "value", "slope"),
    [
        ("(" * 50_000 + "x" + ")" * 50_000, 2.0, 2.0, 1.0),
        ("-" * 50_000 + "x", 2.0, 2.0, 1.0),
        ("1+(" * 50_000 + "x" + ")" * 50_000, 2.0, 50_002.0, 1.0),
        # x^(x^(...^1)): at x = 1 every level has value 1 and slope 1.
        ("x^" * 20_000 + "1", 1.0, 1.0, 1.0),
    ],
)
def test_deep_nesting_of_operators(text, x, value, slope):
    r = cgrad.compile(text).evaluate(x=x)
    assert (r.value, r.gradient["x"]) == (value, slope)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(" * 1_000_000 + "x" + ")" * 1_000_000, "nests more than 100,000 deep"),
        ("sin(" * 1_000_000 + "x" + ")" * 1_000_000, "nests more than 100,000 deep"),
        ("-" * 1_000_000 + "x", "nests more than 100,000 deep"),
        ("x^" * 1_000_000 + "x", "nests more than 100,000 deep"),
        (" + ".join(f"x*{i}" for i in range(1_000_000)), "longer than 8 MiB characters"),
    ],
    ids=["parentheses", "calls", "signs", "powers", "10 MB"],
)
def test_a_million_deep_nesting_and_10_mb_get_the_documented_error(text, message):
    # Found early: the nesting before the parser has built anything deep,
    # the size before it has read anything.
    with pytest.raises(cgrad.ParseError, match=message) as raised:
        cgrad.compile(text)
    assert raised.value.type == "limit_exceeded"


def test_the_deepest_nesting_allowed_works():
    f = cgrad.compile("(" * 99_999 + "-x" + ")" * 99_999)  # the sign is one level more
    assert f.evaluate(x=2.0).gradient == {"x": -1.0}


@pytest.mark.parametrize(
    "text",
    [
        " + ".join(f"sin(x*{i})" for i in range(1, 20_001)),
        "sin(" * 20_000 + "x" + ")*y + z" * 20_000,
    ],
    ids=["sum", "chain"],
)
def test_a_plan_holds_no_tuple_per_step(text):
    """The plan and its steps on floats keep a few references per node:
    its steps are views of the graph's columns with shared edge tuples, not
    tuples of their own (which cost about 300 bytes a node)."""
    import tracemalloc

    from cgrad.autodiff.floats import float_steps
    from cgrad.autodiff.passes import plan

    graph = cgrad.compile(text).graph
    tracemalloc.start()
    try:
        steps = plan(graph)
        on_floats = float_steps(steps)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < 100 * len(graph)
    # The same steps as before, made when read.
    assert len(steps.forward_steps) == len(on_floats.steps) == len(graph.columns.op_ids)
    assert len({id(edges) for edges in steps.backward_steps.edges}) <= 4


def test_steps_with_rules_replaced_stay_columns():
    # Formulas run the backward loop with each rule replaced by its printed
    # form: the steps stay two columns with a tuple of edges per step, the
    # same steps with the rules changed.
    from cgrad.autodiff.passes import BackwardSteps, plan

    graph = cgrad.compile("x*x + sin(x*y) - y").graph
    steps = plan(graph).backward_steps
    changed = steps.with_rules(lambda node, rule: (node, rule))
    assert isinstance(changed, BackwardSteps) and changed.nodes is steps.nodes
    assert list(changed) == [
        (node, operands, tuple((operand, (node, rule)) for operand, rule in edges))
        for node, operands, edges in steps
    ]
    assert [len(edges) for _, _, edges in changed][-1] == 2  # x*x: two edges to x
