"""Draw the loss of a `cgrad minimize --trace` run against the step, on a
log-scale y axis, as a small SVG. Plain Python, no dependencies.

    cgrad minimize @samples/fit.cg w11=0.1 w12=-0.2 b1=0 w21=0.4 w22=0.3 \\
      b2=0.1 v1=0.7 v2=-0.5 c=0.05 --method adam --tol 1e-4 --trace fit.ndjson
    python docs/plot_loss.py fit.ndjson docs/loss.svg --title "samples/fit.cg, adam"

Losses that are not positive numbers (zero, or the "NaN"/"Infinity" of a
diverged step) have no place on a log scale and are left out.
"""

from __future__ import annotations

import argparse
import json
import math
from html import escape

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 40, 48
# A polyline of more points than this only adds bytes: each pixel of width
# gets at most two.
MAX_POINTS = 2 * (WIDTH - LEFT - RIGHT)
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def read_losses(path: str) -> list[tuple[int, float]]:
    """(step, loss) of every line whose loss is a positive number."""
    points = []
    with open(path, encoding="utf-8") as trace:
        for line in trace:
            if not line.strip():
                continue
            record = json.loads(line)
            loss = record["loss"]
            if isinstance(loss, (int, float)) and loss > 0 and math.isfinite(loss):
                points.append((record["step"], float(loss)))
    return points


def nice_step(span: float, count: int) -> float:
    """A tick spacing of 1, 2 or 5 times a power of ten giving about
    ``count`` ticks over ``span``."""
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def svg(points: list[tuple[int, float]], title: str) -> str:
    steps = [step for step, _ in points]
    logs = [math.log10(loss) for _, loss in points]
    first, last = min(steps), max(steps)
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    if high == low:
        high += 1
    if last == first:
        last += 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(step: float) -> float:
        return LEFT + (step - first) / (last - first) * plot_width

    def y(log: float) -> float:
        return TOP + (high - log) / (high - low) * plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
    ]
    # A grid line and a label per decade, or per few decades for a wide range.
    every = max(1, math.ceil((high - low) / 8))
    for decade in range(low, high + 1):
        if (decade - low) % every:
            continue
        at = y(decade)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" stroke="#e5e7eb"/>'
        )
        label = "1" if decade == 0 else "10" + str(decade).translate(SUPERSCRIPTS)
        parts.append(
            f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" fill="#374151">{label}</text>'
        )
    spacing = nice_step(last - first, 6)
    tick = math.ceil(first / spacing) * spacing
    while tick <= last:
        at = x(tick)
        parts.append(
            f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text x="{at:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
            f'fill="#374151">{tick:,.0f}</text>'
        )
        tick += spacing
    parts += [
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" '
        'stroke="#9ca3af"/>',
        f'<text x="{LEFT + plot_width / 2}" y="{HEIGHT - 10}" text-anchor="middle">step</text>',
        f'<text transform="translate(16 {TOP + plot_height / 2}) rotate(-90)" '
        'text-anchor="middle">loss (log scale)</text>',
    ]
    stride = max(1, math.ceil(len(points) / MAX_POINTS))
    kept = list(range(0, len(points), stride))
    if kept[-1] != len(points) - 1:
        kept.append(len(points) - 1)
    line = " ".join(f"{x(steps[i]):.1f},{y(logs[i]):.1f}" for i in kept)
    parts.append(
        f'<polyline points="{line}" fill="none" stroke="#1d4ed8" stroke-width="1.8" '
        'stroke-linejoin="round"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", help="an NDJSON file from cgrad minimize --trace")
    parser.add_argument("output", help="the SVG file to write")
    parser.add_argument("--title", default="loss by step", help="a title above the plot")
    arguments = parser.parse_args()
    points = read_losses(arguments.trace)
    if not points:
        parser.error(f"{arguments.trace} has no step with a positive, finite loss")
    with open(arguments.output, "w", encoding="utf-8") as output:
        output.write(svg(points, arguments.title))


if __name__ == "__main__":
    main()
