"""What a fit gives: each step (:class:`FitStep`), each epoch
(:class:`Epoch`), and the result (:class:`Fitted`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..descent import Step
from ..numerals import format_short
from .data import BadRows

Stopped = Literal["tolerance", "epochs", "diverged", "interrupted"]


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
