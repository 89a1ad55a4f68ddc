"""Batch throughput: in-process evaluation of a million points, and
`cgrad batch` end to end from a CSV file, with peak memory.

    python bench/batch.py [ROWS] [--big]     # default 1,000,000; W5_RUNS=3

Peers (hand-written numpy, PyTorch with one thread) are measured side by
side in the same run when installed, and skipped with a note otherwise.
W5 then runs the same read -> value and 3 partials -> write job in cgrad
and in polars, pyarrow and pandas (the partials by hand in numpy), each in
a process of its own, from CSV, Parquet and NDJSON; and cgrad alone on
NDJSON and CSV records that each carry one of 1,000 expressions, and on
log(x)*y with half the rows NaN (each with its own warning): seconds, rows/s, the
ratio to cgrad, the cores used (CPU time over wall time) and the peak RSS;
--big adds cgrad's peak RSS at ten times the rows.
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
    rows = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1_000_000
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
        print("(PyTorch not installed: pip install torch==2.14.0)")
    for name, call in contenders.items():
        median, best = timed(call)
        print(f"{name:<44} {median * 1e3:>10.1f} {best * 1e3:>8.1f} {rows / median / 1e6:>8.2f}")

    print()
    w5(rows, int(os.environ.get("W5_RUNS", "3")))
    if "--big" in sys.argv:
        big_memory(10 * rows)


# W5: read -> value and 3 partials -> write, each peer doing it its own way
# with the partials written by hand in numpy (hand_numpy above).
PEER = """
import sys, numpy as np
{hand}
kind, job, source, target = sys.argv[1:]
if kind == "polars":
    import polars as pl
    read = {{"parquet": pl.read_parquet, "ndjson-in": pl.read_ndjson}}.get(job, pl.read_csv)
    frame = read(source)
    v, dx, dy, dz = hand_numpy(*(frame[n].to_numpy() for n in "xyz"))
    frame = frame.with_columns(value=v, grad_x=dx, grad_y=dy, grad_z=dz)
    frame = frame.with_row_index("row", offset=1)
    write = {{"csv": frame.write_csv, "ndjson": frame.write_ndjson}}.get(job)
    write = frame.write_ndjson if job == "ndjson-in" else write
    (write or frame.write_parquet)(target)
elif kind == "pyarrow":
    import pyarrow as pa, pyarrow.csv as pv, pyarrow.parquet as pq
    table = pq.read_table(source) if job == "parquet" else pv.read_csv(source)
    v, dx, dy, dz = hand_numpy(*(table.column(n).to_numpy() for n in "xyz"))
    table = table.append_column("value", pa.array(v)).append_column("grad_x", pa.array(dx))
    table = table.append_column("grad_y", pa.array(dy)).append_column("grad_z", pa.array(dz))
    table = table.add_column(0, "row", pa.array(np.arange(1, len(table) + 1)))
    (pq.write_table if job == "parquet" else pv.write_csv)(table, target)
else:
    import pandas as pd
    if job == "ndjson-in":
        frame = pd.read_json(source, lines=True, precise_float=True)
    else:
        frame = pd.read_parquet(source) if job == "parquet" else pd.read_csv(source)
    v, dx, dy, dz = hand_numpy(*(frame[n].to_numpy() for n in "xyz"))
    frame = frame.assign(value=v, grad_x=dx, grad_y=dy, grad_z=dz)
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    if job == "csv":
        frame.to_csv(target, index=False)
    elif job in ("ndjson", "ndjson-in"):
        frame.to_json(target, orient="records", lines=True, double_precision=15)
    else:
        frame.to_parquet(target, index=False)
"""

JOBS = {
    "csv": ("csv", "csv"),
    "ndjson": ("csv", "ndjson"),
    "parquet": ("parquet", "parquet"),
    "ndjson-in": ("ndjson", "ndjson"),
}
# Records with their own expressions: this many distinct ones, differing
# in their constants (no peer reads an expression per record).
FORMULAS = 1000


def inputs(folder: str, rows: int) -> dict[str, str]:
    """The W2 points as a CSV and as NDJSON of shortest round-trip numbers,
    as Parquet, and as NDJSON records each with one of FORMULAS expressions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    x, y, z = np.random.default_rng(1).uniform(-2, 2, (3, rows))
    paths = {kind: os.path.join(folder, f"in.{kind}") for kind in ("csv", "parquet", "ndjson")}
    paths["records"] = os.path.join(folder, "records.ndjson")
    paths["records-csv"] = os.path.join(folder, "records.csv")
    formulas = [f"sin(x*{i}) + y^2*{i % 7 + 1} - log(1 + z^2)/{i + 1}" for i in range(FORMULAS)]
    chosen = np.random.default_rng(2).integers(0, FORMULAS, rows).tolist()
    with open(paths["csv"], "w") as csv_file, open(paths["ndjson"], "w") as ndjson_file:
        with open(paths["records"], "w") as records_file, open(paths["records-csv"], "w") as by_csv:
            csv_file.write("x,y,z\n")
            by_csv.write("expr,x,y,z\n")
            for start in range(0, rows, 100_000):
                part = list(
                    zip(*(a[start : start + 100_000].tolist() for a in (x, y, z)), strict=True)
                )
                csv_file.write("".join(f"{a!r},{b!r},{c!r}\n" for a, b, c in part))
                ndjson_file.write(
                    "".join(f'{{"x":{a!r},"y":{b!r},"z":{c!r}}}\n' for a, b, c in part)
                )
                picks = chosen[start : start + 100_000]
                records_file.write(
                    "".join(
                        f'{{"expr":"{formulas[k]}","x":{a!r},"y":{b!r},"z":{c!r}}}\n'
                        for k, (a, b, c) in zip(picks, part, strict=True)
                    )
                )
                by_csv.write(
                    "".join(
                        f"{formulas[k]},{a!r},{b!r},{c!r}\n"
                        for k, (a, b, c) in zip(picks, part, strict=True)
                    )
                )
    pq.write_table(pa.table({"x": x, "y": y, "z": z}), paths["parquet"])
    return paths


def w5(rows: int, runs: int) -> None:
    """Peers side by side on the same files, each job a process of its own,
    timed with its CPU time (so the cores it used) and its peak memory."""
    import inspect

    print(f"W5: {rows:,} rows, read -> value and 3 partials -> write (median of {runs})")
    print(f"{'job':<44} {'s':>6} {'rows/s':>11} {'vs cgrad':>8} {'cores':>6} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as folder:
        files = inputs(folder, rows)
        script = os.path.join(folder, "peer.py")
        with open(script, "w") as file:
            file.write(PEER.format(hand=inspect.getsource(hand_numpy)))
        for job, (source_kind, target_kind) in JOBS.items():
            source, target = files[source_kind], os.path.join(folder, f"out.{target_kind}")
            ours = [sys.executable, "-m", "cgrad", "batch", source, "-e", EXPRESSION, "-q"]
            commands = {f"cgrad {source_kind} -> {target_kind}": [*ours, "-o", target]}
            for peer in ("polars", "pyarrow", "pandas"):
                if target_kind == "ndjson" and peer == "pyarrow":
                    continue  # pyarrow writes no JSON
                commands[f"{peer} + numpy {source_kind} -> {target_kind}"] = [
                    sys.executable, script, peer, job, source, target
                ]  # fmt: skip
            if job == "ndjson-in":  # and the records with their own expressions
                commands[f"cgrad, {FORMULAS:,} expressions, ndjson -> ndjson"] = [
                    sys.executable, "-m", "cgrad", "batch", files["records"], "-q",
                    "-o", os.path.join(folder, "records.out.ndjson"),
                ]  # fmt: skip
                commands[f"cgrad, {FORMULAS:,} expressions, csv -> csv"] = [
                    sys.executable, "-m", "cgrad", "batch", files["records-csv"], "-q",
                    "-o", os.path.join(folder, "records.out.csv"),
                ]  # fmt: skip
            if job == "csv":  # half the rows NaN, each with its own warning
                commands["cgrad, log(x)*y (half NaN), csv -> csv"] = [
                    *ours[:5], "-e", "log(x)*y", "-q", "-o", target,
                ]  # fmt: skip
            reference = None
            for name, command in commands.items():
                try:
                    samples = [run_measured(command) for _ in range(runs)]
                except subprocess.CalledProcessError:
                    print(f"{name:<44} (failed: not installed?)")
                    continue
                seconds = statistics.median(s[0] for s in samples)
                reference = reference or seconds
                cores = statistics.median(s[2] / s[0] for s in samples if s[2] is not None)
                peak = max((s[1] or 0) for s in samples) / 1024
                print(
                    f"{name:<44} {seconds:>6.2f} {rows / seconds:>11,.0f} "
                    f"{seconds / reference:>8.2f} {cores:>6.2f} {peak:>8.0f}"
                )


def big_memory(rows: int) -> None:
    """cgrad's peak memory on a file ten times as big: flat when streaming."""
    print(f"\npeak RSS of cgrad at {rows:,} rows")
    with tempfile.TemporaryDirectory() as folder:
        files = inputs(folder, rows)
        for source_kind, target in (("csv", "out.csv"), ("parquet", "out.parquet")):
            command = [sys.executable, "-m", "cgrad", "batch", files[source_kind]]
            command += ["-e", EXPRESSION, "-q", "-o", os.path.join(folder, target)]
            seconds, peak, _ = run_measured(command)
            print(f"{source_kind} -> {target}: {seconds:.2f} s, {(peak or 0) / 1024:.0f} MB")
        command = [sys.executable, "-m", "cgrad", "batch", files["records"], "-q"]
        command += ["-o", os.path.join(folder, "records.out.ndjson")]
        seconds, peak, _ = run_measured(command)
        print(f"{FORMULAS:,} expressions: {seconds:.2f} s, {(peak or 0) / 1024:.0f} MB")


def run_measured(command: list[str]) -> tuple[float, float | None, float | None]:
    """Wall seconds, peak RSS in KiB and CPU seconds of ``command``. The peak
    comes from GNU time: this process's own rusage of children would count
    the memory of the forked copy of this (big) process before it runs."""
    gnu_time = shutil.which("time") or (
        "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
    )
    start = time.perf_counter()
    if gnu_time is None:
        subprocess.run(command, check=True)
        return time.perf_counter() - start, None, None
    completed = subprocess.run(
        [gnu_time, "-f", "%M %U %S", *command], check=True, stderr=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - start
    peak, user, system = completed.stderr.strip().splitlines()[-1].split()
    return seconds, float(peak), float(user) + float(system)


if __name__ == "__main__":
    main()
