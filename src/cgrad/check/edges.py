"""Where a finite difference may not step: the edges of the ops (kinks,
poles, domain edges; :attr:`cgrad.ops.Op.edges`) evaluated over a chunk of
perturbed points, and for each point whether the step from x to it, or to
its twin on the other side, crossed or touched one of them (see
:mod:`cgrad.check.differences`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..autodiff.builder import taken_once
from ..autodiff.passes import Plan, backward
from ..autodiff.passes import plan as plan_for
from ..ops import OPS

EPSILON = float(np.finfo(np.float64).eps)
# An edge quantity whose parabola comes within this part of its value at x
# of zero touches the edge.
TOUCH = 1e-3


class Edges:
    """The nodes whose op has edges, and which side of each the point is on."""

    def __init__(self, plan: Plan, centre: list) -> None:
        ops, operands = plan.graph.columns.ops, plan.graph.columns.operands
        self.centre = centre
        # (node, its op's edges, its operands, each quantity at x, each
        # quantity's operands a step in which can cross it: None for all)
        self.nodes: list[tuple[int, Callable, tuple[int, ...], list, list]] = []
        # Each node's rounding, carried to the output: eps |value| times
        # |d output / d node| at x. Where a step moves a node's operands, its
        # rounding there is noise in f beside the one at the output (a sum
        # near 1e12 inside sin, under a step of 1e-11), all the more if the
        # node swallowed the step.
        adjoints = backward(plan_for(plan.graph), centre)
        self.noisy = [
            (
                node_id,
                EPSILON * abs(float(adjoint)),
                operands[node_id],
                [centre[i] for i in operands[node_id]],
            )
            for node_id, adjoint in enumerate(adjoints)
            if _weighs(adjoint) and operands[node_id]
        ]
        # Sums and differences, and the values at x of them and their
        # operands: where one stays put while an operand moves, the step was
        # absorbed by rounding (x + 1e18 does not move for steps below 64).
        self.sums = [
            (node_id, node_operands, centre[node_id], [centre[i] for i in node_operands])
            for node_id, _, node_operands in plan.forward_steps
            if ops[node_id] in ("add", "sub")
        ]
        with np.errstate(all="ignore"):
            for node_id, _, node_operands in plan.forward_steps:
                op = OPS[ops[node_id]]
                if op.edges is not None:
                    # (max(x, x, y) has the edges of max(x, y), none between x and x)
                    node_operands = taken_once(ops[node_id], node_operands)
                    quantities = op.edges(centre[node_id], *[centre[i] for i in node_operands])
                    crossers = [
                        [node_operands[k] for k in by] if by else None
                        for by in op.edges_crossed_by or [()] * len(quantities)
                    ]
                    self.nodes.append(
                        (node_id, op.edges, node_operands, list(quantities), crossers)
                    )

    def crossings(
        self, values: list, mirror: np.ndarray, up: np.ndarray, offsets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per point x + s (or x - s): did an edge quantity leave the side
        of the edge x is on between x - s and x + s, and how far along the
        step (as a fraction) the nearest edge crossed lies. ``mirror`` is
        the index of each point's twin on the other side, ``up`` whether
        the point is x + s, ``offsets`` |point - x| as rounded."""
        above = np.where(up, offsets, offsets[mirror])
        below = np.where(up, offsets[mirror], offsets)
        crossed = np.zeros(up.size, dtype=bool)
        reach = np.full(up.size, np.inf)
        for node_id, edges, operands, centre, crossers in self.nodes:
            arguments = [values[i] for i in operands]
            if not any(type(argument) is np.ndarray for argument in arguments):
                continue  # not moved by the inputs of this chunk
            quantities = edges(values[node_id], *arguments)
            for quantity, at_point, by in zip(quantities, centre, crossers, strict=True):
                if np.ndim(quantity) == 0:
                    continue  # not moved by the inputs of this chunk
                moving = self._moving(values, by, mirror)
                if moving is False:
                    continue  # the arguments that can cross it stay put
                changed = _side(quantity) != _side(at_point)
                fraction = np.abs(at_point) / np.abs(quantity - at_point)
                twin = quantity[mirror]
                plus, minus = np.where(up, quantity, twin), np.where(up, twin, quantity)
                touched, distance = _touches(minus, at_point, plus, below, above)
                hit = (changed | touched) & moving
                if hit.any():
                    crossed |= hit
                    fraction = np.where(touched, distance / offsets, fraction)
                    reach = np.where(hit, np.fmin(reach, fraction), reach)
        return crossed, reach

    def _moving(self, values: list, operands: list[int] | None, mirror: np.ndarray):
        """Per point: did the step move one of ``operands`` (from x to the
        point or to its twin)? True for all of them (None), False where
        none is moved by this chunk's inputs."""
        if operands is None:
            return True
        moved = [values[i] != self.centre[i] for i in operands if type(values[i]) is np.ndarray]
        if not moved:
            return False
        either = np.logical_or.reduce(moved)
        return either | either[mirror]


def _weighs(adjoint) -> bool:
    return (
        adjoint is not None
        and np.ndim(adjoint) == 0
        and math.isfinite(float(adjoint))
        and float(adjoint) != 0.0
    )


def inner_rounding(noisy: list, values: list, length: int) -> np.ndarray:
    """Per point: the rounding of the nodes whose operands the step moved,
    carried to f."""
    noise = np.zeros(length)
    for node_id, weight, operands, operands_at_point in noisy:
        value = values[node_id]
        if type(value) is not np.ndarray:
            continue  # not moved by the inputs of this chunk
        moved = np.zeros(length, dtype=bool)
        for operand, at_point in zip(operands, operands_at_point, strict=True):
            # (An operand this chunk does not move is its value at x: a wide
            # max of many inputs, a few moved at a time, looks at those few.)
            if type(values[operand]) is np.ndarray:
                moved |= values[operand] != at_point
        # A NaN beside x makes its own quotient unusable: no noise from it.
        noise += np.where(moved & ~np.isnan(value), weight * np.abs(value), 0.0)
    return noise


def absorbed(sums: list, values: list, length: int) -> np.ndarray:
    """Per point: did a sum or difference stay at its value at x while one
    of its operands, and only one, moved?"""
    found = np.zeros(length, dtype=bool)
    for node_id, operands, at_point, operands_at_point in sums:
        value = values[node_id]
        if type(value) is not np.ndarray:
            continue  # not moved by the inputs of this chunk
        stayed = value == at_point
        if stayed.any():
            # One operand moved, so the true sum did: if both moved, they
            # may cancel exactly (x - x).
            movers = [
                values[operand] != operand_at_point
                for operand, operand_at_point in zip(operands, operands_at_point, strict=True)
            ]
            found |= stayed & (movers[0] != movers[1])
    return found


def _touches(minus, at_point, plus, below, above) -> tuple[np.ndarray, np.ndarray]:
    """Does the parabola through the quantity at x - below, x and x + above
    reach zero between them with all three on one side (``x*x`` under a
    square root near x = 0: the edge is touched, never crossed)? Also
    where its vertex lies, as an offset from x."""
    rise = (plus - at_point) / above
    fall = (at_point - minus) / below
    curvature = (rise - fall) / (above + below)
    slope = rise - curvature * above
    vertex = -slope / (2.0 * curvature)
    lowest = at_point - slope * slope / (4.0 * curvature)
    inside = (vertex > -below) & (vertex < above)
    # Within rounding of zero counts as touching it: of its value at x, or
    # of the values the parabola is fitted to.
    near_zero = np.abs(lowest) <= np.maximum(
        TOUCH * np.abs(at_point), 64.0 * EPSILON * np.maximum(np.abs(plus), np.abs(minus))
    )
    reaches = (np.sign(lowest) != np.sign(at_point)) | near_zero
    # A parabola whose lowest point is 0 is c (t - v)^2: v is sqrt(q(0)/c)
    # from x, which rounding does not blur as it does the vertex itself.
    distance = np.where(near_zero, np.sqrt(np.abs(at_point / curvature)), np.abs(vertex))
    return inside & reaches, distance


def _side(quantity):
    return np.where(np.isnan(quantity), 2.0, np.sign(quantity))


def mirrors(starts: list[int], counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """For the points of a chunk: the index of each one's twin on the other
    side of x, and whether it is x + s."""
    mirror = np.empty(starts[-1], dtype=np.intp)
    up = np.zeros(starts[-1], dtype=bool)
    for start, count in zip(starts, counts, strict=False):
        rungs = np.arange(start, start + count)
        mirror[rungs] = rungs + count
        mirror[rungs + count] = rungs
        up[rungs] = True
    return mirror, up
