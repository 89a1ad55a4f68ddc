"""Records in: CSV, TSV, NDJSON and JSON arrays, streamed one record at a time.

Every reader yields :class:`Record` objects in input order, one per record
of the input, and never raises for a bad record: a row that cannot be read
(wrong number of fields, invalid JSON, invalid UTF-8) becomes a record
carrying an error, so that nothing is silently dropped. Only a problem with
the input as a whole (no CSV header, duplicate column names) raises
:class:`~cgrad.errors.UsageError`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError


class Format(str, Enum):
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

# NDJSON fields with a meaning of their own, which therefore cannot name inputs.
EXPRESSION_FIELD = "expr"
ID_FIELD = "id"


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


def _detaching(records: Iterator[Record], text: io.TextIOWrapper) -> Iterator[Record]:
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
    record ``first_row + i`` is ``rows[i]``, one string per header column."""

    first_row: int
    rows: list[list[str]]

    def records(self, header: list[str]) -> list[Record]:
        """The same records one by one, as fields by column name."""
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

    def __init__(self, stream: BinaryIO, format: Format) -> None:
        self.header: list[str] | None = None
        self._reader = None
        if format in (Format.CSV, Format.TSV):
            self._text = io.TextIOWrapper(
                stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
            )
            self._reader = csv.reader(self._text, delimiter="\t" if format == Format.TSV else ",")
            self.header = _read_header(self._reader)
        elif format == Format.NDJSON:
            self._records = _read_ndjson(stream)
        else:
            records = _read_json_array(stream)
            # Read up to the first element now, so that an input that is not
            # an array is refused before any output is written.
            first = next(records, None)
            self._records = itertools.chain([] if first is None else [first], records)

    def blocks(self, size: int) -> Iterator[Block]:
        if self._reader is None:
            while chunk := list(itertools.islice(self._records, size)):
                yield chunk
            return
        yield from _detaching(_read_delimited(self._reader, self.header, size), self._text)

    def __iter__(self) -> Iterator[Record]:
        if self._reader is None:
            yield from self._records
            return
        for block in self.blocks(4096):
            yield from block.records(self.header) if isinstance(block, RowBlock) else block


# Lone surrogates are what 'surrogateescape' turns undecodable bytes into.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _read_header(reader) -> list[str]:
    header = next(reader, None)
    while header == []:  # blank lines before the header
        header = next(reader, None)
    if header is None:
        return []
    header = [name.strip() for name in header]
    if any(_UNDECODABLE.search(name) for name in header):
        raise UsageError("the header line is not valid UTF-8", type="input_error")
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise UsageError(
            f"the header names {', '.join(duplicated)} more than once", type="input_error"
        )
    return header


def _read_delimited(reader, header: list[str], size: int) -> Iterator[Block]:
    width = len(header)
    row = 0
    while chunk := list(itertools.islice(reader, size)):
        # The common case, checked for the whole chunk at once and at C
        # speed: no blank line, every row has its fields, no undecodable byte.
        if set(map(len, chunk)) == {width} and not _UNDECODABLE.search(
            "".join(map("".join, chunk))
        ):
            yield RowBlock(row + 1, chunk)
            row += len(chunk)
            continue
        # Line numbers, for the messages, counted back from the reader's: a
        # row takes one line, plus one per line break inside a quoted field
        # (except a quote never closed, which swallows the final break; it
        # can only be the last row). A blank line is no record, but a line.
        lines = [0] * len(chunk)
        line = reader.line_num
        for index in range(len(chunk) - 1, -1, -1):
            lines[index] = line
            line -= 1 + sum(map(_line_breaks, chunk[index]))
        records = []
        for fields, line in zip(chunk, lines, strict=True):
            if fields:
                row += 1
                records.append(_delimited_record(row, line, fields, header))
        if records:
            yield records


def _line_breaks(field: str) -> int:
    return field.count("\n") + field.count("\r") - field.count("\r\n")


def _delimited_record(row: int, line: int, fields: list[str], header: list[str]) -> Record:
    width = len(header)
    if len(fields) != width:
        message = f"line {line}: expected {width} fields, found {len(fields)}"
        if any("\n" in field for field in fields):
            message += "; a quote that is never closed takes in the lines after it"
        return Record(row, None, ("invalid_row", message))
    if any(map(_UNDECODABLE.search, fields)):
        return Record(row, None, ("invalid_utf8", f"line {line}: not valid UTF-8"))
    return Record(row, dict(zip(header, fields, strict=True)))


def _read_ndjson(stream: BinaryIO) -> Iterator[Record]:
    row = 0
    for line_number, line in enumerate(stream, start=1):
        if line_number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if not line.strip():
            continue
        row += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            yield Record(
                row,
                None,
                ("invalid_utf8", f"line {line_number}: not valid UTF-8 (byte {error.start})"),
            )
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            yield Record(
                row, None, ("invalid_json", f"line {line_number}: invalid JSON: {error.msg}")
            )
            continue
        except RecursionError:
            yield Record(row, None, ("invalid_json", f"line {line_number}: nested too deeply"))
            continue
        yield _object_record(row, value, f"line {line_number}")


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


_READ_SIZE = 1 << 16


def _read_json_array(stream: BinaryIO) -> Iterator[Record]:
    """Elements of one JSON array, decoded one at a time from a sliding
    buffer, so that a huge array is never held in memory whole."""
    decoder = json.JSONDecoder()
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape")
    yield from _detaching(_json_elements(text, decoder), text)


def _json_elements(text: io.TextIOWrapper, decoder: json.JSONDecoder) -> Iterator[Record]:
    buffer = ""
    position = 0
    at_end = False
    row = 0

    def fill() -> bool:
        nonlocal buffer, position, at_end
        more = text.read(_READ_SIZE)
        buffer = buffer[position:] + more
        position = 0
        at_end = not more
        return bool(more)

    def skip_space() -> str:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer) or not fill():
                return buffer[position] if position < len(buffer) else ""

    if skip_space() != "[":
        raise UsageError("a JSON input must be one JSON array of records", type="input_error")
    position += 1
    if skip_space() == "]":
        return
    while True:
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except RecursionError:
                row += 1
                yield Record(
                    row,
                    None,
                    ("invalid_json", f"element {row}: nested too deeply; the rest was not read"),
                )
                return
            except json.JSONDecodeError as error:
                # Maybe the element is only cut by the end of the buffer.
                if not at_end and fill():
                    continue
                row += 1
                yield Record(
                    row,
                    None,
                    (
                        "invalid_json",
                        f"element {row}: invalid JSON ({error.msg}); "
                        "the rest of the array cannot be read",
                    ),
                )
                return
        row += 1
        if _UNDECODABLE.search(buffer, position, end):
            yield Record(row, None, ("invalid_utf8", f"element {row}: not valid UTF-8"))
        else:
            yield _object_record(row, value, f"element {row}")
        position = end
        separator = skip_space()
        position += 1
        if separator == "]":
            if skip_space():
                row += 1
                yield Record(
                    row,
                    None,
                    ("invalid_json", "more data after the JSON array; it was not read"),
                )
            return
        if separator != ",":
            row += 1
            yield Record(
                row,
                None,
                ("invalid_json", "expected ',' or ']' after an element; the rest cannot be read"),
            )
            return
        skip_space()
