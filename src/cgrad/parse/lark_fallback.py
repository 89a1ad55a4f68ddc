"""Lark's own parser, for the text the fast loop (lalr.py) gives up on: it
finds what is wrong, and this module says so in a message a user can act on.

Imported only then: a run whose program is valid never imports Lark. Lark
calls the same callbacks as the fast loop (tree.CALLBACKS), and a
post-lexer that counts nesting by the same rules (grammar.NESTING) applies
the limits parser.parse hands it, so a text it accepts gets the same AST,
and a limit is met at the same token.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lark import PostLex

from ..errors import ParseError, Span
from ..ops import FUNCTIONS
from .grammar import NESTING, LimitError, grammar_text
from .tree import CALLBACKS

# The limits of the parse under way, (max_tokens, max_depth): the post-lexer
# belongs to the one Lark parser, built once, so they cannot be its own.
_LIMITS: ContextVar[tuple[int, int]] = ContextVar("_LIMITS")


def parse(text: str, origin: str | None, max_tokens: int, max_depth: int) -> tuple:
    """The statements of ``text``, or :class:`ParseError` saying what is
    wrong with it (:class:`LimitError` beyond a limit)."""
    reset = _LIMITS.set((max_tokens, max_depth))
    try:
        statements = lark_parser().parse(text)
    except UnexpectedInput as error:
        raise _explain(error, text, origin) from None
    finally:
        _LIMITS.reset(reset)
    # The transformer's value for the start rule: the statements, a tuple.
    assert isinstance(statements, tuple)
    return statements


@functools.cache
def lark_parser() -> Lark:
    """Lark's LALR parser for the grammar, built once, building the AST as it goes."""
    return Lark(
        grammar_text(),
        start="program",
        parser="lalr",
        lexer="contextual",
        postlex=_PostLexer(),
        transformer=_BuildSyntax(),
        maybe_placeholders=False,
    )


def _span(token: Token) -> Span:
    return Span(*_offsets(token), *_lark_place(token))


def _offsets(token: Token) -> tuple[int, int]:
    # Lark's lexer sets every position of the tokens it makes (the type
    # allows None for tokens made by hand).
    assert token.start_pos is not None and token.end_pos is not None
    return token.start_pos, token.end_pos


class _LarkToken(Token):
    """A Lark token that reads like a regular expression match, as the fast
    loop's tokens do: the post-lexer hands these to Lark's parser."""

    __slots__ = ()

    def span(self) -> tuple[int, int]:
        return _offsets(self)

    def start(self) -> int:
        return _offsets(self)[0]

    def end(self) -> int:
        return _offsets(self)[1]

    def group(self) -> str:
        return str(self)


def _lark_place(token: Token) -> tuple[int, int]:
    assert token.line is not None and token.column is not None  # as _offsets
    return token.line, token.column


class _BuildSyntax(Transformer):
    """tree.CALLBACKS as Lark calls a transformer: by name, with the
    children in a list."""

    def __init__(self) -> None:
        super().__init__()
        for name, callback in CALLBACKS.items():
            setattr(self, name, functools.partial(_call_with_lark_place, callback))


def _call_with_lark_place(callback, children: list):
    return callback(_lark_place, *children)


class _PostLexer(PostLex):
    """Drop newlines inside parentheses, so that they continue the statement;
    count tokens and nesting (as grammar.Nesting says), so that the limits
    hold. lalr.Parser.parse counts by the same rules in its own loop, on
    its own tokens, where a call a token would slow it.
    """

    always_accept = (NESTING.continues,)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        """Lark's tokens, counted, without the newlines inside parentheses."""
        nesting = NESTING
        max_tokens, max_depth = _LIMITS.get()
        runs = [0]  # per open parenthesis (and the top level): its open run
        depth = 0  # open parentheses plus every open run
        previous = None
        for count, token in enumerate(stream, start=1):
            if count > max_tokens:
                raise LimitError("tokens", _span(token))
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
            if depth > max_depth:
                raise LimitError("depth", _span(token))
            if kind == nesting.continues and len(runs) > 1:
                continue
            previous = kind
            yield _LarkToken.new_borrow_pos(kind, token.value, token)


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
    """The message for what Lark found wrong with ``text``."""
    if isinstance(error, UnexpectedCharacters):
        return _unexpected_character(error, text, origin)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    span = _end_of(text) if token.type == "$END" else _span(token)
    expected = set(error.expected) - {"COMMENT"}
    message, hint, span = _unexpected_token(token, expected, text, span)
    return ParseError(
        message, span=span, hint=hint, source=text, origin=origin, type="syntax_error"
    )


def _end_of(text: str) -> Span:
    """The empty span at the end of ``text``."""
    position = len(text)
    line = text.count("\n") + 1
    column = position - (text.rfind("\n") + 1) + 1
    return Span(position, position, line, column)


def _unexpected_token(
    token: Token, expected: set[str], text: str, span: Span
) -> tuple[str, str | None, Span]:
    """The message, hint and span for a ``token`` (at ``span``) where the
    parser ``expected`` one of other kinds."""
    kind = token.type
    hint = None
    message = f"unexpected {_describe(kind, token)}"
    operand_expected = "NUMBER" in expected and "NAME" in expected

    if (
        kind == "NUMBER"
        and str(token).startswith(".")
        and text[span.start - 1 : span.start].isdigit()
    ):
        message = "a number has more than one '.'"
    elif kind in ("NAME", "NUMBER", "LPAR") and not operand_expected:
        message = f"missing operator before {_describe(kind, token)}"
        hint = _missing_operator_hint(kind, str(token), text, span.start)
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
    return message, hint, span


# Mathematical notations cgrad does not have, read from the text just
# before the operand the parser did not expect: ``d/dx`` (Leibniz) and
# ``sin^2`` (a power written on the function's name).
_LEIBNIZ = re.compile(r"(?<!\w)d\s*/\s*d([^\W\d]\w*)\s*$")
_POWER_OF_A_FUNCTION = re.compile(r"(?<!\w)([^\W\d]\w*)\s*\^\s*(-?\s*\d+(?:\.\d*)?)\s*$")
# How much of an operand a hint quotes (a hint is one short line).
_QUOTED = 40


def _missing_operator_hint(kind: str, right: str, text: str, start: int) -> str:
    """The hint for two operands with no operator between them, which ends
    at ``start`` (where the second, of token type ``kind``, begins)."""
    leibniz = _LEIBNIZ.search(text, 0, start)
    if leibniz is not None:
        body = _statement_from(text, start)
        return (
            f"cgrad has no d/d{leibniz[1]} notation; for the derivative, "
            f'run: cgrad diff "{body}" --wrt {leibniz[1]}'
        )
    power = _POWER_OF_A_FUNCTION.search(text, 0, start)
    if power is not None and power[1] in FUNCTIONS:
        name, exponent = power[1], "".join(power[2].split())
        argument = _operand_after(text, start, kind)[1:-1] if kind == "LPAR" else right
        hint = f"for a power of {name}, write {name}({argument})^{exponent}"
        if exponent == "-1" and f"a{name}" in FUNCTIONS:
            hint += f"; for the inverse function, write a{name}({argument})"
        return hint
    before = _LAST_OPERAND.search(text, 0, start)
    if before is None:
        return "put an operator such as '*' or '+' between the two operands"
    left = before.group(0).rstrip()
    if kind == "LPAR" and left == ")":
        return "to multiply, write * between ')' and '(': (...)*(...)"
    if kind == "LPAR":
        return f"to multiply, write {left}*(...)"
    if left in FUNCTIONS:
        return f"to call {left}, write {left}({right})"
    if kind == "NAME" and re.match(r"[^\W\d]\w*\s*=", text[start:]):
        # cgrad eval "(x+y)*z x=1": the values went inside the quotes.
        return 'values go after the expression, outside its quotes: "EXPR" x=1 y=2'
    if left == ")":
        left = _operand_before(text, before.start() + 1)
    return f"to multiply, write {left}*{_operand_after(text, start, kind)}"


def _operand_before(text: str, end: int) -> str:
    """The parenthesised operand (with its function's name) that ends at
    ``end``, just after a ')'; ``(...)`` when it is long."""
    depth = 0
    for position in range(end - 1, max(end - _QUOTED, 0) - 1, -1):
        char = text[position]
        depth += {")": 1, "(": -1}.get(char, 0)
        if depth == 0:
            name = re.search(r"[^\W\d]\w*\s*$", text[max(position - _QUOTED, 0) : position])
            return (name[0].rstrip() if name else "") + text[position:end]
    return "(...)"


def _operand_after(text: str, start: int, kind: str) -> str:
    """The operand that begins at ``start``: a name or number, with the
    parenthesised arguments that follow a name; ``(...)`` when long."""
    token = (
        re.match(r"[^\W\d]\w*|[\d.]+(?:[eE][+-]?\d+)?", text[start:]) if kind != "LPAR" else None
    )
    position = start + (len(token[0]) if token else 0)
    if token and not text.startswith("(", position):
        return token[0]
    depth = 0
    for end in range(position, min(position + _QUOTED, len(text))):
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        if depth == 0:
            return text[start : end + 1]
    return (token[0] if token else "") + "(...)"


def _statement_from(text: str, start: int) -> str:
    """The rest of the statement from ``start`` (to a newline or ';')."""
    statement = re.match(r"[^\n;#]*", text[start:])
    assert statement is not None  # it matches the empty string too
    rest = statement[0].strip()
    return rest if len(rest) <= _QUOTED else rest[: _QUOTED - 3] + "..."


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
    position = error.pos_in_stream
    assert position is not None  # Lark's lexer sets it
    char = text[position]
    span = Span(position, position + 1, error.line, error.column)
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
    if char == "=" or char == "<" or char == ">":
        hints[char] = "cgrad has no comparisons; '=' binds a name, as in a = x*y"
    hint = hints.get(char)
    if unicodedata.combining(char):
        shown, hint = (
            f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip(),
            _composed_hint(text, position),
        )
    return ParseError(
        f"unexpected character {shown}",
        span=span,
        hint=hint,
        source=text,
        origin=origin,
        type="syntax_error",
    )


def _composed_hint(text: str, position: int) -> str:
    """The hint for a combining accent in a name (an ``é`` written as ``e``
    and U+0301, decomposed; the lexer stops at its first mark): the letter
    as one character, if there is one."""
    end = position
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    letter = unicodedata.normalize("NFC", text[max(position - 1, 0) : end])
    hint = "a name's accented letter must be one character (composed, NFC)"
    if len(letter) == 1 and not unicodedata.combining(letter):
        hint += f": write {letter} (U+{ord(letter):04X})"
    return hint + "; cgrad's command line composes names itself"
