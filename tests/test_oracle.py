"""Random programs against sympy, and cgrad's modes against each other.

A hypothesis strategy writes cgrad program text and, in parallel, the sympy
expression that the text means. The text is written with as few parentheses
as the documented precedence allows (plus some redundant ones), so the parser's
reading of ``-x^2``, ``a^b^c``, ``a - b - c`` or ``a / b * c`` is checked by
the oracle too, not only the derivative rules.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, reject, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff.passes import plan as plan_for
from cgrad.ops import FUNCTIONS, NUMERIC, OPS

# t1 and t2 are the names symbolic printing gives its bindings when no
# input has them: a derivative of a program in t1 and t2 must pick others.
NAMES = ("x", "t1", "t2")
SYMBOLS = {name: sp.Symbol(name, real=True) for name in NAMES}

# Binding strengths of the grammar, loosest first.
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 10

NON_FINITE = (sp.zoo, sp.nan, sp.oo, -sp.oo)


@dataclass(frozen=True)
class Term:
    """A piece of program text and what it means.

    ``sym`` is None when the caller did not ask for sympy (the tests that
    compare cgrad with itself do not pay for it).
    """

    text: str
    sym: sp.Expr | None
    prec: int = ATOM
    # The input names in the order the text mentions them.
    names: tuple[str, ...] = ()
    # Expressions whose sign picks a branch (abs, sign, relu, max, cbrt, a
    # divisor or base that may be 0). Near zero, a rounding error in cgrad's
    # float64 argument can pick the other branch than the exact value does.
    switches: tuple[sp.Expr, ...] = ()
    # (y, x) of every atan2, which jumps by 2*pi across y = 0 for x < 0.
    cuts: tuple[tuple[sp.Expr, sp.Expr], ...] = ()


def combine(
    text: str,
    prec: int,
    parts: tuple[Term, ...],
    meaning: Callable[..., sp.Expr],
    switches: Callable[..., tuple[sp.Expr, ...]] | None = None,
    cuts: Callable[..., tuple[tuple[sp.Expr, sp.Expr], ...]] | None = None,
) -> Term:
    syms = [part.sym for part in parts]
    symbolic = all(s is not None for s in syms)
    sym = meaning(*syms) if symbolic else None
    # 1/(x - x) is zoo to sympy before any point is chosen, and sympy
    # refuses to compare zoo in max(); cgrad would give NaN, which the tests
    # reject anyway.
    if sym is not None and sym.has(*NON_FINITE):
        reject()
    return Term(
        text,
        sym,
        prec,
        sum((part.names for part in parts), ()),
        sum((part.switches for part in parts), ())
        + (switches(*syms) if switches and symbolic else ()),
        sum((part.cuts for part in parts), ()) + (cuts(*syms) if cuts and symbolic else ()),
    )


def fit(term: Term, prec: int) -> Term:
    """``term`` as an operand that needs at least ``prec`` binding strength."""
    return term if term.prec >= prec else parenthesize(term)


def parenthesize(term: Term) -> Term:
    return combine(f"({term.text})", ATOM, (term,), lambda a: a)


def number(text: str, value: sp.Expr, symbolic: bool) -> Term:
    return Term(text, value if symbolic else None)


class real(sp.Function):  # noqa: N801 - reads as a sympy function
    """The identity on real numbers, which sympy is told are real.

    sympy differentiates Abs, sign and Max only when it can tell their
    argument is real, and it cannot for asin(3*tanh(x)/4) and the like; re()
    would do, but expands products into re/im parts and slows diff down.
    """

    @classmethod
    def eval(cls, a):
        if a.is_number or a.is_extended_real:
            return a
        return None

    def _eval_is_extended_real(self):
        return True

    def fdiff(self, argindex=1):
        return sp.Integer(1)


def _real(a: sp.Expr) -> sp.Expr:
    return real(a)


def _pairwise_differences(*args: sp.Expr) -> tuple[sp.Expr, ...]:
    return tuple(a - b for i, a in enumerate(args) for b in args[i + 1 :])


# name: (precedence, left needs, right needs, meaning)
INFIX: dict[str, tuple[int, int, int, Callable[..., sp.Expr]]] = {
    "+": (SUM, SUM, PRODUCT, operator.add),
    "-": (SUM, SUM, PRODUCT, operator.sub),
    "*": (PRODUCT, PRODUCT, UNARY, operator.mul),
    "/": (PRODUCT, PRODUCT, UNARY, operator.truediv),
    # The base of a power is an atom, the exponent a unary (so 2^-x, and
    # a^b^c is a^(b^c)).
    "^": (POWER, ATOM, UNARY, operator.pow),
    "**": (POWER, ATOM, UNARY, operator.pow),
}


def infix(symbol: str, a: Term, b: Term, space: str = " ", switches=None) -> Term:
    prec, left, right, meaning = INFIX[symbol]
    a, b = fit(a, left), fit(b, right)
    return combine(f"{a.text}{space}{symbol}{space}{b.text}", prec, (a, b), meaning, switches)


def prefix(symbol: str, a: Term) -> Term:
    a = fit(a, UNARY)
    meaning = operator.neg if symbol == "-" else operator.pos
    return combine(f"{symbol}{a.text}", UNARY, (a,), meaning)


def _cbrt(a: sp.Expr) -> sp.Expr:
    a = _real(a)
    return sp.sign(a) * sp.Abs(a) ** sp.Rational(1, 3)


# Function name: (meaning, switches). Every name the language has, so that
# a function added to cgrad fails test_generator_knows_every_function until
# the oracle learns what it means.
FUNCTION_MEANINGS: dict[str, tuple[Callable[..., sp.Expr], Callable[..., tuple] | None]] = {
    "sin": (sp.sin, None),
    "cos": (sp.cos, None),
    "tan": (sp.tan, None),
    "asin": (sp.asin, None),
    "acos": (sp.acos, None),
    "atan": (sp.atan, None),
    "sinh": (sp.sinh, None),
    "cosh": (sp.cosh, None),
    "tanh": (sp.tanh, None),
    "asinh": (sp.asinh, None),
    "acosh": (sp.acosh, None),
    "atanh": (sp.atanh, None),
    "exp": (sp.exp, None),
    "expm1": (lambda a: sp.exp(a) - 1, None),
    "log": (lambda a, b=None: sp.log(a) if b is None else sp.log(a) / sp.log(b), None),
    "ln": (sp.log, None),
    "log2": (lambda a: sp.log(a) / sp.log(2), None),
    "log10": (lambda a: sp.log(a) / sp.log(10), None),
    "log1p": (lambda a: sp.log(1 + a), None),
    # sqrt's slope at 0 is a convention (inf), and a positive argument may
    # still round or underflow to 0 (sigmoid(-800)).
    "sqrt": (sp.sqrt, lambda a: (a,)),
    "cbrt": (_cbrt, lambda a: (a,)),
    "abs": (lambda a: sp.Abs(_real(a)), lambda a: (a,)),
    "sign": (lambda a: sp.sign(_real(a)), lambda a: (a,)),
    "relu": (lambda a: sp.Max(0, _real(a)), lambda a: (a,)),
    # (sympy's Heaviside(a, h) leaves d/dh unevaluated.)
    "step": (
        # No Piecewise: sympy's rewriting of its condition raises KeyError on
        # some arguments (its sets handlers). The oracle's points are generic,
        # so an argument that is not a number is never exactly 0 there.
        lambda a, h: (h if a == 0 else sp.Heaviside(a)) if a.is_number else sp.Heaviside(_real(a)),
        lambda a, h: (a,),
    ),
    "sigmoid": (lambda a: 1 / (1 + sp.exp(-a)), None),
    "softplus": (lambda a: sp.log(1 + sp.exp(a)), None),
    "erf": (sp.erf, None),
    "pow": (operator.pow, None),
    "atan2": (sp.atan2, None),
    # The gradient of hypot turns on the direction of (a, b), which rounding
    # scrambles near the origin.
    "hypot": (lambda a, b: sp.sqrt(a**2 + b**2), lambda a, b: (sp.sqrt(a**2 + b**2),)),
    "min": (lambda *args: sp.Min(*map(_real, args)), _pairwise_differences),
    "max": (lambda *args: sp.Max(*map(_real, args)), _pairwise_differences),
}


def call(function: str, *args: Term, switches=None) -> Term:
    meaning, own_switches = FUNCTION_MEANINGS[function]
    return combine(
        f"{function}({', '.join(arg.text for arg in args)})",
        ATOM,
        args,
        meaning,
        switches or own_switches,
        (lambda y, x: ((y, x),)) if function == "atan2" else None,
    )


# Functions of one argument, by the domain their argument must be kept in.
FREE = ["sin", "cos", "atan", "sinh", "cosh", "tanh", "asinh", "exp", "expm1", "erf",
        "sigmoid", "softplus", "abs", "sign", "relu", "cbrt"]  # fmt: skip
# (-1, 1): asin/acos/atanh are defined there, and tan stays far from its poles.
UNIT = ["asin", "acos", "atanh", "tan"]
POSITIVE = ["log", "ln", "log2", "log10", "log1p", "sqrt"]
ABOVE_ONE = ["acosh"]
# Functions of two or more arguments (log(a, b) here, log(a) above).
SEVERAL = ["log", "atan2", "hypot", "min", "max", "pow", "step"]

# Numbers as the lexer accepts them; all exact in binary, so that sympy's
# exact rational is the very float cgrad reads.
NUMBERS = [("2", sp.Integer(2)), ("3", sp.Integer(3)), ("0.5", sp.Rational(1, 2)),
           (".5", sp.Rational(1, 2)), ("1.5", sp.Rational(3, 2)), ("2.5e-1", sp.Rational(1, 4)),
           ("1", sp.Integer(1)), ("4.", sp.Integer(4)), ("1e0", sp.Integer(1)),
           ("pi", sp.pi), ("e", sp.E), ("1e3", sp.Integer(1000)),
           ("0.125", sp.Rational(1, 8))]  # fmt: skip
# The numbers the simplifier has rules for (0 - a is -a, 1*a is a, a^0 is
# 1...): drawn more often than the others, in every spelling, so that a
# wrong rule (0 - a printed as a) meets them.
SPECIAL = [("0", sp.Integer(0)), ("0.0", sp.Integer(0)), (".0", sp.Integer(0)),
           ("0e5", sp.Integer(0)), ("1", sp.Integer(1)), ("1.0", sp.Integer(1)),
           ("2", sp.Integer(2)), ("0.5", sp.Rational(1, 2))]  # fmt: skip
EXPONENTS = [("0", sp.Integer(0)), ("1", sp.Integer(1)), ("2", sp.Integer(2)), ("3", sp.Integer(3)),
             ("0.5", sp.Rational(1, 2)), ("1.5", sp.Rational(3, 2))]  # fmt: skip


@st.composite
def constant(draw, symbolic: bool) -> Term:
    """A number: any of NUMBERS, or one of SPECIAL, possibly negated (-1, -0)."""
    text, value = draw(st.one_of(st.sampled_from(NUMBERS), st.sampled_from(SPECIAL)))
    term = number(text, value, symbolic)
    return prefix("-", term) if draw(st.integers(0, 3)) == 0 else term


# Forms the simplifier rewrites, with the special number in every place it
# has a rule for (0 - a, a + 0, 1*a, a*-1, a/1, a^1, a^0, 0*a, --a...), each
# built term by term from ``a``, 0 and 1, so with its meaning.
IDENTITIES: dict[str, Callable[[Term, Term, Term], Term]] = {
    "0 - a": lambda a, zero, one: infix("-", zero, a),
    "0 + a": lambda a, zero, one: infix("+", zero, a),
    "a + 0": lambda a, zero, one: infix("+", a, zero),
    "a - 0": lambda a, zero, one: infix("-", a, zero),
    "0*a": lambda a, zero, one: infix("*", zero, a, ""),
    "a*0": lambda a, zero, one: infix("*", a, zero, ""),
    "-0*a": lambda a, zero, one: infix("*", prefix("-", zero), a, ""),
    "1*a": lambda a, zero, one: infix("*", one, a, ""),
    "a*1": lambda a, zero, one: infix("*", a, one, ""),
    "-1*a": lambda a, zero, one: infix("*", prefix("-", one), a, ""),
    "a*-1": lambda a, zero, one: infix("*", a, prefix("-", one), ""),
    "a/1": lambda a, zero, one: infix("/", a, one, ""),
    "a/-1": lambda a, zero, one: infix("/", a, prefix("-", one), ""),
    "a^1": lambda a, zero, one: infix("^", a, one, ""),
    "a**1": lambda a, zero, one: infix("**", a, one, ""),
    # a^0 is 1 on both sides of a = 0: no kink there, and none reported.
    "a^0": lambda a, zero, one: infix("^", a, zero, ""),
    "--a": lambda a, zero, one: prefix("-", prefix("-", a)),
    "-(a)": lambda a, zero, one: prefix("-", parenthesize(a)),
    "a - a": lambda a, zero, one: infix("-", a, a),
    "a + -a": lambda a, zero, one: infix("+", a, prefix("-", a)),
    "-a + a": lambda a, zero, one: infix("+", prefix("-", a), a),
    "a*-a": lambda a, zero, one: infix("*", a, prefix("-", a), ""),
    "0 - -a": lambda a, zero, one: infix("-", zero, prefix("-", a)),
}


@st.composite
def identity(draw, a: Term, symbolic: bool) -> Term:
    """``a`` in one of IDENTITIES, or as 0/(something positive of a)."""
    zero, one = number("0", sp.Integer(0), symbolic), number("1", sp.Integer(1), symbolic)
    form = draw(st.sampled_from([*IDENTITIES, "0/a"]))
    if form == "0/a":
        # 0/0 is NaN, which sympy's 0 does not know: a positive divisor.
        return infix("/", zero, draw(positive(a, symbolic)), "")
    return IDENTITIES[form](a, zero, one)


@st.composite
def nonnegative(draw, a: Term, symbolic: bool) -> Term:
    """An expression of ``a`` that is >= 0 everywhere and 0 where ``a`` is,
    smoothly (no kink there): a base for a^1.5, smooth at a = 0."""
    two = number("2", sp.Integer(2), symbolic)
    match draw(st.integers(0, 2)):
        case 0:
            return infix("^", a, two)
        case 1:
            return infix("*", fit(a, UNARY), fit(a, UNARY), "")
        case _:
            return infix("^", call("sin", a), two)


@st.composite
def positive(draw, a: Term, symbolic: bool) -> Term:
    """An expression of ``a`` that is positive, and accurate in float64
    relative to its size, everywhere."""
    one = number("1", sp.Integer(1), symbolic)
    match draw(st.integers(0, 7)):
        case 0:
            return infix("+", one, infix("^", a, number("2", sp.Integer(2), symbolic)))
        case 1:
            return call("exp", a)
        case 2:
            return call("cosh", a)
        case 3:
            return call("hypot", a, one)
        case 4:
            return infix("+", one, call("abs", a))
        case 5:
            return call("softplus", a)
        case 6:
            return infix("+", number("2", sp.Integer(2), symbolic), call("sin", a))
        case _:
            return call("sigmoid", a)


@st.composite
def unit(draw, a: Term, symbolic: bool) -> Term:
    """An expression of ``a`` inside [-0.875, 0.875]."""
    match draw(st.integers(0, 4)):
        case 0:
            return infix("*", number("0.75", sp.Rational(3, 4), symbolic), call("tanh", a))
        case 1:
            return infix("/", call("sin", a), number("2", sp.Integer(2), symbolic))
        case 2:
            return infix("*", number("0.5", sp.Rational(1, 2), symbolic), call("erf", a))
        case 3:
            return infix("*", call("cos", a), number("0.875", sp.Rational(7, 8), symbolic))
        case _:
            return infix("-", call("sigmoid", a), number("0.5", sp.Rational(1, 2), symbolic))


@st.composite
def above_one(draw, a: Term, symbolic: bool) -> Term:
    """An expression of ``a`` at least 1.25: acosh and a logarithm's base."""
    offset = draw(st.sampled_from([("1.25", sp.Rational(5, 4)), ("2", sp.Integer(2))]))
    return infix("+", number(*offset, symbolic), draw(positive(a, symbolic)))


@st.composite
def terms(draw, depth: int, leaves: tuple[Term, ...], guarded: bool, symbolic: bool) -> Term:
    """A random expression of nesting depth up to ``depth``.

    ``guarded`` keeps every argument inside its function's domain by
    construction (log(1 + a^2), asin(sin(a)/2), ...); unguarded text goes
    anywhere, NaN and inf included.
    """
    # Leaves get likelier deeper down; 0 is what hypothesis draws (and
    # shrinks to) most, so it means "go on", not "stop".
    if depth <= 0 or draw(st.integers(0, depth + 1)) == depth + 1:
        if draw(st.integers(0, 4)) == 0:
            return draw(constant(symbolic))
        return draw(st.sampled_from(leaves))

    def sub() -> Term:
        return draw(terms(depth - 1, leaves, guarded, symbolic))

    def keep(kind, a: Term) -> Term:
        return draw(kind(a, symbolic)) if guarded else a

    space = draw(st.sampled_from([" ", ""]))
    family = draw(
        st.sampled_from(["arithmetic", "arithmetic", "unary", "unary", "several", "identity"])
    )
    if family == "identity":
        result = draw(identity(sub(), symbolic))
    elif family == "arithmetic":
        match draw(st.sampled_from(["+", "-", "*", "/", "^", "neg", "plus", "group"])):
            case "neg":
                result = prefix("-", sub())
            case "plus":
                result = prefix("+", sub())
            case "group":
                result = parenthesize(sub())
            case "/":
                numerator, denominator = sub(), sub()
                if guarded and draw(st.integers(0, 3)) > 0:
                    result = infix("/", numerator, keep(positive, denominator), space)
                else:
                    result = infix("/", numerator, denominator, space, lambda a, b: (b,))
            case "^":
                result = draw(powers(sub, keep, space, symbolic))
            case symbol:
                result = infix(symbol, sub(), sub(), space)
    elif family == "unary":
        function = draw(st.sampled_from(FREE + UNIT + POSITIVE + ABOVE_ONE))
        argument = sub()
        if function in UNIT:
            argument = keep(unit, argument)
        elif function in POSITIVE:
            argument = keep(positive, argument)
        elif function in ABOVE_ONE:
            argument = keep(above_one, argument)
        result = call(function, argument)
    else:
        function = draw(st.sampled_from(SEVERAL))
        match function:
            case "log":
                result = call("log", keep(positive, sub()), keep(above_one, sub()))
            case "min" | "max":
                result = call(function, *[sub() for _ in range(draw(st.integers(1, 3)))])
            case "pow":
                result = draw(powers(sub, keep, space, symbolic, spelled="pow"))
            case _:
                result = call(function, sub(), sub())
    if draw(st.integers(0, 9)) == 0:
        result = parenthesize(result)
    return result


@st.composite
def powers(draw, sub, keep, space: str, symbolic: bool, spelled: str | None = None) -> Term:
    symbol = spelled or draw(st.sampled_from(["^", "**"]))
    if draw(st.booleans()):
        # A constant exponent, the common case: an integer exponent takes any
        # base, a negative one any base but 0.
        text, value = draw(st.sampled_from(EXPONENTS))
        exponent = number(text, value, symbolic)
        base = sub()
        negative = draw(st.booleans())
        if negative:
            exponent = prefix("-", exponent)
        if not value.is_integer:
            # Above 1, a base that reaches 0 smoothly: (a^2)^1.5 has no kink
            # at a = 0, and must not be said to have one.
            smooth = value > 1 and not negative and draw(st.booleans())
            base = keep(nonnegative if smooth else positive, base)
        # A base of a power below 1 and not 0 (1/2, negative) is a kink or a
        # pole at 0 (which a positive base may still round or underflow to);
        # at 0 and at or above 1 it is not, and the oracle holds cgrad to that.
        below_one = (negative and value != 0) or 0 < value < 1
        switches = (lambda a, b: (a,)) if below_one else None
    else:
        # d/db = a^b log(a) needs a > 0; a base rounded to 0 is a kink.
        base, exponent = keep(positive, sub()), sub()
        switches = lambda a, b: (a,)  # noqa: E731 - as the branch above
    if symbol == "pow":
        return call("pow", base, exponent, switches=switches)
    return infix(symbol, base, exponent, space, switches)


@dataclass(frozen=True)
class Program:
    text: str
    sym: sp.Expr | None
    inputs: tuple[str, ...]
    switches: tuple[sp.Expr, ...]
    cuts: tuple[tuple[sp.Expr, sp.Expr], ...]


@st.composite
def programs(draw, guarded: bool = True, symbolic: bool = True, depth: int = 5) -> Program:
    """An expression, or a binding and an expression that may use it."""
    names = tuple(Term(n, SYMBOLS[n] if symbolic else None, ATOM, (n,)) for n in NAMES)
    if draw(st.integers(0, 3)) > 0:
        body = draw(terms(depth, names, guarded, symbolic))
        names_in_order = tuple(dict.fromkeys(body.names))
        return Program(body.text, body.sym, names_in_order, body.switches, body.cuts)
    bound = draw(terms(depth - 2, names, guarded, symbolic))
    # Using t in the body is using the bound expression; names it mentions
    # were already mentioned by the binding.
    t = Term("t", bound.sym, ATOM, (), bound.switches, bound.cuts)
    body = draw(terms(depth - 1, names + (t,) * 2, guarded, symbolic))
    separator = draw(st.sampled_from(["; ", ";", "\n", "\n\n", " ;\n"]))
    # The body's switches include the binding's if it uses t; if it does
    # not, the binding is dead and its branches do not matter.
    return Program(
        f"t = {bound.text}{separator}{body.text}",
        body.sym,
        tuple(dict.fromkeys(bound.names + body.names)),
        body.switches,
        body.cuts,
    )


# Programs are small but sympy is slow, and the guards and assume()s throw
# away some examples: neither is a sign of trouble.
RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much]

coordinates = st.floats(-2.0, 2.0)
points = st.fixed_dictionaries({name: coordinates for name in NAMES})
# hypothesis draws 0, 1/2 and +-2 often, which suits the self-comparisons
# (kinks included) but leaves the oracle few generic points where a wrong
# slope cannot hide behind sin'(0) = 1 or a kink that gets rejected.
generic_points = st.fixed_dictionaries(
    {name: st.one_of(coordinates, st.floats(0.1, 2.0), st.floats(-2.0, -0.1)) for name in NAMES}
)


# --------------------------------------------------------------------------
# Helpers.


def finite(result: cgrad.Result) -> bool:
    """Every number finite, the intermediate ones too: exp(sinh(sinh(3)))
    overflows to inf, and log(37, 1.25 + inf) is then 0 where the exact
    value is 3e-4, with a finite result and nothing to warn about."""
    numbers = [result.value, *result.gradient.values(), *result.node_values]
    return all(np.all(np.isfinite(v)) for v in numbers if v is not None)


def magnitude(function: cgrad.Function, result: cgrad.Result) -> float:
    """How large the numbers that rounding errors are relative to can get.

    float64 rounds relative to the numbers being added, not to their sum: a
    value or a partial that is the small difference of large intermediates
    is only accurate to eps times those. For values they are the node
    values. For partials they are the products of local partials along the
    paths from the output, which both modes add up in some order: atan2(z, z)
    + z at z = 1e-142 is 1/(2z) - 1/(2z) + 1, where reverse mode gets 0 and
    forward mode 1. The sum over paths of the absolute products (a reverse
    pass with every local partial made positive) bounds every partial sum
    either mode forms. 1 is the floor: quantities near 0 are only ever
    accurate absolutely.
    """
    graph = function.graph
    values = result.node_values
    weight = [0.0] * len(graph.nodes)
    weight[graph.output] = 1.0
    with np.errstate(all="ignore"):
        for node in reversed(graph.nodes[: graph.output + 1]):
            if not weight[node.id] or not node.operands:
                continue
            op = OPS[node.op]
            arguments = [values[i] for i in node.operands]
            for position, operand in enumerate(node.operands):
                local = op.derivative(position)(NUMERIC, values[node.id], *arguments)
                weight[operand] += weight[node.id] * abs(float(local))
    numbers = [abs(float(v)) for v in values] + weight
    return max([1.0, *(n for n in numbers if math.isfinite(n))])


# Sums and differences: their rounding errors are measured by magnitude.
ADDITIVE = {"add", "sub", "neg"}
# How much of a node's value its arguments' rounding may blur before float64
# cannot know the point well enough to be judged at rel 1e-9.
BLUR = 1e-11


def well_conditioned(function: cgrad.Function, result: cgrad.Result) -> bool:
    """Whether float64 can know every node's value at this point: no op but
    a sum turns its arguments' rounding errors (eps times the numbers they
    come from, carried forward by the local partials) into a sizeable part
    of its own value. sin(sinh(sinh(-4))) fails: its argument, 3.5e11, is
    off by about 1e-4 however it is computed, and so is the sine (a sum's
    cancellation is left to magnitude, which bounds it)."""
    graph = function.graph
    values = result.node_values
    eps = np.finfo(np.float64).eps
    # Each node's error bound, in units of eps.
    error = [0.0] * len(graph.nodes)
    with np.errstate(all="ignore"):
        for node in graph.nodes[: graph.output + 1]:
            value = abs(float(values[node.id]))
            if not node.operands:
                error[node.id] = value
                continue
            op = OPS[node.op]
            arguments = [values[i] for i in node.operands]
            carried = sum(
                abs(float(op.derivative(position)(NUMERIC, values[node.id], *arguments)))
                * error[operand]
                for position, operand in enumerate(node.operands)
            )
            if not math.isfinite(carried):
                return False
            if node.op not in ADDITIVE and carried * eps > BLUR * max(1.0, value):
                return False
            error[node.id] = value + carried
    return True


# Decimal digits for sympy. Far more than float64 needs, because the oracle
# evaluates its formulas as written: softplus(-150) as log(1 + exp(-150))
# keeps its 1e-65 only with 65 digits and more to spare, and float64 reaches
# exp(-745). 400 digits cover all of that, at no great cost.
PRECISION = 400


def _collapse(expression: sp.Expr) -> sp.Expr:
    """Evaluate bottom-up, so every function sees a Float argument.

    Substituting floats into x - 6 + tan(3/4) leaves a sum sympy does not
    evaluate, and DiracDelta, Heaviside or sign of it then stay unevaluated;
    of a Float, they evaluate.
    """
    if not expression.args:
        return expression.evalf(PRECISION) if expression.is_number else expression
    rebuilt = expression.func(*(_collapse(arg) for arg in expression.args))
    return rebuilt.evalf(PRECISION) if rebuilt.is_number else rebuilt


def exact(expression: sp.Expr, at: dict[sp.Symbol, sp.Float]) -> float:
    """The value of ``expression`` at ``at``; NaN where it has none."""
    value = _collapse(sp.sympify(expression).xreplace(at))
    assert value.is_number and not value.has(sp.Derivative), f"sympy left {value}"
    if value.has(*NON_FINITE):
        return math.nan
    real, imaginary = value.as_real_imag()
    assert abs(imaginary) <= 1e-30 * max(1, abs(real)), f"complex value {value}"
    return float(real)


def sympy_point(point: dict[str, float]) -> dict[sp.Symbol, sp.Float]:
    # Float(v, PRECISION) holds the binary value of v exactly.
    return {SYMBOLS[name]: sp.Float(value, PRECISION) for name, value in point.items()}


def away_from_branches(program: Program, at: dict[sp.Symbol, sp.Float]) -> bool:
    """No branch of the program is decided by a number near zero (or NaN)."""
    # cgrad's float64 arguments are off by ~1e-16 times the intermediates
    # they come from; 1e-5 leaves those eleven orders of magnitude before a
    # rounding error could flip a sign.
    delta = 1e-5
    for switch in program.switches:
        if not abs(exact(switch, at)) > delta:
            return False
    for y, x in program.cuts:
        if not (abs(exact(y, at)) > delta or exact(x, at) > delta):
            return False
    return True


def warned_where_due(program: Program, point: dict[str, float], result: cgrad.Result) -> bool:
    """Whether the oracle can judge ``result`` at ``point``, its warnings
    checked first.

    A NaN or infinity in the value or a partial must come with a warning
    (one inside a dead binding or a constant, such as t = 1/x; x at 0, need
    not). Where every number is finite and no kink, pole or branch is near
    (``away_from_branches``), the point is smooth and there must be no
    warning at all: a false kink (x^1.5 or x^1 said to have one at 0) fails
    here instead of being thrown away. Near one, float64 may land on it or
    miss it, so the oracle cannot say what cgrad should report: the caller
    discards the case.
    """
    if not finite(result):
        outputs = [result.value, *result.gradient.values()]
        if not all(math.isfinite(v) for v in outputs):
            assert result.warnings, "a NaN or an infinity without a warning"
        return False
    if not away_from_branches(program, sympy_point(point)):
        return False
    assert not result.warnings, [w.message for w in result.warnings]
    return True


def test_generator_knows_every_function():
    # A function added to cgrad must be added to the oracle.
    assert set(FUNCTIONS) <= set(FUNCTION_MEANINGS)
    generated = set(FREE + UNIT + POSITIVE + ABOVE_ONE) | set(SEVERAL)
    assert generated == set(FUNCTIONS)


# --------------------------------------------------------------------------
# A: cgrad against sympy.


@settings(max_examples=300, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(), point=generic_points)
def test_matches_sympy(program: Program, point: dict[str, float]):
    function = cgrad.compile(program.text)
    assert function.inputs == program.inputs
    values = {name: point[name] for name in function.inputs}
    result = function.evaluate(values)
    # Kinks follow a convention sympy does not know; NaN and inf have no
    # exact counterpart to compare with. A smooth point must not warn.
    assume(warned_where_due(program, point, result))
    assume(well_conditioned(function, result))
    at = sympy_point(point)

    # rel 1e-9 leaves room for ~10^6 roundings of eps = 2.2e-16 compounding
    # through a few dozen ops with modest condition numbers; the absolute
    # floor is the same 1e-9 relative to the largest intermediate (see
    # magnitude): cancellation loses digits relative to that, not to the
    # result.
    tolerance = 1e-9 * magnitude(function, result)
    expected = exact(program.sym, at)
    assert math.isclose(result.value, expected, rel_tol=1e-9, abs_tol=tolerance), (
        f"value {result.value!r} != {expected!r}"
    )
    for name in NAMES:
        expected = exact(sp.diff(program.sym, SYMBOLS[name]), at)
        # An input the text never mentions has no entry, and a zero slope.
        actual = result.gradient.get(name, 0.0)
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=tolerance), (
            f"d/d{name} {actual!r} != {expected!r}"
        )


# --------------------------------------------------------------------------
# B: reverse mode against forward mode.


@settings(max_examples=300, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(symbolic=False), point=points, data=st.data())
def test_reverse_mode_equals_forward_mode(
    program: Program, point: dict[str, float], data: st.DataObject
):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    reverse = function.evaluate(values)
    forward = function.evaluate(values, mode="forward")
    # Asking for some partials prunes both passes; those it gives must be
    # the very numbers of the full passes (NaN included).
    wrt = data.draw(st.lists(st.sampled_from(function.inputs), unique=True)) if values else []
    for mode, full in (("reverse", reverse), ("forward", forward)):
        some = function.evaluate(values, wrt=wrt, mode=mode)
        assert set(some.gradient) == set(wrt)
        for name in wrt:
            assert np.array_equal(some.gradient[name], full.gradient[name], equal_nan=True), mode
    # Past an overflow the two orders of multiplying the same partials can
    # differ in which product reaches inf first; only finite results are
    # comparable. Kinks stay in: both modes must apply the same convention.
    assume(finite(reverse) and finite(forward))
    assert forward.value == reverse.value
    assert forward.warnings == reverse.warnings
    assert set(forward.gradient) == set(reverse.gradient) == set(function.inputs)
    # The same partials multiplied and summed in another order: a few eps
    # per op, and never more than eps relative to the largest intermediate.
    tolerance = 1e-12 * magnitude(function, reverse)
    for name in function.inputs:
        assert math.isclose(
            forward.gradient[name], reverse.gradient[name], rel_tol=1e-12, abs_tol=tolerance
        ), name


# --------------------------------------------------------------------------
# C: many points at once against one at a time.


@settings(max_examples=100, deadline=None, suppress_health_check=RELAXED)
@given(
    program=programs(guarded=False, symbolic=False, depth=4),
    columns=st.lists(points, min_size=2, max_size=5),
    mode=st.sampled_from(["reverse", "forward"]),
)
def test_vectorised_equals_pointwise(program: Program, columns: list[dict[str, float]], mode: str):
    # Unguarded: NaN and inf at some points must stay at those points.
    function = cgrad.compile(program.text)
    assume(function.inputs)
    arrays = {name: np.array([p[name] for p in columns]) for name in function.inputs}
    batch = function.evaluate(arrays, mode=mode)
    count = len(columns)
    assert np.shape(batch.value) == (count,)
    any_warning = False
    for i, point in enumerate(columns):
        values = {name: point[name] for name in function.inputs}
        single = function.evaluate(values, mode=mode)
        any_warning = any_warning or bool(single.warnings)
        # numpy's loops over arrays may round differently from one element
        # at a time (SIMD pow differs by an ulp), and an ulp can grow through
        # cancellation: the tolerance of test B. NaN and inf must match
        # exactly.
        tolerance = 1e-12 * magnitude(function, single)
        pairs = [("value", batch.value[i], single.value)]
        assert set(batch.gradient) == set(single.gradient)
        for name, slope in single.gradient.items():
            assert np.shape(batch.gradient[name]) == (count,)
            pairs.append((name, batch.gradient[name][i], slope))
        for what, many, one in pairs:
            if math.isfinite(one):
                assert math.isclose(many, one, rel_tol=1e-12, abs_tol=tolerance), what
            else:
                assert np.array_equal(many, one, equal_nan=True), what
    # A problem at any one point is reported for the batch, and only then.
    assert bool(batch.warnings) == any_warning


# --------------------------------------------------------------------------
# D: a kink that the point lands on is reported, with its convention.

# The slope each wrapper's convention gives at its kink, relative to the
# program's own gradient: abs, relu and sign have slope 0 there, and a tie
# of two arguments gives each half.
KINK_WRAPPERS = {"abs": 0.0, "relu": 0.0, "sign": 0.0, "max": 0.5, "min": 0.5}


def with_kink_at(text: str, wrapper: str, level: float) -> str:
    """``text`` with its last statement E made ``wrapper(E - level)`` (or
    ``wrapper(E, level)``), which is at its kink where E is ``level``."""
    last = re.split(r"[;\n]", text)[-1]
    before = text[: len(text) - len(last)]
    if KINK_WRAPPERS[wrapper] == 0.0:
        return f"{before}{wrapper}(({last}) - ({level!r}))"
    return f"{before}{wrapper}({last}, {level!r})"


@settings(max_examples=200, deadline=None, suppress_health_check=RELAXED)
@given(
    program=programs(symbolic=False, depth=4),
    point=points,
    wrapper=st.sampled_from(sorted(KINK_WRAPPERS)),
)
def test_a_kink_at_a_computed_zero_is_reported(program, point, wrapper):
    # E - E's own value is 0 to the last bit, whatever rounding E took:
    # the point is exactly at the kink, which must be reported (at the
    # wrapper's node) and take the documented convention.
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    inner = function.evaluate(values)
    # A kink in a constant is not reported (nothing is differentiated
    # through it), a convention times an infinite slope is NaN, and a kink
    # of the program's own would be reported too.
    needed = plan_for(function.graph).needed[function.graph.output]
    assume(needed and finite(inner) and not inner.warnings)
    wrapped = cgrad.compile(with_kink_at(program.text, wrapper, inner.value))
    result = wrapped.evaluate(values)
    kinks = [w for w in result.warnings if w.type == "kink"]
    assert [w.node for w in kinks] == [wrapped.graph.output], result.warnings
    share = KINK_WRAPPERS[wrapper]
    for name, slope in inner.gradient.items():
        assert result.gradient[name] == pytest.approx(share * slope, rel=1e-15, abs=1e-300)
