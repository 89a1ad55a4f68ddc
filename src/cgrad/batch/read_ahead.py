"""Chunks made one ahead of the writer, in a thread of their own.

Arrow's readers and numpy's kernels let go of the interpreter lock while
they work, and so does writing a file: with the next block read, parsed
and evaluated in a thread while this one formats and writes the last, a
columnar run keeps two cores busy instead of one. The order of the chunks,
and every error, reach the consumer exactly as the plain iterator gives
them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

_Chunk = TypeVar("_Chunk")

# What the thread puts in the slot: a chunk, the end, or an error.
_CHUNK, _END, _ERROR = range(3)


def read_ahead(chunks: Iterator[_Chunk]) -> Iterator[_Chunk]:
    """``chunks`` in order, each made in another thread while the one
    before it is used here. The thread makes a chunk only once the one
    before it has been taken: at most one waits beside the one in use, so
    memory stays bounded."""
    slot: queue.Queue = queue.Queue(maxsize=1)
    taken = threading.Semaphore(0)
    stopped = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                slot.put((_CHUNK, chunk))
                taken.acquire()
                if stopped.is_set():
                    return
            slot.put((_END, None))
        except BaseException as error:  # noqa: BLE001 (the consumer raises it)
            slot.put((_ERROR, error))

    # A daemon: a thread still waiting on a slow pipe must not keep a
    # stopped command (an error, a signal) from exiting.
    threading.Thread(target=produce, name="cgrad-read-ahead", daemon=True).start()
    try:
        while True:
            kind, item = slot.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise item
            taken.release()
            yield item
    finally:
        # A thread waiting for its chunk to be taken sees the stop; one
        # still making a chunk puts it in the (empty) slot and sees it then.
        stopped.set()
        taken.release()
