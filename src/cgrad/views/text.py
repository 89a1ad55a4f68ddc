"""Pure builders of what cgrad shows as text: Rich renderables (the JSON
documents are in documents.py).

Nothing here prints; the command line decides where things go. User text
(expressions, names) is passed through ``escape`` before it meets Rich
markup, so that ``x[1]`` is never read as a tag.
"""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, Graph, shorten
from ..numerals import format_number, format_short

# Nodes drawn in a tree before it is cut off with "... N more nodes", by
# default and when the whole graph is asked for (beyond that, use JSON).
TREE_LIMIT = 100
GRAPH_TREE_LIMIT = 10_000
# Characters of the program repeated at the top of the report.
PROGRAM_WIDTH = 400


# --------------------------------------------------------------------------
# Text

# Widest a column of an aligned table grows; longer cells stick out.
COLUMN_WIDTH = 40


def aligned_table(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    last_style: Callable[[str], str] | None = None,
) -> list[Text]:
    """Plain aligned columns: a bold header, a rule, the rows (right-aligned
    where the column is a number; the last cell styled by ``last_style``).
    Laid out here rather than by Rich's Table, which costs about a
    millisecond a row and cannot be wider than the terminal."""
    widths = [
        min(max([len(title)] + [len(row[i]) for row in rows]), COLUMN_WIDTH)
        for i, title in enumerate(header)
    ]

    def line(cells: list[str], style: str = "") -> Text:
        padded = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        text = Text("  ".join(padded[:-1]) + "  ", style=style)
        last = padded[-1].rstrip()
        text.append(last, style=last_style(cells[-1]) if last_style else "")
        text.rstrip()
        return text

    lines = [line(header, style="bold")]
    lines.append(Text("─" * len(lines[0].plain), style="dim"))
    lines += [line(row) for row in rows]
    return lines


def result_table(inputs: dict[str, float], result: Result) -> Table:
    """One row per input: its value and the partial derivative of the output."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("input")
    table.add_column("value", justify="right")
    table.add_column("∂f/∂input", justify="right")
    for name, value in inputs.items():
        partial = result.gradient.get(name)
        table.add_row(
            escape(name),
            format_number(value),
            format_number(partial) if partial is not None else "-",
        )
    return table


def hessian_table(hessian: dict[str, dict[str, float]]) -> Table:
    """The second partial derivatives, a row and a column per input."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("∂²f")
    names = list(hessian)
    for name in names:
        table.add_column(f"∂{escape(name)}", justify="right")
    for name, row in hessian.items():
        table.add_row(f"∂{escape(name)}", *(format_number(row[other]) for other in names))
    return table


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


def graph_tree(graph: Graph, result: Result | None = None, limit: int | None = TREE_LIMIT) -> Group:
    """The graph as a tree rooted at the output, one line per node.

    A node used more than once is drawn in full the first time only; later
    uses say ``(shared, drawn above)``, so the drawing grows with the graph,
    not with its paths. Lines are never wrapped or cropped (a deep node's
    line stays whole; the terminal may fold it), and indentation stops
    growing after ``MAX_INDENT`` levels, the deeper lines saying how deep
    they are, so that a chain nested 50,000 deep costs no more per line than
    one nested 50 deep.
    """
    # The first binding of a node names it (a = x; b = a binds one node twice).
    names: dict[int, str] = {}
    for name, node_id in graph.bindings.items():
        names.setdefault(node_id, name)
    lines = [_node_line(graph, graph.output, names, result)]
    drawn = {graph.output}
    # (node, guides above it, connector, depth), depth-first and left to right.
    stack = _children_entries(graph, graph.output, "", 1)
    while stack:
        if limit is not None and len(lines) >= limit:
            break
        node_id, guides, last, depth = stack.pop()
        line = Text(no_wrap=True, overflow="ignore")
        if depth > MAX_INDENT:
            line.append(f"⋮{depth} ", style="dim")
        line.append(guides + ("└── " if last else "├── "), style="dim")
        if node_id in drawn:
            line.append_text(_node_name(graph, node_id, names))
            line.append("  (shared, drawn above)", style="dim")
            lines.append(line)
            continue
        drawn.add(node_id)
        line.append_text(_node_line(graph, node_id, names, result))
        lines.append(line)
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


# Levels of indentation a tree line may have before it stops growing.
MAX_INDENT = 24


def _children_entries(graph: Graph, node_id: int, guides: str, depth: int) -> list:
    """Stack entries for a node's operands, so that the first pops first."""
    operands = graph.nodes[node_id].operands
    entries = [
        (operand, guides, position == len(operands) - 1, depth)
        for position, operand in enumerate(operands)
    ]
    entries.reverse()
    return entries


def _count_text(reachable: list[bool], graph: Graph) -> str:
    nodes = sum(reachable)
    shared = sum(1 for node_id in graph.shared() if reachable[node_id])
    text = f"{nodes} node{'s' if nodes != 1 else ''}, {shared} shared"
    unused = len(graph) - nodes
    if unused:
        text += f" (and {unused} in bindings the output does not use)"
    return text


def program_heading(graph: Graph) -> str:
    """The program as a report's first line(s): comment-only lines (usage
    notes in a sample file) are not the program, and one too long to repeat
    is named by its file where it has one, else shortened in the middle."""
    program = "\n".join(
        line for line in graph.source.strip().splitlines() if not line.lstrip().startswith("#")
    )
    if len(program) <= PROGRAM_WIDTH:
        return program
    return graph.origin or shorten(program, PROGRAM_WIDTH)


def evaluation_report(
    graph: Graph,
    inputs: dict[str, float],
    result: Result,
    tree_limit: int | None = TREE_LIMIT,
    body: Group | None = None,
    hessian: dict[str, dict[str, float]] | None = None,
) -> Group:
    """The whole text output of ``cgrad eval``; ``body`` takes the place of
    the graph's tree (the passes, for ``--steps``)."""
    parts: list = [
        Text(program_heading(graph), style="bold"),
        Text.assemble("value ", (format_number(result.value), "bold")),
    ]
    if inputs:
        parts += [Text(), result_table(inputs, result)]
    if hessian:
        parts += [Text(), hessian_table(hessian)]
    parts += [Text(), body if body is not None else graph_tree(graph, result, tree_limit)]
    if result.warnings:
        parts.append(Text())
        parts += [Text(f"warning: {w.message}", style="yellow") for w in result.warnings]
    return Group(*parts)
