"""NDJSON records with their own expressions, through Arrow's JSON reader
and evaluated an expression at a time (batch/json_expressions.py), against
the record reader: the same bytes out for the same input in every output
format; any block with something the record reader must say or carry
(a bad expression, a text number, an id, a field no expression uses, a
warning) goes to it whole, and row numbers go on past it."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgrad.batch import json_expressions

RECORD_PATH = ["--chunk-rows", "4095"]


@pytest.fixture
def arrow_answers(block_answers):
    return block_answers(json_expressions.ExpressionParser)


EXPRESSIONS = ["x*y", "sin(x) + y^2", "x", "2", "exp(x/1e300)*y", "log(x)", "x+", "y - x*x"]
VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["-0", "-0.0", "1e400", "NaN", "true", '"3"', "null"]),
)


@st.composite
def records(draw) -> str:
    fields = {"expr": json.dumps(draw(st.sampled_from(EXPRESSIONS)))}
    for name in draw(st.lists(st.sampled_from(["x", "y", "z", "id"]), unique=True, max_size=3)):
        fields[name] = draw(VALUES)
    return "{" + ",".join(f'"{key}":{value}' for key, value in fields.items()) + "}\n"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(records(), min_size=1, max_size=25),
       output=st.sampled_from(["csv", "ndjson", "json"]))  # fmt: skip
def test_arrow_and_record_paths_write_the_same_bytes(same_ndjson, cli, small_blocks, lines, output):
    same_ndjson("".join(lines), "--format", output, "--on-error", "record")


def _clean(count: int, start: int = 0) -> list[str]:
    expressions = ["x*y", "sin(x) + y", "x - 2*y", "3*x + y^2"]
    return [
        json.dumps({"expr": expressions[i % 4], "x": i + 1, "y": 0.5 * i})
        for i in range(start, start + count)
    ]


def test_clean_blocks_go_through_arrow_and_a_bad_one_keeps_its_row(
    same_ndjson, cli, small_blocks, arrow_answers
):
    lines = _clean(150)
    lines[99] = '{"expr": "x*", "x": 1}'  # row 100
    result = same_ndjson("\n".join(lines) + "\n")
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["row"] for row in rows] == list(range(1, 151))
    assert rows[99]["error"]["type"] == "syntax_error"
    assert rows[100] == {
        "row": 101,
        "expr": "x*y",
        "inputs": {"x": 101.0, "y": 50.0},
        "value": 5050.0,
        "gradient": {"x": 50.0, "y": 101.0},
    }
    assert arrow_answers.count(False) == 1 and arrow_answers.count(True) > 10


@pytest.mark.parametrize("output", ["csv", "tsv", "parquet"])
def test_every_output_format_takes_expression_blocks(
    same_ndjson, cli, small_blocks, arrow_answers, output
):
    same_ndjson("\n".join(_clean(60)) + "\n", "--format", output)
    assert arrow_answers and all(arrow_answers)


def test_the_table_for_people_takes_expression_blocks(cli, small_blocks, arrow_answers):
    # (its column widths come from the first chunk, so its bytes follow the chunks)
    result = cli("batch", "--format", "table", input="\n".join(_clean(60)) + "\n")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and len(lines) == 62
    assert lines[2].split() == ["1", "x*y", "x=1", "y=0", "0", "x=0", "y=1"]
    assert arrow_answers and all(arrow_answers)


def test_wrt_and_fixed_values_as_the_record_reader_takes_them(
    same_ndjson, cli, small_blocks, arrow_answers
):
    lines = [json.dumps({"expr": "x*w + y", "x": i, "y": 1}) for i in range(40)]
    lines += [json.dumps({"expr": "x*w", "x": i, "w": 3}) for i in range(40)]
    result = same_ndjson("\n".join(lines) + "\n", "w=2", "--wrt", "x")
    first, last = (json.loads(line) for line in result.stdout.splitlines()[:: len(lines) - 1])
    assert first["inputs"] == {"w": 2.0, "x": 0.0, "y": 1.0} and first["gradient"] == {"x": 2.0}
    assert last["inputs"] == {"w": 3.0, "x": 39.0} and last["gradient"] == {"x": 3.0}
    assert all(arrow_answers)
    # --wrt naming an input some expression lacks: its records fail, as before.
    same_ndjson("\n".join(lines) + "\n", "w=2", "--wrt", "y")


BAD_INPUTS = {
    "an id": '{"expr":"x","x":1}\n{"id":"a","expr":"x","x":2}\n',
    "a field no expression uses": '{"expr":"x","x":1}\n{"expr":"x","x":2,"z":3}\n',
    "a null": '{"expr":"x","x":1}\n{"expr":"x","x":2,"y":null}\n',
    "no expression": '{"expr":"x","x":1}\n{"x":2}\n',
    "an expression that is not text": '{"expr":"x","x":1}\n{"expr":5,"x":2}\n',
    "a quote in an expression": '{"expr":"x","x":1}\n{"expr":"x\\"","x":2}\n',
    "a warning": '{"expr":"log(x)","x":1}\n{"expr":"log(x)","x":-1}\n',
    "an input missing": '{"expr":"x*y","x":1,"y":2}\n{"expr":"x*y","x":2}\n',
    "a key twice": '{"expr":"x","x":1}\n{"expr":"x","x":2,"x":3}\n',
    "spaces around a colon": '{"expr" : "x", "x" : 1}\n',
    "an integer -0 among decimals": '{"expr":"x","x":1.5}\n{"expr":"x","x":-0}\n',
    "a null hidden by a quoted colon": '{"expr":"x","x":1}\n{"expr":"x+\\":","x":2,"y":null}\n',
}


@pytest.mark.parametrize("on_error", ["record", "skip", "fail"])
@pytest.mark.parametrize("data", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_records_read_as_the_record_reader_reads_them(
    same_ndjson, cli, small_blocks, data, on_error
):
    same_ndjson(data, "--on-error", on_error)


# What a reviewer attacking the NDJSON readers found, each read as the
# record reader reads it now.
ATTACKS = {
    "an array nested 20,000 deep": (
        '{"expr":"x","x":1,"z":' + "[" * 20_000 + "]" * 20_000 + "}\n", []),
    "objects nested 20,000 deep": ('{"expr":"x","x":1,"z":' + '{"a":' * 20_000 + "1"
                                   + "}" * 20_000 + "}\n", []),
    "a null after a spaced key": ('{"expr":"x","x":1, "y" :null}\n', []),
    "a null fixed value after a spaced key": ('{"expr":"x*w","x" :1,"w":null}\n', ["w=2"]),
    "an input named expr": ('{"expr":"expr*2"}\n', ["expr=2"]),
    "a column mapped to expr": ('{"expr":"x*2"}\n', ["--column", "x=expr", "x=2"]),
    "invalid UTF-8 in an expression": (b'{"expr":"x\xff","x":1}\n', []),
    "invalid UTF-8 in a key": (b'{"expr":"x","x":1,"\xff":1}\n', []),
}  # fmt: skip


@pytest.mark.parametrize(("data", "arguments"), ATTACKS.values(), ids=ATTACKS.keys())
def test_attacks_read_as_the_record_reader_reads_them(same_ndjson, cli, data, arguments):
    same_ndjson(data, *arguments)


def test_a_block_of_many_expressions_of_one_record_each_goes_to_the_record_reader(
    cli, arrow_answers, tmp_path
):
    path = tmp_path / "jobs.ndjson"  # a file: read in full blocks
    path.write_text("".join(json.dumps({"expr": f"x*{i}", "x": i}) + "\n" for i in range(1100)))
    result = cli("batch", str(path))
    assert result.stdout_bytes == cli("batch", str(path), *RECORD_PATH).stdout_bytes
    assert len(result.stdout.splitlines()) == 1100
    assert arrow_answers == [False]


@pytest.mark.parametrize("output", ["ndjson", "json", "csv", "tsv", "parquet"])
def test_records_with_warnings_stay_with_arrow_each_with_its_own(
    same_ndjson, cli, small_blocks, arrow_answers, output
):
    lines = [json.dumps({"expr": "log(x)*y" if i % 3 else "x*y", "x": i - 20, "y": 2})
             for i in range(60)]  # fmt: skip
    result = same_ndjson("\n".join(lines) + "\n", "--format", output)
    assert result.exit_code == 0
    assert arrow_answers and all(arrow_answers)
    if output == "ndjson":
        records = [json.loads(line) for line in result.stdout.splitlines()]
        assert records[1]["value"] == "NaN"
        assert records[1]["warnings"][0]["message"].endswith("log(-19) = NaN")
        assert "warnings" not in records[0]
