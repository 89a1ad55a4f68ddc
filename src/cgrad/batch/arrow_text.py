"""Columns of text joined into lines by Arrow's compute kernels: the
numbers of a float64 column as their shortest round-trip text, and the
segments and columns of :class:`cgrad.batch.json_text.Pieces` interleaved,
all in C, with no Python string per value (used once pyarrow is loaded)."""

from __future__ import annotations

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
    text = orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1]
    texts = pc.split_pattern(pa.array([text], _BYTES), b",").flatten()
    magnitude = np.abs(column)
    with np.errstate(invalid="ignore"):
        redo = ~((magnitude >= 1e-4) & (magnitude <= np.finfo(np.float64).max))
    redo &= magnitude != 0.0
    if redo.any():
        again = [number_text(float(value)).encode() for value in column[redo].tolist()]
        texts = pc.replace_with_mask(texts, pa.array(redo), pa.array(again, _BYTES))
    return texts


def interleaved(segments: Sequence[str], columns: Sequence[Any], count: int) -> str:
    """``segments[0] + columns[0][i] + segments[1] + ... + segments[-1]``
    for every i, as one string; a column is a float64 array (its numbers
    written as :func:`number_array` writes them) or a list of texts."""
    items: list[Any] = []
    for index, segment in enumerate(segments):
        if segment:
            items.append(pa.scalar(segment.encode(), _BYTES))
        if index < len(columns):
            items.append(_bytes(columns[index], count))
    if not any(isinstance(item, pa.Array) for item in items):
        return "".join(segments) * count
    lines = pc.binary_join_element_wise(*items, pa.scalar(b"", _BYTES))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2].to_pybytes()[start:end].decode("utf-8")


def _bytes(column: Any, count: int) -> Any:
    if isinstance(column, np.ndarray):
        return number_array(np.broadcast_to(column, (count,)))
    return pa.array(column, pa.large_string()).cast(_BYTES)
