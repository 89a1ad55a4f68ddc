"""`cgrad check` and `cgrad.check.checker`: reverse mode against forward mode and
finite differences, through the command line and the library.

The op cases are built from ``cgrad.ops.OPS`` itself, so an op added to the
table is checked here too (with the generic points unless its domain needs
its own).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import cgrad
import cgrad.autodiff.passes
import cgrad.check.checker
import cgrad.check.differences
from cgrad.check.checker import check, check_random
from cgrad.check.differences import STEP
from cgrad.cli import check_command  # noqa: F401 - registers the command
from cgrad.ops import OPS, Fixity, Op

# No raw numpy warning may reach a user: here it fails the test.
pytestmark = pytest.mark.filterwarnings("error")

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
NAMES = ("x", "y", "z")

# Two points per op: positive and inside (-1, 1), then with mixed signs and
# larger magnitudes, so that both branches of sign-dependent rules run.
GENERIC_POINTS = ((0.3, 0.7, 0.45), (-1.3, 2.2, -0.6))
# Ops whose domain excludes a generic point: a column of values per point.
DOMAIN_POINTS: dict[str, tuple[tuple[float, ...], ...]] = {
    "pow": ((0.8, 1.7), (2.5, -0.6)),  # a positive base: d/db = a^b log(a) is real
    "logb": ((0.3, 2.5), (4.0, 0.4)),  # a base away from 1
    "log": ((0.3,), (2.2,)),
    "log2": ((0.3,), (2.2,)),
    "log10": ((0.3,), (2.2,)),
    "sqrt": ((0.3,), (2.2,)),
    "acosh": ((1.7,), (3.2,)),
    "asin": ((0.3,), (-0.6,)),
    "acos": ((0.3,), (-0.6,)),
    "atanh": ((0.3,), (-0.6,)),
    "log1p": ((0.3,), (-0.6,)),
}


def spellings(op: Op, count: int) -> list[str]:
    """Every way to write ``op`` applied to the first ``count`` names."""
    names = list(NAMES[:count])
    match op.notation.fixity:
        case Fixity.INFIX:
            forms = [f"{names[0]} {op.notation.symbol} {names[1]}"]
        case Fixity.PREFIX:
            forms = [f"{op.notation.symbol}{names[0]}"]
        case _:
            forms = [f"{op.notation.symbol}({', '.join(names)})"]
    # pow(a, b) is a^b, ln is log: each name of the op, from FUNCTIONS' source.
    forms += [f"{name}({', '.join(names)})" for name in op.spellings]
    return list(dict.fromkeys(forms))


def op_cases():
    for op in OPS.values():
        for count in (1, 2, 3) if op.arity is None else (op.arity,):
            points = DOMAIN_POINTS.get(op.name) or GENERIC_POINTS
            for text in spellings(op, count):
                for values in points:
                    point = dict(zip(NAMES[:count], values[:count], strict=True))
                    yield pytest.param(op, text, point, id=f"{text}:{list(point.values())}")


OP_CASES = list(op_cases())


def values_of(point: dict[str, float]) -> list[str]:
    return [f"{name}={value!r}" for name, value in point.items()]


def test_every_op_has_cases():
    assert {case.values[0].name for case in OP_CASES} == set(OPS)


@pytest.mark.parametrize(("op", "text", "point"), OP_CASES)
def test_every_op_passes_at_a_generic_point(cli, op: Op, text: str, point: dict[str, float]):
    graph = cgrad.compile(text).graph
    assert graph.nodes[graph.output].op == op.name, "the text must denote the op under test"
    result = cli("check", text, *values_of(point), "--json")
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["warnings"] == []
    assert list(document["partials"]) == list(point)
    for name, partial in document["partials"].items():
        # Judged and passed: null would mean a kink, which these points avoid.
        assert partial["ok"] is True, name
        assert partial["reverse"] == partial["forward"], name


# --------------------------------------------------------------------------
# Checks that must fail


def wrong_sine(monkeypatch) -> None:
    # d/dx sin(x) = sin(x): wrong. Plans are cached per Function, so every
    # compile after this sees it; forward mode runs the same rule.
    monkeypatch.setitem(
        OPS, "sin", dataclasses.replace(OPS["sin"], derivatives=(lambda m, out, a: m.sin(a),))
    )


def test_a_wrong_rule_fails(cli, monkeypatch):
    wrong_sine(monkeypatch)
    result = cli("check", "sin(x)", "x=0.5", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    sine = document["partials"]["x"]
    assert sine["ok"] is False
    # Reverse and forward run the same wrong rule; only the finite
    # difference sees through it.
    assert sine["reverse"] == sine["forward"] == math.sin(0.5)
    assert sine["finite_difference"] == pytest.approx(math.cos(0.5), rel=1e-9)


def test_a_wrong_rule_fails_in_text_and_says_which_comparison(cli, monkeypatch):
    wrong_sine(monkeypatch)
    result = cli("check", "sin(x*y) + y", "x=0.5", "y=2")
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line}
    assert rows["x"][-1] == "FAIL"
    assert rows["y"][-1] == "FAIL"
    assert "forward mode agrees with reverse, so suspect a derivative rule" in result.stdout
    assert "FAILED: x and y disagree beyond tolerance" in result.stdout


def test_a_wrong_rule_fails_only_where_it_is_used(monkeypatch):
    wrong_sine(monkeypatch)
    found = check(cgrad.compile("cos(x) + sin(y)"), {"x": 0.5, "y": 0.5})
    assert not found.ok
    assert found.partials["x"].status == "ok"
    assert found.partials["y"].status == "fail"
    assert found.partials["y"].forward_agrees is True
    assert found.partials["y"].difference_agrees is False


def test_a_wrong_rule_fails_at_random_points(cli, monkeypatch):
    wrong_sine(monkeypatch)
    # sin' = sin is right nowhere but where sin(x) = cos(x): every point fails.
    result = cli("check", "sin(x)", "x=0.5", "--random", "5", "--json")
    assert result.exit_code == 1
    assert [point["ok"] for point in json.loads(result.stdout)["points"]] == [False] * 5


def test_reverse_and_forward_must_agree(cli, monkeypatch):
    # A traversal bug, not a rule bug: forward mode's tangents doubled.
    original = cgrad.check.checker.forward_partials

    def doubled(graph, values, names):
        found = original(graph, values, names)
        return {name: (2.0 * tangent, size) for name, (tangent, size) in found.items()}

    monkeypatch.setattr(cgrad.check.checker, "forward_partials", doubled)
    result = cli("check", "x*y", "x=2", "y=3")
    assert result.exit_code == 1
    assert "reverse and forward mode differ" in result.stdout


def test_a_check_walks_its_point_once(monkeypatch):
    # The evaluation's node values serve forward mode and the finite
    # differences' centre: the differences walk only their ladders.
    walks = []
    walk = cgrad.check.differences.forward

    def counted(plan, inputs):
        walks.append(all(np.ndim(value) == 0 for value in inputs.values()))
        return walk(plan, inputs)

    monkeypatch.setattr(cgrad.check.differences, "forward", counted)
    result = check(cgrad.compile("sin(x*y) + x"), {"x": 0.5, "y": 2.0})
    assert result.ok and walks and not any(walks)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        *((case.values[1], case.values[2]) for case in OP_CASES),
        ("sqrt(x) + y", {"x": 0.0, "y": 2.0}),  # an infinite rule beside another input
        ("x*0 + sqrt(x - x) + y", {"x": 1.0, "y": 2.0}),  # a real 0 times infinity is NaN
        ("max(x, y, z) * x", {"x": 1.0, "y": 1.0, "z": 0.5}),
    ],
)
def test_forward_partials_are_the_engines_forward_mode(text, point):
    # Many inputs a pass, and the same numbers as one pass per input.
    function = cgrad.compile(text)
    result = function.evaluate(point, mode="forward")
    walk = cgrad.autodiff.passes.plan(function.graph, [])
    values = cgrad.autodiff.passes.forward(walk, {n: np.float64(v) for n, v in point.items()})
    found = {
        name: tangent
        for name, (tangent, _) in cgrad.check.checker.forward_partials(
            function.graph, values, list(function.inputs)
        ).items()
    }
    expected = {name: float(value) for name, value in result.gradient.items()}
    assert found.keys() == expected.keys()
    for name in found:
        both_nan = math.isnan(found[name]) and math.isnan(expected[name])
        assert found[name] == expected[name] or both_nan, name


def test_a_partial_off_by_one_part_in_ten_thousand_fails(monkeypatch):
    # The tolerance is tight enough to see a small error, not only a wrong
    # formula.
    rule = OPS["exp"].derivatives[0]
    monkeypatch.setitem(
        OPS,
        "exp",
        dataclasses.replace(
            OPS["exp"], derivatives=(lambda m, out, a: rule(m, out, a) * (1 + 1e-4),)
        ),
    )
    assert not check(cgrad.compile("exp(x)"), {"x": 0.7}).ok


# --------------------------------------------------------------------------
# Kinks


@pytest.mark.parametrize(
    ("text", "values", "finite_difference"),
    [
        ("relu(x)", ["x=0"], 0.5),  # reverse gives 0 by convention, FD the mean slope
        ("abs(x)", ["x=0"], 0.0),
        ("max(x, 1)", ["x=1"], 0.5),
    ],
)
def test_a_kink_is_reported_and_does_not_fail(cli, text, values, finite_difference):
    result = cli("check", text, *values, "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["ok"] is True
    partial = document["partials"]["x"]
    assert partial["ok"] is None
    assert partial["reverse"] == partial["forward"]
    assert partial["finite_difference"] == pytest.approx(finite_difference, abs=1e-9)
    assert [w["type"] for w in document["warnings"]] == ["kink"]


def test_a_kink_in_text(cli):
    result = cli("check", "relu(x)*y", "x=0", "y=2")
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line}
    assert rows["x"][-1] == "kink"
    assert rows["y"][-1] == "ok"  # y does not feed the kink: still judged
    assert "warning: `relu(x)` (node @1, line 1, column 1) is at a kink" in result.stdout
    assert "not failed: 1 of 2 partials agrees; not judged by finite differences: x (kink)" in (
        result.stdout
    )


def test_a_kink_does_not_hide_a_wrong_rule_elsewhere(cli, monkeypatch):
    wrong_sine(monkeypatch)
    result = cli("check", "relu(x) + sin(y)", "x=0", "y=0.5", "--json")
    assert result.exit_code == 1
    partials = json.loads(result.stdout)["partials"]
    assert partials["x"]["ok"] is None
    assert partials["y"]["ok"] is False


def test_non_finite_numbers_are_reported_and_do_not_fail(cli):
    result = cli("check", "x*y + log(z)", "x=nan", "y=1", "z=-1", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)  # valid JSON: NaN is a string
    assert document["partials"]["y"]["finite_difference"] == "NaN"
    assert {p["ok"] for p in document["partials"].values()} == {None}
    types = [w["type"] for w in document["warnings"]]
    assert "non_finite_input" in types and "non_finite_value" in types


def test_each_partial_is_judged_on_its_own(cli):
    # x^y at x = -2: the derivative in y (a^b log a) is NaN, the one in x is
    # not, and forward mode and the finite difference can judge it.
    result = cli("check", "x^y", "x=-2", "y=3", "--json")
    assert result.exit_code == 0
    partials = json.loads(result.stdout)["partials"]
    evaluated = json.loads(cli("eval", "x^y", "x=-2", "y=3", "--json").stdout)
    assert partials["x"]["reverse"] == evaluated["gradient"]["x"]
    assert (partials["x"]["verdict"], partials["x"]["ok"]) == ("ok", True)
    assert (partials["y"]["verdict"], partials["y"]["ok"]) == ("non-finite", None)
    assert partials["y"]["reason"] == "reverse mode gives NaN" and "reason" not in partials["x"]
    text = cli("check", "x^y", "x=-2", "y=3").stdout
    assert text.splitlines()[-1] == (
        "not failed: 1 of 2 partials agrees; not judged by finite differences: "
        "y (non-finite: reverse mode gives NaN)"
    )


def test_an_input_feeding_the_argument_with_a_non_finite_derivative_is_not_judged():
    result = check(cgrad.compile("x^(y*z)"), {"x": -2.0, "y": 3.0, "z": 1.0})
    assert {name: p.status for name, p in result.partials.items()} == {
        "x": "ok",
        "y": "non-finite",
        "z": "non-finite",
    }
    assert result.partials["y"].reason == "reverse mode gives NaN"


def test_a_partial_not_judged_for_its_finite_difference_says_so():
    result = check(cgrad.compile("x*y + log(z)"), {"x": 2.0, "y": 1.0, "z": -1.0})
    assert result.partials["x"].status == "non-finite"
    assert result.partials["x"].reason == "the finite difference is NaN"


def test_near_a_kink_a_smaller_step_is_used():
    # 1e-7 from relu's kink the first step (6e-6) straddles it; a step that
    # stays on one side finds the slope, 0 on the left and 1 on the right.
    for x, slope in ((-1e-7, 0.0), (1e-7, 1.0)):
        partial = check(cgrad.compile("relu(x)"), {"x": x}).partials["x"]
        assert partial.status == "ok"
        assert partial.finite_difference == slope
        assert partial.step < abs(x)


# --------------------------------------------------------------------------
# The step


def test_the_first_step_scales_with_the_input():
    assert STEP == pytest.approx(6.055454e-6, rel=1e-6)
    for x, h in ((0.25, STEP), (3.0, 3 * STEP), (-1e10, 1e10 * STEP)):
        partial = check(cgrad.compile("x^2"), {"x": x}).partials["x"]
        assert partial.step == pytest.approx(h, rel=1e-9)  # the step taken, as rounded
        assert partial.status == "ok"
        # x^2 has no third derivative: its central difference is exact.
        assert partial.rel_error < 1e-10


def test_large_inputs_keep_a_representable_step():
    # A fixed step of 1e-6 is below the spacing of float64 numbers at 1e12
    # (1.2e-4): x + 1e-6 == x, and the quotient would be 0/0.
    assert 1e12 + 1e-6 == 1e12
    found = check(cgrad.compile("x^3 + y"), {"x": 1e12, "y": 1.0})
    assert found.ok
    assert found.partials["x"].rel_error < 1e-8


@pytest.mark.parametrize(
    ("text", "x"),
    [
        ("log(x)", 1e-7),  # undefined a first step to the left
        ("sqrt(x)", 1e-9),
        ("sin(x)", 1e6),  # turns several times within the first step of 6
        ("x + 1e8", 1.0),  # f's rounding swamps a small step
    ],
)
def test_hard_points_still_pass(text, x):
    found = check(cgrad.compile(text), {"x": x})
    assert found.ok, found.partials
    assert found.partials["x"].status == "ok"


def test_a_point_on_a_domain_edge_uses_a_one_sided_difference():
    partial = check(cgrad.compile("sqrt(x) * 0 + x"), {"x": 0.0}).partials["x"]
    assert partial.scheme == "forward"
    assert partial.finite_difference == pytest.approx(1.0)


# --------------------------------------------------------------------------
# JSON


def test_json_shape_is_exact(cli):
    result = cli("check", "(x+y)*z", "x=1", "y=2", "z=3", "--json")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1
    document = json.loads(result.stdout)
    assert list(document) == ["expression", "inputs", "partials", "ok", "warnings"]
    assert document["expression"] == "(x+y)*z"
    assert document["inputs"] == {"x": 1.0, "y": 2.0, "z": 3.0}
    assert list(document["partials"]) == ["x", "y", "z"]
    for partial in document["partials"].values():
        assert list(partial) == [
            "reverse",
            "forward",
            "finite_difference",
            "abs_error",
            "rel_error",
            "ok",
            "verdict",
        ]
        assert partial["verdict"] == "ok"
        assert partial["reverse"] == partial["forward"] == 3.0
        assert abs(partial["finite_difference"] - 3.0) < 1e-9
        assert partial["abs_error"] == abs(partial["finite_difference"] - 3.0)
        assert partial["ok"] is True
    assert document["ok"] is True
    assert document["warnings"] == []


def test_json_with_random_points(cli):
    result = cli("check", "x*y", "x=1", "y=2", "--random", "3", "--json")
    document = json.loads(result.stdout)
    assert list(document) == ["expression", "inputs", "partials", "ok", "warnings", "points"]
    assert len(document["points"]) == 3
    for point in document["points"]:
        assert list(point) == ["inputs", "partials", "ok", "warnings"]
        assert list(point["inputs"]) == ["x", "y"]
        assert point["ok"] is True
        # x*y: d/dx is y and d/dy is x, at each point.
        assert point["partials"]["x"]["reverse"] == point["inputs"]["y"]
        assert point["partials"]["y"]["reverse"] == point["inputs"]["x"]


def test_random_points_are_reproducible(cli):
    first = cli("check", "sin(x*y) + z", "x=1", "y=2", "z=3", "--random", "5", "--json")
    again = cli("check", "sin(x*y) + z", "x=1", "y=2", "z=3", "--random", "5", "--json")
    other = cli("check", "sin(x*y) + z", "x=1", "y=2", "z=3", "--random", "5", "--seed", "1")
    assert first.exit_code == again.exit_code == other.exit_code == 0
    assert first.stdout == again.stdout
    points = [point["inputs"] for point in json.loads(first.stdout)["points"]]
    assert len(points) == 5
    assert len({tuple(p.values()) for p in points}) == 5
    assert {"x": 1.0, "y": 2.0, "z": 3.0} not in points
    seeded = cli("check", "sin(x*y) + z", "x=1", "y=2", "z=3", "--random", "5", "--seed", "1")
    assert other.stdout == seeded.stdout
    assert "5 random points around it (seed 1)" in other.stdout
    assert "ok: all 5 points pass" in other.stdout


def test_random_points_in_the_library_follow_input_order_and_scale():
    function = cgrad.compile("x*y")
    one = check_random(function, {"y": 2.0, "x": 1000.0}, 200, seed=3)
    two = check_random(function, {"x": 1000.0, "y": 2.0}, 200, seed=3)
    assert [p.inputs for p in one] == [p.inputs for p in two]
    xs = [p.inputs["x"] - 1000.0 for p in one]
    ys = [p.inputs["y"] - 2.0 for p in one]
    # Normal noise times max(1, |x|): a spread near 1000 for x, near 2 for y.
    spread = lambda values: math.sqrt(sum(v * v for v in values) / len(values))  # noqa: E731
    assert 800 < spread(xs) < 1200
    assert 1.6 < spread(ys) < 2.4
    assert all(p.ok for p in one)


# --------------------------------------------------------------------------
# Text and arguments


def test_text_output_of_the_seed_example(cli):
    result = cli("check", "(x+y)*z", "x=1", "y=2", "z=3")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[:3] == ["(x+y)*z", "value 9", ""]
    assert lines[3].split() == [
        "input",
        "reverse",
        "forward",
        "finite",
        "diff",
        "abs",
        "error",
        "rel",
        "error",
        "ok",
    ]
    assert [line.split()[:4] for line in lines[5:8]] == [
        ["x", "3", "3", "3"],
        ["y", "3", "3", "3"],
        ["z", "3", "3", "3"],
    ]
    assert [line.split()[-1] for line in lines[5:8]] == ["ok"] * 3
    assert lines[-1] == "ok: all 3 partials agree"


def test_values_as_eval_takes_them(cli):
    expected = cli("check", "(x+y)*z", "x=1", "y=2", "z=3", "--json").stdout
    for values in (
        ["--x", "1", "--y", "2", "--z", "3"],
        ["--x=1", "--y=2", "--z=3"],
        ["--var", "x=1", "--var", "y=2", "--var", "z=3"],
    ):
        assert cli("check", "(x+y)*z", *values, "--json").stdout == expected


def test_a_program_file_wrt_and_var(cli):
    result = cli(
        "check",
        f"@{SAMPLES / 'neuron.cg'}",
        "x1=2",
        "x2=0",
        "w1=-3",
        "w2=1",
        "b=6.8813735870195432",
        "--wrt",
        "w1,b",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert list(json.loads(result.stdout)["partials"]) == ["w1", "b"]
    result = cli("check", "json*random", "--var", "json=2", "--var", "random=3", "--json")
    assert json.loads(result.stdout)["partials"]["random"]["reverse"] == 2.0


def test_nothing_to_check(cli):
    result = cli("check", "2+3")
    assert result.exit_code == 0
    assert "nothing to check: the expression has no inputs" in result.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "no expression given"),
        (["(x+y)*z", "x=1"], "missing a value for y and z"),
        (["x*y", "x=1", "y=2", "w=3"], "w is not an input"),
        (["x*y", "x=1", "y=abc"], "the value of y is not a number"),
        (["x*y", "x=1", "y=2", "--wrt", "w"], "cannot differentiate with respect to w"),
        (["x*y", "x=1", "y=2", "--random", "-1"], "--random must be a number of points >= 0"),
        (["x*y", "x=1", "y=2", "--random", "2", "--seed", "-1"], "--seed must be >= 0"),
        # Too many for numpy to shape once crashed with exit 70; a count it
        # could shape would hold one result per point in memory.
        (
            ["x*y", "x=1", "y=2", "--random", "99999999999999999999"],
            "--random must be at most 100000, not 99999999999999999999",
        ),
        (
            ["x*y", "x=1", "y=2", "--random", "100001"],
            "--random must be at most 100000, not 100001",
        ),
        (["sinn(x)", "x=1"], "unknown function 'sinn'"),
    ],
)
def test_usage_errors_exit_2(cli, arguments, message):
    result = cli("check", *arguments)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    with_json = cli("check", *arguments, "--json")
    assert with_json.exit_code == 2
    assert list(json.loads(with_json.stdout)) == ["error"]


def test_a_bad_option_value_exits_2(cli):
    result = cli("check", "x*y", "x=1", "y=2", "--random", "many")
    assert result.exit_code == 2
    assert "--random" in result.stderr


def test_library_caps_random_points():
    with pytest.raises(cgrad.InputError, match="must be at most 100000, not 100001"):
        check_random(cgrad.compile("x*y"), {"x": 1.0, "y": 2.0}, 100_001)


def test_library_rejects_arrays():
    with pytest.raises(cgrad.InputError, match="one number per input"):
        check(cgrad.compile("x*y"), {"x": [1.0, 2.0], "y": 1.0})


def test_help_states_the_step_and_the_tolerances(cli):
    result = cli("check", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "h = cbrt(eps)*max(1, |x|)" in text
    assert "1e-10 relative plus 1e-12 absolute" in text
    assert "1e-5 relative plus 1e-8 absolute" in text
    assert "--random" in text and "--seed" in text


# --------------------------------------------------------------------------
# Steps that would cross a kink, a pole or a domain edge


@pytest.mark.parametrize(
    ("text", "x"),
    [
        ("1/x", 1e-10),  # the first step, 6e-6, jumps over the pole
        ("sqrt(x)", 1e-12),
        ("log(x)", 1e-12),
        ("sqrt(x)", 1e-300),
        ("abs(x)", 1e-300),
        ("1e-200*sign(x) + x", -1e-200),
        ("max(x, 1e-9) * 3", 2e-9),  # a tie 1e-9 away
        ("tan(x)", math.pi / 2 - 1e-9),
        ("sqrt(x*x)", 3.125e-28),  # the edge of sqrt is touched, not crossed
        ("atanh(x)", 1 - 1e-12),
    ],
)
def test_a_step_never_crosses_an_edge(cli, text, x):
    result = cli("check", text, f"x={x!r}", "--json")
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    partial = document["partials"]["x"]
    assert (partial["ok"], partial["verdict"]) == (True, "ok")
    assert partial["rel_error"] < 1e-6
    assert document["warnings"] == []


def test_where_no_step_can_judge_it_says_so_and_does_not_fail(cli):
    # sin(pi) is 1.2e-16 as rounded: abs's kink lies closer to x than the
    # spacing of float64 numbers there.
    result = cli("check", "abs(sin(x))", "x=3.141592653589793", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["partials"]["x"] == {
        "reverse": -1.0,
        "forward": -1.0,
        "finite_difference": "NaN",
        "abs_error": "NaN",
        "rel_error": "NaN",
        "ok": None,
        "verdict": "cannot-judge",
    }
    assert document["warnings"] == [
        {
            "type": "cannot_judge",
            "message": "cannot judge the partial in x: a kink, pole or domain edge is about "
            "1.2e-16 away from x = 3.141592653589793, and no step that stays clear of it is "
            "large enough for a finite difference to mean anything",
            "node": None,
            "line": None,
            "column": None,
        }
    ]


def test_where_steps_clear_of_an_edge_vanish_in_rounding_it_cannot_judge():
    # f is -1 + x: steps below 1e-200 do not change it.
    found = check(cgrad.compile("sign(x) + x"), {"x": -1e-200})
    assert found.partials["x"].status == "cannot-judge"
    assert found.warnings[0].message.startswith(
        "cannot judge the partial in x: a kink, pole or domain edge is about 1e-200 away"
    )


def test_cannot_judge_in_text(cli):
    result = cli("check", "abs(sin(x)) + y", "x=3.141592653589793", "y=1")
    assert result.exit_code == 0
    assert result.stderr == ""
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line}
    assert rows["x"].endswith("cannot judge")
    assert rows["y"].endswith("ok")
    assert result.stdout.splitlines()[-1] == (
        "not failed: 1 of 2 partials agrees; not judged by finite differences: x (cannot judge)"
    )


def test_a_function_finer_than_float64_near_x_cannot_be_judged():
    # Near 1e34 float64 numbers are 2e18 apart and sin turns at random
    # between them: any agreement of differences would be chance.
    partial = check(cgrad.compile("sin(x)"), {"x": 1e34}).partials["x"]
    assert partial.status == "cannot-judge"


def test_a_large_input_still_gets_small_steps():
    # sin turns every 6 units; the first step at 1e9 is 6e3.
    partial = check(cgrad.compile("sin(x)"), {"x": 1e9}).partials["x"]
    assert partial.status == "ok"
    assert partial.step < 1.0


def test_a_smooth_point_between_edges_is_still_judged():
    # x^2 has no edge; sqrt(x) at 0 is on one (a kink, warned of).
    assert check(cgrad.compile("x^2"), {"x": 0.0}).partials["x"].status == "ok"
    assert check(cgrad.compile("cos(x)"), {"x": 0.0}).partials["x"].status == "ok"
    assert check(cgrad.compile("sqrt(x)"), {"x": 0.0}).partials["x"].status == "kink"


def wrong_log(monkeypatch) -> None:
    # d/dx log(x) = 1/x^2: wrong, and very wrong near the domain edge.
    monkeypatch.setitem(
        OPS, "log", dataclasses.replace(OPS["log"], derivatives=(lambda m, out, a: 1.0 / (a * a),))
    )


@pytest.mark.parametrize("x", [1e-10, 1e-150, 0.5])
def test_a_wrong_rule_near_an_edge_still_fails(cli, monkeypatch, x):
    wrong_log(monkeypatch)
    result = cli("check", "log(x)", f"x={x!r}", "--json")
    assert result.exit_code == 1
    partial = json.loads(result.stdout)["partials"]["x"]
    assert (partial["ok"], partial["verdict"]) == (False, "fail")
    assert partial["finite_difference"] == pytest.approx(1 / x, rel=1e-6)


def test_random_points_near_edges_never_fail(cli):
    result = cli(
        "check", "1/x + sqrt(abs(y)) + abs(sin(x*y))", "x=1e-10", "y=1e-300", "--random", "30",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    verdicts = {
        partial["verdict"]
        for point in [document, *document["points"]]
        for partial in point["partials"].values()
    }
    assert "fail" not in verdicts
    assert document["partials"]["x"]["verdict"] == "ok"


EDGED = {
    "div", "pow", "tan", "asin", "acos", "atanh", "acosh", "log", "logb", "log2", "log10",
    "log1p", "sqrt", "cbrt", "abs", "sign", "relu", "step", "atan2", "hypot", "min", "max",
}  # fmt: skip


def test_the_ops_that_are_not_smooth_declare_their_edges():
    assert {name for name, op in OPS.items() if op.edges is not None} == EDGED


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("div", (1.0, 0.0)),
        ("log", (0.0,)),
        ("log1p", (-1.0,)),
        ("asin", (1.0,)),
        ("acos", (-1.0,)),
        ("atanh", (1.0,)),
        ("acosh", (1.0,)),
        ("tan", (math.pi / 2,)),
        ("pow", (0.0, 0.5)),
        ("pow", (0.0, -1.0)),
        ("logb", (2.0, 1.0)),
        ("atan2", (0.0, -1.0)),
        ("hypot", (0.0, 0.0)),
        ("max", (1.0, 1.0, 0.0)),
        ("min", (0.0, 2.0, 0.0)),
    ],
)
def test_an_edge_quantity_vanishes_on_the_edge(name, arguments):
    op = OPS[name]
    with np.errstate(all="ignore"):  # the op itself is infinite or NaN there
        out = op.forward(*arguments)
    assert min(abs(float(q)) for q in op.edges(out, *arguments)) < 1e-15


def test_a_whole_power_has_no_edge_at_zero():
    # (The second quantity is 0^b's jump at b = 0, which y = 2 is clear of.)
    assert OPS["pow"].edges(0.0, 0.0, 2.0) == (1.0, 2.0)


@pytest.mark.parametrize(
    ("arguments", "crossed_by"),
    [((0.0, 0.5), 0), ((0.0, 0.0), 1), ((-2.0, 2.0), 1), ((-2.0, 0.0), 1)],
)
def test_each_edge_of_a_power_vanishes_on_it_and_says_which_step_crosses_it(arguments, crossed_by):
    # a^b at a = 0, b not whole: an edge in a. 0^b at b = 0 jumps, and
    # (-2)^b leaves the domain off whole b: edges in b.
    op = OPS["pow"]
    with np.errstate(all="ignore"):
        quantities = op.edges(op.forward(*arguments), *arguments)
    assert float(quantities[crossed_by]) == 0.0
    assert op.edges_crossed_by[crossed_by] == (crossed_by,)


def test_a_step_in_the_exponent_of_zero_to_a_whole_power_is_judged(cli):
    # 0^y is 0 for every y near 2: smooth in y, though 0^2.1 is on an edge
    # in the base (0^b, b not whole, has no derivative in a).
    result = cli("check", "x^y", "x=0", "y=2", "--json")
    assert result.exit_code == 0, result.stdout
    document = json.loads(result.stdout)
    assert document["partials"]["y"]["verdict"] == "ok"
    assert document["partials"]["y"]["finite_difference"] == 0.0
    assert document["warnings"] == []


@pytest.mark.parametrize(("x", "y"), [(0.0, 0.0), (-2.0, 2.0), (0.0, 1e-300)])
def test_a_step_in_the_exponent_that_crosses_an_edge_blames_no_rule(cli, x, y):
    # 0^y jumps at y = 0; (-2)^y is real only at whole y.
    result = cli("check", "x^y", f"x={x!r}", f"y={y!r}", "--json")
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["partials"]["y"]["verdict"] != "ok"


def test_a_wrong_exponent_rule_at_zero_to_a_whole_power_fails(cli, monkeypatch):
    # Judged now, the rule is held to it: d/db = 1 where 0^b is flat.
    pow_op = OPS["pow"]
    wrong = (pow_op.derivatives[0], lambda m, out, a, b: 1.0)
    monkeypatch.setitem(OPS, "pow", dataclasses.replace(pow_op, derivatives=wrong))
    result = cli("check", "x^y", "x=0", "y=2", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["partials"]["y"]["verdict"] == "fail"


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

UNARY = [op.notation.symbol for op in OPS.values() if op.arity == 1 and op.spellings]
BINARY = ["+", "-", "*", "/", "^", "min", "max", "atan2", "hypot", "pow", "log"]
SHIFTS = ["0", "1", "1.5", "3.141592653589793", "1.5707963267948966", "-1"]


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        leaf = draw(st.sampled_from(["x", "y", "x", "y", "2", "0.5", "(x - S)", "(y - S)"]))
        return leaf.replace("S", draw(st.sampled_from(SHIFTS)))
    if draw(st.booleans()):
        return f"{draw(st.sampled_from(UNARY))}({draw(expressions(depth - 1))})"
    op = draw(st.sampled_from(BINARY))
    a, b = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    if op == "^":
        b = draw(st.sampled_from(["2", "3", "0.5", "-1", "1.5", b]))
        return f"({a})^({b})"
    if op in "+-*/":
        return f"({a}) {op} ({b})"
    return f"{op}({a}, {b})"


# Ordinary numbers, any magnitude, and points within 1e-12 of a pole, a
# kink or a domain edge (or on one).
coordinates = st.one_of(
    st.floats(-3, 3),
    st.builds(lambda m, e: m * 10.0**e, st.floats(-1, 1), st.integers(-300, 300)),
    st.builds(
        lambda base, offset: base + offset,
        st.sampled_from([0.0, 1.0, 1.5, -1.0, math.pi, math.pi / 2, -2.0, 1e6]),
        st.sampled_from([0.0, 1e-12, -1e-12, 1e-15, 1e-300, -1e-300, 5e-324, 1e-10]),
    ),
)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(text=expressions(), x=coordinates, y=coordinates)
def test_a_correct_rule_is_never_blamed(text, x, y):
    function = cgrad.compile(text)
    point = {name: value for name, value in {"x": x, "y": y}.items() if name in function.inputs}
    found = check(function, point)
    assert found.failed == [], (text, point, found.partials)


# --------------------------------------------------------------------------
# Many inputs


def peak_memory_of_check(count: int) -> int:
    function = cgrad.compile(" + ".join(f"x{i}*x{i}" for i in range(count)))
    point = {f"x{i}": 0.5 + i / count for i in range(count)}
    tracemalloc.start()
    try:
        found = check(function, point)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found.ok and len(found.partials) == count
    return peak


def test_memory_grows_with_the_graph_not_with_inputs_times_graph(monkeypatch):
    # Small budgets, so that they bind at sizes a test can afford: the
    # memory of a chunk is then bounded, and what is left grows with the
    # graph. Holding a graph's values per input (n x n) would grow 16 times
    # from n to 4n.
    monkeypatch.setattr(cgrad.check.differences, "BUDGET", 1 << 18)
    monkeypatch.setattr(cgrad.check.checker, "FORWARD_CHUNK", 8)
    small, large = peak_memory_of_check(100), peak_memory_of_check(400)
    assert large < 8 * small, (small, large)


@pytest.mark.parametrize(
    ("text", "point", "verdicts"),
    [
        # x + 1e12 absorbs steps below 1e-4: longer ones judge.
        ("sin(x + y)", {"x": 0.0, "y": 1e12}, {"x": "ok", "y": "ok"}),
        # x + 1e18 absorbs every step up to 64: nothing can judge x.
        ("sin(x + y)", {"x": 0.0, "y": 1e18}, {"x": "cannot-judge", "y": "cannot-judge"}),
        # tanh far into its tail is flat to float64: 0 is right.
        ("tanh(x*y + 1)", {"x": -6.8, "y": 5.0}, {"x": "ok", "y": "ok"}),
        ("x*0 + y", {"x": 1.0, "y": 2.0}, {"x": "ok", "y": "ok"}),
        ("x - x", {"x": 1.0}, {"x": "ok"}),
        # Rounding inside the graph, not at the output: hypot near 100 under
        # a step of 1e-11, and 1 + x that swallows a step below 1e-16.
        ("sin(hypot(x, y))", {"x": 1.0, "y": 100.0}, {"x": "ok", "y": "ok"}),
        ("log(x, x + 1)", {"x": 1e-10}, {"x": "ok"}),
    ],
)
def test_steps_lost_in_rounding(text, point, verdicts):
    found = check(cgrad.compile(text), point)
    assert {name: p.status for name, p in found.partials.items()} == verdicts


def test_the_origin_of_hypot_is_an_edge_a_path_crosses():
    # hypot(0, y) is |y|: a V whose point is 1e-12 away, which the first
    # step would jump over.
    found = check(cgrad.compile("y + sin(hypot(x, y))"), {"x": 0.0, "y": 1e-12})
    assert {name: p.status for name, p in found.partials.items()} == {"y": "ok", "x": "ok"}
    assert found.partials["y"].finite_difference == pytest.approx(2.0, rel=1e-9)


def test_reverse_and_forward_may_differ_by_the_rounding_of_cancelling_paths():
    # d/dy sin(y/y) sums cos(1)*1e12 and -cos(1)*1e12 at y = 1e-12: the two
    # modes add them in another order, and both are right to about 1e-4.
    partial = check(cgrad.compile("sin(y/y) + erf(y)"), {"y": 1e-12}).partials["y"]
    assert partial.reverse != partial.forward
    assert partial.forward_agrees is True
    assert partial.status == "ok"


def test_check_random_takes_numpy_integers_as_counts_and_seeds():
    function = cgrad.compile("x*y")
    point = {"x": 1.0, "y": 2.0}
    got = check_random(function, point, np.int64(3), seed=np.int64(2))
    want = check_random(function, point, 3, seed=2)
    assert [r.inputs for r in got] == [r.inputs for r in want]
    with pytest.raises(cgrad.InputError, match="whole number >= 0, not np.True_"):
        check_random(function, point, np.bool_(True))


def test_random_points_report_their_progress_in_order():
    function = cgrad.compile("x*y")
    seen: list[int] = []
    checked = check_random(function, {"x": 1.0, "y": 2.0}, 7, progress=seen.append)
    assert seen == list(range(1, 8)) and len(checked) == 7


def _check_with_stderr_on_a_terminal(*arguments: str) -> tuple[int, bytes, bytes]:
    """``cgrad check`` run as a process whose stderr is a pseudo-terminal:
    its exit status, standard output, and what the terminal was sent."""
    import os
    import subprocess
    import sys

    master, slave = os.openpty()
    command = [sys.executable, "-m", "cgrad", "check", *arguments]
    environment = {**os.environ, "TERM": "xterm", "COLUMNS": "80"}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=environment) as run:
        os.close(slave)
        sent = []
        while True:  # read as it comes: a full terminal buffer would stop the run
            try:
                piece = os.read(master, 65536)
            except OSError:  # (EIO: every writer of the terminal has closed it)
                break
            if not piece:
                break
            sent.append(piece)
        os.close(master)
        stdout = run.stdout.read() if run.stdout else b""
    return run.returncode, stdout, b"".join(sent)


def test_many_random_points_show_a_bar_on_a_terminal_that_goes_away(cli):
    arguments = ("x*y", "x=1", "y=2", "--random", "300")
    status, stdout, terminal = _check_with_stderr_on_a_terminal(*arguments)
    assert status == 0
    assert b"300/300" in terminal  # the bar's last state, drawn before it is erased
    assert terminal.endswith(b"\x1b[2K")  # ... and erased: the line cleared
    # The report is the same as without a terminal.
    assert stdout.decode() == cli("check", *arguments).stdout


def test_few_random_points_show_no_bar():
    status, _, terminal = _check_with_stderr_on_a_terminal("x*y", "x=1", "y=2", "--random", "5")
    assert (status, terminal) == (0, b"")


def test_a_few_points_of_a_big_program_show_a_bar_too():
    # Each point of a program of many inputs takes long: the bar counts the
    # work (points times nodes times inputs), not the points alone.
    program = " + ".join(f"sin(x{k}*y{k})" for k in range(120))
    values = [f"{name}{k}=0.5" for k in range(120) for name in "xy"]
    status, _, terminal = _check_with_stderr_on_a_terminal(program, *values, "--random", "2")
    assert status == 0 and b"2/2" in terminal


def test_random_points_none_of_which_could_be_judged_are_not_called_ok(cli):
    result = cli("check", "log(x)", "x=-5", "--random", "3")
    assert result.stdout.splitlines()[-1] == (
        "not failed: none of the 3 points could be judged by finite differences"
    )
