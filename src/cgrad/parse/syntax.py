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
    value: float
    text: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Name:
    name: str
    span: Span


@dataclass(frozen=True, slots=True, eq=False)
class Call:
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
    name: str
    name_span: Span
    value: Expression
    span: Span


Expression = Number | Name | Call | Unary | Binary | Group
Statement = Binding | Expression


@dataclass(frozen=True, slots=True, eq=False)
class Program:
    statements: tuple[Statement, ...]
    source: str
    # Where the source came from, for messages: a file name for @FILE programs.
    origin: str | None = None


def children(node: Expression) -> tuple[Expression, ...]:
    """The direct subexpressions of ``node``, left to right."""
    match node:
        case Binary(left=left, right=right):
            return (left, right)
        case Unary(operand=operand):
            return (operand,)
        case Group(inner=inner):
            return (inner,)
        case Call(arguments=arguments):
            return arguments
        case _:
            return ()
