"""The console script: run the Typer app with the signal handling of a
well-behaved Unix filter, and Typer's own usage errors in cgrad's words."""

from __future__ import annotations

import os
import signal
import sys

import typer

from .application import COMMAND_MODULES, app, load_commands, unwrapped
from .output import ExitStatus, GuardedStdout, StdoutWriteError, print_error

app.info.help = unwrapped(app.info.help or "")


class _Interrupted(BaseException):
    """Raised by our SIGINT handler: not a KeyboardInterrupt, which some
    Typer versions turn into 'Aborted!' and exit status 1."""


def _interrupt(signum, frame) -> None:
    raise _Interrupted(signum)


# The signals that end a run the way Ctrl-C does: the stack unwinds (a
# half-written -o file is removed) and the exit status is 128 + the signal.
# SIGPIPE is left to end the process at once and quietly, as it does cat and
# grep; SIGKILL cannot be caught. SIGALRM (timeout -s ALRM) and SIGXCPU (a
# CPU-time limit, ulimit -t, before its SIGKILL) end a run just as often.
_ENDING_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")


def _catch_ending_signals() -> None:
    for name in _ENDING_SIGNALS:
        number = getattr(signal, name, None)
        # A signal the parent set to be ignored (nohup, a background job)
        # stays ignored.
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _interrupt)
    # A closed pipe (cgrad ... | head -1) ends the process quietly, as it
    # does for cat and grep, instead of raising BrokenPipeError.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def main() -> None:
    _catch_ending_signals()
    # Every write to stdout, and the last flush below, in one place: a
    # closed stdout or a full disk is an error, never a silent success.
    sys.stdout = GuardedStdout(sys.stdout)
    # The command named on the line, or all of them (for --help, and for the
    # error that names the commands).
    named = sys.argv[1:2]
    load_commands(named if named and named[0] in COMMAND_MODULES else COMMAND_MODULES)
    try:
        status = app(prog_name="cgrad", standalone_mode=False)
        sys.stdout.flush()
    except _Interrupted as interrupted:
        _write_quietly(sys.stderr, "\n")
        sys.exit(128 + interrupted.args[0])
    except typer.TyperException as error:
        _report_usage_error(error)
    except StdoutWriteError as failure:
        _report_stdout_failure(failure)
    sys.exit(status if isinstance(status, int) else ExitStatus.OK)


def _report_stdout_failure(failure: StdoutWriteError) -> None:
    print_error(f"cannot write to standard output: {failure.reason}")
    # What could not be written stays in the stream's buffer: without this,
    # Python's own flush at exit would fail again, with a message of its own.
    stream = getattr(sys.stdout, "stream", None)
    try:
        if stream is not None:
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # no descriptor: stdout was closed from the start
    sys.stdout = None
    sys.exit(ExitStatus.FAILURES)


def _write_quietly(stream, text: str) -> None:
    """Write ``text`` if the stream is still there (after SIGHUP the
    terminal may be gone)."""
    try:
        stream.write(text)
        stream.flush()
    except (OSError, ValueError, AttributeError):
        pass


def _report_usage_error(error: typer.TyperException) -> None:
    """Typer's parser errors (an unknown option, a flag given a value) as one
    ``cgrad: error:`` line like every other error, with where to get help."""
    if not hasattr(error, "format_message"):
        raise error
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        # Typer has printed the help already; the missing command is still a
        # usage error.
        sys.exit(ExitStatus.ERROR)
    if context is not None:
        command = context.command_path
    else:  # errors from Typer's option parser carry no context
        names = {registered.name for registered in app.registered_commands}
        command = "cgrad" + (f" {sys.argv[1]}" if sys.argv[1:2] and sys.argv[1] in names else "")
    print_error(f"{error.format_message()}\nhint: see '{command} --help'")
    sys.exit(getattr(error, "exit_code", ExitStatus.ERROR))
