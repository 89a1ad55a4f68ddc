"""The README shows real output: every `$ cgrad ...` example in a console
block is run and compared, and the Python session is run as a doctest."""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


@pytest.mark.parametrize(("command", "expected"), console_examples())
def test_console_example(command, expected):
    arguments = shlex.split(command)
    assert arguments[0] == "cgrad"
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
    )
    actual = [line.rstrip() for line in completed.stdout.splitlines()]
    assert actual == [line.rstrip() for line in expected.splitlines()]


def test_library_session():
    session = re.search(r"```python\n(>>> .*?)```", README, re.DOTALL).group(1)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(session, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 5
