"""Derivatives as formulas: the backward pass run on expressions.

The engine's own :func:`~cgrad.autodiff.engine.backward` runs here unchanged, with
symbolic nodes (:class:`~cgrad.symbolic.nodes.Sym`) for values and a
namespace that builds nodes (:class:`~cgrad.symbolic.nodes.Namespace`) for
the op table's rules, so every derivative comes from the one rule the table
holds for it (in its printed form, :meth:`cgrad.ops.Op.printed_rule`, where
the numeric rule is a more careful form of the same mathematics).

:func:`derivative_graph` makes a formula a graph again (never through its
text); printing is :mod:`cgrad.symbolic.printing`'s. Nothing here recurses
on the size of an expression.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from ..autodiff.graph import CONSTANT, INPUT, Columns, Graph
from ..autodiff.passes import BackwardSteps, Plan, backward, plan
from ..errors import InputError
from ..namespaces import around_rule
from ..numerals import format_number
from ..ops import OPS
from .canonical import canonical
from .nodes import Builder, Namespace, QuietOrigin, Sym
from .printing import binding_prefix, program_statements, program_text, shared_nodes

# What the commands and tests take from here, printing's included.
__all__ = [
    "DerivativeGraph",
    "Formulas",
    "Sym",
    "binding_prefix",
    "check_substitutions",
    "derivative_graph",
    "formulas",
    "node_values",
    "program_statements",
    "program_text",
]


@dataclass(frozen=True)
class Formulas:
    """The value and the partial derivatives of a graph as symbolic nodes."""

    value: Sym
    derivatives: dict[str, Sym]


def node_values(graph: Graph, substitutions: Mapping[str, float], builder: Builder) -> list[Sym]:
    """The value of each node of ``graph`` as a symbolic node made by
    ``builder``, in id order (the inputs in ``substitutions`` as numbers,
    ``pi`` and ``e`` by name)."""
    values: list[Sym] = []
    ops, operands, _, names, constants = graph.columns[:5]
    # The differences that a step tests (a derivative's own sign tests, made
    # again when it is differentiated): their sides are kept as they are.
    tested = {operands[i][0] for i, op in enumerate(ops) if op == "step"}
    for node_id, op in enumerate(ops):
        builder.origin = (node_id, True)
        if op == INPUT:
            given = substitutions.get(names[node_id])
            made = builder.input(names[node_id]) if given is None else builder.constant(given)
        elif op == CONSTANT:
            made = builder.constant(constants[node_id], names.get(node_id))
        elif op == "sub" and node_id in tested:
            made = builder.difference(*(values[i] for i in operands[node_id]))
        else:
            made = builder.apply(op, *(values[i] for i in operands[node_id]))
        values.append(made)
    return values


def formulas(
    graph: Graph,
    wrt: Sequence[str],
    substitutions: Mapping[str, float] | None = None,
    numeric: bool = False,
    guarded: bool = False,
) -> Formulas:
    """The value of ``graph`` and its partials by ``wrt``, each input in
    ``substitutions`` replaced by its number (a name ``graph`` does not use
    has the partial 0). ``numeric``: pi, e, log(2) and the like as numbers.
    ``guarded``: the rules in their guarded forms (:meth:`cgrad.ops.Op.printed_rule`),
    for formulas that are differentiated again at a point, not printed."""
    substitutions = substitutions or {}
    builder = Builder(numeric, guarded)
    values = node_values(graph, substitutions, builder)
    used = [name for name in wrt if name in graph.input_ids]
    steps = _owned_steps(plan(graph, used), builder, guarded)
    builder.origin = (graph.output, False)  # the seed, d output / d output
    adjoints = backward(steps, values, m=Namespace(builder), seed=builder.constant(1.0))
    builder.origin = (graph.output, False)  # the zeros below
    derivatives = {}
    for name in wrt:
        adjoint = adjoints[graph.input_ids[name]] if name in graph.input_ids else None
        derivatives[name] = adjoint if adjoint is not None else builder.constant(0.0)
    builder.origin = None
    simplest = canonical(builder, list(derivatives.values()))
    return Formulas(values[graph.output], dict(zip(derivatives, simplest, strict=True)))


def _owned_steps(steps: Plan, builder: Builder, guarded: bool = False) -> Plan:
    """``steps`` with each rule in its printed form, made to tell
    ``builder`` whose rule it is running, so that the nodes it makes know
    which node of the graph they come from."""
    ops = steps.graph.columns.ops

    def owned(node_id: int, rule: Callable) -> Callable:
        printed = OPS[ops[node_id]].printed_rule(rule, guarded)

        def own(compute: Callable[[], Sym]) -> Sym:
            builder.origin = (node_id, False)
            return compute()

        return around_rule(printed, own)

    own = steps.backward_steps
    assert isinstance(own, BackwardSteps)  # as plan() makes them
    return replace(steps, backward_steps=own.with_rules(owned))


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
    # The nodes that only guard a rule (see QuietOrigin): no kink warnings.
    quiet: frozenset[int]
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
    graph: Graph,
    name: str,
    taken: Sequence[str] = (),
    root: Sym | None = None,
    guarded: bool = False,
) -> tuple[DerivativeGraph, Callable[[], str]]:
    """d output / d ``name`` of ``graph`` as a graph, and a function that
    prints it as a program (bindings named clear of ``taken`` and the inputs).
    ``root``: that derivative's node where ``formulas(graph, [name])``
    already made it (its builder knows where each node comes from).
    ``guarded``: made by the rules' guarded forms (see :func:`formulas`).

    The nodes are numbered as parsing that text would number them (each
    binding's expression, then the output's, walked left to right), so
    that what is computed from this graph (the second derivatives of
    ``cgrad diff --order 2``) is what compiling the printed formula gives.
    """
    if root is None:
        root = formulas(graph, [name], guarded=guarded).derivatives[name]
    origins_of = root.builder.origins
    shared = shared_nodes(root)
    order = _text_order([*shared, root])
    program = getattr(graph, "program", graph)
    parents = getattr(graph, "origins", None)
    ids = {node.id: index for index, node in enumerate(order)}
    origins = []
    quiet: set[int] = set()
    for node in order:
        made_in = origins_of[node.id]
        assert made_in is not None  # every node formulas() made has its origin
        owner, is_value = made_in
        if parents is not None:  # a derivative's node: point at the program's
            owner, value_of_owner = parents[owner]
            is_value = is_value and value_of_owner
        origins.append((owner, is_value))
        if isinstance(made_in, QuietOrigin):
            quiet.add(ids[node.id])
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
        quiet=frozenset(quiet),
        program=program,
    )
    assert isinstance(made, DerivativeGraph)  # _of_columns makes its own class
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
        {ids[n.id]: n.name for n in order if n.name is not None},
        {ids[n.id]: n.value for n in order if n.op == CONSTANT and n.value is not None},
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
