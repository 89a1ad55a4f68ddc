"""The README and the manual (docs/*.md) show real output: every
`$ cgrad ...` example in a console block of every page is run and compared,
and the Python sessions are run as doctests, so that no page can drift."""

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
# The README, then each page of the manual, by its path from the root.
PAGES = {
    path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
}
# The console script lives beside the interpreter that runs the tests.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def console_examples() -> list:
    examples = []
    for page, text in PAGES.items():
        for block in re.findall(r"```console\n(.*?)```", text, re.DOTALL):
            for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
                command, _, output = chunk.partition("\n")
                examples.append(pytest.param(command, output, id=f"{page}: {command}"))
    return examples


def test_every_page_has_examples():
    # A page whose examples stopped being found (a renamed fence, say) would
    # otherwise pass by running nothing.
    pages_with_examples = {example.id.partition(": ")[0] for example in console_examples()}
    pages_with_examples |= {page for page, _ in SESSIONS}
    commands = ["eval", "graph", "diff", "check", "minimize", "batch", "fit"]
    assert {"README.md", *(f"docs/{command}.md" for command in commands)} <= pages_with_examples


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


SESSIONS = [
    (page, session)
    for page, text in PAGES.items()
    for session in re.findall(r"```python\n(>>> .*?)```", text, re.DOTALL)
]


@pytest.mark.parametrize(
    ("page", "session"),
    SESSIONS,
    ids=[f"{page}: session {i}" for i, (page, _) in enumerate(SESSIONS)],
)
def test_python_session(page, session, monkeypatch):
    if "pandas" in session and importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PATH", PATH)
    test = doctest.DocTestParser().get_doctest(session, {}, page, page, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3
