"""Many points a slice at a time: the value and partials of long arrays
computed CHUNK points at a time into preallocated columns, by the generated
array passes or by walking the graph, so that the temporaries of a slice
stay in the CPU cache instead of streaming through memory.

Any slice with something to warn about (a kink, a non-finite number) stops
this path: the caller then walks the whole arrays, whose values name the
points it concerns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..ops import NUMERIC
from .passes import KinkStep, Plan, backward, forward
from .runner import ArrayPasses, Runner

# Arrays longer than this are evaluated a slice at a time (see the module's
# docstring). Chosen by timing a million points of bench/batch.py's
# expression at slices from 1,024 to 131,072 points, walked and by
# generated code: the best for both.
CHUNK = 32768


def chunkable(arrays: Mapping[str, object], shape: tuple[int, ...]) -> bool:
    """Many points (or one in an array), each input either one number or
    a full array (slicing a broadcast input would take a copy of the
    whole)."""
    if len(shape) == 0 or 0 in shape:
        return False
    # (after as_float64, a number is a float64 and an array an ndarray)
    return all(type(a) is not np.ndarray or a.shape == shape for a in arrays.values())


def evaluate_in_chunks(
    runner: Runner, arrays: Mapping[str, object], shape: tuple[int, ...], summed: bool = False
) -> list[np.ndarray] | None:
    """The value and the partials (in ``plan.wrt`` order) a chunk at a
    time, into preallocated arrays, by the generated array passes or,
    without them, by walking the graph (only for arrays over CHUNK: shorter
    ones are walked whole); None as soon as a chunk has something to warn
    about, for the whole walk to explain with the points it concerns. The
    node values and adjoints of a chunk are not kept. With ``summed``, the
    partial by an input given as one number is summed over the points, a
    chunk at a time into a 0-d array, never kept point by point (see
    :func:`cgrad.autodiff.evaluation.unbroadcast`)."""
    plan = runner.plan
    size = math.prod(shape)
    inputs: list[Any] = [arrays[name] for name in plan.graph.inputs]
    # (after as_float64, a number is a float64 and an array an ndarray)
    pattern = tuple([type(a) is np.ndarray for a in inputs])
    passes = runner.passes_for_arrays(pattern, size)
    if passes is None and size <= CHUNK:
        return None
    # The whole-array path names the non-finite inputs; the arrays among
    # them are looked at a chunk at a time, while the chunk is in the cache.
    numbers = [a for a, array in zip(inputs, pattern, strict=True) if not array]
    if numbers and not sums_finite(*numbers):
        return None
    if len(shape) > 1:
        inputs = [a.reshape(-1) if array else a for a, array in zip(inputs, pattern, strict=True)]
    # A summed partial is a total (0-d), not a column.
    is_array = dict(zip(plan.graph.inputs, pattern, strict=True))
    total = summed and passes is not None
    columns = [np.empty(size)] + [
        np.zeros(()) if total and not is_array[name] else np.empty(size) for name in plan.wrt
    ]
    if passes is None:
        found = _walk_in_chunks(plan, inputs, pattern, columns)
    else:
        found = _run_in_chunks(runner, passes, inputs, pattern, columns)
    if not found:
        return None
    if len(shape) > 1:
        columns = [column.reshape(shape) for column in columns]
    return columns


def _run_in_chunks(
    runner: Runner, passes: ArrayPasses, flat: list, pattern: tuple, columns: list
) -> bool:
    """Fill ``columns`` (the value, then the partials) by the generated
    passes, a chunk at a time; False at the first chunk with something to
    warn about."""
    size = len(columns[0])
    length = min(size, CHUNK)
    # Summed partials (0-d totals) are computed into scratch of a chunk.
    totals = {k: column for k, column in enumerate(columns) if column.ndim == 0}
    scratch = {k: np.empty(length) for k in totals}
    kept = runner.work_arrays(passes.buffers, length)
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
            if length == size and not totals:  # one chunk, the usual case below CHUNK points
                chunk, results = flat, columns
            else:
                chunk = [
                    a[start:stop] if array else a for a, array in zip(flat, pattern, strict=True)
                ]
                results = [
                    scratch[k][: stop - start] if k in totals else column[start:stop]
                    for k, column in enumerate(columns)
                ]
            if unechoed and not sums_finite(*[chunk[position] for position in unechoed]):
                return False
            got, watched = passes(*chunk, *results, *work)
            at_kinks = dict(zip(watched_ids, watched, strict=True)) if watched_ids else None
            if at_kinks and any_kink(passes.kink_steps, at_kinks):
                return False
            for column, computed in zip(results, got, strict=True):
                # What the generated code computed into its place is there.
                if computed is not column:
                    column[...] = 0.0 if computed is None else computed
            # A summed partial's chunk sum is the finiteness check too.
            for k, total in totals.items():
                part = np.add.reduce(results[k], None)
                if not math.isfinite(part):
                    return False
                total += part
            if not sums_finite(*[r for k, r in enumerate(results) if k not in totals]):
                return False
        return True
    finally:
        runner.keep_work(kept)


def _walk_in_chunks(plan: Plan, flat: list, pattern: tuple, columns: list) -> bool:
    """As :func:`_run_in_chunks`, by walking the graph."""
    graph = plan.graph
    size = len(columns[0])
    for start in range(0, size, CHUNK):
        stop = min(start + CHUNK, size)
        chunk = [a[start:stop] if array else a for a, array in zip(flat, pattern, strict=True)]
        if not sums_finite(*[a for a, array in zip(chunk, pattern, strict=True) if array]):
            return False
        values = forward(plan, dict(zip(graph.inputs, chunk, strict=True)))
        adjoints = backward(plan, values)
        if any_kink(plan.kink_steps, values):
            return False
        got = [values[graph.output], *(adjoints[graph.input_ids[name]] for name in plan.wrt)]
        for column, computed in zip(columns, got, strict=True):
            column[start:stop] = 0.0 if computed is None else computed
        if not sums_finite(*(column[start:stop] for column in columns)):
            return False
    return True


def any_kink(kink_steps: Sequence[KinkStep], values: Sequence | Mapping) -> bool:
    """Is some point at one of the kinks tested by ``kink_steps``? ``values``
    holds the node values they read, by node id."""
    for node_id, at, operands in kink_steps:
        mask = at(NUMERIC, values[node_id], *[values[i] for i in operands])
        # (a mask's own any(), not np.any, which costs more per call)
        if mask is True or (mask is not False and mask.any()):
            return True
    return False


def sums_finite(*arrays: ArrayLike) -> bool:
    """True if every array is surely all finite: a sum is finite only if
    every term is. One pass, not two as with isfinite; an overflowing sum
    of finite numbers says False, which only costs the slower path."""
    # (np.add.reduce is np.sum without its Python wrapper)
    for a in arrays:
        if not math.isfinite(np.add.reduce(a, None)):
            return False
    return True
