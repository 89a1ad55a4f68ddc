"""A derivative rule by rule (``cgrad diff --steps``), as data: the symbolic
twin of :mod:`cgrad.explain`'s passes.

The engine's own backward loop runs on formula nodes, as it does for
``cgrad diff`` (:mod:`cgrad.symbolic.formulas`), with each rule made to note
the local derivative it returns. Each node the loop visits on the way from
the output to the input becomes a :class:`Step`: the textbook rule its op
is an instance of (named here from the op's notation: ``+`` is the sum
rule, a function call the chain rule, stated with the table's own
derivative of the function in a fresh variable), the local derivative of
each edge and what it sends on (the node's derivative times the local
one), and the terms that met there, each formula printed simplified as
the answer is. The answer is the formula that ``cgrad diff`` prints, from
:meth:`cgrad.Function.formulas`.

Bounded whatever the input: the steps after ``limit`` are counted, not
written out; a formula of more than :data:`FORMULA_LIMIT` nodes is not
simplified or printed (its text is None); a rule names at most :data:`ARGUMENTS_NAMED`
arguments. So the output grows linearly with the graph, with ``limit=None``
too. Nothing here recurses on the size of an expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .autodiff.graph import INPUT, Graph
from .autodiff.passes import SEED, Plan, backward, plan
from .function import Function
from .namespaces import around_rule
from .ops import MINUS_ONE, ONE, OPS, Fixity, Op
from .symbolic.canonical import canonical
from .symbolic.formulas import node_values
from .symbolic.nodes import Builder, Namespace, Sym
from .symbolic.printed import printed_local
from .symbolic.printing import binding_prefix, program_statements

# Steps written out by default (the rest are counted).
STEPS_LIMIT = 100
# A formula with more nodes than this is not printed in a step (the
# answer is always printed whole).
FORMULA_LIMIT = 200
# A function of more arguments than this has its rule stated in words.
ARGUMENTS_NAMED = 4

# A formula as the statements of its program (bindings ``t1 = ...`` for its
# shared parts, then the expression), or None where it is too long to print.
Formula = tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Send:
    """What a node sends back to one operand: the local derivative
    d node / d operand, and the node's derivative times it (None: a formula
    too long to print)."""

    operand: int
    position: int  # which argument of the node the operand is
    text: str  # the operand's text in the program
    local: Formula
    contribution: Formula


@dataclass(frozen=True, slots=True)
class Term:
    """A contribution a node received: from which node, and the formula."""

    sender: int
    contribution: Formula


@dataclass(frozen=True, slots=True)
class Step:
    """One node the backward pass visits, once its derivative is complete:
    ``upstream`` is d output / d node, the sum of ``terms`` (what its
    consumers sent: none for the output, whose derivative is 1, more than
    one where paths meet); ``rule`` and ``statement`` say which rule of
    differentiation the node's op is (None for the input); ``sends``, what
    it sends on to the operands that depend on the input."""

    node: int
    op: str
    text: str  # the node's text in the program
    rule: str | None
    statement: str | None
    upstream: Formula
    terms: tuple[Term, ...]
    sends: tuple[Send, ...]


@dataclass(frozen=True, slots=True)
class Derivation:
    """d output / d ``input`` rule by rule: the first ``limit`` of ``count``
    steps, in the order the backward pass visits them, and the answer as
    the statements ``cgrad diff`` prints for that partial."""

    source: str
    input: str
    substitutions: dict[str, float]
    steps: tuple[Step, ...]
    count: int
    answer: list[str]


def derivation(
    function: Function,
    name: str,
    substitutions: Mapping[str, float] | None = None,
    limit: int | None = STEPS_LIMIT,
    numeric: bool = False,
) -> Derivation:
    """The derivative of ``function`` by the input ``name``, rule by rule,
    with the inputs in ``substitutions`` replaced by their values; at most
    ``limit`` steps written out (all if None); ``numeric``: constants as
    numbers, as :meth:`cgrad.Function.formulas` has it."""
    substitutions = dict(substitutions or {})
    # Checks the name and the values, and is what cgrad diff prints.
    answer = function.formulas([name], substitutions, numeric=numeric).derivatives[name]
    graph = function.graph
    builder = Builder(numeric)
    values = node_values(graph, substitutions, builder)
    builder.origin = None  # the nodes below belong to no node's value
    steps = plan(graph, [name])
    visited = steps.backward_steps if limit is None else steps.backward_steps[:limit]
    locals_of: dict[int, list] = {}
    adjoints = backward(
        _noting(steps, len(visited), locals_of), values, Namespace(builder), builder.constant(1.0)
    )
    writer = _Writer(graph, builder, steps.needed)
    made = [
        writer.step(node_id, adjoints[node_id], locals_of[node_id])
        for node_id, _, _ in visited
        if adjoints[node_id] is not None  # as the engine, which skips such a node
    ]
    target = graph.input_ids[name]
    reached = adjoints[target] is not None
    if reached and (limit is None or len(made) < limit):
        made.append(writer.step(target, adjoints[target], []))
    return Derivation(
        function.source,
        name,
        substitutions,
        tuple(made),
        len(steps.backward_steps) + reached,
        answer,
    )


def _noting(steps: Plan, count: int, locals_of: dict[int, list]) -> Plan:
    """``steps`` with each rule in its printed form, as formulas print it;
    the rules of the first ``count`` steps note the local derivatives they
    return in ``locals_of[node]``, in the order of the node's edges."""
    ops = steps.graph.columns.ops

    def noted(rule: Any, into: list) -> Any:
        def note(compute: Any) -> Any:
            local = compute()
            into.append(local)
            return local

        return around_rule(rule, note)

    made = []
    for index, (node_id, operands, edges) in enumerate(steps.backward_steps):
        op = OPS[ops[node_id]]
        printed = [(operand, op.printed_rule(rule)) for operand, rule in edges]
        if index < count:
            into = locals_of[node_id] = []
            printed = [(operand, noted(rule, into)) for operand, rule in printed]
        made.append((node_id, operands, tuple(printed)))
    return replace(steps, backward_steps=tuple(made))


def _contribution(upstream: Any, local: Any) -> Any:
    """The engine's upstream times local, as :func:`backward` makes it
    (so that it is the very node the engine added)."""
    if local is ONE:
        return upstream
    if local is MINUS_ONE:
        return -upstream
    if upstream is SEED:
        return local
    return upstream * local


class _Writer:
    """Makes the steps: formulas printed once each, bounded; the terms
    each node received, kept until that node's step is made."""

    def __init__(self, graph: Graph, builder: Builder, needed: Sequence[bool]) -> None:
        self.graph = graph
        self.builder = builder
        self.needed = needed
        self.rules = _RuleNames(graph)
        # Bindings clear of the program's names and of the rules' letters.
        self.prefix = self.rules.prefix
        self.texts: dict[int, Formula] = {}
        self.terms: dict[int, list[Term]] = {}

    def text(self, value: Any) -> Formula:
        """``value``'s formula as program statements, simplified as the
        answer is; None past FORMULA_LIMIT nodes (so the simplifying too
        is bounded per step)."""
        node = self.builder.lift(value)
        if node.id not in self.texts:
            formula = None
            if _size_at_most(node, FORMULA_LIMIT) <= FORMULA_LIMIT:
                simplest = canonical(self.builder, [node])[0]
                formula = tuple(program_statements(simplest, self.graph.inputs, self.prefix))
            self.texts[node.id] = formula
        return self.texts[node.id]

    def step(self, node_id: int, upstream: Any, locals_: list) -> Step:
        graph = self.graph
        operands = graph.columns.operands[node_id]
        sends = []
        # The positions of the operands that depend on the input, in the
        # order of the plan's edges (argument order).
        needed = [p for p, operand in enumerate(operands) if self.needed[operand]]
        for position, local in zip(needed, locals_, strict=True):
            operand = operands[position]
            contribution = self.text(_contribution(upstream, local))
            self.terms.setdefault(operand, []).append(Term(node_id, contribution))
            sends.append(
                Send(operand, position, graph.label(operand), self.text(local), contribution)
            )
        op = graph.columns.ops[node_id]
        rule, statement = (None, None) if op == INPUT else self.rules.of(node_id, tuple(needed))
        return Step(
            node_id,
            op,
            graph.label(node_id),
            rule,
            statement,
            self.text(upstream),
            tuple(self.terms.pop(node_id, ())),
            tuple(sends),
        )


def _size_at_most(root: Sym, limit: int) -> int:
    """The number of distinct nodes under ``root``, counted up to ``limit + 1``."""
    seen: set[int] = set()
    stack = [root]
    while stack and len(seen) <= limit:
        node = stack.pop()
        if node.id not in seen:
            seen.add(node.id)
            if len(node.operands) > limit:  # (max of many arguments)
                return limit + 1
            stack.extend(node.operands)
    return len(seen)


# The rules of arithmetic, by the op's notation and which operands depend on
# the input (both, the left only, the right only): the rule's name and its
# statement, {u} and {v} for operands that depend on it and {c} for one
# that does not (letters the program does not use).
_ARITHMETIC: dict[tuple[Fixity, str, tuple[int, ...]], tuple[str, str]] = {
    (Fixity.INFIX, "+", (0, 1)): ("sum rule", "({u} + {v})' = {u}' + {v}'"),
    (Fixity.INFIX, "+", (0,)): ("sum rule", "({u} + {c})' = {u}'"),
    (Fixity.INFIX, "+", (1,)): ("sum rule", "({c} + {v})' = {v}'"),
    (Fixity.INFIX, "-", (0, 1)): ("difference rule", "({u} - {v})' = {u}' - {v}'"),
    (Fixity.INFIX, "-", (0,)): ("difference rule", "({u} - {c})' = {u}'"),
    (Fixity.INFIX, "-", (1,)): ("difference rule", "({c} - {v})' = -{v}'"),
    (Fixity.INFIX, "*", (0, 1)): ("product rule", "({u}*{v})' = {u}'*{v} + {u}*{v}'"),
    (Fixity.INFIX, "*", (0,)): ("constant multiple", "({u}*{c})' = {u}'*{c}"),
    (Fixity.INFIX, "*", (1,)): ("constant multiple", "({c}*{v})' = {c}*{v}'"),
    (Fixity.INFIX, "/", (0, 1)): ("quotient rule", "({u}/{v})' = ({u}'*{v} - {u}*{v}')/{v}^2"),
    (Fixity.INFIX, "/", (0,)): ("constant multiple", "({u}/{c})' = {u}'/{c}"),
    (Fixity.INFIX, "/", (1,)): ("quotient rule", "({c}/{v})' = -{c}*{v}'/{v}^2"),
    (Fixity.INFIX, "^", (0, 1)): (
        "general power rule",
        "({u}^{v})' = {u}^{v}*({v}'*log({u}) + {v}*{u}'/{u})",
    ),
    (Fixity.INFIX, "^", (0,)): ("power rule", "({u}^{c})' = {c}*{u}^({c} - 1)*{u}'"),
    (Fixity.INFIX, "^", (1,)): ("exponential rule", "({c}^{v})' = log({c})*{c}^{v}*{v}'"),
    (Fixity.PREFIX, "-", (0,)): ("constant multiple", "(-{u})' = -{u}'"),
}

# Letters for the statements (u, v, w for arguments, c for a constant),
# each the first of its candidates that the program's names leave free
# (:func:`rule_letters`).
_LETTERS = (("u", "p", "g"), ("v", "q", "h"), ("w", "r", "s"), ("c", "k", "a"))


def rule_letters(names: Sequence[str]) -> tuple[str, ...]:
    """The letters of the rules' statements, one per row of ``_LETTERS``:
    each the first candidate that no name of the program is, alone or
    numbered (``u1``: a function of four arguments names them ``u1`` to
    ``u4``), else the first candidate followed by as many ``_`` as it takes."""
    numbered = {match[1] for name in names if (match := _NUMBERED.fullmatch(name))}
    taken = set(names) | numbered

    def free(candidates: tuple[str, ...]) -> str:
        for letter in candidates:
            if letter not in taken:
                return letter
        letter = candidates[0] + "_"
        while letter in taken:
            letter += "_"
        return letter

    return tuple(free(candidates) for candidates in _LETTERS)


# A name and the number it ends in: u12 is u and 12.
_NUMBERED = re.compile(r"(\w*?)\d+")


class _RuleNames:
    """The rule of differentiation each node's op is an instance of, stated
    in letters the program does not use, each statement made once per op
    and choice of operands, then given the meanings of its letters."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        names = (*graph.inputs, *graph.bindings)
        self.letters = rule_letters(names)
        # The bindings a statement names (t1 = ...) clear of the program's
        # names and of the letters.
        self.prefix = binding_prefix((*names, *(f"{letter}1" for letter in self.letters)))
        self.made: dict[tuple, str] = {}
        # A bound node is called by its name (the first binding's); an
        # input, by its own.
        self.names: dict[int, str] = {}
        for name, node_id in graph.bindings.items():
            if graph.columns.ops[node_id] != INPUT:
                self.names.setdefault(node_id, name)

    def of(self, node_id: int, needed: tuple[int, ...]) -> tuple[str, str]:
        """The rule's name, and its statement with its letters' meanings."""
        columns = self.graph.columns
        op = OPS[columns.ops[node_id]]
        operands = columns.operands[node_id]
        u, v, w, c = self.letters
        key = (op.notation.fixity, op.notation.symbol, needed)
        if key in _ARITHMETIC:
            rule, statement = _ARITHMETIC[key]
            letters = [u if 0 in needed else c, v if 1 in needed else c][: len(operands)]
            statement = statement.format(u=u, v=v, c=c)
        elif len(operands) > ARGUMENTS_NAMED:
            symbol = op.notation.symbol
            return "chain rule", f"{symbol} of {len(operands):,} arguments: its partials below"
        elif len(operands) == 1 and columns.ops[operands[0]] == INPUT:
            # f(x) itself: the derivative of f, no chain to follow.
            letter = columns.names[operands[0]]
            return f"derivative of {op.notation.symbol}", self._calculus(op, [letter], needed)
        else:
            letters = [u, v, w] if len(operands) <= 3 else [f"{u}{k}" for k in range(1, 5)]
            letters = letters[: len(operands)]
            # A function's rule, or an operator the table above lacks.
            call = op.notation.fixity is Fixity.CALL
            rule = "chain rule" if call else f"rule of {op.notation.symbol}"
            statement = self._calculus(op, letters, needed)
        meanings = ", ".join(
            f"{letter} = {self.names.get(operand) or self.graph.label(operand)}"
            for letter, operand in zip(letters, operands, strict=True)
        )
        return rule, f"{statement}, {meanings}"

    def _calculus(self, op: Op, letters: list[str], needed: tuple[int, ...]) -> str:
        """The op's derivatives by the arguments ``needed``, for arguments
        named ``letters``, from its rules as formulas print them:
        ``d/du sin(u) = cos(u)``."""
        key = (op.name, *letters, needed)
        if key not in self.made:
            builder = Builder()
            arguments = [builder.input(letter) for letter in letters]
            out = builder.apply(op.name, *arguments)
            written = where_text(program_statements(out, prefix=self.prefix))
            d = "d" if len(letters) == 1 else "∂"
            parts = []
            for position in needed:
                local = printed_local(builder, op, out, arguments, position)
                derivative = where_text(program_statements(local, prefix=self.prefix))
                parts.append(f"{d}/{d}{letters[position]} {written} = {derivative}")
            self.made[key] = "; ".join(parts)
        return self.made[key]


def where_text(statements: Sequence[str]) -> str:
    """A formula's statements as one line for people: the expression, then
    its shared parts after ``where`` (``-(u/t1/t1) where t1 = hypot(u, v)``)."""
    *bindings, expression = statements
    return f"{expression} where {', '.join(bindings)}" if bindings else expression
