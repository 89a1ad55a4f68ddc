"""Seconds per stage (read, plan, forward, backward) for big expressions,
the process's peak memory so far, and the start-up cost of the command
line next to importing numpy.

    python bench/stages.py [N ...]      # default: 1000 10000 100000
"""

from __future__ import annotations

import gc
import resource
import statistics
import subprocess
import sys
import time

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


def main() -> None:
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
