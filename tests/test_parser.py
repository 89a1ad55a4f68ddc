"""The language of SPEC section 1, through parse + graph + evaluate."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff import reading
from cgrad.autodiff.builder import build_graph
from cgrad.autodiff.graph import SpanColumn
from cgrad.autodiff.reading import graph_of_text
from cgrad.errors import Span
from cgrad.parse import grammar, lalr, parser, tree
from cgrad.parse.syntax import Binary, Binding, Call, Group, Name, Number, Unary
from test_graph import _programs as _graph_programs
from test_oracle import programs


def value(text: str, **values: float) -> float:
    return cgrad.compile(text).evaluate(values).value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12.0), ("1.5", 1.5), (".5", 0.5), ("5.", 5.0), ("1e-3", 1e-3), ("2.5E+4", 25000.0)],
)
def test_number_forms(text, expected):
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("2^3^2", {}, 512.0),  # right-associative
        ("2**3**2", {}, 512.0),  # ** is ^
        ("(2^3)^2", {}, 64.0),
        ("-x^2", {"x": 3.0}, -9.0),  # unary minus binds looser than ^
        ("-2^2", {}, -4.0),
        ("2^-1", {}, 0.5),  # a signed exponent, as in Python
        ("x^-y^2", {"x": 2.0, "y": 1.0}, 0.5),  # x^(-(y^2))
        ("x*-y", {"x": 2.0, "y": 3.0}, -6.0),
        ("x - -y", {"x": 2.0, "y": 3.0}, 5.0),
        ("1-2-3", {}, -4.0),  # left-associative
        ("8/4/2", {}, 1.0),
        ("2+3*4", {}, 14.0),
        ("2*3+4", {}, 10.0),
        ("2^-1*3", {}, 1.5),
        ("+x", {"x": 4.0}, 4.0),
        ("--x", {"x": 4.0}, 4.0),
        ("pi", {}, math.pi),
        ("e", {}, math.e),
        ("log(8, 2)", {}, 3.0),
        ("ln(e)", {}, 1.0),
        ("min(3, 1, 2)", {}, 1.0),
        ("max(3)", {}, 3.0),
        ("pow(2, 10)", {}, 1024.0),
        ("atan2(1, 1)", {}, math.pi / 4),
        ("hypot(3, 4)", {}, 5.0),
        ("0^0", {}, 1.0),
        ("sign(0)", {}, 0.0),
    ],
)
def test_operators_and_functions(text, values, expected):
    assert value(text, **values) == pytest.approx(expected, rel=1e-15)


def test_unicode_and_underscore_names():
    f = cgrad.compile("θ*α + _x1")
    assert f.inputs == ("θ", "α", "_x1")
    assert f.evaluate({"θ": 2, "α": 3, "_x1": 1}).value == 7.0


def test_inputs_in_order_of_first_appearance():
    assert cgrad.compile("z*(x+y)").inputs == ("z", "x", "y")
    assert cgrad.compile("a = y*x; a + z + x").inputs == ("y", "x", "z")


def test_program_without_inputs():
    r = cgrad.compile("2*pi").evaluate()
    assert r.value == 2 * math.pi
    assert r.gradient == {}


@pytest.mark.parametrize(
    "text",
    [
        "a = x*y; b = sin(a); a + b",
        "a = x*y\nb = sin(a)\na + b",
        "a = x*y;\n\n b = sin(a) # comment\n\na + b;",
        "a = x*y\r\nb = sin(a)\r\na + b\r\n",
        "\ufeffa = x*y\nb = sin(a)\na + b",
        "a = (x\n  *\n  y)\nb = sin(\n a\n)\na + b",
        "# leading comment\na = x*y; b = sin(a); a + b  # trailing comment",
    ],
)
def test_statement_layouts(text):
    r = cgrad.compile(text).evaluate(x=0.5, y=2.0)
    assert r.value == pytest.approx(1.0 + math.sin(1.0))


def test_spans_point_at_the_source():
    (statement,) = parser.parse("(x+y)*z").statements
    assert isinstance(statement, Binary) and statement.op == "mul"
    assert isinstance(statement.left, Group)
    assert (statement.left.span.start, statement.left.span.end) == (0, 5)
    assert isinstance(statement.right, Name) and statement.right.span.column == 7


def test_the_graphs_callbacks_name_the_rules_the_asts_name():
    # Both take grammar.SHAPING's ("program", "arguments"); every other rule
    # has one of each, the graph's making graph nodes, never AST nodes.
    assert set(reading._CALLBACKS) == set(tree.CALLBACKS)
    shared = {rule for rule in tree.CALLBACKS if reading._CALLBACKS[rule] is tree.CALLBACKS[rule]}
    assert shared == {"program", "arguments"}


def test_nodes_and_spans_are_what_their_classes_make():
    # The callbacks make them without their classes' __init__ (see
    # tree._thawed): each must be of its class, with every field set,
    # frozen, and equal (by value, as repr shows it) to what the class makes.
    text = "a = -f(x, 2)^(y) / +1.5\nb = g()\na * b - 3"
    pending = list(parser.parse(text).statements)
    made_of = set()
    while pending:
        made = pending.pop()
        made_of.add(type(made))
        fields = [getattr(made, field.name) for field in dataclasses.fields(made)]
        again = type(made)(*fields)
        assert repr(made) == repr(again)
        if isinstance(made, Span):
            assert made == again and hash(made) == hash(again)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(made, dataclasses.fields(made)[0].name, None)
        for value in fields:
            pending.extend(value if isinstance(value, tuple) else [value])
        pending = [value for value in pending if dataclasses.is_dataclass(value)]
    assert made_of == {Binding, Binary, Unary, Call, Number, Name, Group, Span}


def test_a_name_written_many_times_is_one_string():
    # A big program names the same few functions and inputs over and over.
    (statement,) = parser.parse("sin(theta) + sin(theta)").statements
    left, right = statement.left, statement.right
    assert left.function is right.function
    assert left.arguments[0].name is right.arguments[0].name


def test_parser_is_built_once():
    from cgrad.parse.lark_fallback import lark_parser

    assert lark_parser() is lark_parser()
    assert parser._fast_parser() is parser._fast_parser()


def test_the_shipped_tables_are_the_grammars():
    # The fast loop runs on tables shipped with the package (parse_tables.json)
    # so that a run need not build Lark's parser: they must be what Lark
    # builds from the grammar now, numbered the same way whatever the hash seed.
    shipped = json.loads(Path(parser.TABLES_FILE).read_text(encoding="utf-8"))
    assert shipped["grammar"] == parser.grammar_text(), (
        "the grammar changed: write the tables again with "
        'python -c "from cgrad.parse.parser import write_tables; write_tables()"'
    )
    assert shipped == {
        "format": lalr.TABLES_FORMAT,
        "grammar": parser.grammar_text(),
        "tables": parser.read_tables(),
    }


def test_tables_for_another_grammar_are_not_used(tmp_path, monkeypatch):
    stale = json.loads(Path(parser.TABLES_FILE).read_text(encoding="utf-8"))
    stale["grammar"] += "\n// edited"
    stale["tables"]["actions"] = []  # would fail at the first token if used
    (tmp_path / "tables.json").write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.setattr(parser, "TABLES_FILE", tmp_path / "tables.json")
    assert parser._tables() == parser.read_tables()
    monkeypatch.setattr(parser, "TABLES_FILE", tmp_path / "missing.json")
    assert parser._tables() == parser.read_tables()


def test_a_valid_program_never_imports_lark():
    # Lark is for the text the fast loop gives up on: its import and its
    # parser are 40 ms of a cold start.
    script = (
        "import sys, cgrad\n"
        "cgrad.compile('a = (x+y)*z\\nsin(a)^2 + -1e-3').evaluate(x=1, y=2, z=3)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'lark'], 'lark imported'\n"
        "try:\n"
        "    cgrad.compile('2x')\n"
        "except cgrad.ParseError:\n"
        "    assert 'lark' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def error_of(text: str) -> cgrad.ParseError:
    with pytest.raises(cgrad.ParseError) as caught:
        cgrad.compile(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "type", "line", "column", "message", "hint"),
    [
        (
            "2x",
            "syntax_error",
            1,
            2,
            "missing operator before a name 'x'",
            "to multiply, write 2*x",
        ),
        ("3 y", "syntax_error", 1, 3, "missing operator", "write 3*y"),
        ("(x+y)(x-y)", "syntax_error", 1, 6, "missing operator", "write * between ')' and '('"),
        ("(x+y)*z x=1 y=2", "syntax_error", 1, 9, "missing operator", "outside its quotes"),
        ("(x+y", "syntax_error", 1, 1, "this '(' is never closed", "add the missing ')'"),
        ("x)", "syntax_error", 1, 2, "unmatched ')'", None),
        ("x+", "syntax_error", 1, 3, "the expression ends too early", "operand"),
        ("x + $", "syntax_error", 1, 5, "unexpected character '$'", None),
        ("x +\ny^", "syntax_error", 1, 4, "the line ends too early", "operand"),
        ("x +; y", "syntax_error", 1, 4, "unexpected ';'", "operand"),
        ("a = 1\nb = a +* 2\nb", "syntax_error", 2, 8, "unexpected '*'", None),
        ("1.5.3", "syntax_error", 1, 4, "a number has more than one '.'", None),
        ("2 = x", "syntax_error", 1, 3, "unexpected '='", "binds a name"),
        ("a, b", "syntax_error", 1, 2, "unexpected ','", None),
        ("", "syntax_error", 1, 1, "the program is empty", None),
        ("a = x", "syntax_error", 1, 1, "the program ends with a binding", "...; a"),
        # A sum whose next term starts the next line: two statements, the
        # first would go unused (it gave c alone, silently).
        (
            "a*x^2 + b*x\n  + c",
            "syntax_error",
            1,
            1,
            "only the last statement may be an expression",
            "put the whole of it in parentheses",
        ),  # fmt: skip
        ("t = 1; x*y; x + 1", "syntax_error", 1, 8, "this one would go unused", "bind it"),
        ("sin x", "syntax_error", 1, 5, "missing operator", "to call sin, write sin(x)"),
        ("2(x+1)", "syntax_error", 1, 2, "missing operator before '('", "write 2*(...)"),
        ("SIN(x)", "unknown_function", 1, 1, "unknown function 'SIN'", "did you mean sin?"),
        ("x² + 1", "syntax_error", 1, 2, "'²' cannot be part of a name", "write x^2"),
        ("y = x³; y", "syntax_error", 1, 6, "'³' cannot be part of a name", "write x^3"),
        ("x\x00+1", "syntax_error", 1, 2, "unexpected character U+0000", None),
        ("x + ٣", "syntax_error", 1, 5, "unexpected character '٣'", None),
        # A decomposed é (e and a combining accent): the composed letter.
        (
            "e\u0301*2",
            "syntax_error",
            1,
            2,
            "unexpected character U+0301 COMBINING ACUTE",
            "(composed, NFC): write é (U+00E9)",
        ),
        ("sinn(x)", "unknown_function", 1, 1, "unknown function 'sinn'", "did you mean sin"),
        ("2 + foo(x)", "unknown_function", 1, 5, "unknown function 'foo'", "write foo*(...)"),
        ("ln(x, 2)", "arity_error", 1, 1, "ln() takes one argument, but 2 were given", None),
        ("log()", "arity_error", 1, 1, "log() takes one or two arguments, but none", None),
        ("atan2(x)", "arity_error", 1, 1, "atan2() takes two arguments, but one was given", None),
        ("max()", "arity_error", 1, 1, "max() takes one or more arguments", None),
        ("pi = 3; pi", "name_error", 1, 1, "'pi' is a constant and cannot be assigned", None),
        ("sin = 3; sin", "name_error", 1, 1, "'sin' is a function and cannot be assigned", None),
        ("a = 1; a = 2; a", "name_error", 1, 8, "'a' is bound twice", "first bound at line 1"),
        ("a = b; b = 1; a", "name_error", 1, 5, "'b' is used before it is bound", None),
        ("x = x + 1; x", "name_error", 1, 5, "'x' is used before it is bound", None),
        ("sin + 1", "name_error", 1, 1, "'sin' is a function, not a value", "sin(x)"),
        ("step*x", "name_error", 1, 1, "'step' is a function, not a value", "step(x, y)"),
        ("atan2 + 1", "name_error", 1, 1, "'atan2' is a function", "as in atan2(x, y)"),
        ("e(2)", "name_error", 1, 1, "'e' is a constant, not a function", None),
        (
            "__import__('os').system('ls')",
            "syntax_error",
            1,
            12,
            "unexpected character",
            "no strings",
        ),
    ],
)
def test_errors_say_what_and_where(text, type, line, column, message, hint):
    error = error_of(text)
    assert error.type == type
    assert (error.line, error.column) == (line, column)
    assert error.message.startswith(message) or message in error.message
    if hint is None:
        assert error.hint is None or isinstance(error.hint, str)
    else:
        assert hint in error.hint


def test_error_rendering_has_a_caret_under_the_spot():
    rendered = str(error_of("a = 1\nb = a +* 2\nb"))
    assert rendered.splitlines() == [
        "unexpected '*' at line 2, column 8",
        "  b = a +* 2",
        "         ^",
        "hint: an operand (a number, a name or a parenthesised expression) is missing here",
    ]


def test_control_characters_are_not_echoed():
    assert str(error_of("x\x07 $")).splitlines() == [
        "unexpected character U+0007 at line 1, column 2",
        "  x? $",
        "   ^",
    ]


def test_caret_follows_tabs():
    rendered = str(error_of("\tx $"))
    assert rendered.splitlines()[1:] == ["  \tx $", "  \t  ^"]


def test_errors_are_cgrad_errors():
    assert issubclass(cgrad.ParseError, cgrad.CgradError)
    assert isinstance(error_of("2x"), cgrad.CgradError)


@pytest.mark.parametrize(
    ("text", "column", "hint"),
    [
        ("sin^2(x)", 6, "for a power of sin, write sin(x)^2"),
        ("sin ^ 2 (x*y)", 9, "for a power of sin, write sin(x*y)^2"),
        ("log^2 x", 7, "for a power of log, write log(x)^2"),
        (
            "cos^-1(x)",
            7,
            "for a power of cos, write cos(x)^-1; for the inverse function, write acos(x)",
        ),
        (
            "d/dx x^2",
            6,
            'cgrad has no d/dx notation; for the derivative, run: cgrad diff "x^2" --wrt x',
        ),
        (
            "a = d/dy sin(y)\na",
            10,
            'cgrad has no d/dy notation; for the derivative, run: cgrad diff "sin(y)" --wrt y',
        ),
        ("sin(x)cos(x)", 7, "to multiply, write sin(x)*cos(x)"),
        ("sin(x) cos(y+1)", 8, "to multiply, write sin(x)*cos(y+1)"),
        ("(x+1)y", 6, "to multiply, write (x+1)*y"),
        ("x sin(x)", 3, "to multiply, write x*sin(x)"),
        ("sin(x)2", 7, "to multiply, write sin(x)*2"),
        ("sin(" + "x" * 60 + ")cos(x)", 66, "to multiply, write (...)*cos(x)"),
    ],
)
def test_hints_for_notations_cgrad_does_not_have(text, column, hint):
    error = error_of(text)
    assert (error.type, error.column) == ("syntax_error", column)
    assert error.hint == hint


@pytest.mark.parametrize("x", [1.0, np.array([1.0, 2.0, 3.0])], ids=["point", "array"])
def test_a_literal_that_underflows_is_warned_about_as_one_that_overflows(x):
    warnings = cgrad.compile("x + 1e-400").evaluate({"x": x}).warnings
    assert [(w.type, w.message, w.node) for w in warnings] == [
        (
            "underflow",
            "the number `1e-400` (node @1, line 1, column 5) is too small for float64 "
            "and becomes 0",
            1,
        )
    ]
    overflow = cgrad.compile("x * 1e309").evaluate({"x": x}).warnings
    assert [w.message for w in overflow][:1] == [
        "the number `1e309` (node @1, line 1, column 5) is too large for float64 "
        "and becomes Infinity"
    ]


@pytest.mark.parametrize("text", ["x + 0", "x + 0.0e-999", "x + 000.000", "x + 5e-324", "x + pi"])
def test_zeros_and_tiny_numbers_that_fit_are_not_underflows(text):
    assert cgrad.compile(text).evaluate({"x": 1.0}).warnings == ()


# --------------------------------------------------------------------------
# Text to graph in one pass (autodiff/reading.py): what parse and build make.


def _graph_or_error(make) -> tuple:
    """What a way of reading a program gives: the graph, node by node with
    its fields, or the error as the user sees it."""
    try:
        graph = make()
    except cgrad.ParseError as error:
        return ("error", error.type, error.span, error.render(), error.hint)
    nodes = [(n.id, n.op, n.operands, n.span, n.name, n.value) for n in graph.nodes]
    fields = (graph.output, graph.inputs, graph.input_ids, graph.bindings, graph.source)
    return nodes, fields, graph.depends_on_input, graph.columns.op_ids


_PIECES = ["x", "y", "t", "2", "1e999", "pi", "sin", "min", "(", ")", ",", "+", "-", "*", "^", "="]


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        _graph_programs(),
        programs(symbolic=False).map(lambda program: program.text),
        st.lists(st.sampled_from([*_PIECES, ";", "\n", " "]), max_size=12).map("".join),
    )
)
def test_reading_text_in_one_pass_gives_what_parse_then_build_gives(text):
    in_one_pass = _graph_or_error(lambda: graph_of_text(text))
    assert in_one_pass == _graph_or_error(lambda: build_graph(parser.parse(text)))


def test_a_valid_program_is_read_without_an_ast(monkeypatch):
    def no_ast(*arguments, **keywords):
        raise AssertionError("parsed into an AST")

    monkeypatch.setattr(reading, "parse", no_ast)
    f = cgrad.compile("a = x*y; b = sin(a)\n(a + b*exp(-z^2)) / +2")
    assert f.inputs == ("x", "y", "z")
    # And an invalid one is read the usual way, for the message.
    with pytest.raises(AssertionError, match="parsed into an AST"):
        cgrad.compile("a = x; a = 2; a")


@pytest.mark.parametrize("text", ["x" + "+x" * 20, "(" * 20 + "x" + ")" * 20])
def test_reading_in_one_pass_stops_at_the_limits_with_the_same_error(monkeypatch, text):
    monkeypatch.setattr(parser, "MAX_TOKENS", 30)
    monkeypatch.setattr(parser, "MAX_DEPTH", 10)
    expected = _graph_or_error(lambda: build_graph(parser.parse(text)))
    assert expected[:2] == ("error", "limit_exceeded")
    assert _graph_or_error(lambda: graph_of_text(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x + y\n  z + w", "limit"),  # the fourth token a newline: counted in any state
        ("(x +\n  y) + w", "limit"),  # counted inside parentheses too
        ("x + y z + w", "syntax"),  # no action for the fourth: Lark's lexer refuses it first
        ("x + y  ", "graph"),  # three tokens and blanks: within the limit
        ("x + y # four + tokens here", "graph"),  # a comment is no token
    ],
)
def test_a_text_longer_than_the_token_limit_meets_it_where_lark_does(monkeypatch, text, expected):
    # The fast loop counts such a text's tokens before it runs and stops
    # where the first token beyond the limit starts.
    from cgrad.parse import lark_fallback

    monkeypatch.setattr(parser, "MAX_TOKENS", 3)
    assert len(text) > parser.MAX_TOKENS
    limits = (parser.MAX_TOKENS, parser.MAX_DEPTH)
    try:
        fast = repr(parser._fast_parser().parse(text, *limits))
    except lalr.Unparsable:
        fast = "unparsable"
    except grammar.LimitError as limited:
        fast = f"limit {limited.limit} {limited.span}"
    try:
        slow = repr(lark_fallback.parse(text, None, *limits))
    except grammar.LimitError as limited:
        slow = f"limit {limited.limit} {limited.span}"
    except cgrad.ParseError:
        slow = "unparsable"
    assert fast == slow
    assert fast.split()[0] == {"limit": "limit", "syntax": "unparsable"}.get(
        expected, fast.split()[0]
    )
    got = _graph_or_error(lambda: graph_of_text(text))
    assert got == _graph_or_error(lambda: build_graph(parser.parse(text)))
    assert (got[0] == "error") == (expected != "graph")
    if expected == "limit":
        assert got[1] == "limit_exceeded" and text[got[2].start : got[2].end] == "\n"


def test_spans_kept_as_offsets_are_the_spans_of_the_ast():
    text = "a = (x\n  + y);\r\nθ = (a\n * 2); sin(θ)^-a"
    graph = graph_of_text(text)
    assert isinstance(graph.columns.spans, SpanColumn)
    assert list(graph.columns.spans) == [n.span for n in build_graph(parser.parse(text)).nodes]
    assert graph.columns.spans[-2:] == [graph.columns.spans[-2], graph.columns.spans[-1]]
    copied = pickle.loads(pickle.dumps(graph.columns.spans))
    assert list(copied) == list(graph.columns.spans)


SPACED = [
    "( x + y ) * z",
    "sin (\tx )  ^  - y + 1",
    "a = max( x ,  y )\n a",
    "f = (x *  # a comment after an operator\n  y) ; g = -  f\t;\n(  f / g ) ** 2",
    "f = x *  # the line ends too early\n  y ; f",
    "log ( x ,  2 )   -   + ( y )  # and at the end",
    "max( x ,\n y , ( z ) )",
]


@pytest.mark.parametrize("text", SPACED)
def test_the_fast_loop_reads_whitespace_after_a_token_as_lark_does(text):
    # An operator's match takes in what is ignored after it: the syntax
    # tree, its spans included, is Lark's (compared as text: its nodes are
    # equal only to themselves), and what Lark refuses the loop gives up on.
    from cgrad.parse import lark_fallback

    limits = (parser.MAX_TOKENS, parser.MAX_DEPTH)
    try:
        fast = repr(parser._fast_parser().parse(text, *limits))
    except lalr.Unparsable:
        fast = "unparsable"
    try:
        slow = repr(lark_fallback.parse(text, None, *limits))
    except cgrad.ParseError:
        slow = "unparsable"
    assert fast == slow


@pytest.mark.parametrize(("text", "limit"), [("x +  y +\t z + w", "tokens"), ("- -  - x", "nests")])
def test_a_limit_met_at_an_operator_points_at_the_operator_alone(monkeypatch, text, limit):
    monkeypatch.setattr(parser, "MAX_TOKENS", 3)  # the second '+' is the fourth
    monkeypatch.setattr(parser, "MAX_DEPTH", 2)  # the third '-' is the third sign
    with pytest.raises(cgrad.ParseError) as raised:
        cgrad.compile(text)
    assert raised.value.type == "limit_exceeded"
    span = raised.value.span
    assert text[span.start : span.end] in {"+", "-"} and limit in str(raised.value)


@pytest.mark.parametrize(
    ("ignored", "short"),
    [
        (["#[^\n]*", "[ \t]+"], True),  # blanks, then at most a comment
        (["[ \t]+"], True),
        (["[ \n]+", "#[^\n]*"], False),  # blanks that end lines: a comment may come before them
        (["a|#[^\n]*", "[ ]+"], False),  # not a comment alone
        ([" #[^\n]*", "[ ]+"], False),  # a comment that starts with a blank
        (["[ ]+", "[\t]+"], False),
        # A run of one other character (the BOM) ends what is taken in: a
        # token of its own.
        (["#[^\n]*", "[ \t]+", "\\ufeff+"], True),
    ],
)
def test_what_is_ignored_after_a_fixed_string_is_written_short_only_where_that_is_the_same(
    ignored, short
):
    from cgrad.parse import tables

    trailing = tables._trailing(ignored)
    general = f"(?:{'|'.join(ignored)})*"
    assert (trailing != general) == short
    texts = ["", " ", "  #c", "\t# c d\n x", " \n# c", "#c\n ", "a #", " a", "\t \t#"]
    for text in [*texts, " \ufeff #c", "\ufeff\ufeff ", "#c\ufeff"]:
        ours = re.match(trailing, text)
        theirs = re.match(general, text)
        assert ours is not None and theirs is not None, text
        # The same end, or an earlier one where what follows is ignored too.
        rest = text[ours.end() : theirs.end()]
        assert ours.end() <= theirs.end() and re.fullmatch(general, rest), text
        assert ours.end() == theirs.end() or rest.startswith("\ufeff"), text


def test_a_lone_carriage_return_is_named_in_the_error_it_causes():
    # Old Mac line ends: the carriage return is read as a blank, so the two
    # statements run together and the error said only "to multiply".
    with pytest.raises(cgrad.ParseError) as raised:
        cgrad.compile("a=x*y\ra+1")
    assert raised.value.hint == (
        "this line holds a carriage return with no line feed after it, which is read as a "
        "blank, not as a line end: end lines with a line feed (\\n); to multiply, write y*a"
    )
    with pytest.raises(cgrad.ParseError) as raised:
        cgrad.compile("a=x*y\r\na+")  # CRLF line ends: nothing to say of them
    assert "carriage return" not in (raised.value.hint or "")
