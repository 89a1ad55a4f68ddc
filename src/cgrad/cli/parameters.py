"""The parameters several commands share, declared once: the expression,
``--var``, ``--wrt`` and ``--json`` read and mean the same everywhere."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

Expression = Annotated[
    Optional[str],
    typer.Argument(
        metavar="EXPR",
        help="The expression or program, or @FILE to read it from a file (@- for stdin).",
        show_default=False,
    ),
]

Variables = Annotated[
    Optional[list[str]],
    typer.Option(
        "--var",
        metavar="NAME=VALUE",
        help="A value for an input whose name collides with an option of cgrad.",
    ),
]

Wrt = Annotated[
    Optional[list[str]],
    typer.Option(
        metavar="x,y",
        help="Only the partial derivatives with respect to these inputs (may repeat).",
    ),
]

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")]
