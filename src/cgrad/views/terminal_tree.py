"""The graph as a Rich tree for the terminal, rooted at the output, one
line per node, with values and gradients when a point is given, and on
request each edge's local derivative (``graph --edge-labels``).

Nothing here prints; the command line decides where things go.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.text import Text

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, Graph
from ..numerals import format_short
from .drawings import node_locals
from .node_names import binding_names

# Nodes drawn in a tree before it is cut off with "... N more nodes", by
# default and when the whole graph is asked for (beyond that, use JSON).
TREE_LIMIT = 100
GRAPH_TREE_LIMIT = 10_000


def _node_name(graph: Graph, node_id: int, names: dict[int, str]) -> Text:
    """``@4 mul (x+y)*z``; a bound node shows its binding, ``@9 tanh h1 = ...``."""
    node = graph.nodes[node_id]
    line = Text()
    line.append(f"@{node_id} ", style="bold")
    if node.op == INPUT:
        line.append("input ", style="dim")
        line.append(node.name or "", style="bold cyan")
        return line
    line.append(f"{node.op} ", style="dim" if node.op == CONSTANT else "magenta")
    if node_id in names:
        line.append(f"{names[node_id]} = ", style="bold cyan")
    line.append(graph.label(node_id))
    return line


def _node_line(graph: Graph, node_id: int, names: dict[int, str], result: Result | None) -> Text:
    line = _node_name(graph, node_id, names)
    if result is not None and result.node_values:
        line.append(f"  = {format_short(result.node_values[node_id])}")
        gradients = result.node_gradients
        if gradients is not None and gradients[node_id] is not None:
            line.append(f"  grad {format_short(gradients[node_id])}", style="green")
    return line


def graph_tree(
    graph: Graph,
    result: Result | None = None,
    limit: int | None = TREE_LIMIT,
    edge_labels: bool = False,
) -> Group:
    """The graph as a tree rooted at the output, one line per node; with
    ``edge_labels`` and a point, each line ends with the local derivative
    of the edge that leads to it (``∂@4/∂@2 = 3``).

    A node used more than once is drawn in full the first time only; later
    uses say ``(shared, drawn above)``, so the drawing grows with the graph,
    not with its paths. Lines are never wrapped or cropped (a deep node's
    line stays whole; the terminal may fold it), and indentation stops
    growing after ``MAX_INDENT`` levels, the deeper lines saying how deep
    they are, so that a chain nested 50,000 deep costs no more per line than
    one nested 50 deep.
    """
    names = binding_names(graph)
    lines = [_node_line(graph, graph.output, names, result)]
    drawn = {graph.output}
    # (Values of many points, arrays, have no room on a line.)
    labelled = edge_labels and result is not None and bool(result.node_values)
    labelled = labelled and np.ndim(result.value) == 0  # type: ignore[union-attr]
    locals_made: dict[int, list] = {}
    # (node, guides above it, connector, depth, its consumer, the argument it
    # is there), depth-first and left to right.
    stack = _children_entries(graph, graph.output, "", 1)
    while stack:
        if limit is not None and len(lines) >= limit:
            break
        node_id, guides, last, depth, consumer, position = stack.pop()
        shared = node_id in drawn
        line = _child_line(graph, node_id, names, result, shared, guides, last, depth)
        if labelled:
            assert result is not None  # (labelled says so)
            text = _edge_text(graph, result.node_values, consumer, position, locals_made)
            line.append(text, style="yellow")
        lines.append(line)
        if shared:
            continue
        drawn.add(node_id)
        child_guides = guides + ("    " if last else "│   ")
        if depth >= MAX_INDENT:
            child_guides = child_guides[4:]
        stack.extend(_children_entries(graph, node_id, child_guides, depth + 1))
    reachable = graph.reachable()
    counts = _count_text(reachable, graph)
    if stack:
        left_out = sum(reachable) - len(drawn)
        lines.append(Text(f"... {left_out} more nodes (--full draws them all)", style="dim"))
    lines.append(Text(counts, style="dim"))
    if result is not None and result.node_values and result.node_gradients is None:
        lines.append(Text("(node gradients come from --mode reverse)", style="dim"))
    return Group(*lines)


def _child_line(
    graph: Graph,
    node_id: int,
    names: dict[int, str],
    result: Result | None,
    shared: bool,
    guides: str,
    last: bool,
    depth: int,
) -> Text:
    """A line below the root: its guides, then the node (once in full)."""
    line = Text(no_wrap=True, overflow="ignore")
    if depth > MAX_INDENT:
        line.append(f"⋮{depth} ", style="dim")
    line.append(guides + ("└── " if last else "├── "), style="dim")
    if shared:
        line.append_text(_node_name(graph, node_id, names))
        line.append("  (shared, drawn above)", style="dim")
    else:
        line.append_text(_node_line(graph, node_id, names, result))
    return line


# Levels of indentation a tree line may have before it stops growing.
MAX_INDENT = 24


def _children_entries(graph: Graph, node_id: int, guides: str, depth: int) -> list:
    """Stack entries for a node's operands, so that the first pops first."""
    operands = graph.nodes[node_id].operands
    entries = [
        (operand, guides, position == len(operands) - 1, depth, node_id, position)
        for position, operand in enumerate(operands)
    ]
    entries.reverse()
    return entries


def _edge_text(graph: Graph, values: list, consumer: int, position: int, made: dict) -> str:
    """``  ∂@4/∂@2 = 3``: the local derivative of the edge from argument
    ``position`` of ``consumer`` to its operand (``made``: each consumer's,
    worked out once)."""
    if consumer not in made:
        made[consumer] = node_locals(graph, values, consumer)
    local = made[consumer][position]
    operand = graph.columns.operands[consumer][position]
    return "" if local is None else f"  ∂@{consumer}/∂@{operand} = {local}"


def _count_text(reachable: list[bool], graph: Graph) -> str:
    nodes = sum(reachable)
    shared = sum(1 for node_id in graph.shared() if reachable[node_id])
    text = f"{nodes} node{'s' if nodes != 1 else ''}, {shared} shared"
    unused = len(graph) - nodes
    if unused:
        text += f" (and {unused} in bindings the output does not use)"
    return text
