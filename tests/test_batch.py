"""`cgrad batch` end to end: formats in and out, stdin, bad rows, pipes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import cgrad

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SEED = "(x+y)*z"
POINT_FILES = ["points.csv", "points.tsv", "points.ndjson", "points.json"]


def sample_points() -> list[dict[str, float]]:
    with open(SAMPLES / "points.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def parse_output(text: str, output_format: str) -> list[dict]:
    """Records back from any output format, as (row, value, gradient) dicts."""
    if output_format == "ndjson":
        return [json.loads(line) for line in text.splitlines()]
    if output_format == "json":
        return json.loads(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    return [
        {
            "row": int(r["row"]),
            "value": float(r["value"]),
            "gradient": {k[5:]: float(v) for k, v in r.items() if k.startswith("grad_")},
        }
        for r in rows
    ]


@pytest.mark.parametrize("source", POINT_FILES)
@pytest.mark.parametrize("via_stdin", [False, True])
@pytest.mark.parametrize("output_format", ["ndjson", "json", "csv"])
def test_every_input_and_output_format_agrees_with_eval(cli, source, via_stdin, output_format):
    path = SAMPLES / source
    if via_stdin:
        result = cli("batch", "-e", SEED, "--format", output_format, input=path.read_text())
    else:
        result = cli("batch", str(path), "-e", SEED, "--format", output_format)
    assert result.exit_code == 0, result.stderr
    records = parse_output(result.stdout, output_format)
    points = sample_points()
    assert [r["row"] for r in records] == list(range(1, len(points) + 1))
    f = cgrad.compile(SEED)
    for record, point in zip(records, points, strict=True):
        expected = f.evaluate(point)
        assert record["value"] == expected.value
        assert record["gradient"] == expected.gradient


def test_table_output(cli):
    result = cli("batch", str(SAMPLES / "points.csv"), "-e", SEED, "--format", "table")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["row", "x", "y", "z", "value", "∂/∂x", "∂/∂y", "∂/∂z", "note"]
    assert len([line for line in lines if line.strip()[:1].isdigit()]) == 20


def test_ndjson_record_shape(cli):
    text = "x,y,z,label\n1,2,3,a\n"
    result = cli("batch", "-e", SEED, "--format", "ndjson", input=text)
    assert result.stdout == (
        '{"row": 1, "inputs": {"x": 1.0, "y": 2.0, "z": 3.0}, "value": 9.0, '
        '"gradient": {"x": 3.0, "y": 3.0, "z": 3.0}, "extra": {"label": "a"}}\n'
    )


def test_csv_columns(cli):
    text = "id,x,label,y,z\np1,1,a,2,3\n"
    result = cli("batch", "-e", SEED, "--format", "csv", input=text)
    assert result.stdout.splitlines() == [
        "row,id,x,y,z,label,value,grad_x,grad_y,grad_z,error,warnings",
        "1,p1,1.0,2.0,3.0,a,9.0,3.0,3.0,3.0,,",
    ]


def test_records_with_their_own_expressions(cli):
    result = cli("batch", str(SAMPLES / "jobs.ndjson"))
    assert result.exit_code == 1  # the "typo" job fails
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [
        "seed",
        "neuron",
        "log-base",
        "shared",
        "seed-again",
        "typo",
        "kink",
    ]
    assert records[0]["gradient"] == {"x": 3.0, "y": 3.0, "z": 3.0}
    assert records[2]["value"] == 3.0
    assert records[5]["error"]["type"] == "unknown_function"
    assert records[6]["warnings"][0]["type"] == "kink"


def test_each_distinct_expression_is_compiled_once(monkeypatch):
    from cgrad.batch import blocks as batch
    from cgrad.batch.rows import Format, Records

    calls = []
    real = batch.compile
    monkeypatch.setattr(batch, "compile", lambda text: calls.append(text) or real(text))
    lines = [json.dumps({"expr": ["x*2", "y+1"][i % 2], "x": i, "y": i}) for i in range(10)]
    records = Records(io.BytesIO("\n".join(lines).encode()), Format.NDJSON)
    outcomes = [o for chunk in batch.evaluate_blocks(records, chunk_rows=3) for o in chunk]
    assert calls == ["x*2", "y+1"]
    assert [o.value for o in outcomes] == [0, 2, 4, 4, 8, 6, 12, 8, 16, 10]


BAD_CSV = (
    "x,y,z\n"
    "1,2,3\n"  # row 1: good
    "1,2\n"  # row 2: wrong column count
    "a,2,3\n"  # row 3: not a number
    ",2,3\n"  # row 4: empty value
    "4,5,6\n"  # row 5: good
)
BAD_NDJSON = (
    '{"x": 1, "y": 2, "z": 3}\n'  # row 1: good
    '{"x": 1, "y": 2}\n'  # row 2: missing variable
    "{not json}\n"  # row 3: invalid JSON
    '{"x": true, "y": 2, "z": 3}\n'  # row 4: not a number
    '{"x": 1, "y": 2, "z": 3, "expr": "2x"}\n'  # row 5: carried (with -e)
    "[1, 2]\n"  # row 6: not an object
    '{"x": 4, "y": 5, "z": 6}\n'  # row 7: good
)
BAD_JOBS = (
    '{"expr": "x+1", "x": 1}\n'  # row 1: good
    '{"expr": "2x", "x": 1}\n'  # row 2: does not parse
    '{"x": 1}\n'  # row 3: no expression
    '{"expr": "x*y", "x": 1}\n'  # row 4: missing variable
    '{"expr": "x+1", "x": 2}\n'  # row 5: good
)


@pytest.mark.parametrize(
    ("text", "arguments", "errors"),
    [
        (BAD_CSV, ["-e", SEED], {2: "invalid_row", 3: "invalid_value", 4: "invalid_value"}),
        (
            BAD_NDJSON,
            ["-e", SEED],
            {2: "missing_value", 3: "invalid_json", 4: "invalid_value", 6: "invalid_record"},
        ),
        (BAD_JOBS, [], {2: "syntax_error", 3: "missing_expression", 4: "missing_value"}),
    ],
)
@pytest.mark.parametrize("on_error", ["record", "skip", "fail"])
def test_bad_rows_mixed_with_good_ones(cli, text, arguments, errors, on_error):
    result = cli("batch", *arguments, "--format", "ndjson", "--on-error", on_error, input=text)
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    total = len([line for line in text.splitlines() if line.strip()]) - text.startswith("x,y,z")
    if on_error == "record":
        assert [r["row"] for r in records] == list(range(1, total + 1))
        assert {r["row"]: r["error"]["type"] for r in records if "error" in r} == errors
    elif on_error == "skip":
        assert [r["row"] for r in records] == [n for n in range(1, total + 1) if n not in errors]
        assert all("error" not in r for r in records)
    else:
        first = min(errors)
        assert [r["row"] for r in records] == list(range(1, first))
        assert result.stderr.startswith(f"cgrad: error: stopped at row {first}: {errors[first]}: ")


def test_invalid_utf8_is_a_bad_row_not_a_crash(cli):
    data = b"x,y,z\n1,2,3\n\xff,2,3\n4,5,6\n"
    result = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", "-e", SEED, "--format", "ndjson"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("error", {}).get("type") for r in records] == [None, "invalid_utf8", None]


def test_non_finite_results_are_values_with_warnings(cli):
    result = cli("batch", "-e", "log(x)", "--format", "ndjson", input="x\n1\n-1\n0\n")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["value"] for r in records] == [0.0, "NaN", "-Infinity"]
    assert "warnings" not in records[0]
    assert records[1]["warnings"][0]["message"].endswith("log(-1) = NaN")
    assert records[2]["warnings"][0]["message"].endswith("log(0) = -Infinity")


def test_wrt_limits_the_partials(cli):
    result = cli("batch", "-e", SEED, "--wrt", "z", "--format", "ndjson", input="x,y,z\n1,2,3\n")
    assert json.loads(result.stdout)["gradient"] == {"z": 3.0}
    result = cli("batch", "-e", SEED, "--wrt", "q", input="x,y,z\n1,2,3\n")
    assert result.exit_code == 2


def test_output_file_is_written_whole(cli, tmp_path):
    target = tmp_path / "out.csv"
    result = cli(
        "batch", str(SAMPLES / "points.csv"), "-e", SEED, "--format", "csv", "-o", str(target)
    )
    assert result.exit_code == 0 and result.stdout == ""
    assert len(target.read_text().splitlines()) == 21
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_usage_errors(cli):
    assert cli("batch", "/nonexistent.csv", "-e", SEED).exit_code == 2
    assert cli("batch", "-e", "2x", input="x\n1\n").exit_code == 2
    assert cli("batch", "-e", SEED, "--format", "xml", input="x\n1\n").exit_code == 2
    result = cli("batch", "-e", SEED, input="x,x\n1,2\n")
    assert result.exit_code == 2 and "names x more than once" in result.stderr


def test_a_closed_pipe_ends_quietly(tmp_path):
    source = tmp_path / "points.csv"
    source.write_text("x,y,z\n" + "1,2,3\n" * 200_000)
    command = [sys.executable, "-m", "cgrad", "batch", "-e", SEED, "--format", "ndjson"]
    with open(source, "rb") as stdin:
        process = subprocess.Popen(
            command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        first = process.stdout.readline()
        process.stdout.close()  # like `| head -1`
        stderr = process.stderr.read()
        process.wait(timeout=120)
    assert json.loads(first)["row"] == 1
    assert b"Traceback" not in stderr


@pytest.mark.slow
def test_a_million_rows_give_a_million_records_in_order(tmp_path):
    source = tmp_path / "big.csv"
    with open(source, "w") as f:
        f.write("x,y,z\n")
        f.writelines(f"{i % 7},{i % 5},{i % 3}\n" for i in range(1_000_000))
    completed = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", str(source), "-e", SEED, "--format", "ndjson"],
        stdout=subprocess.PIPE,
        text=True,
    )
    count = 0
    for count, line in enumerate(completed.stdout, start=1):
        # Every record in its place, none missing, none twice.
        assert line.startswith(f'{{"row": {count}, "inputs": '), line
        if count % 99_991 == 1 or count == 1_000_000:  # spot checks, and the last
            record = json.loads(line)
            i = count - 1
            assert record["row"] == count
            assert record["value"] == ((i % 7) + (i % 5)) * (i % 3)
    assert completed.wait(timeout=600) == 0
    assert count == 1_000_000


@pytest.mark.parametrize(
    ("format", "data"),
    [
        ("csv", b"x\n1\n2\n"),
        ("tsv", b"x\n1\n"),
        ("ndjson", b'{"x": 1}\n'),
        ("json", b'[{"x": 1}]'),
    ],
)
def test_reading_leaves_the_stream_open(tmp_path, format, data):
    # The progress bar asks the stream how far it got after the last record.
    from cgrad.batch.rows import Format, Records

    path = tmp_path / f"points.{format}"
    path.write_bytes(data)
    with open(path, "rb") as stream:
        records = list(Records(stream, Format(format)))
        import gc

        gc.collect()
        assert not stream.closed and stream.tell() == len(data)
    assert records and all(r.error is None for r in records)


def test_non_finite_numbers_in_carried_fields_and_ids_stay_valid_json(cli):
    text = '{"id": NaN, "x": 1, "n": Infinity, "m": [-Infinity]}\n'
    result = cli("batch", "-e", "x", "--format", "ndjson", input=text)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "row": 1,
        "id": "NaN",
        "inputs": {"x": 1.0},
        "value": 1.0,
        "gradient": {"x": 1.0},
        "extra": {"n": "Infinity", "m": ["-Infinity"]},
    }


def test_wrt_narrows_the_csv_columns_and_clashing_names_are_renamed(cli):
    text = "x,y,value,row\n1,2,a,b\n"
    result = cli("batch", "-e", "x*y", "--wrt", "y", "--format", "csv", input=text)
    assert result.stdout.splitlines() == [
        "row,x,y,extra_value,extra_row,value,grad_y,error,warnings",
        "1,1.0,2.0,a,b,2.0,1.0,,",
    ]


def test_inputs_named_like_the_output_columns_are_renamed_in_flat_outputs(cli, tmp_path):
    # An input named value, row or error (or grad_ another input) would be
    # a second column under one name: CSV readers mix them up, and pandas
    # cannot read such a Parquet file at all.
    text = "value,row,error,x,grad_x,input_value,z\n1,2,3,4,5,6,7\n"
    expression = "value*row*error*x*grad_x*input_value"
    header = (
        "row,input_input_value,input_row,input_error,x,input_grad_x,input_value,z,value,"
        "grad_value,grad_row,grad_error,grad_x,grad_grad_x,grad_input_value,error,warnings"
    )
    result = cli("batch", "-e", expression, "--format", "csv", input=text)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == header
    row = dict(zip(header.split(","), lines[1].split(","), strict=True))
    assert [row["input_input_value"], row["input_value"], row["value"]] == ["1.0", "6.0", "720.0"]
    assert row["input_grad_x"] == "5.0" and row["grad_grad_x"] == "144.0"
    assert row["z"] == "7"  # carried, not an input: its own name is free
    # Parquet and Arrow: the same columns, which pandas reads.
    source = tmp_path / "in.csv"
    source.write_text(text)
    for suffix in ("parquet", "arrow"):
        target = tmp_path / f"out.{suffix}"
        result = cli("batch", str(source), "-e", expression, "-o", str(target))
        assert result.exit_code == 0, result.stderr
        frame = pd.read_parquet(target) if suffix == "parquet" else pd.read_feather(target)
        assert list(frame.columns) == header.split(",")
        assert frame["input_input_value"].tolist() == [1.0] and frame["value"].tolist() == [720.0]
    # The table for people: the same input names over its columns.
    result = cli("batch", "-e", "value*x", "--format", "table", input="value,x\n2,3\n")
    assert result.stdout.split()[:4] == ["row", "input_value", "x", "value"]
    # NDJSON nests the inputs: nothing clashes, nothing is renamed.
    result = cli("batch", "-e", "value*x", input="value,x\n2,3\n")
    assert json.loads(result.stdout)["inputs"] == {"value": 2.0, "x": 3.0}


def test_a_failed_record_keeps_the_inputs_it_has_in_flat_outputs(cli, tmp_path):
    text = "x,y,z\n1.5,,2\n1,two,3\n4,5,6\n"
    result = cli("batch", "-e", "x*y*z", "--format", "csv", input=text)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:3] == [
        "1,1.5,,2.0,,,,,invalid_value: the value of y is empty,",
        "2,1.0,,3.0,,,,,invalid_value: the value of y is not a number: 'two',",
    ]
    source = tmp_path / "in.csv"
    source.write_text(text)
    target = tmp_path / "out.parquet"
    assert cli("batch", str(source), "-e", "x*y*z", "-o", str(target)).exit_code == 1
    frame = pd.read_parquet(target)
    assert frame["x"].tolist() == [1.5, 1.0, 4.0] and frame["z"].tolist() == [2.0, 3.0, 6.0]
    assert frame["y"].isna().tolist() == [True, True, False]
    # The table for people shows them too.
    result = cli("batch", "-e", "x*y*z", "--format", "table", input=text)
    assert result.stdout.splitlines()[2].split() == [
        "1", "1.5", "2", "invalid_value:", "the", "value", "of", "y", "is", "empty"
    ]  # fmt: skip
    # JSON's error record keeps SPEC's shape: the row and its error.
    line = cli("batch", "-e", "x*y*z", input=text).stdout.splitlines()[0]
    assert json.loads(line) == {
        "row": 1,
        "error": {"type": "invalid_value", "message": "the value of y is empty"},
    }


def test_output_options(cli, tmp_path):
    source = SAMPLES / "points.csv"
    target = tmp_path / "out.csv"
    previous = os.umask(0o022)
    try:
        assert cli("batch", str(source), "-e", SEED, "-o", str(target)).exit_code == 0
    finally:
        os.umask(previous)
    assert target.read_text().startswith("row,x,y,z,value,")  # format from the extension
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # the umask, not mkstemp's 0600
    result = cli("batch", str(source), "-e", SEED, "-o", str(tmp_path))
    assert result.exit_code == 2 and "it is a directory" in result.stderr
    copy = tmp_path / "points.csv"
    copy.write_bytes(source.read_bytes())
    result = cli("batch", str(copy), "-e", SEED, "-o", str(copy))
    assert result.exit_code == 2 and "would replace the input" in result.stderr
    result = cli("batch", str(source), "-e", SEED, "-o", "-", "--format", "csv")
    assert result.stdout.startswith("row,x,y,z,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "points.csv"]


def test_a_full_disk_is_a_failure_not_a_bug():
    with open("/dev/full", "w") as full:
        completed = subprocess.run(
            [sys.executable, "-m", "cgrad", "batch", str(SAMPLES / "points.csv"), "-e", SEED],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert completed.returncode == 1
    assert completed.stderr == (
        "cgrad: error: cannot write to standard output: No space left on device\n"
    )


def test_ndjson_in_a_json_file_is_read_as_ndjson(tmp_path):
    # The export format of Spark and BigQuery: objects, one a line, in a .json.
    path = tmp_path / "points.json"
    path.write_text('{"x": 1}\n{"x": 2}\n')
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x", str(path)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0
    assert completed.stderr == ""
    assert [json.loads(line)["value"] for line in completed.stdout.splitlines()] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "arguments", "status", "message"),
    [
        ('[{"x": 1}]\n[{"x": 2}]', ["--input-format", "json"], 1, "more data after the JSON"),
        ("", ["--input-format", "json", "--format", "csv"], 2, "must be one JSON array"),
        ("a,b\n1,2\n", [], 2, "the input has no column for x"),
    ],
)
def test_whole_input_problems(cli, text, arguments, status, message):
    result = cli("batch", "-e", "x", *arguments, input=text)
    assert result.exit_code == status
    assert message in result.stderr + result.stdout
    if status == 2:
        assert result.stdout == ""


def test_failures_are_summed_up_on_stderr(cli):
    result = cli("batch", "-e", "x", "--on-error", "skip", input="x\n1\nq\n2\n")
    assert result.exit_code == 1
    assert result.stderr == (
        "cgrad: error: 1 of 3 records failed and were left out "
        "(first: row 2: invalid_value: the value of x is not a number: 'q')\n"
    )


@pytest.mark.parametrize("chunk", ["1", "1000"])
def test_digit_separators_are_not_numbers_here_either(cli, chunk):
    # As on the command line (eval x=1_000 is refused), though float() reads them.
    result = cli("batch", "-e", "x", "--chunk-rows", chunk, input="x\n1\n1_000\n2\n")
    assert result.exit_code == 1, result.stdout
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("value") for r in records] == [1.0, None, 2.0]
    assert records[1]["error"]["message"] == "the value of x is not a number: '1_000'"


def test_record_messages_name_json_values_as_json(cli):
    text = '{"expr": 42, "x": 1}\n{"expr": "x", "x": true}\n{"expr": "x", "x": null}\n'
    records = [json.loads(line) for line in cli("batch", input=text).stdout.splitlines()]
    assert [r["error"]["message"] for r in records] == [
        'the "expr" is not a string',
        "the value of x is not a number: true",
        "the value of x is not a number: null",
    ]


def test_chunks_of_one_record(cli):
    result = cli(
        "batch",
        "-e",
        SEED,
        "--chunk-rows",
        "1",
        "--format",
        "ndjson",
        input="x,y,z\n1,2,3\n4,5,6\n",
    )
    assert [json.loads(line)["value"] for line in result.stdout.splitlines()] == [9.0, 54.0]


def test_an_unclosed_quote_is_named(cli):
    result = cli("batch", "-e", "x+y", "--format", "ndjson", input='x,y\n1,2\n"3,4\n5,6\n')
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row"] for r in records] == [1, 2]
    assert records[1]["error"]["message"] == (
        "lines 3 to 4: a quote that is never closed takes in the lines after it"
    )


@pytest.mark.parametrize("output_format", ["ndjson", "json", "csv", "table"])
@pytest.mark.parametrize(
    "text",
    [
        'id,x,label,y\np1,0.1,a b,2\np2,-3e-7,"q,""r""",4.5\np3,1e16,θ,-2\n',
        "id,x,label,y\np1,0.1,a b,2\np2,-3e-7,,4.5\np3,1e16,θ,-2\np4,0,%s,1e-300\n",
        'id,x,label,y\n"p,1",0.1,"two\nlines",2\np2,-3e-7,"a\rb",4.5\n',
    ],
    ids=["needs-quotes", "plain", "line-breaks"],
)
def test_clean_chunks_and_record_by_record_chunks_write_the_same(cli, output_format, text):
    # A clean CSV chunk goes the columnar way; a bad row sends its whole chunk
    # record by record. The good rows must come out the same either way.
    clean = cli("batch", "-e", "sin(x)*y", "--format", output_format, input=text)
    mixed = cli("batch", "-e", "sin(x)*y", "--format", output_format, input=text + "p4,1\n")
    assert clean.exit_code == 0 and mixed.exit_code == 1
    if output_format == "json":
        assert json.loads(mixed.stdout)[:-1] == json.loads(clean.stdout)
    else:
        clean_lines = clean.stdout.splitlines()
        assert mixed.stdout.splitlines()[: len(clean_lines)] == clean_lines


def test_a_percent_sign_in_a_column_name(cli):
    result = cli("batch", "-e", "x", "--format", "ndjson", input="x,rate%,%s\n1,5,6\n")
    assert json.loads(result.stdout)["extra"] == {"rate%": "5", "%s": "6"}


def test_line_numbers_count_blank_lines_and_breaks_inside_quotes(cli):
    text = 'x,y\n1,2\n\n"3\n",4\n\r\n5\n6,7\n'
    result = cli("batch", "-e", "x+y", "--format", "ndjson", input=text)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row"] for r in records] == [1, 2, 3, 4]
    assert records[2]["error"]["message"] == "line 7: expected 2 fields, found 1"
    assert records[1]["value"] == 7.0 and records[3]["value"] == 13.0


def test_output_to_a_pipe_or_device_is_written_to_not_replaced(tmp_path):
    # A rename over /dev/null (as root) would replace the device with a
    # file: a FIFO stands in for it here, harmlessly.
    import threading

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x*2", "--format", "csv", "-o", str(fifo)],
        input="x\n1\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    reader.join(timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert received == ["row,x,value,grad_x,error,warnings\n1,1.0,2.0,2.0,,\n"]


def test_output_through_a_symbolic_link_replaces_the_file_it_points_to(cli, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    result = cli("batch", "-e", "x", "--format", "csv", "-o", str(link), input="x\n1\n")
    assert result.exit_code == 0
    assert link.is_symlink() and real.read_text().startswith("row,x,value")


def test_an_infinite_input_with_a_finite_result_is_valid_json(cli):
    result = cli("batch", "-e", "x/y", input="x,y\n0.001,inf\n2,4\n")
    strict = [json.loads(line, parse_constant=pytest.fail) for line in result.stdout.splitlines()]
    assert strict[0]["inputs"]["y"] == "Infinity"
    assert [w["type"] for w in strict[0]["warnings"]] == ["non_finite_input"]
    assert strict[1]["value"] == 0.5


def test_no_expression_at_all_is_a_usage_error_before_any_output(cli):
    result = cli("batch", input="x\n1\n2\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        'cgrad: error: no expression: -e is not given, and the input has no "expr" column'
    )


def test_missing_columns_are_named_in_one_short_line():
    # Every missing input and every column used to be listed: a message of
    # hundreds of kilobytes for a wide input.
    header = ",".join(f"c{i}" for i in range(20_000))
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", "-e", "+".join(f"x{i}" for i in range(12))],
        input=f"{header}\n{','.join(['1'] * 20_000)}\n",
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        "cgrad: error: the input has no column for x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 "
        "and 2 more\n"
        "hint: its columns are c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 19,990 more\n"
    )


def test_standard_output_keeps_its_own_encoding(tmp_path):
    # Blocks joined by Arrow go to stdout as UTF-8 bytes only when stdout
    # encodes so; otherwise as text, which it encodes its own way.
    source = tmp_path / "notes.csv"
    source.write_text("x,note\n1,é\n2,ü\n", encoding="utf-8")
    runs = {}
    for encoding in ("utf-8", "latin-1"):
        runs[encoding] = subprocess.run(
            [sys.executable, "-m", "cgrad", "batch", str(source), "-e", "x*2", "--format", "csv"],
            capture_output=True,
            timeout=60,
            env={**os.environ, "PYTHONIOENCODING": encoding},
        )
        assert runs[encoding].returncode == 0, runs[encoding].stderr
    text = runs["utf-8"].stdout.decode("utf-8")
    assert "1,1.0,é,2.0,2.0,," in text
    assert runs["latin-1"].stdout == text.encode("latin-1")


@pytest.mark.parametrize("chunk", ["1", "1000"])
@pytest.mark.parametrize("form", ["csv", "ndjson"])
def test_digits_and_blanks_outside_ascii_are_not_numbers_here_either(cli, chunk, form):
    # float() reads Arabic-Indic and fullwidth digits and strips a no-break
    # space; the command line refuses them (eval x=١), and so does batch.
    odd = ["\u0661", "\u0662.5", "\uff11", "\u00a04"]
    if form == "csv":
        text = "x\n" + "\n".join(["1", *odd, "2"]) + "\n"
    else:
        text = "".join(json.dumps({"x": v}) + "\n" for v in [1, *odd, 2])
    result = cli("batch", "-e", "x", "--format", "ndjson", "--chunk-rows", chunk, "-", input=text)
    assert result.exit_code == 1, result.stdout
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("value") for r in records] == [1.0, None, None, None, None, 2.0]
    assert [r["error"]["message"] for r in records[1:5]] == [
        f"the value of x is not a number: {v!r}" for v in odd
    ]
    refused = cli("eval", "x", "--x", odd[0])
    assert refused.exit_code == 2
    assert refused.stderr.startswith(f"cgrad: error: the value of x is not a number: {odd[0]!r}")


@pytest.mark.parametrize("rows", [4, 5000])  # the record path, and Arrow's blocks
@pytest.mark.parametrize("form", ["ndjson", "json"])
def test_a_json_minus_zero_keeps_its_sign_as_in_every_other_format(cli, tmp_path, rows, form):
    # Python's json reads the integer -0 as 0: 1/x was +inf, atan2(x, -1) π.
    values = [("-0" if k % 3 == 0 else str(k)) for k in range(rows)]
    if form == "ndjson":
        text = "".join(f'{{"x": {v}}}\n' for v in values)
    else:
        text = "[" + ", ".join(f'{{"x": {v}}}' for v in values) + "]"
    path = tmp_path / f"points.{form}"
    path.write_text(text)
    result = cli("batch", "-e", "atan2(x, -1)", str(path), "--format", "ndjson", "-q")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == rows
    for k in range(0, rows, 3):
        assert records[k]["value"] == -math.pi, records[k]
    assert records[1]["value"] == pytest.approx(math.atan2(1.0, -1.0))
    csv = cli("batch", "-e", "atan2(x, -1)", "--format", "ndjson", "-", input="x\n-0\n")
    assert json.loads(csv.stdout)["value"] == -math.pi


def test_a_byte_order_mark_inside_ndjson_is_named(cli):
    # (as where two files are joined: `cat a.ndjson b.ndjson`); it said only
    # "Expecting value", of a character no one can see.
    text = '\ufeff{"x": 1}\n\ufeff{"x": 2}\n'
    result = cli("batch", "-e", "x*2", "--format", "ndjson", "-", input=text)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["value"] == 2.0  # the input's own mark: dropped
    assert records[1]["error"]["message"] == (
        "line 2: invalid JSON: an invisible byte-order mark (U+FEFF) where a value should start"
    )
