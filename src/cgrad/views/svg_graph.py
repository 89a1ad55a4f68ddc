"""The graph as SVG, placed by :mod:`cgrad.views.layout`: one ``<g
class="node">`` per node and one ``<path class="edge">`` per edge, each with
``data-`` attributes that say which node or edge it is.

:func:`graph_svg` is the drawing on its own (for a notebook, or a file):
with a result, each node shows its value and gradient and each edge its
local derivative. The page of :mod:`cgrad.views.page` draws the same SVG
with those texts empty, and its script fills them in step by step. User
text (names, source) is escaped; numbers are written by
:mod:`cgrad.numerals`, short on the drawing and whole in ``data-`` attributes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from html import escape
from importlib.resources import files

import numpy as np

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, LABEL_WIDTH, Graph, shorten
from ..errors import UsageError
from ..explain import backward_steps
from ..function import Function
from ..numerals import format_short, number_text
from .edge_labels import line_points, place_labels
from .layout import MARGIN, NODE_HEIGHT, NODE_WIDTH, Layout, edge_numbers, edges, layout
from .node_names import binding_names
from .visible_text import visible

# Past this many nodes a drawing is a hairball, and laying it out and
# writing it would take long: refused with a clear message instead.
DRAWING_LIMIT = 500
# Characters of a node's label that fit in its box.
LABEL_CHARS = 22


def asset(name: str) -> str:
    """One of the drawing's and page's own files (style, script), as text."""
    return (files("cgrad.views") / "page_assets" / name).read_text(encoding="utf-8")


def check_drawable(
    graph: Graph, hint: str = "look at it with --format json, --format dot, or as a tree"
) -> None:
    """Refuse a graph too big to draw readably, before any work is done;
    ``hint`` says what to do instead (the default, graph's own options)."""
    if len(graph) > DRAWING_LIMIT:
        raise UsageError(
            f"the drawing shows graphs of up to {DRAWING_LIMIT:,} nodes; "
            f"this one has {len(graph):,}",
            hint=hint,
        )


def graph_svg(function: Function, result: Result | None = None) -> str:
    """The graph of ``function`` as an SVG document; with ``result`` (one
    point, reverse mode), each node's value and gradient and each edge's
    local derivative and the product it sends."""
    graph = function.graph
    check_drawable(graph)
    numbers: dict[str, object] = {}
    if _one_point(result):
        assert result is not None
        numbered = edge_numbers(graph)
        sent: dict[int, tuple[float, float]] = {}
        for step in backward_steps(function, result):
            for edge in step.edges:
                sent[numbered[(step.node, edge.position)]] = (edge.local, edge.product)
        numbers = {
            "values": result.node_values,
            "grads": result.node_gradients,
            "edges": sent,
            "warned": {w.node for w in result.warnings if w.node is not None},
        }
    # On its own (a notebook, a file) the drawing carries its style.
    return "".join(svg_pieces(graph, layout(graph), numbers, asset("graph.css")))


def _one_point(result: Result | None) -> bool:
    return (
        result is not None
        and bool(result.node_values)
        and np.ndim(result.value) == 0
        and result.node_gradients is not None
    )


def svg_pieces(graph: Graph, placed: Layout, numbers: dict, style: str = "") -> Iterator[str]:
    """The SVG text of ``graph`` placed by ``placed``; ``numbers`` holds
    ``values``, ``grads`` and ``edges`` (edge index to local derivative and
    product) to write in, or nothing, for a page that fills them in (and
    ``later``, the edge labels it will write, to make room for them);
    ``style`` goes into a <style> element (a page has its own)."""
    ends = _ends(graph, placed)
    sent = numbers.get("edges", {})
    texts = {
        index: f"∂ {format_short(local)} → {format_short(product)}"
        for index, (local, product) in sent.items()
    }
    spots, right = label_spots(graph, placed, ends, {**numbers.get("later", {}), **texts})
    # A label may stick out right of the boxes: the drawing widens for it.
    width, height = round(max(placed.width, right + MARGIN)), round(placed.height)
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cgrad-graph" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="monospace" font-size="11">\n'
        # Arrowheads in the drawing's units: a thick (current) edge keeps
        # the same head.
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
        'fill="#64748b"/></marker></defs>\n'
    )
    if style:
        yield f"<style>\n{style}</style>\n"
    yield '<g class="edges">\n'
    yield from _edges(graph, placed, ends, sent, texts, spots)
    yield '</g>\n<g class="nodes">\n'
    yield from _nodes(graph, placed, numbers)
    yield "</g>\n</svg>\n"


def _ends(graph: Graph, placed: Layout) -> list[tuple[float, float, float, float]]:
    """Per edge where it leaves its operand (the top middle of its box) and
    where it arrives: each argument has its own point on the bottom of the
    consumer's box, ordered by where the edges come from (not by argument
    position), so that the edges into one box do not cross."""
    listed = edges(graph)
    arrivals: dict[int, list[tuple[float, int]]] = {}
    for index, (operand, node_id, _) in enumerate(listed):
        bend = placed.bends.get(index)
        source = bend[0] if bend else placed.x[operand] + NODE_WIDTH / 2
        arrivals.setdefault(node_id, []).append((source, index))
    ends = [(0.0, 0.0, 0.0, 0.0)] * len(listed)
    for node_id, coming in arrivals.items():
        coming.sort()
        for slot, (source, index) in enumerate(coming):
            operand = listed[index][0]
            bend = placed.bends.get(index)
            ends[index] = (
                source,
                bend[1] if bend else placed.y[operand],
                placed.x[node_id] + NODE_WIDTH * (slot + 1) / (len(coming) + 1),
                placed.y[node_id] + NODE_HEIGHT,
            )
    return ends


def _edges(
    graph: Graph,
    placed: Layout,
    ends: list[tuple[float, float, float, float]],
    sent: dict,
    texts: dict[int, str],
    spots: list[tuple[str, float, float]],
) -> Iterator[str]:
    """Each operand's trunk (the way up its long edges share), then each
    edge, from its operand or trunk (``ends``), with the text element its
    local derivative is written in at its spot (empty where a page's script
    writes it later)."""
    for operand, points in placed.trunks.items():
        start = (placed.x[operand] + NODE_WIDTH / 2, placed.y[operand])
        yield f'<path class="trunk" data-from="{operand}" d="{_curve([start, *points])}"/>\n'
    for index, (operand, node_id, position) in enumerate(edges(graph)):
        x1, y1, x2, y2 = ends[index]
        ids = f'data-edge="{index}" data-from="{operand}" data-to="{node_id}"'
        if index in sent:
            local, product = sent[index]
            ids += f' data-local="{number_text(local)}" data-product="{number_text(product)}"'
        side, lx, ly = spots[index]
        d = _curve([(x1, y1), (x2, y2)])
        yield (
            f'<path class="edge" {ids} data-position="{position}" d="{d}" '
            f'marker-end="url(#arrow)"/>\n'
            f'<text class="edge-label {side}" data-edge="{index}" x="{lx:.0f}" y="{ly:.0f}">'
            f"{texts.get(index, '')}</text>\n"
        )


def label_spots(
    graph: Graph, placed: Layout, ends: list[tuple[float, float, float, float]], texts: dict
) -> tuple[list[tuple[str, float, float]], float]:
    """Per edge its label's side and anchor point, placed by
    :mod:`cgrad.views.edge_labels` beside its own edge among the drawing's
    lines and boxes (an edge without a text gets a spot by its head), and
    how far right the labels reach."""
    listed = edges(graph)
    lines = [line_points([(x1, y1), (x2, y2)]) for x1, y1, x2, y2 in ends]
    trunks = [
        line_points([(placed.x[operand] + NODE_WIDTH / 2, placed.y[operand]), *points])
        for operand, points in placed.trunks.items()
    ]
    boxes = [
        (x, y, x + NODE_WIDTH, y + NODE_HEIGHT) for x, y in zip(placed.x, placed.y, strict=True)
    ]
    centers = [placed.x[node_id] + NODE_WIDTH / 2 for _, node_id, _ in listed]
    found, right = place_labels(lines, centers, texts, trunks, boxes, placed.height)
    spots = [
        found.get(index, ("right", x2 + 8, y2 + 13)) for index, (_, _, x2, y2) in enumerate(ends)
    ]
    return spots, right


def _curve(points: list[tuple[float, float]]) -> str:
    """An SVG path through ``points`` (bottom to top), each piece a curve
    that leaves and arrives vertically, or a straight line up a row."""
    (x, y), rest = points[0], points[1:]
    # Whole pixels: a tenth more is invisible and a tenth of the page.
    d = f"M{x:.0f} {y:.0f}"
    for nx, ny in rest:
        if round(nx) == round(x):
            d += f"V{ny:.0f}"
        else:
            middle = (y + ny) / 2
            d += f"C{x:.0f} {middle:.0f} {nx:.0f} {middle:.0f} {nx:.0f} {ny:.0f}"
        x, y = nx, ny
    return d


def _nodes(graph: Graph, placed: Layout, numbers: dict) -> Iterator[str]:
    names = binding_names(graph)
    values: Sequence | None = numbers.get("values")
    grads: Sequence | None = numbers.get("grads")
    warned = numbers.get("warned", set())
    ops = graph.columns.ops
    reachable = graph.reachable()
    for node_id, op in enumerate(ops):
        kind = "input" if op == INPUT else "const" if op == CONSTANT else "op"
        classes = f"node {kind}" + (" output" if node_id == graph.output else "")
        classes += "" if reachable[node_id] else " unused"
        # As the page's script marks them once stepped through.
        known = [c[node_id] for c in (values, grads) if c is not None and c[node_id] is not None]
        classes += " computed" * bool(known)
        classes += " nonfinite" * any(not math.isfinite(float(n)) for n in known)
        classes += " warned" * (node_id in warned)
        # Control characters written out: a bidi override in a comment
        # would reorder the page's text around it.
        title = visible(node_title(graph, names, node_id))
        shown = shorten(title, LABEL_CHARS)
        value = _number(values, node_id, "value", "= ")
        grad = _number(grads, node_id, "grad", "grad ")
        yield (
            f'<g class="{classes}" data-node="{node_id}" data-op="{escape(op)}" '
            f'transform="translate({placed.x[node_id]:.0f},{placed.y[node_id]:.0f})">'
            f"<title>@{node_id} {escape(op)}: {escape(title)}</title>"
            f'<rect width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="8"/>'
            f'<text class="head" x="{NODE_WIDTH / 2:g}" y="15">@{node_id} {escape(op)}</text>'
            f'<text class="label" x="{NODE_WIDTH / 2:g}" y="30">{escape(shown)}</text>'
            f'<text class="numbers" x="{NODE_WIDTH / 2:g}" y="47">{value}</text>'
            f'<text class="numbers" x="{NODE_WIDTH / 2:g}" y="63">{grad}</text></g>\n'
        )


def node_title(graph: Graph, names: dict[int, str], node_id: int, width: int = LABEL_WIDTH) -> str:
    """``a = x*y``: a node's label (``width`` characters at most) with the
    name it is bound to; an input shows its own name even when it is bound."""
    title = graph.label(node_id, width)
    if graph.columns.ops[node_id] != INPUT and node_id in names:
        title = f"{names[node_id]} = {title}"
    return title


def _number(column: Sequence | None, node_id: int, name: str, prefix: str) -> str:
    """The tspan a node's value or gradient is written in: filled in when
    known, else empty for the page's script."""
    number = column[node_id] if column is not None else None
    if number is None:
        return f'<tspan class="{name}"></tspan>'
    return (
        f'<tspan class="{name}" data-{name}="{number_text(float(number))}">'
        f"{prefix}{format_short(number)}</tspan>"
    )
