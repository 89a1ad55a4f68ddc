"""Summed partials of linear forms as matrix products: in a graph evaluated
over columns with ``summed=True``, a sum of products ``w*x``, each ``w``
an input given as one number and each ``x`` an input given as a column,
is one product of the columns' matrix with the vector of weights, where
the graph would make two passes over the rows per term (a product and a
sum); and the weights' partials are one product of that matrix with the
partial by the sum, where the graph would make a product per weight and
sum each over the rows (autograd's unbroadcast, done for all weights of a
form at once: d out / d w = sum over the rows of d out / d form * x).

:func:`forms_in` finds the forms of a graph for a choice of which inputs
are numbers and which columns: a tree of ``+``, ``-`` and unary minus
nodes (each used once, so that no other node reads its value) whose
leaves hold at least :data:`LEAST_PRODUCTS` such products, however the
sum is nested (``v*h + w1*x1 + w2*x2 + w3*x3`` is a form and ``v*h``);
numbers and inputs given as numbers among its leaves are added to the
form, other leaves (``v*h``) are added to it in the graph. A
:class:`Lifted` graph has each form's root replaced by an input of its own
(the form and the other leaves added to it); :func:`evaluate_lifted`
evaluates it and adds the forms' part of each partial by the chain rule.

The numbers are those of the graph up to the order in which each sum is
rounded. Where the lifted graph has anything to warn about (a kink, a NaN,
an underflowed literal) or a sum is not finite, the caller evaluates the
graph itself, so that every warning points at the user's program and is
worded as everywhere else.
"""

from __future__ import annotations

import itertools
import math
import operator
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .graph import CONSTANT, INPUT, Graph
from .node import Node
from .passes import plan
from .runner import Runner

# evaluation.Result, which this module may not import: evaluation imports it.
Result = Any

# A form of fewer products gains nothing from a matrix (two: a little slower).
LEAST_PRODUCTS = 3

# What the lifting has done, for tests and benchmarks to read: "forms" and
# "products" lifted (per lifted graph made), "evaluations" by a lifted graph.
COUNTS: Counter[str] = Counter()

_SIGNED = {"add": (1.0, 1.0), "sub": (1.0, -1.0), "neg": (-1.0,), "pos": (1.0,)}


@dataclass(frozen=True)
class Form:
    """One linear form: the node it is rooted at, the input ``name`` that
    stands for it in the lifted graph, its products (weight, column,
    sign), the numbers and number inputs added to it (an input's name or
    None for a number, and its coefficient), and the other leaves of its
    sum (node id, sign)."""

    root: int
    name: str
    weights: tuple[str, ...]
    columns: tuple[str, ...]
    signs: np.ndarray
    added: tuple[tuple[str | None, float], ...]
    others: tuple[tuple[int, float], ...]


def forms_in(graph: Graph, numbers: set[str], columns: set[str]) -> list[Form]:
    """The largest linear forms of ``graph`` (see the module's docstring)
    when the inputs ``numbers`` are given as numbers and ``columns`` as
    columns, from the output down."""
    ops, operands, _, names, values = graph.columns[:5]
    uses = graph.use_counts
    reached = graph.reachable()
    taken = set(graph.inputs) | set(graph.bindings)
    names_free = (f"linear{k}" for k in itertools.count(1) if f"linear{k}" not in taken)
    inside = [False] * len(ops)
    found: list[Form] = []
    for root in range(graph.output, -1, -1):
        if not reached[root] or inside[root] or ops[root] not in ("add", "sub"):
            continue
        products: list[tuple[str, str, float]] = []
        added: list[tuple[str | None, float]] = []
        others: list[tuple[int, float]] = []
        interior: list[int] = []
        stack = [(root, 1.0)]
        while stack:
            node, sign = stack.pop()
            op = ops[node]
            if op in _SIGNED and (node == root or uses[node] == 1):
                interior.append(node)
                stack += zip(operands[node], (sign * s for s in _SIGNED[op]), strict=True)
            elif op == CONSTANT:
                added.append((None, sign * values[node]))
            elif op == INPUT and names[node] in numbers:
                added.append((names[node], sign))
            else:
                pair = _product(ops, operands, names, node, numbers, columns)
                if pair is None:
                    others.append((node, sign))
                else:
                    products.append((*pair, sign))
        # A sum inside this one has fewer products: none is looked at again.
        for node in interior:
            inside[node] = True
        if len(products) < LEAST_PRODUCTS:
            continue
        name = next(names_free)
        weights, used, signs = zip(*products, strict=True)
        found.append(
            Form(root, name, weights, used, np.array(signs), tuple(added), tuple(others[::-1]))
        )
    return found


def _product(ops, operands, names, node: int, numbers: set[str], columns: set[str]):
    """(weight, column) of a node ``w*x`` or ``x*w``, else None."""
    if ops[node] != "mul":
        return None
    left, right = operands[node]
    if ops[left] != INPUT or ops[right] != INPUT:
        return None
    a, b = names[left], names[right]
    if a in numbers and b in columns:
        return a, b
    if b in numbers and a in columns:
        return b, a
    return None


class Lifted:
    """A graph with its forms lifted out, as a runner for the partials by
    ``wrt`` and the forms; the stacked columns of the last two sets of
    read-only columns it saw, for the next evaluation of the same rows (an
    array marked read-only is one its owner says will not change; a fit
    marks the rows it keeps in memory so)."""

    def __init__(self, graph: Graph, forms: list[Form], wrt: Sequence[str]) -> None:
        self.forms = forms
        self.graph = _lifted_graph(graph, forms)
        kept = set(self.graph.inputs)
        self.wrt = tuple(wrt)
        # (no partials asked for, none by the forms either)
        chosen = [n for n in wrt if n in kept] + [form.name for form in forms if wrt]
        self.runner = Runner(plan(self.graph, chosen))
        self.stacked: list[tuple[tuple[np.ndarray, ...], list[np.ndarray]]] = []
        COUNTS["forms"] += len(forms)
        COUNTS["products"] += sum(len(form.weights) for form in forms)

    def matrices(self, inputs: Mapping[str, Any]) -> list[np.ndarray]:
        """Each form's columns as the rows of one matrix."""
        arrays = tuple(inputs[c] for form in self.forms for c in form.columns)
        for seen, matrices in self.stacked:
            if all(map(operator.is_, seen, arrays)):
                return matrices
        matrices = [
            np.stack([np.asarray(inputs[c], dtype=np.float64) for c in form.columns])
            for form in self.forms
        ]
        if not any(getattr(a, "flags", None) is None or a.flags.writeable for a in arrays):
            # The arrays themselves are kept: an id alone could be a new array's.
            self.stacked = [*self.stacked[-1:], (arrays, matrices)]
        return matrices


def _lifted_graph(graph: Graph, forms: list[Form]) -> Graph:
    """``graph`` with each form's root an input plus the form's other
    leaves, less the nodes nothing reads any more."""
    ops, operands, spans, names, values = graph.columns[:5]
    by_root = {form.root: form for form in forms}
    # Which nodes the lifted output still reads, from the output down.
    kept = [False] * len(ops)
    kept[graph.output] = True
    for node in range(graph.output, -1, -1):
        if kept[node]:
            form = by_root.get(node)
            for operand in operands[node] if form is None else (o for o, _ in form.others):
                kept[operand] = True
    nodes: list[Node] = []
    new: dict[int, int] = {}
    for node in range(graph.output + 1):
        if not kept[node]:
            continue
        form = by_root.get(node)
        if form is None:
            made = tuple(new[o] for o in operands[node])
            nodes.append(
                Node(len(nodes), ops[node], made, spans[node], names.get(node), values.get(node))
            )
        else:
            nodes.append(Node(len(nodes), INPUT, (), spans[node], form.name))
            for other, sign in form.others:
                op = "add" if sign > 0 else "sub"
                nodes.append(Node(len(nodes), op, (len(nodes) - 1, new[other]), spans[node]))
        new[node] = len(nodes) - 1
    ids = {n.name: n.id for n in nodes if n.op == INPUT and n.name is not None}
    return Graph(
        nodes=tuple(nodes),
        output=len(nodes) - 1,
        inputs=tuple(ids),
        input_ids=ids,
        bindings={},
        source=graph.source,
    )


# The lifted graphs of each runner, by which inputs are numbers (None: none to lift).
_LIFTED: weakref.WeakKeyDictionary[Runner, dict[tuple[bool, ...], Lifted | None]] = (
    weakref.WeakKeyDictionary()
)


def _lifted_for(runner: Runner, inputs: Mapping[str, Any]) -> Lifted | None:
    """The lifted graph for these inputs: None unless every input is a
    number or a column of one length, and there is a form to lift."""
    graph = runner.plan.graph
    length = None
    numbers = []
    for name in graph.inputs:
        value = inputs[name]
        if type(value) is np.ndarray and value.ndim == 1:
            if length is not None and len(value) != length:
                return None
            length = len(value)
            numbers.append(False)
        elif type(value) is float or np.ndim(value) == 0:
            numbers.append(True)
        else:
            return None
    if length is None or graph.underflows:
        return None
    key = tuple(numbers)
    known = _LIFTED.setdefault(runner, {})
    if key not in known:
        chosen = {n for n, is_number in zip(graph.inputs, numbers, strict=True) if is_number}
        forms = forms_in(graph, chosen, set(graph.inputs) - chosen)
        known[key] = Lifted(graph, forms, runner.plan.wrt) if forms else None
    return known[key]


def evaluate_lifted(
    runner: Runner,
    inputs: Mapping[str, Any],
    evaluate: Callable[[Runner, Mapping[str, Any]], Result],
) -> Result | None:
    """The summed evaluation of ``runner``'s plan at ``inputs`` by its
    lifted graph, ``evaluate`` evaluating that (summed, without lifting);
    None where there is nothing to lift, or something to warn about."""
    lifted = _lifted_for(runner, inputs)
    if lifted is None:
        return None
    values = {name: inputs[name] for name in lifted.graph.inputs if name in inputs}
    matrices = lifted.matrices(inputs)
    with np.errstate(all="ignore"):
        for form, matrix in zip(lifted.forms, matrices, strict=True):
            weights = np.array([float(inputs[w]) for w in form.weights]) * form.signs
            made = np.einsum("ki,k->i", matrix, weights)
            offset = sum(c * (1.0 if p is None else float(inputs[p])) for p, c in form.added)
            values[form.name] = np.add(made, offset, made)
            # (a form that overflows: the graph's own walk says where)
            if not math.isfinite(np.add.reduce(made, None)):
                return None
        result = evaluate(lifted.runner, values)
        if result.warnings:
            return None
        gradient = _partials(lifted, inputs, matrices, result)
    if gradient is None:
        return None
    COUNTS["evaluations"] += 1
    return replace(result, gradient=gradient, graph=runner.plan.graph)


def _partials(
    lifted: Lifted, inputs: Mapping[str, Any], matrices: list[np.ndarray], result: Result
) -> dict[str, float | np.ndarray] | None:
    """The partials by ``lifted.wrt``: the lifted graph's, and each form's
    part by the chain rule; None if one is not finite (summed over rows)."""
    if not lifted.wrt:
        return {}
    found: dict[str, Any] = {name: result.gradient.get(name, 0.0) for name in lifted.wrt}
    for form, matrix in zip(lifted.forms, matrices, strict=True):
        by_form = np.asarray(result.gradient[form.name])
        products = np.einsum("ki,i->k", matrix, by_form) * form.signs
        for weight, partial in zip(form.weights, products.tolist(), strict=True):
            if weight in found:
                found[weight] = found[weight] + partial
        total = float(np.add.reduce(by_form, None))
        for added, coefficient in form.added:
            if added in found:
                found[added] = found[added] + coefficient * total
        for weight, name, sign in zip(form.weights, form.columns, form.signs, strict=True):
            if name in found:
                found[name] = found[name] + by_form * (sign * float(inputs[weight]))
    gradient: dict[str, float | np.ndarray] = {}
    check = 0.0
    for name, partial in found.items():
        given = inputs[name]
        if type(given) is not np.ndarray or given.ndim == 0:
            check += float(partial)
            gradient[name] = float(partial)
        else:
            column = np.asarray(partial, dtype=np.float64)
            if column.shape != given.shape:  # a column no path reaches
                column = np.zeros(given.shape)
            gradient[name] = column
            check += float(np.add.reduce(column, None))
    return gradient if math.isfinite(check) else None
