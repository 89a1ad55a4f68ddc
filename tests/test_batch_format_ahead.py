"""Blocks' text made ahead of the writes by two threads
(cgrad.batch.format_ahead): the same bytes, in the same order, and errors
at their turn."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from cgrad.batch import format_ahead, writers
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
