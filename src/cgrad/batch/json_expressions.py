"""NDJSON records that carry their own expressions, read by Arrow's JSON
reader block by block and evaluated a distinct expression at a time.

The block's expressions are dictionary-encoded, the records of each
expression gathered (one stable sort), evaluated together as columns, and
kept as an :class:`~cgrad.batch.expression_block.ExpressionBlock`, so that
no record costs a Python object of its own. As for one expression
(:mod:`cgrad.batch.json_columns`), Arrow is trusted only where it reads
exactly what the record reader would: a block goes to the record reader
when any record holds something but its ``expr`` text and numbers, a
number is non-finite or -0, a field is null or repeated, an ``id`` or a
field that is not one of its expression's inputs would be carried, or an
expression fails to compile or lacks a ``--wrt`` name. A record with a
warning stays, with its own (see expression_block.expression_block).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from ..function import Function
from .arrow_json import ArrowJson, plain_numbers
from .bindings import Bindings
from .blocks import CompiledCache
from .expression_block import Chunk, Inputs, dictionary, expression_block
from .rows import EXPRESSION_FIELD, ID_FIELD

_SPACED_KEY = re.compile(rb'"[ \t\r]+:')


class ExpressionParser:
    """Arrow's JSON reader set up for records with an ``expr`` text each:
    the other fields' types inferred per block (only numbers are taken)."""

    def __init__(self, bindings: Bindings, compiled: CompiledCache) -> None:
        import pyarrow as pa

        self.bindings = bindings
        self.compiled = compiled
        self.reader = ArrowJson([(EXPRESSION_FIELD, pa.string())], "infer")

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> Chunk | None:
        """The block's outcomes as groups of columns, or None when the
        record reader must say something about one of its records."""
        import pyarrow.compute as pc

        read = self.reader.table(block)
        # (a key spaced from its colon would hide from the count of keys)
        if read is None or _SPACED_KEY.search(read[1]):
            return None
        table, block = read
        texts = table.column(EXPRESSION_FIELD)
        if texts.null_count:
            return None
        # A quote in a text could hide a '":' from the count of keys below.
        if pc.any(pc.match_substring(texts, '"')).as_py():
            return None
        numbers = _numbers(table, block)
        if numbers is None:
            return None
        encoded = dictionary(texts)
        if encoded is None:
            return None

        def inputs_at(function: Function, positions: np.ndarray) -> Inputs | None:
            inputs = _inputs(function.inputs, positions, numbers, self.bindings)
            return None if inputs is None else (inputs, {})

        return expression_block(encoded, rows, self.compiled, wrt, inputs_at)


def _numbers(table, block: bytes) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """Each field but ``expr``: its values as float64 and where it is
    present, or None when a field is not all numbers, holds a non-finite
    number or -0, or may be null or repeated somewhere (the keys counted in
    the text must be the values Arrow found, one ``expr`` a record)."""
    import pyarrow as pa

    numbers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    present = table.num_rows
    for name in table.column_names:
        if name == EXPRESSION_FIELD:
            continue
        column = table.column(name)
        kind = column.type
        if (
            name == ID_FIELD
            or '"' in name
            or not (pa.types.is_float64(kind) or pa.types.is_int64(kind) or pa.types.is_null(kind))
        ):
            return None
        present += len(column) - column.null_count
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        if not plain_numbers(values[valid]):
            return None
        numbers[name] = (values, valid)
    return numbers if block.count(b'":') == present else None


def _inputs(
    names: Sequence[str],
    positions: np.ndarray,
    numbers: dict[str, tuple[np.ndarray, np.ndarray]],
    bindings: Bindings,
) -> dict[str, np.ndarray] | None:
    """The inputs of one expression at its records, a value given on the
    command line filling those a record lacks; None when a record lacks
    one with no such value, or has a field that would be carried."""
    inputs: dict[str, np.ndarray] = {}
    used = set()
    for name in names:
        source = bindings.source(name)
        if source in (EXPRESSION_FIELD, ID_FIELD):
            return None  # the record reader says why the text is no number
        used.add(source)
        fixed = bindings.fixed.get(name)
        if source not in numbers:
            if fixed is None:
                return None
            inputs[name] = np.full(len(positions), fixed)
            continue
        values, valid = numbers[source]
        here = valid[positions]
        if here.all():
            inputs[name] = values[positions]
        elif fixed is not None:
            inputs[name] = np.where(here, values[positions], fixed)
        else:
            return None
    for source, (_, valid) in numbers.items():
        if source not in used and valid[positions].any():
            return None
    return inputs
