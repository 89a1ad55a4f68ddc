"""The library's answer to a caller's mistake: a :class:`cgrad.InputError`
that says what is wrong (never a raw OverflowError, ValueError, TypeError
or AttributeError), and never a mistake accepted in silence (a misspelt
name that does nothing, a result read through another function's graph).
A number beyond the floats is read as the command line reads it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cgrad
import cgrad.explain
from cgrad.numerals import json_number

HUGE = 10**400


def _refused(call, message: str, kind: str = "invalid_value") -> cgrad.InputError:
    with pytest.raises(cgrad.InputError) as raised:
        call()
    assert (raised.value.message, raised.value.type) == (message, kind)
    return raised.value


def _cli_error(cli, *arguments: str) -> str:
    """The message of the command line's error (its first line, less the prefix)."""
    run = cli(*arguments)
    assert run.exit_code == 2, run.output
    first = run.stderr.splitlines()[0]
    assert first.startswith("cgrad: error: ")
    return first.removeprefix("cgrad: error: ")


# -- numbers beyond the floats: Infinity, as the command line reads 1e400


@pytest.mark.parametrize("sign", [1, -1])
def test_an_integer_beyond_the_floats_is_infinity_with_the_command_lines_warning(cli, sign):
    written = "1e400" if sign > 0 else "-1e400"
    run = cli("eval", "x*y", f"x={written}", "y=1", "--json")
    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    for given in ({"x": sign * HUGE, "y": 1}, {"y": 1}):
        if "x" in given:
            result = cgrad.compile("x*y").evaluate(**given)
        else:  # by the mapping, as for names that cannot be keywords
            result = cgrad.compile("x*y").evaluate({"x": sign * HUGE}, **given)
        assert json_number(result.value) == document["value"]
        assert [(w.type, w.message) for w in result.warnings] == [
            (w["type"], w["message"]) for w in document["warnings"]
        ]


def test_an_integer_just_inside_the_floats_is_that_float():
    largest = 2**1024 - 2**970 - 1  # rounds to the largest float
    assert cgrad.compile("x").evaluate(x=largest).value == float(largest)


def test_minimize_refuses_a_start_beyond_the_floats_as_the_command_line_does(cli):
    message = _cli_error(cli, "minimize", "x^2", "x=1e400")
    _refused(lambda: cgrad.minimize("x^2", {"x": HUGE}), message)


# -- values that are no array


def test_nested_lists_of_different_lengths_are_refused():
    _refused(
        lambda: cgrad.compile("x*y").evaluate(x=[[1], [2, 3]], y=1),
        "the value of x is not an array: its rows are of different lengths ([[1], [2, 3]])",
    )


# -- substitutions in formulas: the names evaluate knows, one number each


def test_a_substitution_of_a_name_that_is_no_input_is_refused_as_diff_refuses_it(cli):
    message = _cli_error(cli, "diff", "x*y", "xx=1")
    error = _refused(
        lambda: cgrad.compile("x*y").formulas(substitutions={"xx": 1}), message, "unknown_input"
    )
    assert error.hint == "the inputs are x, y"
    message = _cli_error(cli, "diff", "x*y", "pi=1")
    _refused(
        lambda: cgrad.compile("x*y").formulas(substitutions={"pi": 1}), message, "unknown_input"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "the value of x is not a number or an array of numbers: 'abc'"),
        (None, "the value of x is not a number or an array of numbers: None"),
        ([1, 2], "a formula holds one number for x, not an array of shape (2,)"),
    ],
)
def test_a_substitution_that_is_not_one_number_is_refused(value, message):
    _refused(lambda: cgrad.compile("x*y").formulas(substitutions={"x": value}), message)


def test_a_substitution_beyond_the_floats_is_refused_as_diff_refuses_1e400(cli):
    message = _cli_error(cli, "diff", "x*y", "x=1e400")
    _refused(lambda: cgrad.compile("x*y").formulas(substitutions={"x": HUGE}), message)


def test_good_substitutions_still_hold():
    found = cgrad.compile("x*y").formulas(substitutions={"x": 2, "y": np.float64(0.5)})
    assert found.value == cgrad.compile("x*y").formulas(substitutions={"x": 2.0, "y": 0.5}).value


# -- frames


def test_a_frame_with_two_columns_of_an_inputs_name_is_refused():
    message = "the frame has 2 columns named x; cgrad cannot tell which to read"
    frame = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["x", "x"])
    error = _refused(lambda: cgrad.evaluate_frame(frame, "x*x"), message)
    assert error.hint == "rename all but one first (or map the input to another column)"
    table = pa.table([pa.array([1.0, 3.0]), pa.array([2.0, 4.0])], names=["x", "x"])
    _refused(lambda: cgrad.evaluate_frame(table, "x*x"), message)


def test_a_column_label_that_is_no_string_is_found_by_its_text():
    frame = pd.DataFrame([[1.5, 2.0]])  # labels 0 and 1
    out = cgrad.evaluate_frame(frame, "x*y", columns={"x": "0", "y": "1"})
    assert out["value"].tolist() == [cgrad.compile("x*y").evaluate(x=1.5, y=2.0).value]


def test_a_column_mapping_of_a_name_that_is_no_input_is_refused():
    frame = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    error = _refused(
        lambda: cgrad.evaluate_frame(frame, "x*y", columns={"q": "x"}),
        "columns maps q, which is not an input of this expression",
        "unknown_input",
    )
    assert error.hint == "the inputs are x, y"


# -- explaining a result: only the function's own


@pytest.mark.parametrize("shown", ["paths", "passes", "forward_steps", "tangent_steps"])
def test_a_result_of_another_function_is_not_explained(shown):
    function = cgrad.compile("x*x")
    other = cgrad.compile("sin(x) + x").evaluate(x=2.0)
    arguments = (function, other, "x") if shown == "paths" else (function, other)
    _refused(
        lambda: getattr(cgrad.explain, shown)(*arguments),
        "the result is not one of this function's: pass what its evaluate returned",
        "usage_error",
    )


def test_the_functions_own_result_is_explained_and_its_paths_sum_to_its_gradient():
    function = cgrad.compile("x*x")
    found = cgrad.explain.paths(function, function.evaluate(x=2.0), "x")
    assert found.gradient == sum(path.product for path in found.shown)


# -- booleans: no number at any way in, as true is none in batch's data

_BOOLEAN_HINT = "convert it to numbers first: float(value), or array.astype(float)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "the value of x is a boolean, not a number: True"),
        (np.bool_(False), "the value of x is a boolean, not a number: np.False_"),
        (
            np.array([True, False]),
            "the value of x holds booleans, not numbers: array([ True, False])",
        ),
        ([1.0, True], "the value of x holds booleans, not numbers: [1.0, True]"),
        ([[2], [np.True_]], "the value of x holds booleans, not numbers: [[2], [np.True_]]"),
        (
            np.ma.masked_array([True, False], [False, True]),
            "the value of x holds booleans, not numbers: array([ True, False])",
        ),
    ],
)
def test_a_boolean_value_is_refused_by_evaluate_hessian_check_and_formulas(value, message):
    from cgrad.check.checker import check

    f = cgrad.compile("x*y")
    calls = [
        lambda: f.evaluate(x=value, y=2.0),
        lambda: f.evaluate({"x": value, "y": 2.0}, summed=True),
        lambda: f.hessian(x=value, y=2.0),
    ]
    if np.ndim(value) == 0:
        calls += [
            lambda: check(f, {"x": value, "y": 2.0}),
            lambda: f.formulas(substitutions={"x": value}),
            lambda: cgrad.minimize(f, {"x": value, "y": 2.0}, steps=1),
        ]
    for call in calls:
        assert _refused(call, message).hint == _BOOLEAN_HINT


def test_a_boolean_column_or_start_is_refused_by_fit_and_evaluate_frame():
    x = np.array([1.0, 2.0, 3.0])
    for target in (np.array([True, False, True]), [1.0, True, 0.0]):
        shown = (
            "array([ True, False,  True])" if isinstance(target, np.ndarray) else "[1.0, True, 0.0]"
        )
        refused = _refused(
            lambda target=target: cgrad.fit("w*x", {"x": x, "y": target}, target="y", epochs=1),
            f"the column y holds booleans, not numbers: {shown}",
        )
        assert refused.hint == _BOOLEAN_HINT
    _refused(
        lambda: cgrad.fit("w*x", {"x": x, "y": x}, target="y", start={"w": True}, epochs=1),
        "the start value of w must be a number, not True",
    )
    with pytest.raises(cgrad.InputError, match="the column x holds bool values, not numbers"):
        cgrad.evaluate_frame(pd.DataFrame({"x": [True, False]}), "2*x")


def test_numbers_are_still_numbers_beside_the_boolean_checks():
    f = cgrad.compile("x*y")
    assert f.evaluate(x=[1, 2.5], y=np.int64(2)).value.tolist() == [2.0, 5.0]
    assert f.evaluate(x=[[1], [2]], y=1.0).value.tolist() == [[1.0], [2.0]]
    assert f.evaluate(x=[], y=1.0).value.tolist() == []
