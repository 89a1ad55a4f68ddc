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

import io
import json
from collections.abc import Sequence

import numpy as np

from ..function import Function
from .arrow_json import ArrowJson, plain_numbers
from .bindings import Bindings
from .blocks import ColumnBlock, CompiledCache, with_warnings
from .columnar import BlockParser, BlockReader, Chunk
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
    """The reader for one expression: each input a float64 field, any
    other field an error (the block then goes to the record reader, which
    carries such fields)."""

    def __init__(self, function: Function, bindings: Bindings) -> None:
        import pyarrow as pa

        self.function = function
        self.bindings = bindings
        sources = sorted(set(bindings.sources(function.inputs)))
        self.reader = ArrowJson([(name, pa.float64()) for name in sources], "error")

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> Chunk | None:
        read = self.reader.table(block)
        if read is None:
            return None
        table, block = read
        inputs = self._inputs(table, block)
        if inputs is None:
            return None
        count = table.num_rows
        result = self.function.evaluate(inputs, wrt=wrt)
        columns = ColumnBlock(
            first_row=rows + 1,
            count=count,
            ids=None,
            inputs=inputs,
            value=np.broadcast_to(result.value, (count,)),
            gradient={n: np.broadcast_to(g, (count,)) for n, g in result.gradient.items()},
            carried={},
        )
        return with_warnings(columns, result.warnings)

    def _inputs(self, table, block: bytes) -> dict[str, np.ndarray] | None:
        """Each input's column, or None when a value is one Arrow and the
        record reader could read differently: a null or a field missing
        from some records (a value given on the command line fills a field
        only where no record of the block names it, so that mixed blocks
        keep the record reader's word), a non-finite number, or a -0."""
        count, bindings, inputs = table.num_rows, self.bindings, {}
        for name in self.function.inputs:
            source = bindings.source(name)
            column = table.column(source)
            if column.null_count == count and name in bindings.fixed and _unnamed(source, block):
                inputs[name] = np.full(count, bindings.fixed[name])
                continue
            if column.null_count:
                return None
            values = column.to_numpy()
            if not plain_numbers(values):
                return None
            inputs[name] = values
        return inputs


def _unnamed(key: str, block: bytes) -> bool:
    """Whether no record of ``block`` names ``key`` (so that its nulls are
    absences, not ``null`` values); not known when a key may be escaped."""
    return b"\\u" not in block and json.dumps(key, ensure_ascii=False).encode() not in block
