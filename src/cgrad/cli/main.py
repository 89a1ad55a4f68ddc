"""The console script: run the Typer app with the signal handling of a
well-behaved Unix filter, and Typer's own usage errors in cgrad's words."""

from __future__ import annotations

import signal
import sys

import typer

from .application import COMMAND_MODULES, app, load_commands, unwrapped
from .output import ExitStatus, print_error

app.info.help = unwrapped(app.info.help or "")


class _Interrupted(BaseException):
    """Raised by our SIGINT handler: not a KeyboardInterrupt, which some
    Typer versions turn into 'Aborted!' and exit status 1."""


def _interrupt(signum, frame) -> None:
    raise _Interrupted(signum)


def main() -> None:
    # SIGINT and SIGTERM unwind the stack (removing a half-written -o file)
    # and exit 128 + the signal number, quietly.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # A closed pipe (cgrad ... | head -1) ends the process quietly, as it
    # does for cat and grep, instead of raising BrokenPipeError.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # The command named on the line, or all of them (for --help, and for the
    # error that names the commands).
    named = sys.argv[1:2]
    load_commands(named if named and named[0] in COMMAND_MODULES else COMMAND_MODULES)
    try:
        status = app(prog_name="cgrad", standalone_mode=False)
    except _Interrupted as interrupted:
        sys.stderr.write("\n")
        sys.exit(128 + interrupted.args[0])
    except typer.TyperException as error:
        _report_usage_error(error)
    sys.exit(status if isinstance(status, int) else ExitStatus.OK)


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
