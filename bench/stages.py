"""Seconds per stage (read, plan, forward, backward) for big expressions,
the process's peak memory so far, and the start-up cost of the command
line next to importing numpy; with ``--diff``, the CPU seconds of
``cgrad diff`` on graphs of about N nodes, in the library and on the
command line (text and ``--json``).

    python bench/stages.py [N ...]          # default: 1000 10000 100000
    python bench/stages.py --diff [N ...]   # default: 25000 100000 nodes
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import cgrad
from cgrad.autodiff.floats import FLOATS, forward_on_floats
from cgrad.autodiff.passes import backward, plan
from cgrad.autodiff.reading import graph_of_text


def shapes(n: int) -> dict[str, str]:
    return {
        "sum": " + ".join(f"sin(x*{i})" for i in range(1, n + 1)),
        "chain": "sin(" * n + "x" + ")" * n,
    }


def stages(text: str) -> dict[str, float]:
    times = {}
    # As cgrad.compile and evaluate do: see function._collector_paused.
    gc.disable()
    start = time.perf_counter()
    # The text parsed and its graph built in one pass, as cgrad.compile does.
    graph = graph_of_text(text)
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    # The plan is made once per compiled function.
    passes = plan(graph)
    times["plan"] = time.perf_counter() - start
    start = time.perf_counter()
    # As Function.evaluate does at one point: the passes on floats.
    values = forward_on_floats(passes, [0.5])
    times["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    backward(passes, values, m=FLOATS, seed=1.0)
    times["backward"] = time.perf_counter() - start
    gc.enable()
    times["nodes"] = len(graph)
    return times


def process_seconds(command: list[str], runs: int = 7) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def diff_shapes(nodes: int) -> dict[str, tuple[str, int]]:
    """Programs of about ``nodes`` graph nodes, and the order asked of diff:
    a sum of one input's terms (4 nodes a term), a sum of as many inputs,
    a chain (3 nodes a level) and the sum's second derivative."""
    terms = " + ".join(f"sin(x*{k})" for k in range(1, nodes // 4 + 1))
    return {
        "sum": (terms, 1),
        "inputs": (" + ".join(f"x{k}" for k in range(1, nodes // 2 + 1)), 1),
        "chain": ("sin(" * (nodes // 3) + "x" + ")*y + z" * (nodes // 3), 1),
        "sum --order 2": (terms, 2),
    }


def children_cpu(command: list[str], runs: int) -> float:
    """The median CPU seconds (user + system) of ``command`` run ``runs`` times."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(samples)


def diff_main(sizes: list[int], runs: int = 3) -> None:
    """``cgrad diff``'s CPU seconds per shape: the library's
    ``Function.formulas`` (median of ``runs``), and whole processes."""
    print(f"{'shape':<14} {'nodes':>8} {'library s':>9} {'text s':>7} {'json s':>7}")
    for nodes in sizes:
        for name, (text, order) in diff_shapes(nodes).items():
            function = cgrad.compile(text)
            library = []
            for _ in range(runs):
                # The run before's formulas freed first (a builder and its
                # nodes refer to each other): not this run's time.
                gc.collect()
                start = time.process_time()
                function.formulas(order=order)
                library.append(time.process_time() - start)
            with tempfile.NamedTemporaryFile("w", suffix=".cg", delete=False) as file:
                file.write(text)
            try:
                line = [sys.executable, "-m", "cgrad", "diff", "@" + file.name]
                line += ["--order", str(order)]
                shown = children_cpu(line, runs)
                json = children_cpu([*line, "--json"], runs)
            finally:
                os.unlink(file.name)
            print(
                f"{name:<14} {len(function.graph):>8} {statistics.median(library):>9.3f} "
                f"{shown:>7.3f} {json:>7.3f}"
            )


def main() -> None:
    if sys.argv[1:2] == ["--diff"]:
        diff_main([int(a) for a in sys.argv[2:]] or [25_000, 100_000])
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000]
    print(
        f"{'shape':<6} {'n':>8} {'nodes':>8} {'read s':>8} {'plan s':>8} "
        f"{'forward s':>9} {'backward s':>10} {'peak MB':>8}"
    )
    for n in sizes:
        for name, text in shapes(n).items():
            t = stages(text)
            # The peak of the whole process so far (sizes go up): bench/run.py
            # --only W3 measures each case in a process of its own.
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{name:<6} {n:>8} {t['nodes']:>8} {t['read']:>8.3f} {t['plan']:>8.3f} "
                f"{t['forward']:>9.3f} {t['backward']:>10.3f} {peak:>8.0f}"
            )
    print()
    print(f"{'whole process':<60} {'median s':>8} {'min s':>6}")
    for label, command in [
        ('python -c "import numpy"', [sys.executable, "-c", "import numpy"]),
        (
            'cgrad eval "(x+y)*z" --x 1 --y 2 --z 3 --json',
            [
                sys.executable,
                "-m",
                "cgrad",
                "eval",
                "(x+y)*z",
                "--x",
                "1",
                "--y",
                "2",
                "--z",
                "3",
                "--json",
            ],
        ),
    ]:
        median, best = process_seconds(command)
        print(f"{label:<60} {median:>8.3f} {best:>6.3f}")


if __name__ == "__main__":
    main()
