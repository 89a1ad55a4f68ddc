"""Outcomes out: NDJSON, one JSON array, CSV, or a table for people.

Writers take outcomes a chunk at a time (see :mod:`cgrad.batch`), write them
in order and flush after each chunk, so that ``| jq`` and ``| head`` see
results as they are made. Numbers are the shortest text that round-trips,
with "NaN", "Infinity" and "-Infinity" for the non-finite ones.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TextIO

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .batch import Outcome
from .numbers import format_number, json_number


class OutputFormat(str, Enum):
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


def _number(value: float) -> str:
    """A float as JSON/CSV text."""
    text = repr(value)
    if text in ("nan", "inf", "-inf"):
        return format_number(value)
    return text


def record_json(outcome: Outcome) -> dict:
    """The output record of SPEC section 3, as a dict for ``json.dumps``."""
    document: dict = {"row": outcome.row}
    if outcome.id is not None:
        document["id"] = outcome.id
    if outcome.error is not None:
        if outcome.extra:
            document["extra"] = outcome.extra
        document["error"] = {"type": outcome.error[0], "message": outcome.error[1]}
        return document
    document["inputs"] = {name: json_number(v) for name, v in outcome.inputs.items()}
    document["value"] = json_number(outcome.value)
    document["gradient"] = {name: json_number(g) for name, g in outcome.gradient.items()}
    if outcome.extra:
        document["extra"] = outcome.extra
    if outcome.warnings:
        document["warnings"] = [warning.as_json() for warning in outcome.warnings]
    return document


def _dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, allow_nan=False)


class NdjsonWriter:
    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream

    def write(self, outcomes: Sequence[Outcome]) -> None:
        self.stream.write("".join(_dumps(record_json(o)) + "\n" for o in outcomes))
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class JsonWriter:
    """One JSON array, written element by element."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.first = True

    def write(self, outcomes: Sequence[Outcome]) -> None:
        if not outcomes:
            return
        parts = []
        for outcome in outcomes:
            parts.append("[\n" if self.first else ",\n")
            parts.append(_dumps(record_json(outcome)))
            self.first = False
        self.stream.write("".join(parts))
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("[]\n" if self.first else "\n]\n")
        self.stream.flush()


class CsvWriter:
    """Columns: row, id (when the input has ids), the inputs, the carried
    columns, value, grad_<input>..., error. When records carry their own
    expressions, or the input's fields are free-form JSON, the parts that
    differ from record to record are JSON text in a column of their own."""

    def __init__(self, stream: TextIO, layout: Layout) -> None:
        self.stream = stream
        self.layout = layout
        self.writer = csv.writer(stream, lineterminator="\n")
        per_record = layout.per_record
        self.writer.writerow(
            ["row"]
            + (["id"] if layout.has_id else [])
            + (["expr", "inputs"] if per_record else list(layout.inputs))
            + list(layout.carried or ())
            + ["value"]
            + (["gradient"] if per_record else [f"grad_{name}" for name in layout.inputs])
            + (["extra"] if layout.carried is None else [])
            + ["error"]
        )

    def row(self, outcome: Outcome) -> list:
        layout = self.layout
        ok = outcome.error is None
        inputs = outcome.inputs or {}
        gradient = outcome.gradient or {}
        extra = outcome.extra or {}
        cells: list = [outcome.row] + ([_cell(outcome.id)] if layout.has_id else [])
        if layout.per_record:
            cells += [outcome.expression or "", _json_numbers(inputs) if ok else ""]
        else:
            cells += [_number(inputs[n]) if n in inputs else "" for n in layout.inputs]
        cells += [_cell(extra.get(name)) for name in layout.carried or ()]
        cells.append(_number(outcome.value) if ok else "")
        if layout.per_record:
            cells.append(_json_numbers(gradient) if ok else "")
        else:
            cells += [_number(gradient[n]) if n in gradient else "" for n in layout.inputs]
        if layout.carried is None:
            cells.append(_dumps(extra) if extra else "")
        cells.append("" if ok else f"{outcome.error[0]}: {outcome.error[1]}")
        return cells

    def write(self, outcomes: Sequence[Outcome]) -> None:
        self.writer.writerows(self.row(o) for o in outcomes)
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def _json_numbers(numbers: dict[str, float]) -> str:
    return _dumps({name: json_number(value) for name, value in numbers.items()})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return _number(value)
    return _dumps(value) if isinstance(value, (dict, list)) else str(value)


class TableWriter:
    """A Rich table per chunk, for a person at a terminal."""

    def __init__(self, stream: TextIO, layout: Layout, console: Console | None = None) -> None:
        self.console = console or Console(file=stream, highlight=False)
        self.layout = layout
        self.first = True

    def write(self, outcomes: Sequence[Outcome]) -> None:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=self.first)
        self.first = False
        for column in ("row", "inputs", "value", "gradient", "note"):
            table.add_column(column, justify="right" if column in ("row", "value") else "left")
        for o in outcomes:
            if o.error is not None:
                table.add_row(str(o.row), "", "", "", f"[red]{o.error[0]}[/]: {escape(o.error[1])}")
                continue
            inputs = " ".join(f"{n}={format_number(v)}" for n, v in o.inputs.items())
            gradient = " ".join(f"{n}={format_number(g)}" for n, g in o.gradient.items())
            note = "; ".join(w.message for w in o.warnings or [])
            table.add_row(
                str(o.row),
                escape(inputs),
                format_number(o.value),
                escape(gradient),
                f"[yellow]{escape(note)}[/]" if note else "",
            )
        self.console.print(table)

    def close(self) -> None:
        self.console.file.flush()


WRITERS = {
    OutputFormat.NDJSON: NdjsonWriter,
    OutputFormat.JSON: JsonWriter,
    OutputFormat.CSV: CsvWriter,
    OutputFormat.TABLE: TableWriter,
}
