"""Names in the data read composed (NFC), as the command line's are: a
column whose name is written decomposed (``e`` and a combining accent, as
macOS writes names) is the input of the composed name. The data's own
spelling is what an output echoes where it echoes the user's columns (a
carried column); an input is echoed under the program's name."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

NFD, NFC = "e\u0301", "\u00e9"  # é decomposed and composed


def _ndjson(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_decomposed_csv_header_is_the_composed_input(cli):
    rows = f"{NFD},y,note{NFD}\n1,2,a\n3,4,b\n"
    records = _ndjson(cli("batch", "-e", f"{NFC}*y", "--format", "ndjson", input=rows))
    assert [r["value"] for r in records] == [2.0, 12.0]
    assert records[0]["inputs"] == {NFC: 1.0, "y": 2.0}
    # The carried column keeps the data's own spelling, byte for byte.
    assert list(records[0]["extra"]) == [f"note{NFD}"]
    result = cli("batch", "-e", f"{NFC}*y", "--format", "csv", input=rows)
    assert (
        result.stdout.splitlines()[0]
        == f"row,{NFC},y,note{NFD},value,grad_{NFC},grad_y,error,warnings"
    )


def test_decomposed_ndjson_fields_are_the_composed_inputs(cli):
    rows = "".join(
        json.dumps({NFD: k, "y": 2, f"n{NFD}": "k"}, ensure_ascii=False) + "\n" for k in range(3)
    )
    records = _ndjson(cli("batch", "-e", f"{NFC}*y", "--format", "ndjson", input=rows))
    assert [r["value"] for r in records] == [0.0, 2.0, 4.0]
    assert records[1]["extra"] == {f"n{NFD}": "k"}
    # Records that each name their expression too.
    rows = "".join(
        json.dumps({"expr": f"{NFC}*y", NFD: k, "y": 2}, ensure_ascii=False) + "\n"
        for k in range(3)
    )
    records = _ndjson(cli("batch", "--format", "ndjson", input=rows))
    assert [r["value"] for r in records] == [0.0, 2.0, 4.0]


def test_a_decomposed_parquet_column_is_the_composed_input(cli, tmp_path):
    path = tmp_path / "points.parquet"
    pq.write_table(pa.table({NFD: [1.0, 3.0], "y": [2.0, 4.0]}), path)
    records = _ndjson(cli("batch", str(path), "-e", f"{NFC}*y", "--format", "ndjson"))
    assert [r["value"] for r in records] == [2.0, 12.0]


def test_column_mappings_meet_the_data_in_either_form(cli):
    rows = f"{NFD},y\n1,2\n"
    for column in (NFD, NFC):
        records = _ndjson(
            cli("batch", "-e", "z*y", "--column", f"z={column}", "--format", "ndjson", input=rows)
        )
        assert records[0]["inputs"] == {"z": 1.0, "y": 2.0}
    # The variable of --column is a name of the language: read composed.
    records = _ndjson(
        cli("batch", "-e", f"{NFC}*y", "--column", f"{NFD}=y", "--format", "ndjson", input="y\n3\n")
    )
    assert records[0]["value"] == 9.0


def test_a_parameters_file_with_decomposed_names(cli, tmp_path):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"w": 2, NFD: 1}, ensure_ascii=False), encoding="utf-8")
    records = _ndjson(
        cli("batch", "-e", f"w*x + {NFC}", "--params", str(params), "--format", "ndjson",
            input="x\n1\n")
    )  # fmt: skip
    assert records[0]["value"] == 3.0
    both = tmp_path / "both.json"
    both.write_text(json.dumps({NFC: 1, NFD: 3}, ensure_ascii=False), encoding="utf-8")
    result = cli("batch", "-e", f"x + {NFC}", "--params", str(both), input="x\n1\n")
    assert result.exit_code == 2
    assert f"{both} gives {NFC} twice" in result.stderr


def test_fit_reads_a_decomposed_column_as_the_composed_input(cli, tmp_path):
    data = tmp_path / "line.csv"
    data.write_text(
        f"{NFD},t\n" + "".join(f"{k / 10},{2 * k / 10 + 1}\n" for k in range(20)), encoding="utf-8"
    )
    result = cli("fit", f"w*{NFC} + b", str(data), "--target", "t", "--json")
    assert result.exit_code == 0, result.output
    # é is a column, not a parameter: w and b are fitted, to 2 and 1.
    fitted = json.loads(result.stdout.splitlines()[-1])["params"]
    assert set(fitted) == {"w", "b"}
    assert round(fitted["w"], 6) == 2.0 and round(fitted["b"], 6) == 1.0
