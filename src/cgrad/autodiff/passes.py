"""The passes over a graph: the plan, the forward pass, the reverse-mode
backward pass and forward mode.

A :class:`Plan` turns a graph and a choice of partials into flat lists of
steps, once; each pass is then one loop down (or up) a list, with no
recursion, no lookups and no decisions left in it. Values are numpy float64
scalars or arrays (the op table's functions are ufuncs or built from them),
so one loop serves one point and a million points; the backward loop runs
unchanged on Python floats, on generated code's stand-ins and on formulas,
with ``m`` the namespace its rules are written against.

How the passes are run (on floats, by generated code, a slice at a time)
is :mod:`cgrad.autodiff.evaluation`'s business, not this module's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from ..namespaces import ArgumentRule
from ..ops import MINUS_ONE, NUMERIC, ONE, OPS, Kink
from .builder import taken_once
from .graph import Graph

# d output / d output, as an object of its own: multiplying by it is skipped.
SEED = np.float64(1.0)

# A forward step: (node, forward function, operand ids).
ForwardStep = tuple[int, Callable, tuple[int, ...]]
# A backward step: (node, operand ids, ((operand, rule), ...) for the
# operands that need a derivative).
BackwardStep = tuple[int, tuple[int, ...], tuple[tuple[int, Callable], ...]]
# A kink step: (node, kink test, operand ids).
KinkStep = tuple[int, Callable, tuple[int, ...]]


class _Steps(Sequence):
    """What the two views of a plan's steps share: equal to any sequence of
    the same steps (a plan whose steps were replaced holds tuples)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple, like a list


class ForwardSteps(_Steps, Sequence[ForwardStep]):
    """A plan's forward steps, one per op node in id order, read from the
    graph's columns as they are walked rather than stored: a tuple per step
    cost more memory than the graph's columns themselves. Iterating gives
    :data:`ForwardStep` tuples, made by zip and map in C."""

    __slots__ = ("graph", "functions")

    def __init__(self, graph: Graph, functions: Mapping[str, Callable]) -> None:
        self.graph = graph
        self.functions = functions  # per op name, its forward function

    def with_functions(self, change: Callable[[Callable], Callable]) -> ForwardSteps:
        """The same steps, each function replaced by ``change(function)``."""
        return ForwardSteps(self.graph, {op: change(f) for op, f in self.functions.items()})

    def __len__(self) -> int:
        return len(self.graph.columns.op_ids)

    def __iter__(self) -> Iterator[ForwardStep]:
        ops, operands, *_, op_ids = self.graph.columns
        functions = map(self.functions.__getitem__, map(ops.__getitem__, op_ids))
        return zip(op_ids, functions, map(operands.__getitem__, op_ids), strict=True)

    @overload
    def __getitem__(self, index: int) -> ForwardStep: ...
    @overload
    def __getitem__(self, index: slice) -> list[ForwardStep]: ...
    def __getitem__(self, index: int | slice) -> ForwardStep | list[ForwardStep]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        columns = self.graph.columns
        node_id = columns.op_ids[index]
        return node_id, self.functions[columns.ops[node_id]], columns.operands[node_id]


# A backward step's edges by operand position: ((position, rule), ...).
Edges = tuple[tuple[int, Callable], ...]


class BackwardSteps(_Steps, Sequence[BackwardStep]):
    """A plan's backward steps as two columns: the nodes, from the output
    back, and per node its edges by operand position. An edges tuple is
    shared by every node of one op and one pattern of operands that need a
    derivative, and the operands are the graph's, so a step costs two
    references where tuples of its own cost hundreds of bytes. Iterating
    gives :data:`BackwardStep` tuples; :meth:`walk` gives what the backward
    loop reads."""

    __slots__ = ("operands", "nodes", "edges")

    def __init__(
        self, operands: Sequence[tuple[int, ...]], nodes: Sequence[int], edges: Sequence[Edges]
    ) -> None:
        self.operands = operands  # the graph's column, by node id
        self.nodes = nodes
        self.edges = edges

    def walk(self) -> Iterator[tuple[int, tuple[int, ...], Edges]]:
        """Per step: the node, its operands and its edges by position."""
        nodes = self.nodes
        return zip(nodes, map(self.operands.__getitem__, nodes), self.edges, strict=True)

    def with_rules(self, change: Callable[[int, Callable], Callable]) -> BackwardSteps:
        """The same steps, each rule replaced by ``change(node, rule)``."""
        edges = tuple(
            tuple((position, change(node_id, rule)) for position, rule in node_edges)
            for node_id, node_edges in zip(self.nodes, self.edges, strict=True)
        )
        return BackwardSteps(self.operands, self.nodes, edges)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[BackwardStep]:
        for node_id, operands, edges in self.walk():
            yield node_id, operands, tuple((operands[p], rule) for p, rule in edges)

    @overload
    def __getitem__(self, index: int) -> BackwardStep: ...
    @overload
    def __getitem__(self, index: slice) -> BackwardSteps: ...
    def __getitem__(self, index: int | slice) -> BackwardStep | BackwardSteps:
        if isinstance(index, slice):
            return BackwardSteps(self.operands, self.nodes[index], self.edges[index])
        operands = self.operands[self.nodes[index]]
        edges = tuple((operands[p], rule) for p, rule in self.edges[index])
        return self.nodes[index], operands, edges


def _by_position(steps: Iterable[BackwardStep]) -> Iterator[tuple[int, tuple[int, ...], Edges]]:
    """``steps`` (a plan's whose rules were replaced) as :meth:`BackwardSteps.walk`
    gives them: an edge's operand as its position, the first position after
    the last edge's that holds it (x*x has two edges to one operand)."""
    for node_id, operands, edges in steps:
        position = -1
        by_position = []
        for operand, rule in edges:
            position = operands.index(operand, position + 1)
            by_position.append((position, rule))
        yield node_id, operands, tuple(by_position)


@dataclass(frozen=True, eq=False)
class Plan:
    """The passes over a graph for one choice of partials, worked out once
    (see :func:`plan`), so that evaluating a chunk is a walk down flat lists
    with no lookups or decisions left in it. Immutable: what an evaluation
    learns about a plan (its generated code) is kept by the caller, in a
    :class:`cgrad.autodiff.runner.Runner`."""

    graph: Graph
    wrt: tuple[str, ...]
    # Per node: does it depend on an input we differentiate by?
    needed: tuple[bool, ...]
    # Per node: does the output depend on it?
    reachable: tuple[bool, ...]
    # The values list before a pass: constants filled in, the rest None.
    initial: tuple
    # In topological order (a ForwardSteps for a plan that plan() made).
    forward_steps: Sequence[ForwardStep]
    # From the output back (a BackwardSteps for a plan that plan() made; a
    # plan whose rules are replaced may hold BackwardStep tuples).
    backward_steps: Sequence[BackwardStep]
    # For the nodes whose kink matters (a test that constants rule out is
    # left for the runner to drop: see Runner).
    kink_steps: tuple[KinkStep, ...]


def plan(graph: Graph, wrt: Sequence[str] | None = None) -> Plan:
    """The :class:`Plan` for the partials by ``wrt`` (all inputs if None),
    made from the graph's columns, never its Node objects, in one pass down
    the op nodes (from the last): a pass over a million nodes costs more in
    reaching them in memory than in what it does with each."""
    chosen = set(graph.inputs if wrt is None else wrt)
    names = tuple(name for name in graph.inputs if name in chosen)
    ops, operands, _, _, constants, depends_on_input, op_ids = graph.columns
    forwards, fixed_rules, kink_tests = _op_table()
    # With every input, needed is depends_on_input: the graph's tuple serves.
    needed = depends_on_input if len(names) == len(graph.inputs) else _depending_on(graph, names)
    # Down from the last node: a node's consumers have larger ids, so it is
    # known to be reachable (or not) by the time it is reached. (The common
    # arities are spelled out below: no loop or list made per node.)
    reachable = [False] * len(ops)
    reachable[graph.output] = True
    nodes: list[int] = []
    edges: list[Edges] = []
    # Per op and pattern of needed operands, the one edges tuple its nodes share.
    shared: dict[str | tuple, Edges] = {}
    kinks = []
    # A derivative's graph may hold guards, whose kinks are no program's.
    quiet: frozenset[int] = getattr(graph, "quiet", frozenset())
    for node_id in reversed(op_ids):
        if not reachable[node_id]:
            continue
        node_operands = operands[node_id]
        op = ops[node_id]
        # A needed op node has a needed operand: with one, that is it.
        if len(node_operands) == 2:
            left, right = node_operands
            reachable[left] = reachable[right] = True
            key: str | tuple = (op, needed[left], needed[right])
        elif len(node_operands) == 1:
            reachable[node_operands[0]] = True
            key = op
        else:
            for operand in node_operands:
                reachable[operand] = True
            key = (op, *[needed[i] for i in node_operands])
        if not needed[node_id]:
            continue
        node_edges = shared.get(key)
        if node_edges is None:
            wanted = tuple(needed[i] for i in node_operands)
            node_edges = shared[key] = _edges_by_position(op, wanted, fixed_rules)
        nodes.append(node_id)
        edges.append(node_edges)
        if op in kink_tests and node_id not in quiet:
            kinks.append(node_id)
    return Plan(
        graph=graph,
        wrt=names,
        needed=tuple(needed),
        reachable=tuple(reachable),
        initial=_initial(len(ops), constants),
        forward_steps=ForwardSteps(graph, forwards),
        backward_steps=BackwardSteps(operands, tuple(nodes), tuple(edges)),
        kink_steps=_kink_steps(graph, kinks, kink_tests, needed),
    )


def _initial(size: int, constants: Mapping[int, float]) -> tuple:
    """A plan's values before a pass: the constants, the rest None."""
    initial: list = [None] * size
    for node_id, value in constants.items():
        initial[node_id] = np.float64(value)
    return tuple(initial)


def _kink_steps(
    graph: Graph, kinks: list[int], tests: dict[str, Kink], needed: Sequence[bool]
) -> tuple[KinkStep, ...]:
    """The kink steps of the nodes ``kinks``, in id order, each with the
    test for the arguments that depend on an input we differentiate by
    (each node once where the op says so: max(x, x) is no tie)."""
    ops, operands = graph.columns.ops, graph.columns.operands
    steps = []
    for node_id in reversed(kinks):
        tested = taken_once(ops[node_id], operands[node_id])
        steps.append((node_id, tests[ops[node_id]].test([needed[i] for i in tested]), tested))
    return tuple(steps)


def _edges_by_position(op: str, needed: tuple[bool, ...], fixed_rules: dict[str, tuple]) -> Edges:
    """The edges of a node of ``op`` to the operands at the positions that
    are ``needed``: the table's rules for an op of one or two arguments,
    else each asked of the op by position (a variadic op's rules are made
    per position)."""
    rules = fixed_rules.get(op)
    if rules is None or len(needed) not in (1, 2):
        rules = tuple(map(OPS[op].derivative, range(len(needed))))
    return tuple((position, rules[position]) for position, wanted in enumerate(needed) if wanted)


def _depending_on(graph: Graph, names: Sequence[str]) -> tuple[bool, ...]:
    """Per node: does it depend on one of the inputs ``names``?"""
    operands = graph.columns.operands
    depends = [False] * len(operands)
    for name in names:
        depends[graph.input_ids[name]] = True
    for node_id in graph.columns.op_ids:
        for operand in operands[node_id]:
            if depends[operand]:
                depends[node_id] = True
                break
    return tuple(depends)


def _op_table() -> tuple[dict[str, Callable], dict[str, tuple], dict[str, Kink]]:
    """The op table as plan() reads it, per op name: forward functions, the
    rules of the ops of fixed arity (a variadic op makes its rule per
    argument), kink tests. Read at each plan, not at import: the table is
    what it is when the plan is made (tests patch it)."""
    forwards: dict[str, Callable] = {}
    rules: dict[str, tuple] = {}
    kinks: dict[str, Kink] = {}
    for name, op in OPS.items():
        forwards[name] = op.forward
        if op.arity is not None:
            rules[name] = op.derivatives
        if op.kink is not None:
            kinks[name] = op.kink
    return forwards, rules, kinks


def forward(plan: Plan, inputs: Mapping[str, object]) -> list:
    """The value of every node, in id order."""
    values = list(plan.initial)
    for name, node_id in plan.graph.input_ids.items():
        values[node_id] = inputs[name]
    return run_forward_steps(values, plan.forward_steps)


def run_forward_steps(values: list, steps: Iterable[ForwardStep]) -> list:
    """``values`` with each step's node computed from its operands', in
    order (the inputs' and constants' values already in)."""
    for node_id, function, operands in steps:
        # The arities of nearly every op spelled out: a list made per node
        # would cost more than most ops' own work.
        if len(operands) == 2:
            left, right = operands
            values[node_id] = function(values[left], values[right])
        elif len(operands) == 1:
            values[node_id] = function(values[operands[0]])
        else:
            values[node_id] = function(*[values[i] for i in operands])
    return values


def backward(plan: Plan, values: list, m: Any = NUMERIC, seed: Any = SEED) -> list:
    """The adjoint d(output)/d(node) of every node (None where no path
    leads from the node to the output through nodes that need one).

    The values may be numbers, or symbolic nodes with ``m`` their namespace
    and ``seed`` their 1: :mod:`cgrad.symbolic.formulas` runs this very loop to
    build derivative formulas."""
    adjoints: list = [None] * len(values)
    adjoints[plan.graph.output] = seed
    steps = plan.backward_steps
    walk = steps.walk() if isinstance(steps, BackwardSteps) else _by_position(steps)
    for node_id, operands, edges in walk:
        upstream = adjoints[node_id]
        if upstream is None:
            continue
        # The arguments of a node of one or two as names, not a list, and
        # the rules called with them spelled out: a call with *arguments
        # costs more than most rules' own work.
        arity = len(operands)
        if arity == 2:
            left, right = operands
            first, second = values[left], values[right]
        elif arity == 1:
            first = values[operands[0]]
        else:
            arguments = [values[i] for i in operands]
        out = values[node_id]
        for position, rule in edges:
            operand = operands[position]
            if arity == 2:
                local = rule(m, out, first, second)
            elif arity == 1:
                local = rule(m, out, first)
            elif arity > 2 and type(rule) is ArgumentRule:  # (variadic ops only)
                local = rule.over(m, out, arguments)
            else:
                local = rule(m, out, *arguments)
            # The slopes of + and - are ops.ONE and ops.MINUS_ONE (checked by
            # identity): no need to multiply whole arrays by them.
            if local is ONE:
                contribution = upstream
            elif local is MINUS_ONE:
                contribution = -upstream
            elif upstream is SEED:  # near the output: d output/d output = 1
                contribution = local
            else:
                contribution = upstream * local
            pending = adjoints[operand]
            # Fan-out: a node used in several places sums its paths.
            adjoints[operand] = contribution if pending is None else pending + contribution
    return adjoints


def forward_mode(graph: Graph, values: list, wrt: Sequence[str]) -> dict[str, object]:
    """d(output)/d(input) for each input in ``wrt``, one tangent pass each."""
    tangents_of_output: dict[str, object] = {}
    for name in wrt:
        tangents: list = [None] * (graph.output + 1)
        if name in graph.input_ids and graph.input_ids[name] <= graph.output:
            tangents[graph.input_ids[name]] = np.float64(1.0)
        for node in graph.nodes[: graph.output + 1]:
            if node.operands:
                tangents[node.id] = OPS[node.op].tangent(
                    NUMERIC,
                    values[node.id],
                    [values[i] for i in node.operands],
                    [tangents[i] for i in node.operands],
                )
        tangents_of_output[name] = tangents[graph.output]
    return tangents_of_output
