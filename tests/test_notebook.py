"""Notebook display: a Function and a Result show themselves as HTML, the
graph drawn as the page's SVG (once: no separate SVG output), and
docs/lecture.ipynb runs in a real kernel and shows the library's own
numbers."""

from __future__ import annotations

import ast
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cgrad
from cgrad.explain import passes, paths
from cgrad.numerals import format_number
from cgrad.views.svg_graph import DRAWING_LIMIT, graph_svg

LECTURE = Path(__file__).resolve().parents[1] / "docs" / "lecture.ipynb"

# A comment carries markup into the source and the labels: it must be escaped.
HOSTILE = "(x + y) * z # <b>bold</b> & 'quotes'"


def test_a_function_shows_its_source_inputs_and_graph_once():
    f = cgrad.compile(HOSTILE)
    shown = f._repr_html_()
    assert html.escape("(x + y) * z ") in shown and html.escape("# <b>bold</b>") in shown
    assert "<p>inputs: x, y, z; 5 nodes</p>" in shown
    assert f'<div class="cgrad-graph">{graph_svg(f)}</div>' in shown
    assert "<b>" not in shown
    assert not hasattr(f, "_repr_svg_")  # Jupyter stores the graph once, in the HTML
    result = f.evaluate(x=1, y=2, z=3)
    assert f'<div class="cgrad-graph">{graph_svg(f, result)}</div>' in result._repr_html_()


def test_a_function_keeps_the_lines_of_its_program():
    f = cgrad.compile("a = x*y\na + sin(a)")
    found = re.search(r"<code[^>]*>(.*?)</code>", f._repr_html_(), re.S)
    assert found is not None and found.group(1) == "a = x*y\na + sin(a)"
    assert "pre-wrap" in found.group(0)


def test_the_drawing_marks_non_finite_and_warned_nodes():
    f = cgrad.compile("x*x + 1/y")
    result = f.evaluate(x=3.0, y=0.0)
    svg = graph_svg(f, result)
    marked = {
        int(node): classes.split()
        for classes, node in re.findall(r'<g class="([^"]*)" data-node="(\d+)"', svg)
    }
    warned = {w.node for w in result.warnings}
    assert warned and all("warned" in marked[node] for node in warned)
    for node, classes in marked.items():
        numbers = [c[node] for c in (result.node_values, result.node_gradients)]
        bad = any(n is not None and not np.isfinite(n) for n in numbers)
        assert ("nonfinite" in classes) == bad, node
        assert ("warned" in classes) == (node in warned)
    assert "nonfinite" not in " ".join(re.findall(r'<g class="([^"]*)"', graph_svg(f)))


def result_table(shown: str) -> tuple[str, list[list[str]]]:
    value = re.search(r"<p>value <b>([^<]*)</b></p>", shown)
    assert value is not None
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", shown)
    return value[1], [list(row) for row in rows]


def test_a_result_shows_the_librarys_numbers():
    f = cgrad.compile("a = x*y; a + sin(a) + z")
    point = {"x": 0.3, "y": -1.7, "z": 2.5}
    result = f.evaluate(point)
    value, rows = result_table(result._repr_html_())
    assert float(value) == result.value
    assert [row[0] for row in rows] == list(result.gradient)
    for name, given, partial in rows:
        assert float(given) == point[name]
        assert float(partial) == result.gradient[name]  # the shortest text that round-trips
    assert graph_svg(f, result) in result._repr_html_()


def test_a_result_of_many_points_shows_their_numbers_and_shapes_and_no_graph():
    f = cgrad.compile("x*y")
    result = f.evaluate(x=[1.0, 2.0, 0.1], y=-2.0)
    shown = result._repr_html_()
    value, rows = result_table(shown)

    def listed(array) -> str:
        return f"[{', '.join(format_number(v) for v in array)}] (shape (3,))"

    assert value == listed(result.value)
    assert rows == [
        ["x", listed([1.0, 2.0, 0.1]), listed(result.gradient["x"])],
        ["y", "-2", listed(result.gradient["y"])],  # a scalar input shows its number
    ]
    assert "cgrad-graph" not in shown


def test_a_long_array_shows_its_first_and_last_numbers_and_its_shape():
    result = cgrad.compile("x + 1").evaluate(x=np.arange(12.0).reshape(3, 4))
    value, _ = result_table(result._repr_html_())
    assert value == "[1, 2, 3, 4, …, 11, 12] (shape (3, 4))"


def test_a_results_warnings_are_shown():
    result = cgrad.compile("log(x)").evaluate(x=0.0)
    [warning] = result.warnings
    assert f"<li>warning: {html.escape(warning.message)}</li>" in result._repr_html_()


def test_a_graph_too_big_to_draw_is_said_so():
    f = cgrad.compile(" + ".join(f"sin(x*{k})" for k in range(1, DRAWING_LIMIT // 2)))
    assert len(f.graph) > DRAWING_LIMIT
    shown = f._repr_html_()
    assert f"<p>a graph of {len(f.graph):,} nodes, too big to draw here" in shown
    assert "<svg" not in shown and "digraph" not in shown


def test_formulas_show_as_latex():
    found = cgrad.compile("x/(1 + x)").formulas()
    assert found._repr_latex_() == f"${found.latex_text()}$"


def test_the_library_loads_no_view_until_a_notebook_asks():
    code = (
        "import sys, cgrad\n"
        "f = cgrad.compile('(x+y)*z'); r = f.evaluate(x=1, y=2, z=3); f.formulas()\n"
        "print(sorted(m for m in sys.modules if m.startswith('cgrad.views')))\n"
        "r._repr_html_()\n"
        "print('cgrad.views.notebook' in sys.modules)\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == ["[]", "True"]


# --------------------------------------------------------------------------
# docs/lecture.ipynb, run in a kernel


@pytest.fixture(scope="module")
def lecture():
    """The notebook as committed, and as executed now (one kernel)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    committed = nbformat.read(LECTURE, as_version=4)
    executed = nbformat.read(LECTURE, as_version=4)
    client = nbclient.NotebookClient(
        executed,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(LECTURE.parent)}},
    )
    client.execute()  # raises CellExecutionError if a cell fails
    return committed, executed


def text_of(cell) -> str:
    """What a code cell printed and returned, as text."""
    parts = []
    for output in cell.outputs:
        assert output.output_type != "error", output
        if output.output_type == "stream":
            parts.append(output.text)
        elif "text/plain" in output.get("data", {}):
            parts.append(output.data["text/plain"])
    return "".join(parts)


def tagged(notebook, tag: str):
    [cell] = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return cell


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]\d+)?|-?\d+e[-+]\d+")


def numbers(text: str) -> list[float]:
    return [float(n) for n in NUMBER.findall(text)]


def test_the_lecture_runs_and_its_committed_outputs_are_todays(lecture):
    committed, executed = lecture
    for before, now in zip(committed.cells, executed.cells, strict=True):
        if now.cell_type == "code":
            # (tools/lecture_outputs.py stores today's outputs)
            assert text_of(now) == text_of(before), now.source


def test_the_lecture_shows_the_librarys_passes(lecture):
    _, notebook = lecture
    f = cgrad.compile("(x+y)*z")
    result = f.evaluate(x=-2, y=5, z=-4)
    trace = passes(f, result)
    assert numbers(text_of(tagged(notebook, "forward"))) == [s.value for s in trace.forward]
    backward = [
        number
        for step in trace.backward
        for number in (step.gradient, *(n for e in step.edges for n in (e.local, e.product)))
    ]
    assert numbers(text_of(tagged(notebook, "backward"))) == backward
    shown = ast.literal_eval(text_of(tagged(notebook, "gradient")))
    assert shown == (result.value, result.gradient)
    rich = tagged(notebook, "result").outputs[0].data["text/html"]
    assert rich == result._repr_html_()


def test_the_lecture_shows_the_shared_node_and_its_paths(lecture):
    _, notebook = lecture
    g = cgrad.compile("a = x*y; a + sin(a)")
    result = g.evaluate(x=0.5, y=2)
    [shared] = [step for step in passes(g, result).backward if len(step.terms) > 1]
    found = paths(g, result, "x")
    expected = [*shared.terms, shared.gradient, *(p.product for p in found.shown)]
    assert numbers(text_of(tagged(notebook, "shared"))) == [*expected, result.gradient["x"]]
    latex = tagged(notebook, "formulas").outputs[0].data["text/latex"]
    assert latex == g.formulas()._repr_latex_()


def test_the_lecture_walks_downhill_with_the_librarys_gradients(lecture):
    _, notebook = lecture
    h = cgrad.compile("(x - 1)^2 + 2*(y + 0.5)^2")
    lines = text_of(tagged(notebook, "descent")).splitlines()
    point = {"x": 3.0, "y": 2.0}
    for step, line in enumerate(lines):
        at = h.evaluate(point)
        assert line == f"{step} {point} loss {at.value}"
        point = {name: point[name] - 0.1 * at.gradient[name] for name in point}
    assert len(lines) == 5
    found = cgrad.minimize(h, {"x": 3.0, "y": 2.0}, method="gd", lr=0.1)
    shown = text_of(tagged(notebook, "minimize")).split()
    assert json.loads(" ".join(shown[:-3]).replace("'", '"')) == found.point
    assert [float(shown[-3]), int(shown[-2]), shown[-1]] == [found.value, found.steps, "tolerance"]
    assert found.stopped == "tolerance"


def test_a_result_s_drawing_puts_each_edge_label_beside_its_own_edge():
    # The user's x*y: each local derivative by its own arrow in the notebook too.
    from test_page_geometry import label_overlaps, misplaced_labels, read

    result = cgrad.compile("x*y").evaluate(x=3, y=-2)
    svg = re.search(r"<svg.*?</svg>", result._repr_html_(), re.S)
    assert svg is not None
    drawing = read(svg.group(0))
    assert sorted(drawing.anchored) == [0, 1]
    assert misplaced_labels(drawing) == [] and label_overlaps(drawing) == 0
