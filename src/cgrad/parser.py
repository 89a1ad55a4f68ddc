"""Text to AST: Lark's LALR tables, run by a fast loop of our own for valid
text and by Lark itself for the rest.

The fast loop (lalr.py) parses valid text only. On anything else it gives up,
and Lark's parser runs, whose errors :func:`_explain` turns into messages.
Both build the AST bottom-up with the same callbacks (``_CALLBACKS``), one per
reduction, in an iterative loop: no parse tree, and no recursion however
deep the input nests.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib import resources
from pathlib import Path

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import lalr
from .errors import ParseError, Span
from .ops import FUNCTIONS
from .syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary


def _grammar_text() -> str:
    # A wheel ships the grammar inside the package (pyproject force-includes
    # it); an editable install runs from src/, where the top-level grammars/
    # directory is the only copy.
    packaged = resources.files("cgrad").joinpath("grammars/cgrad.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    in_checkout = Path(__file__).resolve().parents[2] / "grammars" / "cgrad.lark"
    return in_checkout.read_text(encoding="utf-8")


def _span(token: Token) -> Span:
    return Span(token.start_pos, token.end_pos, token.line, token.column)


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


_CALLBACKS = {
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


class _LarkToken(Token):
    """A Lark token that reads like a regular expression match, as the fast
    loop's tokens do: the post-lexer hands these to Lark's parser."""

    __slots__ = ()

    def span(self) -> tuple[int, int]:
        return self.start_pos, self.end_pos

    def start(self) -> int:
        return self.start_pos

    def end(self) -> int:
        return self.end_pos

    def group(self) -> str:
        return str(self)


def _lark_place(token: Token) -> tuple[int, int]:
    return token.line, token.column


class _BuildSyntax(Transformer):
    """``_CALLBACKS`` as Lark calls a transformer: by name, with the children
    in a list."""

    def __init__(self) -> None:
        super().__init__()
        for name, callback in _CALLBACKS.items():
            setattr(self, name, functools.partial(_call_with_lark_place, callback))


def _call_with_lark_place(callback, children: list):
    return callback(_lark_place, *children)


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
_NESTING = lalr.Nesting(
    opens="LPAR",
    closes="RPAR",
    extends=frozenset({"POWER"}),
    signs=frozenset({"PLUS", "MINUS"}),
    before_an_operand=_BEFORE_AN_OPERAND,
    ends=frozenset({"STAR", "SLASH", "COMMA", "_SEMICOLON"}),
    continues="_NEWLINE",
)


class _PostLexer(lark.lark.PostLex):
    """Drop newlines inside parentheses, so that they continue the statement;
    count tokens and nesting, so that MAX_TOKENS and MAX_DEPTH hold.

    Nesting is what the parser must hold open at once: parentheses, and
    within each pair a run of signs (``---x``) or of powers (``x^y^z``, which
    nest to the right); an operator that ends a run (``*``, a binary ``+``)
    lets it go. lalr.Parser.parse applies the same rules (``_NESTING``) in
    its own loop.
    """

    always_accept = (_NESTING.continues,)

    def process(self, stream):
        nesting = _NESTING
        runs = [0]  # per open parenthesis (and the top level): its open run
        depth = 0  # open parentheses plus every open run
        previous = None
        for count, token in enumerate(stream, start=1):
            if count > MAX_TOKENS:
                raise lalr.LimitError("tokens", _span(token))
            kind = token.type
            if kind == nesting.opens:
                runs.append(0)
                depth += 1
            elif kind == nesting.closes:
                if len(runs) > 1:
                    depth -= 1 + runs.pop()
            elif kind in nesting.extends or (
                kind in nesting.signs and previous in nesting.before_an_operand
            ):
                runs[-1] += 1
                depth += 1
            elif kind in nesting.ends or kind in nesting.signs or kind == nesting.continues:
                depth -= runs[-1]
                runs[-1] = 0
            if depth > MAX_DEPTH:
                raise lalr.LimitError("depth", _span(token))
            if kind == nesting.continues and len(runs) > 1:
                continue
            previous = kind
            yield _LarkToken.new_borrow_pos(kind, token.value, token)


@functools.cache
def _parser() -> Lark:
    return Lark(
        _grammar_text(),
        start="program",
        parser="lalr",
        lexer="contextual",
        postlex=_PostLexer(),
        transformer=_BuildSyntax(),
        maybe_placeholders=False,
    )


@functools.cache
def _fast_parser() -> lalr.Parser:
    return lalr.Parser(_parser(), _CALLBACKS, _NESTING)


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
            statements = _parser().parse(text)
    except UnexpectedInput as error:
        raise _explain(error, text, origin) from None
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


# ---------------------------------------------------------------------------
# Turning Lark's errors into messages a user can act on.

_TOKEN_NAMES = {
    "NUMBER": "a number",
    "NAME": "a name",
    "POWER": "'^'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "EQUALS": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "_SEMICOLON": "';'",
    "_NEWLINE": "the end of the line",
    "$END": "the end of the input",
}

# The operand just before a spot where an operator was missing: a number,
# a name or a closing parenthesis at the end of the text before it.
_LAST_OPERAND = re.compile(r"(?:(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?|[^\W\d]\w*|\))\s*$")


_OPERAND_MISSING = "an operand (a number, a name or a parenthesised expression) is missing here"


def _describe(token_type: str, token: Token | None = None) -> str:
    if token is not None and token_type in ("NUMBER", "NAME"):
        return f"{_TOKEN_NAMES[token_type]} '{token}'"
    return _TOKEN_NAMES.get(token_type, f"'{token}'" if token is not None else token_type)


def _explain(error: UnexpectedInput, text: str, origin: str | None) -> ParseError:
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(error, text, origin)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    kind = token.type
    expected = set(error.expected) - {"COMMENT"}
    if kind == "$END":
        position = len(text)
        line = text.count("\n") + 1
        column = position - (text.rfind("\n") + 1) + 1
        span = Span(position, position, line, column)
    else:
        span = _span(token)
    hint = None
    message = f"unexpected {_describe(kind, token)}"
    operand_expected = "NUMBER" in expected and "NAME" in expected

    if (
        kind == "NUMBER"
        and str(token).startswith(".")
        and text[span.start - 1 : span.start].isdigit()
    ):
        message = "a number has more than one '.'"
        hint = None
    elif kind in ("NAME", "NUMBER", "LPAR") and not operand_expected:
        before = _LAST_OPERAND.search(text, 0, span.start)
        message = f"missing operator before {_describe(kind, token)}"
        if before is not None:
            left = before.group(0).rstrip()
            right = str(token)
            if kind == "LPAR" and left == ")":
                hint = "to multiply, write * between ')' and '(': (...)*(...)"
            elif kind == "LPAR":
                hint = f"to multiply, write {left}*(...)"
            elif left in FUNCTIONS:
                hint = f"to call {left}, write {left}({right})"
            elif kind == "NAME" and re.match(r"[^\W\d]\w*\s*=", text[span.start :]):
                # cgrad eval "(x+y)*z x=1": the values went inside the quotes.
                hint = 'values go after the expression, outside its quotes: "EXPR" x=1 y=2'
            else:
                hint = f"to multiply, write {left}*{right}"
        else:
            hint = "put an operator such as '*' or '+' between the two operands"
    elif kind in ("$END", "_NEWLINE", "_SEMICOLON") and "RPAR" in expected and not operand_expected:
        opened = _unclosed_parenthesis(text[: span.start])
        message = "a parenthesis is never closed"
        if opened is not None:
            span = opened
            message = "this '(' is never closed"
        hint = "add the missing ')'"
    elif kind in ("$END", "_NEWLINE", "_SEMICOLON") and operand_expected:
        message = {
            "$END": "the expression ends too early",
            "_NEWLINE": "the line ends too early",
        }.get(kind, "unexpected ';'")
        hint = _OPERAND_MISSING
    elif kind == "RPAR" and operand_expected:
        message = "missing operand before ')'"
    elif kind == "RPAR":
        message = "unmatched ')'"
        hint = "remove it, or add the '(' it closes"
    elif kind == "EQUALS":
        message = "unexpected '='"
        hint = (
            "'=' binds a name at the start of a statement, as in a = x*y; cgrad has no comparisons"
        )
    elif kind == "COMMA":
        message = "unexpected ','"
        hint = (
            "',' separates the arguments of a function; separate statements with ';' or a newline"
        )
    elif operand_expected:
        hint = _OPERAND_MISSING
    return ParseError(
        message, span=span, hint=hint, source=text, origin=origin, type="syntax_error"
    )


def _unclosed_parenthesis(text: str) -> Span | None:
    """The innermost '(' in ``text`` that has no ')' (comments skipped)."""
    stack: list[int] = []
    for match in re.finditer(r"#[^\n]*|[()]", text):
        if match.group() == "(":
            stack.append(match.start())
        elif match.group() == ")" and stack:
            stack.pop()
    if not stack:
        return None
    offset = stack[-1]
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(offset, offset + 1, line, column)


def _unexpected_character(error: UnexpectedCharacters, text: str, origin: str | None) -> ParseError:
    char = text[error.pos_in_stream]
    span = Span(error.pos_in_stream, error.pos_in_stream + 1, error.line, error.column)
    hints = {
        "[": "use ( and ) for grouping",
        "]": "use ( and ) for grouping",
        "{": "use ( and ) for grouping",
        "}": "use ( and ) for grouping",
        "'": "cgrad has no strings; names are written without quotes",
        '"': "cgrad has no strings; names are written without quotes",
        "!": "cgrad has no factorial or logical operators",
        "%": "cgrad has no '%'; write the expression out with the functions it has",
        ".": "a number needs a digit before or after the '.'",
        "\u2212": "that is a typographic minus sign: write -",
        "\u00b7": "to multiply, write *",
        "\u00d7": "to multiply, write *",
        "\u2219": "to multiply, write *",
        "\u00f7": "to divide, write /",
        "\u221a": "write sqrt(x)",
        "|": "for the absolute value, write abs(x)",
    }
    shown = f"'{char}'" if char.isprintable() else f"U+{ord(char):04X}"
    message = f"unexpected character {shown}"
    if char == "=" or char == "<" or char == ">":
        hints[char] = "cgrad has no comparisons; '=' binds a name, as in a = x*y"
    return ParseError(
        message, span=span, hint=hints.get(char), source=text, origin=origin, type="syntax_error"
    )
