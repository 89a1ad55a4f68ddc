"""One test per row of the "What cgrad does with bad input" table (docs/bad-input.md):
the message and the exit code, through the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cgrad.parse import parser

PAGE = Path(__file__).resolve().parents[1] / "docs" / "bad-input.md"
README = PAGE.read_text(encoding="utf-8")

# (the README's first cell, the command line, stdin, exit code, what stderr
# or stdout says). A {tmp} in an argument is a fresh directory.
ROWS = [
    ("`3x + 1`", ["eval", "3x + 1"], None, 2,
     "missing operator before a name 'x' at line 1, column 2"),
    ("`sinn(x)`", ["eval", "sinn(x)", "x=1"], None, 2, "unknown function 'sinn'"),
    ("`atan2(x)`", ["eval", "atan2(x)", "x=1"], None, 2,
     "atan2() takes two arguments, but one was given"),
    ("`__import__('os').system('ls')`", ["eval", "__import__('os').system('ls')"], None, 2,
     "unexpected character"),
    ("a NUL or control character", ["eval", "x +\x01 1", "x=1"], None, 2,
     "unexpected character U+0001"),
    ("a missing value", ["eval", "x*y", "x=1"], None, 2, "missing a value for y"),
    ("a sum continued on the next line, outside parentheses", ["eval", "x*y\n+ x", "x=1", "y=2"],
     None, 2, "only the last statement may be an expression (the output)"),
    ("a value for a name that is not an input", ["eval", "x", "x=1", "q=2"], None, 2,
     "q is not an input of this expression"),
    ("`x=abc`", ["eval", "x", "x=abc"], None, 2, "the value of x is not a number: 'abc'"),
    ("a value given twice", ["eval", "x", "x=1", "x=2"], None, 2,
     "a value for x is given twice"),
    ("`@missing.cg`", ["eval", "@{tmp}/missing.cg"], None, 2, "missing.cg: no such file"),
    ("`@` a directory", ["eval", "@{tmp}"], None, 2, "it is a directory"),
    ("a program that is not UTF-8", ["eval", "@-"], b"x\xff", 2, "it is not UTF-8 text"),
    ("a program over 8 MiB", ["eval", "@-"], b"x+" * (4 * 2**20 + 1) + b"x", 2,
     "the program is longer than 8 MiB characters"),
    ("nesting over 100,000 deep", ["eval", "@-"], b"(" * 100_001 + b"x" + b")" * 100_001, 2,
     "the program nests more than 100,000 deep"),
    ("over 3,000,000 tokens", ["eval", "@-"], b"x+" * 40 + b"x", 2,
     "the program has more than 3,000,000 tokens"),
    ("`1e999`, `exp(1000)`, `9^9^9^9`", ["eval", "1e999 + exp(1000) + 9^9^9^9"], None, 0,
     "is too large for float64 and becomes Infinity"),
    ("`0/0`", ["eval", "0/0"], None, 0, "is NaN: 0 / 0 = NaN"),
    ("`log(x)` at `x=0`", ["eval", "log(x)", "x=0"], None, 0, "log(0) = -Infinity"),
    ("`1e-400`", ["eval", "1e-400 + x", "x=1"], None, 0,
     "is too small for float64 and becomes 0"),
    ("`sin^2(x)`", ["eval", "sin^2(x)", "x=1"], None, 2,
     "hint: for a power of sin, write sin(x)^2"),
    ("`d/dx x^2`", ["eval", "d/dx x^2"], None, 2,
     'hint: cgrad has no d/dx notation; for the derivative, run: cgrad diff "x^2" --wrt x'),
    ("`sin(x)cos(x)`", ["eval", "sin(x)cos(x)", "x=1"], None, 2,
     "hint: to multiply, write sin(x)*cos(x)"),
    ("a value with spaces (`--x ' 1'`)", ["eval", "x", "--x", " 1"], None, 2,
     "the value of x is not a number: ' 1'"),
    ("`--wrt ''`", ["eval", "x", "x=1", "--wrt", ""], None, 2, "--wrt '' names no input"),
    ("an unknown option that takes the expression (`eval --bogus x x=1`)",
     ["eval", "--bogus", "x", "x=1"], None, 2,
     "--bogus is not an option of cgrad eval: it took 'x' as the value of an input named "
     "bogus, and no expression is left"),
    ("`2*π*r`", ["eval", "2*\u03c0*r", "r=1"], None, 2,
     "\u03c0 is not a name in cgrad: the constant is written pi at line 1, column 3"),
    ("a mistyped option (`diff \"x^2\" --formt latex`)", ["diff", "x^2", "--formt", "latex"],
     None, 2, "--formt is not an option of cgrad diff, and formt is not an input\n"
     "hint: did you mean the option --format?"),
    ("another command's short option (`diff \"x*y\" -f latex`)", ["diff", "x*y", "-f", "latex"],
     None, 2, "-f is not an option of cgrad diff\nhint: did you mean the option --format? "
     "(-f is short for it in cgrad graph only)"),
    ("a Cyrillic `х` where `x` was meant", ["eval", "\u0445^2", "x=1"], None, 2,
     "hint: the input \u0445 looks like x but is another name: \u0445 is U+0445 CYRILLIC "
     "SMALL LETTER HA, x is U+0078 LATIN SMALL LETTER X"),
    ("`--trace` the program itself", ["minimize", "@{tmp}/prog.cg", "x=1", "--trace",
     "{tmp}/prog.cg"], None, 2, "would replace the program"),
    ("an output over a file read (`fit -o` the model, `--html` the data or `--validation` file, "
     "`batch -o` the `--params` file)",
     ["fit", "@{tmp}/prog.cg", "{tmp}/points.json", "--target", "x", "-o", "{tmp}/prog.cg"],
     None, 2, "/prog.cg would replace the program"),
    ("two outputs to one file (`--trace t --html t`, by any path)",
     ["minimize", "x^2", "x=1", "--trace", "{tmp}/t", "--html", "{tmp}/./t"], None, 2,
     "/t are the same file: one would replace the other"),
    ("an empty file name (`--trace ''`, `--html ''`, `-o ''`)",
     ["minimize", "x^2", "x=1", "--trace", ""], None, 2, "--trace '' names no file"),
    ("`fit @- -` (the model and the data both from standard input)",
     ["fit", "@-", "-", "--target", "y"], b"x\n", 2,
     "MODEL @- and DATA - would both be read from standard input"),
    ("`check --random 99999999999999999999`",
     ["check", "x^2", "x=1", "--random", "99999999999999999999"], None, 2,
     "--random must be at most 100000, not 99999999999999999999"),
    ('`check "1/x" x=1e-10` (a pole 1e-10 away)', ["check", "1/x", "x=1e-10", "--json"], None, 0,
     '"ok": true, "verdict": "ok"}}, "ok": true'),
    ('`check "abs(sin(x))" x=3.141592653589793`', ["check", "abs(sin(x))", "x=3.141592653589793"],
     None, 0, "a kink, pole or domain edge is about 1.2e-16 away from x = 3.141592653589793"),
    ("`minimize --method adam -- '-exp(x^2)' x=1`",
     ["minimize", "--method", "adam", "--", "-exp(x^2)", "x=1"], None, 1,
     "diverged at step 259: Adam's mean squared gradient overflowed in x"),
    ('`eval "max(x,y)*x" x=1 y=1 --hessian`', ["eval", "max(x,y)*x", "x=1", "y=1", "--hessian"],
     None, 0, "warning: in the second derivatives, the derivative rule of `max(x,y)` (node @2, "
     "line 1, column 1) is at a kink"),
    ("batch: a field that is not a number", ["batch", "-e", "x"], b"x\n1\nabc\n", 1,
     '"row": 2, "error": {"type": "invalid_value", "message": "the value of x is not a number'),
    ("batch: a row with too few or too many fields", ["batch", "-e", "x"], b"x,y\n1,2\n3\n", 1,
     "line 3: expected 2 fields, found 1"),
    ("batch: invalid UTF-8 in a row", ["batch", "-e", "x"], b"x\n1\n\xff\n", 1,
     "line 3: not valid UTF-8"),
    ("batch: a line that is not JSON", ["batch", "-e", "x", "--input-format", "ndjson"],
     b'{"x": 1}\n{"x": \n', 1, "line 2: invalid JSON"),
    ("batch: a truncated last line, CRLF, a BOM", ["batch", "-e", "x", "--format", "csv"],
     b"\xef\xbb\xbfx\r\n1\r\n2", 0, "2,2.0,2.0,1.0,,"),
    ("batch: an integer of more than 4,300 digits in JSON",
     ["batch", "-e", "x", "--input-format", "ndjson"], b'{"x": 1}\n{"x": ' + b"9" * 4400 + b"}\n",
     1, "line 2: a number has more than 4300 digits"),
    ("batch: an integer beyond float64 (about 400 digits)",
     ["batch", "-e", "x", "--input-format", "ndjson"], b'{"x": 1' + b"0" * 400 + b"}\n", 0,
     '"inputs": {"x": "Infinity"}, "value": "Infinity"'),
    ('batch: `3,"4"5` (text after a closing quote)', ["batch", "-e", "x*y"],
     b'x,y\n1,2\n3,"4"5\n', 1, "line 3: a closing quote is followed by more text in its field"),
    ("batch: a quote never closed", ["batch", "-e", "x*y"], b'x,y\n1,"2\n3,4\n5,6\n', 1,
     "lines 2 to 4: a quote that is never closed takes in the lines after it"),
    ("batch: a line, a quoted CSV field or a JSON-array element over 16 MiB", ["batch", "-e", "x"],
     b"x\n1\n" + b"1" * (16 * 2**20 + 1) + b"\n2\n", 1, "line 3: the line is longer than 16 MiB"),
    ("batch: one unending line (`/dev/zero`)",
     ["batch", "/dev/zero", "--input-format", "ndjson", "-e", "x"], None, 1,
     "no end in the first 256 MiB of the line; the rest of the input was not read"),
    ("batch: a JSON record nested about 1,000 deep",
     ["batch", "-e", "x", "--input-format", "ndjson"],
     b'{"x": 1}\n{"x": 1, "n": ' + b"[" * 1000 + b"]" * 1000 + b'}\n{"x": 2}\n', 1,
     'line 2: nested too deeply"}}\n{"row": 3'),
    ("batch: an invalid element in a JSON array", ["batch", "-e", "x", "--input-format", "json"],
     b'[{"x": 1}, {"x": }, {"x": 2}]', 1,
     'element 2: invalid JSON (Expecting value)"}}\n{"row": 3'),
    ("batch: `--chunk-rows 99999999999999999999`",
     ["batch", "-e", "x", "--chunk-rows", "99999999999999999999"], b"x\n1\n", 2,
     "--chunk-rows must be at most 1000000"),
    ('batch: a JSON record that names a key twice (`{"x": 2, "x": 5}`)',
     ["batch", "-e", "x", "--input-format", "ndjson"], b'{"x": 1}\n{"x": 2, "x": 5}\n', 1,
     'line 2: the key \\"x\\" appears more than once'),
    ("batch: NDJSON in a `.json` file", ["batch", "{tmp}/points.json", "-e", "x"], None, 0,
     '{"row": 2, "inputs": {"x": 2.0}'),
    ("batch: a file that is not what its name or `--input-format` says",
     ["batch", "{tmp}/points.json", "-e", "x", "--input-format", "parquet"], None, 2,
     "points.json is not a Parquet file: it looks like text"),
    ("batch: `-o` with an extension cgrad does not know",
     ["batch", "-e", "x", "-o", "{tmp}/out.txt"], b"x\n1\n", 2,
     "cannot tell the format of"),
    ("batch: an empty input", ["batch", "-e", "x"], b"", 2, "the input is empty"),
    ("batch: a CSV header and no rows", ["batch", "-e", "x", "--format", "csv"], b"x\n", 0,
     "row,x,value,grad_x,error,warnings"),
    ("batch: `-o` into a missing directory", ["batch", "-e", "x", "-o", "{tmp}/no/out.csv"],
     b"x\n1\n", 2, "cannot write"),
    ("batch: `-o` a directory", ["batch", "-e", "x", "-o", "{tmp}"], b"x\n1\n", 2,
     "it is a directory"),
    ("a full disk", ["batch", "-e", "x", "-o", "/dev/full"], b"x\n1\n", 1,
     "input/output failed on -o /dev/full: No space left on device"),
]  # fmt: skip


def test_every_row_of_the_readme_table_is_tested():
    section = README.split("## What cgrad does with bad input", 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    documented = [line.split(" | ")[0].removeprefix("| ") for line in rows]
    # These are tested in test_streams.py (fit's closed stdin in
    # test_output_clashes.py), test_cli.py, test_output_files.py and
    # test_stdout_robustness.py: they need a process whose streams, signals
    # or environment the test controls; the endless copy in
    # test_batch_stdin_copy.py (a small tmpfs) and the huge names in
    # test_error_bounds.py (inputs of megabytes).
    tested = [row[0] for row in ROWS] + [
        "batch: an endless Parquet on standard input (`(printf PAR1; cat /dev/zero) \\| cgrad "
        "batch`), or `fit -` of endless data",
        "a huge name, number, value, cell or file name (`x + aaa…(4 MB)…a`)",
        "a closed standard input (`<&-`) for `@-`, `batch` or `fit`",
        "a closed or full standard output (`>&-`, `> /dev/full`)",
        "a disk that fills up under `PYTHONUNBUFFERED=1`",
        "`COLUMNS=0` (or negative, or over 10,000)",
        "an output encoding without `θ` (`PYTHONIOENCODING=ascii`, a Latin-1 locale)",
        "an escape code in a comment (`# ESC[31m`)",
        "a usage error with `--json` (`eval x x=1 --json --wrt`)",
        "a closed pipe",
        "Ctrl-C, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU",
    ]
    assert documented == tested


@pytest.mark.parametrize(
    ("row", "arguments", "stdin", "status", "says"), ROWS, ids=[row[0] for row in ROWS]
)
def test_bad_input(row, arguments, stdin, status, says, tmp_path, monkeypatch):
    import subprocess
    import sys

    if "tokens" in row:
        # The real limit takes a minute of parsing to reach: a small one
        # shows the same path.
        monkeypatch.setattr(parser, "MAX_TOKENS", 40)
        from typer.testing import CliRunner

        from cgrad.cli import app

        result = CliRunner().invoke(app, arguments, input=stdin)
        assert result.exit_code == status
        assert says.replace("3,000,000", "40") in result.stderr
        return
    (tmp_path / "prog.cg").write_text("x^2\n")
    (tmp_path / "points.json").write_text('{"x": 1}\n{"x": 2}\n')
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    completed = subprocess.run(
        [sys.executable, "-m", "cgrad", *arguments],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=120,
    )
    output = completed.stdout.decode() + completed.stderr.decode()
    assert completed.returncode == status, output
    assert says in output
    assert "Traceback" not in output
    assert re.search(r"\bcgrad: error: .*internal", output) is None
    # Nothing a refused command names is changed (the --trace row's program).
    assert (tmp_path / "prog.cg").read_text() == "x^2\n"


def test_the_source_never_runs_what_it_reads():
    """No eval, exec or builtin compile, no pickle.loads, no import by a
    computed name, anywhere in cgrad (cgrad's own ``compile`` is allowed)."""
    import ast

    source = Path(__file__).resolve().parents[1] / "src" / "cgrad"
    # pickle and marshal may not even be imported (below).
    forbidden_calls = {"eval", "exec", "__import__", "import_module"}
    for path in sorted(source.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        # cgrad's own compile, imported from within the package.
        defined |= {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level > 0
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [alias.name for alias in node.names] + [getattr(node, "module", "")]
                assert not {"pickle", "marshal", "shelve", "dill"} & set(names), path
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
            # codegen.py is the one place that runs code, its own (see there,
            # and test_codegen.py, which holds that code to its alphabet).
            if path.name == "codegen.py" and name in ("exec", "compile"):
                continue
            # application.py imports a command's module by its name in the
            # fixed table COMMAND_MODULES (test_cli pins that it takes
            # nothing else).
            if path.name == "application.py" and name == "import_module":
                continue
            assert name not in forbidden_calls, f"{path}:{node.lineno}: {name}()"
            if name == "compile" and isinstance(function, ast.Name):
                assert "compile" in defined, f"{path}:{node.lineno}: builtin compile()"
