"""THE table of operations.

Each :class:`Op` holds everything cgrad knows about one operation: how it is
written, its arity, its numpy forward function, one local-derivative rule per
argument, what happens at its kinks, and how it prints. Adding a function to
the language is one entry in ``OPS`` and nothing elsewhere: the parser reads
function names from here, the graph checks arity here, the engine runs the
rules from here.

Derivative rules are written against a math namespace ``m`` rather than numpy
directly (``m.cos(a)``, ``m.where(...)``), so that the same rule can be run on
numbers (``NUMERIC``, below) or, later, on symbolic graph nodes. A rule gets
the op's output value ``out`` as well as its arguments, so that ``exp``,
``sqrt`` and friends reuse the forward result (where that keeps the
precision: ``1 - tanh(a)^2`` does not, see the table). The forward-mode rule,
:meth:`Op.tangent`, is ``sum(rule_i * tangent_i)`` for every op: for scalar
arguments that is exactly the directional derivative, so the partials stay
the single source of truth and forward mode is the same rules applied in the
other order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import reduce
from types import SimpleNamespace

import numpy as np

# --------------------------------------------------------------------------
# The vocabulary of a table entry.


class Fixity(Enum):
    INFIX = "infix"
    PREFIX = "prefix"
    CALL = "call"


@dataclass(frozen=True, slots=True)
class Notation:
    """How an op prints: ``symbol`` and a binding strength for parentheses."""

    fixity: Fixity
    symbol: str
    precedence: int = 10
    right_associative: bool = False


# Precedences, loosest first, as in the grammar.
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 10


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

    def test(self, free: Sequence[bool]) -> Callable[..., object]:
        """The kink test when only the arguments ``free`` marks carry a
        derivative."""
        for position, narrower in self.fixed:
            if not free[position]:
                return narrower
        return self.at


Rule = Callable[..., object]


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    arity: int | None  # None: one or more arguments (min, max)
    forward: Callable[..., np.ndarray]
    # One rule per argument, each rule(m, out, *args) -> local derivative.
    # A variadic op has one rule, called as rule(m, out, *args, index=i).
    derivatives: tuple[Rule, ...]
    notation: Notation
    # Names the language uses for this op (functions only); first is canonical.
    spellings: tuple[str, ...] = ()
    kink: Kink | None = None
    # Where the op is not smooth (a kink, a pole, a domain edge):
    # edges(out, *args) gives quantities, one per edge, that are zero on it
    # and keep their sign (or stay NaN) on each side of it. A finite
    # difference is only trusted between points where every one keeps its
    # sign; see cgrad.check.differences.
    edges: Callable[..., tuple] | None = None

    def derivative(self, index: int) -> Rule:
        """The local-derivative rule for argument ``index``."""
        if self.arity is None:
            rule = self.derivatives[0]
            return lambda m, out, *args: rule(m, out, *args, index=index)
        return self.derivatives[index]

    def tangent(self, m, out, arguments, tangents):
        """Forward mode: the output's tangent from the arguments' tangents
        (None where an argument carries none), or None if none does."""
        total = None
        for position, tangent in enumerate(tangents):
            if tangent is None:
                continue
            term = self.derivative(position)(m, out, *arguments) * tangent
            total = term if total is None else total + term
        return total


# --------------------------------------------------------------------------
# Numeric forward functions that numpy lacks or gets wrong for us.


def _sigmoid(a):
    # 1/(1+exp(-a)) saturates cleanly to 0 and 1 at the extremes (exp
    # overflows to inf, 1/inf is 0) and is accurate in between.
    return 1.0 / (1.0 + np.exp(-a))


_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def _erf(a):
    # numpy has no erf; math.erf is exact to the last bit and handles inf/nan.
    result = _erf_ufunc(a)
    return (
        np.asarray(result, dtype=np.float64)
        if isinstance(result, np.ndarray)
        else np.float64(result)
    )


def _power(a, b):
    # x^2's slope is 2*x^1: no need to copy x to raise it to the power 1.
    if np.ndim(b) == 0 and b == 1.0:
        return a
    return np.power(a, b)


def _pow_kink(m, out, a, b):
    # Only a power below 1 has a kink at 0. At b = 0 it is d/db that has
    # none: 0^b jumps from inf to 1 to 0.
    return _at_zero_base(m, a, m.less(b, 1.0))


def _pow_kink_in_base(m, out, a, b):
    # b*a^(b-1) has no limit at a = 0 where b < 1, except at b = 0: a^0 is 1
    # on both sides of 0, its slope 0 on both.
    below_one = m.less(b, 1.0) & (m.less(b, 0.0) | m.less(0.0, b))
    return _at_zero_base(m, a, below_one)


def _pow_kink_in_exponent(m, out, a, b):
    # d/db = a^b*log(a) at a = 0 is 0 for b > 0 (0^b is 0 there), and a jump at b = 0.
    return _at_zero_base(m, a, m.equal(b, 0.0))


def _at_zero_base(m, a, exponent_kinks):
    # x^2 (the usual case, an exponent that is one number with no kink)
    # needs no look at x at all.
    if np.ndim(exponent_kinks) == 0 and not exponent_kinks:
        return False
    return m.equal(a, 0.0) & exponent_kinks


def _over_hypot_squared(m, numerator, y, x):
    # numerator/(x*x + y*y) without the squares, which overflow (or vanish)
    # while the quotient is still a float.
    length = m.hypot(y, x)
    return numerator / length / length


def _relu(a):
    return np.maximum(a, 0.0)


def _log_base(a, b):
    return np.log(a) / np.log(b)


def _minimum(*args):
    return reduce(np.minimum, args)


def _maximum(*args):
    return reduce(np.maximum, args)


def _tie_share(out, args, index):
    """1/n for each of the n arguments equal to ``out``, 0 for the others."""
    # Booleans would add as logical or; count in floats.
    hits = [np.equal(arg, out) * 1.0 for arg in args]
    return hits[index] / reduce(np.add, hits)


def _where(condition, chosen, otherwise):
    # A rule's condition is often one number (x^2: "is the exponent 0?"):
    # then pick the branch instead of building a whole array from it.
    if np.ndim(condition) == 0:
        return chosen if condition else otherwise
    return np.where(condition, chosen, otherwise)


def _is_tie(out, *args):
    return reduce(np.add, [np.equal(arg, out) * 1.0 for arg in args]) > 1


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


def _fn(symbol: str) -> Notation:
    return Notation(Fixity.CALL, symbol, ATOM)


def _at_zero(m, out, a):
    return m.equal(a, 0.0)


# Edges (see Op.edges): numeric only, so plain numpy.


def _edge_at_zero(out, a):
    return (a,)


def _edge_of_unit_interval(out, a):
    # (1 - a)(1 + a) rather than 1 - a*a: exact near |a| = 1.
    return ((1.0 - a) * (1.0 + a),)


def _edge_of_power(out, a, b):
    # a^b is smooth in a through 0 only for a whole exponent >= 0.
    smooth = np.equal(np.floor(b), b) & np.greater_equal(b, 0.0)
    return (np.where(smooth, 1.0, a),)


def _edge_at_origin(a, b):
    # The larger of the two in size, with its sign: it changes sign when a
    # path through the plane passes the origin (hypot(a, b) only touches 0).
    return np.where(np.abs(a) <= np.abs(b), b, a)


def _edge_of_atan2(out, y, x):
    # The branch cut (y = 0 with x < 0) and the origin.
    return (np.where(np.less(x, 0.0), y, 1.0), _edge_at_origin(y, x))


def _edges_of_extremum(better):
    """Ties of min or max: for each argument, how far it is ahead of the
    best of the others (positive for the one chosen, zero at a tie)."""

    def edges(out, *args):
        if len(args) < 2:
            return ()
        prefix = [args[0]]
        for arg in args[1:-1]:
            prefix.append(better(prefix[-1], arg))
        suffix = [args[-1]]
        for arg in reversed(args[1:-1]):
            suffix.append(better(suffix[-1], arg))
        suffix.reverse()
        others = [
            suffix[0],
            *(better(p, s) for p, s in zip(prefix[:-1], suffix[1:], strict=True)),
            prefix[-1],
        ]
        sign = 1.0 if better is np.maximum else -1.0
        return tuple(sign * (arg - other) for arg, other in zip(args, others, strict=True))

    return edges


OPS: dict[str, Op] = {
    op.name: op
    for op in [
        # Arithmetic.
        Op("add", 2, np.add,
           (lambda m, out, a, b: ONE, lambda m, out, a, b: ONE),
           Notation(Fixity.INFIX, "+", SUM)),
        Op("sub", 2, np.subtract,
           (lambda m, out, a, b: ONE, lambda m, out, a, b: MINUS_ONE),
           Notation(Fixity.INFIX, "-", SUM)),
        Op("mul", 2, np.multiply,
           (lambda m, out, a, b: b, lambda m, out, a, b: a),
           Notation(Fixity.INFIX, "*", PRODUCT)),
        Op("div", 2, np.divide,
           (lambda m, out, a, b: 1.0 / b, lambda m, out, a, b: -out / b),
           Notation(Fixity.INFIX, "/", PRODUCT), edges=lambda out, a, b: (b,)),
        Op("neg", 1, np.negative,
           (lambda m, out, a: MINUS_ONE,),
           Notation(Fixity.PREFIX, "-", UNARY)),
        # a^b: d/da is b*a^(b-1), valid for negative a, and 0 where b is 0
        # (so x^0 has slope 0 even at x = 0). d/db is only asked for when b
        # depends on an input; it is 0 where a is 0 and b >= 0, which is what
        # PyTorch's pow_backward_exponent does (the SPEC says b > 0; at
        # a = b = 0 that would give -inf, where PyTorch users expect 0).
        Op("pow", 2, _power,
           (lambda m, out, a, b: m.where(m.equal(b, 0.0), 0.0, b * m.pow(a, b - 1.0)),
            lambda m, out, a, b: m.where(m.equal(a, 0.0) & m.greater_equal(b, 0.0), 0.0, out * m.log(a))),
           Notation(Fixity.INFIX, "^", POWER, right_associative=True),
           spellings=("pow",),
           kink=Kink(_pow_kink,
                     "at a = 0 cgrad takes 0^0 = 1, d/da = b*a^(b-1) (0 where b = 0) and d/db = 0 for b >= 0",
                     fixed=((1, _pow_kink_in_base), (0, _pow_kink_in_exponent))),
           edges=_edge_of_power),
        # Trigonometry. The rules are written in the forms that keep their
        # precision over the whole domain (tests/test_precision.py holds each to
        # a few ULP of mpmath): (1 - a)*(1 + a) is exact near |a| = 1, where
        # 1 - a*a loses its digits.
        Op("sin", 1, np.sin, (lambda m, out, a: m.cos(a),), _fn("sin"), ("sin",)),
        Op("cos", 1, np.cos, (lambda m, out, a: -m.sin(a),), _fn("cos"), ("cos",)),
        Op("tan", 1, np.tan, (lambda m, out, a: 1.0 + out * out,), _fn("tan"), ("tan",),
           edges=lambda out, a: (np.cos(a),)),
        Op("asin", 1, np.arcsin, (lambda m, out, a: 1.0 / m.sqrt((1.0 - a) * (1.0 + a)),), _fn("asin"), ("asin",), edges=_edge_of_unit_interval),
        Op("acos", 1, np.arccos, (lambda m, out, a: -1.0 / m.sqrt((1.0 - a) * (1.0 + a)),), _fn("acos"), ("acos",), edges=_edge_of_unit_interval),
        Op("atan", 1, np.arctan, (lambda m, out, a: 1.0 / (1.0 + a * a),), _fn("atan"), ("atan",)),
        Op("sinh", 1, np.sinh, (lambda m, out, a: m.cosh(a),), _fn("sinh"), ("sinh",)),
        Op("cosh", 1, np.cosh, (lambda m, out, a: m.sinh(a),), _fn("cosh"), ("cosh",)),
        # 1 - tanh^2 cancels, and is 0 once tanh rounds to 1. tanh(a) is
        # 2*sigmoid(2a) - 1, and sigmoid saturates where cosh overflows: its
        # second derivative stays a number (1/cosh(a)^2's is 0*inf there).
        # hypot(a, 1) and two square roots for acosh: a*a overflows first.
        Op("tanh", 1, np.tanh, (lambda m, out, a: 4.0 * m.sigmoid(2.0 * a) * m.sigmoid(-2.0 * a),),
           _fn("tanh"), ("tanh",)),
        Op("asinh", 1, np.arcsinh, (lambda m, out, a: 1.0 / m.hypot(a, 1.0),), _fn("asinh"), ("asinh",)),
        Op("acosh", 1, np.arccosh, (lambda m, out, a: 1.0 / (m.sqrt(a - 1.0) * m.sqrt(a + 1.0)),), _fn("acosh"), ("acosh",),
           edges=lambda out, a: (a - 1.0,)),
        Op("atanh", 1, np.arctanh, (lambda m, out, a: 1.0 / ((1.0 - a) * (1.0 + a)),), _fn("atanh"), ("atanh",), edges=_edge_of_unit_interval),
        # Exponentials and logarithms. expm1(a) + 1 cancels for a < 0.
        Op("exp", 1, np.exp, (lambda m, out, a: out,), _fn("exp"), ("exp",)),
        Op("expm1", 1, np.expm1, (lambda m, out, a: m.exp(a),), _fn("expm1"), ("expm1",)),
        Op("log", 1, np.log, (lambda m, out, a: 1.0 / a,), _fn("log"), ("log", "ln"), edges=_edge_at_zero),
        Op("logb", 2, _log_base,
           (lambda m, out, a, b: 1.0 / (a * m.log(b)),
            lambda m, out, a, b: -out / (b * m.log(b))),
           _fn("log"), ("log",), edges=lambda out, a, b: (a, b, b - 1.0)),
        Op("log2", 1, np.log2, (lambda m, out, a: LOG2_E / a,), _fn("log2"), ("log2",), edges=_edge_at_zero),
        Op("log10", 1, np.log10, (lambda m, out, a: LOG10_E / a,), _fn("log10"), ("log10",), edges=_edge_at_zero),
        Op("log1p", 1, np.log1p, (lambda m, out, a: 1.0 / (1.0 + a),), _fn("log1p"), ("log1p",),
           edges=lambda out, a: (a + 1.0,)),
        # Roots: the slope at 0 is +inf by convention. sqrt(-0.0) is -0.0, and
        # 0.5/-0.0 would be -inf: abs() keeps the convention there too.
        Op("sqrt", 1, np.sqrt, (lambda m, out, a: 0.5 / m.abs(out),), _fn("sqrt"), ("sqrt",),
           kink=Kink(_at_zero, "sqrt'(0) = inf"), edges=_edge_at_zero),
        Op("cbrt", 1, np.cbrt, (lambda m, out, a: 1.0 / (3.0 * out * out),), _fn("cbrt"), ("cbrt",),
           kink=Kink(_at_zero, "cbrt'(0) = inf"), edges=_edge_at_zero),
        # Piecewise functions and their conventions at the kink.
        Op("abs", 1, np.abs, (lambda m, out, a: m.sign(a),), _fn("abs"), ("abs",),
           kink=Kink(_at_zero, "abs'(0) = 0"), edges=_edge_at_zero),
        Op("sign", 1, np.sign, (lambda m, out, a: 0.0,), _fn("sign"), ("sign",),
           kink=Kink(_at_zero, "sign'(0) = 0"), edges=_edge_at_zero),
        Op("relu", 1, _relu, (lambda m, out, a: m.sign(out),), _fn("relu"), ("relu",),
           kink=Kink(_at_zero, "relu'(0) = 0"), edges=_edge_at_zero),
        # out*(1 - out) cancels, and is 0 once sigmoid rounds to 1.
        Op("sigmoid", 1, _sigmoid, (lambda m, out, a: out * m.sigmoid(-a),), _fn("sigmoid"), ("sigmoid",)),
        Op("softplus", 1, lambda a: np.logaddexp(0.0, a), (lambda m, out, a: m.sigmoid(a),),
           _fn("softplus"), ("softplus",)),
        Op("erf", 1, _erf, (lambda m, out, a: (2.0 / math.sqrt(math.pi)) * m.exp(-(a * a)),),
           _fn("erf"), ("erf",)),
        # Functions of two or more arguments.
        Op("atan2", 2, np.arctan2,
           (lambda m, out, y, x: _over_hypot_squared(m, x, y, x),
            lambda m, out, y, x: _over_hypot_squared(m, -y, y, x)),
           _fn("atan2"), ("atan2",), edges=_edge_of_atan2),
        Op("hypot", 2, np.hypot,
           (lambda m, out, a, b: m.where(m.equal(out, 0.0), 0.0, a / out),
            lambda m, out, a, b: m.where(m.equal(out, 0.0), 0.0, b / out)),
           _fn("hypot"), ("hypot",),
           kink=Kink(lambda m, out, a, b: m.equal(out, 0.0), "the gradient of hypot at (0, 0) is (0, 0)"),
           edges=lambda out, a, b: (_edge_at_origin(a, b),)),
        Op("min", None, _minimum, (lambda m, out, *args, index: m.tie_share(out, args, index),),
           _fn("min"), ("min",),
           kink=Kink(lambda m, out, *args: m.is_tie(out, *args), "tied arguments share the slope equally (1/n each)"),
           edges=_edges_of_extremum(np.minimum)),
        Op("max", None, _maximum, (lambda m, out, *args, index: m.tie_share(out, args, index),),
           _fn("max"), ("max",),
           kink=Kink(lambda m, out, *args: m.is_tie(out, *args), "tied arguments share the slope equally (1/n each)"),
           edges=_edges_of_extremum(np.maximum)),
    ]
}  # fmt: skip

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


def arity_text(name: str) -> str:
    """How many arguments ``name`` takes, in words."""
    arities = sorted(FUNCTIONS[name], key=lambda arity: -1 if arity is None else arity)
    if arities == [None]:
        return "one or more arguments"
    words = {1: "one", 2: "two", 3: "three"}
    counts = " or ".join(words.get(arity, str(arity)) for arity in arities)
    return f"{counts} argument{'' if arities == [1] else 's'}"


# The numeric namespace that derivative rules and kink tests run against.
NUMERIC = SimpleNamespace(
    **{op.name: op.forward for op in OPS.values()},
    where=_where,
    equal=np.equal,
    less=np.less,
    greater_equal=np.greater_equal,
    tie_share=_tie_share,
    is_tie=_is_tie,
)
