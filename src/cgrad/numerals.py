"""Numbers in and out: reading a value a user typed, writing float64 as text.

Output is the shortest text that round-trips (Python's ``repr``), and the
non-finite values are the strings of the protobuf JSON mapping, "NaN",
"Infinity" and "-Infinity", which RFC 8259 JSON can carry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}

# A decimal float as Python writes it, plus nan and inf, and nothing more
# lenient than that: no '1_000', no hex, no spaces.
# (``\d+(?:\.\d*)?``, not ``\d+\.?\d*``: the latter splits a run of digits
# between its two parts every way before it gives up on a text that is no
# number, quadratic in the digits.)
_DECIMAL = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)",
    re.IGNORECASE | re.ASCII,
)


def format_number(value: float) -> str:
    """Shortest round-trip text for people: ``9`` rather than ``9.0``, and
    NaN/Infinity/-Infinity for the non-finite values. Negative zero is
    written ``0``: a ``-0`` for a zero that only lost its sign to rounding
    or a minus reads as a sign error (JSON and CSV keep the sign)."""
    return literal_text(float(value) + 0.0)  # -0.0 + 0.0 is +0.0 in IEEE arithmetic


def literal_text(value: float) -> str:
    """As :func:`format_number`, but ``-0`` for negative zero: the text of
    a constant in a formula, where the sign matters (1/-0 is -Infinity)."""
    value = float(value)
    if not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def format_short(value: float, digits: int = 6) -> str:
    """``digits`` significant digits, for drawings where width matters more
    than the last bits (tables and JSON carry the full value)."""
    value = float(value) + 0.0  # no "-0", as in format_number
    if not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    return f"{value:.{digits}g}"


def number_text(value: float) -> str:
    """Shortest round-trip text, NaN/Infinity/-Infinity for the rest (CSV)."""
    text = repr(value)
    # Only 'nan', 'inf' and '-inf' end in a letter.
    return _NON_FINITE[text] if text[-1] in "nf" else text


def json_text(value: float) -> str:
    """A float as JSON text: a number, or a quoted NaN/Infinity/-Infinity."""
    text = repr(value)
    return f'"{_NON_FINITE[text]}"' if text[-1] in "nf" else text


def number_texts(column: np.ndarray) -> list[str]:
    """:func:`number_text` of every element of a float64 array, at C speed.

    orjson writes the same shortest round-trip digits as ``repr``, in the
    same form except below 1e-4 (``0.00001`` and ``2.5e-7`` where repr says
    ``1e-05`` and ``2.5e-07``): those few, and the non-finite ones (orjson's
    ``null``), are redone one by one, so both paths give the same bytes.
    repr of 17-digit numbers took 0.5 us each, most of a big batch's time.
    """
    import orjson  # here: a run that writes one point has no use for it

    column = np.ascontiguousarray(column, dtype=np.float64).reshape(-1)
    if column.size == 0:
        return []
    texts = orjson.dumps(column, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode().split(",")
    for index in np.flatnonzero(orjson_differs(column)).tolist():
        texts[index] = number_text(float(column[index]))
    return texts


def orjson_differs(numbers: np.ndarray) -> np.ndarray:
    """Where orjson writes a float otherwise than :func:`number_text`: below
    1e-4 (but 0), and the non-finite ones."""
    magnitude = np.abs(numbers)
    with np.errstate(invalid="ignore"):
        differs = ~((magnitude >= 1e-4) & (magnitude <= np.finfo(np.float64).max))
    differs &= magnitude != 0.0
    return differs


def json_number(value: float) -> float | str:
    """A float for ``json.dumps``, or the string for a non-finite value."""
    value = float(value)
    return value if math.isfinite(value) else _NON_FINITE[repr(value)]


def json_numbers(values: Mapping[str, float]) -> dict[str, float | str]:
    """Each of ``values`` as :func:`json_number` makes it, by name."""
    return {name: json_number(value) for name, value in values.items()}


def parse_number(text: str) -> float | None:
    """The float ``text`` denotes, or None if it is not a decimal number."""
    if not _DECIMAL.fullmatch(text):
        return None
    return float(text)
