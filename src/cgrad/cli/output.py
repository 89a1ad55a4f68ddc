"""Where output goes, exit statuses, and the one place that turns errors
into messages and exit statuses (:func:`reporting`, which every command
runs in; the console script's own ladder in main.py handles only what
happens outside a command: signals, Typer's usage errors, a failed stdout)."""

from __future__ import annotations

import errno
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import typer

from ..errors import CgradError
from ..views.json_documents import error_json

if TYPE_CHECKING:
    from rich.console import Console


class ExitStatus(IntEnum):
    """The exit statuses of cgrad (SPEC section 3)."""

    OK = 0
    # Evaluation found failures (bad rows, a failed check), or the output
    # could not be written (a full disk, a closed stdout).
    FAILURES = 1
    ERROR = 2  # bad usage, or a program that does not parse or check
    INTERNAL = 70  # a bug in cgrad (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C


class StdoutWriteError(Exception):
    """A write to standard output failed (closed, a full disk). Not an
    OSError, so that no handler meant for files catches it: it goes up to the
    top-level runner, which says so once and exits non-zero."""

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.reason = error.strerror or str(error)


class FailuresFoundError(Exception):
    """The run found failures (a failed check, bad records, a descent that
    diverged): exit 1, after ``message`` on stderr when there is one. The
    one way a command ends with exit status 1."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


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

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def stdout_console() -> Console:
    """A Rich console on stdout. Built per command, not at import, so that
    tests capturing stdout and NO_COLOR/terminal detection see the streams
    of the moment; Rich is imported here, so that JSON output and errors
    never pay for it."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def write_json(document: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n")
    sys.stdout.flush()


def print_error(message: str) -> None:
    if sys.stderr is None:  # started with stderr closed: nowhere to say it
        return
    sys.stderr.write(f"cgrad: error: {message}\n")
    sys.stderr.flush()


@contextmanager
def reporting(json_output: bool = False) -> Iterator[None]:
    """Turn a :class:`CgradError` into one message on stderr (and the JSON
    error object on stdout with ``--json``) and the exit status 2; turn any
    other exception into a short internal-error message, never a traceback."""
    try:
        yield
    except FailuresFoundError as failed:
        if failed.message:
            print_error(failed.message)
        raise typer.Exit(ExitStatus.FAILURES) from None
    except CgradError as error:
        print_error(error.render())
        if json_output:
            write_json(error_json(error))
        raise typer.Exit(getattr(error, "exit_status", ExitStatus.ERROR)) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt, BrokenPipeError, StdoutWriteError):
        raise
    except OSError as error:
        # A full disk or a vanished directory is the machine's trouble, not
        # a bug and not bad usage: the run failed.
        print_error(f"input/output failed: {error.strerror or error}")
        raise typer.Exit(ExitStatus.FAILURES) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence
        if os.environ.get("CGRAD_DEBUG"):
            traceback.print_exc()
        print_error(
            f"internal error: {type(error).__name__}: {error}\n"
            "This is a bug in cgrad; please report it with the command that caused it "
            "(set CGRAD_DEBUG=1 for a traceback)."
        )
        raise typer.Exit(ExitStatus.INTERNAL) from None
