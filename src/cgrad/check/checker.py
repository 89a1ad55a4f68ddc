"""Gradient checking: the reverse-mode partials at a point against forward
mode and against central finite differences.

Forward mode runs the same derivative rules as reverse mode in the other
order, so the two agree to rounding unless a traversal is wrong. Only the
finite differences, which use nothing but the ops' forward functions, can
catch a wrong rule.

**The step** of each difference is chosen by :mod:`cgrad.check.differences`: a
ladder of steps from ``2 cbrt(eps) max(1, |x|)`` down, the rung with the
smallest estimated error, and never a rung that crosses a kink, a pole or a
domain edge of any node. Where no step small enough to stay clear of one is
large enough to be meaningful, the partial is marked ``cannot-judge``: it
does not fail.

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
marked ``kink`` or ``non-finite`` and does not fail. Each partial is judged
on its own: a non-finite derivative in one argument of a node concerns only
the inputs that feed that argument (x^y at x = -2 is NaN in y, not in x). Reverse and forward
mode must still agree there when both are finite, since both apply the
same convention. The same holds for ``cannot-judge``, where no step float64
can take near x gives a difference worth the name (see
:mod:`cgrad.check.differences`), and for a difference whose own error estimate
is more than ``UNSETTLED`` of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..autodiff.diagnostics import EvaluationWarning
from ..autodiff.graph import Graph
from ..autodiff.inputs import whole_number
from ..autodiff.passes import plan
from ..errors import InputError
from ..function import Function
from ..numerals import format_number, format_short
from ..ops import NUMERIC, OPS
from .differences import Difference, Scheme, finite_differences
from .warned import inputs_feeding_warnings

# Inputs whose forward-mode tangents go through the graph in one pass.
FORWARD_CHUNK = 256

# Reverse against forward: the same rules summed in another order.
FORWARD_RTOL = 1e-10
FORWARD_ATOL = 1e-12
# And rounding in units of eps times the partial's size (the sum over paths
# of the sizes of their products), which cancelling paths make far larger
# than the partial.
PATH_ROUNDING = 64.0
EPSILON = float(np.finfo(np.float64).eps)
# Reverse against the finite difference, on top of the difference's own
# error estimate.
DIFFERENCE_RTOL = 1e-5
DIFFERENCE_ATOL = 1e-8
# A difference whose error estimate is more than this part of it (plus
# DIFFERENCE_ATOL) cannot judge.
UNSETTLED = 0.25
# The most random points one run checks: each keeps a full result, so the
# count bounds memory (and a count numpy cannot shape is a usage error, not
# a crash).
MAX_RANDOM_POINTS = 100_000

Status = Literal["ok", "fail", "kink", "non-finite", "cannot-judge"]


@dataclass(frozen=True, slots=True)
class Partial:
    """One partial derivative three ways, and the verdict.

    ``abs_error`` and ``rel_error`` are the worse of reverse against forward
    and reverse against the finite difference. ``status`` is ``ok``,
    ``fail``, or, where finite differences cannot judge, ``kink``,
    ``non-finite`` or ``cannot-judge`` (every step small enough to stay
    clear of a kink, pole or domain edge is too small to mean anything),
    which do not fail the check.
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
    # The estimated distance to the nearest edge a step crossed (inf: none).
    edge: float = math.inf
    # Why a non-finite partial was not judged ("reverse mode gives NaN");
    # the other statuses say it themselves, with their warnings.
    reason: str = ""

    @property
    def ok(self) -> bool | None:
        """True or False when judged; None at a kink, a non-finite number, or
        where no step could judge."""
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


def check(
    function: Function,
    values: Mapping[str, Any],
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
    point = {name: float(values[name]) for name in function.inputs}
    names = list(reverse.gradient)
    walk = plan(function.graph, [])
    # The evaluation's own node values, as numpy scalars: its fast paths
    # compute on Python floats, to the bits of numpy's walk.
    node_values = [np.float64(value) for value in reverse.node_values]
    forward = forward_partials(function.graph, node_values, names)
    differences = finite_differences(walk, point, names, node_values)
    kinked, non_finite = inputs_feeding_warnings(function.graph, reverse.warnings)
    warnings = list(reverse.warnings)
    partials = {}
    for name in names:
        clear, plain = differences[name]
        at_kink = name in kinked
        # On a kink every step crosses it: show the plain difference.
        difference = plain if at_kink or (not clear.judged and name in non_finite) else clear
        partials[name] = _judge(
            name,
            float(reverse.gradient[name]),
            forward[name][0],
            difference,
            at_kink=at_kink,
            non_finite=name in non_finite,
            cannot_judge=_cannot_judge(clear, plain),
            edge=clear.edge,
            paths=forward[name][1],
        )
        if partials[name].status == "cannot-judge":
            warnings.append(_cannot_judge_warning(name, point[name], clear))
        elif math.isnan(difference.value) and not reverse.warnings:
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


def _cannot_judge(clear: Difference, plain: Difference) -> bool:
    """Can the difference from steps clear of every edge not judge?"""
    return (
        not clear.judged
        or _unsettled(clear)
        # Not finite beside x only where the steps clear of the edges were
        # taken.
        or (math.isnan(clear.value) and not math.isnan(plain.value))
    )


def _unsettled(difference: Difference) -> bool:
    """Is the difference's own error estimate a large part of it? Then the
    steps float64 resolves at x are all longer than the scale f varies on
    (sin(x) at 1e16), and the rungs agree or disagree by chance."""
    # The absolute slack is in units of f over a step of at most 1: over a
    # longer step (x near 1e23), a quotient that small is only noise.
    slack = DIFFERENCE_ATOL * min(1.0, 1.0 / difference.step) if difference.step > 0 else 0.0
    return difference.error > UNSETTLED * abs(difference.value) + slack


def forward_partials(
    graph: Graph, values: list, names: list[str]
) -> dict[str, tuple[float, float]]:
    """Forward mode: each partial of ``names`` by pushing tangents through
    the graph, FORWARD_CHUNK inputs a pass (a column of tangents each), so
    that n inputs take n / FORWARD_CHUNK passes, not n, in memory of
    FORWARD_CHUNK numbers a node. ``values`` are the nodes' values.

    Each column is what a pass for its input alone would give: an operand
    that does not depend on that input contributes nothing (as a missing
    tangent does), rather than its rule times 0, which is NaN where the rule
    is infinite (sqrt at 0).

    With each partial comes its size: the sum over paths of the sizes of
    their products, what the rounding of either mode is proportional to
    (sin(y/y) sums 1e12 and -1e12 at y = 1e-12)."""
    ops, operands = graph.columns.ops, graph.columns.operands
    output = graph.output
    found = {name: (0.0, 0.0) for name in names}
    seeded = [name for name in names if graph.input_ids.get(name, output + 1) <= output]
    for start in range(0, len(seeded), FORWARD_CHUNK):
        chunk = seeded[start : start + FORWARD_CHUNK]
        tangents: list = [None] * (output + 1)
        sizes: list = [None] * (output + 1)
        reached: list = [None] * (output + 1)  # which columns depend on the node
        for column, name in enumerate(chunk):
            seed = np.zeros(len(chunk))
            seed[column] = 1.0
            tangents[graph.input_ids[name]] = sizes[graph.input_ids[name]] = seed
            reached[graph.input_ids[name]] = seed != 0.0
        with np.errstate(all="ignore"):
            for node_id in range(output + 1):
                node_operands = operands[node_id]
                if node_operands:
                    tangents[node_id], sizes[node_id], reached[node_id] = _push(
                        OPS[ops[node_id]], values, node_id, node_operands, tangents, sizes, reached
                    )
        if tangents[output] is not None:
            for column, name in enumerate(chunk):
                if reached[output][column]:
                    found[name] = (float(tangents[output][column]), float(sizes[output][column]))
    return found


def _push(op, values, node_id, node_operands, tangents, sizes, reached):
    """The tangents, sizes and dependency mask of one node from its
    operands'."""
    arguments = [values[i] for i in node_operands]
    total = size = mask = None
    for position, operand in enumerate(node_operands):
        tangent = tangents[operand]
        if tangent is None:
            continue
        rule = op.local(NUMERIC, values[node_id], arguments, position)
        term = np.where(reached[operand], rule * tangent, 0.0)
        term_size = np.where(reached[operand], np.abs(rule) * sizes[operand], 0.0)
        total = term if total is None else total + term
        size = term_size if size is None else size + term_size
        mask = reached[operand] if mask is None else mask | reached[operand]
    return total, size, mask


def _cannot_judge_warning(name: str, x: float, difference: Difference) -> EvaluationWarning:
    if not math.isfinite(difference.edge):
        return EvaluationWarning(
            "cannot_judge",
            f"cannot judge the partial in {name}: the finite differences do not settle at "
            f"{name} = {format_number(x)}: no step float64 can take there resolves how the "
            "expression changes",
        )
    where = f"about {format_short(difference.edge, 2)} away from"
    if difference.edge == 0.0:
        where = "at"
    return EvaluationWarning(
        "cannot_judge",
        f"cannot judge the partial in {name}: a kink, pole or domain edge is {where} "
        f"{name} = {format_number(x)}, and no step that stays clear of it is large enough "
        "for a finite difference to mean anything",
    )


def check_random(
    function: Function,
    values: Mapping[str, Any],
    count: int,
    *,
    seed: int = 0,
    wrt: Sequence[str] | str | None = None,
    progress: Callable[[int], object] | None = None,
) -> list[CheckResult]:
    """:func:`check` at ``count`` points drawn around ``values``: each input
    moved by normal noise times ``max(1, |x|)``, drawn from numpy's default
    generator seeded with ``seed``, so that a run can be repeated.
    ``progress``, if given, is called with the number of points checked
    after each one (a run of many points takes minutes)."""
    given = whole_number(count)
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise InputError(
            f"the number of random points must be a whole number >= 0, not {given!r}",
            type="usage_error",
        )
    count = given
    if count > MAX_RANDOM_POINTS:
        raise InputError(
            f"the number of random points must be at most {MAX_RANDOM_POINTS}, not {count}",
            type="usage_error",
        )
    given = whole_number(seed)
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        raise InputError(f"the seed must be a whole number >= 0, not {given!r}", type="usage_error")
    seed = given
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
    checked = []
    for row in points:
        checked.append(check(function, dict(zip(names, row.tolist(), strict=True)), wrt))
        if progress is not None:
            progress(len(checked))
    return checked


def _one_point(values: Mapping[str, Any]) -> None:
    arrays = [name for name, value in values.items() if np.ndim(value) != 0]
    if arrays:
        raise InputError(
            f"a gradient check takes one number per input, not an array (for {arrays[0]})",
            hint="check_random checks many points around one",
            type="invalid_value",
        )


def _judge(
    name: str,
    reverse: float,
    forward: float,
    difference: Difference,
    at_kink: bool,
    non_finite: bool,
    cannot_judge: bool = False,
    edge: float = math.inf,
    paths: float = 0.0,
) -> Partial:
    fd = difference.value
    forward_abs, forward_rel = _errors(reverse, forward)
    difference_abs, difference_rel = _errors(reverse, fd)
    allowed = DIFFERENCE_ATOL + DIFFERENCE_RTOL * max(abs(reverse), abs(fd)) + difference.error
    modes_finite = math.isfinite(reverse) and math.isfinite(forward)
    forward_agrees = None
    if modes_finite:
        forward_agrees = forward_abs <= (
            FORWARD_ATOL
            + FORWARD_RTOL * max(abs(reverse), abs(forward))
            + PATH_ROUNDING * EPSILON * paths
        )
    difference_agrees = None
    judged = not (at_kink or non_finite or cannot_judge) and modes_finite and math.isfinite(allowed)
    if judged:
        difference_agrees = difference_abs <= allowed
    status: Status
    # Reverse and forward apply the same conventions, so they must agree
    # even where finite differences cannot judge.
    if forward_agrees is False or difference_agrees is False:
        status = "fail"
    elif at_kink:
        status = "kink"
    elif cannot_judge and modes_finite and not non_finite:
        status = "cannot-judge"
    elif not judged:
        status = "non-finite"
    else:
        status = "ok"
    reason = ""
    if status == "non-finite":
        reason = _non_finite_reason(reverse, forward, fd)
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
        edge=edge,
        reason=reason,
    )


def _non_finite_reason(reverse: float, forward: float, difference: float) -> str:
    """Which number of a partial is not finite, or else why it was not
    judged: the input feeds a node warned of."""
    for mode, number in (("reverse mode", reverse), ("forward mode", forward)):
        if not math.isfinite(number):
            return f"{mode} gives {format_number(number)}"
    if not math.isfinite(difference):
        return f"the finite difference is {format_number(difference)}"
    return "it feeds a node that is not finite here (see the warnings)"


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
