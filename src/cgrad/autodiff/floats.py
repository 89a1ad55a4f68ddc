"""The passes at one point on Python floats, for the points generated code
does not take (before it pays, a graph too big to generate, a rule that
looks at the point): a ufunc call on one number costs many times an
operator.

IEEE arithmetic, abs and sqrt are correctly rounded, so Python's operators
give numpy's bits (ops.EXACT_ON_FLOATS); every other function is the
engine's own, whose numpy scalar result then takes part in the operators as
it is (making it a float would cost more than it saves).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from ..ops import EXACT_ON_FLOATS, FLOATS
from .passes import ForwardStep, ForwardSteps, Plan, backward, run_forward_steps


class FloatSteps(NamedTuple):
    """A plan's forward pass made for Python floats: its initial values as
    floats, and its forward steps with each function on floats (see
    :data:`FLOATS`)."""

    initial: tuple
    steps: Sequence[ForwardStep]


def float_steps(plan: Plan) -> FloatSteps:
    """The :class:`FloatSteps` of ``plan`` (a runner keeps them)."""
    steps = plan.forward_steps

    def on_floats(function: Callable) -> Callable:
        return EXACT_ON_FLOATS.get(function, function)

    # Only the constants are filled in (see Plan.initial): made floats by
    # their ids rather than by a walk over every node.
    initial = list(plan.initial)
    for node_id in plan.graph.columns.values:
        if initial[node_id] is not None:
            initial[node_id] = float(initial[node_id])
    return FloatSteps(
        tuple(initial),
        # The plan's own steps are a view of the graph: so are these.
        steps.with_functions(on_floats)
        if isinstance(steps, ForwardSteps)
        else tuple((node, on_floats(f), operands) for node, f, operands in steps),
    )


def forward_on_floats(plan: Plan, point: Sequence[float], steps: FloatSteps | None = None) -> list:
    """The value of every node at ``point`` (Python floats, in
    ``plan.graph.inputs`` order), computed on floats (see :data:`FLOATS`);
    it raises where Python's float does (1/0, sqrt(-1)). ``steps`` are the
    plan's :class:`FloatSteps` if already made."""
    initial, forward_steps = float_steps(plan) if steps is None else steps
    values = list(initial)
    input_ids = plan.graph.input_ids
    for name, value in zip(plan.graph.inputs, point, strict=True):
        values[input_ids[name]] = value
    return run_forward_steps(values, forward_steps)


def walk_on_floats(
    plan: Plan, point: Sequence[float], steps: FloatSteps | None = None
) -> tuple[list, list]:
    """Both passes at one point, as the generated passes give them."""
    # A numpy scalar divided by zero warns where Python's float raises; the
    # numbers are looked at afterwards, as in every other walk.
    with np.errstate(all="ignore"):
        values = forward_on_floats(plan, point, steps)
        # 1.0 for the seed, not SEED: d output/d output, multiplied through,
        # changes no bit and keeps every adjoint a float.
        return values, backward(plan, values, m=FLOATS, seed=1.0)
