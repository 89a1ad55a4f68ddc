"""The benchmark of issue 7: cgrad next to its peers on five fixed workloads,
side by side in one run.

    python bench/run.py                    # W1-W5 at full size (about 7 minutes)
    python bench/run.py --quick            # small sizes, few runs: a smoke test
    python bench/run.py --only W1,W3 --json results.json
    python bench/run.py --only W3 --big    # adds n = 10^6 to W3 (minutes, gigabytes)

W1 one point, W2 a batch of points, W3 a big graph from a string, W4 the
start-up of the command line, W5 `cgrad batch` on a big CSV file. Every peer
that is installed runs in the same run (W1 in this process, each row of W2
in a process of its own, whole programs on the same machine straight
after), each checked against cgrad's numbers before it is timed; a peer
that is absent is skipped with a note. Each table gives the
median and the range of several runs and cgrad's time divided by the peer's
(below 1: cgrad is faster), then the issue's goals, met or not.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import importlib.metadata
import inspect
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import cgrad
from cgrad.autodiff import chunks

EXPRESSION = "sin(x*y) + exp(-z^2) * log(1 + x^2) / sqrt(y^2 + 1) + tanh(x - z) * (x + y) * z"
NUMEXPR_EXPRESSION = EXPRESSION.replace("^", "**")
# f's three partials as numexpr writes them, by hand (as ``hand``): one fused
# loop each, numexpr evaluating one expression per call.
NUMEXPR_PARTIALS = (
    "cos(x*y)*y + exp(-(z*z))*(2*x/(1 + x*x))/sqrt(y*y + 1)"
    " + (1 - tanh(x - z)**2)*(x + y)*z + tanh(x - z)*z",
    "cos(x*y)*x - exp(-(z*z))*log(1 + x*x)*y/(sqrt(y*y + 1)*(y*y + 1)) + tanh(x - z)*z",
    "-2*z*exp(-(z*z))*log(1 + x*x)/sqrt(y*y + 1)"
    " - (1 - tanh(x - z)**2)*(x + y)*z + tanh(x - z)*(x + y)",
)
# The rows that compute f alone: shown, but not the same work as the others'.
VALUE_ONLY = "value only"
NUMEXPR_ALL = (NUMEXPR_EXPRESSION, *NUMEXPR_PARTIALS)
POINT = {"x": 0.5, "y": -1.25, "z": 2.0}
# Two results agree when |a - b| <= TOLERANCE * max(1, |a|, |b|).
TOLERANCE = 1e-9
SEED = 7
# Pip names, for the note on an absent peer.
INSTALL = {
    "numpy": "numpy",
    "torch": "torch==2.14.0",
    "jax": "jax",
    "sympy": "sympy",
    "numexpr": "numexpr",
    "autograd": "autograd",
    "micrograd": "micrograd",
    "pandas": "pandas",
}


def expression(m, x, y, z):
    """f in any namespace with sin, exp, log, sqrt and tanh: the peers' one
    copy of it (torch, jax.numpy, autograd.numpy, sympy, micrograd)."""
    return (
        m.sin(x * y)
        + m.exp(-(z**2)) * m.log(1 + x**2) / m.sqrt(y**2 + 1)
        + m.tanh(x - z) * (x + y) * z
    )


def hand(m, x, y, z):
    """f and its three partials, differentiated by hand (m: math or numpy)."""
    s = m.sin(x * y)
    c = m.cos(x * y)
    g = m.exp(-(z * z))
    q = 1 + x * x
    lg = m.log(q)
    r = m.sqrt(y * y + 1)
    t = m.tanh(x - z)
    w = (x + y) * z
    value = s + g * lg / r + t * w
    dt = 1 - t * t
    dx = c * y + g * (2 * x / q) / r + dt * w + t * z
    dy = c * x - g * lg * y / (r * r * r) + t * z
    dz = -2 * z * g * lg / r - dt * w + t * (x + y)
    return value, dx, dy, dz


def sympy_lambdified(modules: str):
    """f and its three partials as one function by sympy's lambdify (with
    common subexpressions eliminated), on ``modules`` (math or numpy)."""
    import sympy

    symbols = sympy.symbols("x y z")
    f = expression(sympy, *symbols)
    formulas = [f, *(f.diff(s) for s in symbols)]
    return sympy.lambdify(symbols, formulas, modules=modules, cse=True)


def micrograd_ops() -> SimpleNamespace:
    """micrograd's Value has only +, *, ** and relu: the functions f needs,
    written the way micrograd writes its own ops (sqrt through **)."""
    from micrograd.engine import Value

    def unary(forward, slope, name):
        def op(a):
            out = Value(forward(a.data), (a,), name)

            def _backward():
                a.grad += slope(a.data, out.data) * out.grad

            out._backward = _backward
            return out

        return op

    return SimpleNamespace(
        Value=Value,
        sin=unary(math.sin, lambda a, _: math.cos(a), "sin"),
        cos=unary(math.cos, lambda a, _: -math.sin(a), "cos"),
        exp=unary(math.exp, lambda _, out: out, "exp"),
        log=unary(math.log, lambda a, _: 1 / a, "log"),
        tanh=unary(math.tanh, lambda _, out: 1 - out * out, "tanh"),
        sqrt=lambda a: a**0.5,
    )


# ---------------------------------------------------------------------------
# Timing, checking and tables.

FLOOR = "(the floor)"
ONE_CORE = "on one core"
# A row shown for what it explains, not a peer at its defaults: not in the goal.
REFERENCE = "(reference)"
# mallopt's parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
GNU_TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


@dataclass
class Row:
    who: str
    seconds: list[float] = field(default_factory=list)  # one sample per run
    note: str = ""
    cores: float | None = None  # CPU time / wall time: over 1 means threads
    extra: dict = field(default_factory=dict)
    call: object = field(default=None, repr=False)
    pinned: bool = False  # every thread of the process on one core while timed

    @property
    def timed(self) -> bool:
        return bool(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def as_json(self) -> dict:
        found = {"who": self.who, "note": self.note, "seconds": self.seconds}
        if self.timed:
            found.update(median=self.median, min=min(self.seconds), max=max(self.seconds))
        if self.cores is not None:
            found["cores"] = round(self.cores, 2)
        return found | self.extra


class Loop:
    """Calls ``call`` in loops long enough (``target`` seconds) that the
    clock's and the loop's own costs vanish; one sample is one loop."""

    def __init__(self, call, target: float) -> None:
        self.call = call
        call()  # first-call costs (jit compiling, caches) are not what we time
        loops = 1
        while True:
            spent, _ = self._run(loops)
            if spent >= target / 4 or loops >= 1 << 24:
                break
            loops *= 2
        self.loops = max(1, round(loops * target / max(spent, 1e-9)))
        self.wall = self.cpu = 0.0

    def _run(self, loops: int) -> tuple[float, float]:
        call = self.call
        cpu = time.process_time()
        start = time.perf_counter()
        for _ in range(loops):
            call()
        return time.perf_counter() - start, time.process_time() - cpu

    def sample(self) -> float:
        wall, cpu = self._run(self.loops)
        self.wall += wall
        self.cpu += cpu
        return wall / self.loops


def measure(rows: list[Row], runs: int, target: float) -> None:
    """Seconds per call of every row that has a call, round robin: one loop
    of each in turn, so that a slow spell of a noisy machine is shared out
    rather than landing on one contestant. A pinned row runs on one core."""
    loops = []
    for row in rows:
        if row.call is not None:
            with one_core(row.pinned):
                loops.append((row, Loop(row.call, target)))
    for _ in range(runs):
        for row, loop in loops:
            with one_core(row.pinned):
                row.seconds.append(loop.sample())
    for row, loop in loops:
        row.cores = loop.cpu / loop.wall


@contextmanager
def one_core(pinned: bool = True):
    """Every thread of this process on one core (Linux) for the block: a
    system that runs threads of its own (JAX's XLA, numexpr, cgrad's array
    passes) measured as on a machine of one core. Threads made in the block
    are given the whole machine back after it."""
    tasks = Path("/proc/self/task")
    if not pinned or not hasattr(os, "sched_setaffinity") or not tasks.exists():
        yield
        return
    whole = os.sched_getaffinity(0)
    before = {int(tid): os.sched_getaffinity(int(tid)) for tid in os.listdir(tasks)}
    for tid in before:
        os.sched_setaffinity(tid, {min(whole)})
    try:
        yield
    finally:
        for name in os.listdir(tasks):
            with contextlib.suppress(OSError):  # a thread that has ended
                os.sched_setaffinity(int(name), before.get(int(name), whole))


def repeated(call, runs: int) -> tuple[list[float], float]:
    """Seconds of single runs of a slow ``call``: ``runs`` of them, but 5 at
    most once one takes over a second, 3 over ten. The garbage of the last
    run is collected first, so that no run pays for another."""
    samples = []
    wall = cpu = 0.0
    while len(samples) < runs:
        gc.collect()
        cpu_start = time.process_time()
        start = time.perf_counter()
        call()
        spent = time.perf_counter() - start
        cpu += time.process_time() - cpu_start
        wall += spent
        samples.append(spent)
        runs = fewer_runs(runs, spent)
    return samples, cpu / wall


def fewer_runs(runs: int, seconds: float) -> int:
    return min(runs, 3 if seconds > 10 else 5 if seconds > 1 else runs)


def disagreement(got, want, names=("value", "d/dx", "d/dy", "d/dz")) -> str | None:
    """None if ``got`` agrees with cgrad's ``want`` at every point, else where not."""
    if len(got) == 0 or len(got) > len(want):
        return f"{len(got)} results where cgrad has {len(want)}"
    for name, a, b in zip(names, got, want, strict=False):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return f"{name} has shape {a.shape}, cgrad's {b.shape}"
        bound = TOLERANCE * np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
        wrong = ~(np.abs(a - b) <= bound) & ~(np.isnan(a) & np.isnan(b))
        if wrong.any():
            at = int(np.argmax(wrong))
            return f"{name} is {a.flat[at]!r} where cgrad has {b.flat[at]!r}"
    return None


def contest(ours: Row, peers, want) -> list[Row]:
    """cgrad's row, then one per peer. ``peers`` are (who, pip name, maker):
    a maker returns the call to time, or raises ImportError. A call whose
    result does not agree with ``want`` is reported and left untimed."""
    rows = [ours]
    for who, package, make in peers:
        row = Row(who)
        rows.append(row)
        try:
            call = make()
            problem = disagreement(call(), want)
        except ImportError:
            row.note = f"not installed (pip install {INSTALL[package]})"
            continue
        except Exception as error:  # noqa: BLE001 - a broken peer is reported, not fatal
            row.note = f"failed: {type(error).__name__}: {str(error)[:200]}"
            continue
        if problem is not None:
            row.note = f"WRONG, not timed: {problem}"
            continue
        row.call = call
    return rows


def number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def render(headers: list[str], lines: list[list[str]]) -> str:
    """A plain-text table: the first column to the left, the rest to the right."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *lines, strict=True)]
    out = []
    for cells in [headers, *lines]:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        out.append("  ".join(parts).rstrip())
    out.insert(1, "-" * max(len(line) for line in out))
    return "\n".join(out)


def comparison(rows: list[Row], unit: str, scale: float, extra=()) -> str:
    """The table of one contest, cgrad's row first. ``extra`` adds columns:
    (header, function from a timed row to its cell)."""
    ours = rows[0]
    headers = ["who", "median", "min–max", "unit", "cgrad ÷ peer", "cores"]
    headers += [header for header, _ in extra]
    lines = []
    for row in rows:
        if not row.timed:
            lines.append([f"{row.who}: {row.note}"] + [""] * (len(headers) - 1))
            continue
        ratio = f"{ours.median / row.median:.2f}" if row is not ours and ours.timed else ""
        lines.append(
            [
                row.who + (f" ({row.note})" if row.note else ""),
                number(row.median * scale),
                f"{number(min(row.seconds) * scale)}–{number(max(row.seconds) * scale)}",
                unit,
                ratio,
                "" if row.cores is None else f"{row.cores:.1f}",
                *(cell(row) for _, cell in extra),
            ]
        )
    return render(headers, lines)


def goal(text: str, met: bool | None, detail: str) -> dict:
    answer = {True: "yes", False: "NO", None: "not run"}[met]
    print(f"goal: {text}: {answer} ({detail})")
    return {"goal": text, "met": met, "detail": detail}


def heading(text: str) -> None:
    print()
    print(text)
    print("=" * len(text), flush=True)


def run_measured(command: list[str]) -> tuple[float, float | None, str]:
    """Wall seconds, peak RSS in MB and the standard output of ``command``.
    The peak comes from GNU time: this process's own rusage of children
    would count the forked copy of this (big) process before its exec."""
    prefix = [GNU_TIME, "-f", "%M"] if GNU_TIME else []
    start = time.perf_counter()
    done = subprocess.run(prefix + command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)[:120]} exited with {done.returncode}: {done.stderr[-600:]}"
        )
    peak = float(done.stderr.strip().splitlines()[-1]) / 1024 if GNU_TIME else None
    return seconds, peak, done.stdout


def cgrad_command() -> list[str]:
    """The `cgrad` a user runs: the console script beside this Python."""
    script = Path(sys.executable).with_name("cgrad")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cgrad"]


def import_jax():
    import jax

    # Without it JAX computes in float32, and the check would (rightly) fail.
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def import_torch():
    import torch

    # cgrad uses one core: so does every peer, for a like-for-like time.
    torch.set_num_threads(1)
    return torch


# ---------------------------------------------------------------------------
# W1: one point.


def w1(settings) -> dict:
    heading("W1  one point: f and its 3 partials at x=0.5, y=-1.25, z=2, per call")
    function = cgrad.compile(EXPRESSION)
    result = function.evaluate(**POINT)
    want = (result.value, *(result.gradient[name] for name in "xyz"))
    x, y, z = POINT.values()

    def floor():
        return lambda: hand(math, x, y, z)

    def sympy_peer():
        made = sympy_lambdified("math")
        return lambda: made(x, y, z)

    def jax_peer():
        jax, jnp = import_jax()
        both = jax.value_and_grad(lambda a, b, c: expression(jnp, a, b, c), argnums=(0, 1, 2))
        made = jax.jit(both)

        def call():
            value, partials = jax.block_until_ready(made(x, y, z))
            return value, *partials

        return call

    def autograd_peer():
        import autograd
        import autograd.numpy as anp

        made = autograd.value_and_grad(lambda a, b, c: expression(anp, a, b, c), argnum=(0, 1, 2))

        def call():
            value, partials = made(x, y, z)
            return value, *partials

        return call

    def micrograd_peer():
        ops = micrograd_ops()

        def call():
            inputs = [ops.Value(v) for v in (x, y, z)]
            out = expression(ops, *inputs)
            out.backward()
            return out.data, *(v.grad for v in inputs)

        return call

    def torch_peer():
        torch = import_torch()

        def call():
            inputs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, y, z)]
            out = expression(torch, *inputs)
            return out.detach(), *torch.autograd.grad(out, inputs)

        return call

    peers = [
        (f"Python math by hand {FLOOR}", "numpy", floor),
        ("sympy lambdify, cse", "sympy", sympy_peer),
        ("JAX jit", "jax", jax_peer),
        ("HIPS autograd", "autograd", autograd_peer),
        ("micrograd, ops added", "micrograd", micrograd_peer),
        ("PyTorch scalars, 1 thread", "torch", torch_peer),
    ]
    ours = Row("cgrad: compile once, evaluate", call=lambda: function.evaluate(x=x, y=y, z=z))
    rows = contest(ours, peers, want)
    measure(rows, settings.runs, settings.target)
    print(comparison(rows, "µs", 1e6))
    goals = [goal("W1 ≤ 10 µs per call", ours.median <= 10e-6, f"{ours.median * 1e6:.1f} µs")]
    return {"rows": [row.as_json() for row in rows], "goals": goals}


# ---------------------------------------------------------------------------
# W2: a batch of points.

# Hand numpy a slice at a time, so that the temporaries stay in the CPU
# cache: the fastest way we know to get these numbers from numpy.
FLOOR_CHUNK = 4096


def w2_peers(x, y, z) -> list:
    def numpy_peer():
        return lambda: hand(np, x, y, z)

    def floor():
        def call():
            out = np.empty((4, len(x)))
            for i in range(0, len(x), FLOOR_CHUNK):
                j = i + FLOOR_CHUNK
                out[0, i:j], out[1, i:j], out[2, i:j], out[3, i:j] = hand(
                    np, x[i:j], y[i:j], z[i:j]
                )
            return out

        return call

    def torch_peer():
        torch = import_torch()
        inputs = [torch.from_numpy(a).requires_grad_() for a in (x, y, z)]

        def call():
            out = expression(torch, *inputs)
            return out.detach(), *torch.autograd.grad(out, inputs, torch.ones_like(out))

        return call

    def jax_peer():
        jax, jnp = import_jax()

        def both(a, b, c):
            value, pull = jax.vjp(lambda a, b, c: expression(jnp, a, b, c), a, b, c)
            return value, *pull(jnp.ones_like(value))

        made = jax.jit(both)
        # On the device once, outside the timing: kinder to JAX than copying
        # the numpy arrays in on every call.
        inputs = [jnp.asarray(a) for a in (x, y, z)]
        return lambda: jax.block_until_ready(made(*inputs))

    def sympy_peer():
        made = sympy_lambdified("numpy")
        return lambda: made(x, y, z)

    def numexpr_peer(threads: int | None, formulas: tuple[str, ...]):
        def make():
            import numexpr

            # Its default: as many threads as cores (numexpr.detect_number_of_cores).
            count = threads or numexpr.detect_number_of_cores()
            inputs = {"x": x, "y": y, "z": z}

            def call():
                numexpr.set_num_threads(count)
                out = np.empty((len(formulas), len(x)))
                for row, formula in zip(out, formulas, strict=True):
                    numexpr.evaluate(formula, local_dict=inputs, out=row)
                return out

            return call

        return make

    def autograd_peer():
        import autograd
        import autograd.numpy as anp

        made = autograd.make_vjp(lambda a, b, c: expression(anp, a, b, c), argnum=(0, 1, 2))

        def call():
            pull, value = made(x, y, z)
            return value, *pull(np.ones_like(value))

        return call

    def untrimmed_numpy_peer():
        # glibc gives the heap's free top back to the system past a threshold,
        # and every call of hand then faults its temporaries in again. A
        # library that frees one big block (importing JAX does) raises that
        # threshold for the whole process: this row sets it outright.
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        return lambda: hand(np, x, y, z)

    return [
        ("numpy by hand", "numpy", numpy_peer),
        (f"numpy by hand, heap never trimmed {REFERENCE}", "numpy", untrimmed_numpy_peer),
        (f"numpy by hand, slices of {FLOOR_CHUNK:,} {FLOOR}", "numpy", floor),
        ("PyTorch, 1 thread", "torch", torch_peer),
        ("JAX jit", "jax", jax_peer),
        (f"JAX jit {ONE_CORE}", "jax", jax_peer),
        ("sympy lambdify, cse", "sympy", sympy_peer),
        ("numexpr", "numexpr", numexpr_peer(None, NUMEXPR_ALL)),
        ("numexpr, 1 thread", "numexpr", numexpr_peer(1, NUMEXPR_ALL)),
        (f"numexpr, {VALUE_ONLY}", "numexpr", numexpr_peer(None, NUMEXPR_ALL[:1])),
        (f"numexpr, 1 thread, {VALUE_ONLY}", "numexpr", numexpr_peer(1, NUMEXPR_ALL[:1])),
        ("HIPS autograd", "autograd", autograd_peer),
    ]


def w2(settings) -> dict:
    heading("W2  a batch: f and its 3 partials at n points drawn from [-2, 2], per call")
    print(
        f"each row in a process of its own; cgrad's array passes run in up to {chunks.THREADS} "
        f"threads here; {ONE_CORE}: every thread of the process pinned to one core while that "
        "row is timed; faults: the page faults of a call"
    )
    function = cgrad.compile(EXPRESSION)
    groups = []
    goals = []
    for n in settings.sizes:
        x, y, z = np.random.default_rng(SEED).uniform(-2, 2, (3, n))
        result = function.evaluate(x=x, y=y, z=z)
        want = (result.value, *(result.gradient[name] for name in "xyz"))
        names = ["cgrad", f"cgrad {ONE_CORE}", *(who for who, _, _ in w2_peers(x, y, z))]
        rows = [Row(who) for who in names]
        measure_apart(rows, n, want, settings.runs, settings.target)
        ours = rows[0]
        print(f"\nn = {n:,}")
        rate = ("Mpoints/s", lambda row, n=n: f"{n / row.median / 1e6:.1f}")
        faults = ("faults", lambda row: f"{row.extra.get('faults', 0):.0f}")
        print(comparison(rows, "ms", 1e3, [rate, faults]), flush=True)
        aside = (FLOOR, REFERENCE, VALUE_ONLY, "cgrad")
        ahead_of = [r for r in rows[1:] if r.timed and not any(a in r.who for a in aside)]
        behind = [f"{r.who} {r.median * 1e3:.3g} ms" for r in ahead_of if r.median <= ours.median]
        floors = [r for r in rows if r.timed and FLOOR in r.who]
        detail = f"cgrad {ours.median * 1e3:.3g} ms"
        detail += f"; behind {', '.join(behind)}" if behind else f" vs {len(ahead_of)} peers"
        if floors:
            detail += f"; the floor {floors[0].median * 1e3:.3g} ms"
        goals.append(goal(f"W2 n = {n:,}: faster than every peer", not behind, detail))
        if n == 10**6:
            met = ours.median <= 0.060
            goals.append(goal("W2 n = 10^6 ≤ 60 ms", met, f"{ours.median * 1e3:.1f} ms"))
        groups.append({"n": n, "rows": [row.as_json() for row in rows]})
        del x, y, z, result, want, rows, ours
        gc.collect()
    if 10**6 not in settings.sizes:
        goals.append(goal("W2 n = 10^6 ≤ 60 ms", None, "not in this run's sizes"))
    return {"groups": groups, "goals": goals}


def measure_apart(rows: list[Row], n: int, want, runs: int, target: float) -> None:
    """:func:`measure` for W2, each row in a process of its own (run.py
    ``--w2-worker``, :func:`w2_worker`), so that no peer runs in a heap
    another has shaped: importing one library can change how the C
    allocator treats the next one's temporaries. The workers wait their
    turn, one sample each, round robin."""
    workers = []
    # (the stack closes every worker's pipes and error file, and waits for it)
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        for index, row in enumerate(rows):
            results = Path(folder, f"{index}.npz")
            errors = stack.enter_context(Path(folder, f"{index}.err").open("w+"))
            command = [sys.executable, __file__, "--w2-worker", row.who, str(n), str(target)]
            worker = stack.enter_context(
                subprocess.Popen(
                    [*command, str(results)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                )
            )
            said = _told(worker, errors)
            if "note" in said:
                row.note = said["note"]
                continue
            with np.load(results) as got:
                problem = disagreement([got[f"arr_{k}"] for k in range(len(got.files))], want)
            if problem is not None:
                row.note = f"WRONG, not timed: {problem}"
                _told(worker, errors, "end")
                continue
            workers.append((row, worker, errors))
        for _ in range(runs):
            for row, worker, errors in workers:
                row.seconds.append(_told(worker, errors, "sample")["seconds"])
        for row, worker, errors in workers:
            said = _told(worker, errors, "end")
            row.cores = said["cores"]
            row.extra["faults"] = said["faults"]


def _told(worker: subprocess.Popen, errors, ask: str | None = None) -> dict:
    """A worker's answer (one JSON line) to ``ask``, or a note of how it failed."""
    assert worker.stdin is not None and worker.stdout is not None
    if ask is not None:
        worker.stdin.write(ask + "\n")
        worker.stdin.flush()
    for line in worker.stdout:
        if line.startswith("{"):
            return json.loads(line)
    errors.seek(0)
    last = errors.read().strip().splitlines()[-1:] or ["no output"]
    return {"note": f"failed: the worker ended: {last[0][:200]}"}


def w2_worker(who: str, n: int, target: float, results: str) -> None:
    """One row of W2 in this process (see :func:`measure_apart`): its
    results into ``results`` (.npz), then one sample per ``sample`` line on
    stdin, and at ``end`` the cores it used and its page faults a call."""
    x, y, z = np.random.default_rng(SEED).uniform(-2, 2, (3, n))
    pinned = ONE_CORE in who

    def say(answer: dict) -> None:
        print(json.dumps(answer), flush=True)

    if who.startswith("cgrad"):
        function = cgrad.compile(EXPRESSION)

        def call():
            return function.evaluate(x=x, y=y, z=z)

        found = call()
        got = (found.value, *(found.gradient[name] for name in "xyz"))
    else:
        package, make = {w: (p, m) for w, p, m in w2_peers(x, y, z)}[who]
        try:
            call = make()
            got = call()
        except ImportError:
            return say({"note": f"not installed (pip install {INSTALL[package]})"})
        except Exception as error:  # noqa: BLE001 - a broken peer is reported, not fatal
            return say({"note": f"failed: {type(error).__name__}: {str(error)[:200]}"})
    np.savez(results, *(np.asarray(a, dtype=np.float64) for a in got))
    del got
    with one_core(pinned):
        loop = Loop(call, target)
    say({"ready": True})
    faults = calls = 0
    for line in sys.stdin:
        if line.strip() != "sample":
            break
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        with one_core(pinned):
            seconds = loop.sample()
        faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        calls += loop.loops
        say({"seconds": seconds})
    say({"cores": loop.cpu / max(loop.wall, 1e-12), "faults": faults / max(calls, 1)})


# ---------------------------------------------------------------------------
# W3: a big graph from a string.

W3_SHAPES = {"chain": "xyz", "sum": "x"}  # each shape and the inputs it uses
# read: the text parsed and the graph built in one pass (cgrad.compile's
# graph_of_text); plan: the passes worked out, once per compiled function.
STAGES = ("read", "plan", "forward", "backward")


def w3_text(shape: str, n: int) -> str:
    if shape == "chain":  # t = sin(t)*y + z, n times around x
        return "sin(" * n + "x" + ")*y + z" * n
    return " + ".join(f"sin(x*{i})" for i in range(1, n + 1))


def w3_build(m, shape: str, n: int, x, y, z):
    """The same graph, built by Python for the peers, in the same order of
    operations as cgrad's parse of :func:`w3_text`."""
    if shape == "chain":
        t = x
        for _ in range(n):
            t = m.sin(t) * y + z
        return t
    total = m.sin(x * 1)
    for i in range(2, n + 1):
        total = total + m.sin(x * i)
    return total


def w3_case(shape: str, n: int, lift_limits: bool) -> None:
    """One cgrad run of one W3 case, in a process of its own (so that its
    peak memory is its own): the stages' seconds, as JSON on stdout."""
    from cgrad.autodiff.floats import FLOATS, forward_on_floats
    from cgrad.autodiff.passes import backward, plan
    from cgrad.autodiff.reading import graph_of_text
    from cgrad.parse import parser

    text = w3_text(shape, n)
    report = {"characters": len(text), "over_limits": len(text) > parser.MAX_CHARACTERS}
    if lift_limits:
        # The limits guard the command line against runaway input; this run
        # is about what the stages cost beyond them.
        parser.MAX_CHARACTERS = parser.MAX_TOKENS = parser.MAX_DEPTH = sys.maxsize
    # As cgrad.compile and evaluate do: see function._collector_paused.
    gc.disable()
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        graph = graph_of_text(text)
        read = time.perf_counter()
        passes = plan(graph)
        planned = time.perf_counter()
        # As Function.evaluate does at one point: the passes on floats.
        values = forward_on_floats(passes, [POINT[name] for name in graph.inputs])
        forwarded = time.perf_counter()
        adjoints = backward(passes, values, m=FLOATS, seed=1.0)
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    except cgrad.CgradError as error:
        print(json.dumps(report | {"error": str(error).splitlines()[0]}))
        return
    report |= {
        "nodes": len(graph),
        "read": read - start,
        "plan": planned - read,
        "forward": forwarded - planned,
        "backward": done - forwarded,
        "cpu": cpu,
        "value": float(values[graph.output]),
        "gradient": {name: float(adjoints[graph.input_ids[name]]) for name in graph.inputs},
    }
    print(json.dumps(report), flush=True)
    # Freeing millions of nodes one by one takes seconds and measures nothing.
    os._exit(0)


def w3_peers(shape: str, n: int) -> list:
    used = len(W3_SHAPES[shape])

    def micrograd_peer():
        ops = micrograd_ops()
        # micrograd sorts its graph with a recursive function, as deep as the graph.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * n + 10_000))

        def call():
            inputs = [ops.Value(POINT[name]) for name in "xyz"]
            out = w3_build(ops, shape, n, *inputs)
            out.backward()
            return out.data, *(v.grad for v in inputs[:used])

        return call

    def torch_peer():
        torch = import_torch()

        def call():
            inputs = [
                torch.tensor(POINT[name], dtype=torch.float64, requires_grad=True) for name in "xyz"
            ]
            out = w3_build(torch, shape, n, *inputs)
            return out.detach(), *torch.autograd.grad(out, inputs[:used])

        return call

    return [
        ("micrograd, ops added", "micrograd", micrograd_peer),
        ("PyTorch scalars, 1 thread", "torch", torch_peer),
    ]


def w3(settings) -> dict:
    heading("W3  a big graph from a string, to value and gradient at x=0.5, y=-1.25, z=2")
    print("chain: sin(sin(...sin(x)*y + z...)*y + z)*y + z, n deep;")
    print("sum: sin(x*1) + sin(x*2) + ... + sin(x*n). cgrad parses the string;")
    print("the peers build the same graph from Python. Seconds, end to end.")
    stage_lines = []
    cases = []
    for n in settings.graph_sizes:
        for shape in W3_SHAPES:
            runs = []
            budget = settings.runs
            while len(runs) < budget:
                command = [sys.executable, __file__, "--w3-case", shape, str(n)]
                if n > 10**5:
                    command.append("--lift-limits")
                _, peak, out = run_measured(command)
                report = json.loads(out)
                if "error" in report:
                    break
                report["peak_mb"] = peak
                report["total"] = sum(report[stage] for stage in STAGES)
                runs.append(report)
                budget = fewer_runs(budget, report["total"])
            title = f"{shape}, n = {n:,}"
            if not runs:
                print(f"\n{title}: cgrad refused it: {report['error']}")
                cases.append({"shape": shape, "n": n, "error": report["error"]})
                continue
            ours = Row("cgrad: read, plan, forward, backward")
            ours.seconds = [r["total"] for r in runs]
            stages = {s: statistics.median(r[s] for r in runs) for s in STAGES}
            peaks = [r["peak_mb"] for r in runs if r["peak_mb"] is not None]
            peak = statistics.median(peaks) if peaks else None
            ours.extra = {"stages": stages, "peak_mb": peak, "peak_mb_max": max(peaks or [0])}
            ours.extra["cpu"] = statistics.median(r["cpu"] for r in runs)
            ours.extra["nodes"] = runs[0]["nodes"]
            if runs[0]["over_limits"]:
                ours.note = "cgrad's parser limits lifted"
                ours.extra["note"] = (
                    f"{runs[0]['characters']:,} characters: over cgrad's limit of 8 MiB, "
                    "so cgrad.compile and the CLI refuse it; measured with the limits lifted"
                )
            want = (runs[0]["value"], *runs[0]["gradient"].values())
            if n <= settings.peer_cap:
                rows = contest(ours, w3_peers(shape, n), want)
                for row in rows[1:]:
                    if row.call is not None:
                        row.seconds, row.cores = repeated(row.call, settings.runs)
                        row.call = None
                        gc.collect()
            else:
                rows = [ours] + [
                    Row(who, note=f"not run above --peer-cap {settings.peer_cap:,}")
                    for who, _, _ in w3_peers(shape, n)
                ]
            print(f"\n{title} ({ours.extra['nodes']:,} nodes)")
            print(comparison(rows, "s", 1), flush=True)
            stage_lines.append(
                [shape, f"{n:,}", f"{ours.extra['nodes']:,}"]
                + [number(stages[s]) for s in STAGES]
                + [number(ours.median), f"{number(min(ours.seconds))}–{number(max(ours.seconds))}"]
                + [number(ours.extra["cpu"]), "n/a" if peak is None else f"{peak:,.0f}"]
            )
            cases.append({"shape": shape, "n": n, "rows": [row.as_json() for row in rows]})
    print("\ncgrad by stage (medians, seconds) and peak memory of the whole process")
    headers = ["shape", "n", "nodes", *STAGES, "total", "min–max", "CPU s", "peak RSS MB"]
    print(render(headers, stage_lines))
    found = {(c["shape"], c["n"]): c for c in cases}
    goals = []
    for n, limit, memory in ((10**5, 1.5, None), (10**6, 15, 1536)):
        for shape in W3_SHAPES:
            case = found.get((shape, n))
            text = f"W3 {shape} n = 10^{round(math.log10(n))} ≤ {limit} s"
            if memory:
                text += f", peak ≤ {memory / 1024:g} GB"
            if case is None:
                why = "not in this run's sizes" + (" (--big adds it)" if n > 10**5 else "")
                goals.append(goal(text, None, why))
                continue
            if "error" in case:
                goals.append(goal(text, False, case["error"]))
                continue
            row = case["rows"][0]
            met = row["median"] <= limit
            detail = f"{row['median']:.2f} s"
            if memory:
                met = met and row["peak_mb_max"] <= memory
                detail += f", peak {row['peak_mb_max']:,.0f} MB"
            if row["note"]:
                detail += f", {row['note']}"
            goals.append(goal(text, met, detail))
    return {"cases": cases, "goals": goals}


# ---------------------------------------------------------------------------
# W4: a cold start.

SYMPY_SCRIPT = """\
import json, sympy
x, y, z = sympy.symbols("x y z")
f = sympy.sympify("(x+y)*z")
at = {x: 1, y: 2, z: 3}
gradient = {str(v): float(f.diff(v).subs(at)) for v in (x, y, z)}
print(json.dumps({"value": float(f.subs(at)), "gradient": gradient}))
"""


def w4(settings) -> dict:
    heading('W4  a cold start: the whole process of `cgrad eval "(x+y)*z" ... --json`')
    python = sys.executable
    ours = Row('cgrad eval "(x+y)*z" --x 1 --y 2 --z 3 --json')
    ours.extra["command"] = cgrad_command() + "eval (x+y)*z --x 1 --y 2 --z 3 --json".split()
    rows = [ours]
    for who, command in (
        ("python -c pass", [python, "-c", "pass"]),
        ('python -c "import numpy"', [python, "-c", "import numpy"]),
        # What cgrad's start-up costs before it reads its arguments.
        ('python -c "import cgrad.cli"', [python, "-c", "import cgrad.cli"]),
        ("sympy script: sympify, diff, subs, json", [python, "-c", SYMPY_SCRIPT]),
    ):
        rows.append(Row(who, extra={"command": command}))
    printed = json.loads(subprocess.run(ours.extra["command"], capture_output=True).stdout)
    want = (printed["value"], *printed["gradient"].values())
    sympy_row = rows[-1]
    try:
        import sympy  # noqa: F401 - only whether it is there
    except ImportError:
        sympy_row.note = f"not installed (pip install {INSTALL['sympy']})"
        sympy_row.extra.pop("command")
    else:
        done = subprocess.run(sympy_row.extra["command"], capture_output=True, text=True)
        theirs = json.loads(done.stdout)
        problem = disagreement((theirs["value"], *theirs["gradient"].values()), want)
        if problem is not None:
            sympy_row.note = f"WRONG, not timed: {problem}"
            sympy_row.extra.pop("command")
    contenders = [row for row in rows if "command" in row.extra]
    # As on a user's machine, where `pip install` compiles bytecode and any
    # first run caches it: a PYTHONDONTWRITEBYTECODE in this environment
    # would make every run compile cgrad's source again (about 55 ms).
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("(PYTHONDONTWRITEBYTECODE is set here; W4 runs without it, with bytecode cached)")
    for row in contenders:  # once untimed: warm file caches, bytecode written
        subprocess.run(row.extra["command"], capture_output=True, check=True, env=environment)
    cpu: dict[str, list[float]] = {row.who: [] for row in contenders}
    for _ in range(settings.runs):
        for row in contenders:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(row.extra["command"], capture_output=True, check=True, env=environment)
            row.seconds.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[row.who].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(comparison(rows, "ms", 1e3))
    # CPU time (user + system) moves less than wall time on a shared machine.
    for row in contenders:
        row.extra["cpu_ms"] = statistics.median(cpu[row.who]) * 1e3
        print(f"  CPU median {row.extra['cpu_ms']:6.1f} ms  {row.who}")
    numpy_row = rows[2]
    gap = ours.median - numpy_row.median
    goals = [
        goal(
            "W4 within 30 ms of `import numpy`",
            gap <= 0.030,
            f"{ours.median * 1e3:.0f} ms, import numpy {numpy_row.median * 1e3:.0f} ms: "
            f"{gap * 1e3:+.0f} ms (CPU {ours.extra['cpu_ms'] - numpy_row.extra['cpu_ms']:+.0f} ms)",
        )
    ]
    return {"rows": [row.as_json() for row in rows], "goals": goals}


# ---------------------------------------------------------------------------
# W5: batch from a file.

PANDAS_SCRIPT = """\
import sys

import numpy as np
import pandas as pd

{hand}

source, target, kind = sys.argv[1:]
frame = pd.read_csv(source)
value, dx, dy, dz = hand(np, *(frame[name].to_numpy() for name in "xyz"))
frame = frame.assign(value=value, grad_x=dx, grad_y=dy, grad_z=dz)
frame.insert(0, "row", np.arange(1, len(frame) + 1))
if kind == "ndjson":
    # 15 digits, the most pandas writes (its default is 10).
    frame.to_json(target, orient="records", lines=True, double_precision=15)
else:
    frame.to_csv(target, index=False)
"""


def read_numbers(path: Path, kind: str) -> list[tuple[float, ...]]:
    """(value, d/dx, d/dy, d/dz) per row of cgrad's or the pandas script's output."""
    with open(path) as file:
        if kind == "csv":
            fields = ("value", "grad_x", "grad_y", "grad_z")
            return [tuple(float(r[f]) for f in fields) for r in csv.DictReader(file)]
        records = [json.loads(line) for line in file]
    return [
        (r["value"], *(r["gradient"][n] if "gradient" in r else r[f"grad_{n}"] for n in "xyz"))
        for r in records
    ]


def w5_check(folder: Path, commands, pandas_note: str) -> dict[str, str | None]:
    """cgrad batch must agree with cgrad.compile, and the pandas script with
    cgrad batch, on a few points (W1's first), in both formats: per format,
    what the pandas script gets wrong (None: nothing)."""
    small = folder / "check.csv"
    points = np.random.default_rng(SEED).uniform(-2, 2, (5, 3))
    points[0] = list(POINT.values())
    np.savetxt(small, points, fmt="%.17g", delimiter=",", header="x,y,z", comments="")
    direct = cgrad.compile(EXPRESSION).evaluate(x=points[:, 0], y=points[:, 1], z=points[:, 2])
    direct = (direct.value, *(direct.gradient[n] for n in "xyz"))
    problems = {}
    for kind in ("ndjson", "csv"):
        out = folder / f"check_out.{kind}"
        ours, theirs = commands(small, kind, out)
        run_measured(ours)
        from_cgrad = list(zip(*read_numbers(out, kind), strict=True))
        problem = disagreement(from_cgrad, direct)
        if problem is not None:
            raise SystemExit(f"cgrad batch disagrees with cgrad.compile: {problem}")
        problems[kind] = None
        if not pandas_note:
            run_measured(theirs)
            problems[kind] = disagreement(
                list(zip(*read_numbers(out, kind), strict=True)), from_cgrad
            )
    return problems


def w5(settings) -> dict:
    rows_count = settings.rows
    heading(f"W5  batch from a file: {rows_count:,}-row CSV (x, y, z) to NDJSON and to CSV")
    if GNU_TIME is None:
        print("(GNU time is not installed: no peak memory)")
    results = []
    goals = []
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        script = folder / "pandas_job.py"
        script.write_text(PANDAS_SCRIPT.format(hand=inspect.getsource(hand)))
        try:
            import pandas  # noqa: F401 - only whether it is there

            pandas_note = ""
        except ImportError:
            pandas_note = f"not installed (pip install {INSTALL['pandas']})"

        def commands(source: Path, kind: str, out: Path) -> tuple[list[str], list[str]]:
            ours = [*cgrad_command(), "batch", str(source), "-e", EXPRESSION]
            ours += ["--format", kind, "-o", str(out), "-q"]
            return ours, [sys.executable, str(script), str(source), str(out), kind]

        problems = w5_check(folder, commands, pandas_note)
        source = folder / "points.csv"
        x, y, z = np.random.default_rng(SEED).uniform(-2, 2, (3, rows_count))
        with open(source, "w") as file:
            file.write("x,y,z\n")
            np.savetxt(file, np.column_stack([x, y, z]), fmt="%.6f", delimiter=",")
        del x, y, z
        print(f"(the input: {source.stat().st_size / 1e6:.0f} MB; {settings.slow_runs} runs each)")
        # Streaming means the peak does not grow with the file: a tenth of it.
        tenth = folder / "tenth.csv"
        with open(source) as whole, open(tenth, "w") as part:
            for _, line in zip(range(rows_count // 10 + 1), whole, strict=False):
                part.write(line)
        command, _ = commands(tenth, "ndjson", folder / "tenth.ndjson")
        _, peak_tenth, _ = run_measured(command)
        for kind in ("ndjson", "csv"):
            out = folder / f"out.{kind}"
            ours_command, their_command = commands(source, kind, out)
            ours = Row(f"cgrad batch → {kind}", extra={"peak_mb": []})
            peer = Row(f"pandas + numpy by hand → {kind}", extra={"peak_mb": []})
            contenders = [(ours, ours_command)]
            if pandas_note:
                peer.note = pandas_note
            elif problems[kind] is not None:
                peer.note = f"WRONG, not timed: {problems[kind]}"
            else:
                contenders.append((peer, their_command))
            for run in range(settings.slow_runs):
                for row, command in contenders:
                    seconds, peak, _ = run_measured(command)
                    row.seconds.append(seconds)
                    row.extra["peak_mb"].append(peak)
                    if run == 0:  # the whole job, not a part of it
                        with open(out, "rb") as file:
                            lines = sum(1 for _ in file)
                        expected = rows_count + (kind == "csv")
                        if lines != expected:
                            raise SystemExit(f"{row.who} wrote {lines:,} lines, not {expected:,}")
            rows = [ours, peer]
            for row in rows:
                peaks = [p for p in row.extra["peak_mb"] if p is not None]
                row.extra["peak_mb"] = max(peaks) if peaks else None
                if row.timed:
                    row.extra["rows_per_s"] = rows_count / row.median
            extra = [
                ("rows/s", lambda row: f"{row.extra['rows_per_s']:,.0f}"),
                (
                    "peak RSS MB",
                    lambda row: (
                        "n/a" if row.extra["peak_mb"] is None else f"{row.extra['peak_mb']:,.0f}"
                    ),
                ),
            ]
            print()
            print(comparison(rows, "s", 1, extra), flush=True)
            results.append({"format": kind, "rows": [row.as_json() for row in rows]})
            if peer.timed:
                detail = f"cgrad {ours.median:.2f} s, pandas {peer.median:.2f} s"
                goals.append(
                    goal(f"W5 → {kind}: ahead of pandas", ours.median < peer.median, detail)
                )
            else:
                goals.append(goal(f"W5 → {kind}: ahead of pandas", None, peer.note))
            rate = ours.extra["rows_per_s"]
            goals.append(goal(f"W5 → {kind}: ≥ 1,000,000 rows/s", rate >= 1e6, f"{rate:,.0f}"))
            peak = ours.extra["peak_mb"]
            if peak is not None:
                detail = f"{peak:,.0f} MB; {peak_tenth:,.0f} MB on a tenth of the rows"
                goals.append(goal(f"W5 → {kind}: peak RSS ≤ 300 MB", peak <= 300, detail))
    return {"rows": rows_count, "formats": results, "goals": goals, "peak_mb_tenth": peak_tenth}


# ---------------------------------------------------------------------------
# The machine, and the run.


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    memory = None
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in file if ln.startswith("model name")), cpu
            )
        with open("/proc/meminfo") as file:
            kib = next(int(ln.split()[1]) for ln in file if ln.startswith("MemTotal"))
            memory = round(kib / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for name in ("cgrad", "numpy", "torch", "jax", "jaxlib", "sympy", "numexpr", "autograd",
                 "micrograd", "pandas"):  # fmt: skip
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        commit = commit + (" with uncommitted changes" if changed else "")
    except OSError:
        commit = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit or "unknown",
        "versions": versions,
    }


WORKLOADS = {"W1": w1, "W2": w2, "W3": w3, "W4": w4, "W5": w5}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The benchmark of issue 7: cgrad next to every installed peer on W1 one "
        "point, W2 a batch of points, W3 a big graph from a string, W4 a cold start and W5 "
        "`cgrad batch` on a big CSV. Prints a table per workload and the goals met.",
    )
    parser.add_argument(
        "--quick", action="store_true",
        help="smaller sizes and fewer runs: a smoke test of under a minute",
    )  # fmt: skip
    parser.add_argument("--only", metavar="W1,W3", help="run only these workloads")
    parser.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    parser.add_argument(
        "--big", action="store_true",
        help="add n = 10^6 to W3 (cgrad only; minutes and gigabytes)",
    )  # fmt: skip
    parser.add_argument(
        "--peer-cap", type=int, default=10**5, metavar="N",
        help="the largest W3 n the peers run (default 100000)",
    )  # fmt: skip
    parser.add_argument(
        "--runs",
        type=int,
        metavar="K",
        help="runs per measurement (default 7, --quick 3; fewer for slow cases)",
    )
    # One W3 case in a process of its own: run.py starts itself with it.
    parser.add_argument("--w3-case", nargs=2, metavar=("SHAPE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--lift-limits", action="store_true", help=argparse.SUPPRESS)
    # One W2 row in a process of its own: run.py starts itself with it.
    parser.add_argument(
        "--w2-worker", nargs=4, metavar=("WHO", "N", "TARGET", "NPZ"), help=argparse.SUPPRESS
    )
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.w2_worker:
        who, n, target, results = args.w2_worker
        w2_worker(who, int(n), float(target), results)
        return
    if args.w3_case:
        shape, n = args.w3_case
        w3_case(shape, int(n), args.lift_limits)
        return
    chosen = [w.strip().upper() for w in (args.only or ",".join(WORKLOADS)).split(",") if w.strip()]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        raise SystemExit(f"run.py: unknown workload {', '.join(unknown)} (W1 to W5)")
    quick = args.quick
    settings = SimpleNamespace(
        runs=args.runs or (3 if quick else 7),
        slow_runs=args.runs or (2 if quick else 5),
        target=0.05 if quick else 0.2,
        sizes=[10**4, 10**5] if quick else [10**4, 10**5, 10**6],
        graph_sizes=([10**3, 10**4] if quick else [10**3, 10**4, 10**5])
        + ([10**6] if args.big else []),
        peer_cap=min(args.peer_cap, 10**4) if quick else args.peer_cap,
        rows=10**5 if quick else 10**6,
    )
    started = time.perf_counter()
    found = machine()
    print(
        f"machine: {found['cpu']}, {found['cores']} cores, {found['memory_gb']} GB; {found['os']}"
    )
    print(f"{found['python']}; load average {found['load_average']} at the start; {found['date']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found["versions"].items()))
    print(f"cgrad commit {found['commit']}")
    print(
        f"median and min–max of {settings.runs} runs; W5 {settings.slow_runs}; W3 at most 5 "
        "for a case over 1 s, 3 over 10 s;"
    )
    print("cgrad ÷ peer below 1: cgrad is faster; cores: CPU time over wall time")
    results = {}
    for name in chosen:
        results[name] = WORKLOADS[name](settings)
    seconds = time.perf_counter() - started
    heading("Goals")
    for name in chosen:
        for item in results[name]["goals"]:
            answer = {True: "yes", False: "NO", None: "not run"}[item["met"]]
            print(f"{answer:>7}  {item['goal']} ({item['detail']})")
    load = [round(v, 2) for v in os.getloadavg()]
    print(f"\nthe whole run took {seconds:.0f} s; load average {load} at the end")
    if args.json:
        document = {"machine": found, "settings": vars(settings), "seconds": seconds}
        document["workloads"] = results
        Path(args.json).write_text(json.dumps(document, indent=1) + "\n")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
