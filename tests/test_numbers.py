"""Number text: the column writer must give the bytes the one-by-one writer
gives, for every float64 (the batch output depends on it)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cgrad.numerals import json_text, number_text, number_texts

EDGES = [
    0.0, -0.0, 1e-4, -1e-4, 9.999999999999999e-05, 1e-05, 2.5e-07, 5e-324, 1e16, 1e15,
    9999999999999998.0, 1.7976931348623157e308, 0.1, 1.0, 123456789012345680.0,
    math.nan, math.inf, -math.inf,
]  # fmt: skip


def test_edges():
    assert number_texts(np.array(EDGES)) == [number_text(v) for v in EDGES]
    assert number_texts(np.array([])) == []
    assert number_text(1e-05) == "1e-05" and number_text(math.inf) == "Infinity"
    assert json_text(math.nan) == '"NaN"'


@settings(max_examples=300)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=50))
def test_a_column_is_written_as_each_number_alone(values):
    column = np.array(values, dtype=np.float64)
    texts = number_texts(column)
    assert texts == [number_text(v) for v in values]
    assert all(float(t) == v for t, v in zip(texts, values, strict=True) if math.isfinite(v))


def test_any_bit_pattern():
    bits = np.random.default_rng(0).integers(0, 2**63, size=200_000, dtype=np.uint64)
    column = np.concatenate([bits.view(np.float64), -bits.view(np.float64)])
    assert number_texts(column) == [number_text(v) for v in column.tolist()]


def test_a_strided_or_broadcast_column():
    square = np.arange(12.0).reshape(3, 4)
    assert number_texts(square[:, 1]) == ["1.0", "5.0", "9.0"]
    assert number_texts(np.broadcast_to(np.float64(0.5), (3,))) == ["0.5"] * 3
