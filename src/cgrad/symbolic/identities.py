"""Identities the refining of formulas applies to the terms of a sum,
where a formula would otherwise lose precision: each takes a list of terms
(see :mod:`cgrad.symbolic.terms`) and gives an equal one."""

from __future__ import annotations

from fractions import Fraction

from .forms import ONE, FormWriter, Number, Product
from .nodes import Sym
from .terms import PRODUCT_OPS, Term, merge


def sigmoids_paired(writer: FormWriter, terms: list[Term]) -> list[Term]:
    """``c*sigmoid(u) - c*sigmoid(-u)`` as ``c*tanh(u/2)``: the same number,
    without the cancellation of two values near 1/2 (the second
    derivatives of tanh and sigmoid near 0). One pass over the terms."""
    found: dict[tuple, int] = {}  # (argument's factors, its coefficient) -> term index
    for index, (_, factors) in enumerate(terms):
        argument = _sigmoid_argument(factors)
        if argument is not None:
            scale, key = _scaled(writer, argument)
            found.setdefault((key, scale), index)
    paired: dict[int, Term] = {}
    for (key, scale), index in found.items():
        other = found.get((key, -scale))
        coef = terms[index][0]
        if scale <= 0 or other is None or terms[other][0] != -coef or other in paired:
            continue
        ((sigmoid, _),) = terms[index][1].values()
        tanh = writer._node("tanh", _halved(writer, sigmoid.operands[0]))
        paired[index] = (coef, {tanh.id: [tanh, ONE]})
        paired[other] = (0, {})
    if not paired:
        return terms
    kept = (paired.get(i, term) for i, term in enumerate(terms))
    return [term for term in kept if term[0] != 0]


def _sigmoid_argument(factors: dict[int, list]) -> Sym | None:
    if len(factors) != 1:
        return None
    ((base, exponent),) = factors.values()
    return base.operands[0] if base.op == "sigmoid" and exponent == 1 else None


def _scaled(writer: FormWriter, node: Sym) -> tuple[Number, tuple]:
    """``node`` as a coefficient and the key of the rest: 2*x and -2*x
    differ only in the coefficient."""
    form = writer.made_from.get(node.id)
    if isinstance(form, Product) and node.op in PRODUCT_OPS:
        return form.coef, tuple(sorted((k, e) for k, (_, e) in form.factors.items()))
    return 1, ((node.id, ONE),)


def _halved(writer: FormWriter, node: Sym) -> Sym:
    factors: dict[int, list] = {}
    coef = merge(writer.made_from, factors, Fraction(1, 2), node, ONE)
    return writer._product(Product(coef, factors))
