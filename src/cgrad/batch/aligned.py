"""Aligned plain-text columns for people: the layout shared by ``batch
--format table`` and the tables of the terminal views.

Laid out by hand rather than by Rich's Table, which costs about as much per
row as evaluating it and cannot be wider than the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

# Widest a column grows; longer cells stick out.
COLUMN_WIDTH = 40


def column_widths(
    header: Sequence[str], rows: Sequence[Sequence[str]], widest: int = COLUMN_WIDTH
) -> list[int]:
    """Each column's width: its longest cell, the header's included, at most
    ``widest``."""
    return [
        min(max([cell_width(title)] + [cell_width(row[i]) for row in rows]), widest)
        for i, title in enumerate(header)
    ]


def padded(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> list[str]:
    """The cells padded to their widths, right-aligned where ``right`` says
    (a column of numbers), else left-aligned."""
    return [
        _padded(cell, width, numeric)
        for cell, width, numeric in zip(cells, widths, right, strict=True)
    ]


def _padded(cell: str, width: int, right: bool) -> str:
    if cell.isascii():  # (nearly every cell: a character a column)
        return cell.rjust(width) if right else cell.ljust(width)
    blanks = " " * max(0, width - cell_width(cell))
    return blanks + cell if right else cell + blanks


def cell_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: two for a wide character
    (变量), none for a combining mark, one for the others."""
    if text.isascii():
        return len(text)
    from unicodedata import combining, east_asian_width  # (only for such text)

    return sum(0 if combining(c) else 2 if east_asian_width(c) in "WF" else 1 for c in text)
