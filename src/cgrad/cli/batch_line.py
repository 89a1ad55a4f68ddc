"""The command line of ``cgrad batch`` beyond its own options, read as
``cgrad eval`` reads it: INPUT among the values (``w=2``, ``--w 2``,
``--var w=2``), the expression from ``-e`` (``@FILE`` too) or
``--program``, the ``--column`` mappings; and the summary of warnings
that the run prints when it ends."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import typer

from .. import compile as compile_program
from ..batch.bindings import Bindings, read_columns
from ..batch.per_row import WarningCounts
from ..composed_names import composed
from ..errors import CgradError, InputError, UsageError
from ..function import Function
from ..numerals import parse_number
from .arguments import CommandLine, Options, split_arguments, values_given
from .files import read_program

# NAME=VALUE, as cli.arguments reads it.
_ASSIGNMENT = re.compile(r"[^\W\d]\w*=.*", re.DOTALL)


def expression_of(
    expression: str | None, program: Path | None, source: str | None
) -> Function | None:
    """The one expression, from -e (@FILE reads a file, as eval reads it)
    or --program; None when records carry their own."""
    if expression is not None and program is not None:
        raise UsageError("give the expression with -e or --program, not both")
    if program is not None:
        expression = f"@{program}"
    if expression is None:
        return None
    if expression == "@-" and source in (None, "-"):
        raise UsageError(
            "-e @- and the records would both be read from standard input",
            hint="give the records as a file, or the program with -e @FILE",
        )
    text, origin = read_program(expression, "batch")
    return compile_program(composed(text), origin=origin)


def command_line(
    context: typer.Context, source: str | None, variables: list[str] | None, options: Options
) -> tuple[str | None, CommandLine]:
    """INPUT and the values among the words that are not batch's options
    (Typer hands the first of them to ``source``, whatever it is)."""
    tokens = ([source] if source is not None else []) + list(context.args)
    positional = [t for t in tokens if not t.startswith("-") and "=" not in t]
    # NAME=VALUE is a value here, whatever VALUE is (eval reads a=x*2 as a
    # program), unless a file has that name.
    assigned = [t for t in tokens if _ASSIGNMENT.fullmatch(composed(t)) and not os.path.exists(t)]
    tokens = [t for t in tokens if t not in assigned]
    try:
        given = [composed(item) for item in [*assigned, *(variables or [])]]
        line = split_arguments(tokens, given, options)
    except UsageError:
        _refuse_a_positional_expression(positional)
        raise
    _refuse_a_positional_expression(positional)
    return line.expression, line


def _refuse_a_positional_expression(words: list[str]) -> None:
    """``batch "x*y" a.tsv``: the expression goes with -e."""
    if not words:
        return
    word = words[0]
    # (os.path's exists: a name too long for a path is no file, not an error)
    if word == "-" or os.path.exists(word) or not set(word) & set("*+-/^()"):
        return
    try:
        compile_program(word)
    except CgradError:
        return  # not an expression either: the file's own error says it
    rest = " ".join(words[1:2]) or "points.csv"
    raise UsageError(
        f"cannot read {word}: no such file (an expression goes with -e)",
        hint=f"for example: cgrad batch {rest} -e '{word}'",
    )


def bindings_of(
    function: Function | None, line: CommandLine, columns: list[str] | None, options: Options
) -> Bindings:
    """The values given on the command line and the --column mappings,
    checked against the expression when there is one."""
    mapped = read_columns(columns)
    _refuse_a_mistyped_option(function, line, options)
    if function is None:
        fixed = _numbers_alone(line)
    else:
        fixed = values_given(function, line, options)
        for name, column in mapped.items():
            if name not in function.inputs:
                raise InputError(
                    f"--column {name}={column}: {name} is not an input of this expression",
                    hint=function.inputs_text(),
                    type="unknown_input",
                )
    both = [name for name in mapped if name in fixed]
    if both:
        raise UsageError(f"{both[0]} is given both a value and a column (--column {both[0]}=...)")
    return Bindings(columns=mapped, fixed=fixed)


def _refuse_a_mistyped_option(
    function: Function | None, line: CommandLine, options: Options
) -> None:
    """``--formt csv`` reads as a value of an input named formt: when it is
    not one, and its name is close to an option's, say so."""
    from difflib import get_close_matches  # for a hint only: not on every run

    for name, text in line.separate:
        if function is not None and name in function.inputs:
            continue
        if function is None and parse_number(text) is not None:
            continue
        close = get_close_matches(f"--{name}", options, n=1, cutoff=0.75)
        if close:
            raise UsageError(
                f"--{name} is not an option of cgrad batch",
                hint=f"did you mean the option {close[0]}?",
            )


def _numbers_alone(line: CommandLine) -> dict[str, float]:
    """Values for records that carry their own expressions: each must be a
    number and given once; which expressions use them is for each record."""
    given: dict[str, float] = {}
    for name, text in line.values:
        number = parse_number(text)
        if name in given:
            raise InputError(f"a value for {name} is given twice", type="duplicate_value")
        if number is None:
            raise InputError(f"the value of {name} is not a number: '{text}'", type="invalid_value")
        given[name] = number
    return given


def print_warnings(counts: WarningCounts) -> None:
    """One line per kind of warning on stderr: how many rows, the first."""
    lines = counts.lines()
    if lines and sys.stderr is not None:
        sys.stderr.write("".join(f"cgrad: warning: {line}\n" for line in lines))
        sys.stderr.flush()
