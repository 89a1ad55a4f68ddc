"""The Typer application that every command registers itself on, the
decorator that registers one (with the error ladder around it), and the
loading of the commands."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Annotated, Any

import typer

from .exits import reporting

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
# others' imports (Rich's progress bar, the CSV machinery, the checker)
# would be most of a cold start.
COMMAND_MODULES = {
    "eval": "eval_command",
    "graph": "graph_command",
    "diff": "diff_command",
    "check": "check_command",
    "minimize": "minimize_command",
    "batch": "batch_command",
    "fit": "fit_command",
}


# The commands that read input values from the command line take unknown
# options (--NAME VALUE) and extra arguments (NAME=VALUE): see arguments.py.
_TAKES_VALUES = {"allow_extra_args": True, "ignore_unknown_options": True}


def _json_flag(options: dict[str, Any]) -> bool:
    return bool(options.get("json_output"))


def command(
    name: str,
    *,
    epilog: str,
    help: str | None = None,  # noqa: A002 - Typer's name for it
    takes_values: bool = True,
    json_errors: Callable[[dict[str, Any]], bool] = _json_flag,
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register a command on the app, run inside :func:`.exits.reporting`,
    the one place errors become messages and exit statuses.
    ``json_errors(options)`` says whether an error is also written to stdout
    as JSON (by default when ``--json`` is given)."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(function)  # Typer reads the parameters through __wrapped__
        def run(**options: Any) -> None:
            with reporting(json_errors(options)):
                function(**options)

        settings = dict(_TAKES_VALUES) if takes_values else {}
        app.command(name, help=help, context_settings=settings, epilog=epilog)(run)
        return function

    return register


def load_commands(names: Iterable[str] = COMMAND_MODULES) -> typer.Typer:
    """Register the commands ``names`` (importing a command module registers
    its command), and give them their help; then the app."""
    for name in names:
        import_module(f"{__package__}.{COMMAND_MODULES[name]}")
    app.info.help = unwrapped(app.info.help or "")
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
        # Imported here: importlib.metadata is slow to import, and only
        # --version needs it.
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
