"""Arrow's number columns as float64: integers, floats and decimals, each
value the float nearest it, as Python's float() reads the number it is.

Arrow's own cast of a decimal to a double is not always the nearest float
(a 38-digit decimal, or one of scale 20, can come out a unit in the last
place off), so a decimal is cast to its text and that text to a double,
which Arrow rounds correctly. An integer beyond 2**53 is rounded by numpy
to the nearest float (Arrow's cast refuses one), as ``batch`` reads the
same integer from a CSV file.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_number_type(kind: Any) -> bool:
    """Whether an Arrow type holds numbers cgrad reads as floats."""
    import pyarrow.types as types  # (an Arrow column: pyarrow is there)

    return bool(types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind))


def nearest_floats(column: Any) -> np.ndarray:
    """An Arrow array (or chunked array) of numbers, or of a dictionary of
    numbers, as float64, nulls NaN."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.string()).cast(pa.float64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
