"""The steps of a fit (:class:`Run`): each one forward and one backward
pass of the joined program over a batch, its partials summed over the rows
by the engine, then one update by :mod:`cgrad.descent`'s rule; the epochs,
the stopping, and the result."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..autodiff.diagnostics import EvaluationWarning
from ..descent import overflowed_parameter
from ..function import Function
from ..numerals import format_number
from .data import Columns
from .places import Places
from .results import Epoch, FitStep, Fitted, History, Stopped
from .rows import Rows


@dataclass
class Measured:
    """A loss and gradient summed over rows, and how many rows."""

    loss: float = 0.0
    gradient: np.ndarray | float = 0.0
    rows: int = 0
    warnings: list[EvaluationWarning] = field(default_factory=list)

    def mean(self) -> tuple[float, np.ndarray]:
        rows = max(self.rows, 1)
        return self.loss / rows, np.asarray(self.gradient, dtype=np.float64) / rows


def measure(
    joined: Function,
    params: Sequence[str],
    position: np.ndarray,
    chunks: Iterable[Columns],
    gradient: bool = True,
    places: Places | None = None,
) -> Measured:
    """The loss (and, with ``gradient``, its partials by ``params``) summed
    over the rows of ``chunks``, at the parameters ``position``; the
    warnings pointing at the user's text where ``places`` says."""
    point = dict(zip(params, position.tolist(), strict=True))
    found = Measured(gradient=np.zeros(len(params)))
    wrt = params if gradient else ()
    for chunk in chunks:
        rows = len(next(iter(chunk.values())))
        if rows == 0:
            continue
        result = joined.evaluate({**chunk, **point}, wrt=wrt, summed=True)
        # A sum that overflows is a divergence, said by the caller.
        with np.errstate(all="ignore"):
            found.loss += float(np.add.reduce(result.value, None))
            if gradient:
                found.gradient = found.gradient + np.array([result.gradient[n] for n in params])
        found.rows += rows
        said = [w for w in result.warnings if w.type != "kink"]
        found.warnings.extend(said if places is None else map(places.warning, said))
    return found


class Run:
    """One fit from its start: the settings, the rows, and the steps taken."""

    def __init__(
        self,
        model: Function,
        joined: Function,
        params: list[str],
        rows: Rows,
        start: dict[str, float],
        loss: str,
        target: str,
        method: str,
        lr: float,
        seed: int,
    ) -> None:
        self.model, self.joined, self.params, self.rows = model, joined, params, rows
        self.start, self.loss, self.target = start, loss, target
        self.method, self.lr, self.seed = method, lr, seed
        self.places = Places(model, loss)
        self.position = np.array([start[name] for name in params], dtype=np.float64)
        self.good = self.position.copy()  # the last point where all was finite
        self.history = History()
        self.last: FitStep | None = None  # the last step measured
        self.steps = 0
        self.epoch = 0

    def go(
        self, optimiser, epochs: int, tol: float, callback: Callable[[FitStep], object] | None
    ) -> Fitted:
        """Run the epochs; the result (an interruption carries it as ``.fitted``)."""
        try:
            stopped, diverged = self._epochs(optimiser, epochs, tol, callback)
        except BaseException as stop:
            if not isinstance(stop, Exception):
                # Streamed, measuring again would read the whole data once
                # more: the last pass's loss says where the run was.
                again = not self.rows.streamed
                stop.fitted = self.result("interrupted", measure_again=again)  # type: ignore[attr-defined]
            raise
        return self.result(stopped, diverged)

    def _epochs(
        self, optimiser, epochs: int, tol: float, callback: Callable[[FitStep], object] | None
    ) -> tuple[Stopped, str | None]:
        shuffle = np.random.default_rng([self.seed, 2])
        for epoch in range(1, epochs + 1):
            total = rows = 0.0
            for batch in self.rows.training(shuffle):
                step = self._step(batch, epoch, epochs)
                self.last = step
                if callback is not None:
                    callback(step)
                blown = _blown(step, self.params)
                if blown is not None:
                    return "diverged", blown
                self.good = self.position.copy()
                total, rows = total + step.loss * step.rows, rows + step.rows
                if step.gradient_norm <= tol:
                    # An epoch counts once a step of it has moved the point.
                    if self.epoch == epoch:
                        self._epoch_done(epoch, total / max(rows, 1))
                    return "tolerance", None
                with np.errstate(all="ignore"):
                    self.position = self.position + optimiser.step(
                        np.array(list(step.gradient.values()))
                    )
                self.steps += 1
                self.epoch = epoch
                overflow = overflowed_parameter(optimiser, self.params, step)
                if overflow is not None:
                    return "diverged", overflow
                if not np.isfinite(self.position).all():
                    name = self.params[int(np.flatnonzero(~np.isfinite(self.position))[0])]
                    return "diverged", (
                        f"the update at step {step.step + 1:,} sent {name} to "
                        f"{format_number(float(self.position[self.params.index(name)]))}"
                    )
            self._epoch_done(epoch, total / max(rows, 1))
        return "epochs", None

    def _step(self, batch: Iterable[Columns], epoch: int, epochs: int) -> FitStep:
        """The mean loss and gradient of one batch (its chunks) at the
        current point."""
        found = measure(self.joined, self.params, self.position, batch, places=self.places)
        loss, gradient = found.mean()
        values = gradient.tolist()
        return FitStep(
            step=self.steps,
            loss=loss,
            point=dict(zip(self.params, self.position.tolist(), strict=True)),
            gradient=dict(zip(self.params, values, strict=True)),
            gradient_norm=math.hypot(*values),
            warnings=tuple(found.warnings),
            epoch=epoch,
            epochs=epochs,
            rows=found.rows,
        )

    def _epoch_done(self, epoch: int, loss: float) -> None:
        validation = self._validation_loss(self.position)
        self.history.add(Epoch(epoch, self.steps, loss, validation))

    def _validation_loss(self, position: np.ndarray) -> float | None:
        if self.rows.holdout is None and self.rows.validation_rows == 0:
            return None
        found = measure(self.joined, self.params, position, self.rows.validation(), False)
        return found.loss / found.rows if found.rows else None

    def result(
        self, stopped: Stopped, diverged: str | None = None, measure_again: bool = True
    ) -> Fitted:
        """The result at the last finite point: its loss and gradient over
        every training row, measured again there; or, not ``measure_again``,
        those of the last step's pass (NaN before the first), and no
        validation loss, the data read no more."""
        position = self.position if stopped != "diverged" else self.good
        if not np.isfinite(position).all():
            position = self.good
        last = None
        if not measure_again:
            nan = dict.fromkeys(self.params, math.nan)
            last = self.last or FitStep(self.steps, math.nan, {}, nan, math.nan)
        if last is None:
            final = measure(self.joined, self.params, position, self.rows.full())
            loss, gradient = final.mean()
            validation = self._validation_loss(position)
        else:
            loss, gradient = last.loss, np.array(list(last.gradient.values()))
            validation = None
        values = gradient.tolist()
        return Fitted(
            model=self.model.source,
            loss=self.loss,
            target=self.target,
            method=self.method,
            lr=self.lr,
            seed=self.seed,
            batch_rows=self.rows.batch_rows,
            streamed=self.rows.streamed,
            start=self.start,
            params=dict(zip(self.params, position.tolist(), strict=True)),
            gradient=dict(zip(self.params, values, strict=True)),
            gradient_norm=math.hypot(*values),
            training_loss=loss,
            validation_loss=validation,
            rows=self.rows.rows,
            validation_rows=self.rows.validation_rows,
            bad_rows=self.rows.bad,
            epochs=self.epoch,
            steps=self.steps,
            stopped=stopped,
            history=self.history.epochs(),
            diverged=diverged,
            loss_step=None if last is None else last.step,
        )


def _blown(step: FitStep, params: Sequence[str]) -> str | None:
    """Which parameter blew up at ``step``, in words; None if all is finite."""
    if step.finite:
        return None
    for name in params:
        if not math.isfinite(step.gradient[name]):
            said = f"the partial of the loss by {name} is {format_number(step.gradient[name])}"
            break
    else:
        name = max(params, key=lambda n: abs(step.point[n]))
        said = (
            f"the loss is {format_number(step.loss)}, with {name} the largest parameter "
            f"({format_number(step.point[name])})"
        )
    why = [w.message for w in step.warnings]
    return f"at step {step.step:,}, {said}" + (f" ({why[0]})" if why else "")
