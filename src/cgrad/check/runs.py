"""A whole run of ``cgrad check``: the check at the point, the random
points around it, and the verdict of the run (what the exit status says).

The data of the check's report, for the views to show; no text here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..function import Function
from .checker import CheckResult, check, check_random

# The statuses of a partial, in the order a point's summary looks for them:
# a failure first, then the reasons finite differences could not judge.
NOT_OK = ("fail", "kink", "non-finite", "cannot-judge")


@dataclass(frozen=True)
class CheckRun:
    """The check at the point and, with ``--random``, at the points around
    it, drawn with ``seed``."""

    result: CheckResult
    around: list[CheckResult] | None
    seed: int = 0

    @property
    def passed(self) -> bool:
        """The verdict of the whole run: no partial failed, at the point or
        around it."""
        return self.result.ok and all(point.ok for point in self.around or [])

    @property
    def failing(self) -> list[int]:
        """The random points that failed, numbered from 1."""
        return [number for number, point in enumerate(self.around or [], start=1) if not point.ok]


def run_check(
    function: Function,
    inputs: Mapping[str, float],
    wrt: Sequence[str] | None = None,
    random: int | None = None,
    seed: int = 0,
    progress: Callable[[int], object] | None = None,
) -> CheckRun:
    """Check ``function`` at ``inputs`` and, given ``random``, at that many
    random points around it (``progress``: see :func:`check_random`)."""
    result = check(function, inputs, wrt=wrt)
    around = None
    if random is not None:
        around = check_random(function, inputs, random, seed=seed, wrt=wrt, progress=progress)
    return CheckRun(result, around, seed)


def point_status(point: CheckResult) -> tuple[str, list[str]]:
    """``("ok", [])``, or the first status of :data:`NOT_OK` that some
    partials have, and their names."""
    for status in NOT_OK:
        names = [name for name, p in point.partials.items() if p.status == status]
        if names:
            return status, names
    return "ok", []
