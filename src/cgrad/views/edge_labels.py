"""Where each edge's label goes in a drawing: beside its own edge, never
across another line, a box or another label, and nearer its own edge than
any other, so that a reader cannot take one edge's local derivative for
its neighbour's (pure geometry, like :mod:`cgrad.views.layout`).

Each label is tried at points along its edge from the head back: beside a
steep stretch (on the outer side first, away from the other edges into the
same box) or above or below a flat one. It takes the first spot that is
free: its own edge near and not under it, every other line or trunk
``CLEAR`` farther (failing that, a little farther), no box or label under
it, inside the drawing (which widens to the right for it). The lines are
sampled every few pixels into a grid of cells, so a label looks only at
what is near it: the work grows with the length of the lines, linearly.
Where no spot is free (a hairball), the label takes the one near its head
that breaks the fewest of those rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

Point = tuple[float, float]
Box = tuple[float, float, float, float]  # left, top, right, bottom

# An edge label's characters (10px monospace) and its box about the
# baseline it is written on.
LABEL_CHAR_WIDTH = 6.0
ASCENT = 9.0
DESCENT = 2.0
# From a label to its own edge (clear of the arrowhead, 9px wide), and how
# much farther every other line must be.
GAP = 5.0
CLEAR = 7.0
# A label's box from another's, the points along a line, the cells.
SPACING = 6.0
SAMPLE = 3.0
CELL = 24.0
# How much a spot on the inner side of an edge costs, in pixels of height.
INNER_COST = 15.0
# The spots weighed when none is free.
FALLBACK = 300


def line_points(points: Sequence[Point]) -> list[Point]:
    """Points every :data:`SAMPLE` pixels or so along the line that
    :mod:`cgrad.views.svg_graph` draws through ``points`` (bottom
    to top: each piece a curve that leaves and arrives vertically, or a
    straight line up), in the whole pixels that it writes."""
    x, y = round(points[0][0]), round(points[0][1])
    found = [(float(x), float(y))]
    for nx, ny in ((round(px), round(py)) for px, py in points[1:]):
        count = max(1, math.ceil((abs(nx - x) + abs(ny - y)) / SAMPLE))
        middle = (y + ny) / 2
        for k in range(1, count + 1):
            t = k / count
            u = 1 - t
            # The cubic (x, y), (x, middle), (nx, middle), (nx, ny).
            px = (u**3 + 3 * u * u * t) * x + (3 * u * t * t + t**3) * nx
            py = u**3 * y + 3 * u * t * (u + t) * middle + t**3 * ny
            found.append((px, py))
        x, y = nx, ny
    return found


def _overlap(a: Box, b: Box, margin: float) -> bool:
    return (
        a[0] < b[2] + margin
        and b[0] < a[2] + margin
        and a[1] < b[3] + margin
        and b[1] < a[3] + margin
    )


class _Grid:
    """The drawing's lines (as points, each with the line it is on) and
    boxes (nodes and labels placed), by the cells they fall in."""

    def __init__(self) -> None:
        self.points: dict[tuple[int, int], list[tuple[float, float, int]]] = {}
        self.boxes: dict[tuple[int, int], list[tuple[Box, float]]] = {}

    @staticmethod
    def _cells(box: Box) -> Iterator[tuple[int, int]]:
        for i in range(math.floor(box[0] / CELL), math.floor(box[2] / CELL) + 1):
            for j in range(math.floor(box[1] / CELL), math.floor(box[3] / CELL) + 1):
                yield i, j

    def add_line(self, line: int, points: list[Point]) -> None:
        for x, y in points:
            cell = (math.floor(x / CELL), math.floor(y / CELL))
            self.points.setdefault(cell, []).append((x, y, line))

    def add_box(self, box: Box, margin: float) -> None:
        for cell in self._cells(box):
            self.boxes.setdefault(cell, []).append((box, margin))

    def near(self, box: Box, reach: float) -> Iterator[tuple[float, float, int]]:
        """The points within ``reach`` of ``box`` (and a few more)."""
        wide = (box[0] - reach, box[1] - reach, box[2] + reach, box[3] + reach)
        for cell in self._cells(wide):
            yield from self.points.get(cell, ())

    def covered(self, box: Box, first: bool) -> int:
        """How many boxes ``box`` overlaps (each with its own margin); with
        ``first``, 1 at the first one."""
        seen = set()
        for cell in self._cells(box):
            for other, margin in self.boxes.get(cell, ()):
                if _overlap(box, other, margin):
                    if first:
                        return 1
                    seen.add(other)
        return len(seen)


def _faults(
    grid: _Grid, box: Box, line: int, height: float, first: bool, clear: float = CLEAR
) -> int:
    """How badly a label on ``box`` beside ``line`` is placed: 0 when well
    (every other line ``clear`` farther than its own); with ``first``, 1 at
    the first fault found."""
    if box[0] < 0 or box[1] < 0 or box[3] > height:
        return 100
    faults = 10 * grid.covered(box, first)
    if faults and first:
        return 1
    reach = GAP + CLEAR + SAMPLE
    left, top, right, bottom = box
    own = other = reach
    for x, y, owner in grid.near(box, reach):
        dx = left - x if x < left else x - right if x > right else 0.0
        dy = top - y if y < top else y - bottom if y > bottom else 0.0
        if dx < reach and dy < reach:
            distance = math.hypot(dx, dy)
            if owner == line:
                own = min(own, distance)
            elif distance <= 1.0 + clear and first:
                return 1  # too near whatever its own distance may be
            else:
                other = min(other, distance)
    # Its own edge near, not under it, and every other line well farther.
    faults += (
        4 * (own < 1.0)
        + 2 * (own > GAP + SAMPLE)
        + (other <= own + clear)
        + (other <= own)
        + 3 * (other < 1.0)
    )
    return min(faults, 1) if first else faults


def _candidates(own: list[Point], width: float, outer: str) -> list[tuple[float, str, Box]]:
    """Spots for a label ``width`` wide by the line ``own`` (tail first),
    from its head back, each with its cost (its distance from the head):
    beside a steep stretch, :data:`GAP` from every point of the line near
    its rows (on the ``outer`` side first), or above or below a flat one."""
    height = ASCENT + DESCENT
    spots = []
    along = 0.0
    for k in range(len(own) - 1, 0, -2):  # every other point: a few pixels apart
        x, y = own[k]
        along += math.dist(own[k], own[k - 1]) + math.dist(own[k - 1], own[max(k - 2, 0)])
        top = max(y - height / 2, own[-1][1] + 2)
        keep = [
            (px, math.sqrt(GAP * GAP - dy * dy))
            for px, py in own[max(0, k - 12) : k + 13]
            if (dy := max(top - py, 0.0, py - top - height)) < GAP
        ]
        for side in (outer, "right" if outer == "left" else "left"):
            if side == "left":
                start = min(px - need for px, need in keep) - width
            else:
                start = max(px + need for px, need in keep)
            cost = along + (0.0 if side == outer else INNER_COST)
            spots.append((cost, side, (start, top, start + width, top + height)))
        (px, py), (qx, qy) = own[max(k - 2, 0)], own[min(k + 2, len(own) - 1)]
        if abs(qy - py) < abs(qx - px):  # flat here: above or below it
            for top in (y - GAP - height, y + GAP):
                box = (x - width / 2, top, x + width / 2, top + height)
                spots.append((along + INNER_COST, "middle", box))
    # Spots a pixel apart are one: near its head a line is upright.
    unique = {(side, round(box[0]), round(box[1])): (cost, side, box) for cost, side, box in spots}
    return sorted(unique.values(), key=lambda spot: spot[0])


def place_labels(
    lines: list[list[Point]],
    centers: Sequence[float],
    texts: dict[int, str],
    obstacles: Sequence[list[Point]],
    boxes: Sequence[Box],
    height: float,
) -> tuple[dict[int, tuple[str, float, float]], float]:
    """Per edge with a text, its label's side (``left``: the text ends at
    the anchor, ``right``: it starts there, ``middle``: it is centred on
    it) and anchor point (on the baseline), and how far right the labels
    reach (the drawing widens for them). ``lines`` are the edges' points
    (from :func:`line_points`, tail first), ``centers`` the middle of each
    one's consumer (an edge arriving left of it has its outer side on the
    left), ``obstacles`` other lines (trunks), ``boxes`` the nodes',
    ``height`` the drawing's."""
    grid = _Grid()
    for index, points in enumerate([*lines, *obstacles]):
        grid.add_line(index, points)
    for box in boxes:
        grid.add_box(box, 1.0)
    spots = {}
    right = 0.0
    # The edges into the highest boxes first, and of one box the outermost.
    for index in sorted(texts, key=lambda i: (lines[i][-1][1], -abs(_out(lines, centers, i)))):
        width = LABEL_CHAR_WIDTH * len(texts[index])
        side = "left" if _out(lines, centers, index) < -0.5 else "right"
        found = _candidates(lines[index], width, side)
        # Well clear of the other lines if it can, else just clear of them.
        best = next(
            (
                spot
                for clear in (CLEAR, CLEAR / 3)
                for spot in found
                if not _faults(grid, spot[2], index, height, True, clear)
            ),
            None,
        )
        if best is None and found:
            # The nearest spots to the head that break the fewest rules.
            best = min(
                found[:FALLBACK], key=lambda s: (_faults(grid, s[2], index, height, False), s[0])
            )
        if best is None:  # an edge with no height to speak of
            x, y = lines[index][-1]
            best = (0.0, "right", (x + GAP, y, x + GAP + width, y + ASCENT + DESCENT))
        _, side, box = best
        grid.add_box(box, SPACING)
        anchor = {"left": box[2], "middle": (box[0] + box[2]) / 2}.get(side, box[0])
        spots[index] = (side, anchor, box[1] + ASCENT)
        right = max(right, box[2])
    return spots, right


def _out(lines: list[list[Point]], centers: Sequence[float], index: int) -> float:
    """How far right of its consumer's middle an edge arrives."""
    return lines[index][-1][0] - centers[index]
