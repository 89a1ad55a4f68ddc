"""Canonical forms: a derivative formula written as a person would write it.

:func:`canonical` rewrites formula nodes (:class:`~cgrad.symbolic.nodes.Sym`)
into sums of collected terms with numeric coefficients and products of
collected factors with numeric exponents, as SymPy's ``Add.flatten`` and
``Mul.flatten`` do: ``t + t`` is ``2*t``, ``a - a`` is 0, ``x*x*x`` is ``x^3``,
``x^2*x^3`` is ``x^5``, ``x/x`` is 1 and ``1/t/t`` is ``1/t^2``. Terms and
factors are put in one fixed order, made from their content (never from
the order the backward pass happened to make them), so that equal terms
meet and the two sides of a Hessian print the same.

It stays linear. The nodes are visited once, operands first, with an
explicit list (nothing recurses on the size of an expression). A node used
once hands its collected form to its user, who merges the smaller of two
forms into the larger; a form is copied into more than one user, scaled or
raised to a power only when it is small (:data:`~cgrad.symbolic.forms.SMALL`
entries), and is otherwise one atom of its users (a node of its own, which
printing binds to a name when it is used more than once). Among the terms
of a sum, a product of a few short factors and one small sum is spread
over it (``2*x*(y - x^2)`` is ``2*x*y - 2*x^3``), a bounded copy too, so
that products of sums meet whichever way the backward pass made them.

The rewriting holds wherever the formula it starts from is defined, the
convention the rules already follow (a rule's special points take the
general branch): ``x/x`` is 1 although ``0/0`` is not, ``sqrt(x)^2`` is
``x`` where ``sqrt(x)`` is real, ``exp(log(a))`` is ``a`` only where ``a``
is known to be positive.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from fractions import Fraction

from ..autodiff.graph import CONSTANT, INPUT
from . import forms
from .forms import ONE, SMALL, FormWriter, Number, Product, Sum, is_integer, number, whole
from .nodes import Builder, Sym
from .refining import Refiner
from .terms import LARGEST_EXPONENT as _LARGEST_EXPONENT  # kept as a power node beyond it
from .terms import sign_test

# A sum is spread over a product of at most this many factors (itself one):
# more would copy long products into every term.
_SPREAD = 3

_ARITHMETIC = ("add", "sub", "neg", "mul", "div", "pow")
# Ops whose value is positive wherever it is defined: exp(log(a)) is a.
_POSITIVE = ("exp", "cosh", "sigmoid", "softplus", "hypot")


def canonical(builder: Builder, roots: Sequence[Sym]) -> list[Sym]:
    """``roots`` in canonical form: new nodes of ``builder`` (the old ones are
    left as they are), each made with the origin of the node it rewrites."""
    return canonical_counted(builder, roots)[0]


def canonical_counted(builder: Builder, roots: Sequence[Sym]) -> tuple[list[Sym], int]:
    """As :func:`canonical`, and the work it took (entries merged, copied
    and sorted, nodes made)."""
    # Forms are many small dicts and lists, alive until the pass ends: the
    # collector's rescans of that growing heap found nothing to free and
    # made the pass quadratic on big graphs, so it is paused (as compiling does).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        rewriting = _Canonizer(builder, roots)
        return Refiner(rewriting).run(rewriting.run()), rewriting.work
    finally:
        if was_enabled:
            gc.enable()


class _Canonizer(FormWriter):
    """One rewriting of the nodes under some roots: their forms, by old
    node id, and the nodes made from them."""

    def __init__(self, builder: Builder, roots: Sequence[Sym]) -> None:
        super().__init__(builder)
        self.roots = list(roots)
        self.forms: dict[int, object] = {}
        self.uses: dict[int, int] = {}
        self.made: dict[int, Sym] = {}  # old id -> its node, once made
        self.monomials: dict[int, Sym] = {}  # old id -> its term without coefficient
        # Nodes a function takes as its argument: made as nodes anyway, so
        # their other users take them whole rather than a copy of their form.
        self.pinned: set[int] = set()
        self._roots = not builder.guarded  # sqrt(a) as a^(1/2) (see Builder)

    def run(self) -> list[Sym]:
        order = self._reachable()
        for root in self.roots:
            self.uses[root.id] = self.uses.get(root.id, 0) + 2  # never handed over
        saved = self.builder.origin
        for node in order:
            self.builder.origin = self.builder.origins[node.id]
            self.forms[node.id] = self._form(node)
        found = []
        for root in self.roots:
            self.builder.origin = self.builder.origins[root.id]
            found.append(self._emit(root))
        self.builder.origin = saved
        return found

    def _reachable(self) -> list[Sym]:
        seen: dict[int, Sym] = {}
        stack = list(self.roots)
        uses, pinned = self.uses, self.pinned
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen[node.id] = node
            argument = node.op not in _ARITHMETIC
            for operand in node.operands:
                uses[operand.id] = uses.get(operand.id, 0) + 1
                stack.append(operand)
                if argument:
                    pinned.add(operand.id)
            if argument and sign_test(node):  # a and b kept whole: see _applied
                for side in node.operands[0].operands:
                    self.uses[side.id] = self.uses.get(side.id, 0) + 1
                    self.pinned.add(side.id)
        return [seen[i] for i in sorted(seen)]  # operands are made before users

    # ----------------------------------------------------------------------
    # Forms: numbers, sums and products, made from the operands' forms.

    def _form(self, node: Sym) -> object:
        op = node.op
        if op == CONSTANT and node.name is None:
            assert node.value is not None
            return number(node.value)
        if op in (INPUT, CONSTANT):  # an input, or a named constant (pi)
            return Product(1, {node.id: [node, ONE]})
        operands = node.operands
        if op == "add":
            return self._added(self._as_sum(operands[0]), self._as_sum(operands[1]))
        if op == "sub":
            return self._added(self._as_sum(operands[0]), self._as_sum(operands[1], -1))
        if op == "neg":
            return self._negated(operands[0])
        if op == "mul":
            return self._multiplied(operands[0], operands[1])
        if op == "div":
            return self._divided(operands[0], operands[1])
        if op == "pow":
            return self._powered(operands[0], operands[1])
        return self._applied(node)

    def _owned(self, node: Sym) -> bool:
        return self.uses.get(node.id, 0) == 1

    def _copied(self, node: Sym, size: int) -> bool:
        # One factor (sqrt(x) as x^(1/2)) is copied even when the node is
        # made anyway: sqrt(x)^2 is then x.
        return size <= 1 or (size <= SMALL and node.id not in self.pinned)

    def _as_sum(self, node: Sym, scale: Number = 1) -> Sum:
        form = self.forms[node.id]
        if isinstance(form, Sum):
            if scale == 1 and self._owned(node):
                self.forms[node.id] = None  # handed over: its user changes it
                return form
            if self._copied(node, len(form.terms)):
                self.work += len(form.terms)
                terms = {k: [t, c * scale] for k, (t, c) in form.terms.items()}
                return Sum(form.const * scale, terms)
            made = self._emit(node)
            return Sum(0, {made.id: [made, scale]})
        if isinstance(form, Product):
            spread = self._distributed(form, form.coef * scale)
            if spread is not None:
                return spread
            term = self._monomial(node)
            return Sum(0, {term.id: [term, form.coef * scale]})
        assert isinstance(form, (Fraction, float, int))
        return Sum(form * scale)

    def _as_product(self, node: Sym, power: Number = 1) -> Product | None:
        """``node``^``power`` as a product, or None where that is no
        product of ``node``'s factors (a power that is not an integer)."""
        if not is_integer(power):
            return None
        form = self.forms[node.id]
        raised = None
        if isinstance(form, Sum):
            single = self._single_term(form)  # a new form: no copy needed
            raised = self._raised(single, power) if single is not None else None
        elif isinstance(form, Product):
            if power == 1 and self._owned(node):
                self.forms[node.id] = None
                return form
            if self._copied(node, len(form.factors)):
                raised = self._raised(form, power)
            else:
                term = self._monomial(node)
                raised = self._raised(Product(form.coef, {term.id: [term, ONE]}), power)
        else:
            assert isinstance(form, (Fraction, float, int))
            raised = self._raised(Product(form), power)
        if raised is None:  # too big to multiply out: the node, whole
            made = self._emit(node)
            raised = Product(1, {made.id: [made, whole(Fraction(power))]})
        return raised

    def _distributed(self, form: Product, coef: Number) -> Sum | None:
        """``coef * r * (a + b)`` as ``coef*r*a + coef*r*b`` where the sum is
        one factor of a small product with no denominator and small itself
        (a term of a sum: products of sums then meet whichever way they
        were made, and the two sides of a Hessian print the same)."""
        if len(form.factors) > _SPREAD:
            return None
        # (The cheapest test first: most products have no sum among their factors.)
        made_from = self.made_from
        sums = [b for b, _ in form.factors.values() if isinstance(made_from.get(b.id), Sum)]
        if len(sums) != 1:
            return None  # nor are sums multiplied
        if any(e < 0 or not is_integer(e) for _, e in form.factors.values()):
            return None  # a quotient keeps its numerator whole: (x - 2)/t
        if not all(_shallow(b) for b, _ in form.factors.values() if b not in sums):
            return None  # nor is a long formula copied into each term
        inner = None
        for key, (base, exponent) in form.factors.items():
            found = self.made_from.get(base.id)
            if exponent == 1 and isinstance(found, Sum) and len(found.terms) <= SMALL:
                inner = key, found
                break
        if inner is None:
            return None
        key, found = inner
        rest = {k: [b, e] for k, (b, e) in form.factors.items() if k != key}
        spread = Sum()
        pieces = [(None, found.const), *found.terms.values()]
        for term, c in pieces:
            if c == 0:
                continue
            factors = {k: [b, e] for k, (b, e) in rest.items()}
            self.work += len(factors) + 1
            if term is not None:
                for k, (b, e) in self._factors_of(term).items():
                    total = factors.get(k, [b, 0])[1] + e
                    if total == 0:
                        factors.pop(k, None)
                    else:
                        factors[k] = [b, total]
            _accumulate(self, spread, factors, coef * c)
        return spread

    def _single_term(self, form: Sum) -> Product | None:
        """The sum as a product where it has one term and no constant."""
        if form.const != 0 or len(form.terms) != 1:
            return None
        ((term, coef),) = form.terms.values()
        factors = self._factors_of(term)
        if len(factors) > SMALL:
            return Product(coef, {term.id: [term, ONE]})
        return Product(coef, {k: [b, e] for k, (b, e) in factors.items()})

    def _raised(self, form: Product, power: Number) -> Product | None:
        if power == 1:  # a copy (most are): no number to raise
            self.work += len(form.factors)
            copied = {}
            for k, (b, e) in form.factors.items():
                if e > _LARGEST_EXPONENT or e < -_LARGEST_EXPONENT:
                    return None
                copied[k] = [b, e]
            return Product(form.coef, copied)
        if forms.too_big_to_raise(form.coef, power):
            return None  # kept as a power: raised exactly, it would not end
        try:
            coef = forms.exact_power(form.coef, int(power))
        except (ZeroDivisionError, OverflowError):
            return None
        self.work += len(form.factors)
        factors = {k: [b, whole(e * power)] for k, (b, e) in form.factors.items()}
        if any(abs(e) > _LARGEST_EXPONENT for _, e in factors.values()):
            return None
        return Product(coef, factors)

    def _added(self, a: Sum, b: Sum) -> object:
        if len(a.terms) < len(b.terms):
            a, b = b, a
        self.work += len(b.terms) + 1
        a.const += b.const
        _collect(a.terms, b.terms)
        return a if a.terms else a.const

    def _negated(self, operand: Sym) -> object:
        form = self.forms[operand.id]
        if isinstance(form, Product):
            product = self._as_product(operand)
            assert product is not None
            product.coef = -product.coef
            return product
        return self._added(self._as_sum(operand, -1), Sum())

    def _multiplied(self, a: Sym, b: Sym) -> object:
        p, q = self._as_product(a), self._as_product(b)
        assert p is not None and q is not None  # power 1 always makes one
        return self._merged(p, q)

    def _divided(self, a: Sym, b: Sym) -> object:
        divisor = self.forms[b.id]
        dividend = self.forms[a.id]
        if divisor == 0 and isinstance(dividend, (Fraction, float, int)):
            # A number over 0 is NaN or an infinity, never a coefficient 0
            # that would take the rest of a product with it.
            return forms.over_zero(float(dividend), float(divisor))
        p = self._as_product(a)
        q = self._as_product(b, -1) if divisor != 0 else None
        assert p is not None
        if q is None:
            made = self._emit(b)
            q = Product(1, {made.id: [made, -1]})
        return self._merged(p, q)

    def _merged(self, p: Product, q: Product) -> object:
        if len(p.factors) < len(q.factors):
            p, q = q, p
        self.work += len(q.factors) + 1
        p.coef *= q.coef
        _collect(p.factors, q.factors)
        if p.coef == 0 or not p.factors:
            return p.coef
        return p

    def _powered(self, a: Sym, b: Sym) -> object:
        exponent = self.forms[b.id]
        if isinstance(exponent, (Fraction, float, int)):
            power = forms.exact_exponent(exponent) if math.isfinite(exponent) else None
            raised = self._as_product(a, power) if power is not None else None
            if raised is not None:
                return raised if raised.factors else raised.coef
            base = self._emit(a)
            if (
                base.op != CONSTANT
                and power is not None
                and -_LARGEST_EXPONENT < power < _LARGEST_EXPONENT
            ):
                return Product(1, {base.id: [base, power]})  # x^0.5*x^-0.5 then meet
            made = self.builder.apply("pow", base, self._emit(b))
        else:
            made = self.builder.apply("pow", self._emit(a), self._emit(b))
        return self._atom(made)

    def _atom(self, made: Sym) -> object:
        if made.op == CONSTANT and made.name is None:
            assert made.value is not None
            return number(made.value)
        return Product(1, {made.id: [made, ONE]})

    def _applied(self, node: Sym) -> object:
        if sign_test(node):
            # step(a - b, h) asks whether a equals b: a - b is exactly 0 there
            # only if a and b are kept apart, not collected into one sum.
            a, b = node.operands[0].operands
            difference = self.builder.difference(self._emit(a), self._emit(b))
            made = self.builder.apply(node.op, difference, self._emit(node.operands[1]))
            return self._atom(made)
        arguments = [self._emit(a) for a in node.operands]
        (first, *_) = arguments
        if node.op == "log" and first.op == "exp":
            return self._view(first.operands[0])
        if node.op == "exp" and first.op == "log" and _positive(first.operands[0]):
            return self._view(first.operands[0])
        if node.op == "sqrt" and (first.op, first.name) != (CONSTANT, None) and self._roots:
            return Product(1, {first.id: [first, Fraction(1, 2)]})
        return self._atom(self.builder.apply(node.op, *arguments))

    def _view(self, made: Sym) -> object:
        """The form of a node already made, copied (its users share it)."""
        form = self.made_from.get(made.id)
        if isinstance(form, Sum) and len(form.terms) <= SMALL:
            return Sum(form.const, {k: [t, c] for k, (t, c) in form.terms.items()})
        if isinstance(form, Product) and len(form.factors) <= SMALL:
            return Product(form.coef, {k: [b, e] for k, (b, e) in form.factors.items()})
        return self._atom(made)

    # ----------------------------------------------------------------------
    # Nodes made from forms, in the canonical order.

    def _emit(self, node: Sym) -> Sym:
        """The node of ``node``'s form (made once)."""
        made = self.made.get(node.id)
        if made is None:
            form = self.forms[node.id]
            assert form is not None, "a form handed over is never made again"
            made = self._made(form)
            self.made[node.id] = made
        return made

    def _monomial(self, node: Sym) -> Sym:
        """The node of ``node``'s product form without its coefficient."""
        made = self.monomials.get(node.id)
        if made is None:
            form = self.forms[node.id]
            assert isinstance(form, Product)
            made = self._product(Product(1, form.factors))
            self.monomials[node.id] = made
        return made


def _positive(node: Sym) -> bool:
    if node.op == CONSTANT:
        return node.value is not None and node.value > 0
    return node.op in _POSITIVE


def _accumulate(canonizer: _Canonizer, total: Sum, factors: dict[int, list], coef: Number) -> None:
    """``total += coef * (the product of factors)``, in place."""
    if not factors:
        total.const += coef
        return
    made = canonizer._product(Product(1, factors))
    entry = total.terms.get(made.id)
    if entry is None:
        total.terms[made.id] = [made, coef]
    else:
        entry[1] += coef
        if entry[1] == 0:
            del total.terms[made.id]


def _shallow(node: Sym) -> bool:
    """A formula of at most 8 nodes written out (x, exp(-x^2), sin(2*x)):
    short enough to copy into each term. Looks at no more than 9 nodes."""
    stack, seen = [node], 0
    while stack:
        seen += 1
        if seen > 8:
            return False
        stack.extend(stack.pop().operands)
    return True


def _collect(into: dict[int, list], other: dict[int, list]) -> None:
    """Add ``other``'s entries ([term, coefficient] of a sum, [base,
    exponent] of a product) into ``into``'s by key; one that comes to 0 is
    dropped (x - x, x*x^-1)."""
    for key, (item, amount) in other.items():
        entry = into.get(key)
        if entry is None:
            into[key] = [item, amount]
        else:
            entry[1] += amount
            if entry[1] == 0:
                del into[key]
