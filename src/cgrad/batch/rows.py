"""Records in: CSV, TSV, NDJSON and JSON arrays, streamed one record at a time.

Every reader yields :class:`Record` objects in input order, one per record
of the input, and never raises for a bad record: a row that cannot be read
(wrong number of fields, invalid JSON or CSV, invalid UTF-8, a line or an
element over :data:`MAX_LINE`) becomes a record carrying an error, so that
nothing is silently dropped, and reading goes on after it. Only a problem
with the input as a whole (no CSV header, duplicate column names) raises
:class:`~cgrad.errors.UsageError`.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import csv
import io
import itertools
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

from ..errors import UsageError
from .delimited import (
    MAX_LINE,
    MAX_SKIP,
    DelimitedRows,
    LineTooLongError,
    Unreadable,
    bounded_lines,
    too_long,
    where,
)
from .json_elements import (
    DECODER,
    Broken,
    DuplicateKeyError,
    Element,
    ElementScanner,
    NotAnArrayError,
)


class Format(str, Enum):
    """An input format, named as --input-format takes it."""

    CSV = "csv"
    TSV = "tsv"
    NDJSON = "ndjson"
    JSON = "json"


EXTENSIONS = {
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
    ".ndjson": Format.NDJSON,
    ".jsonl": Format.NDJSON,
    ".json": Format.JSON,
}

# A chunk of records holds at most this many fields (or one record): wide
# records make short chunks, so that memory stays bounded.
MAX_CHUNK_FIELDS = 1 << 18

# NDJSON fields with a meaning of their own, which therefore cannot name inputs.
EXPRESSION_FIELD = "expr"
ID_FIELD = "id"


# What a reader yields: records, or blocks of them.
_Item = TypeVar("_Item")


@dataclass(slots=True)
class Record:
    """One input record: its number (from 1), its fields, or why it is bad."""

    row: int
    fields: dict[str, object] | None
    error: tuple[str, str] | None = None  # (type, message)


def detect_format(path: str | None, head: bytes) -> Format:
    """The format from the file's extension, else from its first bytes: '['
    opens a JSON array, '{' an NDJSON stream (read line by line, never as one
    document), otherwise CSV, or TSV when the header has tabs and no commas."""
    if path is not None:
        known = EXTENSIONS.get(Path(path).suffix.lower())
        if known is not None:
            return known
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return Format.JSON
    if text.startswith("{"):
        return Format.NDJSON
    header = text.split("\n", 1)[0]
    return Format.TSV if "\t" in header and "," not in header else Format.CSV


def _detaching(records: Iterator[_Item], text: io.TextIOWrapper) -> Iterator[_Item]:
    """``records``, then let go of the binary stream under ``text``: a text
    wrapper closes its stream when it is collected, and the stream is the
    caller's (who may still ask it how far it got, or be stdin)."""
    try:
        yield from records
    finally:
        # On an early exit (an error, a signal) the stream may be closed
        # already; then there is nothing to let go of.
        with contextlib.suppress(ValueError):
            text.detach()


@dataclass(slots=True)
class RowBlock:
    """Consecutive CSV/TSV records, all well formed, as the reader gave them:
    record ``first_row + i`` is ``rows[i]``, one string per ``header`` column."""

    first_row: int
    rows: list[list[str]]
    header: list[str]

    def records(self) -> list[Record]:
        """The same records one by one, as fields by column name."""
        header = self.header
        return [
            Record(self.first_row + offset, dict(zip(header, fields, strict=True)))
            for offset, fields in enumerate(self.rows)
        ]


Block = RowBlock | list[Record]


class Records:
    """The records of a binary stream (binary, so that bad UTF-8 is caught
    per record). For CSV and TSV the header is read at once: ``header``
    names the columns; it is None for the JSON formats.

    Iterate for one :class:`Record` at a time, or call :meth:`blocks` for
    chunks: a CSV chunk whose rows are all well formed comes as a
    :class:`RowBlock` (no per-row objects), any other chunk as records.
    Use one or the other: both read the same stream.
    """

    def __init__(
        self, stream: BinaryIO, format: Format, rows_before: int = 0, lines_before: int = 0
    ) -> None:
        """``rows_before`` and ``lines_before`` (CSV, TSV and NDJSON) are
        the records and lines of the same file read before this part of it,
        by cgrad's columnar reader: row and line numbers go on from there."""
        self.header: list[str] | None = None
        self._rows_before = rows_before
        # CSV and TSV: the rows after the header; else the records.
        self._rows: DelimitedRows | None = None
        self._records: Iterator[Record] = iter(())
        if format in (Format.CSV, Format.TSV):
            self._text = io.TextIOWrapper(
                stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
            # The csv module's own limit (128 KiB) is below the line limit.
            # (one more: a field as long as a whole line is no error).
            if csv.field_size_limit() <= MAX_LINE:
                csv.field_size_limit(MAX_LINE + 1)
            self._rows = DelimitedRows(self._text, "\t" if format == Format.TSV else ",")
            self.header = _read_header(self._rows)
            self._rows.lines_before += lines_before
            self._rows.line += lines_before
        elif format == Format.NDJSON:
            self._records = _read_ndjson(stream, rows_before, lines_before)
        else:
            records = _read_json_array(stream)
            # Read up to the first element now, so that an input that is not
            # an array is refused before any output is written.
            first = next(records, None)
            self._records = itertools.chain([] if first is None else [first], records)

    @classmethod
    def of(cls, records: Iterator[Record], header: list[str] | None) -> Records:
        """Records already read (from a Parquet or Arrow batch, say), and
        the columns they came from."""
        self = cls.__new__(cls)
        self.header, self._rows, self._records = header, None, records
        return self

    def blocks(self, size: int) -> Iterator[Block]:
        """Chunks of at most ``size`` records, and of about
        :data:`MAX_CHUNK_FIELDS` fields at most (however wide the records)."""
        rows, header = self._rows, self.header
        if rows is None or header is None:
            yield from _chunks(self._records, size)
            return
        size = max(1, min(size, MAX_CHUNK_FIELDS // max(1, len(header))))
        delimited = _read_delimited(rows, header, size, self._rows_before)
        yield from _detaching(delimited, self._text)

    def __iter__(self) -> Iterator[Record]:
        """The records one by one."""
        if self._rows is None:
            yield from self._records
            return
        for block in self.blocks(4096):
            yield from block.records() if isinstance(block, RowBlock) else block


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    fields = 0
    for record in records:
        chunk.append(record)
        fields += len(record.fields) if record.fields else 1
        if len(chunk) >= size or fields >= MAX_CHUNK_FIELDS:
            yield chunk
            chunk = []
            fields = 0
    if chunk:
        yield chunk


# Lone surrogates are what 'surrogateescape' turns undecodable bytes into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _read_header(rows: DelimitedRows) -> list[str]:
    header = rows.header()
    if header is None:
        return []
    header = [name.strip() for name in header]
    if any(_UNDECODABLE.search(name) for name in header):
        raise UsageError("the header line is not valid UTF-8", type="input_error")
    counts = collections.Counter(header)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        raise UsageError(
            f"the header names {', '.join(duplicated)} more than once", type="input_error"
        )
    return header


def _read_delimited(
    rows: DelimitedRows, header: list[str], size: int, row: int = 0
) -> Iterator[Block]:
    width = len(header)
    refused = rows.refused
    while chunk := rows.read(size):
        first_line = rows.line + 1
        rows.line = rows.line_now()
        # The common case, checked for the whole chunk at once and at C
        # speed: no blank line, every row has its fields, no undecodable byte.
        clean = rows.refused == refused
        refused = rows.refused
        # Clean: no record refused, so every row is a list of fields.
        fields_only = cast(list[list[str]], chunk)
        if (
            clean
            and set(map(len, fields_only)) == {width}
            and not _UNDECODABLE.search("".join(map("".join, fields_only)))
        ):
            yield RowBlock(row + 1, fields_only, header)
            row += len(chunk)
            continue
        records = []
        for fields, first, last in _with_lines(chunk, first_line):
            if fields:
                row += 1
                records.append(_delimited_record(row, first, last, fields, header))
        if records:
            yield records


def _with_lines(chunk, line: int):
    """Each row of ``chunk`` with its first and last line: a row takes one
    line, plus one per line break inside a quoted field; a blank line is no
    record, but a line; a refused record knows its last line."""
    for fields in chunk:
        if isinstance(fields, Unreadable):
            last = fields.last_line
        else:
            last = line + sum(map(_line_breaks, fields))
        yield fields, line, last
        line = last + 1


def _line_breaks(field: str) -> int:
    return field.count("\n") + field.count("\r") - field.count("\r\n")


def _delimited_record(
    row: int, first: int, last: int, fields: list[str] | Unreadable, header: list[str]
) -> Record:
    width = len(header)
    if isinstance(fields, Unreadable):
        return Record(row, None, ("invalid_row", f"{where(first, last)}: {fields.reason}"))
    if len(fields) != width:
        message = f"line {last}: expected {width} fields, found {len(fields)}"
        return Record(row, None, ("invalid_row", message))
    if any(map(_UNDECODABLE.search, fields)):
        return Record(row, None, ("invalid_utf8", f"line {last}: not valid UTF-8"))
    return Record(row, dict(zip(header, fields, strict=True)))


def _read_ndjson(stream: BinaryIO, row: int = 0, line_number: int = 0) -> Iterator[Record]:
    while True:
        lines = bounded_lines(stream.readline, b"")
        try:
            for line in lines:
                line_number += 1
                record = _ndjson_record(row + 1, line_number, line)
                if record is not None:
                    row += 1
                    yield record
            return
        except LineTooLongError as error:
            line_number += 1
            row += 1
            yield Record(
                row,
                None,
                ("invalid_row", f"line {line_number}: {too_long(error.ended)}"),
            )
            if not error.ended:
                return


def _ndjson_record(row: int, line_number: int, line: bytes) -> Record | None:
    """The record of one line, or None for a blank line."""
    if line_number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8) :]
    if not line.strip():
        return None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        return Record(
            row, None, ("invalid_utf8", f"line {line_number}: not valid UTF-8 (byte {error.start})")
        )
    value = _decode_json(text)
    if isinstance(value, _BadJson):
        return Record(row, None, ("invalid_json", f"line {line_number}: {value.reason}"))
    return _object_record(row, value, f"line {line_number}")


@dataclass(slots=True)
class _BadJson:
    """Why a JSON document cannot be had (a value, where the reader
    expects the document's: JSON has no value of this type)."""

    reason: str
    decoder_message: str | None = None  # the json module's, for invalid JSON

    def element_reason(self) -> str:
        """The reason as the JSON-array reader words it."""
        if self.decoder_message is None:
            return self.reason
        return f"invalid JSON ({self.decoder_message})"


def _decode_json(text: str) -> object:
    """The value of one JSON document, or why it cannot be had."""
    try:
        return DECODER.decode(text)
    except json.JSONDecodeError as error:
        if text[error.pos : error.pos + 1] == "\ufeff":  # invisible: name it
            message = "an invisible byte-order mark (U+FEFF) where a value should start"
            return _BadJson(f"invalid JSON: {message}", message)
        return _BadJson(f"invalid JSON: {error.msg}", error.msg)
    except RecursionError:
        return _BadJson("nested too deeply")
    except DuplicateKeyError as error:
        return _BadJson(str(error))
    except ValueError:
        # Python reads integers of at most this many digits (a guard against
        # quadratic conversions); such a number is beyond float64 anyway.
        limit = sys.get_int_max_str_digits()
        return _BadJson(f"a number has more than {limit} digits")


def _object_record(row: int, value: object, where: str) -> Record:
    if not isinstance(value, dict):
        return Record(
            row,
            None,
            ("invalid_record", f"{where}: a record must be a JSON object, not {_kind(value)}"),
        )
    return Record(row, value)


def _kind(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _read_json_array(stream: BinaryIO) -> Iterator[Record]:
    """Elements of one JSON array, decoded one at a time, so that a huge
    array is never held in memory whole."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape")
    yield from _detaching(_json_elements(text), text)


def _json_elements(text: io.TextIOWrapper) -> Iterator[Record]:
    scanner = ElementScanner(text.read, MAX_LINE, MAX_SKIP)
    try:
        elements = scanner.elements()
        row = 0
        for element in elements:
            row += 1
            yield _element_record(row, element)
    except NotAnArrayError as error:
        # An object first is most often NDJSON under a .json name.
        hint = None
        if error.args and error.args[0] == "{":
            hint = "for one JSON object per line (NDJSON), pass --input-format ndjson"
        raise UsageError(
            "a JSON input must be one JSON array of records", hint=hint, type="input_error"
        ) from None


def _element_record(row: int, element: Element | Broken) -> Record:
    where = f"element {row}"
    if isinstance(element, Broken):
        if element.element is None:
            return Record(row, None, ("invalid_json", element.message))
        value = _decode_json(element.element)
        reason = value.element_reason() if isinstance(value, _BadJson) else "not closed"
        return Record(
            row, None, ("invalid_json", f"{where}: {reason}; the rest of the array cannot be read")
        )
    if element.text is None:
        return Record(row, None, ("invalid_row", f"{where}: {too_long(element.ended, 'element')}"))
    if _UNDECODABLE.search(element.text):
        return Record(row, None, ("invalid_utf8", f"{where}: not valid UTF-8"))
    value = element.value if element.decoded else _decode_json(element.text)
    if isinstance(value, _BadJson):
        return Record(row, None, ("invalid_json", f"{where}: {value.element_reason()}"))
    return _object_record(row, value, where)
