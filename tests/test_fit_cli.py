"""cgrad fit through its real entry point: the JSON summary's exact shape,
the parameters file read back by batch --params, the trace, bad rows,
divergence and the errors, each checked against the library or numpy."""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np
import pytest

import cgrad
from cgrad.numerals import format_number

SUMMARY_KEYS = [
    "model", "target", "loss", "method", "lr", "batch_rows", "seed", "streamed", "rows",
    "validation_rows", "bad_rows", "start", "params", "gradient", "gradient_norm",
    "training_loss", "training_loss_step", "validation_loss", "epochs", "steps", "stopped",
    "history",
]  # fmt: skip


@pytest.fixture
def rows(tmp_path):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(300)
    y = 2 * x - 1 + 0.1 * rng.standard_normal(300)
    path = tmp_path / "rows.csv"
    path.write_text(
        "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist(), strict=True))
    )
    return path, {"x": x, "y": y}


def test_the_json_summary_has_its_documented_shape_and_the_library_numbers(cli, rows):
    path, data = rows
    result = cli(
        "fit", "w*x + b", str(path), "--target", "y", "w=0.5", "--b", "0",
        "--method", "gd", "--lr", "0.2", "--epochs", "3", "--holdout", "0.2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert list(summary) == SUMMARY_KEYS
    expected = cgrad.fit("w*x + b", path, target="y", start={"w": 0.5, "b": 0.0}, method="gd",
                         lr=0.2, epochs=3, holdout=0.2)  # fmt: skip
    assert summary["params"] == expected.params
    assert summary["gradient"] == expected.gradient
    assert summary["training_loss"] == expected.training_loss
    assert summary["validation_loss"] == expected.validation_loss
    assert summary["start"] == {"w": 0.5, "b": 0.0}
    assert (summary["rows"], summary["validation_rows"]) == (
        expected.rows,
        expected.validation_rows,
    )
    assert summary["rows"] + summary["validation_rows"] == 300
    assert summary["bad_rows"] == {"count": 0, "first": []}
    assert summary["training_loss_step"] is None
    assert (summary["epochs"], summary["steps"], summary["stopped"]) == (3, 3, "epochs")
    assert [list(entry) for entry in summary["history"]] == [
        ["epoch", "steps", "loss", "validation_loss"]
    ] * 3
    assert summary["history"][0]["loss"] == pytest.approx(
        np.mean((0.5 * data["x"] - data["y"])[_training_rows(300, 0.2, 0)] ** 2), rel=1e-12
    )


def _training_rows(count: int, holdout: float, seed: int) -> np.ndarray:
    """The rows a holdout keeps for training, as docs/fit.md says they are
    chosen (fewer rows than a block: one permutation)."""
    held = np.zeros(count, dtype=bool)
    held[np.random.default_rng([seed, 1]).permutation(count)[: round(holdout * count)]] = True
    return ~held


def test_the_parameters_file_is_read_back_by_batch_params(cli, rows, tmp_path):
    path, data = rows
    params = tmp_path / "params.json"
    fitted = cli(
        "fit", "w*x + b", str(path), "--target", "y", "--epochs", "50", "-o", str(params), "--json"
    )
    assert fitted.exit_code == 0, fitted.stderr
    written = json.loads(params.read_text())
    assert written == json.loads(fitted.stdout)["params"]
    predicted = cli(
        "batch", str(path), "-e", "w*x + b", "--params", str(params), "--format", "ndjson"
    )
    assert predicted.exit_code == 0, predicted.stderr
    values = [json.loads(line)["value"] for line in predicted.stdout.splitlines()]
    np.testing.assert_allclose(values, written["w"] * data["x"] + written["b"], rtol=1e-15)
    # A value on the command line wins over the file's.
    again = cli(
        "batch", str(path), "-e", "w*x + b", "--params", str(params), "w=0", "--format", "ndjson"
    )
    first = json.loads(again.stdout.splitlines()[0])
    assert first["inputs"]["w"] == 0 and first["inputs"]["b"] == written["b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must hold one JSON object of names to numbers"),
        ('{"w": "2"}', 'the value of w is not a number: "2"'),
        ('{"q": 2}', "q is not an input of this expression"),
        ("{", "is not JSON"),
    ],
)
def test_batch_refuses_a_bad_parameters_file(cli, rows, tmp_path, text, message):
    path, _ = rows
    params = tmp_path / "params.json"
    params.write_text(text)
    result = cli("batch", str(path), "-e", "w*x + b", "--params", str(params))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_the_trace_has_a_line_per_step(cli, rows, tmp_path):
    path, _ = rows
    trace = tmp_path / "trace.ndjson"
    result = cli("fit", "w*x + b", str(path), "--target", "y", "w=1", "b=0", "--batch-rows", "100",
                 "--epochs", "2", "--trace", str(trace), "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line["step"] for line in lines] == list(range(6))
    assert [line["epoch"] for line in lines] == [1, 1, 1, 2, 2, 2]
    assert [line["rows"] for line in lines] == [100] * 6
    assert list(lines[0]) == ["step", "epoch", "rows", "loss", "params", "gradient"]
    assert lines[0]["params"] == {"w": 1.0, "b": 0.0}
    assert json.loads(result.stdout)["steps"] == 6


def test_bad_rows_follow_on_error(cli, rows, tmp_path):
    path, _ = rows
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text() + "oops,1\n1,\n")
    recorded = cli("fit", "w*x + b", str(bad), "--target", "y", "--epochs", "2", "--json")
    assert recorded.exit_code == 1
    assert json.loads(recorded.stdout)["bad_rows"] == {
        "count": 2,
        "first": [
            {
                "row": 301,
                "type": "invalid_value",
                "message": "the value of x is not a number: 'oops'",
            },
            {"row": 302, "type": "invalid_value", "message": "the value of y is empty"},
        ],
    }
    assert recorded.stderr == (
        "cgrad: error: 2 bad rows left out (the summary lists the first); the first, "
        "row 301: the value of x is not a number: 'oops'\n"
    )
    skipped = cli(
        "fit", "w*x + b", str(bad), "--target", "y", "--epochs", "2", "--on-error", "skip", "--json"
    )
    assert skipped.exit_code == 1
    assert json.loads(skipped.stdout)["rows"] == 300
    assert json.loads(skipped.stdout)["bad_rows"] == {"count": 2, "first": []}
    assert skipped.stderr == "cgrad: error: 2 bad rows left out\n"
    failed = cli("fit", "w*x + b", str(bad), "--target", "y", "--on-error", "fail")
    assert failed.exit_code == 1
    assert failed.stdout == ""
    assert failed.stderr.startswith(
        "cgrad: error: row 301 of the data is bad: the value of x is not a number: 'oops'"
    )


def test_divergence_exits_1_and_names_the_parameter(cli, rows, tmp_path):
    path, _ = rows
    trace = tmp_path / "trace.ndjson"
    result = cli("fit", "w*x + b", str(path), "--target", "y", "w=1", "b=0", "--method", "gd",
                 "--lr", "100", "--json", "--trace", str(trace))  # fmt: skip
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["stopped"] == "diverged"
    assert all(math.isfinite(v) for v in summary["params"].values())
    *finite, last = [json.loads(line) for line in trace.read_text().splitlines()]
    assert summary["params"] == finite[-1]["params"]  # the last finite point
    assert last["loss"] == "Infinity"
    largest = max(last["params"], key=lambda name: abs(last["params"][name]))
    message = result.stderr.splitlines()[0]
    assert message.startswith(
        f"cgrad: error: diverged: at step {last['step']}, the loss is Infinity, with {largest} "
        f"the largest parameter ("
    )


def test_compressed_data_from_standard_input(rows):
    import gzip
    import subprocess
    import sys

    path, _ = rows
    result = subprocess.run(
        [sys.executable, "-m", "cgrad", "fit", "w*x + b", "-", "--target", "y",
         "--epochs", "5", "--json"],
        input=gzip.compress(path.read_bytes()), capture_output=True, check=True,
    )  # fmt: skip
    expected = cgrad.fit("w*x + b", path, target="y", epochs=5)
    assert json.loads(result.stdout)["params"] == expected.params


def test_data_from_standard_input(cli, rows):
    path, _ = rows
    result = cli(
        "fit", "w*x + b", "-", "--target", "y", "--epochs", "5", "--json", input=path.read_text()
    )
    assert result.exit_code == 0, result.stderr
    expected = cgrad.fit("w*x + b", path, target="y", epochs=5)
    assert json.loads(result.stdout)["params"] == expected.params


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no MODEL given"),
        (["w*x + b", "{data}"], "--target names the column to predict"),
        (["w*x + b", "{data}", "--target", "q"], "the data has no column 'q' for the target"),
        (["w*x + b", "{data}", "--target", "y", "x=1"], "x is not a parameter of the model"),
        (
            ["w*x + b", "{data}", "--target", "y", "--loss", "huber"],
            "there is no loss named 'huber'",
        ),
        (["w*x + b", "{data}", "--target", "y", "--method", "sgd"], "--method must be"),
        (["w*x + b", "missing.csv", "--target", "y"], "cannot read missing.csv"),
        (["x + y", "{data}", "--target", "y"], "the model reads the target column y"),
        (["w*x + b", "{data}", "--target", "y", "-o", "."], "cannot write .: it is a directory"),
        (["w*x + b", "{data}", "--target", "y", "-o", "{data}"], "would replace the data"),
    ],
)
def test_errors_exit_2_with_one_message(cli, rows, args, message):
    path, _ = rows
    result = cli("fit", *[a.replace("{data}", str(path)) for a in args], "--json")
    assert result.exit_code == 2
    assert message in result.stderr
    assert (
        json.loads(result.stdout)["error"]["message"].startswith(message[:10])
        or message in result.stdout
    )
    assert "Traceback" not in result.stderr


def test_the_live_line_counts_epochs_for_a_fit():
    from cgrad.fitting.results import FitStep
    from cgrad.views.terminal_minimize import LossHistory, progress_line

    step = FitStep(step=41, loss=0.5, point={"w": 1.0}, gradient={"w": 0.25},
                   gradient_norm=0.25, epoch=3, epochs=20, rows=100)  # fmt: skip
    line = progress_line(step, 20, LossHistory()).plain
    assert line == "epoch 3/20  step 41  loss 0.5  gradient norm 0.25  "


def test_stream_and_validation_from_the_command_line(cli, rows, tmp_path):
    path, data = rows
    other = tmp_path / "other.csv"
    other.write_text("x,y\n1,1\n2,3\n")
    result = cli("fit", "w*x + b", str(path), "--target", "y", "--epochs", "5", "--stream",
                 "--validation", str(other), "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["streamed"] is True
    assert summary["validation_rows"] == 2
    w, b = summary["params"]["w"], summary["params"]["b"]
    expected = ((w + b - 1) ** 2 + (2 * w + b - 3) ** 2) / 2
    assert summary["validation_loss"] == pytest.approx(expected, rel=1e-12)
    in_memory = cgrad.fit("w*x + b", data, target="y", epochs=5)
    assert summary["params"] == pytest.approx(in_memory.params, rel=1e-12)


def test_the_html_page_draws_each_step_and_the_fitted_parameters(cli, rows, tmp_path):
    path, _ = rows
    trace, page = tmp_path / "trace.ndjson", tmp_path / "fit.html"
    result = cli("fit", "w*x + b", str(path), "--target", "y", "w=1", "b=0", "--batch-rows", "100",
                 "--epochs", "3", "--trace", str(trace), "--html", str(page), "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    text = page.read_text()
    found = re.search(r'<script type="application/json" id="cgrad-data">(.*?)</script>', text)
    assert found is not None
    data = json.loads(found.group(1))
    steps = [json.loads(line) for line in trace.read_text().splitlines()]
    assert data["steps"] == [step["step"] for step in steps]
    assert [float(loss) for loss in data["losses"]] == [step["loss"] for step in steps]
    assert {n: float(v) for n, v in data["params"].items()} == summary["params"]
    assert {n: float(v) for n, v in data["gradient"].items()} == summary["gradient"]
    assert f'class="loss-curve" data-points="{len(steps)}"' in text
    # Offline: nothing to fetch (an SVG's namespace is a name, not a fetch).
    assert not re.search(r'(src|href)="|url\(', text)
    table = re.findall(r"<tr><td>(\w+)</td>", text)
    assert table == ["w", "b"]


def test_the_html_page_needs_a_file(cli, rows):
    path, _ = rows
    result = cli("fit", "w*x + b", str(path), "--target", "y", "--html", "-")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: --html needs a file: stdout has the report\nhint: write --html page.html\n"
    )


def test_a_run_that_diverges_keeps_the_parameters_file_of_a_good_one(cli, rows, tmp_path):
    path, _ = rows
    params = tmp_path / "params.json"
    good = cli("fit", "w*x + b", str(path), "--target", "y", "-o", str(params), "--json")
    assert good.exit_code == 0, good.stderr
    kept = params.read_bytes()
    assert json.loads(kept) == json.loads(good.stdout)["params"]
    bad = cli("fit", "w*x + b", str(path), "--target", "y", "--method", "gd", "--lr", "100",
              "-o", str(params), "--json")  # fmt: skip
    assert bad.exit_code == 1
    assert json.loads(bad.stdout)["stopped"] == "diverged"  # the summary still comes
    assert "; -o was not written\n" in bad.stderr
    assert params.read_bytes() == kept


@pytest.mark.parametrize("option", ["-o", "--trace", "--html"])
def test_a_file_in_no_folder_is_refused_before_the_fit(cli, rows, tmp_path, option):
    path, _ = rows
    target = tmp_path / "no-such-folder" / "out"
    result = cli("fit", "w*x + b", str(path), "--target", "y", option, str(target))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"cgrad: error: cannot write {target} ({option}): there is no folder {target.parent}\n"
    )


def test_validation_data_without_the_columns_is_refused_with_them_named(cli, rows, tmp_path):
    path, _ = rows
    validation = tmp_path / "validation.csv"
    validation.write_text("a,y\n1,2\n")
    result = cli("fit", "w*x + b", str(path), "--target", "y", "--validation", str(validation))
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: the validation data has no column 'x'\nhint: its columns are a, y\n"
    )


def test_the_logistic_loss_refuses_a_target_that_is_not_a_label(cli, rows):
    path, data = rows
    result = cli("fit", "w*x + b", str(path), "--target", "y", "--loss", "logistic")
    assert result.exit_code == 2
    low, high = data["y"].min(), data["y"].max()
    assert result.stderr == (
        f"cgrad: error: --loss logistic needs a target of 0 and 1 (or probabilities), but y "
        f"goes from {format_number(low)} to {format_number(high)}\n"
        "hint: fit a number with --loss squared, or make the target 0 or 1\n"
    )


def test_a_column_named_like_a_constant_the_model_uses_is_refused(cli, tmp_path):
    data = tmp_path / "constants.csv"
    data.write_text("e,x,y\n1,2,3\n2,3,5\n3,1,4\n")
    result = cli("fit", "w*e + v*x", str(data), "--target", "y")
    assert result.exit_code == 2
    assert result.stderr == (
        f"cgrad: error: the data has a column e, but e in the model is the constant "
        f"e = {format_number(math.e)}, not the column\n"
        "hint: rename the column e in the data and in the model\n"
    )
    # With no such column, the constant is a constant as everywhere.
    other = tmp_path / "plain.csv"
    other.write_text("x,y\n2,3\n3,5\n1,4\n")
    fitted = cli("fit", "w*x + e", str(other), "--target", "y", "--epochs", "2", "--json")
    assert fitted.exit_code == 0, fitted.stderr


def test_a_start_outside_the_domain_asks_for_other_start_values(cli, rows):
    path, _ = rows
    result = cli("fit", "sqrt(p) + w*x", str(path), "--target", "y", "p=-1", "w=1")
    assert result.exit_code == 1
    assert result.stderr.startswith("cgrad: error: diverged: at step 0, ")
    assert result.stderr.endswith(
        "\nhint: the start is no point to fit from: give other start values (or another --seed)\n"
    )


def test_a_holdout_that_leaves_no_training_rows_says_so(cli, rows):
    path, _ = rows
    result = cli("fit", "w*x + b", str(path), "--target", "y", "--holdout", "0.99999")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: the holdout of 0.99999 left no rows to fit: all 300 went to validation\n"
        "hint: give a smaller holdout\n"
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--lr", "inf", "the learning rate must be a finite positive number, not Infinity"),
        ("--lr", "nan", "the learning rate must be a finite positive number, not NaN"),
        ("--lr", "0", "the learning rate must be a finite positive number, not 0"),
        ("--tol", "nan", "the tolerance must be a number >= 0, not NaN"),
        ("--holdout", "nan", "the holdout must be a fraction between 0 and 1, not NaN"),
        ("--holdout", "inf", "the holdout must be a fraction between 0 and 1, not Infinity"),
    ],
)
def test_a_bad_setting_is_said_with_numbers_as_cgrad_writes_them(cli, rows, option, value, message):
    path, _ = rows
    result = cli("fit", "w*x + b", str(path), "--target", "y", option, value)
    assert result.exit_code == 2
    assert result.stderr == f"cgrad: error: {message}\n"


@pytest.mark.parametrize("stream", [[], ["--stream"]], ids=["in memory", "streamed"])
@pytest.mark.parametrize(
    ("text", "on_error", "says"),
    [
        ("x,y\n1,nan\n2,inf\n", "record",
         "all 2 rows are bad; the first, row 1: the value of y is NaN"),
        ("x,y\n1,nan\n2,inf\n", "skip", "all 2 rows are bad"),
        ("x,y\n1,-inf\n", "record", "its one row is bad, row 1: the value of y is -Infinity"),
        ("x,y\n", "record", ""),
    ],
    ids=["two, listed", "two, skipped", "one", "none"],
)  # fmt: skip
def test_data_of_only_bad_rows_says_they_are_bad(cli, tmp_path, text, on_error, says, stream):
    # This said "the data has no rows to fit", as if the file were empty.
    path = tmp_path / "a.csv"
    path.write_text(text)
    arguments = ["fit", "a*x + b", str(path), "--target", "y", "--on-error", on_error, *stream]
    result = cli(*arguments)
    message = "the data has no rows to fit" + (f": {says}" if says else "")
    assert (result.exit_code, result.stderr) == (2, f"cgrad: error: {message}\n")
    result = cli(*arguments, "--json")
    assert json.loads(result.stdout) == {
        "error": {"type": "input_error", "message": message, "line": None, "column": None}
    }


def test_an_interrupted_streamed_fit_stops_with_the_loss_of_its_last_pass(
    rows, interrupted_once_traced
):
    path, _ = rows
    process, stdout, stderr, trace = interrupted_once_traced(
        "fit", "w*x + b", str(path), "--target", "y", "--stream",
        "--epochs", "100000000", "--tol", "0", "--json", "-q",
    )  # fmt: skip
    assert process.returncode == 130
    assert "Traceback" not in stderr
    summary = json.loads(stdout)
    assert summary["stopped"] == "interrupted" and summary["streamed"] is True
    steps = {line["step"]: line for line in map(json.loads, trace.read_text().splitlines())}
    # The last step whose pass was whole: the trace's last line, or (the
    # signal falling between the pass and the trace's line) the one after.
    at = summary["training_loss_step"]
    assert at in (max(steps), max(steps) + 1)
    if at in steps:
        assert summary["training_loss"] == steps[at]["loss"]
        assert summary["gradient"] == steps[at]["gradient"]
    assert summary["validation_loss"] is None


def test_the_summary_says_where_an_interrupted_streamed_loss_was_measured():
    from rich.console import Console

    from cgrad.fitting.data import BadRows
    from cgrad.fitting.results import Fitted
    from cgrad.views.fit_report import fit_report

    fitted = Fitted(
        model="w*x", loss="squared", target="y", method="gd", lr=0.1, seed=0, batch_rows=None,
        streamed=True, start={"w": 0.0}, params={"w": 1.0}, gradient={"w": 0.5},
        gradient_norm=0.5, training_loss=2.0, validation_loss=None, rows=10, validation_rows=0,
        bad_rows=BadRows(), epochs=4, steps=4, stopped="interrupted", history=(), loss_step=3,
    )  # fmt: skip
    console = Console(width=200, color_system=None, record=True)
    console.print(fit_report(fitted, "w*x"))
    assert (
        "training loss 2 (at step 3: its pass over the rows was the last whole one before the "
        "interruption, and the data was not read again)\n"
    ) in console.export_text()


@pytest.mark.parametrize(
    ("target", "read_as"),
    [
        ("y", ["-e", "min(x, y)"]),
        ("y value", ["-e", "min(x, target)", "--column", "target=y value"]),
    ],
)
def test_a_bad_row_is_worded_as_batch_words_it(cli, tmp_path, target, read_as):
    path = tmp_path / "bad.csv"
    path.write_text(f"x,{target}\n1,2\n2,abc\n3,\n4,5\n5,6\n")
    fitted = cli("fit", "w*x", str(path), "--target", target, "--epochs", "1", "--json")
    assert fitted.exit_code == 1
    batch = cli("batch", str(path), *read_as, "--format", "ndjson")
    errors = [line for line in map(json.loads, batch.stdout.splitlines()) if "error" in line]
    assert len(errors) == 2
    assert json.loads(fitted.stdout)["bad_rows"]["first"] == [
        {"row": line["row"], "type": line["error"]["type"], "message": line["error"]["message"]}
        for line in errors
    ]


WARNED = [
    # (model, loss, start values, the text warned about, where it is)
    ("w*x + log(b)", "squared", ["b=-1"], "log(b)", "model"),
    ("h = w*x; h + log(b)", "squared", ["b=-1"], "log(b)", "model"),
    ("h = w*x\nsqrt(h) + b\n", "squared", ["w=1"], "sqrt(h)", "file"),
    ("# a comment\nh = log(w*x)\nh + b\n", "squared", ["w=1"], "log(w*x)", "file"),
    ("w*x + b", "(model - target)^2 + log(b)", ["b=-1"], "log(b)", "loss"),
    ("w*x + b", "a = model - target\n a^2 + log(b)", ["b=-1"], "log(b)", "loss"),
]  # fmt: skip


def place(text: str, part: str) -> tuple[int, int]:
    """The line and column of ``part`` in ``text``, counted by hand."""
    offset = text.index(part)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(("model", "loss", "start", "part", "where"), WARNED)
def test_warnings_and_divergence_point_at_the_users_own_text(
    cli, rows, tmp_path, model, loss, start, part, where
):
    path, _ = rows
    given = model
    if where == "file":
        program = tmp_path / "model.cg"
        program.write_text(model)
        given = f"@{program}"
    trace = tmp_path / "trace.ndjson"
    result = cli("fit", given, str(path), "--target", "y", "--loss", loss, *start,
                 "--epochs", "1", "--trace", str(trace))  # fmt: skip
    assert result.exit_code == 1
    line, column = place(loss if where == "loss" else model, part)
    origin = {"model": "", "file": f"{program}:" if where == "file" else "", "loss": "loss "}
    said = (
        re.escape(f"`{part}` (node @")
        + r"\d+"
        + re.escape(f", {origin[where]}line {line}, column {column}) is NaN")
    )
    assert re.search(said, result.stderr), result.stderr
    (warning,) = json.loads(trace.read_text().splitlines()[0])["warnings"]
    assert (warning["line"], warning["column"]) == (line, column)
    assert re.match(said, warning["message"])


def test_a_parquet_decimal_column_is_fitted_as_the_floats_nearest_it(cli, rows, tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    _, data = rows
    # The CSV's numbers to 6 places, as decimals, and as the floats nearest them.
    x = [decimal.Decimal(f"{value:.6f}") for value in data["x"].tolist()]
    table = pa.table({"x": pa.array(x, pa.decimal128(12, 6)), "y": data["y"]})
    pq.write_table(table, tmp_path / "decimals.parquet")
    floats = {"x": np.array([float(value) for value in x]), "y": data["y"]}
    result = cli("fit", "w*x + b", str(tmp_path / "decimals.parquet"), "--target", "y",
                 "--epochs", "5", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"] == 300 and summary["bad_rows"] == {"count": 0, "first": []}
    assert summary["params"] == cgrad.fit("w*x + b", floats, target="y", epochs=5).params


@pytest.mark.parametrize("role", ["data", "validation"])
def test_an_empty_data_file_is_said_to_be_empty(cli, rows, tmp_path, role):
    path, _ = rows
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    files = [str(empty)] if role == "data" else [str(path), "--validation", str(empty)]
    result = cli("fit", "w*x + b", *files, "--target", "y")
    assert result.exit_code == 2
    named = "the data" if role == "data" else "the validation data"
    assert result.stderr == f"cgrad: error: {named} is empty: it has no columns\n"


def test_the_repr_of_a_fit_gives_its_history_by_length(rows):
    path, _ = rows
    fitted = cgrad.fit("w*x + b", path, target="y", epochs=300)
    assert len(fitted.history) == 300
    shown = repr(fitted)
    assert "Epoch(" not in shown and ", history=<300 epochs>, diverged=None" in shown
    assert shown.startswith("Fitted(model='w*x + b', loss='squared', target='y', ")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize(
    "command",
    [
        ["minimize", "x^2", "x=1", "--steps", "3"],
        ["fit", "w*x + b", "{rows}", "--target", "y", "--epochs", "3"],
    ],
    ids=["minimize", "fit"],
)
def test_a_page_that_cannot_be_written_comes_after_the_report(cli, rows, command):
    path, _ = rows
    arguments = [str(path) if word == "{rows}" else word for word in command]
    result = cli(*arguments, "-q", "--html", "/dev/full")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == command[1]  # the report's first line
    assert "\nstopped: " in result.stdout
    assert result.stderr == (
        "cgrad: error: input/output failed on --html /dev/full: No space left on device\n"
    )


@pytest.mark.parametrize("option", ["--trace", "--html"])
def test_an_output_in_a_folder_that_takes_no_file_says_so(cli, option):
    if not os.path.isfile("/proc/version"):
        pytest.skip("needs /proc")
    result = cli("minimize", "x^2", "x=1", option, "/proc/version")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: cannot write /proc/version: no file can be made in /proc "
        "(No such file or directory)\n"
    )
