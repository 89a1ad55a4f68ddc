"""The page and its pieces without a browser: the layered layout, the SVG,
the page's data and escaping, its size bound, the cut-off for big graphs,
the contour lines, and the command-line options that write pages.
(tests/test_page_browser.py loads the pages in headless Chromium.)"""

from __future__ import annotations

import json
import random
import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

import cgrad
from cgrad.explain import backward_steps, paths
from cgrad.numerals import number_text
from cgrad.views import layout as layout_module
from cgrad.views.contours import contour_path
from cgrad.views.layout import NODE_WIDTH, edges, layer_numbers, layout
from cgrad.views.page import graph_page, page_limit, script_json
from cgrad.views.svg_graph import DRAWING_LIMIT, graph_svg
from cgrad.views.terminal_steps import sum_text

SEED = "(x+y)*z"
SHARED = "a = x*y; a + sin(a)"


def chain(steps: int) -> str:
    """A program of 4 + 3 * steps + 2 nodes in which every link is shared."""
    lines = ["a0 = x*y"]
    lines += [f"a{k + 1} = sin(a{k}) + a{k}*z" for k in range(steps)]
    return "; ".join(lines) + f"; a{steps}*x + y"


def page_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="cgrad-data">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


# --------------------------------------------------------------------------
# The layout


@pytest.mark.parametrize("program", [SEED, SHARED, chain(20), "x*x + 2*x - 3 + pi"])
def test_layers_put_every_node_just_below_its_lowest_consumer(program):
    graph = cgrad.compile(program).graph
    layer = layer_numbers(graph)
    assert layer[graph.output] == max(layer)
    lowest: dict[int, int] = {}
    for operand, consumer, _ in edges(graph):
        assert layer[operand] < layer[consumer]
        lowest[operand] = min(lowest.get(operand, layer[consumer]), layer[consumer])
    for node_id, consumer_layer in lowest.items():
        assert layer[node_id] == consumer_layer - 1
    placed = layout(graph)
    # One box per node, a shared one too; boxes of one row do not overlap.
    assert len(placed.x) == len(graph)
    rows: dict[float, list[float]] = {}
    for x, y in zip(placed.x, placed.y, strict=True):
        rows.setdefault(y, []).append(x)
    for xs in rows.values():
        xs.sort()
        assert all(b - a >= NODE_WIDTH for a, b in zip(xs, xs[1:], strict=False))
    assert min(placed.x) >= 0 and max(placed.x) + NODE_WIDTH <= placed.width


def _crossings(graph, placed) -> int:
    """Pairs of edges between the same two layers that cross."""
    layer = layer_numbers(graph)
    spans: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for operand, consumer, _ in edges(graph):
        if layer[consumer] - layer[operand] == 1:
            key = (layer[operand], layer[consumer])
            spans.setdefault(key, []).append((placed.x[operand], placed.x[consumer]))
    return sum(
        1
        for pairs in spans.values()
        for (a1, b1), (a2, b2) in combinations(pairs, 2)
        if (a1 - a2) * (b1 - b2) < 0
    )


def _random_program(rng: random.Random, size: int) -> str:
    names = [f"v{i}" for i in range(8)]
    lines = []
    for k in range(size):
        a, b = rng.sample(names, 2)
        lines.append(f"t{k} = {a}*{b}")
        names.append(f"t{k}")
    return "; ".join(lines) + "; " + " + ".join(names[-6:])


def test_barycenter_sweeps_remove_crossings(monkeypatch):
    rng = random.Random(7)
    programs = [_random_program(rng, 25) for _ in range(6)]
    graphs = [cgrad.compile(p).graph for p in programs]
    swept = sum(_crossings(g, layout(g)) for g in graphs)
    monkeypatch.setattr(layout_module, "SWEEPS", 0)
    unswept = sum(_crossings(g, layout(g)) for g in graphs)
    assert swept < unswept * 0.8


def test_long_edges_bend_round_the_rows_between():
    graph = cgrad.compile(SHARED).graph  # a (@2) feeds @4 across sin(a)'s row
    placed = layout(graph)
    numbered = {(o, c): k for k, (o, c, _) in enumerate(edges(graph))}
    x, _ = placed.bends[numbered[(2, 4)]]
    assert placed.trunks[2][-1] == placed.bends[numbered[(2, 4)]]
    sine = placed.x[3]
    assert not sine <= x <= sine + NODE_WIDTH  # beside the box of sin(a), not through it


def test_a_shared_operand_has_one_trunk_for_all_its_long_edges():
    # z feeds every link of the chain: one bend a row, not one a row and edge.
    graph = cgrad.compile(chain(98)).graph
    placed = layout(graph)
    z = graph.input_ids["z"]
    layer = layer_numbers(graph)
    users = [c for o, c, _ in edges(graph) if o == z]
    assert len(placed.trunks[z]) == 2 * (max(layer[c] for c in users) - layer[z] - 1)
    points = sum(len(trunk) for trunk in placed.trunks.values())
    assert points <= 2 * layout_module.BENDS_PER_NODE * len(graph)


def test_bend_points_are_bounded_by_the_size_of_the_graph():
    # 40 inputs added at the bottom of a tower of 250 sines and again at its
    # top: a trunk each up the tower, more than the budget; the shortest get
    # theirs, the others go straight.
    names = [f"x{i}" for i in range(40)]
    tower = "+".join(names)
    for _ in range(250):
        tower = f"sin({tower})"
    graph = cgrad.compile(tower + " + " + "+".join(names)).graph
    placed = layout(graph)
    budget = layout_module.BENDS_PER_NODE * len(graph)
    assert 0 < sum(len(trunk) for trunk in placed.trunks.values()) <= 2 * budget
    layer = layer_numbers(graph)
    highest: dict[int, int] = {}
    for operand, consumer, _ in edges(graph):
        highest[operand] = max(highest.get(operand, 0), layer[consumer])
    spans = {operand: top - layer[operand] - 1 for operand, top in highest.items()}
    assert sum(span for span in spans.values() if span > 0) > budget  # the budget was needed


# --------------------------------------------------------------------------
# The SVG and the page


def test_graph_svg_has_one_element_per_node_and_edge_with_the_library_numbers():
    function = cgrad.compile(SHARED)
    result = function.evaluate(x=0.5, y=2)
    svg = graph_svg(function, result)
    nodes = re.findall(r'<g class="node[^"]*" data-node="(\d+)"', svg)
    assert nodes == [str(i) for i in range(len(function.graph))]
    assert len(re.findall(r'<path class="edge"', svg)) == len(edges(function.graph)) == 5
    values = [float(v) for v in re.findall(r'data-value="([^"]+)"', svg)]
    assert values == [float(v) for v in result.node_values]
    grads = [float(v) for v in re.findall(r'data-grad="([^"]+)"', svg)]
    assert grads == [float(g) for g in result.node_gradients]
    locals_ = {
        (step.node, edge.position): edge.local
        for step in backward_steps(function, result)
        for edge in step.edges
    }
    shown = re.findall(
        r'data-edge="(\d+)" data-from="\d+" data-to="(\d+)" data-local="([^"]+)"'
        r' data-product="[^"]+" data-position="(\d+)"',
        svg,
    )
    assert len(shown) == 5
    for _, consumer, local, position in shown:
        assert float(local) == locals_[(int(consumer), int(position))]
    assert "<style>" in svg  # it carries its own style, for a notebook


def test_user_text_is_escaped_in_the_page_and_its_data():
    program = "# </script><img src=x onerror=alert(1)> & <b>\n(x # </script><i>\n + y)"
    function = cgrad.compile(program)
    page = graph_page(function, function.evaluate(x=1, y=2))
    assert "<img" not in page and "<b>" not in page and "<i>" not in page
    # The data script and the page's own script are the only ones ended.
    assert page.count("</script>") == 2
    assert page_data(page)["steps"][-1]["caption"].startswith("backward: @0 x")
    assert script_json({"a": "</script>&"}) == '{"a":"\\u003c/script\\u003e\\u0026"}'


def test_the_page_loads_nothing_from_anywhere():
    function = cgrad.compile(SEED)
    page = graph_page(function, function.evaluate(x=1, y=2, z=3))
    assert "Content-Security-Policy\" content=\"default-src 'none';" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\((?!#)", page)  # only references inside the page


def test_captions_say_how_many_edges_add_up_and_count_long_sums():
    function = cgrad.compile(SHARED)
    result = function.evaluate(x=0.5, y=2.0)
    captions = {s["node"]: s["caption"] for s in page_data(graph_page(function, result))["steps"]}
    terms = next(step.terms for step in backward_steps(function, result) if step.node == 2)
    assert captions[2].startswith(
        f"backward: @2 a = x*y: gradients from 2 edges add up, {sum_text(terms, sum(terms))}"
    )
    assert " − " in captions[2] or " + " in captions[2]
    # z feeds every link of the chain: its sum is counted, not listed.
    function = cgrad.compile(chain(98))
    result = function.evaluate(x=0.5, y=0.5, z=0.5)
    z = function.graph.input_ids["z"]
    uses = sum(1 for operand, _, _ in edges(function.graph) if operand == z)
    data = page_data(graph_page(function, result))
    (caption,) = [s["caption"] for s in data["steps"] if s["node"] == z and s["pass"] == "backward"]
    assert f"gradients from {uses} edges add up, sum of {uses} = " in caption
    assert len(caption) < 200


@pytest.mark.parametrize(
    "program", [SEED, SHARED, chain(98), "+".join(f"x{i}" for i in range(DRAWING_LIMIT // 2))]
)
def test_pages_stay_within_their_size_bound(program):
    function = cgrad.compile(program)
    values = dict.fromkeys(function.inputs, 0.5)
    page = graph_page(function, function.evaluate(values))
    assert len(page.encode()) <= page_limit(function.graph)


def test_the_chain_has_300_nodes():
    assert len(cgrad.compile(chain(98)).graph) == 300


# --------------------------------------------------------------------------
# Contours


def test_contour_lines_of_a_paraboloid_are_circles():
    xs = ys = np.linspace(-2, 2, 41)
    function = cgrad.compile("x^2 + y^2")
    from cgrad.views.contours import grid_values

    values = grid_values(function, ("x", "y"), {}, xs, ys)
    np.testing.assert_allclose(values, np.add.outer(ys**2, xs**2))
    # Drawing coordinates: the grid's own (column, row) mapped back to x, y.
    # Drawing coordinates: a thousandth of a unit each, from (-2, -2).
    path = contour_path(values, 1.0, lambda c: c * 100, lambda r: r * 100)
    points = [tuple(map(float, p.split())) for p in re.findall(r"[ML]([-\d.]+ [-\d.]+)", path)]
    assert len(points) > 40
    radii = [np.hypot(x / 1000 - 2, y / 1000 - 2) for x, y in points]
    assert max(abs(r - 1) for r in radii) < 0.02


# --------------------------------------------------------------------------
# The command line


def test_graph_format_html_writes_the_page(cli, tmp_path):
    target = tmp_path / "page.html"
    result = cli("graph", SEED, "x=1", "y=2", "z=3", "--format", "html", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    function = cgrad.compile(SEED)
    expected = graph_page(function, function.evaluate(x=1, y=2, z=3))
    assert target.read_text(encoding="utf-8") == expected


def test_graph_format_html_without_values_is_a_drawing(cli):
    result = cli("graph", SEED, "--format", "html")
    assert result.exit_code == 0
    assert page_data(result.stdout)["steps"] == []
    assert "Give a value for every input" in result.stdout


def test_graph_format_html_of_a_program_without_inputs_steps_through_it(cli):
    result = cli("graph", "2+3", "--format", "html")
    assert result.exit_code == 0
    assert "Give a value" not in result.stdout
    function = cgrad.compile("2+3")
    assert result.stdout == graph_page(function, function.evaluate())
    passes = [step["pass"] for step in page_data(result.stdout)["steps"]]
    assert passes == ["forward"] * 3 + ["backward"]  # constants receive no gradient


def test_graph_paths_on_the_page_are_shown_from_the_start(cli):
    result = cli("graph", SHARED, "x=0.5", "y=2", "--format", "html", "--paths", "x")
    data = page_data(result.stdout)
    assert data["selected"] == "x"
    assert data["paths"]["x"]["count"] == "2"
    assert data["paths"]["x"]["shown"] == [
        "@4 → @2 → @0: 1 × 2 = 2",
        "@4 → @3 → @2 → @0: 1 × 0.540302 × 2 = 1.0806",
    ]


def test_eval_html_writes_the_page_and_the_same_report(cli, tmp_path):
    target = tmp_path / "page.html"
    plain = cli("eval", SHARED, "x=0.5", "y=2")
    result = cli("eval", SHARED, "x=0.5", "y=2", "--html", str(target))
    assert result.exit_code == 0
    assert result.stdout == plain.stdout
    data = page_data(target.read_text(encoding="utf-8"))
    assert [step["pass"] for step in data["steps"]] == ["forward"] * 5 + ["backward"] * 5


ERRORS = [
    (
        ["graph", SEED, "--format", "dot", "-o", "out.html"],
        "-o writes the page of --format html; the other formats go to stdout",
    ),
    (
        ["eval", SEED, "x=1", "y=2", "z=3", "--html", "-"],
        "--html needs a file: stdout has the report",
    ),
    (
        ["eval", SEED, "x=1", "y=2", "z=3", "--html", "p.html", "--mode", "forward"],
        "--html steps through the backward pass, which --mode forward does not run",
    ),
    (["minimize", "x^2", "x=1", "--html", "-"], "--html needs a file: stdout has the report"),
    (
        ["graph", "+".join(f"x{i}" for i in range(DRAWING_LIMIT // 2 + 1)), "--format", "html"],
        f"the drawing shows graphs of up to {DRAWING_LIMIT} nodes; "
        f"this one has {DRAWING_LIMIT + 1}",
    ),
    (
        ["eval", "+".join(["x"] * (DRAWING_LIMIT + 1)), "x=1", "--html", "p.html"],
        f"the drawing shows graphs of up to {DRAWING_LIMIT} nodes; "
        f"this one has {DRAWING_LIMIT + 1}",
    ),
]


@pytest.mark.parametrize(("arguments", "message"), ERRORS)
def test_page_options_refuse_what_they_cannot_do(cli, tmp_path, monkeypatch, arguments, message):
    monkeypatch.chdir(tmp_path)
    result = cli(*arguments)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == f"cgrad: error: {message}"
    assert list(tmp_path.iterdir()) == []


def test_a_page_that_cannot_be_written_is_an_error(cli, tmp_path):
    missing = tmp_path / "no" / "page.html"
    result = cli("eval", SEED, "x=1", "y=2", "z=3", "--html", str(missing))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cgrad: error: cannot write {missing}")
    assert not missing.parent.exists()


def test_page_never_replaces_the_program(cli, tmp_path):
    program = tmp_path / "f.cg"
    program.write_text("x^2", encoding="utf-8")
    result = cli("minimize", f"@{program}", "x=1", "--html", str(program))
    assert result.exit_code == 2
    assert program.read_text(encoding="utf-8") == "x^2"


def descent_page_of(cli, tmp_path, *arguments: str) -> tuple[dict, str]:
    """``minimize ARGUMENTS --html --json``: its summary and its page."""
    target = tmp_path / "descent.html"
    result = cli("minimize", *arguments, "--html", str(target), "--json")
    assert result.exit_code == 0
    return json.loads(result.stdout), target.read_text(encoding="utf-8")


def test_minimize_html_has_the_loss_curve_and_for_two_inputs_the_contours(cli, tmp_path):
    summary, page = descent_page_of(cli, tmp_path, "(x-3)^2 + 2*(y+1)^2", "x=0", "y=0")
    data = page_data(page)
    assert len(data["losses"]) == summary["steps"] + 1
    assert [float(v) for v in data["path"][-1]] == [summary["point"]["x"], summary["point"]["y"]]
    assert len(re.findall(r'<path class="contour"', page)) >= 8
    assert f'<polyline class="descent-path" data-points="{summary["steps"] + 1}"' in page

    one = tmp_path / "one.html"
    assert cli("minimize", "(x-3)^2", "x=0", "--html", str(one)).exit_code == 0
    page = one.read_text(encoding="utf-8")
    assert 'class="loss-curve"' in page and 'class="contour"' not in page


def test_file_pages_are_written_whole(tmp_path):
    # A page is one write through atomic_output: no temporary is left beside it.
    from cgrad.cli.page_output import write_page

    target = tmp_path / "p.html"
    write_page("--html", target, "<p>page</p>", None)
    assert [p.name for p in tmp_path.iterdir()] == ["p.html"]
    assert Path(target).read_text(encoding="utf-8") == "<p>page</p>"


def test_the_descent_page_says_why_it_stopped_and_labels_both_ends_of_its_axes(cli, tmp_path):
    summary, page = descent_page_of(cli, tmp_path, "abs(x) + abs(y)", "x=2", "y=1")
    function = cgrad.compile("abs(x) + abs(y)")
    minimum = cgrad.minimize(function, {"x": 2, "y": 1})
    assert minimum.stopped == summary["stopped"]
    found = re.search(r'<p id="summary">(.*?)</p>', page)
    assert found is not None
    assert f"steps; stopped: {minimum.reason}; loss" in found.group(1).replace("&lt;", "<")
    for plot in ("loss", "contours"):
        svg = re.search(rf'<svg class="plot" id="{plot}".*?</svg>', page, re.S)
        assert svg is not None
        for end in ("x-start", "x-end", "y-top", "y-bottom"):
            assert len(re.findall(rf'<text class="{end}"', svg.group(0))) == 1, (plot, end)
    steps = re.search(r'<text class="x-start"[^>]*>([^<]*)<', page)
    assert steps is not None and steps.group(1) == "step 0"


def test_headings_keep_the_program_s_lines_and_dim_its_comments(cli, tmp_path):
    program = tmp_path / "p.cg"
    program.write_text(
        "# A comment, " + "long " * 40 + "\nh = x*y  # a note\n\nh + 1\n", encoding="utf-8"
    )
    graph_html = tmp_path / "g.html"
    assert cli("graph", f"@{program}", "--format", "html", "-o", str(graph_html)).exit_code == 0
    descent_html = tmp_path / "d.html"
    assert (
        cli(
            "minimize", f"@{program}", "x=1", "y=1", "--steps", "3", "--html", str(descent_html)
        ).exit_code
        == 0
    )
    for target in (graph_html, descent_html):
        page = target.read_text(encoding="utf-8")
        found = re.search(r'<code id="source">(.*?)</code>', page, re.S)
        assert found is not None
        lines = found.group(1).split("\n")
        assert len(lines) == 3  # the blank line left out
        assert lines[0].startswith('<span class="comment"># A comment, long') and "…" in lines[0]
        assert lines[1] == 'h = x*y <span class="comment"># a note</span>'
        assert lines[2] == "h + 1"
    assert "white-space: pre-wrap" in re.search(r"#source \{[^}]*\}", page).group(0)


def test_paths_through_both_arguments_of_a_square_are_listed_once_and_counted():
    function = cgrad.compile("a = x*y; b = a*a; b + sin(b)")
    result = function.evaluate(x=1.0, y=2.0)
    shown = page_data(graph_page(function, result))["paths"]["x"]["shown"]
    found = paths(function, result, "x")
    assert found.count == 4 and len(shown) == 2
    assert all(text.endswith("(×2: one per argument)") for text in shown)


def test_an_unused_binding_shows_the_value_eval_computed():
    function = cgrad.compile("u = sin(x); r = max(0, x*w + b); r*r")
    result = function.evaluate(x=1.0, w=0.5, b=0.1)
    page = graph_page(function, result)
    u = function.graph.bindings["u"]
    found = re.search(rf'<g class="node op unused[^"]*" data-node="{u}".*?</g>', page)
    assert found is not None
    assert f'data-value="{number_text(float(result.node_values[u]))}"' in found.group(0)


def test_many_warnings_are_folded_and_the_edge_labels_explained():
    names = [f"x{i}" for i in range(12)]
    function = cgrad.compile(" + ".join(f"log({n})" for n in names))
    result = function.evaluate(dict.fromkeys(names, 0.0))
    assert len(result.warnings) >= 12
    page = graph_page(function, result)
    warnings = re.findall(r'<p class="warning">(.*?)</p>', page)
    assert len(warnings) == 6
    assert (
        warnings[-1] == f"… and {len(result.warnings) - 5:,} more warnings (cgrad eval lists them)"
    )
    assert '<p id="legend">On each edge' in page


def test_a_long_run_keeps_a_bounded_number_of_steps_for_its_page():
    from cgrad.descent import Step
    from cgrad.views.descent_page import DRAWN_STEPS, KeptSteps

    kept = KeptSteps()
    for number in range(100_001):
        kept.add(Step(step=number, loss=1.0 / (number + 1), point={}, gradient={}, gradient_norm=0))
    steps = [step.step for step in kept.steps()]
    assert len(steps) <= 2 * DRAWN_STEPS + 1
    assert steps[0] == 0 and steps[-1] == 100_000
    assert steps == sorted(set(steps))
    # Evenly spread: the gaps are all one power of two (the last may be shorter).
    assert len({b - a for a, b in zip(steps[:-2], steps[1:-1], strict=True)}) == 1
