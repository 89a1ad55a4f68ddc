"""The passes at one point on Python floats, for the points generated code
does not take (before it pays, a graph too big to generate, a rule that
looks at the point): a ufunc call on one number costs many times an
operator.

IEEE arithmetic, abs and sqrt are correctly rounded, so Python's operators
give numpy's bits (codegen.EXACT_ON_FLOATS); every other function is the
engine's own, whose numpy scalar result then takes part in the operators as
it is (making it a float would cost more than it saves).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np

from ..ops import NUMERIC
from .codegen import EXACT_ON_FLOATS
from .passes import ForwardStep, Plan, backward

# The kink tests at one point of Python floats: each test one truth value,
# compared by Python's operators (the same IEEE comparisons as numpy's,
# without a ufunc call each).
POINT_TESTS = SimpleNamespace(
    **{**vars(NUMERIC), "equal": operator.eq, "less": operator.lt, "greater_equal": operator.ge}
)


def _on_floats(function: Callable) -> Callable:
    return EXACT_ON_FLOATS.get(function, function)


# The namespace derivative rules run against on floats (see ops.NUMERIC).
FLOATS = SimpleNamespace(
    **{
        **{name: _on_floats(function) for name, function in vars(NUMERIC).items()},
        # Tests on one number: Python's comparisons (no ufunc call each).
        "where": NUMERIC.where,
        "equal": operator.eq,
        "less": operator.lt,
        "greater_equal": operator.ge,
        "is_tie": NUMERIC.is_tie,
    }
)


class FloatSteps(NamedTuple):
    """A plan's forward pass made for Python floats: its initial values as
    floats, and its forward steps with each function on floats (see
    :data:`FLOATS`)."""

    initial: tuple
    steps: tuple[ForwardStep, ...]


def float_steps(plan: Plan) -> FloatSteps:
    """The :class:`FloatSteps` of ``plan`` (a runner keeps them)."""
    return FloatSteps(
        tuple(None if value is None else float(value) for value in plan.initial),
        tuple((node, _on_floats(f), operands) for node, f, operands in plan.forward_steps),
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
    for node_id, function, operands in forward_steps:
        values[node_id] = function(*[values[i] for i in operands])
    return values


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
