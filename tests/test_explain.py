"""The passes and paths written out (`eval --steps`, `graph --paths`): they
must recompute the numbers `eval` reports, and read as pinned here."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad.explain import passes, paths
from test_oracle import points, programs

SHARED = "x*y + sin(x*y)"


# --------------------------------------------------------------------------
# The library: the trace is the engine's arithmetic, written out.


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=points)
def test_the_backward_steps_recompute_the_gradient(program, point):
    function = cgrad.compile(program.text)
    result = function.evaluate({name: point[name] for name in function.inputs})
    trace = passes(function, result)
    graph = function.graph
    forward = {step.node: step.value for step in trace.forward}
    assert forward[graph.output] == result.value or math.isnan(result.value)
    received: dict[int, list[float]] = {}
    for step in trace.backward:
        # A node is visited with all its terms in, and its gradient is their sum.
        assert tuple(received.pop(step.node, [])) == step.terms
        total = step.terms[0] if step.terms else 1.0
        for term in step.terms[1:]:
            total += term
        assert total == step.gradient or (math.isnan(total) and math.isnan(step.gradient))
        for edge in step.edges:
            product = step.gradient * edge.local
            assert product == edge.product or (math.isnan(product) and math.isnan(edge.product))
            received.setdefault(edge.operand, []).append(edge.product)
    assert not received  # every product reached a node that was visited
    gradients = {step.node: step.gradient for step in trace.backward}
    for name, slope in result.gradient.items():
        found = gradients.get(graph.input_ids[name], 0.0)
        assert found == slope or (math.isnan(found) and math.isnan(slope))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False, depth=4), point=points)
def test_the_paths_add_up_to_the_partial_derivative(program, point):
    function = cgrad.compile(program.text)
    result = function.evaluate({name: point[name] for name in function.inputs})
    for name in function.inputs:
        found = paths(function, result, name, limit=None)
        assert len(found.shown) == found.count
        products = [path.product for path in found.shown]
        # fsum refuses inf - inf; such a sum has no number to compare anyway.
        if not all(map(math.isfinite, products)):
            continue
        total = math.fsum(products)
        if math.isfinite(found.gradient):
            scale = math.fsum(abs(path.product) for path in found.shown)
            assert total == pytest.approx(found.gradient, rel=1e-9, abs=1e-12 * scale)
        for path in found.shown:
            assert path.nodes[0] == function.graph.output
            assert path.nodes[-1] == function.graph.input_ids[name]
            assert len(path.locals) == len(path.nodes) - 1


def test_paths_are_counted_even_when_too_many_to_list():
    # t doubles the paths at each of 40 levels: 2^40 paths, 20 listed.
    program = "t0 = x\n" + "".join(f"t{i} = t{i - 1}*t{i - 1}\n" for i in range(1, 41)) + "t40"
    function = cgrad.compile(program)
    found = paths(function, function.evaluate(x=1.0), "x", limit=20)
    assert found.count == 2**40 and len(found.shown) == 20
    assert found.gradient == 2.0**40


def test_the_passes_need_one_point_in_reverse_mode():
    f = cgrad.compile("x*y")
    with pytest.raises(cgrad.InputError, match="one point"):
        passes(f, f.evaluate(x=[1.0, 2.0], y=1.0))
    with pytest.raises(cgrad.InputError, match="reverse"):
        passes(f, f.evaluate(x=1.0, y=1.0, mode="forward"))
    with pytest.raises(cgrad.InputError, match="no derivative with respect to y"):
        paths(f, f.evaluate(x=1.0, y=1.0, wrt="x"), "y")


# --------------------------------------------------------------------------
# The command line: golden text, JSON shapes, errors.

STEPS = """\
Forward pass: each node from its operands, in topological order
node      computes     value  source
────────────────────────────────────
@0 input  x              0.5  x
@1 input  y                2  y
@2 mul    @0 * @1          1  x*y
@3 sin    sin(@2)   0.841471  sin(x*y)
@4 add    @2 + @3    1.84147  x*y + sin(x*y)

Backward pass: from the output back, each node sends
gradient × local derivative to its operands; where paths meet, they add up
node      gradient ∂f/∂node      to  local ∂node/∂to   product
──────────────────────────────────────────────────────────────
@4 add    1 (seed)               @2                1         1
                                 @3                1         1
@3 sin    1                      @2         0.540302  0.540302
@2 mul    1 + 0.540302 = 1.5403  @0                2    3.0806
                                 @1              0.5  0.770151
@1 input  0.770151
@0 input  3.0806
"""


def test_steps_golden(cli):
    result = cli("eval", SHARED, "x=0.5", "y=2", "--steps")
    assert result.exit_code == 0
    assert result.stdout[result.stdout.index("Forward pass") :] == STEPS


def test_steps_json_shape(cli):
    result = cli("eval", "(x+y)*z", "x=1", "y=2", "z=3", "--steps", "--json")
    document = json.loads(result.stdout)
    assert list(document) == ["expression", "inputs", "value", "gradient", "warnings", "steps"]
    assert document["steps"]["forward"][2] == {
        "node": 2, "op": "add", "operands": [0, 1], "label": "x+y", "value": 3.0,
    }  # fmt: skip
    assert document["steps"]["backward"][0] == {
        "node": 4,
        "gradient": 1.0,
        "terms": [],
        "edges": [
            {"to": 2, "argument": 0, "local": 3.0, "product": 3.0},
            {"to": 3, "argument": 1, "local": 3.0, "product": 3.0},
        ],
    }
    assert [step["node"] for step in document["steps"]["backward"]] == [4, 3, 2, 1, 0]


def test_steps_are_cut_off_unless_full(cli):
    program = " + ".join(f"sin(x*{i})" for i in range(1, 101))
    cut = cli("eval", program, "x=0.5", "--steps").stdout
    assert "... 200 more nodes (--full shows them all)" in cut
    whole = cli("eval", program, "x=0.5", "--steps", "--full").stdout
    output = cgrad.compile(program).graph.output
    assert "more nodes" not in whole
    assert whole.count(f"@{output} add") == 2  # in each pass


def test_steps_need_the_backward_pass(cli):
    result = cli("eval", "x*y", "x=1", "y=2", "--steps", "--mode", "forward")
    assert result.exit_code == 2
    assert "--steps shows the backward pass, which --mode forward does not run" in result.stderr


PATHS = """\
2 paths from the output to x
along a path the local derivatives multiply; the paths add up to ∂f/∂x
path               local derivatives  product
─────────────────────────────────────────────
@4 → @2 → @0       1 × 2                    2
@4 → @3 → @2 → @0  1 × 0.540302 × 2    1.0806
sum: 3.0806
∂f/∂x = 3.0806
"""


def test_paths_golden(cli):
    result = cli("graph", SHARED, "x=0.5", "y=2", "--paths", "x")
    assert result.exit_code == 0
    assert result.stdout.split("\n\n", 1)[1] == PATHS


def test_paths_json(cli):
    result = cli("graph", "x*x", "x=3", "--paths", "x", "--format", "json")
    assert json.loads(result.stdout) == {
        "input": "x",
        "gradient": 6.0,
        "count": 2,
        "paths": [
            {"nodes": [1, 0], "locals": [3.0], "product": 3.0},
            {"nodes": [1, 0], "locals": [3.0], "product": 3.0},
        ],
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["x*y", "--paths", "x"], "--paths needs a point: a value for every input"),
        (["x*y", "--paths", "q", "x=1", "y=1"], "cannot differentiate with respect to q"),
        (["x*y", "x=1", "y=1", "--paths", "x", "--format", "dot"], "--paths is shown as a table"),
        (["x*y", "x=1"], "missing a value for y"),
        (["x*y", "--format", "svg"], "--format must be tree or dot or mermaid or json"),
    ],
)
def test_graph_usage_errors(cli, arguments, message):
    result = cli("graph", *arguments)
    assert result.exit_code == 2
    assert message in result.stderr


def test_graph_json_is_the_graph_object_of_eval(cli):
    alone = json.loads(cli("graph", SHARED, "x=0.5", "y=2", "--format", "json").stdout)
    with_eval = json.loads(cli("eval", SHARED, "x=0.5", "y=2", "--json", "--graph").stdout)
    assert alone == with_eval["graph"]
    bare = json.loads(cli("graph", SHARED, "--format", "json").stdout)
    assert [n["value"] for n in bare["nodes"]] == [None] * 5


def test_graph_tree_cut_off_and_full(cli):
    program = " + ".join(f"sin(x*{i})" for i in range(1, 101))
    cut = cli("graph", program).stdout
    assert "more nodes (--full draws them all)" in cut
    assert "more nodes" not in cli("graph", program, "--full").stdout


def test_paths_cut_off_say_what_full_does(cli):
    program = "t0 = x\n" + "".join(f"t{i} = t{i - 1}*t{i - 1}\n" for i in range(1, 21)) + "t20"
    cut = cli("graph", program, "x=1", "--paths", "x").stdout
    assert "1,048,576 paths from the output to x" in cut
    assert "... 1,048,556 more paths (--full lists more)" in cut
    full = cli("graph", program, "x=1", "--paths", "x", "--full").stdout
    assert "... 1,038,576 more paths (only the first 10,000 are listed)" in full
