"""Issue 13, the views: big graphs through every view in linear time,
derivatives built without going through text, second-derivative warnings
that point at the user's program, and no "-0" in text output."""

from __future__ import annotations

import json
import re

import pytest

import cgrad
import cgrad.symbolic
from cgrad.numbers import format_number, format_short, literal_text

# --------------------------------------------------------------------------
# Negative zero: text shows 0, JSON keeps the IEEE sign, formulas keep it.


def test_text_output_shows_zero_for_negative_zero(cli):
    result = cli("eval", "-x", "x=0")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "value 0"
    assert "@1 neg -x  = 0  grad 1" in result.stdout
    assert "-0" not in result.stdout


def test_json_output_keeps_the_sign_of_negative_zero(cli):
    result = cli("eval", "-x", "x=0", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["value"] == 0.0
    assert re.search(r'"value": -0\.0,', result.stdout)


def test_rosenbrock_partial_at_the_minimum_is_printed_as_zero(cli):
    result = cli("eval", "(1-x)^2 + 100*(y-x^2)^2", "x=1", "y=1")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("x ")]
    assert rows == [["x", "1", "0"]]


def test_formulas_keep_the_sign_of_a_negative_zero_constant(cli):
    # 1/-0 is -Infinity and 1/0 is Infinity: in a formula the sign matters.
    result = cli("diff", "1/x", "x=-0")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == ["f = 1/-0", "∂f/∂x = -(1/-0/-0)"]


def test_the_number_formatters():
    assert (format_number(-0.0), format_short(-0.0), literal_text(-0.0)) == ("0", "0", "-0")
    assert (format_number(-2.5), format_short(-2.5), literal_text(-2.5)) == ("-2.5",) * 3
    assert format_number(float("-inf")) == literal_text(float("-inf")) == "-Infinity"


# --------------------------------------------------------------------------
# diff on many inputs: linear.


class _CountingPattern:
    """Counts the names the binding-prefix pattern is asked to match."""

    def __init__(self, pattern: re.Pattern) -> None:
        self.pattern = pattern
        self.calls = 0

    def fullmatch(self, text: str):
        self.calls += 1
        return self.pattern.fullmatch(text)


def _names_read(cli, monkeypatch, inputs: int) -> int:
    counting = _CountingPattern(cgrad.symbolic._BINDING)
    monkeypatch.setattr(cgrad.symbolic, "_BINDING", counting)
    result = cli("diff", " + ".join(f"x{i}" for i in range(inputs)), "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["derivatives"]) == inputs
    return counting.calls


def test_diff_reads_each_input_name_a_bounded_number_of_times(cli, monkeypatch):
    # Each partial read every input's name to choose its binding names: n^2.
    small, large = _names_read(cli, monkeypatch, 500), _names_read(cli, monkeypatch, 2000)
    assert large <= 5 * small
