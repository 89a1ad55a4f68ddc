"""What evaluating a plan teaches, kept between evaluations: the generated
code of its passes once it pays, the walks counted until then, its steps on
Python floats, and the work arrays of its last evaluation over arrays.

A :class:`~cgrad.autodiff.passes.Plan` is immutable and says what to
compute; a :class:`Runner` is mutable and says how it has been computed so
far. A :class:`cgrad.Function` keeps one runner per choice of partials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import Protocol, cast

import numpy as np

from ..ops import NUMERIC
from .floats import FloatSteps, float_steps
from .passes import SEED, KinkStep, Plan

# Point evaluations of a plan walked before its generated code is made:
# making it costs as much as many walks, so a one-off evaluation walks.
COMPILE_AFTER = 16

# An array evaluation this long has its generated code made at once: the
# code costs about as much to make as two walks over this many points, and
# runs several times as fast. Shorter ones count as point evaluations do,
# against COMPILE_AFTER.
COMPILE_AT_POINTS = 4096

# A runner keeps the work arrays of its generated array passes for its next
# evaluation, sets of up to this many bytes, one per thread (at most
# KEEP_WORK_SETS): new ones cost a page fault every 4 kB wherever malloc has
# given freed memory back to the system (glibc does so for more than 128 kB
# free at the top of its heap).
KEEP_WORK_BYTES = 8 << 20
KEEP_WORK_SETS = 4


class ArrayPasses(Protocol):
    """The generated passes over slices of points (see
    :func:`cgrad.autodiff.codegen.compile_array_passes`): a function with
    what its caller needs to know about it as attributes."""

    buffers: int  # how many work arrays it takes
    kink_steps: tuple[KinkStep, ...]  # the kink tests left to make
    watched: tuple[int, ...]  # the nodes those tests read, as it returns them
    unechoed: tuple[int, ...]  # the inputs whose NaN and inf it may not show

    def __call__(self, *arguments: object) -> tuple[list, list]: ...


class Runner:
    """A plan and what evaluating it has taught (see the module's
    docstring); mutable, one per plan. ``plan`` is the plan less the kink
    tests that its constants rule out (x^2 has no kink, whatever x)."""

    def __init__(self, plan: Plan) -> None:
        kept = tuple(step for step in plan.kink_steps if not _kink_ruled_out(plan, step))
        self.plan = plan if len(kept) == len(plan.kink_steps) else replace(plan, kink_steps=kept)
        # Points evaluated by walking the graph, until generated code pays.
        self.points_walked = 0
        # The same for arrays, and the generated passes over them, by which
        # inputs are arrays (one number among arrays is not traced as one).
        self.arrays_walked = 0
        self.made_array_passes: dict[tuple[bool, ...], ArrayPasses | None] = {}
        # The work arrays of the last evaluation by them, for the next (a
        # set per thread it ran in: a list, whose pop and append threads
        # cannot interleave).
        self.spare_work: list[list[np.ndarray]] = []

    @cached_property
    def float_steps(self) -> FloatSteps:
        """The plan's forward pass on Python floats."""
        return float_steps(self.plan)

    @cached_property
    def point_passes(self) -> Callable | None:
        """Both passes at one point as one generated function (see
        :mod:`cgrad.autodiff.codegen`), or None where the graph is walked."""
        # Code generation is imported once it pays: a one-off run never
        # generates code, and its import is a good part of a cold start.
        from .codegen import compile_point_passes

        return compile_point_passes(self.plan, NUMERIC, SEED)

    def made_point_passes(self) -> Callable | None:
        """The generated passes at a point if they are made, else None
        (counting no walk)."""
        return self.__dict__.get("point_passes")

    def passes_for_a_point(self) -> Callable | None:
        """The generated passes once they pay: generating them costs about
        COMPILE_AFTER walks of the graph, so a one-off evaluation (a
        command line) walks, and a loop over points (minimize, a library
        caller) runs generated code from then on."""
        if "point_passes" in self.__dict__:
            return self.point_passes
        self.points_walked += 1
        return self.point_passes if self.points_walked > COMPILE_AFTER else None

    def array_passes(self, arrays: tuple[bool, ...]) -> ArrayPasses | None:
        """Both passes over slices of many points as one generated function,
        for inputs that are arrays where ``arrays`` says so; None where the
        graph is walked."""
        made = self.made_array_passes
        if arrays not in made:
            from .codegen import compile_array_passes  # see point_passes

            # codegen gives the function the attributes ArrayPasses names.
            passes = compile_array_passes(self.plan, NUMERIC, SEED, arrays)
            made[arrays] = cast("ArrayPasses | None", passes)
        return made[arrays]

    def passes_for_arrays(self, arrays: tuple[bool, ...], size: int) -> ArrayPasses | None:
        """The generated array passes once they pay (see COMPILE_AT_POINTS)."""
        if arrays in self.made_array_passes:
            return self.made_array_passes[arrays]
        self.arrays_walked += 1
        if size >= COMPILE_AT_POINTS or self.arrays_walked > COMPILE_AFTER:
            return self.array_passes(arrays)
        return None

    def work_arrays(self, count: int, length: int) -> list[np.ndarray]:
        """``count`` work arrays of at least ``length`` elements: the spare
        ones if they will do, else new ones."""
        try:
            spare = self.spare_work.pop()
        except IndexError:
            spare = []
        if len(spare) >= count and (not spare or len(spare[0]) >= length):
            return spare[:count]
        return [np.empty(length) for _ in range(count)]

    def keep_work(self, work: list[np.ndarray]) -> None:
        """Keep ``work`` (from :meth:`work_arrays`) for the next evaluation,
        unless it is over KEEP_WORK_BYTES; a set per thread, at most
        KEEP_WORK_SETS (cgrad.autodiff.chunks runs at most four)."""
        fits = work and len(work) * len(work[0]) * 8 <= KEEP_WORK_BYTES
        if fits and len(self.spare_work) < KEEP_WORK_SETS:
            self.spare_work.append(work)


def _kink_ruled_out(plan: Plan, step: KinkStep) -> bool:
    """Is the kink test of ``step`` false at every point, its constant
    arguments alone deciding?"""
    from .tracing import kink_impossible  # the tracer, only for ops with kinks

    _, at, operands = step
    return kink_impossible(at, NUMERIC, [plan.initial[i] for i in operands])
