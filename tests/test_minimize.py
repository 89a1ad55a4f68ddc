"""`cgrad.minimize` and `cgrad minimize`: the update rules, where each stops
and why, the summary (text and JSON), the trace, and usage errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import cgrad
from cgrad.cli import minimize_command  # noqa: F401 - registers the command
from cgrad.descent import DEFAULTS, METHODS, Adam, GradientDescent, Momentum, minimize
from cgrad.errors import InputError, UsageError
from cgrad.views.terminal_minimize import LossHistory, sparkline

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
QUADRATIC = "(x-3)^2 + 2*(y+1)^2 + x*y/2"
JSON_KEYS = [
    "expression",
    "method",
    "start",
    "point",
    "value",
    "gradient",
    "gradient_norm",
    "steps",
    "stopped",
]
TRACE_KEYS = ["step", "loss", "point", "gradient"]
# x^2 by gradient descent with lr 0.25 halves x at each step, so every
# number is a power of two: 28 halvings bring the gradient 2x under 1e-8.
HALVING = ("minimize", "x^2", "x=1", "--method", "gd", "--lr", "0.25")
HALVING_JSON = (
    '{"expression": "x^2", "method": "gd", "start": {"x": 1.0}, '
    '"point": {"x": 3.725290298461914e-09}, "value": 1.3877787807814457e-17, '
    '"gradient": {"x": 7.450580596923828e-09}, "gradient_norm": 7.450580596923828e-09, '
    '"steps": 28, "stopped": "tolerance"}\n'
)
FIT_START = (
    "w11=0.1",
    "w12=-0.2",
    "b1=0",
    "w21=0.4",
    "w22=0.3",
    "b2=0.1",
    "v1=0.7",
    "v2=-0.5",
    "c=0.05",
)


def quadratic_minimum() -> np.ndarray:
    # The gradient (2(x-3) + y/2, 4(y+1) + x/2) is zero where
    # [[2, 1/2], [1/2, 4]] (x, y) = (6, -4); the matrix is positive definite.
    return np.linalg.solve([[2.0, 0.5], [0.5, 4.0]], [6.0, -4.0])


def strict_json(line: str):
    """json.loads that refuses the NaN and Infinity tokens RFC 8259 lacks."""

    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(line, parse_constant=refuse)


# --------------------------------------------------------------------------
# The library


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_reaches_the_minimum_of_a_convex_quadratic(method):
    found = minimize(QUADRATIC, {"x": 0, "y": 0}, method=method, tol=1e-10)
    assert found.stopped == "tolerance"
    assert found.steps <= DEFAULTS[method].steps
    point = np.array([found.point["x"], found.point["y"]])
    assert np.max(np.abs(point - quadratic_minimum())) <= 1e-8
    x, y = quadratic_minimum()
    assert found.value == pytest.approx((x - 3) ** 2 + 2 * (y + 1) ** 2 + x * y / 2, abs=1e-15)
    assert found.gradient_norm <= 1e-10
    assert found.method == method and found.lr == DEFAULTS[method].lr


def test_adam_takes_rosenbrock_to_its_minimum_within_3000_steps():
    # The stated budget: adam with its default lr (0.05) needs about 2,460
    # steps to a gradient norm of 1e-6, which puts (x, y) within 3e-6 of (1, 1).
    function = cgrad.compile((SAMPLES / "rosenbrock.cg").read_text())
    found = minimize(function, {"x": -1.2, "y": 1}, method="adam", steps=3000, tol=1e-6)
    assert found.stopped == "tolerance"
    assert found.steps <= 3000
    assert abs(found.point["x"] - 1) <= 1e-4 and abs(found.point["y"] - 1) <= 1e-4


def test_each_step_is_one_evaluation_and_one_callback(monkeypatch):
    calls = []
    original = cgrad.Function.evaluate

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("wrt"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cgrad.Function, "evaluate", counted)
    seen = []
    found = minimize("(a*x - 2)^2", {"a": 1, "x": 3}, wrt="a", steps=7, callback=seen.append)
    assert found.stopped == "steps" and found.steps == 7
    # Step 0 is the start, then one evaluation after each update.
    assert [step.step for step in seen] == list(range(8))
    assert calls == [["a"]] * 8
    assert seen[-1].point == found.point and seen[-1].loss == found.value


def test_fixed_inputs_stay_at_their_values():
    # d/da of (3a - 2)^2 + (a - 3)^2 is 20a - 18: the minimum over a is 0.9.
    found = minimize("(a*x - 2)^2 + (a - 3)^2", {"a": 0, "x": 3}, wrt=["a"], tol=1e-10)
    assert found.point["x"] == 3.0
    assert list(found.gradient) == ["a"]
    assert found.point["a"] == pytest.approx(0.9, abs=1e-10)
    assert list(found.point) == ["a", "x"] and found.start == {"a": 0.0, "x": 3.0}


def test_divergence_stops_at_once_with_the_last_finite_point():
    seen = []
    found = minimize(QUADRATIC, {"x": 0, "y": 0}, method="gd", lr=10, callback=seen.append)
    assert found.stopped == "diverged"
    assert found.diverged is seen[-1] and not found.diverged.finite
    assert found.steps == found.diverged.step - 1 == seen[-2].step
    assert found.point == seen[-2].point and math.isfinite(found.value)
    assert found.reason.startswith(f"diverged at step {found.diverged.step}: the loss is Infinity")


def test_a_start_that_is_not_finite_is_refused():
    with pytest.raises(InputError, match="cannot start here: the loss is NaN"):
        minimize("log(x)", {"x": -1})
    with pytest.raises(InputError, match="start value of x must be finite"):
        minimize("x^2", {"x": float("nan")})
    with pytest.raises(InputError, match="must be one number"):
        minimize("x^2", {"x": np.ones(3)})


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"method": "sgd"}, "the method must be gd, momentum, adam, not 'sgd'"),
        ({"lr": -0.1}, "lr, must be a finite positive number, not -0.1"),
        ({"lr": float("nan")}, "lr, must be a finite positive number, not NaN"),
        ({"lr": float("inf")}, "lr, must be a finite positive number, not Infinity"),
        ({"lr": True}, "lr, must be a finite positive number, not True"),
        ({"tol": np.bool_(True)}, "tol, must be a number >= 0, not np.True_"),
        ({"steps": -1}, "steps, must be a whole number >= 0, not -1"),
        ({"steps": 2.5}, "steps, must be a whole number >= 0, not 2.5"),
        ({"tol": -1}, "tol, must be a number >= 0, not -1"),
        ({"wrt": ["y"]}, "cannot differentiate with respect to y"),
        ({"wrt": []}, "nothing to minimize over"),
    ],
)
def test_bad_settings_are_usage_errors(settings, message):
    with pytest.raises((UsageError, InputError), match=message):
        minimize("x^2", {"x": 1}, **settings)


def test_zero_steps_evaluates_the_start_only():
    found = minimize("x^2", {"x": 1}, steps=0)
    assert (found.stopped, found.steps, found.point, found.value) == ("steps", 0, {"x": 1.0}, 1.0)


def test_the_update_rules():
    gradient = np.array([2.0, -0.5])
    assert GradientDescent(0.1).step(gradient).tolist() == [-0.2, 0.05]
    momentum = Momentum(0.1)
    momentum.step(gradient)
    # The second step carries 0.9 of the first gradient along.
    assert momentum.step(gradient) == pytest.approx(-0.1 * 1.9 * gradient)
    # Bias correction makes Adam's first step lr times the gradient's sign.
    assert Adam(0.1).step(gradient) == pytest.approx([-0.1, 0.1])


# --------------------------------------------------------------------------
# The command


def test_json_summary_is_exactly_the_documented_object(cli):
    result = cli(*HALVING, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == HALVING_JSON
    assert list(json.loads(result.stdout)) == JSON_KEYS
    # Not a terminal: no live display, nothing on stderr.
    assert result.stderr == ""


def test_text_summary(cli):
    result = cli(*HALVING)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "x^2",
        "value 1.3877787807814457e-17",
        "gradient norm 7.450580596923828e-09",
        "steps 28 (gd, lr 0.25)",
        "stopped: the gradient norm reached the tolerance (7.45e-09 <= 1e-08)",
        "",
        "input  start                  point              ∂f/∂input",
        "──────────────────────────────────────────────────────────",
        "x          1  3.725290298461914e-09  7.450580596923828e-09",
    ]
    assert result.stderr == ""


def test_rosenbrock_sample_through_the_command(cli):
    result = cli(
        "minimize", f"@{SAMPLES / 'rosenbrock.cg'}", "--x", "-1.2", "--y=1", "--method", "adam",
        "--steps", "3000", "--tol", "1e-6", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stopped"] == "tolerance" and document["steps"] <= 3000
    assert document["point"] == {"x": pytest.approx(1, abs=1e-4), "y": pytest.approx(1, abs=1e-4)}


def test_fit_sample_reaches_a_small_loss(cli):
    result = cli("minimize", f"@{SAMPLES / 'fit.cg'}", *FIT_START, "--method", "adam", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stopped"] == "tolerance" and document["steps"] <= 2000
    assert document["value"] < 1e-12
    assert list(document["point"]) == [value.split("=")[0] for value in FIT_START]


def test_fixed_inputs_through_the_command(cli):
    result = cli("minimize", "(a*x - 2)^2", "a=1", "--x", "3", "--wrt", "a", "--json")
    document = json.loads(result.stdout)
    assert document["point"]["x"] == 3.0 and list(document["gradient"]) == ["a"]
    assert document["point"]["a"] == pytest.approx(2 / 3, abs=1e-8)
    text = cli("minimize", "(a*x - 2)^2", "a=1", "--x", "3", "--wrt", "a").stdout
    assert "(fixed)" in text.splitlines()[-1]


def test_divergence_exits_1_with_a_message_and_the_summary(cli, tmp_path):
    trace = tmp_path / "steps.ndjson"
    result = cli(
        "minimize", QUADRATIC, "x=0", "y=0", "--method", "gd", "--lr", "10", "--json",
        "--trace", str(trace),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("cgrad: error: diverged at step 97: the loss is Infinity (")
    assert "hint: the summary shows step 96, the last finite point; try a smaller --lr than 10" in (
        result.stderr
    )
    document = strict_json(result.stdout)  # one object, every number finite
    assert (document["stopped"], document["steps"]) == ("diverged", 96)
    lines = trace.read_text().splitlines()
    # Every step, the one that diverged included, with the warning that
    # says where its Infinity came from.
    assert len(lines) == 98
    last = json.loads(lines[-1])
    assert last["step"] == 97 and last["loss"] == "Infinity"
    assert last["warnings"][0]["type"] == "non_finite_value"
    assert json.loads(lines[-2])["point"] == document["point"]

    text = cli("minimize", QUADRATIC, "x=0", "y=0", "--method", "gd", "--lr", "10")
    assert text.exit_code == 1
    assert "stopped: diverged at step 97" in text.stdout
    assert "below is step 96, the last finite point" in text.stdout


def test_trace_has_one_valid_line_per_step(cli, tmp_path):
    trace = tmp_path / "steps.ndjson"
    result = cli(*HALVING, "--json", "--trace", str(trace))
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    lines = trace.read_text(encoding="utf-8").splitlines()
    # Step 0 is the start, then a line after each of the 28 updates.
    assert len(lines) == summary["steps"] + 1 == 29
    records = [strict_json(line) for line in lines]
    assert all(list(record) == TRACE_KEYS for record in records)
    assert [record["step"] for record in records] == list(range(29))
    assert records[0] == {"step": 0, "loss": 1.0, "point": {"x": 1.0}, "gradient": {"x": 2.0}}
    assert records[1]["point"] == {"x": 0.5}
    assert records[-1]["point"] == summary["point"] and records[-1]["loss"] == summary["value"]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("--method", "sgd"), "--method must be gd or momentum or adam, not 'sgd'"),
        (("--lr", "-0.5"), "the learning rate, lr, must be a finite positive number, not -0.5"),
        (("--lr", "0"), "the learning rate, lr, must be a finite positive number, not 0"),
        (("--lr", "inf"), "the learning rate, lr, must be a finite positive number, not Infinity"),
        (("--steps", "-1"), "the step limit, steps, must be a whole number >= 0, not -1"),
        (("--tol", "nan"), "the tolerance, tol, must be a number >= 0, not NaN"),
        (("--wrt", "z"), "cannot differentiate with respect to z: it is not an input"),
        (("--trace", "-"), "--trace needs a file"),
        (("--stpes", "3"), "--stpes is not an option of cgrad minimize"),
    ],
)
def test_usage_errors_exit_2(cli, arguments, message):
    result = cli("minimize", "x^2 + y^2", "x=1", "y=1", *arguments)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"cgrad: error: {message}")
    assert result.stdout == ""


def test_usage_errors_with_json_and_files(cli, tmp_path):
    result = cli("minimize", "x^2*y", "x=1", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "missing_value"
    assert "hint: pass it as --y VALUE (or y=VALUE)" in result.stderr
    result = cli("minimize", "x^2", "x=1", "--trace", str(tmp_path))
    assert result.exit_code == 2 and "it is a directory" in result.stderr
    # A start that is refused leaves no trace file behind.
    trace = tmp_path / "never.ndjson"
    result = cli("minimize", "log(x)", "x=-1", "--trace", str(trace))
    assert result.exit_code == 2 and "cannot start here" in result.stderr
    assert not trace.exists()


def test_an_input_named_like_an_option_uses_var(cli):
    result = cli("minimize", "(lr - 2)^2", "--var", "lr=0", "--lr", "0.1", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["point"]["lr"] == pytest.approx(2, abs=1e-8)


# --------------------------------------------------------------------------
# The live display's pieces


def test_sparkline_is_on_a_log_scale_for_positive_losses():
    assert sparkline([1000, 100, 10, 1]) == "█▆▃▁"
    assert sparkline([3, 2, 1, 0]) == "█▆▃▁"  # a zero: linear
    assert sparkline([5, 5]) == "▁▁"
    assert sparkline([]) == ""


def test_loss_history_spans_the_whole_run_in_its_width():
    history = LossHistory(width=8)
    for step in range(1000):
        history.add(step, 1000.0 - step)
    assert len(history.samples) <= 8 and history.stride == 128
    # One sample every `stride` steps, from the start.
    assert history.samples == [1000.0 - step for step in range(0, 1000, 128)]


def test_an_interrupted_run_prints_where_it_got_to(interrupted_once_traced):
    import json

    process, stdout, stderr, _ = interrupted_once_traced(
        "minimize", "(1-x)^2 + 100*(y-x^2)^2", "x=-1.2", "y=1",
        "--method", "gd", "--lr", "1e-5", "--steps", "100000000", "--tol", "0", "--json",
    )  # fmt: skip
    assert process.returncode == 130
    assert "Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "interrupted" and summary["steps"] > 0
    assert summary["point"]["x"] != -1.2


# --------------------------------------------------------------------------
# Overflow in a method's own state is divergence, and never a raw warning


def run_strict(*arguments: str):
    """cgrad through its real entry point with every warning an error, so
    that a raw RuntimeWarning would show as a traceback."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "cgrad", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_adam_whose_mean_squared_gradient_overflows_has_diverged():
    # -exp(x^2) has no minimum: Adam runs down it until the square of the
    # gradient overflows; then each step would be the mean over infinity, 0.
    completed = run_strict("minimize", "--method", "adam", "--json", "--", "-exp(x^2)", "x=1")
    assert completed.returncode == 1
    assert completed.stderr == (
        "cgrad: error: diverged at step 259: Adam's mean squared gradient overflowed in x (the "
        "partial by x is -4.3218199786026504e+154 at step 258)\n"
        "hint: the summary shows step 258, the last finite point; the loss fell from -2.72 "
        "to -1.15e+153: the function may have no minimum; or try a smaller --lr than 0.05\n"
    )
    document = strict_json(completed.stdout)
    assert (document["stopped"], document["steps"]) == ("diverged", 258)
    assert document["gradient"] == {"x": -4.3218199786026504e154}


def test_adam_overflow_in_text():
    completed = run_strict("minimize", "--method", "adam", "--", "-exp(x^2)", "x=1")
    assert completed.returncode == 1
    assert (
        "stopped: diverged at step 259: Adam's mean squared gradient overflowed in x (the "
        "partial by x is -4.3218199786026504e+154 at step 258); below is step 258, the last "
        "finite point"
    ) in completed.stdout
    assert completed.stderr.startswith("cgrad: error: diverged at step 259")


@pytest.mark.parametrize(
    ("method", "text", "message"),
    [
        # The gradient 1e308 squared overflows at the first step.
        ("adam", "1e308*x", "diverged at step 1: Adam's mean squared gradient overflowed in x"),
        # The velocity, a sum of gradients near 1e308, overflows while the
        # point and the loss are still finite.
        ("momentum", "1e308*sin(x)", "diverged at step 24: the momentum's velocity overflowed"),
    ],
)
def test_overflow_in_the_state_of_each_method(method, text, message):
    completed = run_strict("minimize", "--method", method, "--json", text, "x=0")
    assert completed.returncode == 1
    assert completed.stderr.startswith(f"cgrad: error: {message}")
    assert "Warning" not in completed.stderr and "Traceback" not in completed.stderr
    assert strict_json(completed.stdout)["stopped"] == "diverged"


def test_overflow_in_the_library_is_divergence_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = minimize("-exp(x^2)", {"x": 1.0}, method="adam")
    assert found.stopped == "diverged"
    assert found.steps == 258
    assert found.diverged is None
    assert found.overflow.startswith("Adam's mean squared gradient overflowed in x")
    assert found.reason.startswith("diverged at step 259: Adam's mean squared gradient")
    assert all(math.isfinite(v) for v in found.point.values())
