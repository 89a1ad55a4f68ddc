"""``cgrad eval``: the value and every partial derivative at one point."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import compile as compile_program
from ..render import GRAPH_TREE_LIMIT, TREE_LIMIT, evaluation_json, evaluation_report
from .app import app
from .arguments import (
    choose,
    input_values,
    option_names,
    read_program,
    split_arguments,
    split_wrt,
)
from .output import reporting, stdout_console, write_json

EXAMPLES = """
[bold]Examples[/bold]

  cgrad eval "(x+y)*z" --x 1 --y 2 --z 3
  cgrad eval "(x+y)*z" x=1 y=2 z=3 --json
  cgrad eval "sin(x*y) + x" x=0.5 y=2 --wrt x
  cgrad eval @samples/neuron.cg x1=2 x2=0 w1=-3 w2=1 b=6.88
  cgrad eval "wrt*x" --var wrt=2 x=3    [dim]# wrt is also an option[/dim]
  cgrad eval -- "-x^2" x=3      [dim]# -- ends the options: the rest is EXPR and values[/dim]
"""


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=EXAMPLES,
)
def eval_command(
    context: typer.Context,
    expression: Annotated[
        Optional[str],
        typer.Argument(
            metavar="EXPR",
            help="The expression or program, or @FILE to read it from a file (@- for stdin).",
            show_default=False,
        ),
    ] = None,
    variables: Annotated[
        Optional[list[str]],
        typer.Option(
            "--var",
            metavar="NAME=VALUE",
            help="A value for an input whose name collides with an option of cgrad.",
        ),
    ] = None,
    wrt: Annotated[
        Optional[list[str]],
        typer.Option(
            metavar="x,y",
            help="Only the partial derivatives with respect to these inputs (may repeat).",
        ),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            metavar="reverse|forward",
            help="reverse: one backward pass; forward: one tangent pass per input.",
        ),
    ] = "reverse",
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of text.")
    ] = False,
    graph: Annotated[
        bool,
        typer.Option(
            "--graph",
            help="JSON: add every node of the graph. Text: draw up to 10,000 nodes of the "
            "tree instead of 100.",
        ),
    ] = False,
) -> None:
    """Evaluate an expression at a point: its value, each partial derivative
    and the computational graph.

    Give each input a value as --NAME VALUE, --NAME=VALUE, NAME=VALUE, or
    --var NAME=VALUE. Values are decimal numbers, nan, inf or -inf.
    """
    with reporting(json_output):
        given = context.args if expression is None else [expression, *context.args]
        options = option_names(context)
        line = split_arguments(given, variables or [], options)
        text, origin = read_program(line.expression)
        function = compile_program(text, origin=origin)
        inputs = input_values(function, line, options)
        result = function.evaluate(
            inputs, wrt=split_wrt(wrt), mode=choose("--mode", mode, ("reverse", "forward"))
        )
        if json_output:
            write_json(evaluation_json(function.graph, inputs, result, with_graph=graph))
        else:
            # Soft wrap: tree lines stay whole and the terminal folds them.
            stdout_console().print(
                evaluation_report(
                    function.graph,
                    inputs,
                    result,
                    tree_limit=GRAPH_TREE_LIMIT if graph else TREE_LIMIT,
                ),
                soft_wrap=True,
            )
