"""The passes and paths of :mod:`cgrad.explain` as Rich tables for the
terminal (their JSON is in :mod:`.json_documents`).

Tables are plain aligned columns (:func:`.terminal_tables.aligned_table`:
``--full`` may ask for tens of thousands of rows), each cut off after a
limit with a line that says how much more there is.
"""

from __future__ import annotations

from typing import cast

from rich.console import Group
from rich.text import Text

from ..autodiff.graph import CONSTANT, INPUT, Graph
from ..explain import Passes, Paths
from ..numerals import format_short
from ..ops import OPS
from .node_names import binding_names
from .terminal_tables import aligned_table

# Nodes shown in each table by default (--full shows them all).
STEPS_LIMIT = 100
# A sum of more terms than this is shown as its count and total.
TERMS_SHOWN = 4


def _node_text(graph: Graph, node_id: int) -> str:
    return f"@{node_id} {graph.nodes[node_id].op}"


def _source(graph: Graph, node_id: int, names: dict[int, str]) -> str:
    """The node's source text, ``t = x*y`` for a node bound to a name."""
    name = names.get(node_id)
    label = graph.label(node_id)
    return f"{name} = {label}" if name and name != label else label


def _computes(graph: Graph, node_id: int) -> str:
    """What a node computes from its operands: ``@0 + @1``, ``sin(@2)``."""
    node = graph.nodes[node_id]
    if node.op == INPUT:
        return node.name or ""
    if node.op == CONSTANT:
        return format_short(cast(float, node.value))  # a constant has its value
    return OPS[node.op].notation.written([f"@{i}" for i in node.operands])


def _more(left_out: int, what: str, why: str = "--full shows them all") -> Text:
    return Text(f"... {left_out:,} more {what} ({why})", style="dim")


def passes_report(graph: Graph, passes: Passes, limit: int | None = STEPS_LIMIT) -> Group:
    """The forward pass, then the backward pass, as tables."""
    names = binding_names(graph)
    forward = passes.forward if limit is None else passes.forward[:limit]
    parts: list = [
        Text("Forward pass: each node from its operands, in topological order", style="bold"),
        *aligned_table(
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

    backward = passes.backward if limit is None else passes.backward[:limit]
    rows = []
    for step in backward:
        first = [_node_text(graph, step.node), _gradient_text(step.terms, step.gradient)]
        if not step.edges:
            rows.append([*first, "", "", ""])
        for index, edge in enumerate(step.edges):
            lead = first if index == 0 else ["", ""]
            rows.append(
                [*lead, f"@{edge.operand}", format_short(edge.local), format_short(edge.product)]
            )
    parts += [
        Text(),
        Text("Backward pass: from the output back, each node sends", style="bold"),
        Text(
            "gradient × local derivative to its operands; where paths meet, they add up",
            style="bold",
        ),
        *aligned_table(
            ["node", "gradient ∂f/∂node", "to", "local ∂node/∂to", "product"],
            rows,
            right={3, 4},
        ),
    ]
    if len(backward) < len(passes.backward):
        parts.append(_more(len(passes.backward) - len(backward), "nodes"))
    return Group(*parts)


def _gradient_text(terms: tuple[float, ...], gradient: float) -> str:
    if not terms:
        return f"{format_short(gradient)} (seed)"
    if len(terms) == 1:
        return format_short(gradient)
    if len(terms) > TERMS_SHOWN:
        return f"sum of {len(terms)} = {format_short(gradient)}"
    return " + ".join(map(format_short, terms)) + f" = {format_short(gradient)}"


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
