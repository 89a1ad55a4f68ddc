"""Text to AST: Lark's LALR tables, run by a fast loop of our own for valid
text and by Lark itself for the rest.

The fast loop (lalr.py) parses valid text only. On anything else it gives up,
and Lark's parser runs (lark_parser.py), whose errors become messages there.
Both build the AST bottom-up with the same callbacks (``CALLBACKS``), one per
reduction, in an iterative loop: no parse tree, and no recursion however
deep the input nests.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from . import lalr
from .errors import ParseError, Span
from .syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary


def grammar_text() -> str:
    # A wheel ships the grammar inside the package (pyproject force-includes
    # it); an editable install runs from src/, where the top-level grammars/
    # directory is the only copy. (A path, not importlib.resources, which
    # would cost a cold start 5 ms of imports: cgrad is never run zipped.)
    packaged = Path(__file__).with_name("grammars") / "cgrad.lark"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    in_checkout = Path(__file__).resolve().parents[2] / "grammars" / "cgrad.lark"
    return in_checkout.read_text(encoding="utf-8")


def _maker(cls):
    """``cls(*fields)`` for a frozen slots dataclass, but setting each slot
    directly: the generated __init__ goes through object.__setattr__, which
    makes it twice as slow, and a big program has millions of nodes and spans.
    The object made is the same."""
    assert not hasattr(cls, "__post_init__"), cls
    new = object.__new__
    setters = [getattr(cls, field.name).__set__ for field in dataclasses.fields(cls)]
    if len(setters) == 2:
        a, b = setters

        def make2(x, y):
            made = new(cls)
            a(made, x)
            b(made, y)
            return made

        return make2
    if len(setters) == 3:
        a, b, c = setters

        def make3(x, y, z):
            made = new(cls)
            a(made, x)
            b(made, y)
            c(made, z)
            return made

        return make3
    a, b, c, d = setters

    def make4(x, y, z, w):
        made = new(cls)
        a(made, x)
        b(made, y)
        c(made, z)
        d(made, w)
        return made

    return make4


_new_span = _maker(Span)
_new_binary = _maker(Binary)
_new_unary = _maker(Unary)
_new_number = _maker(Number)
_new_name = _maker(Name)
_new_call = _maker(Call)
_new_group = _maker(Group)
_new_binding = _maker(Binding)

# The callbacks that build the AST, for both parsers: one per grammar alias
# (or rule name). Each takes place(token), which gives a token's line and
# column, then the rule's children as Lark shapes them for a transformer. A
# token is the fast loop's regular expression match, or a _LarkToken, which
# reads like one. Spans are made field by field rather than with Span.cover,
# a call less on a path taken a million times for a big program.


def _token_span(place, token) -> Span:
    start, end = token.span()
    line, column = place(token)
    return _new_span(start, end, line, column)


def _binary(op: str):
    def build(place, left, right):
        first, last = left.span, right.span
        return _new_binary(
            op, left, right, _new_span(first.start, last.end, first.line, first.column)
        )

    return build


def _unary(op: str):
    def build(place, sign, operand):
        line, column = place(sign)
        return _new_unary(op, operand, _new_span(sign.start(), operand.span.end, line, column))

    return build


def _pow(place, base, power, exponent):
    first, last = base.span, exponent.span
    span = _new_span(first.start, last.end, first.line, first.column)
    return _new_binary("pow", base, exponent, span)


def _number(place, token):
    text = token.group()
    # float() gives inf for 1e999; the engine warns when it is used.
    return _new_number(float(text), text, _token_span(place, token))


def _name(place, token):
    return _new_name(token.group(), _token_span(place, token))


def _call(place, name, lpar, arguments, rpar):
    first = _token_span(place, name)
    span = _new_span(first.start, rpar.end(), first.line, first.column)
    return _new_call(name.group(), first, arguments, span)


def _call_without_arguments(place, name, lpar, rpar):
    return _call(place, name, lpar, (), rpar)


def _arguments(place, *items):
    # items alternate expression, COMMA token, expression, ...
    return items[::2]


def _group(place, lpar, inner, rpar):
    line, column = place(lpar)
    return _new_group(inner, _new_span(lpar.start(), rpar.end(), line, column))


def _binding(place, name, equals, value):
    first = _token_span(place, name)
    span = _new_span(first.start, value.span.end, first.line, first.column)
    return _new_binding(name.group(), first, value, span)


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
    from .lark_parser import lark_parser

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
            from . import lark_parser

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
