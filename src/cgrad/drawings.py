"""The graph as text for other tools to draw: Graphviz DOT and Mermaid.

Both are pure: they return the text and print nothing. Each node is drawn
once and each use of it is an edge from operand to consumer, so a shared node
has several out-edges and ``x*x`` has two edges from x. The node labels say
what the text tree of :func:`cgrad.render.graph_tree` says, a line at a time.

Everything is a loop over the node list (no recursion), and a node costs the
same whatever the size of the graph (``Graph.label`` reads only the ends of a
long span).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .engine import Result
from .graph import CONSTANT, INPUT, Graph
from .numbers import format_short

# --------------------------------------------------------------------------
# What a node says


def _binding_names(graph: Graph) -> dict[int, str]:
    # The first binding of a node names it (a = x; b = a binds one node twice).
    names: dict[int, str] = {}
    for name, node_id in graph.bindings.items():
        names.setdefault(node_id, name)
    return names


def _numbers(graph: Graph, result: Result | None) -> tuple[list, list]:
    """Per node, its value and gradient as short text, or None where unknown."""
    count = len(graph.nodes)
    # Values of many points are arrays, which no label has room for.
    if result is None or not result.node_values or np.ndim(result.value) != 0:
        return [None] * count, [None] * count
    values = [format_short(v) if v is not None else None for v in result.node_values]
    if result.node_gradients is None:
        return values, [None] * count
    gradients = [format_short(g) if g is not None else None for g in result.node_gradients]
    return values, gradients


def _node_labels(graph: Graph, result: Result | None, escape, newline: str) -> Iterator[str]:
    """Per node, in id order, its label: ``@2 add``, ``x+y``, ``= 3`` and
    ``grad 3`` (the last two if known) joined by ``newline``. Only the second
    line holds user text, so only it is passed through ``escape``.

    Labels are made one at a time as they are used: holding a tuple or list
    per node would have Python's garbage collector walk them again and again
    (a third of the time for 100,000 nodes).
    """
    names = _binding_names(graph)
    values, gradients = _numbers(graph, result)
    for node in graph.nodes:
        title = graph.label(node.id)
        # As in the tree, an input shows its own name even when it is bound.
        if node.op != INPUT and node.id in names:
            title = f"{names[node.id]} = {title}"
        lines = [f"@{node.id} {node.op}", escape(title)]
        if values[node.id] is not None:
            lines.append(f"= {values[node.id]}")
        if gradients[node.id] is not None:
            lines.append(f"grad {gradients[node.id]}")
        yield newline.join(lines)


# --------------------------------------------------------------------------
# Graphviz DOT

_DOT_HEADER = [
    "digraph cgrad {",
    "  rankdir=BT;",
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    "  edge [color=gray40, arrowsize=0.7];",
]


def dot(graph: Graph, result: Result | None = None) -> str:
    """The graph in Graphviz DOT, inputs at the bottom and the output at the
    top; with ``result``, each node also shows its value and gradient."""
    reachable = graph.reachable()
    lines = list(_DOT_HEADER)
    labels = _node_labels(graph, result, _dot_escape, "\\n")
    for node, label in zip(graph.nodes, labels, strict=True):
        attributes = _dot_style(graph, node.id, node.op, reachable[node.id])
        lines.append(f'  n{node.id} [label="{label}"{attributes}];')
    for node in graph.nodes:
        edge = " [style=dashed]" if not reachable[node.id] else ""
        lines.extend(f"  n{operand} -> n{node.id}{edge};" for operand in node.operands)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text: str) -> str:
    """``text`` inside a DOT double-quoted string. Backslashes go first, so
    that the ones added for quotes and newlines are not doubled; a backslash
    left alone would start an escape of Graphviz's own, such as \\l or \\N."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


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
    at the top; with ``result``, each node also shows its value and gradient."""
    reachable = graph.reachable()
    lines = ["flowchart BT"]
    labels = _node_labels(graph, result, _mermaid_escape, "<br/>")
    for node, label in zip(graph.nodes, labels, strict=True):
        lines.append(f'  n{node.id}["{label}"]')
    for node in graph.nodes:
        lines.extend(f"  n{operand} --> n{node.id}" for operand in node.operands)
    lines += _MERMAID_CLASSES
    groups = {
        "input": [node.id for node in graph.nodes if node.op == INPUT],
        "const": [node.id for node in graph.nodes if node.op == CONSTANT],
        "output": [graph.output],
        "unused": [node_id for node_id, used in enumerate(reachable) if not used],
    }
    for name, ids in groups.items():
        if ids:
            lines.append(f"  class {','.join(f'n{i}' for i in ids)} {name}")
    return "\n".join(lines) + "\n"


def _mermaid_escape(text: str) -> str:
    """``text`` inside a Mermaid ``["..."]`` label, as entity codes, which
    Mermaid turns back into the characters; '&' too, or a '&lt;' in a comment
    would be shown as '<'. A newline becomes a line break."""
    for char, code in _MERMAID_ESCAPES:
        text = text.replace(char, code)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br/>")
