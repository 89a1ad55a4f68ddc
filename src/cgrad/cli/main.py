"""The console script: run the Typer app with the signal handling of a
well-behaved Unix filter."""

from __future__ import annotations

import signal
import sys

from . import eval_command  # noqa: F401 - registers the command
from .app import app
from .output import ExitStatus


class _Interrupted(BaseException):
    """Raised by our SIGINT handler. Not a KeyboardInterrupt, which Typer
    would turn into 'Aborted!' and exit status 1."""


def _interrupt(signum, frame) -> None:
    raise _Interrupted


def main() -> None:
    signal.signal(signal.SIGINT, _interrupt)
    # A closed pipe (cgrad ... | head -1) ends the process quietly, as it
    # does for cat and grep, instead of raising BrokenPipeError.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        app()
    except _Interrupted:
        sys.stderr.write("\n")
        sys.exit(ExitStatus.INTERRUPTED)
