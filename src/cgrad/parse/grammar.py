"""What both parsers share: the grammar's text, what counts as nesting,
the error a limit raises, and the callbacks of the two rules that only
shape their children (the AST's others are :mod:`.tree`'s, the graph's
:mod:`cgrad.autodiff.reading`'s).

The fast loop (lalr.py, run by parser.py) and Lark's parser (lark_fallback.py)
each import this module and not each other, so a text either accepts becomes
the same AST and meets the limits at the same token.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from typing import Any, NamedTuple, Protocol

from ..errors import Span


class Token(Protocol):
    """A token as the callbacks read it: the fast loop's regular expression
    match, or lark_fallback's _LarkToken, which reads like one. The text and
    end of a name or number are its own; a fixed string's match (an
    operator, a parenthesis) may run on over the whitespace and comments
    after it, so only its start is read (')' ends one character later)."""

    def start(self) -> int: ...
    def end(self) -> int: ...
    def span(self) -> tuple[int, int]: ...
    def group(self) -> str: ...


# The (line, column) of a token, 1-based.
Place = Callable[[Any], tuple[int, int]]
# A reduction's callback takes a Place, then the rule's children (tokens
# filtered out and inlined rules spliced in, as Lark passes them to a
# transformer method), and returns the value.
Callback = Callable[..., Any]


class LimitError(Exception):
    """``limit`` ("tokens" or "depth") was exceeded at the token at ``span``."""

    def __init__(self, limit: str, span: Span) -> None:
        super().__init__(limit)
        self.limit = limit
        self.span = span


class Nesting(NamedTuple):
    """What counts as nesting, by terminal name: what the parser must hold
    open at once. Parentheses, and within each pair a run of signs
    (``---x``) or of powers (``x^y^z``, which nest to the right); an
    operator that ends a run (``*``, a binary ``+``) lets it go. The fast
    loop (lalr.Parser.parse) and Lark's post-lexer
    (lark_fallback._PostLexer) count by these rules."""

    opens: str  # "(": a new level, with a run of its own
    closes: str  # ")": the level and its run are let go
    extends: frozenset[str]  # "^": one more in the open run
    signs: frozenset[str]  # "+": a sign after these, else an end
    before_an_operand: frozenset[str | None]  # None: at the start
    ends: frozenset[str]  # "*": the open run is let go
    continues: str  # a newline: ends the run; inside parentheses, dropped


# After these a '+' or '-' is a sign, not an addition (None: at the start).
_BEFORE_AN_OPERAND = frozenset({
    None, "PLUS", "MINUS", "STAR", "SLASH", "POWER", "EQUALS", "COMMA", "LPAR",
    "_NEWLINE", "_SEMICOLON",
})  # fmt: skip
NESTING = Nesting(
    opens="LPAR",
    closes="RPAR",
    extends=frozenset({"POWER"}),
    signs=frozenset({"PLUS", "MINUS"}),
    before_an_operand=_BEFORE_AN_OPERAND,
    ends=frozenset({"STAR", "SLASH", "COMMA", "_SEMICOLON"}),
    continues="_NEWLINE",
)


def offset_places(text: str) -> Callable[[int], tuple[int, int]]:
    """The (line, column) of an offset in ``text``, 1-based, as Lark's lexer
    counts them: lines end at '\\n' only. A span's line and column are
    those of its start, so that a graph can keep offsets alone and make
    its spans when asked."""
    if "\n" not in text:
        return _on_the_first_line
    # Where each line starts: after each line and its '\n'.
    starts = list(accumulate(map((1).__add__, map(len, text.split("\n"))), initial=0))

    def place(offset: int) -> tuple[int, int]:
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    return place


def _on_the_first_line(offset: int) -> tuple[int, int]:
    return 1, offset + 1


def grammar_text() -> str:
    """The grammar, grammars/cgrad.lark: the one place syntax is defined."""
    # A wheel ships the grammar inside the package (pyproject force-includes
    # it); an editable install runs from src/, where the top-level grammars/
    # directory is the only copy. (A path, not importlib.resources, which
    # would cost a cold start more imports: cgrad is never run zipped; and
    # os.path, not pathlib, whose import is a few ms of a cold start.)
    package = os.path.dirname(os.path.dirname(__file__))
    packaged = os.path.join(package, "grammars", "cgrad.lark")
    if not os.path.isfile(packaged):
        checkout = os.path.dirname(os.path.dirname(os.path.realpath(package)))
        packaged = os.path.join(checkout, "grammars", "cgrad.lark")
    with open(packaged, encoding="utf-8") as file:
        return file.read()


def _arguments(place: Place, *items: Any) -> tuple[Any, ...]:
    # items alternate expression, COMMA token, expression, ...
    return items[::2] if len(items) > 1 else items


def _program(place: Place, *statements: Any) -> tuple[Any, ...]:
    return statements


# The callbacks of the rules that make no node of their own, whatever the
# others make: a program's statements, and a call's arguments with the
# commas left out. The AST's callbacks (tree.CALLBACKS) and the graph's
# (autodiff/reading.py) both take these, so that reading a program into
# its graph never imports the AST's classes.
SHAPING: dict[str, Callback] = {"program": _program, "arguments": _arguments}
