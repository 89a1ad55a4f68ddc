"""Issue 13, the views: big graphs through every view in linear time,
derivatives built without going through text, second-derivative warnings
that point at the user's program, and no "-0" in text output."""

from __future__ import annotations

import json
import re

import pytest

import cgrad
import cgrad.function
import cgrad.parse.parser
import cgrad.symbolic.printing
from cgrad.numerals import format_number, format_short, json_number, literal_text

# --------------------------------------------------------------------------
# Negative zero: text shows 0, JSON keeps the IEEE sign, formulas keep it.


def test_text_output_shows_zero_for_negative_zero(cli):
    result = cli("eval", "-x", "x=0")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "value 0"
    assert "@1 neg -x  = 0  grad 1" in result.stdout
    assert "-0" not in result.stdout


def test_json_output_keeps_the_sign_of_negative_zero(cli):
    result = cli("eval", "-x", "x=0", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["value"] == 0.0
    assert re.search(r'"value": -0\.0,', result.stdout)


def test_rosenbrock_partial_at_the_minimum_is_printed_as_zero(cli):
    result = cli("eval", "(1-x)^2 + 100*(y-x^2)^2", "x=1", "y=1")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("x ")]
    assert rows == [["x", "1", "0"]]


def test_formulas_keep_the_sign_of_a_negative_zero_constant(cli):
    # 1/-0 is -Infinity and 1/0 is Infinity: in a formula the sign matters.
    result = cli("diff", "1/x", "x=-0")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == ["f = 1/-0", "∂f/∂x = -1/0"]  # -1/(-0)^2


def test_the_number_formatters():
    assert (format_number(-0.0), format_short(-0.0), literal_text(-0.0)) == ("0", "0", "-0")
    assert (format_number(-2.5), format_short(-2.5), literal_text(-2.5)) == ("-2.5",) * 3
    assert format_number(float("-inf")) == literal_text(float("-inf")) == "-Infinity"


# --------------------------------------------------------------------------
# diff on many inputs: linear.


class _CountingPattern:
    """Counts the names the binding-prefix pattern is asked to match."""

    def __init__(self, pattern: re.Pattern) -> None:
        self.pattern = pattern
        self.calls = 0

    def fullmatch(self, text: str):
        self.calls += 1
        return self.pattern.fullmatch(text)


def _names_read(cli, monkeypatch, inputs: int) -> int:
    counting = _CountingPattern(cgrad.symbolic.printing._BINDING)
    monkeypatch.setattr(cgrad.symbolic.printing, "_BINDING", counting)
    result = cli("diff", " + ".join(f"x{i}" for i in range(inputs)), "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["derivatives"]) == inputs
    return counting.calls


def test_diff_reads_each_input_name_a_bounded_number_of_times(cli, monkeypatch):
    # Each partial read every input's name to choose its binding names: n^2.
    small, large = _names_read(cli, monkeypatch, 500), _names_read(cli, monkeypatch, 2000)
    assert large <= 5 * small


# --------------------------------------------------------------------------
# Derivatives never go through text.


def test_a_derivative_is_built_without_parsing_its_formula(monkeypatch):
    f = cgrad.compile("sin(x*y) + x")

    def no_parsing(*arguments, **keywords):
        raise AssertionError("a derivative's formula was parsed")

    monkeypatch.setattr(cgrad.function, "graph_of_text", no_parsing)
    d = f.derivative("x")
    assert d.source == "1 + cos(x*y)*y"
    assert d.inputs == ("x", "y")
    assert d.evaluate(x=1.0, y=2.0).gradient == pytest.approx(
        {"x": -3.637189707302727, "y": -2.234741690198506}
    )
    dd = d.derivative("y")
    assert dd.source == "cos(x*y) - sin(x*y)*x*y"


def _sum_of(terms: int) -> str:
    return " + ".join(f"sin(x*{k})*y" for k in range(1, terms + 1))


def test_second_derivatives_of_a_program_whose_formulas_exceed_the_size_limit(
    cli, tmp_path, monkeypatch
):
    # A program at the size limit whose partials' text is longer than the
    # limit: they were parsed back, which failed ("longer than ... MiB").
    terms = 3_000
    text = " + ".join(f"sin(x*{k})*y" for k in range(1, terms + 1))
    monkeypatch.setattr(cgrad.parse.parser, "MAX_CHARACTERS", len(text))
    assert len(cgrad.compile(text).derivative("x").source) > len(text)
    program = tmp_path / "big.cg"
    program.write_text(text)
    result = cli("eval", f"@{program}", "x=0", "y=1", "--hessian", "--json")
    assert result.exit_code == 0, result.output
    # d2/dx2 of sum sin(kx)*y is -sum k^2 sin(kx)*y, 0 at x = 0; d2/dxdy is sum k.
    mixed = float(terms * (terms + 1) // 2)
    assert json.loads(result.stdout)["hessian"] == {
        "x": {"x": 0.0, "y": mixed},
        "y": {"x": mixed, "y": 0.0},
    }
    second = cli("diff", f"@{program}", "--order", "2", "--wrt", "y")
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines()[-1] == "∂²f/∂y² = 0"


def test_diff_order_2_needs_no_parse_of_a_derivative(cli, monkeypatch):
    calls = []
    real = cgrad.function.graph_of_text
    monkeypatch.setattr(
        cgrad.function, "graph_of_text", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    result = cli("diff", "x^3*y", "--order", "2")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[4:] == [
        "∂²f/∂x² = 6*x*y",
        "∂²f/∂x∂y = 3*x^2",
        "∂²f/∂y² = 0",
    ]
    assert len(calls) == 1  # the user's program, once


# --------------------------------------------------------------------------
# Warnings about second derivatives point at the user's program, once each.


def test_hessian_warnings_at_a_kink_point_at_the_program_and_are_said_once(cli):
    result = cli("eval", "max(x,y)*x", "x=1", "y=1", "--hessian", "--json")
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    assert [(w["type"], w["node"], w["line"], w["column"]) for w in warnings] == [
        ("kink", 2, 1, 1),
        ("kink", 2, 1, 1),
    ]
    assert warnings[1]["message"] == (
        "in the second derivatives, the derivative rule of `max(x,y)` (node @2, line 1, "
        "column 1) is at a kink, step(0, 0.5); by convention, d/da step(a, h) = 0 at a = 0 "
        "(one-sided: in argument 1, Infinity from the left, Infinity from the right)"
    )


def test_hessian_warnings_in_text(cli):
    result = cli("eval", "max(x,y)*x", "x=1", "y=1", "--hessian")
    assert result.exit_code == 0
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2
    assert warnings[1].startswith(
        "warning: in the second derivatives, the derivative rule of `max(x,y)` (node @2, "
        "line 1, column 1) is at a kink, step(0, 0.5)"
    )


def test_a_zero_made_by_the_rules_is_no_literal_that_underflowed(cli):
    # d/dx of 5 + x - x is the constant 0, made by the rules where the text
    # of the program starts with the digit 5: no literal of it became 0.
    assert cgrad.compile("5 + x - x").derivative("x").evaluate(x=1.0).warnings == ()
    result = cli("eval", "2*y + x - x", "x=1", "y=1", "--hessian", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["warnings"] == []


def test_a_literal_that_underflows_is_still_warned_about_once_under_hessian(cli):
    result = cli("eval", "1e-400*x + x*x", "x=1", "--hessian", "--json")
    assert result.exit_code == 0
    warnings = json.loads(result.stdout)["warnings"]
    assert [(w["type"], w["node"]) for w in warnings] == [("underflow", 0)]


def test_a_derivative_functions_own_warnings_point_at_the_program():
    f = cgrad.compile("y + log(x)")
    [warning] = f.derivative("x").evaluate(x=0.0, y=1.0).warnings
    assert (warning.node, warning.span.line, warning.span.column) == (2, 1, 5)
    assert warning.message == (
        "the derivative rule of `log(x)` (node @2, line 1, column 5) is Infinity: 1 / 0 = Infinity"
    )


# --------------------------------------------------------------------------
# Big graphs through every view: written in pieces, never held whole.


def _sum_program(terms: int) -> cgrad.Function:
    return cgrad.compile(" + ".join(f"sin(x*{k})" for k in range(1, terms + 1)))


def _views(function: cgrad.Function, result):
    from cgrad.explain import backward_steps, forward_steps
    from cgrad.views.drawings import dot_pieces, mermaid_pieces
    from cgrad.views.json_documents import graph_json_pieces, passes_json_pieces

    graph = function.graph
    return {
        "dot": lambda: dot_pieces(graph, result),
        "mermaid": lambda: mermaid_pieces(graph, result),
        "json": lambda: graph_json_pieces(graph, result),
        "steps": lambda: passes_json_pieces(
            graph, forward_steps(function, result), backward_steps(function, result)
        ),
    }


def _graph_document(graph, result) -> dict:
    """The ``"graph"`` object of SPEC section 3 as plain dicts: the reference
    the pieces are held to."""
    values = result.node_values if result is not None else None
    gradients = result.node_gradients if result is not None else None
    nodes = []
    for node in graph.nodes:
        value = values[node.id] if values else None
        grad = gradients[node.id] if gradients else None
        nodes.append(
            {
                "id": node.id,
                "op": node.op,
                "inputs": list(node.operands),
                "label": graph.label(node.id),
                "value": json_number(value) if value is not None else None,
                "grad": json_number(grad) if grad is not None else None,
            }
        )
    return {"nodes": nodes, "output": graph.output}


def _passes_document(graph, passes) -> dict:
    """The ``"steps"`` object of ``eval --steps --json`` as plain dicts."""
    return {
        "forward": [
            {
                "node": step.node,
                "op": step.op,
                "operands": list(step.operands),
                "label": graph.label(step.node),
                "value": json_number(step.value),
            }
            for step in passes.forward
        ],
        "backward": [
            {
                "node": step.node,
                "label": graph.label(step.node),
                "gradient": json_number(step.gradient),
                "terms": [json_number(term) for term in step.terms],
                "edges": [
                    {
                        "to": edge.operand,
                        "argument": edge.position,
                        "formula": edge.formula,
                        "local": json_number(edge.local),
                        "product": json_number(edge.product),
                    }
                    for edge in step.edges
                ],
            }
            for step in passes.backward
        ],
    }


def test_the_pieces_are_the_documents_and_drawings_byte_for_byte():
    from cgrad.explain import passes
    from cgrad.views.drawings import dot, mermaid

    # Sizes around the piece size of 4,096, and a graph with bindings,
    # unused nodes, non-finite values and quotes in its text.
    cases = [(_sum_program(terms), {"x": 0.5}) for terms in (1, 1023, 1024, 1025)]
    text = 'u = sin(y); a = x*y; log(a - a)*(a # "q" <&> \\\n\n) + a^2 + 1e309*z'
    cases.append((cgrad.compile(text), {"x": 1.0, "y": 2.0, "z": 0.0}))
    for function, point in cases:
        result = function.evaluate(point)
        views = _views(function, result)
        graph = function.graph
        assert "".join(views["dot"]()) == dot(graph, result)
        assert "".join(views["mermaid"]()) == mermaid(graph, result)
        expected = json.dumps(_graph_document(graph, result), ensure_ascii=False, allow_nan=False)
        assert "".join(views["json"]()) == expected
        steps = _passes_document(graph, passes(function, result))
        assert "".join(views["steps"]()) == json.dumps(steps, ensure_ascii=False, allow_nan=False)


def _peak_and_size(make_pieces) -> tuple[int, int]:
    """The peak memory allocated while the pieces are made and dropped,
    and the number of characters they add up to."""
    import tracemalloc

    size = 0
    tracemalloc.start()
    try:
        for piece in make_pieces():
            size += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, size


@pytest.mark.parametrize("view", ["dot", "mermaid", "json", "steps"])
def test_a_big_graphs_views_are_written_in_bounded_pieces(view):
    # Holding the whole text (or a dict or a line per node) costs memory in
    # proportion to the output: from one size to the next, the peak would
    # grow at least as much as the output. Written in pieces, it grows by a
    # few bytes a node.
    measured = []
    for terms in (2_000, 8_000):
        function = _sum_program(terms)
        result = function.evaluate(x=0.5)
        function.graph.label(function.graph.output)  # the label index, made once per graph
        function.plan(["x"])  # the plan of the passes, kept by the function
        measured.append(_peak_and_size(_views(function, result)[view]))
    (small_peak, small_size), (large_peak, large_size) = measured
    assert large_peak - small_peak < 0.25 * (large_size - small_size)


def test_the_cli_writes_the_views_of_a_graph_exactly(cli, tmp_path):
    from cgrad.views.drawings import dot, mermaid

    function = _sum_program(3_000)
    program = tmp_path / "sum.cg"
    program.write_text(function.source)
    result = function.evaluate(x=0.5)
    for view, draw in (("dot", dot), ("mermaid", mermaid)):
        drawn = cli("graph", f"@{program}", "x=0.5", "--format", view)
        assert drawn.exit_code == 0
        assert drawn.stdout == draw(function.graph, result)
    document = cli("eval", f"@{program}", "x=0.5", "--graph", "--steps", "--json")
    assert document.exit_code == 0
    assert document.stdout.endswith("}\n")
    parsed = json.loads(document.stdout)
    assert list(parsed) == [
        "expression",
        "inputs",
        "value",
        "gradient",
        "warnings",
        "graph",
        "steps",
    ]
    assert len(parsed["graph"]["nodes"]) == len(function.graph)
    assert len(parsed["steps"]["backward"]) == len(function.graph) - 3_000  # not constants


def test_steps_of_many_points_are_refused_before_any_is_made():
    from cgrad.explain import backward_steps, forward_steps, tangent_steps

    f = cgrad.compile("x*y")
    many = f.evaluate(x=[1.0, 2.0], y=2.0)
    for steps in (forward_steps, backward_steps):
        with pytest.raises(cgrad.InputError, match="one point, not for arrays"):
            steps(f, many)  # not when the first step is read
    with pytest.raises(cgrad.InputError, match="one point, not for arrays"):
        tangent_steps(f, f.evaluate(x=[1.0, 2.0], y=2.0, mode="forward"))


def test_a_derivative_pickles_with_its_formula():
    import pickle

    d = cgrad.compile("x*sin(x)").derivative("x")
    again = pickle.loads(pickle.dumps(d))
    assert again.source == d.source == "sin(x) + cos(x)*x"
    assert again.evaluate(x=1.0).value == d.evaluate(x=1.0).value
    shown = "<cgrad.Function 'sin(x) + cos(x)*x': the derivative of 'x*sin(x)' by x; "
    assert repr(again) == repr(d) == shown + "inputs ('x',)>"


def test_a_drawing_sets_numpys_error_state_once_a_block_of_nodes(monkeypatch):
    # Entering np.errstate costs more than most rules: a drawing of a
    # million nodes sets it once for thousands of edges, not once an edge.
    import numpy as np

    from cgrad.views.drawings import dot, edge_locals, node_locals

    function = _sum_program(8_000)
    graph, result = function.graph, function.evaluate(x=0.5)
    entered = []
    errstate = np.errstate

    def counted(**kwargs):
        entered.append(kwargs)
        return errstate(**kwargs)

    monkeypatch.setattr(np, "errstate", counted)
    drawn = dot(graph, result)
    assert 0 < len(entered) < len(graph) / 1000
    # The same local derivatives as each node's own, edge by edge.
    values = result.node_values
    made = list(edge_locals(graph, result))
    assert made[graph.output] == node_locals(graph, values, graph.output) == ["1", "1"]
    assert all(list(made[n]) == node_locals(graph, values, n) for n in range(0, len(graph), 97))
    assert drawn.count('label="1"') >= 2 * 7_999


def test_labels_are_read_from_the_span_offsets_without_a_span_object(monkeypatch):
    # A Span is made with its line and column, which a label does not need.
    from cgrad.autodiff.graph import SpanColumn

    graph = _sum_program(100).graph
    expected = [graph.label(node_id) for node_id in range(len(graph))]

    def refused(self, index):
        raise AssertionError("a Span was made")

    monkeypatch.setattr(SpanColumn, "__getitem__", refused)
    assert [graph.label(node_id) for node_id in range(len(graph))] == expected
    assert graph.label(graph.output, width=None) == " + ".join(f"sin(x*{i})" for i in range(1, 101))
