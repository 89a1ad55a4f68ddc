"""The graph as text for other tools to draw: Graphviz DOT and Mermaid.

Both are pure: they return the text and print nothing. Each node is drawn
once and each use of it is an edge from operand to consumer, so a shared node
has several out-edges and ``x*x`` has two edges from x. The node labels say
what the text tree of :func:`cgrad.views.terminal_tree.graph_tree` says, a line at a time.
With values, each edge is labelled with its local derivative, d consumer /
d operand at the point (``x*x`` has two edges, each with its own).

Everything is a loop over the node list (no recursion), and a node costs the
same whatever the size of the graph (``Graph.label`` reads only the ends of a
long span).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain

import numpy as np

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, Graph
from ..numerals import format_short
from ..ops import NUMERIC, OPS
from .json_documents import joined_pieces
from .node_names import binding_names
from .svg_graph import node_title
from .visible_text import visible

# --------------------------------------------------------------------------
# What a node says


def _node_numbers(graph: Graph, result: Result | None) -> tuple[list | None, list | None]:
    """Per node, its value and gradient (formatted as they are used), or
    None where unknown."""
    # Values of many points are arrays, which no label has room for.
    if result is None or not result.node_values or np.ndim(result.value) != 0:
        return None, None
    return result.node_values, result.node_gradients


def _node_labels(graph: Graph, result: Result | None, escape, newline: str) -> Iterator[str]:
    """Per node, in id order, its label: ``@2 add``, ``x+y``, ``= 3`` and
    ``grad 3`` (the last two if known) joined by ``newline``. Only the second
    line holds user text, so only it is passed through ``escape``.

    Labels are made one at a time as they are used, from the graph's
    columns (no Node object, no list of texts per node): the drawing of a
    million nodes is written as it is made.
    """
    names = binding_names(graph)
    values, gradients = _node_numbers(graph, result)
    for node_id, op in enumerate(graph.columns.ops):
        label = f"@{node_id} {op}{newline}{escape(node_title(graph, names, node_id))}"
        if values is not None and values[node_id] is not None:
            label = f"{label}{newline}= {format_short(values[node_id])}"
        if gradients is not None and gradients[node_id] is not None:
            label = f"{label}{newline}grad {format_short(gradients[node_id])}"
        yield label


def edge_locals(graph: Graph, result: Result | None) -> Iterator[Sequence[str | None]]:
    """Per node, in id order, the local derivative of each of its edges
    (d node / d operand, by argument position) as text, or None where a
    value is unknown (all of them, without a point) and where no gradient
    is sent (see :func:`node_locals`; a node the output does not use)."""
    values, _ = _node_numbers(graph, result)
    # A node the output does not use sends no gradient (as in --steps).
    reachable = graph.reachable()
    operands = graph.columns.operands
    for start in range(0, len(operands), _LOCALS_BLOCK):
        block = range(start, min(start + _LOCALS_BLOCK, len(operands)))
        # numpy's error state is set once a block, not once an edge (it
        # costs more than most rules), and never held while a line is used.
        with np.errstate(all="ignore"):
            made = [
                ()
                if not operands[node_id]  # an input or a constant
                else [None] * len(operands[node_id])
                if values is None or not reachable[node_id]
                else _node_locals(graph, values, node_id)
                for node_id in block
            ]
        yield from made


# Nodes whose local derivatives edge_locals works out at a time.
_LOCALS_BLOCK = 4096


def node_locals(graph: Graph, values: list, node_id: int) -> list[str | None]:
    """The local derivative of each edge of ``node_id`` at the point of
    ``values`` (one number per node), as text; None where a value is unknown
    and where the operand depends on no input (a constant, ``sin(2)``): no
    gradient is sent there, as the backward pass, ``--steps`` and the page
    have it, so that every drawing labels the same edges."""
    with np.errstate(all="ignore"):
        return _node_locals(graph, values, node_id)


def _node_locals(graph: Graph, values: list, node_id: int) -> list[str | None]:
    """:func:`node_locals` under numpy's error state set by the caller: each
    rule called as :meth:`cgrad.ops.Op.local_at` calls it, without setting
    the state again for each edge."""
    used = graph.columns.operands[node_id]
    if not used:  # an input or a constant
        return []
    arguments = [values[i] for i in used]
    out = values[node_id]
    if out is None or any(a is None for a in arguments):
        return [None] * len(used)
    op = OPS[graph.columns.ops[node_id]]
    varies = graph.depends_on_input
    return [
        format_short(float(op.derivative(k)(NUMERIC, out, *arguments))) if varies[operand] else None
        for k, operand in enumerate(used)
    ]


def _joined(lines: Iterator[str]) -> Iterator[str]:
    """``lines``, each ended by a newline, in pieces of a few thousand."""
    return chain(joined_pieces(lines, "\n"), ["\n"])


# --------------------------------------------------------------------------
# Graphviz DOT

_DOT_HEADER = [
    "digraph cgrad {",
    "  rankdir=BT;",
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [color=gray40, arrowsize=0.7, fontname="Helvetica", fontsize=10];',
]


def dot(graph: Graph, result: Result | None = None) -> str:
    """The graph in Graphviz DOT, inputs at the bottom and the output at the
    top; with ``result``, each node also shows its value and gradient, and
    each edge its local derivative."""
    return "".join(dot_pieces(graph, result))


def dot_pieces(graph: Graph, result: Result | None = None) -> Iterator[str]:
    """:func:`dot` in pieces of a few thousand lines, to write as they come."""
    return _joined(_dot_lines(graph, result))


def _dot_lines(graph: Graph, result: Result | None) -> Iterator[str]:
    reachable = graph.reachable()
    ops, operands = graph.columns.ops, graph.columns.operands
    yield from _DOT_HEADER
    labels = _node_labels(graph, result, _dot_escape, "\\n")
    styles: dict[tuple, str] = {}  # a handful of kinds of node
    for node_id, (op, label) in enumerate(zip(ops, labels, strict=True)):
        kind = (op if op in (INPUT, CONSTANT) else "", node_id == graph.output, reachable[node_id])
        attributes = styles.get(kind)
        if attributes is None:
            attributes = styles[kind] = _dot_style(graph, node_id, op, reachable[node_id])
        yield f'  n{node_id} [label="{label}"{attributes}];'
    for node_id, (used, locals_) in enumerate(
        zip(operands, edge_locals(graph, result), strict=True)
    ):
        dashed = "" if reachable[node_id] else "style=dashed"
        for operand, local in zip(used, locals_, strict=True):
            if local is not None:
                label = f'{dashed}, label="{local}"' if dashed else f'label="{local}"'
                yield f"  n{operand} -> n{node_id} [{label}];"
            else:
                yield (
                    f"  n{operand} -> n{node_id} [{dashed}];"
                    if dashed
                    else f"  n{operand} -> n{node_id};"
                )
    yield "}"


def _dot_escape(text: str) -> str:
    """``text`` inside a DOT double-quoted string. Backslashes go first, so
    that the ones added for quotes and newlines are not doubled; a backslash
    left alone would start an escape of Graphviz's own, such as \\l or \\N."""
    text = visible(text.replace("\r\n", "\n").replace("\r", "\n"))  # (ESC as \x1b)
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\n", "\\n")


def _dot_style(graph: Graph, node_id: int, op: str, reachable: bool) -> str:
    """The attributes after the label, each starting with ', '."""
    if op == INPUT:
        style, attributes = ["filled"], ["shape=ellipse", "fillcolor=lightblue"]
    else:
        style, attributes = ["rounded"], []
    if node_id == graph.output:
        attributes += ["peripheries=2", "color=firebrick", "penwidth=2"]
    elif op == CONSTANT:
        attributes += ["color=gray60", "fontcolor=gray40"]
    if not reachable:
        style.append("dashed")
    return f', style="{",".join(style)}"' + "".join(f", {a}" for a in attributes)


# --------------------------------------------------------------------------
# Mermaid

_MERMAID_CLASSES = [
    "  classDef input fill:#dbeafe,stroke:#1d4ed8",
    "  classDef output stroke:#b22222,stroke-width:3px",
    "  classDef const color:#6b7280,stroke:#9ca3af",
    "  classDef unused stroke-dasharray:5 5",
]

# '#' first: the other escapes are written with one.
_MERMAID_ESCAPES = [("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("&", "#amp;")]


def mermaid(graph: Graph, result: Result | None = None) -> str:
    """The graph as a Mermaid flowchart, inputs at the bottom and the output
    at the top; with ``result``, each node also shows its value and
    gradient, and each edge its local derivative."""
    return "".join(mermaid_pieces(graph, result))


def mermaid_pieces(graph: Graph, result: Result | None = None) -> Iterator[str]:
    """:func:`mermaid` in pieces of a few thousand lines, to write as they come."""
    return _joined(_mermaid_lines(graph, result))


def _mermaid_lines(graph: Graph, result: Result | None) -> Iterator[str]:
    reachable = graph.reachable()
    ops, operands = graph.columns.ops, graph.columns.operands
    yield "flowchart BT"
    labels = _node_labels(graph, result, _mermaid_escape, "<br/>")
    for node_id, label in enumerate(labels):
        yield f'  n{node_id}["{label}"]'
    for node_id, (used, locals_) in enumerate(
        zip(operands, edge_locals(graph, result), strict=True)
    ):
        for operand, local in zip(used, locals_, strict=True):
            arrow = "-->" if local is None else f"-->|{local}|"
            yield f"  n{operand} {arrow} n{node_id}"
    yield from _MERMAID_CLASSES
    groups = {
        "input": (i for i, op in enumerate(ops) if op == INPUT),
        "const": (i for i, op in enumerate(ops) if op == CONSTANT),
        "output": iter([graph.output]),
        "unused": (node_id for node_id, used in enumerate(reachable) if not used),
    }
    for name, ids in groups.items():
        first = next(ids, None)
        if first is not None:
            # One line per class, however many nodes: written in pieces too.
            yield _class_line(first, ids, name)


def _class_line(first: int, rest: Iterator[int], name: str) -> str:
    return "  class " + ",".join(f"n{i}" for i in chain([first], rest)) + f" {name}"


def _mermaid_escape(text: str) -> str:
    """``text`` inside a Mermaid ``["..."]`` label, as entity codes, which
    Mermaid turns back into the characters; '&' too, or a '&lt;' in a comment
    would be shown as '<'. A newline becomes a line break."""
    text = visible(text.replace("\r\n", "\n").replace("\r", "\n"))  # (ESC as \x1b)
    for char, code in _MERMAID_ESCAPES:
        text = text.replace(char, code)
    return text.replace("\n", "<br/>")
