"""Lines of NDJSON counted the way the record reader counts records, so
that Arrow's reading of a block can be checked against it."""

from __future__ import annotations

import numpy as np

_NEWLINE, _OPEN = ord("\n"), ord("{")


def object_lines(block: bytes) -> int | None:
    """How many lines of ``block`` open an object, or None when a line
    opens otherwise and is not empty (a blank line with spaces or a
    carriage return, which the record reader skips, is left to it too)."""
    raw = np.frombuffer(block, dtype=np.uint8)
    if not len(raw):
        return 0
    breaks = np.flatnonzero(raw == _NEWLINE)
    starts = raw[breaks[breaks + 1 < len(raw)] + 1]
    if raw[0] not in (_OPEN, _NEWLINE) or not np.isin(starts, (_OPEN, _NEWLINE)).all():
        return None
    return int(raw[0] == _OPEN) + int(np.count_nonzero(starts == _OPEN))
