"""Text to AST: Lark's LALR tables, run by a fast loop of our own for valid
text and by Lark itself for the rest.

The fast loop (lalr.py) parses valid text only. On anything else it gives up,
and Lark's parser runs (lark_parser.py), whose errors become messages there.
Both build the AST bottom-up with the same callbacks (``CALLBACKS``), one per
reduction, in an iterative loop: no parse tree, and no recursion however
deep the input nests.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from sys import intern

from ..errors import ParseError, Span
from . import lalr
from .syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary


def grammar_text() -> str:
    # A wheel ships the grammar inside the package (pyproject force-includes
    # it); an editable install runs from src/, where the top-level grammars/
    # directory is the only copy. (A path, not importlib.resources, which
    # would cost a cold start more imports: cgrad is never run zipped.)
    packaged = Path(__file__).parents[1] / "grammars" / "cgrad.lark"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    in_checkout = Path(__file__).resolve().parents[3] / "grammars" / "cgrad.lark"
    return in_checkout.read_text(encoding="utf-8")


def _thawed(cls: type) -> type:
    """A class with the slots of ``cls``, a frozen slots dataclass, and
    nothing else: the callbacks make an object of it, set its slots, then
    set its ``__class__`` to ``cls``. The object is then the one
    ``cls(...)`` makes (the same type, the same values in the same slots,
    frozen from there on; tests/test_parser.py checks), for about 0.12 µs
    where ``cls(...)`` takes 0.47 (its ``__init__`` sets each field through
    object.__setattr__, as a frozen class must) and calling each slot's
    descriptor 0.29: storing to a thawed object's slot is a plain store. A
    big program makes millions of nodes and spans, about eleven a term."""
    assert not hasattr(cls, "__post_init__"), cls
    return type(f"Thawed{cls.__name__}", (), {"__slots__": cls.__slots__, "__module__": __name__})


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


def _binary(op: str):
    def build(place, left, right):
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


def _unary(op: str):
    def build(place, sign, operand):
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


def _pow(place, base, power, exponent):
    return _power(place, base, exponent)


def _number(place, token):
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


def _name(place, token):
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


def _call(place, name, lpar, arguments, rpar):
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


def _call_without_arguments(place, name, lpar, rpar):
    return _call(place, name, lpar, (), rpar)


def _arguments(place, *items):
    # items alternate expression, COMMA token, expression, ...
    return items[::2] if len(items) > 1 else items


def _group(place, lpar, inner, rpar):
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


def _binding(place, name, equals, value):
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


def _program(place, *statements):
    return statements


CALLBACKS = {
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


# Limits that keep any input to a bounded time and memory, each far beyond
# what a person writes: a program of at most MAX_CHARACTERS characters and
# MAX_TOKENS tokens (a sum of a million nodes has about 3.3 million and 1.75
# million), nested at most MAX_DEPTH deep
# (Python's own parser stops at 200 parentheses). Beyond them, a clear error
# rather than minutes of work and gigabytes of memory.
MAX_CHARACTERS = 8 * 2**20
MAX_TOKENS = 3_000_000
MAX_DEPTH = 100_000

# After these a '+' or '-' is a sign, not an addition (None: at the start).
_BEFORE_AN_OPERAND = frozenset({
    None, "PLUS", "MINUS", "STAR", "SLASH", "POWER", "EQUALS", "COMMA", "LPAR",
    "_NEWLINE", "_SEMICOLON",
})  # fmt: skip
NESTING = lalr.Nesting(
    opens="LPAR",
    closes="RPAR",
    extends=frozenset({"POWER"}),
    signs=frozenset({"PLUS", "MINUS"}),
    before_an_operand=_BEFORE_AN_OPERAND,
    ends=frozenset({"STAR", "SLASH", "COMMA", "_SEMICOLON"}),
    continues="_NEWLINE",
)


# The fast loop's tables as read from Lark's parser for the grammar (see
# lalr.read_tables), with the grammar they were read for. Shipped, because
# reading a file takes 1 ms where importing Lark and building its parser
# takes 40, a quarter of a cold start. tests/test_parser.py holds them to
# the grammar; write_tables() writes them again.
TABLES_FILE = Path(__file__).with_name("parse_tables.json")


@functools.cache
def _fast_parser() -> lalr.Parser:
    return lalr.Parser(_tables(), CALLBACKS)


def _tables() -> dict:
    """The shipped tables, if read for this very grammar (an edited grammar
    in a checkout may not match), else tables read from Lark now."""
    try:
        shipped = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shipped = {}
    if shipped.get("format") == lalr.TABLES_FORMAT and shipped.get("grammar") == grammar_text():
        return shipped["tables"]
    return read_tables()


def read_tables() -> dict:
    """The tables for the grammar, read from the parser Lark builds for it."""
    from .lark_fallback import lark_parser

    return lalr.read_tables(lark_parser(), NESTING)


def write_tables() -> None:
    """Write the tables that ship (TABLES_FILE) for the grammar as it is."""
    document = {"format": lalr.TABLES_FORMAT, "grammar": grammar_text(), "tables": read_tables()}
    TABLES_FILE.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


def parse(text: str, origin: str | None = None) -> Program:
    """Parse program text into a :class:`Program`, or raise :class:`ParseError`."""
    if len(text) > MAX_CHARACTERS:
        raise ParseError(
            f"the program is longer than {MAX_CHARACTERS // 2**20} MiB characters",
            hint="cgrad's limits are in its README, under 'Limits'",
            origin=origin,
            type="limit_exceeded",
        )
    try:
        try:
            statements = _fast_parser().parse(text, MAX_TOKENS, MAX_DEPTH)
        except lalr.Unparsable:
            # Only now: Lark, to find what is wrong and say it.
            from . import lark_fallback as lark_parser

            statements = lark_parser.parse(text, origin)
    except lalr.LimitError as limited:
        if limited.limit == "tokens":
            message = f"the program has more than {MAX_TOKENS:,} tokens"
        else:
            message = f"the program nests more than {MAX_DEPTH:,} deep"
        raise ParseError(
            message,
            span=limited.span,
            hint="cgrad's limits are in its README, under 'Limits'",
            source=text,
            origin=origin,
            type="limit_exceeded",
        ) from None
    return Program(statements, text, origin)
