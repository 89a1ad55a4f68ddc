"""Terms and factors as :mod:`cgrad.symbolic.refining` rewrites them: a
term is a coefficient and its factors, each factor a base with its
exponent, keyed by the base's id. These helpers multiply factors, collect
terms and find what terms have in common; each works in one pass."""

from __future__ import annotations

import math

from ..autodiff.graph import CONSTANT
from .forms import (
    SMALL,
    Number,
    Product,
    exact_power,
    is_integer,
    number,
    too_big_to_raise,
    whole,
)
from .nodes import Sym

# (coefficient, factors): a term as it is refined, its factors by base id.
Term = tuple[Number, dict[int, list]]

# Exponents this large stay inside their power node (as canonical forms keep them).
LARGEST_EXPONENT = 2**31
PRODUCT_OPS = ("mul", "div", "neg", "pow", "sqrt")


def merge(made_from: dict, factors: dict[int, list], coef: Number, node: Sym, power) -> Number:
    """``factors`` times ``node^power`` in place (a product's factors
    taken in where ``power`` is whole); returns the new coefficient."""
    form = made_from.get(node.id)
    if node.op == CONSTANT and node.name is None and node.value is not None and is_integer(power):
        value = number(node.value)
        if value == 0 and power > 0:
            return 0 * coef  # a numerator that came to 0: the product is 0
        raised = raised_number(value, power) if value != 0 else None
        if raised is not None:
            return coef * raised
    # A long product stays one factor, as canonical forms keep it (a binding
    # that its users share, rather than a copy in each).
    if (
        isinstance(form, Product)
        and node.op in PRODUCT_OPS
        and is_integer(power)
        and len(form.factors) <= SMALL
        and not too_big_to_raise(form.coef, power)
        and all(abs(e * power) <= LARGEST_EXPONENT for _, e in form.factors.values())
    ):
        raised = raised_number(form.coef, power)
        if raised is not None:
            for key, (base, exponent) in form.factors.items():
                add_power(factors, key, base, exponent * power)
            return coef * raised
    add_power(factors, node.id, node, power)
    return coef


def raised_number(value: Number, power) -> Number | None:
    """``value ** power`` for a whole ``power``, or None where that is no
    number (a float past the largest, a zero to a negative power)."""
    if value == 1:
        return whole(value)
    scaled = number(value) if isinstance(value, float) else value
    if too_big_to_raise(scaled, power):
        return None
    try:
        raised = exact_power(scaled, int(power))
    except (OverflowError, ZeroDivisionError):
        return None
    if isinstance(raised, float) and not math.isfinite(raised):
        return None
    return raised


def add_power(factors: dict[int, list], key: int, base: Sym, power) -> None:
    total = factors.get(key, [base, 0])[1] + power
    if total == 0:
        factors.pop(key, None)
    else:
        factors[key] = [base, total]


def times(a: dict[int, list], b: dict[int, list]) -> dict[int, list]:
    product = dict(a)
    for key, (base, exponent) in b.items():
        add_power(product, key, base, exponent)
    return product


def collected(const: Number, terms: list[Term]) -> tuple[Number, list[Term]]:
    """Terms with the same factors added up; those that come to 0 dropped."""
    by_key: dict[tuple, list] = {}
    for coef, factors in terms:
        if not factors:
            const += coef
            continue
        key = tuple(sorted((k, e) for k, (_, e) in factors.items()))
        entry = by_key.setdefault(key, [0, factors])
        entry[0] += coef
    return const, [(c, f) for c, f in by_key.values() if c != 0]


def common_factor(const: Number, terms: list[Term]) -> tuple[dict[int, list], Number]:
    """The factors every term has (each to its smallest power, all powers of
    one sign) and the whole numbers' greatest common divisor."""
    common: dict[int, list] = {}
    if const == 0 and len(terms) > 1:
        common = {k: [b, e] for k, (b, e) in terms[0][1].items()}
        for _, factors in terms[1:]:
            for key in list(common):
                entry = factors.get(key)
                mine = common[key][1]
                # A denominator is taken out only where it is every term's
                # whole denominator: cos(x)/x - sin(x)/x^2 stays as it is.
                if entry is None or (entry[1] > 0) != (mine > 0) or (mine < 0 and entry[1] != mine):
                    del common[key]
                elif abs(entry[1]) < abs(mine):
                    common[key] = [common[key][0], entry[1]]
            if not common:
                break
    coefficients = [c for c, _ in terms] + ([const] if const != 0 else [])
    content: Number = 1
    if len(coefficients) > 1 and all(is_integer(c) for c in coefficients):
        content = math.gcd(*(int(c) for c in coefficients))
        if all(c < 0 for c in coefficients):
            content = -content
        if content == -1 and not common:
            content = 1
    return common, content


def without(factors: dict[int, list], common: dict[int, list]) -> dict[int, list]:
    rest = dict(factors)
    for key, (base, exponent) in common.items():
        add_power(rest, key, base, -exponent)
    return rest


def is_number(node: Sym) -> bool:
    """Whether ``node`` is a number (not pi or e, not NaN)."""
    return node.op == CONSTANT and node.name is None and node.value == node.value


def holds_infinity(root: Sym) -> bool:
    """Whether a number over 0 (an infinity, or NaN) is in ``root``."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        if node.op == "div" and node.operands[1].is_constant(0.0):
            return True
        stack.extend(node.operands)
    return False


def sign_test(node: Sym) -> bool:
    """Whether ``node`` is ``step(a - b, h)``: a test of a against b, whose
    a and b are kept apart so that a tie is exactly 0."""
    return node.op == "step" and bool(node.operands) and node.operands[0].op == "sub"
