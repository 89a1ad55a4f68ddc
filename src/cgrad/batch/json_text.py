"""Output records as JSON text: one record from its outcome, or a block
of them a column at a time, the same bytes either way (shared by the
NDJSON, JSON and CSV writers of :mod:`cgrad.batch.writers`)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

import numpy as np

from ..numerals import json_number, json_text, number_texts
from .blocks import ColumnBlock, Outcome
from .expression_block import Chunk, ExpressionBlock
from .hessians import hessian_json

if TYPE_CHECKING:
    from .grouped_text import GroupTexts


def dumps(document: object) -> str:
    try:
        return json.dumps(document, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:  # a NaN or an infinity somewhere in it
        # (default=str: a date or a decimal read from Parquet, as its text)
        return json.dumps(_finite(document), ensure_ascii=False, allow_nan=False, default=str)


def _finite(value: object) -> object:
    """``value`` with NaN and infinities as their strings: a carried field
    or an id read from NDJSON (which Python's json accepts) may hold them.
    A copy made without recursion: a carried field may be nested deep."""
    holder = [value]
    # (container, key): a list and an index, or a dict and a key.
    pending: list[tuple[list[Any] | dict[Any, Any], Any]] = [(holder, 0)]
    while pending:
        container, key = pending.pop()
        item = container[key]
        if isinstance(item, float):
            container[key] = json_number(item)
        elif isinstance(item, dict):
            container[key] = item = dict(item)
            pending.extend((item, name) for name in item)
        elif isinstance(item, list):
            container[key] = item = list(item)
            pending.extend((item, index) for index in range(len(item)))
    return holder[0]


@functools.lru_cache(maxsize=256)
def _object_template(names: tuple[str, ...]) -> str:
    """'{"x": %s, "y": %s}' for names x, y: a JSON object with slots."""
    # A '%' in a name (a CSV header like "rate%") must not read as a slot.
    keys = (dumps(name).replace("%", "%%") for name in names)
    return "{" + ", ".join(f"{key}: %s" for key in keys) + "}"


def record_text(outcome: Outcome) -> str:
    """The output record of SPEC section 3 as one line of JSON. Built from
    templates rather than through json.dumps of a dict per record, which
    was most of the time of a big batch."""
    parts = [f'{{"row": {outcome.row}']
    if outcome.id is not None:
        parts.append(f', "id": {dumps(outcome.id)}')
    if outcome.expression is not None:
        parts.append(f', "expr": {dumps(outcome.expression)}')
    if outcome.error is not None:
        if outcome.extra:
            parts.append(f', "extra": {dumps(outcome.extra)}')
        error = {"type": outcome.error[0], "message": outcome.error[1]}
        parts.append(f', "error": {dumps(error)}}}')
        return "".join(parts)
    value = outcome.value
    assert value is not None  # an outcome has its value, or its error
    inputs = _object_template(outcome.input_names) % tuple(map(json_text, outcome.input_values))
    gradient = _object_template(outcome.gradient_names) % tuple(
        map(json_text, outcome.gradient_values)
    )
    parts.append(f', "inputs": {inputs}, "value": {json_text(value)}, "gradient": {gradient}')
    if outcome.hessian is not None:
        parts.append(f', "hessian": {hessian_json(outcome)}')
    if outcome.extra:
        parts.append(f', "extra": {dumps(outcome.extra)}')
    if outcome.warnings:
        parts.append(f', "warnings": {dumps([w.as_json() for w in outcome.warnings])}')
    parts.append("}")
    return "".join(parts)


def _interleaved(segments: Sequence[str], columns: Sequence[Sequence[str]], count: int) -> str:
    """``segments[0] + columns[0][i] + segments[1] + ... + segments[-1]`` for
    every i, as one string, built by slice assignment and one join: at C
    speed, far faster than a %-template per row."""
    width = len(segments) + len(columns)
    pieces = [""] * (width * count)
    for index, segment in enumerate(segments):
        pieces[2 * index :: width] = [segment] * count
    for index, column in enumerate(columns):
        pieces[2 * index + 1 :: width] = column
    return "".join(pieces)


class Pieces:
    """Text with a column of values wherever :meth:`add` is called: a list
    of texts, an integer array, or a float64 array whose numbers are
    written as :func:`~cgrad.numerals.number_texts` writes them."""

    def __init__(self, text: str = "") -> None:
        self.segments: list[str] = []
        # (and Arrow arrays of bytes, made by cgrad.batch.arrow_text)
        self.columns: list[Any] = []
        self.pending = text

    def add(self, column: Any, after: str = "") -> None:
        self.segments.append(self.pending)
        self.columns.append(column)
        self.pending = after

    def add_object(self, columns: dict[str, Any], csv_field: bool = False) -> None:
        """A JSON object with a column per key (and "{}" for none); as a
        ``csv_field``, in quotes with its keys' quotes doubled (its columns'
        texts must come so), as a CSV field with quotes in it is written."""
        if not columns:
            self.pending += "{}"
            return
        opening = '"{' if csv_field else "{"
        for name, column in columns.items():
            key = dumps(name).replace('"', '""') if csv_field else dumps(name)
            self.pending += f"{opening}{key}: "
            self.add(column)
            opening = ", "
        self.pending += '}"' if csv_field else "}"

    def joined(
        self, count: int, separator: str, after_last: bool = False, encoded: bool = False
    ) -> str | memoryview:
        """The records, ``separator`` between them (and after the last one
        too, if ``after_last``); with ``encoded``, as UTF-8 bytes where
        Arrow made them so."""
        if count == 0:
            return ""
        segments = [*self.segments, self.pending + separator]
        if "pyarrow" in sys.modules:
            # Arrow is loaded (it read the input): its kernels join the
            # columns in C. Without it, lists of Python strings do.
            from .arrow_text import interleaved

            trim = 0 if after_last else len(separator)
            return interleaved(segments, self.columns, count, trim, encoded)
        else:
            columns = [_texts(column, count) for column in self.columns]
            text = _interleaved(segments, columns, count)
        return text if after_last else text[: len(text) - len(separator)]


def _texts(column: Sequence[str] | np.ndarray, count: int) -> Sequence[str]:
    if not isinstance(column, np.ndarray):
        return column
    if column.dtype.kind == "i":
        return list(map(str, column.tolist()))
    return number_texts(np.broadcast_to(column, (count,)))


def json_column(column: np.ndarray) -> Any:
    """A float column as :class:`Pieces` takes it for JSON: as it is when
    its numbers are all finite, else its texts with NaN and the infinities
    quoted, as :func:`~cgrad.numerals.json_text` writes them."""
    finite = np.isfinite(column)
    if finite.all():
        return column
    if "pyarrow" in sys.modules:
        from .arrow_text import number_array

        return number_array(column, json=True)
    texts = number_texts(column)
    for at in np.flatnonzero(~finite).tolist():
        texts[at] = f'"{texts[at]}"'
    return texts


def row_numbers(first: int, count: int) -> np.ndarray:
    """The rows' numbers, as a column for :class:`Pieces`."""
    return np.arange(first, first + count, dtype=np.int64)


def block_text(
    block: ColumnBlock, separator: str, after_last: bool = False, encoded: bool = False
) -> str | memoryview:
    """The records of a block as JSON text, the same as :func:`record_text`
    gives one by one, built a column at a time (``encoded``: see
    :meth:`Pieces.joined`)."""
    count = block.count
    pieces = Pieces('{"row": ')
    pieces.add(row_numbers(block.first_row, count))
    if block.ids is not None:
        pieces.pending += ', "id": '
        pieces.add(list(map(encode_basestring, block.ids)))
    pieces.pending += ', "inputs": '
    pieces.add_object({name: json_column(c) for name, c in block.inputs.items()})
    pieces.pending += ', "value": '
    pieces.add(json_column(block.value))
    pieces.pending += ', "gradient": '
    pieces.add_object({name: json_column(c) for name, c in block.gradient.items()})
    if block.carried:
        pieces.pending += ', "extra": '
        pieces.add_object({name: _json_values(c) for name, c in block.carried.items()})
    if block.warned:
        pieces.add(_warnings_keys(block.warned, count))
    pieces.pending += "}"
    return pieces.joined(count, separator, after_last, encoded)


def expression_block_text(
    block: ExpressionBlock, separator: str, after_last: bool, encoded: bool = False
) -> str | memoryview:
    """The records of an expression block as JSON text, the same as
    :func:`record_text` gives one by one."""
    from .grouped_text import grouped_text

    return grouped_text(block, _json_records, separator, after_last, encoded, json=True)


def _json_records(texts: GroupTexts) -> Pieces:
    pieces = Pieces('{"row": ')
    pieces.add(texts.rows)
    pieces.pending += ', "expr": '
    pieces.add(texts.expression_column(dumps))
    pieces.pending += ', "inputs": '
    pieces.add_object(texts.inputs)
    pieces.pending += ', "value": '
    pieces.add(texts.value)
    pieces.pending += ', "gradient": '
    pieces.add_object(texts.gradient)
    if texts.carried:
        pieces.pending += ', "extra": '
        carried = texts.carried.items()
        pieces.add_object({n: list(map(encode_basestring, c.to_pylist())) for n, c in carried})
    if texts.warned:
        pieces.add(_warnings_keys(texts.warned, texts.count))
    pieces.pending += "}"
    return pieces


def _json_values(column: Any) -> Any:
    """A carried column's JSON texts: CSV's texts quoted, an Arrow array's
    values as they are typed."""
    if isinstance(column, list):
        return list(map(encode_basestring, column))
    from .carried_text import json_values

    return json_values(column, dumps)


def _warnings_keys(warned: dict[int, list], count: int) -> list[str]:
    """The "warnings" key of each record, as :func:`record_text` writes it:
    only in the records with warnings."""
    tails = [""] * count
    for at, found in warned.items():
        tails[at] = f', "warnings": {dumps([w.as_json() for w in found])}'
    return tails


def as_text_columns(outcomes: Chunk) -> Sequence[Outcome] | ColumnBlock:
    """A block as it is, if its ids and carried columns are all text (as
    CSV's are), else its records one by one (a Parquet column of numbers
    or dates is written as JSON values, as the record path writes them;
    the records of an expression block, whose columns vary by group)."""
    if isinstance(outcomes, ExpressionBlock):
        return outcomes.outcomes()
    if not isinstance(outcomes, ColumnBlock):
        return outcomes
    # (an Arrow array is written a column at a time, as carried_text.py says)
    texts = [column for column in outcomes.carried.values() if isinstance(column, list)]
    columns = [*texts, *([outcomes.ids] if outcomes.ids is not None else [])]
    if all(set(map(type, column)) <= {str} for column in columns):
        return outcomes
    return outcomes.outcomes()


def records_text(
    outcomes: Chunk, separator: str, after_last: bool = False, encoded: bool = False
) -> str | memoryview:
    """The JSON text of each record, ``separator`` between them (and after
    the last one too, if ``after_last``; ``encoded``: see :meth:`Pieces.joined`)."""
    if isinstance(outcomes, ExpressionBlock):
        return expression_block_text(outcomes, separator, after_last, encoded)
    outcomes = as_text_columns(outcomes)
    if isinstance(outcomes, ColumnBlock):
        return block_text(outcomes, separator, after_last, encoded)
    text = separator.join(map(record_text, outcomes))
    return text + separator if after_last and text else text
