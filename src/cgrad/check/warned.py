"""Which inputs a warning of the evaluation concerns, for the gradient
check: a partial whose input feeds a node warned of a kink or a non-finite
number cannot be judged by finite differences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from ..autodiff.diagnostics import EvaluationWarning
from ..autodiff.graph import INPUT, Graph

_NON_FINITE_WARNINGS = frozenset(
    {"non_finite_value", "non_finite_derivative", "non_finite_input", "non_finite_gradient"}
)


def inputs_feeding_warnings(
    graph: Graph, warnings: Sequence[EvaluationWarning]
) -> tuple[set[str], set[str]]:
    """The inputs that feed a node warned of a kink, and those that feed one
    warned of a non-finite number: for a non-finite derivative in one
    argument, only those that feed that argument (x^y at x = -2 has a NaN
    derivative in y, but x's partial is untouched and can be judged)."""
    kinks = [w.node for w in warnings if w.type == "kink" and w.node is not None]
    non_finite = [
        _warned_node(graph, w)
        for w in warnings
        if w.type in _NON_FINITE_WARNINGS and w.node is not None
    ]
    return _inputs_under(graph, kinks), _inputs_under(graph, non_finite)


def _warned_node(graph: Graph, warning: EvaluationWarning) -> int:
    """The node whose inputs a non-finite warning concerns: the argument
    of a non-finite derivative, else the node warned of."""
    node = cast(int, warning.node)
    # (A derivative's graph warns of its program's nodes: the whole node.)
    if warning.argument is None or warning.in_rule or hasattr(graph, "origins"):
        return node
    return graph.nodes[node].operands[warning.argument]


def _inputs_under(graph: Graph, node_ids: list[int]) -> set[str]:
    # An explicit stack: a graph may be nested far deeper than Python recurses.
    seen = set(node_ids)
    stack = list(node_ids)
    names = set()
    while stack:
        node = graph.nodes[stack.pop()]
        if node.op == INPUT:
            names.add(cast(str, node.name))  # an input node has a name
        for operand in node.operands:
            if operand not in seen:
                seen.add(operand)
                stack.append(operand)
    return names
