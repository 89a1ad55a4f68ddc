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

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, reduce
from typing import Literal

import numpy as np

from .codegen import compile_point_passes, kink_impossible
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


# Arrays longer than this are evaluated a slice at a time, so that the
# temporaries of a slice stay in the CPU cache instead of streaming through
# memory. Measured on 1,000,000 points of bench/batch.py's expression (ms):
# 1,024: 147, 4,096: 81, 16,384: 68, 32,768: 60, 65,536: 75, whole: 140.
CHUNK = 32768


# Point evaluations of a plan walked before its generated code is made
# (which costs about as much as 20 walks).
COMPILE_AFTER = 16

# d output / d output, as an object of its own: multiplying by it is skipped.
SEED = np.float64(1.0)


@dataclass(frozen=True, eq=False)
class Plan:
    """The passes over a graph for one choice of partials, worked out once
    (see :func:`plan`), so that evaluating a chunk is a walk down flat lists
    with no lookups or decisions left in it."""

    graph: Graph
    wrt: tuple[str, ...]
    # Per node: does it depend on an input we differentiate by?
    needed: tuple[bool, ...]
    # Per node: does the output depend on it?
    reachable: tuple[bool, ...]
    # The values list before a pass: constants filled in, the rest None.
    initial: tuple
    # (node, forward function, operand ids), in topological order.
    forward_steps: tuple[tuple[int, Callable, tuple[int, ...]], ...]
    # (node, operand ids, ((operand, rule), ...) for the operands that need a
    # derivative), from the output back.
    backward_steps: tuple[tuple[int, tuple[int, ...], tuple[tuple[int, Callable], ...]], ...]
    # (node, kink test, operand ids) for the nodes whose kink matters.
    kink_steps: tuple[tuple[int, Callable, tuple[int, ...]], ...]

    # Points evaluated by walking the graph, until generated code pays.
    points_walked: list[int] = field(default_factory=lambda: [0])

    @cached_property
    def point_passes(self) -> Callable | None:
        """Both passes at one point as one generated function (see
        :mod:`cgrad.codegen`), or None where the graph is walked."""
        return compile_point_passes(self, NUMERIC, SEED)

    def passes_for_a_point(self) -> Callable | None:
        """The generated passes once they pay: generating them costs about
        COMPILE_AFTER walks of the graph, so a one-off evaluation (a
        command line) walks, and a loop over points (minimize, a library
        caller) runs generated code from then on."""
        if "point_passes" in self.__dict__:
            return self.point_passes
        self.points_walked[0] += 1
        return self.point_passes if self.points_walked[0] > COMPILE_AFTER else None


def plan(graph: Graph, wrt: Sequence[str] | None = None) -> Plan:
    """The :class:`Plan` for the partials by ``wrt`` (all inputs if None)."""
    chosen = set(graph.inputs if wrt is None else wrt)
    names = tuple(name for name in graph.inputs if name in chosen)
    wrt_ids = {graph.input_ids[name] for name in names}
    needed = [False] * len(graph.nodes)
    for node in graph.nodes:
        needed[node.id] = node.id in wrt_ids or any(needed[i] for i in node.operands)
    reachable = graph.reachable()
    initial = [None] * len(graph.nodes)
    forward_steps = []
    kink_steps = []
    for node in graph.nodes:
        if node.op == CONSTANT:
            initial[node.id] = np.float64(node.value)
        elif node.op != INPUT:
            op = OPS[node.op]
            forward_steps.append((node.id, op.forward, node.operands))
            arguments = [initial[i] for i in node.operands]
            if (
                op.kink is not None
                and needed[node.id]
                and reachable[node.id]
                and not kink_impossible(op.kink.at, NUMERIC, arguments)
            ):
                kink_steps.append((node.id, op.kink.at, node.operands))
    backward_steps = []
    for node in reversed(graph.nodes[: graph.output + 1]):
        if not (node.operands and needed[node.id] and reachable[node.id]):
            continue
        op = OPS[node.op]
        edges = tuple(
            (operand, op.derivative(position))
            for position, operand in enumerate(node.operands)
            if needed[operand]
        )
        backward_steps.append((node.id, node.operands, edges))
    return Plan(
        graph=graph,
        wrt=names,
        needed=tuple(needed),
        reachable=tuple(reachable),
        initial=tuple(initial),
        forward_steps=tuple(forward_steps),
        backward_steps=tuple(backward_steps),
        kink_steps=tuple(kink_steps),
    )


def forward(plan: Plan, inputs: Mapping[str, np.ndarray]) -> list:
    """The value of every node, in id order."""
    values = list(plan.initial)
    for name, node_id in plan.graph.input_ids.items():
        values[node_id] = inputs[name]
    for node_id, function, operands in plan.forward_steps:
        values[node_id] = function(*[values[i] for i in operands])
    return values


def backward(plan: Plan, values: list, m=NUMERIC, seed=SEED) -> list:
    """The adjoint d(output)/d(node) of every node (None where no path
    leads from the node to the output through nodes that need one).

    The values may be numbers, or symbolic nodes with ``m`` their namespace
    and ``seed`` their 1: :mod:`cgrad.symbolic` runs this very loop to
    build derivative formulas."""
    adjoints: list = [None] * len(values)
    adjoints[plan.graph.output] = seed
    for node_id, operands, edges in plan.backward_steps:
        upstream = adjoints[node_id]
        if upstream is None:
            continue
        arguments = [values[i] for i in operands]
        out = values[node_id]
        for operand, rule in edges:
            local = rule(m, out, *arguments)
            # The slopes of + and - are ops.ONE and ops.MINUS_ONE (checked by
            # identity): no need to multiply whole arrays by them.
            if local is ONE:
                contribution = upstream
            elif local is MINUS_ONE:
                contribution = -upstream
            elif upstream is SEED:  # near the output: d output/d output = 1
                contribution = local
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
    ``wrt`` names inputs; :class:`cgrad.Function` does both (and keeps the
    plans, which this builds anew).
    """
    return evaluate_plan(plan(graph, wrt), inputs, mode)


def evaluate_plan(plan: Plan, inputs: Mapping[str, object], mode: Mode = "reverse") -> Result:
    """As :func:`evaluate_graph`, with the plan already made."""
    graph = plan.graph
    # A single number becomes a numpy scalar (not a 0-d array), so that
    # every node value of a point evaluation is a float64.
    arrays = {name: _as_float64(inputs[name]) for name in graph.inputs}
    shapes = [np.shape(a) for a in arrays.values()]
    shape = np.broadcast_shapes(*shapes) if any(shapes) else ()
    with np.errstate(all="ignore"):
        passes = plan.passes_for_a_point() if mode == "reverse" and shape == () else None
        if passes is not None:
            computed = passes(*[arrays[name] for name in graph.inputs])
            return _evaluate_whole(plan, arrays, shape, mode, computed)
        if mode == "reverse" and _chunkable(arrays, shape):
            result = _evaluate_in_chunks(plan, arrays, shape)
            if result is not None:
                return result
        return _evaluate_whole(plan, arrays, shape, mode)


def _chunkable(arrays: Mapping[str, object], shape: tuple[int, ...]) -> bool:
    """Many points, each input either one number or a full array (slicing
    a broadcast input would take a copy of the whole)."""
    if len(shape) == 0 or int(np.prod(shape)) <= CHUNK:
        return False
    return all(np.ndim(a) == 0 or np.shape(a) == shape for a in arrays.values())


def _evaluate_in_chunks(plan: Plan, arrays: dict, shape: tuple[int, ...]) -> Result | None:
    """The value and partials a chunk at a time, into preallocated arrays;
    None as soon as a chunk has something to warn about (a kink or a
    non-finite number), for :func:`_evaluate_whole` to explain with the
    points it concerns."""
    graph = plan.graph
    size = int(np.prod(shape))
    flat = {name: a if np.ndim(a) == 0 else a.reshape(-1) for name, a in arrays.items()}
    if not _sums_finite(*flat.values()):
        return None  # the whole-array path names the non-finite inputs
    value = np.empty(size)
    gradient = {name: np.empty(size) for name in plan.wrt}
    for start in range(0, size, CHUNK):
        stop = min(start + CHUNK, size)
        chunk = {name: a if np.ndim(a) == 0 else a[start:stop] for name, a in flat.items()}
        values = forward(plan, chunk)
        adjoints = backward(plan, values)
        if _any_kink(plan, values):
            return None
        value[start:stop] = values[graph.output]
        for name, column in gradient.items():
            adjoint = adjoints[graph.input_ids[name]]
            column[start:stop] = 0.0 if adjoint is None else adjoint
        if not _sums_finite(value[start:stop], *(g[start:stop] for g in gradient.values())):
            return None
    return Result(
        value=value.reshape(shape),
        gradient={name: column.reshape(shape) for name, column in gradient.items()},
    )


def _any_kink(plan: Plan, values: list) -> bool:
    return any(
        np.any(at(NUMERIC, values[node_id], *[values[i] for i in operands]))
        for node_id, at, operands in plan.kink_steps
    )


def _evaluate_whole(
    plan: Plan, arrays: dict, shape: tuple[int, ...], mode: Mode, computed=None
) -> Result:
    """Both passes over whole arrays, or ``computed`` (the values and
    adjoints that the generated code of a point gave), then the warnings."""
    graph = plan.graph
    scalar = shape == ()
    adjoints = None
    if computed is not None:
        values, adjoints = computed
    else:
        values = forward(plan, arrays)
    if mode == "reverse":
        if adjoints is None:
            adjoints = backward(plan, values)
        raw = {name: adjoints[graph.input_ids[name]] for name in plan.wrt}
    else:
        raw = forward_mode(graph, values, plan.wrt)
    handed_out: set[int] = {id(a) for a in arrays.values()}
    gradient = {name: _shaped(g, shape, scalar, handed_out) for name, g in raw.items()}
    value = _shaped(values[graph.output], shape, scalar, handed_out)

    diagnostics = Diagnostics(graph, shape)
    # A non-finite input is echoed in every output, so it is always named,
    # even when the result comes out finite (x/inf is 0).
    if not _all_finite(*arrays.values()):
        for name, array in arrays.items():
            if not _all_finite(array):
                diagnostics.non_finite_input(name, array)
    _report_kinks(plan, values, diagnostics)
    if not _all_finite(value, *gradient.values()):
        _explain_non_finite(plan, values, diagnostics)
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


def _shaped(value, shape: tuple[int, ...], scalar: bool, handed_out: set[int]):
    """A float for a single point; else an array of the full broadcast shape
    (d output / d input is zero where no path leads, but still present).
    An array is copied only if the caller already holds it (an input, or
    a result shared by two partials), so results never alias each other."""
    if value is None:
        value = 0.0
    if scalar:
        return float(value)
    if (
        isinstance(value, np.ndarray)
        and value.shape == shape
        and value.flags.owndata
        and id(value) not in handed_out
    ):
        handed_out.add(id(value))
        return value
    return np.array(np.broadcast_to(value, shape), dtype=np.float64)


def _all_finite(*values) -> bool:
    if all(type(v) is float or type(v) is np.float64 for v in values):
        # The numbers of a point: a finite sum says all are finite (np.all
        # costs microseconds); an overflowing one is looked at term by term.
        return math.isfinite(sum(values)) or all(map(math.isfinite, values))
    return all(bool(np.all(np.isfinite(v))) for v in values)


def _sums_finite(*arrays) -> bool:
    """True if every array is surely all finite: a sum is finite only if
    every term is. One pass, not two as with isfinite; an overflowing sum
    of finite numbers says False, which only costs the slower path."""
    return all(math.isfinite(np.sum(a)) for a in arrays)


def _report_kinks(plan: Plan, values: list, diagnostics: Diagnostics) -> None:
    for node_id, at, operands in plan.kink_steps:
        mask = at(NUMERIC, values[node_id], *[values[i] for i in operands])
        if mask is not False and (bool(mask) if np.ndim(mask) == 0 else np.any(mask)):
            free = [position for position, i in enumerate(operands) if plan.needed[i]]
            diagnostics.kink(node_id, mask, values, free)


def _explain_non_finite(plan: Plan, values, diagnostics: Diagnostics) -> None:
    """Warn at each node where a NaN or inf was born: a finite-argument node
    with a non-finite value, or a non-finite local derivative."""
    graph, needed, reachable = plan.graph, plan.needed, plan.reachable
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
