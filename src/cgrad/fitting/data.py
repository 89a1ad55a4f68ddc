"""The rows a fit learns from: numpy columns, a pandas or Arrow frame, or
a file read by ``cgrad batch``'s own readers (CSV and TSV by Arrow's
columnar reader, NDJSON and JSON by the record reader, Parquet by row
groups, Arrow IPC by record batches, each optionally compressed).

The readers read the columns an expression asks for; here it is the
smallest one that reads every column the fit needs (their ``min``, with
no partials), each column under its own name where that is an input name
(the model's columns always are), and what is kept is the inputs they
read, so a bad row is found and worded exactly as ``batch`` words it, its
message passed on as it is. A row whose value is not a finite number is
bad too (it would make the loss NaN). Bad rows are left
out and counted (:class:`BadRows`), or stop the fit (``on_error="fail"``).

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
from typing import Any, cast

import numpy as np

from ..batch.bindings import Bindings
from ..batch.blocks import CHUNK_ROWS, ColumnBlock, Outcome
from ..batch.frames import frame_column, frame_kind, frame_names
from ..batch.inputs import evaluated, open_records
from ..errors import CgradError, InputError, UsageError
from ..function import Function, compile
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
            self.header = _file_header(self.path)
        elif isinstance(data, Mapping):
            self.mapping = data
            self.header = [str(name) for name in data]
        else:
            try:
                self.kind = frame_kind(data)
            except TypeError:
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
    """A mapping's column as float64, or an error naming it."""
    try:
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise InputError(f"the column {name} is not numeric: {error}") from None


def _good(
    columns: Mapping[str, np.ndarray],
    names: Sequence[str],
    first_row: int,
    bad: BadRows,
    on_error: str,
) -> Columns:
    """The rows of ``names`` whose values are all finite; the others added
    to ``bad`` (the first few with their message, the rest counted)."""
    picked = {name: columns[name] for name in names}
    finite = np.logical_and.reduce([np.isfinite(column) for column in picked.values()])
    if finite.all():
        return picked
    found = np.flatnonzero(~finite)
    for index in found[:BAD_ROWS_KEPT]:
        name = next(n for n in names if not math.isfinite(picked[n][index]))
        value = format_number(float(picked[name][index]))
        bad.add(
            first_row + int(index), "invalid_value", f"the value of {name} is {value}", on_error
        )
    bad.count += len(found) - min(len(found), BAD_ROWS_KEPT)
    return {name: column[finite] for name, column in picked.items()}


def _open(path: Path, chunk_rows: int, function: Function | None = None) -> Any:
    """The file and its batch reader, chosen as ``cgrad batch`` chooses
    (:func:`cgrad.batch.inputs.open_records`): Arrow's for ``function`` in
    chunks of ``chunk_rows``, the record reader (whose records can be read
    one by one) without one."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", type="file_error"
        ) from None
    return stream, open_records(str(path), stream, None, function, chunk_rows)


def _file_header(path: Path) -> list[str]:
    """The file's columns: its header, or the fields of its first good
    record (NDJSON and JSON)."""
    stream, reader = _open(path, 1)  # (small chunks: the record reader)
    with stream:
        if reader.header is not None:
            return list(reader.header)
        for record in reader:
            if record.fields is not None:
                return list(record.fields)
    return []


def _file_chunks(
    path: Path, names: Sequence[str], rows: int, bad: BadRows, on_error: str
) -> Iterator[Columns]:
    """The good rows of ``names`` in the file, chunk by chunk, read by the
    batch readers for ``min`` of those columns with no partials."""
    inputs = _reader_inputs(names)
    reader_function = compile(f"min({', '.join(inputs)})")
    bindings = Bindings(
        columns={i: name for i, name in zip(inputs, names, strict=True) if i != name}
    )
    chunk_rows = max(rows, CHUNK_ROWS)
    stream, reader = _open(path, chunk_rows, reader_function)
    with stream:
        for chunk in evaluated(reader, reader_function, [], chunk_rows, bindings):
            if isinstance(chunk, ColumnBlock):
                columns = dict(zip(names, chunk.inputs.values(), strict=True))
                yield _good(columns, names, chunk.first_row, bad, on_error)
            elif chunk:  # (records of one expression: never an expression block)
                yield _outcomes(cast(Sequence[Outcome], chunk), names, bad, on_error)


def _reader_inputs(names: Sequence[str]) -> list[str]:
    """The reader's input name for each column: its own, where it is one
    (not a constant, nor text that is no name), else ``target``, or
    ``column_K``, bound to it."""
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


def _outcomes(
    outcomes: Sequence[Outcome], names: Sequence[str], bad: BadRows, on_error: str
) -> Columns:
    """The good rows among outcomes one by one, the errors of the others
    as ``batch`` words them."""
    kept: list[tuple[float, ...]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            kind, message = outcome.error
            bad.add(outcome.row, kind, message, on_error)
            continue
        values = outcome.input_values
        if not all(map(math.isfinite, values)):
            at = next(k for k, value in enumerate(values) if not math.isfinite(value))
            shown = format_number(values[at])
            bad.add(outcome.row, "invalid_value", f"the value of {names[at]} is {shown}", on_error)
            continue
        kept.append(values)
    table = np.array(kept, dtype=np.float64).reshape(len(kept), len(names))
    return {name: table[:, k].copy() for k, name in enumerate(names)}
