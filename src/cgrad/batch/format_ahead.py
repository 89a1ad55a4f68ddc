"""Blocks' text made ahead of the writes, by two threads at once.

A block's text is made by orjson (which holds the interpreter lock) and by
numpy and Arrow kernels (which let go of it): with the next block's text
made in a second thread while this one's is, the kernels of one run beside
the dumps of the other, and formatting, the longest stage of a text
output, stops being bound to one core. Texts come back in the blocks'
order; an error raised while making one reaches the consumer at its turn.
Only the blocks written whole (no failed record to count or leave out
first) are made ahead; the others are given back with no text, for the
writer to write as before.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .blocks import ColumnBlock
from .expression_block import Chunk, ExpressionBlock

# Threads that make texts; and blocks handed to them before the first is
# written: one more than the threads, so that neither waits for the writer.
THREADS = 2
AHEAD = THREADS + 1


def can_format_ahead() -> bool:
    """Whether a second core is there to make texts on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) >= THREADS


def formatted_ahead(
    chunks: Iterable[Chunk], text_of: Callable[[Chunk], Any]
) -> Iterator[tuple[Chunk, Future[Any] | None]]:
    """Each chunk in order with the future of its text (None for a list of
    records). A chunk is given back once :data:`AHEAD` more are handed
    out, or at the end: made for a regular file, never for a stream whose
    next block may be long in coming."""
    pool = ThreadPoolExecutor(THREADS, thread_name_prefix="cgrad-format")
    waiting: collections.deque[tuple[Chunk, Future[Any] | None]] = collections.deque()
    try:
        try:
            for chunk in chunks:
                whole = isinstance(chunk, ColumnBlock | ExpressionBlock)
                waiting.append((chunk, pool.submit(text_of, chunk) if whole else None))
                if len(waiting) > AHEAD:
                    yield waiting.popleft()
        except Exception:
            # A read that failed (a broken stream) stops the run after the
            # chunks read before it, as it does with no text made ahead.
            while waiting:
                yield waiting.popleft()
            raise
        while waiting:
            yield waiting.popleft()
    finally:
        # (stopped early: texts not begun are not made)
        pool.shutdown(wait=False, cancel_futures=True)
