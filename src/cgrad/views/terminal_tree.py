"""The graph as a Rich tree for the terminal, rooted at the output, one
line per node, with values and gradients when a point is given, and on
request each edge's local derivative (``graph --edge-labels``).

Nothing here prints; the command line decides where things go.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, Graph
from ..numerals import format_short
from .drawings import node_locals
from .node_names import binding_names
from .styled_lines import PieceLines

# Nodes drawn in a tree before it is cut off with "... N more nodes", by
# default and when the whole graph is asked for (beyond that, use JSON).
TREE_LIMIT = 100
GRAPH_TREE_LIMIT = 10_000


# A line of the tree: its pieces of text, each with its Rich style ("" for none).
Line = list[tuple[str, str]]


def _node_name(graph: Graph, node_id: int, names: dict[int, str]) -> Line:
    """``@4 mul (x+y)*z``; a bound node shows its binding, ``@9 tanh h1 = ...``."""
    # (from the graph's columns: its Node objects, made whole on first use,
    # would cost more than the tree)
    op = graph.columns.ops[node_id]
    if op == INPUT:
        name = graph.columns.names.get(node_id) or ""
        return [(f"@{node_id} ", "bold"), ("input ", "dim"), (name, "bold cyan")]
    line = [(f"@{node_id} ", "bold"), (f"{op} ", "dim" if op == CONSTANT else "magenta")]
    if node_id in names:
        line.append((f"{names[node_id]} = ", "bold cyan"))
    line.append((graph.label(node_id), ""))
    return line


def _node_line(graph: Graph, node_id: int, names: dict[int, str], result: Result | None) -> Line:
    line = _node_name(graph, node_id, names)
    if result is not None and result.node_values:
        line.append((f"  = {format_short(result.node_values[node_id])}", ""))
        gradients = result.node_gradients
        if gradients is not None and gradients[node_id] is not None:
            line.append((f"  grad {format_short(gradients[node_id])}", "green"))
    return line


def graph_tree(
    graph: Graph,
    result: Result | None = None,
    limit: int | None = TREE_LIMIT,
    edge_labels: bool = False,
) -> PieceLines:
    """The graph as a tree rooted at the output, one line per node; with
    ``edge_labels`` and a point, each line ends with the local derivative
    of the edge that leads to it (``∂@4/∂@2 = 3``).

    A node used more than once is drawn in full the first time only; later
    uses say ``(shared, drawn above)``, so the drawing grows with the graph,
    not with its paths. Lines are never wrapped or cropped (a deep node's
    line stays whole; the terminal may fold it), and indentation stops
    growing after ``MAX_INDENT`` levels, the deeper lines saying how deep
    they are, so that a chain nested 50,000 deep costs no more per line than
    one nested 50 deep. The lines are made as they are written (see
    :class:`~cgrad.views.styled_lines.PieceLines`): a whole graph's tree is
    never held at once.
    """
    return PieceLines(lambda: _tree_lines(graph, result, limit, edge_labels))


def _tree_lines(
    graph: Graph, result: Result | None, limit: int | None, edge_labels: bool
) -> Iterator[Line]:
    names = binding_names(graph)
    yield _node_line(graph, graph.output, names, result)
    made = 1
    # A byte a node, not a set's entry: a whole tree's walk keeps it.
    drawn = bytearray(len(graph))
    drawn[graph.output] = 1
    drawn_count = 1
    # (Values of many points, arrays, have no room on a line.)
    labelled = edge_labels and result is not None and bool(result.node_values)
    labelled = labelled and np.ndim(result.value) == 0  # type: ignore[union-attr]
    locals_made: dict[int, list] = {}
    guide_strings: dict[str, str] = {}
    # (node, guides above it, connector, depth, its consumer, the argument it
    # is there), depth-first and left to right.
    stack = _children_entries(graph, graph.output, "", 1)
    while stack:
        if limit is not None and made >= limit:
            break
        node_id, guides, last, depth, consumer, position = stack.pop()
        shared = drawn[node_id] == 1
        line = _child_line(graph, node_id, names, result, shared, guides, last, depth)
        if labelled:
            assert result is not None  # (labelled says so)
            text = _edge_text(graph, result.node_values, consumer, position, locals_made)
            line.append((text, "yellow"))
        yield line
        made += 1
        if shared:
            continue
        drawn[node_id] = 1
        drawn_count += 1
        child_guides = guides + ("    " if last else "│   ")
        if depth >= MAX_INDENT:
            child_guides = child_guides[4:]
        # One string for each distinct guide, not one for each node waiting
        # on the stack (a sum's left spine is as deep as it is long).
        child_guides = guide_strings.setdefault(child_guides, child_guides)
        stack.extend(_children_entries(graph, node_id, child_guides, depth + 1))
    reachable = graph.reachable()
    counts = _count_text(reachable, graph)
    if stack:
        left_out = sum(reachable) - drawn_count
        yield [(f"... {left_out} more nodes (--full draws them all)", "dim")]
    yield [(counts, "dim")]
    if result is not None and result.node_values and result.node_gradients is None:
        yield [("(node gradients come from --mode reverse)", "dim")]


def _child_line(
    graph: Graph,
    node_id: int,
    names: dict[int, str],
    result: Result | None,
    shared: bool,
    guides: str,
    last: bool,
    depth: int,
) -> Line:
    """A line below the root: its guides, then the node (once in full)."""
    line: Line = [(f"⋮{depth} ", "dim")] if depth > MAX_INDENT else []
    line.append((guides + ("└── " if last else "├── "), "dim"))
    if shared:
        line += _node_name(graph, node_id, names)
        line.append(("  (shared, drawn above)", "dim"))
    else:
        line += _node_line(graph, node_id, names, result)
    return line


# Levels of indentation a tree line may have before it stops growing.
MAX_INDENT = 24


def _children_entries(graph: Graph, node_id: int, guides: str, depth: int) -> list:
    """Stack entries for a node's operands, so that the first pops first."""
    operands = graph.columns.operands[node_id]
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
