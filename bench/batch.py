"""Batch throughput: in-process evaluation of a million points, and
`cgrad batch` end to end from a CSV file, with peak memory.

    python bench/batch.py [ROWS]        # default 1,000,000

Peers (hand-written numpy, PyTorch with one thread) are measured side by
side in the same run when installed, and skipped with a note otherwise.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import cgrad

EXPRESSION = "sin(x*y) + exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1) + tanh(x - z) * (x + y) * z"


def timed(call, runs: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def hand_numpy(x, y, z):
    """The same value and partials, differentiated by hand."""
    s = np.sin(x * y)
    c = np.cos(x * y)
    g = np.exp(-(z**2))
    l1 = np.log(1 + x**2)
    r = np.sqrt(y**2 + 1)
    t = np.tanh(x - z)
    w = (x + y) * z
    value = s + g * l1 / r + t * w
    dt = 1 - t**2
    dx = c * y + g * (2 * x / (1 + x**2)) / r + dt * w + t * z
    dy = c * x - g * l1 * y / r**3 + t * z
    dz = -2 * z * g * l1 / r - dt * w + t * (x + y)
    return value, dx, dy, dz


def torch_peer(x, y, z):
    import torch

    torch.set_num_threads(1)
    tx, ty, tz = (torch.tensor(a, requires_grad=True) for a in (x, y, z))

    def run():
        for t in (tx, ty, tz):
            t.grad = None
        value = (
            torch.sin(tx * ty)
            + torch.exp(-(tz**2)) * torch.log(1 + tx**2) / torch.sqrt(ty**2 + 1)
            + torch.tanh(tx - tz) * (tx + ty) * tz
        )
        value.sum().backward()

    return run


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(0)
    x, y, z = (rng.uniform(-2, 2, rows) for _ in range(3))
    f = cgrad.compile(EXPRESSION)
    print(f"in-process, value and 3 partials at {rows:,} points (median / min of 5)")
    print(f"{'who':<44} {'median ms':>10} {'min ms':>8} {'Mrows/s':>8}")
    contenders = {
        "cgrad, one call on whole arrays": lambda: f.evaluate(x=x, y=y, z=z),
        "cgrad, chunks of 4,096 (as cgrad batch)": lambda: [
            f.evaluate(x=x[i : i + 4096], y=y[i : i + 4096], z=z[i : i + 4096])
            for i in range(0, rows, 4096)
        ],
        "numpy by hand": lambda: hand_numpy(x, y, z),
        # The floor: hand-simplified derivatives and cache-sized chunks.
        "numpy by hand, chunks of 4,096": lambda: [
            hand_numpy(x[i : i + 4096], y[i : i + 4096], z[i : i + 4096])
            for i in range(0, rows, 4096)
        ],
    }
    try:
        contenders["PyTorch CPU, 1 thread"] = torch_peer(x, y, z)
    except ImportError:
        print("(PyTorch not installed: pip install torch==2.13.0)")
    for name, call in contenders.items():
        median, best = timed(call)
        print(f"{name:<44} {median * 1e3:>10.1f} {best * 1e3:>8.1f} {rows / median / 1e6:>8.2f}")

    print()
    print(f"cgrad batch end to end, {rows:,}-row CSV (one run each)")
    print(f"{'output':<10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as directory:
        source = os.path.join(directory, "points.csv")
        with open(source, "w") as file:
            file.write("x,y,z\n")
            np.savetxt(file, np.column_stack([x, y, z]), fmt="%.6f", delimiter=",")
        for output_format in ("ndjson", "csv"):
            out = os.path.join(directory, "out")
            command = [sys.executable, "-m", "cgrad", "batch", source, "-e", EXPRESSION,
                       "--format", output_format, "-o", out]  # fmt: skip
            seconds, peak = run_measured(command)
            peak_text = f"{peak / 1024:>12.0f}" if peak is not None else f"{'n/a':>12}"
            print(f"{output_format:<10} {seconds:>8.2f} {rows / seconds:>10,.0f} {peak_text}")


def run_measured(command: list[str]) -> tuple[float, float | None]:
    """Wall seconds and peak RSS in KiB of ``command``. The peak comes from
    GNU time: this process's own rusage of children would count the memory
    of the forked copy of this (big) process before it runs the command."""
    gnu_time = shutil.which("time") or (
        "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    )
    start = time.perf_counter()
    if gnu_time is None:
        subprocess.run(command, check=True)
        return time.perf_counter() - start, None
    completed = subprocess.run(
        [gnu_time, "-f", "%M", *command], check=True, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    return seconds, float(completed.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
