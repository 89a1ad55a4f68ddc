"""Parquet and Arrow output (cgrad.batch.arrow_writers): a write that
fails part way says its error once and keeps the previous output, with no
temporary file; a dictionary that changes by row group is written."""

from __future__ import annotations

import errno
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cgrad.batch import arrow_writers


def _points(tmp_path, rows: int):
    rng = np.random.default_rng(3)
    source = tmp_path / "points.parquet"
    pq.write_table(pa.table({"x": rng.normal(size=rows), "y": rng.normal(size=rows)}), source)
    return source


@pytest.mark.parametrize("failing", [1, 3], ids=["the first group", "the last group"])
def test_a_row_group_that_fails_to_be_written_fails_the_run(cli, tmp_path, monkeypatch, failing):
    source = _points(tmp_path, 2 * arrow_writers.ROW_GROUP_ROWS + 5)
    calls = []
    write_table = pq.ParquetWriter.write_table

    def full_disk(self, table, *args, **kwargs):
        calls.append(table.num_rows)
        if len(calls) == failing:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        write_table(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full_disk)
    target = tmp_path / "out.parquet"
    target.write_bytes(b"the previous output")
    result = cli("batch", str(source), "-e", "x*y", "-o", str(target), "-q")
    assert result.exit_code == 1
    assert result.stderr == "cgrad: error: input/output failed: No space left on device\n"
    assert target.read_bytes() == b"the previous output"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.parquet", "points.parquet"]


def test_a_dictionary_column_that_changes_by_row_group_is_written_to_both_formats(cli, tmp_path):
    # Parquet has a dictionary a row group (pandas categories come back so);
    # an Arrow file holds one a column: there the column is its values.
    source = tmp_path / "categories.parquet"
    kind = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema([("x", pa.float64()), ("colour", kind)])
    with pq.ParquetWriter(source, schema) as parquet:
        for group in range(3):
            names = [f"colour {group}-{i % 4}" for i in range(50)]
            parquet.write_table(pa.table({"x": np.arange(50.0), "colour": pa.array(names, kind)}))
    expected = pq.read_table(source).column("colour").to_pylist()
    for suffix, read, written in (
        ("arrow", lambda path: pa.ipc.open_file(path).read_all(), pa.string()),
        ("parquet", pq.read_table, kind),
    ):
        target = tmp_path / f"out.{suffix}"
        result = cli("batch", str(source), "-e", "x^2", "-o", str(target), "-q")
        assert result.exit_code == 0, result.stderr
        table = read(target)
        assert table.schema.field("colour").type == written
        assert table.column("colour").to_pylist() == expected
