"""Where the HTML page of ``graph --format html``, ``eval --html`` and
``minimize --html`` goes: a file written atomically, or stdout for ``-``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from .files import atomic_output, named_file, refuse_replacing_input

# A name, not a Path: Typer would make '' the current directory.
HtmlFile = Annotated[
    Optional[str],
    typer.Option(
        "--html",
        metavar="FILE",
        help="Also write a page to look at in a browser (one self-contained, offline HTML file).",
        show_default=False,
    ),
]


def check_page_file(name: str | None) -> Path | None:
    """The file of ``--html``, once known to be one: not ``-`` (it would
    run into the report on stdout), not a directory, not ''."""
    path = named_file("--html", name)
    if path is not None and str(path) == "-":
        raise UsageError(
            "--html needs a file: stdout has the report", hint="write --html page.html"
        )
    if path is not None and path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory", type="file_error")
    return path


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
