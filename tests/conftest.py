from __future__ import annotations

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
