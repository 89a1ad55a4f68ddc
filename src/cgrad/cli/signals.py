"""The signals that end a run the way Ctrl-C does, raised as
:class:`Interrupted` so that the stack unwinds (a half-written ``-o`` file
is removed) and the exit status is 128 + the signal. Apart from the error
ladder (:mod:`.exits`), which imports Typer: the quick road of ``eval``
(:mod:`.quick_eval`) is interrupted the same way without it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

# _signal, the C module under signal, has the same functions: signal's own
# import makes enums of every signal and handler, a part of a cold start.
if TYPE_CHECKING:
    import signal
else:
    import _signal as signal


class Interrupted(BaseException):
    """Raised by the console script's signal handler: not a
    KeyboardInterrupt, which some Typer versions turn into 'Aborted!' and
    exit status 1. Its argument is the signal's number."""


def _interrupt(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def interrupted_status(interrupted: Interrupted) -> int:
    """The exit status of a run a signal stopped (128 + the signal), after
    a line break on stderr (the terminal's ^C is left on a line of its
    own), if stderr is still there: after SIGHUP the terminal may be gone."""
    try:
        sys.stderr.write("\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    return 128 + interrupted.args[0]


# SIGPIPE is left to end the process at once and quietly, as it does cat and
# grep; SIGKILL cannot be caught. SIGALRM (timeout -s ALRM) and SIGXCPU (a
# CPU-time limit, ulimit -t, before its SIGKILL) end a run just as often.
_ENDING_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU")


def catch_ending_signals() -> None:
    """Make each ending signal raise :class:`Interrupted`."""
    for name in _ENDING_SIGNALS:
        number = getattr(signal, name, None)
        # A signal the parent set to be ignored (nohup, a background job)
        # stays ignored.
        if number is not None and signal.getsignal(number) != signal.SIG_IGN:
            signal.signal(number, _interrupt)
    # A closed pipe (cgrad ... | head -1) ends the process quietly, as it
    # does for cat and grep, instead of raising BrokenPipeError.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
