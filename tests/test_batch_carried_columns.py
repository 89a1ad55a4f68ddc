"""The carried columns of a Parquet or Arrow input, written a column at a
time (cgrad.batch.carried_text): the same bytes as the record path writes
record by record, in every output format, for every Arrow type."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgrad.batch import arrow_writers, writers
from cgrad.batch.blocks import ColumnBlock

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-5, 1e-4, 1e16, 1e22, 0.1, math.nan]),
)
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6)

# One column of each kind: numbers (with and without nulls), integers,
# text (with quotes, delimiters, line breaks), and types written one value
# at a time.
COLUMNS = {
    "f64": st.lists(FLOATS),
    "f64_nulls": st.lists(st.none() | FLOATS),
    "f32": st.lists(st.floats(width=32)),
    "i64": st.lists(st.none() | st.integers(-(2**63), 2**63 - 1)),
    "u8": st.lists(st.integers(0, 255)),
    "text": st.lists(st.none() | TEXTS | st.sampled_from(['a,"b"', "x\ty", "l\nm", "r\r"])),
    "flag": st.lists(st.none() | st.booleans()),
    "day": st.lists(st.none() | st.dates()),
    "price": st.lists(st.none() | st.decimals(places=2, min_value=-1000, max_value=1000)),
    "tags": st.lists(st.none() | st.lists(st.integers(0, 9), max_size=3)),
    "category": st.lists(st.none() | st.sampled_from(["red", "green", 'say "hi", "bye"'])),
    "half": st.lists(st.none() | st.floats(width=16)),
}
TYPES = {
    "f64": pa.float64(),
    "f64_nulls": pa.float64(),
    "f32": pa.float32(),
    "i64": pa.int64(),
    "u8": pa.uint8(),
    "text": pa.string(),
    "flag": pa.bool_(),
    "day": pa.date32(),
    "price": pa.decimal128(7, 2),
    "tags": pa.list_(pa.int8()),
    "category": pa.dictionary(pa.int32(), pa.string()),
    "half": pa.float16(),
}


def _block(columns: dict[str, list]) -> ColumnBlock:
    count = min(map(len, columns.values()))
    carried = {name: pa.array(values[:count], TYPES[name]) for name, values in columns.items()}
    x = np.linspace(-1.0, 1.0, count)
    return ColumnBlock(
        first_row=7, count=count, ids=None, inputs={"x": x}, value=x * 2.0,
        gradient={"x": np.full(count, 2.0)}, carried=carried,
    )  # fmt: skip


def _layout(block: ColumnBlock, types: bool = False) -> writers.Layout:
    kinds = {name: column.type for name, column in block.carried.items()} if types else None
    return writers.Layout(inputs=("x",), carried=tuple(block.carried), types=kinds)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.fixed_dictionaries(COLUMNS))
@pytest.mark.parametrize("form", ["csv", "tsv", "ndjson", "json"])
def test_carried_arrow_columns_are_written_as_the_record_path_writes_them(form, columns):
    block = _block(columns)
    kind = writers.WRITERS[writers.OutputFormat(form)]
    texts = []
    for chunk in (block, block.outcomes()):
        stream = io.StringIO()
        writer = kind(stream, _layout(block))
        writer.write(chunk)
        writer.close()
        texts.append(stream.getvalue())
    assert texts[0] == texts[1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(columns=st.fixed_dictionaries(COLUMNS))
@pytest.mark.parametrize("form", ["parquet", "arrow"])
def test_carried_arrow_columns_keep_their_types_and_values_in_arrow_outputs(form, columns):
    block = _block(columns)
    tables = []
    for chunk in (block, block.outcomes()):
        stream = io.BytesIO()
        writer = arrow_writers.ARROW_WRITERS[writers.OutputFormat(form)](
            stream, _layout(block, types=True)
        )
        writer.write(chunk)
        writer.close()
        source = pa.BufferReader(stream.getvalue())
        tables.append(
            pq.read_table(source) if form == "parquet" else pa.ipc.open_file(source).read_all()
        )
    # (compared as Python values written out: NaN is not equal to itself)
    assert tables[0].schema == tables[1].schema
    assert repr(tables[0].to_pylist()) == repr(tables[1].to_pylist())
    for name, column in block.carried.items():
        assert repr(tables[0].column(name).to_pylist()) == repr(column.to_pylist())


def test_a_wide_parquet_table_is_written_a_column_at_a_time(cli, tmp_path, monkeypatch):
    # No Python object per carried cell: no block is made into records.
    rng = np.random.default_rng(5)
    numbers = {f"c{i}": rng.normal(size=3000) for i in range(40)}
    table = pa.table({
        "x": rng.normal(size=3000), **numbers,
        "when": [datetime.date(2026, 1, 1 + i % 28) for i in range(3000)],
        "amount": pa.array([decimal.Decimal(i) / 100 for i in range(3000)], pa.decimal128(9, 2)),
    })  # fmt: skip
    source = tmp_path / "wide.parquet"
    pq.write_table(table, source)

    def refused(self):
        raise AssertionError("a block made into records")

    monkeypatch.setattr(ColumnBlock, "outcomes", refused)
    for form in ("csv", "ndjson", "parquet"):
        result = cli("batch", str(source), "-e", "x^2", "-o", str(tmp_path / f"out.{form}"), "-q")
        assert result.exit_code == 0, result.stderr
    assert pq.read_table(tmp_path / "out.parquet").select(table.column_names).equals(table)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0].split(",")[:44] == ["row", *table.column_names]
    assert lines[1].split(",")[3:42] == [repr(float(numbers[f"c{i}"][0])) for i in range(1, 40)]
    assert lines[1].split(",")[42:44] == ["2026-01-01", "0.00"]
    record = json.loads((tmp_path / "out.ndjson").read_text().splitlines()[-1])
    assert record["extra"]["c39"] == numbers["c39"][-1] and record["extra"]["when"] == "2026-01-04"
