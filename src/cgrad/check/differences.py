"""Finite differences that never step over a kink, a pole or a domain edge.

**The ladder.** Input ``x`` is first moved by ``h = cbrt(eps) * max(1, |x|)``,
about ``6.1e-6 * max(1, |x|)``. A central difference has a truncation error
of about ``h^2 |f'''| / 6`` and a rounding error of about ``eps |f| / h``;
where ``f`` varies on the scale of ``max(1, |x|)`` their sum is smallest at
that ``h``. Not every function does (``sin(x)`` at ``x = 1e6`` turns several
times within ``h = 6``), so the difference is taken on a ladder of steps,
``2h, h, h/2, ... h/2^LADDER``, and the rung whose estimated error is
smallest is kept: how far its difference lies from those of its two
neighbours, plus its rounding error, ``ROUNDING eps |f|`` over the distance
between the two points. Choosing by the estimate alone, never by closeness
to the reverse-mode partial, keeps the check honest.

**The edges.** A rung that straddles a place where ``f`` is not smooth
gives a difference that agrees with its neighbours and is still wrong
(``1/x`` at ``1e-10`` with a step of ``6e-6``; ``abs(x)`` at ``1e-300``).
Each op declares its edges (:attr:`cgrad.ops.Op.edges`): quantities that
are zero on an edge and keep their sign on each side of it. Every point of
the ladder is evaluated with every node's value, and a rung counts only if
no edge quantity of any node changed sign (or became or stopped being NaN)
between the point and ``x`` plus or minus the step. Where the rungs below
the last one that crosses are too few, a new ladder starts under the
nearest edge, whose distance is estimated from the crossing quantity
(linearly, from its value at ``x`` and at the crossing rung), and so on for
at most ``ROUNDS`` ladders. Where even steps of ``FLOOR_ULPS`` units in the
last place of ``x`` (below which rounding of ``x + h`` decides the quotient)
cross an edge, or the ladders never get clear of one, the difference
cannot judge (``judged`` is False). An edge that the point lies on (its
quantity is zero at ``x``) is crossed by every step: the point is at a
kink, reported as such by the evaluation's warnings.

**Other ways a difference says nothing.** A step that moves f on neither
side was lost in rounding (inside the graph too: ``x + 1e10`` absorbs a
step below 1e-6), and its quotient of 0 is no evidence. A step is compared
with every finer rung clear of the edges, not only its neighbours: where
the step is longer than the scale f varies on (``sin(x)`` at 1e11), the
longer rungs agree with each other and are all wrong. And where f changes
by more than ``GRAIN`` of its size over the finest step (``sin(x)`` at
1e34, where float64 numbers are 2e18 apart), nothing is judged.

**Memory.** The perturbed points are evaluated through one plan in chunks
of inputs, with the inputs not being moved left as single numbers, so a
chunk holds about ``BUDGET`` numbers (its own inputs' columns counted)
whatever the number of inputs; a ladder keeps copies of its few numbers,
not views that would keep the chunk's columns alive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from ..autodiff.passes import Plan, forward
from .edges import Edges, absorbed, inner_rounding, mirrors

EPSILON = float(np.finfo(np.float64).eps)
# The first step of input x is STEP * max(1, |x|): cbrt(eps), about 6.1e-6.
STEP = EPSILON ** (1.0 / 3.0)
# Rungs below the first step, each half the one above.
LADDER = 20
RUNGS = LADDER + 2  # 2h, h, and the LADDER halvings of h
# A large input gets up to this many more rungs, down to steps of about
# 1e-11 (not 1e-11 |x|): f may vary on a scale of 1 there (sin(x) at 1e9).
MORE_RUNGS = 30
# Rounding allowed in each value a difference quotient subtracts, in units
# of eps |f| (a few ulps: the output of a graph is rounded at every node).
ROUNDING = 4.0
# Ladders tried per input, each starting under the nearest edge.
ROUNDS = 12
# Rungs clear of every edge that end the search (fewer: a new ladder).
ENOUGH = 14
# The smallest step, in units in the last place of x.
FLOOR_ULPS = 2.0
# A first move of f by at most this many units in its last place, after
# shorter steps left it unchanged, is its own rounding: f is flat there.
FLAT_ULPS = 4.0
# Or at a slope below this, under any tolerance of a check.
FLAT_SLOPE = 1e-9
# Or where its slope over twice the step is this many times larger.
TAIL_GROWTH = 4.0
# The most f may change, as a part of its size, over the finest step.
GRAIN = 0.01
# Numbers (node values times points) evaluated at once.
BUDGET = 1 << 23

Scheme = Literal["central", "forward", "backward"]


@dataclass(frozen=True, slots=True)
class Difference:
    """A finite difference, its own error estimate (NaN when it has none),
    the step taken and how; ``judged`` is False where no step stays clear
    of an edge, and ``edge`` the estimated distance to the nearest edge
    crossed (inf where none was)."""

    value: float
    error: float
    step: float
    scheme: Scheme
    judged: bool = True
    edge: float = math.inf


@dataclass(frozen=True, slots=True)
class _Rungs:
    """One ladder of one input: the points x + s and x - s as rounded, f
    there, whether each side crossed an edge, and the estimated distance to
    the edge crossed, as a fraction of the step."""

    ups: np.ndarray
    downs: np.ndarray
    f_ups: np.ndarray
    f_downs: np.ndarray
    crossed: np.ndarray
    reach: np.ndarray
    absorbed: np.ndarray  # per rung: a sum inside the graph swallowed the step
    noise: np.ndarray  # per side and rung: rounding inside the graph, carried to f


def finite_differences(
    plan: Plan, point: dict[str, float], names: list[str], centre: list | None = None
) -> dict[str, tuple[Difference, Difference]]:
    """For each input of ``names``: the difference clear of every edge, and
    the plain one (the best rung of the first ladder, edges or not), which
    is what a point on a kink shows. ``centre``: the node values at
    ``point`` (numpy scalars), if the caller has them."""
    # Infinities and NaNs beside the point are data here, not accidents.
    with np.errstate(all="ignore"):
        return _finite_differences(plan, point, names, centre)


def _finite_differences(
    plan: Plan, point: dict[str, float], names: list[str], centre: list | None
) -> dict[str, tuple[Difference, Difference]]:
    graph = plan.graph
    centre_inputs = {name: np.float64(point[name]) for name in graph.inputs}
    if centre is None:
        centre = forward(plan, centre_inputs)
    edges = Edges(plan, centre)
    f0 = float(centre[graph.output])
    found: dict[str, tuple[Difference, Difference]] = {}
    used = [name for name in names if name in graph.input_ids]
    for name in names:
        if name not in graph.input_ids:  # f does not depend on it
            zero = Difference(0.0, 0.0, _first_top(point[name]) / 2, "central")
            found[name] = (zero, zero)
    tops = {name: (_first_top(point[name]), _first_count(point[name])) for name in used}
    plain: dict[str, Difference] = {}
    edges_seen: dict[str, float] = {}
    raised: set[str] = set()  # inputs whose steps were all lost, now longer
    for round_number in range(ROUNDS):
        if not tops:
            break
        ladders = _evaluate_ladders(plan, edges, centre_inputs, tops)
        last_round = round_number == ROUNDS - 1
        next_tops = {}
        for name, rungs in ladders.items():
            x = point[name]
            if round_number == 0:
                best = _best(x, f0, rungs, np.ones(rungs.ups.size, dtype=bool))
                assert best is not None  # with every rung usable, _best always answers
                plain[name] = best
                if _nothing_moved(rungs, f0) and not last_round:
                    # Every step was lost in rounding, or f is flat: longer
                    # steps tell which (sin(x + 1e12) needs steps over 1e-4).
                    next_tops[name] = (tops[name][0] * 2.0**RUNGS, RUNGS)
                    raised.add(name)
                    continue
            settled = None
            if name in raised:
                raised.discard(name)
                settled = _flat(rungs, f0, plain[name])
            if settled is None:
                settled = _difference_or_next_top(x, f0, rungs, tops[name][0], last_round)
            if isinstance(settled, Difference):
                if not math.isfinite(settled.edge):  # clear of the edges seen before
                    settled = replace(settled, edge=edges_seen.get(name, math.inf))
                found[name] = (settled, plain[name])
            else:
                next_tops[name] = (settled, RUNGS)
                # The next ladder starts at half the distance to the edge.
                edges_seen[name] = min(edges_seen.get(name, math.inf), 2.0 * settled)
        tops = next_tops
    return {name: found[name] for name in names}


def _first_top(x: float) -> float:
    return 2.0 * STEP * max(1.0, abs(x))


def _flat(rungs: _Rungs, f0: float, lost: Difference) -> Difference | None:
    """After a ladder whose steps all left f unchanged (``lost``), the
    longer one in ``rungs``: f is flat where it first moves by no more than
    a few units in its last place, or at a slope below FLAT_SLOPE (tanh far
    into its tail), and its derivative is 0 to within that slope; where it
    jumps instead, the short steps were absorbed inside the graph, and the
    longer ladder judges (None)."""
    moved = np.flatnonzero((rungs.f_ups != f0) | (rungs.f_downs != f0))
    if moved.size == 0:
        if rungs.absorbed.any():  # not flat: no step float64 takes there gets through
            return Difference(math.nan, math.nan, lost.step, lost.scheme, False)
        return lost
    first = int(moved[-1])
    jump = max(abs(rungs.f_ups[first] - f0), abs(rungs.f_downs[first] - f0))
    bound = 2.0 * jump / abs(rungs.ups[first] - rungs.downs[first])
    # A tail (tanh far out) grows faster than the step: the slope at the
    # next longer step is many times this one. An absorbed step does not.
    coarser = bound
    if first > 0:
        coarser = max(abs(rungs.f_ups[first - 1] - f0), abs(rungs.f_downs[first - 1] - f0))
        coarser = 2.0 * coarser / abs(rungs.ups[first - 1] - rungs.downs[first - 1])
    tail = coarser > TAIL_GROWTH * bound
    if not (jump <= FLAT_ULPS * float(np.spacing(abs(f0))) or bound <= FLAT_SLOPE or tail):
        return None
    # Steps up to twice the lost one left f within half a unit in its last
    # place: that bounds its slope at x.
    return Difference(0.0, float(np.spacing(abs(f0))) / lost.step, lost.step, lost.scheme)


def _nothing_moved(rungs: _Rungs, f0: float) -> bool:
    return bool(np.all(rungs.f_ups == f0) and np.all(rungs.f_downs == f0))


def _first_count(x: float) -> int:
    if not math.isfinite(x) or abs(x) <= 1.0:
        return RUNGS
    return RUNGS + min(MORE_RUNGS, math.ceil(math.log2(abs(x))))


def _floor(x: float) -> float:
    return FLOOR_ULPS * float(np.spacing(abs(x))) if math.isfinite(x) else math.inf


def _difference_or_next_top(x: float, f0: float, rungs: _Rungs, top: float, last_round: bool):
    """The difference from this ladder, or the top of the next one."""
    count = rungs.ups.size
    steps = top * 0.5 ** np.arange(count)
    meaningful = steps >= _floor(x)
    crossing = np.flatnonzero(rungs.crossed[0] | rungs.crossed[1])
    if crossing.size == 0:
        # Steps below the floor are not taken, but still tell whether the
        # longer ones have settled.
        everything = np.ones(count, dtype=bool)
        found = _best(x, f0, rungs, meaningful, everything)
        if found is None:
            return Difference(math.nan, math.nan, float(steps[1]), "central")
        return _unless_grainy(found, rungs, everything)
    last = int(crossing[-1])
    below = (np.arange(count) > last) & meaningful
    fraction = float(np.nanmin(np.where(rungs.crossed[:, last], rungs.reach[:, last], np.inf)))
    if fraction == 0.0:
        # The point is on the edge: no step stays clear of it.
        return Difference(math.nan, math.nan, float(steps[last]), "central", False, 0.0)
    if not fraction < 1.0:
        fraction = 0.25  # the edge is not linear enough here to place it
    edge = fraction * steps[last]
    next_top = min(0.5 * edge, 0.5 * steps[last])
    if int(below.sum()) < ENOUGH and next_top >= _floor(x) and not last_round:
        return next_top
    found = _best(x, f0, rungs, below, np.arange(count) > last)
    if found is None or not math.isfinite(found.value):
        return Difference(math.nan, math.nan, float(steps[last]), "central", False, edge)
    judged = Difference(found.value, found.error, found.step, found.scheme, True, edge)
    return _unless_grainy(judged, rungs, np.arange(count) > last)


def _unless_grainy(found: Difference, rungs: _Rungs, evidence: np.ndarray) -> Difference:
    """``found``, or not judged where f changes by more than GRAIN of its
    size over the finest step of the ladder: the grid of float64 numbers
    near x is too coarse for f (sin(x) at 1e34), and rungs that agree do
    so by chance."""
    ups, downs, f_ups, f_downs = rungs.ups, rungs.downs, rungs.f_ups, rungs.f_downs
    seen = evidence & np.isfinite(f_ups) & np.isfinite(f_downs) & (ups != downs)
    if not seen.any():
        return found
    finest = int(np.flatnonzero(seen)[-1])
    size = max(float(np.max(np.abs(f_ups[seen]))), float(np.max(np.abs(f_downs[seen]))))
    if abs(f_ups[finest] - f_downs[finest]) <= GRAIN * size:
        return found
    return Difference(math.nan, math.nan, found.step, found.scheme, False, found.edge)


def _best(
    x: float, f0: float, rungs: _Rungs, usable_rungs: np.ndarray, evidence: np.ndarray | None = None
) -> Difference | None:
    """The rung among ``usable_rungs`` with the smallest estimated error,
    central if any has f finite on both sides, else one-sided. ``ups`` and
    ``downs`` are x + s and x - s as rounded (the quotient divides by the
    step really taken). ``evidence``: the rungs a rung's quotient is
    compared with (by default the usable ones)."""
    if evidence is None:
        evidence = usable_rungs
    # A step that moved f on neither side was lost in rounding, at the
    # output or inside (x + 1e10 absorbs a step below 1e-6): its quotient
    # 0 says nothing, unless too few steps move f to judge by.
    lost = (rungs.f_ups == f0) & (rungs.f_downs == f0)
    found = None
    if (evidence & ~lost).any():
        found = _pick(x, f0, rungs, usable_rungs & ~lost, evidence & ~lost)
    if found is None:
        found = _pick(x, f0, rungs, usable_rungs, evidence)
    if found is None and usable_rungs.all():
        found = Difference(math.nan, math.nan, float(abs(rungs.ups[1] - x)), "central")
    return found


def _pick(
    x: float, f0: float, rungs: _Rungs, usable_rungs: np.ndarray, evidence: np.ndarray
) -> Difference | None:
    ups, downs, f_ups, f_downs = rungs.ups, rungs.downs, rungs.f_ups, rungs.f_downs
    with np.errstate(all="ignore"):
        noise_up, noise_down = rungs.noise
        schemes: list[tuple[Scheme, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = [
            ("central", f_ups - f_downs, ups - downs, np.maximum(abs(f_ups), abs(f_downs)),
             noise_up + noise_down),
            ("forward", f_ups - f0, ups - x, np.maximum(abs(f_ups), abs(f0)), noise_up),
            ("backward", f0 - f_downs, x - downs, np.maximum(abs(f_downs), abs(f0)), noise_down),
        ]  # fmt: skip
        for scheme, rise, run, size, noise in schemes:
            quotients = rise / run
            rounding = (ROUNDING * EPSILON * size + noise) / run
            usable = (
                np.isfinite(quotients[1:-1])
                & usable_rungs[1:-1]
                & usable_rungs[:-2]
                & usable_rungs[2:]
            )
            estimates = _estimates(quotients, rounding, evidence & np.isfinite(quotients))
            usable &= np.isfinite(estimates)
            if np.any(usable):
                best = int(np.argmin(np.where(usable, estimates, np.inf)))
                return Difference(
                    float(quotients[1 + best]),
                    float(estimates[best]),
                    float(abs(run[1 + best]) / (2.0 if scheme == "central" else 1.0)),
                    scheme,
                )
    return None


def _estimates(quotients: np.ndarray, rounding: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """The error estimate of each rung but the first and last: how far its
    quotient lies from its neighbours', and from any finer rung's beyond
    what that one is itself unsure of (a step longer than the scale f
    varies on gives quotients that agree with their neighbours, all wrong:
    sin(x) at 1e11; a finer rung that disagrees with its own neighbours,
    rounding inside the graph, is no evidence), plus its own rounding."""
    inner = quotients[1:-1]
    neighbours = np.maximum(abs(inner - quotients[:-2]), abs(inner - quotients[2:]))
    count = quotients.size
    # How sure each rung is of itself: the last has one neighbour.
    own = np.empty(count)
    own[1:-1] = neighbours
    own[0] = abs(quotients[0] - quotients[1])
    own[-1] = abs(quotients[-1] - quotients[-2])
    own += rounding
    # Rung k against every finer rung j > k that can speak: a rung by rung
    # matrix at once (a ladder has a few dozen rungs), rows without one -inf.
    rows = np.arange(1, count - 1)[:, None]
    speaks = (np.arange(count) > rows) & (usable & np.isfinite(own))
    gaps = np.where(speaks, abs(inner[:, None] - quotients) - own, -np.inf)
    # (fmax: a NaN gap, like no gap, leaves 0)
    finer = np.fmax(0.0, gaps.max(axis=1) - rounding[1:-1])
    return np.maximum(neighbours, finer) + rounding[1:-1]


def _evaluate_ladders(
    plan: Plan, edges: Edges, centre: dict, tops: dict[str, tuple[float, int]]
) -> dict[str, _Rungs]:
    """Each input's ladder under its top, evaluated in chunks of inputs."""
    names = list(tops)
    nodes = max(1, len(plan.forward_steps))
    ladders = {}
    chunk: list[str] = []
    size = 0
    for name in names:
        chunk.append(name)
        size += 2 * tops[name][1]
        # The chunk's own inputs are arrays of its length too: with a wide
        # max of many inputs, more of them than nodes.
        if size * (nodes + len(chunk)) >= BUDGET:
            ladders.update(_evaluate_chunk(plan, edges, centre, chunk, tops))
            chunk, size = [], 0
    if chunk:
        ladders.update(_evaluate_chunk(plan, edges, centre, chunk, tops))
    return ladders


def _evaluate_chunk(
    plan: Plan, edges: Edges, centre: dict, chunk: list[str], tops: dict[str, tuple[float, int]]
) -> dict[str, _Rungs]:
    starts = np.cumsum([0] + [2 * tops[name][1] for name in chunk]).tolist()
    length = starts[-1]
    inputs = dict(centre)
    with np.errstate(all="ignore"):  # an infinite x makes NaN steps, and NaN differences
        for k, name in enumerate(chunk):
            x = float(centre[name])
            top, count = tops[name]
            column = np.full(length, x)
            steps = top * 0.5 ** np.arange(count)
            column[starts[k] : starts[k] + count] = x + steps
            column[starts[k] + count : starts[k + 1]] = x - steps
            inputs[name] = column
        values = forward(plan, inputs)
        outputs = np.broadcast_to(np.asarray(values[plan.graph.output], np.float64), (length,))
        mirror, up = mirrors(starts, [tops[name][1] for name in chunk])
        offsets = np.zeros(length)
        for k, name in enumerate(chunk):
            segment = slice(starts[k], starts[k + 1])
            offsets[segment] = np.abs(inputs[name][segment] - float(centre[name]))
        crossed, reach = edges.crossings(values, mirror, up, offsets)
        lost_inside = absorbed(edges.sums, values, length)
        noise = inner_rounding(edges.noisy, values, length)
    ladders = {}
    for k, name in enumerate(chunk):
        count = tops[name][1]
        upper = slice(starts[k], starts[k] + count)
        lower = slice(starts[k] + count, starts[k + 1])
        column = inputs[name]
        # Copies: a view would keep the chunk's whole column (and output)
        # alive for as long as the ladder, each input's column as long as
        # the chunk.
        ladders[name] = _Rungs(
            ups=column[upper].copy(),
            downs=column[lower].copy(),
            f_ups=outputs[upper].copy(),
            f_downs=outputs[lower].copy(),
            crossed=np.stack([crossed[upper], crossed[lower]]),
            reach=np.stack([reach[upper], reach[lower]]),
            absorbed=lost_inside[upper] | lost_inside[lower],
            noise=np.stack([noise[upper], noise[lower]]),
        )
    return ladders
