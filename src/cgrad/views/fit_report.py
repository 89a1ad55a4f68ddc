"""``cgrad fit`` made readable: the summary as Rich renderables for the
terminal, the ``--json`` summary, a line of ``--trace``, and the
parameters of ``-o params.json``."""

from __future__ import annotations

from rich.console import Group
from rich.markup import escape
from rich.text import Text

from ..fitting.results import FitStep, Fitted
from ..numerals import format_number, format_short, json_number, json_numbers
from .terminal_tables import aligned_table

# Bad rows listed in the text summary (all are counted).
BAD_ROWS_SHOWN = 5


def fit_report(fitted: Fitted, heading: str) -> Group:
    """The text summary: the model, the data, the losses, how the run went,
    and each parameter from start to fit with its final partial."""
    rows = [
        [
            name,
            format_number(fitted.start[name]),
            format_number(value),
            format_short(fitted.gradient[name], 3),
        ]
        for name, value in fitted.params.items()
    ]
    table = aligned_table(["parameter", "start", "fitted", "∂loss/∂parameter"], rows, {1, 2, 3})
    lines = [
        Text(heading, style="bold"),
        Text(f"data: {_rows_text(fitted)}"),
        Text(f"loss: {fitted.loss}, mean over the rows, target {fitted.target}"),
        Text.assemble(
            "training loss ", (format_short(fitted.training_loss, 6), "bold"), _loss_step(fitted)
        ),
    ]
    if fitted.validation_loss is not None:
        lines.append(
            Text.assemble("validation loss ", (format_short(fitted.validation_loss, 6), "bold"))
        )
    lines += [
        Text(f"gradient norm {format_short(fitted.gradient_norm, 3)}"),
        Text(
            f"steps {fitted.steps:,} in {_counted(fitted.epochs, 'epoch')} ({fitted.method}, "
            f"lr {format_number(fitted.lr)}, {_batches_text(fitted)})"
        ),
        Text(f"stopped: {fitted.reason}"),
        Text(),
        *table,
    ]
    for row, _, message in fitted.bad_rows.first[:BAD_ROWS_SHOWN]:
        lines.append(Text(f"bad row {row:,}: {escape(message)}", style="yellow"))
    return Group(*lines)


def _loss_step(fitted: Fitted) -> str:
    """Where the training loss was measured, unless at the fitted values."""
    if fitted.loss_step is None:
        return ""
    return (
        f" (at step {fitted.loss_step:,}: its pass over the rows was the last whole one "
        "before the interruption, and the data was not read again)"
    )


def _rows_text(fitted: Fitted) -> str:
    text = _counted(fitted.rows, "training row")
    if fitted.validation_rows:
        text += f", {_counted(fitted.validation_rows, 'validation row')}"
    if fitted.bad_rows.count:
        text += f" ({_counted(fitted.bad_rows.count, 'bad row')} left out)"
    return text + (" (streamed)" if fitted.streamed else "")


def _counted(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def _batches_text(fitted: Fitted) -> str:
    if fitted.batch_rows is None:
        return "full batch"
    return f"mini-batches of {fitted.batch_rows:,} rows, seed {fitted.seed}"


def fit_json(fitted: Fitted) -> dict:
    """The ``cgrad fit --json`` object (its keys in docs/fit.md's order)."""
    return {
        "model": fitted.model,
        "target": fitted.target,
        "loss": fitted.loss,
        "method": fitted.method,
        "lr": fitted.lr,
        "batch_rows": fitted.batch_rows,
        "seed": fitted.seed,
        "streamed": fitted.streamed,
        "rows": fitted.rows,
        "validation_rows": fitted.validation_rows,
        "bad_rows": {
            "count": fitted.bad_rows.count,
            "first": [
                {"row": row, "type": kind, "message": message}
                for row, kind, message in fitted.bad_rows.first
            ],
        },
        "start": json_numbers(fitted.start),
        "params": json_numbers(fitted.params),
        "gradient": json_numbers(fitted.gradient),
        "gradient_norm": json_number(fitted.gradient_norm),
        "training_loss": json_number(fitted.training_loss),
        "training_loss_step": fitted.loss_step,
        "validation_loss": _maybe(fitted.validation_loss),
        "epochs": fitted.epochs,
        "steps": fitted.steps,
        "stopped": fitted.stopped,
        "history": [
            {
                "epoch": epoch.epoch,
                "steps": epoch.steps,
                "loss": json_number(epoch.loss),
                "validation_loss": _maybe(epoch.validation_loss),
            }
            for epoch in fitted.history
        ],
    }


def fit_step_json(step: FitStep) -> dict:
    """One line of ``cgrad fit --trace``: the step, its epoch, the rows of
    its batch, their mean loss, the parameters and the partials there."""
    line: dict[str, object] = {
        "step": step.step,
        "epoch": step.epoch,
        "rows": step.rows,
        "loss": json_number(step.loss),
        "params": json_numbers(step.point),
        "gradient": json_numbers(step.gradient),
    }
    if step.warnings:
        line["warnings"] = [w.as_json() for w in step.warnings]
    return line


def params_json(fitted: Fitted) -> dict:
    """The ``-o params.json`` object: each parameter's fitted value, as
    ``cgrad batch --params`` reads it."""
    return json_numbers(fitted.params)


def _maybe(value: float | None) -> float | str | None:
    return None if value is None else json_number(value)
