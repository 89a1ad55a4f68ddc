from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

from cgrad.cli import app

# A suite started in the background by a shell without job control (`cmd &`
# in a script) ignores SIGINT, and every process it starts would inherit
# that: cgrad leaves an ignored signal ignored (as under nohup), so the tests
# that stop a run with Ctrl-C would wait for it forever. Handled here, SIGINT
# is the default again in the processes the tests start.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# CI (.ci/run sets CGRAD_CI) draws the same hypothesis examples at every
# run, so that a red CI means a change broke something, not that a new
# example was drawn that day; elsewhere each run draws new examples and
# keeps exploring (a failure found there is saved in .hypothesis/ and
# replayed until fixed).
settings.register_profile("ci", derandomize=True)
if os.environ.get("CGRAD_CI"):
    settings.load_profile("ci")

# A fixed width and no colour, so that text output can be compared exactly.
CLI_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def cli():
    runner = CliRunner(env=CLI_ENV)

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


# inotify's events for a file made, written, closed or renamed in a folder.
_FILE_EVENTS = 0x100 | 0x2 | 0x8 | 0x80  # IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO
_libc = ctypes.CDLL(None, use_errno=True)


def _watching(directory: Path) -> int:
    """An inotify descriptor that becomes readable when a file in
    ``directory`` changes."""
    watch = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if watch < 0 or _libc.inotify_add_watch(watch, os.fsencode(directory), _FILE_EVENTS) < 0:
        raise OSError(ctypes.get_errno(), f"cannot watch {directory}")
    return watch


def _wait_until(condition, what: str, directory: Path, process: subprocess.Popen):
    """Look at ``condition`` each time a file in ``directory`` changes,
    until it returns something true, and return that: a test waits for the
    sign that a run got somewhere (a file written, a trace line), told by
    the kernel, never for a length of time. If ``process`` ends first, the
    sign will never come: that fails the test at once."""
    watch = _watching(directory)
    ended = os.pidfd_open(process.pid)  # readable once the process has ended
    try:
        while not (found := condition()):
            ready, _, _ = select.select([watch, ended], [], [])
            if ended in ready and not (found := condition()):
                raise AssertionError(f"the run ended before {what}")
            with contextlib.suppress(BlockingIOError):
                os.read(watch, 65536)  # the events seen: wait for new ones
        return found
    finally:
        os.close(ended)
        os.close(watch)


@pytest.fixture
def wait_until():
    return _wait_until


@pytest.fixture
def interrupted_once_traced(tmp_path):
    """Run ``cgrad ARGUMENTS --trace FILE`` in a process of its own, send it
    SIGINT once its trace holds two whole steps (under way, not after a
    guess at how long Python takes to start), and return the process, its
    stdout, its stderr and the trace file."""

    def run(*arguments: str):
        import signal
        import sys

        trace = tmp_path / "trace.ndjson"
        process = subprocess.Popen(
            [sys.executable, "-m", "cgrad", *arguments, "--trace", str(trace)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def under_way() -> bool:
            return trace.exists() and trace.read_text(encoding="utf-8").count("\n") >= 2

        try:
            _wait_until(under_way, "the run to get under way", tmp_path, process)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            process.kill()  # (a run that missed its signal must not outlive the test)
        return process, stdout, stderr, trace

    return run


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few lines for Arrow's CSV and NDJSON readers, so that a
    short input has many of them and bad rows fall on both sides of their
    edges."""
    from cgrad.batch import columnar

    monkeypatch.setattr(columnar, "MIN_BLOCK", 16)
    monkeypatch.setattr(columnar, "BYTES_PER_ROW", 0)


@pytest.fixture
def same_ndjson(cli):
    """Run ``cgrad batch`` on NDJSON through Arrow's readers and through the
    record reader (chunks below the default use it), assert that stdout,
    stderr and the exit status are the same, and return the first run."""

    def run(data: str | bytes, *arguments: str):
        arrow_run = cli("batch", "--input-format", "ndjson", *arguments, input=data)
        record_run = cli(
            "batch", "--input-format", "ndjson", *arguments, "--chunk-rows", "4095", input=data
        )
        assert arrow_run.stdout_bytes == record_run.stdout_bytes
        assert arrow_run.stderr == record_run.stderr
        assert arrow_run.exit_code == record_run.exit_code
        return arrow_run

    return run


@pytest.fixture
def block_answers(monkeypatch):
    """Watch a reader's ``block`` method: per block, whether Arrow took it
    (True) or sent it to the record reader (False)."""

    def watch(parser: type) -> list[bool]:
        answers: list[bool] = []
        parse = parser.block

        def spy(self, block, rows, wrt):
            answer = parse(self, block, rows, wrt)
            answers.append(answer is not None)
            return answer

        monkeypatch.setattr(parser, "block", spy)
        return answers

    return watch


@pytest.fixture(scope="session")
def tmpfs():
    """:func:`mounted_tmpfs`, for the tests that fill a small disk."""
    return mounted_tmpfs


@contextlib.contextmanager
def mounted_tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (mount's ``size=``) at the directory ``mount``,
    unmounted after; the test is skipped where it cannot be mounted (it
    needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {made.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
