"""Blocks' text made ahead of the writes by two threads
(cgrad.batch.format_ahead), and Parquet/Arrow row groups written behind
the reads (cgrad.batch.arrow_writers): the same bytes, in the same order,
and errors at their turn."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cgrad.batch import arrow_writers, format_ahead, writers
from cgrad.batch.blocks import ColumnBlock
from cgrad.cli import batch_files


def _block(first_row: int) -> ColumnBlock:
    return ColumnBlock.__new__(ColumnBlock)  # (only its type matters here)


def test_texts_come_back_in_order_made_in_other_threads_and_records_get_none():
    made_in: list[str] = []

    def text_of(chunk):
        made_in.append(threading.current_thread().name)
        return f"text of {id(chunk)}"

    chunks = [_block(row) for row in range(9)]
    chunks.insert(4, ["a list of records"])
    seen = []
    for chunk, text in format_ahead.formatted_ahead(iter(chunks), text_of):
        seen.append(chunk)
        if isinstance(chunk, list):
            assert text is None
        else:
            assert text is not None and text.result() == f"text of {id(chunk)}"
    assert seen == chunks
    assert len(made_in) == 9 and all(name.startswith("cgrad-format") for name in made_in)


def test_a_failed_read_comes_after_every_chunk_read_before_it():
    def chunks():
        yield from (_block(row) for row in range(6))
        raise OSError("the stream broke")

    seen = []
    with pytest.raises(OSError, match="the stream broke"):
        for chunk, text in format_ahead.formatted_ahead(chunks(), lambda chunk: id(chunk)):
            seen.append(text.result() == id(chunk))
    assert seen == [True] * 6


def test_a_text_that_fails_fails_at_its_turn():
    def text_of(chunk):
        if chunk is failing:
            raise ValueError("cannot write this one")
        return "fine"

    chunks = [_block(row) for row in range(5)]
    failing = chunks[3]
    texts = format_ahead.formatted_ahead(iter(chunks), text_of)
    assert [next(texts)[1].result() for _ in range(3)] == ["fine"] * 3
    with pytest.raises(ValueError, match="cannot write this one"):
        next(texts)[1].result()


@pytest.mark.parametrize("form", ["csv", "tsv", "ndjson", "json"])
def test_a_file_written_with_texts_made_ahead_is_as_from_stdin(cli, tmp_path, monkeypatch, form):
    # Standard input is read without making texts ahead, a regular file
    # with: the same bytes, from several blocks, some with warnings.
    rng = np.random.default_rng(7)
    rows = [f"{x!r},{y!r}" for x, y in rng.normal(size=(20_000, 2)).tolist()]
    rows[5_000] = "-1.5,0.0"  # log of a negative number: a warned row
    source = tmp_path / "points.csv"
    source.write_text("x,y\n" + "\n".join(rows) + "\n")
    made_in: list[str] = []
    for kind in writers.TEXT_WRITERS:
        original = kind.text

        def spying(self, chunk, original=original):
            made_in.append(threading.current_thread().name)
            return original(self, chunk)

        monkeypatch.setattr(kind, "text", spying)
    monkeypatch.setattr(batch_files, "can_format_ahead", lambda: True)  # (on one core too)
    options = ["-e", "log(x)*y + sin(x)", "--format", form, "--chunk-rows", "1024"]
    from_file = cli("batch", str(source), *options)
    made_ahead = sum(name.startswith("cgrad-format") for name in made_in)
    from_stdin = cli("batch", *options, input=source.read_text())
    assert made_ahead > 1 and not any(n.startswith("cgrad-format") for n in made_in[made_ahead:])
    assert from_file.exit_code == from_stdin.exit_code == 0
    assert from_file.stdout == from_stdin.stdout
    assert from_file.stderr == from_stdin.stderr
    if form == "ndjson":
        assert len([json.loads(line) for line in from_file.stdout.splitlines()]) == 20_000


def _points(tmp_path, rows: int):
    rng = np.random.default_rng(3)
    source = tmp_path / "points.parquet"
    pq.write_table(pa.table({"x": rng.normal(size=rows), "y": rng.normal(size=rows)}), source)
    return source


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_row_groups_are_written_behind_in_a_thread_of_their_own(cli, tmp_path, monkeypatch, suffix):
    written_in: list[str] = []
    write_table = arrow_writers._write_table

    def spying(sink, table):
        written_in.append(threading.current_thread().name)
        write_table(sink, table)

    monkeypatch.setattr(arrow_writers, "_write_table", spying)
    rows = 2 * arrow_writers.ROW_GROUP_ROWS + 5
    target = tmp_path / f"out.{suffix}"
    result = cli("batch", str(_points(tmp_path, rows)), "-e", "x*y", "-o", str(target), "-q")
    assert result.exit_code == 0, result.stderr
    assert len(written_in) == 3 and all(name.startswith("cgrad-write") for name in written_in)
    read = pq.read_table if suffix == "parquet" else lambda path: pa.ipc.open_file(path).read_all()
    table = read(target)
    assert table.column("row").to_pylist() == list(range(1, rows + 1))
    x, y = (table.column(name).to_numpy() for name in "xy")
    assert np.array_equal(table.column("value").to_numpy(), x * y)


@pytest.mark.parametrize("failing", [1, 3], ids=["a group written behind", "the last group"])
def test_a_row_group_that_fails_to_be_written_fails_the_run(cli, tmp_path, monkeypatch, failing):
    calls = []
    write_table = arrow_writers._write_table

    def full_disk(sink, table):
        calls.append(table.num_rows)
        if len(calls) == failing:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_table(sink, table)

    monkeypatch.setattr(arrow_writers, "_write_table", full_disk)
    target = tmp_path / "out.parquet"
    target.write_bytes(b"the previous output")
    source = _points(tmp_path, 2 * arrow_writers.ROW_GROUP_ROWS + 5)
    result = cli("batch", str(source), "-e", "x*y", "-o", str(target), "-q")
    assert result.exit_code == 1
    assert result.stderr == "cgrad: error: input/output failed: No space left on device\n"
    assert target.read_bytes() == b"the previous output"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.parquet", "points.parquet"]


def test_a_run_stopped_after_a_row_group_was_written_says_nothing_more(tmp_path, wait_until):
    # Parquet's writer, left open, would close itself when collected, into
    # the temporary file removed by then, and print that error on stderr.
    target = tmp_path / "out.parquet"
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x*y", "-o", str(target)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write(b"x,y\n" + b"1,2\n" * (arrow_writers.ROW_GROUP_ROWS + 10))
        process.stdin.flush()

        def a_group_written():
            return [path for path in tmp_path.glob(".*.tmp") if path.stat().st_size > 100_000]

        wait_until(a_group_written, "a row group written", tmp_path, process)
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate(timeout=60)[1]
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert stderr == b"\n"
    assert list(tmp_path.iterdir()) == []
