"""What a fit gives: each step (:class:`FitStep`), each epoch
(:class:`Epoch`), and the result (:class:`Fitted`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from ..descent import Step
from ..numerals import format_short
from .data import BadRows

Stopped = Literal["tolerance", "epochs", "diverged", "interrupted"]

# The epochs a result keeps in its history: past twice this many, every
# other one is let go (see History).
HISTORY_EPOCHS = 500


@dataclass(frozen=True)
class FitStep(Step):
    """One step of a fit: :class:`cgrad.descent.Step` (the batch's mean loss
    and gradient at the parameters ``point``), with its epoch."""

    epoch: int = 1
    epochs: int = 1
    rows: int = 0


@dataclass(frozen=True)
class Epoch:
    """One epoch: its steps so far, the mean loss over its batches (each at
    the point of its step), and the validation loss at its end."""

    epoch: int
    steps: int
    loss: float
    validation_loss: float | None


class History:
    """The epochs a run keeps, bounded however long it runs: every epoch
    until there are ``2 * HISTORY_EPOCHS``, then every other one is let go,
    and so on, so that what is kept is every k-th epoch from the first (k a
    power of 2), never more than ``2 * HISTORY_EPOCHS``, and the last epoch
    always."""

    def __init__(self) -> None:
        self.kept: list[Epoch] = []
        self.every = 1
        self.last: Epoch | None = None

    def add(self, epoch: Epoch) -> None:
        if (epoch.epoch - 1) % self.every == 0:
            self.kept.append(epoch)
            if len(self.kept) > 2 * HISTORY_EPOCHS:
                self.kept, self.every = self.kept[::2], self.every * 2
        self.last = epoch

    def epochs(self) -> tuple[Epoch, ...]:
        """The epochs kept, the last one included."""
        if self.last is None or (self.kept and self.kept[-1] is self.last):
            return tuple(self.kept)
        return (*self.kept, self.last)


@dataclass(frozen=True)
class Fitted:
    """The result of :func:`fit`: the parameters, the loss and gradient of
    the training rows there, the validation loss, and how the run went."""

    model: str
    loss: str
    target: str
    method: str
    lr: float
    seed: int
    batch_rows: int | None
    streamed: bool
    start: dict[str, float]
    params: dict[str, float]
    gradient: dict[str, float]
    gradient_norm: float
    training_loss: float
    validation_loss: float | None
    rows: int
    validation_rows: int
    bad_rows: BadRows
    epochs: int
    steps: int
    stopped: Stopped
    history: tuple[Epoch, ...]
    # Where it diverged, in words naming the parameter (when stopped so).
    diverged: str | None = None
    # The step whose pass gave the training loss and gradient, where they
    # are not measured at ``params`` (a streamed run interrupted: its
    # last pass, before that step's update); None: measured at ``params``.
    loss_step: int | None = None

    def __repr__(self) -> str:
        # The history by its length: a long run keeps up to a thousand epochs.
        shown = (
            f"history=<{len(self.history):,} epochs>"
            if name == "history"
            else f"{name}={getattr(self, name)!r}"
            for name in (item.name for item in fields(self))
        )
        return f"Fitted({', '.join(shown)})"

    @property
    def reason(self) -> str:
        """Why the run stopped, in a phrase."""
        if self.stopped == "tolerance":
            return (
                f"the gradient norm reached the tolerance at step {self.steps:,} "
                f"({format_short(self.gradient_norm, 3)})"
            )
        if self.stopped == "epochs":
            return f"the epoch limit ({self.epochs:,} epochs, {self.steps:,} steps)"
        if self.stopped == "interrupted":
            return f"interrupted in epoch {self.epochs:,}, after {self.steps:,} steps"
        return f"diverged: {self.diverged}"
