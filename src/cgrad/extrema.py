"""max and min: the forward fold and the edges of ties, named in their
entries of :mod:`cgrad.ops` (through :mod:`cgrad.elementary`).

Both are made for a check's points (:mod:`cgrad.check.differences`), where
a few of the many arguments of a wide max move at a time (arrays) and the
others stay single numbers: their work and memory go with the moving
arguments, plus one pass over the still ones as numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

import numpy as np


def minimum(*args):
    return _fold(np.minimum, args)


def maximum(*args):
    return _fold(np.maximum, args)


def _fold(better: Callable, args: tuple):
    """``reduce(better, args)``, each run of single numbers among arrays
    folded as numbers first (a check moves a few inputs of a wide max at a
    time: the others are numbers). The same bits: np.maximum keeps the
    last of equal arguments (+0 after -0 gives +0), in whatever grouping."""
    if len(args) <= 2:
        return reduce(better, args)
    folded = run = None
    for arg in args:
        if type(arg) is np.ndarray:
            if run is not None:
                folded = run if folded is None else better(folded, run)
                run = None
            folded = arg if folded is None else better(folded, arg)
        else:
            run = arg if run is None else better(run, arg)
    if run is not None:
        folded = run if folded is None else better(folded, run)
    return folded


def edges_of_extremum(better: Callable) -> Callable[..., tuple]:
    """Ties of min or max: for each argument, how far it is ahead of the
    best of the others (positive for the one chosen, zero at a tie).

    Over a check's points a few arguments move (arrays) while the others
    stay single numbers: only the moving ones, the best still one and the
    first still one behind it get a quantity over the points, which keeps
    a max of n inputs linear in n. Each other still argument's is its lead
    over the best still one, a number, which the crossings pass over: one
    tied with the best has the best one's quantity, and one behind it
    changes side where the first one behind does (see _still_ahead)."""
    sign = 1.0 if better is np.maximum else -1.0

    def edges(out, *args):
        if len(args) < 2:
            return ()
        moving = [k for k, arg in enumerate(args) if type(arg) is np.ndarray]
        still = [k for k, arg in enumerate(args) if type(arg) is not np.ndarray]
        values = np.array([args[k] for k in still], dtype=np.float64)
        best_still = better.reduce(values) if still else None
        ahead, best_moving = _ahead_of_others(better, sign, [args[k] for k in moving], best_still)
        quantities = [None] * len(args)
        for k, quantity in zip(moving, ahead, strict=True):
            quantities[k] = quantity
        if still:
            _still_ahead(better, sign, values, best_still, best_moving, still, quantities)
        return tuple(quantities)

    return edges


def _still_ahead(better, sign, values, best_still, best_moving, still, quantities) -> None:
    """The quantities of the still arguments (``values``, at positions
    ``still``), into ``quantities``: over the points for the best one (its
    first place) and for the first one behind it, as numbers for the others.
    One tied with the best has the best one's quantity, to the bit; one
    behind it stays behind whatever the moving ones do, negative where they
    are numbers and NaN where they are NaN, as the first one behind does."""
    first = int(np.argmax(values == best_still))
    rest = np.delete(values, first)
    others = better.reduce(rest) if rest.size else None
    rivals = [r for r in (others, best_moving) if r is not None]
    told_behind = best_moving is None  # over numbers alone each is its own
    for place, k in enumerate(still):
        rival = best_still
        if place == first:
            rival = reduce(better, rivals)
        elif not told_behind and values[place] != best_still:
            rival, told_behind = better(best_still, best_moving), True
        quantities[k] = sign * (values[place] - rival)


def _ahead_of_others(
    better: Callable, sign: float, arrays: list, best_still
) -> tuple[list, object]:
    """Each of ``arrays`` against the best of ``best_still`` (None: there
    is no still argument) and the other arrays, and the best array. The
    bests of the arrays after each are made from the end and let go as
    they are used, so that they and the quantities are about one array per
    moving argument together."""
    if not arrays:
        return [], None
    after = [None]  # after.pop(): the best of the arrays after the one reached
    for arg in reversed(arrays[1:]):
        after.append(arg if after[-1] is None else better(after[-1], arg))
    quantities = []
    before = None
    for arg in arrays:
        rivals = [r for r in (best_still, before, after.pop()) if r is not None]
        quantities.append(sign * (arg - reduce(better, rivals)))
        before = arg if before is None else better(before, arg)
    return quantities, before
