"""``cgrad diff``: the partial derivatives as formulas, second order with
``--order 2``, with the values given substituted."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError
from ..views.json_documents import formulas_json
from ..views.terminal_reports import formulas_report
from .application import command
from .arguments import (
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
  cgrad diff "2^x*pi" --numeric      [dim]# log(2) and pi as numbers[/dim]
  cgrad diff "x*y + sin(x*y)" --json
"""


@command("diff", epilog=EXAMPLES)
def diff_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    order: Annotated[
        int,
        typer.Option(metavar="1|2", help="1: the partial derivatives; 2: also the Hessian."),
    ] = 1,
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
    if order not in (1, 2):
        raise UsageError(f"--order must be 1 or 2, not {order}")
    function, line, options = read_command_line(context, expression, variables)
    substitutions = values_given(function, line, options)
    found = function.formulas(split_wrt(wrt), substitutions, order, numeric)
    if json_output:
        write_json(formulas_json(function.source, substitutions, found))
        return
    report = formulas_report(function.graph, substitutions, found)
    stdout_console().print(report, soft_wrap=True)
