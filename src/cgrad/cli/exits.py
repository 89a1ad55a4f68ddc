"""The one place errors become messages and exit statuses.

Two rungs, one ladder: :func:`reporting` runs around every command (the
command line's errors, failures found, a failed file, a bug), and
:func:`run_reporting` around the whole run of the console script, for what
happens outside a command: a signal, Typer's own usage errors, a standard
output that cannot be written. Every message is one ``cgrad: error:`` line
(and its hint) on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

import typer

from ..errors import CgradError, UsageError, bounded
from ..views.json_documents import error_json
from .file_roles import failed_file, forget_file_roles
from .output import StdoutWriteError, write_json
from .signals import Interrupted, interrupted_status


class ExitStatus(IntEnum):
    """The exit statuses of cgrad (SPEC section 3)."""

    OK = 0
    # Evaluation found failures (bad rows, a failed check), or the output
    # could not be written (a full disk, a closed stdout).
    FAILURES = 1
    ERROR = 2  # bad usage, or a program that does not parse or check
    INTERNAL = 70  # a bug in cgrad (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C


class FailuresFoundError(Exception):
    """The run found failures (a failed check, bad records, a descent that
    diverged): exit 1, after ``message`` on stderr when there is one. The
    one way a command ends with exit status 1."""

    def __init__(self, message: str = "") -> None:
        message = bounded(message)
        super().__init__(message)
        self.message = message


def print_error(message: str) -> None:
    """``cgrad: error: message`` on stderr."""
    if sys.stderr is None:  # started with stderr closed: nowhere to say it
        return
    sys.stderr.write(f"cgrad: error: {message}\n")
    sys.stderr.flush()


@contextmanager
def reporting(json_output: bool = False) -> Iterator[None]:
    """The ladder around every command: failures found (exit 1, after their
    message); a :class:`CgradError` as one message on stderr (and the JSON
    error object on stdout with ``--json``) and its exit status, 2 for most;
    a failed input or output (exit 1); any other exception as a short
    internal-error message, never a traceback."""
    forget_file_roles()
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
        # a bug and not bad usage: the run failed. Which file, and what it
        # is to the command, when the error says.
        where = failed_file(error)
        trouble = bounded(
            f"input/output failed{f' on {where}' if where else ''}: {error.strerror or error}"
        )
        print_error(trouble)
        _said_in_json(json_output, UsageError(trouble, type="file_error"))
        raise typer.Exit(ExitStatus.FAILURES) from None
    except Exception as error:  # noqa: BLE001 - the last line of defence
        if os.environ.get("CGRAD_DEBUG"):
            traceback.print_exc()
        bug = bounded(f"internal error: {type(error).__name__}: {error}")
        print_error(
            f"{bug}\nThis is a bug in cgrad; please report it with the command that caused "
            "it (set CGRAD_DEBUG=1 for a traceback)."
        )
        _said_in_json(json_output, InternalError(bug))
        raise typer.Exit(ExitStatus.INTERNAL) from None
    finally:
        forget_file_roles()  # (a library call after the command knows none of them)


class InternalError(CgradError):
    """A bug in cgrad, as the JSON error object of a --json run says it."""

    type = "internal_error"


def _said_in_json(json_output: bool, error: CgradError) -> None:
    """The error object on stdout too, for a --json run (a script reading it
    learns the run failed, and why), if stdout can still take it."""
    if json_output:
        with contextlib.suppress(StdoutWriteError, OSError):
            write_json(error_json(error))


def run_reporting(run: Callable[[], object], commands: list[str]) -> int:
    """Run the app (``run``) and give the exit status: the command's own, or
    that of an interruption (128 + the signal), of a usage error Typer found
    (``commands`` are the names it may have been meant for), or of a
    standard output that could not be written."""
    try:
        status = run()
        sys.stdout.flush()
    except Interrupted as interrupted:
        return interrupted_status(interrupted)
    except typer.TyperException as error:
        return _usage_error(error, commands)
    except StdoutWriteError as failure:
        return _stdout_failure(failure)
    return status if isinstance(status, int) else ExitStatus.OK


def _stdout_failure(failure: StdoutWriteError) -> int:
    """Say that stdout could not be written, and make sure nothing tries
    again at exit."""
    print_error(f"cannot write to standard output: {failure.reason}")
    # What could not be written stays in the stream's buffer: without this,
    # Python's own flush at exit would fail again, with a message of its own.
    stream = getattr(sys.stdout, "stream", None)
    try:
        if stream is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # no descriptor: stdout was closed from the start
    sys.stdout = None  # as Python leaves a closed stdout
    return ExitStatus.FAILURES


def _usage_error(error: typer.TyperException, commands: list[str]) -> int:
    """Typer's parser errors (an unknown option, a flag given a value) as one
    ``cgrad: error:`` line like every other error, with where to get help."""
    if not hasattr(error, "format_message"):
        raise error
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        # Typer has printed the help already; the missing command is still a
        # usage error.
        return ExitStatus.ERROR
    if context is not None:
        command = context.command_path
    else:  # errors from Typer's option parser carry no context
        named = sys.argv[1:2] and sys.argv[1] in commands
        command = "cgrad" + (f" {sys.argv[1]}" if named else "")
    usage = UsageError(_own_wording(error), hint=f"see '{command} --help'")
    print_error(usage.render())
    if sys.argv[1:2] and sys.argv[1] in commands and _asks_for_json(sys.argv[2:]):
        # The error object on stdout, as for every other error of a --json
        # run: a script reading stdout learns why there is no document.
        try:
            write_json(error_json(usage))
        except StdoutWriteError as failure:
            return _stdout_failure(failure)
    return int(getattr(error, "exit_code", ExitStatus.ERROR))


def _asks_for_json(arguments: list[str]) -> bool:
    """Whether the command line asks for JSON (``--json``, or ``--json=``
    with a value Typer refuses), before any ``--``."""
    for token in arguments:
        if token == "--":
            return False
        if token == "--json" or token.startswith("--json="):
            return True
    return False


# Click's words for an option given a value of the wrong type, and ours.
_NOT_A_VALID = re.compile(r"'(.*)' is not a valid (int|float|integer)\.", re.DOTALL)
_BELOW_THE_LEAST = re.compile(r"(-?\d+) is not in the range x>=(-?\d+)\.")
_WANTED = {"int": "a whole number", "integer": "a whole number", "float": "a number"}


def _own_wording(error: typer.TyperException) -> str:
    """A parser error as cgrad words its own: ``--order must be a whole
    number, not '1.5'``, rather than Click's ``Invalid value for '--order':
    '1.5' is not a valid int.``"""
    parameter = getattr(error, "param", None)
    wrong = _NOT_A_VALID.fullmatch(str(getattr(error, "message", "")))
    names = [name for name in getattr(parameter, "opts", []) if name.startswith("--")]
    if wrong and names:
        return f"{names[0]} must be {_WANTED[wrong[2]]}, not '{wrong[1]}'"
    low = _BELOW_THE_LEAST.fullmatch(str(getattr(error, "message", "")))
    if low and names:
        return f"{names[0]} must be a whole number >= {low[2]}, not {low[1]}"
    return error.format_message()
