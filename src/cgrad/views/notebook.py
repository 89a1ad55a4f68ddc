"""cgrad's objects as Jupyter shows them: a compiled function (its
expression, its inputs and its graph) and an evaluation's result (a table
of the value and the partial derivatives, the warnings, and the graph with
each node's value and gradient) as HTML, and the graph as SVG. Formulas
show themselves as LaTeX (:meth:`cgrad.Formulas._repr_latex_`).

The library's ``_repr_*_`` methods import this module only when a notebook
asks, and it needs nothing beyond cgrad's own dependencies. The SVG is the
browser page's drawing (``graph_svg`` of :data:`SVG_RENDERER`); where that
module is missing, the graph is shown as its Graphviz DOT text instead.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from ..autodiff.evaluation import Result
from ..errors import CgradError
from ..function import Function
from ..numerals import format_number
from .drawings import dot

# The module that draws a graph as SVG, graph_svg(function, result=None) -> str
# (imported below by its relative name; it refuses a graph too big to draw).
SVG_RENDERER = "cgrad.views.svg_graph"
# Nodes beyond which the DOT text is not put in a notebook (it would be
# pages long); cgrad graph --format dot writes it whole.
DOT_SHOWN = 300


def graph_svg(function: Function, result: Result | None = None) -> str | None:
    """The function's graph as SVG, with values and gradients when
    ``result`` holds a point; None where no SVG renderer is installed, or
    where it refuses the graph as too big to draw."""
    try:
        # The browser page's renderer (merged from another branch): a
        # notebook without it still shows the rest.
        from .svg_graph import graph_svg as draw
    except ImportError:
        return None
    try:
        return str(draw(function, result))
    except CgradError:
        return None


def graph_html(function: Function, result: Result | None = None) -> str:
    """The graph for an HTML cell: its SVG, else its DOT text (up to
    :data:`DOT_SHOWN` nodes) in a ``<pre>``."""
    svg = graph_svg(function, result)
    if svg is not None:
        return f'<div class="cgrad-graph">{svg}</div>'
    graph = function.graph
    if len(graph) > DOT_SHOWN:
        return (
            f"<p>a graph of {len(graph):,} nodes, too big to show here "
            "(cgrad graph --format dot writes it)</p>"
        )
    return f'<pre class="cgrad-dot">{escape(dot(graph, result))}</pre>'


def function_html(function: Function) -> str:
    """A compiled :class:`cgrad.Function`: its expression, inputs and graph."""
    graph = function.graph
    inputs = ", ".join(function.inputs) or "none"
    nodes = sum(graph.reachable())
    return (
        '<div class="cgrad-function">'
        f"<p><code>{escape(function.source)}</code></p>"
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
        f"<tr><td>{escape(name)}</td><td>{_input_value(result, name) if point else ''}</td>"
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
    graph does not use)."""
    assert result.graph is not None
    node = result.graph.input_ids.get(name)
    return "" if node is None else _number_html(result.node_values[node])


def _number_html(number: Any) -> str:
    """A number as it round-trips (``9``, ``0.1``, ``NaN``); an array of
    many points by its shape."""
    if np.ndim(number) == 0:
        return format_number(float(number))
    return f"an array of shape {np.shape(number)}"
