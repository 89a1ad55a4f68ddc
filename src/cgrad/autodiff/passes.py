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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops import MINUS_ONE, NUMERIC, ONE, OPS, Kink
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
    # In topological order.
    forward_steps: tuple[ForwardStep, ...]
    # From the output back.
    backward_steps: tuple[BackwardStep, ...]
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
    initial: list = [None] * len(ops)
    for node_id, value in constants.items():
        initial[node_id] = np.float64(value)
    # Down from the last node: a node's consumers have larger ids, so it is
    # known to be reachable (or not) by the time it is reached.
    reachable = [False] * len(ops)
    reachable[graph.output] = True
    forward_steps = []
    backward_steps = []
    kinks = []
    for node_id in reversed(op_ids):
        node_operands = operands[node_id]
        op = ops[node_id]
        forward_steps.append((node_id, forwards[op], node_operands))
        if not reachable[node_id]:
            continue
        for operand in node_operands:
            reachable[operand] = True
        if not needed[node_id]:
            continue
        rules = fixed_rules.get(op)
        edges: tuple[tuple[int, Callable], ...]
        # A needed op node has a needed operand: with one, that is it.
        if rules is not None and len(node_operands) == 1:
            edges = ((node_operands[0], rules[0]),)
        elif rules is not None and len(node_operands) == 2:
            a, b = node_operands
            if not needed[a]:
                edges = ((b, rules[1]),)
            elif not needed[b]:
                edges = ((a, rules[0]),)
            else:
                edges = ((a, rules[0]), (b, rules[1]))
        else:
            edges = _edges_by_position(op, node_operands, needed)
        backward_steps.append((node_id, node_operands, edges))
        if op in kink_tests:
            kinks.append(node_id)
    forward_steps.reverse()
    return Plan(
        graph=graph,
        wrt=names,
        needed=tuple(needed),
        reachable=tuple(reachable),
        initial=tuple(initial),
        forward_steps=tuple(forward_steps),
        backward_steps=tuple(backward_steps),
        kink_steps=_kink_steps(graph, kinks, kink_tests, needed),
    )


def _kink_steps(
    graph: Graph, kinks: list[int], tests: dict[str, Kink], needed: Sequence[bool]
) -> tuple[KinkStep, ...]:
    """The kink steps of the nodes ``kinks``, in id order, each with the
    test for the arguments that depend on an input we differentiate by."""
    ops, operands = graph.columns.ops, graph.columns.operands
    return tuple(
        (
            node_id,
            tests[ops[node_id]].test([needed[i] for i in operands[node_id]]),
            operands[node_id],
        )
        for node_id in reversed(kinks)
    )


def _edges_by_position(
    op: str, operands: tuple[int, ...], needed: Sequence[bool]
) -> tuple[tuple[int, Callable], ...]:
    """The backward edges of a node of ``op`` to its ``needed`` operands,
    each rule asked of the op by argument position (a variadic op's rules
    are made per position)."""
    derivative = OPS[op].derivative
    return tuple(
        (operand, derivative(position))
        for position, operand in enumerate(operands)
        if needed[operand]
    )


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
    for node_id, function, operands in plan.forward_steps:
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
    for node_id, operands, edges in plan.backward_steps:
        upstream = adjoints[node_id]
        if upstream is None:
            continue
        arguments = [values[i] for i in operands]
        out = values[node_id]
        for operand, rule in edges:
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
