"""The text report of ``cgrad check`` as Rich renderables: a row per
partial, why a failing one failed, the warnings and the verdict; then the
random points, one row each."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from ..check.checker import CheckResult, Partial
from ..check.runs import CheckRun, point_status
from ..errors import join_names
from ..function import Function
from ..numerals import format_number, format_short
from .terminal_tables import aligned_table, program_heading, warning_lines

# Significant digits of the three derivatives in the table: finite
# differences are good to about ten at best, and the error columns carry
# the disagreement, so more digits would only push the table past 80
# columns. JSON carries every digit.
DIGITS = 10
# Failing random points shown in full below their summary.
FAILURES_SHOWN = 1
# Inputs shown as columns of the random points' table; more would make it
# wider than a terminal, and a failing point is shown in full anyway.
INPUT_COLUMNS = 4

# Each status of a partial: how the table writes it, and its style.
STATUSES = {
    "ok": ("ok", "green"),
    "fail": ("FAIL", "bold red"),
    "kink": ("kink", "yellow"),
    "non-finite": ("non-finite", "yellow"),
    "cannot-judge": ("cannot judge", "yellow"),
}


def check_report(function: Function, run: CheckRun) -> Group:
    """The text output: the program, its value, a row per partial, why a
    failing partial failed, the warnings, the verdict; then the random
    points, one row each."""
    parts: list = [
        Text(program_heading(function.graph), "bold"),
        Text.assemble("value ", (format_number(run.result.value), "bold")),
        Text(),
        *_point_report(run.result),
    ]
    if run.around is not None:
        parts += [Text(), *_random_report(run)]
    return Group(*parts)


def _point_report(result: CheckResult) -> list[Text]:
    if not result.partials:
        lines = [Text("nothing to check: no partial derivatives were asked for")]
        if not result.inputs:
            lines = [Text("nothing to check: the expression has no inputs")]
        return lines + warning_lines(result.warnings)
    rows = [
        [
            name,
            format_short(partial.reverse, DIGITS),
            format_short(partial.forward, DIGITS),
            format_short(partial.finite_difference, DIGITS),
            format_short(partial.abs_error, 2),
            format_short(partial.rel_error, 2),
            STATUSES[partial.status][0],
        ]
        for name, partial in result.partials.items()
    ]
    header = ["input", "reverse", "forward", "finite diff", "abs error", "rel error", "ok"]
    lines = aligned_table(header, rows, right={1, 2, 3, 4, 5}, last_style=_verdict_style)
    reasons = [_reason(partial) for partial in result.partials.values() if partial.status == "fail"]
    if reasons:
        lines += [Text(), *reasons]
    lines += warning_lines(result.warnings)
    lines += [Text(), _verdict(result)]
    return lines


def _reason(partial: Partial) -> Text:
    """Which comparison failed, by how much, and what that points to."""
    name = partial.name
    if partial.forward_agrees is False:
        gap = abs(partial.reverse - partial.forward)
        return Text(
            f"{name}: reverse and forward mode differ by {format_short(gap, 2)}: the two "
            "passes apply the same rules, so one of them visits the graph wrongly",
            style="red",
        )
    gap = abs(partial.reverse - partial.finite_difference)
    how = "" if partial.scheme == "central" else f", {partial.scheme} difference"
    return Text(
        f"{name}: reverse mode and the finite difference differ by {format_short(gap, 2)}, "
        f"more than the {format_short(partial.allowed, 2)} allowed (step "
        f"{format_short(partial.step, 2)}{how}); forward mode agrees with reverse, so "
        "suspect a derivative rule rather than the passes",
        style="red",
    )


def _agree(count: int, total: int) -> str:
    return f"{count} of {total} partial{_s(total)} {'agrees' if count == 1 else 'agree'}"


def _verdict(result: CheckResult) -> Text:
    partials = result.partials.values()
    total = len(result.partials)
    agreeing = sum(1 for partial in partials if partial.status == "ok")
    failed = result.failed
    if failed:
        verb = "disagrees" if len(failed) == 1 else "disagree"
        return Text(
            f"FAILED: {join_names(failed)} {verb} beyond tolerance ({_agree(agreeing, total)})",
            style="bold red",
        )
    exempt = [_not_judged(p) for p in partials if p.status != "ok"]
    if not exempt:
        return Text("ok: the partial agrees" if total == 1 else f"ok: all {total} partials agree")
    judged = _agree(agreeing, total) if agreeing else "none could be judged"
    # Nothing failed, but "ok" would overstate what was checked.
    return Text(f"not failed: {judged}; not judged by finite differences: {join_names(exempt)}")


def _not_judged(partial: Partial) -> str:
    """``x (kink)``; ``y (non-finite: reverse mode gives NaN)``."""
    why = STATUSES[partial.status][0] + (f": {partial.reason}" if partial.reason else "")
    return f"{partial.name} ({why})"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _random_verdict(around: list[CheckResult]) -> str:
    """The verdict of random points none of which failed: "ok" only where
    some partial was judged (as for one point, see _verdict)."""
    count = len(around)
    if not any(p.status == "ok" for point in around for p in point.partials.values()):
        if count == 1:
            return "not failed: the point could not be judged by finite differences"
        return f"not failed: none of the {count} points could be judged by finite differences"
    partly = sum(1 for point in around if point_status(point)[0] != "ok")
    verdict = "ok: the point passes" if count == 1 else f"ok: all {count} points pass"
    if partly:
        verdict += f" ({partly} with partials not judged by finite differences)"
    return verdict


def _random_report(run: CheckRun) -> list[Text]:
    around = run.around or []
    count = len(around)
    names = list(around[0].inputs) if around else []
    shown = len(names) <= INPUT_COLUMNS
    where = "" if shown else "; their inputs are in --json"
    lines = [
        Text(f"{count} random point{_s(count)} around it (seed {run.seed}{where})", style="bold")
    ]
    if not around:
        return lines
    header = ["point", *(names if shown else []), "abs error", "rel error", "ok"]
    rows = [
        _random_row(number, point, names if shown else [])
        for number, point in enumerate(around, start=1)
    ]
    lines += aligned_table(
        header, rows, right=set(range(len(header) - 1)), last_style=_verdict_style
    )
    lines.append(Text())
    failing = run.failing
    if not failing:
        return [*lines, Text(_random_verdict(around))]
    lines.append(
        Text(
            f"FAILED: {len(failing)} of {count} point{_s(count)} ({', '.join(map(str, failing))})",
            style="bold red",
        )
    )
    for number in failing[:FAILURES_SHOWN]:
        point = around[number - 1]
        where = " ".join(f"{name}={format_number(value)}" for name, value in point.inputs.items())
        lines += [Text(), Text(f"point {number}: {where}", style="bold")]
        lines += _point_report(point)
    return lines


def _random_row(number: int, point: CheckResult, names: list[str]) -> list[str]:
    judged = [p for p in point.partials.values() if p.status in ("ok", "fail")]
    return [
        str(number),
        *(format_short(point.inputs[name]) for name in names),
        format_short(max(p.abs_error for p in judged), 2) if judged else "-",
        format_short(max(p.rel_error for p in judged), 2) if judged else "-",
        _point_status_text(point),
    ]


def _point_status_text(point: CheckResult) -> str:
    """``ok``, or which partials failed, else which were not judged."""
    status, names = point_status(point)
    return "ok" if status == "ok" else f"{STATUSES[status][0]} {', '.join(names)}"


def _verdict_style(cell: str) -> str:
    for text, style in STATUSES.values():
        if cell.startswith(text):
            return style
    return ""
