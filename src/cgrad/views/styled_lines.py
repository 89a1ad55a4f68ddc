"""Lines of text with a styled head, written to a Rich console's stream as
Rich would print them, without Rich's rendering.

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

from rich.console import COLOR_SYSTEMS, Console
from rich.control import strip_control_codes
from rich.style import Style


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
    for head, style, rest in lines:
        # As Rich's Text does: control codes (a bell, a carriage return) left out.
        head_lines = strip_control_codes(head).split("\n")
        text = "\n".join(styled(part, style) for part in head_lines)
        write(text + strip_control_codes(rest) + "\n")
    console.file.flush()
