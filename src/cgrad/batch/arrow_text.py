"""Columns of text joined into lines by Arrow's compute kernels: the
numbers of a float64 column as their shortest round-trip text, and the
segments and columns of :class:`cgrad.batch.json_text.Pieces` interleaved,
all in C, with no Python string per value (used once pyarrow is loaded)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..numerals import number_text

_BYTES = pa.large_binary()


def number_array(column: np.ndarray) -> Any:
    """:func:`cgrad.numerals.number_texts` of ``column``, as an Arrow array
    of bytes: orjson writes the digits, Arrow splits them, and the few
    that orjson writes otherwise than repr (below 1e-4, and the
    non-finite ones) are redone one by one, as number_texts does."""
    column = np.ascontiguousarray(column, dtype=np.float64).reshape(-1)
    texts = _split(orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1])
    magnitude = np.abs(column)
    with np.errstate(invalid="ignore"):
        redo = ~((magnitude >= 1e-4) & (magnitude <= np.finfo(np.float64).max))
    redo &= magnitude != 0.0
    if redo.any():
        again = [number_text(float(value)).encode() for value in column[redo].tolist()]
        texts = pc.replace_with_mask(texts, pa.array(redo), pa.array(again, _BYTES))
    return texts


def _split(text: bytes) -> Any:
    """``b"1.5,2.0"`` as the array [b"1.5", b"2.0"]: the commas found and
    dropped by numpy, the array made from the buffers (no copy per value)."""
    raw = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(raw == ord(","))
    # Value i ends where comma i was, less the i commas dropped before it.
    offsets = np.empty(len(commas) + 2, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = commas - np.arange(len(commas))
    offsets[-1] = len(raw) - len(commas)
    data = raw[raw != ord(",")] if len(commas) else raw
    return pa.Array.from_buffers(
        _BYTES, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def interleaved(segments: Sequence[str], columns: Sequence[Any], count: int, trim: int = 0) -> str:
    """``segments[0] + columns[0][i] + segments[1] + ... + segments[-1]``
    for every i, as one string; a column is a float64 array (its numbers
    written as :func:`number_array` writes them), an integer array, a list
    of texts, or an Arrow array of texts. The last ``trim`` bytes are left out (a separator
    after the last record), so that the text is never copied to cut it."""
    if not columns:
        text = "".join(segments) * count
        return text[: len(text) - trim]
    return lines_text(lines_array(segments, columns, count), trim)


def lines_array(segments: Sequence[str], columns: Sequence[Any], count: int) -> Any:
    """The lines :func:`interleaved` joins, as an Arrow array of bytes (at
    least one column)."""
    items: list[Any] = []
    for index, segment in enumerate(segments):
        if segment:
            # (long ones, such as a record's own expression, are not kept)
            items.append(_segment(segment) if len(segment) <= 200 else _scalar(segment))
        if index < len(columns):
            items.append(_bytes(columns[index], count))
    return pc.binary_join_element_wise(*items, pa.scalar(b"", _BYTES))


def _scalar(text: str) -> Any:
    return pa.scalar(text.encode(), _BYTES)


@functools.lru_cache(maxsize=4096)
def _segment(text: str) -> Any:
    """The Arrow scalar of a short segment: the same few come back for
    every block (and for every expression's group of records)."""
    return _scalar(text)


def lines_text(lines: Any, trim: int = 0) -> str:
    """The lines of an Arrow array of bytes, one after the other, less the
    last ``trim`` bytes, read from its buffers without a copy per line."""
    if not len(lines):
        return ""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return str(memoryview(lines.buffers()[2])[start : end - trim], "utf-8")


def _bytes(column: Any, count: int) -> Any:
    if isinstance(column, pa.Array):  # texts made already
        return column
    if isinstance(column, np.ndarray) and column.dtype.kind == "i":
        return pa.array(column).cast(pa.large_string()).cast(_BYTES)
    if isinstance(column, np.ndarray):
        return number_array(np.broadcast_to(column, (count,)))
    return pa.array(column, pa.large_string()).cast(_BYTES)
