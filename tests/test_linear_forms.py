"""The engine's summed partials of linear forms (cgrad.autodiff.linear_forms):
sums of number-by-column products evaluated as matrix products, checked
against the per-row partials of the same graph (as ``batch`` gives them)
and against finite differences; which sums are lifted, by the counts the
module keeps, never by timing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff import linear_forms
from cgrad.autodiff.linear_forms import forms_in

ROWS = 200
COLUMNS = ("x1", "x2", "x3")


def data(rows: int = ROWS, seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    found = {name: rng.standard_normal(rows) for name in COLUMNS}
    found["y"] = rng.standard_normal(rows)
    return found


def inputs_of(f: cgrad.Function, columns: dict[str, np.ndarray], seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {
        name: columns[name] if name in columns else float(rng.uniform(-1, 1)) for name in f.inputs
    }


def per_row_reference(f: cgrad.Function, inputs: dict) -> cgrad.Result:
    """The graph's own per-row partials: every number spread to a column."""
    rows = max(np.size(v) for v in inputs.values())
    spread = {k: np.full(rows, v) if np.ndim(v) == 0 else v for k, v in inputs.items()}
    return f.evaluate(spread)


def evaluations() -> int:
    return linear_forms.COUNTS["evaluations"]


# A term of a sum: a product of a weight and a column (either way round),
# a parameter, a number, or something no form takes.
TERMS = st.one_of(
    st.tuples(st.sampled_from(["w1", "w2", "w3", "w4"]), st.sampled_from(COLUMNS),
              st.booleans()).map(lambda t: f"{t[0]}*{t[1]}" if t[2] else f"{t[1]}*{t[0]}"),
    st.sampled_from(["b", "c", "0.5", "2", "v*tanh(x1)", "sin(w1)*x2", "c*c", "-w2*x3"]),
)  # fmt: skip


@st.composite
def sums(draw, depth: int = 0) -> str:
    """A sum of terms, nested either way, with + and - and parentheses."""
    if depth >= 4 or draw(st.integers(0, 3)) == 0:
        return draw(TERMS)
    left, right = draw(sums(depth + 1)), draw(sums(depth + 1))
    op = draw(st.sampled_from(["+", "-"]))
    text = f"{left} {op} {right}"
    return f"({text})" if draw(st.booleans()) else text


WRAPS = ["{}", "tanh({})", "({} - y)^2", "softplus({}) - y*({})", "a = {}; a*a + b*x1"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=sums(), wrap=st.sampled_from(WRAPS), seed=st.integers(0, 10**6))
def test_summed_partials_of_any_linear_ish_model_are_the_per_row_partials_summed(body, wrap, seed):
    f = cgrad.compile(wrap.format(body, body))
    assume(any(name in COLUMNS for name in f.inputs))
    columns = data(seed=seed % 97)
    inputs = inputs_of(f, columns, seed)
    summed = f.evaluate(inputs, summed=True)
    reference = per_row_reference(f, inputs)
    assert summed.warnings == ()
    np.testing.assert_allclose(summed.value, reference.value, rtol=1e-12, atol=1e-12)
    for name in f.inputs:
        if np.ndim(inputs[name]) == 0:
            total = float(np.sum(reference.gradient[name]))
            assert isinstance(summed.gradient[name], float)
            assert summed.gradient[name] == pytest.approx(total, rel=1e-10, abs=1e-10)
        else:
            np.testing.assert_allclose(
                summed.gradient[name], reference.gradient[name], rtol=1e-12, atol=1e-12
            )
    # And the central differences of the summed value, by each number.
    for name, value in inputs.items():
        if np.ndim(value) == 0:
            step = 1e-6

            def total(shift: float, name: str = name, value: float = value) -> float:
                return float(np.sum(f.evaluate({**inputs, name: value + shift}, wrt=[]).value))

            slope = (total(step) - total(-step)) / (2 * step)
            assert summed.gradient[name] == pytest.approx(slope, rel=1e-5, abs=1e-5)


NESTED = {
    "left": "h = tanh(x1)\nv*h + w1*x1 + w2*x2 + w3*x3",
    "right": "h = tanh(x1)\nw1*x1 + (w2*x2 + (w3*x3 + v*h))",
    "mixed": "h = tanh(x1)\n(w1*x1 + v*h) - (x2*w2 - (b + w3*x3))",
}


@pytest.mark.parametrize("kind", NESTED)
def test_a_sum_is_lifted_whatever_its_nesting(kind):
    f = cgrad.compile(NESTED[kind])
    numbers = {name for name in f.inputs if name not in COLUMNS}
    forms = forms_in(f.graph, numbers, set(COLUMNS))
    assert len(forms) == 1
    (form,) = forms
    assert sorted(zip(form.weights, form.columns, strict=True)) == [
        ("w1", "x1"), ("w2", "x2"), ("w3", "x3")
    ]  # fmt: skip
    assert len(form.others) == 1  # v*h, added to the form in the graph
    before = evaluations()
    inputs = inputs_of(f, data())
    summed = f.evaluate(inputs, summed=True)
    assert evaluations() == before + 1
    reference = per_row_reference(f, inputs)
    for name in numbers:
        assert summed.gradient[name] == pytest.approx(
            float(np.sum(reference.gradient[name])), rel=1e-12
        )


def test_a_sum_of_two_products_or_a_shared_sum_is_not_lifted():
    f = cgrad.compile("s = w1*x1 + w2*x2 + w3*x3; s*s + w4*x1 + w2*x2")
    forms = forms_in(f.graph, {"w1", "w2", "w3", "w4"}, set(COLUMNS))
    # The shared s is a form of its own; the outer sum, s*s and two products, is not.
    assert [len(form.weights) for form in forms] == [3]
    assert forms_in(cgrad.compile("w1*x1 + w2*x2 + b").graph, {"w1", "w2", "b"}, {"x1", "x2"}) == []


def test_the_summed_partials_are_those_of_cgrad_batch(tmp_path):
    f = cgrad.compile(NESTED["left"] + " - y")
    columns = data(120)
    path = tmp_path / "rows.csv"
    lines = [",".join(columns)]
    lines += [
        ",".join(map(repr, row))
        for row in zip(*(c.tolist() for c in columns.values()), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    numbers = {"v": 0.3, "w1": -0.4, "w2": 0.9, "w3": 0.25}
    batch = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", str(path), "-e", f.source,
         *(f"{k}={v}" for k, v in numbers.items()), "--format", "ndjson"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    records = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(records) == 120
    before = evaluations()
    summed = f.evaluate({**columns, **numbers}, summed=True)
    assert evaluations() == before + 1
    for name in numbers:
        total = sum(record["gradient"][name] for record in records)
        assert summed.gradient[name] == pytest.approx(total, rel=1e-12)
    for name in COLUMNS:
        expected = [record["gradient"][name] for record in records]
        np.testing.assert_allclose(summed.gradient[name], expected, rtol=1e-12)


def test_without_partials_only_the_value_is_computed():
    f = cgrad.compile("tanh(w1*x1 + w2*x2 + w3*x3)")
    inputs = inputs_of(f, data())
    summed = f.evaluate(inputs, summed=True, wrt=[])
    assert summed.gradient == {}
    np.testing.assert_allclose(summed.value, per_row_reference(f, inputs).value, rtol=1e-12)


def test_a_form_with_something_to_warn_about_is_evaluated_as_written():
    f = cgrad.compile("log(w1*x1 + w2*x2 + w3*x3)")
    columns = {name: data()[name] for name in COLUMNS}
    inputs = {**columns, "w1": 1.0, "w2": 1.0, "w3": 1.0}
    before = evaluations()
    summed = f.evaluate(inputs, summed=True)
    assert evaluations() == before  # the lifted graph's NaN: the graph's own walk
    reference = per_row_reference(f, inputs)
    assert [w.message for w in summed.warnings] == [w.message for w in reference.warnings]
    (warning,) = summed.warnings
    assert "linear" not in warning.message
    assert f.source[warning.span.start : warning.span.end] == "log(w1*x1 + w2*x2 + w3*x3)"


def test_columns_that_may_change_are_read_again_and_read_only_ones_are_kept():
    f = cgrad.compile("w1*x1 + w2*x2 + w3*x3")
    columns = {name: data()[name] for name in COLUMNS}
    inputs = {**columns, "w1": 1.0, "w2": 2.0, "w3": 3.0}
    first = f.evaluate(inputs, summed=True)
    columns["x1"] += 1.0  # in place: the same array, other numbers
    second = f.evaluate(inputs, summed=True)
    np.testing.assert_allclose(second.value, first.value + 1.0, rtol=1e-12)
    assert second.gradient["w1"] == pytest.approx(float(np.sum(columns["x1"])), rel=1e-12)
    # A read-only column cannot change: its matrix is made once.
    for column in columns.values():
        column.flags.writeable = False
    runner = f._runner(None)
    f.evaluate(inputs, summed=True)
    (lifted,) = [lifted for lifted in linear_forms._LIFTED[runner].values() if lifted]
    kept = lifted.stacked[-1][1][0]
    f.evaluate(inputs, summed=True)
    assert lifted.stacked[-1][1][0] is kept


def test_a_sum_of_many_products_nested_deep_is_one_form_found_without_recursion():
    count = 5_000
    f = cgrad.compile(" + ".join(f"w{k}*x{k % 3 + 1}" for k in range(count)) + " - b")
    numbers = {name for name in f.inputs if name not in COLUMNS}
    (form,) = forms_in(f.graph, numbers, set(COLUMNS))
    assert len(form.weights) == count and form.added == (("b", -1.0),)
    inputs = inputs_of(f, data(5))
    summed = f.evaluate(inputs, summed=True)
    for name in ("w0", "w1", "w4999"):
        column = inputs[f"x{int(name[1:]) % 3 + 1}"]
        assert summed.gradient[name] == pytest.approx(float(np.sum(column)), rel=1e-12)
    assert summed.gradient["b"] == -5.0
