"""Many points a slice at a time: the value and partials of long arrays
computed CHUNK points at a time into preallocated columns, by the generated
array passes or by walking the graph, so that the temporaries of a slice
stay in the CPU cache instead of streaming through memory.

Any slice with something to warn about (a kink, a non-finite number) stops
this path: the caller then walks the whole arrays, whose values name the
points it concerns.

numpy's ufuncs let go of the GIL while they loop over an array, so the
generated passes run over parts of the points in threads at once (a small
pool, made once: :func:`in_threads`); a ufunc gives each point the same
bits whatever slice it is in, so the results are one thread's, bit for bit.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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

# Threads the generated passes run in (parts of the points at once), at
# most: one per core this process may use, up to four (set it to 1 for one
# thread). A part has at least THREAD_POINTS points: below that a thread's
# hand-over costs more than it saves.
THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
THREAD_POINTS = 8192

_T = TypeVar("_T")
_R = TypeVar("_R")


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
    if not all(pattern):
        numbers = [a for a, array in zip(inputs, pattern, strict=True) if not array]
        if not sums_finite(*numbers):
            return None
    if len(shape) > 1:
        inputs = [a.reshape(-1) if array else a for a, array in zip(inputs, pattern, strict=True)]
    # The columns are the rows of one block: freed, one block of memory
    # stays in malloc's heap for the next call, where several would go back
    # to the system, to be faulted in and zeroed again page by page.
    if not (summed and passes is not None):
        columns = list(np.empty((1 + len(plan.wrt), size)))
    else:  # a summed partial is a total (0-d), not a column
        is_array = dict(zip(plan.graph.inputs, pattern, strict=True))
        summed_by = [not is_array[name] for name in plan.wrt]
        rows = iter(np.empty((1 + summed_by.count(False), size)))
        columns = [next(rows)] + [np.zeros(()) if by else next(rows) for by in summed_by]
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
    passes, a chunk at a time, over parts of the points in threads where
    that pays (see :func:`parts`); False if a chunk has something to warn
    about."""
    size = len(columns[0])
    # Summed partials (0-d totals) are summed a chunk at a time.
    totals = [k for k, column in enumerate(columns) if column.ndim == 0]
    ranges = parts(size, bool(totals))
    if size <= CHUNK and not totals and len(ranges) == 1:
        return _run_once(runner, passes, flat, columns)

    def run(bounds: tuple[int, int]) -> list[list] | None:
        return _run_range(runner, passes, flat, pattern, columns, totals, bounds)

    found = in_threads(run, ranges)
    if any(sums is None for sums in found):
        return False
    # The chunks' sums added up in the order of the chunks, as one thread
    # would: the same total to the last bit, however many threads.
    for sums in found:
        for chunk_sums in sums or ():
            for k, part in zip(totals, chunk_sums, strict=True):
                columns[k] += part
    return True


def _run_range(
    runner: Runner,
    passes: ArrayPasses,
    flat: list,
    pattern: tuple,
    columns: list,
    totals: list[int],
    bounds: tuple[int, int],
) -> list[list] | None:
    """The points from ``bounds[0]`` to ``bounds[1]`` a chunk at a time:
    their results into ``columns``, and per chunk the sums of the summed
    partials (``totals``); None at the first chunk with something to warn
    about."""
    begin, end = bounds
    length = min(end - begin, CHUNK)
    scratch = {k: np.empty(length) for k in totals}
    kept = runner.work_arrays(passes.buffers, length)
    work = kept if not kept or len(kept[0]) == length else [w[:length] for w in kept]
    sums = []
    try:
        for start in range(begin, end, length):
            stop = min(start + length, end)
            if work and len(work[0]) > stop - start:
                work = [w[: stop - start] for w in work]
            chunk = [a[start:stop] if array else a for a, array in zip(flat, pattern, strict=True)]
            results = [
                scratch[k][: stop - start] if k in scratch else column[start:stop]
                for k, column in enumerate(columns)
            ]
            if not _run_chunk(passes, chunk, results, work):
                return None
            # A summed partial's chunk sum is the finiteness check too.
            chunk_sums = [np.add.reduce(results[k], None) for k in totals]
            if not all(map(math.isfinite, chunk_sums)):
                return None
            sums.append(chunk_sums)
            if not sums_finite(*_looked_at(results, scratch)):
                return None
        return sums
    finally:
        runner.keep_work(kept)


def _run_once(runner: Runner, passes: ArrayPasses, flat: list, columns: list) -> bool:
    """:func:`_run_range` for the usual call below CHUNK points: every
    point in one call of the passes, in this thread, no summed partial."""
    size = len(columns[0])
    kept = runner.work_arrays(passes.buffers, size)
    try:
        work = kept if not kept or len(kept[0]) == size else [w[:size] for w in kept]
        return _run_chunk(passes, flat, columns, work) and sums_finite(*_looked_at(columns, {}))
    finally:
        runner.keep_work(kept)


def _run_chunk(passes: ArrayPasses, chunk: list, results: list, work: list) -> bool:
    """The passes over one chunk of the inputs, into ``results``; False if
    the chunk has something to warn about (a non-finite input the results
    may not show, a point at a kink)."""
    unechoed = passes.unechoed
    if unechoed and not sums_finite(*[chunk[position] for position in unechoed]):
        return False
    got, watched = passes(*chunk, *results, *work)
    if watched and any_kink(passes.kink_steps, dict(zip(passes.watched, watched, strict=True))):
        return False
    for column, computed in zip(results, got, strict=True):
        # What the generated code computed into its place is there.
        if computed is not column:
            column[...] = 0.0 if computed is None else computed
    return True


def _looked_at(results: list[np.ndarray], scratch: dict) -> list[np.ndarray]:
    """What to look at for NaN and inf among ``results``: all but the
    summed partials (in ``scratch``: their sums are looked at); the block
    whose rows they are where they are whole rows of one (as
    :func:`evaluate_in_chunks` makes them): one pass over it, one call."""
    if not scratch:
        block = results[0].base
        if (
            block is not None
            and block.shape == (len(results), len(results[0]))
            and all(r.base is block for r in results)
        ):
            return [block]
    return [r for k, r in enumerate(results) if k not in scratch]


def parts(size: int, aligned: bool) -> list[tuple[int, int]]:
    """``size`` points cut into parts of at most CHUNK points, as (start,
    stop), for threads to take (see :func:`in_threads`); one part, for one
    thread, where THREADS is 1 or there are too few points to share (see
    THREAD_POINTS). ``aligned`` (summed partials): the parts are the chunks
    one thread makes, so that their sums are too."""
    if THREADS <= 1 or size < 2 * THREAD_POINTS or (aligned and size <= CHUNK):
        return [(0, size)]
    if aligned:
        return [(start, min(start + CHUNK, size)) for start in range(0, size, CHUNK)]
    count = max(-(-size // CHUNK), min(THREADS, size // THREAD_POINTS))
    bounds = [size * i // count for i in range(count + 1)]
    return list(zip(bounds, bounds[1:], strict=False))


class _Pool:
    """The threads of :func:`in_threads`, made on first use and again in a
    forked child (which has the pool but not its threads)."""

    lock = threading.Lock()
    executor: ThreadPoolExecutor | None = None
    made_for = (0, 0)  # the process that made it, and THREADS then

    @classmethod
    def get(cls) -> ThreadPoolExecutor:
        with cls.lock:
            wanted = (os.getpid(), THREADS)
            if cls.executor is None or cls.made_for != wanted:
                if cls.executor is not None and cls.made_for[0] == wanted[0]:
                    cls.executor.shutdown(wait=False)  # its threads end when idle
                cls.executor = ThreadPoolExecutor(max(1, THREADS - 1), "cgrad-passes")
                cls.made_for = wanted
            return cls.executor


def in_threads(run: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
    """``run`` of each item, in this thread and the pool's at once: each
    thread takes the next item not yet taken, so that on a busy machine,
    where the pool's threads wait for a core, this one does the work rather
    than wait for them. The results in the order of ``items``; after a None
    (something to warn about), the items not yet taken are not run. Each thread
    ignores numpy's floating-point errors, as the caller (in
    ``np.errstate(all="ignore")``) does: the numbers are looked at instead."""
    if len(items) == 1:
        return [run(items[0])]  # in the caller's errstate
    results: list[Any] = [None] * len(items)
    taken = itertools.count()  # (its next() is atomic: one item to one thread)

    def take() -> None:
        with np.errstate(all="ignore"):
            while (index := next(taken)) < len(items):
                results[index] = run(items[index])
                if results[index] is None:  # the caller will not look further:
                    for _ in items:  # the count moves past the items left
                        next(taken)
                    return

    pool = _Pool.get()
    futures = [pool.submit(take) for _ in range(min(THREADS, len(items)) - 1)]
    try:
        take()
    finally:
        # Those not started have nothing left to take; the others are
        # waited for: none is left writing into the caller's arrays.
        for future in futures:
            if not future.cancel():
                future.exception()
    for future in futures:
        if not future.cancelled():
            future.result()  # its exception, if it raised one
    return results


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
