"""Where the HTML page of ``graph --format html``, ``eval --html`` and
``minimize --html`` goes: a file written atomically, or stdout for ``-``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .files import atomic_output, refuse_replacing_input

HtmlFile = Annotated[
    Optional[Path],
    typer.Option(
        "--html",
        metavar="FILE",
        help="Also write a page to step through in a browser (self-contained, offline); "
        "- for stdout.",
        show_default=False,
    ),
]


def write_page(option: str, path: Path | None, text: str, program: str | None) -> None:
    """Write the page ``text`` to ``path`` (replaced only once it is whole),
    or to stdout when ``path`` is None or ``-``; never over the program
    file ``@program`` that was read."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if program is not None and program.startswith("@"):
        refuse_replacing_input(option, path, program[1:], "the program", "write to another file")
    with atomic_output(path) as sink:
        sink.write(text)
