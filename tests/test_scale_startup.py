"""A cold start imports what its run needs (bench/run.py, W4): the modules
that evaluating one point from the command line has no use for stay out,
and ``eval ... --json`` takes the quick road (cli/quick_eval.py), which
gives what the full command line gives, byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from cgrad.cli import app, quick_eval
from test_cli import _modules_imported

# Modules, or packages (every module under them), that `cgrad eval --json`
# at one point must not import: each is imported where it is used.
NOT_FOR_ONE_POINT = (
    "cgrad.symbolic",  # formulas: diff, derivative, hessian, latex
    "cgrad.derivation",
    "cgrad.autodiff.codegen",  # generated code: only once it pays
    "cgrad.autodiff.tracing",
    "cgrad.autodiff.array_code",
    "cgrad.autodiff.chunks",  # arrays in slices
    "cgrad.autodiff.diagnostics",  # only where there is something to warn about
    "cgrad.autodiff.node",  # node objects: for the views and the tests
    "threading",  # its import is a few hundred µs more
    "numpy.typing",  # annotations only
    "cgrad.batch",
    "cgrad.descent",
    "cgrad.check",
    "cgrad.views.terminal_reports",
    "orjson",  # columns of numbers
    "rich",
    "lark",
    # The quick road: no Typer (nor its click), no app, no error ladder.
    "typer",
    "click",
    "shellingham",
    "cgrad.cli.application",
    "cgrad.cli.exits",
    "cgrad.cli.eval_command",
    "cgrad.cli.parameters",
    "cgrad.cli.files",  # files only for @FILE
    "tempfile",
    "pathlib",  # os.path will do: pathlib's import is a few ms
    "cgrad.lookalikes",  # "did you mean": for a mistake only
    "unicodedata",
    "signal",  # its enums of every signal: the handlers need only _signal
    "cgrad.parse.syntax",  # the AST: a valid program is read into its graph
    "cgrad.parse.tree",
)


def _offending(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_FOR_ONE_POINT)
    )


def test_eval_json_at_one_point_imports_nothing_it_does_not_use():
    modules = _modules_imported("eval", "(x+y)*z", "--x", "1", "--y", "2", "--z", "3", "--json")
    assert "cgrad.cli.quick_eval" in modules  # the run did happen
    assert _offending(modules) == []


def test_the_check_sees_a_heavy_module_that_comes_back():
    # diff does need the formulas, and Typer: the list would catch them on eval.
    modules = _modules_imported("diff", "x*y", "--json")
    assert {"cgrad.symbolic.formulas", "typer"} <= set(_offending(modules))


def test_the_quick_road_knows_every_option_of_eval():
    # A line with one of them (but --json) goes the full road.
    group = typer.main.get_group(app)
    command = group.commands["eval"]
    parent = group.make_context("cgrad", ["eval"], resilient_parsing=True)
    context = command.make_context("eval", [], parent=parent, resilient_parsing=True)
    help_option = command.get_help_option(context)
    assert help_option is not None
    declared = {name for parameter in command.params for name in parameter.opts}
    declared = {name for name in declared if name.startswith("-")} | set(help_option.opts)
    assert quick_eval.EVAL_OPTIONS == declared


# Lines the quick road takes, and lines it leaves to the full road (an
# option of eval, '--', a file, a token Typer reads as a short option, an
# error of any kind): either way, the output of the full command line.
QUICK = [
    ["(x+y)*z", "--x", "1", "--y", "2", "--z", "3", "--json"],
    ["--json", "x*y", "x=-1.5", "--y=2"],
    ["--x", "-1e-3", "x^2 + sin(x)", "--json", "--json"],
    ["x/y", "x=1", "y=0", "--json"],  # a warning in the JSON
    ["log(x)", "--x", "-inf", "--json"],
    ["a = x*y; a + 1", "x=2", "y=3", "--json"],
]
FULL = [
    ["(x+y)*z", "x=1", "y=2", "z=3"],  # text
    ["x*y", "x=1", "y=2", "--json", "--wrt", "x"],
    ["--json", "--", "-x^2", "x=3"],
    ["x*y", "--x", "-h", "--y", "2", "--json"],
    ["x*y", "--x=1", "--json=1"],
    ["x*y", "x=1", "--json"],  # a missing value
    ["x*y", "x=1", "y=2", "z=3", "--json"],  # not an input
    ["x*", "x=1", "--json"],  # does not parse
    ["x*y", "x=1", "y=two", "--json"],
    ["x*y", "--jsn", "x=1", "y=2", "--json"],
    ["x*y", "--x", "--json"],
    ["@no-such-file", "x=1", "--json"],
    ["--json"],
]


def _run(
    arguments: list[str], record: Path, quick: bool, stdout: str | None = None
) -> tuple[subprocess.CompletedProcess, set[str]]:
    """The console script's main() run on ``eval`` and ``arguments``, by the
    quick road where it takes them or never, and the modules it imported
    (written to ``record``); standard output captured, or ``stdout``: the
    device /dev/full, or "closed"."""
    script = (
        "import atexit, sys\n"
        "record = sys.argv[1]\n"
        "atexit.register(lambda: open(record, 'w').write('\\n'.join(sys.modules)))\n"
        "sys.argv = ['cgrad', *sys.argv[2:]]\n"
        "from cgrad.cli import main, quick_eval\n"
        + ("" if quick else "quick_eval.quick_eval = lambda arguments: None\n")
        + "main()\n"
    )
    if stdout is None:
        output: dict = {"stdout": subprocess.PIPE}
    elif stdout == "closed":
        output = {"stdout": subprocess.DEVNULL, "preexec_fn": lambda: os.close(1)}
    else:
        output = {"stdout": open(stdout, "w")}  # noqa: SIM115 - closed by the run below
    completed = subprocess.run(
        [sys.executable, "-c", script, str(record), "eval", *arguments],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "PATH": "/usr/bin:/bin"},
        **output,
    )
    if stdout not in (None, "closed"):
        output["stdout"].close()
    return completed, set(record.read_text().split())


@pytest.mark.parametrize(
    ("arguments", "quick"), [(a, True) for a in QUICK] + [(a, False) for a in FULL]
)
def test_the_quick_road_gives_what_the_full_command_line_gives(tmp_path, arguments, quick):
    completed, modules = _run(arguments, tmp_path / "quick", quick=True)
    assert ("typer" not in modules) == quick
    full, modules = _run(arguments, tmp_path / "full", quick=False)
    assert "typer" in modules
    assert completed.stdout == full.stdout
    assert completed.stderr == full.stderr
    assert completed.returncode == full.returncode


@pytest.mark.parametrize("stdout", ["/dev/full", "closed"])
def test_the_quick_road_says_a_failed_write_as_the_full_road_does(tmp_path, stdout):
    arguments = ["x*y", "x=1", "y=2", "--json"]
    completed, modules = _run(arguments, tmp_path / "quick", quick=True, stdout=stdout)
    # The quick road ran: the app was never built (the ladder says the error).
    assert "cgrad.cli.quick_eval" in modules and "cgrad.cli.application" not in modules
    full, _ = _run(arguments, tmp_path / "full", quick=False, stdout=stdout)
    assert completed.returncode == full.returncode == 1
    assert completed.stderr == full.stderr
    assert completed.stderr.startswith("cgrad: error: cannot write to standard output: ")


_SIGNALLED_RUN = """
import os, signal, sys
import cgrad.function
from cgrad.cli import main, quick_eval

def signalled(*arguments, **keywords):
    os.kill(os.getpid(), signal.SIGTERM)  # as a user's kill while it runs

cgrad.function.Function.evaluate = signalled
if sys.argv[1] == "full":
    quick_eval.quick_eval = lambda arguments: None
sys.argv = ["cgrad", *sys.argv[2:]]
main()
"""


def test_the_quick_road_ends_on_a_signal_as_the_full_road_does():
    # The stack unwinds, and the exit status is 128 + the signal.
    ended = [
        subprocess.run(
            [sys.executable, "-c", _SIGNALLED_RUN, road, "eval", "x*y", "x=1", "y=2", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        for road in ("quick", "full")
    ]
    assert [run.returncode for run in ended] == [143, 143]
    assert ended[0].stdout == ended[1].stdout == ""
    assert ended[0].stderr == ended[1].stderr == "\n"
