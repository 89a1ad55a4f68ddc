"""A group of records' input values as numbers: an input's column over
the records, as float64, and the error of each record whose value is
missing or is no number (the record path's reading of values; the
columnar path lets Arrow read clean blocks)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import cast

import numpy as np

from .bindings import Bindings

# A record's error: (type, message).
Error = tuple[str, str]

_MISSING = object()


def input_column(
    name: str, records: list[dict[str, object]], bindings: Bindings
) -> tuple[np.ndarray, dict[int, Error]]:
    """The values of input ``name`` over the records (their fields), as
    float64, the fixed value where a record lacks it; and the error of each
    record (by its index) whose value is missing or not a number (NaN in
    the column there)."""
    source = bindings.source(name)
    raw = [fields.get(source, bindings.fixed.get(name, _MISSING)) for fields in records]
    kinds = set(map(type, raw))
    # The common cases, converted by numpy in one go: all CSV text, or all
    # JSON numbers (bool is excluded: true is not 1 here).
    plain_text = kinds <= {str} and plain_number_text("".join(cast(list[str], raw)))  # see number
    if plain_text or kinds <= {int, float}:
        try:
            return np.array(raw, dtype=np.float64), {}
        except (ValueError, OverflowError):
            pass
    column = np.empty(len(raw), dtype=np.float64)
    errors: dict[int, Error] = {}
    for index, value in enumerate(raw):
        read = None if value is _MISSING else number(value)
        if read is None:
            named = name if source == name else f"{name} (column {source!r})"
            errors[index] = (
                ("missing_value", f"no value for {named}")
                if value is _MISSING
                else ("invalid_value", f"the value of {named} is {_describe(value)}")
            )
            read = math.nan
        column[index] = read
    return column, errors


def number(raw: object) -> float | None:
    """A record's value as a float: a JSON number, a decimal, or text as
    Python's float() reads it (CSV fields, and the NaN/Infinity strings
    cgrad writes)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        return raw
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:  # beyond float64, as 1e400 is: an infinity
            return math.inf if raw > 0 else -math.inf
    if isinstance(raw, Decimal):  # a Parquet or Arrow decimal: the float nearest it
        return float(raw)
    if isinstance(raw, str):
        if not plain_number_text(raw):
            return None
        try:
            return float(raw)  # strips blanks, reads NaN, Infinity, -Infinity
        except ValueError:
            return None
    return None


def plain_number_text(text: str) -> bool:
    """Whether ``text`` holds nothing that Python's float() reads but cgrad's
    command line refuses (eval x=1_000, x=١): digit separators, and digits
    or blanks outside ASCII (Arabic-Indic, fullwidth, a no-break space)."""
    return "_" not in text and text.isascii()


def _describe(raw: object) -> str:
    if raw == "":
        return "empty"
    # Say it as the input wrote it: true and null, not True and None.
    shown = repr(raw) if isinstance(raw, str) else json.dumps(raw, default=str)
    return f"not a number: {shown}"
