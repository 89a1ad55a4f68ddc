"""Forward pass, reverse-mode backward pass and forward mode over a Graph.

Values are numpy float64 scalars or arrays; the op table's functions are
ufuncs or built from them, so one code path serves one point and a million
points (arrays broadcast against each other and against scalars). Every pass
is a loop over the node list, which is in topological order: no recursion.

Checking every node for NaN and inf on every pass would tax the common case,
so the checks run only when the result holds a non-finite number, to find
the node where it was born (see :func:`_explain_non_finite`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Literal

import numpy as np

from .diagnostics import Diagnostics, EvaluationWarning
from .graph import CONSTANT, INPUT, Graph
from .ops import MINUS_ONE, NUMERIC, ONE, OPS

Mode = Literal["reverse", "forward"]


@dataclass(frozen=True, eq=False)
class Result:
    """The value of the output and its partial derivatives.

    ``value`` and each gradient entry are floats when every input was a
    single number, else numpy arrays of the broadcast shape of the inputs.
    """

    value: float | np.ndarray
    gradient: dict[str, float | np.ndarray]
    warnings: tuple[EvaluationWarning, ...] = ()
    # Per node, for rendering: its value, and its gradient (the adjoint,
    # d output / d node) when the backward pass ran, else None.
    node_values: list = field(default_factory=list, repr=False)
    node_gradients: list | None = field(default=None, repr=False)


def forward(graph: Graph, inputs: Mapping[str, np.ndarray]) -> list:
    """The value of every node, in id order."""
    values: list = [None] * len(graph.nodes)
    for node in graph.nodes:
        if node.op == INPUT:
            values[node.id] = inputs[node.name]
        elif node.op == CONSTANT:
            values[node.id] = np.float64(node.value)
        else:
            values[node.id] = OPS[node.op].forward(*[values[i] for i in node.operands])
    return values


def _needs_derivative(graph: Graph, wrt_ids: set[int]) -> list[bool]:
    """Per node: does it depend on one of the inputs we differentiate by?"""
    needed = [False] * len(graph.nodes)
    for node in graph.nodes:
        needed[node.id] = node.id in wrt_ids or any(needed[i] for i in node.operands)
    return needed


def backward(graph: Graph, values: list, needed: list[bool]) -> list:
    """The adjoint d(output)/d(node) of every node (None where no path
    leads from the node to the output through nodes that need one)."""
    adjoints: list = [None] * len(graph.nodes)
    adjoints[graph.output] = np.float64(1.0)
    for node in reversed(graph.nodes[: graph.output + 1]):
        upstream = adjoints[node.id]
        if upstream is None or not node.operands or not needed[node.id]:
            continue
        op = OPS[node.op]
        arguments = [values[i] for i in node.operands]
        out = values[node.id]
        for position, operand in enumerate(node.operands):
            if not needed[operand]:
                continue
            local = op.derivative(position)(NUMERIC, out, *arguments)
            # The slopes of + and - are ops.ONE and ops.MINUS_ONE (checked by
            # identity): no need to multiply whole arrays by them.
            if local is ONE:
                contribution = upstream
            elif local is MINUS_ONE:
                contribution = -upstream
            else:
                contribution = upstream * local
            pending = adjoints[operand]
            # Fan-out: a node used in several places sums its paths.
            adjoints[operand] = contribution if pending is None else pending + contribution
    return adjoints


def forward_mode(graph: Graph, values: list, wrt: Sequence[str]) -> dict[str, object]:
    """d(output)/d(input) for each input in ``wrt``, one tangent pass each."""
    tangents_of_output: dict[str, object] = {}
    for name in wrt:
        tangents: list = [None] * (graph.output + 1)
        if name in graph.input_ids and graph.input_ids[name] <= graph.output:
            tangents[graph.input_ids[name]] = np.float64(1.0)
        for node in graph.nodes[: graph.output + 1]:
            if node.operands:
                tangents[node.id] = OPS[node.op].tangent(
                    NUMERIC,
                    values[node.id],
                    [values[i] for i in node.operands],
                    [tangents[i] for i in node.operands],
                )
        tangents_of_output[name] = tangents[graph.output]
    return tangents_of_output


def evaluate_graph(
    graph: Graph,
    inputs: Mapping[str, object],
    wrt: Sequence[str] | None = None,
    mode: Mode = "reverse",
) -> Result:
    """Value and partials of ``graph`` at ``inputs`` (names to numbers or arrays).

    The caller has checked that ``inputs`` covers ``graph.inputs`` and that
    ``wrt`` names inputs; :class:`cgrad.Function` does both.
    """
    # A single number becomes a numpy scalar (not a 0-d array), so that
    # every node value of a point evaluation is a float64.
    arrays = {name: _as_float64(inputs[name]) for name in graph.inputs}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values())) if arrays else ()
    scalar = shape == ()
    wrt = list(graph.inputs) if wrt is None else [n for n in graph.inputs if n in set(wrt)]

    with np.errstate(all="ignore"):
        values = forward(graph, arrays)
        needed = _needs_derivative(graph, {graph.input_ids[name] for name in wrt})
        adjoints = None
        if mode == "reverse":
            adjoints = backward(graph, values, needed)
            raw = {name: adjoints[graph.input_ids[name]] for name in wrt}
        else:
            raw = forward_mode(graph, values, wrt)
        gradient = {name: _shaped(g, shape, scalar) for name, g in raw.items()}
        value = _shaped(values[graph.output], shape, scalar)

        diagnostics = Diagnostics(graph, shape)
        reachable = graph.reachable()
        _report_kinks(graph, values, needed, reachable, diagnostics)
        if not _all_finite(value, *gradient.values()):
            _explain_non_finite(graph, arrays, values, needed, reachable, diagnostics)
            for name, g in gradient.items():
                if not diagnostics.warnings and not _all_finite(g):
                    diagnostics.non_finite_gradient(name, g)

    return Result(
        value=value,
        gradient=gradient,
        warnings=tuple(diagnostics.warnings),
        node_values=values,
        node_gradients=adjoints,
    )


def _as_float64(value):
    array = np.asarray(value, dtype=np.float64)
    return array[()] if array.ndim == 0 else array


def _shaped(value, shape: tuple[int, ...], scalar: bool):
    """A float for a single point; else an array of the full broadcast shape
    (d output / d input is zero where no path leads, but still present)."""
    if value is None:
        value = 0.0
    if scalar:
        return float(value)
    return np.array(np.broadcast_to(value, shape), dtype=np.float64)


def _all_finite(*values) -> bool:
    return all(bool(np.all(np.isfinite(v))) for v in values)


def _report_kinks(graph, values, needed, reachable, diagnostics: Diagnostics) -> None:
    for node in graph.nodes:
        op = OPS.get(node.op)
        if op is None or op.kink is None or not (needed[node.id] and reachable[node.id]):
            continue
        mask = op.kink.at(NUMERIC, values[node.id], *[values[i] for i in node.operands])
        if np.any(mask):
            diagnostics.kink(node.id, mask, values)


def _explain_non_finite(graph, arrays, values, needed, reachable, diagnostics: Diagnostics) -> None:
    """Warn at each node where a NaN or inf was born: a finite-argument node
    with a non-finite value, or a non-finite local derivative."""
    for name, value in arrays.items():
        if not np.all(np.isfinite(value)):
            diagnostics.non_finite_input(name, value)
    finite = [None] * len(graph.nodes)
    for node in graph.nodes:
        finite[node.id] = np.isfinite(values[node.id])
        if not reachable[node.id] or node.op == INPUT:
            continue
        arguments_finite = reduce(np.logical_and, [finite[i] for i in node.operands], True)
        born_here = arguments_finite & ~finite[node.id]
        if np.any(born_here):
            diagnostics.non_finite_value(node.id, born_here, values)
            continue
        if not needed[node.id] or node.id in diagnostics.flagged or not node.operands:
            continue
        op = OPS[node.op]
        arguments = [values[i] for i in node.operands]
        for position, operand in enumerate(node.operands):
            if not needed[operand]:
                continue
            local = op.derivative(position)(NUMERIC, values[node.id], *arguments)
            bad = arguments_finite & finite[node.id] & ~np.isfinite(local)
            if np.any(bad):
                diagnostics.non_finite_derivative(node.id, position, bad, local, values)
                break
