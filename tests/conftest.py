from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from cgrad.cli import app

# A fixed width and no colour, so that text output can be compared exactly.
CLI_ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def cli():
    runner = CliRunner(env=CLI_ENV)

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


# Generous: a loaded machine may take many seconds to start Python.
WAIT_DEADLINE = 60.0


def _wait_until(condition, what: str):
    """Look at ``condition`` until it returns something true, and return
    that: a test waits for a sign that a run got somewhere (a file written,
    a trace line), never for a guessed length of time. The short pause
    between looks only spares the CPU; the deadline only guards against a
    run that never gets there."""
    give_up = time.monotonic() + WAIT_DEADLINE
    while time.monotonic() < give_up:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def wait_until():
    return _wait_until
