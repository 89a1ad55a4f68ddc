"""Outcomes out: NDJSON, one JSON array, CSV, or a table for people.

Writers take outcomes a chunk at a time (see :mod:`cgrad.batch.blocks`), write them
in order and flush after each chunk, so that ``| jq`` and ``| head`` see
results as they are made. Numbers are the shortest text that round-trips,
with "NaN", "Infinity" and "-Infinity" for the non-finite ones.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from json.encoder import encode_basestring
from typing import Any, TextIO

from ..numerals import format_short, json_number, json_text, number_text, number_texts
from .aligned import column_widths, padded
from .blocks import ColumnBlock, Outcome
from .hessians import hessian_cells, hessian_headers, hessian_json, table_headers


class OutputFormat(str, Enum):
    """An output format, named as --format takes it."""

    NDJSON = "ndjson"
    JSON = "json"
    CSV = "csv"
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
    hessian: bool = False  # --hessian: the second derivatives too (see hessians.py)

    @property
    def gradient_columns(self) -> tuple[str, ...]:
        return self.inputs if self.partials is None else self.partials


def _dumps(document: object) -> str:
    try:
        return json.dumps(document, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere in it
        return json.dumps(_finite(document), ensure_ascii=False, allow_nan=False)


def _finite(value: object) -> object:
    """``value`` with NaN and infinities as their strings: a carried field
    or an id read from NDJSON (which Python's json accepts) may hold them.
    A copy made without recursion: a carried field may be nested deep."""
    holder = [value]
    # (container, key): a list and an index, or a dict and a key.
    pending: list[tuple[list[Any] | dict[Any, Any], Any]] = [(holder, 0)]
    while pending:
        container, key = pending.pop()
        item = container[key]
        if isinstance(item, float):
            container[key] = json_number(item)
        elif isinstance(item, dict):
            container[key] = item = dict(item)
            pending.extend((item, name) for name in item)
        elif isinstance(item, list):
            container[key] = item = list(item)
            pending.extend((item, index) for index in range(len(item)))
    return holder[0]


@functools.lru_cache(maxsize=256)
def _object_template(names: tuple[str, ...]) -> str:
    """'{"x": %s, "y": %s}' for names x, y: a JSON object with slots."""
    # A '%' in a name (a CSV header like "rate%") must not read as a slot.
    keys = (_dumps(name).replace("%", "%%") for name in names)
    return "{" + ", ".join(f"{key}: %s" for key in keys) + "}"


def record_text(outcome: Outcome) -> str:
    """The output record of SPEC section 3 as one line of JSON. Built from
    templates rather than through json.dumps of a dict per record, which
    was most of the time of a big batch."""
    parts = [f'{{"row": {outcome.row}']
    if outcome.id is not None:
        parts.append(f', "id": {_dumps(outcome.id)}')
    if outcome.expression is not None:  # the record's own
        parts.append(f', "expr": {_dumps(outcome.expression)}')
    if outcome.error is not None:
        if outcome.extra:
            parts.append(f', "extra": {_dumps(outcome.extra)}')
        error = {"type": outcome.error[0], "message": outcome.error[1]}
        parts.append(f', "error": {_dumps(error)}}}')
        return "".join(parts)
    value = outcome.value
    assert value is not None  # an outcome has its value, or its error
    inputs = _object_template(outcome.input_names) % tuple(map(json_text, outcome.input_values))
    gradient = _object_template(outcome.gradient_names) % tuple(
        map(json_text, outcome.gradient_values)
    )
    parts.append(f', "inputs": {inputs}, "value": {json_text(value)}, "gradient": {gradient}')
    if outcome.hessian is not None:
        parts.append(f', "hessian": {hessian_json(outcome)}')
    if outcome.extra:
        parts.append(f', "extra": {_dumps(outcome.extra)}')
    if outcome.warnings:
        parts.append(f', "warnings": {_dumps([w.as_json() for w in outcome.warnings])}')
    parts.append("}")
    return "".join(parts)


def _interleaved(segments: Sequence[str], columns: Sequence[Sequence[str]], count: int) -> str:
    """``segments[0] + columns[0][i] + segments[1] + ... + segments[-1]`` for
    every i, as one string, built by slice assignment and one join: at C
    speed, far faster than a %-template per row."""
    width = len(segments) + len(columns)
    pieces = [""] * (width * count)
    for index, segment in enumerate(segments):
        pieces[2 * index :: width] = [segment] * count
    for index, column in enumerate(columns):
        pieces[2 * index + 1 :: width] = column
    return "".join(pieces)


class _Pieces:
    """Text with a column of values wherever :meth:`add` is called."""

    def __init__(self, text: str = "") -> None:
        self.segments: list[str] = []
        self.columns: list[Sequence[str]] = []
        self.pending = text

    def add(self, column: Sequence[str], after: str = "") -> None:
        self.segments.append(self.pending)
        self.columns.append(column)
        self.pending = after

    def add_object(self, columns: dict[str, Sequence[str]]) -> None:
        """A JSON object with a column per key (and "{}" for none)."""
        opening = "{"
        for name, column in columns.items():
            self.pending += f"{opening}{_dumps(name)}: "
            self.add(column)
            opening = ", "
        self.pending += "{}" if opening == "{" else "}"

    def joined(self, count: int, separator: str) -> str:
        """The records, ``separator`` between them."""
        if count == 0:
            return ""
        text = _interleaved([*self.segments, self.pending + separator], self.columns, count)
        return text[: len(text) - len(separator)]


def block_text(block: ColumnBlock, separator: str) -> str:
    """The records of a block as JSON text, the same as :func:`record_text`
    gives one by one, built a column at a time."""
    count = block.count
    pieces = _Pieces('{"row": ')
    pieces.add(list(map(str, range(block.first_row, block.first_row + count))))
    if block.ids is not None:
        pieces.pending += ', "id": '
        pieces.add(list(map(encode_basestring, block.ids)))
    pieces.pending += ', "inputs": '
    pieces.add_object({name: number_texts(column) for name, column in block.inputs.items()})
    pieces.pending += ', "value": '
    pieces.add(number_texts(block.value))
    pieces.pending += ', "gradient": '
    pieces.add_object({name: number_texts(column) for name, column in block.gradient.items()})
    if block.carried:
        pieces.pending += ', "extra": '
        carried = block.carried.items()
        pieces.add_object({name: list(map(encode_basestring, c)) for name, c in carried})
    pieces.pending += "}"
    return pieces.joined(count, separator)


def records_text(outcomes: Sequence[Outcome] | ColumnBlock, separator: str) -> str:
    """The JSON text of each record, ``separator`` between them."""
    if isinstance(outcomes, ColumnBlock):
        return block_text(outcomes, separator)
    return separator.join(map(record_text, outcomes))


class NdjsonWriter:
    """One JSON object a line."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream

    def write(self, outcomes: Sequence[Outcome] | ColumnBlock) -> None:
        text = records_text(outcomes, "\n")
        if text:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonWriter:
    """One JSON array, written element by element."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.first = True

    def write(self, outcomes: Sequence[Outcome] | ColumnBlock) -> None:
        text = records_text(outcomes, ",\n")
        if not text:
            return
        self.stream.write(("[\n" if self.first else ",\n") + text)
        self.first = False
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("[]\n" if self.first else "\n]\n")
        self.stream.flush()


class CsvWriter:
    """Columns: row, id (when the input has ids), the inputs, the carried
    columns (renamed extra_<name> if they clash with ours), value,
    grad_<input>..., error, warnings (the messages, joined with ' | ';
    SPEC's columns end at error, and a NaN must not come without its
    reason). When records carry their own
    expressions, or the input's fields are free-form JSON, the parts that
    differ from record to record are JSON text in a column of their own."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.layout = layout
        per_record = layout.per_record
        ours = (
            ["row"]
            + (["id"] if layout.has_id else [])
            + (["expr", "inputs"] if per_record else list(layout.inputs))
            + ["value"]
            + (["gradient"] if per_record else [f"grad_{n}" for n in layout.gradient_columns])
            + (hessian_headers(per_record, layout.gradient_columns) if layout.hessian else [])
            + (["extra"] if layout.carried is None else [])
            + ["error", "warnings"]
        )
        # A carried column named like one of ours (a "value" column, say)
        # is renamed rather than written twice under one name.
        taken = set(ours)
        carried = [f"extra_{n}" if n in taken else n for n in layout.carried or ()]
        at = ours.index("value")
        stream.write(_csv_line(ours[:at] + carried + ours[at:]))

    def row(self, outcome: Outcome) -> list:
        layout = self.layout
        error = outcome.error
        ok = error is None
        value = outcome.value
        extra = outcome.extra or {}
        cells: list = [outcome.row] + ([_cell(outcome.id)] if layout.has_id else [])
        if layout.per_record:
            cells += [outcome.expression or "", _json_numbers(outcome.inputs) if ok else ""]
        else:
            cells += _aligned(layout.inputs, outcome.input_names, outcome.input_values)
        cells += [_cell(extra.get(name)) for name in layout.carried or ()]
        cells.append(number_text(value) if ok and value is not None else "")
        if layout.per_record:
            cells.append(_json_numbers(outcome.gradient) if ok else "")
        else:
            cells += _aligned(
                layout.gradient_columns, outcome.gradient_names, outcome.gradient_values
            )
        if layout.hessian:
            cells += hessian_cells(layout.per_record, layout.gradient_columns, outcome, False)
        if layout.carried is None:
            cells.append(_dumps(extra) if extra else "")
        cells.append("" if error is None else f"{error[0]}: {error[1]}")
        # Messages contain ';' themselves: ' | ' keeps them apart.
        cells.append(" | ".join(w.message for w in outcome.warnings or ()))
        return cells

    def write(self, outcomes: Sequence[Outcome] | ColumnBlock) -> None:
        if isinstance(outcomes, ColumnBlock):
            self.stream.write(self.block_text(outcomes))
        else:
            self.stream.write("".join(_csv_line(self.row(o)) for o in outcomes))
        self.stream.flush()

    def block_text(self, block: ColumnBlock) -> str:
        """The rows of a block, the same as :meth:`row` gives one by one,
        built a column at a time."""
        layout = self.layout
        count = block.count
        if count == 0:
            return ""
        pieces = _Pieces()
        pieces.add(list(map(str, range(block.first_row, block.first_row + count))), ",")
        if layout.has_id:
            pieces.add(_csv_fields(block.ids) if block.ids else [""] * count, ",")
        for name in layout.inputs:
            pieces.add(number_texts(block.inputs[name]), ",")
        for name in layout.carried or ():
            carried = block.carried.get(name)
            pieces.add(_csv_fields(carried) if carried else [""] * count, ",")
        pieces.add(number_texts(block.value))
        for name in layout.gradient_columns:
            pieces.pending += ","
            pieces.add(number_texts(block.gradient[name]))
        # The empty ones: extra (for free-form input), error and warnings.
        pieces.pending += ",,," if layout.carried is None else ",,"
        return pieces.joined(count, "\n") + "\n"

    def close(self) -> None:
        self.stream.flush()


# Characters that make a CSV field quoted. The csv module of Python 3.11
# leaves a lone "\r" unquoted (with "\n" ending lines), which a reader then
# takes for a line break: fields are quoted here instead.
_MAY_NEED_QUOTES = re.compile(r'[,"\r\n]')


def _csv_fields(column: list[str]) -> list[str]:
    """A text column as CSV fields, at C speed for the usual column with
    nothing to quote."""
    if not _MAY_NEED_QUOTES.search("".join(column)):
        return column
    return [_csv_field(field) if _MAY_NEED_QUOTES.search(field) else field for field in column]


def _csv_field(field: str) -> str:
    return '"' + field.replace('"', '""') + '"'


def _csv_line(cells: list) -> str:
    """One CSV line, its fields quoted as :func:`_csv_fields` quotes them."""
    return ",".join(_csv_fields(list(map(str, cells)))) + "\n"


def _aligned(columns: tuple[str, ...], names: tuple[str, ...], values: tuple) -> list[str]:
    """Numbers under ``columns``, empty where a name has no value."""
    if names == columns:
        return list(map(number_text, values))
    known = dict(zip(names, values, strict=True))
    return [number_text(known[name]) if name in known else "" for name in columns]


def _json_numbers(numbers: dict[str, float]) -> str:
    return _dumps({name: json_number(value) for name, value in numbers.items()})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return number_text(value)
    return _dumps(value) if isinstance(value, (dict, list)) else str(value)


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
            names = list(layout.inputs)
            partials = [f"∂/∂{n}" for n in layout.gradient_columns]
            self.header = ["row", *ids, *names, "value", *partials, *second, "note"]
            self.numeric = (
                [True, *(False for _ in ids)] + [True] * (len(self.header) - 2 - len(ids)) + [False]
            )
        # Column widths, fixed by the first chunk (later lines may overflow).
        self.widths: list[int] | None = None

    def cells(self, o: Outcome) -> list[str]:
        ids = [_cell(o.id)] if self.layout.has_id else []
        if o.error is not None:
            cells = [str(o.row), *ids] + [""] * (len(self.header) - 2 - len(ids))
            if self.layout.per_record:
                cells[1 + len(ids)] = o.expression or ""
            return [*cells, f"{o.error[0]}: {o.error[1]}"]
        note = " | ".join(w.message for w in o.warnings or ())
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

    def write(self, outcomes: Sequence[Outcome] | ColumnBlock) -> None:
        if isinstance(outcomes, ColumnBlock):
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


WRITERS = {
    OutputFormat.NDJSON: NdjsonWriter,
    OutputFormat.JSON: JsonWriter,
    OutputFormat.CSV: CsvWriter,
    OutputFormat.TABLE: TableWriter,
}
