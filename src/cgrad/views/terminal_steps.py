"""The passes and paths of :mod:`cgrad.explain` as Rich tables for the
terminal (their JSON is in :mod:`.json_documents`).

Tables are plain aligned columns (:func:`.terminal_tables.aligned_table`:
``--full`` may ask for tens of thousands of rows), each cut off after a
limit with a line that says how much more there is.
"""

from __future__ import annotations

import math
from typing import cast

from rich.console import Group
from rich.text import Text

from ..autodiff.graph import CONSTANT, INPUT, Graph
from ..explain import Edge, Passes, Paths, TangentStep
from ..numerals import format_short
from ..ops import OPS
from .node_names import binding_names
from .terminal_tables import aligned_lines, aligned_table

# Nodes shown in each table by default (--full shows them all).
STEPS_LIMIT = 100
# A sum of more terms than this is shown as its count and total.
TERMS_SHOWN = 4


# (The node's facts are read from the graph's columns: a Node object per
# node of a million-node graph would take hundreds of megabytes.)


def _node_text(graph: Graph, node_id: int) -> str:
    return f"@{node_id} {graph.columns.ops[node_id]}"


def _source(graph: Graph, node_id: int, names: dict[int, str]) -> str:
    """The node's source text, ``t = x*y`` for a node bound to a name."""
    name = names.get(node_id)
    label = graph.label(node_id)
    return f"{name} = {label}" if name and name != label else label


def _computes(graph: Graph, node_id: int) -> str:
    """What a node computes from its operands: ``@0 + @1``, ``sin(@2)``."""
    columns = graph.columns
    op = columns.ops[node_id]
    if op == INPUT:
        return columns.names.get(node_id) or ""
    if op == CONSTANT:
        return format_short(cast(float, columns.values.get(node_id)))  # a constant has its value
    return OPS[op].notation.written([f"@{i}" for i in columns.operands[node_id]])


def _more(left_out: int, what: str, why: str = "--full shows them all") -> Text:
    return Text(f"... {left_out:,} more {what} ({why})", style="dim")


def passes_report(graph: Graph, passes: Passes, limit: int | None = STEPS_LIMIT) -> list:
    """The forward pass, then the backward pass (or, in forward mode, a
    tangent pass per input), as tables: the report's parts, in a list
    whose tables :func:`~.styled_lines.print_blocks` writes a line at a
    time."""
    names = binding_names(graph)
    forward = passes.forward if limit is None else passes.forward[:limit]
    parts: list = [
        Text("Forward pass: each node from its operands, in topological order", style="bold"),
        aligned_lines(
            ["node", "computes", "value", "source"],
            [
                [
                    _node_text(graph, step.node),
                    _computes(graph, step.node),
                    format_short(step.value),
                    _source(graph, step.node, names),
                ]
                for step in forward
            ],
            right={2},
        ),
    ]
    if len(forward) < len(passes.forward):
        parts.append(_more(len(passes.forward) - len(forward), "nodes"))
    if passes.tangents:
        for name, steps in passes.tangents.items():
            parts += [Text(), *_tangent_table(graph, name, steps, names, limit)]
        return parts
    backward = passes.backward if limit is None else passes.backward[:limit]
    rows = []
    for step in backward:
        first = [
            _node_text(graph, step.node),
            _source(graph, step.node, names),
            sum_text(step.terms, step.gradient),
        ]
        rows += _edge_rows(first, step.edges)
    parts += [
        Text(),
        Text("Backward pass: from the output back, each node sends", style="bold"),
        Text(
            "gradient × local derivative to its operands; where paths meet, they add up",
            style="bold",
        ),
        aligned_lines(
            ["node", "source", "gradient ∂f/∂node", "to", "local derivative ∂node/∂to", "product"],
            rows,
            right={5},
        ),
    ]
    if len(backward) < len(passes.backward):
        parts.append(_more(len(passes.backward) - len(backward), "nodes"))
    return parts


def _edge_rows(first: list[str], edges: tuple[Edge, ...]) -> list[list[str]]:
    """A node's rows: ``first`` (its cells before the edges) on the first,
    then one row per edge: the operand, the local derivative, the product."""
    if not edges:
        return [[*first, "", "", ""]]
    blank = [""] * len(first)
    return [
        [
            *(first if index == 0 else blank),
            f"@{edge.operand}",
            local_text(edge),
            format_short(edge.product),
        ]
        for index, edge in enumerate(edges)
    ]


def local_text(edge: Edge) -> str:
    """``∂sin(a)/∂a = cos(a) = 0.540302``: the local derivative's name, its
    formula and its value (the formula alone where it is the value)."""
    value = format_short(edge.local)
    if edge.formula is None or edge.formula == value:
        return f"{edge.written} = {value}"
    return f"{edge.written} = {edge.formula} = {value}"


def _tangent_table(
    graph: Graph,
    name: str,
    steps: tuple[TangentStep, ...],
    names: dict[int, str],
    limit: int | None,
) -> list:
    """One input's tangent pass: per node, d node / d input as the sum of
    what its operands bring (local derivative × the operand's tangent)."""
    if not steps:
        return [Text(f"Tangent pass for {name}: the output does not use {name} (∂f/∂{name} = 0)")]
    shown = steps if limit is None else steps[:limit]
    rows = []
    for step in shown:
        products = tuple(edge.product for edge in step.edges)
        tangent = sum_text(products, step.tangent, seed=not step.edges)
        rows += _edge_rows(
            [_node_text(graph, step.node), _source(graph, step.node, names), tangent], step.edges
        )
    lines = [
        Text(
            f"Tangent pass for {name}: from {name} (tangent 1) up, each node adds up", style="bold"
        ),
        Text(f"local derivative × tangent ∂from/∂{name} of each operand it uses", style="bold"),
        aligned_lines(
            [
                "node",
                "source",
                f"tangent ∂node/∂{name}",
                "from",
                "local derivative ∂node/∂from",
                "product",
            ],
            rows,
            right={5},
        ),
    ]
    if len(shown) < len(steps):
        lines.append(_more(len(steps) - len(shown), "nodes"))
    return lines


def sum_text(terms: tuple[float, ...], total: float, seed: bool | None = None) -> str:
    """A gradient or a tangent from its terms: ``1 (seed)`` where nothing
    was added (``seed``: default, when there are no terms), the total alone
    for one term, else the sum with its signs, ``0.909297 − 0.832294 =
    0.077003`` (a sum of more than :data:`TERMS_SHOWN` terms is counted)."""
    if seed if seed is not None else not terms:
        return f"{format_short(total)} (seed)"
    if len(terms) == 1:
        return format_short(total)
    if len(terms) > TERMS_SHOWN:
        return f"sum of {len(terms)} = {format_short(total)}"
    text = format_short(terms[0])
    for term in terms[1:]:
        # A negative term is subtracted: 0.9 − 0.8, not 0.9 + -0.8 (NaN has
        # no sign to show: it is added).
        if term < 0 or (term == 0 and math.copysign(1.0, term) < 0):
            text += f" − {format_short(-term)}"
        else:
            text += f" + {format_short(term)}"
    return f"{text} = {format_short(total)}"


def paths_report(graph: Graph, paths: Paths, full: bool = False) -> Group:
    """Each path from the output to the input, its local derivatives and
    their product; then the sum, next to the partial derivative. ``full``:
    the list is as long as it gets (``--full``), so do not offer more."""
    rows = [
        [
            " → ".join(f"@{node}" for node in path.nodes),
            " × ".join(map(format_short, path.locals)) or "1",
            format_short(path.product),
        ]
        for path in paths.shown
    ]
    total = sum(path.product for path in paths.shown)
    plural = "" if paths.count == 1 else "s"
    parts: list = [
        Text(f"{paths.count:,} path{plural} from the output to {paths.input}", style="bold"),
        Text(
            f"along a path the local derivatives multiply; the paths add up to ∂f/∂{paths.input}",
            style="bold",
        ),
        *aligned_table(["path", "local derivatives", "product"], rows, right={2}),
    ]
    left_out = paths.count - len(paths.shown)
    if left_out:
        why = f"only the first {len(paths.shown):,} are listed" if full else "--full lists more"
        parts.append(_more(left_out, "paths", why))
        parts.append(Text(f"sum of the {len(paths.shown)} shown: {format_short(total)}"))
    else:
        parts.append(Text(f"sum: {format_short(total)}"))
    parts.append(Text(f"∂f/∂{paths.input} = {format_short(paths.gradient)}", style="bold"))
    return Group(*parts)
