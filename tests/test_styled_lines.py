"""Lines written as Rich prints them, without Rich's rendering
(:mod:`cgrad.views.styled_lines`): the bytes ``Console.print`` writes, on
a terminal of each colour system, without colours and on a file; and
``cgrad diff``'s text output made that way."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from rich.console import Console
from rich.text import Text

from cgrad.views.styled_lines import StyledLine, VisibleControls, write_styled_lines

LINES = [
    StyledLine("x*y + sin(x*y)   at z = 2", "bold"),
    StyledLine("f", "bold cyan", " = x*y + sin(x*y)"),
    StyledLine("∂²f/∂x∂y:", "bold cyan"),
    StyledLine("", "", "  t1 = cos(x*y)"),
    StyledLine("a = x*y\nsin(a) + θ", "bold"),  # a program of two lines
    StyledLine("x\x07y", "bold", " = 1\r"),  # control codes, which Rich leaves out
    StyledLine("g", "", " = plain"),
    StyledLine("\r", "bold", " = 2"),  # a head that is all control codes: none styled
    StyledLine("x # \x1b[31mRED", "bold", " = \x1b[0m\x9b1\x7f"),  # shown, never sent
]


def _consoles() -> dict[str, dict]:
    return {
        "file": {},
        "standard": {"force_terminal": True, "color_system": "standard"},
        "256": {"force_terminal": True, "color_system": "256"},
        "truecolor": {"force_terminal": True, "color_system": "truecolor"},
        "no colour": {"force_terminal": True, "color_system": "truecolor", "no_color": True},
    }


@pytest.mark.parametrize("kind", _consoles())
def test_the_bytes_are_those_rich_prints(kind):
    settings = _consoles()[kind]
    by_rich, ours = io.StringIO(), io.StringIO()
    rich_console = Console(file=by_rich, highlight=False, width=20, **settings)
    rich_console.push_render_hook(VisibleControls())
    for head, style, rest in LINES:
        rich_console.print(Text.assemble((head, style), rest), soft_wrap=True)
    write_styled_lines(Console(file=ours, highlight=False, width=20, **settings), LINES)
    assert ours.getvalue() == by_rich.getvalue()
    assert "x # \\x1b[31mRED" in ours.getvalue() and " = \\x1b[0m\\x9b1\\x7f\n" in ours.getvalue()
    assert "\x1b[31m" not in ours.getvalue() and "\x9b" not in ours.getvalue()
    if kind in ("standard", "truecolor"):
        assert "\x1b[1;36mf\x1b[0m = x*y" in ours.getvalue()  # the styles are there


def test_lines_written_in_batches_are_the_bytes_rich_prints():
    # Written a batch at a time, with the batch's control codes left out
    # at once: the same bytes across the batches' ends.
    lines = [
        StyledLine(f"t{k}\x07" if k % 7 == 0 else "", "bold", f" = x\r*{k}") for k in range(5000)
    ]
    writes: list[int] = []

    class Counted(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(1)
            return super().write(text)

    by_rich, ours = io.StringIO(), Counted()
    settings = {"force_terminal": True, "color_system": "standard"}
    rich_console = Console(file=by_rich, highlight=False, width=20, **settings)
    for head, style, rest in lines:
        rich_console.print(Text.assemble((head, style), rest), soft_wrap=True)
    write_styled_lines(Console(file=ours, highlight=False, width=20, **settings), lines)
    assert ours.getvalue() == by_rich.getvalue()
    assert ours.getvalue().count("\n") == 5000
    assert len(writes) < 10  # not one a line


def test_diff_does_not_lay_out_formulas_with_rich(cli, monkeypatch):
    # Rich's layout of each Text (spans, segments, a style per piece) made
    # most of diff's time on big formulas.
    def refused(*arguments, **keywords):
        raise AssertionError("Rich laid out a Text")

    monkeypatch.setattr(Text, "render", refused)
    result = cli("diff", "x*y + sin(x*y)", "--order", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "x*y + sin(x*y)",
        "f = x*y + sin(x*y)",
        "∂f/∂x = y*(1 + cos(x*y))",
    ]


def test_diff_on_a_terminal_styles_titles_as_rich_did():
    # FORCE_COLOR makes Rich take the pipe for a terminal: the codes are
    # those its Console.print writes for the same Text.
    program = "a = x*y; sin(a)*cos(a) + a"
    environment = {k: v for k, v in os.environ.items() if k not in ("COLORTERM", "NO_COLOR")}
    run = subprocess.run(
        [sys.executable, "-m", "cgrad", "diff", program, "x=2", "--order", "2"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**environment, "FORCE_COLOR": "1", "TERM": "xterm-256color"},
        check=True,
    )
    lines = run.stdout.splitlines()
    by_rich = io.StringIO()
    console = Console(file=by_rich, force_terminal=True, color_system="256", highlight=False)
    console.print(Text(f"{program}   at x = 2", style="bold"), soft_wrap=True)
    console.print(Text.assemble(("f", "bold cyan"), f" = {lines[1].split(' = ', 1)[1]}"))
    assert lines[:2] == by_rich.getvalue().splitlines()
