"""The rule namespace ``m``: what a derivative rule or a kink test may call.

A rule of the op table (:mod:`cgrad.ops`) is written against ``m``, never
against numpy, so that one rule runs on numbers, on Python floats, on
traced values (codegen writes the rule out as code) and on symbolic nodes
(a derivative formula). The protocol is defined here, once: ``m`` has one
function per op, by the op's name (``m.cos``, ``m.pow``), and the helpers
of :data:`HELPERS`. Each variant is derived from it: the numeric ones by
:func:`namespace` (which refuses a variant that misses a helper), the ones
over values that are not numbers as subclasses of :class:`RuleNamespace`
(which cannot be made while a helper is missing).

:class:`OperatorProxy` is the other half: the base of the values that stand
for numbers in a rule (codegen's traced values, symbolic nodes), whose
Python operators apply the op of that name.

This module knows the table only through its arguments: ops.py imports it.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

import numpy as np

# The names a rule may call besides the ops': listed here, and only here.
COMPARISONS: tuple[str, ...] = ("equal", "less", "greater_equal")
HELPERS: tuple[str, ...] = ("where", *COMPARISONS, "tie_share", "is_tie", "named")


def _where(condition, chosen, otherwise):
    # A rule's condition is often one number (x^2: "is the exponent 0?"):
    # then pick the branch instead of building a whole array from it.
    if np.ndim(condition) == 0:
        return chosen if condition else otherwise
    return np.where(condition, chosen, otherwise)


def _tie_share(out, args, index):
    """1/n for each of the n arguments equal to ``out``, 0 for the others
    (NaN where ``out`` is NaN: no argument equals it, 0/0)."""
    hit = np.equal(args[index], out)
    # The rule is asked once per argument: counting the ties at each call
    # is n^2 comparisons. An argument that is the extreme nowhere needs
    # no count, which leaves one count per argument that is, once ties
    # are rare.
    if not hit.any() and not np.isnan(out).any():
        return hit * 1.0
    if len(args) <= _COUNT_KEPT_FROM:
        return hit / _tie_count(out, args)
    # The calls for one node come one after the other, each handed the
    # same list of arguments (ArgumentRule.over): its count is kept for the
    # next call (in this thread). The kept list cannot be another node's or
    # another evaluation's, which make lists of their own; a call handed
    # its arguments unpacked, a new tuple each time, counts again.
    kept = _last_count.get()
    if kept is None or kept[0] is not args:
        kept = (args, _tie_count(out, args))
        _last_count.set(kept)
    return hit / kept[1]


# A max or min of more arguments than this keeps its last tie count (and
# with it that node's arguments) per thread; of fewer, counting is cheap.
_COUNT_KEPT_FROM = 8
# (A context variable is per thread, as threading.local is, without
# importing threading at every start: numpy has imported contextvars.)
_last_count: ContextVar[tuple | None] = ContextVar("cgrad_tie_count", default=None)


def _tie_count(out, args):
    """How many of ``args`` equal ``out``, point by point: one comparison
    over the arguments stacked, not a ufunc call per argument."""
    if np.ndim(out) == 0:  # one point: every argument one number
        return np.count_nonzero(np.equal(np.array(args, dtype=np.float64), out))
    return np.equal(np.stack(np.broadcast_arrays(*args)), out).sum(axis=0)


def _is_tie(out, *args):
    return _tie_count(out, args) > 1


def _named(name: str, value: float) -> float:
    """A constant of the language (pi, e): over numbers, its value; a
    formula keeps its name."""
    return value


class ArgumentRule:
    """A variadic op's rule for the argument at ``index``. Called as any
    rule is, ``rule(m, out, *args)``; the backward pass calls
    :meth:`over` with the arguments as they are, one sequence: unpacking n
    arguments for each of n edges would cost n^2."""

    __slots__ = ("rule", "index")

    def __init__(self, rule: Callable[..., Any], index: int) -> None:
        self.rule = rule
        self.index = index

    def __call__(self, m: Any, out: Any, *args: Any) -> Any:
        return self.rule(m, out, args, self.index)

    def over(self, m: Any, out: Any, args: Sequence) -> Any:
        return self.rule(m, out, args, self.index)


def apply_rule(rule: Callable[..., Any], m: Any, out: Any, arguments: Sequence) -> Any:
    """``rule`` applied to ``arguments`` held as one sequence: a variadic
    op's rule is handed that sequence itself (see ArgumentRule)."""
    if type(rule) is ArgumentRule:
        return rule.over(m, out, arguments)
    return rule(m, out, *arguments)


def around_rule(rule: Callable[..., Any], wrap: Callable[[Callable[[], Any]], Any]) -> Any:
    """``rule`` made to run inside ``wrap``: each use calls ``wrap(compute)``,
    ``compute()`` giving the rule's result. A variadic op's rule stays an
    ArgumentRule, so that it is still handed its arguments as one sequence."""
    if type(rule) is ArgumentRule:
        inner = rule.rule

        def over(m: Any, out: Any, args: Sequence, index: int) -> Any:
            return wrap(lambda: inner(m, out, args, index))

        return ArgumentRule(over, rule.index)

    def run(m: Any, out: Any, *arguments: Any) -> Any:
        return wrap(lambda: rule(m, out, *arguments))

    return run


# The helpers over numbers (numpy scalars or arrays).
NUMERIC_HELPERS: dict[str, Callable[..., Any]] = {
    "where": _where,
    "equal": np.equal,
    "less": np.less,
    "greater_equal": np.greater_equal,
    "tie_share": _tie_share,
    "is_tie": _is_tie,
    "named": _named,
}

# The comparisons at one point of Python floats: the same IEEE comparisons
# as numpy's, without a ufunc call each.
FLOAT_COMPARISONS: dict[str, Callable[..., Any]] = {
    "equal": operator.eq,
    "less": operator.lt,
    "greater_equal": operator.ge,
}


def namespace(
    functions: Mapping[str, Callable[..., Any]], helpers: Mapping[str, Callable[..., Any]]
) -> SimpleNamespace:
    """An ``m`` of plain functions: ``functions`` by op name, and every
    helper of :data:`HELPERS` (no more, no fewer)."""
    if set(helpers) != set(HELPERS):
        raise TypeError(f"a rule namespace has the helpers {HELPERS}, not {tuple(helpers)}")
    return SimpleNamespace(**functions, **helpers)


def numeric_namespace(forwards: Mapping[str, Callable[..., Any]]) -> SimpleNamespace:
    """Rules and kink tests on numpy numbers and arrays: the engine's walk."""
    return namespace(forwards, NUMERIC_HELPERS)


def point_tests_namespace(forwards: Mapping[str, Callable[..., Any]]) -> SimpleNamespace:
    """Kink tests at one point of Python floats: each test one truth value,
    by Python's comparisons (np.any of a numpy bool costs microseconds)."""
    return namespace(forwards, {**NUMERIC_HELPERS, **FLOAT_COMPARISONS})


def floats_namespace(
    forwards: Mapping[str, Callable[..., Any]], exact: Mapping[str, Callable[..., Any]]
) -> SimpleNamespace:
    """Rules at one point of Python floats: each op whose Python form gives
    numpy's bits (``exact``, by name) in that form, the others as they are."""
    return point_tests_namespace({name: exact.get(name, f) for name, f in forwards.items()})


class RuleNamespace(ABC):
    """The base of an ``m`` over values that are not numbers (traced,
    symbolic): ``m.<op name>`` is :meth:`function` of that name, and each
    helper is a method a subclass must give."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Only names that are not attributes arrive here: the ops'.
        if name.startswith("__"):
            raise AttributeError(name)
        return self.function(name)

    @abstractmethod
    def function(self, name: str) -> Callable[..., Any]:
        """What ``m.<name>`` does for op ``name``; AttributeError for a name
        that is no op."""

    @abstractmethod
    def where(self, condition, chosen, otherwise): ...

    @abstractmethod
    def equal(self, a, b): ...

    @abstractmethod
    def less(self, a, b): ...

    @abstractmethod
    def greater_equal(self, a, b): ...

    @abstractmethod
    def tie_share(self, out, arguments: Sequence, index: int): ...

    @abstractmethod
    def is_tie(self, out, *arguments): ...

    def named(self, name: str, value: float) -> Any:
        """The constant ``name`` of the language: its value, unless the
        values stand for something else (a formula keeps the name)."""
        return value


class OperatorProxy:
    """The base of a value that stands for a number in a rule: each Python
    operator applies the op of that name through :meth:`apply_op`."""

    __slots__ = ()

    def apply_op(self, name: str, *arguments: object) -> Any:
        """The op ``name`` applied to ``arguments`` (one of them ``self``)."""
        raise NotImplementedError

    def __add__(self, other: object) -> Any:
        return self.apply_op("add", self, other)

    def __radd__(self, other: object) -> Any:
        return self.apply_op("add", other, self)

    def __sub__(self, other: object) -> Any:
        return self.apply_op("sub", self, other)

    def __rsub__(self, other: object) -> Any:
        return self.apply_op("sub", other, self)

    def __mul__(self, other: object) -> Any:
        return self.apply_op("mul", self, other)

    def __rmul__(self, other: object) -> Any:
        return self.apply_op("mul", other, self)

    def __truediv__(self, other: object) -> Any:
        return self.apply_op("div", self, other)

    def __rtruediv__(self, other: object) -> Any:
        return self.apply_op("div", other, self)

    def __pow__(self, other: object) -> Any:
        return self.apply_op("pow", self, other)

    def __rpow__(self, other: object) -> Any:
        return self.apply_op("pow", other, self)

    def __neg__(self) -> Any:
        return self.apply_op("neg", self)
