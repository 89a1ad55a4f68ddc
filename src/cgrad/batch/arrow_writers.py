"""Outcomes out as Parquet or an Arrow IPC (Feather) file.

The columns are CSV's (see :class:`cgrad.batch.writers.CsvWriter`), typed:
``row`` an int64, the inputs, ``value``, ``grad_<name>`` and (with
``--hessian``) ``hessian_<a>_<b>`` float64, null on an error row; ``error``
and ``warnings`` text (null when there are none); the id and carried
columns of a Parquet or Arrow input in their own types, text otherwise.
Chunks are gathered into row groups of :data:`ROW_GROUP_ROWS` and written
as they fill, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from .blocks import ColumnBlock, Outcome, joined_messages
from .column_names import flat_columns
from .expression_block import Chunk, ExpressionBlock
from .hessians import hessian_headers, hessian_json
from .json_text import dumps
from .writers import Layout, OutputFormat, cell, numbers_text

# Rows per Parquet row group (and per Arrow record batch).
ROW_GROUP_ROWS = 1 << 17


class _Columns:
    """The output's schema, and a chunk of outcomes as a record batch."""

    def __init__(self, layout: Layout, plain_dictionaries: bool = False) -> None:
        self.layout = layout
        types = dict(layout.types or {})
        if plain_dictionaries:  # (see ArrowWriter)
            for name, kind in types.items():
                if pa.types.is_dictionary(kind):
                    types[name] = kind.value_type
        names = flat_columns(layout)
        # --hessian: JSON text per record, else hessian_<a>_<b> numbers.
        self.second = (
            hessian_headers(layout.per_record, layout.gradient_columns) if layout.hessian else []
        )
        self.carried = [
            (output, name, types.get(name, pa.string()))
            for output, name in zip(names.carried, layout.carried or (), strict=True)
        ]
        text, number = pa.string(), pa.float64()
        # Each column's type, in the order of names.names (CSV's columns).
        kinds: list[Any] = [pa.int64()] + ([types.get("id", text)] if layout.has_id else [])
        per_record = layout.per_record
        kinds += [text, text] if per_record else [number] * len(names.inputs)
        kinds += [kind for _, _, kind in self.carried]
        kinds += [number] + ([text] if per_record else [number] * len(layout.gradient_columns))
        kinds += [text if per_record else number] * len(self.second)
        kinds += [text] * ((layout.carried is None) + 2)  # extra (JSON), error, warnings
        fields = list(zip(names.names, kinds, strict=True))
        self.schema = pa.schema(fields)

    def batch(self, outcomes: Chunk) -> Any:
        if isinstance(outcomes, ColumnBlock) and self.layout.hessian:
            outcomes = outcomes.outcomes()  # (blocks come without second derivatives)
        if isinstance(outcomes, ExpressionBlock):
            outcomes = outcomes.outcomes()
        columns = (
            self._block(outcomes) if isinstance(outcomes, ColumnBlock) else self._rows(outcomes)
        )
        arrays = [
            _array(column, field.type) for column, field in zip(columns, self.schema, strict=True)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _block(self, block: ColumnBlock) -> list[Any]:
        # Row numbers and empty columns made by numpy and Arrow: a Python
        # object per row was most of a block's conversion.
        layout, count = self.layout, block.count
        nothing = _Nulls(count)
        columns: list[Any] = [np.arange(block.first_row, block.first_row + count, dtype=np.int64)]
        if layout.has_id:
            columns.append(block.ids if block.ids is not None else nothing)
        columns += [block.inputs[name] for name in layout.inputs]
        columns += [block.carried.get(name, nothing) for _, name, _ in self.carried]
        columns.append(block.value)
        columns += [block.gradient[name] for name in layout.gradient_columns]
        absent = 2 if layout.carried is None else 1
        messages = block.messages()
        warnings: Any = nothing
        if messages:
            warnings = [None] * count
            for at, text in messages.items():
                warnings[at] = text
        return [*columns, *[nothing] * absent, warnings]

    def _rows(self, outcomes: Sequence[Outcome]) -> list[Any]:
        layout = self.layout
        columns: list[Any] = [[o.row for o in outcomes]]
        if layout.has_id:
            typed = layout.types is not None and "id" in layout.types
            columns.append([o.id if typed else _text(o.id) for o in outcomes])
        if layout.per_record:
            columns.append([o.expression for o in outcomes])
            columns.append([numbers_text(o.inputs) if o.error is None else None for o in outcomes])
        else:
            columns += [[o.inputs.get(name) for o in outcomes] for name in layout.inputs]
        for _, name, _ in self.carried:
            typed = layout.types is not None and name in layout.types
            values = [(o.extra or {}).get(name) for o in outcomes]
            columns.append(values if typed else [_text(value) for value in values])
        columns.append([o.value if o.error is None else None for o in outcomes])
        if layout.per_record:
            columns.append(
                [numbers_text(o.gradient) if o.error is None else None for o in outcomes]
            )
        else:
            columns += [[o.gradient.get(n) for o in outcomes] for n in layout.gradient_columns]
        if layout.hessian:
            columns += self._second(outcomes)
        if layout.carried is None:
            columns.append([dumps(o.extra) if o.extra else None for o in outcomes])
        columns.append([f"{o.error[0]}: {o.error[1]}" if o.error else None for o in outcomes])
        columns.append([joined_messages(o.warnings) or None for o in outcomes])
        return columns

    def _second(self, outcomes: Sequence[Outcome]) -> list[list[Any]]:
        """The --hessian columns: JSON text when records carry their own
        expressions, else a number per pair (null where there is none)."""
        layout = self.layout
        if layout.per_record:
            return [[hessian_json(o) if o.hessian is not None else None for o in outcomes]]
        names = layout.gradient_columns
        pairs = [(a, b) for a in names for b in names]
        known = [
            dict(zip(_pairs(o.gradient_names), o.hessian or (), strict=False)) for o in outcomes
        ]
        return [[entries.get(pair) for entries in known] for pair in pairs]


def _pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for a in names for b in names]


def _text(value: object) -> str | None:
    return None if value is None else cell(value)


class _Nulls:
    """A column of ``count`` nulls, whatever its type."""

    def __init__(self, count: int) -> None:
        self.count = count


def _array(values: Any, kind: Any) -> Any:
    """A column as an Arrow array of ``kind``; a carried column whose values
    do not fit its type (mixed types in a record batch) becomes text."""
    if isinstance(values, _Nulls):
        return pa.nulls(values.count, kind)
    if isinstance(values, pa.Array):  # a carried column
        if values.type == kind:
            return values
        if pa.types.is_dictionary(values.type) and values.type.value_type == kind:
            return values.dictionary_decode()
        values = values.to_pylist()
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return pa.array([_text(value) for value in values], type=pa.string())


class _Gathering:
    """Chunks gathered into row groups, written as each one fills."""

    plain_dictionaries = False

    def __init__(self, stream: BinaryIO, layout: Layout) -> None:
        self.columns = _Columns(layout, self.plain_dictionaries)
        self.stream = stream
        self.pending: list[Any] = []
        self.rows = 0
        self.sink: Any = None

    def write(self, outcomes: Chunk) -> None:
        batch = self.columns.batch(outcomes)
        if batch.num_rows:
            self.pending.append(batch)
            self.rows += batch.num_rows
        if self.rows >= ROW_GROUP_ROWS:
            # Whole groups only, the rest kept for the next: the file is
            # then the same whatever size the chunks came in.
            table = pa.Table.from_batches(self.pending, schema=self.columns.schema)
            whole = self.rows - self.rows % ROW_GROUP_ROWS
            for start in range(0, whole, ROW_GROUP_ROWS):
                self._write_group(table.slice(start, ROW_GROUP_ROWS))
            rest = table.slice(whole)
            self.pending, self.rows = rest.to_batches(), rest.num_rows

    def _flush(self) -> None:
        if self.pending:
            self._write_group(pa.Table.from_batches(self.pending, schema=self.columns.schema))
        elif self.sink is None:
            self.sink = self.open(self.columns.schema)
        self.pending, self.rows = [], 0

    def _write_group(self, table: Any) -> None:
        if self.sink is None:
            self.sink = self.open(self.columns.schema)
        self.sink.write_table(table.combine_chunks())

    def abandon(self) -> None:
        """Stop without finishing the file (the run failed or was stopped,
        and its temporary file is removed): a Parquet writer is told it is
        closed, or it would close itself when collected, into the file
        closed by then, and print that error on stderr."""
        if hasattr(self.sink, "is_open"):  # (pyarrow.parquet.ParquetWriter)
            self.sink.is_open = False

    def close(self) -> None:
        self._flush()
        self.sink.close()
        self.stream.flush()

    def open(self, schema: Any) -> Any:
        raise NotImplementedError


class ParquetWriter(_Gathering):
    """A Parquet file, one row group per :data:`ROW_GROUP_ROWS` records."""

    def open(self, schema: Any) -> Any:
        import pyarrow.parquet as pq

        # A dictionary of float64 values is wasted work: they rarely repeat;
        # nor do row numbers, which go up one at a time (what delta
        # encoding stores in a few bits). Text and carried columns, which
        # often repeat, keep theirs.
        coded = [
            field.name
            for field in schema
            if field.name != "row" and not pa.types.is_floating(field.type)
        ]
        return pq.ParquetWriter(
            self.stream,
            schema,
            use_dictionary=coded,
            column_encoding={"row": "DELTA_BINARY_PACKED"},
        )


class ArrowWriter(_Gathering):
    """An Arrow IPC file (what Feather 2 is), one record batch per
    :data:`ROW_GROUP_ROWS` records. Dictionary columns are written as
    their values: the file format holds one dictionary a column, where a
    Parquet input has one a row group."""

    plain_dictionaries = True

    def open(self, schema: Any) -> Any:
        return pa.ipc.new_file(self.stream, schema)


ARROW_WRITERS = {OutputFormat.PARQUET: ParquetWriter, OutputFormat.ARROW: ArrowWriter}
