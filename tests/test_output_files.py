"""Files cgrad writes: ``-o`` replaced atomically (whole or not at all, even
when a signal ends the run), with the permissions of the file it replaces;
an output that would overwrite the input is refused."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

# Generous: a loaded machine may take many seconds to start Python.
DEADLINE = 60.0


def _temporary_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.tmp"))


def _start_batch(target: Path, **popen) -> subprocess.Popen:
    """A batch writing ``-o target`` from a pipe the test keeps open, so it
    cannot finish before the test is done with it; its first two records
    are sent, and it answers record by record."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x*y", "--chunk-rows", "1"]
        + ["-o", str(target)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )
    process.stdin.write(b"x,y\n1,2\n3,4\n")
    process.stdin.flush()
    return process


def _first_records_written(directory: Path):
    def written():
        temporary = _temporary_files(directory)
        return temporary if temporary and temporary[0].read_text().count("\n") == 2 else None

    return written


def test_the_target_keeps_its_previous_content_until_the_run_ends(tmp_path, wait_until):
    target = tmp_path / "out.ndjson"
    target.write_text("the previous output, whole\n")
    process = _start_batch(target)
    try:
        [temporary] = wait_until(
            _first_records_written(tmp_path), "the first records", tmp_path, process
        )
        # Written beside the target, under a hidden name; the target untouched.
        assert temporary.name.startswith(".out.ndjson.") and temporary.parent == tmp_path
        assert target.read_text() == "the previous output, whole\n"
        process.stdin.write(b"5,6\n")
    finally:
        process.stdin.close()
    assert process.wait(timeout=DEADLINE) == 0
    rows = [json.loads(line)["value"] for line in target.read_text().splitlines()]
    assert rows == [2.0, 12.0, 30.0]
    assert _temporary_files(tmp_path) == []


SIGNALS = [
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
    signal.SIGXCPU,
]


@pytest.mark.parametrize("previous", [None, "the previous output, whole\n"])
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_leaves_no_temporary_file_and_the_previous_output(
    tmp_path, signum, previous, wait_until
):
    target = tmp_path / "out.ndjson"
    if previous is not None:
        target.write_text(previous)
    process = _start_batch(target)
    try:
        wait_until(_first_records_written(tmp_path), "the first records", tmp_path, process)
        process.send_signal(signum)
        stderr = process.communicate(timeout=DEADLINE)[1]
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    assert stderr == b"\n"
    assert _temporary_files(tmp_path) == []
    if previous is None:
        assert not target.exists()
    else:
        assert target.read_text() == previous


# ---------------------------------------------------------------------------
# Permissions


def test_a_replaced_file_keeps_its_permissions(cli, tmp_path):
    target = tmp_path / "private.ndjson"
    target.write_text("old\n")
    target.chmod(0o600)
    result = cli("batch", "-e", "x", "-o", str(target), input="x\n1\n")
    assert result.exit_code == 0
    assert target.read_text().startswith('{"row": 1')
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o640)
    assert cli("batch", "-e", "x", "-o", str(target), input="x\n1\n").exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_file_gets_the_umask(cli, tmp_path):
    target = tmp_path / "new.ndjson"
    old = os.umask(0o027)
    try:
        assert cli("batch", "-e", "x", "-o", str(target), input="x\n1\n").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_through_a_link_the_file_it_points_to_keeps_its_permissions(cli, tmp_path):
    target = tmp_path / "private.ndjson"
    target.write_text("old\n")
    target.chmod(0o600)
    link = tmp_path / "link.ndjson"
    link.symlink_to(target)
    assert cli("batch", "-e", "x", "-o", str(link), input="x\n1\n").exit_code == 0
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


# ---------------------------------------------------------------------------
# An output that is the input


@pytest.mark.parametrize("json_output", [False, True])
def test_a_trace_that_would_overwrite_the_program_is_refused(cli, tmp_path, json_output):
    program = tmp_path / "prog.cg"
    program.write_text("(x-3)^2\n")
    link = tmp_path / "link.cg"
    link.symlink_to(program)
    for trace in (program, link):
        arguments = ["minimize", f"@{program}", "x=0", "--quiet", "--trace", str(trace)]
        result = cli(*arguments, *(["--json"] if json_output else []))
        assert result.exit_code == 2
        message = f"--trace {trace} would replace the program"
        assert result.stderr == (f"cgrad: error: {message}\nhint: write to another file\n")
        if json_output:
            assert json.loads(result.stdout) == {
                "error": {
                    "type": "file_error",
                    "message": f"{message} (hint: write to another file)",
                    "line": None,
                    "column": None,
                }
            }
        assert program.read_text() == "(x-3)^2\n"


def test_a_trace_beside_the_program_is_written(cli, tmp_path):
    program = tmp_path / "prog.cg"
    program.write_text("(x-3)^2\n")
    trace = tmp_path / "steps.ndjson"
    result = cli("minimize", f"@{program}", "x=0", "--quiet", "--trace", str(trace))
    assert result.exit_code == 0
    assert json.loads(trace.read_text().splitlines()[0])["step"] == 0


def test_batch_output_that_is_the_input_is_refused_by_any_path(cli, tmp_path):
    source = tmp_path / "points.csv"
    source.write_text("x\n1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    result = cli("batch", str(source), "-e", "x", "-o", str(link))
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: -o {link} would replace the input while it is read\n"
        "hint: write to another file, then rename it\n"
    )
    assert source.read_text() == "x\n1\n"


def _ignore_hangups() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_a_hangup_ignored_by_the_parent_stays_ignored(tmp_path, wait_until):
    # As under nohup: the run goes on, and its output is whole.
    target = tmp_path / "out.ndjson"
    process = _start_batch(target, preexec_fn=_ignore_hangups)
    try:
        wait_until(_first_records_written(tmp_path), "the first records", tmp_path, process)
        process.send_signal(signal.SIGHUP)
        process.stdin.write(b"5,6\n")
    finally:
        process.stdin.close()
    assert process.wait(timeout=DEADLINE) == 0
    assert process.stderr.read() == b""
    assert [json.loads(line)["value"] for line in target.read_text().splitlines()] == [
        2.0,
        12.0,
        30.0,
    ]


def test_batch_output_that_is_the_program_is_refused(cli, tmp_path):
    program = tmp_path / "prog.cg"
    program.write_text("x^2\n")
    result = cli("batch", "--program", str(program), "-o", str(program), input="x\n1\n")
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: -o {program} would replace the program\nhint: write to another file\n"
    )
    assert program.read_text() == "x^2\n"


def test_a_write_that_fails_leaves_the_previous_output_and_no_temporary_file(
    cli, tmp_path, monkeypatch
):
    import errno

    from cgrad.cli import files

    target = tmp_path / "out.ndjson"
    target.write_text("the previous output, whole\n")

    def full_disk(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full_disk)
    result = cli("batch", "-e", "x", "-o", str(target), input="x\n1\n")
    assert result.exit_code == 1
    assert result.stderr == (
        f"cgrad: error: input/output failed on -o {target}: No space left on device\n"
    )
    assert target.read_text() == "the previous output, whole\n"
    assert _temporary_files(tmp_path) == []


LINEAR = Path(__file__).resolve().parents[1] / "samples" / "linear.csv"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("full", ["-o", "--trace"])
def test_a_full_output_of_fit_is_named_among_its_outputs(cli, tmp_path, full):
    other = {"-o": "--trace", "--trace": "-o"}[full]
    result = cli("fit", "w*x1 + b", str(LINEAR), "--target", "y", "--epochs", "2", "-q",
                 full, "/dev/full", other, str(tmp_path / "other"), "--json")  # fmt: skip
    assert result.exit_code == 1
    said = f"input/output failed on {full} /dev/full: No space left on device"
    assert result.stderr.endswith(f"cgrad: error: {said}\n")
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "error": {"type": "file_error", "message": said, "line": None, "column": None}
    }


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_a_full_output_of_batch_is_named_whatever_writes_it(cli, form):
    # Parquet is written by pyarrow, through the file cgrad opened.
    result = cli("batch", "-e", "x", "-q", "--format", form, "-o", "/dev/full", input="x\n1\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "cgrad: error: input/output failed on -o /dev/full: No space left on device\n"
    )


def test_a_minimize_trace_that_fails_names_it(cli):
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    result = cli("minimize", "x^2", "x=1", "--steps", "2", "-q", "--trace", "/dev/full")
    assert result.exit_code == 1
    assert result.stderr == (
        "cgrad: error: input/output failed on --trace /dev/full: No space left on device\n"
    )


def test_an_input_whose_name_is_too_long_for_a_path_is_named_bounded(cli):
    name = "a" * 100_000 + ".csv"
    result = cli("batch", name, "-e", "x")
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: cannot read {'a' * 120}…{'a' * 36}.csv (100,004 characters): "
        "File name too long\n"
    )
