"""What an evaluation of a chunk says, said row by row.

A chunk of rows goes through the graph as arrays, once; this module turns
what that evaluation found into what each row's own evaluation would say:
its warnings, worded with its own numbers (see
:meth:`cgrad.autodiff.diagnostics.EvaluationWarning.at`), the second
derivatives of ``--hessian`` as entries of its record, and, over the whole
run, how many rows each kind of warning concerned (:class:`WarningCounts`),
for a summary of a few lines however many rows were flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..autodiff.diagnostics import EvaluationWarning, in_second_derivatives, said_key
from ..autodiff.hessian_pairs import kinks_without_second, symmetric
from ..function import Function

# Distinct kinds of warning counted in one run (each kind is a node and a
# kind of number): past this, the rest are counted together, so that
# millions of distinct per-record expressions cannot grow the summary.
MAX_KINDS = 1000
# Kinds of warning the summary names one by one.
KINDS_SHOWN = 10


def row_warnings(warnings: Sequence[EvaluationWarning], rows: int) -> dict[int, list]:
    """The warnings of each flagged row (by its position among ``rows``
    evaluated together), worded with that row's numbers."""
    if not warnings:
        return {}
    if all(w.points is None for w in warnings):
        # An expression without inputs: one point, the same for every row.
        alone = [w.at(0) for w in warnings]
        return {position: list(alone) for position in range(rows)}
    spread = [w for w in warnings if w.points is not None]
    masks = [w.points.reshape(-1) for w in spread]  # type: ignore[union-attr]
    flagged = np.logical_or.reduce(masks)
    return {
        position: [
            warning.at(position)
            for warning, mask in zip(spread, masks, strict=True)
            if mask[position]
        ]
        for position in np.flatnonzero(flagged).tolist()
    }


@dataclass
class SecondDerivatives:
    """The Hessian of a group of rows: ``entries[i][j]`` the column of
    d2f/d(names[i])d(names[j]); and each row's warnings from those
    evaluations that its first derivatives did not already give."""

    names: tuple[str, ...]
    entries: list[list[np.ndarray]]
    warnings: dict[int, list[EvaluationWarning]]

    def row(self, position: int) -> tuple[float, ...]:
        """Row ``position``'s entries, row-major."""
        return tuple(float(column[position]) for line in self.entries for column in line)


class Derivatives:
    """The derivative functions of each function seen, made once: a
    derivative's graph is built from formulas, which costs more than a
    chunk's evaluation."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.made: dict[int, tuple[Function, dict[str, Function]]] = {}

    def of(self, function: Function, name: str) -> Function:
        entry = self.made.get(id(function))
        if entry is None or entry[0] is not function:
            if len(self.made) >= self.size:
                self.made.clear()
            entry = self.made[id(function)] = (function, {})
        made = entry[1]
        if name not in made:
            made[name] = function.hessian_row(name)
        return made[name]


def second_derivatives(
    function: Function,
    derivatives: Derivatives,
    inputs: Mapping[str, np.ndarray],
    names: tuple[str, ...],
    first: Mapping[int, list[EvaluationWarning]],
    rows: int,
) -> SecondDerivatives:
    """The Hessian by ``names`` at ``rows`` points, as
    :meth:`cgrad.Function.hessian` gives it at each one: a row per partial,
    each warning once per row, prefixed, and none that ``first`` (the
    rows' first-derivative warnings) already gives."""
    entries: list[list[np.ndarray]] = []
    said: dict[int, set] = {
        position: {said_key(w) for w in found} for position, found in first.items()
    }
    warnings: dict[int, list[EvaluationWarning]] = {}
    kinked = np.zeros(rows, dtype=bool)
    for position, found in first.items():
        kinked[position] = any(w.type == "kink" for w in found)
    for name in names:
        result = derivatives.of(function, name).evaluate(dict(inputs), wrt=list(names))
        entries.append([np.broadcast_to(result.gradient[other], (rows,)) for other in names])
        for position, found in row_warnings(
            in_second_derivatives(result.warnings, name), rows
        ).items():
            kinked[position] |= any(w.type == "kink" for w in found)
            seen = said.setdefault(position, set())
            for warning in found:
                key = said_key(warning, name)
                if key not in seen:
                    seen.add(key)
                    warnings.setdefault(position, []).append(warning)
    _made_symmetric(function, names, entries, first, kinked, warnings)
    return SecondDerivatives(names, entries, warnings)


def _made_symmetric(
    function: Function,
    names: tuple[str, ...],
    entries: list[list[np.ndarray]],
    first: Mapping[int, list[EvaluationWarning]],
    kinked: np.ndarray,
    warnings: dict[int, list[EvaluationWarning]],
) -> None:
    """The rows' Hessians made symmetric (see cgrad.autodiff.hessian_pairs),
    with each row's warnings of that."""
    for disagreement in symmetric(names, entries, kinked):
        for position in np.flatnonzero(disagreement.points).tolist():
            warnings.setdefault(position, []).append(disagreement.warning(position))
    nan_rows = np.logical_or.reduce([np.isnan(e) for line in entries for e in line])
    for position, found in first.items():
        if nan_rows.reshape(-1)[position] if np.ndim(nan_rows) else nan_rows:
            more = kinks_without_second(function.graph, found)
            if more:
                warnings.setdefault(position, []).extend(more)


class WarningCounts:
    """How many rows each kind of warning concerned, and the first of them,
    for a summary of a run ("`log(x)` ... is NaN for 499,812 rows, first at
    row 2"): memory in proportion to the kinds, not the rows."""

    def __init__(self, max_kinds: int = MAX_KINDS) -> None:
        self.max_kinds = max_kinds
        # (type, words) -> [rows, first row]
        self.kinds: dict[tuple[str, str], list[int]] = {}
        self.other = 0  # warnings of kinds past max_kinds
        # (type, words) -> the part of its first row, in a partitioned run
        self.parts: dict[tuple[str, str], str] = {}

    def add(self, row: int, warnings: Iterable[EvaluationWarning]) -> None:
        for warning in warnings:
            key = (warning.type, warning.counted_as or warning.message)
            counted = self.kinds.get(key)
            if counted is not None:
                counted[0] += 1
            elif len(self.kinds) < self.max_kinds:
                self.kinds[key] = [1, row]
            else:
                self.other += 1

    def merge(self, other: WarningCounts, part: str) -> None:
        """Add the counts of one part of a partitioned run (after those of
        the parts before it): a kind first met there is first at a row of
        ``part``."""
        for key, (rows, first) in other.kinds.items():
            counted = self.kinds.get(key)
            if counted is not None:
                counted[0] += rows
            elif len(self.kinds) < self.max_kinds:
                self.kinds[key] = [rows, first]
                self.parts[key] = other.parts.get(key, part)
            else:
                self.other += rows
        self.other += other.other

    def lines(self, shown: int = KINDS_SHOWN) -> list[str]:
        """One line per kind, in the order they were first met, the first
        ``shown`` of them, then one line for the rest."""
        lines = []
        for key, (rows, first) in list(self.kinds.items())[:shown]:
            row = f"{self.parts[key]} row {first}" if key in self.parts else f"row {first}"
            where = f"at {row}" if rows == 1 else f"for {rows:,} rows, first at {row}"
            words = key[1]
            lines.append(f"{words} {where}")
        hidden = len(self.kinds) - len(lines)
        if hidden or self.other:
            more = sum(rows for rows, _ in list(self.kinds.values())[shown:]) + self.other
            noun = "warning" if more == 1 else "warnings"
            # Past max_kinds, how many kinds there were is not known.
            of = "other kinds" if self.other else "another kind" if hidden == 1 else ""
            of = of or f"{hidden:,} other kinds"
            lines.append(f"and {more:,} more {noun} of {of}")
        return lines
