"""Program text to graph in one pass: the parser's reductions make graph
nodes directly, with no AST in between (:func:`graph_of_text`, what
``cgrad.compile`` runs).

The fast loop (:mod:`cgrad.parse.lalr`) runs the grammar's tables with the
callbacks below instead of the AST's: each reduction hands on a node id and
the offsets of the text it came from, and the builder's own methods
(:class:`~cgrad.autodiff.builder.GraphBuilder`) check names and calls and
share equal nodes, as they do for an AST. A big program so never exists as
millions of AST objects (most of its memory while its graph was built from
them) and is walked once, not twice.

Valid programs only: where the text does not parse, or does not check (an
unknown function, a name used before it is bound, ...), the program is read
again the usual way, parse then build, whose errors are the messages: which
error comes first is theirs to say. Nodes are made in the AST walk's order
(operands left to right, each before its consumer), so both ways give the
same graph; tests/test_graph.py checks that they do.
"""

from __future__ import annotations

from collections.abc import Callable
from sys import intern
from typing import Any

from ..errors import ParseError
from ..parse.grammar import SHAPING, Token
from ..parse.parser import parse, reduce
from .builder import GraphBuilder, build_graph, taken_once
from .graph import Graph

# A reduction's value: the id of its node, and the offsets of its text.
Read = tuple[int, int, int]


class _Irregular(Exception):  # noqa: N818 - a signal to read the program again, not an error
    """The program does not check where reading it in one pass can tell:
    read it again, parse then build, for the error to report."""


def graph_of_text(text: str, origin: str | None = None) -> Graph:
    """Parse and check ``text`` and build its graph (as
    ``build_graph(parse(text, origin))`` does); raise :class:`ParseError` if
    it is wrong."""
    builder = GraphBuilder(text, origin, ())
    statements = None
    try:
        statements = reduce(text, _CALLBACKS, builder, origin)
        # Bindings (None), then one expression: the last statement (else the
        # usual way says what is wrong).
        if statements and statements[-1] is not None and not any(statements[:-1]):
            return builder.build(statements[-1][0])
    except (_Irregular, ParseError) as irregular:
        if getattr(irregular, "type", None) == "limit_exceeded":
            raise  # the same error as parse's: every token before it is valid
    # What was read goes before the text is read again (at a million
    # terms, hundreds of megabytes).
    del builder, statements
    return build_graph(parse(text, origin))


def _binary(op: str) -> Callable[..., Read]:
    def make(builder: GraphBuilder, left: Read, right: Read) -> Read:
        start, end = left[1], right[2]
        return builder.node(op, (left[0], right[0]), start, end), start, end

    return make


def _pow(builder: GraphBuilder, base: Read, power: Token, exponent: Read) -> Read:
    start, end = base[1], exponent[2]
    return builder.node("pow", (base[0], exponent[0]), start, end), start, end


def _neg(builder: GraphBuilder, sign: Token, operand: Read) -> Read:
    start, end = sign.start(), operand[2]
    return builder.node("neg", (operand[0],), start, end), start, end


def _plus(builder: GraphBuilder, sign: Token, operand: Read) -> Read:
    return operand[0], sign.start(), operand[2]  # +a is a, with no node of its own


def _number(builder: GraphBuilder, token: Token) -> Read:
    # float() gives inf for 1e999; the engine warns when it is used.
    value = float(token.group())
    start, end = token.span()
    return builder.constant(value, start, end), start, end


def _name(builder: GraphBuilder, token: Token) -> Read:
    name = token.group()
    start, end = token.span()
    node_id = builder.resolved.get(name)
    if node_id is None:
        node_id = builder.name(intern(name), start)
    return node_id, start, end


def _call(
    builder: GraphBuilder, name: Token, lpar: Token, arguments: tuple[Read, ...], rpar: Token
) -> Read:
    function = name.group()
    count = len(arguments)
    start, end = name.start(), rpar.start() + 1  # (see Token: ')' is one character)
    op = builder.calls.get((function, count)) or builder.check_call(function, count, start, end)
    if count == 1:  # most calls: no list to make the key from
        key: tuple[int, ...] = (arguments[0][0],)
    else:
        key = taken_once(op, tuple([argument[0] for argument in arguments]))
    return builder.node(op, key, start, end), start, end


def _call_without_arguments(builder: GraphBuilder, *tokens: Token) -> Read:
    raise _Irregular  # no function takes none: the usual way says so


def _group(builder: GraphBuilder, lpar: Token, inner: Read, rpar: Token) -> Read:
    return inner[0], lpar.start(), rpar.start() + 1


def _binding(builder: GraphBuilder, name: Token, equals: Token, value: Read) -> None:
    bound = intern(name.group())
    if bound in builder.resolved:
        # Used before this binding, or bound twice: the usual way has the
        # program's bindings ahead of its names, and the right message.
        raise _Irregular
    builder.check_binding(bound, name.start())
    builder.bind(bound, name.start(), value[0])


# The grammar's callbacks, each made to make graph nodes; "program" and
# "arguments" those of the AST (grammar.SHAPING: the statements; the
# expressions, commas left out). tests/test_parser.py checks that these
# name the rules that the AST's callbacks name.
_OWN: dict[str, Callable[..., Any]] = {op: _binary(op) for op in ("add", "sub", "mul", "div")}
_OWN.update(
    binding=_binding,
    pow=_pow,
    neg=_neg,
    plus=_plus,
    number=_number,
    name=_name,
    call=_call,
    call_without_arguments=_call_without_arguments,
    group=_group,
)
_CALLBACKS = {**SHAPING, **_OWN}
