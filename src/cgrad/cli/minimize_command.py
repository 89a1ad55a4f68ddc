"""``cgrad minimize``: gradient descent on an expression from a start point,
watched live on stderr, summed up on stdout, every step in ``--trace``."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional, TextIO

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ..descent import DEFAULT_TOL, DEFAULTS, METHODS, Minimum, Step, minimize
from ..errors import UsageError
from ..function import Function
from ..numerals import format_number, format_short, json_number
from ..views.text import aligned_table, program_heading
from .application import app
from .arguments import (
    choose,
    input_values,
    read_command_line,
    split_wrt,
)
from .files import refuse_replacing_input
from .output import ExitStatus, print_error, reporting, stdout_console, write_json

EXAMPLES = """
[bold]Examples[/bold]

  cgrad minimize "(x-3)^2 + 2*(y+1)^2" x=0 y=0
  cgrad minimize @samples/rosenbrock.cg x=-1.2 y=1 --method adam
  cgrad minimize "(a*x - 2)^2" a=1 x=3 --wrt a      [dim]# x stays at 3[/dim]
  cgrad minimize "x^2" x=1 --method gd --lr 0.1 --json
  cgrad minimize @samples/rosenbrock.cg x=-1.2 y=1 --trace steps.ndjson
"""

# The live display is redrawn at most this often: a step of a small
# expression takes well under 100 us, and drawing one far longer.
REFRESH_SECONDS = 0.1
# Characters of the sparkline, and its levels from low to high.
SPARK_WIDTH = 40
SPARK_LEVELS = "▁▂▃▄▅▆▇█"


def _defaults_text(field: str) -> str:
    """An option's default for each method, for its help: one number if
    they agree."""
    shown = {name: f"{getattr(defaults, field):,}" for name, defaults in DEFAULTS.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return ", ".join(f"{name} {text}" for name, text in shown.items())


@app.command(
    "minimize",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=EXAMPLES,
)
def minimize_command(
    context: typer.Context,
    expression: Annotated[
        Optional[str],
        typer.Argument(
            metavar="EXPR",
            help="The expression or program to minimize, or @FILE to read it from a file "
            "(@- for stdin).",
            show_default=False,
        ),
    ] = None,
    variables: Annotated[
        Optional[list[str]],
        typer.Option(
            "--var",
            metavar="NAME=VALUE",
            help="A start value for an input whose name collides with an option of cgrad.",
        ),
    ] = None,
    wrt: Annotated[
        Optional[list[str]],
        typer.Option(
            metavar="x,y",
            help="Move only these inputs (may repeat); the others stay at their given "
            "values. Default: all.",
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            metavar="|".join(METHODS),
            help="gd: plain gradient descent; momentum: heavy ball (0.9); adam: Adam.",
        ),
    ] = "adam",
    lr: Annotated[
        Optional[float],
        typer.Option(
            metavar="RATE",
            help=f"The learning rate (default: {_defaults_text('lr')}).",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help=f"The most steps to take (default: {_defaults_text('steps')}).",
            show_default=False,
        ),
    ] = None,
    tol: Annotated[
        float,
        typer.Option(metavar="TOL", help="Stop when the gradient norm is at most this."),
    ] = DEFAULT_TOL,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    trace: Annotated[
        Optional[Path],
        typer.Option(
            metavar="FILE",
            help='Write every step to FILE as NDJSON: {"step", "loss", "point", "gradient"}.',
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No live display on stderr.")
    ] = False,
) -> None:
    """Minimize an expression by gradient descent from a start point: one
    forward and one backward pass a step, until the gradient norm reaches
    --tol, the step limit, or the numbers stop being finite, the method's own
    (momentum's velocity, Adam's averages) included (diverged: exit 1).

    Give every input a start value as --NAME VALUE, --NAME=VALUE, NAME=VALUE
    or --var NAME=VALUE. A live display of the loss runs on stderr when it is
    a terminal; the summary goes to stdout.
    """
    with reporting(json_output):
        method = choose("--method", method, tuple(METHODS))
        trace = _trace_path(trace)
        function, line, options = read_command_line(context, expression, variables)
        _refuse_tracing_into_the_program(trace, line.expression)
        start = input_values(function, line, options)
        limit = DEFAULTS[method].steps if steps is None else steps
        with _trace_writer(trace) as write_step, _live_display(quiet, limit) as show:

            def watch(step: Step) -> None:
                write_step(step)
                show(step)

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
                if getattr(stop, "minimum", None) is not None:
                    _print_summary(function, stop.minimum, json_output)
                raise
        _print_summary(function, minimum, json_output)
    if minimum.stopped == "diverged":
        # The summary above is the answer, with --json too (its "stopped"
        # says so), so the error goes to stderr alone: stdout stays one
        # JSON document.
        print_error(
            f"{minimum.reason}\nhint: the summary shows step {minimum.steps}, the last finite "
            f"point; try a smaller --lr than {format_number(minimum.lr)}"
        )
        raise typer.Exit(ExitStatus.FAILURES)


def _print_summary(function: Function, minimum: Minimum, json_output: bool) -> None:
    if json_output:
        write_json(minimize_json(function, minimum))
    else:
        stdout_console().print(minimize_report(function, minimum), soft_wrap=True)


# --------------------------------------------------------------------------
# What is printed


def minimize_report(function: Function, minimum: Minimum) -> Group:
    """The text summary: where the run ended, its value and gradient norm,
    how many steps, why it stopped, and each input from start to end."""
    stopped = minimum.reason
    if minimum.stopped == "diverged":
        stopped += f"; below is step {minimum.steps}, the last finite point"
    rows = [
        [
            name,
            format_number(minimum.start[name]),
            format_number(value),
            format_number(minimum.gradient[name]) if name in minimum.gradient else "(fixed)",
        ]
        for name, value in minimum.point.items()
    ]
    table = aligned_table(["input", "start", "point", "∂f/∂input"], rows, right={1, 2, 3})
    return Group(
        Text(program_heading(function.graph), style="bold"),
        Text.assemble("value ", (format_number(minimum.value), "bold")),
        Text(f"gradient norm {format_number(minimum.gradient_norm)}"),
        Text(f"steps {minimum.steps:,} ({minimum.method}, lr {format_number(minimum.lr)})"),
        Text(f"stopped: {stopped}"),
        Text(),
        *table,
    )


def minimize_json(function: Function, minimum: Minimum) -> dict:
    """The ``cgrad minimize --json`` object, keys in the order SPEC section 3
    fixes. Every number is finite: a diverged run reports its last finite
    point."""
    return {
        "expression": function.source,
        "method": minimum.method,
        "start": _numbers(minimum.start),
        "point": _numbers(minimum.point),
        "value": json_number(minimum.value),
        "gradient": _numbers(minimum.gradient),
        "gradient_norm": json_number(minimum.gradient_norm),
        "steps": minimum.steps,
        "stopped": minimum.stopped,
    }


def step_json(step: Step) -> dict:
    """One line of ``--trace``; ``"warnings"`` only when the evaluation had
    some, as where the numbers stopped being finite (SPEC section 4)."""
    line = {
        "step": step.step,
        "loss": json_number(step.loss),
        "point": _numbers(step.point),
        "gradient": _numbers(step.gradient),
    }
    if step.warnings:
        line["warnings"] = [w.as_json() for w in step.warnings]
    return line


def _numbers(values: dict[str, float]) -> dict:
    return {name: json_number(value) for name, value in values.items()}


# --------------------------------------------------------------------------
# The trace


def _trace_path(path: Path | None) -> Path | None:
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


def _refuse_tracing_into_the_program(trace: Path | None, program: str | None) -> None:
    """``--trace prog.cg`` for ``@prog.cg`` would overwrite the program."""
    if trace is not None and program is not None and program.startswith("@"):
        refuse_replacing_input(
            "--trace",
            trace,
            program[1:],
            what="the program",
            hint="write the trace to another file",
        )


@contextmanager
def _trace_writer(path: Path | None) -> Iterator[Callable[[Step], None]]:
    """A function that writes a step to the trace, or does nothing.

    Written line by line and flushed, not through ``atomic_output``: a trace
    is a log, and the steps before a Ctrl-C, a crash or a divergence are
    what it is for, each line whole; it can also be followed with
    ``tail -f`` while the run goes on. The file is opened at the first step,
    so a program or start point that is refused leaves no empty file.
    """
    if path is None:
        yield lambda step: None
        return
    sink: TextIO | None = None

    def write(step: Step) -> None:
        nonlocal sink
        if sink is None:
            try:
                sink = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            except OSError as error:
                raise UsageError(
                    f"cannot write {path}: {error.strerror or error}", type="file_error"
                ) from None
        sink.write(json.dumps(step_json(step), ensure_ascii=False, allow_nan=False) + "\n")
        sink.flush()

    try:
        yield write
    finally:
        if sink is not None:
            sink.close()


# --------------------------------------------------------------------------
# The live display


class LossHistory:
    """The loss over the whole run so far in at most ``width`` samples: one
    every ``stride`` steps, and when they fill the width, every other one is
    dropped and the stride doubles, so the line always spans the run."""

    def __init__(self, width: int = SPARK_WIDTH) -> None:
        self.width = width
        self.stride = 1
        self.samples: list[float] = []

    def add(self, step: int, loss: float) -> None:
        if step % self.stride or not math.isfinite(loss):
            return
        if len(self.samples) == self.width:
            self.samples = self.samples[::2]
            self.stride *= 2
            if step % self.stride:
                return
        self.samples.append(loss)


def sparkline(values: list[float]) -> str:
    """One block character per value, low to high; on a log scale when every
    value is positive (a loss falls by orders of magnitude), else linear."""
    if not values:
        return ""
    if all(value > 0 for value in values):
        values = [math.log10(value) for value in values]
    low, high = min(values), max(values)
    if high == low:
        return SPARK_LEVELS[0] * len(values)
    top = len(SPARK_LEVELS) - 1
    return "".join(SPARK_LEVELS[round((v - low) / (high - low) * top)] for v in values)


def progress_line(step: Step, limit: int, history: LossHistory) -> Text:
    return Text.assemble(
        (f"step {step.step:,}/{limit:,}", "bold"),
        f"  loss {format_short(step.loss)}",
        f"  gradient norm {format_short(step.gradient_norm, 3)}  ",
        (sparkline(history.samples), "cyan"),
    )


@contextmanager
def _live_display(quiet: bool, limit: int) -> Iterator[Callable[[Step], None]]:
    """A function that shows each step on stderr, redrawn a few times a
    second, for a person watching; or one that does nothing."""
    if quiet or not sys.stderr.isatty():
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
