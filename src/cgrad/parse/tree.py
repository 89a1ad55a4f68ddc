"""The callbacks that build the AST, for both parsers (the fast loop of
parser.py and Lark's, lark_fallback.py): one per grammar alias or rule
name, with :data:`cgrad.parse.grammar.SHAPING` for the rules that make no
node. Apart from the grammar's module so that reading a valid program
straight into its graph (:mod:`cgrad.autodiff.reading`), which makes no
AST, never imports the syntax tree's classes: a cold start of ``cgrad
eval`` has no use for them.
"""

from __future__ import annotations

from sys import intern

from ..errors import Span
from .grammar import SHAPING, Callback, Place, Token
from .syntax import Binary, Binding, Call, Expression, Group, Name, Number, Unary


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
    span.end = rpar.start() + 1  # (see grammar.Token: ')' is one character)
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


def _group(place: Place, lpar: Token, inner: Expression, rpar: Token) -> Group:
    line, column = place(lpar)
    span = _ThawedSpan()
    span.start = lpar.start()
    span.end = rpar.start() + 1
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


CALLBACKS: dict[str, Callback] = {
    **SHAPING,
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
    "group": _group,
}
