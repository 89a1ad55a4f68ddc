"""What both parsers share: the grammar's text, the callbacks that build the
AST (one per reduction), what counts as nesting, and the error a limit
raises.

The fast loop (lalr.py, run by parser.py) and Lark's parser (lark_fallback.py)
each import this module and not each other, so a text either accepts becomes
the same AST and meets the limits at the same token.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from sys import intern
from typing import Any, NamedTuple, Protocol

from ..errors import Span
from .syntax import Binary, Binding, Call, Expression, Group, Name, Number, Statement, Unary


class Token(Protocol):
    """A token as the callbacks read it: the fast loop's regular expression
    match, or lark_fallback's _LarkToken, which reads like one."""

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


def _thawed(cls: type) -> type:
    """A class with the slots of ``cls``, a frozen slots dataclass, and
    nothing else: the callbacks make an object of it, set its slots, then
    set its ``__class__`` to ``cls``. The object is then the one
    ``cls(...)`` makes (the same type, the same values in the same slots,
    frozen from there on; tests/test_parser.py checks), made several times
    faster: ``cls(...)`` sets each field through object.__setattr__, as a
    frozen class's ``__init__`` must, where storing to a thawed object's
    slot is a plain store. A big program makes millions of nodes and
    spans, about eleven a term."""
    assert not hasattr(cls, "__post_init__"), cls
    slots = getattr(cls, "__slots__")  # noqa: B009 - a dataclass's slots are not in its static type
    return type(f"Thawed{cls.__name__}", (), {"__slots__": slots, "__module__": __name__})


_ThawedSpan = _thawed(Span)
_ThawedBinary = _thawed(Binary)
_ThawedUnary = _thawed(Unary)
_ThawedNumber = _thawed(Number)
_ThawedName = _thawed(Name)
_ThawedCall = _thawed(Call)
_ThawedGroup = _thawed(Group)
_ThawedBinding = _thawed(Binding)

# The callbacks that build the AST, for both parsers: one per grammar alias
# (or rule name). Each takes place(token), which gives a token's line and
# column, then the rule's children as Lark shapes them for a transformer. A
# token is the fast loop's regular expression match, or a _LarkToken, which
# reads like one.
#
# They make each object as _thawed says, written out: a helper that took
# the fields would cost a call per object, eleven a term of a big sum. A
# span's line and column are its first token's, so spans that start at a
# child's copy them from the child's.
# Names are interned: a program names a few functions and inputs many
# times, and one string for each saves memory (and hashing, later).


def _binary(op: str) -> Callback:
    def build(place: Place, left: Expression, right: Expression) -> Binary:
        first = left.span
        span = _ThawedSpan()
        span.start = first.start
        span.end = right.span.end
        span.line = first.line
        span.column = first.column
        span.__class__ = Span
        node = _ThawedBinary()
        node.op = op
        node.left = left
        node.right = right
        node.span = span
        node.__class__ = Binary
        return node

    return build


def _unary(op: str) -> Callback:
    def build(place: Place, sign: Token, operand: Expression) -> Unary:
        line, column = place(sign)
        span = _ThawedSpan()
        span.start = sign.start()
        span.end = operand.span.end
        span.line = line
        span.column = column
        span.__class__ = Span
        node = _ThawedUnary()
        node.op = op
        node.operand = operand
        node.span = span
        node.__class__ = Unary
        return node

    return build


_power = _binary("pow")


def _pow(place: Place, base: Expression, power: Token, exponent: Expression) -> Binary:
    return _power(place, base, exponent)


def _number(place: Place, token: Token) -> Number:
    line, column = place(token)
    span = _ThawedSpan()
    span.start, span.end = token.span()
    span.line = line
    span.column = column
    span.__class__ = Span
    node = _ThawedNumber()
    node.text = text = token.group()
    # float() gives inf for 1e999; the engine warns when it is used.
    node.value = float(text)
    node.span = span
    node.__class__ = Number
    return node


def _name(place: Place, token: Token) -> Name:
    line, column = place(token)
    span = _ThawedSpan()
    span.start, span.end = token.span()
    span.line = line
    span.column = column
    span.__class__ = Span
    node = _ThawedName()
    node.name = intern(token.group())
    node.span = span
    node.__class__ = Name
    return node


def _call(
    place: Place, name: Token, lpar: Token, arguments: tuple[Expression, ...], rpar: Token
) -> Call:
    line, column = place(name)
    first = _ThawedSpan()
    first.start = start = name.start()
    first.end = name.end()
    first.line = line
    first.column = column
    first.__class__ = Span
    span = _ThawedSpan()
    span.start = start
    span.end = rpar.end()
    span.line = line
    span.column = column
    span.__class__ = Span
    node = _ThawedCall()
    node.function = intern(name.group())
    node.function_span = first
    node.arguments = arguments
    node.span = span
    node.__class__ = Call
    return node


def _call_without_arguments(place: Place, name: Token, lpar: Token, rpar: Token) -> Call:
    return _call(place, name, lpar, (), rpar)


def _arguments(place: Place, *items: Any) -> tuple[Any, ...]:
    # items alternate expression, COMMA token, expression, ...
    return items[::2] if len(items) > 1 else items


def _group(place: Place, lpar: Token, inner: Expression, rpar: Token) -> Group:
    line, column = place(lpar)
    span = _ThawedSpan()
    span.start = lpar.start()
    span.end = rpar.end()
    span.line = line
    span.column = column
    span.__class__ = Span
    node = _ThawedGroup()
    node.inner = inner
    node.span = span
    node.__class__ = Group
    return node


def _binding(place: Place, name: Token, equals: Token, value: Expression) -> Binding:
    line, column = place(name)
    first = _ThawedSpan()
    first.start = start = name.start()
    first.end = name.end()
    first.line = line
    first.column = column
    first.__class__ = Span
    span = _ThawedSpan()
    span.start = start
    span.end = value.span.end
    span.line = line
    span.column = column
    span.__class__ = Span
    node = _ThawedBinding()
    node.name = intern(name.group())
    node.name_span = first
    node.value = value
    node.span = span
    node.__class__ = Binding
    return node


def _program(place: Place, *statements: Statement) -> tuple[Statement, ...]:
    return statements


CALLBACKS: dict[str, Callback] = {
    "program": _program,
    "binding": _binding,
    "add": _binary("add"),
    "sub": _binary("sub"),
    "mul": _binary("mul"),
    "div": _binary("div"),
    "pow": _pow,
    "neg": _unary("neg"),
    "plus": _unary("plus"),
    "number": _number,
    "name": _name,
    "call": _call,
    "call_without_arguments": _call_without_arguments,
    "arguments": _arguments,
    "group": _group,
}
