"""``cgrad graph``: the graph alone, drawn as a tree, DOT, Mermaid or JSON,
with values and gradients when a point is given, and the paths to an input."""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import NAMES_SHOWN, UsageError
from ..explain import paths
from ..function import Function
from ..views.drawings import dot_pieces, mermaid_pieces
from ..views.json_documents import graph_json_pieces, paths_json, write_pieces
from ..views.styled_lines import print_blocks
from ..views.terminal_reports import graph_report
from ..views.terminal_steps import paths_report
from ..views.terminal_tree import TREE_LIMIT
from .application import command
from .arguments import CommandLine, Options, choose, input_values, read_command_line
from .output import stdout_console, write_json
from .parameters import Expression, Variables, full_option

FORMATS = ("tree", "dot", "mermaid", "json", "html")
# Paths listed by default, and at most with --full (their number can be
# astronomical: a chain of n shared squarings has 2^n).
PATHS_LIMIT = 20
PATHS_FULL_LIMIT = 10_000

EXAMPLES = """
[bold]Examples[/bold]

  cgrad graph "x*y + sin(x*y)"
  cgrad graph "x*y + sin(x*y)" x=0.5 y=2      [dim]# with values and gradients[/dim]
  cgrad graph "x*y + sin(x*y)" x=0.5 y=2 --paths x
  cgrad graph "(x+y)*z" x=1 y=2 z=3 --format dot | dot -Tsvg > graph.svg
  cgrad graph "x*x + sin(x*y)" x=0.5 y=2 --edge-labels   [dim]# local derivatives[/dim]
  cgrad graph "(x+y)*z" --format mermaid      [dim]# paste into Markdown[/dim]
  cgrad graph "(x+y)*z" x=1 y=2 z=3 --format html -o page.html
"""

EdgeLabelsOption = Annotated[
    bool,
    typer.Option(
        "--edge-labels",
        help="Tree: end each line with the local derivative of the edge that leads to "
        "it (needs values; DOT and Mermaid label their edges whenever values are given).",
    ),
]


# The command's own parameters (the shared ones are in parameters.py).
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="tree|dot|mermaid|json|html",
        help="tree: for the terminal; dot: for Graphviz (dot -Tsvg); mermaid: for "
        "Markdown; json: the nodes as data; html: a page to step through in a browser.",
    ),
]
# A name, not a Path: Typer would make '' the current directory.
OutputOption = Annotated[
    Optional[str],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the page of --format html to FILE (replaced only when done).",
        show_default=False,
    ),
]


@command("graph", epilog=EXAMPLES, json_errors=lambda options: options["output_format"] == "json")
def graph_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    output_format: FormatOption = "tree",
    output: OutputOption = None,
    paths_to: Annotated[
        Optional[str],
        typer.Option(
            "--paths",
            metavar="NAME",
            help="List the paths from the output to input NAME and what each contributes "
            "to the partial derivative (needs values).",
        ),
    ] = None,
    full: Annotated[
        bool,
        full_option(
            f"Draw every node of the tree, not the first {TREE_LIMIT}; list up to "
            f"{PATHS_FULL_LIMIT:,} paths, not {PATHS_LIMIT}."
        ),
    ] = False,
    edge_labels: EdgeLabelsOption = False,
) -> None:
    """Show the computational graph of an expression: each node once, shared
    nodes with several consumers. Given a value for every input, each node
    also shows its value and its gradient (d output / d node)."""
    output_format = choose("--format", output_format, FORMATS)
    page = _check_output(output, output_format)
    function, line, options = read_command_line(context, expression, variables)
    if paths_to is not None:
        _check_paths_asked(function, line, output_format, paths_to)
    _check_edge_labels_asked(function, line, output_format, edge_labels)
    if output_format == "html":
        _write_page(function, line, options, paths_to, page)
        return
    result = None
    if line.values or paths_to is not None:
        result = function.evaluate(input_values(function, line, options))
    graph = function.graph
    if output_format in ("dot", "mermaid"):
        write_pieces((dot_pieces if output_format == "dot" else mermaid_pieces)(graph, result))
        return
    found = None
    if paths_to is not None and result is not None:
        limit = PATHS_FULL_LIMIT if full else PATHS_LIMIT
        found = paths(function, result, paths_to, limit=limit)
    if output_format == "json":
        if found is not None:
            write_json(paths_json(found))
        else:
            write_pieces(chain(graph_json_pieces(graph, result), ["\n"]))
        return
    shown = paths_report(graph, found, full=full) if found is not None else None
    report = graph_report(graph, result, None if full else TREE_LIMIT, shown, edge_labels)
    print_blocks(stdout_console(), report.renderables)


def _check_output(output: str | None, output_format: str) -> Path | None:
    """-o's file: for the page alone."""
    if output is not None and output_format != "html":
        raise UsageError(
            "-o writes the page of --format html; the other formats go to stdout",
            hint="redirect them: > file",
        )
    if output is None:
        return None
    from .files import named_file  # only for -o: not on every run

    return named_file("-o", output)


def _write_page(
    function: Function,
    line: CommandLine,
    options: Options,
    paths_to: str | None,
    output: Path | None,
) -> None:
    """``--format html``: the page, with the passes when values are given."""
    from ..views.page import graph_page
    from ..views.svg_graph import check_drawable
    from .files import program_file, refuse_clashing_files, refuse_unwritable
    from .page_output import write_page

    refuse_clashing_files([("the program", program_file(line.expression))], [("-o", output)])
    refuse_unwritable([("-o", output)])
    check_drawable(function.graph)  # before the evaluation: a big graph is refused at once
    result = None
    # A program without inputs has its one point already: step through it.
    if line.values or paths_to is not None or not function.inputs:
        result = function.evaluate(input_values(function, line, options))
    write_page("-o", output, graph_page(function, result, paths_to), line.expression)


def _check_paths_asked(
    function: Function, line: CommandLine, output_format: str, name: str
) -> None:
    """``--paths NAME`` needs a table or JSON, an input NAME, and a point."""
    if output_format not in ("tree", "json", "html"):
        raise UsageError(
            "--paths is shown as a table (tree), as JSON or on the page (html), not as a drawing"
        )
    function.check_wrt([name])
    if not line.values and function.inputs:
        raise UsageError(
            "--paths needs a point: a value for every input",
            hint="for example: "
            + " ".join(f"{name}=1" for name in function.inputs[:NAMES_SHOWN])
            + (" ..." if len(function.inputs) > NAMES_SHOWN else ""),
        )


def _check_edge_labels_asked(
    function: Function, line: CommandLine, output_format: str, asked: bool
) -> None:
    """``--edge-labels`` (if ``asked``) needs lines to end (not JSON) and a point."""
    if not asked:
        return
    if output_format == "json":
        raise UsageError("--edge-labels labels the lines of the tree; JSON has no lines")
    if output_format == "html":
        raise UsageError("--edge-labels labels the lines of the tree; the page labels its edges")
    if not line.values and function.inputs:
        raise UsageError("--edge-labels needs a point: a value for every input")
