"""Gradient checking: the reverse-mode partials at a point against forward
mode and against central finite differences.

Forward mode runs the same derivative rules as reverse mode in the other
order, so the two agree to rounding unless a traversal is wrong. Only the
finite differences, which use nothing but the ops' forward functions, can
catch a wrong rule.

**The step.** Input ``x`` is first moved by ``h = cbrt(eps) * max(1, |x|)``,
about ``6.1e-6 * max(1, |x|)``. A central difference has a truncation error
of about ``h^2 |f'''| / 6`` and a rounding error of about ``eps |f| / h``;
where ``f`` varies on the scale of ``max(1, |x|)`` their sum is smallest at
that ``h``, each about ``eps^(2/3)``, 4e-11 relative. Scaling by ``|x|``
keeps the step a fixed fraction of the input: a fixed ``1e-6`` (PyTorch's
gradcheck, HIPS autograd's check_grads) falls below the spacing of float64
numbers past about 1e10, where ``x + h`` rounds back to ``x``.

Not every function varies on the scale of its input: ``log(x)`` at
``x = 1e-7`` is not even defined a step to the left, and ``sin(x)`` at
``x = 1e6`` turns several times within ``h = 6``. So the difference is taken
on a ladder of steps, ``2h, h, h/2, ... h/2^LADDER``, and the rung whose
estimated error is smallest is kept. The estimate of a rung is how far its
difference lies from those of its two neighbours (its truncation error is
about a third of the distance to the coarser one), plus its rounding error,
``4 eps |f|`` over the distance between the two points. Choosing by the
estimate alone, never by closeness to the reverse-mode partial, keeps the
check honest. Where no rung has ``f`` finite on both sides (the point sits
on a domain edge, ``sqrt(x)`` at 0), one-sided differences are tried.

**The tolerances.** Reverse and forward must agree to ``FORWARD_RTOL``
relative plus ``FORWARD_ATOL``: they sum the same products in another
order. Reverse and the finite difference must agree to ``DIFFERENCE_RTOL``
relative plus ``DIFFERENCE_ATOL`` plus the difference's error estimate,
which grows only where the difference itself is unreliable (a function
that cancels, ``x + 1e8``; one that varies fast). Relative errors are
``|a - b| / max(|a|, |b|)``.

**Kinks and non-finite numbers.** Where the evaluation warns of a kink, or
of a NaN or infinity, finite differences are no judge: a partial whose
input feeds the node warned about (or whose numbers are not finite) is
marked ``kink`` or ``non-finite`` and does not fail. Reverse and forward
mode must still agree there when both are finite, since both apply the
same convention.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .diagnostics import EvaluationWarning
from .errors import InputError
from .function import Function
from .graph import INPUT, Graph
from .numbers import format_number

EPSILON = float(np.finfo(np.float64).eps)
# The first step of input x is STEP * max(1, |x|): cbrt(eps), about 6.1e-6.
STEP = EPSILON ** (1.0 / 3.0)
# Rungs below the first step, each half the one above: the smallest step is
# about 1e-11 * max(1, |x|), which resolves a domain edge 1e-10 away.
LADDER = 20

# Reverse against forward: the same rules summed in another order.
FORWARD_RTOL = 1e-10
FORWARD_ATOL = 1e-12
# Reverse against the finite difference, on top of the difference's own
# error estimate.
DIFFERENCE_RTOL = 1e-5
DIFFERENCE_ATOL = 1e-8
# Rounding allowed in each value a difference quotient subtracts, in units
# of eps |f| (a few ulps: the output of a graph is rounded at every node).
ROUNDING = 4.0

Status = Literal["ok", "fail", "kink", "non-finite"]
Scheme = Literal["central", "forward", "backward"]

_NON_FINITE_WARNINGS = frozenset(
    {"non_finite_value", "non_finite_derivative", "non_finite_input", "non_finite_gradient"}
)


@dataclass(frozen=True, slots=True)
class Partial:
    """One partial derivative three ways, and the verdict.

    ``abs_error`` and ``rel_error`` are the worse of reverse against forward
    and reverse against the finite difference. ``status`` is ``ok``,
    ``fail``, or, where finite differences cannot judge, ``kink`` or
    ``non-finite``, which do not fail the check.
    """

    name: str
    reverse: float
    forward: float
    finite_difference: float
    abs_error: float
    rel_error: float
    status: Status
    # Each comparison on its own: True or False, or None where not judged.
    forward_agrees: bool | None
    difference_agrees: bool | None
    # How far reverse and the finite difference may be apart here.
    allowed: float
    # The step the finite difference was taken with, and how.
    step: float
    scheme: Scheme

    @property
    def ok(self) -> bool | None:
        """True or False when judged; None at a kink or a non-finite number."""
        return {"ok": True, "fail": False}.get(self.status)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The check at one point: its inputs, the value, each partial checked,
    and the warnings of the evaluation."""

    inputs: dict[str, float]
    value: float
    partials: dict[str, Partial]
    warnings: tuple[EvaluationWarning, ...]

    @property
    def ok(self) -> bool:
        """No partial failed (kinks and non-finite numbers do not fail)."""
        return all(partial.status != "fail" for partial in self.partials.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, partial in self.partials.items() if partial.status == "fail"]


@dataclass(frozen=True, slots=True)
class _Difference:
    value: float
    error: float  # its own error estimate; NaN when there is none
    step: float
    scheme: Scheme


def check(
    function: Function,
    values: Mapping[str, object],
    wrt: Sequence[str] | str | None = None,
) -> CheckResult:
    """Compare the reverse-mode partials of ``function`` at the point
    ``values`` (one number per input) with forward mode and with finite
    differences; ``wrt`` limits the partials checked.

    Raises :class:`cgrad.InputError` for bad values, as ``evaluate`` does,
    and for arrays: a check is made at one point.
    """
    _one_point(values)
    reverse = function.evaluate(values, wrt=wrt)
    forward = function.evaluate(values, wrt=wrt, mode="forward")
    point = {name: float(values[name]) for name in function.inputs}
    names = list(reverse.gradient)
    differences = _finite_differences(function, point, names)
    kinked, non_finite = _inputs_feeding_warnings(function.graph, reverse.warnings)
    warnings = list(reverse.warnings)
    partials = {}
    for name in names:
        difference = differences[name]
        partials[name] = _judge(
            name,
            float(reverse.gradient[name]),
            float(forward.gradient[name]),
            difference,
            at_kink=name in kinked,
            non_finite=name in non_finite,
        )
        if math.isnan(difference.value) and not reverse.warnings:
            # Every NaN in an output comes with a warning; this one was born
            # beside the point, not at it.
            warnings.append(
                EvaluationWarning(
                    "non_finite_value",
                    f"no finite difference in {name}: the expression is not finite on "
                    f"either side of {name} = {format_number(point[name])}",
                )
            )
    return CheckResult(
        inputs=point,
        value=float(reverse.value),
        partials=partials,
        warnings=tuple(warnings),
    )


def check_random(
    function: Function,
    values: Mapping[str, object],
    count: int,
    *,
    seed: int = 0,
    wrt: Sequence[str] | str | None = None,
) -> list[CheckResult]:
    """:func:`check` at ``count`` points drawn around ``values``: each input
    moved by normal noise times ``max(1, |x|)``, drawn from numpy's default
    generator seeded with ``seed``, so that a run can be repeated."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError(
            f"the number of random points must be a whole number >= 0, not {count!r}",
            type="usage_error",
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"the seed must be a whole number >= 0, not {seed!r}", type="usage_error")
    _one_point(values)
    function.check_names(values)
    names = list(function.inputs)
    centre = np.array([float(values[name]) for name in names], dtype=np.float64)
    scale = np.maximum(1.0, np.abs(centre))
    # One draw per input per point, in input order, so that a seed gives
    # the same points whatever order the values were given in.
    noise = np.random.default_rng(seed).standard_normal((count, len(names)))
    with np.errstate(all="ignore"):  # an infinite input becomes NaN, which is warned of
        points = centre + noise * scale
    return [check(function, dict(zip(names, row.tolist(), strict=True)), wrt) for row in points]


def _one_point(values: Mapping[str, object]) -> None:
    arrays = [name for name, value in values.items() if np.ndim(value) != 0]
    if arrays:
        raise InputError(
            f"a gradient check takes one number per input, not an array (for {arrays[0]})",
            hint="check_random checks many points around one",
            type="invalid_value",
        )


def _finite_differences(
    function: Function, point: dict[str, float], names: list[str]
) -> dict[str, _Difference]:
    """The finite difference in each input of ``names``, from one vectorised
    evaluation: the point, then x + s and x - s for each step s of each
    input's ladder."""
    if not names:
        return {}
    rungs = LADDER + 2  # 2h, h, and the LADDER halvings of h
    width = 2 * rungs
    columns = {name: np.full(1 + width * len(names), value) for name, value in point.items()}
    with np.errstate(all="ignore"):  # an infinite x makes NaN steps, and NaN differences
        for k, name in enumerate(names):
            x = point[name]
            steps = 2.0 * STEP * max(1.0, abs(x)) * 0.5 ** np.arange(rungs)
            start = 1 + width * k
            columns[name][start : start + rungs] = x + steps
            columns[name][start + rungs : start + width] = x - steps
    values = np.asarray(function.evaluate(columns, wrt=[]).value, dtype=np.float64)
    differences = {}
    for k, name in enumerate(names):
        start = 1 + width * k
        up, down = slice(start, start + rungs), slice(start + rungs, start + width)
        column = columns[name]
        differences[name] = _best_difference(
            column[0], column[up], column[down], values[0], values[up], values[down]
        )
    return differences


def _best_difference(x, ups, downs, f0, f_ups, f_downs) -> _Difference:
    """The rung of the ladder with the smallest estimated error, central if
    any rung has f finite on both sides, else one-sided. ``ups`` and
    ``downs`` are x + s and x - s as rounded (the quotient divides by the
    step really taken), ``f_ups`` and ``f_downs`` f there."""
    with np.errstate(all="ignore"):
        schemes: list[tuple[Scheme, np.ndarray, np.ndarray, np.ndarray]] = [
            ("central", f_ups - f_downs, ups - downs, np.maximum(abs(f_ups), abs(f_downs))),
            ("forward", f_ups - f0, ups - x, np.maximum(abs(f_ups), abs(f0))),
            ("backward", f0 - f_downs, x - downs, np.maximum(abs(f_downs), abs(f0))),
        ]
        for scheme, rise, run, size in schemes:
            quotients = rise / run
            estimates = (
                np.maximum(
                    abs(quotients[1:-1] - quotients[:-2]), abs(quotients[1:-1] - quotients[2:])
                )
                + ROUNDING * EPSILON * size[1:-1] / run[1:-1]
            )
            usable = np.isfinite(estimates) & np.isfinite(quotients[1:-1])
            if np.any(usable):
                best = int(np.argmin(np.where(usable, estimates, np.inf)))
                return _Difference(
                    float(quotients[1 + best]),
                    float(estimates[best]),
                    float(abs(run[1 + best]) / (2.0 if scheme == "central" else 1.0)),
                    scheme,
                )
        return _Difference(math.nan, math.nan, float(abs(ups[1] - x)), "central")


def _judge(
    name: str,
    reverse: float,
    forward: float,
    difference: _Difference,
    at_kink: bool,
    non_finite: bool,
) -> Partial:
    fd = difference.value
    forward_abs, forward_rel = _errors(reverse, forward)
    difference_abs, difference_rel = _errors(reverse, fd)
    allowed = DIFFERENCE_ATOL + DIFFERENCE_RTOL * max(abs(reverse), abs(fd)) + difference.error
    modes_finite = math.isfinite(reverse) and math.isfinite(forward)
    forward_agrees = None
    if modes_finite:
        forward_agrees = forward_abs <= (
            FORWARD_ATOL + FORWARD_RTOL * max(abs(reverse), abs(forward))
        )
    difference_agrees = None
    judged = not (at_kink or non_finite) and modes_finite and math.isfinite(allowed)
    if judged:
        difference_agrees = difference_abs <= allowed
    status: Status
    # Reverse and forward apply the same conventions, so they must agree
    # even where finite differences cannot judge.
    if forward_agrees is False or difference_agrees is False:
        status = "fail"
    elif at_kink:
        status = "kink"
    elif not judged:
        status = "non-finite"
    else:
        status = "ok"
    return Partial(
        name=name,
        reverse=reverse,
        forward=forward,
        finite_difference=fd,
        abs_error=_worse(forward_abs, difference_abs),
        rel_error=_worse(forward_rel, difference_rel),
        status=status,
        forward_agrees=forward_agrees,
        difference_agrees=difference_agrees,
        allowed=allowed,
        step=difference.step,
        scheme=difference.scheme,
    )


def _errors(a: float, b: float) -> tuple[float, float]:
    """|a - b| and |a - b| / max(|a|, |b|): both 0 where a == b (infinities
    included), NaN where either is NaN."""
    if a == b:
        return 0.0, 0.0
    if math.isnan(a) or math.isnan(b):
        return math.nan, math.nan
    difference = abs(a - b)
    return difference, difference / max(abs(a), abs(b))


def _worse(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    return max(a, b)


def _inputs_feeding_warnings(
    graph: Graph, warnings: Sequence[EvaluationWarning]
) -> tuple[set[str], set[str]]:
    """The inputs that feed a node warned of a kink, and those that feed one
    warned of a non-finite number."""
    kinks = [w.node for w in warnings if w.type == "kink" and w.node is not None]
    non_finite = [w.node for w in warnings if w.type in _NON_FINITE_WARNINGS and w.node is not None]
    return _inputs_under(graph, kinks), _inputs_under(graph, non_finite)


def _inputs_under(graph: Graph, node_ids: list[int]) -> set[str]:
    # An explicit stack: a graph may be nested far deeper than Python recurses.
    seen = set(node_ids)
    stack = list(node_ids)
    names = set()
    while stack:
        node = graph.nodes[stack.pop()]
        if node.op == INPUT:
            names.add(node.name)
        for operand in node.operands:
            if operand not in seen:
                seen.add(operand)
                stack.append(operand)
    return names
