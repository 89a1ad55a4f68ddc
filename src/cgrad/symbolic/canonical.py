"""Canonical forms: a derivative formula written as a person would write it.

:func:`canonical` rewrites formula nodes (:class:`~cgrad.symbolic.nodes.Sym`)
into sums of collected terms with numeric coefficients and products of
collected factors with numeric exponents, the way SymPy's ``Add.flatten``
and ``Mul.flatten`` keep a dict of coefficient by term and exponent by
base: ``t + t`` is ``2*t``, ``a - a`` is 0, ``x*x*x`` is ``x^3``,
``x^2*x^3`` is ``x^5``, ``x/x`` is 1 and ``1/t/t`` is ``1/t^2``. Terms and
factors are put in one fixed order, made from their content (never from
the order the backward pass happened to make them), so that equal terms
meet and the two sides of a Hessian print the same.

It stays linear. The nodes are visited once, operands first, with an
explicit list (nothing recurses on the size of an expression). A node used
once hands its collected form to its user, who merges the smaller of two
forms into the larger; a form is copied into more than one user, scaled or
raised to a power only when it is small (``_SMALL`` entries), and is
otherwise one atom of its users (a node of its own, which printing binds
to a name when it is used more than once).

The rewriting holds wherever the formula it starts from is defined, the
convention the rules already follow (a rule's special points take the
general branch): ``x/x`` is 1 although ``0/0`` is not, ``sqrt(x)^2`` is
``x`` where ``sqrt(x)`` is real, and ``exp(log(a))`` is ``a`` only where
``a`` is known to be positive.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from fractions import Fraction

from ..autodiff.graph import CONSTANT, INPUT
from .nodes import Builder, Sym

Number = Fraction | float

# Forms with more entries than this are never copied, scaled or raised:
# they become atoms, so each node's form is copied at most a fixed number
# of times per user and the work stays linear in the graph.
_SMALL = 16
# Exponents this large are kept as a power node rather than multiplied out.
_LARGEST_EXPONENT = 2**31

_ARITHMETIC = ("add", "sub", "neg", "mul", "div", "pow")
# Ops whose value is positive wherever it is defined: exp(log(a)) is a.
_POSITIVE = ("exp", "cosh", "sigmoid", "softplus", "hypot")


class _Sum:
    """A sum: a constant and a coefficient per term (``terms`` maps a term
    node's id to [term, coefficient]); terms are coefficient-free."""

    __slots__ = ("const", "terms")

    def __init__(self, const: Number = 0, terms: dict | None = None) -> None:
        self.const = const
        self.terms: dict[int, list] = terms if terms is not None else {}


class _Product:
    """A product: a coefficient and an exponent per base (``factors`` maps a
    base node's id to [base, exponent])."""

    __slots__ = ("coef", "factors")

    def __init__(self, coef: Number = 1, factors: dict | None = None) -> None:
        self.coef = coef
        self.factors: dict[int, list] = factors if factors is not None else {}


def _number(value: float) -> Number:
    """A constant as an exact integer where it is one, so that ratios of
    integers stay exact (x/3 keeps its 3)."""
    if value.is_integer() and abs(value) < 2**53 and math.copysign(1.0, value) > 0:
        return Fraction(int(value))
    return value


def _is_integer(value: Number | int) -> bool:
    return isinstance(value, int) or (isinstance(value, Fraction) and value.denominator == 1)


def canonical(builder: Builder, roots: Sequence[Sym]) -> list[Sym]:
    """``roots`` in canonical form: new nodes of ``builder`` (the old ones are
    left as they are), each made with the origin of the node it rewrites."""
    return _Canonizer(builder, roots).run()


class _Canonizer:
    """One rewriting of the nodes under some roots: their forms, by old
    node id, and the nodes made from them."""

    def __init__(self, builder: Builder, roots: Sequence[Sym]) -> None:
        self.builder = builder
        self.roots = list(roots)
        self.forms: dict[int, object] = {}
        self.uses: dict[int, int] = {}
        self.made: dict[int, Sym] = {}  # old id -> its node, once made
        self.monomials: dict[int, Sym] = {}  # old id -> its term without coefficient
        self.made_from: dict[int, object] = {}  # new node id -> its form (a copy)
        self.digests: dict[int, bytes] = {}
        # Nodes a function takes as its argument: made as nodes anyway, so
        # their other users take them whole rather than a copy of their form.
        self.pinned: set[int] = set()

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
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen[node.id] = node
            for operand in node.operands:
                self.uses[operand.id] = self.uses.get(operand.id, 0) + 1
                stack.append(operand)
                if node.op not in _ARITHMETIC:
                    self.pinned.add(operand.id)
        return [seen[i] for i in sorted(seen)]  # operands are made before users

    # ----------------------------------------------------------------------
    # Forms: numbers, sums and products, made from the operands' forms.

    def _form(self, node: Sym) -> object:
        op = node.op
        if op == CONSTANT:
            assert node.value is not None
            return _number(node.value)
        if op == INPUT:
            return _Product(1, {node.id: [node, Fraction(1)]})
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
        return size <= _SMALL and node.id not in self.pinned

    def _as_sum(self, node: Sym, scale: Number = 1) -> _Sum:
        form = self.forms[node.id]
        if isinstance(form, _Sum):
            if scale == 1 and self._owned(node):
                self.forms[node.id] = None  # handed over: its user changes it
                return form
            if self._copied(node, len(form.terms)):
                terms = {k: [t, c * scale] for k, (t, c) in form.terms.items()}
                return _Sum(form.const * scale, terms)
            made = self._emit(node)
            return _Sum(0, {made.id: [made, scale]})
        if isinstance(form, _Product):
            inner = self._inner_sum(form)
            if inner is not None:  # c*(a + b) among terms: c*a + c*b
                coef = form.coef * scale
                terms = {k: [t, c * coef] for k, (t, c) in inner.terms.items()}
                return _Sum(inner.const * coef, terms)
            term = self._monomial(node)
            return _Sum(0, {term.id: [term, form.coef * scale]})
        assert isinstance(form, (Fraction, float, int))
        return _Sum(form * scale)

    def _as_product(self, node: Sym, power: Number = 1) -> _Product | None:
        """``node``^``power`` as a product, or None where that is no
        product of ``node``'s factors (a power that is not an integer)."""
        form = self.forms[node.id]
        if isinstance(form, _Sum):
            single = self._single_term(form)
            if single is None:
                made = self._emit(node)
                return _Product(1, {made.id: [made, Fraction(power)]}) if _is_integer(power) else None
            form = single
        if isinstance(form, _Product):
            if not _is_integer(power):
                return None
            if power == 1 and self._owned(node):
                self.forms[node.id] = None
                return form
            if self._copied(node, len(form.factors)):
                return self._raised(form, power)
            term = self._monomial(node)
            return self._raised(_Product(form.coef, {term.id: [term, Fraction(1)]}), power)
        assert isinstance(form, (Fraction, float, int))
        return self._raised(_Product(form), power)

    def _inner_sum(self, form: _Product) -> _Sum | None:
        """The sum ``form`` is a multiple of, where it is one and small."""
        if len(form.factors) != 1:
            return None
        ((base, exponent),) = form.factors.values()
        inner = self.made_from.get(base.id)
        if exponent == 1 and isinstance(inner, _Sum) and len(inner.terms) <= _SMALL:
            return inner
        return None

    def _single_term(self, form: _Sum) -> _Product | None:
        """The sum as a product where it has one term and no constant."""
        if form.const != 0 or len(form.terms) != 1:
            return None
        ((term, coef),) = form.terms.values()
        factors = self._factors_of(term)
        if len(factors) > _SMALL:
            return _Product(coef, {term.id: [term, Fraction(1)]})
        return _Product(coef, {k: [b, e] for k, (b, e) in factors.items()})

    def _raised(self, form: _Product, power: Number) -> _Product | None:
        try:
            coef = form.coef**power
        except (ZeroDivisionError, OverflowError):
            return None
        if isinstance(coef, complex):  # a negative number's root
            return None
        factors = {k: [b, e * power] for k, (b, e) in form.factors.items()}
        if any(abs(e) > _LARGEST_EXPONENT for _, e in factors.values()):
            return None
        return _Product(coef, factors)

    def _added(self, a: _Sum, b: _Sum) -> object:
        if len(a.terms) < len(b.terms):
            a, b = b, a
        a.const += b.const
        for key, (term, coef) in b.terms.items():
            entry = a.terms.get(key)
            if entry is None:
                a.terms[key] = [term, coef]
            else:
                entry[1] += coef
                if entry[1] == 0:
                    del a.terms[key]
        return a if a.terms else a.const

    def _negated(self, operand: Sym) -> object:
        form = self.forms[operand.id]
        if isinstance(form, _Product):
            product = self._as_product(operand)
            assert product is not None
            product.coef = -product.coef
            return product
        return self._added(self._as_sum(operand, -1), _Sum())

    def _multiplied(self, a: Sym, b: Sym) -> object:
        p, q = self._as_product(a), self._as_product(b)
        assert p is not None and q is not None  # power 1 always makes one
        return self._merged(p, q)

    def _divided(self, a: Sym, b: Sym) -> object:
        divisor = self.forms[b.id]
        p = self._as_product(a)
        q = self._as_product(b, -1) if divisor != 0 else None
        assert p is not None
        if q is None:
            made = self._emit(b)
            q = _Product(1, {made.id: [made, Fraction(-1)]})
        return self._merged(p, q)

    def _merged(self, p: _Product, q: _Product) -> object:
        if len(p.factors) < len(q.factors):
            p, q = q, p
        p.coef *= q.coef
        for key, (base, exponent) in q.factors.items():
            entry = p.factors.get(key)
            if entry is None:
                p.factors[key] = [base, exponent]
            else:
                entry[1] += exponent
                if entry[1] == 0:
                    del p.factors[key]
        if p.coef == 0 or not p.factors:
            return p.coef
        return p

    def _powered(self, a: Sym, b: Sym) -> object:
        exponent = self.forms[b.id]
        if isinstance(exponent, (Fraction, float, int)):
            power = Fraction(exponent) if math.isfinite(exponent) else None
            raised = self._as_product(a, power) if power is not None else None
            if raised is not None:
                return raised if raised.factors else raised.coef
            base = self._emit(a)
            if base.op != CONSTANT and power is not None and power == Fraction(1, 2):
                return _Product(1, {base.id: [base, power]})
            made = self.builder.apply("pow", base, self._emit(b))
        else:
            made = self.builder.apply("pow", self._emit(a), self._emit(b))
        return self._atom(made)

    def _atom(self, made: Sym) -> object:
        if made.op == CONSTANT:
            assert made.value is not None
            return _number(made.value)
        return _Product(1, {made.id: [made, Fraction(1)]})

    def _applied(self, node: Sym) -> object:
        arguments = [self._emit(a) for a in node.operands]
        (first, *_) = arguments
        if node.op == "log" and first.op == "exp":
            return self._view(first.operands[0])
        if node.op == "exp" and first.op == "log" and _positive(first.operands[0]):
            return self._view(first.operands[0])
        if node.op == "sqrt" and first.op != CONSTANT:
            return _Product(1, {first.id: [first, Fraction(1, 2)]})
        return self._atom(self.builder.apply(node.op, *arguments))

    def _view(self, made: Sym) -> object:
        """The form of a node already made, copied (its users share it)."""
        form = self.made_from.get(made.id)
        if isinstance(form, _Sum) and len(form.terms) <= _SMALL:
            return _Sum(form.const, {k: [t, c] for k, (t, c) in form.terms.items()})
        if isinstance(form, _Product) and len(form.factors) <= _SMALL:
            return _Product(form.coef, {k: [b, e] for k, (b, e) in form.factors.items()})
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
            assert isinstance(form, _Product)
            made = self._product(_Product(1, form.factors))
            self.monomials[node.id] = made
        return made

    def _made(self, form: object) -> Sym:
        if isinstance(form, _Sum):
            return self._sum(form)
        if isinstance(form, _Product):
            return self._product(form)
        assert isinstance(form, (Fraction, float, int))
        return self._constant(form)

    def _factors_of(self, term: Sym) -> dict[int, list]:
        form = self.made_from.get(term.id)
        if isinstance(form, _Product) and form.coef == 1:
            return form.factors
        return {term.id: [term, Fraction(1)]}

    def _constant(self, value: Number) -> Sym:
        constant = self.builder.constant
        if isinstance(value, Fraction) and value.denominator != 1:
            return self._node("div", constant(value.numerator), constant(value.denominator))
        value = float(value)
        if math.isfinite(value):
            return constant(value)
        # No literal for these: the division that makes them.
        top = 0.0 if math.isnan(value) else math.copysign(1.0, value)
        return self._node("div", constant(top), constant(0.0))

    def _node(self, op: str, *operands: Sym) -> Sym:
        # Made as given: the order and signs here are the canonical ones.
        return self.builder._made((op, tuple(a.id for a in operands)), op, operands)

    def _sum(self, form: _Sum) -> Sym:
        _trigonometric_ones(self, form)
        if not form.terms:
            return self._constant(form.const)
        terms = sorted(form.terms.values(), key=lambda entry: self._term_key(entry[0]))
        parts: list[tuple[Sym | None, Number]] = [(t, c) for t, c in terms]
        # The constant first (1 - 6*x^2), or last where it is negative and
        # a term is not (x - 1, not -1 + x).
        if form.const > 0 or (form.const < 0 and all(c < 0 for _, c in parts)):
            parts.insert(0, (None, form.const))
        elif form.const != 0:
            parts.append((None, form.const))
        total: Sym | None = None
        for term, coef in parts:
            if total is None:
                total = self._term(term, coef)
            elif coef < 0:
                total = self._node("sub", total, self._term(term, -coef))
            else:
                total = self._node("add", total, self._term(term, coef))
        assert total is not None
        if len(parts) > 1:
            self.made_from[total.id] = _Sum(
                form.const, {k: [t, c] for k, (t, c) in form.terms.items()}
            )
        return total

    def _term(self, term: Sym | None, coef: Number) -> Sym:
        if term is None:
            return self._constant(coef)
        if coef == 1:
            return term
        return self._product(_Product(coef, self._factors_of(term)))

    def _product(self, form: _Product) -> Sym:
        """``coef * n1 * n2 ... / (d1 * d2 ...)``: factors with positive
        exponents over those with negative ones, each group in order."""
        coef = form.coef
        if coef == 0 or not form.factors:
            return self._constant(coef)
        ordered = sorted(form.factors.values(), key=lambda entry: self._factor_key(entry[0]))
        above = [self._power(b, e) for b, e in ordered if e > 0]
        below = [self._power(b, -e) for b, e in ordered if e < 0]
        if isinstance(coef, Fraction) and coef.denominator != 1:
            below.insert(0, self.builder.constant(coef.denominator))
            coef = Fraction(coef.numerator)
        if not above:
            above = [self._constant(coef)]
        elif coef == -1:
            above[0] = self._node("neg", above[0])
        elif coef != 1:
            above.insert(0, self._constant(coef))
        top = _chain(self, above)
        made = self._node("div", top, _chain(self, below)) if below else top
        if made is not ordered[0][0]:
            self.made_from[made.id] = _Product(
                form.coef, {k: [b, e] for k, (b, e) in form.factors.items()}
            )
        return made

    def _power(self, base: Sym, exponent: Fraction) -> Sym:
        if exponent == 1:
            return base
        if exponent == Fraction(1, 2):
            return self._node("sqrt", base)
        value = float(exponent)
        power = self.builder.constant(value)
        if exponent.denominator != 1 and Fraction(value) != exponent:
            # An exponent like 1/3 that no float holds: written as a ratio.
            power = self._constant(exponent)
        return self._node("pow", base, power)

    # ----------------------------------------------------------------------
    # The order: from content, never from the order nodes were made in.

    def _factor_key(self, base: Sym, inputs_first: bool = False) -> tuple:
        # Factors by name (cos(x)*y); terms with an input's power before
        # terms with a function's (x - min(x, y)).
        if base.op == CONSTANT:
            rank, label = 0, ""
        elif base.op in ("add", "sub"):
            rank, label = 3, ""
        else:
            rank = 1 if inputs_first and base.op == INPUT else 2
            label = _label(base)
        inner = _label(base.operands[0]) if base.operands else ""
        return (rank, label, inner, self._digest(base))

    def _term_key(self, term: Sym) -> tuple:
        above: list = []
        below: list = []
        degree = [Fraction(0), Fraction(0)]
        for base, exponent in self._factors_of(term).values():
            side = 0 if exponent > 0 else 1
            degree[side] += abs(exponent)
            (above if side == 0 else below).append((self._factor_key(base, True), abs(exponent)))
        return (degree[0], sorted(above), degree[1], sorted(below))

    def _digest(self, node: Sym) -> bytes:
        """A fingerprint of ``node``'s content, the same in every run."""
        digests = self.digests
        stack = [node]
        while stack:
            top = stack[-1]
            if top.id in digests:
                stack.pop()
                continue
            missing = [a for a in top.operands if a.id not in digests]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            text = f"{top.op}|{top.value!r}|{top.name}|".encode()
            text += b"".join(digests[a.id] for a in top.operands)
            digests[top.id] = hashlib.blake2b(text, digest_size=8).digest()
        return digests[node.id]


def _label(node: Sym) -> str:
    if node.op == INPUT:
        return node.name or ""
    if node.op == CONSTANT:
        return ""
    return node.op


def _chain(canonizer: _Canonizer, parts: list[Sym]) -> Sym:
    total = parts[0]
    for part in parts[1:]:
        total = canonizer._node("mul", total, part)
    return total


def _positive(node: Sym) -> bool:
    if node.op == CONSTANT:
        return node.value is not None and node.value > 0
    return node.op in _POSITIVE


def _trigonometric_ones(canonizer: _Canonizer, form: _Sum) -> None:
    """``c*sin(a)^2 + c*cos(a)^2`` is ``c``: the terms that are one squared
    sine or cosine, paired by argument."""
    squares: dict[tuple[str, int], tuple[int, Number]] = {}
    for key, (term, coef) in form.terms.items():
        factors = canonizer._factors_of(term)
        if len(factors) == 1:
            ((base, exponent),) = factors.values()
            if exponent == 2 and base.op in ("sin", "cos"):
                squares[(base.op, base.operands[0].id)] = (key, coef)
    for (op, argument), (key, coef) in list(squares.items()):
        if op != "sin":
            continue
        other = squares.get(("cos", argument))
        if other is not None and other[1] == coef and key in form.terms:
            del form.terms[key]
            del form.terms[other[0]]
            form.const += coef
