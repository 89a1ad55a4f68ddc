"""The abstract syntax tree: frozen nodes, each with the span it came from.

Nodes compare and hash by identity (``eq=False``): the generated ``__eq__``
and ``__hash__`` of a frozen dataclass recurse into the children, and an
expression nested 100,000 deep must not recurse. Sharing of equal
subexpressions is the graph builder's job, on integer keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Span


@dataclass(frozen=True, slots=True, eq=False)
class Number:
    """A number as written: its ``text`` and the float it reads as."""

    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Name:
    """A name: an input, a constant (``pi``, ``e``) or a bound name."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Call:
    """A call of a function by name; ``function_span`` is the name's."""

    function: str
    function_span: Span
    arguments: tuple[Expression, ...]
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Unary:
    """``-a`` (op ``neg``) or ``+a`` (op ``plus``, which adds no graph node)."""

    op: str
    operand: Expression
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Binary:
    """An infix operation; ``op`` is the name of its entry in the op table."""

    op: str
    left: Expression
    right: Expression
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Group:
    """Parentheses: no node of their own, but they widen the source span."""

    inner: Expression
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """A statement ``name = value``; ``name_span`` is the name's."""

    name: str
    name_span: Span
    value: Expression
    span: Span


Expression = Number | Name | Call | Unary | Binary | Group
Statement = Binding | Expression


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    """A parsed program: its statements, in order, and the text they came from."""

    statements: tuple[Statement, ...]
    source: str
    # Where the source came from, for messages: a file name for @FILE programs.
    origin: str | None = None
