"""The Typer application that every command registers itself on, and the
loading of the commands."""

import inspect
from collections.abc import Iterable
from importlib import import_module
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


# Each command's module. A run imports only the module of its command: the
# others would cost a cold start 30-40 ms (Rich's progress bar, the CSV
# machinery, the checker).
COMMAND_MODULES = {
    "eval": "eval_command",
    "graph": "graph_command",
    "diff": "diff_command",
    "check": "check_command",
    "minimize": "minimize_command",
    "batch": "batch_command",
}


def load_commands(names: Iterable[str] = COMMAND_MODULES) -> typer.Typer:
    """Register the commands ``names`` (importing a command module registers
    its command), and give them their help; then the app."""
    for name in names:
        import_module(f"{__package__}.{COMMAND_MODULES[name]}")
    for command in app.registered_commands:
        command.help = unwrapped(command.help or command.callback.__doc__ or "")
    return app


def unwrapped(text: str) -> str:
    """Help text with each paragraph on one line: Typer keeps a docstring's
    line breaks, so the help wrapped at the source's breaks, not the
    terminal's width."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _print_version(asked: bool) -> None:
    if asked:
        # Imported here: importlib.metadata costs every other run 10 ms.
        from importlib.metadata import PackageNotFoundError, version

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
