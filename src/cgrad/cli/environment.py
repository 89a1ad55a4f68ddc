"""The environment a command runs in: which standard streams are
terminals, asked in this one place.

A person at a terminal gets a table, a progress bar, a live display, and is
never left waiting for input that will not come; a pipe gets NDJSON and
silence. The environment is the process's own streams, asked when a
command needs to know; tests replace it with :func:`given`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from ..errors import UsageError


@dataclass(frozen=True)
class Environment:
    """Whether stdin, stdout and stderr are terminals."""

    stdin_is_terminal: bool
    stdout_is_terminal: bool
    stderr_is_terminal: bool

    @classmethod
    def of_process(cls) -> Environment:
        """The streams of this process, as they are now (tests and the
        console script replace ``sys.stdout``)."""
        return cls(_is_terminal(sys.stdin), _is_terminal(sys.stdout), _is_terminal(sys.stderr))


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]  # any stream, or None
    except (AttributeError, ValueError, OSError):  # None, or closed
        return False


_given: list[Environment] = []


def environment() -> Environment:
    """The environment of the running command: the one :func:`given`, else
    the process's streams as they are now."""
    return _given[-1] if _given else Environment.of_process()


@contextmanager
def given(environment: Environment) -> Iterator[Environment]:
    """Run the block as if the streams were as ``environment`` says (for
    tests: a terminal without a terminal)."""
    _given.append(environment)
    try:
        yield environment
    finally:
        _given.pop()


def open_stdin() -> TextIO:
    """``sys.stdin``, which is None when cgrad was started with it closed
    (``<&-``)."""
    if sys.stdin is None:
        raise UsageError("cannot read standard input: it is closed")
    return sys.stdin
