"""The graph's text tree written line by line (views/styled_lines.py
print_blocks): the bytes Rich prints for the same lines, in every colour
system, and memory that does not grow with the tree."""

from __future__ import annotations

import io
import tracemalloc

import pytest
from rich.console import Console, Group
from rich.text import Text

import cgrad
from cgrad.explain import Passes, backward_steps, forward_steps, tangent_steps
from cgrad.views.styled_lines import PieceLines, VisibleControls, print_blocks
from cgrad.views.terminal_reports import evaluation_report, graph_report
from cgrad.views.terminal_steps import passes_report
from cgrad.views.terminal_tables import aligned_lines, aligned_table
from cgrad.views.terminal_tree import graph_tree


def console_on(file, colours: str | None) -> Console:
    """A console as the command line makes one (see cli/output.py), on
    ``file``: no terminal, or a terminal of ``colours`` ("no_color": one
    whose colours NO_COLOR turns off)."""
    if colours is None:
        made = Console(file=file, highlight=False, soft_wrap=False, width=80)
    else:
        system = "truecolor" if colours == "no_color" else colours
        made = Console(
            file=file,
            highlight=False,
            soft_wrap=False,
            force_terminal=True,
            color_system=system,  # type: ignore[arg-type]
            no_color=colours == "no_color",
            width=80,
        )
    made.push_render_hook(VisibleControls())
    return made


def by_rich(blocks: list, colours: str | None) -> str:
    out = io.StringIO()
    console_on(out, colours).print(Group(*blocks), soft_wrap=True)
    return out.getvalue()


def by_lines(blocks: list, colours: str | None) -> str:
    out = io.StringIO()
    print_blocks(console_on(out, colours), blocks)
    return out.getvalue()


COLOURS = [None, "standard", "256", "truecolor", "no_color"]


def passes(function, result, tangents: bool = False) -> Passes:
    forward = tuple(forward_steps(function, result))
    if tangents:
        return Passes(
            forward, tangents={n: tuple(s) for n, s in tangent_steps(function, result).items()}
        )
    return Passes(forward, tuple(backward_steps(function, result)))


def reports() -> list[tuple[str, list]]:
    shared = cgrad.compile("a = x*y; b = sin(a); b*a + a^2 + tanh(b)")
    point = shared.evaluate(x=0.5, y=2.0)
    forward = shared.evaluate(x=0.5, y=2.0, mode="forward")
    deep = cgrad.compile("sin(" * 40 + "x" + ")" * 40)
    # About the batch of 4,096 pieces a write, and beyond it.
    big = cgrad.compile(" + ".join(f"sin(x*{k})" for k in range(1, 700)))
    kink = cgrad.compile("sqrt(x) + abs(y)")
    return [
        ("bare", graph_report(shared.graph, None, None).renderables),
        ("values, edge labels", graph_report(shared.graph, point, None, None, True).renderables),
        ("forward mode", graph_report(shared.graph, forward, None).renderables),
        ("deep", graph_report(deep.graph, deep.evaluate(x=0.3), None).renderables),
        ("big, cut off", graph_report(big.graph, big.evaluate(x=0.2), 1000).renderables),
        ("big, whole", graph_report(big.graph, None, None).renderables),
        (
            "steps",
            evaluation_report(
                shared.graph,
                {"x": 0.5, "y": 2.0},
                point,
                body=passes_report(shared.graph, passes(shared, point)),
            ).renderables,
        ),  # fmt: skip
        (
            "tangent steps",
            evaluation_report(
                shared.graph,
                {"x": 0.5, "y": 2.0},
                forward,
                body=passes_report(shared.graph, passes(shared, forward, True)),
            ).renderables,
        ),  # fmt: skip
        (
            "eval with warnings",
            evaluation_report(
                kink.graph, {"x": 0.0, "y": 0.0}, kink.evaluate(x=0.0, y=0.0)
            ).renderables,
        ),
    ]


@pytest.mark.parametrize("colours", COLOURS)
def test_the_tree_written_line_by_line_is_richs_print_byte_for_byte(colours):
    for name, blocks in reports():
        assert any(isinstance(b, PieceLines) for b in blocks), name
        expected = by_rich(blocks, colours)
        assert by_lines(blocks, colours) == expected, name
        if colours is not None and colours != "no_color":
            assert "\x1b[" in expected  # (the styles are there to compare)


@pytest.mark.parametrize("colours", COLOURS)
def test_an_aligned_table_written_line_by_line_is_its_rich_text_byte_for_byte(colours):
    # The steps' tables are written as lines (aligned_lines), the small
    # tables printed as Rich Text (aligned_table): the same bytes.
    header = ["node", "value", "note", "last"]
    for rows in (
        [["@1", "1.5", "x", "tail"], ["@22", "-0.25", "", ""], ["@3", "nan", "é\x1b", "  7"]],
        [["@1", "2", "", ""]],  # every last cell empty
        [],
    ):
        expected = by_rich([Text("t"), *aligned_table(header, rows, right={1, 3})], colours)
        written = by_lines([Text("t"), aligned_lines(header, rows, right={1, 3})], colours)
        assert written == expected, rows


@pytest.mark.parametrize("colours", COLOURS)
def test_control_characters_and_line_breaks_in_pieces_are_shown_as_rich_shows_them(colours):
    pieces = [
        [("@1 ", "bold"), ("esc \x1b[31m red", "magenta"), (" bell\x07 cr\r", "")],
        [("\u202eevil", "bold cyan"), ("two\nlines", "green"), ("", "yellow"), ("end", "")],
        [("tab\there", "dim")],
    ]
    blocks = [Text("heading", style="bold"), PieceLines(lambda: iter(pieces)), Text("after")]
    assert by_lines(blocks, colours) == by_rich(blocks, colours)
    assert "\x1b[31m" not in by_lines(blocks, colours)  # written out, not acted on


class _Counting(io.TextIOBase):
    """A stream that keeps only the number of characters written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def _peak_and_size(terms: int) -> tuple[int, int]:
    function = cgrad.compile(" + ".join(f"sin(x*{k})" for k in range(1, terms + 1)))
    result = function.evaluate(x=0.5)
    function.graph.label(function.graph.output)  # the label index, made once per graph
    tree = graph_tree(function.graph, result, None)
    sink = _Counting()
    console = console_on(sink, None)
    tracemalloc.start()
    try:
        print_blocks(console, [tree])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sink.size


def test_a_whole_trees_lines_are_written_without_holding_them():
    # Holding a line (or a Text) per node costs memory in proportion to the
    # output. Written as made, the peak grows by what the depth-first walk
    # keeps: a byte a node, and the siblings waiting on its stack (a sum's
    # left spine is as deep as the sum is long).
    (small_peak, small_size), (large_peak, large_size) = map(_peak_and_size, (2_000, 8_000))
    assert large_size > 3.5 * small_size
    assert large_peak - small_peak < 0.25 * (large_size - small_size)


def test_piece_lines_are_made_afresh_each_time_they_are_printed():
    function = cgrad.compile("x*y + y")
    tree = graph_tree(function.graph)
    assert by_lines([tree], None) == by_lines([tree], None) == by_rich([tree], None)


def test_aligned_columns_count_terminal_cells_not_characters():
    # 変 takes two cells on a terminal, a combining accent none: counted as
    # characters, the columns after them drifted by one cell each.
    from cgrad.batch.aligned import cell_width

    rows = [["変数", "1.5", "x"], ["y", "22", "e\u0301"], ["abc", "-0.25", "z"]]
    lines = [
        "".join(text for text, _ in pieces)
        for pieces in aligned_lines(["name", "v", "w"], rows, {1}).make()
    ]
    header, rule, *body = lines
    assert cell_width(rule) == cell_width(header)
    # Each row's last column starts at the same cell, the number's ends there too.
    starts = {cell_width(line[: line.rindex("  ") + 2]) for line in [header, *body]}
    assert len(starts) == 1
    assert [cell_width(line) for line in body] == [cell_width(body[0])] * 3
