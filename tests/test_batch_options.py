"""`cgrad batch` takes the command line `eval` takes: values for what the
records lack, columns mapped to inputs, `-e @FILE`, `--hessian`; and
per-record expressions keep their `expr` in every format."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cgrad
from cgrad.batch.bindings import Bindings
from cgrad.batch.blocks import evaluate_blocks
from cgrad.batch.rows import Format, Records

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def records_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    "values",
    [["w=2"], ["--w", "2"], ["--w=2"], ["--var", "w=2"], ["--var=w=2"]],
)
def test_a_value_is_given_as_eval_takes_it(cli, values):
    result = cli("batch", "-e", "w*x", *values, "--format", "ndjson", input="x\n1\n3\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        '{"row": 1, "inputs": {"w": 2.0, "x": 1.0}, "value": 2.0, '
        '"gradient": {"w": 1.0, "x": 2.0}}\n'
        '{"row": 2, "inputs": {"w": 2.0, "x": 3.0}, "value": 6.0, '
        '"gradient": {"w": 3.0, "x": 2.0}}\n'
    )


def test_values_and_input_in_any_order(cli, tmp_path):
    source = tmp_path / "points.csv"
    source.write_text("x\n1\n")
    for arguments in (
        [str(source), "-e", "w*x + b", "w=2", "--b", "0.5"],
        ["--b", "0.5", str(source), "w=2", "-e", "w*x + b"],
        ["w=2", "-e", "w*x + b", "--b=0.5", str(source)],
    ):
        result = cli("batch", *arguments, "--format", "csv")
        assert result.exit_code == 0, (arguments, result.stderr)
        assert result.stdout.splitlines() == [
            "row,w,x,b,value,grad_w,grad_x,grad_b,error,warnings",
            "1,2.0,1.0,0.5,2.5,1.0,2.0,1.0,,",
        ]


def test_a_records_own_value_wins_and_the_command_line_fills_the_rest(cli):
    text = '{"x": 1, "w": 10}\n{"x": 1}\n'
    result = cli("batch", "-e", "w*x", "w=2", "--format", "ndjson", input=text)
    assert [r["inputs"] for r in records_of(result.stdout)] == [
        {"w": 10.0, "x": 1.0},
        {"w": 2.0, "x": 1.0},
    ]


def test_per_record_expressions_take_values_too(cli):
    text = '{"expr": "w*x", "x": 1}\n{"expr": "x + 1", "x": 1}\n{"expr": "k", "k": 5}\n'
    result = cli("batch", "w=3", "--format", "ndjson", input=text)
    assert result.exit_code == 0
    assert [r["value"] for r in records_of(result.stdout)] == [3.0, 2.0, 5.0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["-e", "w*x", "x=2"],
            "cgrad: error: x is given a value, and the input has a column 'x' for it: "
            "the value would never be used\n"
            "hint: leave out the value of x, or read x from another column with "
            "--column x=COLUMN\n",
        ),
        (
            ["-e", "w*x", "w=2", "q=1"],
            "cgrad: error: q is not an input of this expression\nhint: the inputs are w, x\n",
        ),
        (["-e", "w*x", "w=2", "--w", "3"], "cgrad: error: a value for w is given twice\n"),
        (
            ["-e", "w*x", "w=two"],
            "cgrad: error: the value of w is not a number: 'two'\n"
            "hint: write a decimal number such as 2, -1.5, 3e-4, nan, inf or -inf\n",
        ),
        (
            ["-e", "w*x", "w=2", "--formt", "csv"],
            "cgrad: error: --formt is not an option of cgrad batch\n"
            "hint: did you mean the option --format?\n",
        ),
        (
            ["-e", "w*x"],
            "cgrad: error: the input has no column for w\nhint: its columns are x\n",
        ),
    ],
)
def test_values_that_cannot_be_used_are_refused_before_any_output(cli, arguments, message):
    result = cli("batch", *arguments, input="x\n1\n")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_an_expression_given_in_place_of_the_input_gets_a_hint(cli, tmp_path):
    source = tmp_path / "a.tsv"
    source.write_text("x\ty\n1\t2\n")
    result = cli("batch", "x*y", str(source))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "cgrad: error: cannot read x*y: no such file (an expression goes with -e)\n"
        f"hint: for example: cgrad batch {source} -e 'x*y'\n"
    )
    alone = cli("batch", "sin(x)", input="x\n1\n")
    assert alone.exit_code == 2
    assert alone.stderr.startswith("cgrad: error: cannot read sin(x): no such file (an expr")
    typo = cli("batch", "my-data.csv", "-e", "x")
    assert typo.stderr.startswith("cgrad: error: cannot read my-data.csv: no such file\n")


def test_a_column_with_any_name_maps_to_an_input(cli):
    text = "id,temp C,X,note\na,20,2,hot\nb,-5,3,cold\n"
    result = cli(
        "batch", "-e", "k*t*x", "k=2", "--column", "t=temp C", "--column", "x=X",
        "--format", "csv", input=text,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "row,id,k,t,x,note,value,grad_k,grad_t,grad_x,error,warnings",
        "1,a,2.0,20.0,2.0,hot,80.0,40.0,4.0,40.0,,",
        "2,b,2.0,-5.0,3.0,cold,-30.0,-15.0,6.0,-10.0,,",
    ]


def test_a_mapped_field_of_json_records(cli):
    text = '{"temp C": 20, "t": "kept"}\n{"x": 1}\n'
    result = cli("batch", "-e", "t + 1", "--column", "t=temp C", "--format", "ndjson", input=text)
    assert result.exit_code == 1
    assert result.stdout == (
        '{"row": 1, "inputs": {"t": 20.0}, "value": 21.0, "gradient": {"t": 1.0}, '
        '"extra": {"t": "kept"}}\n'
        '{"row": 2, "extra": {"x": 1}, "error": {"type": "missing_value", '
        '"message": "no value for t (column \'temp C\')"}}\n'
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--column", "t=T"],
            "cgrad: error: --column t=T: the input has no column 'T'\nhint: its columns are x\n",
        ),
        (
            ["--column", "q=x"],
            "cgrad: error: --column q=x: q is not an input of this expression\n"
            "hint: the inputs are t\n",
        ),
        (
            ["--column", "t x=x"],
            "cgrad: error: --column t x=x: 't x' is not a variable name\n"
            "hint: write the variable first: --column VAR=COLUMN\n",
        ),
        (
            ["--column", "t"],
            "cgrad: error: --column expects VAR=COLUMN, not 't'\n"
            "hint: for example: --column x=X or --column 'temp=temp C'\n",
        ),
        (["--column", "t=x", "--column", "t=x"], "cgrad: error: --column gives t twice\n"),
        (
            ["--column", "t=x", "t=1"],
            "cgrad: error: t is given both a value and a column (--column t=...)\n",
        ),
    ],
)
def test_column_mistakes(cli, arguments, message):
    result = cli("batch", "-e", "t", *arguments, input="x\n1\n")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_the_expression_from_a_file(cli, tmp_path):
    program = tmp_path / "model.cg"
    program.write_text("# a comment\nu = log(x)\nu*y\n")
    result = cli("batch", "-e", f"@{program}", "--format", "ndjson", input="x,y\n1,2\n-1,2\n")
    assert result.exit_code == 0
    records = records_of(result.stdout)
    assert records[0]["gradient"] == {"x": 2.0, "y": 0.0}
    assert records[1]["warnings"][0]["message"] == (
        f"`log(x)` (node @1, {program}:line 2, column 5) is NaN: log(-1) = NaN"
    )
    same = cli("batch", "--program", str(program), "--format", "ndjson", input="x,y\n1,2\n-1,2\n")
    assert same.stdout == result.stdout


def test_the_program_and_the_records_cannot_both_come_from_stdin(cli):
    result = cli("batch", "-e", "@-", input="x\n1\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "cgrad: error: -e @- and the records would both be read from standard input\n"
        "hint: give the records as a file, or the program with -e @FILE\n"
    )


def test_a_program_from_stdin_with_records_from_a_file(tmp_path):
    source = tmp_path / "points.csv"
    source.write_text("x\n2\n")
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", str(source), "-e", "@-"],
        input="x^2\n",
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["gradient"] == {"x": 4.0}


def eval_hessian(cli, text: str, point: dict[str, float], *more: str) -> dict:
    values = [f"{name}={value!r}" for name, value in point.items()]
    return json.loads(cli("eval", text, *values, *more, "--hessian", "--json").stdout)


@pytest.mark.parametrize("output_format", ["ndjson", "json"])
def test_the_hessian_in_json_is_evals(cli, output_format):
    text = "x^3*y + sin(x*y)"
    result = cli(
        "batch", str(SAMPLES / "points.csv"), "-e", text, "--hessian", "--format", output_format
    )
    assert result.exit_code == 0
    records = records_of(result.stdout) if output_format == "ndjson" else json.loads(result.stdout)
    assert len(records) == 20
    for record in records:
        assert list(record) == ["row", "inputs", "value", "gradient", "hessian", "extra"]
        point = {n: record["inputs"][n] for n in ("x", "y")}
        assert record["hessian"] == eval_hessian(cli, text, point)["hessian"]


def test_the_hessian_in_csv_is_a_column_per_entry(cli):
    result = cli(
        "batch", "-e", "x^2*y", "--hessian", "--wrt", "x", "--format", "csv",
        input="x,y\n1,2\n3,4\n",
    )  # fmt: skip
    assert result.stdout.splitlines() == [
        "row,x,y,value,grad_x,hessian_x_x,error,warnings",
        "1,1.0,2.0,2.0,4.0,4.0,,",
        "2,3.0,4.0,36.0,24.0,8.0,,",
    ]
    full = cli("batch", "-e", "x^2*y", "--hessian", "--format", "csv", input="x,y\n3,4\n")
    table = list(csv.DictReader(io.StringIO(full.stdout)))
    assert {k: v for k, v in table[0].items() if k.startswith("hessian_")} == {
        "hessian_x_x": "8.0",
        "hessian_x_y": "6.0",
        "hessian_y_x": "6.0",
        "hessian_y_y": "0.0",
    }


def test_the_hessian_in_a_table(cli):
    result = cli("batch", "-e", "x^2*y", "--hessian", "--format", "table", input="x,y\n3,4\n")
    assert result.stdout.splitlines()[0].split() == [
        "row", "x", "y", "value", "∂/∂x", "∂/∂y", "∂²/∂x²", "∂²/∂x∂y", "∂²/∂y∂x", "∂²/∂y²", "note",
    ]  # fmt: skip
    assert result.stdout.splitlines()[2].split() == [
        "1",
        "3",
        "4",
        "36",
        "24",
        "9",
        "8",
        "6",
        "6",
        "0",
    ]


def test_the_hessian_of_per_record_expressions(cli):
    text = '{"expr": "x*y", "x": 1, "y": 2}\n{"expr": "sinn(x)", "x": 1}\n'
    result = cli("batch", "--hessian", "--format", "csv", input=text)
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert json.loads(rows[0]["hessian"]) == {"x": {"x": 0.0, "y": 1.0}, "y": {"x": 1.0, "y": 0.0}}
    assert rows[1]["hessian"] == ""
    ndjson = cli("batch", "--hessian", "--format", "ndjson", input=text)
    assert records_of(ndjson.stdout)[0]["hessian"] == json.loads(rows[0]["hessian"])


@pytest.mark.parametrize("output_format", ["ndjson", "json", "csv"])
def test_per_record_expressions_keep_their_expr_in_every_format(cli, output_format):
    result = cli("batch", str(SAMPLES / "jobs.ndjson"), "--format", output_format)
    if output_format == "csv":
        exprs = [row["expr"] for row in csv.DictReader(io.StringIO(result.stdout))]
    else:
        found = (
            records_of(result.stdout) if output_format == "ndjson" else json.loads(result.stdout)
        )
        exprs = [record["expr"] for record in found]
    source = [
        json.loads(line)["expr"] for line in (SAMPLES / "jobs.ndjson").read_text().splitlines()
    ]
    assert exprs == source


def test_ndjson_of_a_per_record_expression_has_expr_after_id(cli):
    result = cli("batch", "--format", "ndjson", input='{"id": "a", "expr": "2*x", "x": 1}\n')
    assert result.stdout == (
        '{"row": 1, "id": "a", "expr": "2*x", "inputs": {"x": 1.0}, "value": 2.0, '
        '"gradient": {"x": 2.0}}\n'
    )


def test_the_library_takes_the_same_bindings():
    records = Records(io.BytesIO(b"temp C\n20\n"), Format.CSV)
    function = cgrad.compile("k*t")
    bindings = Bindings(columns={"t": "temp C"}, fixed={"k": 2.0})
    (block,) = evaluate_blocks(records, function, bindings=bindings, hessian=True)
    (outcome,) = block if isinstance(block, list) else block.outcomes()
    assert outcome.inputs == {"k": 2.0, "t": 20.0}
    assert outcome.gradient == {"k": 20.0, "t": 2.0}
    assert outcome.hessian == (0.0, 1.0, 1.0, 0.0)


def test_output_may_not_replace_a_program_given_with_e(cli, tmp_path):
    program = tmp_path / "model.cg"
    program.write_text("x*y\n")
    result = cli("batch", "-e", f"@{program}", "-o", str(program), input="x,y\n1,2\n")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"cgrad: error: -o {program} would replace the program\nhint: write to another file\n"
    )
    assert program.read_text() == "x*y\n"
