"""``cgrad diff``: the partial derivatives as formulas, of any order with
``--order N``, with the values given substituted, as text, LaTeX or JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from ..symbolic.printed import ORDER_BOUND
from ..views.json_documents import formulas_json, write_pieces
from ..views.terminal_reports import formulas_report
from .application import command
from .arguments import (
    choose,
    read_command_line,
    split_wrt,
    values_given,
)
from .output import stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt

EXAMPLES = """
[bold]Examples[/bold]

  cgrad diff "(x+y)*z"
  cgrad diff "(x+y)*z" --x 1         [dim]# x substituted: formulas in y and z[/dim]
  cgrad diff "x*y + sin(x*y)" --wrt x
  cgrad diff "x^3*y" --order 2       [dim]# the Hessian's entries[/dim]
  cgrad diff "sin(x)*exp(x)" --order 3
  cgrad diff "x^2/sqrt(1+y)" --format latex
  cgrad diff "2^x*pi" --numeric      [dim]# log(2) and pi as numbers[/dim]
  cgrad diff "x*y + sin(x*y)" --json
"""


FORMATS = ("text", "latex", "json")


def _json_asked(options: dict) -> bool:
    return bool(options["json_output"]) or options["output_format"] == "json"


@command("diff", epilog=EXAMPLES, json_errors=_json_asked)
def diff_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    order: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="1: the partial derivatives; N >= 2: also every partial of order N once "
            f"(2: the Hessian); for N >= 3, N times the inputs at most {ORDER_BOUND}.",
        ),
    ] = 1,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="text|latex|json",
            help="text: formulas in cgrad's language; latex: one aligned block for a "
            "paper or a notebook; json: one JSON object (as --json).",
        ),
    ] = "text",
    json_output: Json = False,
    numeric: Annotated[
        bool,
        typer.Option("--numeric", help="Constants as numbers: pi, e, log(2) folded."),
    ] = False,
) -> None:
    """Differentiate symbolically: each partial derivative as a formula in
    cgrad's own language, made by the backward pass run on expressions
    instead of numbers, and simplified.

    Each printed formula parses with cgrad and evaluates to the numbers
    cgrad eval gives (away from kinks, where eval applies its conventions).
    A subexpression used more than once is named once (t1 = ...), so a
    formula grows with the graph, never with the number of paths. Inputs
    given a value are replaced by it.
    """
    output_format = choose("--format", output_format, FORMATS)
    if json_output and output_format not in ("text", "json"):
        raise UsageError(f"--json and --format {output_format} ask for two formats: give one")
    if order < 1:
        raise UsageError(f"--order must be a whole number >= 1, not {order}")
    function, line, options = read_command_line(context, expression, variables)
    substitutions = values_given(function, line, options)
    found = function.formulas(split_wrt(wrt), substitutions, order, numeric)
    if output_format == "latex":
        write_pieces([found.latex_text(), "\n"])
        return
    if json_output or output_format == "json":
        write_json(formulas_json(function.source, substitutions, found))
        return
    report = formulas_report(function.graph, substitutions, found)
    stdout_console().print(report, soft_wrap=True)
