"""The parameters several commands share, declared once: the expression,
``--var``, ``--wrt``, ``--json``, ``--full`` and ``--quiet`` are spelled and
read the same everywhere. A command whose help says more (``minimize``
moves its ``--wrt`` inputs) takes the same declaration with its own words."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer


def _expression(help: str) -> Any:  # noqa: A002 - Typer's name for it
    return typer.Argument(metavar="EXPR", help=help, show_default=False)


def _variables(help: str) -> Any:  # noqa: A002
    return typer.Option("--var", metavar="NAME=VALUE", help=help)


def _wrt(help: str, **more: Any) -> Any:  # noqa: A002
    return typer.Option(metavar="x,y", help=help, **more)


def _json(help: str) -> Any:  # noqa: A002
    return typer.Option("--json", help=help)


Expression = Annotated[
    Optional[str],
    _expression("The expression or program, or @FILE to read it from a file (@- for stdin)."),
]
Variables = Annotated[
    Optional[list[str]],
    _variables("A value for an input whose name collides with an option of cgrad."),
]
Wrt = Annotated[
    Optional[list[str]],
    _wrt("Only the partial derivatives with respect to these inputs (may repeat)."),
]
Json = Annotated[bool, _json("Print one JSON object instead of text.")]

# minimize's own words for the same parameters.
ProgramToMinimize = Annotated[
    Optional[str],
    _expression(
        "The expression or program to minimize, or @FILE to read it from a file (@- for stdin)."
    ),
]
StartValues = Annotated[
    Optional[list[str]],
    _variables("A start value for an input whose name collides with an option of cgrad."),
]
MovedInputs = Annotated[
    Optional[list[str]],
    _wrt(
        "Move only these inputs (may repeat); the others stay at their given values. Default: all.",
        show_default=False,
    ),
]
JsonSummary = Annotated[bool, _json("Print the summary as one JSON object.")]
# batch's words: its records carry the values.
BatchWrt = Annotated[Optional[list[str]], _wrt("Only these partial derivatives (may repeat).")]


def quiet_option(help: str) -> Any:  # noqa: A002
    """``--quiet``/``-q``: nothing drawn on stderr while the command runs."""
    return typer.Option("--quiet", "-q", help=help)


def full_option(help: str) -> Any:  # noqa: A002
    """``--full``: every node, step or path, not the first hundred."""
    return typer.Option("--full", help=help)
