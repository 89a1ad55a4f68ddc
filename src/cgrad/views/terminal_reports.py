"""The whole text output of ``eval``, ``graph`` and ``diff`` as Rich
renderables, assembled from the tables, trees and steps of the other
terminal views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from ..autodiff.evaluation import Result
from ..autodiff.graph import Graph
from ..numerals import format_number
from ..symbolic.printed import Formulas
from .styled_lines import StyledLine
from .terminal_tables import hessian_table, program_heading, result_table, warning_lines
from .terminal_tree import TREE_LIMIT, graph_tree


def evaluation_report(
    graph: Graph,
    inputs: dict[str, float],
    result: Result,
    tree_limit: int | None = TREE_LIMIT,
    body: Sequence[RenderableType] | None = None,
    hessian: dict[str, dict[str, float]] | None = None,
) -> Group:
    """The whole text output of ``cgrad eval``; ``body``'s parts take the
    place of the graph's tree (the passes, for ``--steps``)."""
    parts: list[RenderableType] = [
        Text(program_heading(graph), style="bold"),
        Text.assemble("value ", (format_number(float(result.value)), "bold")),
    ]
    if inputs:
        parts += [Text(), result_table(inputs, result)]
    if hessian:
        parts += [Text(), hessian_table(hessian)]
    parts += [Text(), *(body if body is not None else [graph_tree(graph, result, tree_limit)])]
    parts += warning_lines(result.warnings)
    return Group(*parts)


def graph_report(
    graph: Graph,
    result: Result | None,
    tree_limit: int | None,
    paths: RenderableType | None = None,
    edge_labels: bool = False,
) -> Group:
    """The text output of ``cgrad graph``: the tree (``edge_labels``: with
    each edge's local derivative), the paths to an input when asked for,
    and the evaluation's warnings."""
    parts: list[RenderableType] = [graph_tree(graph, result, tree_limit, edge_labels)]
    if paths is not None:
        parts += [Text(), paths]
    if result is not None:
        parts += warning_lines(result.warnings)
    return Group(*parts)


def formulas_report(
    graph: Graph,
    substitutions: Mapping[str, float],
    found: Formulas,
) -> list[StyledLine]:
    """The text output of ``cgrad diff``: the program and the values put in
    it, the function, each partial derivative, and the Hessian's upper
    triangle (every partial of the order asked for once), each formula
    given as its program's statements. Lines to write with
    :func:`write_styled_lines`: a formula can be a line of megabytes."""
    heading = program_heading(graph)
    if substitutions:
        heading += "   at " + ", ".join(
            f"{n} = {format_number(v)}" for n, v in substitutions.items()
        )
    lines = [StyledLine(heading, "bold"), *_formula("f", found.value)]
    for name, statements in found.derivatives.items():
        lines += _formula(f"∂f/∂{name}", statements)
    for index, statements in found.partials.items():
        lines += _formula(partial_title(index), statements)
    return lines


def partial_title(wrt: Sequence[str]) -> str:
    """``∂³f/∂x²∂y`` for the partial by ``wrt`` (names in order, repeats
    counted)."""
    counts = {name: wrt.count(name) for name in dict.fromkeys(wrt)}
    power = _superscript(len(wrt)) if len(wrt) > 1 else ""
    below = "".join(f"∂{n}" + (_superscript(k) if k > 1 else "") for n, k in counts.items())
    return f"∂{power}f/{below}"


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _formula(title: str, statements: Sequence[str]) -> list[StyledLine]:
    """``title = formula``, or the title and the program's statements
    indented, one a line, when the formula names shared parts."""
    if len(statements) == 1:
        return [StyledLine(title, "bold cyan", f" = {statements[0]}")]
    return [
        StyledLine(f"{title}:", "bold cyan"),
        *(StyledLine("", "", f"  {s}") for s in statements),
    ]
