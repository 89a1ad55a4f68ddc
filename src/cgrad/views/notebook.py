"""cgrad's objects as Jupyter shows them: a compiled function (its
expression, its inputs and its graph) and an evaluation's result (a table
of the value and the partial derivatives, the warnings, and the graph with
each node's value and gradient) as HTML. Formulas show themselves as LaTeX
(:meth:`cgrad.Formulas._repr_latex_`).

The library's ``_repr_*_`` methods import this module only when a notebook
asks, and it needs nothing beyond cgrad's own dependencies. The graph is
the browser page's drawing (:func:`cgrad.views.svg_graph.graph_svg`), in
the HTML only, so that a stored notebook holds it once.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from ..autodiff.evaluation import Result
from ..errors import CgradError
from ..function import Function
from ..numerals import format_number
from .page import source_html
from .svg_graph import graph_svg

# The numbers of an array shown in a result's table: a long one shows its
# first and last few, with its shape.
NUMBERS_SHOWN = 6


def graph_html(function: Function, result: Result | None = None) -> str:
    """The graph for an HTML cell: its SVG, or a line saying it is too big
    to draw (as the page refuses it)."""
    try:
        svg = graph_svg(function, result)
    except CgradError:
        return (
            f"<p>a graph of {len(function.graph):,} nodes, too big to draw here "
            "(cgrad graph --format dot writes it)</p>"
        )
    return f'<div class="cgrad-graph">{svg}</div>'


def function_html(function: Function) -> str:
    """A compiled :class:`cgrad.Function`: its expression, inputs and graph."""
    graph = function.graph
    inputs = ", ".join(function.inputs) or "none"
    nodes = sum(graph.reachable())
    return (
        '<div class="cgrad-function">'
        f'<p><code style="white-space: pre-wrap">{source_html(function.source)}</code></p>'
        f"<p>inputs: {escape(inputs)}; {nodes} node{'' if nodes == 1 else 's'}</p>"
        f"{graph_html(function)}</div>"
    )


def result_html(result: Result) -> str:
    """An evaluation's :class:`~cgrad.autodiff.evaluation.Result` as the
    command line shows it: the value, a table of each input's value and
    partial derivative, the warnings, and the graph with values and
    gradients (at one point)."""
    point = result.graph is not None and np.ndim(result.value) == 0
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{_input_value(result, name)}</td>"
        f"<td>{_number_html(partial)}</td></tr>"
        for name, partial in result.gradient.items()
    )
    parts = [
        f'<div class="cgrad-result"><p>value <b>{_number_html(result.value)}</b></p>',
        "<table><thead><tr><th>input</th><th>value</th><th>∂f/∂input</th></tr></thead>",
        f"<tbody>{rows}</tbody></table>",
    ]
    if result.warnings:
        items = "".join(f"<li>warning: {escape(w.message)}</li>" for w in result.warnings)
        parts.append(f"<ul>{items}</ul>")
    if point:
        assert result.graph is not None  # (point says so)
        parts.append(graph_html(Function(result.graph), result))
    parts.append("</div>")
    return "".join(parts)


def _input_value(result: Result, name: str) -> str:
    """The value input ``name`` had, read off its node ('' for a name the
    graph does not use or a result without them): a scalar input of a
    result of many points shows its number."""
    node = None if result.graph is None else result.graph.input_ids.get(name)
    if node is None or node >= len(result.node_values):
        return ""
    return _number_html(result.node_values[node])


def _number_html(number: Any) -> str:
    """A number as it round-trips (``9``, ``0.1``, ``NaN``); an array of
    many points by its numbers, the first and last few of a long one (in
    order, row by row), and its shape."""
    if np.ndim(number) == 0:
        return format_number(float(number))
    flat = np.ravel(number)
    if flat.size <= NUMBERS_SHOWN:
        shown = [format_number(v) for v in flat.tolist()]
    else:
        head, tail = flat[: NUMBERS_SHOWN - 2].tolist(), flat[-2:].tolist()
        shown = [*map(format_number, head), "…", *map(format_number, tail)]
    return f"[{', '.join(shown)}] (shape {np.shape(number)})"
