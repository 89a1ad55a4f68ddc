"""The column names of ``batch --hessian`` in flat outputs: one name per
column even where two pairs of names would make one ``hessian_<a>_<b>``,
and clear of the inputs and carried columns; read back by pandas and
pyarrow, each number where its name says."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cgrad
from cgrad.batch.hessians import hessian_headers

# Inputs x, y_z, x_y, z: the pairs (x, y_z) and (x_y, z) both make
# hessian_x_y_z; a carried column is named like a Hessian column too.
TEXT = "x*y_z + x_y^2*z + x^3*z*y_z + sin(x*z)"
DATA = "x,y_z,x_y,z,hessian_x_x\n1,2,3,4,a\n0.5,-1,2,3,b\n"
INPUTS = ["x", "y_z", "x_y", "z"]
HESSIAN_COLUMNS = [
    "hessian_x_x", "hessian_x.y_z", "hessian_x_x_y", "hessian_x_z",
    "hessian_y_z_x", "hessian_y_z_y_z", "hessian_y_z_x_y", "hessian_y_z_z",
    "hessian_x_y_x", "hessian_x_y_y_z", "hessian_x_y_x_y", "hessian_x_y.z",
    "hessian_z_x", "hessian_z_y_z", "hessian_z_x_y", "hessian_z_z",
]  # fmt: skip


def _frame(cli, tmp_path, output_format: str) -> pd.DataFrame:
    """The output of ``--hessian`` in ``output_format``, read by pandas
    (CSV) or pyarrow (Parquet, Arrow IPC)."""
    source = tmp_path / "points.csv"
    source.write_text(DATA, encoding="utf-8")
    if output_format == "csv":
        result = cli("batch", str(source), "-e", TEXT, "--hessian", "--format", "csv")
        assert result.exit_code == 0, result.output
        return pd.read_csv(io.StringIO(result.stdout))
    target = tmp_path / f"out.{output_format}"
    result = cli("batch", str(source), "-e", TEXT, "--hessian", "-o", str(target))
    assert result.exit_code == 0, result.output
    if output_format == "parquet":
        return pd.read_parquet(target)
    with pa.OSFile(str(target), "rb") as handle:
        return pa.ipc.open_file(handle).read_all().to_pandas()


@pytest.mark.parametrize("output_format", ["csv", "parquet", "arrow"])
def test_clashing_hessian_names_get_a_dot_and_every_column_is_unique(cli, tmp_path, output_format):
    frame = _frame(cli, tmp_path, output_format)
    names = list(frame.columns)
    assert len(names) == len(set(names))
    assert names == [
        "row", *INPUTS, "extra_hessian_x_x", "value", *(f"grad_{n}" for n in INPUTS),
        *HESSIAN_COLUMNS, "error", "warnings",
    ]  # fmt: skip
    function = cgrad.compile(TEXT)
    for _, row in frame.iterrows():
        point = {name: float(row[name]) for name in INPUTS}
        second, _ = function.hessian(point)
        for a in INPUTS:
            for b in INPUTS:
                plain = f"hessian_{a}_{b}"
                column = plain if plain in HESSIAN_COLUMNS else f"hessian_{a}.{b}"
                assert row[column] == pytest.approx(second[a][b], rel=1e-12, abs=1e-12)


def test_a_parquet_output_with_clashing_pairs_is_read_by_pandas(cli, tmp_path):
    # Two columns of one name made a Parquet file pandas refuses to read.
    frame = _frame(cli, tmp_path, "parquet")
    assert frame["hessian_x.y_z"].tolist() != frame["hessian_x_y.z"].tolist()
    assert pq.read_schema(tmp_path / "out.parquet").names == list(frame.columns)


def test_plain_hessian_names_stay_when_they_are_unique():
    assert hessian_headers(False, ["x", "y_z", "w"]) == [
        f"hessian_{a}_{b}" for a in ("x", "y_z", "w") for b in ("x", "y_z", "w")
    ]
    assert hessian_headers(True, ["x", "y_z"]) == ["hessian"]


def test_a_carried_column_named_like_a_renamed_hessian_column_is_moved_clear(cli):
    result = cli(
        "batch", "-e", "x*y_z + x_y*z", "--hessian", "--format", "csv",
        input="x,y_z,x_y,z,hessian_x.y_z,hessian_x_y_z\n1,2,3,4,a,b\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert len(header) == len(set(header))
    assert header[5:7] == ["extra_hessian_x.y_z", "hessian_x_y_z"]
    assert "hessian_x.y_z" in header[12:] and "hessian_x_y.z" in header[12:]
