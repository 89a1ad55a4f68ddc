"""``cgrad diff``: the partial derivatives as formulas, of any order with
``--order N``, with the values given substituted, as text, LaTeX or JSON."""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from ..collector import collector_paused
from ..errors import UsageError, join_names
from ..symbolic.printed import ORDER_BOUND
from ..views.json_documents import formulas_json, write_pieces
from ..views.styled_lines import write_styled_lines
from ..views.terminal_reports import formulas_report
from .application import command
from .arguments import (
    choose,
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
  cgrad diff "sin(x)*exp(x)" --order 3
  cgrad diff "x^2/sqrt(1+y)" --format latex
  cgrad diff "2^x*pi" --numeric      [dim]# log(2) and pi as numbers[/dim]
  cgrad diff "x*y + sin(x*y)" --json
  cgrad diff "sin(x*y)" --wrt x --steps   [dim]# the rules, node by node[/dim]
"""

OrderOption = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="1: the partial derivatives; N >= 2: also every partial of order N once "
        f"(2: the Hessian); for N >= 3, N times the inputs at most {ORDER_BOUND}.",
    ),
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="text|latex|json",
        help="text: formulas in cgrad's language; latex: one aligned block for a "
        "paper or a notebook; json: one JSON object (as --json).",
    ),
]
NumericOption = Annotated[
    bool, typer.Option("--numeric", help="Constants as numbers: pi, e, log(2) folded.")
]
StepsOption = Annotated[
    bool,
    typer.Option(
        "--steps",
        help="Derive one partial derivative rule by rule, from the output back to the "
        "input (--wrt chooses it): each node's rule, local derivative and what it sends on.",
    ),
]
FullOption = Annotated[bool, full_option("With --steps: every step, not the first 100.")]


FORMATS = ("text", "latex", "json")


def _json_asked(options: dict) -> bool:
    return bool(options["json_output"]) or options["output_format"] == "json"


@command("diff", epilog=EXAMPLES, json_errors=_json_asked)
def diff_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    order: OrderOption = 1,
    output_format: FormatOption = "text",
    json_output: Json = False,
    numeric: NumericOption = False,
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
    output_format = _chosen_format(output_format, json_output, steps, full)
    if order < 1:
        raise UsageError(f"--order must be a whole number >= 1, not {order}")
    function, line, options = read_command_line(context, expression, variables)
    substitutions = values_given(function, line, options)
    if steps:
        json_steps = output_format == "json"
        _show_steps(function, substitutions, split_wrt(wrt), order, json_steps, full, numeric)
        return
    # The collector paused from the formulas to the end of the output, not
    # only within each: the formulas' millions of nodes, alive until the
    # end, would be scanned by its first run after formulas() (every object
    # made while it was paused is in its youngest generation), and again and
    # again as the output's lines are made, to find nothing to free.
    with collector_paused():
        found = function.formulas(split_wrt(wrt), substitutions, order, numeric)
        if output_format == "latex":
            write_pieces([found.latex_text(), "\n"])
        elif output_format == "json":
            write_json(formulas_json(function.source, substitutions, found))
        else:
            lines = formulas_report(function.graph, substitutions, found)
            write_styled_lines(stdout_console(), lines)
        # The command's work is done: its formulas' nodes (a builder and its
        # nodes refer to each other) are left to the process's end, not
        # walked by the collector's runs there only to free what the OS
        # takes back.
        gc.freeze()


def _chosen_format(output_format: str, json_output: bool, steps: bool, full: bool) -> str:
    """The output format the options ask for (``--json`` is ``--format
    json``), or a usage error where they ask for two things at once."""
    output_format = choose("--format", output_format, FORMATS)
    if json_output and output_format not in ("text", "json"):
        raise UsageError(f"--json and --format {output_format} ask for two formats: give one")
    if steps and output_format == "latex":
        raise UsageError("--steps writes text or JSON", hint="leave out --format latex")
    if full and not steps:
        raise UsageError("--full goes with --steps", hint="add --steps, or leave out --full")
    return "json" if json_output else output_format


def _show_steps(
    function: Function,
    substitutions: Mapping[str, float],
    wrt: Sequence[str] | None,
    order: int,
    json_output: bool,
    full: bool,
    numeric: bool,
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
    found = derivation(function, chosen[0], substitutions, None if full else STEPS_LIMIT, numeric)
    if json_output:
        from ..views.json_documents import derivation_json

        write_json(derivation_json(found))
        return
    from ..views.terminal_derivation import derivation_report

    stdout_console().print(derivation_report(function.graph, found), soft_wrap=True)
