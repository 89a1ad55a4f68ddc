"""Arrow's CSV reader set up once for a header and its columns' types, and
a block of lines read by it (shared by the CSV readers of one expression
and of records with their own)."""

from __future__ import annotations

from typing import Any

from .rows import Format


class ArrowCsv:
    """A block of CSV or TSV lines as an Arrow table, or None when Arrow
    refuses it. No quoting (a block with a quote never comes here) and no
    null values: an empty field is no number (Arrow then refuses the block)
    and stays an empty text in a text column."""

    def __init__(self, header: list[str], format: Format, types: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.csv as pv

        self.read_options = pv.ReadOptions(column_names=header, use_threads=False)
        self.parse_options = pv.ParseOptions(
            delimiter="\t" if format == Format.TSV else ",", quote_char=False
        )
        self.convert_options = pv.ConvertOptions(
            column_types=types, null_values=[], strings_can_be_null=False
        )
        self.read_csv = pv.read_csv
        self.buffer = pa.py_buffer
        self.errors = (pa.ArrowInvalid,)

    def table(self, block: bytes) -> Any:
        options = self.read_options
        options.block_size = max(len(block) + 1, 1 << 16)
        try:
            return self.read_csv(
                self.buffer(block),
                read_options=options,
                parse_options=self.parse_options,
                convert_options=self.convert_options,
            )
        except self.errors:
            return None
