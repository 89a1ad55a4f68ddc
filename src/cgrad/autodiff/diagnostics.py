"""Warnings about an evaluation, worded: where a non-finite number came
from, which kink convention gave a derivative, a literal that underflowed.
(Which nodes to warn about is decided in :mod:`cgrad.autodiff.evaluation`.)

Each warning names the node (id, source text, line and column) and the
numbers that produced the problem, at the first point where it happened
when many points are evaluated at once, NaN, +inf and -inf counted apart.
A warning over many points also keeps its wording, so that it can be said
at any one of them as an evaluation of that point alone says it
(:meth:`EvaluationWarning.at`): that is how ``cgrad batch`` gives every row
its own numbers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..errors import Span
from ..numerals import format_number, format_short, literal_text
from ..ops import OPS
from .graph import CONSTANT, Graph

# A warning's words at one point (a flat index; None for a single point):
# its subject, its predicate and the rest, so that the summary of many
# points can say "subject predicate at 3 of 8 points (...) rest".
Wording = Callable[[int | None], tuple[str, str, str]]


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
    # How to say it at one of ``points`` (see :meth:`at`); None for a
    # single point. ``prefix`` goes before those words (the Hessian's).
    wording: Wording | None = field(default=None, compare=False, repr=False)
    prefix: str = field(default="", compare=False, repr=False)
    # Said at one point of many (see :meth:`at`): the words that name its
    # kind there, by which a summary counts it.
    counted_as: str | None = field(default=None, compare=False, repr=False)
    # A non-finite derivative's argument (0-based): only the inputs that
    # reach the node through it are concerned.
    argument: int | None = field(default=None, compare=False, repr=False)

    def at(self, index: int) -> EvaluationWarning | None:
        """This warning at flat index ``index`` of ``points`` (0 for a
        warning about one point), worded as an evaluation of that point
        alone words it, with ``counted_as`` the words that name its kind
        there ("`log(x)` (node @1, ...) is NaN"); None where it does not
        concern that point. An index outside the points raises IndexError,
        one that is no integer TypeError."""
        index = operator.index(index)
        if self.points is None:
            if index != 0:
                raise IndexError(f"a warning about one point has only index 0, not {index}")
        else:
            flat = self.points.reshape(-1)
            if not 0 <= index < flat.size:
                raise IndexError(f"index {index} is outside the {flat.size} points")
            if not flat[index]:
                return None
        if self.wording is None:
            return self
        subject, predicate, rest = self.wording(index)
        head = f"{self.prefix}{subject} {predicate}"
        # (built whole: dataclasses.replace, which reads every field by name,
        # cost as much again, at each of a batch's flagged rows)
        return EvaluationWarning(
            self.type, head + rest, self.node, self.span, None, self.in_rule,
            counted_as=head, argument=self.argument,
        )  # fmt: skip

    def as_json(self) -> dict:
        return {
            "type": self.type,
            "message": self.message,
            "node": self.node,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
        }


def in_second_derivatives(
    warnings: Sequence[EvaluationWarning], row: str
) -> list[EvaluationWarning]:
    """The warnings of the evaluation of a Hessian's row (the gradient of
    ∂f/∂``row``), worded as the Hessian's; a non-finite input is left out,
    as the first derivatives say it."""
    kept = []
    for warning in warnings:
        if warning.type == "non_finite_input":
            continue
        prefix = "in the second derivatives, "
        if warning.node is None:  # about a whole entry of the row
            prefix += f"in the row of ∂f/∂{row}: "
        kept.append(replace(warning, message=prefix + warning.message, prefix=prefix))
    return kept


def said_key(warning: EvaluationWarning, row: str = "") -> tuple:
    """What makes a warning said already: its kind and node, or for one
    about a whole entry, its row and words."""
    if warning.node is None:
        return (warning.type, row, warning.message)
    return (warning.type, warning.node, warning.in_rule)


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


def _kinds_of_number(numbers, mask: np.ndarray) -> list[np.ndarray]:
    """The points of ``mask`` split by the number there: NaN, inf, -inf
    (those present, in that order), so that one kind is not counted as
    another."""
    numbers = np.broadcast_to(numbers, mask.shape)
    parts = [mask & np.isnan(numbers), mask & (numbers == math.inf), mask & (numbers == -math.inf)]
    found = [part for part in parts if part.any()]
    return found or [mask]


def _where(index: int | None, count: int, size: int) -> str:
    if index is None:
        return ""
    return f" at {count} of {size} points (first at index {index})"


def _application(op_name: str, arguments: list[float]) -> str:
    """``log(0)``, ``0/0``, ``-inf``: the op applied to the offending numbers.
    A -0 is written ``-0`` where its sign decides the result (``0.5 / -0 =
    -Infinity``); elsewhere, as a number alone, ``0`` (see format_number)."""
    texts = [format_number(a) for a in arguments]
    for position, argument in enumerate(arguments):
        if argument == 0.0 and math.copysign(1.0, argument) < 0.0:
            if _sign_decides(op_name, arguments, position):
                texts[position] = literal_text(argument)
    return OPS[op_name].notation.written(texts)


def _sign_decides(op_name: str, arguments: list[float], position: int) -> bool:
    """Does the op's result, as shown, change when the -0 at ``position``
    is +0?"""
    forward = OPS[op_name].forward
    unsigned = list(arguments)
    unsigned[position] = 0.0
    with np.errstate(all="ignore"):
        results = [forward(*map(np.float64, given)) for given in (arguments, unsigned)]
    return format_number(results[0]) != format_number(results[1])


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


# The arguments whose one-sided slopes a warning tells, at most.
ONE_SIDED_SHOWN = 4


@lru_cache(maxsize=1024)
def _one_sided_text(
    op_name: str,
    arguments: tuple[float, ...],
    positions: tuple[int, ...],
    numbers: tuple[int, ...] | None = None,
) -> str:
    """' (one-sided: -1 from the left, 1 from the right)', per argument in
    ``positions`` when the op has several, told as argument ``numbers``
    (by default, position + 1); empty when the op's value itself is not
    finite. Cached: the rows of a batch at a kink are mostly at the same
    few points, and each costs several evaluations of the op."""
    if not positions or not np.isfinite(OPS[op_name].forward(*map(np.float64, arguments))):
        return ""
    parts = []
    # Each argument told costs evaluations of the whole op: a tie of
    # thousands of arguments would cost their square, for a line no one reads.
    for k, position in enumerate(positions[:ONE_SIDED_SHOWN]):
        left, right = one_sided_slopes(op_name, list(arguments), position)
        sides = f"{_side(left)} from the left, {_side(right)} from the right"
        number = position + 1 if numbers is None else numbers[k]
        parts.append(sides if len(arguments) == 1 else f"in argument {number}, {sides}")
    if len(positions) > ONE_SIDED_SHOWN:
        parts.append(f"{len(positions) - ONE_SIDED_SHOWN:,} more arguments not shown")
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
        # id -> [array, its numbers flattened, as an array or a list]: see at().
        self.flat: dict[int, list] = {}

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

    def add(
        self,
        kind: str,
        wording: Wording,
        node_id: int | None,
        mask=None,
        numbers=None,
        counted: bool = True,
        argument: int | None = None,
    ) -> None:
        """A warning at the points of ``mask``: over many points, counted
        apart for each kind of number in ``numbers`` (NaN, inf, -inf), each
        with its first point's words; without ``numbers``, counted whole;
        not ``counted``, the same words at every point (a literal's)."""
        shown, span, in_rule = None, None, False
        if node_id is not None:
            program, shown, in_rule = self.located(node_id)
            span = program.columns.spans[shown]
            self.flagged.add(node_id)
        if not self.shape or not counted:
            subject, predicate, rest = wording(None)
            message = f"{subject} {predicate}{rest}"
            points = np.broadcast_to(mask, self.shape) if self.shape else None
            self.warnings.append(
                EvaluationWarning(
                    kind, message, shown, span, points, in_rule, wording=wording, argument=argument
                )
            )
            return
        points = np.broadcast_to(mask, self.shape)
        parts = []
        kinds = [points] if numbers is None else _kinds_of_number(numbers, points)
        for part in kinds:
            index, count, size = first_point(part)
            subject, predicate, rest = wording(index)
            parts.append(f"{predicate}{_where(index, count, size)}{rest}")
        message = f"{subject} " + "; ".join(parts)
        self.warnings.append(
            EvaluationWarning(
                kind, message, shown, span, points, in_rule, wording=wording, argument=argument
            )
        )

    def at(self, value, index: int | None) -> float:
        """The number ``value`` has at flat ``index``. A warning is worded at
        many points one by one (a batch's rows): an array asked twice is
        made a list of floats once, which is then read at Python's speed."""
        held = self.flat.get(id(value))
        if held is None or held[0] is not value:
            if index is None or np.ndim(value) == 0:
                return at_point(value, index, self.shape)
            held = self.flat[id(value)] = [value, np.broadcast_to(value, self.shape).reshape(-1)]
            return float(held[1][index])
        numbers = held[1]
        if type(numbers) is not list:
            numbers = held[1] = numbers.tolist()
        return numbers[index if index is not None else 0]

    def non_finite_input(self, name: str, value) -> None:
        def wording(index: int | None) -> tuple[str, str, str]:
            return f"input {name}", f"is {format_number(self.at(value, index))}", ""

        self.add("non_finite_input", wording, None, ~np.isfinite(value), value)

    def non_finite_value(self, node_id: int, mask, values: list) -> None:
        node = self.graph.nodes[node_id]
        if node.op == CONSTANT:
            # The same at every point: said once, not counted.
            result = format_number(self.at(values[node_id], None if not self.shape else 0))
            where = f"the number {self.where(node_id)}"
            words = (where, f"is too large for float64 and becomes {result}", "")
            self.add("non_finite_value", lambda index: words, node_id, mask, counted=False)
            return
        subject = self.where(node_id)

        def wording(index: int | None) -> tuple[str, str, str]:
            result = format_number(self.at(values[node_id], index))
            arguments = [self.at(values[i], index) for i in node.operands]
            return subject, f"is {result}", f": {_application(node.op, arguments)} = {result}"

        self.add("non_finite_value", wording, node_id, mask, values[node_id])

    def underflow(self, node_id: int) -> None:
        """The twin of a constant's non-finite value: a literal too small."""
        words = (f"the number {self.where(node_id)}", "is too small for float64 and becomes 0", "")
        self.add("underflow", lambda index: words, node_id, True, counted=False)

    def kink(
        self, node_id: int, mask, values: list, tested: Sequence[int], positions: list[int]
    ) -> None:
        """``tested``: the operands the kink test looked at (a node given
        twice, once, where the op counts it once); ``positions``: those of
        them that depend on an input, whose one-sided derivatives are worth
        telling, each moved wherever it is an argument."""
        node = self.graph.nodes[node_id]
        kink = OPS[node.op].kink
        assert kink is not None  # a kink step's op has one
        # Where the value is not finite it is a pole (0^-1), not a kink: its
        # non-finite value is warned of, and the convention has no say there.
        mask = mask & np.isfinite(values[node_id])
        if not np.any(mask):
            return
        subject = self.where(node_id)

        # Each tested operand is told by its first place among the arguments.
        numbers = tuple(node.operands.index(tested[p]) + 1 for p in positions[:ONE_SIDED_SHOWN])

        def wording(index: int | None) -> tuple[str, str, str]:
            arguments = [self.at(values[i], index) for i in node.operands]
            moved = tuple(self.at(values[i], index) for i in tested)
            rest = (
                f", {_application(node.op, arguments)}; by convention, {kink.convention}"
                f"{_one_sided_text(node.op, moved, tuple(positions), numbers)}"
            )
            return subject, "is at a kink", rest

        self.add("kink", wording, node_id, mask)

    def non_finite_derivative(self, node_id: int, position: int, mask, local, values: list) -> None:
        node = self.graph.nodes[node_id]
        which = "its argument" if len(node.operands) == 1 else f"argument {position + 1}"
        if self.located(node_id)[2]:  # a node of the rule, not the user's op: name its op
            which = f"argument {position + 1} of the rule's {node.op}"
        subject = self.where(node_id)

        def wording(index: int | None) -> tuple[str, str, str]:
            arguments = tuple(self.at(values[i], index) for i in node.operands)
            slope = format_number(self.at(local, index))
            rest = (
                f", at {_application(node.op, list(arguments))}"
                f"{_one_sided_text(node.op, arguments, (position,))}"
            )
            return subject, f"has a derivative of {slope} with respect to {which}", rest

        self.add("non_finite_derivative", wording, node_id, mask, local, argument=position)

    def non_finite_gradient(self, name: str, gradient, mask=None) -> None:
        def wording(index: int | None) -> tuple[str, str, str]:
            number = format_number(self.at(gradient, index))
            return f"the derivative with respect to {name}", f"is {number}", ""

        bad = ~np.isfinite(gradient) if mask is None else mask
        self.add("non_finite_gradient", wording, None, bad, gradient)
