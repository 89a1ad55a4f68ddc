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
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, reduce
from types import SimpleNamespace
from typing import Literal

import numpy as np

from .codegen import compile_point_passes, kink_impossible
from .diagnostics import Diagnostics, EvaluationWarning
from .graph import INPUT, Graph
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

# The kink tests at one point of Python floats: each test one truth value,
# compared by Python's operators (the same IEEE comparisons as numpy's,
# without a ufunc call each; np.any of a numpy bool costs 3 µs).
POINT_TESTS = SimpleNamespace(
    **{**vars(NUMERIC), "equal": operator.eq, "less": operator.lt, "greater_equal": operator.ge}
)


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
    """The :class:`Plan` for the partials by ``wrt`` (all inputs if None).

    Made from the graph's columns, never its Node objects, in one pass down
    the op nodes (from the last): a pass over a million nodes costs more in
    reaching them in memory than in what it does with each."""
    chosen = set(graph.inputs if wrt is None else wrt)
    names = tuple(name for name in graph.inputs if name in chosen)
    ops, operands, _, _, constants, depends_on_input, op_ids = graph.columns
    count = len(ops)
    forwards, fixed_rules, kink_tests = _op_table()
    # With every input, needed is depends_on_input: the graph's tuple serves.
    if len(names) == len(graph.inputs):
        needed = depends_on_input
    else:
        needed = _depending_on(graph, [graph.input_ids[name] for name in names])
    initial: list = [None] * count
    for node_id, value in constants.items():
        initial[node_id] = np.float64(value)

    # Down from the last node: a node's consumers have larger ids, so it is
    # known to be reachable (or not) by the time it is reached.
    reachable = [False] * count
    reachable[graph.output] = True
    forward_steps = []
    backward_steps = []
    kinks = []
    for node_id in reversed(op_ids):
        node_operands = operands[node_id]
        op = ops[node_id]
        forward_steps.append((node_id, forwards[op], node_operands))
        if not reachable[node_id]:
            continue
        for operand in node_operands:
            reachable[operand] = True
        if not needed[node_id]:
            continue
        rules = fixed_rules.get(op)
        # A needed op node has a needed operand: with one, that is it.
        if rules is not None and len(node_operands) == 1:
            edges = ((node_operands[0], rules[0]),)
        elif rules is not None and len(node_operands) == 2:
            a, b = node_operands
            if not needed[a]:
                edges = ((b, rules[1]),)
            elif not needed[b]:
                edges = ((a, rules[0]),)
            else:
                edges = ((a, rules[0]), (b, rules[1]))
        else:
            derivative = OPS[op].derivative
            edges = tuple(
                (operand, derivative(position))
                for position, operand in enumerate(node_operands)
                if needed[operand]
            )
        backward_steps.append((node_id, node_operands, edges))
        if op in kink_tests:
            kinks.append(node_id)
    forward_steps.reverse()

    kink_steps = []
    for node_id in reversed(kinks):
        at = kink_tests[ops[node_id]]
        arguments = [initial[i] for i in operands[node_id]]
        if not kink_impossible(at, NUMERIC, arguments):
            kink_steps.append((node_id, at, operands[node_id]))
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


def _depending_on(graph: Graph, chosen: list[int]) -> tuple[bool, ...]:
    """Per node: does it depend on one of the ``chosen`` nodes (inputs)?"""
    operands = graph.columns.operands
    depends = [False] * len(operands)
    for node_id in chosen:
        depends[node_id] = True
    for node_id in graph.columns.op_ids:
        for operand in operands[node_id]:
            if depends[operand]:
                depends[node_id] = True
                break
    return tuple(depends)


def _op_table() -> tuple[dict[str, Callable], dict[str, tuple], dict[str, Callable]]:
    """The op table as plan() reads it, per op name: forward functions, the
    rules of the ops of fixed arity (a variadic op makes its rule per
    argument), kink tests. Read at each plan (3 µs), not at import: the
    table is what it is when the plan is made (tests patch it)."""
    forwards, rules, kinks = {}, {}, {}
    for name, op in OPS.items():
        forwards[name] = op.forward
        if op.arity is not None:
            rules[name] = op.derivatives
        if op.kink is not None:
            kinks[name] = op.kink.at
    return forwards, rules, kinks


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
    if mode == "reverse":
        point = _point(inputs, graph.inputs)
        if point is not None:
            result = _evaluate_point(plan, point)
            if result is not None:
                return result
    # A single number becomes a numpy scalar (not a 0-d array), so that
    # every node value of a point evaluation is a float64.
    arrays = {name: _as_float64(inputs[name]) for name in graph.inputs}
    shapes = [np.shape(a) for a in arrays.values()]
    shape = np.broadcast_shapes(*shapes) if any(shapes) else ()
    with np.errstate(all="ignore"):
        if mode == "reverse" and _chunkable(arrays, shape):
            result = _evaluate_in_chunks(plan, arrays, shape)
            if result is not None:
                return result
        return _evaluate_whole(plan, arrays, shape, mode)


def _point(inputs: Mapping[str, object], names: tuple[str, ...]) -> list[float] | None:
    """The inputs as Python floats, in ``names`` order, if each is one
    number; None for arrays."""
    point = [inputs[name] for name in names]
    if all(type(v) is float for v in point):
        return point  # the usual point: nothing to convert
    if any(np.ndim(v) for v in point):
        return None
    return [float(_as_float64(v)) for v in point]


def _evaluate_point(plan: Plan, point: list[float]) -> Result | None:
    """The value and partials at one point by the generated passes, once
    they pay; None where the walk must do it: before that, and where there
    is something to warn about (a non-finite number, a kink) or Python's
    float raised (1/0, sqrt(-1)) where numpy gives inf or NaN, so that the
    numbers and the warnings are the walk's own."""
    passes = plan.passes_for_a_point()
    if passes is None:
        return None
    try:
        values, adjoints = passes(*point)
    except (ArithmeticError, ValueError):
        return None
    graph = plan.graph
    value = values[graph.output]
    gradient = {}
    total = value + sum(point)
    for name in plan.wrt:
        adjoint = adjoints[graph.input_ids[name]]
        gradient[name] = 0.0 if adjoint is None else adjoint
        total += gradient[name]
    # A sum is finite only if every term is; one that overflows only costs a walk.
    if not math.isfinite(total):
        return None
    for node_id, at, operands in plan.kink_steps:
        if at(POINT_TESTS, values[node_id], *[values[i] for i in operands]):
            return None
    return Result(value, gradient, (), values, adjoints)


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


def _evaluate_whole(plan: Plan, arrays: dict, shape: tuple[int, ...], mode: Mode) -> Result:
    """Both passes walked, over whole arrays or at one point, then the warnings."""
    graph = plan.graph
    scalar = shape == ()
    adjoints = None
    values = forward(plan, arrays)
    if mode == "reverse":
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
