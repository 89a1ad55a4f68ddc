"""CSV and TSV records that carry their own expressions (an ``expr``
column), read by Arrow's CSV reader block by block and evaluated a
distinct expression at a time, as NDJSON's are
(:mod:`cgrad.batch.json_expressions`).

Every column is read as text; each expression's inputs are converted at
its own records only, so that a column may be empty, or hold words, where
the expressions that do not use it are. As for one expression
(:mod:`cgrad.batch.columnar`), Arrow is trusted only where it reads what
the record reader would: a file with an ``id`` column is read by the
record reader throughout (see columnar.BlockReader), and a block goes to
it when an input is not a number to Arrow, has both a column and a value
on the command line, or is NaN or infinite (Arrow reads spellings of NaN
that Python's float() refuses), or an expression fails to compile or
lacks a ``--wrt`` name. A record with a warning stays, with its own (see
expression_block.expression_block).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..function import Function
from .arrow_csv import ArrowCsv
from .bindings import Bindings
from .blocks import CompiledCache
from .expression_block import ExpressionBlock, Inputs, dictionary, expression_block
from .rows import EXPRESSION_FIELD, Format


class DelimitedExpressionParser:
    """Arrow's CSV reader set up once for one header, every column text."""

    def __init__(
        self, header: list[str], format: Format, bindings: Bindings, compiled: CompiledCache
    ) -> None:
        import pyarrow as pa

        self.header = header
        self.bindings = bindings
        self.compiled = compiled
        self.reader = ArrowCsv(header, format, {name: pa.string() for name in header})

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> ExpressionBlock | None:
        """The block's outcomes as groups of columns, or None when the
        record reader must say something about one of its records."""
        table = self.reader.table(block)
        if table is None:
            return None
        encoded = dictionary(table.column(EXPRESSION_FIELD))
        if encoded is None:
            return None
        columns = {
            name: table.column(name).combine_chunks()
            for name in self.header
            if name != EXPRESSION_FIELD
        }

        def inputs_at(function: Function, positions: np.ndarray) -> Inputs | None:
            return _inputs(function, positions, columns, self.bindings)

        return expression_block(encoded, rows, self.compiled, wrt, inputs_at)


def _inputs(
    function: Function, positions: np.ndarray, columns: dict[str, Any], bindings: Bindings
) -> Inputs | None:
    """One expression's inputs at its records (the texts of its columns as
    numbers, or its values from the command line) and the other columns'
    texts there, carried; None when the record reader must judge a text."""
    import pyarrow as pa

    picked = pa.array(positions)
    inputs: dict[str, np.ndarray] = {}
    for name in function.inputs:
        source = bindings.source(name)
        fixed = bindings.fixed.get(name)
        if source not in columns:
            if fixed is None or source == EXPRESSION_FIELD:
                return None
            inputs[name] = np.full(len(positions), fixed)
            continue
        if fixed is not None:
            return None
        try:
            values = columns[source].take(picked).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        numbers = values.to_numpy(zero_copy_only=False)
        if not np.isfinite(numbers).all():
            return None
        inputs[name] = numbers
    used = set(bindings.sources(function.inputs))
    carried = {name: column.take(picked) for name, column in columns.items() if name not in used}
    return inputs, carried
