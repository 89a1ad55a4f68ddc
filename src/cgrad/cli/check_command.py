"""``cgrad check``: the reverse-mode gradient against forward mode and
finite differences, at a point and at random points around it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Group
from rich.text import Text

from ..check.checker import (
    DIFFERENCE_ATOL,
    DIFFERENCE_RTOL,
    FORWARD_ATOL,
    FORWARD_RTOL,
    MAX_RANDOM_POINTS,
    CheckResult,
    Partial,
    check,
    check_random,
)
from ..check.differences import LADDER, ROUNDING
from ..errors import UsageError, join_names
from ..function import Function
from ..numerals import format_number, format_short, json_number
from ..views.text import aligned_table, program_heading
from .application import app
from .arguments import (
    input_values,
    read_command_line,
    split_wrt,
)
from .output import ExitStatus, reporting, stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt

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


def _sci(number: float) -> str:
    return f"{number:g}".replace("e-0", "e-")


# Typer keeps the line breaks of a help text: each paragraph is one line
# here, for Rich to fold to the terminal's width.
HELP = "\n\n".join(
    [
        "Check the gradient at a point: reverse mode against forward mode and against "
        "finite differences. Exit 1 if a partial derivative disagrees beyond tolerance.",
        "Finite differences are central, (f(x+h) - f(x-h)) / 2h, with "
        "h = cbrt(eps)*max(1, |x|), about 6.1e-6*max(1, |x|): the step where the "
        "truncation error (h^2) and the rounding error (eps/h) balance, scaled with x so "
        "that a large input keeps a step that float64 can represent (a fixed 1e-6, as in "
        "PyTorch's gradcheck, rounds away past about 1e10). The difference is also taken "
        f"at 2h and at h/2, h/4, ... h/2^{LADDER}, and the step whose result agrees best "
        "with its neighbours is kept: that finds a good step where f turns faster than x "
        "(sin(x) at 1e6). A step never crosses a kink, a pole or a domain edge of any node "
        "(1/x at 1e-10, abs(x) at 1e-300): steps that would are dropped, and the ladder "
        "starts again under the nearest edge. Where even a step of a few units in the last "
        "place of x crosses one (abs(sin(x)) at pi), or no step float64 can take there "
        "resolves f (sin(x) at 1e34; sin(x + 1e18) in x), the partial is marked cannot "
        "judge: it does not fail, and a warning says why.",
        "Tolerances: reverse and forward mode run the same rules in another order and must "
        f"agree to {_sci(FORWARD_RTOL)} relative plus {_sci(FORWARD_ATOL)} absolute. Reverse "
        f"mode and the finite difference must agree to {_sci(DIFFERENCE_RTOL)} relative plus "
        f"{_sci(DIFFERENCE_ATOL)} absolute plus the difference's own error estimate: its "
        f"distance from its neighbours and from shorter steps, plus {ROUNDING:g}*eps*|f| of "
        "rounding and eps*|v|*|df/dv| for each node v the step moves, over the "
        "distance between the two points. A relative error is |a - b| / max(|a|, |b|); "
        "the table shows the worse of the two comparisons.",
        "At a kink (relu or abs at 0, a min/max tie, sqrt at 0) or a NaN or infinity, "
        "finite differences cannot judge: a partial whose input feeds it is marked kink or "
        "non-finite and does not fail, and the warnings say why. Partials that were not "
        'judged leave the exit status 0; in --json their "ok" is null and their '
        '"verdict" (ok, fail, kink, non-finite or cannot-judge) says why. Reverse and forward mode '
        "apply the same convention there, and must still agree.",
        "Random points are drawn with --seed (default 0), so that a run repeats exactly.",
    ]
)

EXAMPLES = """
[bold]Examples[/bold]

  cgrad check "(x+y)*z" x=1 y=2 z=3
  cgrad check "relu(x)*y" x=0 y=2       [dim]# a kink: reported, not failed[/dim]
  cgrad check "sin(x*y) + x" x=0.5 y=2 --wrt x
  cgrad check @samples/neuron.cg x1=2 x2=0 w1=-3 w2=1 b=6.88 --random 100
  cgrad check "x^y" x=2 y=3 --random 5 --seed 7 --json
"""


@app.command(
    "check",
    help=HELP,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=EXAMPLES,
)
def check_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    random: Annotated[
        Optional[int],
        typer.Option(
            "--random",
            metavar="N",
            help="Also check N random points around the given one: each input moved by "
            "normal noise times max(1, |x|); at most 100000.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            metavar="S", help="The seed of the random points, so that a run can be repeated."
        ),
    ] = 0,
    json_output: Json = False,
) -> None:
    """The command; its help is HELP."""
    with reporting(json_output):
        function, line, options = read_command_line(context, expression, variables)
        inputs = input_values(function, line, options)
        # The library says the same, but in its own terms, not the options'.
        if random is not None and random < 0:
            raise UsageError(f"--random must be a number of points >= 0, not {random}")
        if random is not None and random > MAX_RANDOM_POINTS:
            raise UsageError(f"--random must be at most {MAX_RANDOM_POINTS}, not {random}")
        if seed < 0:
            raise UsageError(f"--seed must be >= 0, not {seed}")
        partials = split_wrt(wrt)
        result = check(function, inputs, wrt=partials)
        around = None
        if random is not None:
            around = check_random(function, inputs, random, seed=seed, wrt=partials)
        passed = result.ok and all(point.ok for point in around or [])
        if json_output:
            write_json(check_json(function, result, around, passed))
        else:
            # Soft wrap: the tables' lines stay whole and the terminal folds them.
            stdout_console().print(check_report(function, result, around, seed), soft_wrap=True)
    if not passed:
        raise typer.Exit(ExitStatus.FAILURES)


# --------------------------------------------------------------------------
# Text


def check_report(
    function: Function,
    result: CheckResult,
    around: list[CheckResult] | None = None,
    seed: int = 0,
) -> Group:
    """The text output: the program, its value, a row per partial, why a
    failing partial failed, the warnings, the verdict; then the random
    points, one row each."""
    parts: list = [
        Text(program_heading(function.graph), "bold"),
        Text.assemble("value ", (format_number(result.value), "bold")),
        Text(),
        *_point_report(result),
    ]
    if around is not None:
        parts += [Text(), *_random_report(around, seed)]
    return Group(*parts)


def _point_report(result: CheckResult) -> list[Text]:
    if not result.partials:
        lines = [Text("nothing to check: no partial derivatives were asked for")]
        if not result.inputs:
            lines = [Text("nothing to check: the expression has no inputs")]
        return lines + _warning_lines(result)
    rows = [
        [
            name,
            format_short(partial.reverse, DIGITS),
            format_short(partial.forward, DIGITS),
            format_short(partial.finite_difference, DIGITS),
            format_short(partial.abs_error, 2),
            format_short(partial.rel_error, 2),
            _STATUS_TEXT[partial.status],
        ]
        for name, partial in result.partials.items()
    ]
    header = ["input", "reverse", "forward", "finite diff", "abs error", "rel error", "ok"]
    lines = aligned_table(header, rows, right={1, 2, 3, 4, 5}, last_style=_verdict_style)
    reasons = [_reason(partial) for partial in result.partials.values() if partial.status == "fail"]
    if reasons:
        lines += [Text(), *reasons]
    lines += _warning_lines(result)
    lines += [Text(), _verdict(result)]
    return lines


_STATUS_TEXT = {
    "ok": "ok",
    "fail": "FAIL",
    "kink": "kink",
    "non-finite": "non-finite",
    "cannot-judge": "cannot judge",
}
_STATUS_STYLE = {
    "ok": "green",
    "fail": "bold red",
    "kink": "yellow",
    "non-finite": "yellow",
    "cannot-judge": "yellow",
}


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


def _warning_lines(result: CheckResult) -> list[Text]:
    if not result.warnings:
        return []
    return [Text()] + [Text(f"warning: {w.message}", style="yellow") for w in result.warnings]


def _verdict(result: CheckResult) -> Text:
    partials = result.partials.values()
    total = len(result.partials)
    agreeing = sum(1 for partial in partials if partial.status == "ok")
    failed = result.failed
    if failed:
        verb = "disagrees" if len(failed) == 1 else "disagree"
        return Text(
            f"FAILED: {join_names(failed)} {verb} beyond tolerance "
            f"({agreeing} of {total} partial{_s(total)} {'agrees' if agreeing == 1 else 'agree'})",
            style="bold red",
        )
    exempt = [f"{p.name} ({_STATUS_TEXT[p.status]})" for p in partials if p.status != "ok"]
    if not exempt:
        return Text("ok: the partial agrees" if total == 1 else f"ok: all {total} partials agree")
    judged = (
        f"{agreeing} of {total} partial{_s(total)} {'agrees' if agreeing == 1 else 'agree'}"
        if agreeing
        else "none could be judged"
    )
    # Nothing failed, but "ok" would overstate what was checked.
    return Text(f"not failed: {judged}; not judged by finite differences: {join_names(exempt)}")


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _random_report(around: list[CheckResult], seed: int) -> list[Text]:
    count = len(around)
    names = list(around[0].inputs) if around else []
    shown = len(names) <= INPUT_COLUMNS
    where = "" if shown else "; their inputs are in --json"
    lines = [Text(f"{count} random point{_s(count)} around it (seed {seed}{where})", style="bold")]
    if not around:
        return lines
    if not shown:
        names = []
    rows = []
    for number, point in enumerate(around, start=1):
        judged = [p for p in point.partials.values() if p.status in ("ok", "fail")]
        rows.append(
            [
                str(number),
                *(format_short(point.inputs[name]) for name in names),
                format_short(max(p.abs_error for p in judged), 2) if judged else "-",
                format_short(max(p.rel_error for p in judged), 2) if judged else "-",
                _point_status(point),
            ]
        )
    header = ["point", *names, "abs error", "rel error", "ok"]
    lines += aligned_table(
        header, rows, right=set(range(len(header) - 1)), last_style=_verdict_style
    )
    failing = [number for number, point in enumerate(around, start=1) if not point.ok]
    partly = sum(1 for point in around if point.ok and _point_status(point) != "ok")
    lines.append(Text())
    if not failing:
        verdict = "ok: the point passes" if count == 1 else f"ok: all {count} points pass"
        if partly:
            verdict += f" ({partly} with partials not judged by finite differences)"
        lines.append(Text(verdict))
        return lines
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


def _point_status(point: CheckResult) -> str:
    """``ok``, or which partials failed, else which were not judged."""
    for status in ("fail", "kink", "non-finite", "cannot-judge"):
        names = [name for name, p in point.partials.items() if p.status == status]
        if names:
            return f"{_STATUS_TEXT[status]} {', '.join(names)}"
    return "ok"


def _verdict_style(cell: str) -> str:
    status = next((s for s, t in _STATUS_TEXT.items() if cell.startswith(t)), None)
    return _STATUS_STYLE.get(status, "")


# --------------------------------------------------------------------------
# JSON


def check_json(
    function: Function,
    result: CheckResult,
    around: list[CheckResult] | None = None,
    passed: bool | None = None,
) -> dict:
    """The ``cgrad check --json`` object, keys in the order of SPEC section 3,
    then ``warnings`` and, with random points, ``points``. ``ok`` is the
    verdict of the whole run (the exit status), random points included."""
    if passed is None:
        passed = result.ok and all(point.ok for point in around or [])
    document = {
        "expression": function.source,
        "inputs": {name: json_number(value) for name, value in result.inputs.items()},
        "partials": _partials_json(result),
        "ok": passed,
        "warnings": [w.as_json() for w in result.warnings],
    }
    if around is not None:
        document["points"] = [
            {
                "inputs": {name: json_number(value) for name, value in point.inputs.items()},
                "partials": _partials_json(point),
                "ok": point.ok,
                "warnings": [w.as_json() for w in point.warnings],
            }
            for point in around
        ]
    return document


def _partials_json(result: CheckResult) -> dict:
    # "ok" is null where finite differences could not judge; "verdict" says
    # why: "ok", "fail", "kink", "non-finite" or "cannot-judge".
    return {
        name: {
            "reverse": json_number(p.reverse),
            "forward": json_number(p.forward),
            "finite_difference": json_number(p.finite_difference),
            "abs_error": json_number(p.abs_error),
            "rel_error": json_number(p.rel_error),
            "ok": p.ok,
            "verdict": p.status,
        }
        for name, p in result.partials.items()
    }
