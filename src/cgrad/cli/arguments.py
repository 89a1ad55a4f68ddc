"""Reading the expression and the input values from the command line.

Values come as ``--NAME VALUE``, ``--NAME=VALUE``, ``NAME=VALUE`` or
``--var NAME=VALUE``. Typer cannot declare options whose names are only known
once the expression is parsed, so the commands accept unknown options and
this module sorts the leftover tokens into the expression and the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from ..composed_names import composed
from ..errors import NAMES_SHOWN, InputError, UsageError, join_names
from ..function import Function, split_names
from ..function import compile as compile_program
from ..numerals import parse_number

if TYPE_CHECKING:
    import typer

_NAME = r"[^\W\d]\w*"
_LONG_OPTION = re.compile(rf"--({_NAME})(?:=(.*))?", re.DOTALL)
_ASSIGNMENT = re.compile(rf"({_NAME})=([^;\n]*)")
_SHORT_OPTION = re.compile(r"-[^\W\d_]")


@dataclass
class CommandLine:
    """What the positional and unknown-option tokens say: the expression
    and the values given for its inputs, as text."""

    expression: str | None = None
    # (name, text of the value) in the order given.
    values: list[tuple[str, str]] = field(default_factory=list)
    # Those of them given as two words, --NAME VALUE: the VALUE may have been
    # meant as the expression.
    separate: list[tuple[str, str]] = field(default_factory=list)


class Options(list):
    """The long options of the running command (``--json``, ``--wrt``, ...),
    and, for hints, the command's name and the options of the other
    commands (``--format`` given to ``eval`` is meant for another one)."""

    def __init__(
        self,
        names: list[str],
        command: str,
        valued: frozenset[str] = frozenset(),
        formats: tuple[str, ...] = (),
    ):
        super().__init__(names)
        self.command = command
        # Those that take a value (--method gd), where known: for hints.
        self.valued = valued
        # The choices of the command's --format, if any (--latex is --format latex).
        self.formats = formats

    @cached_property
    def elsewhere(self) -> dict[str, list[str]]:
        """Each option of the other commands, and the commands that have it.
        Worked out only for a hint: it loads every command (see
        :func:`.application.load_commands`)."""
        # Typer, imported for a hint only: eval's quick road has none.
        import typer

        from .application import load_commands

        group = typer.main.get_group(load_commands())
        # "" is cgrad itself: --version goes before any command.
        owners: dict[str, list[str]] = {option: [""] for option in _long_options(group)}
        for name, command in sorted(group.commands.items()):
            if name != self.command:
                for option in _long_options(command, short=True):
                    owners.setdefault(option, []).append(name)
        return owners

    @cached_property
    def long_names(self) -> dict[str, str]:
        """The long name of each short option of any command (``-f``: ``--format``)."""
        import typer

        from .application import load_commands

        group = typer.main.get_group(load_commands())
        return {
            short: longs[0]
            for command in group.commands.values()
            for parameter in command.params
            if (longs := [n for n in getattr(parameter, "opts", []) if n.startswith("--")])
            for short in getattr(parameter, "opts", [])
            if not short.startswith("--")
        }

    def misplaced(self, name: str) -> UsageError | None:
        """The error for ``--name`` when it belongs to other commands only."""
        if f"--{name}" in self:
            return None
        owners = self.elsewhere.get(f"--{name}")
        if not owners:
            return None
        if owners == [""]:
            return UsageError(
                f"--{name} is not an option of cgrad {self.command}",
                hint=f"it is cgrad's own, before any command: cgrad --{name}",
            )
        others = join_names([f"cgrad {owner}" for owner in owners])
        hint = f"{others} {'has' if len(owners) == 1 else 'have'} it"
        if name == "json" and "--format" in self:
            hint = f"here, write --format json ({hint})"
        return UsageError(
            f"--{name} is not an option of cgrad {self.command}",
            hint=f"{hint}; an input named {name} takes --var {name}=VALUE",
        )

    def short_elsewhere(self, token: str) -> bool:
        """Whether ``token`` is a short option of some command."""
        return bool(_SHORT_OPTION.fullmatch(token)) and token in self.long_names

    def unknown_short(self, token: str) -> UsageError:
        """The error for a short option (``-f``) the command does not have."""
        long = self.long_names.get(token)
        owners = self.elsewhere.get(token, [])
        where = join_names([f"cgrad {owner}" for owner in owners])
        if long is not None and long in self:
            hint = f"did you mean the option {long}? ({token} is short for it in {where} only)"
        elif owners:
            verb = "has" if len(owners) == 1 else "have"
            hint = f"{where} {verb} it, as {long}; see 'cgrad {self.command} --help'"
        else:
            hint = f"see 'cgrad {self.command} --help' for the options"
        return UsageError(f"{token} is not an option of cgrad {self.command}", hint=hint)


def _long_options(command, short: bool = False) -> list[str]:
    return [
        name
        for parameter in command.params
        for name in getattr(parameter, "opts", [])
        if name.startswith("--") or (short and name.startswith("-"))
    ]


def option_names(context) -> Options:
    """The options of the running command (see :class:`Options`)."""
    valued = frozenset(
        name
        for parameter in context.command.params
        if not getattr(parameter, "is_flag", True)
        for name in parameter.opts
    )
    formats = tuple(
        choice
        for parameter in context.command.params
        if "--format" in getattr(parameter, "opts", ()) and isinstance(parameter.metavar, str)
        for choice in parameter.metavar.split("|")
    )
    names = ["--help", *_long_options(context.command)]
    return Options(names, context.info_name, valued, formats)


def _option_hint(name: str, options: list[str]) -> str | None:
    if name in getattr(options, "formats", ()):  # --latex for --format latex
        return f"did you mean --format {name}?"
    from difflib import get_close_matches  # for a hint only: not on every run

    close = get_close_matches(f"--{name}", options, n=1, cutoff=0.75)
    if not close and f"--{name.lower()}" in options:
        close = [f"--{name.lower()}"]
    return f"did you mean the option {close[0]}?" if close else None


def read_command_line(
    context: typer.Context, expression: str | None, variables: list[str] | None
) -> tuple[Function, CommandLine, Options]:
    """What a command's line says: the program, compiled; its values, not yet
    checked against it (commands differ in what they need); the options."""
    given = context.args if expression is None else [expression, *context.args]
    return read_tokens(given, variables, option_names(context))


def read_tokens(
    given: list[str], variables: list[str] | None, options: Options
) -> tuple[Function, CommandLine, Options]:
    """:func:`read_command_line` from the tokens that are not the command's
    own options, in order, and the ``--var`` items. Names are read composed
    (see :func:`composed`): an ``@FILE`` token is a file's name, kept as it is."""
    given = [token if token.startswith("@") else composed(token) for token in given]
    line = split_arguments(given, [composed(item) for item in variables or []], options)
    if line.expression is None:
        _explain_a_taken_expression(line, options)
    text, origin = line.expression, None
    if text is None or text.startswith("@"):
        from .files import read_program  # (a file's: an expression on the line needs none of it)

        text, origin = read_program(text, options.command)
    return compile_program(composed(text), origin=origin), line, options


def _explain_a_taken_expression(line: CommandLine, options: Options) -> None:
    """No expression is left when an unknown ``--NAME`` took it as its value
    (``eval --bogus x*y x=1``): say that, not only that none was given."""
    for name, value in line.separate:
        if parse_number(value) is not None:
            continue
        misplaced = options.misplaced(name)
        if misplaced is not None:
            raise misplaced
        hint = _option_hint(name, options)
        raise UsageError(
            f"--{name} is not an option of cgrad {options.command}: it took '{value}' "
            f"as the value of an input named {name}, and no expression is left",
            hint=hint
            or f"see 'cgrad {options.command} --help' for the options; "
            f"an input named {name} takes a number, as in --{name} 2",
        )


def split_arguments(tokens: list[str], variables: list[str], options: list[str]) -> CommandLine:
    """Sort the positional and unknown-option tokens into the expression and
    the values. ``variables`` are the ``--var NAME=VALUE`` items; ``options``
    the command's own long options (an :class:`Options`, for hints)."""
    command = getattr(options, "command", "eval")
    line = CommandLine()
    given_with_var = _var_items(variables)
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token.split("=", 1)[0] in options:
            # Typer hands us its own options only when they follow '--'.
            moved = token
            if token in getattr(options, "valued", ()) and position < len(tokens):
                moved = f"{token} {tokens[position]}"  # --method gd, not --method alone
            raise UsageError(
                f"{token} comes after '--', where it cannot be an option",
                hint=f"put options before '--', as in: cgrad {command} {moved} -- EXPR ...",
            )
        option = _LONG_OPTION.fullmatch(token)
        if option:
            name, value = option.groups()
            if value is None:
                if position >= len(tokens) or _LONG_OPTION.fullmatch(tokens[position]):
                    misplaced = options.misplaced(name) if isinstance(options, Options) else None
                    if misplaced is not None:
                        raise misplaced
                    raise UsageError(
                        f"--{name} needs a value",
                        hint=_option_hint(name, options) or f"write --{name} VALUE",
                    )
                value = tokens[position]
                position += 1
                line.separate.append((name, value))
            line.values.append((name, value))
            continue
        assignment = _ASSIGNMENT.fullmatch(token)
        # "y=2" is a value; "a=x*2" before the expression is a (one-line)
        # program, and the graph builder will say what is wrong with it.
        if assignment and (line.expression is not None or parse_number(assignment[2]) is not None):
            line.values.append((assignment[1], assignment[2]))
            continue
        if line.expression is None:
            line.expression = token
            continue
        if isinstance(options, Options):
            if _SHORT_OPTION.fullmatch(token):
                raise options.unknown_short(token)
            # "diff -f latex x*y": -f, some command's option, was taken as the expression.
            if options.short_elsewhere(line.expression):
                raise options.unknown_short(line.expression)
        raise UsageError(
            f"unexpected argument '{token}'",
            hint="give values as NAME=VALUE, --NAME VALUE or --var NAME=VALUE; "
            "an expression that starts with '-' goes after '--'",
        )
    line.values.extend(given_with_var)
    return line


def _var_items(variables: list[str]) -> list[tuple[str, str]]:
    """The ``--var NAME=VALUE`` items as (name, text of the value)."""
    items = []
    for item in variables:
        assignment = re.fullmatch(rf"({_NAME})=(.*)", item, re.DOTALL)
        if not assignment:
            # --var x 1: read before the other words, whose '1' is then no surprise.
            example = f"--var {item}=VALUE" if re.fullmatch(_NAME, item) else "--var x=1"
            raise UsageError(
                f"--var expects NAME=VALUE, not '{item}'",
                hint=f"--var takes a name and its value as one word: write {example}",
            )
        items.append((assignment[1], assignment[2]))
    return items


def split_wrt(items: list[str] | None) -> list[str] | None:
    """``--wrt x,y --wrt z`` as ``[x, y, z]``."""
    if items is None:
        return None
    for item in items:
        if not item.replace(",", "").strip():
            # Differentiating by nothing is never what was meant (an empty
            # shell variable, most likely).
            raise UsageError(
                f"--wrt '{item}' names no input",
                hint="write --wrt x or --wrt x,y; leave --wrt out for every partial derivative",
            )
    return [name for item in items for name in split_names(composed(item))]


def choose(option: str, value: str, choices: tuple[str, ...]) -> str:
    """``value``, if it is one of ``choices``; else a usage error naming them."""
    if value not in choices:
        raise UsageError(
            f"{option} must be {' or '.join(choices)}, not '{value}'", type="usage_error"
        )
    return value


def values_given(function: Function, line: CommandLine, options: list[str]) -> dict[str, float]:
    """The values on the command line, in input order, for some or all of
    the inputs of ``function`` (each a number, none unknown or given twice)."""
    given = given_numbers(function, line, options)
    function.check_names({**dict.fromkeys(function.inputs, 0.0), **given})
    return {name: given[name] for name in function.inputs if name in given}


def input_values(
    function: Function, line: CommandLine, options: list[str], formula_hint: bool = False
) -> dict[str, float]:
    """The value of every input, in input order, checked against ``function``.
    ``formula_hint``: when some are missing, point at ``cgrad diff``, which
    takes the values given and leaves a formula in the others."""
    given = given_numbers(function, line, options)
    missing = [name for name in function.inputs if name not in given]
    pronoun = "it" if len(missing) == 1 else "them"
    # An input named like one of our options can only be given with --var.
    flags = " ".join(
        f"--var {name}=VALUE" if f"--{name}" in options else f"--{name} VALUE" for name in missing
    )
    pairs = " ".join(f"{name}=VALUE" for name in missing)
    hint = f"pass {pronoun} as {flags} (or {pairs})"
    if len(missing) > NAMES_SHOWN:
        hint = "pass each as --NAME VALUE (or NAME=VALUE), or read them from a file with batch"
    if formula_hint and given:
        hint += f"; cgrad diff with the same arguments gives formulas in {join_names(missing)}"
    if missing:
        from ..lookalikes import lookalike_note  # (and unicodedata) for a mistake only

        lookalike = lookalike_note(given, missing)
        hint = f"{lookalike}; {hint}" if lookalike else hint
    function.check_names(given, missing_hint=hint)
    return {name: given[name] for name in function.inputs}


def given_numbers(function: Function, line: CommandLine, options: list[str]) -> dict[str, float]:
    """The numbers the command line gives the function's inputs, by name
    (as many as it gives: a command decides what a missing one means)."""
    inputs = set(function.inputs)
    given: dict[str, float] = {}
    for name, text in line.values:
        if name not in inputs and isinstance(options, Options):
            misplaced = options.misplaced(name)
            if misplaced is not None:
                raise misplaced
        if name in given:
            raise InputError(f"a value for {name} is given twice", type="duplicate_value")
        number = parse_number(text)
        if number is None and name not in inputs:
            # --formt latex: a mistyped option, not a value that is not a number.
            _refuse_a_near_option(name, options)
        if number is None:
            raise InputError(
                f"the value of {name} is not a number: '{text}'",
                hint=_value_hint(text),
                type="invalid_value",
            )
        given[name] = number
    # Only the names that are not inputs (usually none) are looked at again,
    # and only the first few of them for a "did you mean" (difflib is slow).
    unknown = [name for name in given if name not in inputs]
    for name in unknown[:NAMES_SHOWN]:
        _refuse_a_near_option(name, options)
    if unknown:
        from ..lookalikes import lookalike_note

        lookalike = lookalike_note(unknown, function.inputs)
        if lookalike:
            verb = "is not an input" if len(unknown) == 1 else "are not inputs"
            raise InputError(
                f"{join_names(unknown)} {verb} of this expression",
                hint=lookalike,
                type="unknown_input",
            )
    return given


def _refuse_a_near_option(name: str, options: list[str]) -> None:
    """A usage error when ``--name``, not an input, is near an option of the command."""
    hint = _option_hint(name, options)
    if hint:
        command = getattr(options, "command", None)
        where = f"of cgrad {command}" if command else "of this command"
        raise UsageError(
            f"--{name} is not an option {where}, and {name} is not an input", hint=hint
        )


def _value_hint(text: str) -> str:
    if text != text.strip() and parse_number(text.strip()) is not None:
        return (
            "a value is a decimal number as Python writes it, without spaces: "
            f"write '{text.strip()}'"
        )
    return "write a decimal number such as 2, -1.5, 3e-4, nan, inf or -inf"
