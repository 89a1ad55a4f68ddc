"""CSV and TSV records with their own expressions (an ``expr`` column),
through Arrow's CSV reader and evaluated an expression at a time
(batch/delimited_expressions.py), against the record reader: the same
bytes out for the same input in every output format; a block with
anything the record reader must judge (a bad expression, a text that is
no number where an expression needs one, NaN, an id, a quote, a warning)
goes to it whole, and row numbers go on past it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgrad.batch import delimited_expressions

RECORD_PATH = ["--chunk-rows", "4095"]
OUTPUTS = ["csv", "tsv", "ndjson", "json"]


@pytest.fixture
def arrow_answers(block_answers):
    return block_answers(delimited_expressions.DelimitedExpressionParser)


@pytest.fixture
def same(cli):
    """Run ``cgrad batch`` through Arrow's reader and through the record
    reader, assert the same stdout, stderr and exit status, return the first."""

    def run(data: str, *arguments: str):
        arrow_run = cli("batch", *arguments, input=data)
        record_run = cli("batch", *arguments, *RECORD_PATH, input=data)
        assert arrow_run.stdout_bytes == record_run.stdout_bytes
        assert arrow_run.stderr == record_run.stderr
        assert arrow_run.exit_code == record_run.exit_code
        return arrow_run

    return run


EXPRESSIONS = ["x*y", "sin(x) + y^2", "x", "2", "exp(x/1e300)*y", "log(x)", "x+", "y - x*w"]
CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "-0", "1e400", "NaN", "nan", "inf", "1_000", " 2", "word", "a\\b", "é"]),
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(EXPRESSIONS), CELLS, CELLS, CELLS), min_size=1, max_size=25
    ),
    delimiter=st.sampled_from([",", "\t"]),
    output=st.sampled_from(OUTPUTS),
    fixed=st.sampled_from([[], ["w=2"], ["x=5"]]),
)
def test_arrow_and_record_paths_write_the_same_bytes(
    same, small_blocks, rows, delimiter, output, fixed
):
    header = delimiter.join(["expr", "x", "y", "note"])
    text = "".join(delimiter.join(row) + "\n" for row in rows)
    form = "csv" if delimiter == "," else "tsv"
    same(f"{header}\n{text}", "--input-format", form, "--format", output, *fixed)


def _clean(count: int, start: int = 0) -> list[str]:
    expressions = ["x*y", "sin(x) + y", "x - 2*y", "3*x"]
    return [f"{expressions[i % 4]},{i + 1},{0.5 * i},n{i}" for i in range(start, start + count)]


@pytest.mark.parametrize("output", OUTPUTS)
def test_clean_blocks_go_through_arrow_and_a_bad_one_keeps_its_row(
    same, small_blocks, arrow_answers, output
):
    lines = ["expr,x,y,note", *_clean(150)]
    lines[100] = "x*,1,2,n"  # row 100
    result = same("\n".join(lines) + "\n", "--format", output)
    assert result.exit_code == 1
    assert arrow_answers.count(False) == 1 and arrow_answers.count(True) > 10


def test_records_through_arrow_are_what_the_library_gives(cli, small_blocks, arrow_answers):
    import json

    import cgrad

    result = cli("batch", "--format", "ndjson", input="expr,x,y,note\n" + "\n".join(_clean(40)))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert arrow_answers and all(arrow_answers)
    for record, line in zip(records, _clean(40), strict=True):
        expression, x, y, note = line.split(",")
        function = cgrad.compile(expression)
        given = {"x": float(x), "y": float(y)}
        inputs = {name: given[name] for name in function.inputs}
        answer = function.evaluate(**inputs)
        assert record["inputs"] == inputs
        assert record["value"] == answer.value
        assert record["gradient"] == answer.gradient
        # A column the expression does not use is carried, as its text.
        unused = {"x": x, "y": y, "note": note}
        assert record["extra"] == {k: v for k, v in unused.items() if k not in inputs}


def test_an_id_column_goes_to_the_record_reader(same, small_blocks, arrow_answers):
    lines = ["expr,x,id", *(f"x*2,{i},p{i}" for i in range(30))]
    result = same("\n".join(lines) + "\n", "--format", "csv")
    assert result.exit_code == 0
    assert arrow_answers == []  # Arrow's reader is not even set up


@pytest.mark.parametrize(
    "data",
    ["expr,x\n\n", "expr,x\nx*2,1\n" + "\n" * 40 + "x+1,3\n", "expr,x\n\n\n\nx*2,1\n"],
    ids=["a header and a blank line", "a block of blank lines", "blank lines first"],
)
@pytest.mark.parametrize("output", OUTPUTS)
def test_a_block_of_blank_lines_is_no_record(same, small_blocks, data, output):
    result = same(data, "--format", output)
    assert result.exit_code == 0
    assert "error" not in result.stderr


@pytest.mark.parametrize("output", [*OUTPUTS, "parquet"])
def test_records_with_warnings_stay_with_arrow_each_with_its_own(
    same, small_blocks, arrow_answers, output
):
    # log of a negative number: NaN, and a warning worded with the record's
    # own number, in every format and in the summary on stderr.
    lines = ["expr,x,y", *(f"{'log(x)*y' if i % 3 else 'x*y'},{i - 20},2" for i in range(60))]
    result = same("\n".join(lines) + "\n", "--format", output)
    assert result.exit_code == 0
    assert arrow_answers and all(arrow_answers)
    assert "is NaN for" in result.stderr or "is -Infinity" in result.stderr
