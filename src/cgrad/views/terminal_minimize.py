"""``cgrad minimize`` for the terminal, as Rich renderables: the summary
of a run, and the progress line redrawn while it goes (the step, the loss,
the gradient norm and a sparkline of the loss so far)."""

from __future__ import annotations

import math

from rich.console import Group
from rich.text import Text

from ..descent import Minimum, Step
from ..function import Function
from ..numerals import format_number, format_short
from .terminal_tables import aligned_table, program_heading

# Characters of the sparkline, and its levels from low to high.
SPARK_WIDTH = 40
SPARK_LEVELS = "▁▂▃▄▅▆▇█"


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
    """The live line: the step of the limit, the loss, the gradient norm,
    and the sparkline of the loss so far. A step of ``cgrad fit`` (which
    has an epoch) counts epochs instead, its steps after."""
    counter = f"step {step.step:,}/{limit:,}"
    epoch = getattr(step, "epoch", None)
    if epoch is not None:
        counter = f"epoch {epoch:,}/{getattr(step, 'epochs', limit):,}  step {step.step:,}"
    return Text.assemble(
        (counter, "bold"),
        f"  loss {format_short(step.loss)}",
        f"  gradient norm {format_short(step.gradient_norm, 3)}  ",
        (sparkline(history.samples), "cyan"),
    )
