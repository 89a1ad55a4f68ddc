"""Derivatives as formulas: the backward pass run on expressions.

The engine's own :func:`~cgrad.autodiff.engine.backward` runs here unchanged, with
symbolic nodes (:class:`Sym`) for values and a namespace that builds nodes
(:class:`Namespace`) for the op table's rules, so every derivative comes
from the one rule the table holds for it. Nodes are hash-consed (the same
subexpression is one node) and simplified as they are made: constants are
folded, and ``0*a``, ``1*a``, ``a+0``, ``a-0``, ``a/1``, ``a^1``, ``a^0``,
``--a`` and ``-(a-b)`` never appear.

:func:`program_text` prints a node as a cgrad program, with the fewest
parentheses that keep the evaluation order (so the numbers, not only the
mathematics, stay the same) and a binding for every subexpression used more
than once: the text grows with the graph, never with the number of paths.
Nothing here recurses on the size of an expression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import reduce

import numpy as np

from ..autodiff.graph import CONSTANT, INPUT, Columns, Graph
from ..autodiff.passes import Plan, backward, plan
from ..errors import InputError
from ..numerals import format_number, literal_text
from ..ops import ATOM, OPS, SUM, UNARY, Fixity

# --------------------------------------------------------------------------
# Nodes and the builder that makes them.


class Sym:
    """A node of a symbolic expression DAG. Arithmetic on it (what the op
    table's rules do with ``+``, ``*``, ``/``, ``**`` and ``-``) builds new
    nodes through its builder."""

    __slots__ = ("id", "op", "operands", "value", "name", "builder")

    def __init__(self, builder, id, op, operands=(), value=None, name=None):  # noqa: A002
        self.builder = builder
        self.id = id
        self.op = op
        self.operands: tuple[Sym, ...] = operands
        self.value: float | None = value
        self.name: str | None = name

    def __add__(self, other):
        return self.builder.apply("add", self, other)

    def __radd__(self, other):
        return self.builder.apply("add", other, self)

    def __sub__(self, other):
        return self.builder.apply("sub", self, other)

    def __rsub__(self, other):
        return self.builder.apply("sub", other, self)

    def __mul__(self, other):
        return self.builder.apply("mul", self, other)

    def __rmul__(self, other):
        return self.builder.apply("mul", other, self)

    def __truediv__(self, other):
        return self.builder.apply("div", self, other)

    def __rtruediv__(self, other):
        return self.builder.apply("div", other, self)

    def __pow__(self, other):
        return self.builder.apply("pow", self, other)

    def __rpow__(self, other):
        return self.builder.apply("pow", other, self)

    def __neg__(self):
        return self.builder.apply("neg", self)

    def __repr__(self) -> str:
        return f"Sym({program_text(self)!r})"

    def is_constant(self, value: float | None = None) -> bool:
        return self.op == CONSTANT and (value is None or self.value == value)


class Builder:
    """Makes :class:`Sym` nodes: one per distinct (op, operands), simplified."""

    def __init__(self) -> None:
        self.nodes: list[Sym] = []
        self.keys: dict[tuple, Sym] = {}
        # Per node, where in the graph being differentiated it was made:
        # (node id, True) for that node's value, (node id, False) for a
        # part of its derivative rule; None outside :func:`formulas`.
        self.origin: tuple[int, bool] | None = None
        self.origins: list[tuple[int, bool] | None] = []

    def _made(self, key: tuple, op: str, operands=(), value=None, name=None) -> Sym:
        node = self.keys.get(key)
        if node is None:
            node = Sym(self, len(self.nodes), op, operands, value, name)
            self.nodes.append(node)
            self.origins.append(self.origin)
            self.keys[key] = node
        return node

    def constant(self, value: float) -> Sym:
        value = float(value)
        # -0.0 == 0.0, but they are different constants (1/-0.0 is -inf).
        return self._made((CONSTANT, value, math.copysign(1.0, value)), CONSTANT, value=value)

    def input(self, name: str) -> Sym:
        return self._made((INPUT, name), INPUT, name=name)

    def lift(self, value) -> Sym:
        return value if isinstance(value, Sym) else self.constant(value)

    def apply(self, op: str, *arguments) -> Sym:
        operands = tuple(self.lift(a) for a in arguments)
        simpler = _simplified(self, op, operands)
        if simpler is not None:
            return simpler
        if all(a.op == CONSTANT for a in operands):
            with np.errstate(all="ignore"):
                folded = float(OPS[op].forward(*(np.float64(a.value) for a in operands)))
            # A NaN or an infinity has no literal in the language: keep the
            # operation that makes it.
            if math.isfinite(folded):
                return self.constant(folded)
        return self._made((op, tuple(a.id for a in operands)), op, operands)


def _simplified(builder: Builder, op: str, operands: tuple[Sym, ...]) -> Sym | None:
    """The identities of the module docstring; None when none applies."""
    if op == "neg":
        (a,) = operands
        if a.op == "neg":
            return a.operands[0]
        if a.op == "sub":
            return builder.apply("sub", a.operands[1], a.operands[0])
        return None
    if len(operands) != 2:
        return None
    a, b = operands
    zero, one = 0.0, 1.0
    if op == "add":
        if a.is_constant(zero):
            return b
        if b.is_constant(zero):
            return a
        if b.op == "neg":
            return builder.apply("sub", a, b.operands[0])
        if a.op == "neg":
            return builder.apply("sub", b, a.operands[0])
    elif op == "sub":
        if b.is_constant(zero):
            return a
        if a.is_constant(zero):
            return builder.apply("neg", b)
        if b.op == "neg":
            return builder.apply("add", a, b.operands[0])
        if a is b:
            return builder.constant(0.0)
    elif op == "mul":
        if a.is_constant(zero) or b.is_constant(zero):
            return builder.constant(0.0)
        if a.is_constant(one):
            return b
        if b.is_constant(one):
            return a
        if a.is_constant(-1.0):
            return builder.apply("neg", b)
        if b.is_constant(-1.0):
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
    elif op == "div":
        if b.is_constant(one):
            return a
        if a.is_constant(zero) and not b.is_constant(zero):
            return builder.constant(0.0)
        if b.is_constant(-1.0):
            return builder.apply("neg", a)
        if a.op == "neg":
            return builder.apply("neg", builder.apply("div", a.operands[0], b))
    elif op == "pow":
        if b.is_constant(one):
            return a
        if b.is_constant(zero):
            return builder.constant(1.0)
    return None


# --------------------------------------------------------------------------
# The namespace that the op table's rules run against.


class _Unknown:
    """A condition that depends on the inputs: the language has no
    conditionals, so a rule's ``where(condition, special, general)`` takes
    the general branch, the formula that holds away from the special points
    (which is also where the numeric conventions apply)."""

    def __and__(self, other):
        return False if other is False else self

    __rand__ = __and__


UNKNOWN = _Unknown()


class Namespace:
    """``m`` for the rules: each op name builds that op's node."""

    def __init__(self, builder: Builder) -> None:
        self.builder = builder

    def __getattr__(self, name: str):
        if name not in OPS:
            raise AttributeError(name)
        builder = self.builder
        return lambda *arguments: builder.apply(name, *arguments)

    def _compare(self, a, b, test):
        a, b = self.builder.lift(a), self.builder.lift(b)
        if a.op == CONSTANT and b.op == CONSTANT:
            return bool(test(a.value, b.value))
        return UNKNOWN

    def equal(self, a, b):
        return self._compare(a, b, lambda p, q: p == q)

    def less(self, a, b):
        return self._compare(a, b, lambda p, q: p < q)

    def greater_equal(self, a, b):
        return self._compare(a, b, lambda p, q: p >= q)

    def where(self, condition, chosen, otherwise):
        if condition is UNKNOWN:
            return otherwise
        return chosen if condition else otherwise

    def tie_share(self, out, arguments, index):
        # 1 - |sign(a - out)| is 1 where a is the chosen argument, 0 elsewhere:
        # the numeric rule's 1/n share of a tie, written in the language.
        hits = [
            1.0 - self.builder.apply("abs", self.builder.apply("sign", a - out)) for a in arguments
        ]
        return hits[index] / reduce(lambda p, q: p + q, hits)


# --------------------------------------------------------------------------
# Derivatives of a graph.


@dataclass(frozen=True)
class Formulas:
    """The value and the partial derivatives of a graph as symbolic nodes."""

    value: Sym
    derivatives: dict[str, Sym]


def formulas(
    graph: Graph, wrt: Sequence[str], substitutions: Mapping[str, float] | None = None
) -> Formulas:
    """The value of ``graph`` and its partials by ``wrt``, each input in
    ``substitutions`` replaced by its number (a name ``graph`` does not use
    has the partial 0)."""
    substitutions = substitutions or {}
    builder = Builder()
    values: list[Sym] = []
    ops, operands, _, names, constants = graph.columns[:5]
    for node_id, op in enumerate(ops):
        builder.origin = (node_id, True)
        if op == INPUT:
            given = substitutions.get(names[node_id])
            made = builder.input(names[node_id]) if given is None else builder.constant(given)
        elif op == CONSTANT:
            made = builder.constant(constants[node_id])
        else:
            made = builder.apply(op, *(values[i] for i in operands[node_id]))
        values.append(made)
    used = [name for name in wrt if name in graph.input_ids]
    steps = _owned_steps(plan(graph, used), builder)
    builder.origin = (graph.output, False)  # the seed, d output / d output
    adjoints = backward(steps, values, m=Namespace(builder), seed=builder.constant(1.0))
    builder.origin = (graph.output, False)  # the zeros below
    derivatives = {}
    for name in wrt:
        adjoint = adjoints[graph.input_ids[name]] if name in graph.input_ids else None
        derivatives[name] = adjoint if adjoint is not None else builder.constant(0.0)
    builder.origin = None
    return Formulas(values[graph.output], derivatives)


def _owned_steps(steps: Plan, builder: Builder) -> Plan:
    """``steps`` with each rule made to tell ``builder`` whose rule it is
    running, so that the nodes it makes know which node of the graph they
    come from."""

    def owned(node_id: int, rule):
        def run(m, out, *arguments):
            builder.origin = (node_id, False)
            return rule(m, out, *arguments)

        return run

    backward_steps = tuple(
        (node_id, operands, tuple((operand, owned(node_id, rule)) for operand, rule in edges))
        for node_id, operands, edges in steps.backward_steps
    )
    return replace(steps, backward_steps=backward_steps)


class DerivativeGraph(Graph):
    """The graph of a derivative formula, built from its symbolic nodes
    (never from its text, which can be far longer than a program may be).

    Its ``source`` is the program it is the derivative of, and each node's
    span is the span of the node of that program it comes from, given by
    ``origins``: per node, (id of that program's node, True) when it
    computes that node's value, (id, False) when it is part of that node's
    derivative rule. Warnings about it thus point at the user's text.
    """

    origins: tuple[tuple[int, bool], ...]
    # The program whose nodes ``origins`` refers to (the first one, for the
    # derivative of a derivative).
    program: Graph

    @property
    def underflows(self) -> tuple[int, ...]:
        """None: the constants here are numbers the rules made, not literals
        of the text their spans point into (a 0 that a rule made where the
        program starts with 5 is no 5 that became 0). A literal of the
        program that underflowed is warned about by the program's own
        evaluation."""
        return ()


def derivative_graph(
    graph: Graph, name: str, taken: Sequence[str] = ()
) -> tuple[DerivativeGraph, Callable[[], str]]:
    """d output / d ``name`` of ``graph`` as a graph, and a function that
    prints it as a program (bindings named clear of ``taken`` and the inputs).

    The nodes are numbered as parsing that text would number them (each
    binding's expression, then the output's, walked left to right), so
    that what is computed from this graph (the second derivatives of
    ``cgrad diff --order 2``) is what compiling the printed formula gives.
    """
    found = formulas(graph, [name])
    root = found.derivatives[name]
    origins_of = root.builder.origins
    shared = _shared(root)
    order = _text_order([*shared, root])
    program = getattr(graph, "program", graph)
    parents = getattr(graph, "origins", None)
    ids = {node.id: index for index, node in enumerate(order)}
    origins = []
    for node in order:
        owner, is_value = origins_of[node.id]
        if parents is not None:  # a derivative's node: point at the program's
            owner, value_of_owner = parents[owner]
            is_value = is_value and value_of_owner
        origins.append((owner, is_value))
    columns = _columns(order, ids, [program.columns.spans[o] for o, _ in origins])
    inputs = tuple(dict.fromkeys(n.name for n in order if n.op == INPUT))
    prefix = binding_prefix((*graph.inputs, *taken))
    made = DerivativeGraph._of_columns(
        columns,
        output=ids[root.id],
        inputs=inputs,
        input_ids={n.name: ids[n.id] for n in order if n.op == INPUT},
        bindings={f"{prefix}{k}": ids[n.id] for k, n in enumerate(shared, start=1)},
        source=program.source,
        origin=program.origin,
        origins=tuple(origins),
        program=program,
    )
    return made, lambda: program_text(root, prefix=prefix)


def _text_order(starts: Sequence[Sym]) -> list[Sym]:
    """The nodes under ``starts`` in post-order, operands left to right,
    each once: the order in which parsing their text would make them."""
    order: list[Sym] = []
    done: set[int] = set()
    for start in starts:
        stack: list[tuple[Sym, int]] = [(start, 0)]
        while stack:
            node, index = stack.pop()
            if index == 0 and node.id in done:
                continue
            if index < len(node.operands):
                stack.append((node, index + 1))
                stack.append((node.operands[index], 0))
            else:
                done.add(node.id)
                order.append(node)
    return order


def _columns(order: list[Sym], ids: dict[int, int], spans: list) -> Columns:
    depends: list[bool] = []
    for node in order:
        depends.append(node.op == INPUT or any(depends[ids[a.id]] for a in node.operands))
    return Columns(
        tuple(node.op for node in order),
        tuple(tuple(ids[a.id] for a in node.operands) for node in order),
        tuple(spans),
        {ids[n.id]: n.name for n in order if n.op == INPUT},
        {ids[n.id]: n.value for n in order if n.op == CONSTANT},
        tuple(depends),
        tuple(ids[n.id] for n in order if n.operands),
    )


def check_substitutions(substitutions: Mapping[str, float]) -> None:
    for name, value in substitutions.items():
        if not math.isfinite(value):
            raise InputError(
                f"the value of {name} is {format_number(value)}, which a formula cannot hold",
                hint="substitute finite numbers, or use cgrad eval for this point",
                type="invalid_value",
            )


# --------------------------------------------------------------------------
# Printing.

_BINDING = re.compile(r"([^\W\d]\w*?)(\d+)")


def binding_prefix(taken: Sequence[str]) -> str:
    """A prefix for binding names (t1, t2, ...) that no name in ``taken``
    could clash with."""
    used = {match[1] for name in taken if (match := _BINDING.fullmatch(name))}
    for prefix in ("t", "u", "v", "w", "s", "tmp"):
        if prefix not in used:
            return prefix
    return "tmp_" + "_".join(sorted(used))


def _precedence(node: Sym) -> int:
    if node.op == CONSTANT:
        return UNARY if math.copysign(1.0, node.value) < 0 else ATOM
    if node.op == INPUT:
        return ATOM
    return OPS[node.op].notation.precedence


def _uses(roots: Sequence[Sym]) -> dict[int, int]:
    """How many edges lead to each node reachable from ``roots``."""
    counts: dict[int, int] = {}
    stack = list(roots)
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        for operand in node.operands:
            counts[operand.id] = counts.get(operand.id, 0) + 1
            stack.append(operand)
    return counts


def program_text(
    root: Sym, taken: Sequence[str] = (), separator: str = "; ", prefix: str | None = None
) -> str:
    """``root`` as a cgrad program: bindings for the subexpressions used more
    than once (named so as not to clash with ``taken``), then the expression."""
    statements = program_statements(root, taken, prefix)
    return separator.join(statements)


def program_statements(
    root: Sym, taken: Sequence[str] = (), prefix: str | None = None
) -> list[str]:
    """As :func:`program_text`, one statement per item. ``prefix``, when
    given, is ``binding_prefix(taken)`` worked out once by a caller that
    prints many formulas: it reads every input's name, so working it out
    per formula made the partials of n inputs cost n^2."""
    shared = _shared(root)
    if prefix is None:
        prefix = binding_prefix(taken)
    names = {node.id: f"{prefix}{index}" for index, node in enumerate(shared, start=1)}
    statements = [f"{names[node.id]} = {_expression(node, names)}" for node in shared]
    statements.append(_expression(root, names))
    return statements


def _shared(root: Sym) -> list[Sym]:
    """The nodes under ``root`` used more than once that have operands (the
    ones a binding names), oldest first: operands are made before their users."""
    uses = _uses([root])
    return sorted(
        (node for node in _reachable(root) if uses.get(node.id, 0) > 1 and node.operands),
        key=lambda node: node.id,
    )


def _reachable(root: Sym) -> list[Sym]:
    found, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        found.append(node)
        stack.extend(node.operands)
    return found


def _expression(root: Sym, names: dict[int, str]) -> str:
    """The text of ``root``, its shared subexpressions by their names
    (``root`` itself written out even if it has one)."""
    pieces: list[str] = []
    # Items: text to emit, or (node, the precedence its context needs, and
    # for the right operand of a left-associative op, a strict need).
    stack: list = [(root, SUM, False, True)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        node, need, strict, top = item
        if node.id in names and not top:
            pieces.append(names[node.id])
            continue
        precedence = _precedence(node)
        if precedence < need or (strict and precedence == need):
            stack += [")", (node, SUM, False, top), "("]
            continue
        stack += reversed(_parts(node))
    return "".join(pieces)


def _parts(node: Sym) -> list:
    """The pieces of one node: text, and its operands with their contexts."""
    if node.op == CONSTANT:
        return [literal_text(node.value)]
    if node.op == INPUT:
        return [node.name]
    notation = OPS[node.op].notation
    operands = node.operands
    if notation.fixity == Fixity.CALL:
        parts: list = [f"{notation.symbol}("]
        for index, operand in enumerate(operands):
            if index:
                parts.append(", ")
            parts.append((operand, SUM, False, False))
        return [*parts, ")"]
    if notation.fixity == Fixity.PREFIX:
        (operand,) = operands
        # "--x" parses, but -(-x) reads better (and -(-2) keeps its sign).
        minus = operand.op == "neg" or _precedence(operand) == UNARY
        return [notation.symbol, (operand, ATOM if minus else UNARY, False, False)]
    a, b = operands
    if node.op == "pow":
        # The grammar: atom ^ unary (right-associative).
        return [(a, ATOM, False, False), notation.symbol, (b, UNARY, False, False)]
    spaced = f" {notation.symbol} " if notation.precedence == SUM else notation.symbol
    # Left-associative: a - (b - c) keeps its parentheses, (a - b) - c does not.
    return [(a, notation.precedence, False, False), spaced, (b, notation.precedence, True, False)]
