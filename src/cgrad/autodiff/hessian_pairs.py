"""The two halves of a Hessian made one: ∂²f/∂a∂b and ∂²f/∂b∂a.

A Hessian's rows are the gradients of the first partials' formulas, so
each entry off the diagonal is computed twice, by a then b and by b then a.
Where the second derivatives are continuous the two agree up to rounding,
and the upper one stands for both (as ``cgrad diff --order 2`` prints it
once). Where they are not (at a kink, or where one order meets 0*inf and
the other a limit) the two can differ: no one number is the entry there,
so both sides are NaN, with a warning that quotes the two.

Also here: the warnings that say why an op's second derivatives are NaN at
its kink, from the op's own entry (:attr:`cgrad.ops.Kink.second`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..numerals import format_number
from ..ops import OPS
from .diagnostics import Diagnostics, EvaluationWarning
from .graph import Graph

PREFIX = "in the second derivatives, "
# How far apart, relative to the larger, two finite orders of one entry may
# be and still be one number computed twice (their rounding differs).
ROUNDING = 1e-9


@dataclass(frozen=True)
class Disagreement:
    """Where ∂²f/∂``first``∂``second`` (by ``first`` then ``second``) and
    the other order differ beyond rounding: the points (a boolean array)
    and the two orders' values there."""

    first: str
    second: str
    points: np.ndarray
    by_first: np.ndarray
    by_second: np.ndarray

    def warning(self, index: int) -> EvaluationWarning:
        """The warning at point ``index`` (flat) of ``points``."""
        a, b = self.first, self.second
        one = format_number(float(self.by_first.reshape(-1)[index]))
        other = format_number(float(self.by_second.reshape(-1)[index]))
        head = f"{PREFIX}∂²f/∂{a}∂{b} is NaN"
        return EvaluationWarning(
            "non_finite_value",
            f"{head}: by {a} then {b} it is {one}, by {b} then {a} {other}; "
            "where the order matters no one number is the entry",
            counted_as=head,
        )


def symmetric(
    names: Sequence[str], entries: list[list[np.ndarray]], kinked: np.ndarray
) -> list[Disagreement]:
    """Make the Hessian ``entries`` (``entries[i][j]`` by names[i] then
    names[j], arrays of one shape) symmetric in place; ``kinked``: the
    points where an evaluation met a kink (there two finite orders that
    differ are two conventions, not rounding). Returns the disagreements."""
    found = []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            upper, lower = np.asarray(entries[i][j]), np.asarray(entries[j][i])
            with np.errstate(invalid="ignore"):
                same = (upper == lower) | (np.isnan(upper) & np.isnan(lower))
            finite = np.isfinite(upper) & np.isfinite(lower)
            # (Rounding apart, whether at a kink or not, the two are one.)
            with np.errstate(invalid="ignore", over="ignore"):
                apart = np.abs(upper - lower) > ROUNDING * np.fmax(np.abs(upper), np.abs(lower))
            differ = ~same & (~finite | (kinked & apart))
            kept = np.where(differ, np.nan, upper)
            entries[i][j] = entries[j][i] = kept
            if differ.any():
                found.append(Disagreement(a, names[j], differ, upper, lower))
    return found


def kinks_without_second(
    graph: Graph, warnings: Sequence[EvaluationWarning]
) -> list[EvaluationWarning]:
    """For each kink warning among ``warnings`` (a first derivative's) at a
    node of ``graph`` whose op's second derivatives do not exist there,
    the warning that says so."""
    words = []
    program: Graph = getattr(graph, "program", graph)  # a derivative's points at it
    diagnostics = Diagnostics(program, ())
    for warning in warnings:
        if warning.type != "kink" or warning.node is None or warning.in_rule:
            continue
        kink = OPS[program.columns.ops[warning.node]].kink
        if kink is not None and kink.second:
            where = diagnostics.where(warning.node)
            message = f"{PREFIX}{where} is at a kink: {kink.second}"
            words.append(EvaluationWarning("kink", message, warning.node, warning.span))
    return words


def symmetric_at_point(
    matrix: dict[str, dict[str, float]],
    graph: Graph,
    first: Sequence[EvaluationWarning],
    second: Sequence[EvaluationWarning],
) -> list[EvaluationWarning]:
    """:func:`symmetric` for a Hessian at one point, as a dict of rows
    (made symmetric in place); ``first`` and ``second``: the warnings of
    the first derivatives and of the rows there. Returns the warnings to
    add: each disagreement's, and why an op's kink leaves NaN entries."""
    names = list(matrix)
    entries = [[np.asarray(matrix[a][b]) for b in names] for a in names]
    kinked = np.asarray(any(w.type == "kink" for w in (*first, *second)))
    found = symmetric(names, entries, kinked)
    for i, a in enumerate(names):
        matrix[a] = {b: float(entries[i][j]) for j, b in enumerate(names)}
    added = [disagreement.warning(0) for disagreement in found]
    if any(np.isnan(value) for row in matrix.values() for value in row.values()):
        added.extend(kinks_without_second(graph, first))
    return added
