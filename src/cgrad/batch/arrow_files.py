"""Parquet and Arrow IPC (Feather) files in, record batch by record batch.

Parquet is read in batches of a bounded number of rows and cells
(``ParquetFile.iter_batches``), an Arrow file or stream in the same
batches (a big record batch cut, small ones gathered), so memory stays
bounded by a batch. A batch whose input columns are all numbers, without nulls, goes
through the expression as columns (a row with a warning gets its own, as
in :mod:`cgrad.batch.columnar`); any other batch (a null, a text or
boolean column), and any with ``--hessian``, is evaluated record by
record, as rows of JSON values would be, so each bad row gets its number
and its error.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import UsageError
from ..function import Function
from .arrow_numbers import is_number_type, nearest_floats
from .bindings import Bindings
from .blocks import CHUNK_ROWS, ColumnBlock, Outcome, evaluate_blocks, with_warnings
from .rows import ID_FIELD, Record, Records
from .spooling import BoundedSink

Chunk = list[Outcome] | ColumnBlock


class ArrowRecords:
    """The record batches of a Parquet or Arrow IPC stream: ``header``
    names the columns, ``types`` gives their Arrow types."""

    def __init__(
        self, stream: io.BufferedReader, format: str, chunk_rows: int, where: str = "the input"
    ) -> None:
        import pyarrow as pa

        self._spool: Any = None
        try:
            if format == "parquet":
                source, schema = self._parquet(stream, where)
            else:
                source, schema = _ipc(stream)
        except (pa.ArrowException, OSError) as error:
            self._close()
            raise _unreadable(format, error) from None
        except BaseException:
            self._close()
            raise
        self.format = format
        self.header: list[str] = list(schema.names)
        duplicated = sorted({name for name in self.header if self.header.count(name) > 1})
        if duplicated:
            raise UsageError(
                f"the input names {', '.join(duplicated)} more than once", type="input_error"
            )
        self.types = dict(zip(schema.names, schema.types, strict=True))
        self.batch_rows = _batch_rows(chunk_rows, len(self.header))
        # Small batches (an Arrow stream's may be of a hundred rows) are
        # gathered, each batch costing its own calls; not where --chunk-rows
        # asks a slow stream for prompt answers.
        self.gather = chunk_rows >= CHUNK_ROWS
        # (Parquet's reader makes its batches of that size itself)
        self._batches: Iterator[Any] = (
            source.iter_batches(batch_size=self.batch_rows) if format == "parquet" else source
        )

    def _parquet(self, stream: io.BufferedReader, where: str) -> tuple[Any, Any]:
        """The Parquet file and its schema. Parquet wants to seek (its index
        is at the end): a pipe or a decompressed stream is copied to a
        temporary file first, never so far as to fill its file system
        (an endless stream would)."""
        import pyarrow.parquet as pq

        source: Any = stream
        if not _seekable(stream):
            self._spool = tempfile.TemporaryFile()
            sink = BoundedSink(
                self._spool,
                f"{where} holds Parquet, which is copied to a temporary file to be read "
                "(its index is at its end)",
                hint="pass an uncompressed Parquet file by its path: it is read in place, "
                "without a copy",
            )
            shutil.copyfileobj(stream, sink, 1 << 20)
            sink.flush()
            self._spool.seek(0)
            source = self._spool
        # Column chunks read through a small buffer, not pre-buffered whole:
        # memory then stays flat whatever the row groups' size.
        parquet = pq.ParquetFile(source, pre_buffer=False, buffer_size=1 << 20)
        return parquet, parquet.schema_arrow

    def batches(self) -> Iterator[Any]:
        """The record batches, each of at most :func:`_batch_rows` rows: a
        big one cut, small ones gathered (see :attr:`gather`), in order."""
        import pyarrow as pa

        pending: list[Any] = []
        held = 0  # rows in pending
        try:
            for batch in self._batches:
                if self.gather and batch.num_rows < self.batch_rows:
                    pending.append(batch)
                    held += batch.num_rows
                    if held < self.batch_rows:
                        continue
                    batch = pa.concat_batches(pending)
                elif pending:
                    yield from self._cut(pa.concat_batches(pending))
                pending, held = [], 0
                yield from self._cut(batch)
            if pending:
                yield from self._cut(pa.concat_batches(pending))
        except (pa.ArrowException, OSError) as error:
            # The rows read before the error are answered first.
            if pending:
                yield from self._cut(pa.concat_batches(pending))
            raise _unreadable(self.format, error) from None
        finally:
            self._close()

    def _close(self) -> None:
        """Remove the copy of a piped Parquet input, if one was made."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _cut(self, batch: Any) -> Iterator[Any]:
        for start in range(0, batch.num_rows, self.batch_rows):
            yield batch.slice(start, self.batch_rows)

    def outcomes(
        self,
        function: Function | None,
        wrt: Sequence[str] | None,
        chunk_rows: int,
        bindings: Bindings | None = None,
        hessian: bool = False,
    ) -> Iterator[Chunk]:
        """Outcomes batch by batch, in input order."""
        bindings = bindings or Bindings()
        rows = 0
        for batch in self.batches():
            columns = None
            if function is not None and not hessian:
                columns = _columns(batch, function, wrt, rows, bindings)
            if columns is not None:
                yield columns
            else:
                records = Records.of(_records(batch, rows), self.header)
                yield from evaluate_blocks(records, function, wrt, chunk_rows, bindings, hessian)
            rows += batch.num_rows


# Cells (rows times columns) a batch holds at most, unless --chunk-rows
# asks for more rows: the columns an expression does not use are carried
# as Python objects, so a batch's memory goes with its cells, as a CSV
# block's goes with its bytes.
BATCH_CELLS = 1 << 17


def _batch_rows(chunk_rows: int, columns: int) -> int:
    """Rows a batch holds at most: up to as many as a block of CSV lines,
    within :data:`BATCH_CELLS` (a batch's columns go through the expression
    at once, and each batch costs its own calls), or ``--chunk-rows`` if
    more. The record reader takes a batch ``--chunk-rows`` at a time."""
    from . import columnar

    return max(chunk_rows, min(columnar.BLOCK_ROWS, BATCH_CELLS // max(1, columns)))


def _seekable(stream: io.BufferedReader) -> bool:
    try:
        return stream.seekable() and stream.raw.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def _ipc(stream: io.BufferedReader) -> tuple[Iterator[Any], Any]:
    """An Arrow file holds an Arrow stream after its 8-byte magic: read as a
    stream, it needs no seeking (stdin and decompression work)."""
    import pyarrow as pa

    if stream.peek(6)[:6] == b"ARROW1":
        stream.read(8)
    reader = pa.ipc.open_stream(stream)
    return iter(reader), reader.schema


def _unreadable(format: str, error: Exception) -> UsageError:
    name = "Parquet" if format == "parquet" else "Arrow IPC"
    return UsageError(f"cannot read the {name} input: {error}", type="input_error")


def _records(batch: Any, rows: int) -> Iterator[Record]:
    for offset, fields in enumerate(batch.to_pylist()):
        yield Record(rows + offset + 1, fields)


def _number_column(column: Any) -> np.ndarray | None:
    """A column of numbers without nulls as float64, else None."""
    if column.null_count or not is_number_type(column.type):
        return None
    return nearest_floats(column)


def _columns(
    batch: Any, function: Function, wrt: Sequence[str] | None, rows: int, bindings: Bindings
) -> Chunk | None:
    """The batch's outcomes as columns (each flagged row's warnings in
    them), or None when its inputs are not all numbers."""
    names = batch.schema.names
    count = batch.num_rows
    inputs = {}
    for name in function.inputs:
        source = bindings.source(name)
        if source not in names:
            if name not in bindings.fixed:
                return None
            inputs[name] = np.full(count, bindings.fixed[name])
            continue
        column = _number_column(batch.column(source))
        if column is None:
            return None
        inputs[name] = column
    result = function.evaluate(inputs, wrt=wrt)
    skip = {*bindings.sources(function.inputs), ID_FIELD}
    columns = ColumnBlock(
        first_row=rows + 1,
        count=count,
        ids=batch.column(ID_FIELD).to_pylist() if ID_FIELD in names else None,
        inputs=inputs,
        value=np.broadcast_to(result.value, (count,)),
        gradient={n: np.broadcast_to(g, (count,)) for n, g in result.gradient.items()},
        # (as Arrow arrays: written a column at a time, see carried_text.py)
        carried={name: batch.column(name) for name in names if name not in skip},
    )
    return with_warnings(columns, result.warnings)
