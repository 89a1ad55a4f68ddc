"""``cgrad diff``: the partial derivatives as formulas, second order with
``--order 2``, with the values given substituted."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from ..errors import UsageError
from ..numerals import format_number
from ..symbolic.formulas import binding_prefix, check_substitutions, formulas, program_statements
from ..views.text import program_heading
from .application import app
from .arguments import (
    read_command_line,
    split_wrt,
    values_given,
)
from .output import reporting, stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt

EXAMPLES = """
[bold]Examples[/bold]

  cgrad diff "(x+y)*z"
  cgrad diff "(x+y)*z" --x 1         [dim]# x substituted: formulas in y and z[/dim]
  cgrad diff "x*y + sin(x*y)" --wrt x
  cgrad diff "x^3*y" --order 2       [dim]# the Hessian's entries[/dim]
  cgrad diff "x*y + sin(x*y)" --json
"""


@app.command(
    "diff",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=EXAMPLES,
)
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
    with reporting(json_output):
        if order not in (1, 2):
            raise UsageError(f"--order must be 1 or 2, not {order}")
        function, line, options = read_command_line(context, expression, variables)
        substitutions = values_given(function, line, options)
        check_substitutions(substitutions)
        names = split_wrt(wrt)
        if names is not None:
            function.check_wrt(names)
        wanted = None if names is None else set(names)
        chosen = [n for n in function.inputs if wanted is None or n in wanted]
        found = formulas(function.graph, chosen, substitutions)
        taken = function.inputs
        prefix = binding_prefix(taken)  # once: it reads every input's name
        value = program_statements(found.value, taken, prefix)
        derivatives = {
            n: program_statements(d, taken, prefix) for n, d in found.derivatives.items()
        }
        hessian = None
        if order == 2:
            hessian = {}
            for first in chosen:
                inner = function.derivative(first)
                again = formulas(inner.graph, chosen, substitutions).derivatives
                hessian[first] = {n: program_statements(d, taken, prefix) for n, d in again.items()}

        if json_output:
            document = {
                "expression": function.source,
                "inputs": substitutions,
                "value": "; ".join(value),
                "derivatives": {n: "; ".join(s) for n, s in derivatives.items()},
            }
            if hessian is not None:
                document["hessian"] = {
                    a: {b: "; ".join(s) for b, s in row.items()} for a, row in hessian.items()
                }
            write_json(document)
            return
        heading = program_heading(function.graph)
        if substitutions:
            heading += "   at " + ", ".join(
                f"{n} = {format_number(v)}" for n, v in substitutions.items()
            )
        lines = [Text(heading, style="bold"), *_formula("f", value)]
        for name, statements in derivatives.items():
            lines += _formula(f"∂f/∂{name}", statements)
        if hessian is not None:
            for position, first in enumerate(chosen):
                for second in chosen[position:]:
                    title = f"∂²f/∂{first}²" if first == second else f"∂²f/∂{first}∂{second}"
                    lines += _formula(title, hessian[first][second])
        stdout_console().print(Group(*lines), soft_wrap=True)


def _formula(title: str, statements: list[str]) -> list[Text]:
    """``title = formula``, or the title and the program's statements
    indented, one a line, when the formula names shared parts."""
    if len(statements) == 1:
        return [Text.assemble((title, "bold cyan"), f" = {statements[0]}")]
    return [Text(f"{title}:", style="bold cyan"), *(Text(f"  {s}") for s in statements)]
