"""Standard output that is hard to write: a disk that fills up under
PYTHONUNBUFFERED (short writes), an encoding that lacks characters, a
terminal width that makes no sense. Run as the user runs cgrad, in a
process of its own."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FULL = "cgrad: error: cannot write to standard output: No space left on device\n"
# A sum of many terms: every report of it is far more than the small disk holds.
BIG = "+".join(f"sin(x*{i})" for i in range(300))


def run(arguments: list[str], stdout=subprocess.PIPE, **environment: str):
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        encoding=environment.get("PYTHONIOENCODING", "utf-8"),
        env={**os.environ, **environment},
        timeout=120,
    )


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory, tmpfs):
    """A 24 KB tmpfs: the kernel writes what fits and says how much (a short
    write) before it says the disk is full. Mounting needs root."""
    with tmpfs(tmp_path_factory.mktemp("small"), "24k") as mount:
        yield mount


def _rows(path: Path, count: int) -> Path:
    path.write_text("x,y,z\n" + "".join(f"{i}.5,{2 * i}.25,{i % 7}.125\n" for i in range(count)))
    return path


@pytest.mark.parametrize(
    "arguments",
    [
        ["batch", "ROWS", "-e", "(x+y)*z"],
        ["check", BIG, "x=1", "--random", "200", "--json"],
        ["eval", BIG, "x=1", "--steps", "--full"],
        ["diff", BIG, "--steps", "--full"],
        ["graph", BIG, "--full"],
    ],
    ids=["batch", "check --random --json", "eval --steps --full", "diff --steps", "graph --full"],
)
def test_a_disk_filling_up_under_pythonunbuffered_is_an_error(arguments, small_disk, tmp_path):
    arguments = [str(_rows(tmp_path / "p.csv", 400)) if a == "ROWS" else a for a in arguments]
    target = small_disk / "out"
    try:
        with target.open("w") as stdout:
            completed = run(arguments, stdout=stdout, PYTHONUNBUFFERED="1")
    finally:
        target.unlink(missing_ok=True)
    assert (completed.returncode, completed.stderr) == (1, FULL)


@pytest.mark.parametrize(
    "arguments",
    [
        ["eval", "θ*x", "θ=1", "x=2"],
        ["eval", "θ*x", "θ=1", "x=2", "--steps"],
        ["diff", "θ*x"],
        ["graph", "θ*x"],
        ["check", "θ*x", "θ=1", "x=2"],
        ["minimize", "θ^2+x^2", "θ=1", "x=2", "--quiet"],
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_text_the_encoding_cannot_hold_is_escaped(arguments, encoding):
    completed = run(arguments, PYTHONIOENCODING=encoding)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert "\\u03b8" in completed.stdout and "θ" not in completed.stdout


def test_a_batch_table_the_encoding_cannot_hold_is_escaped(tmp_path):
    rows = tmp_path / "t.csv"
    rows.write_text("θ,x\n1,2\n", encoding="utf-8")
    completed = run(
        ["batch", str(rows), "-e", "θ*x", "--format", "table"], PYTHONIOENCODING="ascii"
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout.split("\n")[0].split() == ["row", "\\u03b8", "x", "value"] + [
        "\\u2202/\\u2202\\u03b8",
        "\\u2202/\\u2202x",
        "note",
    ]


@pytest.mark.parametrize("steps", [[], ["--steps"]])
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_json_the_encoding_cannot_hold_stays_valid_json(steps, encoding):
    # θ is not Latin-1, é is, 𝜃 is beyond U+FFFF (two escapes in JSON).
    arguments = ["eval", "θ*é*𝜃", "θ=1", "é=2", "𝜃=3", "--json", *steps]
    wanted = run(arguments, PYTHONIOENCODING="utf-8")
    completed = run(arguments, PYTHONIOENCODING=encoding)
    assert (completed.returncode, completed.stderr) == (0, "")
    completed.stdout.encode(encoding)
    assert json.loads(completed.stdout) == json.loads(wanted.stdout)


SAMPLES = Path(__file__).resolve().parent.parent / "samples"
WIDTH_RUNS = [
    ["eval", "x*y", "x=1", "y=2"],
    ["eval", "x*y", "x=1", "y=2", "--steps"],
    ["check", "x*y", "x=1", "y=2"],
    ["graph", "x*y"],
    ["minimize", "x^2", "x=1", "--quiet"],
    [
        "fit",
        "@" + str(SAMPLES / "linear.cg"),
        str(SAMPLES / "linear.csv"),
        "--target",
        "y",
        "--epochs",
        "2",
        "--seed",
        "1",
    ],
]


@functools.cache
def _at_80_columns(arguments: tuple[str, ...]) -> subprocess.CompletedProcess:
    return run(list(arguments), COLUMNS="80")


@pytest.mark.parametrize("columns", ["0", "-5", "nonsense", "99999999999"])
@pytest.mark.parametrize(
    "arguments", WIDTH_RUNS, ids=["eval", "eval --steps", "check", "graph", "minimize", "fit"]
)
def test_a_nonsense_terminal_width_falls_back_to_a_sane_one(arguments, columns):
    wanted = _at_80_columns(tuple(arguments))
    completed = run(arguments, COLUMNS=columns)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout == wanted.stdout and wanted.stdout.count("\n") > 3


@pytest.mark.parametrize("columns", ["1", "20", "50"])
def test_numbers_in_the_table_of_partials_are_never_cut(columns):
    from cgrad.numerals import format_number

    arguments = ["eval", "a*b", "a=1.2345678901234567e-200", "b=-2.000000000000001e-100"]
    document = json.loads(run([*arguments, "--json"]).stdout)
    completed = run([*arguments, "--hessian"], COLUMNS=columns)
    assert (completed.returncode, completed.stderr) == (0, "")
    assert "…" not in completed.stdout
    rows = {line.split()[0]: line.split()[1:] for line in completed.stdout.splitlines() if line}
    for name, value in document["inputs"].items():
        partial = document["gradient"][name]
        assert rows[name] == [format_number(value), format_number(partial)]
    assert completed.stdout == run([*arguments, "--hessian"], COLUMNS="200").stdout


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["eval", "x", "x=1", "--json", "--wrt"], "Option '--wrt' requires an argument."),
        (["eval", "x", "--json=true", "x=1"], "Option '--json' does not take a value."),
        (["diff", "x", "--json", "--order", "abc"], "--order must be a whole number, not 'abc'"),
        (["check", "x", "x=1", "--json", "--random"], "Option '--random' requires an argument."),
        (
            ["fit", "w*x", str(SAMPLES / "linear.csv"), "--target", "y", "--json", "--epochs"],
            "Option '--epochs' requires an argument.",
        ),
    ],
    ids=lambda value: " ".join(value[:1] + value[-2:]) if isinstance(value, list) else "",
)
def test_a_usage_error_of_a_json_run_is_a_json_object_on_stdout(arguments, message):
    completed = run(arguments)
    hint = f"see 'cgrad {arguments[0]} --help'"
    assert completed.returncode == 2
    assert completed.stderr == f"cgrad: error: {message}\nhint: {hint}\n"
    assert completed.stdout.count("\n") == 1
    assert json.loads(completed.stdout) == {
        "error": {
            "type": "usage_error",
            "message": f"{message} (hint: {hint})",
            "line": None,
            "column": None,
        }
    }


def test_a_usage_error_without_json_writes_nothing_on_stdout():
    completed = run(["eval", "x", "x=1", "--wrt"])
    assert (completed.returncode, completed.stdout) == (2, "")


def test_a_usage_error_of_a_json_run_on_a_full_stdout_is_said_once():
    with open("/dev/full", "w") as full:
        completed = run(["eval", "x", "x=1", "--json", "--wrt"], stdout=full)
    assert completed.returncode == 1
    assert completed.stderr == (
        "cgrad: error: Option '--wrt' requires an argument.\n"
        "hint: see 'cgrad eval --help'\n"
        "cgrad: error: cannot write to standard output: No space left on device\n"
    )


ESCAPING = "(x # \x1b[31mRED\x07\x9b\n+1)"


@pytest.mark.parametrize(
    "arguments",
    [
        ["eval", ESCAPING, "x=1"],
        ["eval", ESCAPING, "x=1", "--steps"],
        ["diff", ESCAPING, "--steps"],
        ["graph", ESCAPING],
        ["check", ESCAPING, "x=1"],
        ["minimize", f"{ESCAPING}^2", "x=1", "--quiet"],
    ],
    ids=lambda arguments: " ".join(a for a in arguments if a.startswith("-") or a.isalpha()),
)
@pytest.mark.parametrize("colour", [False, True])
def test_control_characters_of_a_comment_are_shown_not_sent(arguments, colour):
    environment = {"FORCE_COLOR": "1", "TERM": "xterm-256color"} if colour else {}
    completed = run(arguments, **environment)
    assert (completed.returncode, completed.stderr) == (0, "")
    # In the heading, and in the tree's and the steps' node labels (where,
    # as Rich does, a bell is left out; the heading writes it out too).
    assert "x # \\x1b[31mRED" in completed.stdout
    if arguments[0] != "graph":  # (graph prints no heading)
        assert "x # \\x1b[31mRED\\x07\\x9b" in completed.stdout
    assert "\x1b[31m" not in completed.stdout and "\x9b" not in completed.stdout
    assert "\x07" not in completed.stdout
    assert ("\x1b[" in completed.stdout) == colour  # the styles' own codes stay


# The bidirectional controls: an override, an isolate and the marks.
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
BIDI_PROGRAM = f"(x # {BIDI} evil\n+1)"


@pytest.mark.parametrize(
    "arguments",
    [
        ["eval", BIDI_PROGRAM, "x=1"],
        ["eval", BIDI_PROGRAM, "x=1", "--steps"],
        ["diff", BIDI_PROGRAM, "--steps"],
        ["graph", BIDI_PROGRAM],
        ["graph", BIDI_PROGRAM, "--format", "dot"],
        ["graph", BIDI_PROGRAM, "--format", "mermaid"],
        ["check", BIDI_PROGRAM, "x=1"],
        ["minimize", f"{BIDI_PROGRAM}^2", "x=1", "--quiet"],
    ],
    ids=lambda arguments: " ".join(a for a in arguments if a.startswith("-") or a.isalpha()),
)
def test_bidi_controls_of_a_comment_are_shown_not_obeyed(arguments):
    # Trojan Source: an override in a comment would make the code around
    # it read as something else on the terminal.
    completed = run(arguments)
    assert (completed.returncode, completed.stderr) == (0, "")
    written = "".join(f"\\u{ord(char):04x}" for char in BIDI)
    assert written in completed.stdout.replace("\\\\", "\\")
    assert not set(BIDI) & set(completed.stdout)


def test_bidi_controls_of_a_comment_are_shown_not_obeyed_on_a_page(tmp_path):
    page = tmp_path / "page.html"
    completed = run(["eval", BIDI_PROGRAM, "x=1", "--html", str(page)])
    assert (completed.returncode, completed.stderr) == (0, "")
    text = page.read_text(encoding="utf-8")
    assert not set(BIDI) & set(text)
    assert '<span class="comment"># \\u202a\\u202b' in text


@pytest.mark.parametrize(
    ("separator", "written"),
    [("\f", "\\x0c"), ("\v", "\\x0b"), ("\x1c", "\\x1c"), ("\x85", "\\x85"),
     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")],
)  # fmt: skip
@pytest.mark.parametrize("command", ["eval", "diff"])
def test_the_heading_breaks_lines_where_the_parser_does(separator, written, command):
    # splitlines() broke the echoed program at these, which the parser reads
    # as a blank or as comment text: the echo looked like another program.
    program = f"x*y # note{separator}+ 100"
    completed = run([command, program, *(["x=1", "y=2"] if command == "eval" else [])])
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[0] == f"x*y # note{written}+ 100"


@pytest.mark.parametrize("json_output", [False, True])
def test_an_argument_that_is_not_utf8_is_refused_not_carried_to_the_output(json_output):
    # Python hands the byte over as a lone surrogate, which --json wrote out
    # as text no strict JSON reader takes.
    import subprocess
    import sys

    arguments = [b"eval", b"x*y # a\x9bd", b"x=1", b"y=2", *([b"--json"] if json_output else [])]
    completed = subprocess.run(
        [sys.executable.encode(), b"-m", b"cgrad", *arguments], capture_output=True, check=False
    )
    said = "argument 2 is not UTF-8 text: byte 0x9b at character 8"
    assert completed.returncode == 2
    assert completed.stderr.decode() == (
        f"cgrad: error: {said}\nhint: write the program and the values as UTF-8 text\n"
    )
    if json_output:
        assert json.loads(completed.stdout)["error"]["message"].startswith(said)
    else:
        assert completed.stdout == b""
