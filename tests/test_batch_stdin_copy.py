"""Standard input copied to a temporary file (Parquet through a pipe for
``batch``, any data for ``fit``) never fills the file system it is on: an
endless stream is stopped with a clear error, the copy removed, nothing
written; real data through a real pipe still works, and an Arrow IPC
stream is read as it comes, never copied."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cgrad
from cgrad.batch import spooling

# An endless stream that starts like a Parquet file.
ENDLESS_PARQUET = "(printf PAR1; cat /dev/zero)"


@pytest.fixture
def small_tmp(tmp_path, tmpfs):
    """A 16 MB tmpfs to hold the temporary files. Mounting needs root."""
    mount = tmp_path / "small"
    mount.mkdir()
    with tmpfs(mount, "16m"):
        yield mount


def _piped(producer: str, *arguments: str, tmp: os.PathLike) -> subprocess.CompletedProcess:
    """``producer | cgrad ARGUMENTS`` through a real pipe, temporary files in ``tmp``."""
    command = f"{producer} | {sys.executable} -m cgrad " + " ".join(map(_quoted, arguments))
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.run(["sh", "-c", command], capture_output=True, env=env, timeout=300)


def _quoted(argument: str) -> str:
    return "'" + argument.replace("'", "'\\''") + "'"


def _size_and_kept(mount: os.PathLike) -> tuple[int, int]:
    found = os.statvfs(mount)
    size = found.f_blocks * found.f_frsize
    return size, spooling.reserve(size)


def _stopped_message(what: str, hint: str, mount, stderr: str) -> None:
    """The exact message, the byte count aside: the copy stopped short of
    the reserve, with less than a write (1 MiB) more left to go."""
    size, kept = _size_and_kept(mount)
    pattern = (
        re.escape(f"cgrad: error: {what}; the copy was stopped after ")
        + r"(\d[\d,]*)"
        + re.escape(
            f" bytes, before it left less than {kept:,} bytes free on the file system of "
            f"{mount}\nhint: {hint}\n"
        )
    )
    found = re.fullmatch(pattern, stderr)
    assert found, stderr
    written = int(found[1].replace(",", ""))
    assert size - kept - (1 << 20) <= written <= size - kept


def _empty(mount) -> bool:
    found = os.statvfs(mount)
    return not os.listdir(mount) and found.f_bfree == found.f_blocks


def test_endless_parquet_on_stdin_stops_before_the_disk_is_full(small_tmp, tmp_path):
    output = tmp_path / "out.ndjson"
    run = _piped(ENDLESS_PARQUET, "batch", "-", "-e", "x", "-o", str(output), tmp=small_tmp)
    assert run.returncode == 2
    assert run.stdout == b""
    _stopped_message(
        "standard input holds Parquet, which is copied to a temporary file to be read "
        "(its index is at its end)",
        "pass an uncompressed Parquet file by its path: it is read in place, without a copy",
        small_tmp,
        run.stderr.decode(),
    )
    assert _empty(small_tmp)  # the copy is gone
    assert not output.exists() and os.listdir(tmp_path) == ["small"]


def test_fit_gives_the_json_error_object_for_endless_standard_input(small_tmp):
    run = _piped(ENDLESS_PARQUET, "fit", "a*x", "-", "--target", "y", "--json", tmp=small_tmp)
    assert run.returncode == 2
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "file_error"
    assert error["message"].startswith("standard input is copied to a temporary file")
    assert _empty(small_tmp)


@pytest.mark.parametrize("producer", [ENDLESS_PARQUET, "yes 1"])
def test_fit_stops_copying_endless_standard_input(small_tmp, producer):
    # Parquet's bytes, and endless short lines: neither is cut by the line bound.
    run = _piped(producer, "fit", "a*x", "-", "--target", "y", tmp=small_tmp)
    assert run.returncode == 2
    _stopped_message(
        "standard input is copied to a temporary file, to be read more than once",
        "pass the data file by its path: it is read in place, without a copy",
        small_tmp,
        run.stderr.decode(),
    )
    assert _empty(small_tmp)


def _parquet_bytes(rows: int) -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(7)
    columns = {"x": rng.normal(size=rows), "y": rng.normal(size=rows)}
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue(), columns


def test_real_parquet_through_a_pipe_is_read(small_tmp, tmp_path):
    data, columns = _parquet_bytes(5000)
    source = tmp_path / "points.parquet"
    source.write_bytes(data)
    run = _piped(f"cat {source}", "batch", "-e", "x*sin(y)", tmp=small_tmp)
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    expected = cgrad.compile("x*sin(y)").evaluate(columns)
    assert [r["value"] for r in records] == expected.value.tolist()
    assert [r["gradient"]["y"] for r in records] == expected.gradient["y"].tolist()
    assert _empty(small_tmp)


def test_a_piped_parquet_larger_than_the_room_left_is_refused(small_tmp, tmp_path):
    # Real Parquet, but the temporary file system has not the room to copy it.
    data, _ = _parquet_bytes(5000)
    source = tmp_path / "points.parquet"
    source.write_bytes(data)
    _, kept = _size_and_kept(small_tmp)
    free = os.statvfs(small_tmp).f_bavail * os.statvfs(small_tmp).f_frsize
    (small_tmp / "filler").write_bytes(b"\0" * (free - kept - len(data) // 2))
    run = _piped(f"cat {source}", "batch", "-e", "x*sin(y)", tmp=small_tmp)
    assert run.returncode == 2
    assert "the copy was stopped after" in run.stderr.decode()
    assert os.listdir(small_tmp) == ["filler"]


@pytest.mark.parametrize("command", ["batch", "fit"])
def test_a_stopped_copy_counts_the_bytes_it_held(small_tmp, tmp_path, command):
    # Less room than one piece of the copy (1 MiB): the copy fills what
    # there is, and says so, not "after 0 bytes" (nor the 16 read first).
    data, _ = _parquet_bytes(200_000)
    assert len(data) > 3 << 20
    source = tmp_path / "points.parquet"
    source.write_bytes(data)
    _, kept = _size_and_kept(small_tmp)
    free = os.statvfs(small_tmp).f_bavail * os.statvfs(small_tmp).f_frsize
    (small_tmp / "filler").write_bytes(b"\0" * (free - kept - 300_000))
    room = os.statvfs(small_tmp).f_bavail * os.statvfs(small_tmp).f_frsize - kept
    arguments = ["-e", "x*y"] if command == "batch" else ["a*x", "-", "--target", "y"]
    run = _piped(f"cat {source}", command, *arguments, tmp=small_tmp)
    assert run.returncode == 2
    found = re.search(r"the copy was stopped after ([\d,]+) bytes", run.stderr.decode())
    assert found, run.stderr
    # (16 bytes are read first, to tell the format, and held in a buffer)
    assert room <= int(found[1].replace(",", "")) <= room + 16
    assert os.listdir(small_tmp) == ["filler"]


def test_an_arrow_stream_on_stdin_is_not_copied(small_tmp, tmp_path):
    # The temporary file system is full to its reserve: a copy of any size
    # would be refused, so the stream is read as it comes.
    rows = 5000
    columns = {"x": np.arange(rows, dtype=np.float64), "y": np.ones(rows)}
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, pa.schema([("x", pa.float64()), ("y", pa.float64())])) as w:
        w.write_table(pa.table(columns))
    source = tmp_path / "points.arrows"
    source.write_bytes(sink.getvalue())
    _, kept = _size_and_kept(small_tmp)
    free = os.statvfs(small_tmp).f_bavail * os.statvfs(small_tmp).f_frsize
    (small_tmp / "filler").write_bytes(b"\0" * (free - kept))
    run = _piped(f"cat {source}", "batch", "-e", "x*y", "--format", "csv", tmp=small_tmp)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == rows + 1


class _Full:
    """A temporary file whose writes fail as on a full disk (or a quota)."""

    def __init__(self, file) -> None:
        self.file = file

    def fileno(self) -> int:
        return self.file.fileno()

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_finds_the_file_system_full_is_the_same_error(monkeypatch):
    # Filled by another program between the look and the write: no reserve
    # was in the way (none is kept here), the write itself fails.
    monkeypatch.setattr(spooling, "MAX_RESERVE", 0)
    with tempfile.TemporaryFile() as file:
        sink = spooling.BoundedSink(_Full(file), "the input is copied", "pass it by path")
        with pytest.raises(spooling.SpoolError) as raised:
            sink.write(b"abc")
    assert raised.value.render() == (
        "the input is copied; the copy was stopped after 0 bytes, before it left less than "
        f"0 bytes free on the file system of {tempfile.gettempdir()}\nhint: pass it by path"
    )
    assert raised.value.type == "file_error"
