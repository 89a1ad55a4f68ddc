"""The command line: a thin Typer layer over the library."""

from .main import main

__all__ = ["app", "main"]


def __getattr__(name: str):
    # ``app`` with every command registered, for tests and embedding; the
    # console script (main) registers only the command it runs.
    if name == "app":
        from .application import load_commands

        return load_commands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
