"""``cgrad.evaluate_frame``: a pandas DataFrame or an Arrow table back with
``value`` and ``grad_<name>`` columns, the numbers those of
``Function.evaluate`` on the same columns; clear errors for frames it cannot
evaluate."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import cgrad

PROGRAM = "t = x*y; sin(t) + t*z"
FAR_DECIMAL = Decimal("-49980723888256692.69671215567")


def _frame() -> pd.DataFrame:
    generator = np.random.default_rng(7)
    values = generator.normal(size=(3, 50))
    return pd.DataFrame(
        {"x": values[0], "y": values[1], "z": values[2], "site": "s"}, index=range(100, 150)
    )


def test_a_pandas_frame_gets_the_value_and_partials_of_evaluate():
    frame = _frame()
    out = cgrad.evaluate_frame(frame, PROGRAM)
    result = cgrad.compile(PROGRAM).evaluate({n: frame[n].to_numpy() for n in "xyz"})
    assert list(out.columns) == ["x", "y", "z", "site", "value", "grad_x", "grad_y", "grad_z"]
    assert out.index.equals(frame.index) and list(frame.columns) == ["x", "y", "z", "site"]
    assert np.array_equal(out["value"].to_numpy(), result.value)
    for name in "xyz":
        assert np.array_equal(out[f"grad_{name}"].to_numpy(), result.gradient[name])


def test_wrt_and_columns_choose_the_partials_and_where_inputs_come_from():
    frame = _frame().rename(columns={"x": "temp C"})
    out = cgrad.evaluate_frame(frame, cgrad.compile(PROGRAM), wrt="z", columns={"x": "temp C"})
    assert list(out.columns)[-2:] == ["value", "grad_z"]
    assert np.array_equal(out["grad_z"].to_numpy(), frame["temp C"] * frame["y"])


def test_missing_values_are_nan_and_a_constant_fills_its_column():
    frame = pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int64")})
    out = cgrad.evaluate_frame(frame, "2*x")
    assert out["value"].tolist()[::2] == [2.0, 6.0] and np.isnan(out["value"][1])
    assert out["grad_x"].tolist() == [2.0, 2.0, 2.0]
    constant = cgrad.evaluate_frame(frame, "2")
    assert constant["value"].tolist() == [2.0, 2.0, 2.0] and "grad_x" not in constant
    assert cgrad.evaluate_frame(frame.iloc[:0], "2*x")["value"].tolist() == []


@pytest.mark.parametrize("kind", ["table", "batch"])
def test_an_arrow_table_or_batch_gets_the_same_columns(kind):
    frame = _frame().reset_index(drop=True)
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    if kind == "batch":
        arrow = arrow.to_batches()[0]
    out = cgrad.evaluate_frame(arrow, PROGRAM)
    assert type(out) is type(arrow)
    assert out.column_names == ["x", "y", "z", "site", "value", "grad_x", "grad_y", "grad_z"]
    pd.testing.assert_frame_equal(out.to_pandas(), cgrad.evaluate_frame(frame, PROGRAM))


def test_arrow_nulls_are_nan():
    out = cgrad.evaluate_frame(pa.table({"x": pa.array([1, None], pa.int32())}), "x+1")
    assert out.column("value").to_pylist()[0] == 2.0 and np.isnan(out.column("value")[1].as_py())


CONVERT = "hint: convert it to numbers first (or map the input to another column)"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (
            pd.DataFrame({"x": [1.0], "Y": [2.0]}),
            "the frame has no column y\nhint: its columns are x and Y; "
            "map an input to a column with columns={NAME: COLUMN}",
        ),
        (
            pd.DataFrame({"x": [1.0], "y": ["two"]}),
            "the column y holds str values ('two'), not numbers\n" + CONVERT,
        ),
        (
            pd.DataFrame({"x": [1.0], "y": [2.0], "value": [0.0], "grad_y": [0.0]}),
            "the frame already has columns value and grad_y, which cgrad would add\n"
            "hint: drop or rename them first",
        ),
        (
            pa.table({"x": [1.0], "y": ["two"]}),
            "the column y holds string values, not numbers\n" + CONVERT,
        ),
    ],
)
def test_a_frame_it_cannot_evaluate_is_an_input_error(frame, message):
    with pytest.raises(cgrad.InputError) as raised:
        cgrad.evaluate_frame(frame, "x*y")
    assert str(raised.value) == message


# Converted, these would be numbers the frame does not hold: a date as
# nanoseconds, true as 1 (as cgrad batch, which makes such records errors),
# the text "1.5" as 1.5.
@pytest.mark.parametrize(
    ("column", "held"),
    [
        (pd.Series(pd.to_datetime(["2020-01-01"])), "datetime64[ns] values"),
        (pd.Series([True, False]), "bool values"),
        (pd.Series(["1.5", "2"]), "str values ('1.5')"),
        (pd.Series([1.0, True], dtype=object), "bool values (True)"),
        (pd.Series(["a", "b"], dtype="category"), "str values ('a')"),
        (pa.array([True, False]), "bool values"),
        (pa.array(["1.5", "2"]), "string values"),
        (pa.array([0, 1], pa.timestamp("s")), "timestamp[s] values"),
        (pa.array(["a", "b"]).dictionary_encode(), "string values"),
    ],
)
def test_a_column_of_what_is_not_numbers_is_refused(column, held):
    frame = pa.table({"x": column}) if isinstance(column, pa.Array) else pd.DataFrame({"x": column})
    with pytest.raises(cgrad.InputError) as raised:
        cgrad.evaluate_frame(frame, "x*2")
    if isinstance(column, pd.Series) and column.dtype.kind == "M":
        held = f"{column.dtype} values"  # (pandas' unit: ns or us, by version)
    assert str(raised.value) == f"the column x holds {held}, not numbers\n{CONVERT}"


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, None], dtype="Int64"),
        pd.Series([1.0, pd.NA], dtype="Float64"),
        pd.Series([1, None], dtype=object),
        pd.Series([1, pd.NA], dtype=object),
        pd.Series([1.0, np.nan], dtype="category"),
        pa.array([1, None], pa.uint8()),
        pa.array([1.0, None]).dictionary_encode(),
    ],
)
def test_numbers_in_any_type_are_read_and_what_is_missing_is_nan(column):
    frame = pa.table({"x": column}) if isinstance(column, pa.Array) else pd.DataFrame({"x": column})
    out = cgrad.evaluate_frame(frame, "x*2")
    pandas = isinstance(out, pd.DataFrame)
    values = out["value"].tolist() if pandas else out.column("value").to_pylist()
    assert values[0] == 2.0 and np.isnan(values[1])


@pytest.mark.parametrize(
    "column",
    [
        pa.array([Decimal("1.25"), None, FAR_DECIMAL], pa.decimal128(38, 20)),
        pd.Series([Decimal("1.25"), None, FAR_DECIMAL], dtype=object),
        pd.Series([Decimal("1.25"), None, FAR_DECIMAL], dtype=pd.ArrowDtype(pa.decimal128(38, 20))),
    ],
    ids=["arrow", "pandas objects", "pandas arrow"],
)
def test_decimals_are_read_as_the_float_nearest_them(column):
    frame = pa.table({"x": column}) if isinstance(column, pa.Array) else pd.DataFrame({"x": column})
    out = cgrad.evaluate_frame(frame, "x*2")
    pandas = isinstance(out, pd.DataFrame)
    values = out["value"].tolist() if pandas else out.column("value").to_pylist()
    assert values[0] == 2.5 and np.isnan(values[1])
    # Arrow's own cast to double gives -4.998072388825669e+16, a unit off.
    assert values[2] == 2 * float(FAR_DECIMAL) == 2 * -4.9980723888256696e16


def test_what_is_not_a_frame_is_an_input_error():
    with pytest.raises(cgrad.InputError) as raised:
        cgrad.evaluate_frame({"x": [1.0]}, "x")
    assert (raised.value.message, raised.value.hint, raised.value.type) == (
        "evaluate_frame takes a pandas DataFrame or an Arrow table or record batch, not dict",
        "make one first: pandas.DataFrame(columns) or pyarrow.table(columns)",
        "usage_error",
    )
