"""Text to AST, the parse package's entry point (:func:`parse`): Lark's LALR
tables, run by a fast loop of our own for valid text and by Lark itself for
the rest.

The fast loop (lalr.py) parses valid text only. On anything else it gives up,
and Lark's parser runs (lark_fallback.py), whose errors become messages there.
Both build the AST bottom-up with the same callbacks (tree.CALLBACKS), one
per reduction, in an iterative loop: no parse tree, and no recursion however
deep the input nests. This module applies the limits, and hands them to
whichever loop runs.
"""

from __future__ import annotations

import functools
import json
import os
from typing import TYPE_CHECKING, Any

from ..errors import ParseError, Span
from . import grammar, lalr
from .grammar import NESTING, Callback, LimitError, grammar_text

if TYPE_CHECKING:
    from .syntax import Program

# Limits that keep any input to a bounded time and memory, each far beyond
# what a person writes: a program of at most MAX_CHARACTERS characters and
# MAX_TOKENS tokens (a sum of a million nodes has about 3.3 million and 1.75
# million), nested at most MAX_DEPTH deep (as grammar.NESTING counts;
# Python's own parser stops at 200 parentheses). Beyond them, a clear error
# rather than minutes of work and gigabytes of memory. parse() reads them
# here at each call, so that tests and bench/run.py can change them.
MAX_CHARACTERS = 8 * 2**20
MAX_TOKENS = 3_000_000
MAX_DEPTH = 100_000

# The fast loop's tables as read from Lark's parser for the grammar (see
# lalr.read_tables), with the grammar they were read for. Shipped, because
# reading a file is far cheaper than importing Lark and building its parser,
# which would be much of a cold start. tests/test_parser.py holds them to
# the grammar; write_tables() writes them again.
# (A path as os.path makes it: pathlib's import is a few ms of a cold start.)
TABLES_FILE = os.path.join(os.path.dirname(__file__), "parse_tables.json")


@functools.cache
def _fast_parser() -> lalr.Parser:
    # The AST's callbacks (and classes) only for a caller that wants an AST:
    # reading a valid program into its graph runs reduce() with its own.
    from .tree import CALLBACKS

    return lalr.Parser(_tables(), CALLBACKS)


def _tables() -> dict[str, Any]:
    """The shipped tables, if read for this very grammar (an edited grammar
    in a checkout may not match), else tables read from Lark now."""
    try:
        with open(TABLES_FILE, encoding="utf-8") as file:
            shipped = json.loads(file.read())
    except (OSError, ValueError):
        shipped = {}
    if shipped.get("format") == lalr.TABLES_FORMAT and shipped.get("grammar") == grammar_text():
        return shipped["tables"]
    return read_tables()


def read_tables() -> dict[str, Any]:
    """The tables for the grammar, read from the parser Lark builds for it."""
    from . import tables
    from .lark_fallback import lark_parser

    return tables.read_tables(lark_parser(), NESTING)


def write_tables() -> None:
    """Write the tables that ship (TABLES_FILE) for the grammar as it is."""
    document = {"format": lalr.TABLES_FORMAT, "grammar": grammar_text(), "tables": read_tables()}
    with open(TABLES_FILE, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, separators=(",", ":")) + "\n")


# Where a user reads the limits (a test checks that the page has the heading).
LIMITS_HINT = "cgrad's limits are in its manual, docs/bad-input.md, under 'Limits'"


def parse(text: str, origin: str | None = None) -> Program:
    """Parse program text into a :class:`Program`, or raise :class:`ParseError`."""
    _check_length(text, origin)
    _refuse_constant_symbols(text, origin)
    try:
        try:
            statements = _fast_parser().parse(text, MAX_TOKENS, MAX_DEPTH)
        except lalr.Unparsable:
            # Only now: Lark, to find what is wrong and say it.
            from . import lark_fallback

            try:
                statements = lark_fallback.parse(text, origin, MAX_TOKENS, MAX_DEPTH)
            except ParseError as error:
                raise _carriage_returns_said(error, text) from None
    except LimitError as limited:
        raise _limit_error(limited, text, origin) from None
    from .syntax import Program  # (as _fast_parser has imported it)

    return Program(statements, text, origin)


def _carriage_returns_said(error: ParseError, text: str) -> ParseError:
    """``error``, its hint saying so where the line it is on holds a
    carriage return with no line feed after it (a file with the old Mac
    line ends): cgrad reads one as a blank, not as a line end, so that two
    statements ran together and the error is about that, not what it says."""
    if error.span is None or "\r" not in text:
        return error
    before = text[text.rfind("\n", 0, error.span.start) + 1 : error.span.start]
    if "\r" in before:  # (a line feed ends before: no CRLF in it)
        said = "this line holds a carriage return with no line feed after it, which is "
        said += "read as a blank, not as a line end: end lines with a line feed (\\n)"
        error.hint = f"{said}; {error.hint}" if error.hint else said
    return error


def reduce(
    text: str, callbacks: dict[str, Callback], context: Any, origin: str | None = None
) -> Any:
    """The fast loop run with callbacks of the caller's own (the graph
    builder's, which make graph nodes rather than an AST), each given
    ``context`` where an AST callback is given a place, under the same
    limits as :func:`parse`: the value of the start rule, or None where the
    loop gives up (:func:`parse` then says what is wrong)."""
    _check_length(text, origin)
    _refuse_constant_symbols(text, origin)
    kept = _OWN_PARSERS.get(id(callbacks))
    if kept is None:
        kept = _OWN_PARSERS[id(callbacks)] = (callbacks, lalr.Parser(_tables(), callbacks))
    try:
        return kept[1].parse(text, MAX_TOKENS, MAX_DEPTH, context)
    except lalr.Unparsable:
        return None
    except LimitError as limited:
        raise _limit_error(limited, text, origin) from None


# The loops made for reduce(), by the id of their callbacks (kept with them).
_OWN_PARSERS: dict[int, tuple[dict[str, Callback], lalr.Parser]] = {}


def _check_length(text: str, origin: str | None) -> None:
    if len(text) > MAX_CHARACTERS:
        raise ParseError(
            f"the program is longer than {MAX_CHARACTERS // 2**20} MiB characters",
            hint=LIMITS_HINT,
            origin=origin,
            type="limit_exceeded",
        )


# The symbols of the constants, which cgrad spells pi and e. As names they
# would be inputs, and 2*π a formula in a variable π: refused rather than
# read either way (docs/language.md says why).
CONSTANT_SYMBOLS = {"\u03c0": "pi", "\u212f": "e"}


def _refuse_constant_symbols(text: str, origin: str | None) -> None:
    """A ParseError at the first name that is π or ℯ (outside a comment)."""
    if "\u03c0" not in text and "\u212f" not in text:
        return
    import re  # only for a text that has one of them

    for found in re.finditer(r"#[^\n]*|[^\W\d]\w*", text):
        spelled = CONSTANT_SYMBOLS.get(found.group())
        if spelled is not None:
            place = grammar.offset_places(text)(found.start())
            raise ParseError(
                f"{found.group()} is not a name in cgrad: the constant is written {spelled}",
                span=Span(found.start(), found.end(), *place),
                hint=f"write {spelled} (the constants are pi and e)",
                source=text,
                origin=origin,
                type="name_error",
            )


def _limit_error(limited: LimitError, text: str, origin: str | None) -> ParseError:
    if limited.limit == "tokens":
        message = f"the program has more than {MAX_TOKENS:,} tokens"
    else:
        message = f"the program nests more than {MAX_DEPTH:,} deep"
    return ParseError(
        message,
        span=limited.span,
        hint=LIMITS_HINT,
        source=text,
        origin=origin,
        type="limit_exceeded",
    )
