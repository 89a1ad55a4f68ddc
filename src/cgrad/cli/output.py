"""Where output goes: standard output guarded so that a failed write is
an error, never a silent success; the Rich console on it; JSON on it."""

from __future__ import annotations

import codecs
import errno
import io
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console


class StdoutWriteError(Exception):
    """A write to standard output failed (closed, a full disk). Not an
    OSError, so that no handler meant for files catches it: it goes up to the
    top-level runner, which says so once and exits non-zero."""

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.reason = error.strerror or str(error)


class _ClosedStdout:
    """What standard output is when the process started without one
    (``cgrad ... >&-``; Python then sets ``sys.stdout`` to None): every
    write fails, as it would on a closed descriptor."""

    encoding = "utf-8"
    errors = "strict"
    closed = False

    def _fail(self, *args) -> None:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    write = writelines = fileno = _fail

    def flush(self) -> None:
        pass  # nothing was written, so nothing was lost

    def isatty(self) -> bool:
        return False


class GuardedStdout:
    """Standard output with its write failures raised as
    :class:`StdoutWriteError`; everything else is the stream's own. A closed
    pipe stays a BrokenPipeError (the quiet end of ``| head``)."""

    def __init__(self, stream):
        self.stream = stream if stream is not None else _ClosedStdout()

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise StdoutWriteError(error) from None

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise StdoutWriteError(error) from None

    @property
    def buffer(self) -> GuardedStdout:
        """The binary stream under a text one, guarded the same way (bytes
        ready to write go there; see cgrad.batch.writers.write_lines)."""
        return GuardedStdout(self.stream.buffer)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


# The error handler of stdout's encoding: a character it lacks is written
# as a JSON escape, \u03b8 (a pair of them beyond U+FFFF), which reads as
# well in text and keeps JSON valid, where backslashreplace's \xe9 would not.
ESCAPE_ERRORS = "cgrad.escape"


def _escaped(error: UnicodeError) -> tuple[str, int]:
    """The codec error handler :data:`ESCAPE_ERRORS`."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if code > 0xFFFF:
            code -= 0x10000
            escapes.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            escapes.append(f"\\u{code:04x}")
    return "".join(escapes), error.end


codecs.register_error(ESCAPE_ERRORS, _escaped)


def sturdy_stdout(stream: TextIO | None) -> TextIO | None:
    """Standard output as the commands need it. Buffered whatever
    PYTHONUNBUFFERED says: unbuffered, Python writes the text to the raw
    descriptor and drops what a short write (a nearly full disk) left
    unwritten, where a buffered writer writes the rest or raises. Line
    buffered when it was unbuffered, so that lines still come as made. And
    a character the encoding lacks (PYTHONIOENCODING=ascii, a Latin-1
    locale) escaped, never an error."""
    if not isinstance(stream, io.TextIOWrapper):
        return stream  # a test's capture, or none
    if isinstance(stream.buffer, io.RawIOBase):
        try:
            raw = io.FileIO(stream.fileno(), "w", closefd=False)
        except (OSError, ValueError):
            return stream
        return io.TextIOWrapper(
            io.BufferedWriter(raw), stream.encoding, ESCAPE_ERRORS, line_buffering=True
        )
    stream.reconfigure(errors=ESCAPE_ERRORS)
    return stream


# A COLUMNS wider than this is no terminal's.
WIDEST = 10_000


def drop_nonsense_columns() -> None:
    """Forget a COLUMNS no terminal has (0, negative, not a number, wider
    than any screen): Rich lays out text at width 0 as nothing at all. Rich
    then takes the terminal's own width, or 80."""
    columns = os.environ.get("COLUMNS")
    if columns is None:
        return
    try:
        width = int(columns)
    except ValueError:
        width = 0
    if not 1 <= width <= WIDEST:
        del os.environ["COLUMNS"]


def stdout_console() -> Console:
    """A Rich console on stdout. Built per command, not at import, so that
    tests capturing stdout and NO_COLOR/terminal detection see the streams
    of the moment; Rich is imported here, so that JSON output and errors
    never pay for it."""
    from rich.console import Console

    from ..views.styled_lines import VisibleControls

    console = Console(highlight=False, soft_wrap=False)
    # User text (a comment's escape codes) is shown, never acted on.
    console.push_render_hook(VisibleControls())
    return console


def write_json(document: dict[str, Any]) -> None:
    """``document`` as one line of JSON on stdout, flushed."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()
