"""`cgrad eval` through its real entry points: Typer's CliRunner for most
checks, a subprocess for the console script, signals and pipes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import cgrad

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SEED_JSON = (
    '{"expression": "(x+y)*z", "inputs": {"x": 1.0, "y": 2.0, "z": 3.0}, "value": 9.0, '
    '"gradient": {"x": 3.0, "y": 3.0, "z": 3.0}, "warnings": []}\n'
)


def test_seed_json_is_exactly_the_documented_object(cli):
    result = cli("eval", "(x+y)*z", "--x", "1", "--y", "2", "--z", "3", "--json")
    assert result.exit_code == 0
    assert result.stdout == SEED_JSON
    assert result.stderr == ""


@pytest.mark.parametrize(
    "values",
    [
        ["--x", "1", "--y", "2", "--z", "3"],
        ["--x=1", "--y=2", "--z=3"],
        ["x=1", "y=2", "z=3"],
        ["--var", "x=1", "--var", "y=2", "--var", "z=3"],
        ["--z", "3", "x=1", "--var", "y=2"],
    ],
)
def test_four_ways_to_give_values(cli, values):
    result = cli("eval", "(x+y)*z", *values, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == SEED_JSON


def test_options_before_the_expression(cli):
    result = cli("eval", "--x", "1", "--y=2", "(x+y)*z", "z=3", "--json")
    assert result.stdout == SEED_JSON


def test_negative_and_special_values(cli):
    result = cli("eval", "x*y", "--x", "-1.5e0", "--y=-2", "--json")
    assert json.loads(result.stdout)["value"] == 3.0
    result = cli("eval", "x + y", "x=nan", "y=-inf", "--json")
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert document["inputs"] == {"x": "NaN", "y": "-Infinity"}
    assert document["value"] == "NaN"
    assert document["warnings"][0]["type"] == "non_finite_input"


def test_an_expression_starting_with_minus_goes_after_double_dash(cli):
    result = cli("eval", "--json", "--", "-x^2", "x=3")
    assert json.loads(result.stdout)["value"] == -9.0


def test_var_for_a_name_that_collides_with_an_option(cli):
    result = cli("eval", "json*wrt", "--var", "json=2", "--var", "wrt=3", "--json")
    assert json.loads(result.stdout)["gradient"] == {"json": 3.0, "wrt": 2.0}


def test_program_from_a_file_and_from_stdin(cli):
    result = cli(
        "eval",
        f"@{SAMPLES / 'neuron.cg'}",
        "x1=2",
        "x2=0",
        "w1=-3",
        "w2=1",
        "b=6.8813735870195432",
        "--json",
    )
    document = json.loads(result.stdout)
    assert document["value"] == pytest.approx(2**-0.5, rel=1e-15)
    assert list(document["gradient"]) == ["w1", "x1", "w2", "x2", "b"]
    result = cli("eval", "@-", "x=2", "--json", input="a = x^2\na*3\n")
    assert json.loads(result.stdout)["gradient"] == {"x": 12.0}


def test_wrt_and_forward_mode(cli):
    result = cli("eval", "(x+y)*z", "x=1", "y=2", "z=3", "--wrt", "z,x", "--json")
    assert json.loads(result.stdout)["gradient"] == {"x": 3.0, "z": 3.0}
    result = cli("eval", "(x+y)*z", "x=1", "y=2", "z=3", "--mode", "forward", "--json")
    assert result.stdout == SEED_JSON


def test_graph_json_shape(cli):
    result = cli("eval", "x*y + sin(x*y)", "x=1", "y=2", "--json", "--graph")
    document = json.loads(result.stdout)
    assert list(document) == ["expression", "inputs", "value", "gradient", "warnings", "graph"]
    graph = document["graph"]
    assert list(graph) == ["nodes", "output"] and graph["output"] == 4
    assert [list(node) for node in graph["nodes"]] == [
        ["id", "op", "inputs", "label", "value", "grad"]
    ] * 5
    assert graph["nodes"][2] == {
        "id": 2,
        "op": "mul",
        "inputs": [0, 1],
        "label": "x*y",
        "value": 2.0,
        "grad": pytest.approx(1 + __import__("math").cos(2.0)),
    }


def test_warning_json_shape(cli):
    result = cli("eval", "log(x)", "x=0", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["value"] == "-Infinity"
    assert document["gradient"] == {"x": "Infinity"}
    assert document["warnings"] == [
        {
            "type": "non_finite_value",
            "message": "`log(x)` (node @1, line 1, column 1) is -Infinity: log(0) = -Infinity",
            "node": 1,
            "line": 1,
            "column": 1,
        }
    ]


def test_text_output(cli):
    result = cli("eval", "(x+y)*z", "--x", "1", "--y", "2", "--z", "3")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == ["(x+y)*z", "value 9"]
    assert "@4 mul (x+y)*z  = 9  grad 1" in result.stdout
    assert result.stdout.rstrip().endswith("5 nodes, 0 shared")


# Every error kind of SPEC section 3: (arguments, type, line, column, first
# line of the message on stderr).
ERRORS = [
    (["2x", "x=1"], "syntax_error", 1, 2, "missing operator before a name 'x' at line 1, column 2"),
    (["(x+y", "x=1", "y=1"], "syntax_error", 1, 1, "this '(' is never closed at line 1, column 1"),
    (["sinn(x)", "x=1"], "unknown_function", 1, 1, "unknown function 'sinn' at line 1, column 1"),
    (["atan2(x)", "x=1"], "arity_error", 1, 1, "atan2() takes two arguments, but one was given"),
    (["a = 1; a = 2; a"], "name_error", 1, 8, "'a' is bound twice at line 1, column 8"),
    (["(x+y)*z", "--x", "1"], "missing_value", None, None, "missing a value for y and z"),
    (["x", "x=1", "y=2"], "unknown_input", None, None, "y is not an input of this expression"),
    (["x", "x=abc"], "invalid_value", None, None, "the value of x is not a number: 'abc'"),
    (["x", "x=1", "--x", "2"], "duplicate_value", None, None, "a value for x is given twice"),
    (["x", "x=1", "--wrt", "q"], "unknown_input", None, None, "cannot differentiate with respect"),
    (["x", "x=1", "stray"], "usage_error", None, None, "unexpected argument 'stray'"),
    (["x", "--x"], "usage_error", None, None, "--x needs a value"),
    (["@/nonexistent/p.cg"], "file_error", None, None, "cannot read /nonexistent/p.cg: no such"),
    (["@/"], "file_error", None, None, "cannot read /: it is a directory"),
    (["@/dev/zero"], "file_error", None, None, "cannot read /dev/zero: it is larger than 64 MiB"),
    (["@"], "usage_error", None, None, "'@' needs a file name"),
    (["x", "x=1", "--mode", "sideways"], "usage_error", None, None, "--mode must be reverse or"),
    (["x", "x=1", "--jsno"], "usage_error", None, None, "--jsno needs a value"),
    (["x", "--x", "--y", "2"], "usage_error", None, None, "--x needs a value"),
    (
        ["x", "x=1", "--jsno", "1"],
        "usage_error",
        None,
        None,
        "--jsno is not an option of cgrad eval",
    ),
]


@pytest.mark.parametrize(("arguments", "type", "line", "column", "message"), ERRORS)
def test_errors_exit_2_with_one_message_and_a_json_object(
    cli, arguments, type, line, column, message
):
    result = cli("eval", *arguments)
    assert result.exit_code == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"cgrad: error: {message}")
    assert "Traceback" not in result.stderr

    result = cli("eval", *arguments, "--json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert list(document) == ["error"]
    assert list(document["error"]) == ["type", "message", "line", "column"]
    assert document["error"]["type"] == type
    assert (document["error"]["line"], document["error"]["column"]) == (line, column)
    assert message.split(" at line")[0] in document["error"]["message"]


def test_caret_sits_under_the_error(cli):
    result = cli("eval", "x + y + sinn(z)", "x=1")
    assert result.stderr.splitlines()[1:] == [
        "  x + y + sinn(z)",
        "          ^^^^",
        "hint: did you mean sin, sinh or sign?",
    ]


def test_missing_values_say_how_to_pass_them(cli):
    result = cli("eval", "(x+y)*z", "--x", "1")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: missing a value for y and z\n"
        "hint: pass them as --y VALUE --z VALUE (or y=VALUE z=VALUE); "
        "cgrad diff with the same arguments gives formulas in y and z\n"
    )


def test_errors_in_a_file_name_the_file(cli, tmp_path):
    program = tmp_path / "bad.cg"
    program.write_text("a = x*2\nb = a +* 3\nb\n")
    result = cli("eval", f"@{program}", "x=1")
    assert result.stderr.splitlines()[0] == (f"cgrad: error: unexpected '*' at {program}:2:8")


def test_a_mistyped_option_gets_a_suggestion(cli):
    result = cli("eval", "x", "x=1", "--jsno")
    assert result.stderr.splitlines()[1] == "hint: did you mean the option --json?"


def test_options_after_double_dash_are_explained(cli):
    result = cli("eval", "--", "-x^2", "x=3", "--json")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: --json comes after '--', where it cannot be an option\n"
        "hint: put options before '--', as in: cgrad eval --json -- EXPR ...\n"
    )


def test_missing_value_of_an_input_named_like_an_option_points_to_var(cli):
    result = cli("eval", "json*2")
    assert result.stderr.splitlines()[1] == "hint: pass it as --var json=VALUE (or json=VALUE)"


def test_wrt_may_repeat(cli):
    result = cli("eval", "(x+y)*z", "x=1", "y=2", "z=3", "--wrt", "x", "--wrt", "z", "--json")
    assert json.loads(result.stdout)["gradient"] == {"x": 3.0, "z": 3.0}


def test_a_file_with_a_bom_and_crlf(cli, tmp_path):
    program = tmp_path / "bom.cg"
    program.write_bytes("\ufeffa = x*2\r\na + 1\r\n".encode())
    result = cli("eval", f"@{program}", "x=1", "--json")
    assert json.loads(result.stdout)["expression"] == "a = x*2\r\na + 1\r\n"
    assert json.loads(result.stdout)["value"] == 3.0


def test_a_binary_file_is_refused(cli, tmp_path):
    program = tmp_path / "binary.cg"
    program.write_bytes(b"x + \xff\xfe")
    result = cli("eval", f"@{program}", "x=1")
    assert result.exit_code == 2
    assert "is not UTF-8 text (byte 4)" in result.stderr


def test_help_shows_examples(cli):
    result = cli("eval", "--help")
    assert result.exit_code == 0
    assert 'cgrad eval "(x+y)*z" --x 1 --y 2 --z 3' in result.stdout


# ---------------------------------------------------------------------------
# The real process.


def run(*arguments: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_python_dash_m_and_the_console_script():
    assert run("eval", "(x+y)*z", "--x", "1", "--y", "2", "--z", "3", "--json").stdout == SEED_JSON
    script = Path(sys.executable).with_name("cgrad")
    if script.exists():
        completed = subprocess.run(
            [str(script), "eval", "(x+y)*z", "x=1", "y=2", "z=3", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.stdout == SEED_JSON


def test_ctrl_c_exits_130_quietly():
    # A batch on a pipe the test keeps open cannot finish first; its first
    # answer is the sign that it runs (and that our handler is installed).
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "batch", "-e", "x", "--chunk-rows", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdin.write("x\n1\n")
    process.stdin.flush()
    assert process.stdout.readline().startswith('{"row": 1')
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr == "\n"


def test_closed_pipe_exits_quietly():
    big = " + ".join(f"sin(x*{i})" for i in range(3000))
    process = subprocess.Popen(
        [sys.executable, "-m", "cgrad", "eval", big, "x=1", "--graph"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80"},
    )
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert process.returncode in (0, -signal.SIGPIPE, 128 + signal.SIGPIPE)
    assert "Traceback" not in stderr and "Error" not in stderr


def test_typer_usage_errors_speak_like_cgrad():
    completed = run("eval", "x", "x=1", "--json=yes")
    assert completed.returncode == 2
    assert completed.stderr == (
        "cgrad: error: Option '--json' does not take a value.\nhint: see 'cgrad eval --help'\n"
    )
    completed = run("frobnicate")
    assert completed.returncode == 2
    assert completed.stderr.startswith("cgrad: error: No such command 'frobnicate'.")


def test_version_and_short_help():
    assert run("--version").stdout.startswith("cgrad ")
    assert "Usage: cgrad eval" in run("eval", "-h").stdout


def test_bare_cgrad_prints_its_help_once():
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 2
    assert (completed.stdout + completed.stderr).count("Usage: cgrad") == 1


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (["eval", "tanh(x)", "x=1", "--format", "json"], "--format is not an option of cgrad eval",
         "hint: cgrad batch, cgrad diff and cgrad graph have it; "
         "an input named format takes --var format=VALUE"),
        (["graph", "tanh(x)", "--json"], "--json is not an option of cgrad graph",
         "hint: here, write --format json (cgrad check, cgrad diff, cgrad eval, cgrad fit and "
         "cgrad minimize have it); an input named json takes --var json=VALUE"),
        (["check", "tanh(x)", "x=1", "--steps"], "--steps is not an option of cgrad check",
         "hint: cgrad diff, cgrad eval and cgrad minimize have it; an input named steps takes "
         "--var steps=VALUE"),
    ],
)  # fmt: skip
def test_an_option_of_another_command_is_named_as_such(cli, arguments, message, hint):
    result = cli(*arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"cgrad: error: {message}", hint]


def test_an_input_named_like_another_commands_option_still_works(cli):
    result = cli("eval", "format*x", "--format", "2", "x=3", "--json")
    assert json.loads(result.stdout)["value"] == 6.0


def test_long_lists_of_names_are_cut_short(cli):
    program = "+".join(f"x{i}" for i in range(3000))
    result = cli("eval", program)
    assert result.stderr.splitlines() == [
        "cgrad: error: missing a value for x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 and 2,990 more",
        "hint: pass each as --NAME VALUE (or NAME=VALUE), or read them from a file with batch",
    ]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("x − y", "hint: that is a typographic minus sign: write -"),
        ("2·x", "hint: to multiply, write *"),
        ("2×x", "hint: to multiply, write *"),
        ("√x", "hint: write sqrt(x)"),
        ("|x|", "hint: for the absolute value, write abs(x)"),
    ],
)
def test_typographic_symbols_get_a_hint(cli, text, hint):
    result = cli("eval", text, "x=1", "y=2")
    assert result.exit_code == 2 and result.stderr.splitlines()[-1] == hint


def test_hessian_entries_that_are_not_finite_come_with_a_warning(cli):
    document = json.loads(cli("eval", "sqrt(x)*y", "x=0", "y=2", "--hessian", "--json").stdout)
    assert document["hessian"]["x"] == {"x": "-Infinity", "y": "Infinity"}
    [_, warning] = document["warnings"]  # (the first: sqrt's kink)
    # The 1/sqrt(x) of sqrt's derivative rule, pointed at in the user's program.
    assert warning["message"] == (
        "in the second derivatives, the derivative rule of `sqrt(x)` (node @1, line 1, column 1) "
        "is Infinity: 1 / 0 = Infinity"
    )
    assert (warning["node"], warning["line"], warning["column"]) == (1, 1, 1)


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_source():
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "-h"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert "one output record per input record, in order." in completed.stdout


def _modules_imported(*arguments: str) -> set[str]:
    """The modules loaded by a whole run of the console script's main()."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(*sys.modules, sep='\\n', file=sys.stderr))\n"
        f"sys.argv = ['cgrad', *{list(arguments)!r}]\n"
        "from cgrad.cli import main\n"
        "main()\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    return set(completed.stderr.split())


def test_a_run_imports_only_what_its_command_needs():
    # A cold start is mostly imports (bench/run.py, W4): JSON output draws
    # nothing, so Rich must not load, nor the modules of other commands.
    modules = _modules_imported("eval", "(x+y)*z", "x=1", "y=2", "z=3", "--json")
    assert "cgrad.cli.quick_eval" in modules  # eval --json, the quick road
    unneeded = {
        "rich",
        "lark",
        "pydantic",
        "importlib.metadata",
        "cgrad.views.terminal_tree",
        "cgrad.views.terminal_reports",
        "cgrad.explain",
        "cgrad.cli.batch_command",
        "cgrad.cli.check_command",
        "cgrad.batch.blocks",
        "cgrad.check.checker",
        "cgrad.descent",
    }
    assert not unneeded & modules
    # Text output does need Rich.
    assert "rich" in _modules_imported("eval", "(x+y)*z", "x=1", "y=2", "z=3")


def test_a_real_run_names_the_command_an_option_belongs_to():
    # The console script loads only the command it runs; the hint still
    # knows the options of the others.
    completed = run("eval", "tanh(x)", "x=1", "--format", "json")
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [
        "cgrad: error: --format is not an option of cgrad eval",
        "hint: cgrad batch, cgrad diff and cgrad graph have it; an input named format takes "
        "--var format=VALUE",
    ]


def test_commands_are_loaded_from_the_fixed_table_only():
    from cgrad.cli.application import load_commands

    with pytest.raises(KeyError):
        load_commands(["os"])


# ---------------------------------------------------------------------------
# Values on the command line: exact, and checked in linear time.


@pytest.mark.parametrize(
    ("arguments", "message", "hint"),
    [
        (
            ["eval", "x^2", "--x", " 1"],
            "the value of x is not a number: ' 1'",
            "a value is a decimal number as Python writes it, without spaces: write '1'",
        ),
        (
            ["eval", "x^2", "x=1 "],
            "the value of x is not a number: '1 '",
            "a value is a decimal number as Python writes it, without spaces: write '1'",
        ),
        (
            ["eval", "x*y", "x=1", "y=2", "--wrt", ""],
            "--wrt '' names no input",
            "write --wrt x or --wrt x,y; leave --wrt out for every partial derivative",
        ),
        (
            ["diff", "x*y", "--wrt", " , "],
            "--wrt ' , ' names no input",
            "write --wrt x or --wrt x,y; leave --wrt out for every partial derivative",
        ),
        (
            ["eval", "--bogus", "x", "x=1"],
            "--bogus is not an option of cgrad eval: it took 'x' as the value of an input "
            "named bogus, and no expression is left",
            "see 'cgrad eval --help' for the options; an input named bogus takes a number, "
            "as in --bogus 2",
        ),
        (
            ["eval", "--jsn", "x", "x=1"],
            "--jsn is not an option of cgrad eval: it took 'x' as the value of an input "
            "named jsn, and no expression is left",
            "did you mean the option --json?",
        ),
        (
            ["eval", "\u0445^2", "x=1"],
            "x is not an input of this expression",
            "the input \u0445 looks like x but is another name: \u0445 is U+0445 CYRILLIC "
            "SMALL LETTER HA, x is U+0078 LATIN SMALL LETTER X",
        ),
        (
            ["eval", "x + \u0445", "x=1"],
            "missing a value for \u0445",
            "the input \u0445 looks like x but is another name: \u0445 is U+0445 CYRILLIC "
            "SMALL LETTER HA, x is U+0078 LATIN SMALL LETTER X; pass it as --\u0445 VALUE "
            "(or \u0445=VALUE); cgrad diff with the same arguments gives formulas in \u0445",
        ),
        (
            ["eval", "\u03b1x + 1", "ax=1"],
            "ax is not an input of this expression",
            "the input \u03b1x looks like ax but is another name: \u03b1 is U+03B1 GREEK "
            "SMALL LETTER ALPHA, a is U+0061 LATIN SMALL LETTER A",
        ),
        (
            ["eval", "\uff58 + x", "x=1"],
            "missing a value for \uff58",
            "the input \uff58 looks like x but is another name: \uff58 is U+FF58 FULLWIDTH "
            "LATIN SMALL LETTER X, x is U+0078 LATIN SMALL LETTER X; pass it as --\uff58 VALUE "
            "(or \uff58=VALUE); cgrad diff with the same arguments gives formulas in \uff58",
        ),
        (
            ["eval", "\ufb01 + 1", "fi=1"],
            "fi is not an input of this expression",
            "the input \ufb01 looks like fi but is another name: \ufb01 is U+FB01 LATIN SMALL "
            "LIGATURE FI",
        ),
        (
            ["diff", "x^2", "--wrt", "\u0445"],
            "cannot differentiate with respect to \u0445: it is not an input",
            "the input x looks like \u0445 but is another name: x is U+0078 LATIN SMALL "
            "LETTER X, \u0445 is U+0445 CYRILLIC SMALL LETTER HA",
        ),
        (
            ["eval", "x^2", "x=1", "--wrt", "\u0445"],
            "cannot differentiate with respect to \u0445: it is not an input",
            "the input x looks like \u0445 but is another name: x is U+0078 LATIN SMALL "
            "LETTER X, \u0445 is U+0445 CYRILLIC SMALL LETTER HA",
        ),
    ],
)
def test_values_and_names_that_are_not_what_they_seem(cli, arguments, message, hint):
    result = cli(*arguments)
    assert result.exit_code == 2
    assert result.stderr == f"cgrad: error: {message}\nhint: {hint}\n"


def test_a_value_without_spaces_and_a_name_that_merely_resembles_are_fine(cli):
    assert cli("eval", "x + \u0445", "x=1", "\u0445=2", "--json").exit_code == 0
    assert cli("eval", "x+y", "--x", "-1.5e3", "y=.5", "--wrt", "x,").exit_code == 0


class _CountedName(str):
    """A name that counts how often it is compared: a tuple scan compares
    it with every input, a set or dict lookup about once."""

    comparisons = 0
    __hash__ = str.__hash__

    def __eq__(self, other):
        _CountedName.comparisons += 1
        return str.__eq__(self, other)


def _comparisons_to_check(count: int) -> int:
    from cgrad.cli import arguments

    names = [f"x{i}" for i in range(count)]
    function = cgrad.compile("+".join(names))
    line = arguments.CommandLine(values=[(_CountedName(name), "1") for name in names])
    _CountedName.comparisons = 0
    values = arguments.input_values(function, line, ["--json", "--wrt"])
    assert len(values) == count
    return _CountedName.comparisons


def test_checking_the_values_is_linear_in_their_number(monkeypatch):
    import difflib

    calls = []
    monkeypatch.setattr(difflib, "get_close_matches", lambda *a, **k: calls.append(a) or [])
    small, large = _comparisons_to_check(1_000), _comparisons_to_check(4_000)
    # Linear: four times the names, about four times the comparisons (a
    # scan of the inputs per value would make it sixteen).
    assert large <= 6 * max(small, 1)
    assert large <= 10 * 4_000
    assert calls == []  # no "did you mean" lookups for names that are inputs


def _comparisons_to_refuse(count: int, calls: list) -> int:
    from cgrad.cli import arguments

    function = cgrad.compile("+".join(f"x{i}" for i in range(count)))
    line = arguments.CommandLine(values=[(_CountedName(f"y{i}"), "1") for i in range(count)])
    _CountedName.comparisons = 0
    calls.clear()
    with pytest.raises(cgrad.CgradError, match=r"^y0, y1, .* are not inputs of this expression"):
        arguments.input_values(function, line, ["--json", "--wrt"])
    return _CountedName.comparisons


def test_refusing_names_that_are_not_inputs_is_linear_too(monkeypatch):
    import difflib

    calls = []
    monkeypatch.setattr(difflib, "get_close_matches", lambda *a, **k: calls.append(a) or [])
    small = _comparisons_to_refuse(1_000, calls)
    large = _comparisons_to_refuse(4_000, calls)
    assert large <= 6 * max(small, 1)
    assert large <= 10 * 4_000
    assert len(calls) <= 10  # "did you mean" for the first few wrong names only


def _comparisons_to_choose_partials(count: int) -> tuple[int, int]:
    from cgrad.cli import batch_files

    names = [f"x{i}" for i in range(count)]
    function = cgrad.compile("+".join(names))
    wrt = [_CountedName(name) for name in names]
    _CountedName.comparisons = 0
    function.check_wrt(wrt)  # what diff, eval, check and minimize run on --wrt
    checked = _CountedName.comparisons
    _CountedName.comparisons = 0
    assert batch_files._partials(function, wrt) == tuple(names)
    return checked, _CountedName.comparisons


def test_checking_wrt_names_is_linear_in_their_number():
    # A tuple scan per --wrt name made diff --wrt over 80,000 inputs take
    # twelve times as long as over 20,000.
    small, large = _comparisons_to_choose_partials(1_000), _comparisons_to_choose_partials(4_000)
    for before, after in zip(small, large, strict=True):
        assert after <= 6 * max(before, 1)
        assert after <= 10 * 4_000


def test_hints_that_list_inputs_stay_short(cli):
    # They listed every input: hundreds of kilobytes for a wide program.
    program = "+".join(f"x{i}" for i in range(20_000))
    result = cli("diff", program, "--wrt", "zz")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: cannot differentiate with respect to zz: it is not an input\n"
        "hint: the inputs are x0, x1, x2, x3, x4, x5, x6, x7, x8, x9 and 19,990 more\n"
    )
    result = cli("graph", program, "--paths", "x1")
    assert result.exit_code == 2
    assert result.stderr == (
        "cgrad: error: --paths needs a point: a value for every input\n"
        "hint: for example: x0=1 x1=1 x2=1 x3=1 x4=1 x5=1 x6=1 x7=1 x8=1 x9=1 ...\n"
    )
    result = cli("graph", "x*y", "--paths", "x")
    assert result.stderr.endswith("\nhint: for example: x=1 y=1\n")


def test_stdin_is_called_standard_input_in_errors():
    # It was called "-": "cannot read -: it is not UTF-8 text".
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", "eval", "@-", "x=1"],
        input=b"x\xff",
        capture_output=True,
        timeout=60,
    )
    assert completed.returncode == 2
    assert completed.stdout == b""
    assert completed.stderr == (
        b"cgrad: error: cannot read standard input: it is not UTF-8 text (byte 1)\n"
    )


# ---------------------------------------------------------------------------
# The environment: which streams are terminals, asked in one place and
# given by tests.


def _terminals(stdin: bool = False, stdout: bool = False, stderr: bool = False):
    from cgrad.cli.environment import Environment, given

    return given(Environment(stdin, stdout, stderr))


def test_batch_writes_a_table_to_a_terminal_and_ndjson_to_a_pipe(cli):
    with _terminals(stdout=True):
        table = cli("batch", "-e", "x*y", input="x,y\n2,3\n")
    piped = cli("batch", "-e", "x*y", input="x,y\n2,3\n")
    assert table.exit_code == piped.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "row",
        "x",
        "y",
        "value",
        "∂/∂x",
        "∂/∂y",
        "note",
    ]
    assert piped.stdout.startswith('{"row": 1, ')


def test_nothing_waits_for_a_person_to_type_at_a_terminal(cli):
    with _terminals(stdin=True):
        batch = cli("batch", "-e", "x")
        program = cli("eval", "@-", "x=1")
    assert batch.exit_code == program.exit_code == 2
    assert batch.stderr.startswith("cgrad: error: no input: give a file, or pipe records in\n")
    assert program.stderr.startswith(
        "cgrad: error: @- reads the program from standard input, which is a terminal\n"
    )


def test_every_command_is_run_inside_the_one_error_ladder():
    # A command registered another way would let a traceback through.
    from cgrad.cli.application import load_commands

    for registered in load_commands().registered_commands:
        assert registered.callback.__wrapped__ is not None, registered.name


def test_a_signal_while_the_app_is_loaded_ends_the_run_as_any_other(monkeypatch, capsys):
    # Signals are caught from the first line of main(); one that lands while
    # the commands are still being imported, before the error ladder is in
    # place, must still end the run quietly with 128 + its number.
    import importlib

    from cgrad.cli.signals import Interrupted

    console = importlib.import_module("cgrad.cli.main")  # (the module, not its function)

    def interrupted_while_loading() -> int:
        raise Interrupted(signal.SIGTERM)

    monkeypatch.setattr(console, "_run_app", interrupted_while_loading)
    monkeypatch.setattr(sys, "argv", ["cgrad", "batch", "points.csv", "-e", "x"])
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # (main wraps it: put back after)
    # main() sets this process's signal handlers, SIGPIPE's to end it: put
    # back after, or a later test's write to a closed pipe ends pytest.
    handlers = {number: signal.getsignal(number) for number in signal.valid_signals()}
    try:
        with pytest.raises(SystemExit) as stopped:
            console.main()
    finally:
        for number, handler in handlers.items():
            if handler is not None:
                with contextlib.suppress(OSError, ValueError):
                    signal.signal(number, handler)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "\n"


@pytest.mark.parametrize("command", ["eval", "batch", "graph", "diff", "check", "minimize", "fit"])
def test_help_examples_fit_an_80_column_terminal_whole(command):
    # Help is drawn 76 columns wide inside its panel on an 80-column
    # terminal: a longer example was folded, and its first line pasted
    # alone failed. A long one goes on after a backslash, as a shell reads it.
    import importlib
    import re

    module = importlib.import_module(f"cgrad.cli.{command}_command")
    lines = [re.sub(r"\[/?[a-z ]+\]", "", line) for line in module.EXAMPLES.splitlines()]
    assert [line for line in lines if len(line) > 76] == []
