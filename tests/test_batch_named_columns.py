"""cgrad.batch.named_columns: a file's named columns read by batch's own
readers with no expression, every format batch reads, bad rows worded as
``cgrad batch`` words them (checked against its own output)."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import cgrad
from cgrad.batch.bindings import Bindings
from cgrad.batch.named_columns import file_header, named_columns
from cgrad.errors import UsageError


def columns(rows: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    return {"x": rng.standard_normal(rows), "y value": rng.standard_normal(rows)}


def write(path, data: dict[str, np.ndarray]) -> None:
    names = list(data)
    rows = list(zip(*(c.tolist() for c in data.values()), strict=True))
    name = path.name.removesuffix(".gz")
    if name.endswith((".csv", ".tsv")):
        sep = "," if name.endswith(".csv") else "\t"
        text = "\n".join([sep.join(names), *(sep.join(map(repr, row)) for row in rows)]) + "\n"
    elif name.endswith(".ndjson"):
        text = "".join(json.dumps(dict(zip(names, row, strict=True))) + "\n" for row in rows)
    elif name.endswith(".json"):
        text = json.dumps([dict(zip(names, row, strict=True)) for row in rows])
    else:
        table = pa.table(data)
        (pq.write_table if name.endswith(".parquet") else feather.write_feather)(table, path)
        return
    path.write_bytes(gzip.compress(text.encode()) if path.name.endswith(".gz") else text.encode())


@pytest.mark.parametrize(
    "name", ["d.csv", "d.tsv", "d.ndjson", "d.json", "d.parquet", "d.arrow", "d.csv.gz"]
)
@pytest.mark.parametrize("rows", [7, 70_000])
def test_every_format_batch_reads_gives_its_columns(tmp_path, name, rows):
    data = columns(rows)
    path = tmp_path / name
    write(path, data)
    assert file_header(path) == ["x", "y value"]
    chunks = list(named_columns(path, ["y value", "x"], chunk_rows=50_000))
    assert all(list(chunk.columns) == ["y value", "x"] for chunk in chunks)
    for name_ in data:
        np.testing.assert_array_equal(
            np.concatenate([chunk.columns[name_] for chunk in chunks]), data[name_]
        )
    np.testing.assert_array_equal(np.concatenate([c.rows for c in chunks]), np.arange(1, rows + 1))
    assert [error for chunk in chunks for error in chunk.errors] == []


def test_no_expression_is_evaluated(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    write(path, columns(10_000))

    def refused(*arguments, **options):
        raise AssertionError("an expression was evaluated")

    monkeypatch.setattr(cgrad.Function, "evaluate", refused)
    chunks = list(named_columns(path, ["x"], chunk_rows=10_000))
    assert sum(len(chunk.columns["x"]) for chunk in chunks) == 10_000


@pytest.mark.parametrize("rows", [6, 30_000])
def test_bad_rows_are_worded_as_cgrad_batch_words_them(cli, tmp_path, rows):
    lines = ["x,y"] + [f"{k},{k / 2}" for k in range(rows)]
    lines[3] = "2,abc"
    lines[5] = "4,"
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    batch = cli("batch", str(path), "-e", "min(x, y)", "--format", "ndjson")
    expected = [
        (line["row"], line["error"]["type"], line["error"]["message"])
        for line in map(json.loads, batch.stdout.splitlines())
        if "error" in line
    ]
    assert len(expected) == 2
    chunks = list(named_columns(path, ["x", "y"], chunk_rows=8192))
    assert [error for chunk in chunks for error in chunk.errors] == expected
    good = np.concatenate([chunk.rows for chunk in chunks])
    assert len(good) == rows - 2 and not {3, 5} & set(good.tolist())
    y = np.concatenate([chunk.columns["y"] for chunk in chunks])
    np.testing.assert_array_equal(y, (good - 1) / 2)


def test_a_column_bound_to_a_name_is_worded_as_batch_column_words_it(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y value\n1,2\n2,abc\n")
    batch = cli("batch", str(path), "-e", "min(x, t)", "--column", "t=y value", "--format",
                "ndjson")  # fmt: skip
    (expected,) = [json.loads(line)["error"] for line in batch.stdout.splitlines()[1:]]
    bindings = Bindings(columns={"t": "y value"})
    (chunk,) = named_columns(path, ["x", "t"], bindings=bindings)
    assert chunk.errors == [(2, expected["type"], expected["message"])]
    assert chunk.columns == {"x": pytest.approx([1.0]), "t": pytest.approx([2.0])}


def test_a_file_that_cannot_be_opened_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as error:
        list(named_columns(tmp_path / "missing.csv", ["x"]))
    assert (
        error.value.message == f"cannot read {tmp_path / 'missing.csv'}: No such file or directory"
    )
