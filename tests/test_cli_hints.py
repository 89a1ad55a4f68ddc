"""Hints for the mistakes a new user makes on the command line: a mistyped
or misplaced option, π for pi, --var without '=', and the hints of eval
--html, minimize and fit. Each through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _error(result) -> tuple[str, str]:
    lines = result.stderr.splitlines()
    return lines[0], lines[1]


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (
            ["diff", "x^2", "--formt", "latex"],
            "--formt is not an option of cgrad diff, and formt is not an input",
            "did you mean the option --format?",
        ),
        (
            ["eval", "x^2", "--jsn", "x=1"],
            "--jsn is not an option of cgrad eval, and jsn is not an input",
            "did you mean the option --json?",
        ),
        (
            ["eval", "x^2", "x=1", "--version"],
            "--version is not an option of cgrad eval",
            "it is cgrad's own, before any command: cgrad --version",
        ),
        (
            ["diff", "x*y", "-f", "latex"],
            "-f is not an option of cgrad diff",
            "did you mean the option --format? (-f is short for it in cgrad graph only)",
        ),
        (
            ["batch", str(SAMPLES / "points.csv"), "-e", "x", "-f", "csv"],
            "-f is not an option of cgrad batch",
            "did you mean the option --format? (-f is short for it in cgrad graph only)",
        ),
        (
            ["eval", "x*y", "x=1", "y=2", "-e", "x"],
            "-e is not an option of cgrad eval",
            "cgrad batch has it, as --expr; see 'cgrad eval --help'",
        ),
        # A format written as an option of its own: --format FORMAT.
        (["diff", "x*y", "--latex"], "--latex needs a value", "did you mean --format latex?"),
        (
            ["diff", "x*y", "--latex", "x=1"],
            "--latex is not an option of cgrad diff, and latex is not an input",
            "did you mean --format latex?",
        ),
        (["graph", "x*y", "--dot"], "--dot needs a value", "did you mean --format dot?"),
    ],
)
def test_a_mistyped_or_misplaced_option_is_named_as_one(cli, arguments, message, hint):
    result = cli(*arguments)
    assert result.exit_code == 2
    assert _error(result) == (f"cgrad: error: {message}", f"hint: {hint}")


def _cgrad(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments], capture_output=True, text=True, check=False
    )


def test_eval_quick_road_names_a_mistyped_option_too():
    # `python -m cgrad eval` reads its line without Typer (cli/quick_eval.py).
    run = _cgrad("eval", "x^2", "--jsn", "x=1")
    assert run.returncode == 2
    assert run.stderr.splitlines()[:2] == [
        "cgrad: error: --jsn is not an option of cgrad eval, and jsn is not an input",
        "hint: did you mean the option --json?",
    ]


def test_a_value_that_is_not_a_number_is_still_said_so(cli):
    result = cli("eval", "x^2", "--x", "latex")
    assert _error(result) == (
        "cgrad: error: the value of x is not a number: 'latex'",
        "hint: write a decimal number such as 2, -1.5, 3e-4, nan, inf or -inf",
    )


def test_a_short_option_taken_for_the_expression_is_named(cli):
    result = cli("diff", "-f", "latex", "x*y")
    assert result.exit_code == 2
    assert _error(result) == (
        "cgrad: error: -f is not an option of cgrad diff",
        "hint: did you mean the option --format? (-f is short for it in cgrad graph only)",
    )


def test_var_with_its_value_as_a_second_word_says_var_takes_name_equals_value(cli):
    result = cli("eval", "x*2", "--var", "x", "1")
    assert result.exit_code == 2
    assert _error(result) == (
        "cgrad: error: --var expects NAME=VALUE, not 'x'",
        "hint: --var takes a name and its value as one word: write --var x=VALUE",
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["diff", "x^3", "--order", "1.5"], "--order must be a whole number, not '1.5'"),
        (["minimize", "x^2", "x=1", "--lr", "fast"], "--lr must be a number, not 'fast'"),
    ],
)
def test_an_option_value_of_the_wrong_type_is_said_in_cgrads_words(arguments, message):
    # Through the console script: Typer's errors reach cgrad's error ladder there.
    result = _cgrad(*arguments)
    assert result.returncode == 2
    assert _error(result) == (
        f"cgrad: error: {message}",
        f"hint: see 'cgrad {arguments[0]} --help'",
    )


def test_ln_with_a_base_points_to_log(cli):
    result = cli("eval", "ln(x, 2)", "x=1")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "hint: log() takes one or two arguments: write log(x, 2)"
    )
    # What the hint writes is a program that runs.
    assert cli("eval", "log(x, 2)", "x=1", "--json").exit_code == 0


@pytest.mark.parametrize(
    ("expression", "column", "symbol", "spelled"),
    [
        ("2π*x", 2, "π", "pi"),
        ("2*π*x", 3, "π", "pi"),
        ("sin(π) + x", 5, "π", "pi"),
        ("x + ℯ^x", 5, "ℯ", "e"),
    ],
)
def test_pi_and_e_symbols_are_refused_with_the_names_to_write(
    cli, expression, column, symbol, spelled
):
    result = cli("eval", expression, "x=1", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "error": {
            "type": "name_error",
            "message": f"{symbol} is not a name in cgrad: the constant is written {spelled} "
            f"(hint: write {spelled} (the constants are pi and e))",
            "line": 1,
            "column": column,
        }
    }
    # Following the hint gives the constant.
    fixed = expression.replace(symbol, spelled).replace("2pi", "2*pi")
    assert cli("eval", fixed, "x=1").exit_code == 0


def test_pi_symbol_is_refused_by_the_library_and_in_a_comment_is_not():
    import cgrad

    with pytest.raises(cgrad.ParseError, match="the constant is written pi"):
        cgrad.compile("r = 2\nr*π")
    assert cgrad.compile("2*pi*r  # π r").inputs == ("r",)
    assert cgrad.compile("πr + 1").inputs == ("πr",)


def test_eval_html_refusing_a_big_graph_points_to_what_works(cli, tmp_path):
    program = tmp_path / "big.cg"
    program.write_text(" + ".join(f"sin(x + {i})" for i in range(300)), encoding="utf-8")
    page = tmp_path / "p.html"
    result = cli("eval", f"@{program}", "x=1", "--html", str(page))
    assert result.exit_code == 2
    assert _error(result) == (
        "cgrad: error: the drawing shows graphs of up to 500 nodes; this one has 1,200",
        "hint: leave out --html for the text report; for the graph itself: "
        "cgrad graph EXPR --format json (or --format dot)",
    )
    assert not page.exists()
    # What the hint says works.
    assert cli("graph", f"@{program}", "--format", "json").exit_code == 0
    assert cli("eval", f"@{program}", "x=1", "--json").exit_code == 0


def test_minimize_on_a_function_without_a_minimum_does_not_only_blame_the_rate(cli):
    result = cli("minimize", "--method", "gd", "--lr", "0.1", "--json", "--", "-x^2", "x=1")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    start = json.loads(cli("eval", "-x^2", "x=1", "--json").stdout)["value"]
    hint = (
        f"the loss fell from {start:.3g} to {float(summary['value']):.3g}: the function may have "
        "no minimum; or try a smaller --lr than 0.1"
    )
    assert list(summary)[-3:] == ["stopped", "reason", "hint"]
    assert summary["stopped"] == "diverged"
    assert summary["hint"] == hint
    lines = result.stderr.splitlines()
    assert lines[0] == f"cgrad: error: {summary['reason']}"
    assert lines[1] == (
        f"hint: the summary shows step {summary['steps']}, the last finite point; {hint}"
    )


def test_minimize_diverging_uphill_still_hints_a_smaller_rate(cli):
    result = cli("minimize", "x^2", "x=1", "--method", "gd", "--lr", "1.5", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["hint"] == "try a smaller --lr than 1.5"
    assert summary["reason"].startswith(f"diverged at step {summary['steps'] + 1}: ")
    # A run that did not diverge has neither key.
    calm = json.loads(cli("minimize", "x^2", "x=1", "--json").stdout)
    assert list(calm)[-1] == "stopped"


LINEAR = SAMPLES / "linear.csv"  # columns x1, x2, y


@pytest.mark.parametrize(
    ("loss", "hint"),
    [
        (
            "huber",
            "name one of them, or write the loss as an expression in model and target, "
            "as in '(model - target)^2'",
        ),
        ("squard", "did you mean squared?"),
    ],
)
def test_fit_an_unknown_loss_name_lists_the_losses(cli, loss, hint):
    result = cli("fit", "w*x1", str(LINEAR), "--target", "y", "--loss", loss)
    assert result.exit_code == 2
    assert _error(result) == (
        f"cgrad: error: there is no loss named '{loss}': the losses are squared, absolute "
        "and logistic",
        f"hint: {hint}",
    )


@pytest.mark.parametrize(
    ("loss", "message", "hint"),
    [
        (
            "model^2",
            "the loss 'model^2' does not use target, the value of the target column",
            "for example --loss '(model - target)^2'",
        ),
        (
            "t = target; abs(model)",
            "the loss 't = target; abs(model)' does not use target, the value of the target column",
            "for example --loss '(model - target)^2'",
        ),
        (
            "(model - y)^2",
            "the loss '(model - y)^2' reads the target column y by its name: the loss "
            "calls the target's value target",
            "write target for y in the loss",
        ),
        (
            "target = 1; (model - target)^2",
            "the loss 'target = 1; (model - target)^2' binds target, the name of the "
            "target column's value",
            "use another name for that binding, and target for the target",
        ),
    ],
)
def test_fit_a_loss_that_does_not_read_target_is_refused_in_its_own_words(cli, loss, message, hint):
    result = cli("fit", "w*x1", str(LINEAR), "--target", "y", "--loss", loss)
    assert result.exit_code == 2
    assert _error(result) == (f"cgrad: error: {message}", f"hint: {hint}")
    result = cli("fit", "w*x1", str(LINEAR), "--target", "y", "--loss", loss, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == {
        "type": "usage_error",
        "message": f"{message} (hint: {hint})",
        "line": None,
        "column": None,
    }


@pytest.mark.parametrize(
    ("option", "value", "least"), [("--batch-rows", "0", 1), ("--epochs", "-1", 0)]
)
def test_fit_option_out_of_range_is_named_as_typed(option, value, least):
    result = _cgrad("fit", "w*x1", str(LINEAR), "--target", "y", option, value)
    assert result.returncode == 2
    assert _error(result) == (
        f"cgrad: error: {option} must be a whole number >= {least}, not {value}",
        "hint: see 'cgrad fit --help'",
    )


def test_fit_warns_of_a_parameter_named_like_an_unread_column(cli):
    result = cli("fit", "w*x3", str(LINEAR), "--target", "y", "--epochs", "1", "--json")
    assert result.exit_code == 0
    assert result.stderr == (
        "cgrad: warning: x3 is not a column of the data, so it is fitted as a parameter: "
        "did you mean the column x1?\n"
    )
    assert set(json.loads(result.stdout)["params"]) == {"w", "x3"}


@pytest.mark.parametrize("model", ["w1*x1 + w2*x2 + b", "a*x1 + b"])
def test_fit_does_not_warn_of_parameters_unlike_the_unread_columns(cli, model):
    result = cli("fit", model, str(LINEAR), "--target", "y", "--epochs", "1", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_the_library_warns_as_python_does():
    from cgrad.fitting.training import ColumnNameWarning, fit

    with pytest.warns(ColumnNameWarning, match="did you mean the column x2"):
        fit("w*X2", str(LINEAR), target="y", epochs=1)


def test_an_option_after_double_dash_is_shown_moved_with_its_value(cli):
    result = cli("minimize", "--", "-x^2", "x=1", "--method", "gd")
    assert result.exit_code == 2
    assert _error(result) == (
        "cgrad: error: --method comes after '--', where it cannot be an option",
        "hint: put options before '--', as in: cgrad minimize --method gd -- EXPR ...",
    )


NFD, NFC = "e\u0301", "\u00e9"  # é decomposed (as macOS writes it) and composed


@pytest.mark.parametrize(
    ("program", "values"),
    [
        (f"{NFD}*2", [f"{NFC}=1"]),
        (f"{NFC}*2", [f"{NFD}=1"]),
        (f"{NFC}*2", ["--var", f"{NFD}=1"]),
        (f"{NFC}*2", [f"--{NFD}", "1"]),
        (f"{NFD}*2", [f"--{NFD}=1", "--wrt", NFD]),
    ],
    ids=["decomposed program", "decomposed value", "--var", "--NAME", "--wrt"],
)
@pytest.mark.parametrize("road", ["full", "quick"])
def test_a_decomposed_name_is_the_composed_one(cli, program, values, road):
    # This said "unexpected character" or "unexpected argument 'é=1'".
    arguments = ["eval", program, *values, "--json"]
    if road == "quick":
        done = _cgrad(*arguments)
        exit_code, stdout, stderr = done.returncode, done.stdout, done.stderr
    else:
        result = cli(*arguments)
        exit_code, stdout, stderr = result.exit_code, result.stdout, result.stderr
    assert (exit_code, stderr) == (0, "")
    document = json.loads(stdout)
    assert document["expression"] == f"{NFC}*2"
    assert document["gradient"] == {NFC: 2.0}


def test_a_decomposed_name_in_a_program_file_and_in_batch(cli, tmp_path):
    program = tmp_path / "p.cg"
    program.write_text(f"{NFD}*x", encoding="utf-8")
    points = tmp_path / "points.csv"
    points.write_text("x\n3\n")
    evaluated = cli("eval", f"@{program}", f"{NFC}=2", "x=3", "--json")
    assert evaluated.exit_code == 0, evaluated.stderr
    expected = json.loads(evaluated.stdout)["gradient"]
    for given in (["-e", f"@{program}", f"{NFC}=2"], ["-e", f"{NFC}*x", f"{NFD}=2"]):
        result = cli("batch", str(points), *given)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["gradient"] == expected
