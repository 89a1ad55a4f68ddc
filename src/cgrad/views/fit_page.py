"""The page of ``fit --html``: the loss of each step of a fit, and the
parameters it found with their start and their last gradient, as one
offline HTML file (the frame of :func:`cgrad.views.page.html_page`, the
loss curve of :mod:`cgrad.views.descent_page`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from ..descent import Step
from ..fitting.results import Fitted
from ..numerals import format_short, number_text
from .descent_page import loss_plot, thinned
from .page import html_page, source_html


def fit_page(fitted: Fitted, steps: Sequence[Step]) -> str:
    """The page of a fit that ended as ``fitted``, whose finite ``steps``
    (step 0 the start) were watched through ``fit``'s callback."""
    drawn = thinned([step for step in steps if math.isfinite(step.loss)])
    validation = (
        f"; validation loss {format_short(fitted.validation_loss)} "
        f"({fitted.validation_rows:,} rows)"
        if fitted.validation_loss is not None
        else ""
    )
    batches = f"batches of {fitted.batch_rows:,} rows" if fitted.batch_rows else "full batch"
    body = [
        "<header>\n<h1>cgrad fit</h1>\n"
        f'<code id="source">{source_html(fitted.model)}</code>\n</header>\n',
        f'<p id="summary">{escape(fitted.loss)} loss against {escape(fitted.target)}, '
        f"{escape(fitted.method)}, lr {format_short(fitted.lr)}, {batches}: "
        f"{fitted.steps:,} steps in {fitted.epochs:,} epochs; stopped: "
        f"{escape(fitted.reason)}; training loss {format_short(fitted.training_loss)} "
        f"({fitted.rows:,} rows){validation}</p>\n",
        loss_plot(drawn, fitted.reason if fitted.stopped == "diverged" else None),
        _parameters(fitted),
    ]
    data = {
        "steps": [step.step for step in drawn],
        "losses": [number_text(step.loss) for step in drawn],
        "params": {name: number_text(value) for name, value in fitted.params.items()},
        "gradient": {name: number_text(value) for name, value in fitted.gradient.items()},
    }
    return html_page(fitted.model, body, data, script=None)


def _parameters(fitted: Fitted) -> str:
    """The table of parameters: start, fitted value, last gradient."""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{format_short(fitted.start.get(name, math.nan))}</td>"
        f"<td>{format_short(value)}</td>"
        f"<td>{format_short(fitted.gradient.get(name, math.nan))}</td></tr>\n"
        for name, value in fitted.params.items()
    )
    return (
        '<h2>Parameters</h2>\n<table id="parameters">\n<tr><th>parameter</th><th>start</th>'
        "<th>fitted</th><th>∂loss/∂parameter</th></tr>\n" + rows + "</table>\n"
    )
