"""Collected forms and the nodes made from them, in one canonical order.

A :class:`Sum` is a constant and a coefficient per term, a
:class:`Product` a coefficient and an exponent per base (SymPy's
``Add.flatten`` and ``Mul.flatten`` keep the same dicts). :class:`FormWriter`
makes formula nodes from them: terms and factors sorted by keys made from
their content (a name, an op, a fingerprint of the node), never from the
order the nodes happened to be made in, so that equal formulas are one
node; products as ``c*n1*n2/(d1*d2)``, sums with ``-`` for negative
coefficients. The identity ``c*sin(a)^2 + c*cos(a)^2 = c`` is applied as a
sum is written. Nothing here recurses on the size of an expression.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..autodiff.graph import INPUT
from .fingerprints import Fingerprints
from .labels import label, leading_name
from .nodes import Builder, Sym, as_float

# A coefficient: exact where it can be, a whole one as an int and any other
# ratio as a Fraction (see whole), else a float. An int is what most
# coefficients are, and Fraction's arithmetic and comparisons are Python
# code; but int / int and int ** -n are floats, so exact coefficients are
# divided and raised only by quotient and exact_power.
Number = Fraction | int | float
# An exponent: a whole one as an int (see ONE).
Exponent = Fraction | int

# Forms with more entries than this are never copied, scaled or raised:
# they become atoms, so each node's form is copied at most a fixed number
# of times per user and the work stays linear in the graph.
SMALL = 4
# Whole numbers below this in size are floats exactly.
_EXACT_INT = 2**53
_HALF = Fraction(1, 2)
# Exponents whose ratio has a larger denominator print as floats.
_LARGEST_PRINTED_DENOMINATOR = 1000
# The exponent of most factors. Whole exponents are kept as ints:
# comparing a Fraction with an int is Python code that asks whether the int
# is a numbers.Rational (an ABC) each time, and exponents are compared at
# every factor sorted and written.
ONE = 1


class Sum:
    """A sum: a constant and a coefficient per term (``terms`` maps a term
    node's id to [term, coefficient]); terms are coefficient-free."""

    __slots__ = ("const", "terms")

    def __init__(self, const: Number = 0, terms: dict | None = None) -> None:
        self.const = const
        self.terms: dict[int, list] = terms if terms is not None else {}


class Product:
    """A product: a coefficient and an exponent per base (``factors`` maps a
    base node's id to [base, exponent])."""

    __slots__ = ("coef", "factors")

    def __init__(self, coef: Number = 1, factors: dict | None = None) -> None:
        self.coef = coef
        self.factors: dict[int, list] = factors if factors is not None else {}


def number(value: float) -> Number:
    """A constant as an exact integer where it is one, so that ratios of
    integers stay exact (x/3 keeps its 3)."""
    # -0.0 stays a float: it is no integer's (1/-0.0 is -inf).
    if value.is_integer() and abs(value) < 2**53 and (value != 0 or math.copysign(1.0, value) > 0):
        return int(value)
    ratio = _small_ratio(value)
    return ratio if ratio is not None else value


def _small_ratio(value: float) -> Fraction | None:
    """The ratio of small integers whose nearest float ``value`` is, where
    no short decimal writes it (2/3, not 0.6666666666666666; 0.5 stays)."""
    if not math.isfinite(value) or value == 0:
        return None
    ratio = Fraction(value).limit_denominator(1000)
    denominator = ratio.denominator
    while denominator % 2 == 0:
        denominator //= 2
    while denominator % 5 == 0:
        denominator //= 5
    if denominator == 1 or float(ratio) != value:
        return None
    return ratio


def exact_exponent(value: Number) -> Exponent:
    """An exponent as the exact ratio it was written as: a float exponent
    by its shortest decimal (0.1 is 1/10, not the binary fraction nearest
    it), so that x^0.1*x^0.2 is x^0.3 and slopes' exponents meet; a whole
    one as an int (see :data:`ONE`)."""
    if isinstance(value, float) and not value.is_integer():
        return _small_ratio(value) or Fraction(repr(value))
    exact = Fraction(value)
    return exact.numerator if exact.denominator == 1 else exact


def is_integer(value: Number | int) -> bool:
    return isinstance(value, int) or (isinstance(value, Fraction) and value.denominator == 1)


# The most bits an exact coefficient may take when raised to a power: far
# beyond the floats (1024 bits), so that a number the floats hold is exact.
_MOST_BITS = 4096


def too_big_to_raise(coef: Number, power: Number) -> bool:
    """Whether ``coef**power`` would be an exact number of more than
    :data:`_MOST_BITS` bits (2^(1e20) is, and takes forever to make)."""
    if isinstance(coef, float):
        return False
    size = abs(as_float(power))
    if size <= 1:
        return False
    bits = max(coef.numerator.bit_length(), coef.denominator.bit_length())
    return bits > 1 and size * bits > _MOST_BITS


def quotient(a: Number, b: Number) -> Number:
    """``a / b``, exact where both are (an int over an int is no float)."""
    if isinstance(a, float) or isinstance(b, float):
        return a / b
    return whole(Fraction(a, b))


def exact_power(value: Number, power: int) -> Number:
    """``value ** power`` for a whole ``power``, exact where ``value`` is (an
    int to a negative power is no float); ZeroDivisionError for 0 to a
    negative power, as Fraction has it. See :func:`too_big_to_raise` first."""
    if isinstance(value, float):
        return value**power
    if power < 0:
        return whole(Fraction(1, value**-power))
    return whole(value**power)


def over_zero(number: float, zero: float) -> float:
    """``number / zero`` (a zero of either sign) as IEEE arithmetic has it
    (Python raises instead)."""
    if number == 0 or math.isnan(number):
        return math.nan
    return math.copysign(math.inf, number) * math.copysign(1.0, zero)


class FormWriter:
    """Makes the nodes of forms in ``builder``, and remembers of each node
    the form it was made from (``made_from``), for its later users."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder
        self.made_from: dict[int, object] = {}  # new node id -> its form (a copy)
        # A fingerprint of each node's content, and whether it depends on an input.
        fingerprints = Fingerprints()
        self._digest = fingerprints.digest
        self._variable = fingerprints.variable
        # Sort keys of factors by base id: as terms sort them (inputs
        # first), and as products do.
        self.factor_keys: tuple[dict[int, tuple], dict[int, tuple]] = ({}, {})
        # Each distinct middle of a factor key as one object: sorting
        # compares keys many times, and equal parts that are the same
        # object compare equal without being read.
        self._middles: dict[tuple, tuple] = {}
        # Entries merged, copied, sorted and nodes made: the work done,
        # counted so that tests can hold it linear without a clock.
        self.work = 0

    def _made(self, form: object) -> Sym:
        if isinstance(form, Sum):
            return self._sum(form)
        if isinstance(form, Product):
            return self._product(form)
        assert isinstance(form, (Fraction, float, int))
        return self._constant(form)

    def _factors_of(self, term: Sym) -> dict[int, list]:
        form = self.made_from.get(term.id)
        if isinstance(form, Product) and form.coef == 1:
            return form.factors
        return {term.id: [term, ONE]}

    def _constant(self, value: Number) -> Sym:
        constant = self.builder.constant
        if isinstance(value, Fraction) and value.denominator != 1:
            return self._node("div", constant(value.numerator), constant(value.denominator))
        value = as_float(value)
        if math.isfinite(value):
            return constant(value)
        # No literal for these: the division that makes them.
        top = 0.0 if math.isnan(value) else math.copysign(1.0, value)
        return self._node("div", constant(top), constant(0.0))

    def _node(self, op: str, *operands: Sym) -> Sym:
        self.work += 1
        # Made as given: the order and signs here are the canonical ones.
        if len(operands) == 2:  # (most are)
            key: tuple = (op, operands[0].id, operands[1].id)
        else:
            key = (op, *[a.id for a in operands])
        builder = self.builder
        made = builder.keys.get(key)  # (many are made already)
        return made if made is not None else builder._made(key, op, operands)

    def _sum(self, form: Sum) -> Sym:
        _trigonometric_ones(self, form)
        if not form.terms:
            return self._constant(form.const)
        self.work += len(form.terms)
        entries = list(form.terms.values())
        term_key = self._term_key
        keys = [term_key(t) for t, _ in entries]
        # (as sorted() has it: in order of the keys, equal ones as they came)
        order = sorted(range(len(entries)), key=keys.__getitem__)
        parts: list[tuple[Sym | None, Number]] = [tuple(entries[i]) for i in order]
        if form.const <= 0:  # a positive term first where there is one: y - x
            lead = next((i for i, (_, c) in enumerate(parts) if c > 0), 0)
            parts = parts[lead:] + parts[:lead]
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
            self.made_from[total.id] = Sum(
                form.const, {k: [t, c] for k, (t, c) in form.terms.items()}
            )
        return total

    def _term(self, term: Sym | None, coef: Number) -> Sym:
        if term is None:
            return self._constant(coef)
        if coef == 1:
            return term
        return self._product(Product(coef, self._factors_of(term)))

    def _product(self, form: Product) -> Sym:
        """``coef * n1 * n2 ... / (d1 * d2 ...)``: factors with positive
        exponents over those with negative ones, each group in order."""
        coef = form.coef
        factors = form.factors
        if coef == 0 or not factors:
            return self._constant(coef)
        self.work += len(factors)
        if len(factors) == 1:
            ((base, exponent),) = factors.values()
            if coef == 1 and exponent == 1:  # a term's own node (most terms)
                return base
            ordered: list = [(base, exponent)]  # nothing to sort
        else:
            ordered = self._ordered(factors)
        # (few products have a denominator)
        over = isinstance(coef, Fraction) and coef.denominator != 1
        if over or any(e < 0 for _, e in ordered):
            made = self._quotient(coef, ordered)
        else:
            power = self._power
            above = [b if e == 1 else power(b, e) for b, e in ordered]
            made = _chain(self, self._coefficient_joined(coef, above))
        if made is not ordered[0][0] or len(factors) > 1:
            copied = {k: [b, e] for k, (b, e) in factors.items()}
            self.made_from[made.id] = Product(form.coef, copied)
        return made

    def _ordered(self, factors: dict[int, list]) -> list:
        """The entries of ``factors`` sorted by their bases' keys."""
        keys = self.factor_keys[False]
        entries = list(factors.values())
        found = []
        for base, _ in entries:
            key = keys.get(base.id)
            found.append(key if key is not None else self._factor_key(base))
        if len(entries) == 2:  # (as sorted() has it: the second first only if less)
            return [entries[1], entries[0]] if found[1] < found[0] else entries
        return [entries[i] for i in sorted(range(len(entries)), key=found.__getitem__)]

    def _quotient(self, coef: Number, ordered: list) -> Sym:
        """The product of the sorted factors ``ordered`` and ``coef``,
        numerator over denominator."""
        variable = self._variable
        constant = [(b, e) for b, e in ordered if not variable(b)]
        if constant and len(constant) < len(ordered) and any(e < 0 for _, e in constant):
            # 2/sqrt(pi)*exp(-x^2): a coefficient over constants stays one
            # number, the rule's own float, ahead of the rest.
            ordered = [(b, e) for b, e in ordered if variable(b)]
            lead = self._product(Product(coef, {b.id: [b, e] for b, e in constant}))
            ordered.insert(0, (lead, ONE))
            coef = 1
        above = [self._power(b, e) for b, e in ordered if e > 0]
        below = [self._power(b, -e) for b, e in ordered if e < 0]
        if isinstance(coef, Fraction) and coef.denominator != 1:
            below.insert(0, self.builder.constant(coef.denominator))
            coef = coef.numerator
        top = _chain(self, self._coefficient_joined(coef, above))
        return self._node("div", top, _chain(self, below)) if below else top

    def _coefficient_joined(self, coef: Number, above: list[Sym]) -> list[Sym]:
        """The factors of a numerator with ``coef`` (a whole number or a
        float) put in: first, or as a minus sign."""
        if not above:
            return [self._constant(coef)]
        if coef == -1:
            above[0] = self._node("neg", above[0])
        elif coef != 1:
            above.insert(0, self._constant(coef))
        return above

    def _power(self, base: Sym, exponent: Exponent) -> Sym:
        if exponent == 1:
            return base
        if type(exponent) is int and -_EXACT_INT < exponent < _EXACT_INT:
            # (most are: the float is the int, read back as it)
            return self._node("pow", base, self.builder.constant(float(exponent)))
        if exponent == _HALF and not self.builder.guarded:
            return self._node("sqrt", base)
        value = float(exponent)
        power = self.builder.constant(value)
        if (
            exponent.denominator <= _LARGEST_PRINTED_DENOMINATOR
            and exact_exponent(value) != exponent
        ):
            # An exponent like 1/3 that no float's decimal is: a ratio; one
            # made of long decimals (0.1 - 1.8) is best read as its float.
            power = self._constant(exponent)
        return self._node("pow", base, power)

    # ----------------------------------------------------------------------
    # The order: from content, never from the order nodes were made in.

    def _factor_key(self, base: Sym, inputs_first: bool = False) -> tuple:
        if inputs_first and base.op != INPUT:
            inputs_first = False  # the same key: only an input's rank differs
        keys = self.factor_keys[inputs_first]
        key = keys.get(base.id)
        if key is None:
            key = keys[base.id] = self._new_factor_key(base, inputs_first)
        return key

    def _new_factor_key(self, base: Sym, inputs_first: bool) -> tuple:
        # Factors by name (cos(x)*y); terms with an input's power before
        # terms with a function's (x - min(x, y)).
        if not self._variable(base):  # pi, log(2), sqrt(pi), or a 0 divided by
            rank, name = 0, label(base)
        elif base.op in ("add", "sub"):
            rank, name = 3, ()
        else:
            rank = 1 if inputs_first and base.op == INPUT else 2
            name = label(base)
        inner = (label(base.operands[0]), leading_name(base)) if base.operands else ()
        middle = (name, inner)
        middle = self._middles.setdefault(middle, middle)
        return (rank, *middle, self._digest(base))

    def _term_key(self, term: Sym) -> tuple:
        above: list = []
        below: list = []
        degree: list = [0, 0]
        inputs, others = self.factor_keys[True], self.factor_keys[False]
        for base, exponent in self._factors_of(term).values():
            # A whole exponent as an int: it sorts as the Fraction does, and
            # sorting compares these keys many times (Fraction's comparisons
            # are Python code).
            size = abs(exponent if type(exponent) is int else whole(exponent))
            side = 0 if exponent > 0 else 1
            degree[side] += size
            key = (inputs if base.op == INPUT else others).get(base.id)
            if key is None:
                key = self._factor_key(base, True)
            (above if side == 0 else below).append((key, size))
        above.sort()
        below.sort()
        return (degree[0], above, degree[1], below)


def whole(value: Number) -> Number:
    """``value`` as an int where it is a whole Fraction (equal, and in order
    with every other number), else itself: the one place an exact number is
    made an int."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def _chain(canonizer: FormWriter, parts: list[Sym]) -> Sym:
    """``parts`` multiplied left to right."""
    total = parts[0]
    if len(parts) == 1:
        return total
    canonizer.work += len(parts) - 1
    builder = canonizer.builder
    known = builder.keys.get
    for part in parts[1:]:
        key = ("mul", total.id, part.id)
        made = known(key)
        total = made if made is not None else builder._made(key, "mul", (total, part))
    return total


def _trigonometric_ones(canonizer: FormWriter, form: Sum) -> None:
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
