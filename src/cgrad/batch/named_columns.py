"""Named columns of a file, read by ``cgrad batch``'s own readers with no
expression: :func:`file_header` and :func:`named_columns`.

The same formats as ``batch`` (CSV, TSV, NDJSON, JSON, Parquet, Arrow
IPC, each optionally compressed; the format from the name, else the
bytes), the same readers (Arrow's in big enough chunks, the record reader
otherwise and for the rows Arrow cannot vouch for), and a bad row worded
exactly as ``batch`` words it: each chunk holds the good rows as float64
columns and the bad rows' numbers, types and messages, for the caller to
record, skip, or stop at (``--on-error``), as ``batch``'s writers do.

The readers are made for one expression: they read its inputs' columns
and evaluate it a block at a time. Here they are given :class:`_Columns`,
whose inputs are the names asked for and whose evaluation is nothing (a
value of 0 and no partials), so a block costs its parsing alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..autodiff.evaluation import Result
from ..composed_names import composed
from ..errors import UsageError
from ..function import Function, compile
from .bindings import Bindings
from .blocks import CHUNK_ROWS, ColumnBlock, Outcome
from .inputs import evaluated, open_records


@dataclass
class NamedColumns:
    """One chunk of a file's rows: the good ones as ``columns`` (float64,
    one per name asked for, in that order) with their row numbers
    (``rows``, counted from 1 as ``batch`` counts them), and the bad ones
    as (row, error type, message)."""

    columns: dict[str, np.ndarray]
    rows: np.ndarray
    errors: list[tuple[int, str, str]]


class _Columns(Function):
    """What the readers are given: a function whose inputs are the columns
    asked for (any text: a column need not be a name cgrad reads) and whose
    evaluation is nothing."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(compile("0").graph, inputs=names)

    def evaluate(self, values: Mapping[str, object] | None = None, /, **options: Any) -> Result:
        """No value worth the work and no partials (see the module's docstring)."""
        return Result(0.0, {})


def open_file(path: Path, chunk_rows: int, names: Sequence[str] | None = None) -> Any:
    """The file (binary, for the caller to close) and the batch reader for
    its columns ``names`` in chunks of ``chunk_rows`` (None: the record
    reader, which reads a file's header or first record alone)."""
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except OSError as error:
        raise UsageError(
            f"cannot read {path}: {error.strerror or error}", type="file_error"
        ) from None
    function = None if names is None else _Columns(names)
    return stream, open_records(str(path), stream, None, function, chunk_rows)


def file_header(path: str | Path) -> list[str]:
    """The file's columns: its header, or the fields of its first good
    record (NDJSON and JSON), each composed (NFC) as the program's names
    are: :func:`named_columns` finds a decomposed one (see Bindings.met)."""
    return [composed(name) for name in _header(path)]


def _header(path: str | Path) -> list[str]:
    stream, reader = open_file(Path(path), 1)  # (small chunks: the record reader)
    with stream:
        if reader.header is not None:
            return list(reader.header)
        for record in reader:
            if record.fields is not None:
                return list(record.fields)
    return []


def named_columns(
    path: str | Path,
    names: Sequence[str],
    chunk_rows: int = CHUNK_ROWS,
    bindings: Bindings | None = None,
) -> Iterator[NamedColumns]:
    """The columns ``names`` of the file at ``path``, a chunk at a time
    (about ``chunk_rows`` rows, more where a reader's block holds more),
    in file order (see :class:`NamedColumns`). Each name is read from the
    column of that name, or the one ``bindings`` gives it (as ``batch
    --column NAME=COLUMN`` does, and worded so in a bad row's message);
    the caller has checked that the file has them (:func:`file_header`)."""
    function = _Columns(names)
    chunk_rows = max(chunk_rows, CHUNK_ROWS)
    stream, reader = open_file(Path(path), chunk_rows, names)
    if reader.header is not None:  # (records without one meet it chunk by chunk)
        bindings = (bindings or Bindings()).met(reader.header)
    with stream:
        for chunk in evaluated(reader, function, [], chunk_rows, bindings):
            if isinstance(chunk, ColumnBlock):
                columns = {name: np.asarray(chunk.inputs[name], np.float64) for name in names}
                rows = np.arange(chunk.first_row, chunk.first_row + chunk.count)
                yield NamedColumns(columns, rows, [])
            elif isinstance(chunk, list) and chunk:  # (never an expression block)
                yield _from_outcomes(chunk, names)


def _from_outcomes(outcomes: Sequence[Outcome], names: Sequence[str]) -> NamedColumns:
    """The good rows and the errors among outcomes one by one."""
    kept: list[tuple[float, ...]] = []
    rows: list[int] = []
    errors: list[tuple[int, str, str]] = []
    for outcome in outcomes:
        if outcome.error is not None:
            errors.append((outcome.row, *outcome.error))
        else:
            kept.append(outcome.input_values)
            rows.append(outcome.row)
    table = np.array(kept, dtype=np.float64).reshape(len(kept), len(names))
    columns = {name: table[:, k].copy() for k, name in enumerate(names)}
    return NamedColumns(columns, np.array(rows, dtype=np.int64), errors)
