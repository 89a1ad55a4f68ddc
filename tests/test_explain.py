"""The passes and paths written out (`eval --steps`, `graph --paths`): they
must recompute the numbers `eval` reports, and read as pinned here."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad.explain import passes, paths, tangent_steps
from cgrad.numerals import format_short
from test_oracle import generic_points, points, programs

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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=points)
def test_the_tangent_steps_recompute_forward_mode(program, point):
    function = cgrad.compile(program.text)
    given_point = {name: point[name] for name in function.inputs}
    result = function.evaluate(given_point, mode="forward")
    for name, steps in tangent_steps(function, result).items():
        tangents: dict[int, float] = {}
        for step in steps:
            total = None
            for edge in step.edges:
                product = edge.local * tangents[edge.operand]
                assert same(product, edge.product)
                total = product if total is None else total + product
            assert same(1.0 if total is None else total, step.tangent)
            tangents[step.node] = step.tangent
        # The output's tangent is forward mode's partial, bit for bit.
        found = tangents.get(function.graph.output, 0.0)
        assert same(found, result.gradient[name])


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


# "expr where t1 = ..., t2 = ...": the bindings after "where".
_WHERE = re.compile(r", (?=[A-Za-z_]\w* = )")


def formula_program(formula: str) -> str:
    """An edge's formula as a program: its bindings first, node ids as names."""
    expression, _, bindings = formula.partition(" where ")
    statements = [*(_WHERE.split(bindings) if bindings else []), expression]
    return re.sub(r"@(\d+)", r"node_\1", "; ".join(statements))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=generic_points)
def test_each_edge_formula_gives_its_local_derivative(program, point):
    # The formula is written from the printed rules; the local derivative is
    # the engine's numeric rule: evaluated at the point, they agree.
    function = cgrad.compile(program.text)
    result = function.evaluate({name: point[name] for name in function.inputs})
    graph, values = function.graph, result.node_values
    known = {name: float(values[node]) for name, node in graph.bindings.items()}
    known.update({name: point[name] for name in function.inputs})
    for step in passes(function, result).backward:
        for edge in step.edges:
            assert edge.formula is not None
            if not math.isfinite(edge.local):
                continue
            formula = cgrad.compile(formula_program(edge.formula))
            at = {
                name: float(values[int(name[5:])]) if name.startswith("node_") else known[name]
                for name in formula.inputs
            }
            written = formula.evaluate(at).value
            # Where the textbook formula has no value (0^(b - 1)*b at 0 for
            # b = -0), the engine's rule gives its convention's.
            if math.isfinite(written):
                assert written == pytest.approx(edge.local, rel=1e-9, abs=1e-12)


def test_an_op_of_many_arguments_is_written_by_its_id():
    function = cgrad.compile("max(x, y, 1, 2, 3)")
    result = function.evaluate(x=5.0, y=1.0)
    [step, *_] = passes(function, result).backward
    assert [(edge.written, edge.formula, edge.local) for edge in step.edges] == [
        ("∂@5/∂x", None, 1.0),
        ("∂@5/∂y", None, 0.0),
    ]
    small = cgrad.compile("a = x*y; a + sin(a)")
    [_, sine, *_] = passes(small, small.evaluate(x=0.5, y=2.0)).backward
    [edge] = sine.edges
    assert (edge.written, edge.formula) == ("∂sin(a)/∂a", "cos(a)")


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
    with pytest.raises(cgrad.InputError, match="one point"):
        tangent_steps(f, f.evaluate(x=[1.0, 2.0], y=1.0, mode="forward"))
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
node      source          gradient ∂f/∂node      to  local derivative ∂node/∂to          product
────────────────────────────────────────────────────────────────────────────────────────────────
@4 add    x*y + sin(x*y)  1 (seed)               @2  ∂(@2 + @3)/∂@2 = 1                        1
                                                 @3  ∂(@2 + @3)/∂@3 = 1                        1
@3 sin    sin(x*y)        1                      @2  ∂sin(@2)/∂@2 = cos(@2) = 0.540302  0.540302
@2 mul    x*y             1 + 0.540302 = 1.5403  @0  ∂(x*y)/∂x = y = 2                    3.0806
                                                 @1  ∂(x*y)/∂y = x = 0.5                0.770151
@1 input  y               0.770151
@0 input  x               3.0806
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
        "label": "(x+y)*z",
        "gradient": 1.0,
        "terms": [],
        "edges": [
            {"to": 2, "argument": 0, "formula": "z",
             "local": 3.0, "product": 3.0},
            {"to": 3, "argument": 1, "formula": "@2",
             "local": 3.0, "product": 3.0},
        ],
    }  # fmt: skip
    assert [step["node"] for step in document["steps"]["backward"]] == [4, 3, 2, 1, 0]


def test_steps_are_cut_off_unless_full(cli):
    program = " + ".join(f"sin(x*{i})" for i in range(1, 101))
    cut = cli("eval", program, "x=0.5", "--steps").stdout
    assert "... 200 more nodes (--full shows them all)" in cut
    whole = cli("eval", program, "x=0.5", "--steps", "--full").stdout
    output = cgrad.compile(program).graph.output
    assert "more nodes" not in whole
    assert whole.count(f"@{output} add") == 2  # in each pass


TANGENTS = """\
Tangent pass for x: from x (tangent 1) up, each node adds up
local derivative × tangent ∂from/∂x of each operand it uses
node      source          tangent ∂node/∂x     from  local derivative ∂node/∂from       product
───────────────────────────────────────────────────────────────────────────────────────────────
@0 input  x               1 (seed)
@2 mul    x*y             2                    @0    ∂(x*y)/∂x = y = 2                        2
@3 sin    sin(x*y)        1.0806               @2    ∂sin(@2)/∂@2 = cos(@2) = 0.540302   1.0806
@4 add    x*y + sin(x*y)  2 + 1.0806 = 3.0806  @2    ∂(@2 + @3)/∂@2 = 1                       2
                                               @3    ∂(@2 + @3)/∂@3 = 1                  1.0806
"""


def test_steps_in_forward_mode_show_a_tangent_pass_per_input(cli):
    result = cli("eval", SHARED, "x=0.5", "y=2", "--steps", "--mode", "forward", "--wrt", "x")
    assert result.exit_code == 0, result.output
    assert result.stdout[result.stdout.index("Tangent pass") :] == TANGENTS
    both = cli("eval", SHARED, "x=0.5", "y=2", "--steps", "--mode", "forward").stdout
    assert both.count("Tangent pass for") == 2 and "Backward pass" not in both


def test_a_tangent_pass_for_an_input_the_output_does_not_use(cli):
    result = cli("eval", "a = y; x*2", "x=1", "y=2", "--steps", "--mode", "forward")
    assert result.exit_code == 0, result.output
    assert "Tangent pass for y: the output does not use y (∂f/∂y = 0)\n" in result.stdout
    assert (
        json.loads(cli("eval", "a = y; x*2", "x=1", "y=2", "--json").stdout)["gradient"]["y"] == 0
    )


def test_steps_json_in_forward_mode(cli):
    result = cli("eval", "x*y", "x=3", "y=-2", "--steps", "--mode", "forward", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    reference = json.loads(cli("eval", "x*y", "x=3", "y=-2", "--json").stdout)
    assert list(document["steps"]) == ["forward", "tangent"]
    tangent = document["steps"]["tangent"]
    assert tangent == {
        "x": [
            {"node": 0, "label": "x", "tangent": 1.0, "edges": []},
            {"node": 2, "label": "x*y", "tangent": -2.0, "edges": [
                {"from": 0, "argument": 0, "formula": "y",
                 "local": -2.0, "product": -2.0}]},
        ],
        "y": [
            {"node": 1, "label": "y", "tangent": 1.0, "edges": []},
            {"node": 2, "label": "x*y", "tangent": 3.0, "edges": [
                {"from": 1, "argument": 1, "formula": "x",
                 "local": 3.0, "product": 3.0}]},
        ],
    }  # fmt: skip
    assert {name: steps[-1]["tangent"] for name, steps in tangent.items()} == reference["gradient"]


def test_sums_are_printed_with_their_signs(cli):
    result = cli("eval", "sin(x) - cos(x)", "x=2", "--steps")
    reference = json.loads(cli("eval", "sin(x) - cos(x)", "x=2", "--steps", "--json").stdout)
    [last] = [step for step in reference["steps"]["backward"] if step["node"] == 0]
    plus, minus = last["terms"]
    assert plus > 0 > minus
    line = result.stdout.splitlines()[-1]
    assert line.split(maxsplit=3)[3] == (
        f"{format_short(plus)} − {format_short(-minus)} = {format_short(last['gradient'])}"
    )
    assert " + -" not in result.stdout


def test_sum_text_signs_of_zero_and_nan():
    from cgrad.views.terminal_steps import sum_text

    assert sum_text((1.0, -0.0), 1.0) == "1 − 0 = 1"
    assert sum_text((-1.0, math.nan), math.nan) == "-1 + NaN = NaN"
    assert sum_text((), 1.0) == "1 (seed)"
    assert sum_text((2.0,), 2.0) == "2"


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


def test_formulas_kept_are_bounded(monkeypatch):
    # Formulas are keyed by the constants among the operands (x*2 and x*3
    # differ), so a program of many distinct constants must not keep one
    # per node.
    import cgrad.explain as explain

    monkeypatch.setattr(explain, "FORMULAS_KEPT", 8)
    function = cgrad.compile(" + ".join(f"x*{k}" for k in range(1, 30)))
    formulas = explain.LocalFormulas(function.graph)
    graph = function.graph
    for node_id, op in enumerate(graph.columns.ops):
        if op == "mul":
            assert formulas.formula(node_id, 0) == graph.label(graph.columns.operands[node_id][1])
            assert len(formulas.made) <= 8
