"""The Typer application that every command registers itself on."""

import typer

app = typer.Typer(
    name="cgrad",
    help="Differentiate math expressions: value, every partial derivative, and the graph.",
    add_completion=False,
    no_args_is_help=True,
    # Errors are reported by cgrad itself; a traceback never reaches the user.
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def root() -> None:
    """cgrad parses an expression into a computational graph and runs the
    forward pass for its value and the backward pass (the chain rule, node by
    node) for every partial derivative."""
