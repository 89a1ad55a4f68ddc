"""The evaluation strategy: how the passes of a plan are run for one call.

At one point, on Python floats: by the generated passes once they pay,
else by walking the graph on floats (:mod:`cgrad.autodiff.floats`). Over
arrays: a slice at a time, by generated code or by walking
(:mod:`cgrad.autodiff.chunks`). Both fast paths give up where there is
something to warn about; then the passes are walked on numpy values, whole,
and the numbers are looked at to find where the trouble was born.

Checking every node for NaN and inf on every pass would tax the common case,
so the checks run only when the result holds a non-finite number, to find
the node where it was born (see :func:`_explain_non_finite`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache, reduce
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from ..ops import NUMERIC, OPS, POINT_TESTS
from .floats import walk_on_floats
from .graph import INPUT, Graph
from .passes import Plan, backward, forward, forward_mode
from .runner import Runner

if TYPE_CHECKING:
    from .diagnostics import Diagnostics, EvaluationWarning

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
    # The graph evaluated, for a notebook to draw (None where unknown).
    graph: Graph | None = field(default=None, repr=False)

    def _repr_html_(self) -> str:
        """What Jupyter shows: the value and partials, and the graph."""
        from ..views.notebook import result_html  # only a notebook asks

        return result_html(self)


def evaluate(
    runner: Runner, inputs: Mapping[str, object], mode: Mode = "reverse", summed: bool = False
) -> Result:
    """Value and partials of ``runner.plan`` at ``inputs`` (names to numbers
    or arrays). The caller has checked that ``inputs`` covers the graph's
    inputs; :class:`cgrad.Function` does, and keeps the runners. With
    ``summed``, see :func:`unbroadcast`."""
    if summed and mode == "reverse":
        # Sums of number-by-column products as matrix products (imported
        # for summed evaluations only: the command line's others never are).
        from .linear_forms import evaluate_lifted

        lifted = evaluate_lifted(runner, inputs, _evaluate_summed)
        if lifted is not None:
            return lifted
    result = _evaluate(runner, inputs, mode, summed)
    return unbroadcast(result, inputs) if summed else result


def _evaluate_summed(runner: Runner, inputs: Mapping[str, object]) -> Result:
    """:func:`evaluate` summed, without lifting linear forms."""
    return unbroadcast(_evaluate(runner, inputs, "reverse", True), inputs)


def unbroadcast(result: Result, inputs: Mapping[str, object]) -> Result:
    """The result with each partial summed down to the shape of its input,
    as autograd's ``unbroadcast`` does: an input given as one number among
    arrays was broadcast against them, so its partial is the sum of its
    per-point partials, d sum(f) / d input (a model's parameter among data
    columns gets the gradient of the summed loss). The partials of array
    inputs are left as they are."""
    gradient = dict(result.gradient)
    for name, partial in gradient.items():
        shape = np.shape(inputs[name])  # type: ignore[call-overload]  # numbers or arrays
        if np.shape(partial) == shape:
            if shape == () and type(partial) is not float:  # a total the chunks summed
                gradient[name] = float(partial)
            continue
        # The axes broadcasting added in front, then those stretched from 1.
        added = np.ndim(partial) - len(shape)
        total = np.add.reduce(partial, axis=tuple(range(added))) if added else partial
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(total)[i] != 1)
        if stretched:
            total = np.add.reduce(total, axis=stretched, keepdims=True)
        gradient[name] = float(total) if shape == () else np.asarray(total)
    return replace(result, gradient=gradient)


def _evaluate(runner: Runner, inputs: Mapping[str, object], mode: Mode, summed: bool) -> Result:
    """:func:`evaluate`, the partials of ``summed`` inputs summed where the
    chunks do it on the way (:func:`unbroadcast` does the rest)."""
    graph = runner.plan.graph
    # The fast paths return no warnings: a literal that underflowed has one.
    if mode == "reverse" and not graph.underflows:
        point = _point(inputs, graph.inputs)
        if point is not None:
            result = evaluate_point(runner, point)
            if result is not None:
                return result
    # A single number becomes a numpy scalar (not a 0-d array), so that
    # every node value of a point evaluation is a float64.
    arrays = {name: as_float64(inputs[name]) for name in graph.inputs}
    # (a float64 scalar has a shape too, (); and arrays of one shape need no
    # np.broadcast_shapes, which costs more)
    shapes = {a.shape for a in arrays.values()} - {()}
    shape = shapes.pop() if len(shapes) == 1 else np.broadcast_shapes(*shapes, ())
    with np.errstate(all="ignore"):
        if mode == "reverse" and not graph.underflows and shape:
            chunks = _chunks()
            columns = None
            if chunks.chunkable(arrays, shape):
                columns = chunks.evaluate_in_chunks(runner, arrays, shape, summed)
            if columns is not None:
                gradient = dict(zip(runner.plan.wrt, columns[1:], strict=True))
                return Result(value=columns[0], gradient=gradient, graph=graph)
        return evaluate_whole(runner, arrays, shape, mode)


@cache
def _chunks() -> ModuleType:
    """:mod:`cgrad.autodiff.chunks`, imported for arrays only (a point never
    goes in slices), once: an import statement costs a call over arrays
    more than this."""
    from . import chunks

    return chunks


def _point(inputs: Mapping[str, object], names: tuple[str, ...]) -> list[float] | None:
    """The inputs as Python floats, in ``names`` order, if each is one
    number; None for arrays."""
    point = [inputs[name] for name in names]
    if all(type(v) is float for v in point):
        return point  # type: ignore[return-value]  # the usual point: nothing to convert
    if any(type(v) is np.ndarray and v.ndim for v in point):
        return None  # the usual arrays: no np.ndim, which converts what it is given
    if any(np.ndim(v) for v in point):  # type: ignore[arg-type]  # numbers or arrays
        return None
    return [float(as_float64(v)) for v in point]


def evaluate_floats(runner: Runner, named: Mapping[str, object]) -> Result | None:
    """:func:`evaluate`'s result in reverse mode at a point that ``named``
    gives as one Python float for each input of the graph, by the runner's
    generated passes; None where those are not made yet, or for anything
    else (the caller then takes :func:`evaluate`)."""
    graph = runner.plan.graph
    if runner.made_point_passes() is None or graph.underflows:
        return None
    point = [named[name] for name in graph.inputs]
    for value in point:
        if type(value) is not float:
            return None
    return evaluate_point(runner, cast("list[float]", point))


def evaluate_point(runner: Runner, point: list[float]) -> Result | None:
    """The value and partials at one point on Python floats: by the
    generated passes once they pay, else by walking the graph on floats.
    None where numpy scalars must do it: where there is something to warn
    about (a non-finite number, a kink) or Python's float raised (1/0,
    sqrt(-1)) where numpy gives inf or NaN, so that the numbers and the
    warnings are that walk's own."""
    plan = runner.plan
    passes = runner.passes_for_a_point()
    try:
        if passes is None:
            values, adjoints = walk_on_floats(plan, point, runner.float_steps)
        else:
            values, adjoints = passes(*point)
    except (ArithmeticError, ValueError):
        return None
    graph = plan.graph
    # Floats (the walk on floats may end on a numpy scalar), which also sum
    # inf and -inf without numpy's warning.
    value = float(values[graph.output])
    gradient: dict[str, float | np.ndarray] = {}
    total = value + sum(point)
    for name in plan.wrt:
        adjoint = adjoints[graph.input_ids[name]]
        partial = 0.0 if adjoint is None else float(adjoint)
        gradient[name] = partial
        total += partial
    # A sum is finite only if every term is; one that overflows only costs a walk.
    if not math.isfinite(total):
        return None
    for node_id, at, operands in plan.kink_steps:
        if at(POINT_TESTS, values[node_id], *[values[i] for i in operands]):
            return None
    return _point_result(value, gradient, values, adjoints, graph)


def _point_result(
    value: float, gradient: dict, values: list, adjoints: list, graph: Graph
) -> Result:
    """``Result(value, gradient, (), values, adjoints, graph)``, made as a
    point evaluation in a loop needs it: a frozen dataclass's ``__init__``
    sets its fields one call at a time, here they are set at once."""
    result = object.__new__(Result)
    result.__dict__.update(
        value=value,
        gradient=gradient,
        warnings=(),
        node_values=values,
        node_gradients=adjoints,
        graph=graph,
    )
    return result


def evaluate_whole(
    runner: Runner, arrays: Mapping[str, object], shape: tuple[int, ...], mode: Mode
) -> Result:
    """Both passes walked, over whole arrays or at one point, then the warnings."""
    plan = runner.plan
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
    return Result(
        value=value,
        gradient=gradient,
        warnings=_warnings(plan, arrays, values, value, gradient, shape),
        node_values=values,
        node_gradients=adjoints,
        graph=graph,
    )


def _warnings(
    plan: Plan,
    arrays: Mapping[str, object],
    values: list,
    value: float | np.ndarray,
    gradient: Mapping[str, float | np.ndarray],
    shape: tuple[int, ...],
) -> tuple[EvaluationWarning, ...]:
    """What a whole walk has to warn about: non-finite inputs, kinks, where
    a NaN or inf was born, literals that underflowed."""
    # Imported where there may be something to say: a run at a point
    # without trouble (the command line's usual) never needs it.
    from .diagnostics import Diagnostics

    graph = plan.graph
    diagnostics = Diagnostics(graph, shape)
    _non_finite_inputs(diagnostics, arrays)
    kinks = _report_kinks(plan, values, diagnostics)
    if not _all_finite(value, *gradient.values()):
        # Each point is told what an evaluation of it alone would tell:
        # only where its own result is not finite, and a partial only where
        # nothing else was said about that point.
        trouble: Any = ~np.isfinite(value)
        for g in gradient.values():
            trouble = trouble | ~np.isfinite(g)
        _explain_non_finite(plan, values, diagnostics, trouble, kinks)
        said: Any = bool(diagnostics.warnings)
        if shape != ():
            said = np.zeros(shape, dtype=bool)
            for warning in diagnostics.warnings:
                said = said | warning.points
        for name, g in gradient.items():
            unexplained = ~np.isfinite(g) & ~said
            if np.any(unexplained):
                diagnostics.non_finite_gradient(name, g, unexplained)
                said = said | unexplained
    for node_id in graph.underflows:
        if plan.reachable[node_id]:
            diagnostics.underflow(node_id)
    return tuple(diagnostics.warnings)


def _non_finite_inputs(diagnostics: Diagnostics, arrays: Mapping[str, object]) -> None:
    """Warn of each input that is not finite: it is echoed in every output,
    so it is always named, even when the result comes out finite (x/inf is 0)."""
    if not _all_finite(*arrays.values()):
        for name, array in arrays.items():
            if not _all_finite(array):
                diagnostics.non_finite_input(name, array)


def input_warnings(graph: Graph, inputs: Mapping[str, object]) -> list[EvaluationWarning]:
    """The warnings of :func:`evaluate` at one point ``inputs`` about its
    inputs that are not finite (for the Hessian, whose rows leave them out)."""
    from .diagnostics import Diagnostics

    diagnostics = Diagnostics(graph, ())
    _non_finite_inputs(diagnostics, {name: as_float64(inputs[name]) for name in graph.inputs})
    return list(diagnostics.warnings)


def as_float64(value: object) -> np.float64 | np.ndarray:
    """``value`` as a float64 scalar if it is one number, else a float64
    array. A wider float beyond float64 (``np.longdouble("1e4000")``) is
    the infinity of its sign, as the command line reads 1e400, without
    numpy's warning: the evaluation warns of it as of any infinite input."""
    if type(value) is float or type(value) is int:
        return np.float64(value)  # (checked: an int beyond the floats is inf already)
    if type(value) is np.ndarray and value.dtype == np.float64:
        array = value  # the usual arrays: nothing to convert
    else:
        with np.errstate(over="ignore"):
            array = np.asarray(value, dtype=np.float64)
    return array[()] if array.ndim == 0 else array


def _shaped(
    value: float | np.ndarray | None, shape: tuple[int, ...], scalar: bool, handed_out: set[int]
) -> float | np.ndarray:
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


def _all_finite(*values: object) -> bool:
    if all(type(v) is float or type(v) is np.float64 for v in values):
        # The numbers of a point: a finite sum says all are finite (np.all
        # costs more); an overflowing one is looked at term by term.
        return math.isfinite(sum(values)) or all(map(math.isfinite, values))  # type: ignore[arg-type]
    return all(bool(np.all(np.isfinite(v))) for v in values)  # type: ignore[call-overload]


def _report_kinks(plan: Plan, values: list, diagnostics: Diagnostics) -> dict[int, Any]:
    """Warn at each kink; the points at a kink, by node."""
    kinks: dict[int, Any] = {}
    for node_id, at, operands in plan.kink_steps:
        mask = at(NUMERIC, values[node_id], *[values[i] for i in operands])
        if mask is not False and (bool(mask) if np.ndim(mask) == 0 else np.any(mask)):
            free = [position for position, i in enumerate(operands) if plan.needed[i]]
            diagnostics.kink(node_id, mask, values, free)
            kinks[node_id] = mask
    return kinks


def _explain_non_finite(
    plan: Plan, values: list, diagnostics: Diagnostics, trouble, kinks: dict[int, Any]
) -> None:
    """Warn at each node where a NaN or inf was born, at the points of
    ``trouble``: a finite-argument node with a non-finite value, or else
    (away from a kink, which has its own warning) a non-finite local
    derivative, the first argument's that has one."""
    graph, needed, reachable = plan.graph, plan.needed, plan.reachable
    finite: list = [None] * len(graph.nodes)
    for node in graph.nodes:
        finite[node.id] = np.isfinite(values[node.id])
        if not reachable[node.id] or node.op == INPUT:
            continue
        arguments_finite = reduce(np.logical_and, [finite[i] for i in node.operands], True)
        born_here = arguments_finite & ~finite[node.id] & trouble
        if np.any(born_here):
            diagnostics.non_finite_value(node.id, born_here, values)
        if not needed[node.id] or not node.operands:
            continue
        # The points still open at this node: not born here, not at a kink.
        open_points = arguments_finite & finite[node.id] & trouble & ~kinks.get(node.id, False)
        if not np.any(open_points):
            continue
        op = OPS[node.op]
        arguments = [values[i] for i in node.operands]
        for position, operand in enumerate(node.operands):
            if not needed[operand]:
                continue
            local: Any = op.derivative(position)(NUMERIC, values[node.id], *arguments)
            bad = open_points & ~np.isfinite(local)
            if np.any(bad):
                diagnostics.non_finite_derivative(node.id, position, bad, local, values)
                open_points = open_points & ~bad
                if not np.any(open_points):
                    break
