"""``cgrad check``: the reverse-mode gradient against forward mode and
finite differences, at a point and at random points around it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Optional

import typer

from ..check.checker import (
    DIFFERENCE_ATOL,
    DIFFERENCE_RTOL,
    FORWARD_ATOL,
    FORWARD_RTOL,
    MAX_RANDOM_POINTS,
)
from ..check.differences import LADDER, ROUNDING
from ..check.runs import run_check
from ..errors import UsageError
from ..views.json_documents import check_json
from ..views.terminal_check import check_report
from .application import command
from .arguments import input_values, read_command_line, split_wrt
from .environment import environment
from .exits import FailuresFoundError
from .output import stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt

# A run of less work than this (in points of a small program, see
# points_progress) is over before a bar would be any use.
PROGRESS_MIN_WORK = 200
# A point's work grows with the graph's nodes times its inputs (a step
# ladder per input over the whole graph): a program of this many of them
# takes about twice a small one's milliseconds.
WORK_PER_POINT = 1000


@contextmanager
def points_progress(
    count: int, nodes: int, inputs: int
) -> Iterator[Callable[[int], object] | None]:
    """A bar of the random points checked, on stderr, for a person watching
    a long run (a point of a small program takes milliseconds, of one of
    hundreds of inputs a second); erased when done."""
    work = count * (1 + nodes * inputs / WORK_PER_POINT)
    if work < PROGRESS_MIN_WORK or not environment().stderr_is_terminal:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("cgrad check", total=count)
        yield lambda done: bar.update(task, completed=done)


def _sci(number: float) -> str:
    return f"{number:g}".replace("e-0", "e-")


# Typer keeps the line breaks of a help text: each paragraph is one line
# here, for Rich to fold to the terminal's width.
HELP = "\n\n".join(
    [
        "Check the gradient at a point: reverse mode against forward mode and against "
        "finite differences. Exit 1 if a partial derivative disagrees beyond tolerance.",
        "Finite differences are central, (f(x+h) - f(x-h)) / 2h, with "
        "h = cbrt(eps)*max(1, |x|), about 6.1e-6*max(1, |x|): the step where the "
        "truncation error (h^2) and the rounding error (eps/h) balance, scaled with x so "
        "that a large input keeps a step that float64 can represent (a fixed 1e-6, as in "
        "PyTorch's gradcheck, rounds away past about 1e10). The difference is also taken "
        f"at 2h and at h/2, h/4, ... h/2^{LADDER}, and the step whose result agrees best "
        "with its neighbours is kept: that finds a good step where f turns faster than x "
        "(sin(x) at 1e6). A step never crosses a kink, a pole or a domain edge of any node "
        "(1/x at 1e-10, abs(x) at 1e-300): steps that would are dropped, and the ladder "
        "starts again under the nearest edge. Where even a step of a few units in the last "
        "place of x crosses one (abs(sin(x)) at pi), or no step float64 can take there "
        "resolves f (sin(x) at 1e34; sin(x + 1e18) in x), the partial is marked cannot "
        "judge: it does not fail, and a warning says why.",
        "Tolerances: reverse and forward mode run the same rules in another order and must "
        f"agree to {_sci(FORWARD_RTOL)} relative plus {_sci(FORWARD_ATOL)} absolute. Reverse "
        f"mode and the finite difference must agree to {_sci(DIFFERENCE_RTOL)} relative plus "
        f"{_sci(DIFFERENCE_ATOL)} absolute plus the difference's own error estimate: its "
        f"distance from its neighbours and from shorter steps, plus {ROUNDING:g}*eps*|f| of "
        "rounding and eps*|v|*|df/dv| for each node v the step moves, over the "
        "distance between the two points. A relative error is |a - b| / max(|a|, |b|); "
        "the table shows the worse of the two comparisons.",
        "At a kink (relu or abs at 0, a min/max tie, sqrt at 0) or a NaN or infinity, "
        "finite differences cannot judge: a partial whose input feeds it is marked kink or "
        "non-finite and does not fail, and the warnings say why. Partials that were not "
        'judged leave the exit status 0; in --json their "ok" is null and their '
        '"verdict" (ok, fail, kink, non-finite or cannot-judge) says why. Reverse and forward mode '
        "apply the same convention there, and must still agree.",
        "Random points are drawn with --seed (default 0), so that a run repeats exactly.",
    ]
)

EXAMPLES = """
[bold]Examples[/bold]

  cgrad check "(x+y)*z" x=1 y=2 z=3
  cgrad check "relu(x)*y" x=0 y=2       [dim]# a kink: reported, not failed[/dim]
  cgrad check "sin(x*y) + x" x=0.5 y=2 --wrt x
  cgrad check @samples/neuron.cg x1=2 x2=0 w1=-3 w2=1 b=6.88 --random 100
  cgrad check "x^y" x=2 y=3 --random 5 --seed 7 --json
"""


@command("check", help=HELP, epilog=EXAMPLES)
def check_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    random: Annotated[
        Optional[int],
        typer.Option(
            "--random",
            metavar="N",
            help="Also check N random points around the given one: each input moved by "
            "normal noise times max(1, |x|); at most 100000.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            metavar="S", help="The seed of the random points, so that a run can be repeated."
        ),
    ] = 0,
    json_output: Json = False,
) -> None:
    """The command; its help is HELP."""
    function, line, options = read_command_line(context, expression, variables)
    inputs = input_values(function, line, options)
    # The library says the same, but in its own terms, not the options'.
    if random is not None and random < 0:
        raise UsageError(f"--random must be a number of points >= 0, not {random}")
    if random is not None and random > MAX_RANDOM_POINTS:
        raise UsageError(f"--random must be at most {MAX_RANDOM_POINTS}, not {random}")
    if seed < 0:
        raise UsageError(f"--seed must be >= 0, not {seed}")
    size = (random or 0, len(function.graph), len(function.inputs))
    with points_progress(*size) as progress:
        run = run_check(function, inputs, split_wrt(wrt), random, seed, progress)
    if json_output:
        write_json(check_json(function.source, run))
    else:
        # Soft wrap: the tables' lines stay whole and the terminal folds them.
        stdout_console().print(check_report(function, run), soft_wrap=True)
    if not run.passed:
        raise FailuresFoundError()
