"""The README shows real output: every `$ cgrad ...` example in a console
block is run and compared, and the Python sessions are run as doctests."""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The console script lives beside the interpreter that runs the tests.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def console_examples() -> list[tuple[str, str]]:
    examples = []
    for block in re.findall(r"```console\n(.*?)```", README, re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            examples.append((command, output))
    return examples


@pytest.mark.parametrize(("command", "expected"), console_examples())
def test_console_example(command, expected):
    environment = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1", "PATH": PATH}
    if "|" in command:
        # A pipeline: run it as a shell would, with the tools it names.
        for tool in ("jq", "sort", "head", "tail"):
            if re.search(rf"\| {tool}\b", command) and shutil.which(tool) is None:
                pytest.skip(f"{tool} is not installed")
        if shutil.which("cgrad", path=PATH) is None:
            pytest.skip("the cgrad console script is not installed")
        arguments = ["bash", "-o", "pipefail", "-c", command]
    else:
        arguments = shlex.split(command)
        assert arguments[0] == "cgrad"
        arguments = [sys.executable, "-m", "cgrad", *arguments[1:]]
    completed = subprocess.run(
        arguments,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
        env=environment,
    )
    actual = [line.rstrip() for line in completed.stdout.splitlines()]
    assert actual == [line.rstrip() for line in expected.splitlines()]


SESSIONS = re.findall(r"```python\n(>>> .*?)```", README, re.DOTALL)


@pytest.mark.parametrize("session", SESSIONS, ids=[f"session{i}" for i in range(len(SESSIONS))])
def test_python_session(session, monkeypatch):
    if "pandas" in session and importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", PATH)
    test = doctest.DocTestParser().get_doctest(session, {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3
