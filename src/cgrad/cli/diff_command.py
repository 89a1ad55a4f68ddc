"""``cgrad diff``: the partial derivatives as formulas, second order with
``--order 2``, with the values given substituted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import UsageError, join_names
from ..views.json_documents import formulas_json
from ..views.terminal_reports import formulas_report
from .application import command
from .arguments import (
    read_command_line,
    split_wrt,
    values_given,
)
from .output import stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt, full_option

if TYPE_CHECKING:
    from ..function import Function

EXAMPLES = """
[bold]Examples[/bold]

  cgrad diff "(x+y)*z"
  cgrad diff "(x+y)*z" --x 1         [dim]# x substituted: formulas in y and z[/dim]
  cgrad diff "x*y + sin(x*y)" --wrt x
  cgrad diff "x^3*y" --order 2       [dim]# the Hessian's entries[/dim]
  cgrad diff "x*y + sin(x*y)" --json
  cgrad diff "sin(x*y)" --wrt x --steps   [dim]# the rules, node by node[/dim]
"""

StepsOption = Annotated[
    bool,
    typer.Option(
        "--steps",
        help="Derive one partial derivative rule by rule, from the output back to the "
        "input (--wrt chooses it): each node's rule, local derivative and what it sends on.",
    ),
]
FullOption = Annotated[bool, full_option("With --steps: every step, not the first 100.")]


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
    steps: StepsOption = False,
    full: FullOption = False,
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
    if steps:
        _show_steps(function, substitutions, split_wrt(wrt), order, json_output, full)
        return
    found = function.formulas(split_wrt(wrt), substitutions, order)
    if json_output:
        write_json(formulas_json(function.source, substitutions, found))
        return
    report = formulas_report(function.graph, substitutions, found)
    stdout_console().print(report, soft_wrap=True)


def _show_steps(
    function: Function,
    substitutions: Mapping[str, float],
    wrt: Sequence[str] | None,
    order: int,
    json_output: bool,
    full: bool,
) -> None:
    """``--steps``: the derivation of the one partial chosen, as text or JSON."""
    from ..derivation import STEPS_LIMIT, derivation  # only --steps needs them

    if order != 1:
        raise UsageError("--steps derives first derivatives", hint="leave out --order")
    chosen = list(function.inputs if wrt is None else wrt)
    if not chosen:
        raise UsageError("this expression has no inputs: --steps has nothing to differentiate by")
    if len(chosen) > 1:
        given = "" if wrt is None else f", not {len(chosen)} ({join_names(chosen)})"
        raise UsageError(
            f"--steps derives one partial derivative at a time{given}",
            hint="choose it with --wrt, e.g. --wrt " + chosen[0],
        )
    found = derivation(function, chosen[0], substitutions, None if full else STEPS_LIMIT)
    if json_output:
        from ..views.json_documents import derivation_json

        write_json(derivation_json(found))
        return
    from ..views.terminal_derivation import derivation_report

    stdout_console().print(derivation_report(function.graph, found), soft_wrap=True)
