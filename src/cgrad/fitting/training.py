"""The fit: ``cgrad.fit(model, data, target=...)``, gradient descent on the
mean loss over the rows, one forward and one backward pass of the joined
program (:mod:`.losses`) per step, its partials by the parameters summed
over the rows by the engine (``evaluate(summed=True)``).

**Parameters** are the model's inputs that are not columns of the data.
Each starts at its value in ``start``, or else at a small random value,
uniform in [-0.5, 0.5), drawn in input order by a generator seeded with
``seed`` (0 by default: a run is reproducible).

**Steps.** Full batch by default: one step per epoch, on every training
row. With ``batch_rows``, one step per mini-batch of that many rows, the
rows shuffled at each epoch by the seeded generator (streamed from a file,
the mini-batches are consecutive rows in file order). The update is
:mod:`cgrad.descent`'s (``gd``, ``momentum``, ``adam``, the same
learning-rate defaults).

**Stopping.** After ``epochs`` epochs; at a step whose gradient norm is at
most ``tol``; or when the loss, a partial or a parameter stops being
finite (or the method's own state overflows): *diverged*, and the result
is the last finite point, with the parameter that blew up named.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral

import numpy as np

from ..autodiff.graph import CONSTANT
from ..autodiff.inputs import number_as_float
from ..descent import DEFAULT_TOL, DEFAULTS, METHODS, real, shown_setting
from ..errors import InputError, UsageError
from ..function import Function, compiled
from ..numerals import format_number
from ..ops import CONSTANTS
from .data import ON_ERROR, Source
from .loop import Run
from .losses import TARGET, objective
from .results import FitStep, Fitted
from .rows import Rows

DEFAULT_EPOCHS = 1000
# Start values drawn where none is given: uniform in [-START_SPREAD, START_SPREAD).
START_SPREAD = 0.5


def fit(
    function: Function | str,
    data: object,
    *,
    target: str,
    start: Mapping[str, float] | None = None,
    loss: str = "squared",
    method: str = "adam",
    lr: float | None = None,
    epochs: int = DEFAULT_EPOCHS,
    batch_rows: int | None = None,
    tol: float = DEFAULT_TOL,
    seed: int = 0,
    holdout: float | None = None,
    validation: object = None,
    stream: bool | None = None,
    on_error: str = "record",
    callback: Callable[[FitStep], object] | None = None,
) -> Fitted:
    """Fit the parameters of ``function`` (the model) to ``data`` (a
    mapping of numpy columns, a pandas or Arrow frame, or a file path), so
    that the model's output predicts the column ``target``, minimizing the
    mean over the rows of ``loss`` (``squared``, ``absolute``, ``logistic``,
    or an expression in ``model``, ``target`` and the parameters). See the
    module's docstring for the parameters, the steps and the stopping.
    ``holdout`` (a fraction) or ``validation`` (data as ``data``) gives a
    validation loss. ``on_error``: ``record`` or ``skip`` leave bad rows
    out and count them, ``fail`` raises at the first. ``callback`` sees
    each :class:`FitStep`. An interruption goes through, carrying the
    result so far as ``.fitted``."""
    model = compiled(function, "cgrad.fit")
    rule, lr = _settings(
        method, lr, epochs, batch_rows, tol, seed, holdout, validation is not None, on_error
    )
    source = Source(data)
    columns, params = _split(model, source.header, target)
    joined = objective(model, loss, target)
    # The loss may read columns of its own (a weight per row).
    columns += [n for n in joined.inputs if n not in {*model.inputs, TARGET} and n in source.header]
    extra = [n for n in joined.inputs if n not in {*model.inputs, TARGET, *columns}]
    if extra:
        raise UsageError(
            f"the loss uses {', '.join(extra)}, which is neither a parameter of the model, "
            "a column of the data, nor model or target",
            hint=f"the parameters are {', '.join(params) or '(none)'}",
        )
    first = _start(params, start, seed)
    checked = None if validation is None else _validation(Source(validation), [*columns, target])
    rows = Rows(
        source, columns, target, holdout=holdout, validation=checked, seed=seed, stream=stream,
        batch_rows=batch_rows, on_error=on_error,
    )  # fmt: skip
    _check_labels(rows, loss, target)
    run = Run(model, joined, params, rows, first, loss, target, method, lr, seed)
    return run.go(rule(lr), epochs, tol, callback)


def _settings(
    method: str,
    lr: float | None,
    epochs: int,
    batch_rows: int | None,
    tol: float,
    seed: int,
    holdout: float | None,
    validation: bool,
    on_error: str,
) -> tuple[type, float]:
    """The update rule and learning rate; a usage error for a bad setting."""
    if method not in METHODS:
        raise UsageError(f"the method must be {', '.join(METHODS)}, not {method!r}")
    lr = DEFAULTS[method].lr if lr is None else lr
    # Written so that NaN fails them too.
    if not (real(lr) and math.isfinite(lr) and lr > 0):
        raise UsageError(
            f"the learning rate must be a finite positive number, not {shown_setting(lr)}"
        )
    if not _whole(epochs, 0):
        raise UsageError(f"epochs must be a whole number >= 0, not {epochs!r}")
    if batch_rows is not None and not _whole(batch_rows, 1):
        raise UsageError(f"batch_rows must be a whole number >= 1, not {batch_rows!r}")
    if not (real(tol) and tol >= 0):
        raise UsageError(f"the tolerance must be a number >= 0, not {shown_setting(tol)}")
    if not _whole(seed, 0):
        raise UsageError(f"the seed must be a whole number >= 0, not {seed!r}")
    if holdout is not None and validation:
        raise UsageError("give a holdout or validation data, not both")
    if holdout is not None and not (real(holdout) and 0 < holdout < 1):
        raise UsageError(
            f"the holdout must be a fraction between 0 and 1, not {shown_setting(holdout)}"
        )
    if on_error not in ON_ERROR:
        raise UsageError(f"on_error must be {', '.join(ON_ERROR)}, not {on_error!r}")
    return METHODS[method], float(lr)


def _validation(source: Source, needed: Sequence[str]) -> Source:
    """The validation data, once it is known to have the columns the
    training data gives the model and the loss."""
    if not source.header:
        raise UsageError("the validation data is empty: it has no columns", type="input_error")
    missing = [name for name in needed if name not in source.header]
    if missing:
        raise UsageError(
            f"the validation data has no column {', '.join(map(repr, missing))}",
            hint=f"its columns are {', '.join(source.header) or '(none)'}",
            type="input_error",
        )
    return source


def _check_labels(rows: Rows, loss: str, target: str) -> None:
    """The logistic loss has no lower bound for a target outside [0, 1]
    (it would run off to minus infinity): refuse such data before fitting."""
    if loss != "logistic":
        return
    low, high = math.inf, -math.inf
    for chunk in rows.full():
        if len(chunk[TARGET]):
            low, high = min(low, float(chunk[TARGET].min())), max(high, float(chunk[TARGET].max()))
    if low < 0 or high > 1:
        raise UsageError(
            f"--loss logistic needs a target of 0 and 1 (or probabilities), but {target} "
            f"goes from {format_number(low)} to {format_number(high)}",
            hint="fit a number with --loss squared, or make the target 0 or 1",
        )


def _whole(value: object, least: int) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= least


def _refuse_shadowed_columns(model: Function, present: set[str]) -> None:
    """A column named like a constant the model uses (``e``, ``pi``): the
    model reads the constant, never the column, which is surely not what
    its author meant."""
    graph = model.graph
    used = {graph.label(i) for i, op in enumerate(graph.columns.ops) if op == CONSTANT}
    for name in sorted(used & CONSTANTS.keys() & present):
        raise UsageError(
            f"the data has a column {name}, but {name} in the model is the constant "
            f"{name} = {format_number(CONSTANTS[name])}, not the column",
            hint=f"rename the column {name} in the data and in the model",
        )


def _split(model: Function, header: Sequence[str], target: str) -> tuple[list[str], list[str]]:
    """The model's inputs read from the data, and its parameters (the rest)."""
    present = set(header)
    if not header:
        raise UsageError("the data is empty: it has no columns", type="input_error")
    if target not in present:
        raise UsageError(
            f"the data has no column {target!r} for the target",
            hint=f"its columns are {', '.join(header) or '(none)'}",
            type="input_error",
        )
    if target in model.inputs:
        raise UsageError(
            f"the model reads the target column {target}: it would predict it from itself",
            hint="name the target with --target, and leave it out of the model",
        )
    _refuse_shadowed_columns(model, present)
    columns = [name for name in model.inputs if name in present]
    params = [name for name in model.inputs if name not in present]
    unread = [name for name in header if name not in columns and name != target]
    for param in params:
        column = _column_named_like(param, unread)
        if column is not None:
            warnings.warn(
                f"{param} is not a column of the data, so it is fitted as a parameter: "
                f"did you mean the column {column}?",
                ColumnNameWarning,
                stacklevel=3,
            )
    if not params:
        raise UsageError(
            "the model has no parameters: every input is a column of the data",
            hint=f"the model's inputs are {', '.join(model.inputs)}",
        )
    return columns, params


class ColumnNameWarning(UserWarning):
    """A parameter of the model is named like a column the model does not
    read (``x3`` with columns ``x1``, ``x2``): most likely a misspelt
    column, which would quietly become a parameter."""


def _column_named_like(name: str, columns: Sequence[str]) -> str | None:
    """The column among ``columns`` that ``name`` looks like a misspelling
    of: the same but for case, for the number at the end (``x3``, ``x1``),
    or close as difflib sees it; or None."""
    stem = name.rstrip("0123456789")
    for column in columns:
        if column.casefold() == name.casefold():
            return column
        numbered = stem != name and column != column.rstrip("0123456789")
        if numbered and column.rstrip("0123456789") == stem:
            return column
    from difflib import get_close_matches  # only for a model with parameters

    close = get_close_matches(name, columns, n=1, cutoff=0.75)
    return close[0] if close else None


def _start(params: Sequence[str], given: Mapping[str, float] | None, seed: int) -> dict[str, float]:
    """Each parameter's start: given, or drawn (see the module's docstring)."""
    given = dict(given or {})
    unknown = [name for name in given if name not in params]
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} "
            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'}"
            " of the model (a parameter is an input that is not a column of the data)",
            hint=f"the parameters are {', '.join(params)}",
            type="unknown_input",
        )
    drawn = np.random.default_rng([seed, 0]).uniform(-START_SPREAD, START_SPREAD, len(params))
    start = {}
    for name, value in zip(params, drawn.tolist(), strict=True):
        chosen = given.get(name, value)
        if not real(chosen):
            raise InputError(f"the start value of {name} must be a number, not {chosen!r}")
        # (10**400 is Infinity, refused below; a Real that is not a float as float() reads it)
        chosen = number_as_float(chosen)
        if not math.isfinite(chosen):
            raise InputError(
                f"the start value of {name} must be finite, not {format_number(chosen)}"
            )
        start[name] = chosen
    return start
