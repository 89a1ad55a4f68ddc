"""NDJSON through Arrow's JSON reader, block by block, against the record
reader: the same bytes out for the same input, clean or not, in every
output format; whatever Arrow reads otherwise than Python's json module
(NaN and Infinity spellings, an integer -0, two objects on a line, a field
missing) goes to the record reader, which keeps each bad row's number,
line and error."""

from __future__ import annotations

import gzip
import json
import math
import struct
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgrad.batch import json_columns

# Below the default chunk, the command uses the record reader (see
# cli/batch_io.open_records): the same input run both ways.
RECORD_PATH = ["--chunk-rows", "4095"]


@pytest.fixture
def arrow_answers(block_answers):
    return block_answers(json_columns._JsonParser)


FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                     1e-5, 1e16, 1e22, 123456789.123]),
    st.integers(0, 2**64 - 1).map(lambda bits: struct.unpack("<d", struct.pack("<Q", bits))[0]),
).filter(math.isfinite)  # fmt: skip
# How a number may be written in JSON: shortest, as an integer, with an
# exponent, or with more digits than a float holds.
NUMBER_TEXTS = st.one_of(
    FLOATS.map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["-0", "0", "1E+2", "1e-400", "-0.0", "0.1000000000000000055511151231257827",
                     "123456789012345678901234567890e-20", "NaN", "Infinity", "-Infinity"]),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(NUMBER_TEXTS, NUMBER_TEXTS), min_size=1, max_size=30),
       output=st.sampled_from(["csv", "ndjson", "json"]))  # fmt: skip
def test_arrow_and_record_paths_write_the_same_bytes(same_ndjson, cli, small_blocks, rows, output):
    text = "".join(f'{{"x":{x},"y":{y}}}\n' for x, y in rows)
    same_ndjson(text, "-e", "x*y + exp(x/1e300)", "--format", output)


# Inputs with something for the record reader to say (or to read its own
# way), in each place a block can put it.
BAD_INPUTS = {
    "a number as text": '{"x":1,"y":2}\n{"x":"3","y":4}\n{"x":5,"y":6}\n',
    "a boolean": '{"x":1,"y":2}\n{"x":true,"y":4}\n',
    "null": '{"x":1,"y":2}\n{"x":null,"y":4}\n',
    "a field missing": '{"x":1,"y":2}\n{"x":3}\n{"x":5,"y":6}\n',
    "a field more": '{"x":1,"y":2}\n{"x":3,"y":4,"note":"a"}\n',
    "an id": '{"id":"a","x":1,"y":2}\n{"id":7,"x":3,"y":4}\n',
    "an expression field": '{"x":1,"y":2,"expr":"x"}\n',
    "a key twice": '{"x":1,"y":2}\n{"x":3,"x":4,"y":5}\n',
    "two objects on a line": '{"x":1,"y":2}\n{"x":3,"y":4}{"x":5,"y":6}\n{"x":7,"y":8}\n',
    "an object over two lines": '{"x":1,"y":2}\n{"x":3,\n"y":4}\n{"x":5,"y":6}\n',
    "NaN and infinities": '{"x":NaN,"y":2}\n{"x":Infinity,"y":2}\n{"x":-Infinity,"y":1}\n',
    "infinities as Arrow spells them": '{"x":1,"y":2}\n{"x":Inf,"y":2}\n{"x":-Inf,"y":1}\n',
    "an integer -0": '{"x":-0,"y":2}\n{"x":-0.0,"y":2}\n',
    "a number past float64": '{"x":1e400,"y":2}\n{"x":1,"y":2}\n',
    "an integer past float64": '{"x":1' + "0" * 400 + ',"y":2}\n',
    "blank lines": '\n{"x":1,"y":2}\n\n\n{"x":3,"y":4}\n\n',
    "blank lines with spaces": '  \n{"x":1,"y":2}\n \t \n{"x":3,"y":4}\n',
    "CRLF line ends": '{"x":1,"y":2}\r\n\r\n{"x":3,"y":4}\r\n',
    "a byte-order mark": '\ufeff{"x":1,"y":2}\n{"x":3,"y":4}\n',
    "spaces before a record": '{"x":1,"y":2}\n   {"x":3,"y":4}\n',
    "invalid JSON": '{"x":1,"y":2}\n{"x":01,"y":2}\n{"x":1,"y":2,}\n{x:1}\n',
    "text after a record": '{"x":1,"y":2}\n{"x":3,"y":4} tail\n',
    "an array and a number": '{"x":1,"y":2}\n[1,2]\n5\n"text"\n',
    "a nested object": '{"x":{"v":1},"y":2}\n{"x":1,"y":2}\n',
    "an escaped key": '{"\\u0078":1,"y":2}\n{"x":3,"y":4}\n',
    "a warning": '{"x":1,"y":2}\n{"x":-1,"y":2}\n{"x":0,"y":3}\n',
    "no final line break": '{"x":1,"y":2}\n{"x":3,"y":4}',
}


@pytest.mark.parametrize("on_error", ["record", "skip", "fail"])
@pytest.mark.parametrize("output", ["ndjson", "csv"])
@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_rows_read_as_the_record_reader_reads_them(
    same_ndjson, cli, small_blocks, data, output, on_error
):
    same_ndjson(data, "-e", "sqrt(x)*y + log(y)", "--format", output, "--on-error", on_error)


@pytest.mark.parametrize("data", [b'{"x":1,"y":2}\n{"x":\xff3,"y":4}\n', b'{"\xff":1}\n'])
def test_invalid_utf8_read_as_the_record_reader_reads_it(same_ndjson, cli, small_blocks, data):
    same_ndjson(data, "-e", "x*y")


def test_a_bad_row_keeps_its_row_number_and_line_past_many_blocks(
    same_ndjson, cli, small_blocks, arrow_answers
):
    lines = [json.dumps({"x": i, "y": i + 1}) for i in range(1, 200)]
    lines[149] = '{"x":1,"y":"two"}'  # row 150, line 152 (after two blank lines)
    data = "\n\n" + "\n".join(lines) + "\n"
    result = same_ndjson(data, "-e", "x*y", "--format", "ndjson")
    assert result.exit_code == 1
    rows = result.stdout.splitlines()
    assert len(rows) == 199
    assert json.loads(rows[149]) == {
        "row": 150,
        "error": {"type": "invalid_value", "message": "the value of y is not a number: 'two'"},
    }
    assert json.loads(rows[150])["row"] == 151
    # Every block but the one with the bad row went through Arrow.
    assert arrow_answers.count(False) == 1 and arrow_answers.count(True) > 10


def test_a_value_given_on_the_command_line_fills_a_field_no_record_has(
    same_ndjson, cli, small_blocks, arrow_answers
):
    data = "".join(json.dumps({"x": i}) + "\n" for i in range(1, 40))
    result = same_ndjson(data, "-e", "x*w", "w=2", "--format", "csv")
    assert result.stdout.splitlines()[:3] == [
        "row,id,x,w,value,grad_x,grad_w,extra,error,warnings",
        "1,,1.0,2.0,2.0,2.0,1.0,,,",
        "2,,2.0,2.0,4.0,2.0,2.0,,,",
    ]
    assert arrow_answers and all(arrow_answers)


def test_the_record_count_is_the_input_count(cli, small_blocks):
    lines = "".join(f'{{"x":{i},"y":{"true" if i % 7 == 0 else i}}}\n' for i in range(1000))
    result = cli("batch", "-e", "x+y", input=lines)
    assert len(result.stdout.splitlines()) == 1000


def test_a_null_is_not_filled_by_a_value_given_on_the_command_line(same_ndjson, cli):
    result = same_ndjson('{"x":null,"y":1}\n', "-e", "x+y", "x=5")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == {
        "type": "invalid_value",
        "message": "the value of x is not a number: null",
    }


@pytest.mark.parametrize("arguments", [["-e", "id*y"], ["-e", "x*y", "--column", "x=id"]])
def test_an_input_read_from_the_id_field_keeps_the_id(same_ndjson, cli, arguments):
    result = same_ndjson('{"id":3,"y":1}\n', *arguments)
    assert json.loads(result.stdout)["id"] == 3


def test_a_pipe_is_answered_as_its_records_come(tmp_path):
    # The first record's line must come out while the input is still open;
    # the thread's timeout only guards against a hang, it measures nothing.
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x*y", "--input-format", "ndjson"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        process.stdin.write(b'{"x":1,"y":2}\n')
        process.stdin.flush()
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))
        reader.start()
        reader.join(timeout=120)
        assert lines and json.loads(lines[0])["value"] == 2.0
    finally:
        process.kill()
        process.wait()


def test_a_cut_short_compressed_input_keeps_the_records_before_the_cut(cli, tmp_path):
    path = tmp_path / "points.ndjson.gz"
    whole = "".join(json.dumps({"x": i, "y": 1}) + "\n" for i in range(200_000)).encode()
    path.write_bytes(gzip.compress(whole)[:300_000])
    result = cli("batch", str(path), "-e", "x*y")
    assert result.exit_code == 2
    assert result.stderr.startswith("cgrad: error: the gzip stream is corrupt or cut short")
    rows = [json.loads(line)["row"] for line in result.stdout.splitlines()]
    assert rows == list(range(1, len(rows) + 1)) and len(rows) > 1000
