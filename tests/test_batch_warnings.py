"""Warnings that tell the truth per row: each row's warning quotes that
row's own numbers, as an evaluation of that row alone words it, at any
chunk size; a summary per kind on stderr; NaN and +-inf counted apart."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff.diagnostics import EvaluationWarning
from cgrad.batch.per_row import WarningCounts
from cgrad.numerals import format_number

# Expressions with NaN, +-inf, kinks and infinite derivatives at some of
# the points below, and finite results at others.
EXPRESSIONS = [
    "log(x)*y",
    "sqrt(x) + abs(y)",
    "atan2(y, x)",
    "1/(x - y)",
    "max(x, y) + relu(x)",
    "x^y",
    "log(x) + sqrt(y) + 1/x",
    "exp(x*1000) - exp(y*1000)",
]
POINTS = [
    (1.0, 2.0),
    (-1.0, 3.0),
    (0.0, 1.0),
    (0.0, 0.0),
    (2.0, 2.0),
    (-0.5, -0.5),
    (float("nan"), 1.0),
    (float("inf"), -2.0),
    (4.0, 0.0),
    (-3.0, 0.5),
]


def test_the_library_counts_nan_and_infinities_apart():
    r = cgrad.compile("log(x)").evaluate(x=np.array([1.0, -1.0, 0.0, 2.0]))
    (warning,) = r.warnings
    assert warning.message == (
        "`log(x)` (node @1, line 1, column 1) is NaN at 1 of 4 points (first at index 1): "
        "log(-1) = NaN; is -Infinity at 1 of 4 points (first at index 2): log(0) = -Infinity"
    )
    assert np.flatnonzero(warning.points).tolist() == [1, 2]


def test_one_kind_of_number_keeps_the_one_part_message():
    r = cgrad.compile("log(x)").evaluate(x=np.array([1.0, -1.0, 2.0, -3.0]))
    assert r.warnings[0].message == (
        "`log(x)` (node @1, line 1, column 1) is NaN at 2 of 4 points (first at index 1): "
        "log(-1) = NaN"
    )


def test_inputs_and_derivatives_count_their_kinds_apart_too():
    r = cgrad.compile("x*y").evaluate(x=np.array([np.nan, np.inf, 1.0]), y=2.0)
    assert r.warnings[0].message == (
        "input x is NaN at 1 of 3 points (first at index 0); "
        "is Infinity at 1 of 3 points (first at index 1)"
    )


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_a_warning_at_one_point_of_many_is_what_that_point_alone_says(text):
    f = cgrad.compile(text)
    x = np.array([p[0] for p in POINTS])
    y = np.array([p[1] for p in POINTS])
    together = f.evaluate(x=x, y=y)
    for index, (px, py) in enumerate(POINTS):
        alone = f.evaluate(x=px, y=py)
        said = [w.at(index) for w in together.warnings if w.points[index]]
        assert [(w.type, w.message, w.node) for w in said] == [
            (w.type, w.message, w.node) for w in alone.warnings
        ], (text, index)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, 1e308, -2.0, 0.5]),
)


@settings(max_examples=60, deadline=None)
@given(
    text=st.sampled_from(EXPRESSIONS),
    points=st.lists(st.tuples(NUMBERS, NUMBERS), min_size=1, max_size=6),
)
def test_any_point_of_many_is_worded_as_alone(text, points):
    f = cgrad.compile(text)
    together = f.evaluate(x=np.array([p[0] for p in points]), y=np.array([p[1] for p in points]))
    for index, (px, py) in enumerate(points):
        said = [w.at(index).message for w in together.warnings if w.points[index]]
        assert said == [w.message for w in f.evaluate(x=px, y=py).warnings], (text, px, py)


def test_the_words_that_count_a_warning_name_its_kind_of_number():
    r = cgrad.compile("log(x)").evaluate(x=np.array([-1.0, 0.0]))
    (warning,) = r.warnings
    assert [warning.at(i).counted_as for i in (0, 1)] == [
        "`log(x)` (node @1, line 1, column 1) is NaN",
        "`log(x)` (node @1, line 1, column 1) is -Infinity",
    ]
    assert warning.at(1) == EvaluationWarning(
        "non_finite_value",
        "`log(x)` (node @1, line 1, column 1) is -Infinity: log(0) = -Infinity",
        1,
        warning.span,
    )


def test_a_warning_at_a_point_it_does_not_concern_is_none():
    r = cgrad.compile("log(x)").evaluate(x=np.array([1.0, -1.0, 0.0, -2.0]))
    (warning,) = r.warnings
    assert warning.at(0) is None
    assert warning.at(1).message == cgrad.compile("log(x)").evaluate(x=-1.0).warnings[0].message
    for index in (4, -1):
        with pytest.raises(IndexError):
            warning.at(index)


def test_a_warning_about_one_point_is_itself_at_index_0():
    (warning,) = cgrad.compile("log(x)").evaluate(x=-1.0).warnings
    assert warning.at(0).message == warning.message
    with pytest.raises(IndexError):
        warning.at(1)


def points_csv(count: int) -> str:
    rng = np.random.default_rng(16)
    xs = rng.uniform(-2, 2, count).round(6)
    ys = rng.uniform(-2, 2, count).round(6)
    xs[::7] = 0.0  # kinks, -inf and infinite derivatives
    ys[::11] = 0.0
    return "x,y\n" + "".join(
        f"{x!r},{y!r}\n" for x, y in zip(xs.tolist(), ys.tolist(), strict=True)
    )


@pytest.mark.parametrize("output_format", ["ndjson", "json", "csv", "table"])
def test_the_output_is_the_same_at_every_chunk_size(cli, output_format):
    text = points_csv(300)
    runs = [
        cli(
            "batch",
            "-e",
            "log(x)*y + sqrt(y) + abs(x)",
            "--format",
            output_format,
            "--chunk-rows",
            str(size),
            input=text,
        )
        for size in (1, 7, 64, 4096)
    ]
    assert all(run.exit_code == 0 for run in runs)
    # A table's column widths are fixed by its first chunk: only its words must agree.
    if output_format == "table":
        words = [[line.split() for line in run.stdout.splitlines()[2:]] for run in runs]
        assert all(found == words[0] for found in words)
    else:
        assert len({run.stdout for run in runs}) == 1
    assert len({run.stderr for run in runs}) == 1
    assert "is NaN" in runs[0].stdout and "is at a kink" in runs[0].stdout


def test_every_row_quotes_its_own_numbers_well_past_64_a_chunk(cli):
    xs = [-(i + 3) / 8 for i in range(200)]  # none a whole number: -0.375, -0.5, ...
    text = "x,y\n" + "".join(f"{x!r},2\n" for x in xs)
    result = cli("batch", "-e", "log(x)*y", "--format", "ndjson", input=text)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    f = cgrad.compile("log(x)*y")
    for record, x in zip(records, xs, strict=True):
        (alone,) = f.evaluate(x=x, y=2.0).warnings
        assert record["warnings"] == [alone.as_json()]
        assert f"log({format_number(x)}) = NaN" in record["warnings"][0]["message"]
        assert "points" not in record["warnings"][0]["message"]


def test_each_row_of_the_csv_has_its_own_message(cli):
    result = cli("batch", "-e", "log(x)", "--format", "csv", input="x\n-2\n0\n3\n-0.5\n")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["warnings"] for row in rows] == [
        "`log(x)` (node @1, line 1, column 1) is NaN: log(-2) = NaN",
        "`log(x)` (node @1, line 1, column 1) is -Infinity: log(0) = -Infinity",
        "",
        "`log(x)` (node @1, line 1, column 1) is NaN: log(-0.5) = NaN",
    ]


def test_stderr_has_one_line_per_kind(cli):
    text = "x,y\n" + "".join(f"{x},1\n" for x in [1, -1, -2, 0, 5, -3, 0])
    result = cli("batch", "-e", "log(x)*y", "--format", "ndjson", input=text)
    assert result.exit_code == 0
    assert result.stderr == (
        "cgrad: warning: `log(x)` (node @1, line 1, column 1) is NaN for 3 rows, first at row 2\n"
        "cgrad: warning: `log(x)` (node @1, line 1, column 1) is -Infinity for 2 rows, "
        "first at row 4\n"
    )
    assert len(result.stdout.splitlines()) == 7


def test_one_row_is_named_alone_and_quiet_says_nothing(cli):
    result = cli("batch", "-e", "sqrt(x)", input="x\n4\n0\n")
    assert result.stderr == (
        "cgrad: warning: `sqrt(x)` (node @1, line 1, column 1) is at a kink at row 2\n"
    )
    quiet = cli("batch", "-e", "sqrt(x)", "--quiet", input="x\n4\n0\n")
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == result.stdout


def test_the_summary_comes_before_the_failures(cli):
    text = "x\n-1\nfoo\n"
    result = cli("batch", "-e", "log(x)", "--format", "ndjson", input=text)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "cgrad: warning: `log(x)` (node @1, line 1, column 1) is NaN at row 1",
        "cgrad: error: 1 of 2 records failed and are error records in the output "
        "(first: row 2: invalid_value: the value of x is not a number: 'foo')",
    ]


def test_an_expression_without_inputs_warns_on_every_row(cli):
    text = '{"expr": "log(-1)"}\n{"expr": "log(-1)"}\n'
    result = cli("batch", "--format", "ndjson", input=text)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    expected = "`log(-1)` (node @2, line 1, column 1) is NaN: log(-1) = NaN"
    assert [r["warnings"][0]["message"] for r in records] == [expected, expected]
    assert result.stderr == (
        "cgrad: warning: `log(-1)` (node @2, line 1, column 1) is NaN for 2 rows, first at row 1\n"
    )


def test_second_derivative_warnings_are_eval_hessians_at_each_row(cli):
    text = "x\n0\n2\n0\n"
    result = cli("batch", "-e", "log(x)", "--hessian", "--format", "ndjson", input=text)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        x = record["inputs"]["x"]
        point = cli("eval", "log(x)", f"x={x}", "--hessian", "--json")
        expected = json.loads(point.stdout)
        assert record.get("warnings", []) == expected["warnings"]
        assert record["hessian"] == expected["hessian"]


def test_the_counts_keep_a_bounded_number_of_kinds():
    counts = WarningCounts(max_kinds=3)
    for row in range(1, 11):
        warning = EvaluationWarning("kink", f"kind {row % 5}", counted_as=f"kind {row % 5}")
        counts.add(row, [warning])
    assert counts.lines(shown=2) == [
        "kind 1 for 2 rows, first at row 1",
        "kind 2 for 2 rows, first at row 2",
        "and 6 more warnings of other kinds",
    ]
    assert len(counts.kinds) == 3
    few = WarningCounts()
    for row, kind in enumerate(["a", "b", "a", "c", "d", "d"], start=1):
        few.add(row, [EvaluationWarning("kink", kind)])
    assert few.lines(shown=2) == [
        "a for 2 rows, first at row 1",
        "b at row 2",
        "and 3 more warnings of 2 other kinds",
    ]
    assert few.lines(shown=3)[-1] == "and 2 more warnings of another kind"


def test_the_summary_names_ten_kinds_and_counts_the_rest(cli):
    text = "".join(f'{{"expr": "log(x - {i})", "x": -1}}\n' for i in range(13))
    result = cli("batch", "--format", "ndjson", input=text)
    lines = result.stderr.splitlines()
    assert len(lines) == 11
    assert lines[0] == ("cgrad: warning: `log(x - 0)` (node @3, line 1, column 1) is NaN at row 1")
    assert lines[-1] == "cgrad: warning: and 3 more warnings of 3 other kinds"


@pytest.mark.parametrize("output_format", ["ndjson", "csv"])
def test_warned_rows_come_out_the_same_with_or_without_a_bad_row_in_the_chunk(cli, output_format):
    # A chunk of well-formed rows is evaluated as columns; a bad row sends
    # its chunk record by record. The warned rows must not tell them apart.
    text = "id,x,y,note\na,-1,2,n\nb,0,1,\nc,4,0,\n"
    clean = cli("batch", "-e", "log(x)*y + sqrt(y)", "--format", output_format, input=text)
    mixed = cli(
        "batch", "-e", "log(x)*y + sqrt(y)", "--format", output_format, input=text + "d,?,1,\n"
    )
    assert (clean.exit_code, mixed.exit_code) == (0, 1)
    clean_lines = clean.stdout.splitlines()
    assert mixed.stdout.splitlines()[: len(clean_lines)] == clean_lines
    assert clean.stdout.count("is NaN: log(-1) = NaN") == 1
