"""Shorter forms of canonical formulas, each kept only where it is shorter.

After :mod:`cgrad.symbolic.canonical` has collected terms and factors,
:class:`Refiner` rewrites the result once more, node by node from the
leaves up, trying for each sum:

- its common factor taken out (``t*y + t*x*y`` is ``t*y*(1 + x)``, and
  ``3*x^2 + 3*y^2`` is ``3*(x^2 + y^2)``), as SymPy's ``factor_terms`` does;
- its terms' small sums multiplied out and collected
  (``0.5/x^1.5 + 0.5*(-1/x - 0.5*log(x)/x)/sqrt(x)`` is
  ``-0.25*log(x)/x^1.5``);
- its terms over one common denominator, the numerator multiplied out and
  collected (``1/(1 + x) - x/(1 + x)^2`` is ``1/(1 + x)^2``), as SymPy's
  ``together`` and ``cancel`` do;

and for each product, its sums replaced by their common-denominator forms
(``1/(x*(1 + y^2/x^2))`` is ``x/(x^2 + y^2)``). The shortest candidate by
operator count wins, the form as it was on a tie (``cos(x)/x - sin(x)/x^2``
stays). A product of sums standing alone is not multiplied out:
``(1 + x)*(1 - x)`` keeps its precision near 1, which ``1 - x^2`` loses.

It stays linear: each node is refined once; multiplying out and common
denominators are tried only on sums of a few terms and a few
denominators, and stop at a fixed number of terms; a common factor is
found in one pass over the terms. Nothing recurses on the size of an
expression.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autodiff.graph import CONSTANT, INPUT
from ..ops import OPS
from .forms import (
    ONE,
    SMALL,
    FormWriter,
    Number,
    Product,
    Sum,
    is_integer,
    number,
    quotient,
)
from .identities import sigmoids_paired
from .nodes import Sym, folded
from .terms import (
    PRODUCT_OPS,
    Term,
    add_power,
    collected,
    common_factor,
    holds_infinity,
    is_number,
    merge,
    raised_number,
    sign_test,
    times,
    without,
)

# Sums of more terms than this are only factored: multiplying out and
# common denominators copy every term, which is for textbook-sized sums.
_FEW_TERMS = 12
# At most this many distinct bases under a common denominator.
_FEW_DENOMINATORS = 4
# Multiplying out stops at this many terms per term.
_MOST_EXPANDED = 16
# Multiplied out, at most this many terms may be left (see _expanded).
_MOST_LEFT = 4
# The largest power of a sum multiplied out.
_LARGEST_EXPANDED_POWER = 3
# Only formulas of at most this many operators (written out as a tree)
# are rewritten: the count ignores what bindings share, so on bigger ones
# a shorter tree can be a bigger graph, and textbook formulas are small.
_LARGEST_REFINED = 100
# Formulas of more operators than this (written out as a tree) are not
# rewritten at all.
_LARGEST_FORMULA = 5000
# Operator counts saturate here: only comparisons of small ones matter.
_SIZE_CAP = 10**9
_SUM_OPS = ("add", "sub")


class Refiner:
    """One refining of the nodes under some roots, made by ``writer``."""

    def __init__(self, writer: FormWriter) -> None:
        self.writer = writer
        self.made_from = writer.made_from
        self.mapped: dict[int, Sym] = {}  # canonical node id -> refined node
        # Refined sum node id -> the factors of its common-denominator form,
        # for the products it is a factor of.
        self.quotients: dict[int, tuple[Number, dict[int, list]]] = {}
        self.sizes: dict[int, int] = {}
        self.forms: dict[int, object] = {}  # canonical node id -> its form

    def run(self, roots: Sequence[Sym]) -> list[Sym]:
        builder = self.writer.builder
        saved = builder.origin
        # A formula far past textbook size is left as canonical forms wrote
        # it: rewriting its parts costs the sharing of its bindings, which
        # compounds order after order.
        # So is one with a number past the floats in it (1/0): collected
        # with another, it would make 0/0 of a formula that is only infinite.
        kept = []
        for root in roots:
            if _larger_than(root, _LARGEST_FORMULA) or holds_infinity(root):
                self.mapped[root.id] = root
            else:
                kept.append(root)
        for node in self._order(kept):
            # What is made for a node comes from where that node came from.
            builder.origin = builder.origins[node.id]
            self.mapped[node.id] = self._refined(node)
        found = []
        for root in roots:
            made = self.mapped[root.id]
            if made.is_constant(0.0):  # a slope that is 0 everywhere is 0, not -0
                builder.origin = builder.origins[root.id]
                made = builder.constant(0.0)
            found.append(made)
        builder.origin = saved
        return found

    def _children(self, node: Sym) -> list[Sym]:
        # Kept as it is now: refining makes nodes, and a node made again
        # gets the form it was made from this time.
        form = self.forms[node.id] = self.made_from.get(node.id)
        if self._size(node) > _LARGEST_REFINED:
            # Too big to rewrite: rebuilt as it is, with its parts refined.
            form = self.forms[node.id] = None
        if isinstance(form, Sum) and node.op in _SUM_OPS:
            return [term for term, _ in form.terms.values()]
        if isinstance(form, Product) and node.op in PRODUCT_OPS:
            return [base for base, _ in form.factors.values()]
        if sign_test(node):  # step(a - b, h): a and b kept apart
            return [*node.operands[0].operands, *node.operands[1:]]
        return list(node.operands)

    def _order(self, roots: Sequence[Sym]) -> list[Sym]:
        """The nodes under ``roots``, each after the nodes it is made of (in
        post-order: a node's form can name parts made after the node, when
        an equal formula was made again later)."""
        order: list[Sym] = []
        state: dict[int, bool] = {}  # False: being visited, True: done
        stack: list[tuple[Sym, bool]] = [(root, False) for root in reversed(roots)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                state[node.id] = True
                order.append(node)
                continue
            if node.id in state:
                continue
            state[node.id] = False
            stack.append((node, True))
            stack.extend((child, False) for child in self._children(node) if child.id not in state)
        return order

    def _refined(self, node: Sym) -> Sym:
        form = self.forms[node.id]
        if isinstance(form, Sum) and node.op in _SUM_OPS:
            return self._sum(form)
        if isinstance(form, Product) and node.op in PRODUCT_OPS:
            return self._product(form)
        mapped = self.mapped
        if sign_test(node):
            a, b = (mapped[side.id] for side in node.operands[0].operands)
            rest = [mapped[o.id] for o in node.operands[1:]]
            if a is b and node.op == "step":  # step(a - a, h) is h
                return rest[0]
            return self.writer._node(node.op, self.writer._node("sub", a, b), *rest)
        operands = [mapped[o.id] for o in node.operands]
        if node.op == "step" and all(is_number(o) for o in operands):
            # step of numbers is a number: step(-0, 0.5) (min(x, x)) is 0.5
            values = (np.float64(o.value) for o in operands)
            return self.writer.builder.constant(float(OPS["step"].forward(*values)))
        if all(new is old for new, old in zip(operands, node.operands, strict=True)):
            return node
        return self.writer._node(node.op, *operands)

    # ----------------------------------------------------------------------
    # Products: the refined factors, and their sums over common denominators.

    def _product(self, form: Product) -> Sym:
        coef = form.coef
        factors: dict[int, list] = {}
        for base, exponent in form.factors.values():
            coef = merge(self.made_from, factors, coef, self.mapped[base.id], exponent)
        self._powers_joined(factors)
        best = self.writer._product(Product(coef, factors))
        if not any(key in self.quotients for key in factors):
            return best
        over_coef = coef
        over: dict[int, list] = {}
        for base, exponent in factors.values():
            quotient = self.quotients.get(base.id)
            raised = None
            if (
                quotient is not None
                and is_integer(exponent)
                and abs(exponent) <= _LARGEST_EXPANDED_POWER
            ):
                raised = raised_number(quotient[0], exponent)
            if quotient is None or raised is None:
                over_coef = merge(self.made_from, over, over_coef, base, exponent)
                continue
            over_coef *= raised
            parts = quotient[1]
            for part, power in parts.values():
                over_coef = merge(self.made_from, over, over_coef, part, power * exponent)
        return self._shorter(best, self.writer._product(Product(over_coef, over)))

    def _powers_joined(self, factors: dict[int, list]) -> None:
        """``x^y * x^-1`` as ``x^(y - 1)``, in place: a power with an
        exponent that is not a number takes in its base's other factor."""
        for key, (power, exponent) in list(factors.items()):
            if power.op != "pow" or exponent != 1 or power.operands[1].op == CONSTANT:
                continue
            base, symbolic = power.operands
            other = factors.get(base.id)
            if other is None or key not in factors:
                continue
            terms: list[Term] = []
            const = self._add_terms(terms, symbolic, ONE) + other[1]
            joined = self._written(*collected(const, terms))
            del factors[key], factors[base.id]
            if joined.op == CONSTANT and joined.name is None and joined.value is not None:
                add_power(factors, base.id, base, number(joined.value))
            else:
                made = self.writer._node("pow", base, joined)
                add_power(factors, made.id, made, ONE)

    # ----------------------------------------------------------------------
    # Sums: factored, multiplied out, over a common denominator.

    def _sum(self, form: Sum) -> Sym:
        const = form.const
        terms: list[Term] = []
        for term, coef in form.terms.values():
            const += self._add_terms(terms, self.mapped[term.id], coef)
        const, terms = collected(const, terms)
        best = self._written(const, terms)
        if len(terms) > _FEW_TERMS or self._size(best) > _LARGEST_REFINED:
            return best
        expanded = self._expanded(const, terms)
        if expanded is not None:
            best = self._shorter(best, self._written(*expanded))
            const, terms = expanded
        quotient = self._over_common_denominator(const, terms)
        if quotient is not None:
            scale, parts = quotient
            together = self.writer._product(Product(scale, dict(parts)))
            best = self._shorter(best, together)
            if best.op in _SUM_OPS:
                self.quotients[best.id] = quotient
        return best

    def _add_terms(self, terms: list[Term], node: Sym, coef: Number) -> Number:
        """Append ``coef * node`` to ``terms`` as terms; return its constant part."""
        form = self.made_from.get(node.id)
        if node.op == CONSTANT and node.name is None and node.value is not None:
            return coef * number(node.value)
        if isinstance(form, Product) and node.op in PRODUCT_OPS and len(form.factors) <= SMALL:
            terms.append((coef * form.coef, dict(form.factors)))
            return 0
        if isinstance(form, Sum) and node.op in _SUM_OPS and len(form.terms) <= SMALL:
            for term, inner in form.terms.values():
                terms.append((coef * inner, dict(self.writer._factors_of(term))))
            return coef * form.const
        terms.append((coef, {node.id: [node, ONE]}))
        return 0

    def _written(self, const: Number, terms: list[Term]) -> Sym:
        """The sum's node, with its common factor taken out where that is
        shorter: all of it, or all but the inputs' powers (``exp(-x^2)*(4*x^3
        - 6*x)``), with or without the numbers' common divisor."""
        best = self._plain_sum(const, terms)
        if self._size(best) > _LARGEST_REFINED:
            return best
        common, content = common_factor(const, terms)
        if not common and content == 1:
            return best
        # All the common factors first: another wins only where it is shorter.
        candidates: list[tuple[dict[int, list], Number]] = [(common, 1)]
        if len(terms) <= _FEW_TERMS:
            costly = {k: e for k, e in common.items() if e[0].op != INPUT}
            candidates.append((costly, 1))
        candidates.append((common, content))
        for factor, divisor in candidates:
            if factor or divisor != 1:
                best = self._shorter(best, self._taken_out(const, terms, factor, divisor))
        return best

    def _taken_out(
        self, const: Number, terms: list[Term], common: dict[int, list], content: Number
    ) -> Sym:
        inner: list[Term] = []
        inner_const = quotient(const, content)
        for coef, factors in terms:
            rest = without(factors, common)
            if len(rest) == 1 and next(iter(rest.values()))[1] == 1:
                # A sum left alone in a term joins the others: x + y + 2*(x - y)
                # is 3*x - y.
                ((base, _),) = rest.values()
                inner_const += self._add_terms(inner, base, quotient(coef, content))
            else:
                inner.append((quotient(coef, content), rest))
        node = self._plain_sum(*collected(inner_const, inner))
        factor = dict(common)
        coef = merge(self.made_from, factor, content, node, ONE)
        return self.writer._product(Product(coef, factor))

    def _plain_sum(self, const: Number, terms: list[Term]) -> Sym:
        if len(terms) <= _FEW_TERMS:
            terms = sigmoids_paired(self.writer, terms)
        by_monomial: dict[int, list] = {}
        for coef, factors in terms:
            monomial = self.writer._product(Product(1, factors))
            if monomial.op == CONSTANT and monomial.name is None:
                const += coef * number(monomial.value or 0.0)
                continue
            entry = by_monomial.setdefault(monomial.id, [monomial, 0])
            entry[1] += coef
        kept = {k: e for k, e in by_monomial.items() if e[1] != 0}
        return self.writer._sum(Sum(const, kept))

    def _expanded(self, const: Number, terms: list[Term]) -> tuple[Number, list[Term]] | None:
        """The terms with their small sums multiplied out, or None where
        no term has one. A factor all terms share stays a factor of each
        (12*(x - 1)^2*x^2 - 8*(x - 1)^3*x keeps its (x - 1)^2)."""
        shared: dict[int, list] = {}
        if const == 0:
            shared, _ = common_factor(0, terms)
        changed, spread = False, []
        for coef, factors in terms:
            out = self._multiplied_out(coef, without(factors, shared))
            if out is not None:
                out = [(c, times(f, shared)) for c, f in out]
            if out is None:
                spread.append((coef, factors))
            else:
                changed = True
                spread.extend(out)
        if not changed:
            return None
        # Kept only where terms meet and few are left (1 + x - x is 1,
        # x^2 + y^2 - 2*x^2 is y^2 - x^2): a polynomial multiplied out for
        # its own sake (2 + 6*x^4 - 8*x^3 for 2*(x - 1)^2*(...)) loses the
        # precision of the factored form near its roots.
        made = len(spread) + (const != 0)
        const, spread = collected(const, spread)
        left = len(spread) + (const != 0)
        if left >= made or left > _MOST_LEFT:
            return None
        return const, spread

    def _multiplied_out(self, coef: Number, factors: dict[int, list]) -> list[Term] | None:
        sums, rest, count = [], {}, 1
        for key, (base, exponent) in factors.items():
            form = self.made_from.get(base.id)
            if (
                isinstance(form, Sum)
                and base.op in _SUM_OPS
                and is_integer(exponent)
                and 0 < exponent <= _LARGEST_EXPANDED_POWER
                and len(form.terms) <= SMALL
            ):
                count *= (len(form.terms) + (form.const != 0)) ** int(exponent)
                sums.extend([form] * int(exponent))
            else:
                rest[key] = [base, exponent]
        if not sums or count > _MOST_EXPANDED:
            return None
        partial: list[Term] = [(coef, rest)]
        for form in sums:
            pieces: list[Term] = [(form.const, {})] if form.const != 0 else []
            pieces += [(c, self.writer._factors_of(t)) for t, c in form.terms.values()]
            partial = [(c1 * c2, times(f1, f2)) for c1, f1 in partial for c2, f2 in pieces]
        return partial

    def _over_common_denominator(
        self, const: Number, terms: list[Term]
    ) -> tuple[Number, dict[int, list]] | None:
        """The sum as (numerator) / (common denominator): its coefficient
        and factors, or None where no term has a denominator."""
        lowest: dict[int, list] = {}
        for _, factors in terms:
            for key, (base, exponent) in factors.items():
                if exponent < 0 and exponent < lowest.get(key, [base, 0])[1]:
                    lowest[key] = [base, exponent]
        if not lowest or len(lowest) > _FEW_DENOMINATORS:
            return None
        numerator: list[Term] = []
        for coef, factors in terms:
            raised = dict(factors)
            for key, (base, exponent) in lowest.items():
                power = raised.get(key, [base, 0])[1] - exponent
                if power == 0:
                    raised.pop(key, None)
                else:
                    raised[key] = [base, power]
            numerator.append((coef, raised))
        if const != 0:
            numerator.append((const, {k: [b, -e] for k, (b, e) in lowest.items()}))
        expanded = self._expanded(0, numerator)
        top = self._written(*(expanded or collected(0, numerator)))
        factors = {k: [b, e] for k, (b, e) in lowest.items()}
        coef = merge(self.made_from, factors, 1, top, ONE)
        return coef, factors

    # ----------------------------------------------------------------------

    def _shorter(self, best: Sym, other: Sym) -> Sym:
        return other if self._size(other) < self._size(best) else best

    def _size(self, node: Sym) -> int:
        """Operators in ``node`` written out as a tree (a count, capped)."""
        return folded(node, self.sizes, _tree_size)


def _larger_than(root: Sym, bound: int) -> bool:
    """Whether ``root`` written out as a tree has more than ``bound``
    operators: :meth:`Refiner._size` without sizing every node under a
    big formula (the walk stops past ``bound``)."""
    count, stack = 0, [root]
    while stack:
        operands = stack.pop().operands
        if operands:
            count += 1
            if count > bound:
                return True
            stack.extend(operands)
    return False


def _tree_size(node: Sym, operands: list[int]) -> int:
    return min(_SIZE_CAP, (1 if operands else 0) + sum(operands))
