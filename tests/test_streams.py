"""The standard streams of a real process: a closed or full stdout is an
error, never a silent success; an unexpected exception is one line and exit
70, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# One run of each command that writes to stdout, with and without --json.
COMMANDS = [
    ["eval", "x*y", "x=1", "y=2"],
    ["eval", "x*y", "x=1", "y=2", "--json"],
    ["eval", "x*y", "x=1", "y=2", "--steps"],
    ["eval", "x*y", "x=1", "y=2", "--steps", "--json"],
    ["diff", "x*y"],
    ["diff", "x*y", "--json"],
    ["graph", "x*y"],
    ["graph", "x*y", "--format", "dot"],
    ["graph", "x*y", "--format", "json"],
    ["check", "x*y", "x=1", "y=2"],
    ["check", "x*y", "x=1", "y=2", "--json"],
    ["minimize", "x^2", "x=1", "--quiet"],
    ["minimize", "x^2", "x=1", "--quiet", "--json"],
    ["batch", "-e", "x"],
    ["eval", "--help"],
    ["--version"],
]


def _close_stdout() -> None:
    os.close(1)


def run_with_stdout(arguments: list[str], stdout, input: str = "x\n1\n"):
    """Run cgrad with ``stdout`` "closed" (fd 1 closed in the child) or a
    file object."""
    closed = stdout == "closed"
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        input=input,
        stdout=None if closed else stdout,
        stderr=subprocess.PIPE,
        preexec_fn=_close_stdout if closed else None,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("arguments", COMMANDS, ids=" ".join)
def test_a_closed_stdout_is_an_error(arguments):
    completed = run_with_stdout(arguments, "closed")
    assert completed.returncode == 1
    assert (
        completed.stderr == "cgrad: error: cannot write to standard output: Bad file descriptor\n"
    )


@pytest.mark.parametrize("arguments", COMMANDS, ids=" ".join)
def test_a_full_stdout_is_an_error(arguments):
    with open("/dev/full", "w") as full:
        completed = run_with_stdout(arguments, full)
    assert completed.returncode == 1
    assert completed.stderr == (
        "cgrad: error: cannot write to standard output: No space left on device\n"
    )


@pytest.mark.parametrize("stdout", ["closed", "full"])
def test_an_error_that_cannot_be_written_as_json_is_still_said_once(stdout):
    with open("/dev/full", "w") as full:
        completed = run_with_stdout(
            ["eval", "x+", "--json"], full if stdout == "full" else "closed"
        )
    reason = "Bad file descriptor" if stdout == "closed" else "No space left on device"
    assert completed.returncode == 1
    assert completed.stderr == (
        "cgrad: error: the expression ends too early at line 1, column 3\n"
        "  x+\n"
        "    ^\n"
        "hint: an operand (a number, a name or a parenthesised expression) is missing here\n"
        f"cgrad: error: cannot write to standard output: {reason}\n"
    )


def test_nothing_to_write_and_a_closed_stdout_is_no_error(tmp_path):
    # A usage error writes to stderr only; batch -o writes to its file.
    completed = run_with_stdout(["eval", "x+"], "closed")
    assert completed.returncode == 2
    assert "Bad file descriptor" not in completed.stderr
    target = tmp_path / "out.ndjson"
    completed = run_with_stdout(["batch", "-e", "x", "-o", str(target)], "closed")
    assert (completed.returncode, completed.stderr) == (0, "")
    assert target.read_text().startswith('{"row": 1')


def _close_stdin() -> None:
    os.close(0)


@pytest.mark.parametrize(
    "arguments",
    [
        ["eval", "@-", "x=1"],
        ["batch", "-e", "x"],
        ["batch", "-e", "x", "-"],
        ["batch", "--program", "-", "points.csv"],
    ],
    ids=" ".join,
)
def test_a_closed_stdin_is_a_usage_error(arguments):
    # Started with fd 0 closed, Python's sys.stdin is None: this was exit 70.
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        capture_output=True,
        preexec_fn=_close_stdin,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == "cgrad: error: cannot read standard input: it is closed\n"


# ---------------------------------------------------------------------------
# The internal-error path, run for real: a library function that raises
# something no handler expects.

_BROKEN_RUN = """
import sys
import cgrad.function
from cgrad.cli import main

def broken(*args, **kwargs):
    raise ZeroDivisionError("planted by the test")

cgrad.function.Function.evaluate = broken
sys.argv = ["cgrad", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("json_output", [[], ["--json"]])
def test_an_unexpected_exception_is_exit_70_and_one_message(json_output):
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BROKEN_RUN), "eval", "x", "x=1", *json_output],
        capture_output=True,
        text=True,
        timeout=60,
        env={key: value for key, value in os.environ.items() if key != "CGRAD_DEBUG"},
    )
    assert completed.returncode == 70
    # With --json, the error object on stdout too, as for every error.
    said = "internal error: ZeroDivisionError: planted by the test"
    assert completed.stdout == (
        json.dumps({"error": {"type": "internal_error", "message": said, "line": None,
                              "column": None}}) + "\n"
        if json_output else ""
    )  # fmt: skip
    assert completed.stderr == (
        "cgrad: error: internal error: ZeroDivisionError: planted by the test\n"
        "This is a bug in cgrad; please report it with the command that caused it "
        "(set CGRAD_DEBUG=1 for a traceback).\n"
    )


def test_cgrad_debug_shows_the_traceback_of_an_internal_error():
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_BROKEN_RUN), "eval", "x", "x=1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CGRAD_DEBUG": "1"},
    )
    assert completed.returncode == 70
    assert completed.stderr.startswith("Traceback (most recent call last):\n")
    assert "ZeroDivisionError: planted by the test\n" in completed.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_failed_write_of_a_json_run_is_a_json_object_on_stdout_too(cli):
    result = cli("eval", "x", "x=1", "--json", "--html", "/dev/full")
    assert result.exit_code == 1
    said = "input/output failed on --html /dev/full: No space left on device"
    assert result.stderr == f"cgrad: error: {said}\n"
    assert json.loads(result.stdout) == {
        "error": {"type": "file_error", "message": said, "line": None, "column": None}
    }
