"""The worst inputs of the hostile-input attack (issue 13), run again: each
case's exit code, seconds and peak memory, and the first line it printed on
stderr, so that a regression shows as a number.

    python bench/hostile.py                  # every case (a few minutes)
    python bench/hostile.py --only zero,deep # cases whose name contains a word
    python bench/hostile.py --list

Each case runs `python -m cgrad` as a child process under a time cap and an
address-space cap (the attack used 60 s and 4 GB), with inputs made in a
temporary folder. Peak memory is the child's own maximum resident set size,
read with ``getrusage(RUSAGE_CHILDREN)`` in a process forked for that case
alone. A case that hits a cap is reported as such, not
hidden: the table is the evidence, not a pass/fail verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TIME_CAP = 60.0
MEMORY_CAP = 4 * 1024**3


@dataclass
class Case:
    name: str
    what: str
    # Given the folder of inputs, the arguments after `cgrad` and the
    # standard input (a path, or None for an empty stdin).
    make: Callable[[Path], tuple[list[str], Path | None]]
    # Redirections the shell would make: close stdout, or point it at a file.
    stdout: str = "pipe"


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def _sum_program(terms: int) -> str:
    return " + ".join(f"sin(x*{i})" for i in range(1, terms + 1))


def _many_inputs(count: int) -> str:
    return " + ".join(f"v{i}" for i in range(count))


def _cases() -> list[Case]:
    seed = "(x+y)*z"
    return [
        Case("int-4301-digits", "NDJSON record with a 5,000-digit integer among good ones",
             lambda d: (["batch", str(_write(d / "big_int.ndjson",
                         '{"x":1,"y":2,"z":3}\n{"x":' + "9" * 5000 + ',"y":2,"z":3}\n'
                         '{"x":1,"y":2,"z":3}\n')), "-e", seed, "--format", "ndjson"], None)),
        Case("csv-field-200k", "CSV with a 200,000-character carried field",
             lambda d: (["batch", str(_write(d / "wide_field.csv",
                         "x,y,z,note\n1,2,3," + "a" * 200_000 + "\n1,2,3,ok\n")),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("csv-header-1mb", "CSV whose header has a 1 MB column name",
             lambda d: (["batch", str(_write(d / "wide_header.csv",
                         "x,y,z," + "h" * 1_000_000 + "\n1,2,3,4\n")),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("carried-nested-900", "NDJSON record carrying a field nested 900 deep",
             lambda d: (["batch", str(_write(d / "nested.ndjson",
                         '{"x":1,"y":2,"z":3,"n":' + "[" * 900 + "]" * 900 + "}\n")),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("json-element-990-deep", ".json array whose second element nests 1,000 deep",
             lambda d: (["batch", str(_write(d / "deep.json",
                         '[{"x":1,"y":2,"z":3},' + "[" * 1000 + "]" * 1000
                         + ',{"x":1,"y":2,"z":3}]')), "-e", seed, "--format", "ndjson"], None)),
        Case("chunk-rows-huge", "--chunk-rows 99999999999999999999",
             lambda d: (["batch", "samples/points.csv", "-e", seed,
                         "--chunk-rows", "99999999999999999999"], None)),
        Case("dev-zero-csv", "/dev/zero as CSV input",
             lambda d: (["batch", "/dev/zero", "--input-format", "csv", "-e", seed], None)),
        Case("dev-zero-ndjson", "/dev/zero as NDJSON input",
             lambda d: (["batch", "/dev/zero", "--input-format", "ndjson", "-e", seed], None)),
        Case("csv-unclosed-quote", "CSV whose last field opens a quote never closed",
             lambda d: (["batch", str(_write(d / "unclosed.csv",
                         'x,y,z,note\n1,2,3,"open\n4,5,6,b\n7,8,9,c\n')),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("csv-quote-then-text", 'CSV row 3,"4"5,6',
             lambda d: (["batch", str(_write(d / "quote_text.csv", 'x,y,z\n3,"4"5,6\n')),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("closed-stdout-eval", "eval with stdout closed",
             lambda d: (["eval", seed, "x=1", "y=2", "z=3"], None), stdout="closed"),
        Case("closed-stdout-json-error", "eval 'x+' --json with stdout closed",
             lambda d: (["eval", "x+", "--json"], None), stdout="closed"),
        Case("dev-full", "eval --json into a full disk (/dev/full)",
             lambda d: (["eval", seed, "x=1", "y=2", "z=3", "--json"], None), stdout="full"),
        Case("trace-over-program", "minimize @prog.cg --trace prog.cg",
             lambda d: (["minimize", f"@{_write(d / 'prog.cg', 'x^2')}", "x=1",
                         "--trace", str(d / "prog.cg")], None)),
        Case("eval-100k-inputs", "eval of a 100,000-input sum with every value given",
             lambda d: (["eval", f"@{_write(d / 'inputs.cg', _many_inputs(100_000))}", "--json",
                         *[f"v{i}=1" for i in range(100_000)]], None)),
        Case("diff-20k-inputs", "diff of a 20,000-input sum",
             lambda d: (["diff", f"@{_write(d / 'sum20k.cg', _many_inputs(20_000))}", "--json"],
                        None)),
        Case("check-5000-inputs", "check of a 5,000-input sum",
             lambda d: (["check", f"@{_write(d / 'sum5k.cg', _many_inputs(5_000))}", "--json",
                         *[f"v{i}=1" for i in range(5_000)]], None)),
        Case("batch-200k-columns", "batch of a CSV with 200,000 columns",
             lambda d: (["batch", str(_write(d / "columns.csv",
                         ",".join(["x", "y", "z"] + [f"c{i}" for i in range(200_000)]) + "\n"
                         + ",".join(["1"] * 200_003) + "\n")), "-e", seed,
                         "--format", "ndjson"], None)),
        Case("json-element-100mb", ".json array whose one element carries 100 MB",
             lambda d: (["batch", str(_write(d / "big_element.json",
                         '[{"x":1,"y":2,"z":3,"note":"' + "a" * 100_000_000 + '"}]')),
                         "-e", seed, "--format", "ndjson"], None)),
        Case("graph-dot-1m", "graph --format dot of a 1,000,000-node program",
             lambda d: (["graph", f"@{_write(d / 'big.cg', _sum_program(250_000))}",
                         "--format", "dot", "x=0.5"], None)),
        Case("graph-json-1m", "graph --format json of a 1,000,000-node program",
             lambda d: (["graph", f"@{_write(d / 'big.cg', _sum_program(250_000))}",
                         "--format", "json", "x=0.5"], None)),
        Case("graph-mermaid-1m", "graph --format mermaid of a 1,000,000-node program",
             lambda d: (["graph", f"@{_write(d / 'big.cg', _sum_program(250_000))}",
                         "--format", "mermaid", "x=0.5"], None)),
        Case("eval-graph-json-1m", "eval --graph --json of a 1,000,000-node program",
             lambda d: (["eval", f"@{_write(d / 'big.cg', _sum_program(250_000))}",
                         "--graph", "--json", "x=0.5"], None)),
        Case("eval-steps-json-1m", "eval --steps --json of a 1,000,000-node program",
             lambda d: (["eval", f"@{_write(d / 'big.cg', _sum_program(250_000))}",
                         "--steps", "--json", "x=0.5"], None)),
        Case("diff-order-2-100k", "diff --order 2 of a 100,000-term program",
             lambda d: (["diff", f"@{_write(d / 'sum100k.cg', _sum_program(100_000))}",
                         "--order", "2", "--json"], None)),
        Case("eval-hessian-100k", "eval --hessian of a 100,000-term program",
             lambda d: (["eval", f"@{_write(d / 'sum100k.cg', _sum_program(100_000))}",
                         "--hessian", "--json", "x=0.5"], None)),
        Case("batch-2000-own-exprs", "batch of 2,000 records, each its own 3,000-input expr",
             lambda d: (["batch", str(_write(d / "jobs.ndjson", "".join(
                         '{"expr":"' + _many_inputs(3_000).replace("v", f"r{row}_") + '"}\n'
                         for row in range(2_000)))), "--format", "ndjson"], None)),
        Case("check-1-over-x", "check 1/x at x = 1e-10 (a pole nearby)",
             lambda d: (["check", "1/x", "x=1e-10"], None)),
        Case("check-abs-sin-pi", "check abs(sin(x)) at x = pi (a kink nearby)",
             lambda d: (["check", "abs(sin(x))", "x=3.141592653589793"], None)),
        Case("minimize-adam-overflow", "minimize --method adam -- '-exp(x^2)' x=1",
             lambda d: (["minimize", "--method", "adam", "--", "-exp(x^2)", "x=1"], None)),
    ]  # fmt: skip


def _cap_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(case: Case, folder: Path) -> dict:
    arguments, stdin_path = case.make(folder)
    command = [sys.executable, "-m", "cgrad", *arguments]
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    stdout: object = subprocess.DEVNULL
    if case.stdout == "full":
        stdout = open("/dev/full", "wb")  # noqa: SIM115
    # A closed stdout: the child starts with descriptor 1 closed, as after `>&-`.
    preexec = _cap_child if case.stdout != "closed" else _cap_child_and_close_stdout
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=stdin,
        stdout=stdout if case.stdout != "closed" else None,
        stderr=subprocess.PIPE,
        preexec_fn=preexec,
        start_new_session=True,
    )
    try:
        stderr = process.communicate(timeout=TIME_CAP)[1]
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stderr = process.communicate()[1]
        timed_out = True
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    for handle in (stdin, stdout):
        if hasattr(handle, "close"):
            handle.close()
    first_line = next((line for line in stderr.decode(errors="replace").splitlines() if line), "")
    return {
        "exit": "timeout" if timed_out else process.returncode,
        "seconds": seconds,
        "rss_mb": usage.ru_maxrss / 1024,
        "stderr": first_line[:90],
    }


def _cap_child_and_close_stdout() -> None:
    _cap_child()
    os.close(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated words; cases whose name contains one")
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    options = parser.parse_args()
    cases = _cases()
    if options.only:
        words = options.only.split(",")
        cases = [case for case in cases if any(word in case.name for word in words)]
    if options.list:
        for case in cases:
            print(f"{case.name:26} {case.what}")
        return
    print(f"{'case':26} {'exit':>7} {'seconds':>8} {'RSS MB':>7}  first line of stderr")
    for case in cases:
        with tempfile.TemporaryDirectory() as folder:
            # Each case in a child of its own, so that RUSAGE_CHILDREN's
            # maximum is that case's alone.
            outcome = _in_own_process(case, Path(folder))
        print(
            f"{case.name:26} {outcome['exit']!s:>7} {outcome['seconds']:>8.2f} "
            f"{outcome['rss_mb']:>7.0f}  {outcome['stderr']}",
            flush=True,
        )


def _in_own_process(case: Case, folder: Path) -> dict:
    """``run(case)`` in a forked process: the peak RSS that the kernel keeps
    for children is the maximum over all of them, so each case needs a
    parent of its own for the figure to be its own."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        outcome = run(case, folder)
        with os.fdopen(write_end, "w") as pipe:
            json.dump(outcome, pipe)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(text)


if __name__ == "__main__":
    main()
