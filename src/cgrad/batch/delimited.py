"""Lines and CSV rows of a stream, each of bounded length.

:func:`bounded_lines` reads lines of at most :data:`MAX_LINE`, skipping the
rest of a longer one in bounded pieces, so that one unending line (say,
/dev/zero) never fills memory. :class:`DelimitedRows` reads CSV/TSV rows
strictly (``"4"5`` and a quote never closed are errors, not 45 and a field
that took in every line after it), each refused record standing in its
row's place instead of ending the stream.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import AnyStr

from ..errors import UsageError

# The longest line read (characters for CSV/TSV, bytes for NDJSON), also the
# longest CSV field and JSON-array element: beyond it, a record is an error,
# so that one unending line never fills memory.
MAX_LINE = 16 << 20
# How far past MAX_LINE a line is skipped in search of its end before
# reading stops (the rest of /dev/zero is not worth reading).
MAX_SKIP = 256 << 20
NOT_READ = "the rest of the input was not read"


class LineTooLongError(Exception):
    """A line longer than :data:`MAX_LINE`; ``ended`` is False when no line
    break came within :data:`MAX_SKIP` either, and reading stopped there."""

    def __init__(self, ended: bool) -> None:
        super().__init__()
        self.ended = ended


def bounded_lines(readline: Callable[[int], AnyStr], empty: AnyStr) -> Iterator[AnyStr]:
    """The lines of a stream (``readline`` of a text or binary one), each at
    most :data:`MAX_LINE` long: one longer raises :class:`LineTooLongError` once
    its rest is skipped in bounded pieces, so that one unending line (say,
    /dev/zero) never fills memory. A generator, which ends when it raises:
    the caller starts another to go on."""
    line = readline(MAX_LINE + 1)
    while line:
        if len(line) > MAX_LINE:
            raise LineTooLongError(_skip_line(readline, line, empty))
        yield line
        line = readline(MAX_LINE + 1)


def _skip_line(readline: Callable[[int], AnyStr], piece: AnyStr, empty: AnyStr) -> bool:
    """Read to the end of the line ``piece`` began: True when it ended (a
    line break or the end of the input) within :data:`MAX_SKIP`."""
    skipped = len(piece)
    # A binary stream's lines end at b"\n"; a text stream (newline="") also
    # ends them at a lone "\r", as the csv module does.
    ends = ("\n", "\r") if isinstance(piece, str) else b"\n"
    while piece != empty and not piece.endswith(ends):
        if skipped > MAX_SKIP:
            return False
        piece = readline(MAX_LINE)
        skipped += len(piece)
    return True


def where(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first} to {last}"


def size_text(limit: int) -> str:
    return f"{limit >> 20} MiB"


@dataclass(slots=True)
class Unreadable:
    """In a chunk of CSV rows, in place of a record the csv module refused:
    the line the record ends on and why it was refused."""

    last_line: int
    reason: str


class DelimitedRows:
    """The rows of a CSV/TSV text stream, chunk by chunk, where a record
    that is not valid CSV (a stray quote, a quote never closed, a field or
    a line over the limits) takes the place of its row instead of ending
    the stream."""

    def __init__(self, text: io.TextIOWrapper, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self.lines_before = 0  # lines read by the csv readers before this one
        self.line = 0  # the line the last row read so far ends on
        self.finished = False
        self.refused = 0  # records refused so far
        self._start()

    def _start(self) -> None:
        self.lines = bounded_lines(self.text.readline, "")
        # strict: '"4"5' and a quote open at the end are errors, not 45 and
        # a field that took in every line after it.
        self.reader = csv.reader(self.lines, delimiter=self.delimiter, strict=True)

    def line_now(self) -> int:
        return self.lines_before + self.reader.line_num

    def header(self) -> list[str] | None:
        """The first non-blank row, or None for an empty input."""
        chunk = self.read(1)
        while chunk == [[]]:
            chunk = self.read(1)
        self.line = self.line_now()
        if not chunk:
            return None
        if isinstance(chunk[0], Unreadable):
            raise UsageError(f"cannot read the header: {chunk[0].reason}", type="input_error")
        return chunk[0]

    def read(self, size: int) -> list[list[str] | Unreadable]:
        """Up to ``size`` rows (fewer only at the end of the input)."""
        chunk: list[list[str] | Unreadable] = []
        while len(chunk) < size and not self.finished:
            try:
                # extend() keeps the rows read before an error.
                chunk.extend(itertools.islice(self.reader, size - len(chunk)))
                self.finished = len(chunk) < size
            except csv.Error as error:
                chunk.append(self._refused(str(error)))
                self.refused += 1
            except LineTooLongError as error:
                self.lines_before = self.line_now() + 1
                chunk.append(Unreadable(self.lines_before, too_long(error.ended)))
                self.refused += 1
                self.finished = not error.ended
                self._start()
        return chunk

    def _refused(self, message: str) -> Unreadable:
        """The record the csv module refused; a quoted field over the limit
        takes in the lines up to its closing quote, skipped here."""
        if not message.startswith("field larger than field limit"):
            return Unreadable(self.line_now(), _csv_reason(message))
        ended = self._skip_quoted_field()
        self.finished = not ended
        reason = f"a field is longer than {size_text(MAX_LINE)}"
        if not ended:
            reason += f"; no end in the next {size_text(MAX_SKIP)}; {NOT_READ}"
        return Unreadable(self.line_now(), reason)

    def _skip_quoted_field(self) -> bool:
        """Skip the lines of a quoted field still open (an odd number of
        quotes on a line closes it, or opens another): True when it closed,
        or the input ended, within :data:`MAX_SKIP`."""
        skipped = 0
        try:
            for line in self.lines:
                self.lines_before += 1
                skipped += len(line)
                if line.count('"') % 2:
                    return True
                if skipped > MAX_SKIP:
                    return False
        except LineTooLongError as error:
            self.lines_before += 1
            self._start()
            return error.ended
        return True


def _csv_reason(message: str) -> str:
    if message == "unexpected end of data":
        return "a quote that is never closed takes in the lines after it"
    if message.endswith("expected after '\"'"):
        return "a closing quote is followed by more text in its field"
    return f"not valid CSV ({message})"


def too_long(ended: bool, what: str = "line") -> str:
    if ended:
        return f"the {what} is longer than {size_text(MAX_LINE)}"
    return f"no end in the first {size_text(MAX_SKIP)} of the {what}; {NOT_READ}"
