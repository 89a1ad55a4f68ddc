"""Chunks made one ahead in a thread (batch/read_ahead.py): the same items
in the same order, errors raised where the plain iterator would raise
them, and a stopped consumer stops the thread after a bounded number of
chunks."""

from __future__ import annotations

import io
import itertools
import os
import threading

import pytest

from cgrad.batch.read_ahead import read_ahead


def test_the_items_come_in_order():
    assert list(read_ahead(iter(range(1000)))) == list(range(1000))
    assert list(read_ahead(iter(()))) == []


def test_an_error_is_raised_after_the_items_before_it():
    failure = ValueError("bad block")

    def chunks():
        yield from (1, 2, 3)
        raise failure

    seen = []
    with pytest.raises(ValueError) as raised:
        for item in read_ahead(chunks()):
            seen.append(item)
    assert seen == [1, 2, 3]
    assert raised.value is failure


def test_a_stopped_consumer_stops_the_thread_one_chunk_on():
    made = itertools.count()
    produced = []

    def endless():
        while True:
            produced.append(next(made))
            yield produced[-1]

    before = set(threading.enumerate())
    chunks = read_ahead(endless())
    assert next(chunks) == 0
    (thread,) = [t for t in set(threading.enumerate()) - before if t.name == "cgrad-read-ahead"]
    chunks.close()
    thread.join(timeout=60)  # a guard against a hang, not a speed check
    assert not thread.is_alive()
    # The one used, and the one made while it was used.
    assert len(produced) <= 2


def test_only_files_on_disk_are_read_ahead(tmp_path):
    # A thread blocked on a pipe would hold its lock when a signal ends the
    # command (test_batch_formats' SIGTERM test shows the abort that follows).
    from cgrad.batch.inputs import regular_file

    path = tmp_path / "in.csv"
    path.write_bytes(b"x\n1\n")
    with open(path, "rb") as file:
        assert regular_file(file)
    reading, writing = os.pipe()
    with os.fdopen(reading, "rb") as pipe, os.fdopen(writing, "wb"):
        assert not regular_file(pipe)
    assert not regular_file(io.BytesIO(b"x\n1\n"))
