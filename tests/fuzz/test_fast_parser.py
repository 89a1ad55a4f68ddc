"""The fast parser (lalr.py) against Lark's: whatever the text, the same AST
or the same error.

``parser.parse`` runs the fast loop and falls back on Lark when the loop gives
up; here the fallback is also forced (``lark_only``) to get Lark's answer.
ASTs are compared field by field with an explicit stack: nodes compare by
identity, and a deep one must not recurse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import sys
import time
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz import ODD, TOKENS, examples, mutated

import cgrad
from cgrad.errors import Span
from cgrad.parse import lalr, parser
from test_oracle import programs


class _Refuses:
    def parse(self, text: str, max_tokens: int, max_depth: int):
        raise lalr.Unparsable


@contextlib.contextmanager
def lark_only():
    with mock.patch.object(parser, "_fast_parser", _Refuses):
        yield


def outcome(text: str) -> tuple:
    try:
        program = parser.parse(text)
    except cgrad.ParseError as error:
        return ("error", error.message, error.span, error.hint, error.type, error.source)
    return ("program", program.statements)


def assert_same(ours, theirs) -> None:
    """The same value: for an AST, the same node types and fields all the way down."""
    pending = [(ours, theirs, "")]
    while pending:
        a, b, where = pending.pop()
        # Not the values themselves in messages: a node's repr recurses.
        assert type(a) is type(b), (where, type(a), type(b))
        if isinstance(a, tuple):
            assert len(a) == len(b), where
            pending.extend((a[i], b[i], f"{where}[{i}]") for i in range(len(a)))
        elif dataclasses.is_dataclass(a) and not isinstance(a, Span):
            for field in dataclasses.fields(a):
                name = field.name
                pending.append((getattr(a, name), getattr(b, name), f"{where}.{name}"))
        else:
            assert a == b, (where, a, b)


def assert_both_paths_agree(text: str) -> None:
    ours = outcome(text)
    with lark_only():
        theirs = outcome(text)
    assert_same(ours, theirs)


def test_the_fast_parser_is_built_from_the_grammar_once():
    assert isinstance(parser._fast_parser(), lalr.Parser)
    assert parser._fast_parser() is parser._fast_parser()


VALID = [
    "",
    "x",
    "  x  ",
    "\ufeffx",
    "a = x*y\r\nb = sin(a)\r\na + b\r\n",
    "a = (x\n  *\n  y)\nb = sin(\n a\n)\na + b",
    "# only a comment",
    "x # a comment\n\n;;\n",
    "-x^2 + 2^-1 - x^-y^2 * --+x / 2**3**2",
    "min(1, 2, 3) + max(x) + f() + (((x)))",
    "x = 1; x = 2",
    "1e999 + .5 + 5. + 2.5E+4",
    "θ*α + _x1",
    "(x^\ny^\nz)",
]
INVALID = [
    "x)",
    "(x",
    "2x",
    "1.5.3",
    "x $",
    "a = 1\nb = a +* 2\nb",
    "f(,)",
    "x\n)",
    "x \u2212 y",
    "x +\n",
]


@pytest.mark.parametrize("text", VALID + INVALID)
def test_both_paths_agree_on(text):
    assert_both_paths_agree(text)


@pytest.mark.parametrize("text", VALID)
def test_the_fast_path_takes_valid_layouts(text):
    parser._fast_parser().parse(text, parser.MAX_TOKENS, parser.MAX_DEPTH)


@examples(500)
@given(program=programs(symbolic=False))
def test_valid_programs_take_the_fast_path_to_the_same_ast(program):
    ours = parser._fast_parser().parse(program.text, parser.MAX_TOKENS, parser.MAX_DEPTH)
    with lark_only():
        theirs = parser.parse(program.text).statements
    assert_same(ours, theirs)


@examples(2000)
@given(text=mutated())
def test_mutated_programs_get_the_same_ast_or_error(text):
    assert_both_paths_agree(text)


SOUP = st.lists(
    st.one_of(st.sampled_from(TOKENS[:-4] + ODD + [" ", "#c\n", "\r\n", "\n"]), st.characters())
).map("".join)


@examples(2000)
@given(text=SOUP)
def test_any_text_gets_the_same_ast_or_error(text):
    assert_both_paths_agree(text)


@examples(1000)
@given(
    text=st.one_of(mutated(), SOUP, programs(symbolic=False).map(lambda p: p.text)),
    max_tokens=st.integers(1, 40),
    max_depth=st.integers(1, 8),
)
def test_limits_are_met_at_the_same_token(text, max_tokens, max_depth):
    with mock.patch.multiple(parser, MAX_TOKENS=max_tokens, MAX_DEPTH=max_depth):
        assert_both_paths_agree(text)


@pytest.mark.parametrize(
    "text",
    [
        "sin(" * 3000 + "x" + ")*y + z" * 3000,
        " + ".join(f"sin(x*{i})" for i in range(1, 3001)),
        "(" * 3000 + "-x^" * 3000 + "2" + ")" * 3000,
        "a = 1\n" * 3000 + "a",
    ],
    ids=["chain", "sum", "nesting", "lines"],
)
def test_big_programs_get_the_same_ast(text):
    assert_both_paths_agree(text)


@pytest.mark.slow
def test_many_statements_take_linear_time():
    # Each statement splices into the list of those before it: copied
    # rather than grown, that list made a long program quadratic.
    def seconds(n: int) -> float:
        text = "a = 1\n" * n + "a"
        times = []
        # The parser's own work: the collector's passes over a heap that
        # grows with the program are not the parser's (cgrad.compile
        # pauses it), and under load they made the ratio swing past 8.
        gc.disable()
        try:
            for _ in range(3):
                start = time.process_time()
                parser.parse(text)
                times.append(time.process_time() - start)
        finally:
            gc.enable()
        return min(times)

    assert seconds(80_000) < 8 * seconds(20_000)


def test_a_million_deep_program_does_not_recurse():
    # With the limits lifted, as bench/run.py lifts them.
    n = 1_000_000
    with mock.patch.multiple(parser, MAX_TOKENS=sys.maxsize, MAX_DEPTH=sys.maxsize):
        (statement,) = parser.parse("-" * n + "x").statements
    for _ in range(n):
        assert statement.op == "neg"
        statement = statement.operand
    assert statement.name == "x"
