"""The carried columns of a Parquet or Arrow input as text, a column at a
time: each value as the record path writes it (a CSV cell as
:func:`cgrad.batch.writers.cell` gives it, a JSON value as
:func:`cgrad.batch.json_text.dumps` does), with numbers, integers and
strings done by Arrow and orjson, and only other types (dates, decimals,
lists, ...) one value at a time. A table of many columns is then written
at the speed of its numbers, not of a Python object per cell."""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrow_text import BYTES, number_array


def csv_cells(column: Any, cell: Callable[[object], str]) -> list[str] | Any:
    """Each value of an Arrow array as a CSV cell's text (empty for null):
    a float64 array (numbers with no null, written beside the value's and
    the partials' by one dump), an Arrow array of texts that never need
    quoting (numbers), or a list of texts for the caller to quote;
    ``cell`` writes the values of other types."""
    column = _decoded(column)
    numbers = _numbers(column, "", json=False)
    if numbers is not None:
        return numbers
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.fill_null("").to_pylist()
    return [cell(value) for value in column.to_pylist()]


def json_values(column: Any, dumps: Callable[[object], str]) -> list[str] | Any:
    """Each value of an Arrow array as JSON text (null for null): a float64
    array of finite numbers as it is, else texts; ``dumps`` writes the
    values of other types."""
    column = _decoded(column)
    numbers = _numbers(column, "null", json=True)
    if numbers is not None:
        return numbers
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        # (what dumps gives a str: json.dumps with ensure_ascii=False, whose
        # C encoder this is)
        texts = column.to_pylist()
        return ["null" if text is None else encode_basestring(text) for text in texts]
    return [dumps(value) for value in column.to_pylist()]


def _decoded(column: Any) -> Any:
    # A dictionary's values (Spark's and pandas' categories) are what a
    # record holds: decoded, they take the fast paths of their type.
    return column.dictionary_decode() if pa.types.is_dictionary(column.type) else column


def _numbers(column: Any, null: str, json: bool) -> Any:
    """A float or integer column as :class:`~cgrad.batch.json_text.Pieces`
    takes it (None for other types). float16 is left to the caller: a
    record holds a numpy float16 for it, written as numpy writes it."""
    kind = column.type
    if pa.types.is_float32(kind) or pa.types.is_float64(kind):
        # (a null's slot holds some number: its text is replaced)
        floats = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        if not column.null_count and (not json or np.isfinite(floats).all()):
            return floats
        return _with_nulls(column, number_array(floats, json=json), null)
    if pa.types.is_integer(kind):
        return _with_nulls(column, column.cast(pa.string()).cast(BYTES), null)
    return None


def _with_nulls(column: Any, texts: Any, null: str) -> Any:
    if not column.null_count:
        return texts
    return pc.if_else(column.is_null(), pa.scalar(null.encode(), BYTES), texts)
