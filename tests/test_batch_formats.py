"""Formats in and out of ``cgrad batch``: every format and compression, from
a file and from stdin, against the library's numbers; files read back with
pyarrow and pandas; names and bytes that disagree refused with a message
that says what the file looks like."""

from __future__ import annotations

import bz2
import decimal
import gzip
import io
import json
import lzma
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import cgrad
from cgrad.batch import arrow_files, arrow_writers

EXPRESSION = "x*y + sin(x)"
ROWS = 40
FORMATS = ["csv", "tsv", "ndjson", "json", "parquet", "arrow"]
COMPRESSIONS = ["", ".gz", ".bz2", ".xz", ".zst"]


def _points() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(ROWS)],
            "x": rng.normal(size=ROWS) * 10.0 ** rng.integers(-5, 5, ROWS),
            "y": rng.normal(size=ROWS),
            "note": [f"n{i}" for i in range(ROWS)],
        }
    )


def _encoded(frame: pd.DataFrame, form: str) -> bytes:
    """The points in ``form``, numbers as their shortest text."""
    if form in ("csv", "tsv"):
        sep = "," if form == "csv" else "\t"
        lines = [sep.join(frame.columns)]
        lines += [sep.join(map(repr_cell, row)) for row in frame.itertuples(index=False)]
        return ("\n".join(lines) + "\n").encode()
    records = frame.to_dict("records")
    if form == "ndjson":
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if form == "json":
        return json.dumps(records).encode()
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if form == "parquet":
        pq.write_table(table, sink, row_group_size=16)
    else:
        feather.write_feather(table, sink, chunksize=16)
    return sink.getvalue()


def repr_cell(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _compressed(data: bytes, compression: str) -> bytes:
    if compression == ".gz":
        return gzip.compress(data)
    if compression == ".bz2":
        return bz2.compress(data)
    if compression == ".xz":
        return lzma.compress(data)
    if compression == ".zst":
        return pa.compress(data, codec="zstd", asbytes=True)  # a plain zstd frame
    return data


def _library(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    result = cgrad.compile(EXPRESSION).evaluate(x=frame["x"].to_numpy(), y=frame["y"].to_numpy())
    return {"value": result.value, **{f"grad_{n}": g for n, g in result.gradient.items()}}


def _check_ndjson(text: str, frame: pd.DataFrame) -> None:
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["row"] for r in records] == list(range(1, ROWS + 1))
    assert [r["id"] for r in records] == list(frame["id"])
    assert [r["extra"] for r in records] == [{"note": n} for n in frame["note"]]
    expected = _library(frame)
    assert [r["value"] for r in records] == expected["value"].tolist()
    for name in ("x", "y"):
        assert [r["gradient"][name] for r in records] == expected[f"grad_{name}"].tolist()
        assert [r["inputs"][name] for r in records] == frame[name].tolist()


def test_zstd_frames_are_what_the_zstd_tool_writes():
    # pa.compress(codec="zstd") writes one plain frame: the magic says so.
    assert _compressed(b"x\n", ".zst")[:4] == b"\x28\xb5\x2f\xfd"


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("form", FORMATS)
def test_every_input_format_and_compression_from_a_file(cli, tmp_path, form, compression):
    frame = _points()
    path = tmp_path / f"points.{form}{compression}"
    path.write_bytes(_compressed(_encoded(frame, form), compression))
    result = cli("batch", str(path), "-e", EXPRESSION)
    assert result.exit_code == 0, result.output
    _check_ndjson(result.stdout, frame)


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("form", FORMATS)
def test_every_input_format_and_compression_from_stdin(cli, form, compression):
    # No name: the compression and the binary formats are told by their
    # magic bytes, JSON by its first character; the rest is CSV or TSV.
    frame = _points()
    data = _compressed(_encoded(frame, form), compression)
    result = cli("batch", "-e", EXPRESSION, input=data)
    assert result.exit_code == 0, result.output
    _check_ndjson(result.stdout, frame)


def _decompressed(path: Path) -> io.BytesIO:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".bz2":
        data = bz2.decompress(data)
    elif path.suffix == ".xz":
        data = lzma.decompress(data)
    elif path.suffix == ".zst":
        data = pa.CompressedInputStream(pa.BufferReader(data), "zstd").read()
    return io.BytesIO(data)


def _read_back(path: Path, form: str) -> pd.DataFrame:
    """The output file read by the library made for its format."""
    data = _decompressed(path)
    if form in ("csv", "tsv"):
        sep = "," if form == "csv" else "\t"
        return pd.read_csv(data, sep=sep, keep_default_na=False, na_values=[""])
    if form == "ndjson":
        return pd.json_normalize(
            pd.read_json(data, lines=True, precise_float=True).to_dict("records")
        )
    if form == "json":
        return pd.json_normalize(pd.read_json(data, precise_float=True).to_dict("records"))
    if form == "parquet":
        return pq.read_table(data).to_pandas()
    return feather.read_table(data).to_pandas()


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize("form", FORMATS)
def test_every_output_format_and_compression(cli, tmp_path, form, compression):
    frame = _points()
    source = tmp_path / "points.csv"
    source.write_bytes(_encoded(frame, "csv"))
    target = tmp_path / f"out.{form}{compression}"
    result = cli("batch", str(source), "-e", EXPRESSION, "-o", str(target))
    assert result.exit_code == 0, result.output
    table = _read_back(target, form)
    assert len(table) == ROWS  # one output record per input record
    expected = _library(frame)
    if form in ("ndjson", "json"):
        assert table["value"].tolist() == expected["value"].tolist()
        assert table["gradient.x"].tolist() == expected["grad_x"].tolist()
        assert table["extra.note"].tolist() == list(frame["note"])
        return
    assert list(table.columns) == [
        "row", "id", "x", "y", "note", "value", "grad_x", "grad_y", "error", "warnings"
    ]  # fmt: skip
    assert table["row"].tolist() == list(range(1, ROWS + 1))
    for name in ("value", "grad_x", "grad_y"):
        assert table[name].tolist() == expected[name].tolist()
    assert table["note"].tolist() == list(frame["note"])
    assert table["error"].isna().all()


@pytest.mark.parametrize("compression", COMPRESSIONS[1:])
def test_a_compressed_file_is_the_same_bytes_whatever_the_chunk_size(cli, tmp_path, compression):
    # Compressed as one stream, not flushed chunk by chunk: a file's bytes
    # depend on its content only (and it reads back as the plain output).
    source = tmp_path / "points.csv"
    source.write_bytes(_encoded(_points(), "csv"))
    outputs, targets = [], []
    for rows in ("1", "7", "4096"):
        target = tmp_path / f"out{rows}.ndjson{compression}"
        targets.append(target)
        result = cli(
            "batch", str(source), "-e", EXPRESSION, "--chunk-rows", rows, "-o", str(target)
        )
        assert result.exit_code == 0, result.output
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    plain = cli("batch", str(source), "-e", EXPRESSION, "--format", "ndjson").stdout_bytes
    assert _decompressed(targets[0]).getvalue() == plain


def test_parquet_in_keeps_the_types_of_its_columns_in_parquet_out(cli, tmp_path):
    source = tmp_path / "points.parquet"
    table = pa.table({"x": [1.5, 2.5], "y": [2, 3], "count": pa.array([7, 8], pa.int32())})
    pq.write_table(table, source)
    target = tmp_path / "out.parquet"
    result = cli("batch", str(source), "-e", "x*y", "-o", str(target))
    assert result.exit_code == 0, result.output
    written = pq.read_table(target)
    assert written.schema.field("count").type == pa.int32()
    assert written.column("value").to_pylist() == [3.0, 7.5]
    assert written.column("grad_y").to_pylist() == [1.5, 2.5]


def test_parquet_columns_are_encoded_for_what_they_hold(cli, tmp_path):
    # Row numbers go up one by one (delta encoded), numbers rarely repeat:
    # no dictionary for either; text columns, which often repeat, keep one.
    source = tmp_path / "points.csv"
    source.write_text("x,tag\n" + "".join(f"{i / 7},{'ab'[i % 2]}\n" for i in range(3000)))
    target = tmp_path / "out.parquet"
    result = cli("batch", str(source), "-e", "x*2", "-o", str(target))
    assert result.exit_code == 0, result.output
    group = pq.ParquetFile(target).metadata.row_group(0)
    chunks = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert "DELTA_BINARY_PACKED" in chunks["row"].encodings
    assert not chunks["row"].has_dictionary_page
    assert not chunks["value"].has_dictionary_page and not chunks["x"].has_dictionary_page
    assert chunks["tag"].has_dictionary_page
    written = pq.read_table(target)
    assert written.column("row").to_pylist() == list(range(1, 3001))
    assert written.column("value").to_pylist() == [i / 7 * 2 for i in range(3000)]


@pytest.mark.parametrize("form", ["parquet", "arrow"])
def test_row_groups_are_whole_whatever_the_chunks(cli, tmp_path, form):
    # Chunks of any size are gathered into groups of exactly ROW_GROUP_ROWS
    # rows (the last one less): the file's bytes do not depend on them.
    rows = arrow_writers.ROW_GROUP_ROWS + 5000
    source = tmp_path / "points.csv"
    source.write_text("x,y\n" + "".join(f"{i / 3},{i % 7}\n" for i in range(rows)))
    written = {}
    for chunk_rows in ("4096", "4095", "100000"):
        target = tmp_path / f"out{chunk_rows}.{form}"
        result = cli("batch", str(source), "-e", "x*y", "--chunk-rows", chunk_rows,
                     "-o", str(target))  # fmt: skip
        assert result.exit_code == 0, result.output
        written[chunk_rows] = target.read_bytes()
    assert written["4096"] == written["4095"] == written["100000"]
    if form == "parquet":
        metadata = pq.ParquetFile(tmp_path / "out4096.parquet").metadata
        groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    else:
        with pa.ipc.open_file(tmp_path / "out4096.arrow") as reader:
            groups = [reader.get_batch(i).num_rows for i in range(reader.num_record_batches)]
    assert groups == [arrow_writers.ROW_GROUP_ROWS, 5000]


def _small_batches_stream(rows: int, batch_rows: int) -> bytes:
    table = pa.table({"x": np.arange(rows) / 7, "y": np.arange(rows) % 5 - 2.0})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    return sink.getvalue()


def test_small_arrow_batches_are_gathered_with_the_same_output(cli, tmp_path, monkeypatch):
    # A stream of 100-row batches is evaluated in a few big batches, not
    # one call per batch; below the default --chunk-rows (prompt answers
    # for a slow stream) each is taken as it comes: the same records.
    source = tmp_path / "small.arrows"
    source.write_bytes(_small_batches_stream(10_000, 100))
    sizes: list[int] = []
    columns = arrow_files._columns
    monkeypatch.setattr(
        arrow_files,
        "_columns",
        lambda batch, *rest: sizes.append(batch.num_rows) or columns(batch, *rest),
    )
    gathered = cli("batch", str(source), "--input-format", "arrow", "-e", "x*y", "--format", "csv")
    assert gathered.exit_code == 0 and sizes == [10_000]
    sizes.clear()
    prompt = cli("batch", str(source), "--input-format", "arrow", "-e", "x*y", "--format", "csv",
                 "--chunk-rows", "4095")  # fmt: skip
    assert prompt.exit_code == 0 and sizes == [100] * 100
    assert gathered.stdout == prompt.stdout and len(gathered.stdout.splitlines()) == 10_001


def test_records_gathered_before_a_broken_arrow_stream_are_written(cli, tmp_path):
    stream = _small_batches_stream(1_000, 100)
    source = tmp_path / "cut.arrows"
    source.write_bytes(stream[: len(stream) * 3 // 4])
    runs = [
        cli("batch", str(source), "--input-format", "arrow", "-e", "x*y", "--format", "csv", *extra)
        for extra in ([], ["--chunk-rows", "4095"])
    ]
    assert runs[0].exit_code == runs[1].exit_code == 2
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout.splitlines()) > 500
    assert runs[0].stderr == runs[1].stderr


def test_bad_parquet_rows_keep_their_numbers_and_errors(cli, tmp_path):
    source = tmp_path / "points.parquet"
    table = pa.table({"x": [1.0, None, 3.0], "y": ["2", "two", "4"]})
    pq.write_table(table, source)
    expected = [
        {"row": 1, "inputs": {"x": 1.0, "y": 2.0}, "value": 2.0, "gradient": {"x": 2.0, "y": 1.0}},
        {"row": 2, "error": {"type": "invalid_value",
                             "message": "the value of x is not a number: null"}},
        {"row": 3, "inputs": {"x": 3.0, "y": 4.0}, "value": 12.0, "gradient": {"x": 4.0, "y": 3.0}},
    ]  # fmt: skip
    for on_error, rows in (("record", expected), ("skip", [expected[0], expected[2]])):
        result = cli("batch", str(source), "-e", "x*y", "--on-error", on_error)
        assert result.exit_code == 1
        assert [json.loads(line) for line in result.stdout.splitlines()] == rows
    result = cli("batch", str(source), "-e", "x*y", "--on-error", "fail")
    assert result.exit_code == 1
    assert [json.loads(line) for line in result.stdout.splitlines()] == [expected[0]]
    assert result.stderr == (
        "cgrad: error: stopped at row 2: invalid_value: the value of x is not a number: null\n"
    )


# A decimal whose nearest float Arrow's own cast to double misses by a unit
# in the last place (it gives -4.998072388825669e+16).
FAR_DECIMAL = decimal.Decimal("-49980723888256692.69671215567")


@pytest.mark.parametrize("null", [False, True], ids=["columns", "records"])
def test_parquet_decimals_are_read_as_the_float_nearest_them(cli, tmp_path, null):
    source = tmp_path / "prices.parquet"
    values = [decimal.Decimal("1.25"), *([None] if null else []), FAR_DECIMAL]
    pq.write_table(pa.table({"x": pa.array(values, pa.decimal128(38, 20))}), source)
    result = cli("batch", str(source), "-e", "2*x")
    assert result.exit_code == (1 if null else 0)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    far = float(FAR_DECIMAL)
    assert far == -4.9980723888256696e16
    assert [row for row in rows if "error" not in row] == [
        {"row": 1, "inputs": {"x": 1.25}, "value": 2.5, "gradient": {"x": 2.0}},
        {"row": 3 if null else 2, "inputs": {"x": far}, "value": 2 * far, "gradient": {"x": 2.0}},
    ]


# ---------------------------------------------------------------------------
# Names and bytes


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("points.csv", gzip.compress(b"x\n1\n"),
         "points.csv looks like gzip-compressed data, but its name does not say so"),
        ("points.csv.gz", b"x\n1\n", "points.csv.gz is not gzip-compressed data: "
         "it looks like uncompressed data"),
        ("points.csv.xz", bz2.compress(b"x\n1\n"), "points.csv.xz is not xz-compressed data: "
         "it looks like bzip2-compressed data"),
        ("points.parquet", b"x\n1\n", "points.parquet is not a Parquet file: it looks like text"),
        ("points.csv", b"PAR1\x00\x00", "points.csv is not CSV text: it looks like a Parquet file"),
        ("points.arrow", b"PAR1\x00\x00",
         "points.arrow is not an Arrow IPC (Feather) file: it looks like a Parquet file"),
        ("points.parquet", b"\x00\x01\x02\xff", "points.parquet is not a Parquet file: "
         "it looks like binary data"),
        ("points.json.gz", gzip.compress(gzip.compress(b"[]")),
         "points.json.gz looks like gzip-compressed data inside its compression"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_what_its_name_says_is_refused(cli, tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    result = cli("batch", str(tmp_path / name), "-e", "x")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"cgrad: error: {tmp_path}/{message}"


def test_an_unknown_output_extension_is_refused_with_the_known_ones(cli, tmp_path):
    source = tmp_path / "points.csv"
    source.write_text("x\n1\n")
    result = cli("batch", str(source), "-e", "x", "-o", str(tmp_path / "out.txt"))
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: cannot tell the format of {tmp_path}/out.txt from its extension '.txt'\n"
        "hint: name it .arrow, .csv, .feather, .json, .jsonl, .ndjson, .parquet, .tsv, "
        "each optionally followed by .bz2/.gz/.xz/.zst, or pass --format\n"
    )
    assert not (tmp_path / "out.txt").exists()


def test_format_names_a_compression_too(cli, tmp_path):
    result = cli("batch", "-e", "x", "--format", "csv.gz", input="x\n1\n2\n")
    assert result.exit_code == 0
    assert gzip.decompress(result.stdout_bytes).decode().splitlines()[1:] == [
        "1,1.0,1.0,1.0,,",
        "2,2.0,2.0,1.0,,",
    ]


def test_an_unknown_format_is_refused_with_the_known_ones(cli):
    result = cli("batch", "-e", "x", "--format", "xlsx", input="x\n1\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: --format must be one of csv, tsv, ndjson, json, parquet, arrow, table "
        "(optionally .gz, .bz2, .xz or .zst), not 'xlsx'\n"
    )


def test_a_cut_short_compressed_file_is_an_error_not_a_traceback(cli, tmp_path):
    path = tmp_path / "points.csv.gz"
    path.write_bytes(gzip.compress(b"x\n" + b"1\n" * 100_000)[:200])
    result = cli("batch", str(path), "-e", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith("cgrad: error: the gzip stream is corrupt or cut short")


def test_per_record_expressions_keep_their_expr_in_ndjson(cli):
    result = cli("batch", input='{"expr": "2*x", "x": 1}\n{"expr": "sinn(x)", "x": 1}\n')
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["expr"] for r in records] == ["2*x", "sinn(x)"]
    assert list(records[0]) == ["row", "expr", "inputs", "value", "gradient"]


@pytest.mark.parametrize(
    ("rows", "written"),
    [(1000, 0), (arrow_writers.ROW_GROUP_ROWS + 10, 100_000)],
    ids=["before a row group", "after a row group"],
)
def test_sigterm_during_a_parquet_write_leaves_the_previous_file(
    tmp_path, wait_until, rows, written
):
    # After a row group, Parquet's writer, left open, would close itself
    # when collected, into the temporary file removed by then, and print
    # that error on stderr.
    target = tmp_path / "out.parquet"
    pq.write_table(pa.table({"previous": [1]}), target)
    previous = target.read_bytes()
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x*y", "-o", str(target)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def under_way():
        return [path for path in tmp_path.glob(".*.tmp") if path.stat().st_size >= written]

    try:
        process.stdin.write(b"x,y\n" + b"1,2\n" * rows)
        process.stdin.flush()
        wait_until(under_way, "the temporary file", tmp_path, process)
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate(timeout=60)[1]
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert stderr == b"\n"
    assert list(tmp_path.glob(".*.tmp")) == []
    assert target.read_bytes() == previous


def test_per_record_expressions_from_parquet_to_compressed_csv(cli, tmp_path):
    source = tmp_path / "jobs.parquet"
    pq.write_table(pa.table({"expr": ["2*x", "sinn(x)"], "x": [1.0, 2.0]}), source)
    target = tmp_path / "out.csv.bz2"
    result = cli("batch", str(source), "-o", str(target))
    assert result.exit_code == 1
    assert bz2.decompress(target.read_bytes()).decode().splitlines() == [
        "row,expr,inputs,value,gradient,extra,error,warnings",
        '1,2*x,"{""x"": 1.0}",2.0,"{""x"": 2.0}",,,',
        "2,sinn(x),,,,,\"unknown_function: unknown function 'sinn' at line 1, column 1 "
        '(hint: did you mean sin, sinh or sign?)",',
    ]


def test_no_records_still_make_a_parquet_file_with_the_columns(cli, tmp_path):
    target = tmp_path / "out.parquet"
    result = cli("batch", "-e", "x", "-o", str(target), input="x\n")
    assert result.exit_code == 0
    table = pq.read_table(target)
    assert table.num_rows == 0
    assert table.schema.names == ["row", "x", "value", "grad_x", "error", "warnings"]


def test_parquet_is_not_written_to_a_terminal(cli):
    from cgrad.cli.environment import Environment, given

    with given(Environment(False, True, False)):
        result = cli("batch", "-e", "x", "--format", "parquet", input="x\n1\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: parquet output is not for a terminal\n"
        "hint: write it with -o FILE, or pipe it\n"
    )


@pytest.mark.parametrize("on_error", ["record", "skip", "fail"])
@pytest.mark.parametrize("compression", ["", ".gz"])
@pytest.mark.parametrize("form", FORMATS)
def test_a_bad_row_keeps_its_number_and_error_in_every_format(
    cli, tmp_path, form, compression, on_error
):
    frame = pd.DataFrame({"x": ["1.5", "abc", "2.5"], "y": ["2", "3", "4"]})
    path = tmp_path / f"points.{form}{compression}"
    path.write_bytes(_compressed(_encoded(frame, form), compression))
    result = cli("batch", str(path), "-e", "x*y", "--on-error", on_error)
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    good = [
        {"row": 1, "inputs": {"x": 1.5, "y": 2.0}, "value": 3.0, "gradient": {"x": 2.0, "y": 1.5}},
        {"row": 3, "inputs": {"x": 2.5, "y": 4.0}, "value": 10.0, "gradient": {"x": 4.0, "y": 2.5}},
    ]
    error = {"type": "invalid_value", "message": "the value of x is not a number: 'abc'"}
    expected = {
        "record": [good[0], {"row": 2, "error": error}, good[1]],
        "skip": good,
        "fail": good[:1],
    }[on_error]
    assert records == expected
