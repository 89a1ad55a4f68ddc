"""Python's cyclic garbage collector paused around work that allocates
millions of objects and makes no reference cycles."""

from __future__ import annotations

import gc


class collector_paused:  # noqa: N801 - read as what the with statement does
    """Python's cyclic garbage collector paused for the block."""

    # Parsing, building, the passes and the views allocate millions of small
    # objects, which makes the cyclic collector rescan the growing heap again
    # and again, for nothing: the AST, the graph and the values hold no
    # reference cycles. A class, not @contextmanager, whose overhead would be
    # a noticeable part of evaluating one point.

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exception: object) -> None:
        if self.was_enabled:
            gc.enable()
