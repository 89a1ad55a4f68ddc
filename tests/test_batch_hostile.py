"""`cgrad batch` under hostile data: one bad record is one error record, the
rest still read; nothing silently changed; time linear, memory bounded."""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import os
import subprocess
import sys
import threading
import time
import weakref

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.batch import blocks as batch
from cgrad.batch import json_elements, rows
from cgrad.batch.json_text import _finite
from cgrad.batch.rows import Format, Records


def records_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def run_cgrad(*arguments: str, input: bytes | None = None, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        input=input,
        stdin=stdin,
        capture_output=True,
        timeout=120,
    )


# 1. Integers Python will not read (more than 4,300 digits), and integers
# beyond float64.

HUGE = "1" * 5000


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"x": 1}\n{"x": ' + HUGE + '}\n{"x": 2}\n', "line 2"),
        ('[{"x": 1}, {"x": ' + HUGE + '}, {"x": 2}]', "element 2"),
        ('[{"x": 1}, {"x": 2, "note": [' + HUGE + ']}, {"x": 2}]', "element 2"),
    ],
    ids=["ndjson", "json", "json-carried"],
)
def test_an_integer_of_thousands_of_digits_is_an_error_record(cli, text, where):
    input_format = "json" if text.startswith("[") else "ndjson"
    result = cli("batch", "-e", "x", "--input-format", input_format, input=text)
    assert result.exit_code == 1
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"] == {
        "type": "invalid_json",
        "message": f"{where}: a number has more than 4300 digits",
    }
    assert records[0]["value"] == 1.0 and records[2]["value"] == 2.0


def test_an_integer_beyond_float64_is_an_infinity_as_1e400_is(cli):
    big = "9" * 400
    text = '{"x": ' + big + '}\n{"x": 1e400}\n{"x": 1, "n": ' + big + "}\n"
    result = cli("batch", "-e", "x", input=text)
    assert result.exit_code == 0
    records = records_of(result.stdout)
    assert records[0]["inputs"] == records[1]["inputs"] == {"x": "Infinity"}
    assert records[0]["warnings"] == records[1]["warnings"]
    assert records[2]["extra"] == {"n": int(big)}  # carried exactly


# 2. CSV fields past the csv module's own limit (128 KiB), and past cgrad's.


def test_a_long_csv_field_and_a_long_header_name_are_read(cli):
    field = "b" * 200_000
    name = "h" * 1_000_000
    result = cli("batch", "-e", "x", input=f"x,note,{name}\n1,a,c\n2,{field},d\n")
    assert result.exit_code == 0, result.stderr
    records = records_of(result.stdout)
    assert records[1]["extra"] == {"note": field, name: "d"}


def test_a_csv_field_over_the_limit_is_an_error_record(cli):
    lines = ("a" * (1 << 20) + "\n") * 17  # 17 MiB in one quoted field
    text = f'x,note\n1,a\n2,"{lines}"\n3,c\n'
    result = cli("batch", "-e", "x", input=text)
    assert result.exit_code == 1
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"] == {
        "type": "invalid_row",
        "message": "lines 3 to 20: a field is longer than 16 MiB",
    }
    assert records[2]["value"] == 3.0


# 3. Carried fields nested deep.


def test_a_carried_field_nested_deep_is_written_back(cli):
    depth = 900
    nested = "[" * depth + "NaN" + "]" * depth
    result = cli("batch", "-e", "x", input='{"x": 1, "c": ' + nested + '}\n{"x": 2}\n')
    assert result.exit_code == 0, result.stderr
    records = records_of(result.stdout)
    assert json.dumps(records[0]["extra"]["c"]) == "[" * depth + '"NaN"' + "]" * depth
    csv_result = cli("batch", "-e", "x", "--format", "csv", input='{"x": 1, "c": ' + nested + "}\n")
    assert csv_result.exit_code == 0


def test_non_finite_numbers_are_replaced_without_recursion():
    depth = 200_000
    value: object = [math.inf]
    for _ in range(depth):
        value = {"a": [value, 1.5]}
    replaced = _finite(value)
    for _ in range(depth):
        # Each level is copied whole: its finite number stays beside it.
        assert replaced["a"][1] == 1.5
        replaced = replaced["a"][0]
    assert replaced == ["Infinity"]


# 4. --chunk-rows beyond what a chunk may hold.


@pytest.mark.parametrize("value", ["99999999999999999999", "1000001"])
def test_chunk_rows_has_an_upper_bound(cli, value):
    result = cli("batch", "-e", "x", "--chunk-rows", value, input="x\n1\n")
    assert result.exit_code == 2
    assert result.stderr == "cgrad: error: --chunk-rows must be at most 1000000\n"
    assert result.stdout == ""


def test_chunk_rows_at_the_bound_is_accepted(cli):
    result = cli("batch", "-e", "x", "--chunk-rows", "1000000", input="x\n1\n")
    assert result.exit_code == 0


# 5. One unending line, or one too long, in bounded memory.


def _feed(descriptor: int, head: bytes) -> None:
    """``head``, then zeros until the reader stops reading."""
    zeros = bytes(1 << 20)
    with open(descriptor, "wb", buffering=0) as pipe:
        try:
            pipe.write(head)
            while True:
                pipe.write(zeros)
        except OSError:  # the reader is gone: a broken pipe
            pass


# Runs cgrad and reports its peak memory. A process of its own: a child
# forked from the test runner would count the runner's memory as its own.
_MEASURED = """
import resource, subprocess, sys
status = subprocess.call([sys.executable, "-m", "cgrad", *sys.argv[1:]])
sys.stderr.write(f"peak {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.exit(status)
"""


def _run_fed(arguments: list[str], head: bytes):
    """Run cgrad with ``head`` and endless zeros on stdin: its exit code,
    stdout, stderr and peak resident memory in KiB."""
    reading, writing = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-c", _MEASURED, *arguments],
        stdin=reading,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(reading)
    feeder = threading.Thread(target=_feed, args=(writing, head))
    feeder.start()
    stdout, stderr = process.communicate(timeout=300)
    feeder.join(timeout=60)
    stderr, _, peak = stderr.rpartition(b"peak ")
    return process.returncode, stdout, stderr, int(peak)


@pytest.mark.parametrize(
    ("input_format", "head", "row"),
    [("ndjson", b'{"x": 1}\n', 2), ("csv", b"x\n1\n", 2), ("ndjson", b"", 1)],
)
def test_an_unending_line_ends_the_run_in_bounded_memory(input_format, head, row):
    arguments = ["batch", "-e", "x", "--input-format", input_format]
    status, stdout, stderr, peak = _run_fed(arguments, head)
    assert status == 1, stderr
    records = records_of(stdout.decode())
    assert [r["row"] for r in records] == list(range(1, row + 1))
    assert records[-1]["error"] == {
        "type": "invalid_row",
        "message": f"line {row + (input_format == 'csv')}: no end in the first 256 MiB "
        "of the line; the rest of the input was not read",
    }
    # The line was 256 MiB and more; what the run held stayed far below.
    assert peak < 500_000  # KiB


def test_dev_zero_as_csv_is_a_usage_error():
    result = run_cgrad("batch", "/dev/zero", "--input-format", "csv", "-e", "x")
    assert result.returncode == 2
    assert result.stderr == (
        b"cgrad: error: cannot read the header: no end in the first 256 MiB of the line; "
        b"the rest of the input was not read\n"
    )


@pytest.mark.parametrize("input_format", ["csv", "ndjson", "json"])
def test_a_line_over_the_limit_is_an_error_record_and_reading_goes_on(cli, input_format):
    long = "z" * (17 << 20)
    if input_format == "csv":
        text, where = f"x,s\n1,a\n2,{long}\n3,c\n", "line 3: the line"
    elif input_format == "ndjson":
        text = '{"x": 1}\n{"x": 2, "s": "' + long + '"}\n{"x": 3}\n'
        where = "line 2: the line"
    else:
        text = '[{"x": 1}, {"x": 2, "s": "' + long + '"}, {"x": 3}]'
        where = "element 2: the element"
    result = cli("batch", "-e", "x", "--input-format", input_format, input=text)
    assert result.exit_code == 1
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"] == {
        "type": "invalid_row",
        "message": f"{where} is longer than 16 MiB",
    }
    assert records[2]["value"] == 3.0


# 6. JSON arrays: a deep element, a big element.


def test_a_deep_element_of_a_json_array_is_one_error_record(cli):
    deep = "[" * 1000 + "]" * 1000
    text = '[{"x": 1}, {"x": 2, "c": ' + deep + '}, {"x": 3}]'
    result = cli("batch", "-e", "x", "--input-format", "json", input=text)
    assert result.exit_code == 1
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"] == {
        "type": "invalid_json",
        "message": "element 2: nested too deeply",
    }
    assert records[2]["value"] == 3.0


def test_a_bad_element_does_not_end_the_array(cli):
    text = '[{"x": 1}, {"x": tru}, {"x": "\\"]"}, {"x": 4}]'
    result = cli("batch", "-e", "x", "--input-format", "json", input=text)
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3, 4]
    assert records[1]["error"]["message"] == "element 2: invalid JSON (Expecting value)"
    assert records[2]["error"]["message"] == "the value of x is not a number: '\"]'"
    assert records[3]["value"] == 4.0


def test_an_unfinished_element_still_says_the_rest_cannot_be_read(cli):
    result = cli("batch", "-e", "x", "--input-format", "json", input='[{"x": 1}, {"x": ')
    records = records_of(result.stdout)
    assert records[1]["error"]["message"] == (
        "element 2: invalid JSON (Expecting value); the rest of the array cannot be read"
    )


def _decoded_characters(monkeypatch) -> list[int]:
    """Count the characters the json module's decoder gets through."""
    counted = [0]
    original = json.JSONDecoder.raw_decode

    def counting(self, s, idx=0):
        try:
            value, end = original(self, s, idx)
        except json.JSONDecodeError:
            counted[0] += len(s) - idx  # a cut element is read to the end
            raise
        counted[0] += end - idx
        return value, end

    monkeypatch.setattr(json.JSONDecoder, "raw_decode", counting)
    return counted


@pytest.mark.parametrize("size", [1 << 20, 4 << 20])
def test_a_big_element_is_decoded_once(monkeypatch, size):
    counted = _decoded_characters(monkeypatch)
    data = ('[{"x": 1, "s": "' + "a\\n" * (size // 3) + '"}, {"x": 2}]').encode()
    found = list(Records(io.BytesIO(data), Format.JSON))
    assert [r.error for r in found] == [None, None]
    # Once for the element, and once more at most for a first try cut short
    # by the end of a buffer: linear, where decoding from the element's
    # start after every read took time in the square of its size.
    assert counted[0] <= 2 * len(data) + (1 << 17)


def test_json_elements_are_found_across_buffer_ends(monkeypatch):
    # Escapes, brackets in strings and bare values placed to fall on the
    # boundaries of small reads.
    values = [{"s": 'a\\"b[{', "t": ["]", "}", "\\\\"]}, 12345, "x,y", [], {}, None, -1.5e3]
    text = json.dumps(values)
    for size in (1, 2, 3, 7):
        monkeypatch.setattr(json_elements, "_READ_SIZE", size)
        scanner = json_elements.ElementScanner(io.StringIO(text).read, 1 << 20, 1 << 22)
        assert [json.loads(e.text) for e in scanner.elements()] == values


# 7. CSV that the csv module reads leniently: stray quotes, unclosed quotes.


def test_text_after_a_closing_quote_is_an_error_not_a_number(cli):
    result = cli("batch", "-e", "x+y", input='x,y\n1,2\n3,"4"5\n6,7\n')
    assert result.exit_code == 1
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"] == {
        "type": "invalid_row",
        "message": "line 3: a closing quote is followed by more text in its field",
    }
    assert records[2]["value"] == 13.0


def test_an_unclosed_quote_in_the_last_field_names_the_lines_it_took(cli):
    result = cli("batch", "-e", "x+y", input='x,y\n1,"2\n3,4\n5,6\n')
    assert result.exit_code == 1
    assert records_of(result.stdout) == [
        {
            "row": 1,
            "error": {
                "type": "invalid_row",
                "message": "lines 2 to 4: a quote that is never closed takes in the lines after it",
            },
        }
    ]


def test_an_unclosed_quote_closed_by_a_later_one_is_still_caught(cli):
    # The quote opened on line 3 is "closed" on line 5, where text follows it.
    result = cli("batch", "-e", "x+y", input='x,y\n1,2\n3,"4\n5,6\n7,"8"\n9,10\n')
    records = records_of(result.stdout)
    assert [r["row"] for r in records] == [1, 2, 3]
    assert records[1]["error"]["message"] == (
        "lines 3 to 5: a closing quote is followed by more text in its field"
    )
    assert records[2]["value"] == 19.0


# 8. Many columns: linear.


def _batch_seconds(columns: int) -> float:
    names = ",".join(f"c{i}" for i in range(columns))
    text = f"x,{names}\n" + "".join(f"{r}," + ",".join(["1"] * columns) + "\n" for r in range(3))
    best = math.inf
    for _ in range(2):
        started = time.perf_counter()
        records = Records(io.BytesIO(text.encode()), Format.CSV)
        function = cgrad.compile("x")
        out = io.StringIO()
        from cgrad.batch.writers import WRITERS, Layout, OutputFormat

        layout = Layout(inputs=("x",), carried=tuple(records.header[1:]))
        for output_format in (OutputFormat.NDJSON, OutputFormat.CSV):
            writer = WRITERS[output_format](out, layout)
            for block in batch.evaluate_blocks(records, function):
                writer.write(block)
            records = Records(io.BytesIO(text.encode()), Format.CSV)
        best = min(best, time.perf_counter() - started)
    return best


def test_time_is_linear_in_the_number_of_columns():
    small, large = _batch_seconds(2_500), _batch_seconds(40_000)
    # 16 times the columns: linear is about 16 times the time, quadratic 256.
    assert large < 64 * small


# 9. Records that each carry their own expression: bounded memory.


def test_distinct_expressions_are_not_all_kept_compiled(monkeypatch):
    alive: weakref.WeakSet = weakref.WeakSet()
    most = [0]
    original = batch.compile

    def compiling(text):
        function = original(text)
        alive.add(function)
        if len(alive) % 16 == 0:
            gc.collect()
        most[0] = max(most[0], len(alive))
        return function

    monkeypatch.setattr(batch, "compile", compiling)
    width = 300
    lines = []
    for r in range(400):
        names = [f"v{r}_{i}" for i in range(width)]
        lines.append(json.dumps({"expr": "+".join(names), **{n: 1 for n in names}}))
    data = ("\n".join(lines) + "\n").encode()
    outcomes = [
        o
        for chunk in batch.evaluate_blocks(Records(io.BytesIO(data), Format.NDJSON))
        for o in chunk
    ]
    assert [o.value for o in outcomes] == [float(width)] * 400
    held = batch.CACHE_CHARACTERS // len(json.loads(lines[0])["expr"])
    assert most[0] <= held + 16


def test_wide_records_make_short_chunks():
    record = json.dumps({f"v{i}": 1 for i in range(100_000)})
    data = ((record + "\n") * 12).encode()
    chunks = list(Records(io.BytesIO(data), Format.NDJSON).blocks(4096))
    assert sum(map(len, chunks)) == 12
    assert max(map(len, chunks)) <= rows.MAX_CHUNK_FIELDS // 100_000 + 1


# 10. CSV output read back by Python's csv module and by pandas.

FIELD = st.text(alphabet=st.sampled_from(list("ab \",\n\r;'é")), max_size=8)


@settings(max_examples=25, deadline=None)
@example(rows_=[('"p1"', ' a,"b" '), ("p\r2", "x\r\ny")], bad=False)
@example(rows_=[('"p1"', ' a,"b" '), ("p\r2", "x\r\ny")], bad=True)
@given(rows_=st.lists(st.tuples(FIELD, FIELD), min_size=1, max_size=8), bad=st.booleans())
def test_csv_output_reads_back_identical(rows_, bad):
    source = io.StringIO()
    # Every field quoted: Python 3.11's writer leaves a lone "\r" bare.
    writer = csv.writer(source, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(["id", "x", "note"])
    for index, (ident, note) in enumerate(rows_):
        writer.writerow([ident, index, note])
    if bad:  # the record-by-record path as well as the columnar one
        writer.writerow(["q", "not a number", "n"])
    # Through a real process: the test runner's streams translate "\r\n".
    result = run_cgrad("batch", "-e", "x", "--format", "csv", input=source.getvalue().encode())
    assert result.returncode == (1 if bad else 0), result.stderr
    expected = [(ident, note) for ident, note in rows_] + ([("q", "n")] if bad else [])
    output = result.stdout.decode()
    back = list(csv.DictReader(io.StringIO(output, newline="")))
    assert [(r["id"], r["note"]) for r in back] == expected
    frame = pd.read_csv(io.StringIO(output, newline=""), dtype=str, keep_default_na=False)
    assert list(zip(frame["id"], frame["note"], strict=True)) == expected


@pytest.mark.parametrize(
    ("suffix", "text", "where"),
    [
        (".ndjson", '{"x": 1}\n{"x": 2, "x": 5}\n{"x": 3}\n', "line 2"),
        (".json", '[{"x": 1}, {"x": 2, "x": 5}, {"x": 3}]', "element 2"),
    ],
)
def test_a_key_given_twice_is_an_error_record(tmp_path, suffix, text, where):
    # json keeps the last value: the record was read as x = 5, exit 0.
    path = tmp_path / f"points{suffix}"
    path.write_text(text)
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    message = f'{where}: the key \\"x\\" appears more than once'
    assert completed.stdout.splitlines() == [
        '{"row": 1, "inputs": {"x": 1.0}, "value": 1.0, "gradient": {"x": 1.0}}',
        f'{{"row": 2, "error": {{"type": "invalid_json", "message": "{message}"}}}}',
        '{"row": 3, "inputs": {"x": 3.0}, "value": 3.0, "gradient": {"x": 1.0}}',
    ]
