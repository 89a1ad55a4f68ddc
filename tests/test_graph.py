"""SPEC section 2: a hash-consed DAG in topological order."""

from __future__ import annotations

import pytest

import cgrad
from cgrad.graph import CONSTANT, INPUT


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
        " + ".join(f"{' ' * (i % 4)}sin(x*{i}) # note\u2003\u00a0 gap\n" for i in range(1, 60)),
        "sin(" * 40 + "x" + "   )" * 40,
        "t = " + " + ".join(f"y*{i}" for i in range(50)) + "; t * (t   -   x)",
        "(" + " " * 500 + "x + y" + " " * 500 + ") * 2",
        # Long spans whose labels are about 60 characters: cut or not?
        *(f"sin({' ' * 250}{'v' * n} )" for n in range(50, 57)),
    ],
)
def test_labels_of_long_spans_read_only_their_ends_with_the_same_result(text):
    from cgrad.graph import LABEL_WIDTH, shorten

    graph = cgrad.compile(text).graph
    for node in graph.nodes:
        if node.op != "input":
            whole = graph.source[node.span.start : node.span.end]
            assert graph.label(node.id) == shorten(whole, LABEL_WIDTH)
            assert graph.label(node.id, width=20) == shorten(whole, 20)
