"""NDJSON read by Apache Arrow's C++ JSON reader, block by block.

As for CSV (:mod:`cgrad.batch.columnar`), Arrow is trusted only where it
reads exactly what the record reader would, and any block it cannot vouch
for goes to the record reader, which gives each bad row its number, its
line and its error. Arrow takes a block when every record is an object
holding a JSON number for each input and nothing else, one object to a
line (blank lines aside). It is sent back otherwise, and also where Arrow
reads more than Python's json module does, or reads it differently:
NaN and Infinity spelled as Arrow reads them (so any non-finite input),
an integer ``-0`` (which Arrow reads as -0.0 and Python as 0), a record
with a field missing, two objects on a line.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Sequence

import numpy as np

from ..function import Function
from .bindings import Bindings
from .blocks import ColumnBlock, CompiledCache, with_warnings
from .columnar import BlockParser, BlockReader, Chunk
from .json_lines import object_lines
from .rows import Format


class NdjsonColumns(BlockReader):
    """The NDJSON records of ``stream`` (binary, buffered) for one
    expression; :meth:`outcomes` evaluates them."""

    def __init__(self, stream: io.BufferedReader) -> None:
        self.stream = stream
        self.format = Format.NDJSON

    def parser(
        self, function: Function | None, bindings: Bindings, compiled: CompiledCache
    ) -> BlockParser:
        if function is None:
            from .json_expressions import ExpressionParser

            return ExpressionParser(bindings, compiled)
        return _JsonParser(function, bindings)


class _JsonParser:
    """Arrow's JSON reader, set up once for one expression: each input a
    float64 field, any other field an error (the block then goes to the
    record reader, which carries such fields)."""

    def __init__(self, function: Function, bindings: Bindings) -> None:
        import pyarrow as pa
        import pyarrow.json as pj

        self.function = function
        self.bindings = bindings
        sources = sorted(set(bindings.sources(function.inputs)))
        self.read_options = pj.ReadOptions(use_threads=True)
        self.parse_options = pj.ParseOptions(
            explicit_schema=pa.schema([(name, pa.float64()) for name in sources]),
            unexpected_field_behavior="error",
        )
        self.read_json = pj.read_json
        self.errors = (pa.ArrowInvalid,)
        self.first = True

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> Chunk | None:
        import pyarrow as pa

        if self.first:
            # The record reader drops a byte-order mark opening the input.
            self.first = False
            block = block.removeprefix(codecs.BOM_UTF8)
        records = object_lines(block)
        if records is None:
            return None
        options = self.read_options
        options.block_size = max(len(block) + 1, 1 << 16)
        try:
            table = self.read_json(
                pa.BufferReader(block), read_options=options, parse_options=self.parse_options
            )
        except self.errors:
            return None
        if table.num_rows != records:
            return None  # two objects on a line: an error for the record reader
        inputs = self._inputs(table)
        if inputs is None:
            return None
        result = self.function.evaluate(inputs, wrt=wrt)
        columns = ColumnBlock(
            first_row=rows + 1,
            count=records,
            ids=None,
            inputs=inputs,
            value=np.broadcast_to(result.value, (records,)),
            gradient={n: np.broadcast_to(g, (records,)) for n, g in result.gradient.items()},
            carried={},
        )
        return with_warnings(columns, result.warnings)

    def _inputs(self, table) -> dict[str, np.ndarray] | None:
        """Each input's column, or None when a value is one Arrow and the
        record reader could read differently: a field missing from some
        records (a fixed value fills it only where no record has it, so
        that mixed blocks keep the record reader's word), a non-finite
        number, or a negative zero."""
        count, bindings, inputs = table.num_rows, self.bindings, {}
        for name in self.function.inputs:
            column = table.column(bindings.source(name))
            if column.null_count == count and name in bindings.fixed:
                inputs[name] = np.full(count, bindings.fixed[name])
                continue
            if column.null_count:
                return None
            values = column.to_numpy()
            if not np.isfinite(values).all() or np.signbit(values[values == 0.0]).any():
                return None
            inputs[name] = values
        return inputs
