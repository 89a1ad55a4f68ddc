"""Lines of text with a styled head, written to a Rich console's stream as
Rich would print them, without Rich's rendering; and the control
characters of user text (an escape code in a comment) made visible in all
a console prints.

``cgrad diff`` prints formulas that can be lines of megabytes, tens of
thousands of them: Rich lays out each ``Text`` (spans, segments, a style
looked up per piece), which made most of the command's time, for output
that is only a bold title and plain text. Here a line is its head, in one
style, and the rest, plain; the head is given the codes Rich's own
:class:`~rich.style.Style` makes for the console's colour system (none when
the output is no terminal, no colours with ``NO_COLOR``), and the text is
written as it is, so the bytes are those ``Console.print(..., soft_wrap=True)``
writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple

from rich.console import (
    COLOR_SYSTEMS,
    Console,
    ConsoleOptions,
    Group,
    RenderHook,
    RenderResult,
)
from rich.control import strip_control_codes
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .visible_text import CONTROL, visible


class _Visible:
    """A renderable whose text (not Rich's own control segments) has its
    control characters made visible."""

    def __init__(self, renderable) -> None:
        self.renderable = renderable

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if not segment.control and CONTROL.search(segment.text):
                segment = Segment(visible(segment.text), segment.style)
            yield segment


class VisibleControls(RenderHook):
    """The render hook of cgrad's consoles: every renderable printed has the
    control characters of its text made visible. Source text reaches the
    views in many places (the heading, node labels, warnings); here all of
    it is seen once, on its way out."""

    def process_renderables(self, renderables: list) -> list:
        return [_Visible(renderable) for renderable in renderables]


class StyledLine(NamedTuple):
    """One line: ``head`` in ``style`` (a Rich style definition), then
    ``rest`` unstyled. ``head`` may hold several lines (a program's), each
    styled."""

    head: str
    style: str
    rest: str = ""


def _styler(console: Console) -> Callable[[str, str], str]:
    """A function giving ``text`` in the style ``definition`` as ``console``
    writes it: with the codes Rich's own Style makes for its colour system."""
    system = console.color_system
    color_system = COLOR_SYSTEMS[system] if system is not None else None
    styles: dict[str, Style] = {}

    def styled(text: str, definition: str) -> str:
        if color_system is None or not definition or not text:
            return text
        style = styles.get(definition)
        if style is None:
            style = Style.parse(definition)
            if console.no_color:
                style = style.without_color
            styles[definition] = style
        return style.render(text, color_system=color_system)

    return styled


def write_styled_lines(console: Console, lines: Iterable[StyledLine]) -> None:
    """Write ``lines`` to ``console``'s stream, one a line, as
    ``console.print(Text.assemble((head, style), rest), soft_wrap=True)``
    writes each, then flush."""
    styled = _styler(console)
    write = console.file.write
    batch: list[str] = []  # written a batch at a time
    for head, style, rest in lines:
        if head:  # a lone \r is no styled line
            batch.append(_styled_piece(styled, head, style))
        batch += (_styled_piece(styled, rest, ""), "\n")
        if len(batch) >= _BATCH:
            write("".join(batch))
            batch.clear()
    write("".join(batch))
    console.file.flush()


def _shown(text: str) -> str:
    """``text`` as a console with :class:`VisibleControls` prints it."""
    return visible(strip_control_codes(text))


# Lines' pieces written at once: few calls, for a formula's tens of thousands of lines.
_BATCH = 4096


# A line as its pieces of text, each with a Rich style definition ("" for none).
Pieces = Sequence[tuple[str, str]]


class PieceLines:
    """Lines made as they are written, each a list of (text, style) pieces:
    a view too long to hold as Rich ``Text`` objects (a graph's tree of a
    million nodes). ``make`` gives a fresh iterator of the lines at each
    call. Rich renders it as a ``Text`` a line (never wrapped); the command
    line writes it with :func:`print_blocks`, without Rich's layout."""

    def __init__(self, make: Callable[[], Iterator[Pieces]]) -> None:
        self.make = make

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for pieces in self.make():
            yield Text.assemble(*pieces, no_wrap=True, overflow="ignore")


def write_piece_lines(console: Console, lines: Iterable[Pieces]) -> None:
    """Write ``lines`` to ``console``'s stream, one a line, as
    ``console.print(Text.assemble(*pieces), soft_wrap=True)`` writes each."""
    styled = _styler(console)
    plain = console.color_system is None  # (styled() then gives text as it is)
    write = console.file.write
    batch: list[str] = []
    for pieces in lines:
        line = "".join([text for text, _ in pieces])
        if "\t" in line:  # Rich expands tabs to its tab stops: left to it
            write("".join(batch))
            batch.clear()
            console.print(Text.assemble(*pieces), soft_wrap=True)
            continue
        if plain and not CONTROL.search(line):
            batch.append(line)  # the usual line without colours: as it is
        else:
            batch += [_styled_piece(styled, text, style) for text, style in pieces]
        batch.append("\n")
        if len(batch) >= _BATCH:
            write("".join(batch))
            batch.clear()
    write("".join(batch))


def _styled_piece(styled: Callable[[str, str], str], text: str, style: str) -> str:
    """One piece of a line as the console writes it: its control codes left
    out (a bell, a carriage return) or made visible (ESC) as the console's
    do, before the style's own codes are added, line by line."""
    if CONTROL.search(text):
        text = _shown(text)
    if "\n" in text:  # Rich ends a style at each line's end
        return "\n".join([styled(part, style) for part in text.split("\n")])
    return styled(text, style)


def print_blocks(console: Console, blocks: Iterable) -> None:
    """Print ``blocks`` one after another as ``console.print(Group(*blocks),
    soft_wrap=True)`` would: the :class:`PieceLines` among them written
    line by line, the other renderables printed by Rich."""
    waiting: list = []
    for block in blocks:
        if isinstance(block, PieceLines):
            if waiting:
                console.print(Group(*waiting), soft_wrap=True)
                waiting.clear()
            write_piece_lines(console, block.make())
        else:
            waiting.append(block)
    if waiting:
        console.print(Group(*waiting), soft_wrap=True)
    console.file.flush()
