"""The Typer application that every command registers itself on."""

import inspect
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

app = typer.Typer(
    name="cgrad",
    help="Differentiate math expressions: value, every partial derivative, and the graph.",
    add_completion=False,
    no_args_is_help=True,
    # Errors are reported by cgrad itself; a traceback never reaches the user.
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def unwrapped(text: str) -> str:
    """Help text with each paragraph on one line: Typer keeps a docstring's
    line breaks, so the help wrapped at the source's breaks, not the
    terminal's width."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _print_version(asked: bool) -> None:
    if asked:
        try:
            typer.echo(f"cgrad {version('cgrad')}")
        except PackageNotFoundError:  # running from a checkout without installing
            typer.echo("cgrad (not installed)")
        raise typer.Exit()


@app.callback()
def root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """cgrad parses an expression into a computational graph and runs the
    forward pass for its value and the backward pass (the chain rule, node by
    node) for every partial derivative."""
