"""A fit's linear forms as matrix products: ``w1*x1 + ... + wk*xk + b``,
each ``w`` a parameter and each ``x`` a data column, is one product of the
rows' matrix of those columns with the vector of weights, where the graph
would make two passes over the rows per term (a product and a sum), and
its weights' partials are one product of that matrix with the partial by
the form, where the graph would make a product per weight and sum each
over the rows.

:func:`lifted` finds the forms in the joined program (a sum or difference
of at least two products of a parameter and a column, with parameters and
numbers added), each the largest such expression where it stands, and
writes the program again with each form an input of its own
(:class:`Lifted`). The engine evaluates that program, the partial of the
loss by each form row by row and those of the parameters summed over the
rows (``summed=True``); :meth:`Lifted.evaluate` adds the forms' own
part by the chain rule: d loss / d w = sum over the rows of
(d loss / d form) * x, for all weights of a form at once.

The numbers are those of the graph up to the order in which each sum is
rounded (a form's terms, and its rows). Where the engine has anything to
warn about, the caller evaluates the joined program itself, so that every
warning points at the user's program and is worded as everywhere else.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import CgradError
from ..function import Function, compile
from ..parse.parser import parse
from ..parse.syntax import Binary, Binding, Call, Group, Name, Number, Unary

# A form of fewer products gains nothing from a matrix (two: a little slower).
LEAST_PRODUCTS = 3


@dataclass
class Form:
    """One linear form: ``name`` stands for it in the lifted program; its
    products (column, weight, sign) and its added terms (a parameter or
    None for a number, and its coefficient)."""

    name: str
    columns: list[str]
    weights: list[str]
    signs: np.ndarray
    added: list[tuple[str | None, float]]


class Lifted:
    """The joined program with its forms lifted out (see the module's
    docstring); the stacked columns of the last two sets of rows it saw
    are kept for the next evaluation of the same rows (in memory)."""

    def __init__(self, program: Function, forms: list[Form], params: Sequence[str]) -> None:
        self.program = program
        self.forms = forms
        self.params = list(params)
        self.index = {name: k for k, name in enumerate(self.params)}
        self.wrt = [name for name in self.params if name in program.inputs]
        self.stacked: list[tuple[tuple[np.ndarray, ...], list[np.ndarray]]] = []

    def evaluate(
        self, chunk: Mapping[str, np.ndarray], point: Mapping[str, float], gradient: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The loss of each row of ``chunk`` and, with ``gradient``, the
        partials by the parameters summed over the rows (zeros without);
        None where the engine has something to warn about."""
        matrices = self._matrices(chunk)
        values: dict[str, object] = {
            name: chunk[name] for name in self.program.inputs if name in chunk
        }
        values.update((name, point[name]) for name in self.wrt)
        for form, matrix in zip(self.forms, matrices, strict=True):
            weights = np.array([point[w] for w in form.weights]) * form.signs
            total = sum(c * (1.0 if p is None else point[p]) for p, c in form.added)
            made = np.einsum("ki,k->i", matrix, weights)
            values[form.name] = np.add(made, total, made)
        wrt = [*self.wrt, *(form.name for form in self.forms)] if gradient else []
        result = self.program.evaluate(values, wrt=wrt, summed=True)
        if result.warnings:
            return None
        found = np.zeros(len(self.params))
        if not gradient:
            return np.asarray(result.value), found
        for name in self.wrt:
            found[self.index[name]] += result.gradient[name]
        for form, matrix in zip(self.forms, matrices, strict=True):
            by_form = np.asarray(result.gradient[form.name])
            products = np.einsum("ki,i->k", matrix, by_form) * form.signs
            for weight, partial in zip(form.weights, products.tolist(), strict=True):
                found[self.index[weight]] += partial
            summed = float(np.add.reduce(by_form, None))
            for added, coefficient in form.added:
                if added is not None:
                    found[self.index[added]] += coefficient * summed
        return np.asarray(result.value), found

    def _matrices(self, chunk: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Each form's columns of ``chunk`` as the rows of one matrix: made
        once for the same rows (the same arrays: the training rows and the
        validation rows in memory), else made again."""
        arrays = tuple(chunk.values())
        for seen, matrices in self.stacked:
            if len(seen) == len(arrays) and all(map(operator.is_, seen, arrays)):
                return matrices
        matrices = [np.stack([chunk[c] for c in form.columns]) for form in self.forms]
        # The arrays themselves are kept: an id alone could be a new array's.
        self.stacked = [*self.stacked[-1:], (arrays, matrices)]
        return matrices


def lifted(joined: Function, params: Sequence[str], columns: Sequence[str]) -> Lifted | None:
    """``joined`` with its linear forms lifted out, or None if it has none."""
    program = parse(joined.source)
    found = _forms(program.statements, set(params), set(columns))
    if not found:
        return None
    taken = set(joined.inputs) | _bound(program.statements)
    text = joined.source
    forms = []
    # From the last, so that the spans before stay where they are.
    for node, terms in sorted(found, key=lambda item: -item[0].span.start):
        name = _free_name(taken)
        taken.add(name)
        products = [(sign, w, c) for sign, w, c in terms if c is not None]
        forms.append(
            Form(
                name=name,
                columns=[c for _, _, c in products],
                weights=[w for _, w, _ in products],
                signs=np.array([sign for sign, _, _ in products]),
                added=[(w, sign) for sign, w, c in terms if c is None],
            )
        )
        text = f"{text[: node.span.start]}{name}{text[node.span.end :]}"
    try:
        program_lifted = compile(text)
    except CgradError:  # (a form is an expression: its name stands for it anywhere)
        return None
    return Lifted(program_lifted, forms[::-1], params)


def _bound(statements: Sequence[object]) -> set[str]:
    return {s.name for s in statements if isinstance(s, Binding)}


def _free_name(taken: set[str]) -> str:
    k = 1
    while f"linear{k}" in taken:
        k += 1
    return f"linear{k}"


Term = tuple[float, str | None, str | None]  # (sign or number, weight, column)


def _forms(statements: Sequence[object], params: set[str], columns: set[str]) -> list:
    """The largest linear forms, each as (its node, its terms)."""
    found = []
    stack = [s.value if isinstance(s, Binding) else s for s in statements]
    while stack:
        node = stack.pop()
        if isinstance(node, Binary) and node.op in ("add", "sub"):
            terms = _terms(node, params, columns)
            if terms is not None:
                found.append((node, terms))
                continue
        if isinstance(node, Binary):
            stack += [node.left, node.right]
        elif isinstance(node, Call):
            stack += node.arguments
        elif isinstance(node, (Unary, Group)):
            stack.append(node.operand if isinstance(node, Unary) else node.inner)
    return found


def _terms(node: Binary, params: set[str], columns: set[str]) -> list[Term] | None:
    """The terms of a sum if it is a linear form with enough products, else None."""
    terms: list[Term] = []
    stack: list[tuple[object, float]] = [(node, 1.0)]
    while stack:
        item, sign = stack.pop()
        while isinstance(item, Group):
            item = item.inner
        if isinstance(item, Binary) and item.op in ("add", "sub"):
            stack.append((item.right, sign if item.op == "add" else -sign))
            stack.append((item.left, sign))
        elif isinstance(item, Binary) and item.op == "mul":
            pair = _product(item, params, columns)
            if pair is None:
                return None
            terms.append((sign, *pair))
        elif isinstance(item, Name) and item.name in params:
            terms.append((sign, item.name, None))
        elif isinstance(item, Number):
            terms.append((sign * item.value, None, None))
        else:
            return None
    products = sum(1 for _, _, column in terms if column is not None)
    return terms if products >= LEAST_PRODUCTS else None


def _product(node: Binary, params: set[str], columns: set[str]) -> tuple[str, str] | None:
    """(weight, column) of ``w*x`` or ``x*w``, else None."""
    left, right = node.left, node.right
    while isinstance(left, Group):
        left = left.inner
    while isinstance(right, Group):
        right = right.inner
    if isinstance(left, Name) and isinstance(right, Name):
        if left.name in params and right.name in columns:
            return left.name, right.name
        if right.name in params and left.name in columns:
            return right.name, left.name
    return None
