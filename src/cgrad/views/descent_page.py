"""The page of ``minimize --html``: the loss curve of a descent, and for
two moved inputs the path it took over the contour lines of the function
(computed by :mod:`cgrad.views.contours`), as inline SVG in one offline
HTML file (the frame of :func:`cgrad.views.page.html_page`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

from ..descent import Minimum, Step
from ..function import Function
from ..numerals import format_short, number_text
from .contours import GRID, contour_levels, contour_path, grid_values
from .page import html_page, source_html

# Points drawn of a long run at most (every k-th step, and the last).
DRAWN_STEPS = 2_000
PLOT_WIDTH = 640
PLOT_HEIGHT = 320
PLOT_SIDE = 480
PAD = 50
# Room left of a plot for the numbers of its y axis.
LABEL_ROOM = 40


def descent_page(function: Function, minimum: Minimum, steps: Sequence[Step]) -> str:
    """The page of a run that ended at ``minimum``, whose finite ``steps``
    (step 0 the start) were watched through ``minimize``'s callback."""
    steps = [step for step in steps if math.isfinite(step.loss)]
    drawn = thinned(steps)
    names = tuple(minimum.gradient)
    body = [
        "<header>\n<h1>cgrad minimize</h1>\n"
        f'<code id="source">{source_html(function.source)}</code>\n</header>\n',
        f'<p id="summary">{escape(minimum.method)}, lr {format_short(minimum.lr)}: '
        f"{minimum.steps:,} steps; stopped: {escape(minimum.reason)}; "
        f"loss {format_short(minimum.value)} at "
        + escape(", ".join(f"{n} = {format_short(v)}" for n, v in minimum.point.items()))
        + "</p>\n",
        loss_plot(drawn, minimum.reason if minimum.stopped == "diverged" else None),
    ]
    data: dict = {
        "names": list(names),
        "steps": [step.step for step in drawn],
        "losses": [number_text(step.loss) for step in drawn],
    }
    if len(names) == 2 and drawn:
        path = [[step.point[names[0]], step.point[names[1]]] for step in drawn]
        data["path"] = [[number_text(x), number_text(y)] for x, y in path]
        fixed = {n: v for n, v in minimum.point.items() if n not in names}
        body.append(_contour_plot(function, (names[0], names[1]), fixed, path))
    return html_page(function.source, body, data, script=None)


class KeptSteps:
    """The steps a page will draw, kept as a run makes them: past twice
    :data:`DRAWN_STEPS`, every other one is let go (the latest is always
    kept), so that a run of millions of steps holds a few thousand."""

    def __init__(self) -> None:
        self.kept: list[Step] = []
        self.every = 1
        self.seen = 0
        self.latest: Step | None = None

    def add(self, step: Step) -> None:
        if self.seen % self.every == 0:
            self.kept.append(step)
            if len(self.kept) > 2 * DRAWN_STEPS:
                self.kept, self.every = self.kept[::2], self.every * 2
        self.seen += 1
        self.latest = step

    def steps(self) -> list[Step]:
        if self.latest is None or (self.kept and self.kept[-1] is self.latest):
            return list(self.kept)
        return [*self.kept, self.latest]


def thinned(steps: list[Step]) -> list[Step]:
    """At most :data:`DRAWN_STEPS` of ``steps``: every k-th, and the last."""
    if len(steps) <= DRAWN_STEPS:
        return steps
    every = math.ceil(len(steps) / DRAWN_STEPS)
    kept = steps[::every]
    return kept if kept[-1] is steps[-1] else [*kept, steps[-1]]


def loss_plot(steps: list[Step], diverged: str | None = None) -> str:
    """The loss by step; on a log scale when every loss is positive and
    they span more than two decades. ``diverged``: why a run that diverged
    stopped (the finite ``steps`` end before it), said under the plot."""
    losses = np.array([step.loss for step in steps], dtype=float)
    ended = (
        f'<p class="note" id="loss-end">The curve ends at the last finite step: the run '
        f"{escape(diverged)}.</p>\n"
        if diverged is not None
        else ""
    )
    if losses.size == 0:
        return "<p>No finite step to draw.</p>\n" + ended
    low, high = float(losses.min()), float(losses.max())
    log = low > 0 and high / low > 100
    shown = np.log10(losses) if log else losses
    # Brought within [-1, 1] first: a diverging run's losses come near the
    # largest float, where their span, or that times the plot's height,
    # overflows to inf (and the polyline to points Chromium rejects).
    largest = float(np.abs(shown).max())
    if largest > 1:
        shown = shown / largest
    bottom, top = float(shown.min()), float(shown.max())
    span = (top - bottom) or 1.0
    last = max(steps[-1].step, 1)
    points = " ".join(
        f"{PAD + (PLOT_WIDTH - 2 * PAD) * step.step / last:.1f},"
        f"{PLOT_HEIGHT - PAD - (PLOT_HEIGHT - 2 * PAD) * ((value - bottom) / span):.1f}"
        for step, value in zip(steps, shown.tolist(), strict=True)
    )
    scale = "log scale" if log else "linear scale"
    return (
        f'<h2>Loss by step ({scale})</h2>\n<svg class="plot" id="loss" '
        f'width="{PLOT_WIDTH + LABEL_ROOM}" height="{PLOT_HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg">\n<g transform="translate({LABEL_ROOM},0)">\n'
        f'<line class="axis" x1="{PAD}" y1="{PLOT_HEIGHT - PAD}" x2="{PLOT_WIDTH - PAD}" '
        f'y2="{PLOT_HEIGHT - PAD}"/>\n<line class="axis" x1="{PAD}" y1="{PAD}" x2="{PAD}" '
        f'y2="{PLOT_HEIGHT - PAD}"/>\n'
        # The loss's range up the y axis, left of it; the steps along the x axis.
        f'<text class="y-top" x="{PAD - 4}" y="{PAD + 4}" text-anchor="end">'
        f"{format_short(high, 4)}</text>\n"
        f'<text class="y-bottom" x="{PAD - 4}" y="{PLOT_HEIGHT - PAD}" text-anchor="end">'
        f"{format_short(low, 4)}</text>\n"
        f'<text class="x-start" x="{PAD}" y="{PLOT_HEIGHT - PAD + 16}">'
        f"step {steps[0].step:,}</text>\n"
        f'<text class="x-end" x="{PLOT_WIDTH - PAD}" y="{PLOT_HEIGHT - PAD + 16}" '
        f'text-anchor="end">step {steps[-1].step:,}</text>\n'
        f'<polyline class="loss-curve" data-points="{len(steps)}" points="{points}"/>\n'
        "</g>\n</svg>\n" + ended
    )


def _contour_plot(
    function: Function,
    names: tuple[str, str],
    fixed: dict[str, float],
    path: list[list[float]],
) -> str:
    """The path of the descent over the contour lines of the function
    around it (the box of the path, widened by a quarter on each side)."""
    xs, ys = (_axis([point[k] for point in path]) for k in (0, 1))
    values = grid_values(function, names, fixed, xs, ys)
    inner = PLOT_SIDE - 2 * PAD

    def to_x(column: float) -> float:
        return PAD + inner * column / (GRID - 1)

    def to_y(row: float) -> float:
        return PLOT_SIDE - PAD - inner * row / (GRID - 1)

    def place(x: float, y: float) -> str:
        column = (x - xs[0]) / (xs[-1] - xs[0]) * (GRID - 1)
        row = (y - ys[0]) / (ys[-1] - ys[0]) * (GRID - 1)
        return f"{to_x(column):.1f},{to_y(row):.1f}"

    lines = [
        f'<path class="contour" data-level="{number_text(level)}" '
        f'd="{contour_path(values, level, to_x, to_y)}"/>\n'
        for level in contour_levels(values)
    ]
    walked = " ".join(place(x, y) for x, y in path)
    start, end = place(*path[0]).split(","), place(*path[-1]).split(",")
    return (
        f"<h2>The path over the contour lines of the function ({escape(names[0])} "
        f"across, {escape(names[1])} up)</h2>\n"
        f'<svg class="plot" id="contours" width="{PLOT_SIDE + LABEL_ROOM}" '
        f'height="{PLOT_SIDE}" xmlns="http://www.w3.org/2000/svg">\n'
        f'<g transform="translate({LABEL_ROOM},0)">\n'
        f'<rect x="{PAD}" y="{PAD}" width="{inner}" height="{inner}" fill="none" '
        'class="axis"/>\n'
        + "".join(lines)
        + f'<polyline class="descent-path" data-points="{len(path)}" points="{walked}"/>\n'
        f'<circle class="start" cx="{start[0]}" cy="{start[1]}" r="5" fill="#1d4ed8"/>\n'
        f'<circle class="end" cx="{end[0]}" cy="{end[1]}" r="5" fill="#b22222"/>\n'
        f'<text class="x-start" x="{PAD}" y="{PLOT_SIDE - PAD + 16}">{escape(names[0])} '
        f"{format_short(xs[0], 4)}</text>\n"
        f'<text class="x-end" x="{PLOT_SIDE - PAD}" y="{PLOT_SIDE - PAD + 16}" '
        f'text-anchor="end">{format_short(xs[-1], 4)}</text>\n'
        f'<text class="y-top" x="{PAD}" y="{PAD - 6}">{escape(names[1])} '
        f"{format_short(ys[-1], 4)}</text>\n"
        f'<text class="y-bottom" x="{PAD - 4}" y="{PLOT_SIDE - PAD}" text-anchor="end">'
        f"{format_short(ys[0], 4)}</text>\n"
        "</g>\n</svg>\n"
    )


def _axis(coordinates: list[float]) -> np.ndarray:
    """GRID values across the range of ``coordinates``, widened by a quarter
    each side (by 1 when they do not move)."""
    low, high = min(coordinates), max(coordinates)
    margin = (high - low) / 4 or 1.0
    return np.linspace(low - margin, high + margin, GRID)
