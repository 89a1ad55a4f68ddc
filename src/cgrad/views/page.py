"""The graph as one self-contained HTML page to step through in a browser:
the SVG of :mod:`cgrad.views.svg_graph`, the numbers of both passes as JSON,
and a small script of cgrad's own that fills them in step by step
(``page_assets/page.js``, ``page.css``, inlined: the page loads nothing).

The numbers come from the library: the forward and backward steps of
:mod:`cgrad.explain` (each edge's local derivative from the op table's
rules, the sums in the engine's order, so they equal ``eval --json``'s), the
paths of ``--paths``, and the evaluation's own warnings. Captions are
written here, so the script only shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape

from ..autodiff.evaluation import Result
from ..autodiff.graph import CONSTANT, INPUT, Graph, shorten
from ..explain import BackwardStep, ForwardStep, backward_steps, forward_steps, paths
from ..function import Function
from ..numerals import format_short, number_text
from .layout import edge_numbers, edges, layout
from .node_names import binding_names
from .svg_graph import asset, check_drawable, node_title, svg_pieces
from .terminal_steps import sum_text
from .visible_text import visible

# The paths listed per input on the page (all are counted), as `graph --paths`.
PAGE_PATHS = 20
# A path longer than twice this many nodes is listed by its two ends.
PATH_ENDS = 6
# What a page may weigh: the script and style, and so much per node and
# edge at most (the tests hold pages to it).
PAGE_BASE_BYTES = 40_000
PAGE_BYTES_PER_NODE = 2_000
# The source shown in the page's heading and title, at most: lines, and
# characters a line.
HEADING_LINES = 12
HEADING_CHARS = 120
# Warnings listed above the drawing; the rest are counted.
WARNINGS_SHOWN = 5


def page_limit(graph: Graph) -> int:
    """The most bytes the page of ``graph`` may take (see the tests)."""
    return PAGE_BASE_BYTES + PAGE_BYTES_PER_NODE * len(graph)


def script_json(data: object) -> str:
    """``data`` as JSON that can stand inside a <script> element: no '<'
    (which could end it: ``</script>``), '>' or '&' in it."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def html_page(title: str, body: Iterable[str], data: object, script: str | None = "page.js") -> str:
    """A whole page: ``body`` (trusted HTML and SVG), ``data`` in a JSON
    script element, the style and ``script`` (if any) inlined, and a policy
    that lets it load nothing from anywhere."""
    code = f"<script>\n{asset(script)}</script>\n" if script else ""
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
            f"<title>cgrad: {escape(visible(shorten(title, 80)))}</title>\n"
            f"<style>\n{asset('page.css')}{asset('graph.css')}</style>\n</head>\n<body>\n",
            *body,
            f'<script type="application/json" id="cgrad-data">{script_json(data)}</script>\n'
            f"{code}</body>\n</html>\n",
        ]
    )


def source_html(source: str) -> str:
    """A program as a heading shows it: its own lines (up to
    :data:`HEADING_LINES`, each cut at :data:`HEADING_CHARS` with an
    ellipsis), comments dimmed, blank lines left out."""
    lines = [line.rstrip() for line in source.splitlines() if line.strip()]
    shown = []
    for line in lines[:HEADING_LINES]:
        code, hash_, comment = visible(shorten(line, HEADING_CHARS)).partition("#")
        text = escape(code)
        if hash_:
            text += f'<span class="comment">{escape(hash_ + comment)}</span>'
        shown.append(text)
    if len(lines) > HEADING_LINES:
        more = len(lines) - HEADING_LINES
        shown.append(f'<span class="comment">… {more:,} more line{"s" * (more > 1)}</span>')
    return "\n".join(shown)


def graph_page(
    function: Function, result: Result | None = None, paths_to: str | None = None
) -> str:
    """The page of ``function``'s graph; with ``result`` (one point, reverse
    mode), the passes to step through, the warnings and the paths (those to
    input ``paths_to`` shown from the start)."""
    graph = function.graph
    check_drawable(graph)
    data: dict = {"edges": edges(graph), "output": graph.output, "steps": []}
    warnings: list[str] = []
    if result is not None:
        forward = list(forward_steps(function, result))  # refuses arrays, forward mode
        backward = list(backward_steps(function, result))
        data["steps"] = _forward_data(graph, forward) + _backward_data(graph, backward, data)
        data["warnings"] = [w.node for w in result.warnings if w.node is not None]
        data["reachable"] = graph.reachable()
        data["paths"] = {name: _paths_data(function, result, name) for name in result.gradient}
        data["selected"] = paths_to
        warnings = [w.message for w in result.warnings]
    body = [
        _heading(graph.source, warnings, result is not None),
        '<main id="drawing">\n',
        *svg_pieces(graph, layout(graph), _drawn_numbers(graph, result, data["steps"])),
        "</main>\n",
    ]
    return html_page(graph.source, body, data)


def _drawn_numbers(graph: Graph, result: Result | None, steps: list[dict]) -> dict:
    """What the drawing shows before any step: the values of the nodes the
    output does not use (no pass steps through them, but eval computed
    them); and the edge labels the steps will write, to make room for them."""
    if result is None or not result.node_values:
        return {}
    reachable = graph.reachable()
    values = [None if reachable[i] else v for i, v in enumerate(result.node_values)]
    later = {
        edge: f"∂ {local} → {product}"
        for step in steps
        for edge, _, _, local, product in step.get("sends", ())
    }
    return {"values": values, "later": later}


def _heading(source: str, warnings: list[str], stepping: bool) -> str:
    """The top of the page: the program, its warnings, the controls."""
    lines = [
        f'<header>\n<h1>cgrad</h1>\n<code id="source">{source_html(source)}</code>\n</header>\n'
    ]
    lines += [
        f'<p class="warning">warning: {escape(message)}</p>\n'
        for message in warnings[:WARNINGS_SHOWN]
    ]
    if len(warnings) > WARNINGS_SHOWN:
        more = len(warnings) - WARNINGS_SHOWN
        lines.append(
            f'<p class="warning">… and {more:,} more warnings (cgrad eval lists them)</p>\n'
        )
    if stepping:
        lines.append(
            '<nav id="controls">\n'
            '<button id="first" title="Home">|◀ start</button>\n'
            '<button id="prev" title="left arrow">◀ previous</button>\n'
            '<button id="play" title="space">▶ play</button>\n'
            '<button id="next" title="right arrow">next ▶</button>\n'
            '<button id="last" title="End">end ▶|</button>\n'
            '<span id="counter"></span>\n'
            '<label>paths to <select id="paths"><option value="">(none)</option></select></label>\n'
            '</nav>\n<p id="legend">On each edge, once the backward pass reaches it: '
            "∂ its local derivative → the product it sends down (the consumer's gradient × "
            "the local derivative).</p>\n"
            '<p id="caption"></p>\n<div id="paths-panel"></div>\n'
        )
    else:
        lines.append(
            '<p id="caption">Give a value for every input to step through the passes.</p>\n'
        )
    return "".join(lines)


def _name(graph: Graph, names: dict[int, str], node_id: int) -> str:
    """``@2 a = x*y``: how a caption names a node."""
    return f"@{node_id} {visible(node_title(graph, names, node_id, 40))}"


def _forward_data(graph: Graph, steps: list[ForwardStep]) -> list[dict]:
    names = binding_names(graph)
    values = {step.node: step.value for step in steps}
    data = []
    for step in steps:
        short = format_short(step.value)
        if step.op == INPUT:
            caption = f"input {_name(graph, names, step.node)} = {short}"
        elif step.op == CONSTANT:
            caption = f"constant {_name(graph, names, step.node)} = {short}"
        else:
            arguments = ", ".join(format_short(values[i]) for i in step.operands)
            caption = f"{_name(graph, names, step.node)} = {step.op}({arguments}) = {short}"
        data.append(
            {
                "pass": "forward",
                "node": step.node,
                "value": number_text(step.value),
                "short": short,
                "caption": f"forward: {caption}",
            }
        )
    return data


def _backward_data(graph: Graph, steps: list[BackwardStep], data: dict) -> list[dict]:
    names = binding_names(graph)
    edge_of = edge_numbers(graph)
    made = []
    for step in steps:
        short = format_short(step.gradient)
        if not step.terms:
            caption = f"{_name(graph, names, step.node)}: the output, its gradient is 1"
        elif len(step.terms) == 1:
            caption = f"{_name(graph, names, step.node)}: gradient {short}"
        else:
            # What meets here is one gradient per edge in (paths are counted
            # by the paths view); a long sum is counted, as --steps does.
            caption = (
                f"{_name(graph, names, step.node)}: gradients from {len(step.terms)} edges "
                f"add up, {sum_text(step.terms, step.gradient)}"
            )
        if graph.columns.ops[step.node] == INPUT:
            caption += f", which is ∂f/∂{graph.columns.names[step.node]}"
        sends = []
        for edge in step.edges:
            local, product = format_short(edge.local), format_short(edge.product)
            sends.append(
                [
                    edge_of[(step.node, edge.position)],
                    number_text(edge.local),
                    number_text(edge.product),
                    local,
                    product,
                ]
            )
            caption += f"; to @{edge.operand}: {local} × {short} = {product}"
        made.append(
            {
                "pass": "backward",
                "node": step.node,
                "grad": number_text(step.gradient),
                "short": short,
                "sends": sends,
                "caption": f"backward: {caption}",
            }
        )
    return made


def _paths_data(function: Function, result: Result, name: str) -> dict:
    """The ``--paths`` view of input ``name``: the count, the partial, and
    the first paths with their local derivatives and products."""
    found = paths(function, result, name, limit=PAGE_PATHS)
    return {
        "input": function.graph.input_ids[name],
        "count": f"{found.count:,}",
        "gradient": format_short(found.gradient),
        "shown": _counted(path_text(p.nodes, p.locals, p.product) for p in found.shown),
    }


def _counted(texts: Iterable[str]) -> list[str]:
    """``texts`` with a run of equal ones written once and counted: the
    paths through both arguments of ``a*a`` pass the same nodes."""
    made: list[str] = []
    last, count = None, 0
    for text in [*texts, None]:
        if text == last:
            count += 1
            continue
        if last is not None:
            made.append(last if count == 1 else f"{last} (×{count}: one per argument)")
        last, count = text, 1
    return made


def path_text(nodes: tuple[int, ...], slopes: tuple[float, ...], product: float) -> str:
    """``@4 → @2 → @0: 1 × 2 = 2``; a long path with its middle left out,
    so that a page of deep paths stays small."""
    if len(nodes) <= 2 * PATH_ENDS:
        route = " → ".join(f"@{i}" for i in nodes)
        factors = " × ".join(format_short(s) for s in slopes) or "1"
        return f"{route}: {factors} = {format_short(product)}"
    head = " → ".join(f"@{i}" for i in nodes[:PATH_ENDS])
    tail = " → ".join(f"@{i}" for i in nodes[-PATH_ENDS:])
    hidden = len(nodes) - 2 * PATH_ENDS
    return (
        f"{head} → … {hidden:,} more … → {tail}: the product of its {len(slopes):,} "
        f"local derivatives = {format_short(product)}"
    )
