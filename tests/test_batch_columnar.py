"""The columnar engine (Arrow's CSV reader, block by block) against the
record reader: the same bytes out for the same input, clean or not, in
every output format, whatever the blocks' size; bad rows keep their row
numbers, lines and errors under every --on-error."""

from __future__ import annotations

import itertools
import math
import struct
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgrad.batch import arrow_text, columnar, delimited_expressions, json_text
from cgrad.numerals import number_texts

# Below the default chunk, the command uses the record reader (see
# cli/batch_io.open_records): the same input run both ways.
RECORD_PATH = ["--chunk-rows", "4095"]


def _both(cli, data: str | bytes, *arguments: str):
    """The outputs of the columnar and of the record path."""
    columnar_run = cli("batch", *arguments, input=data)
    record_run = cli("batch", *arguments, *RECORD_PATH, input=data)
    return columnar_run, record_run


def _same(cli, data: str | bytes, *arguments: str):
    columnar_run, record_run = _both(cli, data, *arguments)
    assert columnar_run.stdout_bytes == record_run.stdout_bytes
    assert columnar_run.stderr == record_run.stderr
    assert columnar_run.exit_code == record_run.exit_code
    return columnar_run


def _float_text(value: float) -> str:
    return repr(value)


FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                     1e-5, 1e16, 1e22, 123456789.123, math.inf, -math.inf, math.nan]),
    st.integers(0, 2**64 - 1).map(lambda bits: struct.unpack("<d", struct.pack("<Q", bits))[0]),
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(FLOATS, FLOATS), min_size=1, max_size=30),
       output=st.sampled_from(["csv", "tsv", "ndjson", "json"]))  # fmt: skip
def test_columnar_and_record_paths_write_the_same_bytes(cli, small_blocks, rows, output):
    text = "x,y\n" + "".join(f"{_float_text(x)},{_float_text(y)}\n" for x, y in rows)
    _same(cli, text, "-e", "x*y + exp(x/1e300)", "--format", output)


# Inputs with something for the record reader to say, in each place a block
# can put it: in the first block, in a later one, at the end, across blocks.
BAD_INPUTS = {
    "not a number": "x,y\n1,2\n3,4\nfive,6\n7,8\n9,10\n",
    "an empty field": "x,y\n1,2\n,4\n5,6\n",
    "too many fields": "x,y\n1,2\n3,4,5\n6,7\n8,9\n10,11\n",
    "too few fields": "x,y\n1,2\n3\n4,5\n",
    "digit separators": "x,y\n1_000,2\n3,4\n",
    "a quote later on": 'x,y\n1,2\n3,4\n5,6\n"7",8\n"9"0,1\n2,3\n',
    "a quoted line break": 'x,y,note\n1,2,a\n3,4,"b\nc"\n5,6,d\n',
    "a quote in the header": '"x",y\n1,2\n3,4\n',
    "blank lines": "\nx,y\n\n1,2\n\n\n3,4\n\n",
    "CRLF line ends": "x,y\r\n1,2\r\n3,4\r\n",
    "a lone carriage return": "x,y\n1,2\r3,4\n5,6\n",
    "NaN spelled as Arrow reads it": "x,y\n1,2\nnan(1),3\nNaN,4\n",
    "a warning": "x,y\n1,2\n0,0\n-1,3\n4,5\n",
    "spaces around numbers": "x,y\n 1 ,2\n3, 4\n",
    "Unicode digits": "x,y\n\u0663,2\n3,4\n",
    "no final line break": "x,y\n1,2\n3,4",
    "a missing column": "x\n1\n2\n",
    "a BOM on a blank first line": "\ufeff\n\nx,y\n1,2\n\n3,z\n",
    "a quoted header after blank lines": '\n\n"x",y\n1,2\n\n3,4,5\n',
    "a wrong field count after blank lines": "\n\nx,y\n1,2\n\n3,4,5\n",
}


@pytest.mark.parametrize("on_error", ["record", "skip", "fail"])
@pytest.mark.parametrize("output", ["ndjson", "csv"])
@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_rows_read_as_the_record_reader_reads_them(cli, small_blocks, data, output, on_error):
    _same(cli, data, "-e", "sqrt(x)*y + log(y)", "--format", output, "--on-error", on_error)


@pytest.mark.parametrize("data", [b"x,y\n1,2\n3,\xff4\n5,6\n", b"x,y\n1,2\n3,4\n\xffa,b\n"])
def test_invalid_utf8_read_as_the_record_reader_reads_it(cli, small_blocks, data):
    _same(cli, data, "-e", "x*y")


def test_a_bad_row_keeps_its_row_number_and_line_past_many_blocks(cli, small_blocks):
    lines = [f"{i},{i + 1}" for i in range(1, 200)]
    lines[149] = "1,two"  # row 150, on line 151 (the header is line 1)
    result = _same(cli, "x,y\n" + "\n".join(lines) + "\n", "-e", "x*y", "--format", "csv")
    assert result.exit_code == 1
    rows = result.stdout.splitlines()
    assert len(rows) == 200  # the header and one line per record
    # (x, which it has, is kept beside the error)
    assert rows[150] == "150,1.0,,,,,invalid_value: the value of y is not a number: 'two',"
    assert rows[151].startswith("151,151.0,152.0,")
    assert result.stderr == (
        "cgrad: error: 1 of 199 records failed and are error records in the output "
        "(first: row 150: invalid_value: the value of y is not a number: 'two')\n"
    )


def test_a_wrong_field_count_names_its_line_past_many_blocks(cli, small_blocks):
    lines = ["", *(f"{i},{i}" for i in range(1, 100)), ""]
    lines[60] = "1,2,3"
    result = _same(cli, "x,y\n" + "\n".join(lines), "-e", "x*y")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[59] == (
        '{"row": 60, "error": {"type": "invalid_row", "message": '
        '"line 62: expected 2 fields, found 3"}}'
    )


def test_carried_columns_and_ids_pass_through_unchanged(cli, small_blocks):
    data = "id,x,note,y\na1,1,007,2\na2,3, spaced ,4\n"
    result = _same(cli, data, "-e", "x*y", "--format", "csv")
    assert result.stdout.splitlines() == [
        "row,id,x,y,note,value,grad_x,grad_y,error,warnings",
        "1,a1,1.0,2.0,007,2.0,2.0,1.0,,",
        "2,a2,3.0,4.0, spaced ,12.0,4.0,3.0,,",
    ]


def test_tsv_in_the_columnar_engine(cli, small_blocks):
    data = "x\ty\tnote\n1\t2\ta,b\n3\t4\tc\n"
    result = _same(cli, data, "-e", "x*y", "--input-format", "tsv", "--format", "tsv")
    assert result.stdout.splitlines() == [
        "row\tx\ty\tnote\tvalue\tgrad_x\tgrad_y\terror\twarnings",
        "1\t1.0\t2.0\ta,b\t2.0\t2.0\t1.0\t\t",
        "2\t3.0\t4.0\tc\t12.0\t4.0\t3.0\t\t",
    ]


def test_the_record_count_is_the_input_count(cli, small_blocks):
    lines = "".join(f"{i},{'x' if i % 7 == 0 else i}\n" for i in range(1000))
    result = cli("batch", "-e", "x+y", input="x,y\n" + lines)
    assert len(result.stdout.splitlines()) == 1000


def test_clean_blocks_are_read_by_arrow_and_others_by_the_record_reader(
    cli, small_blocks, monkeypatch
):
    answers = []
    parse = columnar._Parser.block

    def spy(self, block, rows, wrt):
        answer = parse(self, block, rows, wrt)
        answers.append(answer is not None)
        return answer

    monkeypatch.setattr(columnar._Parser, "block", spy)
    lines = "".join(f"{i},{i}\n" for i in range(1, 40))
    result = cli("batch", "-e", "x*y", input="x,y\n" + lines + "1,z\n" + lines)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 79
    # Every block but the one with the bad row went through Arrow.
    assert answers.count(False) == 1 and answers.count(True) > 10


@settings(max_examples=200, deadline=None)
@given(numbers=st.lists(FLOATS, min_size=1, max_size=50),
       texts=st.lists(st.text(), min_size=50, max_size=50))  # fmt: skip
def test_arrow_joins_columns_into_the_same_text_as_python(numbers, texts):
    # Once pyarrow is loaded, blocks of outcomes are written by its kernels;
    # without it, by lists of Python strings: the same bytes.
    column = np.array(numbers)
    count = len(numbers)
    segments = ['{"row": ', ', "id": ', ', "x": ', ", ", "}\n"]
    rows = json_text.row_numbers(5, count)
    columns = [rows, texts[:count], column, np.array(1.5)]
    expected = json_text._interleaved(
        segments,
        [[str(r) for r in range(5, 5 + count)], texts[:count], number_texts(column),
         number_texts(np.full(count, 1.5))],
        count,
    )  # fmt: skip
    assert arrow_text.interleaved(segments, columns, count) == expected
    assert arrow_text.number_array(column).to_pylist() == [t.encode() for t in number_texts(column)]


@settings(max_examples=200, deadline=None)
@given(columns=st.integers(1, 4).flatmap(
           lambda width: st.lists(st.lists(FLOATS, min_size=width, max_size=width),
                                  min_size=1, max_size=40)),
       delimiter=st.sampled_from([",", "\t", ";", "é"]),
       ending=st.sampled_from(["{0}{0}\n", "\n", "", "é\n"]))  # fmt: skip
def test_numbers_side_by_side_are_joined_as_one_run_into_the_same_text(columns, delimiter, ending):
    # A CSV/TSV row's numbers are written by one dump of their matrix and
    # split at row ends: the same bytes as number by number, whatever
    # follows them (a run takes the first byte of that, if ASCII).
    matrix = np.array(columns, dtype=np.float64)
    count, width = matrix.shape
    floats = [matrix[:, at] for at in range(width)]
    segments = ["", delimiter, *[delimiter] * (width - 1), ending.format(delimiter)]
    rows = json_text.row_numbers(1, count)
    expected = json_text._interleaved(
        segments, [[str(r) for r in range(1, count + 1)], *map(number_texts, floats)], count
    )
    assert arrow_text.interleaved(segments, [rows, *floats], count) == expected
    if delimiter.isascii():
        texts = [number_texts(column) for column in floats]
        # Rows with numbers orjson writes otherwise are made again one by
        # one when few and a column at a time when many: both the same.
        for few, end in itertools.product((arrow_text.FEW_REDONE, 0), ("\n", ",;\n")):
            expected = [(delimiter.join(row) + end).encode() for row in zip(*texts, strict=True)]
            with mock.patch.object(arrow_text, "FEW_REDONE", few):
                assert arrow_text.number_rows(floats, count, delimiter, end).to_pylist() == expected


@pytest.mark.parametrize("expression", [["-e", "x*y"], []], ids=["one expression", "their own"])
def test_a_block_holds_a_bounded_number_of_lines_however_short(cli, monkeypatch, expression):
    # Memory goes with a block's records: short lines must not pack a
    # megabyte's worth of them into one block.
    # (the default --chunk-rows, 4,096, is the least a block may hold)
    monkeypatch.setattr(columnar, "BLOCK_ROWS", 5000)
    lines_per_block: list[int] = []
    parser = columnar._Parser if expression else delimited_expressions.DelimitedExpressionParser
    parse = parser.block

    def spy(self, block, rows, wrt):
        lines_per_block.append(block.count(b"\n"))
        return parse(self, block, rows, wrt)

    monkeypatch.setattr(parser, "block", spy)
    header = "x,y\n" if expression else "expr,x,y\n"
    body = "".join(f"{'' if expression else 'x*y,'}{i % 10},2\n" for i in range(50_000))
    result = cli("batch", *expression, "--format", "csv", input=header + body)
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 50_001
    assert sum(lines_per_block) == 50_000
    assert len(lines_per_block) >= 10 and max(lines_per_block) <= 5500
