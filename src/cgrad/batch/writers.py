"""Outcomes out: NDJSON, one JSON array, CSV, TSV, or a table for people
(Parquet and Arrow in :mod:`cgrad.batch.arrow_writers`).

Writers take outcomes a chunk at a time (see :mod:`cgrad.batch.blocks`), write them
in order and flush after each chunk, so that ``| jq`` and ``| head`` see
results as they are made. Numbers are the shortest text that round-trips,
with "NaN", "Infinity" and "-Infinity" for the non-finite ones.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from enum import Enum
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from ..numerals import format_short, json_numbers, number_text
from .aligned import column_widths, padded
from .blocks import ColumnBlock, Outcome, joined_messages
from .column_names import flat_columns
from .expression_block import Chunk, ExpressionBlock
from .hessians import hessian_cells, table_headers
from .json_text import Pieces, as_text_columns, dumps, records_text, row_numbers

if TYPE_CHECKING:
    from .grouped_text import GroupTexts


class OutputFormat(str, Enum):
    """An output format, named as --format takes it."""

    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"
    TSV = "tsv"
    PARQUET = "parquet"
    ARROW = "arrow"
    TABLE = "table"


@dataclass(frozen=True)
class Layout:
    """What the writer knows before the first record: the inputs of the one
    expression (empty when records carry their own), and the carried columns
    of a CSV/TSV input (None when the input's fields are free-form JSON)."""

    inputs: tuple[str, ...] = ()
    per_record: bool = False
    carried: tuple[str, ...] | None = None
    has_id: bool = False
    # The partials asked for (--wrt); None for all of them.
    partials: tuple[str, ...] | None = None
    # The Arrow types of the id and carried columns of a Parquet or Arrow
    # input, kept by a Parquet or Arrow output (other columns are text).
    types: dict[str, Any] | None = None
    hessian: bool = False  # --hessian: the second derivatives too (see hessians.py)

    @property
    def gradient_columns(self) -> tuple[str, ...]:
        return self.inputs if self.partials is None else self.partials


def write_lines(stream: TextIO, lines: str | memoryview) -> None:
    """Lines written to ``stream``, as text or as UTF-8 bytes: bytes
    straight to its binary buffer, after what the text layer holds, when it
    encodes in UTF-8 (others get them as text, which they encode their own
    way)."""
    if isinstance(lines, str):
        stream.write(lines)
        return
    buffer = getattr(stream, "buffer", None)
    if buffer is None or not _utf8(getattr(stream, "encoding", None)):
        stream.write(str(lines, "utf-8"))
        return
    stream.flush()
    buffer.write(lines)


def _utf8(encoding: str | None) -> bool:
    try:
        return encoding is not None and codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


class NdjsonWriter:
    """One JSON object a line."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream

    def write(self, outcomes: Chunk) -> None:
        # The line break after the last record made with the rest: a block
        # of records is a big text, never copied to add one character.
        write_lines(self.stream, records_text(outcomes, "\n", after_last=True, encoded=True))
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonWriter:
    """One JSON array, written element by element."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.first = True

    def write(self, outcomes: Chunk) -> None:
        text = records_text(outcomes, ",\n", encoded=True)
        if not text:
            return
        self.stream.write("[\n" if self.first else ",\n")
        write_lines(self.stream, text)
        self.first = False
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("[]\n" if self.first else "\n]\n")
        self.stream.flush()


class CsvWriter:
    """Columns: row, id (when the input has ids), the inputs, the carried
    columns, value, grad_<input>..., error, warnings (the messages, joined
    with ' | '; SPEC's columns end at error, and a NaN must not come
    without its reason); an input or carried column named like one of
    these is renamed (see :mod:`cgrad.batch.column_names`). When records carry their own
    expressions, or the input's fields are free-form JSON, the parts that
    differ from record to record are JSON text in a column of their own."""

    delimiter = ","
    # Characters that make a field quoted.
    quoted = re.compile(r'[,"\r\n]')

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.layout = layout
        stream.write(self.line(flat_columns(layout).names))

    def line(self, cells: list) -> str:
        """One line, its fields quoted as :func:`_csv_fields` quotes them."""
        texts = list(map(str, cells))
        return self.delimiter.join(_csv_fields(texts, self.quoted)) + "\n"

    def row(self, outcome: Outcome) -> list:
        layout = self.layout
        error = outcome.error
        ok = error is None
        value = outcome.value
        extra = outcome.extra or {}
        cells: list = [outcome.row] + ([cell(outcome.id)] if layout.has_id else [])
        if layout.per_record:
            cells += [outcome.expression or "", numbers_text(outcome.inputs) if ok else ""]
        else:
            cells += _aligned(layout.inputs, outcome.input_names, outcome.input_values)
        cells += [cell(extra.get(name)) for name in layout.carried or ()]
        cells.append(number_text(value) if ok and value is not None else "")
        if layout.per_record:
            cells.append(numbers_text(outcome.gradient) if ok else "")
        else:
            cells += _aligned(
                layout.gradient_columns, outcome.gradient_names, outcome.gradient_values
            )
        if layout.hessian:
            cells += hessian_cells(layout.per_record, layout.gradient_columns, outcome, False)
        if layout.carried is None:
            cells.append(dumps(extra) if extra else "")
        cells.append("" if error is None else f"{error[0]}: {error[1]}")
        cells.append(joined_messages(outcome.warnings))
        return cells

    def write(self, outcomes: Chunk) -> None:
        if isinstance(outcomes, ExpressionBlock):
            from .grouped_text import grouped_text  # (pyarrow read the block)

            write_lines(self.stream, grouped_text(outcomes, self.group_records, "\n", True, True))
            self.stream.flush()
            return
        outcomes = as_text_columns(outcomes)
        if isinstance(outcomes, ColumnBlock):
            write_lines(self.stream, self.block_text(outcomes))
        else:
            self.stream.write("".join(self.line(self.row(o)) for o in outcomes))
        self.stream.flush()

    def block_text(self, block: ColumnBlock) -> str | memoryview:
        """The rows of a block, the same as :meth:`row` gives one by one,
        built a column at a time."""
        layout = self.layout
        count = block.count
        if count == 0:
            return ""
        comma, quoted = self.delimiter, self.quoted
        pieces = Pieces()
        pieces.add(row_numbers(block.first_row, count), comma)
        if layout.has_id:
            pieces.add(_csv_fields(block.ids, quoted) if block.ids else [""] * count, comma)
        for name in layout.inputs:
            pieces.add(block.inputs[name], comma)
        for name in layout.carried or ():
            pieces.add(self.carried_cells(block.carried.get(name), count), comma)
        pieces.add(block.value)
        for name in layout.gradient_columns:
            pieces.pending += comma
            pieces.add(block.gradient[name])
        # The empty ones: extra (for free-form input) and error; then the
        # warnings, empty but in the rows that have them.
        pieces.pending += comma * (3 if layout.carried is None else 2)
        if block.warned:
            pieces.add(self.warning_cells(block.messages(), count))
        return pieces.joined(count, "\n", after_last=True, encoded=True)

    def carried_cells(self, column: Any, count: int) -> Any:
        """A carried column's cells: CSV's texts, an Arrow array's values
        as :func:`cell` writes them, each quoted if it must be."""
        if column is None:
            return [""] * count
        if not isinstance(column, list):
            from .carried_text import csv_cells

            column = csv_cells(column, cell)  # (numbers need no quotes)
        return _csv_fields(column, self.quoted) if isinstance(column, list) else column

    def warning_cells(self, messages: dict[int, str], count: int) -> list[str]:
        """The warnings column of ``count`` rows, empty but at the positions
        of ``messages``, each quoted if it must be."""
        cells = [""] * count
        for at, text in messages.items():
            cells[at] = _csv_field(text) if self.quoted.search(text) else text
        return cells

    def group_records(self, texts: GroupTexts) -> Pieces:
        """The rows of the groups of one layout of an expression block, the
        same as :meth:`row` gives one by one (an expression block has no ids
        and no errors)."""
        comma = self.delimiter
        pieces = Pieces()
        pieces.add(texts.rows, comma)
        if self.layout.has_id:
            pieces.pending += comma
        pieces.add(texts.expression_column(lambda text: _csv_fields([text], self.quoted)[0]), comma)
        pieces.add_object(_json_cells(texts.inputs, texts.input_numbers), csv_field=True)
        pieces.pending += comma
        pieces.add(texts.value, comma)
        pieces.add_object(_json_cells(texts.gradient, texts.gradient_numbers), csv_field=True)
        pieces.pending += comma
        if texts.carried:
            # A JSON text of texts, in a quoted field: its quotes doubled.
            carried = {
                name: [encode_basestring(text).replace('"', '""') for text in column.to_pylist()]
                for name, column in texts.carried.items()
            }
            pieces.add_object(carried, csv_field=True)
        # The error cell, empty; the warnings', empty but in the records
        # that have them.
        pieces.pending += comma * 2
        if texts.warned:
            messages = {at: joined_messages(found) for at, found in texts.warned.items()}
            pieces.add(self.warning_cells(messages, texts.count))
        return pieces

    def close(self) -> None:
        self.stream.flush()


def _json_cells(texts: dict[str, Any], numbers: dict[str, np.ndarray]) -> dict[str, Any]:
    """Number texts for a JSON object in a quoted CSV field: NaN and the
    infinities as JSON strings, their quotes doubled (a group with warnings
    may have them)."""
    from .arrow_text import quoted_non_finite

    return {name: quoted_non_finite(texts[name], numbers[name], '""') for name in texts}


class TsvWriter(CsvWriter):
    """The CSV columns, tab-separated; a field with a tab, a quote or a line
    break is quoted as in CSV (Python's csv module and pandas read it so)."""

    delimiter = "\t"
    quoted = re.compile(r'[\t"\r\n]')


# The csv module of Python 3.11 leaves a lone "\r" unquoted (with "\n"
# ending lines), which a reader then takes for a line break: fields are
# quoted here instead.
def _csv_fields(column: list[str], quoted: re.Pattern[str]) -> list[str]:
    """A text column as CSV fields, at C speed for the usual column with
    nothing to quote."""
    if not quoted.search("".join(column)):
        return column
    return [_csv_field(field) if quoted.search(field) else field for field in column]


def _csv_field(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


def _aligned(columns: tuple[str, ...], names: tuple[str, ...], values: tuple) -> list[str]:
    """Numbers under ``columns``, empty where a name has no value."""
    if names == columns:
        return list(map(number_text, values))
    known = dict(zip(names, values, strict=True))
    return [number_text(known[name]) if name in known else "" for name in columns]


def numbers_text(numbers: dict[str, float]) -> str:
    """A record's numbers by name as one JSON object, in a text cell (the
    ``inputs`` and ``gradient`` of records with their own expressions)."""
    return dumps(json_numbers(numbers))


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return number_text(value)
    return dumps(value) if isinstance(value, (dict, list)) else str(value)


class TableWriter:
    """Aligned columns for a person at a terminal: a column per input and per
    partial for one expression, a compact line per record else. Numbers have
    6 significant digits (the other formats carry them all). Plain text,
    laid out here: a Rich table took a millisecond a row."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.layout = layout
        ids = ["id"] if layout.has_id else []
        second = table_headers(layout.per_record, layout.gradient_columns) if layout.hessian else []
        if layout.per_record:
            self.header = ["row", *ids, "expr", "inputs", "value", "gradient", *second, "note"]
            self.numeric = [True, *(False for _ in ids), False, False, True]
            self.numeric += [False] * (len(second) + 2)
        else:
            names = list(flat_columns(layout).inputs)
            partials = [f"∂/∂{n}" for n in layout.gradient_columns]
            self.header = ["row", *ids, *names, "value", *partials, *second, "note"]
            self.numeric = (
                [True, *(False for _ in ids)] + [True] * (len(self.header) - 2 - len(ids)) + [False]
            )
        # Column widths, fixed by the first chunk (later lines may overflow).
        self.widths: list[int] | None = None

    def cells(self, o: Outcome) -> list[str]:
        ids = [cell(o.id)] if self.layout.has_id else []
        if o.error is not None:
            cells = [str(o.row), *ids] + [""] * (len(self.header) - 2 - len(ids))
            if self.layout.per_record:
                cells[1 + len(ids)] = o.expression or ""
            else:  # the inputs it has, as CSV shows them
                read = o.inputs
                for at, name in enumerate(self.layout.inputs, start=1 + len(ids)):
                    cells[at] = format_short(read[name]) if name in read else ""
            return [*cells, f"{o.error[0]}: {o.error[1]}"]
        note = joined_messages(o.warnings)
        value = "" if o.value is None else format_short(o.value)  # None only with an error
        inputs, gradient = o.inputs, o.gradient
        if self.layout.per_record:
            input_text = " ".join(f"{n}={format_short(v)}" for n, v in inputs.items())
            gradient_text = " ".join(f"{n}={format_short(g)}" for n, g in gradient.items())
            cells = [str(o.row), *ids, o.expression or "", input_text, value, gradient_text]
            return [*cells, *self.second(o), note]
        return [
            str(o.row),
            *ids,
            *(format_short(inputs[n]) for n in self.layout.inputs),
            value,
            *(format_short(gradient[n]) for n in self.layout.gradient_columns),
            *self.second(o),
            note,
        ]

    def second(self, o: Outcome) -> list[str]:
        if not self.layout.hessian:
            return []
        return hessian_cells(self.layout.per_record, self.layout.gradient_columns, o, True)

    def line(self, cells: list[str]) -> str:
        return "   ".join(padded(cells, self.widths or [], self.numeric)).rstrip() + "\n"

    def write(self, outcomes: Chunk) -> None:
        if isinstance(outcomes, ColumnBlock | ExpressionBlock):
            outcomes = outcomes.outcomes()
        rows = [self.cells(o) for o in outcomes]
        if self.widths is None:
            self.widths = column_widths(self.header, rows)
            self.widths[-1] = 0  # the note is last: no padding
            header = self.line(self.header)
            self.stream.write(header + "─" * (len(header) - 1) + "\n")
        self.stream.write("".join(map(self.line, rows)))
        self.stream.flush()

    def close(self) -> None:
        if self.widths is None:  # no records: still say what the columns are
            self.write([])
        self.stream.flush()


# Parquet and Arrow: cgrad.batch.arrow_writers.ARROW_WRITERS (which imports pyarrow).
WRITERS: dict[OutputFormat, Any] = {
    OutputFormat.NDJSON: NdjsonWriter,
    OutputFormat.JSON: JsonWriter,
    OutputFormat.CSV: CsvWriter,
    OutputFormat.TSV: TsvWriter,
    OutputFormat.TABLE: TableWriter,
}
# The formats written as bytes (the others are text).
BINARY_OUTPUTS = (OutputFormat.PARQUET, OutputFormat.ARROW)
