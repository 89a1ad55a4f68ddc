"""Every command that writes files checks them, before any work, against
each file it reads (the program, the data, the validation data, the
--params file) and against each other, by any path, links included; and
``fit``'s standard input is read as every command reads it (closed, shared
with ``@-``, one unending line)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

FIT = ["fit", "@{tmp}/linear.cg", "{tmp}/linear.csv", "--target", "y", "--epochs", "1", "-q"]
HINT = "hint: write to another file\n"
SAME = "are the same file: one would replace the other\nhint: give each its own file\n"

# (the command line, stderr); {tmp} is the test's folder, which holds
# linear.cg, linear.csv, val.csv (a copy), p.json (fit -o's) and links.
REFUSED = [
    (FIT + ["--html", "{tmp}/linear.csv"],
     "--html {tmp}/linear.csv would replace the data\n" + HINT),
    (FIT + ["-o", "{tmp}/linear.cg"], "-o {tmp}/linear.cg would replace the program\n" + HINT),
    (FIT + ["--trace", "{tmp}/linear.cg"],
     "--trace {tmp}/linear.cg would replace the program\n" + HINT),
    (FIT + ["--html", "{tmp}/link.cg"], "--html {tmp}/link.cg would replace the program\n" + HINT),
    (FIT + ["--validation", "{tmp}/val.csv", "-o", "{tmp}/val.csv"],
     "-o {tmp}/val.csv would replace the validation data\n" + HINT),
    (FIT + ["--validation", "{tmp}/val.csv", "--trace", "{tmp}/val.csv"],
     "--trace {tmp}/val.csv would replace the validation data\n" + HINT),
    (FIT + ["--validation", "{tmp}/val.csv", "--html", "{tmp}/val.csv"],
     "--html {tmp}/val.csv would replace the validation data\n" + HINT),
    (FIT + ["-o", "{tmp}/new.json", "--html", "{tmp}/new.json"],
     "cgrad: error: -o {tmp}/new.json and --html {tmp}/new.json " + SAME),
    (FIT + ["-o", "{tmp}/new.json", "--trace", "{tmp}/./new.json"],
     "cgrad: error: -o {tmp}/new.json and --trace {tmp}/new.json " + SAME),
    (FIT + ["-o", "{tmp}/p.json", "--trace", "{tmp}/hard.json"],
     "cgrad: error: -o {tmp}/p.json and --trace {tmp}/hard.json " + SAME),
    (["minimize", "x^2", "x=1", "-q", "--trace", "{tmp}/t", "--html", "{tmp}/t"],
     "cgrad: error: --trace {tmp}/t and --html {tmp}/t " + SAME),
    (["minimize", "x^2", "x=1", "-q", "--trace", "{tmp}/p.json", "--html", "{tmp}/soft.json"],
     "cgrad: error: --trace {tmp}/p.json and --html {tmp}/soft.json " + SAME),
    (["batch", "{tmp}/linear.csv", "-e", "@{tmp}/linear.cg", "--params", "{tmp}/p.json",
      "-o", "{tmp}/p.json"], "-o {tmp}/p.json would replace the --params file\n" + HINT),
    (["batch", "{tmp}/linear.csv", "-e", "@{tmp}/linear.cg", "--params", "{tmp}/soft.json",
      "-o", "{tmp}/p.json"], "-o {tmp}/p.json would replace the --params file\n" + HINT),
    (["eval", "@{tmp}/linear.cg", "x1=1", "x2=1", "w1=1", "w2=1", "b=1",
      "--html", "{tmp}/link.cg"], "--html {tmp}/link.cg would replace the program\n" + HINT),
    (["graph", "@{tmp}/linear.cg", "--format", "html", "-o", "{tmp}/link.cg"],
     "-o {tmp}/link.cg would replace the program\n" + HINT),
]  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The files of :data:`REFUSED`."""
    for name in ("linear.cg", "linear.csv"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    shutil.copy(SAMPLES / "linear.csv", tmp_path / "val.csv")
    (tmp_path / "p.json").write_text('{"w1": 1, "w2": 2, "b": 3}\n')
    (tmp_path / "link.cg").symlink_to(tmp_path / "linear.cg")
    (tmp_path / "soft.json").symlink_to(tmp_path / "p.json")
    os.link(tmp_path / "p.json", tmp_path / "hard.json")
    return tmp_path


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    ("arguments", "says"), REFUSED, ids=[" ".join(a[:1] + a[8:]) for a, _ in REFUSED]
)
def test_an_output_over_an_input_or_another_output_is_refused(cli, folder, arguments, says):
    before = _contents(folder)
    result = cli(*(argument.replace("{tmp}", str(folder)) for argument in arguments))
    says = says.replace("{tmp}", str(folder))
    assert result.exit_code == 2, result.output
    assert result.stderr == (says if says.startswith("cgrad: ") else f"cgrad: error: {says}")
    assert _contents(folder) == before  # nothing replaced, nothing new


def test_fit_parameters_need_a_file_not_stdout(cli, folder, monkeypatch):
    # stdout has the summary; this wrote a file named "-".
    monkeypatch.chdir(folder)
    result = cli(*(argument.replace("{tmp}", str(folder)) for argument in FIT), "-o", "-")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: -o needs a file: stdout has the summary\nhint: write -o params.json\n"
    )
    assert not (folder / "-").exists()


def test_two_outputs_on_one_device_are_no_clash(cli, folder):
    # /dev/null is written to, never replaced: nothing to protect.
    result = cli(
        "minimize", "x^2", "x=1", "-q", "--json", "--trace", "/dev/null", "--html", "/dev/null"
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "arguments",
    [
        FIT[:-1] + ["--trace", ""],
        FIT[:-1] + ["--html", ""],
        FIT[:-1] + ["-o", ""],
        ["minimize", "x^2", "x=1", "--trace", ""],
        ["minimize", "x^2", "x=1", "--html", ""],
        ["eval", "x", "x=1", "--html", ""],
        ["graph", "x", "--format", "html", "-o", ""],
        ["batch", "{tmp}/linear.csv", "-e", "x1", "-o", ""],
        # and the options that name a file to read
        FIT[:-1] + ["--validation", ""],
        ["batch", "{tmp}/linear.csv", "-e", "x1", "--params", ""],
    ],
    ids=lambda arguments: f"{arguments[0]} {arguments[-2]}",
)
def test_an_empty_file_name_is_asked_for_a_name(cli, folder, arguments):
    result = cli(*(argument.replace("{tmp}", str(folder)) for argument in arguments))
    option = arguments[-2]
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: {option} '' names no file\nhint: give a file name: {option} FILE\n"
    )


# ---------------------------------------------------------------------------
# fit's standard input


def _close_stdin() -> None:
    os.close(0)


def test_fit_with_a_closed_stdin_says_so(folder):
    # Started with fd 0 closed, sys.stdin is None: this was exit 70.
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "fit", f"@{folder}/linear.cg", "-", "--target", "y"],
        capture_output=True,
        preexec_fn=_close_stdin,
        text=True,
        timeout=60,
    )
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == "cgrad: error: cannot read standard input: it is closed\n"


def test_fit_refuses_the_model_and_the_data_both_from_stdin(cli):
    result = cli("fit", "@-", "-", "--target", "y", input="x\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: MODEL @- and DATA - would both be read from standard input\n"
        "hint: give the data as a file, or the model with @FILE\n"
    )


# cgrad with the readers' limits made small: the copy of stdin is bounded
# by them, so one unending line stops as it does in a file.
_SMALL_LIMITS = (
    "import cgrad.batch.delimited as limits; limits.MAX_LINE = 1 << 16; "
    "limits.MAX_SKIP = 1 << 20; from cgrad.cli import main; main()"
)


def _zeros(compressed: bool):
    """/dev/zero in pieces, ending after 512 MiB (a copy without a bound
    takes it all), gzip-compressed as it goes if ``compressed``."""
    import zlib

    gzip = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: with gzip's header
    piece = bytes(1 << 16)
    for _ in range((512 << 20) // len(piece)):
        yield gzip.compress(piece) if compressed else piece
    if compressed:
        yield gzip.flush()


@pytest.mark.parametrize("compressed", [False, True], ids=["text", "gzip"])
def test_fit_stops_copying_stdin_at_a_line_the_readers_refuse(folder, tmp_path, compressed):
    stderr = tmp_path / "stderr"
    given = 0  # bytes written to cgrad's stdin
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", _SMALL_LIMITS, "fit", f"@{folder}/linear.cg", "-"]
            + ["--target", "y"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        # A broken pipe is an error here, not the end of the test run (an
        # in-process command before may have left SIGPIPE at its default).
        broken = signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        try:
            for piece in _zeros(compressed):
                process.stdin.write(piece)
                given += len(piece)
            process.stdin.close()
        except BrokenPipeError:
            pass  # cgrad stopped reading and ended
        finally:
            signal.signal(signal.SIGPIPE, broken)
        assert process.wait(timeout=120) == 2
    assert stderr.read_text() == (
        "cgrad: error: cannot read the header: no end in the first 1 MiB of the line; "
        "the rest of the input was not read\n"
    )
    # Taken: the limit and a few reads of a MiB, and the pipe's buffer; far
    # from all of it (2.3 MiB compressed).
    assert given <= (1 << 20 if compressed else 8 << 20), given


@pytest.fixture
def read_only(tmp_path_factory, tmpfs):
    """A read-only folder (a tmpfs mounted so; mounting needs root: as
    root, a folder's permissions would not stop a write)."""
    mount = tmp_path_factory.mktemp("read-only")
    with tmpfs(mount, "1m,ro"):
        yield mount


UNWRITABLE = [
    (FIT + ["-o", "{ro}/p.json"], "{ro}/p.json"),
    (FIT + ["--html", "{ro}/p.html"], "{ro}/p.html"),
    (FIT + ["--trace", "{ro}/t.ndjson"], "{ro}/t.ndjson"),
    # The probe of a folder that can be written leaves nothing there.
    (FIT + ["-o", "{tmp}/new.json", "--html", "{ro}/p.html"], "{ro}/p.html"),
    (["minimize", "x^2", "x=1", "-q", "--trace", "{ro}/t.ndjson"], "{ro}/t.ndjson"),
    (["minimize", "x^2", "x=1", "-q", "--html", "{ro}/p.html"], "{ro}/p.html"),
    (["eval", "x^2", "x=1", "--html", "{ro}/p.html"], "{ro}/p.html"),
    (["graph", "x^2", "--format", "html", "-o", "{ro}/p.html"], "{ro}/p.html"),
]


@pytest.mark.parametrize(
    ("arguments", "path"), UNWRITABLE, ids=[" ".join(a[:1] + a[-2:]) for a, _ in UNWRITABLE]
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    cli, folder, read_only, arguments, path
):
    # fit trained and printed its summary, then could not write -o.
    before = _contents(folder)
    named = {"{tmp}": str(folder), "{ro}": str(read_only)}
    for mark, value in named.items():
        arguments = [argument.replace(mark, value) for argument in arguments]
        path = path.replace(mark, value)
    result = cli(*arguments)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"cgrad: error: cannot write {path}: Read-only file system\n"
    assert _contents(folder) == before
    assert not list(read_only.iterdir())


def _stdout_to(target, arguments: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        stdout=target,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        timeout=120,
    )


STDOUT_OUTPUTS = [
    (FIT + ["--html", "{out}"], "--html", "the summary"),
    (FIT + ["-o", "{out}"], "-o", "the summary"),
    (FIT + ["--trace", "{out}"], "--trace", "the summary"),
    (["minimize", "x^2", "x=1", "-q", "--html", "{out}"], "--html", "the summary"),
    (["minimize", "x^2", "x=1", "-q", "--trace", "{out}"], "--trace", "the summary"),
    (["eval", "x^2", "x=1", "--html", "{out}"], "--html", "the report"),
]


@pytest.mark.parametrize("way", ["/dev/stdout", "the file itself", "a pipe"])
@pytest.mark.parametrize(
    ("arguments", "option", "has"),
    STDOUT_OUTPUTS,
    ids=[" ".join(a[:1] + a[-2:-1]) for a, _, _ in STDOUT_OUTPUTS],
)
def test_an_output_that_is_stdout_is_refused(folder, arguments, option, has, way):
    # The page ran into the summary on stdout, as eval --html - would.
    report = folder / "report.txt"
    name = str(report) if way == "the file itself" else "/dev/stdout"
    arguments = [a.replace("{tmp}", str(folder)).replace("{out}", name) for a in arguments]
    if way == "a pipe":
        completed = _stdout_to(subprocess.PIPE, arguments)
        written = completed.stdout
    else:
        with open(report, "w") as target:
            completed = _stdout_to(target, arguments)
        written = report.read_text()
    assert (completed.returncode, written) == (2, "")
    assert completed.stderr == (
        f"cgrad: error: {option} {name} is standard output, which has {has}\n"
        f"hint: give {option} a file of its own\n"
    )


def test_an_output_to_dev_null_with_stdout_there_too_is_no_clash(folder):
    with open(os.devnull, "w") as null:
        completed = _stdout_to(null, ["eval", "x^2", "x=1", "--html", os.devnull])
    assert (completed.returncode, completed.stderr) == (0, "")
