"""The README and the manual (docs/*.md) show real output: every
`$ cgrad ...` example in a console block of every page is run and compared,
and the Python sessions are run as doctests, so that no page can drift.
A printed number may differ from the page's in its last digits (see
``_close``): numpy's transcendental functions differ by CPU."""

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
    wanted = [line.rstrip() for line in expected.splitlines()]
    if actual != wanted:
        assert _close(actual, wanted), "\n".join(actual)


# A number as the views print it (1.5, -2e-05, 3.14e+300, 1,000).
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# How far a printed number may be from the page's: numpy chooses its exp,
# tanh, sin... by the CPU's instruction set (AVX-512 or AVX2), and those
# differ in the last bit, which training over many steps carries into the
# last digits of what fit and minimize print.
_RELATIVE = 1e-8
_RULE = re.compile("─+")


def _close(actual: list[str], wanted: list[str]) -> bool:
    """The same lines but for the last digits of their numbers, and the
    blanks and rules that fit a table's columns to numbers of other lengths."""
    if len(actual) != len(wanted):
        return False
    for line, page in zip(actual, wanted, strict=True):
        words, page_words = _RULE.sub("─", line).split(), _RULE.sub("─", page).split()
        if _NUMBER.sub("#", " ".join(words)) != _NUMBER.sub("#", " ".join(page_words)):
            return False
        numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(" ".join(words))]
        page_numbers = [float(n.replace(",", "")) for n in _NUMBER.findall(" ".join(page_words))]
        for a, b in zip(numbers, page_numbers, strict=True):
            if abs(a - b) > _RELATIVE * max(abs(a), abs(b)):
                return False
    return True


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
