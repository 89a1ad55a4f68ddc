"""cgrad.fit and the engine's summed partials: each number checked against
an oracle (numpy's least squares, a Newton solve, finite differences,
per-row partials from cgrad batch), never against a past output."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import cgrad
from cgrad.batch import columnar
from cgrad.fitting import fit
from cgrad.fitting.losses import objective


def linear_data(rows: int = 400, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(rows), rng.standard_normal(rows)
    return {"x1": x1, "x2": x2, "y": 1.5 * x1 - 0.7 * x2 + 0.3 + 0.2 * rng.standard_normal(rows)}


def write_csv(path, columns: dict[str, np.ndarray], extra: list[str] = ()) -> None:
    lines = [",".join(columns)]
    lines += [
        ",".join(repr(v) for v in row)
        for row in zip(*(c.tolist() for c in columns.values()), strict=True)
    ]
    path.write_text("\n".join([*lines, *extra]) + "\n")


# -------------------------------------------------------------------------
# The engine: a number among columns gets the sum of its per-row partials


def test_a_scalar_input_among_columns_gets_the_sum_of_its_per_row_partials():
    f = cgrad.compile("sin(w*x) + b*x^2 + w*b")
    x = np.linspace(-2, 2, 50_001)  # over one chunk of the engine
    per_row = f.evaluate(w=0.7, b=-1.2, x=x)
    summed = f.evaluate(w=0.7, b=-1.2, x=x, summed=True)
    assert summed.gradient["w"] == pytest.approx(per_row.gradient["w"].sum(), rel=1e-12)
    assert summed.gradient["b"] == pytest.approx(per_row.gradient["b"].sum(), rel=1e-12)
    assert isinstance(summed.gradient["w"], float)
    # The column's own partials stay per row, and so does the value.
    np.testing.assert_array_equal(summed.gradient["x"], per_row.gradient["x"])
    np.testing.assert_array_equal(summed.value, per_row.value)


@pytest.mark.parametrize("rows", [1, 1000, 70_001])
def test_a_partial_that_does_not_vary_is_summed_over_every_point(rows):
    # d/db of w*x + b is 1 at every point: generated code may give it as
    # one number, which stands for a column of ones.
    f = cgrad.compile("w*x + b + abs(w*x)")
    x = np.linspace(0.5, 1.5, rows)
    summed = f.evaluate(w=2.0, b=1.0, x=x, summed=True, wrt="w,b")
    assert summed.gradient == {"b": float(rows), "w": pytest.approx(2 * x.sum(), rel=1e-12)}
    # Also where a kink sends the evaluation down the whole-array walk.
    x[rows // 2] = 0.0
    summed = f.evaluate(w=2.0, b=1.0, x=x, summed=True, wrt="w,b")
    assert summed.gradient == {"b": float(rows), "w": pytest.approx(2 * x.sum(), rel=1e-12)}
    assert [w.type for w in summed.warnings] == ["kink"]


def test_summed_partials_by_forward_mode_and_of_an_unused_input():
    f = cgrad.compile("w*x").derivative("x")  # w: its inputs are still w and x
    x = np.linspace(0, 1, 11)
    summed = f.evaluate(w=3.0, x=x, summed=True)
    assert summed.gradient["w"] == 11.0
    np.testing.assert_array_equal(summed.gradient["x"], np.zeros(11))  # an array's stays per point
    g = cgrad.compile("w*x^2")
    forward = g.evaluate(w=3.0, x=x, summed=True, mode="forward")
    assert forward.gradient["w"] == pytest.approx(np.sum(x**2), rel=1e-12)


def test_summed_partials_of_a_broadcast_row_are_summed_down_to_its_shape():
    f = cgrad.compile("a*b")
    a = np.arange(6.0).reshape(2, 3)
    b = np.array([[1.0, 2.0, 3.0]])
    result = f.evaluate(a=a, b=b, summed=True)
    np.testing.assert_array_equal(result.gradient["b"], a.sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(result.gradient["a"], np.broadcast_to(b, (2, 3)))


def test_the_summed_gradient_is_the_sum_of_batch_partials_and_the_finite_differences(tmp_path):
    data = linear_data(300)
    path = tmp_path / "rows.csv"
    write_csv(path, data)
    model = cgrad.compile("tanh(w1*x1 + w2*x2) + b")
    joined = objective(model, "squared")
    params = {"w1": 0.4, "w2": -0.3, "b": 0.1}
    inputs = {"x1": data["x1"], "x2": data["x2"], "target": data["y"], **params}
    summed = joined.evaluate(inputs, wrt=list(params), summed=True)
    # The per-row partials of the same loss, from cgrad batch.
    batch = subprocess.run(
        [sys.executable, "-m", "cgrad", "batch", str(path), "-e", joined.source,
         "--column", "target=y", *(f"{k}={v}" for k, v in params.items()), "--format", "ndjson"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    records = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(records) == 300
    for name in params:
        assert summed.gradient[name] == pytest.approx(
            sum(r["gradient"][name] for r in records), rel=1e-12
        )
    # And the central differences of the mean loss.
    rows = len(data["y"])
    for name in params:
        step = 1e-6

        def mean_loss(shift: float, name: str = name) -> float:
            moved = {**inputs, name: params[name] + shift}
            return float(np.mean(joined.evaluate(moved, wrt=[]).value))

        slope = (mean_loss(step) - mean_loss(-step)) / (2 * step)
        assert summed.gradient[name] / rows == pytest.approx(slope, rel=1e-6, abs=1e-9)


# -------------------------------------------------------------------------
# Fits against their oracles


def test_linear_regression_recovers_numpy_least_squares():
    data = linear_data()
    fitted = fit("a*x1 + c*x2 + d", data, target="y", method="gd", lr=0.5, epochs=2000, tol=1e-12)
    design = np.c_[data["x1"], data["x2"], np.ones_like(data["x1"])]
    solution = np.linalg.lstsq(design, data["y"], rcond=None)[0]
    assert fitted.stopped == "tolerance"
    for name, expected in zip(["a", "c", "d"], solution, strict=True):
        assert fitted.params[name] == pytest.approx(expected, abs=1e-6)
    residual = design @ solution - data["y"]
    assert fitted.training_loss == pytest.approx(np.mean(residual**2), rel=1e-9)


def newton_logistic(design: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The maximum-likelihood logistic regression by Newton's method."""
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        beta = beta + np.linalg.solve(hessian, design.T @ (y - p))
    return beta


def test_logistic_regression_agrees_with_a_newton_solve():
    rng = np.random.default_rng(5)
    x1, x2 = rng.standard_normal(600), rng.standard_normal(600)
    y = (rng.random(600) < 1 / (1 + np.exp(-(1.2 * x1 - 0.8 * x2 + 0.3)))).astype(float)
    fitted = fit(
        "w1*x1 + w2*x2 + b", {"x1": x1, "x2": x2, "y": y}, target="y", loss="logistic",
        method="momentum", lr=0.5, epochs=5000, tol=1e-11,
    )  # fmt: skip
    assert fitted.stopped == "tolerance"
    beta = newton_logistic(np.c_[x1, x2, np.ones(600)], y)
    for name, expected in zip(["w1", "w2", "b"], beta, strict=True):
        assert fitted.params[name] == pytest.approx(expected, abs=1e-7)


def test_the_logistic_loss_is_finite_far_out():
    joined = objective(cgrad.compile("w*x"), "logistic")
    result = joined.evaluate(w=1.0, x=np.array([800.0, -800.0]), target=np.array([0.0, 1.0]))
    np.testing.assert_allclose(result.value, [800.0, 800.0])
    assert not result.warnings


def test_a_loss_expression_with_a_penalty_is_the_ridge_solution():
    data = linear_data()
    penalty = 0.5
    fitted = fit(
        "a*x1 + c*x2", data, target="y", loss=f"(model - target)^2 + {penalty}*(a^2 + c^2)",
        method="gd", lr=0.3, epochs=3000, tol=1e-12,
    )  # fmt: skip
    design = np.c_[data["x1"], data["x2"]]
    rows = len(data["y"])
    ridge = np.linalg.solve(
        design.T @ design / rows + penalty * np.eye(2), design.T @ data["y"] / rows
    )
    assert [fitted.params["a"], fitted.params["c"]] == pytest.approx(ridge, abs=1e-7)


# -------------------------------------------------------------------------
# Batches, seeds, streaming, bad rows


def test_seeded_mini_batches_are_reproducible_and_the_seed_matters():
    data = linear_data()
    runs = [
        fit("a*x1 + c*x2 + d", data, target="y", batch_rows=32, epochs=3, seed=seed)
        for seed in (7, 7, 8)
    ]
    assert runs[0].params == runs[1].params
    assert runs[0].history == runs[1].history
    assert runs[0].params != runs[2].params
    assert runs[0].steps == 3 * -(-400 // 32)


@pytest.mark.parametrize("block_bytes", [1 << 20, 1 << 14])
def test_a_streamed_file_gives_the_full_batch_fit_in_memory(tmp_path, monkeypatch, block_bytes):
    # Read in blocks smaller than the data, a full-batch step still sums them all.
    monkeypatch.setattr(columnar, "MIN_BLOCK", block_bytes)
    monkeypatch.setattr(columnar, "BYTES_PER_ROW", 0)
    data = linear_data(3000)
    path = tmp_path / "rows.csv"
    write_csv(path, data)
    settings = dict(target="y", method="adam", epochs=40, holdout=0.25, seed=4)
    in_memory = fit("a*x1 + c*x2 + d", data, **settings)
    streamed = fit("a*x1 + c*x2 + d", path, stream=True, **settings)
    assert streamed.streamed and not in_memory.streamed
    assert (streamed.rows, streamed.validation_rows) == (in_memory.rows, in_memory.validation_rows)
    for name, value in in_memory.params.items():
        assert streamed.params[name] == pytest.approx(value, rel=1e-12)
    assert streamed.validation_loss == pytest.approx(in_memory.validation_loss, rel=1e-12)
    assert streamed.steps == in_memory.steps == 40


def test_files_of_every_kind_give_the_same_fit(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    data = linear_data(500)
    write_csv(tmp_path / "rows.csv", data)
    (tmp_path / "rows.ndjson").write_text(
        "".join(
            json.dumps(dict(zip(data, row, strict=True))) + "\n"
            for row in zip(*(c.tolist() for c in data.values()), strict=True)
        )
    )
    pq.write_table(pa.table(data), tmp_path / "rows.parquet")
    fits = [
        fit("a*x1 + c*x2 + d", source, target="y", epochs=30)
        for source in (
            data,
            tmp_path / "rows.csv",
            tmp_path / "rows.ndjson",
            tmp_path / "rows.parquet",
            pa.table(data),
        )
    ]
    for other in fits[1:]:
        assert other.params == pytest.approx(fits[0].params, rel=1e-12)


def test_streamed_mini_batches_are_consecutive_rows_in_file_order(tmp_path):
    data = linear_data(10_000)
    path = tmp_path / "rows.csv"
    write_csv(path, data)
    fitted = fit("w*x1 + b", path, target="y", start={"w": 0.0, "b": 0.0}, method="gd",
                 lr=0.1, batch_rows=3000, epochs=2, stream=True)  # fmt: skip
    # The same steps by hand: batches of rows 0-2999, 3000-5999, 6000-8999
    # and the last 1,000, twice.
    w = b = 0.0
    for _ in range(2):
        for start in range(0, 10_000, 3000):
            x, y = data["x1"][start : start + 3000], data["y"][start : start + 3000]
            residual = w * x + b - y
            w, b = w - 0.1 * np.mean(2 * residual * x), b - 0.1 * np.mean(2 * residual)
    assert fitted.steps == 8
    assert fitted.params == pytest.approx({"w": w, "b": b}, rel=1e-12)


def test_a_loss_may_read_a_column_of_its_own():
    data = linear_data()
    weight = np.where(data["x1"] > 0, 3.0, 1.0)
    fitted = fit(
        "a*x1 + c*x2 + d", {**data, "wt": weight}, target="y", loss="wt*(model - target)^2",
        method="gd", lr=0.2, epochs=3000, tol=1e-12,
    )  # fmt: skip
    design = np.c_[data["x1"], data["x2"], np.ones_like(data["x1"])]
    root = np.sqrt(weight)
    solution = np.linalg.lstsq(design * root[:, None], data["y"] * root, rcond=None)[0]
    assert [fitted.params[n] for n in "acd"] == pytest.approx(solution, abs=1e-7)


def test_a_validation_file_gives_the_validation_loss(tmp_path):
    data, other = linear_data(300), linear_data(100, seed=9)
    path = tmp_path / "validation.csv"
    write_csv(path, other)
    fitted = fit("a*x1 + c*x2 + d", data, target="y", epochs=20, validation=path)
    p = fitted.params
    predicted = p["a"] * other["x1"] + p["c"] * other["x2"] + p["d"]
    assert fitted.validation_rows == 100
    assert fitted.validation_loss == pytest.approx(
        np.mean((predicted - other["y"]) ** 2), rel=1e-12
    )
    assert fitted.history[-1].validation_loss == fitted.validation_loss


def test_bad_rows_are_left_out_and_counted_or_stop_the_fit(tmp_path):
    data = linear_data(200)
    path = tmp_path / "rows.csv"
    write_csv(path, data, extra=["1,oops,2", "nan,1,2", "1,2"])
    fitted = fit("a*x1 + c*x2 + d", path, target="y", epochs=5)
    clean = fit("a*x1 + c*x2 + d", data, target="y", epochs=5)
    assert fitted.params == pytest.approx(clean.params, rel=1e-12)
    assert fitted.rows == 200
    assert fitted.bad_rows.count == 3
    assert [row for row, _, _ in fitted.bad_rows.first] == [201, 202, 203]
    assert fitted.bad_rows.first[1][2] == "the value of x1 is NaN"
    with pytest.raises(cgrad.InputError, match="row 201 of the data is bad"):
        fit("a*x1 + c*x2 + d", path, target="y", epochs=5, on_error="fail")


# -------------------------------------------------------------------------
# Divergence and refusals


def test_divergence_stops_at_the_last_finite_point_and_names_the_parameter():
    data = linear_data()
    fitted = fit("a*x1 + c*x2 + d", data, target="y", method="gd", lr=50.0, epochs=1000)
    assert fitted.stopped == "diverged"
    assert fitted.diverged is not None and any(n in fitted.diverged for n in ("a", "c", "d"))
    assert all(np.isfinite(list(fitted.params.values())))
    assert np.isfinite(fitted.training_loss)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (dict(target="z"), "the data has no column 'z' for the target"),
        (dict(target="y", start={"x1": 1.0}), "x1 is not a parameter of the model"),
        (dict(target="y", loss="target^2"), "does not use model"),
        (dict(target="y", loss="(model - target"), "does not compile"),
        (dict(target="y", loss="(model - target)^2 + q"), "the loss uses q"),
        (dict(target="y", holdout=0.2, validation={"x1": [1]}), "not both"),
        (
            dict(target="y", validation={"x1": ["a"], "x2": [1], "y": [1]}),
            "column x1 is not a number or an array of numbers",
        ),
        (dict(target="y", holdout=1.5), "the holdout must be a fraction"),
        (dict(target="y", method="sgd"), "the method must be gd, momentum, adam"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(call, message):
    with pytest.raises(cgrad.CgradError, match=message):
        fit("a*x1 + c*x2 + d", linear_data(20), **call)


def test_cgrad_fit_is_imported_only_when_asked_for():
    code = (
        "import sys, cgrad; assert 'cgrad.fitting' not in sys.modules; "
        "cgrad.fit; assert 'cgrad.fitting' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -------------------------------------------------------------------------
# Holdout, interruption, history, the loss parsed once


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rows", [5000, 301])
def test_a_holdout_keeps_exactly_its_fraction_of_the_rows(seed, rows):
    data = linear_data(rows)
    fitted = fit("w*x1 + b", data, target="y", holdout=0.2, seed=seed, epochs=1)
    assert fitted.validation_rows == round(0.2 * rows)
    assert fitted.rows == rows - round(0.2 * rows)


def test_a_streamed_holdout_of_many_blocks_is_exact_and_that_of_the_rows_in_memory(
    tmp_path, monkeypatch
):
    from cgrad.fitting import rows as rows_module

    # Many blocks of the holdout, cut across the reader's many chunks.
    monkeypatch.setattr(rows_module, "HOLDOUT_BLOCK", 700)
    monkeypatch.setattr(columnar, "MIN_BLOCK", 1 << 14)
    monkeypatch.setattr(columnar, "BYTES_PER_ROW", 0)
    data = linear_data(5003)
    path = tmp_path / "rows.csv"
    write_csv(path, data)
    settings = dict(target="y", holdout=0.3, seed=9, method="gd", lr=0.1, epochs=3)
    in_memory = fit("w*x1 + b", data, **settings)
    streamed = fit("w*x1 + b", path, stream=True, **settings)
    assert streamed.validation_rows == in_memory.validation_rows == round(0.3 * 5003)
    # The same rows held out: the same losses, each a mean over its rows.
    assert streamed.validation_loss == pytest.approx(in_memory.validation_loss, rel=1e-12)
    held = rows_module.Holdout(0.3, 5003, 9)
    flags = np.concatenate([held.take(n) for n in (1, 699, 2000, 2303)])
    assert flags.sum() == round(0.3 * 5003)
    again = rows_module.Holdout(0.3, 5003, 9).take(5003)
    assert np.array_equal(flags, again)


def test_an_interrupted_streamed_fit_reads_the_data_no_more(tmp_path, monkeypatch):
    from cgrad.fitting import data as data_module

    data = linear_data(2000)
    path = tmp_path / "rows.csv"
    write_csv(path, data)
    passes = []
    chunks = data_module.Source.chunks

    def counted(self, *arguments):
        passes.append(1)
        return chunks(self, *arguments)

    monkeypatch.setattr(data_module.Source, "chunks", counted)
    seen = []

    def interrupt(step):
        seen.append(step)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stop:
        fit("w*x1 + b", path, target="y", stream=True, epochs=100, tol=0, callback=interrupt)
    fitted = stop.value.fitted
    assert len(passes) == 1 + 3  # the count, then one pass a step: none after
    assert fitted.stopped == "interrupted"
    assert fitted.loss_step == seen[-1].step == 2
    assert fitted.training_loss == seen[-1].loss
    assert fitted.gradient == seen[-1].gradient
    assert fitted.validation_loss is None
    # In memory, the loss is measured at the parameters reached.
    with pytest.raises(KeyboardInterrupt) as stop:
        seen.clear()
        fit("w*x1 + b", data, target="y", epochs=100, tol=0, callback=interrupt)
    assert stop.value.fitted.loss_step is None


def test_the_history_is_thinned_past_its_bound(monkeypatch):
    from cgrad.fitting import results

    monkeypatch.setattr(results, "HISTORY_EPOCHS", 5)
    data = linear_data(50)
    fitted = fit("w*x1 + b", data, target="y", epochs=37, tol=0)
    epochs = [epoch.epoch for epoch in fitted.history]
    # Every epoch up to 10 kept, then every other, then every 4th; the last always.
    assert epochs == [1, 5, 9, 13, 17, 21, 25, 29, 33, 37]
    assert len(fitted.history) <= 2 * 5 + 1
    short = fit("w*x1 + b", data, target="y", epochs=10, tol=0)
    assert [epoch.epoch for epoch in short.history] == list(range(1, 11))


def test_the_loss_is_parsed_once(monkeypatch):
    from cgrad.fitting import losses

    texts = []
    compile_ = losses.compile
    parse_ = losses.parse

    def compiled(text, *rest):
        texts.append(text)
        return compile_(text, *rest)

    def parsed(text, *rest):
        texts.append(text)
        return parse_(text, *rest)

    monkeypatch.setattr(losses, "compile", compiled)
    monkeypatch.setattr(losses, "parse", parsed)
    loss = "(model - target)^2 + 0.25*w^2"
    joined = objective(cgrad.compile("w*x + b"), loss)
    assert sum(loss in text for text in texts) == 1
    assert joined.evaluate(w=2.0, x=3.0, b=1.0, target=4.0).value == (7.0 - 4.0) ** 2 + 1.0


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        ("(model - target", "the loss '(model - target' does not compile: this '(' is never "
         "closed at line 1, column 1 (hint: add the missing ')')"),
        ("a = 1\nmodel + * a", "the loss 'a = 1\\nmodel + * a' does not compile: unexpected "
         "'*' at line 2, column 9 (hint: an operand (a number, a name or a parenthesised "
         "expression) is missing here)"),
        ("x = 1\nmodel - x", "the model and the loss do not go together: 'x' is used before "
         "it is bound (hint: move the binding of x above its first use, or rename it if you "
         "meant an input)"),
    ],
)  # fmt: skip
def test_an_error_in_the_loss_is_said_at_its_own_line_and_column(loss, message):
    with pytest.raises(cgrad.CgradError) as error:
        objective(cgrad.compile("w*x + b\n"), loss)
    assert error.value.message == message


# -------------------------------------------------------------------------
# Linear forms as matrix products, by the engine (tests/test_linear_forms.py)


def three_columns(rows: int = 500) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    data = {f"x{k}": rng.standard_normal(rows) for k in (1, 2, 3)}
    data["y"] = (rng.random(rows) < 0.5).astype(float)
    return data


@pytest.mark.parametrize("model", [
    "w1*x1 + w2*x2 + w3*x3 + b",
    "h = tanh(a1*x1 + a2*x2 + a3*x3 + c)\nv*h + w1*x1 + w2*x2 + w3*x3",
])  # fmt: skip
def test_a_fit_with_a_linear_form_runs_its_steps_by_matrix_products(model):
    from cgrad.autodiff.linear_forms import COUNTS

    before = COUNTS["evaluations"]
    fitted = fit(model, three_columns(), target="y", loss="logistic", epochs=5, tol=0)
    assert fitted.steps == 5
    assert COUNTS["evaluations"] - before == 6  # five steps and the result


def test_a_linear_form_with_something_to_warn_about_is_evaluated_whole():
    # Rows whose features overflow: the lifted program would warn of its
    # own input; the joined program's warnings name the user's program.
    data = three_columns(50)
    data["x1"][3] = 1e308
    fitted = fit("w1*x1 + w2*x2 + w3*x3 + b", data, target="y", start={"w1": 10.0},
                 method="gd", epochs=3)  # fmt: skip
    assert fitted.stopped == "diverged"
    assert "linear1" not in fitted.reason


@pytest.mark.parametrize(
    ("start", "says"),
    [
        (10**400, "the start value of w must be finite, not Infinity"),
        ("abc", "the start value of w must be a number, not 'abc'"),
        (True, "the start value of w must be a number, not True"),
    ],
)
def test_a_start_value_that_is_no_finite_number_is_an_input_error(start, says):
    # (10**400 raised OverflowError, "abc" ValueError)
    data = {"x": np.array([1.0, 2.0]), "y": np.array([2.0, 4.0])}
    with pytest.raises(cgrad.InputError) as raised:
        fit("w*x", data, target="y", start={"w": start}, epochs=1)
    assert str(raised.value) == says
