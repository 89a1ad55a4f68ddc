"""The console script: run the Typer app with the signal handling of a
well-behaved Unix filter, inside the error ladder of :mod:`.exits`."""

from __future__ import annotations

import signal
import sys

from .application import COMMAND_MODULES, app, load_commands, unwrapped
from .exits import Interrupted, run_reporting
from .output import GuardedStdout

app.info.help = unwrapped(app.info.help or "")


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


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
    """Run the command line of this process, and exit with its status."""
    _catch_ending_signals()
    # Every write to stdout, and the last flush below, in one place: a
    # closed stdout or a full disk is an error, never a silent success.
    sys.stdout = GuardedStdout(sys.stdout)
    # The command named on the line, or all of them (for --help, and for the
    # error that names the commands).
    named = sys.argv[1:2]
    load_commands(named if named and named[0] in COMMAND_MODULES else COMMAND_MODULES)
    names = [registered.name or "" for registered in app.registered_commands]
    sys.exit(run_reporting(lambda: app(prog_name="cgrad", standalone_mode=False), names))
