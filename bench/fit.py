"""cgrad fit against PyTorch and JAX: steps per second of full-batch
gradient descent, and cgrad's peak memory streaming a big file.

    python bench/fit.py [--rows 100000,1000000] [--stream-rows 10000000] [--repeat 3]

Two models, each fitted by plain gradient descent on every row a step:
logistic regression with 10 features (the logistic loss of a linear
log-odds) and the two-layer tanh network of samples/network.cg (2 inputs,
2 hidden units, squared loss). A step is one forward and one backward
pass over all the rows and one update. cgrad's steps per second are
measured through cgrad.fit itself (the time of 30 epochs less that of 10,
over 20), so that its setup and last evaluation are left out. Times are
CPU time of this process (``time.process_time``: all its threads), the
median of --repeat runs, so that a shared machine's other load counts
less; a peer on several threads is charged for each of them. Peers run in
the same process, side by side: PyTorch on one thread and on its default
threads, JAX with the whole step under jit; a peer not installed is
skipped with a note. Ratios are the peer's steps per second over cgrad's,
at its default threads and on one thread.

Then cgrad fit reads a Parquet file of --stream-rows rows of the
network's data for two epochs, streamed (--stream) and read into memory,
each in a process of its own, and their peak RSS is reported beside the
size of the data as numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import cgrad
from cgrad.autodiff import chunks

ROOT = Path(__file__).resolve().parents[1]
FEATURES = 10
NETWORK = (ROOT / "samples" / "network.cg").read_text(encoding="utf-8")
LR = 0.1
# Runs of each measurement, their median reported (set by --repeat).
REPEAT = 3


def logistic_data(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    data = {f"x{k}": rng.standard_normal(rows) for k in range(1, FEATURES + 1)}
    odds = sum((k / 5 - 1) * data[f"x{k}"] for k in range(1, FEATURES + 1)) + 0.3
    data["y"] = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(float)
    return data


def network_data(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x1, x2 = rng.standard_normal(rows), rng.standard_normal(rows)
    y = 1.5 * np.tanh(x1 - 0.5 * x2) - np.tanh(0.8 * x1 + x2 + 0.3) + 0.2
    return {"x1": x1, "x2": x2, "y": y + 0.05 * rng.standard_normal(rows)}


LOGISTIC = " + ".join(f"w{k}*x{k}" for k in range(1, FEATURES + 1)) + " + b"
WORKLOADS = {
    "logistic, 10 features": (LOGISTIC, "logistic", logistic_data),
    "two-layer tanh network": (NETWORK, "squared", network_data),
}


def cgrad_rate(model: str, loss: str, data: dict) -> float:
    def run(epochs: int) -> float:
        start = time.process_time()
        cgrad.fit(model, data, target="y", loss=loss, method="gd", lr=LR, epochs=epochs, tol=0)
        return time.process_time() - start

    run(2)  # generated code made, caches warm
    return statistics.median(20 / max(run(30) - run(10), 1e-9) for _ in range(REPEAT))


def torch_step(name: str, data: dict):
    import torch

    y = torch.tensor(data["y"])
    if name.startswith("logistic"):
        x = torch.tensor(np.stack([data[f"x{k}"] for k in range(1, FEATURES + 1)], axis=1))
        params = [torch.zeros(FEATURES, dtype=torch.float64, requires_grad=True),
                  torch.zeros((), dtype=torch.float64, requires_grad=True)]  # fmt: skip

        def loss():
            z = x @ params[0] + params[1]
            return (torch.nn.functional.softplus(z) - y * z).mean()
    else:
        x = torch.tensor(np.stack([data["x1"], data["x2"]], axis=1))
        rng = np.random.default_rng(0)
        shapes = [(2, 2), (2,), (2,), ()]
        params = [torch.tensor(rng.uniform(-0.5, 0.5, s), requires_grad=True) for s in shapes]

        def loss():
            hidden = torch.tanh(x @ params[0].T + params[1])
            return ((hidden @ params[2] + params[3] - y) ** 2).mean()

    def step():
        for p in params:
            p.grad = None
        loss().backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad

    return step


def jax_step(name: str, data: dict):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    y = jnp.asarray(data["y"])
    if name.startswith("logistic"):
        x = jnp.asarray(np.stack([data[f"x{k}"] for k in range(1, FEATURES + 1)], axis=1))
        params = (jnp.zeros(FEATURES), jnp.zeros(()))

        def loss(p):
            z = x @ p[0] + p[1]
            return jnp.mean(jax.nn.softplus(z) - y * z)
    else:
        x = jnp.asarray(np.stack([data["x1"], data["x2"]], axis=1))
        rng = np.random.default_rng(0)
        params = tuple(jnp.asarray(rng.uniform(-0.5, 0.5, s)) for s in [(2, 2), (2,), (2,), ()])

        def loss(p):
            hidden = jnp.tanh(x @ p[0].T + p[1])
            return jnp.mean((hidden @ p[2] + p[3] - y) ** 2)

    @jax.jit
    def update(p):
        grads = jax.grad(loss)(p)
        return tuple(a - LR * g for a, g in zip(p, grads, strict=True))

    state = [params]

    def step():
        state[0] = update(state[0])
        jax.block_until_ready(state[0])

    return step


def rate(step, runs: int = 20) -> float:
    for _ in range(3):
        step()

    def once() -> float:
        start = time.process_time()
        for _ in range(runs):
            step()
        return runs / max(time.process_time() - start, 1e-9)

    return statistics.median(once() for _ in range(REPEAT))


def peers(name: str, data: dict) -> dict[str, float | str]:
    found: dict[str, float | str] = {}
    try:
        import torch

        default = torch.get_num_threads()
        torch.set_num_threads(1)
        found["PyTorch, 1 thread"] = rate(torch_step(name, data))
        torch.set_num_threads(default)
        found[f"PyTorch, {default} threads"] = rate(torch_step(name, data))
    except ImportError:
        found["PyTorch"] = "not installed (pip install torch)"
    try:
        found["JAX, jit"] = rate(jax_step(name, data))
    except ImportError:
        found["JAX"] = "not installed (pip install jax jaxlib)"
    return found


# cgrad's command line, then its own peak RSS (VmHWM: the process's since
# its exec; a child's ru_maxrss would count the pages of the parent it was
# forked from).
PEAK = """
import atexit, runpy, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            sys.stderr.write(line)
atexit.register(peak)
sys.argv = ["cgrad", *sys.argv[1:]]
runpy.run_module("cgrad", run_name="__main__")
"""


def streamed_peak(rows: int) -> None:
    """cgrad fit over a Parquet file of ``rows`` rows, streamed and, for
    comparison, read into memory (which the default does below 256 MiB)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "network.parquet"
        rng = np.random.default_rng(1)
        schema = pa.schema([(n, pa.float64()) for n in ("x1", "x2", "y")])
        with pq.ParquetWriter(path, schema) as out:
            for start in range(0, rows, 1_000_000):
                out.write_table(pa.table(network_data(min(1_000_000, rows - start), rng)))
        model = Path(folder) / "network.cg"
        model.write_text(NETWORK, encoding="utf-8")
        size = path.stat().st_size / 2**20
        print(f"cgrad fit, {rows:,} rows of Parquet ({size:,.0f} MiB; "
              f"{rows * 3 * 8 / 2**20:,.0f} MiB as numbers), 2 epochs:")  # fmt: skip
        for how in ("--stream", "in memory"):
            command = [
                sys.executable, "-c", PEAK, "fit", f"@{model}", str(path), "--target", "y",
                "--epochs", "2", "--method", "gd", "--lr", str(LR), "--json", "-q",
            ]  # fmt: skip
            if how == "--stream":
                command.append(how)
            start = time.perf_counter()
            done = subprocess.run(
                command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            seconds = time.perf_counter() - start
            peak = int(done.stderr.split()[-2]) / 1024  # "VmHWM: N kB"
            print(f"  {how:<10} {seconds:6.1f} s, peak RSS {peak:,.0f} MiB")


def main() -> None:
    global REPEAT
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--stream-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()
    REPEAT = max(args.repeat, 1)
    print(f"steps per CPU second, full-batch gradient descent (cores: {os.cpu_count()})")
    # The ratios are each system's steps per CPU second over cgrad's, at its
    # default threads and on one thread (chunks.THREADS = 1): a thread's
    # hand-over costs CPU time, which one-thread peers do not pay.
    heading = f"{'workload':<24} {'rows':>10} {'who':<22} {'steps/s':>9}"
    print(f"{heading} {'/cgrad':>7} {'/1 thread':>9}")
    for name, (model, loss, make) in WORKLOADS.items():
        for rows in (int(r) for r in args.rows.split(",")):
            data = make(rows, np.random.default_rng(0))
            mine = cgrad_rate(model, loss, data)
            default_threads, chunks.THREADS = chunks.THREADS, 1
            alone = cgrad_rate(model, loss, data)
            chunks.THREADS = default_threads
            found: dict[str, float | str] = {"cgrad, 1 thread": alone, **peers(name, data)}
            first = f"{name:<24} {rows:>10,} {'cgrad':<22} {mine:>9.1f}"
            print(f"{first} {1:>7.2f} {mine / alone:>9.2f}")
            for who, rate_found in found.items():
                if isinstance(rate_found, str):
                    print(f"{'':<24} {'':>10} {who:<22} {rate_found}")
                else:
                    print(
                        f"{'':<24} {'':>10} {who:<22} {rate_found:>9.1f} "
                        f"{rate_found / mine:>7.2f} {rate_found / alone:>9.2f}"
                    )
    if args.stream_rows:
        streamed_peak(args.stream_rows)


if __name__ == "__main__":
    main()
