"""The command line of ``cgrad batch`` (values, ``--column``, ``--hessian``),
its per-row warnings and its partitioned runs, on Arrow's readers and
writers: CSV read by Arrow's CSV reader, Parquet and Arrow files, Parquet
written. Each gives what the record reader gives (``--chunk-rows 1``, or
the same records as NDJSON), read back with pyarrow and pandas."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

READINGS = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e"],
        "temp C": [12.5, -4.0, 0.0, 3.25, -0.5],
        "hours": [3.0, 5.0, 2.0, 0.0, 1.5],
        "t": ["carried", "too", "x", "y", "z"],  # named like an input, read from "temp C"
    }
)
MAPPED = ("-e", "k*t*h", "k=0.5", "--column", "t=temp C", "--column", "h=hours")


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def _parquet(frame: pd.DataFrame, path: Path, group: int = 2) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=group)
    return path


def _ndjson(frame: pd.DataFrame) -> str:
    return "".join(json.dumps(record) + "\n" for record in frame.to_dict("records"))


def _records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_columns_and_values_are_read_from_their_columns_by_arrows_csv_reader(cli):
    # --chunk-rows 1 is the record reader; the default, Arrow's.
    runs = [
        cli("batch", *MAPPED, "--format", "csv", "--chunk-rows", size, input=_csv(READINGS))
        for size in ("1", "4096")
    ]
    assert [run.exit_code for run in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
    table = pd.read_csv(io.StringIO(runs[1].stdout))
    assert list(table.columns) == [
        "row", "id", "k", "t", "h", "extra_t", "value", "grad_k", "grad_t", "grad_h",
        "error", "warnings",
    ]  # fmt: skip
    assert table["t"].tolist() == READINGS["temp C"].tolist()
    assert table["extra_t"].tolist() == READINGS["t"].tolist()
    expected = 0.5 * READINGS["temp C"] * READINGS["hours"]
    assert table["value"].tolist() == expected.tolist()
    assert table["grad_k"].tolist() == (READINGS["temp C"] * READINGS["hours"]).tolist()


def test_an_input_read_from_the_id_column_keeps_the_ids_text(cli):
    text = "id,y\n1,5\n2.50,6\n"
    runs = [
        cli("batch", "-e", "x*y", "--column", "x=id", "--chunk-rows", size, input=text)
        for size in ("1", "4096")
    ]
    assert [run.exit_code for run in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout
    assert [record["id"] for record in _records(runs[1].stdout)] == ["1", "2.50"]
    assert [record["value"] for record in _records(runs[1].stdout)] == [5.0, 15.0]


def test_columns_and_values_from_parquet_are_what_the_records_give(cli, tmp_path):
    source = _parquet(READINGS, tmp_path / "readings.parquet")
    from_parquet = cli("batch", str(source), *MAPPED)
    from_records = cli("batch", *MAPPED, "--chunk-rows", "1", input=_ndjson(READINGS))
    assert from_parquet.exit_code == from_records.exit_code == 0
    assert _records(from_parquet.stdout) == _records(from_records.stdout)
    assert _records(from_parquet.stdout)[0] == {
        "row": 1, "id": "a", "inputs": {"k": 0.5, "t": 12.5, "h": 3.0}, "value": 18.75,
        "gradient": {"k": 37.5, "t": 1.5, "h": 6.25}, "extra": {"t": "carried"},
    }  # fmt: skip


def test_parquet_rows_get_their_own_warnings_in_every_batch_size(cli, tmp_path):
    xs = [1.0, -2.0, 0.0, 4.0, -0.5, 3.0, -8.0, 2.0, 0.25]
    frame = pd.DataFrame({"x": xs, "y": [2.0] * len(xs)})
    source = _parquet(frame, tmp_path / "points.parquet", group=4)
    expression = ("-e", "log(x)*y + abs(x)")
    records = cli("batch", *expression, "--chunk-rows", "1", input=_ndjson(frame))
    assert records.exit_code == 0
    assert "is NaN" in records.stdout and "is at a kink" in records.stdout
    for size in ("1", "3", "4096"):
        run = cli("batch", str(source), *expression, "--chunk-rows", size)
        assert run.exit_code == 0
        assert (run.stdout, run.stderr) == (records.stdout, records.stderr)


def test_warnings_in_parquet_output_are_each_rows_own(cli, tmp_path):
    source = _parquet(pd.DataFrame({"x": [1.0, -2.0, 4.0]}), tmp_path / "points.parquet")
    target = tmp_path / "out.parquet"
    run = cli("batch", str(source), "-e", "log(x)", "-o", str(target))
    assert run.exit_code == 0
    written = pq.read_table(target).to_pydict()
    assert written["warnings"][0] is None and written["warnings"][2] is None
    assert "log(-2) = NaN" in written["warnings"][1]
    assert run.stderr == "cgrad: warning: `log(x)` (node @1, line 1, column 1) is NaN at row 2\n"


def test_hessian_from_parquet_to_parquet(cli, tmp_path):
    frame = pd.DataFrame({"id": ["p", "q"], "x": [1.5, -2.0], "y": [3.0, 0.5]})
    source = _parquet(frame, tmp_path / "points.parquet")
    target = tmp_path / "out.parquet"
    run = cli("batch", str(source), "-e", "x^2*y", "--hessian", "-o", str(target))
    assert run.exit_code == 0, run.output
    written = pq.read_table(target)
    names = ["hessian_x_x", "hessian_x_y", "hessian_y_x", "hessian_y_y"]
    assert [written.schema.field(n).type for n in names] == [pa.float64()] * 4
    assert written.select(names).to_pylist() == [
        {"hessian_x_x": 6.0, "hessian_x_y": 3.0, "hessian_y_x": 3.0, "hessian_y_y": 0.0},
        {"hessian_x_x": 1.0, "hessian_x_y": -4.0, "hessian_y_x": -4.0, "hessian_y_y": 0.0},
    ]
    as_csv = cli("batch", "-e", "x^2*y", "--hessian", "--format", "csv", input=_csv(frame))
    assert as_csv.exit_code == 0
    assert pd.read_csv(io.StringIO(as_csv.stdout))[names].values.tolist() == (
        written.select(names).to_pandas().values.tolist()
    )


def test_hessian_of_per_record_expressions_in_parquet_is_json_text(cli, tmp_path):
    source = tmp_path / "jobs.ndjson"
    source.write_text('{"expr": "x*y", "x": 2, "y": 3}\n{"expr": "x^3", "x": 2}\n')
    target = tmp_path / "out.parquet"
    run = cli("batch", str(source), "--hessian", "-o", str(target))
    assert run.exit_code == 0, run.output
    written = pq.read_table(target)
    assert written.schema.field("hessian").type == pa.string()
    assert [json.loads(text) for text in written.column("hessian").to_pylist()] == [
        {"x": {"x": 0.0, "y": 1.0}, "y": {"x": 1.0, "y": 0.0}},
        {"x": {"x": 12.0}},
    ]


def _parts(tmp_path: Path) -> Path:
    parts = tmp_path / "parts"
    parts.mkdir()
    rng = np.random.default_rng(16)
    for name, rows in (("a", 5), ("b", 3)):
        frame = pd.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})
        _parquet(frame, parts / f"{name}.parquet")
    return parts


def test_parquet_parts_are_written_as_parquet_parts(cli, tmp_path):
    parts = _parts(tmp_path)
    out = tmp_path / "out"
    run = cli("batch", f"{parts}/*.parquet", "-e", "sin(x*y)", "-o", str(out))
    assert run.exit_code == 0, run.output
    assert sorted(path.name for path in out.iterdir()) == ["a.parquet", "b.parquet"]
    for name in ("a", "b"):
        alone = tmp_path / f"{name}-alone.parquet"
        single = cli("batch", str(parts / f"{name}.parquet"), "-e", "sin(x*y)", "-o", str(alone))
        assert single.exit_code == 0
        assert pq.read_table(out / f"{name}.parquet").equals(pq.read_table(alone))
        inputs = pq.read_table(parts / f"{name}.parquet").to_pandas()
        written = pq.read_table(out / f"{name}.parquet").to_pandas()
        assert written["value"].tolist() == np.sin(inputs["x"] * inputs["y"]).tolist()


def test_parts_in_a_compressed_format_given_by_format(cli, tmp_path):
    parts = _parts(tmp_path)
    out = tmp_path / "out"
    run = cli("batch", str(parts), "-e", "x*y", "-o", str(out), "--format", "csv.gz")
    assert run.exit_code == 0, run.output
    assert sorted(path.name for path in out.iterdir()) == ["a.csv.gz", "b.csv.gz"]
    written = pd.read_csv(io.BytesIO(gzip.decompress((out / "b.csv.gz").read_bytes())))
    inputs = pq.read_table(parts / "b.parquet").to_pandas()
    assert written["value"].tolist() == (inputs["x"] * inputs["y"]).tolist()
    assert written["row"].tolist() == [1, 2, 3]


def test_a_part_whose_name_says_no_format_is_refused_before_any_part_runs(cli, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.csv").write_text("x,y\n1,2\n")
    (parts / "b.txt").write_text("x,y\n3,4\n")
    out = tmp_path / "out"
    run = cli("batch", str(parts), "-e", "x*y", "-o", str(out))
    assert run.exit_code == 2
    assert run.stderr == (
        f"cgrad: error: cannot tell the format of {out / 'b.txt'} from its extension '.txt'\n"
        "hint: name it .arrow, .csv, .feather, .json, .jsonl, .ndjson, .parquet, .tsv, each "
        "optionally followed by .bz2/.gz/.xz/.zst, or pass --format\n"
    )
    assert not out.exists()
    run = cli("batch", str(parts), "-e", "x*y", "-o", str(out), "--format", "csv")
    assert run.exit_code == 0, run.output
    assert sorted(path.name for path in out.iterdir()) == ["a.csv", "b.csv"]
