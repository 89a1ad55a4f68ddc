"""Symbolic nodes: the values a derivative formula is made of.

A :class:`Sym` is a node of an expression DAG; arithmetic on it (what the op
table's rules do with ``+``, ``*``, ``/``, ``**`` and ``-``) builds new
nodes through its :class:`Builder`, and :class:`Namespace` is the rules'
``m`` that builds them (a :class:`~cgrad.namespaces.RuleNamespace`). Nodes
are hash-consed (the same subexpression is one node) and simplified as they
are made: numbers are folded (not pi, e or log(2), unless whole or asked
for: :func:`_folds`), and ``0*a``, ``1*a``, ``a+0``, ``a-0``,
``a/1``, ``a^1``, ``a^0``, ``--a`` and ``-(a-b)`` never appear.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import reduce
from typing import Any

import numpy as np

from ..autodiff.graph import CONSTANT, INPUT
from ..namespaces import OperatorProxy, RuleNamespace
from ..ops import OPS, Fixity
from .printing import program_text


class Sym(OperatorProxy):
    """A node of a symbolic expression DAG. Arithmetic on it builds new
    nodes through its builder."""

    __slots__ = ("id", "op", "operands", "value", "name", "builder")

    def __init__(
        self,
        builder: Builder,
        id: int,  # noqa: A002
        op: str,
        operands: tuple[Sym, ...] = (),
        value: float | None = None,
        name: str | None = None,
    ) -> None:
        self.builder = builder
        self.id = id
        self.op = op
        self.operands: tuple[Sym, ...] = operands
        self.value: float | None = value
        self.name: str | None = name

    def apply_op(self, name: str, *arguments: object) -> Sym:
        return self.builder.apply(name, *arguments)

    def __repr__(self) -> str:
        return f"Sym({program_text(self)!r})"

    def is_constant(self, value: float | None = None) -> bool:
        return self.op == CONSTANT and (value is None or self.value == value)


def folded(node: Sym, memo: dict[int, Any], combine: Callable[[Sym, list], Any]) -> Any:
    """``combine(n, its operands' results)`` for ``node`` and each node under
    it not in ``memo`` yet, operands first, kept in ``memo``: one visit per
    node, with an explicit stack (a chain of any length)."""
    if node.id in memo:  # most calls, once the nodes under it are known
        return memo[node.id]
    stack = [node]
    while stack:
        top = stack[-1]
        if top.id in memo:
            stack.pop()
            continue
        waiting = False
        for a in top.operands:
            if a.id not in memo:
                stack.append(a)
                waiting = True
        if waiting:  # its operands first
            continue
        stack.pop()
        memo[top.id] = combine(top, [memo[a.id] for a in top.operands])
    return memo[node.id]


class QuietOrigin(tuple):
    """The origin (node id, False) of a part of a rule that only guards
    another part (an indicator made of step and abs): its kinks are the
    guard's own, not the program's, and no evaluation warns of them. A
    rewritten node takes its origin object, so a rewrite keeps it quiet."""

    __slots__ = ()


class Builder:
    """Makes :class:`Sym` nodes: one per distinct (op, operands), simplified."""

    def __init__(self, numeric: bool = False, guarded: bool = False) -> None:
        # numeric: pi, e and log(2) folded into numbers, as the user may ask.
        self.numeric = numeric
        # guarded: formulas evaluated again at any point (the Hessian's), in
        # which a^0.5 and sqrt(a) stay apart: IEEE's pow and sqrt differ at
        # -inf and -0.0 (+inf and +0.0 against NaN and -0.0).
        self.guarded = guarded
        self.nodes: list[Sym] = []
        self.keys: dict[tuple, Sym] = {}
        # Per node, where in the graph being differentiated it was made:
        # (node id, True) for that node's value, (node id, False) for a
        # part of its derivative rule; None outside :func:`formulas`.
        self.origin: tuple[int, bool] | None = None
        self.origins: list[tuple[int, bool] | None] = []

    def _made(
        self, key: tuple, op: str, operands: tuple[Sym, ...] = (), value=None, name=None
    ) -> Sym:
        """The node of ``key``, made if there is none: an op's key is the op
        and its operands' ids, one flat tuple (hashed at every node made)."""
        node = self.keys.get(key)
        if node is None:
            node = Sym(self, len(self.nodes), op, operands, value, name)
            self.nodes.append(node)
            self.origins.append(self.origin)
            self.keys[key] = node
        return node

    def constant(self, value: float, name: str | None = None) -> Sym:
        """A number, or the constant ``name`` (pi, e) of that value."""
        value = as_float(value)
        name = None if self.numeric else name
        # -0.0 == 0.0, but they are different constants (1/-0.0 is -inf).
        key = (CONSTANT, value, math.copysign(1.0, value), name)
        return self._made(key, CONSTANT, value=value, name=name)

    def input(self, name: str) -> Sym:
        return self._made((INPUT, name), INPUT, name=name)

    def lift(self, value: Any) -> Sym:
        return value if isinstance(value, Sym) else self.constant(value)

    def apply(self, op: str, *arguments: Any) -> Sym:
        operands = arguments  # most are nodes already
        for a in arguments:
            if not isinstance(a, Sym):
                operands = tuple([a if isinstance(a, Sym) else self.constant(a) for a in arguments])
                break
        simplify = _SIMPLER.get(op)
        simpler = simplify(self, *operands) if simplify is not None else None
        if simpler is not None:
            return simpler
        for a in operands:
            if a.op != CONSTANT:
                break
        else:
            folded = _folded(op, [a.value for a in operands])
            # A NaN or an infinity has no literal in the language: keep the
            # operation that makes it.
            if math.isfinite(folded) and (self.numeric or _folds(op, operands, folded)):
                return self.constant(folded)
        if len(operands) == 2:  # (most are)
            return self._made((op, operands[0].id, operands[1].id), op, operands)
        return self._made((op, *[a.id for a in operands]), op, operands)

    def difference(self, a: Sym, b: Sym) -> Sym:
        """``a - b`` as the two sides of a sign test (step(a - b, h)): a
        difference even where ``b`` is a negation, whose a + c would be
        the same number but no test of a against -c (canonical forms would
        collect a with c, and round where the program's a - b is 0)."""
        if b.op == "neg" and not a.is_constant(0.0):  # (0 - -c is c, to the bit)
            return self._made(("sub", a.id, b.id), "sub", (a, b))
        return self.apply("sub", a, b)


def _folded(op: str, values: list) -> float:
    """``op`` of the numbers ``values``, as its forward gives it: on Python
    floats where the table says they give its bits (a numpy call on
    scalars costs many times an operator), else by numpy."""
    op_entry = OPS[op]
    exact = op_entry.exact_on_floats
    if exact is not None:
        try:
            return float(exact(*values))
        except (ArithmeticError, ValueError):  # 1/0, sqrt(-1): numpy's inf or NaN
            pass
    with np.errstate(all="ignore"):
        return float(op_entry.forward(*(np.float64(v) for v in values)))


def _folds(op: str, operands: tuple[Sym, ...], folded: float) -> bool:
    """Whether a formula shows ``folded`` rather than the call on constants
    that makes it: arithmetic on numbers folds (2*3 is 6), but a function
    of a number (log(2)) or anything of pi or e stays as a person writes
    it, unless it is a whole number (log(e) is 1, cos(0) is 1)."""
    kept = OPS[op].notation.fixity is Fixity.CALL or any(a.name for a in operands)
    return not kept or folded == math.floor(folded)


# --------------------------------------------------------------------------
# The identities of the module docstring, per op: a simpler node, or None.


def _simpler_neg(builder: Builder, a: Sym) -> Sym | None:
    if a.op == "neg":
        return a.operands[0]
    if a.op == "sub":
        return builder.apply("sub", a.operands[1], a.operands[0])
    return None


def _simpler_add(builder: Builder, a: Sym, b: Sym) -> Sym | None:
    if a.is_constant(0.0):
        return b
    if b.is_constant(0.0):
        return a
    if b.op == "neg":
        return builder.apply("sub", a, b.operands[0])
    if a.op == "neg":
        return builder.apply("sub", b, a.operands[0])
    return None


def _simpler_sub(builder: Builder, a: Sym, b: Sym) -> Sym | None:
    if b.is_constant(0.0):
        return a
    if a.is_constant(0.0):
        return builder.apply("neg", b)
    if b.op == "neg":
        return builder.apply("add", a, b.operands[0])
    if a is b:
        return builder.constant(0.0)
    return None


def _simpler_mul(builder: Builder, a: Sym, b: Sym) -> Sym | None:
    # The values of constants, read once (the most made op's checks).
    of_a = a.value if a.op == CONSTANT else None
    of_b = b.value if b.op == CONSTANT else None
    if of_a == 0.0 or of_b == 0.0:
        return builder.constant(0.0)
    if of_a == 1.0:
        return b
    if of_b == 1.0:
        return a
    if of_a == -1.0:
        return builder.apply("neg", b)
    if of_b == -1.0:
        return builder.apply("neg", a)
    if a.op == "neg" and b.op == "neg":
        return builder.apply("mul", a.operands[0], b.operands[0])
    if a.op == "neg":
        return builder.apply("neg", builder.apply("mul", a.operands[0], b))
    if b.op == "neg":
        return builder.apply("neg", builder.apply("mul", a, b.operands[0]))
    # A constant factor reads better in front: 2*x, not x*2.
    if b.op == CONSTANT and a.op != CONSTANT:
        return builder.apply("mul", b, a)
    # 4*(3*y) is 12*y (to within the last bit, the price of a formula
    # that reads like one).
    if a.op == CONSTANT and b.op == "mul" and b.operands[0].op == CONSTANT:
        factor = builder.apply("mul", a, b.operands[0])
        if factor.op == CONSTANT:
            return builder.apply("mul", factor, b.operands[1])
    return None


def _simpler_div(builder: Builder, a: Sym, b: Sym) -> Sym | None:
    if b.is_constant(1.0):
        return a
    if a.is_constant(0.0) and not b.is_constant(0.0):
        return builder.constant(0.0)
    if b.is_constant(-1.0):
        return builder.apply("neg", a)
    if a.op == "neg":
        return builder.apply("neg", builder.apply("div", a.operands[0], b))
    return None


def _simpler_pow(builder: Builder, a: Sym, b: Sym) -> Sym | None:
    if b.is_constant(1.0):
        return a
    if b.is_constant(0.0):
        return builder.constant(1.0)
    return None


_SIMPLER: dict[str, Callable[..., Sym | None]] = {
    "neg": _simpler_neg,
    "add": _simpler_add,
    "sub": _simpler_sub,
    "mul": _simpler_mul,
    "div": _simpler_div,
    "pow": _simpler_pow,
}


# --------------------------------------------------------------------------
# The namespace that the op table's rules run against.


class _Undecided:
    """A condition that depends on the inputs: the language has no
    conditionals, so a rule's ``where(condition, special, general)`` takes
    the general branch, the formula that holds away from the special points
    (which is also where the numeric conventions apply)."""

    def __and__(self, other):
        return False if other is False else self

    __rand__ = __and__


UNDECIDED = _Undecided()


class Namespace(RuleNamespace):
    """``m`` for the rules: each op name builds that op's node."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder
        self.made: dict[tuple, Any] = {}

    def once(self, key: tuple, make: Callable[[], Any]) -> Any:
        """``make()``, made once per ``key``: a part of a node's rule that
        all its edges share (the tie count of a wide max), which made per
        edge would cost n^2 for n arguments."""
        if key not in self.made:
            self.made[key] = make()
        return self.made[key]

    def function(self, name: str) -> Callable[..., Sym]:
        if name not in OPS:
            raise AttributeError(name)
        builder = self.builder
        return lambda *arguments: builder.apply(name, *arguments)

    def _compare(self, a, b, test):
        a, b = self.builder.lift(a), self.builder.lift(b)
        if a.op == CONSTANT and b.op == CONSTANT:
            return bool(test(a.value, b.value))
        return UNDECIDED

    def equal(self, a, b):
        return self._compare(a, b, lambda p, q: p == q)

    def less(self, a, b):
        return self._compare(a, b, lambda p, q: p < q)

    def greater_equal(self, a, b):
        return self._compare(a, b, lambda p, q: p >= q)

    def named(self, name: str, value: float) -> Sym:
        return self.builder.constant(value, name)

    def quiet(self, make: Callable[[], Any]) -> Any:
        """``make()``, the nodes it makes marked as a guard's (:class:`QuietOrigin`)."""
        saved = self.builder.origin
        if saved is not None:
            self.builder.origin = QuietOrigin(saved)
        try:
            return make()
        finally:
            self.builder.origin = saved

    def sign_test(self, a, b, h) -> Sym:
        """step(a - b, h), a and b kept apart (:meth:`Builder.difference`),
        so that the formula's test is 0 exactly where a equals b as the
        program computes them. (Formulas only: printed rules use it.)"""
        builder = self.builder
        difference = builder.difference(builder.lift(a), builder.lift(b))
        return builder.apply("step", difference, h)

    def where(self, condition, chosen, otherwise):
        if condition is UNDECIDED:
            return otherwise
        return chosen if condition else otherwise

    def tie_share(self, out, arguments, index):
        # 1 - |sign(a - out)| is 1 where a is the chosen argument, 0 elsewhere:
        # the numeric rule's 1/n share of a tie, written in the language.
        hits = [
            1.0 - self.builder.apply("abs", self.builder.apply("sign", a - out)) for a in arguments
        ]
        return hits[index] / reduce(lambda p, q: p + q, hits)

    def is_tie(self, out, *arguments):
        # Kink tests do not run on formulas: a formula has no points.
        raise TypeError("is_tie is a kink test; formulas have none")


def as_float(value: float | int | Fraction) -> float:
    """``value`` as a float, an exact number beyond the floats as the
    infinity of its sign (as the arithmetic of floats would have it)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
