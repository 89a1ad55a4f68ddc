"""A node of a graph as an object, made only when asked for (see
:mod:`cgrad.autodiff.graph`): a module of its own, so that a run that never
asks (``cgrad eval``) does not pay for making its class at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Span


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a graph, as an object: for the views and the tests (the
    passes read the graph's :class:`Columns`)."""

    id: int
    op: str  # INPUT, CONSTANT or the name of an entry in ops.OPS
    operands: tuple[int, ...]
    span: Span
    name: str | None = None  # the input's name, or a named constant's (pi, e)
    value: float | None = None  # the constant's value, for CONSTANT nodes
