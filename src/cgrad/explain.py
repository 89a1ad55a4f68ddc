"""The passes written out for people: each forward step, each backward edge
(local derivative times upstream gradient), the sums where paths meet, and
the paths from the output to one input.

Everything here is recomputed from a one-point :class:`~cgrad.autodiff.evaluation.Result`
with the op table's own rules, in the engine's order, so the numbers are
the engine's numbers: the sums of :func:`passes` are the gradients that
``evaluate`` reports, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .autodiff.evaluation import Result
from .autodiff.graph import INPUT
from .errors import InputError
from .function import Function
from .ops import NUMERIC, OPS


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """One node of the forward pass: its op, its operands and its value."""

    node: int
    op: str
    operands: tuple[int, ...]
    value: float


@dataclass(frozen=True, slots=True)
class Edge:
    """What a node sends back to one of its operands: the local derivative
    d node / d operand, and its product with the node's gradient."""

    operand: int
    position: int  # which argument of the node the operand is
    local: float
    product: float


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One node of the backward pass, visited once its gradient is complete:
    ``terms`` are what its consumers sent it (more than one where paths
    meet; none for the output, whose gradient is the seed 1), ``gradient``
    their sum, ``edges`` what it sends on."""

    node: int
    gradient: float
    terms: tuple[float, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class Passes:
    """Both passes of one evaluation, step by step (see :func:`passes`)."""

    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]


@dataclass(frozen=True, slots=True)
class Path:
    """A path from the output down to an input: its nodes, the local
    derivative of each edge, and their product."""

    nodes: tuple[int, ...]
    locals: tuple[float, ...]
    product: float


@dataclass(frozen=True, slots=True)
class Paths:
    """The paths from the output to ``input``: the partial derivative is the
    sum of their products. ``count`` is the number of paths, which can be
    astronomical in a DAG; at most ``limit`` are listed in ``shown``."""

    input: str
    gradient: float
    count: int
    shown: tuple[Path, ...]


def _point_values(result: Result) -> list:
    if not result.node_values or np.ndim(result.value) != 0:
        raise InputError(
            "the passes can be shown for one point, not for arrays", type="usage_error"
        )
    if result.node_gradients is None:
        raise InputError("the backward pass needs mode='reverse'", type="usage_error")
    return result.node_values


def passes(function: Function, result: Result) -> Passes:
    """The forward and backward passes that produced ``result``."""
    return Passes(tuple(forward_steps(function, result)), tuple(backward_steps(function, result)))


def forward_steps(function: Function, result: Result) -> Iterator[ForwardStep]:
    """The steps of :func:`passes`' forward pass, made one at a time as they
    are used (a million nodes' steps held at once take gigabytes). A
    result that has no such steps is refused here, not when first read."""
    values = _point_values(result)
    reachable = function.plan(list(result.gradient)).reachable
    return _forward_steps(function.graph, values, reachable)


def _forward_steps(graph, values: list, reachable) -> Iterator[ForwardStep]:
    ops, operands = graph.columns.ops, graph.columns.operands
    for node_id, op in enumerate(ops):
        if reachable[node_id]:
            yield ForwardStep(node_id, op, operands[node_id], float(values[node_id]))


def backward_steps(function: Function, result: Result) -> Iterator[BackwardStep]:
    """The steps of :func:`passes`' backward pass, one at a time as
    :func:`forward_steps`; the terms sent to a node are kept only until it
    is visited."""
    values = _point_values(result)
    steps = function.plan(list(result.gradient))  # made once, kept by the function
    return _backward_steps(function.graph, values, steps)


def _backward_steps(graph, values: list, steps) -> Iterator[BackwardStep]:
    # The plan's steps are in descending node order, as this walk: read
    # alongside it, with no table of them.
    sends = iter(steps.backward_steps)
    send = next(sends, None)
    terms: dict[int, list[float]] = {}
    gradients: dict[int, float] = {graph.output: 1.0}
    for node_id in range(graph.output, -1, -1):
        gradient = gradients.pop(node_id, None)
        if gradient is None:
            continue
        edges = []
        while send is not None and send[0] > node_id:
            send = next(sends, None)
        if send is not None and send[0] == node_id:
            _, operands, rules = send
            arguments = [values[i] for i in operands]
            positions = _positions(operands)
            for operand, rule in rules:
                with np.errstate(all="ignore"):
                    local = float(rule(NUMERIC, values[node_id], *arguments))
                product = gradient * local
                position = positions[operand].pop(0)
                edges.append(Edge(operand, position, local, product))
                terms.setdefault(operand, []).append(product)
                # The engine's own order of addition, so the sums agree exactly.
                pending = gradients.get(operand)
                gradients[operand] = product if pending is None else pending + product
        yield BackwardStep(node_id, gradient, tuple(terms.pop(node_id, ())), tuple(edges))


def _path(entries: list[tuple[int, float, int]], last: int) -> Path:
    nodes, slopes = [], []
    entry = last
    while entry != -1:
        node_id, slope, entry = entries[entry]
        nodes.append(node_id)
        slopes.append(slope)
    nodes.reverse()
    slopes.reverse()
    # The first slope is the output's placeholder: a path has one per edge.
    product = 1.0
    for slope in slopes[1:]:
        product *= slope
    return Path(tuple(nodes), tuple(slopes[1:]), product)


def _positions(operands: tuple[int, ...]) -> dict[int, list[int]]:
    """Per operand id, its argument positions (``x*x`` has x at 0 and 1)."""
    positions: dict[int, list[int]] = {}
    for position, operand in enumerate(operands):
        positions.setdefault(operand, []).append(position)
    return positions


def paths(function: Function, result: Result, name: str, limit: int | None = 100) -> Paths:
    """The paths from the output to input ``name`` and what each contributes
    to d output / d name, the first ``limit`` of them (all if None) in
    depth-first order, left operand first."""
    values = _point_values(result)
    graph = function.graph
    function.check_wrt([name])
    if name not in result.gradient:
        raise InputError(
            f"the result holds no derivative with respect to {name}", type="usage_error"
        )
    target = graph.input_ids[name]
    # Paths from each node down to the input, counted with Python's unbounded
    # integers: x*x has two, and a chain of n shared squarings 2^n.
    counts = [0] * len(graph.nodes)
    counts[target] = 1
    for node in graph.nodes:
        if node.operands:
            counts[node.id] = sum(counts[i] for i in node.operands)
    locals_of: dict[tuple[int, int], float] = {}

    def local(node_id: int, position: int) -> float:
        key = (node_id, position)
        if key not in locals_of:
            node = graph.nodes[node_id]
            rule = OPS[node.op].derivative(position)
            arguments = [values[i] for i in node.operands]
            with np.errstate(all="ignore"):
                slope: Any = rule(NUMERIC, values[node_id], *arguments)  # a number here
            locals_of[key] = float(slope)
        return locals_of[key]

    shown: list[Path] = []
    # Depth first without recursion. A path is a chain of entries (node, the
    # local derivative of the edge into it, the entry it came from), so that
    # going one node deeper copies nothing: copying the path so far at each
    # step was quadratic in the depth of a long chain.
    entries: list[tuple[int, float, int]] = [(graph.output, 1.0, -1)]
    stack = [0]
    while stack and (limit is None or len(shown) < limit):
        entry = stack.pop()
        node_id = entries[entry][0]
        if node_id == target:
            shown.append(_path(entries, entry))
            continue
        node = graph.nodes[node_id]
        if node.op == INPUT:
            continue
        branches = []
        for position, operand in enumerate(node.operands):
            if counts[operand]:
                entries.append((operand, local(node_id, position), entry))
                branches.append(len(entries) - 1)
        stack.extend(reversed(branches))
    return Paths(name, float(result.gradient[name]), counts[graph.output], tuple(shown))
