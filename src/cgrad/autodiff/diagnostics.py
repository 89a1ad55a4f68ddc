"""Warnings about an evaluation, worded: where a non-finite number came
from, which kink convention gave a derivative, a literal that underflowed.
(Which nodes to warn about is decided in :mod:`cgrad.autodiff.evaluation`.)

Each warning names the node (id, source text, line and column) and the
numbers that produced the problem, at the first point where it happened
when many points are evaluated at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import Span
from ..numerals import format_number, format_short
from ..ops import OPS
from .graph import CONSTANT, Graph


@dataclass(frozen=True, slots=True)
class EvaluationWarning:
    """One warning of an evaluation, for people and for JSON: its kind, its
    message, and the node and source span it is about (if any)."""

    type: str  # non_finite_value | non_finite_derivative | non_finite_input | kink
    message: str
    node: int | None = None
    span: Span | None = None
    # When many points were evaluated at once: which of them it concerns
    # (a boolean array of the broadcast shape); None for a single point.
    points: np.ndarray | None = field(default=None, compare=False, repr=False)
    # For a derivative's graph (see symbolic.DerivativeGraph): the warning
    # is about a part of ``node``'s derivative rule, not about its value.
    in_rule: bool = field(default=False, compare=False, repr=False)

    def as_json(self) -> dict:
        return {
            "type": self.type,
            "message": self.message,
            "node": self.node,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
        }


def first_point(mask) -> tuple[int | None, int, int]:
    """(flat index of the first true element or None for a scalar, how many
    are true, how many points there are)."""
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return None, int(bool(mask)), 1
    flat = mask.ravel()
    return int(np.argmax(flat)), int(np.count_nonzero(flat)), flat.size


def at_point(value, index: int | None, shape: tuple[int, ...]) -> float:
    """The number a (possibly broadcast) value has at flat ``index``."""
    if index is None:
        return float(np.asarray(value))
    return float(np.broadcast_to(value, shape).ravel()[index])


def _where(index: int | None, count: int, size: int) -> str:
    if index is None:
        return ""
    return f" at {count} of {size} points (first at index {index})"


def _application(op_name: str, arguments: list[float]) -> str:
    """``log(0)``, ``0/0``, ``-inf``: the op applied to the offending numbers."""
    return OPS[op_name].notation.written([format_number(a) for a in arguments])


def one_sided_slopes(op_name: str, arguments: list[float], position: int) -> tuple[float, float]:
    """The derivative of an op in one argument from below and from above,
    from difference quotients at two step sizes: their value when they agree,
    +-inf when they grow without bound (sqrt at 0, a jump), NaN where the op
    is not defined on that side. For display only: a few evaluations of the
    op's forward function, with nothing to add to the op table."""
    forward = OPS[op_name].forward
    at = np.float64(arguments[position])
    base = forward(*map(np.float64, arguments))
    slopes = []
    for direction in (-1.0, 1.0):
        quotients = []
        for step in (1e-6, 1e-9):
            moved = [np.float64(a) for a in arguments]
            step = direction * step * max(1.0, abs(float(at)))
            moved[position] = at + step
            with np.errstate(all="ignore"):
                quotients.append(float((forward(*moved) - base) / step))
        coarse, fine = quotients
        if not (np.isfinite(coarse) and np.isfinite(fine)):
            slopes.append(fine if np.isinf(fine) else math.nan)
        elif abs(fine - coarse) <= 1e-4 * max(1.0, abs(fine)):
            slopes.append(fine)
        elif abs(fine) > 10 * abs(coarse):
            slopes.append(math.copysign(math.inf, fine))
        else:
            slopes.append(math.nan)
    return slopes[0], slopes[1]


def _one_sided_text(op_name: str, arguments: list[float], positions: list[int]) -> str:
    """' (one-sided: -1 from the left, 1 from the right)', per argument in
    ``positions`` when the op has several; empty when the op's value itself
    is not finite."""
    if not positions or not np.isfinite(OPS[op_name].forward(*map(np.float64, arguments))):
        return ""
    parts = []
    for position in positions:
        left, right = one_sided_slopes(op_name, arguments, position)
        sides = f"{_side(left)} from the left, {_side(right)} from the right"
        parts.append(sides if len(arguments) == 1 else f"in argument {position + 1}, {sides}")
    return f" (one-sided: {'; '.join(parts)})"


def _side(slope: float) -> str:
    return "undefined" if math.isnan(slope) else format_short(slope + 0.0)  # no "-0"


class Diagnostics:
    """Collects the warnings of one evaluation, one per node and kind."""

    def __init__(self, graph: Graph, shape: tuple[int, ...]) -> None:
        self.graph = graph
        self.shape = shape
        self.warnings: list[EvaluationWarning] = []
        self.flagged: set[int] = set()

    def located(self, node_id: int) -> tuple[Graph, int, bool]:
        """The program and node a warning about ``node_id`` points at, and
        whether it concerns that node's derivative rule: a derivative's
        graph points at the user's program, where its nodes come from."""
        origins = getattr(self.graph, "origins", None)
        if origins is None:
            return self.graph, node_id, False
        shown, is_value = origins[node_id]
        # A graph with origins is a derivative's (cgrad.symbolic), which
        # keeps the program it came from.
        program: Graph = self.graph.program  # type: ignore[attr-defined]
        return program, shown, not is_value

    def where(self, node_id: int) -> str:
        program, shown, in_rule = self.located(node_id)
        span = program.columns.spans[shown]
        origin = f"{program.origin}:" if program.origin else ""
        text = (
            f"`{program.label(shown)}` (node @{shown}, "
            f"{origin}line {span.line}, column {span.column})"
        )
        return f"the derivative rule of {text}" if in_rule else text

    def add(self, kind: str, message: str, node_id: int | None, mask=None) -> None:
        shown, span, in_rule = None, None, False
        if node_id is not None:
            program, shown, in_rule = self.located(node_id)
            span = program.columns.spans[shown]
            self.flagged.add(node_id)
        points = None if not self.shape else np.broadcast_to(mask, self.shape)
        self.warnings.append(EvaluationWarning(kind, message, shown, span, points, in_rule))

    def non_finite_input(self, name: str, value) -> None:
        index, count, size = first_point(~np.isfinite(value))
        number = format_number(at_point(value, index, self.shape))
        self.add(
            "non_finite_input",
            f"input {name} is {number}{_where(index, count, size)}",
            None,
            ~np.isfinite(value),
        )

    def non_finite_value(self, node_id: int, mask, values: list) -> None:
        node = self.graph.nodes[node_id]
        index, count, size = first_point(mask)
        result = format_number(at_point(values[node_id], index, self.shape))
        if node.op == CONSTANT:
            message = (
                f"the number {self.where(node_id)} is too large for float64 and becomes {result}"
            )
        else:
            arguments = [at_point(values[i], index, self.shape) for i in node.operands]
            message = (
                f"{self.where(node_id)} is {result}{_where(index, count, size)}: "
                f"{_application(node.op, arguments)} = {result}"
            )
        self.add("non_finite_value", message, node_id, mask)

    def underflow(self, node_id: int) -> None:
        """The twin of a constant's non-finite value: a literal too small."""
        self.add(
            "underflow",
            f"the number {self.where(node_id)} is too small for float64 and becomes 0",
            node_id,
            True,
        )

    def kink(self, node_id: int, mask, values: list, positions: list[int]) -> None:
        """``positions``: the arguments that depend on an input, whose
        one-sided derivatives are worth telling."""
        node = self.graph.nodes[node_id]
        kink = OPS[node.op].kink
        assert kink is not None  # a kink step's op has one
        index, count, size = first_point(mask)
        arguments = [at_point(values[i], index, self.shape) for i in node.operands]
        self.add(
            "kink",
            f"{self.where(node_id)} is at a kink{_where(index, count, size)}, "
            f"{_application(node.op, arguments)}; by convention, {kink.convention}"
            f"{_one_sided_text(node.op, arguments, positions)}",
            node_id,
            mask,
        )

    def non_finite_derivative(self, node_id: int, position: int, mask, local, values: list) -> None:
        node = self.graph.nodes[node_id]
        index, count, size = first_point(mask)
        arguments = [at_point(values[i], index, self.shape) for i in node.operands]
        slope = format_number(at_point(local, index, self.shape))
        which = "its argument" if len(node.operands) == 1 else f"argument {position + 1}"
        self.add(
            "non_finite_derivative",
            f"{self.where(node_id)} has a derivative of {slope} with respect to {which}"
            f"{_where(index, count, size)}, at {_application(node.op, arguments)}"
            f"{_one_sided_text(node.op, arguments, [position])}",
            node_id,
            mask,
        )

    def non_finite_gradient(self, name: str, gradient) -> None:
        index, count, size = first_point(~np.isfinite(gradient))
        number = format_number(at_point(gradient, index, self.shape))
        self.add(
            "non_finite_gradient",
            f"the derivative with respect to {name} is {number}{_where(index, count, size)}",
            None,
            ~np.isfinite(gradient),
        )
