"""The passes at one point, and over slices of many points, as
straight-line Python, for speed.

The forward and backward passes of a small graph are traced once, with the
engine's own loops and the op table's own rules running on traced
stand-ins (see :mod:`cgrad.autodiff.tracing`), and written out as one
Python function: a line per operation, in the engine's order. Evaluating
one point then costs one call instead of a walk over the graph, and the
numbers are the engine's, bit for bit.

The values are Python floats, not numpy scalars: a numpy call on one number
costs far more than a float operation. IEEE arithmetic (``+ - * /``,
negation, abs, sqrt: the ops whose entry gives ``exact_on_floats``) is
correctly rounded, so Python's float and numpy give the same bits;
everything else (exp, log, tan, power...) is the engine's own numpy
function, its result turned into a float. Where Python's float raises (1/0,
sqrt(-1)) numpy gives inf or NaN: the caller walks the graph for that point.

Over arrays, the same tracing writes the engine's own numpy calls, each
into a work array (a ufunc takes one as its last argument) whose contents
no later line needs: a slice of points costs no allocation, and its
temporaries stay in the CPU cache (see :func:`compile_array_passes` and
:mod:`cgrad.autodiff.array_code`).

This is the only module that generates code, and the only place cgrad uses
``exec``. The generated text holds nothing from the user: variables are
``v``/``t``/``i``/``o``/``s`` and a number, constants and functions are
``k``/``f`` and a number that name objects in the function's namespace, and
the rest is ``def``, ``return``, ``None``, ``=``, ``,``, brackets and
``+ - * /`` (Python's ``float``, ``abs`` and ``math.sqrt`` are ``f`` names
too).
:data:`SAFE` is the whole of that alphabet; a test holds generated code to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import numpy as np

from ..ops import OPS
from .array_code import ArrayRecorder, ArrayTraced, echoed_inputs
from .array_code import array_source as _array_source
from .quiet_errors import errors_ignored
from .tracing import Recorder, Traced, TracedNamespace, Untraceable, never_at_kink

# Graphs beyond this many nodes are walked, not compiled: the source of a
# big graph takes Python longer to compile than many evaluations save.
MAX_NODES = 2_000

# Everything a generated function may contain. ASCII digits only: \d would
# also take other scripts' digits (i\u0660, or t\uff11, which Python reads
# as t1), names that no tracing writes.
SAFE = re.compile(r"(?:[ \n()\[\],:=*/+-]|def |return |None|passes|[ivtkfos][0-9]+)*")

# Every node's value and adjoint, traced or constant (None: untraceable).
TraceResult = tuple[list, list] | None


def _trace(plan: Any, recorder: Recorder, numeric: Any, seed: Any, inputs: list) -> TraceResult:
    """The engine's forward steps and backward loop run on ``inputs``
    (stand-ins, in ``plan.graph.inputs`` order) as ``recorder`` records
    them: every node's value and adjoint, traced or constant; or None where
    a rule must look at the point."""
    from .passes import backward  # (passes imports nothing of codegen)

    graph = plan.graph
    values: list = list(plan.initial)
    for name, stand_in in zip(graph.inputs, inputs, strict=True):
        values[graph.input_ids[name]] = stand_in
    ops = graph.columns.ops  # each step's op, whose entry says how to trace it
    try:
        # Calls on constants are made now, as the walk makes them: silently.
        with np.errstate(all="ignore"):
            for node_id, _, operands in plan.forward_steps:
                values[node_id] = recorder.apply(OPS[ops[node_id]], [values[i] for i in operands])
            adjoints = backward(plan, values, m=TracedNamespace(recorder, numeric), seed=seed)
    except Untraceable:
        return None
    return values, adjoints


def compile_point_passes(plan: Any, numeric: Any, seed: Any) -> Callable[..., Any] | None:
    """A function of the inputs (Python floats, in ``plan.graph.inputs``
    order) returning the value of every node and the adjoint of every node
    (None where the engine has none) as Python floats, the numbers of
    :func:`cgrad.autodiff.engine.forward` and :func:`cgrad.autodiff.engine.backward`; or None
    if this plan cannot be compiled (too big, or a rule that must look at
    the point). It raises ArithmeticError or ValueError where Python's float
    does and numpy would give inf or NaN."""
    graph = plan.graph
    if len(graph) > MAX_NODES:
        return None
    recorder = Recorder()
    parameters = [f"i{position}" for position in range(len(graph.inputs))]
    traced = _trace(plan, recorder, numeric, seed, [Traced(recorder, p) for p in parameters])
    if traced is None:
        return None
    values, adjoints = traced
    returned = ", ".join(recorder.operand(v) if v is not None else "None" for v in values)
    slopes = ", ".join(recorder.operand(a) if a is not None else "None" for a in adjoints)
    lines = [f"def passes({', '.join(parameters)}):", *recorder.lines]
    source = "\n".join([*lines, f"    return [{returned}], [{slopes}]"])
    if not SAFE.fullmatch(source):
        raise AssertionError("generated code outside its alphabet")  # a bug, never input
    namespace = dict(recorder.namespace)
    exec(compile(source, "<cgrad point passes>", "exec"), namespace)  # noqa: S102
    # numpy's floating-point errors are the caller's to look for in the
    # numbers, as with the walk.
    passes: Any = errors_ignored(cast(Callable[..., Any], namespace["passes"]))
    passes.source = source  # for the tests that hold it to its alphabet
    return passes


def compile_array_passes(
    plan: Any, numeric: Any, seed: Any, arrays: tuple[bool, ...]
) -> Callable[..., Any] | None:
    """Both passes over a slice of many points, as one function, or None
    where the graph is walked (too big, or a rule that must look at the
    point). Its arguments are the inputs in ``plan.graph.inputs`` order
    (arrays of one length where ``arrays`` says so, else float64 numbers),
    then one array per result (the value, then the partials by
    ``plan.wrt``) and ``passes.buffers`` work arrays, all of that length.
    It returns the results and the values of the nodes in
    ``passes.watched`` (those the kink tests look at). A result may be
    computed into its array or not (an input, a number, None for no path):
    what is not, the caller copies. ``passes.unechoed`` lists the inputs
    whose NaN and inf the results may not show, for the caller to look at.

    The calls are the walk's calls on the same operands in the same order
    (less those whose results nothing reads, and x^2 as x*x where numpy
    squares so, see POWER_SQUARES), so the numbers are the walk's: a ufunc
    gives the same bits into a given array as into a new one. Every call
    that makes an array writes into a work array whose contents nothing
    later reads, its own operand's if that dies with it: a slice of points
    then costs no allocation, and the slice stays in the CPU cache."""
    graph = plan.graph
    if len(graph) > MAX_NODES:
        return None
    recorder = ArrayRecorder()
    inputs = [ArrayTraced(recorder, f"i{i}", array) for i, array in enumerate(arrays)]
    traced = _trace(plan, recorder, numeric, seed, inputs)
    if traced is None:
        return None
    values, adjoints = traced
    results = [values[graph.output], *(adjoints[graph.input_ids[name]] for name in plan.wrt)]
    kink_steps = tuple(
        (node_id, at, operands)
        for node_id, at, operands in plan.kink_steps
        if not never_at_kink(at, numeric, values[node_id], [values[i] for i in operands])
    )
    watched = tuple(
        dict.fromkeys(i for node_id, _, operands in kink_steps for i in (node_id, *operands))
    )
    source, buffers = _array_source(
        recorder, len(graph.inputs), results, [values[i] for i in watched]
    )
    if not SAFE.fullmatch(source):
        raise AssertionError("generated code outside its alphabet")  # a bug, never input
    namespace = dict(recorder.namespace)
    exec(compile(source, "<cgrad array passes>", "exec"), namespace)  # noqa: S102
    passes: Any = namespace["passes"]
    passes.source = source
    passes.buffers = buffers
    passes.kink_steps = kink_steps
    passes.watched = watched
    echoed = echoed_inputs(recorder, len(graph.inputs), results)
    passes.unechoed = tuple(
        position for position, array in enumerate(arrays) if array and not echoed[position]
    )
    return passes
