"""``cgrad eval``: the value and every partial derivative at one point."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ..errors import UsageError
from .application import command
from .arguments import (
    choose,
    input_values,
    read_command_line,
    split_wrt,
)
from .files import program_file, refuse_clashing_files, refuse_unwritable
from .output import stdout_console
from .page_output import HtmlFile, check_page_file
from .parameters import Expression, Json, Variables, Wrt, full_option
from .quick_eval import write_evaluation_json

if TYPE_CHECKING:
    from ..autodiff.evaluation import Result
    from ..function import Function
    from .quick_eval import StepIterators

MODES = ("reverse", "forward")

EXAMPLES = """
[bold]Examples[/bold]

  cgrad eval "(x+y)*z" --x 1 --y 2 --z 3
  cgrad eval "(x+y)*z" x=1 y=2 z=3 --json
  cgrad eval "sin(x*y) + x" x=0.5 y=2 --wrt x
  cgrad eval "x*y + sin(x*y)" x=0.5 y=2 --steps  [dim]# chain rule, node by node[/dim]
  cgrad eval "x^3*y" x=2 y=1 --hessian
  cgrad eval "x*y + sin(x*y)" x=0.5 y=2 --html page.html  [dim]# step through it[/dim]
  cgrad eval @samples/neuron.cg x1=2 x2=0 w1=-3 w2=1 b=6.88
  cgrad eval "wrt*x" --var wrt=2 x=3    [dim]# wrt is also an option[/dim]
  cgrad eval -- "-x^2" x=3      [dim]# -- ends the options[/dim]
"""

# The command's own parameters (the shared ones are in parameters.py).
ModeOption = Annotated[
    str,
    typer.Option(
        metavar="reverse|forward",
        help="reverse: one backward pass; forward: one tangent pass per input.",
    ),
]
GraphOption = Annotated[
    bool,
    typer.Option(
        "--graph",
        help="JSON: add every node of the graph. Text: draw up to 10,000 nodes of the "
        "tree instead of 100.",
    ),
]
StepsOption = Annotated[
    bool,
    typer.Option(
        "--steps",
        help="Show the forward pass and the backward pass node by node: each local "
        "derivative as its formula and value, the gradient it multiplies, and the sums "
        "where paths meet (with --mode forward: a tangent pass per input).",
    ),
]
HessianOption = Annotated[
    bool,
    typer.Option(
        "--hessian",
        help="Also the second partial derivatives: each partial differentiated "
        "again, through its formula (see cgrad diff).",
    ),
]


@command("eval", epilog=EXAMPLES)
def eval_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    mode: ModeOption = "reverse",
    json_output: Json = False,
    graph: GraphOption = False,
    steps: StepsOption = False,
    hessian: HessianOption = False,
    html: HtmlFile = None,
    full: Annotated[
        bool, full_option("Show every node of the tree or the steps, not the first 100.")
    ] = False,
) -> None:
    """Evaluate an expression at a point: its value, each partial derivative
    and the computational graph.

    Give each input a value as --NAME VALUE, --NAME=VALUE, NAME=VALUE, or
    --var NAME=VALUE. Values are decimal numbers, nan, inf or -inf.
    """
    function, line, options = read_command_line(context, expression, variables)
    inputs = input_values(function, line, options, formula_hint=True)
    passes_by: Literal["reverse", "forward"] = (
        "forward" if choose("--mode", mode, MODES) == "forward" else "reverse"
    )
    page = _check_page_asked(function, html, passes_by, line.expression)
    result = function.evaluate(inputs, wrt=split_wrt(wrt), mode=passes_by)
    passes = None
    if steps:
        from ..explain import backward_steps, forward_steps, tangent_steps  # only --steps

        # Checked before anything is written; the steps are made as written:
        # the backward pass, or in forward mode a tangent pass per input.
        later = (
            tangent_steps(function, result)
            if passes_by == "forward"
            else backward_steps(function, result)
        )
        passes = (forward_steps(function, result), later)
    matrix = None
    if hessian:
        matrix, more = function.hessian(inputs, list(result.gradient), result.warnings)
        result = replace(result, warnings=result.warnings + tuple(more))
    if page is not None:
        from ..views.page import graph_page
        from .page_output import write_page

        write_page("--html", page, graph_page(function, result), line.expression)
    if json_output:
        write_evaluation_json(function, inputs, result, matrix, graph, passes)
    else:
        _print_evaluation(function, inputs, result, matrix, passes, graph, full)


def _check_page_asked(
    function: Function, html: str | None, passes_by: str, program: str | None
) -> Path | None:
    """``--html``'s file, if given: it needs a file (not the program's), the
    backward pass, and a graph small enough to draw; checked before anything
    is evaluated."""
    from ..views.svg_graph import check_drawable

    page = check_page_file(html)
    if page is None:
        return None
    refuse_clashing_files(
        [("the program", program_file(program))], [("--html", page)], "the report"
    )
    refuse_unwritable([("--html", page)])
    if passes_by == "forward":
        raise UsageError(
            "--html steps through the backward pass, which --mode forward does not run",
            hint="leave out --mode forward",
        )
    # (the default hint names graph's --format, which eval has not)
    check_drawable(
        function.graph,
        hint="leave out --html for the text report; for the graph itself: "
        "cgrad graph EXPR --format json (or --format dot)",
    )
    return page


def _print_evaluation(
    function: Function,
    inputs: dict[str, float],
    result: Result,
    matrix: dict[str, dict[str, float]] | None,
    passes: StepIterators | None,
    graph: bool,
    full: bool,
) -> None:
    """The text of ``eval``: the report, with the passes instead of the tree
    for ``--steps``."""
    # Imported here, not at the top: a --json run never draws, and Rich
    # is a large part of a cold start.
    from ..explain import Passes
    from ..views.styled_lines import print_blocks
    from ..views.terminal_reports import evaluation_report
    from ..views.terminal_steps import STEPS_LIMIT, passes_report
    from ..views.terminal_tree import GRAPH_TREE_LIMIT, TREE_LIMIT

    limit = None if full else GRAPH_TREE_LIMIT if graph else TREE_LIMIT
    body = None
    if passes is not None:
        forward, later = passes
        if isinstance(later, dict):
            trace = Passes(tuple(forward), tangents={n: tuple(s) for n, s in later.items()})
        else:
            trace = Passes(tuple(forward), tuple(later))
        body = passes_report(function.graph, trace, None if full else STEPS_LIMIT)
    report = evaluation_report(
        function.graph, inputs, result, tree_limit=limit, body=body, hessian=matrix
    )
    # Soft wrap: tree lines stay whole and the terminal folds them.
    print_blocks(stdout_console(), report.renderables)
