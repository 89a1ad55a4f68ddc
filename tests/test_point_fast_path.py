"""The shortcut a loop over points takes through Function.evaluate once the
generated passes are made: the general path's result, field for field, and
numpy's error state ignored inside the passes and left as it was outside."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad.autodiff import evaluation, quiet_errors
from test_codegen import same, same_result
from test_oracle import points, programs


def warmed(text: str) -> cgrad.Function:
    """A function whose generated point passes are made."""
    function = cgrad.compile(text)
    function._runner(None).point_passes  # noqa: B018 - made now, not after the walks
    return function


def fields(result: cgrad.Result) -> dict:
    return {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}


def taken(monkeypatch) -> list:
    """The results the shortcut gives (None where it declines)."""
    seen: list = []
    original = evaluation.evaluate_floats

    def counted(*arguments):
        made = original(*arguments)
        seen.append(made)
        return made

    monkeypatch.setattr("cgrad.function.evaluate_floats", counted)
    return seen


def test_the_shortcut_result_has_every_field_of_the_general_one(monkeypatch):
    function = warmed("sin(x*y) + exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1)")
    seen = taken(monkeypatch)
    fast = function.evaluate(x=0.5, y=-1.25, z=2.0)
    assert seen and seen[-1] is fast  # the shortcut made it
    # A mapping takes the general path, with the same generated passes.
    general = function.evaluate({"x": 0.5, "y": -1.25, "z": 2.0})
    assert len(seen) == 1
    assert vars(fast).keys() == {f.name for f in dataclasses.fields(cgrad.Result)}
    a, b = fields(fast), fields(general)
    assert a["value"] == b["value"] and a["gradient"] == b["gradient"]
    assert a["warnings"] == b["warnings"] == ()
    assert a["node_values"] == b["node_values"]
    assert a["node_gradients"] == b["node_gradients"]
    assert a["graph"] is b["graph"] is function.graph


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"x": 1, "y": 2.0}, "an int"),
        ({"x": np.float64(1.0), "y": 2.0}, "a numpy scalar"),
        ({"x": np.array([1.0, 2.0]), "y": 2.0}, "an array"),
        ({"x": 1.0, "y": 0.0}, "a kink to warn of"),
        ({"x": math.inf, "y": 2.0}, "an infinite input"),
    ],
)
def test_the_shortcut_declines_what_the_general_path_must_see(monkeypatch, values, reason):
    function = warmed("x * abs(y)")
    seen = taken(monkeypatch)
    result = function.evaluate(**values)
    assert seen == [None], reason
    general = function.evaluate(dict(values))
    assert np.array_equal(result.value, general.value, equal_nan=True)
    assert [w.message for w in result.warnings] == [w.message for w in general.warnings]


def test_a_derivative_with_inputs_it_does_not_use_keeps_their_zero_partials(monkeypatch):
    derivative = cgrad.compile("x*y + y").derivative("x")  # y, a function of x and y
    derivative._runner(None).point_passes  # noqa: B018
    seen = taken(monkeypatch)
    result = derivative.evaluate(x=3.0, y=2.0)
    assert seen == []  # the general path adds the unused input's partial
    assert result.gradient == {"x": 0.0, "y": 1.0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs(symbolic=False), point=points)
def test_the_shortcut_gives_the_general_paths_numbers(program, point):
    function = warmed(program.text)
    values = {name: float(point[name]) for name in function.inputs}
    assert same_result(function.evaluate(**values), function.evaluate(dict(values)))


def test_numpy_errors_are_ignored_inside_the_passes_and_restored_after():
    function = warmed("log(x) + exp(y)")
    passes = function._runner(None).point_passes
    with np.errstate(all="raise"):
        values, _ = passes(1.0, 800.0)  # exp(800) overflows: numpy's error, not raised
        assert math.isinf(values[-1])
        assert np.geterr()["over"] == "raise"
        with pytest.raises(FloatingPointError):
            np.exp(np.float64(800.0))


def test_without_numpys_context_variable_errstate_does_it(monkeypatch):
    # numpy 1.26 keeps its error state elsewhere.
    monkeypatch.setattr(quiet_errors, "_extobj_contextvar", None)

    def overflowing(value):
        return float(np.exp(np.float64(value)))

    quiet = quiet_errors.errors_ignored(overflowing)
    with np.errstate(all="raise"):
        assert same(quiet(800.0), math.inf)
        assert np.geterr()["over"] == "raise"
