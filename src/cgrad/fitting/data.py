"""The rows a fit learns from: numpy columns, a pandas or Arrow frame, or
a file read by ``cgrad batch``'s own readers (CSV and TSV by Arrow's
columnar reader, NDJSON and JSON by the record reader, Parquet by row
groups, Arrow IPC by record batches, each optionally compressed).

The columns the fit needs are read by
:func:`cgrad.batch.named_columns.named_columns`, with no expression, so a
bad row is found and worded exactly as ``batch`` words it, its message
passed on as it is. A row whose value is not a finite number is bad too
(it would make the loss NaN). Bad rows are left out and counted
(:class:`BadRows`), or stop the fit (``on_error="fail"``).

A file is read whole into memory when its columns fit in
:data:`FULL_BATCH_BYTES`; a bigger one is read again on every pass, a
chunk at a time, so memory stays flat whatever its size (:class:`Source`).

The validation rows of ``holdout`` are exactly ``round(holdout * rows)``
of the good rows, chosen by a generator seeded with the fit's seed
(:class:`cgrad.fitting.rows.Holdout`), the same on every pass, so a file
read in memory and the same file streamed split the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..autodiff.inputs import numeric_array, unmasked
from ..batch.bindings import Bindings
from ..batch.frames import frame_column, frame_kind, frame_names
from ..batch.named_columns import file_header, named_columns
from ..errors import CgradError, InputError
from ..function import compile
from ..numerals import format_number

# A file whose columns take at most this many bytes as float64 is read
# into memory once (about 3 million rows of 10 columns); a bigger one is
# streamed from the file on every pass.
FULL_BATCH_BYTES = 256 << 20
# Bad rows whose errors a result keeps (all are counted).
BAD_ROWS_KEPT = 10
ON_ERROR = ("record", "skip", "fail")

Columns = dict[str, np.ndarray]


class BadRowError(InputError):
    """A bad row with ``on_error="fail"``: the fit stops there."""

    type = "bad_row"


@dataclass
class BadRows:
    """The rows left out: how many, and the first few as (row, type, message)."""

    count: int = 0
    first: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, row: int, kind: str, message: str, on_error: str) -> None:
        if on_error == "fail":
            raise BadRowError(
                f"row {row:,} of the data is bad: {message}",
                hint="--on-error record or skip leaves bad rows out and counts them",
                type=kind,
            )
        self.count += 1
        # (skip: counted, not listed)
        if on_error == "record" and len(self.first) < BAD_ROWS_KEPT:
            self.first.append((row, kind, message))


class Source:
    """Where the rows come from, with the names of its columns (``header``):
    columns in memory (a mapping or a frame), or a file read again on each
    :meth:`chunks`."""

    def __init__(self, data: object) -> None:
        self.path: Path | None = None
        self.frame: Any = None
        self.mapping: Mapping[str, Any] | None = None
        if isinstance(data, (str, Path)):
            self.path = Path(data)
            self.header = file_header(self.path)
        elif isinstance(data, Mapping):
            self.mapping = data
            self.header = [str(name) for name in data]
        else:
            try:
                self.kind = frame_kind(data)
            except InputError:
                raise InputError(
                    "the data must be a mapping of columns, a pandas or Arrow frame, or a "
                    f"file path, not {type(data).__name__}"
                ) from None
            self.frame = data
            self.header = frame_names(data, self.kind)

    def chunks(
        self, names: Sequence[str], rows: int, bad: BadRows, on_error: str
    ) -> Iterator[Columns]:
        """The good rows of ``names``, a chunk of about ``rows`` at a time
        (all at once for columns in memory), bad rows added to ``bad``."""
        if self.path is not None:
            yield from _file_chunks(self.path, names, rows, bad, on_error)
            return
        if self.mapping is not None:
            columns = {name: _numbers(name, self.mapping[name]) for name in names}
        else:
            columns = {name: frame_column(self.frame, self.kind, name) for name in names}
        shapes = {name: column.shape for name, column in columns.items()}
        if any(len(shape) != 1 for shape in shapes.values()) or len(set(shapes.values())) > 1:
            described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            raise InputError(f"the data's columns must be 1-d and of one length: {described}")
        yield _good(columns, names, 1, bad, on_error)


def _numbers(name: str, column: object) -> np.ndarray:
    """A mapping's column as float64, checked as evaluate checks a value
    (text, complex numbers and None are refused, not converted), its
    masked entries NaN, so bad rows; or an error naming it."""
    return numeric_array(f"the column {name}", unmasked(column)).astype(np.float64, copy=False)


def _good(
    columns: Mapping[str, np.ndarray],
    names: Sequence[str],
    rows: int | np.ndarray,
    bad: BadRows,
    on_error: str,
    errors: Sequence[tuple[int, str, str]] = (),
) -> Columns:
    """The rows of ``names`` whose values are all finite; the others, and
    the rows the reader found bad (``errors``), added to ``bad`` in row
    order (the first few with their message, the rest counted). ``rows``:
    the first row's number, or each row's."""
    picked = {name: columns[name] for name in names}
    finite = np.logical_and.reduce([np.isfinite(column) for column in picked.values()])
    if finite.all() and not errors:
        return picked
    found = np.flatnonzero(~finite)
    said = list(errors)
    for index in found[:BAD_ROWS_KEPT]:
        name = next(n for n in names if not math.isfinite(picked[n][index]))
        value = format_number(float(picked[name][index]))
        row = rows + int(index) if isinstance(rows, int) else int(rows[index])
        said.append((row, "invalid_value", f"the value of {name} is {value}"))
    for row, kind, message in sorted(said, key=lambda item: item[0]):
        bad.add(row, kind, message, on_error)
    bad.count += len(found) - min(len(found), BAD_ROWS_KEPT)
    return {name: column[finite] for name, column in picked.items()}


def _file_chunks(
    path: Path, names: Sequence[str], rows: int, bad: BadRows, on_error: str
) -> Iterator[Columns]:
    """The good rows of ``names`` in the file, chunk by chunk, read by the
    batch readers (:func:`cgrad.batch.named_columns.named_columns`), each
    column under its own name where that is a name (the model's columns
    always are), so that a bad row's message is what ``batch`` says."""
    inputs = _reader_inputs(names)
    bindings = Bindings(
        columns={i: name for i, name in zip(inputs, names, strict=True) if i != name}
    )
    for chunk in named_columns(path, inputs, rows, bindings):
        columns = dict(zip(names, chunk.columns.values(), strict=True))
        yield _good(columns, names, chunk.rows, bad, on_error, chunk.errors)


def _reader_inputs(names: Sequence[str]) -> list[str]:
    """The reader's input name for each column: its own, where it is one
    (not a constant, nor text that is no name), else ``target`` (only the
    target can be such a column), or ``column_K``, bound to it."""
    inputs = []
    for k, name in enumerate(names):
        try:
            own = compile(name).inputs == (name,)
        except CgradError:
            own = False
        if own:
            inputs.append(name)
        else:
            free = "target" not in names and "target" not in inputs
            inputs.append("target" if free else f"column_{k}")
    return inputs
