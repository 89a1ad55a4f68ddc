"""Contour lines of a function of two inputs, for the page of ``minimize
--html``: the function evaluated by cgrad on a grid (one vectorised call),
and the lines found by marching squares, as SVG path data.

Pure geometry apart from the one evaluation: a grid of n × n points costs
one call and O(n²) work per level.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..function import Function

GRID = 81
LEVELS = 12

# Marching squares: per cell case (bit 0 the corner at (i, j), 1 at
# (i, j+1), 2 at (i+1, j+1), 3 at (i+1, j); set when the corner is above
# the level), the pairs of cell sides a line crosses: 0 bottom (i, j..j+1),
# 1 right (j+1, i..i+1), 2 top (i+1, j..j+1), 3 left (j, i..i+1). The
# two saddle cases (5, 10) are split one way; either way is a contour.
_SEGMENTS: dict[int, tuple[tuple[int, int], ...]] = {
    1: ((3, 0),),
    2: ((0, 1),),
    3: ((3, 1),),
    4: ((1, 2),),
    5: ((3, 2), (0, 1)),
    6: ((0, 2),),
    7: ((3, 2),),
    8: ((2, 3),),
    9: ((2, 0),),
    10: ((0, 3), (1, 2)),
    11: ((1, 2),),
    12: ((1, 3),),
    13: ((0, 1),),
    14: ((0, 3),),
}


def grid_values(
    function: Function,
    names: tuple[str, str],
    fixed: Mapping[str, float],
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """The function on the grid ``xs`` × ``ys`` of inputs ``names`` (rows
    along y), the other inputs at ``fixed``: one vectorised evaluation."""
    grid_x, grid_y = np.meshgrid(xs, ys)
    values: dict[str, object] = dict(fixed)
    values[names[0]], values[names[1]] = grid_x, grid_y
    result = function.evaluate(values, wrt=[])
    return np.broadcast_to(np.asarray(result.value, dtype=float), grid_x.shape)


def contour_levels(values: np.ndarray, count: int = LEVELS) -> list[float]:
    """``count`` levels spread over the finite values by their quantiles, so
    that lines fall evenly however steep the function is."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    levels = np.quantile(finite, np.linspace(0, 1, count + 2)[1:-1])
    return sorted(set(levels.tolist()))


def contour_path(values: np.ndarray, level: float, to_x, to_y) -> str:
    """The SVG path data of the ``level`` line of ``values`` (rows along y);
    ``to_x`` and ``to_y`` take a fractional column and row index to
    drawing coordinates."""
    with np.errstate(invalid="ignore"):
        above = values > level
    case = (
        above[:-1, :-1].astype(np.int8)
        | above[:-1, 1:] << 1
        | above[1:, 1:] << 2
        | above[1:, :-1] << 3
    )
    # Cells with a NaN corner are left out: no line can be placed in them.
    finite = np.isfinite(values)
    whole = finite[:-1, :-1] & finite[:-1, 1:] & finite[1:, 1:] & finite[1:, :-1]
    pieces = []
    for i, j in zip(*np.nonzero(whole & (case != 0) & (case != 15)), strict=True):
        for side_a, side_b in _SEGMENTS[int(case[i, j])]:
            ax, ay = _crossing(values, level, int(i), int(j), side_a)
            bx, by = _crossing(values, level, int(i), int(j), side_b)
            pieces.append(f"M{to_x(ax):.1f} {to_y(ay):.1f}L{to_x(bx):.1f} {to_y(by):.1f}")
    return "".join(pieces)


def _crossing(values: np.ndarray, level: float, i: int, j: int, side: int) -> tuple[float, float]:
    """Where the level crosses ``side`` of cell (i, j), as (column, row)."""
    if side == 0:
        return j + _fraction(values[i, j], values[i, j + 1], level), float(i)
    if side == 1:
        return float(j + 1), i + _fraction(values[i, j + 1], values[i + 1, j + 1], level)
    if side == 2:
        return j + _fraction(values[i + 1, j], values[i + 1, j + 1], level), float(i + 1)
    return float(j), i + _fraction(values[i, j], values[i + 1, j], level)


def _fraction(start: float, end: float, level: float) -> float:
    span = end - start
    return 0.5 if span == 0 else min(max((level - start) / span, 0.0), 1.0)
