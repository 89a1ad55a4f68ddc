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

from collections.abc import Iterable
from typing import NamedTuple

from rich.console import COLOR_SYSTEMS, Console, ConsoleOptions, RenderHook, RenderResult
from rich.control import strip_control_codes
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style

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


def write_styled_lines(console: Console, lines: Iterable[StyledLine]) -> None:
    """Write ``lines`` to ``console``'s stream, one a line, as
    ``console.print(Text.assemble((head, style), rest), soft_wrap=True)``
    writes each, then flush."""
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

    write = console.file.write
    # Lines written a batch at a time. Their control codes are left out (a
    # bell, a carriage return) or made visible (ESC) as the console's do,
    # before the styles' own codes are added.
    batch: list[str] = []
    for head, style, rest in lines:
        if head:  # a lone \r is no styled line
            batch.append("\n".join([styled(part, style) for part in _shown(head).split("\n")]))
        batch += (_shown(rest) if CONTROL.search(rest) else rest, "\n")
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
