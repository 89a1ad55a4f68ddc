"""Arrow's JSON reader, and the checks that what it read of a block of
NDJSON is what the record reader would read (shared by the readers of one
expression and of records with their own)."""

from __future__ import annotations

import codecs
from typing import Any

import numpy as np

_NEWLINE, _OPEN = ord("\n"), ord("{")


def object_lines(block: bytes) -> int | None:
    """How many lines of ``block`` open an object, or None when a line
    opens otherwise and is not empty (a blank line with spaces or a
    carriage return, which the record reader skips, is left to it too),
    or when an object holds an array or another object: Arrow is given
    flat records only (a value nested thousands deep crashes its type
    inference, and no input is ever nested)."""
    raw = np.frombuffer(block, dtype=np.uint8)
    if not len(raw):
        return 0
    breaks = np.flatnonzero(raw == _NEWLINE)
    starts = raw[breaks[breaks + 1 < len(raw)] + 1]
    if raw[0] not in (_OPEN, _NEWLINE) or not np.isin(starts, (_OPEN, _NEWLINE)).all():
        return None
    records = int(raw[0] == _OPEN) + int(np.count_nonzero(starts == _OPEN))
    if b"[" in block or np.count_nonzero(raw == _OPEN) != records:
        return None
    return records


class ArrowJson:
    """Arrow's JSON reader set up once, and the checks that a block's table
    holds what the record reader would read: flat objects, one to a line
    (blank lines aside), in valid UTF-8."""

    def __init__(self, schema: list[tuple[str, Any]], unexpected: str) -> None:
        import pyarrow as pa
        import pyarrow.json as pj

        self.read_options = pj.ReadOptions(use_threads=True)
        self.parse_options = pj.ParseOptions(
            explicit_schema=pa.schema(schema), unexpected_field_behavior=unexpected
        )
        self.read_json = pj.read_json
        self.buffer = pa.BufferReader
        self.errors = (pa.ArrowInvalid,)
        self.first = True

    def table(self, block: bytes) -> tuple[Any, bytes] | None:
        """The block's records as an Arrow table (and the block as read,
        without a byte-order mark), or None when the record reader must
        read it."""
        if self.first:
            # The record reader drops a byte-order mark opening the input.
            self.first = False
            block = block.removeprefix(codecs.BOM_UTF8)
        records = object_lines(block)
        if not records:
            return None
        # Arrow takes invalid UTF-8 in texts and keys. (Most blocks are
        # ASCII, told without decoding them into a copy.)
        if not block.isascii():
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                return None
        options = self.read_options
        # Arrow parses in pieces of a megabyte at most (on its threads): a
        # whole block at once would take several times its size.
        options.block_size = min(max(len(block) + 1, 1 << 16), 1 << 20)
        try:
            table = self.read_json(
                self.buffer(block), read_options=options, parse_options=self.parse_options
            )
        except self.errors:
            return None
        # Fewer records than lines opening one: two objects on a line.
        return (table, block) if table.num_rows == records else None


def plain_numbers(values: np.ndarray) -> bool:
    """No non-finite number (Arrow and Python's json spell NaN and the
    infinities differently). (An integer ``-0`` is -0.0 to both: see
    json_elements.json_integer.)"""
    return bool(np.isfinite(values).all())
