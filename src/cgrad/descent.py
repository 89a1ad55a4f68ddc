"""Gradient descent on a compiled function: ``cgrad.minimize(f, start)``.

Each iteration is one ``Function.evaluate`` at the current point, which is
one forward and one backward pass, and one update of the parameters by the
chosen rule. The parameters are the ``wrt`` inputs (all of them by default);
the other inputs stay at their start values.

**The rules** (``METHODS``), each a small class whose ``step(gradient)``
returns the change to the parameters:

- ``gd``: ``-lr * g``.
- ``momentum``: the heavy ball as PyTorch's SGD writes it,
  ``v = 0.9 v + g``, change ``-lr * v``.
- ``adam``: Kingma and Ba's rule with their constants (``beta1 = 0.9``,
  ``beta2 = 0.999``, ``eps = 1e-8``) and bias correction.

**The defaults** (``DEFAULTS``): ``lr`` 0.01 for ``gd`` and ``momentum``,
0.05 for ``adam``; 10,000 steps; ``tol`` 1e-8 on the gradient norm. Adam
moves each parameter by about ``lr`` a step whatever the scale of the
gradient, so its ``lr`` is a distance: 0.05 crosses a few units in a
hundred steps, and on the samples and the tests' functions it needed a
third to a half of the steps 0.01 or 0.02 took, and still settled to 1e-8.
Gradient descent's step is ``lr`` times the gradient, stable only while
``lr`` is below 2 / (the largest curvature): 0.01 is safe up to a
curvature of 200, which covers the samples, and a steeper function says so
by diverging (momentum 0.9 multiplies the step by up to 10, and the bound
by 1.9).

**Stopping.** At the tolerance (the Euclidean norm of the gradient at most
``tol``), at the step limit, or as soon as the loss, the gradient, the
point or the method's own state (momentum's velocity, Adam's averages) is
not finite: then the run has *diverged*, and the result is the last point
where everything was finite (with the step that went wrong and its
warnings in ``Minimum.diverged``, or what overflowed in
``Minimum.overflow``). A start where the loss or gradient is
already not finite is an :class:`InputError`, since there is no finite point
to report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import count
from numbers import Integral, Real
from typing import Literal, NamedTuple, TypeGuard

import numpy as np

from .autodiff.diagnostics import EvaluationWarning
from .autodiff.inputs import chosen_wrt, number_as_float, unmasked
from .errors import InputError, UsageError
from .function import Function, compiled
from .numerals import format_number, format_short

Stopped = Literal["tolerance", "steps", "diverged", "interrupted"]


class GradientDescent:
    """Plain gradient descent: a step against the gradient, ``lr`` times it."""

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def step(self, gradient: np.ndarray) -> np.ndarray:
        return -self.lr * gradient

    def overflowed(self) -> list[tuple[str, np.ndarray]]:
        """The parts of the state that are no longer finite: none here."""
        return []


class Momentum:
    """Heavy-ball momentum: the step follows a decaying sum of gradients."""

    def __init__(self, lr: float, beta: float = 0.9) -> None:
        self.lr = lr
        self.beta = beta
        self.velocity: np.ndarray | float = 0.0

    def step(self, gradient: np.ndarray) -> np.ndarray:
        self.velocity = self.beta * self.velocity + gradient
        return -self.lr * self.velocity

    def overflowed(self) -> list[tuple[str, np.ndarray]]:
        """The parts of the state that are no longer finite, by name, with
        a mask of the parameters concerned."""
        return _not_finite([("the momentum's velocity", self.velocity)])


class Adam:
    """Adam: each parameter's step is its mean gradient over the root of its
    mean squared gradient, both decaying averages corrected for their start
    at zero, so every parameter moves by about ``lr`` a step."""

    def __init__(
        self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.mean: np.ndarray | float = 0.0
        self.square: np.ndarray | float = 0.0
        self.count = 0

    def step(self, gradient: np.ndarray) -> np.ndarray:
        self.count += 1
        self.mean = self.beta1 * self.mean + (1 - self.beta1) * gradient
        self.square = self.beta2 * self.square + (1 - self.beta2) * gradient**2
        mean = self.mean / (1 - self.beta1**self.count)
        square = self.square / (1 - self.beta2**self.count)
        return -self.lr * mean / (np.sqrt(square) + self.eps)

    def overflowed(self) -> list[tuple[str, np.ndarray]]:
        """The parts of the state that are no longer finite, by name, with
        a mask of the parameters concerned. Where the mean squared gradient
        overflows, the step is the mean over infinity, 0: the run would
        stand still and look as if it had run out of steps."""
        return _not_finite(
            [
                ("Adam's mean gradient", self.mean),
                ("Adam's mean squared gradient", self.square),
            ]
        )


def _not_finite(parts: list[tuple[str, object]]) -> list[tuple[str, np.ndarray]]:
    found = []
    for name, value in parts:
        bad = ~np.isfinite(np.asarray(value))
        if bad.any():
            found.append((name, bad))
    return found


class Defaults(NamedTuple):
    """A method's learning rate and step limit when none are given."""

    lr: float
    steps: int


METHODS: dict[str, type] = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}
# As the module's docstring argues.
DEFAULTS: dict[str, Defaults] = {
    "gd": Defaults(lr=0.01, steps=10_000),
    "momentum": Defaults(lr=0.01, steps=10_000),
    "adam": Defaults(lr=0.05, steps=10_000),
}
DEFAULT_TOL = 1e-8


@dataclass(frozen=True)
class Step:
    """One evaluation: the loss and gradient at the point of step ``step``
    (step 0 is the start; step k is after k updates)."""

    step: int
    loss: float
    point: dict[str, float]
    gradient: dict[str, float]
    gradient_norm: float
    warnings: tuple[EvaluationWarning, ...] = ()

    @property
    def finite(self) -> bool:
        numbers = [self.loss, *self.point.values(), *self.gradient.values()]
        return all(math.isfinite(number) for number in numbers)


@dataclass(frozen=True)
class Minimum:
    """Where a run of :func:`minimize` ended, and why.

    ``point`` holds every input (the fixed ones at their start values);
    ``gradient`` the partials by the parameters. ``steps`` is the number of
    updates that led to ``point``. When ``stopped`` is ``"diverged"``, the
    point is the last finite one and ``diverged`` the step after it.
    """

    method: str
    lr: float
    tol: float
    start: dict[str, float]
    point: dict[str, float]
    value: float
    gradient: dict[str, float]
    gradient_norm: float
    steps: int
    stopped: Stopped
    diverged: Step | None = None
    # Where the method's own state overflowed with the point still finite
    # (Adam's mean squared gradient): what overflowed, in words.
    overflow: str | None = None
    # The loss at the start point (step 0).
    start_value: float = math.nan

    def advice(self, lr: str = "lr") -> str | None:
        """What to try after a divergence (None for a run that did not
        diverge); ``lr`` is how the caller spells the learning rate."""
        if self.stopped != "diverged":
            return None
        smaller = f"try a smaller {lr} than {format_number(self.lr)}"
        if self.value < self.start_value:
            # Falling all the way: a smaller rate only falls more slowly.
            return (
                f"the loss fell from {format_short(self.start_value, 3)} to "
                f"{format_short(self.value, 3)}: the function may have no minimum; or {smaller}"
            )
        return smaller

    @property
    def reason(self) -> str:
        """Why the run stopped, in a phrase."""
        norm = format_short(self.gradient_norm, 3)
        if self.stopped == "tolerance":
            return f"the gradient norm reached the tolerance ({norm} <= {format_number(self.tol)})"
        if self.stopped == "steps":
            return (
                f"the step limit came first (the gradient norm {norm} is above the "
                f"tolerance {format_number(self.tol)})"
            )
        if self.stopped == "interrupted":
            return f"interrupted at step {self.steps:,} (the gradient norm was {norm})"
        if self.overflow is not None:
            return f"diverged at step {self.steps + 1}: {self.overflow}"
        assert self.diverged is not None, "a divergence without an overflow has its step"
        return f"diverged at step {self.diverged.step}: {_what_went_wrong(self.diverged)}"


def minimize(
    function: Function | str,
    start: Mapping[str, float],
    *,
    wrt: Sequence[str] | str | None = None,
    method: str = "adam",
    lr: float | None = None,
    steps: int | None = None,
    tol: float = DEFAULT_TOL,
    callback: Callable[[Step], object] | None = None,
) -> Minimum:
    """Minimize ``function`` from ``start`` (a number for every input) by
    moving the ``wrt`` inputs (default: all) with ``method`` (``gd``,
    ``momentum`` or ``adam``). ``lr`` and ``steps`` default per method (see
    ``DEFAULTS``). ``callback`` sees every :class:`Step`, the one that
    diverged included. An interruption (KeyboardInterrupt and the like)
    goes through, carrying the last finite step as ``.minimum``."""
    function = compiled(function, "cgrad.minimize")
    rule, lr, steps, tol = _settings(method, lr, steps, tol)
    run = _Run(method, lr, tol, _start_point(function, start))
    params = _parameters(function, wrt)
    position = np.array([run.start[name] for name in params], dtype=np.float64)
    optimiser = rule(lr)
    last: Step | None = None  # the last step updated from
    reached: Step | None = None  # the latest finite one
    try:
        for number in count():
            current = _measure(function, run.start, params, position, number)
            finite = current.finite
            if not finite and last is None:
                raise InputError(
                    f"cannot start here: {_what_went_wrong(current)}",
                    hint="start where the expression and its gradient are finite",
                )
            reached = current if finite else reached
            run = run if number else replace(run, start_value=current.loss)  # step 0's loss
            if callback is not None:
                callback(current)
            if last is not None and not finite:
                return run.ended("diverged", last, diverged=current)
            if current.gradient_norm <= tol:
                return run.ended("tolerance", current)
            if number == steps:
                return run.ended("steps", current)
            # Overflow is divergence, found below, not a warning for the user.
            with np.errstate(all="ignore"):
                position = position + optimiser.step(np.array(list(current.gradient.values())))
            overflow = overflowed_parameter(optimiser, params, current)
            if overflow is not None:
                return run.ended("diverged", current, overflow=overflow)
            last = current
    except BaseException as stop:
        # Ctrl-C or SIGTERM (not an Exception) ends the run, as it must; the
        # point reached so far travels with it, for the caller to show.
        if not isinstance(stop, Exception) and reached is not None:
            # Any BaseException may carry it: the attribute is set, not declared.
            stop.minimum = run.ended("interrupted", reached)  # type: ignore[attr-defined]
        raise
    raise AssertionError("unreachable: count() never ends")


@dataclass(frozen=True)
class _Run:
    """The settings of one run, to make its :class:`Minimum` wherever it ends."""

    method: str
    lr: float
    tol: float
    start: dict[str, float]
    start_value: float = math.nan

    def ended(
        self, stopped: Stopped, at: Step, diverged: Step | None = None, overflow: str | None = None
    ) -> Minimum:
        """The run's result, ended for ``stopped`` at the step ``at``."""
        return Minimum(
            method=self.method,
            lr=self.lr,
            tol=self.tol,
            start=self.start,
            point=at.point,
            value=at.loss,
            gradient=at.gradient,
            gradient_norm=at.gradient_norm,
            steps=at.step,
            stopped=stopped,
            diverged=diverged,
            overflow=overflow,
            start_value=self.start_value,
        )


def _measure(
    function: Function,
    start: dict[str, float],
    params: list[str],
    position: np.ndarray,
    number: int,
) -> Step:
    """The loss and gradient at ``position``, as step ``number``."""
    # The fixed inputs keep their start values, and every input its place.
    point = {**start, **dict(zip(params, position.tolist(), strict=True))}
    result = function.evaluate(point, wrt=params)
    gradient = [float(result.gradient[name]) for name in params]
    return Step(
        step=number,
        loss=float(result.value),
        point=point,
        gradient=dict(zip(params, gradient, strict=True)),
        # hypot does not overflow where the sum of squares would.
        gradient_norm=math.hypot(*gradient),
        warnings=result.warnings,
    )


def _settings(
    method: str, lr: float | None, steps: int | None, tol: float
) -> tuple[type, float, int, float]:
    if method not in METHODS:
        raise UsageError(
            f"the method must be {', '.join(METHODS)}, not {method!r}", type="usage_error"
        )
    lr = DEFAULTS[method].lr if lr is None else lr
    steps = DEFAULTS[method].steps if steps is None else steps
    # Written so that NaN fails them too.
    if not (real(lr) and math.isfinite(lr) and lr > 0):
        raise UsageError(
            f"the learning rate, lr, must be a finite positive number, not {shown_setting(lr)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
        raise UsageError(
            f"the step limit, steps, must be a whole number >= 0, not {shown_setting(steps)}"
        )
    if not (real(tol) and tol >= 0):
        raise UsageError(f"the tolerance, tol, must be a number >= 0, not {shown_setting(tol)}")
    return METHODS[method], float(lr), int(steps), float(tol)


def real(value: object) -> TypeGuard[float]:  # (any Real: float() reads it)
    """Whether a setting is a number (True is none, though Python counts it one)."""
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def shown_setting(value: object) -> str:
    """A setting in an error, a number as cgrad writes numbers (NaN, Infinity)."""
    return format_number(float(value)) if real(value) else repr(value)


def _start_point(function: Function, start: Mapping[str, float]) -> dict[str, float]:
    """Every input's start value as a float, in input order."""
    if not hasattr(start, "keys"):
        raise InputError(
            f"the start must be a mapping of input names to numbers, not {start!r}",
            hint=function.inputs_text(),
            type="usage_error",
        )
    function.check_names(start)
    point = {}
    for name in function.inputs:
        value = unmasked(start[name])
        if np.ndim(value) != 0:
            raise InputError(
                f"the start value of {name} must be one number, not an array of shape "
                f"{np.shape(value)}"
            )
        value = number_as_float(value)  # (10**400: Infinity, refused below)
        if not math.isfinite(value):
            raise InputError(
                f"the start value of {name} must be finite, not {format_number(value)}"
            )
        point[name] = value
    return point


def _parameters(function: Function, wrt: Sequence[str] | str | None) -> list[str]:
    """The inputs to move, in input order."""
    named = chosen_wrt(wrt, function.inputs)
    chosen = set(function.inputs if named is None else named)
    if not chosen:
        raise UsageError(
            "there is nothing to minimize over: no input is a parameter",
            hint=function.inputs_text(),
        )
    return [name for name in function.inputs if name in chosen]


def overflowed_parameter(optimiser, params: list[str], at: Step) -> str | None:
    """What of the method's state is no longer finite, in words, or None.
    A point that is not finite is found by the next evaluation, which says
    where it came from."""
    found = optimiser.overflowed()
    if not found:
        return None
    part, bad = found[0]
    name = params[int(np.flatnonzero(np.broadcast_to(bad, (len(params),)))[0])]
    return (
        f"{part} overflowed in {name} (the partial by {name} is "
        f"{format_number(at.gradient[name])} at step {at.step})"
    )


def _what_went_wrong(step: Step) -> str:
    """Which numbers of a step are not finite, and the engine's word on where
    the first came from."""
    if not math.isfinite(step.loss):
        what = f"the loss is {format_number(step.loss)}"
    elif not all(math.isfinite(v) for v in step.point.values()):
        bad = [name for name, v in step.point.items() if not math.isfinite(v)]
        what = f"the point went off to {format_number(step.point[bad[0]])} in {bad[0]}"
    else:
        bad = [name for name, v in step.gradient.items() if not math.isfinite(v)]
        what = f"the partial by {bad[0]} is {format_number(step.gradient[bad[0]])}"
    found = [w.message for w in step.warnings if w.type != "kink"]
    return f"{what} ({found[0]})" if found else what
