"""Frames in, frames out: a pandas DataFrame or an Arrow table with the value
and the partial derivatives of a function added as columns, for Dask's
``map_partitions``, a Ray or Spark task, or a notebook.

pandas is not a dependency of cgrad, and this module does not import it:
a frame is told apart by what it can do, and makes its new columns itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np

from ..errors import InputError, join_names
from ..function import Function, compiled
from .arrow_numbers import nearest_floats

FrameT = TypeVar("FrameT")


def evaluate_frame(
    frame: FrameT,
    function: Function | str,
    *,
    wrt: Sequence[str] | str | None = None,
    columns: Mapping[str, Hashable] | None = None,
) -> FrameT:
    """``frame`` with a ``value`` column and a ``grad_<name>`` column per
    partial derivative (the ``--wrt`` ones when ``wrt`` is given), as
    ``cgrad batch --format csv`` names them; the frame's own columns and
    index are kept, and nothing is changed in place.

    ``frame`` is a pandas DataFrame, or a pyarrow Table or RecordBatch;
    ``function`` a compiled function or a program's text. Each input is
    read from the column of its name, or from ``columns[name]`` (for a
    column called ``X`` or ``temp C``, or labelled ``0``: any label the
    frame has, or its text), as float64: a missing value (None, NA, null)
    becomes NaN, an integer beyond 2**53 or a decimal the nearest float,
    as ``cgrad batch`` reads it. Raises :class:`cgrad.InputError` for a missing
    or non-numeric column, and when the frame has a column of a name it
    would add (a frame evaluated twice, say).
    """
    function = compiled(function, "cgrad.evaluate_frame")
    kind = frame_kind(frame)
    mapping: dict[str, Hashable] = {name: name for name in function.inputs}
    mapping.update(_checked_columns(function, columns))
    values = {name: frame_column(frame, kind, column) for name, column in mapping.items()}
    result = function.evaluate(values, wrt=wrt)
    rows = len(frame)  # type: ignore[arg-type]
    added = {"value": result.value}
    added.update({f"grad_{name}": slope for name, slope in result.gradient.items()})
    taken = [name for name in added if name in frame_names(frame, kind)]
    if taken:
        noun, pronoun = ("a column", "it") if len(taken) == 1 else ("columns", "them")
        raise InputError(
            f"the frame already has {noun} {join_names(taken)}, which cgrad would add",
            hint=f"drop or rename {pronoun} first",
        )
    full = {name: _full(column, rows) for name, column in added.items()}
    if kind == "pandas":
        return frame.assign(**full)  # type: ignore[attr-defined]
    # Arrow makes the arrays itself, so cgrad need not import pyarrow: a
    # table takes a column as a list of chunks, a record batch as one array.
    chunked = hasattr(frame, "to_batches")
    for name, column in full.items():
        frame = frame.append_column(name, [column] if chunked else column)  # type: ignore[attr-defined]
    return frame


def _checked_columns(
    function: Function, columns: Mapping[str, Hashable] | None
) -> dict[str, Hashable]:
    """``columns``, each key an input of ``function``: the mapping of a
    name that is none (misspelt, say) would otherwise do nothing."""
    if columns is None:
        return {}
    if not hasattr(columns, "keys"):
        raise InputError(
            f"columns must be a mapping of input names to column names, not {columns!r}",
            type="usage_error",
        )
    inputs = set(function.inputs)
    unknown = [name for name in columns if name not in inputs]
    if unknown:
        verb = "is not an input" if len(unknown) == 1 else "are not inputs"
        raise InputError(
            f"columns maps {join_names(unknown)}, which {verb} of this expression",
            hint=function.inputs_text(),
            type="unknown_input",
        )
    return dict(columns)


def _full(column: object, rows: int) -> np.ndarray:
    """A column of ``rows`` float64 numbers: a constant (or a partial that
    does not vary) comes back from evaluate as one number."""
    array = np.asarray(column, dtype=np.float64)
    return array if array.shape == (rows,) else np.full(rows, array, dtype=np.float64)


def frame_kind(frame: object) -> str:
    if hasattr(frame, "assign") and hasattr(frame, "columns"):
        return "pandas"
    if hasattr(frame, "append_column") and hasattr(frame, "column_names"):
        return "arrow"
    raise InputError(
        "evaluate_frame takes a pandas DataFrame or an Arrow table or record batch, "
        f"not {type(frame).__name__}",
        hint="make one first: pandas.DataFrame(columns) or pyarrow.table(columns)",
        type="usage_error",
    )


def frame_names(frame: Any, kind: str) -> list[str]:
    """The frame's column labels as text."""
    return [str(name) for name in (frame.columns if kind == "pandas" else frame.column_names)]


def frame_column(frame: Any, kind: str, column: Hashable) -> np.ndarray:
    """A column as float64, missing values as NaN: the column labelled
    ``column``, or else (a label that is no string, pandas' 0, found by the
    text "0") whose label's text it is."""
    labels = list(frame.columns if kind == "pandas" else frame.column_names)
    found = [position for position, label in enumerate(labels) if _same(label, column)]
    names = [str(label) for label in labels]
    if not found and isinstance(column, str):
        found = [position for position, name in enumerate(names) if name == column]
    if not found:
        shown = join_names(names) if names else "(none)"
        raise InputError(
            f"the frame has no column {column}",
            hint=f"its columns are {shown}; map an input to a column with columns={{NAME: COLUMN}}",
            type="missing_value",
        )
    if len(found) > 1:
        raise InputError(
            f"the frame has {len(found)} columns named {column}; cgrad cannot tell which to read",
            hint="rename all but one first (or map the input to another column)",
            type="invalid_value",
        )
    # By position: labels need not be unique, nor strings.
    data = frame.iloc[:, found[0]] if kind == "pandas" else frame.column(found[0])
    held = _pandas_held(data) if kind == "pandas" else _arrow_held(data.type)
    if held is not None:
        # Converted, a date would be a count of nanoseconds, true would be
        # 1 and "1.5" would be 1.5: numbers the frame does not hold.
        raise InputError(
            f"the column {column} holds {held}, not numbers",
            hint="convert it to numbers first (or map the input to another column)",
            type="invalid_value",
        )
    if kind == "pandas":
        return data.to_numpy(dtype=np.float64, na_value=np.nan)
    return nearest_floats(data)


def _same(label: object, column: Hashable) -> bool:
    """Whether a frame's label is ``column`` (an array-like label, which
    compares element by element, is not)."""
    try:
        return bool(label == column)
    except (TypeError, ValueError):
        return False


# numpy's kinds of number: signed and unsigned integers, floats.
_NUMBER_KINDS = "iuf"


def _pandas_held(series: Any) -> str | None:
    """What a pandas column holds, if it is not numbers (None if it is):
    its dtype, or the first value that is no number and not missing."""
    dtype = series.dtype
    if getattr(dtype, "name", "") == "category":
        dtype = dtype.categories.dtype
    if dtype.kind in _NUMBER_KINDS:
        return None
    if dtype.kind != "O":
        return f"{dtype} values"
    for value in series.tolist():  # mixed Python objects: each looked at
        if isinstance(value, bool | np.bool_) or not (
            value is None or isinstance(value, int | float | np.number | Decimal) or _is_na(value)
        ):
            return f"{type(value).__name__} values ({value!r})"
    return None


def _is_na(value: object) -> bool:
    # pandas' NA, told apart without importing pandas
    return type(value).__name__ == "NAType"


def _arrow_held(kind: Any) -> str | None:
    """What an Arrow column of type ``kind`` holds, if not numbers."""
    import pyarrow.types as types  # (an Arrow frame: pyarrow is there)

    if types.is_dictionary(kind):
        kind = kind.value_type
    numeric = types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind)
    return None if numeric or types.is_null(kind) else f"{kind} values"
