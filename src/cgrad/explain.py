"""The passes written out for people: each forward step, each backward edge
(local derivative times upstream gradient), the sums where paths meet, the
tangent passes of forward mode, and the paths from the output to one input.
Each edge's local derivative comes with its formula (``cos(a)``), made from
the op table's rules as formulas print them (:class:`LocalFormulas`).

Everything here is recomputed from a one-point :class:`~cgrad.autodiff.evaluation.Result`
with the op table's own rules, in the engine's order, so the numbers are
the engine's numbers: the sums of :func:`passes` are the gradients that
``evaluate`` reports, bit for bit. A result must be the function's own:
another's values read through this graph would be neither's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from .autodiff.evaluation import Result
from .autodiff.graph import CONSTANT, INPUT, Graph
from .autodiff.inputs import input_name
from .derivation import where_text
from .errors import InputError
from .function import Function
from .namespaces import apply_rule
from .ops import ATOM, NUMERIC, OPS
from .symbolic.nodes import Builder
from .symbolic.printed import printed_local
from .symbolic.printing import binding_prefix, program_statements


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """One node of the forward pass: its op, its operands and its value."""

    node: int
    op: str
    operands: tuple[int, ...]
    value: float


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge of a pass: the local derivative d node / d operand, and its
    product with the node's gradient (backward) or with the operand's
    tangent (forward mode); ``written`` is the derivative's name
    (``∂sin(a)/∂a``) and ``formula`` its formula (``cos(a)``), None for an
    op of too many arguments to write out."""

    operand: int
    position: int  # which argument of the node the operand is
    local: float
    product: float
    written: str = ""
    formula: str | None = None


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One node of the backward pass, visited once its gradient is complete:
    ``terms`` are what its consumers sent it (more than one where paths
    meet; none for the output, whose gradient is the seed 1), ``gradient``
    their sum, ``edges`` what it sends on."""

    node: int
    gradient: float
    terms: tuple[float, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class TangentStep:
    """One node of a tangent pass (forward mode, for one input): ``edges``
    are what its operands that carry a tangent bring (the local derivative
    times the operand's tangent), ``tangent`` their sum, d node / d input
    (for the input itself, the seed 1 and no edges)."""

    node: int
    tangent: float
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class Passes:
    """The passes of one evaluation, step by step (see :func:`passes`):
    the forward pass, then the backward pass (reverse mode) or a tangent
    pass per input (forward mode)."""

    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...] = ()
    tangents: dict[str, tuple[TangentStep, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Path:
    """A path from the output down to an input: its nodes, the local
    derivative of each edge, and their product."""

    nodes: tuple[int, ...]
    locals: tuple[float, ...]
    product: float


@dataclass(frozen=True, slots=True)
class Paths:
    """The paths from the output to ``input``: the partial derivative is the
    sum of their products. ``count`` is the number of paths, which can be
    astronomical in a DAG; at most ``limit`` are listed in ``shown``."""

    input: str
    gradient: float
    count: int
    shown: tuple[Path, ...]


def _point_values(function: Function, result: Result, backward: bool = True) -> list:
    if result.graph is not function.graph:
        # Another function's values read through this graph would give
        # numbers that are neither's.
        raise InputError(
            "the result is not one of this function's: pass what its evaluate returned",
            type="usage_error",
        )
    if not result.node_values or np.ndim(result.value) != 0:
        raise InputError(
            "the passes can be shown for one point, not for arrays", type="usage_error"
        )
    if backward and result.node_gradients is None:
        raise InputError("the backward pass needs mode='reverse'", type="usage_error")
    return result.node_values


def passes(function: Function, result: Result) -> Passes:
    """The forward and backward passes that produced ``result``."""
    return Passes(tuple(forward_steps(function, result)), tuple(backward_steps(function, result)))


def forward_steps(function: Function, result: Result) -> Iterator[ForwardStep]:
    """The steps of :func:`passes`' forward pass, made one at a time as they
    are used (a million nodes' steps held at once take gigabytes). A
    result that has no such steps is refused here, not when first read."""
    values = _point_values(function, result, backward=False)
    reachable = function.plan(list(result.gradient)).reachable
    return _forward_steps(function.graph, values, reachable)


def _forward_steps(graph, values: list, reachable) -> Iterator[ForwardStep]:
    ops, operands = graph.columns.ops, graph.columns.operands
    for node_id, op in enumerate(ops):
        if reachable[node_id]:
            yield ForwardStep(node_id, op, operands[node_id], float(values[node_id]))


def backward_steps(function: Function, result: Result) -> Iterator[BackwardStep]:
    """The steps of :func:`passes`' backward pass, one at a time as
    :func:`forward_steps`; the terms sent to a node are kept only until it
    is visited."""
    values = _point_values(function, result)
    steps = function.plan(list(result.gradient))  # made once, kept by the function
    return _backward_steps(function.graph, values, steps, LocalFormulas(function.graph))


def _backward_steps(graph, values: list, steps, formulas: LocalFormulas) -> Iterator[BackwardStep]:
    # The plan's steps are in descending node order, as this walk: read
    # alongside it, with no table of them.
    sends = iter(steps.backward_steps)
    send = next(sends, None)
    terms: dict[int, list[float]] = {}
    gradients: dict[int, float] = {graph.output: 1.0}
    for node_id in range(graph.output, -1, -1):
        gradient = gradients.pop(node_id, None)
        if gradient is None:
            continue
        edges = []
        while send is not None and send[0] > node_id:
            send = next(sends, None)
        if send is not None and send[0] == node_id:
            _, operands, rules = send
            arguments = [values[i] for i in operands]
            positions = _positions(operands)
            written = formulas.written(node_id)
            for operand, rule in rules:
                with np.errstate(all="ignore"):
                    local = float(apply_rule(rule, NUMERIC, values[node_id], arguments))
                product = gradient * local
                position = next(positions[operand])
                title, formula = formulas.edge(node_id, position, written)
                edges.append(Edge(operand, position, local, product, title, formula))
                terms.setdefault(operand, []).append(product)
                # The engine's own order of addition, so the sums agree exactly.
                pending = gradients.get(operand)
                gradients[operand] = product if pending is None else pending + product
        yield BackwardStep(node_id, gradient, tuple(terms.pop(node_id, ())), tuple(edges))


def _path(entries: list[tuple[int, float, int]], last: int) -> Path:
    nodes, slopes = [], []
    entry = last
    while entry != -1:
        node_id, slope, entry = entries[entry]
        nodes.append(node_id)
        slopes.append(slope)
    nodes.reverse()
    slopes.reverse()
    # The first slope is the output's placeholder: a path has one per edge.
    product = 1.0
    for slope in slopes[1:]:
        product *= slope
    return Path(tuple(nodes), tuple(slopes[1:]), product)


def _positions(operands: tuple[int, ...]) -> dict[int, Iterator[int]]:
    """Per operand id, its argument positions in turn (``x*x`` has x at 0
    and 1): each rule of the plan takes the next (an iterator, so that
    ``max(x, x, ...)`` stays linear in its arguments)."""
    positions: dict[int, list[int]] = {}
    for position, operand in enumerate(operands):
        positions.setdefault(operand, []).append(position)
    return {operand: iter(found) for operand, found in positions.items()}


def paths(function: Function, result: Result, name: str, limit: int | None = 100) -> Paths:
    """The paths from the output to input ``name`` and what each contributes
    to d output / d name, the first ``limit`` of them (all if None) in
    depth-first order, left operand first."""
    values = _point_values(function, result)
    graph = function.graph
    name = input_name(name, function.inputs)
    if name not in result.gradient:
        raise InputError(
            f"the result holds no derivative with respect to {name}", type="usage_error"
        )
    target = graph.input_ids[name]
    # Paths from each node down to the input, counted with Python's unbounded
    # integers: x*x has two, and a chain of n shared squarings 2^n.
    counts = [0] * len(graph.nodes)
    counts[target] = 1
    for node in graph.nodes:
        if node.operands:
            counts[node.id] = sum(counts[i] for i in node.operands)
    locals_of: dict[tuple[int, int], float] = {}

    def local(node_id: int, position: int) -> float:
        key = (node_id, position)
        if key not in locals_of:
            node = graph.nodes[node_id]
            arguments = [values[i] for i in node.operands]
            locals_of[key] = OPS[node.op].local_at(position, values[node_id], arguments)
        return locals_of[key]

    shown: list[Path] = []
    # Depth first without recursion. A path is a chain of entries (node, the
    # local derivative of the edge into it, the entry it came from), so that
    # going one node deeper copies nothing: copying the path so far at each
    # step was quadratic in the depth of a long chain.
    entries: list[tuple[int, float, int]] = [(graph.output, 1.0, -1)]
    stack = [0]
    while stack and (limit is None or len(shown) < limit):
        entry = stack.pop()
        node_id = entries[entry][0]
        if node_id == target:
            shown.append(_path(entries, entry))
            continue
        node = graph.nodes[node_id]
        if node.op == INPUT:
            continue
        branches = []
        for position, operand in enumerate(node.operands):
            if counts[operand]:
                entries.append((operand, local(node_id, position), entry))
                branches.append(len(entries) - 1)
        stack.extend(reversed(branches))
    return Paths(name, float(result.gradient[name]), counts[graph.output], tuple(shown))


# --------------------------------------------------------------------------
# Forward mode, pass by pass


def tangent_steps(function: Function, result: Result) -> dict[str, Iterator[TangentStep]]:
    """Per input of ``result``'s gradient, the steps of its tangent pass
    (forward mode: d node / d input for each node from the input up), made
    one at a time as :func:`forward_steps`; the sums are forward mode's,
    bit for bit. A result of many points is refused here."""
    values = _point_values(function, result, backward=False)
    graph = function.graph
    reachable = function.plan(list(result.gradient)).reachable
    formulas = LocalFormulas(graph)
    return {
        name: _tangent_steps(graph, values, reachable, graph.input_ids.get(name), formulas)
        for name in result.gradient
    }


def _tangent_steps(
    graph: Graph, values: list, reachable, start: int | None, formulas: LocalFormulas
) -> Iterator[TangentStep]:
    if start is None or not reachable[start]:  # an input the output does not use
        return
    ops, operands = graph.columns.ops, graph.columns.operands
    # Kept only while a later node may still read them: all of them, in a
    # DAG, so one float per node that depends on the input.
    tangents: dict[int, float] = {start: 1.0}
    yield TangentStep(start, 1.0, ())
    for node_id in range(start + 1, graph.output + 1):
        used = operands[node_id]
        if not reachable[node_id] or not any(i in tangents for i in used):
            continue
        arguments = [values[i] for i in used]
        op, written = OPS[ops[node_id]], formulas.written(node_id)
        edges: list[Edge] = []
        total: float | None = None
        for position, operand in enumerate(used):
            tangent = tangents.get(operand)
            if tangent is None:
                continue
            local = op.local_at(position, values[node_id], arguments)
            product = local * tangent
            # ops.Op.tangent's own order of addition, so the sums agree exactly.
            total = product if total is None else total + product
            title, formula = formulas.edge(node_id, position, written)
            edges.append(Edge(operand, position, local, product, title, formula))
        assert total is not None  # (an operand carries a tangent)
        tangents[node_id] = total
        yield TangentStep(node_id, total, tuple(edges))


# --------------------------------------------------------------------------
# Local derivatives as formulas

# A node with more arguments than this is written by its id, and its local
# derivatives by their values alone (max of 10,000 arguments would
# otherwise write 10,000 names per edge).
ARGUMENTS_WRITTEN = 4
# Formulas in letters kept at most: they are keyed by the constants among
# the operands too (x^2 has the slope 2*x), so that a program with a
# million distinct constants would otherwise keep a million.
FORMULAS_KEPT = 4096
# The letters the formulas are made in before the names are put in.
_LETTER = re.compile(r"(?<![\w@.])u(\d+)(?!\w)")


class LocalFormulas:
    """Each edge's local derivative as a formula in the names people see:
    an input's name, a bound node's name, a constant's text, else the
    node's id (``@2``). A formula is made once per op, argument and
    constant operands, from the op table's rules as ``cgrad diff`` prints
    them, in letters; each edge then puts its operands' names in."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.names: dict[int, str] = {}
        for name, node_id in graph.bindings.items():
            self.names.setdefault(node_id, name)
        letters = [f"u{k}" for k in range(ARGUMENTS_WRITTEN)]
        self.prefix = binding_prefix((*graph.inputs, *graph.bindings, *letters))
        self.made: dict[tuple, str] = {}

    def name(self, node_id: int) -> str:
        """What a node is called in a formula."""
        columns = self.graph.columns
        op = columns.ops[node_id]
        if op == INPUT:
            return columns.names[node_id]
        if op == CONSTANT:
            return self.graph.label(node_id)
        return self.names.get(node_id) or f"@{node_id}"

    def written(self, node_id: int) -> str:
        """The node's op applied to its operands' names: ``sin(a)``, ``x*y``."""
        columns = self.graph.columns
        operands = columns.operands[node_id]
        if len(operands) > ARGUMENTS_WRITTEN:
            return f"@{node_id}"
        notation = OPS[columns.ops[node_id]].notation
        layout = notation.layout([self.name(i) for i in operands], program=True)
        text = "".join(p if isinstance(p, str) else p.operand for p in layout)
        return f"({text})" if notation.precedence != ATOM else text

    def edge(self, node_id: int, position: int, written: str) -> tuple[str, str | None]:
        """The name of d node / d operand ``position`` (``∂sin(a)/∂a``, from
        the node ``written``) and its formula (``cos(a)``), None when the
        node has too many arguments to write out."""
        operands = self.graph.columns.operands[node_id]
        title = f"∂{written}/∂{self.name(operands[position])}"
        if len(operands) > ARGUMENTS_WRITTEN:
            return title, None
        return title, self.formula(node_id, position)

    def formula(self, node_id: int, position: int) -> str:
        """d node / d operand ``position`` in the operands' names."""
        columns = self.graph.columns
        operands = columns.operands[node_id]
        constants = [
            (columns.values[i], columns.names.get(i)) if columns.ops[i] == CONSTANT else None
            for i in operands
        ]
        key = (columns.ops[node_id], position, tuple(constants))
        template = self.made.get(key)
        if template is None:
            if len(self.made) >= FORMULAS_KEPT:  # a program of many distinct constants
                self.made.clear()
            template = self.made[key] = self._template(columns.ops[node_id], position, constants)
        names = [self.name(i) for i in operands]
        return _LETTER.sub(lambda match: names[int(match[1])], template)

    def _template(self, op_name: str, position: int, constants: list) -> str:
        builder = Builder()
        arguments = [
            builder.input(f"u{k}") if constant is None else builder.constant(*constant)
            for k, constant in enumerate(constants)
        ]
        op = OPS[op_name]
        local = printed_local(builder, op, builder.apply(op_name, *arguments), arguments, position)
        return where_text(program_statements(local, prefix=self.prefix))
