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
    # Lines written a batch at a time, the batch's control codes (a bell, a
    # carriage return) left out at once, as Rich's Text leaves them out of
    # each line: the styles' codes hold none of them.
    batch: list[str] = []
    for head, style, rest in lines:
        if head:  # its codes left out before it is styled: a lone \r is no styled line
            batch.append(
                "\n".join([styled(part, style) for part in strip_control_codes(head).split("\n")])
            )
        batch += (rest, "\n")
        if len(batch) >= _BATCH:
            write(strip_control_codes("".join(batch)))
            batch.clear()
    write(strip_control_codes("".join(batch)))
    console.file.flush()


# Lines' pieces written at once: few calls, for a formula's tens of thousands of lines.
_BATCH = 4096
