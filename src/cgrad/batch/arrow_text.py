"""Columns of text joined into lines by Arrow's compute kernels: the
numbers of a float64 column as their shortest round-trip text, and the
segments and columns of :class:`cgrad.batch.json_text.Pieces` interleaved,
all in C, with no Python string per value (used once pyarrow is loaded)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..numerals import json_text, number_text, orjson_differs

# The type of every text made here: bytes, with 64-bit offsets.
BYTES = pa.large_binary()


def number_array(column: np.ndarray, json: bool = False) -> Any:
    """:func:`cgrad.numerals.number_texts` of ``column``, as an Arrow array
    of bytes: orjson writes the digits, Arrow splits them, and the few
    that orjson writes otherwise than repr (below 1e-4, and the
    non-finite ones) are redone one by one, as number_texts does (with
    ``json``, as :func:`~cgrad.numerals.json_text` does: NaN quoted)."""
    column = np.ascontiguousarray(column, dtype=np.float64).reshape(-1)
    texts = _split(orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1])
    redo = orjson_differs(column)
    if redo.any():
        again = _texts_of_redone(column[redo], json_text if json else number_text)
        texts = pc.replace_with_mask(texts, pa.array(redo), again)
    return texts


def quoted_non_finite(texts: Any, numbers: np.ndarray, quote: str) -> Any:
    """``texts`` (of ``numbers``, as :func:`number_array` writes them) with
    those of NaN and the infinities in ``quote`` marks: a JSON string's, or
    the doubled ones of JSON inside a quoted CSV field."""
    bad = ~np.isfinite(numbers)
    if not bad.any():
        return texts
    marked = [f"{quote}{number_text(value)}{quote}".encode() for value in numbers[bad].tolist()]
    return pc.replace_with_mask(texts, pa.array(bad), pa.array(marked, BYTES))


def _texts_of_redone(numbers: np.ndarray, text: Callable[[float], str]) -> Any:
    """``text`` of each number, as an Arrow array of bytes: the finite
    (tiny) ones one by one, the non-finite ones (half a column may be NaN)
    taken from their three texts."""
    finite = np.isfinite(numbers)
    # Indices into [NaN, inf, -inf, the finite ones in order].
    picks = np.where(np.isnan(numbers), 0, np.where(numbers > 0, 1, 2))
    picks[finite] = 3 + np.arange(np.count_nonzero(finite))
    written = [text(math.nan), text(math.inf), text(-math.inf)]
    written += map(text, numbers[finite].tolist())
    return pa.array([t.encode() for t in written], BYTES).take(pa.array(picks))


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
        BYTES, len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def interleaved(
    segments: Sequence[str],
    columns: Sequence[Any],
    count: int,
    trim: int = 0,
    encoded: bool = False,
) -> str | memoryview:
    """``segments[0] + columns[0][i] + segments[1] + ... + segments[-1]``
    for every i, as one string; a column is a float64 array (its numbers
    written as :func:`number_array` writes them), an integer array, a list
    of texts, or an Arrow array of texts. The last ``trim`` bytes are left out (a separator
    after the last record), so that the text is never copied to cut it.
    With ``encoded``, Arrow's UTF-8 bytes as they are (no text is made
    only to be encoded again when it is written)."""
    if not columns:
        text = "".join(segments) * count
        return text[: len(text) - trim]
    lines = lines_array(segments, columns, count)
    return lines_bytes(lines, trim) if encoded else lines_text(lines, trim)


def lines_array(segments: Sequence[str], columns: Sequence[Any], count: int) -> Any:
    """The lines :func:`interleaved` joins, as an Arrow array of bytes (at
    least one column)."""
    items: list[Any] = []
    index = 0
    taken = 0  # bytes of segments[index] already written by the run before it
    while index <= len(columns):
        segment = segments[index][taken:]
        if segment:
            # (long ones, such as a record's own expression, are not kept)
            items.append(_segment(segment) if len(segment) <= 200 else _scalar(segment))
        if index == len(columns):
            break
        run = _float_run(segments, columns, index)
        taken = 0
        if run:
            # Numbers (a CSV or TSV row's side by side) written by one dump,
            # each row followed by the first byte of what follows it, or the
            # first three for two numbers or more (a matrix's dump: its row
            # ends are fewer to find than a flat dump's commas).
            after = segments[index + len(run)]
            matrix = len(run) > 1 and len(after) >= 3 and after[:3].isascii()
            end = after[:3] if matrix else after[0]
            # (a lone column has no delimiter: its commas are all row ends)
            delimiter = segments[index + 1] if len(run) > 1 else ","
            items.append(number_rows(run, count, delimiter, end))
            taken = len(end)
            index += len(run)
        else:
            items.append(_bytes(columns[index], count))
            index += 1
    return pc.binary_join_element_wise(*items, pa.scalar(b"", BYTES))


def _float_run(segments: Sequence[str], columns: Sequence[Any], start: int) -> list[Any]:
    """The float columns from ``start`` on with one and the same one-character
    ASCII separator between them and an ASCII character after them: none
    if the column at ``start`` is no float array or nothing such follows it."""
    if not _is_floats(columns[start]):
        return []
    run = [columns[start]]
    delimiter = segments[start + 1]
    if len(delimiter) == 1 and delimiter.isascii():
        at = start + 1
        while at < len(columns) and segments[at] == delimiter and _is_floats(columns[at]):
            run.append(columns[at])
            at += 1
    after = segments[start + len(run)]
    if not (after and after[0].isascii()):
        run.pop()  # (the one before it, if any, is followed by the delimiter)
    return run


def _is_floats(column: Any) -> bool:
    return isinstance(column, np.ndarray) and column.dtype.kind == "f"


# Rows with a number orjson writes otherwise are made again one by one up
# to this many, and a column at a time beyond (NaN may be in half a block).
FEW_REDONE = 64


def number_rows(columns: Sequence[np.ndarray], count: int, delimiter: str, end: str) -> Any:
    """Row i of the float columns as ``a<delimiter>b<delimiter>c<end>``, each
    number as :func:`number_array` writes it, as an Arrow array of bytes
    (``delimiter`` one ASCII character, ``end`` one or three)."""
    if not count:
        return pa.array([], BYTES)
    if len(columns) == 1:
        matrix = np.ascontiguousarray(np.broadcast_to(columns[0], (count,)), dtype=np.float64)
        matrix = matrix.reshape(count, 1)
    else:
        matrix = np.column_stack([np.broadcast_to(c, (count,)) for c in columns])
        matrix = matrix.astype(np.float64, copy=False)
    # The numbers row after row, each row's text running on into the next
    # with the bytes between them overwritten by ``end``: nothing to cut out.
    if len(end) == 3:
        data, offsets = _matrix_rows(matrix)
    else:
        data, offsets = _flat_rows(matrix)
    if delimiter != ",":
        data[data == ord(",")] = ord(delimiter)
    for at, byte in enumerate(end.encode()):
        data[offsets[1:] - len(end) + at] = byte
    redo = orjson_differs(matrix).any(axis=1)
    many = np.count_nonzero(redo) > FEW_REDONE
    if redo.any() and not many:
        texts = [delimiter.join(map(number_text, row)) + end for row in matrix[redo].tolist()]
        data, offsets = _rows_replaced(data, offsets, np.flatnonzero(redo), texts)
    rows = pa.Array.from_buffers(BYTES, count, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    if not many:
        return rows
    words = [number_array(column) for column in matrix[redo].T]
    again = pc.binary_join_element_wise(
        pc.binary_join_element_wise(*words, _segment(delimiter)), _segment(end), _segment("")
    )
    return pc.replace_with_mask(rows, pa.array(redo), again)


def _rows_replaced(
    data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, texts: list[str]
) -> tuple[Any, np.ndarray]:
    """``data`` and ``offsets`` with the (ascending) ``rows`` made
    ``texts``: the bytes copied once around them (Arrow's replace_with_mask
    rebuilds every row, a cost out of all proportion for a few)."""
    encoded = [text.encode() for text in texts]
    starts, ends = offsets[rows].tolist(), offsets[rows + 1].tolist()
    pieces: list[Any] = []
    grown = np.zeros(len(offsets), dtype=np.int64)
    at = 0
    for row, start, end, text in zip(rows.tolist(), starts, ends, encoded, strict=True):
        pieces += (data[at:start], text)
        grown[row + 1] = len(text) - (end - start)
        at = end
    pieces.append(data[at:])
    return b"".join(pieces), offsets + np.cumsum(grown)


def _matrix_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[[a,b],[c,d]]``, less its first two bytes and with one more at the
    end: each row's numbers followed by three bytes ("],[" or "]]" and
    the one added); and where each row starts."""
    dumped = np.frombuffer(orjson.dumps(matrix, option=orjson.OPT_SERIALIZE_NUMPY), np.uint8)
    data = np.empty(len(dumped) - 1, dtype=np.uint8)
    data[:-1] = dumped[2:]
    data[-1] = 0  # (overwritten by the last row's end)
    offsets = np.empty(len(matrix) + 1, dtype=np.int64)
    offsets[0] = 0
    # (the last "]" closes the whole matrix)
    offsets[1:] = np.flatnonzero(data == ord("]"))[: len(matrix)] + 3
    return data, offsets


def _flat_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[a,b,c,d]`` less its first byte: each row's numbers followed by a
    comma (every width-th one) or the "]"; and where each row starts."""
    dumped = orjson.dumps(matrix.reshape(-1), option=orjson.OPT_SERIALIZE_NUMPY)
    data = np.frombuffer(dumped, dtype=np.uint8)[1:].copy()
    width = matrix.shape[1]
    offsets = np.empty(len(matrix) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = np.flatnonzero(data == ord(","))[width - 1 :: width] + 1
    offsets[-1] = len(data)
    return data, offsets


def _scalar(text: str) -> Any:
    return pa.scalar(text.encode(), BYTES)


@functools.lru_cache(maxsize=4096)
def _segment(text: str) -> Any:
    """The Arrow scalar of a short segment: the same few come back for
    every block (and for every expression's group of records)."""
    return _scalar(text)


def lines_text(lines: Any, trim: int = 0) -> str:
    """The lines of an Arrow array of bytes, one after the other, less the
    last ``trim`` bytes, read from its buffers without a copy per line."""
    return str(lines_bytes(lines, trim), "utf-8")


def lines_bytes(lines: Any, trim: int = 0) -> memoryview:
    """:func:`lines_text` as the UTF-8 bytes in Arrow's buffer, not copied."""
    if not len(lines):
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    start, end = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return memoryview(lines.buffers()[2])[start : end - trim]


def _bytes(column: Any, count: int) -> Any:
    if isinstance(column, pa.Array):  # texts made already
        return column
    if isinstance(column, np.ndarray) and column.dtype.kind == "i":
        return pa.array(column).cast(pa.large_string()).cast(BYTES)
    if isinstance(column, np.ndarray):
        return number_array(np.broadcast_to(column, (count,)))
    return pa.array(column, pa.large_string()).cast(BYTES)
