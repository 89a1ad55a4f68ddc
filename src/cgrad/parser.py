"""Text to AST: Lark's LALR parser with the transformer run inline.

Passing the transformer to the LALR parser makes Lark call it on every
reduction, so the AST is built bottom-up by the parser's own (iterative)
loop: no parse tree, and no recursion however deep the input nests.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

import lark
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

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


@v_args(inline=True)
class _BuildSyntax(Transformer):
    """Lark callbacks, one per grammar alias, each returning an AST node."""

    def program(self, *statements):
        return tuple(statements)

    def binding(self, name: Token, equals: Token, value):
        return Binding(str(name), _span(name), value, _span(name).cover(value.span))

    def _binary(op):  # noqa: N805 - a factory used in the class body
        def build(self, left, right):
            return Binary(op, left, right, left.span.cover(right.span))

        return build

    add = _binary("add")
    sub = _binary("sub")
    mul = _binary("mul")
    div = _binary("div")

    def pow(self, base, power: Token, exponent):
        return Binary("pow", base, exponent, base.span.cover(exponent.span))

    def neg(self, minus: Token, operand):
        return Unary("neg", operand, _span(minus).cover(operand.span))

    def plus(self, plus: Token, operand):
        return Unary("plus", operand, _span(plus).cover(operand.span))

    def number(self, token: Token):
        # float() gives inf for 1e999; the engine warns when it is used.
        return Number(float(token), str(token), _span(token))

    def name(self, token: Token):
        return Name(str(token), _span(token))

    def call(self, name: Token, lpar: Token, arguments: tuple, rpar: Token):
        return Call(str(name), _span(name), arguments, _span(name).cover(_span(rpar)))

    def call_without_arguments(self, name: Token, lpar: Token, rpar: Token):
        return Call(str(name), _span(name), (), _span(name).cover(_span(rpar)))

    def arguments(self, *items):
        # items alternate expression, COMMA token, expression, ...
        return tuple(items[::2])

    def group(self, lpar: Token, inner, rpar: Token):
        return Group(inner, _span(lpar).cover(_span(rpar)))


# Limits that keep any input to a bounded time and memory, each far beyond
# what a person writes: a program of at most MAX_CHARACTERS characters and
# MAX_TOKENS tokens (a sum of a million nodes has about 3.3 million and 1.75
# million), nested at most MAX_DEPTH deep
# (Python's own parser stops at 200 parentheses). Beyond them, a clear error
# rather than minutes of work and gigabytes of memory.
MAX_CHARACTERS = 8 * 2**20
MAX_TOKENS = 3_000_000
MAX_DEPTH = 100_000

# After these a '+' or '-' is a sign, not an addition.
_BEFORE_AN_OPERAND = {
    None, "PLUS", "MINUS", "STAR", "SLASH", "POWER", "EQUALS", "COMMA", "LPAR",
    "_NEWLINE", "_SEMICOLON",
}  # fmt: skip


class _LimitError(Exception):
    """Raised by the post-lexer, turned into a ParseError by :func:`parse`."""

    def __init__(self, message: str, token: Token) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


class _PostLexer(lark.lark.PostLex):
    """Drop newlines inside parentheses, so that they continue the statement;
    count tokens and nesting, so that MAX_TOKENS and MAX_DEPTH hold.

    Nesting is what the parser must hold open at once: parentheses, and
    within each pair a run of signs (``---x``) or of powers (``x^y^z``, which
    nest to the right); an operator that ends a run (``*``, a binary ``+``)
    lets it go.
    """

    always_accept = ("_NEWLINE",)

    def process(self, stream):
        runs = [0]  # per open parenthesis (and the top level): its open run
        depth = 0  # open parentheses plus every open run
        previous = None
        for count, token in enumerate(stream, start=1):
            if count > MAX_TOKENS:
                raise _LimitError(f"the program has more than {MAX_TOKENS:,} tokens", token)
            kind = token.type
            if kind == "LPAR":
                runs.append(0)
                depth += 1
            elif kind == "RPAR":
                if len(runs) > 1:
                    depth -= 1 + runs.pop()
            elif kind == "POWER" or (kind in ("PLUS", "MINUS") and previous in _BEFORE_AN_OPERAND):
                runs[-1] += 1
                depth += 1
            elif kind in ("PLUS", "MINUS", "STAR", "SLASH", "COMMA", "_SEMICOLON", "_NEWLINE"):
                depth -= runs[-1]
                runs[-1] = 0
            if depth > MAX_DEPTH:
                raise _LimitError(f"the program nests more than {MAX_DEPTH:,} deep", token)
            if kind == "_NEWLINE" and len(runs) > 1:
                continue
            previous = kind
            yield token


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
        statements = _parser().parse(text)
    except UnexpectedInput as error:
        raise _explain(error, text, origin) from None
    except _LimitError as limited:
        raise ParseError(
            limited.message,
            span=_span(limited.token),
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
