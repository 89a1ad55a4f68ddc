"""cgrad diff --format text|latex|json and --order N, through the command
line; and the property that what diff prints as text is a program that
gives eval's numbers (first partials, and partials of order 3 against the
numeric gradient of the printed partials of order 2)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from math import comb

import pytest
from hypothesis import assume, given, settings

import cgrad
from cgrad.symbolic.formulas import formulas
from cgrad.symbolic.printed import ORDER_BOUND
from test_latex import assert_well_formed
from test_oracle import RELAXED, finite, magnitude, points, programs, warned_where_due


def close(actual: float, expected: float, scale: float) -> bool:
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9 * scale)


def test_latex_format_is_one_aligned_block(cli):
    result = cli("diff", "x*y + z^3", "--wrt", "x,y", "--format", "latex")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "\\begin{aligned}\n"
        "f &= x \\cdot y + z^{3} \\\\\n"
        "\\frac{\\partial f}{\\partial x} &= y \\\\\n"
        "\\frac{\\partial f}{\\partial y} &= x\n"
        "\\end{aligned}\n"
    )


def test_latex_format_keeps_names_that_print_alike_apart(cli):
    result = cli("diff", "x1*x_1", "--format", "latex")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "\\begin{aligned}\n"
        "f &= x_{1} \\cdot \\mathrm{x\\_1} \\\\\n"
        "\\frac{\\partial f}{\\partial x_{1}} &= \\mathrm{x\\_1} \\\\\n"
        "\\frac{\\partial f}{\\partial \\mathrm{x\\_1}} &= x_{1}\n"
        "\\end{aligned}\n"
    )


def test_latex_format_of_a_third_derivative(cli):
    result = cli("diff", "x^4", "--order", "3", "--format", "latex")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "\\begin{aligned}" and lines[-1] == "\\end{aligned}"
    assert lines[-2] == "\\frac{\\partial^{3} f}{\\partial x^{3}} &= 24 \\cdot x"
    assert_well_formed(result.stdout)


def test_json_format_is_the_json_flag(cli):
    for order in ("1", "2", "3"):
        flag = cli("diff", "x*y + sin(x*y)", "--order", order, "--json")
        chosen = cli("diff", "x*y + sin(x*y)", "--order", order, "--format", "json")
        assert flag.exit_code == chosen.exit_code == 0
        assert flag.stdout == chosen.stdout


def test_text_format_is_the_default(cli):
    assert (
        cli("diff", "x^3*y", "--order", "3").stdout
        == cli("diff", "x^3*y", "--order", "3", "--format", "text").stdout
    )


def test_json_of_order_one_is_unchanged(cli):
    document = json.loads(cli("diff", "x*y", "--json").stdout)
    assert document == {
        "expression": "x*y",
        "inputs": {},
        "value": "x*y",
        "derivatives": {"x": "y", "y": "x"},
    }


def test_order_three_prints_each_mixed_partial_once(cli):
    result = cli("diff", "x^3*y", "--order", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[4:] == [
        "∂³f/∂x³ = 6*y",
        "∂³f/∂x²∂y = 6*x",
        "∂³f/∂x∂y² = 0",
        "∂³f/∂y³ = 0",
    ]


def test_order_n_in_json(cli):
    document = json.loads(cli("diff", "x^3*y", "--order", "3", "--json").stdout)
    assert list(document) == [
        "expression", "inputs", "value", "derivatives", "order", "partials",
    ]  # fmt: skip
    assert document["order"] == 3
    assert document["partials"] == [
        {"wrt": ["x", "x", "x"], "formula": "6*y"},
        {"wrt": ["x", "x", "y"], "formula": "6*x"},
        {"wrt": ["x", "y", "y"], "formula": "0"},
        {"wrt": ["y", "y", "y"], "formula": "0"},
    ]
    second = json.loads(cli("diff", "x^3*y", "--order", "2", "--json").stdout)
    assert second["order"] == 2 and set(second["hessian"]) == {"x", "y"}
    assert [p["wrt"] for p in second["partials"]] == [["x", "x"], ["x", "y"], ["y", "y"]]


def test_a_fifth_derivative_of_one_input():
    found = cgrad.compile("sin(2*x)*exp(x)").formulas(order=5)
    assert list(found.partials) == [("x",) * 5]
    text = "; ".join(found.partials[("x",) * 5])
    # d^5/dx^5 sin(2x) e^x = e^x (41 sin(2x) - 38 cos(2x)).
    for x in (-1.0, 0.3, 1.7):
        expected = math.exp(x) * (41 * math.sin(2 * x) - 38 * math.cos(2 * x))
        assert cgrad.compile(text).evaluate(x=x).value == pytest.approx(expected, rel=1e-12)


def test_mixed_partials_of_order_four_by_three_inputs_are_each_there_once():
    found = cgrad.compile("x^2*y^3*z + sin(x*z)").formulas(order=4)
    indices = list(found.partials)
    assert len(indices) == len(set(indices)) == comb(3 + 4 - 1, 4)
    order = {"x": 0, "y": 1, "z": 2}
    assert all([order[n] for n in i] == sorted(order[n] for n in i) for i in indices)
    assert indices == sorted(indices, key=lambda i: [order[n] for n in i])


def test_higher_orders_never_parse_a_formula(cli, monkeypatch):
    calls = []
    real = cgrad.function.graph_of_text
    monkeypatch.setattr(
        cgrad.function, "graph_of_text", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    assert cli("diff", "sin(x)*y^2", "--order", "4").exit_code == 0
    assert len(calls) == 1  # the user's program, once


def test_output_of_a_high_order_stays_bounded():
    # Each order differentiates the graph of the one before: the text
    # grows by a bounded factor per order, not with the number of paths.
    sizes = []
    for order in range(2, ORDER_BOUND + 1, 2):
        found = cgrad.compile("tan(x)*sigmoid(x)").formulas(order=order)
        sizes.append(sum(len("; ".join(s)) for s in found.partials.values()))
    # About 7 to 8 times per two orders here (tanh(x/2), which keeps the
    # precision of sigmoid's second derivative, costs a little growth);
    # growth with the number of paths would be far past 9.
    assert all(later < 9 * earlier for earlier, later in zip(sizes, sizes[1:], strict=False))
    assert sizes[-1] < 2_500_000


def test_each_entry_of_the_hessian_is_printed_once(monkeypatch):
    # As diff --order 2 shows them: the upper triangle, the lower the same.
    printed = []
    real = cgrad.symbolic.printed.program_statements
    monkeypatch.setattr(
        cgrad.symbolic.printed,
        "program_statements",
        lambda *a, **k: printed.append(a[0]) or real(*a, **k),
    )
    found = cgrad.compile("x^3*y + sin(x*z) + y*z").formulas(order=2)
    assert len(printed) == 1 + 3 + 6  # the function, the gradient, the triangle
    hessian = found.hessian
    assert hessian is not None
    for (first, second), statements in found.partials.items():
        assert hessian[first][second] == hessian[second][first] == statements
    assert hessian["y"]["x"] == ["3*x^2"]


def test_the_tie_count_of_a_wide_max_is_made_once(monkeypatch):
    # Each of the n partials of max(x1, ..., xn) divides by the count of
    # the arguments at the max: one node for all n, built once (per
    # partial it was n^2 work in all). Work counted, not timed.
    calls = [0]
    real = cgrad.symbolic.nodes.Builder.apply

    def counted(self, *arguments):
        calls[0] += 1
        return real(self, *arguments)

    monkeypatch.setattr(cgrad.symbolic.nodes.Builder, "apply", counted)
    made = []
    for n in (100, 200):
        function = cgrad.compile(f"max({', '.join(f'x{k}' for k in range(n))})")
        calls[0] = 0
        found = formulas(function.graph, function.inputs)
        made.append(calls[0])
        assert len({d.operands[1].id for d in found.derivatives.values()}) == 1
    assert made[1] < 2.5 * made[0]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--order", "0"], "cgrad: error: --order must be a whole number >= 1, not 0"),
        (["--order", "13"], "cgrad: error: derivatives of order 13 by 1 input are too many "
         f"to print: the order times the number of inputs can be at most {ORDER_BOUND}"),
        (["--format", "tex"], "cgrad: error: --format must be text or latex or json, not 'tex'"),
        (["--format", "latex", "--json"],
         "cgrad: error: --json and --format latex ask for two formats: give one"),
    ],
)  # fmt: skip
def test_format_and_order_usage_errors(cli, arguments, message):
    result = cli("diff", "sin(x)", *arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == message


def test_the_order_bound_counts_the_inputs_differentiated(cli):
    refused = cli("diff", "x*y*z", "--order", "5")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        "cgrad: error: derivatives of order 5 by 3 inputs are too many to print: "
        f"the order times the number of inputs can be at most {ORDER_BOUND}",
        "hint: pick fewer inputs with --wrt, or a lower order",
    ]
    assert cli("diff", "x*y*z", "--order", "5", "--wrt", "x,y").exit_code == 0
    with pytest.raises(cgrad.InputError, match="at most 12"):
        cgrad.compile("x*y*z").formulas(order=5)


def test_the_library_refuses_an_order_below_one():
    with pytest.raises(cgrad.InputError, match="a whole number >= 1, not 0"):
        cgrad.compile("x").formulas(order=0)


def test_printed_text_through_eval_gives_evals_partials():
    text = "t = x*y; exp(-t^2)/(1 + x^2) + atan2(y, x)*sqrt(y)"
    run = [sys.executable, "-m", "cgrad"]
    diffed = subprocess.run([*run, "diff", text, "--json"], capture_output=True, check=True)
    point = ["x=0.7", "y=1.3"]
    evaluated = subprocess.run(
        [*run, "eval", text, *point, "--json"], capture_output=True, check=True
    )
    gradient = json.loads(evaluated.stdout)["gradient"]
    for name, formula in json.loads(diffed.stdout)["derivatives"].items():
        again = subprocess.run(
            [*run, "eval", formula, *point, "--json"], capture_output=True, check=False
        )
        assert json.loads(again.stdout)["value"] == pytest.approx(gradient[name], rel=1e-12)


# min's indicator of its chosen argument is the sign test step(out - arg, 1).
# With out = -x*(t1 - x) to the bit, it was printed step(u2 + t1*x - x^2, 1):
# arg expanded, which rounds below 0 at x = 8.5e-93, so that every indicator
# was 0 and each printed partial 0/0 (and eval --hessian, made from those
# formulas, all NaN). Both sides are now the program's nodes, at each order.
TIED_BY_EVAL = [
    ("min(-t2 - x, -x*(t1 - x), c)", ["x=8.5e-93", "t1=1", "t2=-1", "c=5"]),
    ("min(-x*(t1 - x), -t2 - x, c, -y)", ["x=8.5e-93", "t1=1", "t2=-1", "c=5", "y=-3"]),
    ("max(t2 + x, -x*(x - t1), -c)", ["x=8.5e-93", "t1=1", "t2=-1", "c=5"]),
]


@pytest.mark.parametrize(("program", "point"), TIED_BY_EVAL)
def test_a_printed_sign_test_is_0_where_evals_comparison_is_a_tie(cli, program, point):
    evaluated = cli("eval", program, *point, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["warnings"] == []
    gradient = json.loads(evaluated.stdout)["gradient"]
    diffed = cli("diff", program, "--json")
    assert diffed.exit_code == 0, diffed.output
    for name, formula in json.loads(diffed.stdout)["derivatives"].items():
        inputs = cgrad.compile(formula).inputs
        given = [p for p in point if p.split("=")[0] in inputs]
        again = cli("eval", formula, *given, "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["value"] == gradient[name], (name, formula)


@pytest.mark.parametrize(("program", "point"), TIED_BY_EVAL)
def test_a_sign_test_differentiated_again_is_0_where_evals_comparison_is_a_tie(cli, program, point):
    evaluated = cli("eval", program, *point, "--hessian", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    document = json.loads(evaluated.stdout)
    assert document["warnings"] == []
    hessian = document["hessian"]
    assert all(math.isfinite(v) for row in hessian.values() for v in row.values()), hessian
    diffed = cli("diff", program, "--order", "2", "--json")
    assert diffed.exit_code == 0, diffed.output
    for first, row in json.loads(diffed.stdout)["hessian"].items():
        for second, formula in row.items():
            inputs = cgrad.compile(formula).inputs
            given = [p for p in point if p.split("=")[0] in inputs]
            again = json.loads(cli("eval", formula, *given, "--json").stdout)
            assert again["value"] == hessian[first][second], (first, second, formula)


def test_a_sign_test_keeps_a_negated_side_as_the_program_computes_it():
    statements = cgrad.compile("min(-t2 - x, -x*(t1 - x), c)").formulas().derivatives["t1"]
    assert statements == [
        "u1 = -t2 - x",
        "u2 = -x*(t1 - x)",
        "u3 = min(u1, u2, c)",
        "u4 = step(u3 - u2, 1)",
        "-u4*x/(step(u3 - c, 1) + u4 + step(u3 - u1, 1))",
    ]
    assert cgrad.compile("max(x, -y)").formulas().derivatives["x"] == ["step(x - -y, 0.5)"]


@settings(max_examples=200, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(), point=points)
def test_printed_partials_parse_back_to_evals_numbers(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    result = function.evaluate(values)
    assume(warned_where_due(program, point, result) and finite(result))
    scale = magnitude(function, result)
    for name, statements in function.formulas().derivatives.items():
        printed = cgrad.compile("; ".join(statements))
        slope = printed.evaluate({n: values[n] for n in printed.inputs}).value
        assert close(slope, result.gradient[name], scale), (statements, slope)


@settings(max_examples=150, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(depth=3), point=points)
def test_printed_third_partials_are_the_gradients_of_the_printed_second(program, point):
    function = cgrad.compile(program.text)
    values = {name: point[name] for name in function.inputs}
    assume(warned_where_due(program, point, function.evaluate(values)))
    second = function.formulas(order=2).partials
    for index, statements in function.formulas(order=3).partials.items():
        inner = cgrad.compile("; ".join(second[index[:2]]))
        row = inner.evaluate({n: values[n] for n in inner.inputs})
        # The formulas have kinks the program has not (see test_symbolic).
        assume(not row.warnings and finite(row))
        printed = cgrad.compile("; ".join(statements))
        entry = printed.evaluate({n: values[n] for n in printed.inputs}).value
        # (a name the second partial does not mention: the third is 0)
        expected = row.gradient.get(index[2], 0.0)
        assert close(entry, expected, magnitude(inner, row)), (statements, entry, expected)


def test_an_order_whose_partials_grow_too_big_is_refused(monkeypatch, cli):
    # Each order is several times the one before: past the bound the next
    # would take minutes and gigabytes, so the request ends with an error.
    import cgrad.symbolic.printed as printed

    monkeypatch.setattr(printed, "LARGEST_ORDER_GRAPHS", 40)
    result = cli("diff", "tanh(tanh(x))", "--order", "4")
    assert result.exit_code == 2
    assert result.stderr.startswith("cgrad: error: the partials of order ")
    assert "more than the 40 the next order may be made from" in result.stderr
    assert "hint: ask for a lower order, or fewer inputs with --wrt" in result.stderr
    assert result.stdout == ""
