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
        min(max([len(title)] + [len(row[i]) for row in rows]), widest)
        for i, title in enumerate(header)
    ]


def padded(cells: Sequence[str], widths: Sequence[int], right: Sequence[bool]) -> list[str]:
    """The cells padded to their widths, right-aligned where ``right`` says
    (a column of numbers), else left-aligned."""
    return [
        cell.rjust(width) if numeric else cell.ljust(width)
        for cell, width, numeric in zip(cells, widths, right, strict=True)
    ]
