"""SPEC section 2: a hash-consed DAG in topological order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff.builder import build_graph
from cgrad.autodiff.graph import CONSTANT, INPUT, LABEL_WIDTH, Graph, shorten
from cgrad.autodiff.passes import plan
from cgrad.errors import Span
from cgrad.namespaces import ArgumentRule
from cgrad.ops import CONSTANTS, FUNCTIONS, OPS, RESERVED, function_for
from cgrad.parse.parser import parse
from cgrad.parse.syntax import Binding, Call, Group, Name, Number, Program, Unary


def ops(text: str) -> list[tuple[int, str, tuple[int, ...]]]:
    return [(n.id, n.op, n.operands) for n in cgrad.compile(text).graph.nodes]


def test_seed_graph():
    assert ops("(x+y)*z") == [
        (0, INPUT, ()),
        (1, INPUT, ()),
        (2, "add", (0, 1)),
        (3, INPUT, ()),
        (4, "mul", (2, 3)),
    ]


def test_identical_subexpressions_are_one_node():
    graph = cgrad.compile("x*y + sin(x*y)").graph
    assert ops("x*y + sin(x*y)") == [
        (0, INPUT, ()),
        (1, INPUT, ()),
        (2, "mul", (0, 1)),
        (3, "sin", (2,)),
        (4, "add", (2, 3)),
    ]
    assert graph.shared() == [2]
    assert graph.use_counts[2] == 2


def test_no_reordering():
    nodes = ops("x*y + y*x")
    assert [op for _, op, _ in nodes].count("mul") == 2


def test_equal_constants_are_one_node_and_bindings_add_none():
    graph = cgrad.compile("a = 2*x; b = a; 2*y + b").graph
    constants = [n for n in graph.nodes if n.op == CONSTANT]
    assert len(constants) == 1 and constants[0].value == 2.0
    assert graph.bindings["a"] == graph.bindings["b"]
    assert len(graph) == 6  # 2, x, 2*x, y, 2*y, +


def test_ids_are_topological_and_labels_are_source_text():
    graph = cgrad.compile("a = x*y\nb = sin(a)\na + b*exp(-z^2)").graph
    for node in graph.nodes:
        assert all(operand < node.id for operand in node.operands)
    labels = {graph.label(n.id) for n in graph.nodes}
    assert {"x*y", "sin(a)", "z^2", "-z^2", "exp(-z^2)", "a + b*exp(-z^2)"} <= labels


def test_long_labels_are_shortened_in_the_middle():
    text = " + ".join(f"x*{i}" for i in range(100))
    graph = cgrad.compile(text).graph
    label = graph.label(graph.output)
    assert len(label) <= 60 and "…" in label
    assert label.startswith("x*0 + x*1") and label.endswith("x*98 + x*99")
    assert graph.label(graph.output, width=None) == text


def test_unused_binding_still_declares_its_inputs():
    f = cgrad.compile("unused = w*2; x")
    assert f.inputs == ("w", "x")
    assert f.evaluate(w=1, x=3).gradient == {"w": 0.0, "x": 1.0}


def test_depends_on_input():
    graph = cgrad.compile("x^(2+1)").graph
    depends = {
        graph.label(n.id): d for n, d in zip(graph.nodes, graph.depends_on_input, strict=True)
    }
    assert depends == {"x": True, "2": False, "1": False, "2+1": False, "x^(2+1)": True}


@pytest.mark.parametrize(
    "text",
    [
        "("  # (the newlines continue the sum only inside parentheses)
        + " + ".join(f"{' ' * (i % 4)}sin(x*{i}) # note\u2003\u00a0 gap\n" for i in range(1, 60))
        + ")",
        "sin(" * 40 + "x" + "   )" * 40,
        "t = " + " + ".join(f"y*{i}" for i in range(50)) + "; t * (t   -   x)",
        "(" + " " * 500 + "x + y" + " " * 500 + ") * 2",
        # Long spans whose labels are about 60 characters: cut or not?
        *(f"sin({' ' * 250}{'v' * n} )" for n in range(50, 57)),
    ],
)
def test_labels_of_long_spans_read_only_their_ends_with_the_same_result(text):
    from cgrad.autodiff.graph import LABEL_WIDTH, shorten

    graph = cgrad.compile(text).graph
    for node in graph.nodes:
        if node.op != "input":
            whole = graph.source[node.span.start : node.span.end]
            assert graph.label(node.id) == shorten(whole, LABEL_WIDTH)
            assert graph.label(node.id, width=20) == shorten(whole, 20)


# --------------------------------------------------------------------------
# The builder against a plain reference: random programs, with sharing,
# bindings, constants and every kind of mistake, must give the same nodes
# (ids, ops, operands, spans, names, values) or an error at the same place.


class ExpectedError(Exception):
    """Where the reference builder finds a program's first mistake."""

    def __init__(self, span: Span, type: str) -> None:
        super().__init__(type)
        self.span = span
        self.type = type


def reference_graph(program: Program) -> tuple[list[tuple], dict]:
    """The nodes as (id, op, operands, span, name, value) and the graph's
    other fields, by a recursive walk that keys each node as SPEC section 2
    says, and that stops at the first mistake in the order it is written."""
    nodes: list[tuple] = []
    keys: dict[tuple, int] = {}
    inputs: dict[str, int] = {}
    bindings: dict[str, int] = {}
    bound = {s.name for s in program.statements if isinstance(s, Binding)}

    def add(key: tuple, op: str, operands: tuple, span: Span, name=None, value=None) -> int:
        if key not in keys:
            keys[key] = len(nodes)
            nodes.append((len(nodes), op, operands, span, name, value))
        return keys[key]

    def walk(e) -> int:
        if isinstance(e, Number):
            return add((CONSTANT, e.value), CONSTANT, (), e.span, value=e.value)
        if isinstance(e, Name):
            if e.name in bindings:
                return bindings[e.name]
            if e.name in CONSTANTS:  # a node of its own, named: formulas print it
                value = CONSTANTS[e.name]
                return add((CONSTANT, e.name), CONSTANT, (), e.span, e.name, value)
            if e.name in FUNCTIONS or e.name in bound:
                raise ExpectedError(e.span, "name_error")
            inputs.setdefault(e.name, len(nodes))
            return add((INPUT, e.name), INPUT, (), e.span, name=e.name)
        if isinstance(e, Group) or (isinstance(e, Unary) and e.op == "plus"):
            return walk(e.inner if isinstance(e, Group) else e.operand)
        if isinstance(e, Call):
            if e.function not in FUNCTIONS:
                kind = "name_error" if e.function in CONSTANTS else "unknown_function"
                raise ExpectedError(e.function_span, kind)
            op = function_for(e.function, len(e.arguments))
            if op is None:
                raise ExpectedError(e.span, "arity_error")
            operands = tuple(walk(a) for a in e.arguments)
            if op.node_once:  # max(x, y, x) is max(x, y)
                operands = tuple(dict.fromkeys(operands))
            return add((op.name, operands), op.name, operands, e.span)
        kids = (e.operand,) if isinstance(e, Unary) else (e.left, e.right)
        operands = tuple(walk(kid) for kid in kids)
        return add((e.op, operands), e.op, operands, e.span)

    if not program.statements:
        end = len(program.source)
        raise ExpectedError(Span(end, end, program.source.count("\n") + 1, 1), "syntax_error")
    output = None
    for statement in program.statements:
        if isinstance(statement, Binding):
            if statement.name in RESERVED or statement.name in bindings:
                raise ExpectedError(statement.name_span, "name_error")
            bindings[statement.name] = walk(statement.value)
        else:
            output = walk(statement)
    if isinstance(program.statements[-1], Binding):
        raise ExpectedError(program.statements[-1].span, "syntax_error")
    fields = {"output": output, "inputs": tuple(inputs), "input_ids": inputs, "bindings": bindings}
    return nodes, fields


# Few names and small numbers, so that equal subexpressions come up often;
# now and then a name that is a mistake (a function, a binding made later).
_COMMON = ["x", "y", "z", "x", "y", "2", "2.0", "3", "pi", "e"]
_MISTAKES = ["sin", "t", "u", "v"]
# Functions mostly with as many arguments as they take.
_calls = st.sampled_from(
    [("sin", 1), ("exp", 1), ("log", 1), ("log", 2), ("hypot", 2), ("atan2", 2)] * 2
    + [("min", 1), ("max", 2), ("min", 3), ("sin", 2), ("exp", 0), ("foo", 1), ("pi", 1)]
)


@st.composite
def _expressions(draw, depth: int, bound: tuple[str, ...]) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(_COMMON * 8 + list(bound) * 8 + _MISTAKES))
    kind = draw(st.sampled_from(["binary", "binary", "unary", "group", "call", "call"]))
    if kind == "binary":
        left, right = draw(_expressions(depth - 1, bound)), draw(_expressions(depth - 1, bound))
        return f"{left} {draw(st.sampled_from(['+', '-', '*', '/', '^']))} {right}"
    if kind == "unary":
        return draw(st.sampled_from(["-", "+"])) + draw(_expressions(depth - 1, bound))
    if kind == "group":
        return f"({draw(_expressions(depth - 1, bound))})"
    function, count = draw(_calls)
    arguments = [draw(_expressions(depth - 1, bound)) for _ in range(count)]
    return f"{function}({', '.join(arguments)})"


@st.composite
def _programs(draw) -> str:
    names = ["t", "u", "v"][: draw(st.integers(0, 3))]
    if names and draw(st.integers(0, 9)) == 0:  # a name that cannot be bound (again)
        names[-1] = draw(st.sampled_from(["x", "pi", "sin", names[0]]))
    statements = [
        f"{name} = {draw(_expressions(3, tuple(names[:i])))}" for i, name in enumerate(names)
    ]
    if draw(st.integers(0, 19)):  # now and then, end with the binding
        statements.append(draw(_expressions(6, tuple(names))))
    return draw(st.sampled_from(["; ", "\n"])).join(statements)


@settings(max_examples=400, deadline=None)
@given(text=_programs())
def test_the_graph_is_the_reference_graph(text):
    try:
        program = parse(text)
    except cgrad.ParseError:
        return
    try:
        expected, fields = reference_graph(program)
    except ExpectedError as expected_error:
        event(expected_error.type)
        with pytest.raises(cgrad.ParseError) as raised:
            build_graph(program)
        assert (raised.value.span, raised.value.type) == (expected_error.span, expected_error.type)
        return
    graph = build_graph(program)
    event(f"ok {min(len(expected) // 5 * 5, 20)}+ nodes")
    assert len(graph) == len(expected)
    assert [(n.id, n.op, n.operands, n.span, n.name, n.value) for n in graph.nodes] == expected
    assert {name: getattr(graph, name) for name in fields} == fields
    # The fields derived from the columns, against their definitions.
    depends: list[bool] = []
    for n in graph.nodes:
        depends.append(n.op == INPUT or any(depends[i] for i in n.operands))
    assert graph.depends_on_input == tuple(depends)
    operands = [i for n in graph.nodes for i in n.operands]
    assert graph.use_counts == tuple(operands.count(n.id) for n in graph.nodes)
    assert graph.columns.op_ids == tuple(n.id for n in graph.nodes if n.operands)
    check_plans(graph)
    # A graph made from Node objects, as a caller may, derives the same columns.
    again = Graph(
        nodes=graph.nodes,
        output=graph.output,
        inputs=graph.inputs,
        input_ids=graph.input_ids,
        bindings=graph.bindings,
        source=graph.source,
    )
    assert again.columns == graph.columns
    assert [again.label(i) for i in range(len(again))] == [
        graph.label(i) for i in range(len(graph))
    ]


def _same_rule(a, b) -> bool:
    """Equal rules: the same function, or for a variadic op (whose rule is
    made per argument) the same rule for the same argument."""
    if a is b:
        return True
    if isinstance(a, ArgumentRule):  # a variadic op's rule for one argument
        return isinstance(b, ArgumentRule) and (a.rule, a.index) == (b.rule, b.index)
    contents = [cell.cell_contents for cell in a.__closure__ or ()]
    return a.__code__ is b.__code__ and contents == [c.cell_contents for c in b.__closure__ or ()]


def check_plans(graph: Graph) -> None:
    """passes.plan for every choice of partials against its definition,
    worked out from the Node objects."""
    nodes = graph.nodes
    choices = [None, *([name] for name in graph.inputs), []]
    for wrt in choices:
        made = plan(graph, wrt)
        chosen = {graph.input_ids[name] for name in (graph.inputs if wrt is None else wrt)}
        needed: list[bool] = []
        for n in nodes:
            needed.append(n.id in chosen or any(needed[i] for i in n.operands))
        reachable = [False] * len(nodes)
        reachable[graph.output] = True
        for n in reversed(nodes):
            for i in n.operands if reachable[n.id] else ():
                reachable[i] = True
        applied = [n for n in nodes if n.op not in (INPUT, CONSTANT)]
        assert made.needed == tuple(needed)
        assert made.reachable == tuple(reachable)
        assert made.initial == tuple(n.value if n.op == CONSTANT else None for n in nodes)
        assert all(type(v) is np.float64 for v in made.initial if v is not None)
        assert made.forward_steps == tuple((n.id, OPS[n.op].forward, n.operands) for n in applied)
        backward = [
            (n.id, n.operands, [(i, OPS[n.op].derivative(p)) for p, i in enumerate(n.operands)])
            for n in reversed(applied)
            if needed[n.id] and reachable[n.id]
        ]
        assert len(made.backward_steps) == len(backward)
        for (node, operands, edges), (node_, operands_, all_edges) in zip(
            made.backward_steps, backward, strict=True
        ):
            assert (node, operands) == (node_, operands_)
            expected = [(i, rule) for i, rule in all_edges if needed[i]]
            assert [i for i, _ in edges] == [i for i, _ in expected]
            assert all(_same_rule(r, r_) for (_, r), (_, r_) in zip(edges, expected, strict=True))
        # (max(x, x) tests x once: an op with node_once tests each node once.)
        tested = {
            n.id: tuple(dict.fromkeys(n.operands)) if OPS[n.op].node_once else n.operands
            for n in applied
        }
        kinks = [
            (n.id, OPS[n.op].kink.test([needed[i] for i in tested[n.id]]), tested[n.id])
            for n in applied
            if OPS[n.op].kink is not None and needed[n.id] and reachable[n.id]
        ]
        assert set(made.kink_steps) <= set(kinks)


def test_a_graph_from_nodes_and_a_replaced_one_use_their_own_nodes():
    graph = cgrad.compile("t = x*y; sin(t) + t").graph
    odd = dataclasses.replace(graph, nodes=(dataclasses.replace(graph.nodes[0], name="w"),))
    assert odd.label(0) == "w" and len(odd) == 1 and graph.label(0) == "x"
    assert odd.use_counts == graph.use_counts  # copied, as replace copies every field


def test_evaluating_does_not_make_node_objects():
    # A Node per node costs a microsecond and 120 bytes: a pass that needs
    # one per node would be most of the cost of building a big graph.
    f = cgrad.compile("t = x*y; sin(t) + abs(t) + min(x, y, 2)")
    f.evaluate(x=1.0, y=2.0)
    f.evaluate(x=np.linspace(0.5, 1, 5), y=2.0, wrt=["x"])  # no kink: no warning
    assert "nodes" not in vars(f.graph), "the passes should read graph.columns"
    assert f.graph.label(2) == "x*y"
    assert "nodes" not in vars(f.graph)


@pytest.mark.slow
def test_a_million_deep_chain_builds_without_recursion():
    # Deeper than the parser allows (100,000), so made here, as it would parse.
    depth = 1_000_000
    source = "-" * depth + "x"
    program_node = Name("x", Span(depth, depth + 1, 1, depth + 1))
    for start in range(depth - 1, -1, -1):
        program_node = Unary("neg", program_node, Span(start, depth + 1, 1, start + 1))
    graph = build_graph(Program((program_node,), source))
    assert len(graph) == depth + 1 and graph.output == depth
    assert graph.columns.operands[depth] == (depth - 1,)
    assert graph.label(depth) == shorten(source, LABEL_WIDTH)
    made = plan(graph)
    assert len(made.backward_steps) == depth
