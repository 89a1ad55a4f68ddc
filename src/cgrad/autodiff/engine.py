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

from ..ops import MINUS_ONE, NUMERIC, ONE, OPS, Kink
from .codegen import (
    EXACT_ON_FLOATS,
    compile_array_passes,
    compile_point_passes,
    kink_impossible,
)
from .diagnostics import Diagnostics, EvaluationWarning
from .graph import INPUT, Graph

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
# memory. Measured on 1,000,000 points of bench/batch.py's expression (ms),
# walking the graph: 1,024: 147, 4,096: 81, 16,384: 68, 32,768: 60, 65,536:
# 75, whole: 140; by generated code (bench/run.py's W2): 4,096: 51, 8,192:
# 46, 16,384: 45, 32,768: 43, 65,536: 45, 131,072: 51.
CHUNK = 32768

# A plan keeps the work arrays of its generated array passes for its next
# evaluation, up to this many bytes: new ones cost a page fault every 4 kB
# wherever malloc has given freed memory back to the system (glibc does so
# for more than 128 kB free at the top of its heap), which at 10,000 points
# of bench/run.py's W2 doubled the time.
KEEP_WORK_BYTES = 8 << 20


# Point evaluations of a plan walked before its generated code is made
# (which costs about as much as 20 walks).
COMPILE_AFTER = 16

# An array evaluation this long has its generated code made at once: the
# code costs about 1 ms to make, a walk over this many points about half
# that, and the code runs it about 3 times as fast. Shorter ones count as
# point evaluations do, against COMPILE_AFTER.
COMPILE_AT_POINTS = 4096

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
    # The same for arrays, and the generated passes over them, by which
    # inputs are arrays (one number among arrays is not traced as one).
    arrays_walked: list[int] = field(default_factory=lambda: [0])
    made_array_passes: dict[tuple[bool, ...], Callable | None] = field(default_factory=dict)
    # The work arrays of the last evaluation by them, for the next (at most
    # one set: a list, whose pop and append threads cannot interleave).
    spare_work: list[list[np.ndarray]] = field(default_factory=list)

    @cached_property
    def initial_floats(self) -> tuple:
        """``initial`` with Python floats, for :func:`_walk_on_floats`."""
        return tuple(None if value is None else float(value) for value in self.initial)

    @cached_property
    def forward_steps_on_floats(self) -> tuple:
        """``forward_steps`` with each function on floats (see :data:`FLOATS`)."""
        return tuple((node, _on_floats(f), operands) for node, f, operands in self.forward_steps)

    @cached_property
    def point_passes(self) -> Callable | None:
        """Both passes at one point as one generated function (see
        :mod:`cgrad.autodiff.codegen`), or None where the graph is walked."""
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

    def array_passes(self, arrays: tuple[bool, ...]) -> Callable | None:
        """Both passes over slices of many points as one generated function
        (see :func:`cgrad.autodiff.codegen.compile_array_passes`), for inputs that
        are arrays where ``arrays`` says so; None where the graph is walked."""
        made = self.made_array_passes
        if arrays not in made:
            made[arrays] = compile_array_passes(self, NUMERIC, SEED, arrays)
        return made[arrays]

    def passes_for_arrays(self, arrays: tuple[bool, ...], size: int) -> Callable | None:
        """The generated array passes once they pay (see COMPILE_AT_POINTS)."""
        if arrays in self.made_array_passes:
            return self.made_array_passes[arrays]
        self.arrays_walked[0] += 1
        if size >= COMPILE_AT_POINTS or self.arrays_walked[0] > COMPILE_AFTER:
            return self.array_passes(arrays)
        return None


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
        at = kink_tests[ops[node_id]].test([needed[i] for i in operands[node_id]])
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


def _op_table() -> tuple[dict[str, Callable], dict[str, tuple], dict[str, Kink]]:
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
            kinks[name] = op.kink
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
    and ``seed`` their 1: :mod:`cgrad.symbolic.formulas` runs this very loop to
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
    # The fast paths return no warnings: a literal that underflowed has one.
    if mode == "reverse" and not graph.underflows:
        point = _point(inputs, graph.inputs)
        if point is not None:
            result = _evaluate_point(plan, point)
            if result is not None:
                return result
    # A single number becomes a numpy scalar (not a 0-d array), so that
    # every node value of a point evaluation is a float64.
    arrays = {name: _as_float64(inputs[name]) for name in graph.inputs}
    shapes = {np.shape(a) for a in arrays.values()} - {()}
    # (np.broadcast_shapes costs 3 µs, and arrays of one shape need none)
    shape = shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*shapes, ())
    with np.errstate(all="ignore"):
        if mode == "reverse" and not graph.underflows and _chunkable(arrays, shape):
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


# The walk at one point on Python floats, for the points generated code
# does not take (before it pays, a graph too big to generate, a rule that
# looks at the point): a ufunc call on one number costs ten times an
# operator. IEEE arithmetic, abs and sqrt are correctly rounded, so Python's
# operators give numpy's bits (codegen.EXACT_ON_FLOATS); every other
# function is the engine's own, whose numpy scalar result then takes part
# in the operators as it is (making it a float would cost more than it saves).
def _on_floats(function: Callable) -> Callable:
    return EXACT_ON_FLOATS.get(function, function)


# The namespace derivative rules run against on floats (see ops.NUMERIC).
FLOATS = SimpleNamespace(
    **{
        **{name: _on_floats(function) for name, function in vars(NUMERIC).items()},
        # Tests on one number: Python's comparisons (no ufunc call each).
        "where": NUMERIC.where,
        "equal": operator.eq,
        "less": operator.lt,
        "greater_equal": operator.ge,
        "is_tie": NUMERIC.is_tie,
    }
)


def forward_on_floats(plan: Plan, point: Sequence[float]) -> list:
    """The value of every node at ``point`` (Python floats, in
    ``plan.graph.inputs`` order), computed on floats (see :data:`FLOATS`);
    it raises where Python's float does (1/0, sqrt(-1))."""
    values = list(plan.initial_floats)
    input_ids = plan.graph.input_ids
    for name, value in zip(plan.graph.inputs, point, strict=True):
        values[input_ids[name]] = value
    for node_id, function, operands in plan.forward_steps_on_floats:
        values[node_id] = function(*[values[i] for i in operands])
    return values


def _walk_on_floats(plan: Plan, point: Sequence[float]) -> tuple[list, list]:
    """Both passes at one point, as the generated passes give them."""
    # A numpy scalar divided by zero warns where Python's float raises; the
    # numbers are looked at afterwards, as in every other walk.
    with np.errstate(all="ignore"):
        values = forward_on_floats(plan, point)
        # 1.0 for the seed, not SEED: d output/d output, multiplied through,
        # changes no bit and keeps every adjoint a float.
        return values, backward(plan, values, m=FLOATS, seed=1.0)


def _evaluate_point(plan: Plan, point: list[float]) -> Result | None:
    """The value and partials at one point on Python floats: by the
    generated passes once they pay, else by :func:`_walk_on_floats`. None
    where numpy scalars must do it: where there is something to warn about
    (a non-finite number, a kink) or Python's float raised (1/0, sqrt(-1))
    where numpy gives inf or NaN, so that the numbers and the warnings are
    that walk's own."""
    passes = plan.passes_for_a_point()
    try:
        if passes is None:
            values, adjoints = _walk_on_floats(plan, point)
        else:
            values, adjoints = passes(*point)
    except (ArithmeticError, ValueError):
        return None
    graph = plan.graph
    # Floats (the walk on floats may end on a numpy scalar), which also sum
    # inf and -inf without numpy's warning.
    value = float(values[graph.output])
    gradient = {}
    total = value + sum(point)
    for name in plan.wrt:
        adjoint = adjoints[graph.input_ids[name]]
        gradient[name] = 0.0 if adjoint is None else float(adjoint)
        total += gradient[name]
    # A sum is finite only if every term is; one that overflows only costs a walk.
    if not math.isfinite(total):
        return None
    for node_id, at, operands in plan.kink_steps:
        if at(POINT_TESTS, values[node_id], *[values[i] for i in operands]):
            return None
    return Result(value, gradient, (), values, adjoints)


def _chunkable(arrays: Mapping[str, object], shape: tuple[int, ...]) -> bool:
    """Many points (or one in an array), each input either one number or
    a full array (slicing a broadcast input would take a copy of the
    whole)."""
    if len(shape) == 0 or 0 in shape:
        return False
    # (after _as_float64, a number is a float64 and an array an ndarray)
    return all(type(a) is not np.ndarray or a.shape == shape for a in arrays.values())


def _evaluate_in_chunks(plan: Plan, arrays: dict, shape: tuple[int, ...]) -> Result | None:
    """The value and partials a chunk at a time, into preallocated arrays,
    by the generated array passes or, without them, by walking the graph
    (only for arrays over CHUNK: shorter ones are walked whole); None as
    soon as a chunk has something to warn about (a kink or a non-finite
    number), for :func:`_evaluate_whole` to explain with the points it
    concerns. The node values and adjoints of a chunk are not kept."""
    size = math.prod(shape)
    inputs = [arrays[name] for name in plan.graph.inputs]
    # (after _as_float64, a number is a float64 and an array an ndarray)
    pattern = tuple([type(a) is np.ndarray for a in inputs])
    passes = plan.passes_for_arrays(pattern, size)
    if passes is None and size <= CHUNK:
        return None
    # The whole-array path names the non-finite inputs; the arrays among
    # them are looked at a chunk at a time, while the chunk is in the cache.
    numbers = [a for a, array in zip(inputs, pattern, strict=True) if not array]
    if numbers and not _sums_finite(*numbers):
        return None
    if len(shape) > 1:
        inputs = [a.reshape(-1) if array else a for a, array in zip(inputs, pattern, strict=True)]
    columns = [np.empty(size) for _ in range(1 + len(plan.wrt))]
    if passes is None:
        found = _walk_in_chunks(plan, inputs, pattern, columns)
    else:
        found = _run_in_chunks(plan, passes, inputs, pattern, columns)
    if not found:
        return None
    if len(shape) > 1:
        columns = [column.reshape(shape) for column in columns]
    return Result(value=columns[0], gradient=dict(zip(plan.wrt, columns[1:], strict=True)))


def _run_in_chunks(plan: Plan, passes: Callable, flat: list, pattern: tuple, columns: list) -> bool:
    """Fill ``columns`` (the value, then the partials) by the generated
    passes, a chunk at a time; False at the first chunk with something to
    warn about."""
    size = len(columns[0])
    length = min(size, CHUNK)
    kept = _work_arrays(plan, passes.buffers, length)
    work = kept if not kept or len(kept[0]) == length else [w[:length] for w in kept]
    watched_ids = passes.watched
    unechoed = passes.unechoed
    try:
        for start in range(0, size, length):
            stop = start + length
            if stop >= size:
                stop = size
                if stop - start < length:
                    work = [w[: stop - start] for w in work]
            if length == size:  # one chunk, the usual case below CHUNK points
                chunk, results = flat, columns
            else:
                chunk = [
                    a[start:stop] if array else a for a, array in zip(flat, pattern, strict=True)
                ]
                results = [column[start:stop] for column in columns]
            if unechoed and not _sums_finite(*[chunk[position] for position in unechoed]):
                return False
            got, watched = passes(*chunk, *results, *work)
            at_kinks = dict(zip(watched_ids, watched, strict=True)) if watched_ids else None
            if at_kinks and _any_kink(passes.kink_steps, at_kinks):
                return False
            for column, computed in zip(results, got, strict=True):
                # What the generated code computed into its place is there.
                if computed is not column:
                    column[...] = 0.0 if computed is None else computed
            if not _sums_finite(*results):
                return False
        return True
    finally:
        if kept and len(kept) * len(kept[0]) * 8 <= KEEP_WORK_BYTES:
            plan.spare_work[:] = [kept]


def _work_arrays(plan: Plan, count: int, length: int) -> list[np.ndarray]:
    """``count`` work arrays of at least ``length`` elements: the plan's
    spare ones if they will do, else new ones."""
    try:
        spare = plan.spare_work.pop()
    except IndexError:
        spare = []
    if len(spare) >= count and (not spare or len(spare[0]) >= length):
        return spare[:count]
    return [np.empty(length) for _ in range(count)]


def _walk_in_chunks(plan: Plan, flat: list, pattern: tuple, columns: list) -> bool:
    """As :func:`_run_in_chunks`, by walking the graph."""
    graph = plan.graph
    size = len(columns[0])
    for start in range(0, size, CHUNK):
        stop = min(start + CHUNK, size)
        chunk = [a[start:stop] if array else a for a, array in zip(flat, pattern, strict=True)]
        if not _sums_finite(*[a for a, array in zip(chunk, pattern, strict=True) if array]):
            return False
        values = forward(plan, dict(zip(graph.inputs, chunk, strict=True)))
        adjoints = backward(plan, values)
        if _any_kink(plan.kink_steps, values):
            return False
        got = [values[graph.output], *(adjoints[graph.input_ids[name]] for name in plan.wrt)]
        for column, computed in zip(columns, got, strict=True):
            column[start:stop] = 0.0 if computed is None else computed
        if not _sums_finite(*(column[start:stop] for column in columns)):
            return False
    return True


def _any_kink(kink_steps: tuple, values) -> bool:
    for node_id, at, operands in kink_steps:
        mask = at(NUMERIC, values[node_id], *[values[i] for i in operands])
        # (a mask's own any(): np.any costs a microsecond more)
        if mask is True or (mask is not False and mask.any()):
            return True
    return False


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
    for node_id in graph.underflows:
        if plan.reachable[node_id]:
            diagnostics.underflow(node_id)

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
    # (np.add.reduce is np.sum without its Python wrapper: 1 µs less a call)
    for a in arrays:
        if not math.isfinite(np.add.reduce(a, None)):
            return False
    return True


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
