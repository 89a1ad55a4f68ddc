"""Fuzzing: valid programs, mutated programs and arbitrary text.

Whatever the text, ``cgrad.compile`` gives a function or raises a
``CgradError`` (nothing else), a function evaluates without raising, and the
command line exits 0, 1 or 2 (never 70, an internal error).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cgrad
from cgrad.cli import app
from test_oracle import programs


def examples(count: int) -> settings:
    """``count`` examples, or the profile's when that is more (--hypothesis-profile=long)."""
    return settings(
        max_examples=max(count, settings.default.max_examples),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def compiles_or_refuses(text: str) -> cgrad.Function | None:
    try:
        function = cgrad.compile(text)
    except cgrad.CgradError as error:
        # The message is made for people: it must render, whatever the text.
        assert error.render()
        return None
    # And a program that compiles evaluates, at a point and at many.
    function.evaluate({name: 0.5 for name in function.inputs})
    function.evaluate({name: np.linspace(-2, 2, 5) for name in function.inputs})
    return function


# Characters that mutations insert: the language's own, and what it must refuse.
ODD = [
    "\x00", "\x01", "\x1b", "\x7f", "\t", "\r", "\n", "\u00a0", "\u200b", "\u2028", "\ufeff",
    "é", "ß", "π", "∂", "²", "٣", "😀", "\ud800", "\\", "'", '"', "`", "$", "@", "#", "[", "]",
    "{", "}", "<", ">", "!", "?", "%", "&", "|", "~", ":", ";", ",", ".", "=", "e", "E",
]  # fmt: skip
TOKENS = [
    "(", ")", "+", "-", "*", "/", "^", "**", "=", ",", ";", "\n", "x", "y", "1", "2.5", "1e999",
    ".5", "5.", "1e-5", "sin", "log", "min", "pi", "e", "inf", "nan", "t", "x" * 10_000,
    "9" * 1_000, "1" + "0" * 400, "__import__('os').system('echo hacked')",
]  # fmt: skip


@st.composite
def mutated(draw) -> str:
    """A valid program with a few characters or tokens inserted, deleted,
    swapped or repeated."""
    text = draw(programs(symbolic=False)).text
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "token", "delete", "swap", "repeat"]))
        if kind == "insert":
            piece = draw(st.one_of(st.sampled_from(ODD), st.characters()))
            text = text[:at] + piece + text[at:]
        elif kind == "token":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 3)) :]
        elif kind == "swap" and at + 1 < len(text):
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
        elif kind == "repeat":
            text = text[:at] + text[at : at + draw(st.integers(1, 8))] * 3 + text[at:]
    return text


@examples(500)
@given(program=programs(symbolic=False))
def test_valid_programs_compile_and_evaluate(program):
    assert compiles_or_refuses(program.text) is not None


@examples(3000)
@given(text=mutated())
def test_mutated_programs_compile_or_are_refused(text):
    compiles_or_refuses(text)


@examples(2000)
@given(text=st.lists(st.one_of(st.sampled_from(TOKENS[:-4] + ODD), st.characters())).map("".join))
def test_any_text_compiles_or_is_refused(text):
    compiles_or_refuses(text)


@examples(300)
@given(text=st.one_of(mutated(), st.text(max_size=50)), json=st.booleans())
def test_the_command_line_answers_every_text_with_0_1_or_2(text, json):
    runner = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})
    arguments = ["eval", "--", text, "x=0.5", "t1=-1", "t2=2"]
    if json:
        arguments.insert(1, "--json")
    result = runner.invoke(app, arguments)
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
