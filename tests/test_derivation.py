"""``cgrad diff --steps``: a derivative rule by rule (cgrad.derivation as
data, its terminal view and JSON through the real command line)."""

from __future__ import annotations

import json
import random

import pytest

import cgrad
from cgrad.derivation import (
    FORMULA_LIMIT,
    STEPS_LIMIT,
    Send,
    Step,
    Term,
    derivation,
    rule_letters,
    where_text,
)
from cgrad.explain import backward_steps

SIN_XY_STEPS = """\
sin(x*y)
∂f/∂x step by step, from the output back to x:

@3 sin(x*y)
  ∂f/∂(sin(x*y)) = 1 (the output)
  chain rule: d/du sin(u) = cos(u), u = x*y
  → @2 x*y: local cos(x*y), sends cos(x*y)
@2 x*y
  ∂f/∂(x*y) = cos(x*y)
  constant multiple: (u*c)' = u'*c, u = x, c = y
  → @0 x: local y, sends cos(x*y)*y
@0 x
  ∂f/∂x = cos(x*y)*y

∂f/∂x = cos(x*y)*y
"""

SUM_STEPS = """\
x*y + x
∂f/∂x step by step, from the output back to x:

@3 x*y + x
  ∂f/∂(x*y + x) = 1 (the output)
  sum rule: (u + v)' = u' + v', u = x*y, v = x
  → @2 x*y: local 1, sends 1
  → @0 x: local 1, sends 1
@2 x*y
  ∂f/∂(x*y) = 1
  constant multiple: (u*c)' = u'*c, u = x, c = y
  → @0 x: local y, sends y
@0 x
  from @3: 1
  from @2: y
  sum: ∂f/∂x = 1 + y

∂f/∂x = 1 + y
"""


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [(["sin(x*y)", "--wrt", "x"], SIN_XY_STEPS), (["x*y + x", "--wrt", "x"], SUM_STEPS)],
)
def test_steps_text_golden(cli, arguments, expected):
    result = cli("diff", *arguments, "--steps")
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_the_derivation_is_data():
    found = derivation(cgrad.compile("sin(x*y)"), "x")
    assert found.count == 3
    assert found.answer == ["cos(x*y)*y"]
    assert found.steps == (
        Step(
            3,
            "sin",
            "sin(x*y)",
            "chain rule",
            "d/du sin(u) = cos(u), u = x*y",
            ("1",),
            (),
            (Send(2, 0, "x*y", ("cos(x*y)",), ("cos(x*y)",)),),
        ),
        Step(
            2,
            "mul",
            "x*y",
            "constant multiple",
            "(u*c)' = u'*c, u = x, c = y",
            ("cos(x*y)",),
            (Term(3, ("cos(x*y)",)),),
            (Send(0, 0, "x", ("y",), ("cos(x*y)*y",)),),
        ),
        Step(0, "input", "x", None, None, ("cos(x*y)*y",), (Term(2, ("cos(x*y)*y",)),), ()),
    )


def test_quotient_structure_and_paths_meeting():
    # exp(x)/x: the formulas are simplified elsewhere, so the structure and
    # the numbers are checked here, not the text.
    found = derivation(cgrad.compile("exp(x)/x"), "x")
    assert [(s.text, s.rule, s.statement) for s in found.steps] == [
        ("exp(x)/x", "quotient rule", "(u/v)' = (u'*v - u*v')/v^2, u = exp(x), v = x"),
        ("exp(x)", "derivative of exp", "d/dx exp(x) = exp(x)"),
        ("x", None, None),
    ]
    top, middle, last = found.steps
    assert [(s.operand, s.position) for s in top.sends] == [(1, 0), (0, 1)]
    # x receives from the quotient (as its denominator) and from exp.
    assert [t.sender for t in last.terms] == [2, 1]
    assert _value(last.upstream, x=1.5) == pytest.approx(_value(found.answer, x=1.5))
    assert _value(found.answer, x=1.5) == pytest.approx(
        cgrad.compile("exp(x)/x").evaluate(x=1.5).gradient["x"]
    )


def test_steps_json_shape(cli):
    result = cli("diff", "sin(x*y)", "--wrt", "x", "--steps", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "expression": "sin(x*y)",
        "inputs": {},
        "wrt": "x",
        "steps": [
            {
                "node": 3,
                "op": "sin",
                "text": "sin(x*y)",
                "rule": "chain rule",
                "statement": "d/du sin(u) = cos(u), u = x*y",
                "upstream": "1",
                "terms": [],
                "edges": [
                    {
                        "to": 2,
                        "argument": 0,
                        "text": "x*y",
                        "local": "cos(x*y)",
                        "contribution": "cos(x*y)",
                    }
                ],
            },
            {
                "node": 2,
                "op": "mul",
                "text": "x*y",
                "rule": "constant multiple",
                "statement": "(u*c)' = u'*c, u = x, c = y",
                "upstream": "cos(x*y)",
                "terms": [{"from": 3, "contribution": "cos(x*y)"}],
                "edges": [
                    {
                        "to": 0,
                        "argument": 0,
                        "text": "x",
                        "local": "y",
                        "contribution": "cos(x*y)*y",
                    }
                ],
            },
            {
                "node": 0,
                "op": "input",
                "text": "x",
                "rule": None,
                "statement": None,
                "upstream": "cos(x*y)*y",
                "terms": [{"from": 2, "contribution": "cos(x*y)*y"}],
                "edges": [],
            },
        ],
        "count": 3,
        "result": "cos(x*y)*y",
    }


def test_a_bound_node_is_called_by_its_name(cli):
    result = cli("diff", "a = x; b = x*y; b + sin(b)", "--wrt", "x", "--steps")
    lines = result.stdout.splitlines()
    assert "@2 b = x*y" in lines
    assert "  → @2 b: local 1, sends 1" in lines
    assert any(line.startswith("  sum: ∂f/∂b = ") for line in lines)
    assert "  chain rule: d/du sin(u) = cos(u), u = b" in lines
    # The input is called x, though a names it too.
    assert "@0 x" in lines


def test_values_given_are_substituted(cli):
    result = cli("diff", "x^3*y", "--wrt", "x", "--x", "2", "--steps", "--json")
    document = json.loads(result.stdout)
    assert document["inputs"] == {"x": 2.0}
    assert (
        document["result"]
        == json.loads(cli("diff", "x^3*y", "--x", "2", "--json").stdout)["derivatives"]["x"]
    )
    assert cli("diff", "x^3*y", "--wrt", "x", "--x", "2", "--steps").stdout.startswith(
        "x^3*y   at x = 2\n"
    )


@pytest.mark.parametrize(
    ("program", "name", "rules"),
    [
        ("x^2", "x", [("power rule", "(u^c)' = c*u^(c - 1)*u', u = x, c = 2")]),
        ("2^x", "x", [("exponential rule", "(c^v)' = log(c)*c^v*v', c = 2, v = x")]),
        ("x^x", "x", [("general power rule", "(u^v)' = u^v*(v'*log(u) + v*u'/u), u = x, v = x")]),
        ("x*y", "x", [("constant multiple", "(u*c)' = u'*c, u = x, c = y")]),
        ("sin(x)*x", "x", [("product rule", "(u*v)' = u'*v + u*v', u = sin(x), v = x"),
                           ("derivative of sin", "d/dx sin(x) = cos(x)")]),
        ("x/2", "x", [("constant multiple", "(u/c)' = u'/c, u = x, c = 2")]),
        ("2/x", "x", [("quotient rule", "(c/v)' = -c*v'/v^2, c = 2, v = x")]),
        ("x/y", "y", [("quotient rule", "(c/v)' = -c*v'/v^2, c = x, v = y")]),
        ("sin(x)/x", "x", [("quotient rule", "(u/v)' = (u'*v - u*v')/v^2, u = sin(x), v = x"),
                           ("derivative of sin", "d/dx sin(x) = cos(x)")]),
        ("-x", "x", [("constant multiple", "(-u)' = -u', u = x")]),
        ("x - y", "y", [("difference rule", "(c - v)' = -v', c = x, v = y")]),
        ("x - 2", "x", [("difference rule", "(u - c)' = u', u = x, c = 2")]),
        ("2 + x", "x", [("sum rule", "(c + v)' = v', c = 2, v = x")]),
        ("x + 2", "x", [("sum rule", "(u + c)' = u', u = x, c = 2")]),
        ("cos(2*x)", "x", [("chain rule", "d/du cos(u) = -sin(u), u = 2*x"),
                           ("constant multiple", "(c*v)' = c*v', c = 2, v = x")]),
        # Letters the program uses are not reused in the statements.
        ("sin(u*x)", "x", [("chain rule", "d/dp sin(p) = cos(p), p = u*x"),
                           ("constant multiple", "(c*v)' = c*v', c = u, v = x")]),
        ("sin(u + p + g + x)", "x", [("chain rule", "d/du_ sin(u_) = cos(u_), u_ = u + p + g + x"),
                                     ("sum rule", "(c + v)' = v', c = u + p + g, v = x")]),
        ("u*v*c*p + x", "x", [("sum rule", "(k + q)' = q', k = u*v*c*p, q = x")]),
        # Nor beside a name that is the letter and a number.
        ("sin(u1*x)", "x", [("chain rule", "d/dp sin(p) = cos(p), p = u1*x"),
                            ("constant multiple", "(c*v)' = c*v', c = u1, v = x")]),
        # A bound node is called by its name.
        ("a = 2*x; exp(a)", "x", [("chain rule", "d/du exp(u) = exp(u), u = a"),
                                  ("constant multiple", "(c*v)' = c*v', c = 2, v = x")]),
        # An input is called by its own name, even when bound to another.
        ("a = x; b = y; a*b", "x", [("constant multiple", "(u*c)' = u'*c, u = x, c = y")]),
        ("max(x, y, z, w, v)", "x", [("chain rule", "max of 5 arguments: its partials below")]),
    ],
)  # fmt: skip
def test_each_op_names_its_rule(program, name, rules):
    found = derivation(cgrad.compile(program), name)
    assert [(s.rule, s.statement) for s in found.steps[:-1]] == rules
    assert found.steps[-1].op == "input"


def test_the_letters_of_a_wide_function_are_clear_of_the_names():
    # Four arguments are u1 to u4 (here g1 to g4: u and p1 are inputs), and
    # the statement's bindings are clear of the input t1.
    found = derivation(cgrad.compile("max(u*x, p1, p2, t1)"), "x")
    statement = found.steps[0].statement
    assert statement.startswith("∂/∂g1 max(g1, g2, g3, g4) = ")
    assert statement.endswith(", g1 = u*x, g2 = p1, g3 = p2, g4 = t1")
    assert " t1 = " not in statement
    assert " where u1 = max(g1, g2, g3, g4), " in statement


def test_the_bindings_of_a_step_are_clear_of_the_rules_letters():
    # With t1 an input, a step's bindings are not u1 beside the letter u.
    found = derivation(cgrad.compile("sigmoid(sigmoid(t1*x))"), "x")
    assert found.steps[0].statement.startswith("d/du sigmoid(u) = ")
    local = found.steps[0].sends[0].local
    assert local is not None
    assert [s.split(" = ")[0] for s in local[:-1]] == ["s1"]


@pytest.mark.parametrize(
    ("names", "letters"),
    [
        ((), ("u", "v", "w", "c")),
        (("u1", "x"), ("p", "v", "w", "c")),
        (("u", "p12", "g", "v_", "c3"), ("u_", "v", "w", "k")),
        (("u", "p", "g", "u_", "u_7"), ("u__", "v", "w", "c")),
    ],
)
def test_rule_letters_are_no_name_and_no_name_numbered(names, letters):
    assert rule_letters(names) == letters


@pytest.mark.parametrize("function", ["tan", "erf", "atan", "acos", "sqrt", "sigmoid", "tanh"])
def test_a_functions_rule_is_stated_as_diff_prints_its_derivative(function):
    # Simplified as the answer is (1 + tan(x)^2, not 1 + t1*t1 where t1 = tan(x)).
    found = derivation(cgrad.compile(f"{function}(x)"), "x")
    assert found.steps[0].statement == f"d/dx {function}(x) = {where_text(found.answer)}"


@pytest.mark.parametrize("program", ["atan2(y, x)", "tan(x)", "erf(x)", "log(y, x)"])
def test_the_formulas_of_the_steps_are_simplified_as_the_answer_is(program):
    # One step: its local derivative, what it sends and the input's
    # derivative are the answer itself (-y/hypot(y, x)^2, not
    # -(y/t1/t1) where t1 = hypot(y, x)).
    found = derivation(cgrad.compile(program), "x")
    answer = tuple(found.answer)
    assert found.steps[0].sends[0].local == found.steps[0].sends[0].contribution == answer
    assert found.steps[-1].upstream == answer


def test_a_function_of_two_arguments_states_its_partials():
    found = derivation(cgrad.compile("log(x, 2)"), "x")
    assert found.steps[0].rule == "chain rule"
    assert found.steps[0].statement.startswith("∂/∂u log(u, v) = ")
    assert found.steps[0].statement.endswith(", u = x, v = 2")


PROGRAMS = [
    "sin(x*y)",
    "x*y + x",
    "exp(x)/x",
    "x*x*x",
    "a = x*y; a + sin(a)",
    "sqrt(1 + x^2)",
    "x^3*y - y/x",
    "log(exp(x)) + tanh(x*y)^2",
    "atan2(y, x) * hypot(x, y)",
    "1/(1 + exp(-(2*x + y)))",
]


@pytest.mark.parametrize("program", PROGRAMS)
def test_the_result_is_what_diff_prints(cli, program):
    steps = cli("diff", program, "--wrt", "x", "--steps")
    plain = cli("diff", program, "--wrt", "x")
    assert steps.exit_code == 0 and plain.exit_code == 0
    # The answer closes the steps, printed as cgrad diff prints it.
    partial = plain.stdout[plain.stdout.index("∂f/∂x") :]
    assert steps.stdout.endswith("\n\n" + partial)
    document = json.loads(cli("diff", program, "--wrt", "x", "--steps", "--json").stdout)
    expected = json.loads(cli("diff", program, "--wrt", "x", "--json").stdout)
    assert document["result"] == expected["derivatives"]["x"]


@pytest.mark.parametrize("program", PROGRAMS)
def test_each_step_is_the_backward_pass_in_formulas(program):
    # The formulas of the steps give the numbers of eval --steps: each
    # node's derivative, each local derivative, each contribution.
    function = cgrad.compile(program)
    rng = random.Random(program)
    point = {name: rng.uniform(0.5, 1.5) for name in function.inputs}
    numeric = {step.node: step for step in backward_steps(function, function.evaluate(point))}
    found = derivation(function, "x")
    assert [s.node for s in found.steps] == [
        n for n in numeric if n in {s.node for s in found.steps}
    ]
    for step in found.steps:
        expected = numeric[step.node]
        assert _value(step.upstream, **point) == pytest.approx(expected.gradient, rel=1e-12)
        edges = {(e.operand, e.position): e for e in expected.edges}
        for send in step.sends:
            edge = edges[send.operand, send.position]
            assert _value(send.local, **point) == pytest.approx(edge.local, rel=1e-12)
            assert _value(send.contribution, **point) == pytest.approx(edge.product, rel=1e-12)


def _value(statements, **point) -> float:
    formula = cgrad.compile("; ".join(statements))
    return formula.evaluate({n: point[n] for n in formula.inputs}).value


def test_steps_are_cut_off_with_a_line_that_says_how_many_more(cli):
    program = " + ".join(["x"] * 150)
    result = cli("diff", program, "--steps")
    lines = result.stdout.splitlines()
    assert "... 50 more steps (--full shows them all)" in lines
    assert sum(line.startswith("@") for line in lines) == STEPS_LIMIT
    assert lines[-1] == "∂f/∂x = 150"
    full = cli("diff", program, "--steps", "--full").stdout.splitlines()
    assert sum(line.startswith("@") for line in full) == 150
    assert not any("more steps" in line for line in full)
    # Where 150 paths meet, the terms are counted past the first few.
    assert "  ... 146 more terms" in full
    assert full[-3] == "  sum: ∂f/∂x = 150"
    document = json.loads(cli("diff", program, "--steps", "--json").stdout)
    assert (document["count"], len(document["steps"])) == (150, STEPS_LIMIT)
    document = json.loads(cli("diff", program, "--steps", "--json", "--full").stdout)
    assert (document["count"], len(document["steps"])) == (150, 150)
    assert len(document["steps"][-1]["terms"]) == 150


def test_a_formula_too_long_to_print_is_left_out(cli):
    # sin of a sum of 300 inputs: the local derivative cos(...) has more
    # than FORMULA_LIMIT nodes; the steps say so, the answer is whole.
    program = "sin(" + " + ".join(f"x{i}" for i in range(300)) + ")"
    found = derivation(cgrad.compile(program), "x0")
    assert found.steps[0].sends[0].local is None
    assert found.steps[0].sends[0].contribution is None
    result = cli("diff", program, "--wrt", "x0", "--steps")
    assert f"local (a formula of more than {FORMULA_LIMIT} nodes, not shown)" in result.stdout
    assert result.stdout.endswith("∂f/∂x0 = cos(" + " + ".join(f"x{i}" for i in range(300)) + ")\n")
    document = json.loads(cli("diff", program, "--wrt", "x0", "--steps", "--json").stdout)
    assert document["steps"][0]["edges"][0]["local"] is None


def test_a_100k_term_sum_is_bounded(cli):
    program = " + ".join(f"x{i}" for i in range(100_000))
    result = cli("diff", program, "--wrt", "x0", "--steps")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert sum(line.startswith("@") for line in lines) == STEPS_LIMIT
    assert "... 99,900 more steps (--full shows them all)" in lines
    assert lines[-1] == "∂f/∂x0 = 1"
    # Each line is bounded too: node texts are the graph's short labels.
    assert max(map(len, lines[1:])) < 400


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (["x*y"], "--steps derives one partial derivative at a time",
         "choose it with --wrt, e.g. --wrt x"),
        (["x*y", "--wrt", "x,y"],
         "--steps derives one partial derivative at a time, not 2 (x and y)",
         "choose it with --wrt, e.g. --wrt x"),
        (["3"], "this expression has no inputs: --steps has nothing to differentiate by", None),
        (["x^3", "--order", "2"], "--steps derives first derivatives", "leave out --order"),
        (["x*y", "--wrt", "z"], "cannot differentiate with respect to z: it is not an input",
         "the inputs are x, y"),
    ],
)  # fmt: skip
def test_steps_usage_errors(cli, arguments, message, hint):
    result = cli("diff", *arguments, "--steps")
    assert result.exit_code == 2
    expected = [f"cgrad: error: {message}"] + ([f"hint: {hint}"] if hint else [])
    assert result.stderr.splitlines() == expected
    assert result.stdout == ""


def test_an_operator_without_a_textbook_rule_is_stated_from_its_table_entry(monkeypatch):
    from dataclasses import replace

    from cgrad.ops import OPS, PRODUCT, Fixity, Notation

    monkeypatch.setitem(
        OPS, "mul", replace(OPS["mul"], notation=Notation(Fixity.INFIX, "⊗", PRODUCT))
    )
    found = derivation(cgrad.compile("x*y"), "x")
    assert (found.steps[0].rule, found.steps[0].statement) == (
        "rule of ⊗",
        "∂/∂u u⊗v = v, u = x, v = y",
    )


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (["x*y", "--wrt", "x", "--steps", "--format", "latex"],
         "--steps writes text or JSON", "leave out --format latex"),
        (["x*y", "--wrt", "x", "--full"],
         "--full goes with --steps", "add --steps, or leave out --full"),
    ],
)  # fmt: skip
def test_options_that_do_not_go_together(cli, arguments, message, hint):
    result = cli("diff", *arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"cgrad: error: {message}", f"hint: {hint}"]
    assert result.stdout == ""


def test_steps_as_json_by_format_and_with_numbers(cli):
    by_flag = cli("diff", "2^x", "--wrt", "x", "--steps", "--json")
    by_format = cli("diff", "2^x", "--wrt", "x", "--steps", "--format", "json")
    assert by_flag.exit_code == by_format.exit_code == 0
    assert by_flag.stdout == by_format.stdout
    assert json.loads(by_flag.stdout)["result"] == "log(2)*2^x"
    numeric = json.loads(cli("diff", "2^x", "--wrt", "x", "--steps", "--json", "--numeric").stdout)
    assert numeric["result"] == "0.6931471805599453*2^x"
