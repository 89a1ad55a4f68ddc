"""``cgrad minimize``: gradient descent on an expression from a start point,
watched live on stderr, summed up on stdout, every step in ``--trace``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.live import Live

from ..descent import DEFAULT_TOL, DEFAULTS, METHODS, Minimum, Step, minimize
from ..errors import UsageError
from ..function import Function
from ..views.json_documents import minimize_json, step_json
from ..views.terminal_minimize import LossHistory, minimize_report, progress_line
from .application import command
from .arguments import choose, input_values, read_command_line, split_wrt
from .environment import environment
from .exits import FailuresFoundError
from .file_roles import open_output
from .files import named_file, program_file, refuse_clashing_files, refuse_unwritable
from .output import stdout_console, write_json
from .page_output import HtmlFile, check_page_file
from .parameters import (
    JsonSummary,
    MovedInputs,
    ProgramToMinimize,
    StartValues,
    quiet_option,
)

EXAMPLES = """
[bold]Examples[/bold]

  cgrad minimize "(x-3)^2 + 2*(y+1)^2" x=0 y=0
  cgrad minimize @samples/rosenbrock.cg x=-1.2 y=1 --method adam
  cgrad minimize "(a*x - 2)^2" a=1 x=3 --wrt a      [dim]# x stays at 3[/dim]
  cgrad minimize "x^2" x=1 --method gd --lr 0.1 --json
  cgrad minimize @samples/rosenbrock.cg x=-1.2 y=1 --trace steps.ndjson
  cgrad minimize @samples/rosenbrock.cg x=-1.2 y=1 --html descent.html
"""

# The live display is redrawn at most this often: a step of a small
# expression is far quicker than drawing the display once.
REFRESH_SECONDS = 0.1

if TYPE_CHECKING:
    from ..views.descent_page import KeptSteps


def _defaults_text(field: str) -> str:
    """An option's default for each method, for its help: one number if
    they agree."""
    shown = {name: f"{getattr(defaults, field):,}" for name, defaults in DEFAULTS.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{name} {text}" for name, text in shown.items())


# The command's own parameters (the shared ones are in parameters.py).
MethodOption = Annotated[
    str,
    typer.Option(
        metavar="|".join(METHODS),
        help="gd: plain gradient descent; momentum: heavy ball (0.9); adam: Adam.",
    ),
]
LearningRate = Annotated[
    Optional[float],
    typer.Option(
        metavar="RATE",
        help=f"The learning rate (default: {_defaults_text('lr')}).",
        show_default=False,
    ),
]
StepLimit = Annotated[
    Optional[int],
    typer.Option(
        metavar="N",
        help=f"The most steps to take (default: {_defaults_text('steps')}).",
        show_default=False,
    ),
]
Tolerance = Annotated[
    float,
    typer.Option(metavar="TOL", help="Stop when the gradient norm is at most this."),
]
# A name, not a Path: Typer would make '' the current directory.
TraceFile = Annotated[
    Optional[str],
    typer.Option(
        metavar="FILE",
        help='Write every step to FILE as NDJSON: {"step", "loss", "point", "gradient"}.',
        show_default=False,
    ),
]


@command("minimize", epilog=EXAMPLES)
def minimize_command(
    context: typer.Context,
    expression: ProgramToMinimize = None,
    variables: StartValues = None,
    wrt: MovedInputs = None,
    method: MethodOption = "adam",
    lr: LearningRate = None,
    steps: StepLimit = None,
    tol: Tolerance = DEFAULT_TOL,
    json_output: JsonSummary = False,
    trace: TraceFile = None,
    html: HtmlFile = None,
    quiet: Annotated[bool, quiet_option("No live display on stderr.")] = False,
) -> None:
    """Minimize an expression by gradient descent from a start point: one
    forward and one backward pass a step, until the gradient norm reaches
    --tol, the step limit, or the numbers stop being finite, the method's own
    (momentum's velocity, Adam's averages) included (diverged: exit 1).

    Give every input a start value as --NAME VALUE, --NAME=VALUE, NAME=VALUE
    or --var NAME=VALUE. A live display of the loss runs on stderr when it is
    a terminal; the summary goes to stdout.
    """
    method = choose("--method", method, tuple(METHODS))
    function, line, options = read_command_line(context, expression, variables)
    trace_file, page = _output_files(trace, html, line.expression)
    start = input_values(function, line, options)
    limit = DEFAULTS[method].steps if steps is None else steps
    seen = _page_steps(page)
    with trace_writer(trace_file) as write_step, live_display(quiet, limit) as show:
        watch = both_callbacks(write_step, show if seen is None else both_callbacks(show, seen.add))
        try:
            minimum = minimize(
                function,
                start,
                wrt=split_wrt(wrt),
                method=method,
                lr=lr,
                steps=steps,
                tol=tol,
                callback=watch,
            )
        except BaseException as stop:
            # Ctrl-C or SIGTERM: print the point reached so far, then end
            # as the signal says.
            reached = getattr(stop, "minimum", None)
            if reached is not None:
                _print_summary(function, reached, json_output)
            raise
    _print_summary(function, minimum, json_output)  # first, as fit does: the page may fail
    _write_descent_page(page, function, minimum, seen, line.expression)
    if minimum.stopped == "diverged":
        # The summary above is the answer, with --json too (its "stopped"
        # says so), so the error goes to stderr alone: stdout stays one
        # JSON document.
        raise FailuresFoundError(
            f"{minimum.reason}\nhint: the summary shows step {minimum.steps}, the last finite "
            f"point; {minimum.advice('--lr')}"
        )


def _output_files(
    trace: str | None, html: str | None, program: str | None
) -> tuple[Path | None, Path | None]:
    """--trace's and --html's files, checked before the run: neither the
    ``@FILE`` program, the same file as the other or standard output, and
    each one that can be written."""
    trace_file, page = trace_path(trace), check_page_file(html)
    written = [("--trace", trace_file), ("--html", page)]
    refuse_clashing_files([("the program", program_file(program))], written, "the summary")
    refuse_unwritable(written)
    return trace_file, page


def _page_steps(html: Path | None) -> KeptSteps | None:
    """Where the steps the page of ``--html`` draws are kept, if one is asked for."""
    if html is None:
        return None
    from ..views.descent_page import KeptSteps

    return KeptSteps()


def _write_descent_page(
    html: Path | None,
    function: Function,
    minimum: Minimum,
    seen: KeptSteps | None,
    program: str | None,
) -> None:
    """The page of ``--html``, if asked for, of the steps ``seen``."""
    if html is None or seen is None:
        return
    from ..views.descent_page import descent_page
    from .page_output import write_page

    write_page("--html", html, descent_page(function, minimum, seen.steps()), program)


def both_callbacks(
    first: Callable[[Step], None], then: Callable[[Step], None]
) -> Callable[[Step], None]:
    """A callback that calls ``first``, then ``then``."""

    def both(step: Step) -> None:
        first(step)
        then(step)

    return both


def _print_summary(function: Function, minimum: Minimum, json_output: bool) -> None:
    if json_output:
        write_json(minimize_json(function.source, minimum))
    else:
        stdout_console().print(minimize_report(function, minimum), soft_wrap=True)


# --------------------------------------------------------------------------
# The trace


def trace_path(name: str | None) -> Path | None:
    """--trace's file, once known not to be stdout (which has the summary)."""
    path = named_file("--trace", name)
    if path is None:
        return None
    if str(path) == "-":
        raise UsageError(
            "--trace needs a file: on stdout the steps would run into the summary",
            hint="write --trace steps.ndjson, then read it with jq or tail -f",
        )
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory", type="file_error")
    return path


@contextmanager
def trace_writer(
    path: Path | None, line: Callable[[Step], dict] = step_json
) -> Iterator[Callable[[Step], None]]:
    """A function that writes a step to the trace, or does nothing.

    Written line by line and flushed, not through ``atomic_output``: a trace
    is a log, and the steps before a Ctrl-C, a crash or a divergence are
    what it is for, each line whole; it can also be followed with
    ``tail -f`` while the run goes on. The file is opened at the first step,
    so a program or start point that is refused leaves no empty file.
    ``line`` makes a step's JSON object (``cgrad fit`` has its own).
    """
    if path is None:
        yield lambda step: None
        return
    sink: IO[str] | None = None

    def write(step: Step) -> None:
        nonlocal sink
        if sink is None:
            try:
                sink = open_output(path, path)
            except OSError as error:
                raise UsageError(
                    f"cannot write {path}: {error.strerror or error}", type="file_error"
                ) from None
        sink.write(json.dumps(line(step), ensure_ascii=False, allow_nan=False) + "\n")
        sink.flush()

    try:
        yield write
    finally:
        if sink is not None:
            sink.close()


# --------------------------------------------------------------------------
# The live display


@contextmanager
def live_display(quiet: bool, limit: int) -> Iterator[Callable[[Step], None]]:
    """A function that shows each step on stderr, redrawn a few times a
    second, for a person watching; or one that does nothing."""
    if quiet or not environment().stderr_is_terminal:
        yield lambda step: None
        return
    history = LossHistory()
    shown_at = 0.0
    console = Console(stderr=True, highlight=False)
    # Nothing else writes while it runs: no need to capture stdout/stderr.
    with Live(
        console=console,
        auto_refresh=False,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:

        def show(step: Step) -> None:
            nonlocal shown_at
            history.add(step.step, step.loss)
            now = time.monotonic()
            if now - shown_at >= REFRESH_SECONDS:
                shown_at = now
                live.update(progress_line(step, limit, history), refresh=True)

        yield show
