"""DOT and Mermaid drawings of the graph: golden strings, structure checked
by parsing the text back, and (when Graphviz is installed) real renders."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess

import pytest

import cgrad
from cgrad.numerals import format_short
from cgrad.views.drawings import dot, mermaid
from cgrad.views.svg_graph import graph_svg

# One line per statement; anything else in the text fails the parse below.
DOT_NODE = re.compile(r'  n(\d+) \[label="((?:[^"\\\n]|\\.)*)"(, [^\n]*)?\];')
DOT_EDGE = re.compile(r'  n(\d+) -> n(\d+)(?: \[(style=dashed)?(?:, )?(?:label="([^"\\]*)")?\])?;')
DOT_HEADER = ("digraph cgrad {", "  rankdir=BT;", "  node [", "  edge [")
MERMAID_NODE = re.compile(r'  n(\d+)\["([^"\n]*)"\]')
MERMAID_EDGE = re.compile(r"  n(\d+) -->(?:\|([^|\n]*)\|)? n(\d+)")
MERMAID_CLASS = re.compile(r"  class (n\d+(?:,n\d+)*) (input|const|output|unused)")

# A comment inside parentheses carries anything into a node's label: quotes,
# backslashes (one before the newline, where a DOT string would end badly),
# Graphviz escapes, Mermaid entity codes and HTML.
HOSTILE = 'weird = (x + 1 # say "hi" \\l \\N #quot; &lt; <b>{a|b}</b> \\\n) * y; weird - y'


def drawn(text: str, **values: float) -> tuple[cgrad.Graph, cgrad.Result]:
    f = cgrad.compile(text)
    return f.graph, f.evaluate(**values)


def parse_dot(text: str) -> tuple[dict[int, tuple[str, str]], list[tuple[int, int, bool]]]:
    """Node id -> (label, attributes) and the edges (from, to, dashed?)."""
    lines = text.split("\n")
    assert lines[-1] == "" and lines[-2] == "}"
    nodes: dict[int, tuple[str, str]] = {}
    edges = []
    for line in lines[:-2]:
        if line.startswith(DOT_HEADER):
            continue
        if match := DOT_NODE.fullmatch(line):
            node_id = int(match[1])
            assert node_id not in nodes
            nodes[node_id] = (match[2], match[3] or "")
        elif match := DOT_EDGE.fullmatch(line):
            edges.append((int(match[1]), int(match[2]), match[3] is not None))
        else:
            raise AssertionError(f"not a DOT statement: {line!r}")
    return nodes, edges


def parse_mermaid(text: str) -> tuple[dict[int, str], list[tuple[int, int]], dict[str, list[int]]]:
    """Node id -> label, the edges, and class name -> node ids."""
    lines = text.split("\n")
    assert lines[0] == "flowchart BT" and lines[-1] == ""
    nodes: dict[int, str] = {}
    edges = []
    classes: dict[str, list[int]] = {}
    for line in lines[1:-1]:
        if line.startswith("  classDef "):
            continue
        if match := MERMAID_NODE.fullmatch(line):
            node_id = int(match[1])
            assert node_id not in nodes
            nodes[node_id] = match[2]
        elif match := MERMAID_EDGE.fullmatch(line):
            edges.append((int(match[1]), int(match[3])))
        elif match := MERMAID_CLASS.fullmatch(line):
            classes[match[2]] = [int(n[1:]) for n in match[1].split(",")]
        else:
            raise AssertionError(f"not a Mermaid statement: {line!r}")
    return nodes, edges, classes


def dot_unescape(label: str) -> list[str]:
    """The lines of a DOT label, as Graphviz reads them."""
    lines, current = [], []
    escapes = iter(re.findall(r"\\.|[^\\]", label))
    for piece in escapes:
        if piece == "\\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(piece[-1])
    return [*lines, "".join(current)]


def mermaid_unescape(label: str) -> list[str]:
    codes = {"#quot;": '"', "#lt;": "<", "#gt;": ">", "#amp;": "&", "#35;": "#"}
    return [
        re.sub(r"#(?:quot|lt|gt|amp|35);", lambda m: codes[m[0]], line)
        for line in label.split("<br/>")
    ]


def expected_edges(graph: cgrad.Graph) -> list[tuple[int, int]]:
    return sorted((operand, node.id) for node in graph.nodes for operand in node.operands)


def expected_title(graph: cgrad.Graph, node_id: int) -> str:
    """The second line of a label: the tree's wording, a bound node named."""
    names = {}
    for name, bound in graph.bindings.items():
        names.setdefault(bound, name)
    node = graph.nodes[node_id]
    label = graph.label(node_id)
    return f"{names[node_id]} = {label}" if node_id in names and node.op != "input" else label


# --------------------------------------------------------------------------
# Golden strings


def test_golden_dot_of_a_shared_node():
    graph, result = drawn("x*y + sin(x*y)", x=0.5, y=2.0)
    assert dot(graph, result) == "\n".join(
        [
            "digraph cgrad {",
            "  rankdir=BT;",
            '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
            '  edge [color=gray40, arrowsize=0.7, fontname="Helvetica", fontsize=10];',
            '  n0 [label="@0 input\\nx\\n= 0.5\\ngrad 3.0806", style="filled", shape=ellipse, '
            "fillcolor=lightblue];",
            '  n1 [label="@1 input\\ny\\n= 2\\ngrad 0.770151", style="filled", shape=ellipse, '
            "fillcolor=lightblue];",
            '  n2 [label="@2 mul\\nx*y\\n= 1\\ngrad 1.5403", style="rounded"];',
            '  n3 [label="@3 sin\\nsin(x*y)\\n= 0.841471\\ngrad 1", style="rounded"];',
            '  n4 [label="@4 add\\nx*y + sin(x*y)\\n= 1.84147\\ngrad 1", style="rounded", '
            "peripheries=2, color=firebrick, penwidth=2];",
            '  n0 -> n2 [label="2"];',
            '  n1 -> n2 [label="0.5"];',
            '  n2 -> n3 [label="0.540302"];',
            '  n2 -> n4 [label="1"];',
            '  n3 -> n4 [label="1"];',
            "}",
            "",
        ]
    )


def test_golden_mermaid_of_a_shared_node():
    graph, result = drawn("x*y + sin(x*y)", x=0.5, y=2.0)
    assert mermaid(graph, result) == "\n".join(
        [
            "flowchart BT",
            '  n0["@0 input<br/>x<br/>= 0.5<br/>grad 3.0806"]',
            '  n1["@1 input<br/>y<br/>= 2<br/>grad 0.770151"]',
            '  n2["@2 mul<br/>x*y<br/>= 1<br/>grad 1.5403"]',
            '  n3["@3 sin<br/>sin(x*y)<br/>= 0.841471<br/>grad 1"]',
            '  n4["@4 add<br/>x*y + sin(x*y)<br/>= 1.84147<br/>grad 1"]',
            "  n0 -->|2| n2",
            "  n1 -->|0.5| n2",
            "  n2 -->|0.540302| n3",
            "  n2 -->|1| n4",
            "  n3 -->|1| n4",
            "  classDef input fill:#dbeafe,stroke:#1d4ed8",
            "  classDef output stroke:#b22222,stroke-width:3px",
            "  classDef const color:#6b7280,stroke:#9ca3af",
            "  classDef unused stroke-dasharray:5 5",
            "  class n0,n1 input",
            "  class n4 output",
            "",
        ]
    )


# --------------------------------------------------------------------------
# Structure

EXPRESSIONS = [
    "(x+y)*z",
    "x*y + sin(x*y)",
    "x*x",
    "x^x^x - x/x",
    "a = x*2; y + 1",
    "a = x; b = a; t = a*y; t + sin(t)^2 - b",
    "2*pi + 2",
    "x",
    "atan2(y, x) + max(x, y, 2)",
    HOSTILE,
]


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("with_result", [True, False])
def test_dot_has_a_statement_per_node_and_per_use(text, with_result):
    f = cgrad.compile(text)
    graph = f.graph
    result = f.evaluate(**dict.fromkeys(f.inputs, 1.5)) if with_result else None
    nodes, edges = parse_dot(dot(graph, result))
    assert sorted(nodes) == list(range(len(graph.nodes)))
    assert len(edges) == sum(len(node.operands) for node in graph.nodes)
    assert sorted((a, b) for a, b, _ in edges) == expected_edges(graph)
    reachable = graph.reachable()
    for node in graph.nodes:
        label, attributes = nodes[node.id]
        lines = dot_unescape(label)
        assert lines[:2] == [f"@{node.id} {node.op}", expected_title(graph, node.id)]
        assert ("dashed" in attributes) == (not reachable[node.id])
        assert ("shape=ellipse" in attributes) == (node.op == "input")
        assert ("peripheries=2" in attributes) == (node.id == graph.output)
    assert all(dashed == (not reachable[b]) for _, b, dashed in edges)


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("with_result", [True, False])
def test_mermaid_has_a_statement_per_node_and_per_use(text, with_result):
    f = cgrad.compile(text)
    graph = f.graph
    result = f.evaluate(**dict.fromkeys(f.inputs, 1.5)) if with_result else None
    nodes, edges, classes = parse_mermaid(mermaid(graph, result))
    assert sorted(nodes) == list(range(len(graph.nodes)))
    assert len(edges) == sum(len(node.operands) for node in graph.nodes)
    assert sorted(edges) == expected_edges(graph)
    for node in graph.nodes:
        lines = mermaid_unescape(nodes[node.id])
        assert lines[:2] == [f"@{node.id} {node.op}", expected_title(graph, node.id)]
    reachable = graph.reachable()
    assert classes.get("input", []) == [n.id for n in graph.nodes if n.op == "input"]
    assert classes.get("const", []) == [n.id for n in graph.nodes if n.op == "const"]
    assert classes["output"] == [graph.output]
    assert classes.get("unused", []) == [i for i, used in enumerate(reachable) if not used]


def test_each_use_is_an_edge():
    graph, result = drawn("x*x", x=3)
    assert '  n0 -> n1 [label="3"];\n  n0 -> n1 [label="3"];\n' in dot(graph, result)
    assert "  n0 -->|3| n1\n  n0 -->|3| n1\n" in mermaid(graph, result)
    assert "  n0 -> n1;\n  n0 -> n1;\n" in dot(graph)
    assert "  n0 --> n1\n  n0 --> n1\n" in mermaid(graph)


def test_a_node_the_output_does_not_use_is_dashed():
    graph, result = drawn("a = x*2; y + 1", x=1, y=2)
    nodes, edges = parse_dot(dot(graph, result))
    unused = [node_id for node_id, (_, attributes) in nodes.items() if "dashed" in attributes]
    assert [graph.label(i) for i in unused] == ["x", "2", "x*2"]
    assert nodes[2][0] == "@2 mul\\na = x*2\\n= 2"  # a value, but no gradient flows there
    assert sorted((a, b) for a, b, dashed in edges if dashed) == [(0, 2), (1, 2)]
    assert "  class n0,n1,n2 unused" in mermaid(graph, result)


def test_inputs_output_and_constants_are_styled_apart():
    graph, result = drawn("2*x + 1", x=1)
    nodes, _ = parse_dot(dot(graph, result))
    styles = {graph.label(i): attributes for i, (_, attributes) in nodes.items()}
    assert "shape=ellipse" in styles["x"] and 'style="filled"' in styles["x"]
    assert "color=gray60" in styles["2"] and "color=gray60" in styles["1"]
    assert "peripheries=2" in styles["2*x + 1"]
    assert "peripheries=2" not in styles["2*x"] and "gray" not in styles["2*x"]


# --------------------------------------------------------------------------
# Values and gradients


@pytest.mark.parametrize("draw", [dot, mermaid])
def test_without_a_result_no_numbers_are_shown(draw):
    graph, _ = drawn("t = x*y; t + sin(t) + 2", x=0.5, y=2)
    text = draw(graph)
    assert not re.search(r"(\\n|<br/>)(= |grad )", text)


@pytest.mark.parametrize("draw", [dot, mermaid])
def test_forward_mode_shows_values_but_no_gradients(draw):
    f = cgrad.compile("x*y + sin(x*y)")
    text = draw(f.graph, f.evaluate(x=0.5, y=2, mode="forward"))
    assert not re.search(r"(\\n|<br/>)grad ", text)
    assert re.search(r"(\\n|<br/>)= 0.841471", text)


@pytest.mark.parametrize("draw", [dot, mermaid])
def test_many_points_show_no_numbers(draw):
    f = cgrad.compile("x*y + sin(x*y)")
    text = draw(f.graph, f.evaluate(x=[0.5, 1.0], y=2))
    assert text == draw(f.graph)


def test_non_finite_values_are_named():
    graph, result = drawn("log(x) + 1/y", x=0, y=0)
    nodes, _ = parse_dot(dot(graph, result))
    assert "= -Infinity" in nodes[1][0]
    assert "= Infinity" in nodes[4][0]


# --------------------------------------------------------------------------
# Escaping


def test_hostile_label_is_escaped_for_dot():
    graph, result = drawn(HOSTILE, x=1, y=2)
    nodes, _ = parse_dot(dot(graph, result))
    title = dot_unescape(nodes[4][0])[1]
    assert title == 'weird = (x + 1 # say "hi" \\l \\N #quot; &lt; <b>{a|b}</b> \\ ) * y'
    assert nodes[4][0].startswith(
        '@4 mul\\nweird = (x + 1 # say \\"hi\\" \\\\l \\\\N #quot; &lt; <b>{a|b}</b> \\\\ ) * y'
    )


def test_hostile_label_is_escaped_for_mermaid():
    graph, result = drawn(HOSTILE, x=1, y=2)
    nodes, _, _ = parse_mermaid(mermaid(graph, result))
    assert nodes[4].startswith(
        "@4 mul<br/>weird = (x + 1 #35; say #quot;hi#quot; \\l \\N #35;quot; #amp;lt; "
        "#lt;b#gt;{a|b}#lt;/b#gt; \\ ) * y<br/>"
    )
    assert mermaid_unescape(nodes[4])[1] == expected_title(graph, 4)


def test_a_newline_in_a_label_is_escaped():
    # graph.label joins lines, but nothing stops a Graph from naming an input so.
    graph = cgrad.compile("x + 1").graph
    odd_input = dataclasses.replace(graph.nodes[0], name='a\nb"\r\nc\\')
    odd = dataclasses.replace(graph, nodes=(odd_input, *graph.nodes[1:]))
    dot_nodes, _ = parse_dot(dot(odd))
    assert dot_nodes[0][0] == '@0 input\\na\\nb\\"\\nc\\\\'
    mermaid_nodes, _, _ = parse_mermaid(mermaid(odd))
    assert mermaid_nodes[0] == "@0 input<br/>a<br/>b#quot;<br/>c\\"


def test_an_escape_code_in_a_comment_is_written_out_not_sent(cli):
    # A terminal acts on ESC [31m: a DOT or Mermaid file printed to one
    # must not recolour or clear it.
    program = "(x # \x1b[31mRED\n+1)"
    for kind in ("dot", "mermaid"):
        result = cli("graph", program, "--format", kind)
        assert result.exit_code == 0
        assert "\x1b" not in result.stdout
    assert "x # \\\\x1b[31mRED +1" in cli("graph", program, "--format", "dot").stdout
    assert "x #35; \\x1b[31mRED +1" in cli("graph", program, "--format", "mermaid").stdout


# --------------------------------------------------------------------------
# Long labels: shortened as graph.label does, at a cost that does not grow
# with the length of the source text.


def spaced_sum(terms: int) -> str:
    # Irregular whitespace, comments, and Unicode spaces inside the comments.
    gaps = [" ", "  ", "\t", " (\n", "( # note\u2003\u00a0 with  gaps\n"]
    parts = []
    opened = 0
    for i in range(1, terms + 1):
        gap = gaps[i % len(gaps)]
        opened += gap.count("(")
        parts.append(f"{gap}sin(x*{i}){gap.replace('(', '')}")
    return " + ".join(parts) + ")" * opened


@pytest.mark.parametrize(
    "text",
    [
        spaced_sum(60),
        "sin(" * 40 + "x" + "   )" * 40,
        "t = " + " + ".join(f"y*{i}" for i in range(50)) + "; t * (t   -   x)",
        "(" + " " * 500 + "x + y" + " " * 500 + ") * 2",
        # A long span whose label is about 60 characters: cut or not?
        *(f"sin({' ' * 250}{'v' * n} )" for n in range(50, 57)),
    ],
)
def test_long_labels_are_those_of_graph_label(text):
    graph = cgrad.compile(text).graph
    nodes, _ = parse_dot(dot(graph))
    for node in graph.nodes:
        assert dot_unescape(nodes[node.id][0])[1] == expected_title(graph, node.id)


# --------------------------------------------------------------------------
# Graphviz


def balanced_sum(terms: int) -> str:
    """Four nodes a term, x shared by all of them; balanced, so that dot
    lays it out in a second (a chain of sums makes dot's own layout slow)."""
    parts = [f"sin(x*{i})" for i in range(1, terms + 1)]
    while len(parts) > 1:
        pairs = [f"({a} + {b})" for a, b in zip(parts[::2], parts[1::2], strict=False)]
        parts = pairs + parts[len(pairs) * 2 :]
    return parts[0]


@pytest.mark.parametrize(
    "text",
    [
        "x*y + sin(x*y)",
        "x*x",
        "a = x*2; y + 1",
        "2",
        HOSTILE,
        'sin(x # "\\\n)',
        balanced_sum(500),
    ],
)
def test_graphviz_renders_every_node(text):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    f = cgrad.compile(text)
    source = dot(f.graph, f.evaluate(**dict.fromkeys(f.inputs, 0.5)))
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=source, capture_output=True, text=True, timeout=120
    )
    assert svg.returncode == 0, svg.stderr
    assert svg.stdout.count('class="node"') == len(f.graph)


def test_the_balanced_sum_has_2000_nodes():
    assert len(cgrad.compile(balanced_sum(500)).graph) == 2000


# --------------------------------------------------------------------------
# Edge labels: each edge's local derivative, when values are given


def dot_edge_labels(text: str) -> list[tuple[int, int, str | None]]:
    return [
        (int(m[1]), int(m[2]), m[4]) for line in text.split("\n") if (m := DOT_EDGE.fullmatch(line))
    ]


def mermaid_edge_labels(text: str) -> list[tuple[int, int, str | None]]:
    return [
        (int(m[1]), int(m[3]), m[2])
        for line in text.split("\n")
        if (m := MERMAID_EDGE.fullmatch(line))
    ]


def engine_locals(text: str, point: dict[str, float]) -> dict[tuple[int, int, int], str]:
    """(operand, consumer, argument) -> the local derivative the backward
    pass multiplied by, as the drawings print numbers."""
    from cgrad.explain import passes

    f = cgrad.compile(text)
    trace = passes(f, f.evaluate(point))
    return {
        (edge.operand, step.node, edge.position): format_short(edge.local)
        for step in trace.backward
        for edge in step.edges
    }


@pytest.mark.parametrize("text", EXPRESSIONS)
@pytest.mark.parametrize("labels", [dot_edge_labels, mermaid_edge_labels])
def test_each_edge_is_labelled_with_its_local_derivative(text, labels):
    f = cgrad.compile(text)
    point = dict.fromkeys(f.inputs, 1.5)
    draw = dot if labels is dot_edge_labels else mermaid
    found = labels(draw(f.graph, f.evaluate(point)))
    # Edges come consumer by consumer, each in argument order.
    argument = {}
    positions = []
    for operand, consumer, _ in found:
        argument[consumer] = argument.get(consumer, -1) + 1
        positions.append((operand, consumer, argument[consumer]))
    labelled = {
        key: label for key, (_, _, label) in zip(positions, found, strict=True) if label is not None
    }
    # Exactly the edges that carry a gradient, as --steps and the page: an
    # edge from a constant (or sin(2)) has none.
    assert labelled == engine_locals(text, point)
    # Without values, edges are as before: no labels.
    assert all(label is None for _, _, label in labels(draw(f.graph)))


def test_edges_from_constants_are_left_unlabelled_in_every_drawing():
    f = cgrad.compile("x*x + 1/y + sin(2)*x")
    result = f.evaluate(x=3.0, y=0.0)
    unlabelled = {(o, c) for o, c, label in dot_edge_labels(dot(f.graph, result)) if label is None}
    assert unlabelled == {(2, 4), (6, 7), (7, 8)}  # 1 -> 1/y, 2 -> sin(2), sin(2) -> sin(2)*x
    assert unlabelled == {
        (o, c) for o, c, label in mermaid_edge_labels(mermaid(f.graph, result)) if label is None
    }
    svg = graph_svg(f, result)
    for operand, consumer in unlabelled:
        found = re.search(
            rf'data-from="{operand}" data-to="{consumer}" data-position="\d+" d=', svg
        )
        assert found is not None  # drawn, without data-local: no label
    labelled = re.findall(r'data-from="(\d+)" data-to="(\d+)" data-local=', svg)
    assert not unlabelled & {(int(o), int(c)) for o, c in labelled}
    assert len(labelled) == len(dot_edge_labels(dot(f.graph, result))) - len(unlabelled)


def test_graphviz_reads_the_edge_labels():
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    text = "x*x + sin(x*y)"
    f = cgrad.compile(text)
    point = {"x": 0.5, "y": 2.0}
    plain = subprocess.run(
        ["dot", "-Tplain"],
        input=dot(f.graph, f.evaluate(point)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr
    # "edge tail head n x1 y1 ... xn yn label xl yl style color"
    read = sorted(
        (int(fields[1][1:]), int(fields[2][1:]), fields[4 + 2 * int(fields[3])])
        for line in plain.stdout.splitlines()
        if (fields := line.split())[0] == "edge"
    )
    expected = sorted((a, b, label) for (a, b, _), label in engine_locals(text, point).items())
    assert read == expected  # x*x: two edges from x, each with its own label


TREE = """\
@5 add x*x + sin(x*y)  = 1.09147  grad 1
├── @1 mul x*x  = 0.25  grad 1  ∂@5/∂@1 = 1
│   ├── @0 input x  = 0.5  grad 2.0806  ∂@1/∂@0 = 0.5
│   └── @0 input x  (shared, drawn above)  ∂@1/∂@0 = 0.5
└── @4 sin sin(x*y)  = 0.841471  grad 1  ∂@5/∂@4 = 1
    └── @3 mul x*y  = 1  grad 0.540302  ∂@4/∂@3 = 0.540302
        ├── @0 input x  (shared, drawn above)  ∂@3/∂@0 = 2
        └── @2 input y  = 2  grad 0.270151  ∂@3/∂@2 = 0.5
6 nodes, 1 shared
"""


def test_the_tree_shows_edge_labels_when_asked(cli):
    result = cli("graph", "x*x + sin(x*y)", "x=0.5", "y=2", "--edge-labels")
    assert result.exit_code == 0, result.output
    assert result.stdout == TREE
    expected = engine_locals("x*x + sin(x*y)", {"x": 0.5, "y": 2.0})
    shown = re.findall(r"∂@(\d+)/∂@(\d+) = (\S+)", result.stdout)
    assert {(int(b), int(a), v) for a, b, v in shown} == {
        (operand, consumer, v) for (operand, consumer, _), v in expected.items()
    }
    plain = cli("graph", "x*x + sin(x*y)", "x=0.5", "y=2")
    assert "∂" not in plain.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["x*y", "--edge-labels"],
         "cgrad: error: --edge-labels needs a point: a value for every input\n"),
        (["x*y", "x=1", "y=2", "--edge-labels", "--format", "json"],
         "cgrad: error: --edge-labels labels the lines of the tree; JSON has no lines\n"),
        (["x*y", "x=1", "y=2", "--edge-labels", "--format", "html", "-o", "page.html"],
         "cgrad: error: --edge-labels labels the lines of the tree; the page labels its edges\n"),
    ],
)  # fmt: skip
def test_edge_labels_errors(cli, arguments, message):
    result = cli("graph", *arguments)
    assert result.exit_code == 2
    assert result.stderr == message
