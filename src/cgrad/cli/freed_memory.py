"""Freed memory kept for the next block of a batch run.

A batch run makes the same few big arrays and texts for every block (a
few megabytes each) and frees them before the next. glibc's malloc hands
blocks that big back to the system the moment they are freed (memory
maps, and the heap's top trimmed), so every block faults its pages in
afresh: the system's page zeroing was a large share of a columnar run's
time. The command line owns its process, so it raises both thresholds
for the run; peak memory stays what the largest block needs. The library
changes nothing, nor does another C library. (A program that runs the
command line in its own process, as the tests do, keeps the thresholds
for the rest of its life: they only keep freed memory for reuse.)
"""

from __future__ import annotations

import ctypes
import sys

# mallopt's parameters (malloc.h); glibc accepts a map threshold of at
# most 32 MiB on 64-bit systems.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MAP_ABOVE = 32 << 20
_TRIM_ABOVE = 256 << 20


def keep_freed_memory() -> None:
    """Let malloc keep blocks of up to 32 MiB, and 256 MiB of freed heap,
    for reuse rather than giving them back (glibc only)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not a C library with mallopt
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, _MAP_ABOVE)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_ABOVE)
