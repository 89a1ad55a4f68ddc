"""THE table of operations.

Each :class:`Op` holds everything cgrad knows about one operation, on
consecutive lines: how it is written, its arity, its numpy forward function,
one local-derivative rule per argument, what happens at its kinks and edges,
how it prints, and what generated code needs to know of it (its exact form
on Python floats, which arguments it echoes, the sign of its result, its
shortcuts). Adding a function to the language is one entry in ``OPS``
(plus its rows in the test tables that guard it, which tests/test_ops.py
names when one is missing) and nothing elsewhere: the parser reads function
names from here, the graph checks arity here, the engine runs the rules
from here, codegen reads its facts from here (an op without them is
compiled all the same, as a plain call), formulas print its rules.

Derivative rules are written against a namespace ``m`` (``m.cos(a)``,
``m.where(...)``; see :mod:`cgrad.namespaces`), so that one rule runs on
numbers, Python floats, traced values (codegen) and symbolic nodes
(formulas). A rule gets the op's output ``out`` too, so that ``exp``,
``sqrt`` and friends reuse it (where that keeps the precision). Forward
mode, :meth:`Op.tangent`, is ``sum(rule_i * tangent_i)`` for every op: the
same rules applied in the other order.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, TypeVar

import numpy as np

from . import elementary as el
from .elementary import Shortcut, Sign
from .namespaces import ArgumentRule, floats_namespace, numeric_namespace, point_tests_namespace

# --------------------------------------------------------------------------
# The vocabulary of a table entry.


class Fixity(Enum):
    """Where an op's symbol goes: between, before or around its operands."""

    INFIX = "infix"
    PREFIX = "prefix"
    CALL = "call"


# Precedences, loosest first, as in the grammar.
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 10

T = TypeVar("T")


class Slot(NamedTuple):
    """An operand's place in a printed op: the operand, and how tightly
    what stands there must bind (a looser one is put in parentheses; so is
    an equal one where ``strict``)."""

    operand: Any
    need: int
    strict: bool


@dataclass(frozen=True, slots=True)
class Notation:
    """How an op prints: ``symbol`` and a binding strength for parentheses.

    :meth:`layout` is the one printer of an op by its fixity: diagnostics,
    the steps tables and symbolic formulas all print an op through it."""

    fixity: Fixity
    symbol: str
    precedence: int = ATOM
    right_associative: bool = False

    def layout(self, operands: Sequence[T], program: bool = False) -> list[str | Slot]:
        """The op applied to ``operands``: text pieces and operand slots, in
        order. ``program``: as a cgrad program (spaces around ``+`` and
        ``-`` only), else with spaces around every infix symbol."""
        if self.fixity is Fixity.CALL:
            parts: list[str | Slot] = [f"{self.symbol}("]
            for index, operand in enumerate(operands):
                if index:
                    parts.append(", ")
                parts.append(Slot(operand, SUM, False))
            return [*parts, ")"]
        if self.fixity is Fixity.PREFIX:
            # "--x" parses, but -(-x) reads better (and -(-2) keeps its sign).
            return [self.symbol, Slot(operands[0], self.precedence, True)]
        a, b = operands
        spaced = not program or self.precedence == SUM
        symbol = f" {self.symbol} " if spaced else self.symbol
        if self.right_associative:
            # The grammar's atom ^ unary: a sign may follow the symbol.
            return [Slot(a, self.precedence, True), symbol, Slot(b, UNARY, False)]
        # Left-associative: a - (b - c) keeps its parentheses, (a - b) - c not.
        return [Slot(a, self.precedence, False), symbol, Slot(b, self.precedence, True)]

    def written(self, operands: Sequence[str]) -> str:
        """The op applied to operands already written (``0 / 0``,
        ``log(@1)``), with no parentheses added."""
        key = (id(self), len(operands))
        held = _WRITTEN_PIECES.get(key)
        if held is None or held[0] is not self:
            pieces = tuple(
                p if isinstance(p, str) else p.operand
                for p in self.layout(list(range(len(operands))))
            )
            held = _WRITTEN_PIECES[key] = (self, pieces)
        return "".join([operands[p] if isinstance(p, int) else p for p in held[1]])


# (id of a notation, operand count) -> (the notation, its layout with each
# slot the operand's position): laid out once per op, not at each row a
# batch words a warning for (a frozen dataclass's hash costs as much).
_WRITTEN_PIECES: dict[tuple[int, int], tuple[Notation, tuple[str | int, ...]]] = {}


@dataclass(frozen=True, slots=True)
class Kink:
    """Where an op is not differentiable and which convention cgrad uses there.

    ``at(m, out, *args)`` is true (elementwise) at the kink. ``fixed`` pairs an
    argument's position with the test to use instead where that argument
    carries no derivative (a constant, or not among those differentiated
    by): a kink only the derivative in that argument has is then none.
    """

    at: Callable[..., object]
    convention: str
    fixed: tuple[tuple[int, Callable[..., object]], ...] = ()
    # Why the second derivatives there are NaN, if they do not exist there.
    second: str = ""

    def test(self, free: Sequence[bool]) -> Callable[..., object]:
        """The kink test when only the arguments ``free`` marks carry a
        derivative."""
        for position, narrower in self.fixed:
            if not free[position]:
                return narrower
        return self.at


Rule = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Op:
    """One operation and every fact about it (see the module docstring)."""

    name: str
    arity: int | None  # None: one or more arguments (min, max)
    forward: Callable[..., Any]
    # One rule per argument, each rule(m, out, *args) -> local derivative.
    # A variadic op has one rule, rule(m, out, args, index) over all its
    # arguments as one sequence (see ArgumentRule).
    derivatives: tuple[Rule, ...]
    # How it prints (by default, a function called by its name).
    notation: Notation = Notation(Fixity.CALL, "")
    # Names the language has for it besides a function's own (see spellings).
    aliases: tuple[str, ...] = ()
    # max(x, x, y) is max(x, y): a node given twice counts once in the
    # kink test and the edges (x tied with itself is no kink).
    node_once: bool = False
    kink: Kink | None = None
    # Where the op is not smooth (a kink, a pole, a domain edge):
    # edges(out, *args) gives quantities, one per edge, zero on it and of
    # one sign (or NaN) on each side. A finite difference is only trusted
    # between points where every one keeps its sign (cgrad.check.differences).
    edges: Callable[..., tuple] | None = None
    # Per quantity of ``edges``, the arguments (positions) a step in which
    # can cross it: a^b's edge at a = 0 is crossed by a step in a only, the
    # jump of 0^b at b = 0 by a step in b only; (): each by any argument.
    edges_crossed_by: tuple[tuple[int, ...], ...] = ()
    # The rules as a formula prints them, where ``derivatives`` are careful
    # numeric forms of the same mathematics; None: they print as they are.
    printed: tuple[Rule, ...] | None = None
    # The printed rules as the Hessian's formulas take them where a guard of
    # ``derivatives`` (a where, which formulas drop) must hold in them too,
    # so that their own derivatives there are the limits; None: ``printed``.
    guarded: tuple[Rule, ...] | None = None
    # The Python function that gives forward's bits on Python floats
    # (correctly rounded IEEE operations), or None. Generated code writes
    # an operator's as the operator (the symbols are Python's too).
    exact_on_floats: Callable[..., Any] | None = None
    # The positions of the arguments whose NaN or inf the result always
    # shows (inf*0, sin(inf); but x/inf, exp(-inf) and tanh(inf) are finite).
    echoes: tuple[int, ...] = ()
    # The sign of the result from its arguments' (Sign per argument, and
    # whether all arguments are one value), if it says more than UNKNOWN.
    sign: Callable[[tuple[Sign, ...], bool], Sign] | None = None
    # For a constant last argument: what the call amounts to, if simpler.
    shortcut: Callable[[Any], Shortcut | None] | None = None
    # The ufunc that computes forward where forward is a Python function
    # around it, for generated code to call (once the shortcuts are decided).
    ufunc: Callable[..., Any] | None = None
    # Exact identities of IEEE arithmetic, for generated code to fold a
    # negation into the op: the arguments whose negation negates the result
    # bit for bit ((-a)*b is -(a*b)); the op this one is with its last
    # argument negated (a + -b is a - b); whether a + b is b + a, bit for bit.
    odd_in: tuple[int, ...] = ()
    with_last_negated: str | None = None
    commutes: bool = False
    # The sign from which the call is its argument, bit for bit (abs of a
    # positive value; not of -0.0), for generated code to skip.
    same_from: Sign | None = None

    def __post_init__(self) -> None:
        if not self.notation.symbol:
            object.__setattr__(self, "notation", Notation(Fixity.CALL, self.name))

    @property
    def spellings(self) -> tuple[str, ...]:
        """The names the language uses for this op; the first is canonical."""
        called = (self.notation.symbol,) if self.notation.fixity is Fixity.CALL else ()
        return (*called, *self.aliases)

    def derivative(self, index: int) -> Rule:
        """The local-derivative rule for argument ``index``."""
        if self.arity is None:
            return ArgumentRule(self.derivatives[0], index)
        return self.derivatives[index]

    def local(self, m: Any, out: Any, arguments: Sequence, index: int) -> Any:
        """The rule for argument ``index`` applied (the arguments not unpacked
        for a variadic op's: see ArgumentRule)."""
        if self.arity is None:
            return self.derivatives[0](m, out, arguments, index)
        return self.derivatives[index](m, out, *arguments)

    def local_at(self, index: int, out: Any, arguments: Sequence) -> float:
        """The local derivative d out / d argument ``index`` at one point,
        as the backward pass computes it (a NaN or an inf is a value here:
        the evaluation has warned of it, so numpy's warnings are silenced)."""
        with np.errstate(all="ignore"):
            return float(self.local(NUMERIC, out, arguments, index))

    def printed_rule(self, rule: Rule, guarded: bool = False) -> Rule:
        """The rule a formula prints in place of ``rule`` (one of
        ``derivatives``): itself, unless ``printed`` gives another; with
        ``guarded``, the one ``guarded`` gives before that."""
        forms = (self.guarded if guarded else None) or self.printed
        if forms is None:
            return rule
        if isinstance(rule, ArgumentRule):  # a variadic op's rule for one argument
            return ArgumentRule(forms[0], rule.index)
        return forms[self.derivatives.index(rule)]

    def tangent(self, m: Any, out: Any, arguments: Sequence, tangents: Sequence) -> Any:
        """Forward mode: the output's tangent from the arguments' tangents
        (None where an argument carries none), or None if none does."""
        total = None
        for position, tangent in enumerate(tangents):
            if tangent is None:
                continue
            term = self.local(m, out, arguments, position) * tangent
            total = term if total is None else total + term
        return total


# --------------------------------------------------------------------------
# The table.


# Constant slopes, as shared objects so that the backward pass can tell them
# apart by identity and skip multiplying by them.
ONE = 1.0
MINUS_ONE = -1.0

# log2'(a) = 1/(a ln 2) as log2(e)/a: one rounding fewer, and no product
# a*ln 2 that falls below the normal floats while the slope is still one.
# The nearest floats to log2(e) and log10(e) (1/math.log(10.0) is one off).
LOG2_E = 1.4426950408889634
LOG10_E = 0.4342944819032518

_ZERO_KINK = el.at_zero
_TIES = "tied arguments share the slope equally (1/n each)"

OPS: dict[str, Op] = {
    op.name: op
    for op in [
        # Arithmetic: Python's operators give numpy's bits.
        Op("add", 2, np.add, (lambda m, out, a, b: ONE, lambda m, out, a, b: ONE),
           Notation(Fixity.INFIX, "+", SUM),
           exact_on_floats=operator.add, echoes=(0, 1), sign=el.sign_of_sum,
           with_last_negated="sub", commutes=True),
        Op("sub", 2, np.subtract, (lambda m, out, a, b: ONE, lambda m, out, a, b: MINUS_ONE),
           Notation(Fixity.INFIX, "-", SUM), exact_on_floats=operator.sub, echoes=(0, 1),
           with_last_negated="add"),
        Op("mul", 2, np.multiply, (lambda m, out, a, b: b, lambda m, out, a, b: a),
           Notation(Fixity.INFIX, "*", PRODUCT),
           exact_on_floats=operator.mul, echoes=(0, 1), sign=el.sign_of_product, odd_in=(0, 1),
           commutes=True),
        Op("div", 2, np.divide, (lambda m, out, a, b: 1.0 / b, lambda m, out, a, b: -out / b),
           Notation(Fixity.INFIX, "/", PRODUCT), edges=lambda out, a, b: (b,),
           exact_on_floats=operator.truediv, echoes=(0,), odd_in=(0, 1)),
        Op("neg", 1, np.negative, (lambda m, out, a: MINUS_ONE,),
           Notation(Fixity.PREFIX, "-", UNARY), exact_on_floats=operator.neg, echoes=(0,),
           odd_in=(0,)),
        # a^b: d/da is b*a^(b-1), valid for negative a, and 0 where b is 0
        # (so x^0 has slope 0 even at x = 0). d/db is only asked for when b
        # depends on an input; it is 0 where a is 0 and b >= 0, which is what
        # PyTorch's pow_backward_exponent does (the SPEC says b > 0; at
        # a = b = 0 that would give -inf, where PyTorch users expect 0).
        Op("pow", 2, el.power,
           (el.power_slope, el.power_slope_in_exponent),
           Notation(Fixity.INFIX, "^", POWER, right_associative=True), aliases=("pow",),
           kink=Kink(el.pow_kink,
                     "at a = 0 cgrad takes 0^0 = 1, d/da = b*a^(b-1) (0 where b = 0) and d/db = 0 for b >= 0",
                     fixed=((1, el.pow_kink_in_base), (0, el.pow_kink_in_exponent))),
           edges=el.edges_of_power, edges_crossed_by=((0,), (1,)),
           shortcut=el.power_shortcut, ufunc=np.power,
           # (b*a^(b-1) is computed with care where b - 1 is rounded.)
           printed=(el.power_slope_printed, el.power_slope_in_exponent_printed),
           guarded=(el.power_slope_printed, el.power_slope_in_exponent_guarded)),
        # Trigonometry. The rules are written in the forms that keep their
        # precision over the whole domain (tests/test_precision.py holds each to
        # a few ULP of mpmath): (1 - a)*(1 + a) is exact near |a| = 1, where
        # 1 - a*a loses its digits.
        Op("sin", 1, np.sin, (lambda m, out, a: m.cos(a),), echoes=(0,)),
        Op("cos", 1, np.cos, (lambda m, out, a: -m.sin(a),), echoes=(0,)),
        Op("tan", 1, np.tan, (lambda m, out, a: 1.0 + out * out,), edges=lambda out, a: (np.cos(a),)),
        Op("asin", 1, np.arcsin, (lambda m, out, a: 1.0 / m.sqrt((1.0 - a) * (1.0 + a)),), edges=el.edge_of_unit_interval),
        Op("acos", 1, np.arccos, (lambda m, out, a: -1.0 / m.sqrt((1.0 - a) * (1.0 + a)),), edges=el.edge_of_unit_interval),
        Op("atan", 1, np.arctan, (el.atan_slope,),
           printed=(lambda m, out, a: 1.0 / (1.0 + a * a),)),
        Op("sinh", 1, np.sinh, (lambda m, out, a: m.cosh(a),)),
        Op("cosh", 1, np.cosh, (lambda m, out, a: m.sinh(a),)),
        # 1 - tanh^2 cancels, and is 0 once tanh rounds to 1. tanh(a) is
        # 2*sigmoid(2a) - 1, and sigmoid saturates where cosh overflows: its
        # second derivative stays a number (1/cosh(a)/cosh(a)'s is 0*inf there).
        # Numbers take the cheaper 1/cosh(a)/cosh(a) (see el.tanh_slope); formulas,
        # whose derivatives are taken again, the sigmoids.
        # hypot(a, 1) and two square roots for acosh: a*a overflows first.
        Op("tanh", 1, np.tanh, (el.tanh_slope,),
           printed=(lambda m, out, a: 4.0 * m.sigmoid(2.0 * a) * m.sigmoid(-2.0 * a),)),
        Op("asinh", 1, np.arcsinh, (lambda m, out, a: 1.0 / m.hypot(a, 1.0),)),
        Op("acosh", 1, np.arccosh, (lambda m, out, a: 1.0 / (m.sqrt(a - 1.0) * m.sqrt(a + 1.0)),),
           edges=lambda out, a: (a - 1.0,)),
        Op("atanh", 1, np.arctanh, (lambda m, out, a: 1.0 / ((1.0 - a) * (1.0 + a)),), edges=el.edge_of_unit_interval),
        # Exponentials and logarithms. expm1(a) + 1 cancels for a < 0.
        Op("exp", 1, np.exp, (lambda m, out, a: out,), sign=el.nonnegative),
        Op("expm1", 1, np.expm1, (lambda m, out, a: m.exp(a),)),
        Op("log", 1, np.log, (lambda m, out, a: 1.0 / a,), aliases=("ln",),
           edges=el.edge_at_zero, echoes=(0,)),
        Op("logb", 2, el.log_base,
           (lambda m, out, a, b: 1.0 / (a * m.log(b)), lambda m, out, a, b: -out / (b * m.log(b))),
           Notation(Fixity.CALL, "log"), edges=lambda out, a, b: (a, b, b - 1.0)),
        # (log2(e) and log10(e) are those very floats: a formula says which.)
        Op("log2", 1, np.log2, (lambda m, out, a: LOG2_E / a,), edges=el.edge_at_zero,
           printed=(lambda m, out, a: m.log2(m.named("e", math.e)) / a,)),
        Op("log10", 1, np.log10, (lambda m, out, a: LOG10_E / a,), edges=el.edge_at_zero,
           printed=(lambda m, out, a: m.log10(m.named("e", math.e)) / a,)),
        Op("log1p", 1, np.log1p, (lambda m, out, a: 1.0 / (1.0 + a),), edges=lambda out, a: (a + 1.0,)),
        # Roots: the slope at 0 is +inf by convention. sqrt(-0.0) is -0.0, and
        # 0.5/-0.0 would be -inf: abs() keeps the convention there too.
        # A formula prints 0.5/sqrt(a), which differs only at a = -0.0.
        Op("sqrt", 1, np.sqrt, (lambda m, out, a: 0.5 / m.abs(out),),
           kink=Kink(_ZERO_KINK, "sqrt'(0) = inf"), edges=el.edge_at_zero,
           exact_on_floats=math.sqrt, echoes=(0,), sign=el.sign_of_root,
           printed=(lambda m, out, a: 0.5 / out,)),
        Op("cbrt", 1, np.cbrt, (lambda m, out, a: 1.0 / (3.0 * out * out),),
           kink=Kink(_ZERO_KINK, "cbrt'(0) = inf"), edges=el.edge_at_zero),
        # Piecewise functions and their conventions at the kink.
        Op("abs", 1, np.abs, (lambda m, out, a: m.sign(a),),
           kink=Kink(_ZERO_KINK, "abs'(0) = 0"), edges=el.edge_at_zero,
           exact_on_floats=abs, echoes=(0,), sign=el.nonnegative, same_from=Sign.POSITIVE),
        Op("sign", 1, np.sign, (lambda m, out, a: 0.0,),
           kink=Kink(_ZERO_KINK, "sign'(0) = 0"), edges=el.edge_at_zero),
        Op("relu", 1, el.relu, (lambda m, out, a: m.sign(out),),
           kink=Kink(_ZERO_KINK, "relu'(0) = 0"), edges=el.edge_at_zero,
           printed=(lambda m, out, a: m.step(a, 0.0),)),
        # The Heaviside step, h at a = 0 (numpy's heaviside): the language's
        # one piecewise function, in which the rules of relu, min and max
        # print. d/dh is 1 at a = 0 and 0 elsewhere, written as a step too.
        Op("step", 2, np.heaviside,
           (lambda m, out, a, h: 0.0, lambda m, out, a, h: m.step(-m.abs(a), 1.0)),
           kink=Kink(el.step_kink, "d/da step(a, h) = 0 at a = 0", fixed=((0, el.never),)),
           edges=lambda out, a, h: (a,)),
        # out*(1 - out) cancels, and is 0 once sigmoid rounds to 1. Numbers
        # take forms that keep a subnormal slope (see el.sigmoid_slope);
        # formulas print the sigmoids.
        Op("sigmoid", 1, el.sigmoid, (el.sigmoid_slope,),
           printed=(lambda m, out, a: out * m.sigmoid(-a),)),
        Op("softplus", 1, el.softplus, (el.softplus_slope,),
           printed=(lambda m, out, a: m.sigmoid(a),)),
        Op("erf", 1, el.erf, (el.erf_slope,),
           printed=(lambda m, out, a: 2.0 / m.sqrt(m.named("pi", math.pi)) * m.exp(-(a * a)),)),
        # Functions of two or more arguments.
        Op("atan2", 2, np.arctan2,
           (lambda m, out, y, x: el.over_hypot_squared(m, x, y, x),
            lambda m, out, y, x: el.over_hypot_squared(m, -y, y, x)),
           edges=el.edge_of_atan2),
        Op("hypot", 2, np.hypot,
           (lambda m, out, a, b: m.where(m.equal(out, 0.0), 0.0, a / out),
            lambda m, out, a, b: m.where(m.equal(out, 0.0), 0.0, b / out)),
           kink=Kink(el.hypot_at_origin, "the gradient of hypot at (0, 0) is (0, 0)",
                     second="its second derivatives do not exist there (they grow as 1/hypot)"),
           edges=lambda out, a, b: (el.edge_at_origin(a, b),)),
        Op("min", None, el.minimum, (lambda m, out, args, index: m.tie_share(out, args, index),),
           kink=Kink(el.is_tie, _TIES), node_once=True, edges=el.edges_of_extremum(np.minimum),
           printed=(el.tie_share_printed(-1.0),)),
        Op("max", None, el.maximum, (lambda m, out, args, index: m.tie_share(out, args, index),),
           kink=Kink(el.is_tie, _TIES), node_once=True, edges=el.edges_of_extremum(np.maximum),
           printed=(el.tie_share_printed(1.0),)),
    ]
}  # fmt: skip

# Their values; the graph keeps their names too, so that formulas print them.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _function_index() -> dict[str, dict[int | None, Op]]:
    index: dict[str, dict[int | None, Op]] = {}
    for op in OPS.values():
        for spelling in op.spellings:
            index.setdefault(spelling, {})[op.arity] = op
    return index


# The language's function names, each to its ops by arity (log has two).
FUNCTIONS: dict[str, dict[int | None, Op]] = _function_index()
RESERVED: frozenset[str] = frozenset(FUNCTIONS) | frozenset(CONSTANTS)


def function_for(name: str, argument_count: int) -> Op | None:
    """The op that ``name(...)`` with ``argument_count`` arguments denotes."""
    by_arity = FUNCTIONS.get(name, {})
    return by_arity.get(argument_count) or (by_arity.get(None) if argument_count >= 1 else None)


# The rule namespaces over numbers (see cgrad.namespaces): numpy's walk,
# kink tests at one point of Python floats, and rules on Python floats.
_FORWARDS = {op.name: op.forward for op in OPS.values()}
NUMERIC = numeric_namespace(_FORWARDS)
POINT_TESTS = point_tests_namespace(_FORWARDS)
FLOATS = floats_namespace(
    _FORWARDS, {op.name: op.exact_on_floats for op in OPS.values() if op.exact_on_floats}
)
# The same by forward function, for the engine's forward steps on floats.
EXACT_ON_FLOATS: dict[Callable[..., Any], Callable[..., Any]] = {
    op.forward: op.exact_on_floats for op in OPS.values() if op.exact_on_floats is not None
}
