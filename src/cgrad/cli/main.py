"""The console script: run the Typer app with the signal handling of a
well-behaved Unix filter, inside the error ladder of :mod:`.exits`; or,
for ``eval ... --json``, the quick road of :mod:`.quick_eval`, which
imports neither Typer nor the app."""

from __future__ import annotations

import re
import sys

from .output import GuardedStdout, StdoutWriteError, drop_nonsense_columns, sturdy_stdout
from .signals import Interrupted, catch_ending_signals, interrupted_status


def main() -> None:
    """Run the command line of this process, and exit with its status."""
    catch_ending_signals()
    # Every write to stdout, and the last flush below, in one place: a
    # closed stdout or a full disk is an error, never a silent success.
    sys.stdout = GuardedStdout(sturdy_stdout(sys.stdout))
    drop_nonsense_columns()
    status = None
    if sys.argv[1:2] == ["eval"] and _undecodable(sys.argv) is None:
        try:
            from .quick_eval import quick_eval

            status = quick_eval(sys.argv[1:])
            if status is not None:
                sys.stdout.flush()
        except (Interrupted, StdoutWriteError) as stopped:
            status = _reported(stopped)
    if status is None:
        try:
            status = _run_app()
        except Interrupted as interrupted:
            # A signal while the app was still being loaded, before the
            # error ladder was there to catch it: the same quiet exit.
            status = interrupted_status(interrupted)
    sys.exit(status)


def _run_app() -> int:
    """The whole command line, by the Typer app, inside the error ladder."""
    import typer

    from .application import COMMAND_MODULES, app, load_commands
    from .exits import reporting, run_reporting

    # The command named on the line, or all of them (for --help, and for the
    # error that names the commands).
    named = sys.argv[1:2]
    load_commands(named if named and named[0] in COMMAND_MODULES else COMMAND_MODULES)
    names = [registered.name or "" for registered in app.registered_commands]

    def run() -> object:
        try:
            with reporting(json_output="--json" in sys.argv[1:]):
                _refuse_undecodable(sys.argv[1:])
        except typer.Exit as refused:
            return refused.exit_code
        return app(prog_name="cgrad", standalone_mode=False)

    return run_reporting(run, names)


# Python hands a byte of an argument that is not UTF-8 over as a lone
# surrogate (U+DC80 to U+DCFF); as text it would reach --json output as
# a character no strict JSON reader takes.
_SURROGATE = re.compile("[\udc80-\udcff]")


def _undecodable(arguments: list[str]) -> tuple[int, int] | None:
    """The first argument (from 0) holding a byte that is not UTF-8, and
    where in it; None if every argument is text."""
    for number, argument in enumerate(arguments):
        found = None if argument.isascii() else _SURROGATE.search(argument)
        if found:
            return number, found.start()
    return None


def _refuse_undecodable(arguments: list[str]) -> None:
    where = _undecodable(arguments)
    if where is not None:
        from ..errors import UsageError

        number, index = where
        byte = ord(arguments[number][index]) - 0xDC00
        raise UsageError(
            f"argument {number + 1} is not UTF-8 text: byte 0x{byte:02x} at character {index + 1}",
            hint="write the program and the values as UTF-8 text",
        )


def _reported(stopped: BaseException) -> int:
    """The exit status of the quick road stopped by a signal or a failed
    write, said by the error ladder as for any other run."""

    def stop() -> None:
        raise stopped

    from .exits import run_reporting

    return run_reporting(stop, [])
