"""Symbolic nodes printed: the walk every output language shares, and
the text of a node as a cgrad program.

:class:`Printer` walks a node once, for every language (the LaTeX one is
:mod:`cgrad.symbolic.latex`): it puts parentheses where the table's
precedences ask for them (so the numbers, not only the mathematics, stay
the same when the text is parsed back), and a binding's name where a shared
node stands, so that the output grows with the graph, never with the number
of paths. A language says how one node is laid out; for text that is its
table entry's notation (:meth:`cgrad.ops.Notation.layout`, the one printer
of an op by its fixity). :func:`program_text` prints a node as a cgrad
program, through :class:`TextPrinter`: the same walk and parentheses,
with an op's layout read once per op and the operands that are names or
leaves written as their user is laid out (a formula's bindings are
mostly one op over names). Nothing here recurses on the size of an
expression.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Protocol, TypeVar

from ..autodiff.graph import CONSTANT, INPUT
from ..numerals import literal_text
from ..ops import ATOM, OPS, SUM, UNARY, Notation


class Node(Protocol):
    """What printing reads of a symbolic node (:class:`~cgrad.symbolic.nodes.Sym`)."""

    @property
    def id(self) -> int: ...

    @property
    def op(self) -> str: ...

    @property
    def operands(self) -> Sequence[Node]: ...

    @property
    def value(self) -> float | None: ...

    @property
    def name(self) -> str | None: ...


# A node of one kind, whose operands are of that kind too (Sym's are).
N = TypeVar("N", bound=Node)


_BINDING = re.compile(r"([^\W\d]\w*?)(\d+)")


def binding_prefix(taken: Sequence[str]) -> str:
    """A prefix for binding names (t1, t2, ...) that no name in ``taken``
    could clash with: not as text, nor as LaTeX, where ``t_1`` would be
    ``t_{1}`` as ``t1`` is."""
    used = set()
    for name in taken:
        if (match := _BINDING.fullmatch(name)) is not None:
            used.add(match[1])
            used.add(match[1].removesuffix("_"))
    for prefix in ("t", "u", "v", "w", "s", "tmp"):
        if prefix not in used:
            return prefix
    return "tmp_" + "_".join(sorted(used))


def program_text(
    root: Node, taken: Sequence[str] = (), separator: str = "; ", prefix: str | None = None
) -> str:
    """``root`` as a cgrad program: bindings for the subexpressions used more
    than once (named so as not to clash with ``taken``), then the expression."""
    statements = program_statements(root, taken, prefix)
    return separator.join(statements)


def program_statements(
    root: Node, taken: Sequence[str] = (), prefix: str | None = None
) -> list[str]:
    """As :func:`program_text`, one statement per item. ``prefix``, when
    given, is ``binding_prefix(taken)`` worked out once by a caller that
    prints many formulas: it reads every input's name, so working it out
    per formula made the partials of n inputs cost n^2."""
    return TEXT.statements(root, binding_prefix(taken) if prefix is None else prefix)


def shared_nodes(root: N) -> list[N]:
    """The nodes under ``root`` used more than once that have operands (the
    ones a binding names), oldest first: operands are made before their users."""
    seen = {root.id}
    twice: set[int] = set()  # met again: no more needs to be known of them
    shared: list[N] = []
    stack = [root]
    while stack:
        # (a node's operands are nodes of its kind, which Node cannot say)
        operand: N
        for operand in stack.pop().operands:  # type: ignore[assignment]
            key = operand.id
            if key not in seen:  # met for the first time: walked once
                seen.add(key)
                if operand.operands:
                    stack.append(operand)
            elif key not in twice:
                twice.add(key)
                if not _small(operand):
                    shared.append(operand)
    shared.sort(key=lambda node: node.id)
    return shared


def _small(node: Node) -> bool:
    """A leaf, or arithmetic on leaves (``2*x``, ``x^2``, ``-y``): shorter
    written out again than named."""
    if not node.operands:
        return True
    return node.op in _ARITHMETIC and all(not a.operands for a in node.operands)


_ARITHMETIC = ("add", "sub", "mul", "div", "neg", "pow")


# Before the operand of a sum that prints as a difference: its "-" is dropped.
_STRIP = (None, 0, False)

# What a non-finite constant prints as, by its literal_text.
NON_FINITE = {"Infinity": "(1/0)", "-Infinity": "(-1/0)", "NaN": "(0/0)"}


class Printer:
    """Prints symbolic nodes in one output language: the walk and the
    parentheses are decided here, once, for every language (as SymPy's
    printers share theirs); a language says only how one node is laid out
    (:meth:`parts`) and how tightly it binds (:meth:`precedence`)."""

    def precedence(self, node: Node) -> int:
        """How tightly ``node`` binds as printed: its table entry's precedence."""
        if node.op == CONSTANT:
            assert node.value is not None  # a constant node has its value
            return UNARY if math.copysign(1.0, node.value) < 0 else ATOM
        if node.op == INPUT:
            return ATOM
        return OPS[node.op].notation.precedence

    def parts(self, node: Node) -> list:
        """The pieces of one node: text, and (operand, the precedence its
        place needs, strict) for its operands."""
        if node.op == CONSTANT:
            assert node.value is not None  # a constant node has its value
            if not math.isfinite(node.value):
                # The language has no literal for these: the division that
                # makes them, in parentheses wherever it stands.
                return [NON_FINITE[literal_text(node.value)]]
            return [node.name or literal_text(node.value)]  # pi and e by name
        if node.op == INPUT:
            return [node.name]
        operands = node.operands
        notation = OPS[node.op].notation
        known = _SHAPES.get((node.op, len(operands)))
        if known is None or known[0] is not notation:  # (tests may patch the table)
            known = _shape(node.op, len(operands))
        return [
            part if type(part) is str else (operands[part[0]], part[1], part[2])
            for part in known[2]
        ]

    def binding_name(self, prefix: str, index: int) -> str:
        """The name of the ``index``-th binding (from 1): ``t1``."""
        return f"{prefix}{index}"

    def statements(self, root: Node, prefix: str) -> list[str]:
        """A binding for each shared part of ``root`` (named by ``prefix``
        and a number), then the expression."""
        shared = shared_nodes(root)
        names = {node.id: self.binding_name(prefix, k) for k, node in enumerate(shared, start=1)}
        made = [f"{names[node.id]} = {self.expression(node, names)}" for node in shared]
        made.append(self.expression(root, names))
        return made

    def expression(self, root: Node, names: dict[int, str]) -> str:
        """The text of ``root``, its shared subexpressions by their names
        (``root`` itself written out even if it has one)."""
        pieces: list[str] = []
        append = pieces.append
        opening, closing = self.opening, self.closing
        precedence_of, named = self.precedence, names.get
        # Items: text to emit, or (node, the precedence its place needs,
        # strict: for the right operand of a left-associative op). The
        # root binds at least as tightly as a sum, the loosest place.
        stack: list = self._laid_out(root, names)
        stack.reverse()
        pop = stack.pop
        strip = False  # the next text's "-" went into a difference
        while stack:
            item = pop()
            if type(item) is str:
                if strip:
                    item, strip = item[1:], False
                append(item)
                continue
            if item is _STRIP:
                strip = True
                continue
            node, need, strict = item
            name = named(node.id)
            if name is not None:
                append(name)
                continue
            precedence = precedence_of(node)
            if precedence < need or (strict and precedence == need):
                stack += [closing, (node, SUM, False), opening]
                continue
            parts = self._laid_out(node, names)
            parts.reverse()
            stack += parts
        return "".join(pieces)

    def _laid_out(self, node: Node, names: dict[int, str]) -> list:
        """:meth:`parts`, a sum whose second operand prints with a "-"
        first laid out as a difference: a + -2*t as a - 2*t, the same
        number (IEEE's a + -b is a - b)."""
        parts = self.parts(node)
        if self.folds_signs and node.op == "add" and self._leads_with_minus(parts[2], names):
            return [parts[0], " - ", _STRIP, parts[2]]
        return parts

    def _leads_with_minus(self, slot: tuple, names: dict[int, str]) -> bool:
        """Does the operand in ``slot`` print with a "-" first, as it is
        (no parentheses around it, no binding's name for it)?"""
        node, need, strict = slot
        while node.id not in names:
            precedence = self.precedence(node)
            if precedence < need or (strict and precedence == need):
                return False
            first = self.parts(node)[0]
            if type(first) is str:
                return first.startswith("-")
            node, need, strict = first
        return False

    # Whether "a + -b" prints as "a - b" (a program's text; LaTeX as it is).
    folds_signs = True

    # What encloses a node that binds too loosely for its place.
    opening, closing = "(", ")"


# Per op and number of operands: its notation, its precedence and its
# layout as a program: a key cheaper to look up than the notation, which
# _program_layout's cache hashes field by field at every node.
_SHAPES: dict[tuple[str, int], tuple[Notation, int, tuple]] = {}


def _shape(op: str, count: int) -> tuple[Notation, int, tuple]:
    notation = OPS[op].notation
    made = _SHAPES[op, count] = (notation, notation.precedence, _program_layout(notation, count))
    return made


@functools.cache
def _program_layout(notation: Notation, count: int) -> tuple:
    """The layout by ``notation`` of ``count`` operands, as a program, each
    slot as (the operand's position, need, strict): made once a notation,
    not once a node (a layout depends on the operands' positions only)."""
    return tuple(
        part if isinstance(part, str) else (part.operand, part.need, part.strict)
        for part in notation.layout(range(count), program=True)
    )


class TextPrinter(Printer):
    """The base's walk for text, with a node's precedence and layout read
    from its op's entry once per op (text lays out every op by its
    notation alone), and the operands that are a name or a leaf written
    as the node is laid out: most bindings are one op over names, which
    are then one string, never a stack item each."""

    def statements(self, root: Node, prefix: str) -> list[str]:
        shared = shared_nodes(root)
        names = {node.id: f"{prefix}{k}" for k, node in enumerate(shared, start=1)}
        heads = [f"{names[node.id]} = " for node in shared]
        return self._written([*shared, root], [*heads, ""], names)

    def expression(self, root: Node, names: dict[int, str]) -> str:
        return self._written([root], [""], names)[0]

    def _written(self, roots: list[Node], heads: list[str], names: dict[int, str]) -> list[str]:
        """Each of ``roots`` written after its head (``t1 = ``), in one
        walk: the texts of leaves made once for all."""
        made = []
        named = names.get
        leaves: dict[int, tuple[int, str]] = {}  # id -> precedence, text
        for root, head in zip(roots, heads, strict=True):
            if not root.operands:
                made.append(head + "".join(self.parts(root)))
                continue
            pieces: list[str] = [head]
            append = pieces.append
            stack: list = [(root, 0, False)]  # the root binds tightly enough anywhere
            pop = stack.pop
            strip = False  # the next text's "-" went into a difference
            while stack:
                item = pop()
                if type(item) is str:
                    if strip:
                        item, strip = item[1:], False
                    append(item)
                    continue
                if item is _STRIP:
                    strip = True
                    continue
                node, need, strict = item
                operands = node.operands
                notation = OPS[node.op].notation
                known = _SHAPES.get((node.op, len(operands)))
                if known is None or known[0] is not notation:  # (tests may patch the table)
                    known = _shape(node.op, len(operands))
                precedence = known[1]
                if precedence < need or (strict and precedence == need):
                    stack += [")", (node, SUM, False), "("]
                    continue
                laid: list = []
                spelled = True  # every piece a string
                for part in known[2]:
                    if type(part) is str:
                        laid.append(part)
                        continue
                    operand = operands[part[0]]
                    name = named(operand.id)
                    if name is not None:
                        laid.append(name)
                    elif operand.operands:
                        laid.append((operand, part[1], part[2]))
                        spelled = False
                    else:
                        laid.append(self._leaf(operand, part[1], part[2], leaves))
                if node.op == "add" and self.folds_signs:
                    laid = self._folded(node, known[2], laid, names)
                if spelled:
                    stack.append("".join(laid))  # (stripped, if need be, when popped)
                else:
                    laid.reverse()
                    stack += laid
            made.append("".join(pieces))
        return made

    def _folded(self, node: Node, layout: tuple, laid: list, names: dict[int, str]) -> list:
        """``laid``, the pieces of the sum ``node`` laid out by ``layout``,
        as a difference where its second operand prints with a "-" first
        (see :meth:`Printer._laid_out`)."""
        slot = layout[2]
        if not self._leads_with_minus((node.operands[slot[0]], slot[1], slot[2]), names):
            return laid
        right = laid[2]
        return [laid[0], " - ", *([right[1:]] if type(right) is str else [_STRIP, right])]

    def _leads_with_minus(self, slot: tuple, names: dict[int, str]) -> bool:
        # The base's walk down the first operands, with each op's precedence
        # and first piece read from its layout (not a node's whole parts).
        node, need, strict = slot
        while node.id not in names:
            operands = node.operands
            if not operands:
                return super()._leads_with_minus((node, need, strict), names)
            known = _SHAPES.get((node.op, len(operands)))
            if known is None or known[0] is not OPS[node.op].notation:  # (as in _written)
                known = _shape(node.op, len(operands))
            precedence = known[1]
            if precedence < need or (strict and precedence == need):
                return False
            first = known[2][0]
            if type(first) is str:
                return first.startswith("-")
            node, need, strict = operands[first[0]], first[1], first[2]
        return False

    def _leaf(self, node: Node, need: int, strict: bool, leaves: dict) -> str:
        """A number or a name, in parentheses where its place needs them."""
        known = leaves.get(node.id)
        if known is None:
            known = leaves[node.id] = (self.precedence(node), "".join(self.parts(node)))
        precedence, text = known
        if precedence < need or (strict and precedence == need):
            return f"({text})"
        return text


TEXT = TextPrinter()
