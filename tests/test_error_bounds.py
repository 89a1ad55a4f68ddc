"""Error messages quote at most a few hundred characters of any piece of
user text (a name, a number, a value, a cell, a file name): a longer piece
is shown by its ends and its length, on stderr, in the JSON error object
and in every error row of a batch, and the caret still points at the spot."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cgrad.errors import MESSAGE, QUOTED, QUOTED_HEAD, QUOTED_TAIL, UsageError, bounded

HUGE = 4_000_000


def _short(core: str) -> str:
    """How a piece of user text longer than QUOTED is quoted."""
    return f"{core[:QUOTED_HEAD]}…{core[-QUOTED_TAIL:]}"


def test_short_messages_are_left_as_they_are():
    text = "unknown function 'sinn' at line 1, column 9"
    assert bounded(text) is text
    assert bounded("x" * QUOTED) == "x" * QUOTED


def test_a_long_piece_is_shortened_to_its_ends_and_its_length():
    name = "a" * HUGE
    assert bounded(f"unknown function '{name}', see (x).") == (
        f"unknown function '{_short(name)}' (4,000,000 characters), see (x)."
    )
    assert bounded(f"missing a value for {name} and x") == (
        f"missing a value for {_short(name)} (4,000,000 characters) and x"
    )


def test_a_message_of_many_short_pieces_is_cut_in_the_middle():
    value = "1 " * HUGE
    shown = bounded(f"the value of x is not a number: '{value}'")
    assert len(shown) <= MESSAGE
    assert shown.startswith("the value of x is not a number: '1 1 1")
    assert shown.endswith(" 1 1 '")
    assert " … (" in shown and " characters left out) … " in shown
    assert bounded(shown) == shown  # bounded once is bounded


def test_an_error_bounds_its_message_and_hint_however_they_are_set():
    error = UsageError("cannot read " + "p" * 1000, hint="b" * 1000)
    assert error.message == f"cannot read {_short('p' * 1000)} (1,000 characters)"
    assert error.hint == f"{_short('b' * 1000)} (1,000 characters)"
    error.message = "part: " + "q" * 1000
    assert error.message == f"part: {_short('q' * 1000)} (1,000 characters)"


def test_a_huge_function_name_gives_a_short_message_and_the_caret_under_it(cli, tmp_path):
    name = "a" * HUGE
    program = tmp_path / "huge.cg"
    program.write_text(f"x + y + {name}(z)", encoding="utf-8")
    result = cli("eval", f"@{program}", "x=1", "y=2", "z=3")
    assert result.exit_code == 2
    short = cli("eval", "x + y + zz(z)", "x=1", "y=2", "z=3")
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        f"cgrad: error: unknown function '{_short(name)}' (4,000,000 characters) at {program}:1:9",
        f"  x + y + {'a' * 152}…",
        f"          {'^' * 153}",  # (under the … too: the name goes on)
    ]
    hint = short.stderr.splitlines()[3].replace(
        "zz*(...);", f"{_short(name + '*(...')}) (4,000,005 characters);"
    )
    assert lines[3:] == [hint]
    assert len(result.stderr) < 2000


def test_the_caret_points_at_the_spot_after_a_huge_number(cli, tmp_path):
    program = tmp_path / "number.cg"
    program.write_text("1" * HUGE + "x", encoding="utf-8")
    result = cli("eval", f"@{program}", "x=1")
    assert result.exit_code == 2
    message, snippet, caret, hint = result.stderr.splitlines()
    assert message == f"cgrad: error: missing operator before a name 'x' at {program}:1:4000001"
    assert snippet == "  …" + "1" * 80 + "x"
    assert caret == " " * snippet.index("x") + "^"
    assert hint == f"hint: to multiply, write {_short('1' * HUGE + '*x')} (4,000,002 characters)"


def test_the_json_error_object_quotes_a_huge_name_shortened(cli, tmp_path):
    name = "n" * HUGE
    program = tmp_path / "missing.cg"
    program.write_text(f"{name} + x", encoding="utf-8")
    result = cli("eval", f"@{program}", "x=1", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["message"].startswith(
        f"missing a value for {_short(name)} (4,000,000 characters) (hint: pass it as --"
    )
    assert len(result.stdout) < 2 * MESSAGE and len(result.stderr) < 2 * MESSAGE
    assert result.stderr.startswith(
        f"cgrad: error: missing a value for {_short(name)} (4,000,000 characters)\n"
    )


def test_a_huge_value_on_the_command_line(cli):
    value = "1" * 100_000 + "q"
    result = cli("eval", "x", f"x={value}")
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: the value of x is not a number: '{_short(value)}' (100,001 characters)\n"
        "hint: write a decimal number such as 2, -1.5, 3e-4, nan, inf or -inf\n"
    )


def _cells(rows: int) -> str:
    return "x,y\n" + f"1,{'q' * HUGE}\n" * rows + "1,2\n"


def test_batch_error_rows_quote_a_huge_cell_shortened_in_ndjson(cli):
    result = cli("batch", "-e", "x*y", input=_cells(3))
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    message = f"the value of y is not a number: '{_short('q' * HUGE)}' (4,000,000 characters)"
    assert records[:3] == [
        {"row": row, "error": {"type": "invalid_value", "message": message}} for row in (1, 2, 3)
    ]
    assert records[3]["value"] == 2.0
    assert len(result.stdout) < 4 * QUOTED * 3
    assert result.stderr == (
        "cgrad: error: 3 of 4 records failed and are error records in the output "
        f"(first: row 1: invalid_value: {message})\n"
    )


@pytest.mark.parametrize("hessian", [[], ["--hessian"]])
def test_batch_error_rows_quote_a_huge_cell_shortened_in_csv(cli, hessian):
    result = cli("batch", "-e", "x*y", "--format", "csv", *hessian, input=_cells(3))
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    message = f"the value of y is not a number: '{_short('q' * HUGE)}' (4,000,000 characters)"
    assert [row["error"] for row in rows] == [f"invalid_value: {message}"] * 3 + [""]
    assert len(result.stdout) < 4 * QUOTED * 4


def test_batch_records_with_a_huge_expression_each_get_a_short_error(cli):
    name = "f" * HUGE
    records = [{"expr": f"{name}(x)", "x": 1}] * 3 + [{"expr": "x", "x": 1}]
    data = "".join(json.dumps(record) + "\n" for record in records)
    result = cli("batch", "--format", "csv", input=data)
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    errors = [row["error"] for row in rows]
    assert errors[3] == ""
    assert errors[:3] == [errors[0]] * 3
    assert errors[0].startswith(
        f"unknown_function: unknown function '{_short(name)}' (4,000,000 characters) "
        "at line 1, column 1 (hint: to multiply, write "
    )
    assert all(len(error) < MESSAGE for error in errors)


def test_a_huge_column_name_in_a_hint(cli):
    column = "h" * HUGE
    result = cli("batch", "-e", "x*z", input=f"x,{column}\n1,2\n")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: the input has no column for z\n"
        f"hint: its columns are x, {_short(column)} (4,000,000 characters)\n"
    )


@pytest.mark.parametrize("command", ["eval", "diff"])
def test_a_huge_wrt_name_in_text_and_json(cli, command):
    name = "c" * 100_000
    result = cli(command, "x", "x=1", "--wrt", name, "--json")
    assert result.exit_code == 2
    message = (
        f"cannot differentiate with respect to {_short(name)} (100,000 characters): "
        "it is not an input"
    )
    assert result.stderr == f"cgrad: error: {message}\nhint: the inputs are x\n"
    assert json.loads(result.stdout) == {
        "error": {
            "type": "unknown_input",
            "message": f"{message} (hint: the inputs are x)",
            "line": None,
            "column": None,
        }
    }
