"""The mutation check: does the test suite catch small wrong changes?

Each mutation is one small mistake someone could make (a wrong derivative
rule, a false kink, the fan-out sum dropped, the guard before exec removed,
CSV quoting without '"', the output written in place), written as a
(file, exact old text, new text) triple with the test files that ought to
catch it. For each mutation in turn the script puts the new text in place of
the old in a temporary copy of the checkout, runs ``pytest -x -q`` on those
test files there, and puts the old text back. It reports

    killed    a test failed (named, and checked to pass without the mutation)
    survived  every test passed: the suite cannot tell the mistake apart
    stale     the old text is not in the file exactly once: the code moved,
              so the triple must be written anew against it
    broken    the test that failed fails without the mutation too

and exits 1 if any mutation is not killed.

    python tools/mutation.py                # every mutation
    python tools/mutation.py --list         # their names, files and tests
    python tools/mutation.py --only cos-rule,binding-clash
    python tools/mutation.py --only false-power-kink --tests tests/test_oracle.py

Why a temporary copy: other people run the tests in this checkout, and an
interrupted run must not leave a mutated file behind. The copy's ``src`` comes
first on PYTHONPATH, so the installed (editable) cgrad is not the one tested;
the script checks that. Hypothesis runs derandomized, without its example
database and without shrinking (see PLUGIN): the same code gives the same
verdict every run, no run replays another mutation's failures, and a
property test that catches a mutation says so at once.

The script lives in tools/, not tests/ or bench/: it is neither a test that
pytest should collect (it runs pytest) nor a benchmark (it measures the
tests, not cgrad). It needs nothing beyond the standard library and the
test extra that the suite itself needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Not copied: environments, caches, and the repository itself.
IGNORED = (".git", ".venv", "venv", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache",
           "*.egg-info", "build", "dist")  # fmt: skip

# Per mutation, at most this long: a mutation that makes the tests hang is
# caught (a hang is a failure), but the run must end.
TIMEOUT = 600

OPS = "src/cgrad/ops.py"
PASSES = "src/cgrad/autodiff/passes.py"
ELEMENTARY = "src/cgrad/elementary.py"
NAMESPACES = "src/cgrad/namespaces.py"
NODES = "src/cgrad/symbolic/nodes.py"
PRINTED = "src/cgrad/symbolic/printed.py"
CODEGEN = "src/cgrad/autodiff/codegen.py"
SYMBOLIC = "src/cgrad/symbolic/formulas.py"

# Fast, exact tests first: -x stops at the first failure, so a mutation they
# catch costs seconds; the property tests (hypothesis) come after.
RULE_TESTS = ("tests/test_ops.py", "tests/test_engine.py", "tests/test_oracle.py")
KINK_TESTS = ("tests/test_engine.py", "tests/test_ops.py", "tests/test_oracle.py")
CODEGEN_TESTS = ("tests/test_codegen.py",)
SYMBOLIC_TESTS = ("tests/test_symbolic.py",)
WRITER_TESTS = (
    "tests/test_numbers.py",
    "tests/test_batch_hostile.py",
    "tests/test_batch.py",
    "tests/test_bad_input.py",
)
FILE_TESTS = (
    "tests/test_output_files.py",
    "tests/test_batch.py",
    "tests/test_bad_input.py",
    "tests/test_cli.py",
)
CHECK_TESTS = ("tests/test_check.py",)
PRECISION_TESTS = ("tests/test_precision.py",)


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One small wrong change: ``old`` (which must occur exactly once in
    ``file``) replaced by ``new``, and the test files that should notice."""

    name: str
    what: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    # The op table.
    Mutation(
        "cos-rule",
        "a wrong derivative rule: cos' = sin",
        OPS,
        'Op("cos", 1, np.cos, (lambda m, out, a: -m.sin(a),)',
        'Op("cos", 1, np.cos, (lambda m, out, a: m.sin(a),)',
        RULE_TESTS,
    ),
    Mutation(
        "div-rule",
        "a wrong derivative rule: d(a/b)/db = a/b^2",
        OPS,
        "(lambda m, out, a, b: 1.0 / b, lambda m, out, a, b: -out / b),",
        "(lambda m, out, a, b: 1.0 / b, lambda m, out, a, b: out / b),",
        RULE_TESTS,
    ),
    Mutation(
        "abs-convention",
        "a wrong kink convention: abs'(0) = 1",
        OPS,
        'Op("abs", 1, np.abs, (lambda m, out, a: m.sign(a),)',
        'Op("abs", 1, np.abs, (lambda m, out, a: m.where(m.equal(a, 0.0), 1.0, m.sign(a)),)',
        KINK_TESTS,
    ),
    Mutation(
        "tie-convention",
        "a wrong kink convention: every tied argument of min/max gets slope 1",
        NAMESPACES,
        "    return hits[index] / reduce(np.add, hits)",
        "    return hits[index]",
        KINK_TESTS,
    ),
    Mutation(
        "false-power-kink",
        "a false kink: x^1 and x^1.5 said to have one at 0",
        ELEMENTARY,
        "below_one = m.less(b, 1.0) & (m.less(b, 0.0) | m.less(0.0, b))",
        "below_one = m.less(b, 2.0) & (m.less(b, 0.0) | m.less(0.0, b))",
        KINK_TESTS,
    ),
    Mutation(
        "missed-kink",
        "a kink missed: abs, sqrt, relu... at 0 not reported",
        ELEMENTARY,
        "def at_zero(m, out, a):\n    return m.equal(a, 0.0)",
        "def at_zero(m, out, a):\n    return m.equal(a, 1e300)",
        KINK_TESTS,
    ),
    # The passes.
    Mutation(
        "fan-out",
        "backward: a node used twice keeps one path's adjoint, not their sum",
        PASSES,
        "adjoints[operand] = contribution if pending is None else pending + contribution",
        "adjoints[operand] = contribution",
        ("tests/test_engine.py", "tests/test_oracle.py"),
    ),
    Mutation(
        "forward-mode-sum",
        "forward mode: an op's tangent from its last argument only",
        OPS,
        "total = term if total is None else total + term",
        "total = term",
        ("tests/test_engine.py", "tests/test_oracle.py"),
    ),
    Mutation(
        "forward-mode-seed",
        "forward mode: the input's own tangent seeded with -1",
        PASSES,
        "tangents[graph.input_ids[name]] = np.float64(1.0)",
        "tangents[graph.input_ids[name]] = np.float64(-1.0)",
        ("tests/test_engine.py", "tests/test_oracle.py"),
    ),
    # Generated code and the guard before exec.
    Mutation(
        "guard-point",
        "the alphabet check before exec of a point's passes removed",
        CODEGEN,
        '    if not SAFE.fullmatch(source):\n        raise AssertionError("generated code outside'
        ' its alphabet")  # a bug, never input\n    namespace = dict(recorder.namespace)\n'
        '    exec(compile(source, "<cgrad point passes>"',
        '    namespace = dict(recorder.namespace)\n    exec(compile(source, "<cgrad point passes>"',
        CODEGEN_TESTS,
    ),
    Mutation(
        "guard-array",
        "the alphabet check before exec of the array passes removed",
        CODEGEN,
        '    if not SAFE.fullmatch(source):\n        raise AssertionError("generated code outside'
        ' its alphabet")  # a bug, never input\n    namespace = dict(recorder.namespace)\n'
        '    exec(compile(source, "<cgrad array passes>"',
        '    namespace = dict(recorder.namespace)\n    exec(compile(source, "<cgrad array passes>"',
        CODEGEN_TESTS,
    ),
    Mutation(
        "alphabet-widened",
        "the alphabet takes any name",
        CODEGEN,
        "|passes|[ivtkfos][0-9]+)*",
        "|passes|[ivtkfos][0-9]+|\\w+)*",
        CODEGEN_TESTS,
    ),
    Mutation(
        "fast-path-raises",
        "generated code for a point raises at every point of a graph with inputs (the walk"
        " then answers)",
        CODEGEN,
        "lines = [f\"def passes({', '.join(parameters)}):\", *recorder.lines]",
        "lines = [f\"def passes({', '.join(parameters)}):\", "
        "*(['    i0 / (i0 - i0)'] if parameters else []), *recorder.lines]",
        CODEGEN_TESTS,
    ),
    # Symbolic derivatives.
    Mutation(
        "zero-minus",
        "the simplifier prints 0 - y as y",
        NODES,
        '    if a.is_constant(0.0):\n        return builder.apply("neg", b)',
        "    if a.is_constant(0.0):\n        return b",
        SYMBOLIC_TESTS,
    ),
    Mutation(
        "binding-clash",
        "derivative bindings named t1, t2... whatever the inputs are called",
        PRINTED,
        "        self.prefix = binding_prefix(taken)",
        '        self.prefix = "t"',
        SYMBOLIC_TESTS,
    ),
    # Writers.
    Mutation(
        "csv-quote",
        "CSV output: '\"' no longer a reason to quote a field",
        "src/cgrad/batch/writers.py",
        "_MAY_NEED_QUOTES = re.compile(r'[,\"\\r\\n]')",
        "_MAY_NEED_QUOTES = re.compile(r'[,\\r\\n]')",
        WRITER_TESTS,
    ),
    Mutation(
        "nan-text",
        "NaN written as nan (not the protobuf JSON mapping's NaN)",
        "src/cgrad/numerals.py",
        '_NON_FINITE = {"nan": "NaN",',
        '_NON_FINITE = {"nan": "nan",',
        WRITER_TESTS,
    ),
    # Files.
    Mutation(
        "output-in-place",
        "-o writes the target directly (not a temporary file renamed over it)",
        "src/cgrad/cli/files.py",
        "        handle, temporary = tempfile.mkstemp(\n"
        '            dir=directory, prefix=f".{target.name}.", suffix=".tmp"\n'
        "        )",
        "        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)\n"
        "        temporary = str(target)",
        FILE_TESTS,
    ),
    # Precision, the gradient checker's edges, strict CSV reading.
    Mutation(
        "tanh-imprecise",
        "tanh' written 1 - tanh^2, which cancels near 0 and is 0 in the tails",
        OPS,
        "(lambda m, out, a: 4.0 * m.sigmoid(2.0 * a) * m.sigmoid(-2.0 * a),)",
        "(lambda m, out, a: 1.0 - out * out,)",
        PRECISION_TESTS,
    ),
    Mutation(
        "edge-dropped",
        "div declares no pole: the checker's step may jump over b = 0",
        OPS,
        'Notation(Fixity.INFIX, "/", PRODUCT), edges=lambda out, a, b: (b,),',
        'Notation(Fixity.INFIX, "/", PRODUCT),',
        CHECK_TESTS,
    ),
    Mutation(
        "csv-lenient",
        'CSV read leniently: 3,"4"5 read as 45',
        "src/cgrad/batch/delimited.py",
        "csv.reader(self.lines, delimiter=self.delimiter, strict=True)",
        "csv.reader(self.lines, delimiter=self.delimiter, strict=False)",
        WRITER_TESTS,
    ),
]


# --------------------------------------------------------------------------
# Running.


@dataclasses.dataclass
class Outcome:
    status: str  # killed | survived | stale | broken
    detail: str
    seconds: float


# A pytest plugin, loaded with -p, that sets hypothesis's defaults before
# the test modules make their settings: a fixed search, no database, no
# shrinking (a minimal example is not needed to know a mutation is caught).
PLUGIN = """
from hypothesis import Phase, settings

settings.register_profile(
    "mutation", derandomize=True, database=None,
    phases=[Phase.explicit, Phase.generate], print_blob=False,
)
settings.load_profile("mutation")
"""


def copy_of_the_checkout(into: Path) -> Path:
    tree = into / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(*IGNORED), symlinks=True)
    (into / "plugins").mkdir()
    (into / "plugins" / "cgrad_mutation_profile.py").write_text(PLUGIN, encoding="utf-8")
    return tree


def environment(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(tree / "src"), str(tree.parent / "plugins"), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def check_the_copy_is_tested(tree: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-c", "import cgrad; print(cgrad.__file__)"],
        cwd=tree, env=environment(tree), capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not Path(found).resolve().is_relative_to(tree.resolve()):
        sys.exit(f"the copy's tests would import cgrad from {found}, not from the copy")


def pytest(tree: Path, targets: list[str]) -> tuple[int | None, str, list[str]]:
    """pytest -x's exit code (None on timeout), its output, and the ids of
    the tests that failed (from its JUnit report: a test's id may hold
    spaces, which its summary line does not delimit)."""
    report = tree.parent / "report.xml"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "cgrad_mutation_profile", f"--junitxml={report}", *targets]
    try:
        done = subprocess.run(
            command, cwd=tree, env=environment(tree), capture_output=True, text=True,
            timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, "", []
    return done.returncode, done.stdout + done.stderr, failed_tests(report)


def failed_tests(report: Path) -> list[str]:
    if not report.exists():
        return []
    failed = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            failed.append(f"{module}.py::{case.get('name')}")
    return failed


def run_one(tree: Path, mutation: Mutation) -> Outcome:
    start = time.monotonic()
    path = tree / mutation.file
    original = path.read_text(encoding="utf-8")
    count = original.count(mutation.old)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times"
        return Outcome("stale", f"old text {where} in {mutation.file}", 0.0)
    path.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
    try:
        code, output, failed = pytest(tree, list(mutation.tests))
    finally:
        path.write_text(original, encoding="utf-8")
    if code == 0:
        return Outcome("survived", "every test passed", time.monotonic() - start)
    if code is None:
        return Outcome("killed", f"the tests ran over {TIMEOUT} s", time.monotonic() - start)
    if not failed:
        tail = output.strip().splitlines()[-1:] or ["no output"]
        return Outcome("broken", f"pytest exit {code}: {tail[0]}", time.monotonic() - start)
    # The test that failed must pass without the mutation, or it proves nothing.
    again, _, _ = pytest(tree, [failed[0]])
    status = "killed" if again == 0 else "broken"
    detail = failed[0] if again == 0 else f"{failed[0]} fails without the mutation too"
    return Outcome(status, detail, time.monotonic() - start)


def report_line(mutation: Mutation, outcome: Outcome) -> str:
    return f"{outcome.status:9} {mutation.name:18} {outcome.seconds:6.1f}s  {outcome.detail}"


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated mutation names")
    parser.add_argument("--tests", help="comma-separated test files or ids, instead of each's own")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    options = parser.parse_args(arguments)
    chosen = MUTATIONS
    if options.only:
        names = options.only.split(",")
        unknown = set(names) - {m.name for m in MUTATIONS}
        if unknown:
            parser.error(f"no mutation named {', '.join(sorted(unknown))}")
        chosen = [m for m in MUTATIONS if m.name in names]
    if options.tests:
        tests = tuple(options.tests.split(","))
        chosen = [dataclasses.replace(m, tests=tests) for m in chosen]
    if options.list:
        for m in chosen:
            print(f"{m.name:18} {m.file:24} {m.what}\n{'':18} tests: {' '.join(m.tests)}")
        return 0
    start = time.monotonic()
    outcomes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="cgrad-mutation-") as scratch:
        tree = copy_of_the_checkout(Path(scratch))
        check_the_copy_is_tested(tree)
        for mutation in chosen:
            outcome = run_one(tree, mutation)
            outcomes[outcome.status] = outcomes.get(outcome.status, 0) + 1
            print(report_line(mutation, outcome), flush=True)
    counts = ", ".join(
        f"{outcomes.get(s, 0)} {s}" for s in ("killed", "survived", "stale", "broken")
    )
    print(f"{len(chosen)} mutations: {counts}; {time.monotonic() - start:.0f} s")
    return 0 if outcomes.get("killed", 0) == len(chosen) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # | head: the reader has what it wanted
        sys.stderr.close()
        sys.exit(1)
    except KeyboardInterrupt:  # the temporary copy is gone already
        sys.exit(130)
