"""The records of an expression block as text: the groups of one layout
(the same input, partial and carried names) written together, so that a
block of a thousand expressions costs a few Arrow joins, not a thousand;
then the lines put back in input order (used once pyarrow is loaded)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .arrow_text import lines_array, lines_bytes, lines_text, number_array
from .expression_block import ExpressionBlock, ExpressionGroup


@dataclass
class GroupTexts:
    """The records of the groups of one layout, one after the other: their
    row numbers and numbers as Arrow arrays of texts (numbers as
    :func:`~cgrad.batch.arrow_text.number_array` writes them), the numbers
    themselves, each record's expression (an index into ``expressions``),
    the carried columns and each flagged record's warnings (by position)."""

    count: int
    expressions: list[str]
    picks: np.ndarray
    rows: Any
    inputs: dict[str, Any]
    value: Any
    gradient: dict[str, Any]
    input_numbers: dict[str, np.ndarray]
    gradient_numbers: dict[str, np.ndarray]
    carried: dict[str, Any]
    warned: dict[int, list]

    def expression_column(self, written: Callable[[str], str]) -> Any:
        """Each record's expression as ``written`` writes it, as an Arrow
        array of bytes (each text written once)."""
        texts = pa.array([written(text).encode() for text in self.expressions], pa.large_binary())
        return texts.take(pa.array(self.picks))


def grouped_text(
    block: ExpressionBlock,
    # (a json_text.Pieces, whose segments and columns make the lines)
    record: Callable[[GroupTexts], Any],
    separator: str,
    after_last: bool,
    encoded: bool,
    json: bool = False,
) -> str | memoryview:
    """The records of an expression block, those of each layout laid out by
    ``record`` and joined by Arrow's kernels (NaN and the infinities quoted
    for ``json``), then put back in input order."""
    layouts: dict[tuple, list[ExpressionGroup]] = {}
    for group in block.groups:
        layouts.setdefault(_layout(group), []).append(group)
    batches = list(layouts.values())
    order = np.concatenate([group.positions for batch in batches for group in batch])
    rows = pa.array(order + block.first_row).cast(pa.large_string()).cast(pa.large_binary())
    parts, start = [], 0
    for batch in batches:
        texts = _texts(batch, rows, start, json)
        pieces = record(texts)
        segments = [*pieces.segments, pieces.pending + separator]
        parts.append(lines_array(segments, pieces.columns, texts.count))
        start += texts.count
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    # Each copy let go of as soon as the next is made: a block's text is
    # several times the size of its numbers.
    joined = pa.concat_arrays(parts)
    del parts
    lines = joined.take(pa.array(inverse))
    del joined
    trim = 0 if after_last else len(separator)
    return lines_bytes(lines, trim) if encoded else lines_text(lines, trim)


def _layout(group: ExpressionGroup) -> tuple:
    return tuple(group.inputs), tuple(group.gradient), tuple(group.carried)


def _texts(batch: Sequence[ExpressionGroup], rows: Any, start: int, json: bool) -> GroupTexts:
    """The groups of one layout as one :class:`GroupTexts`."""
    first = batch[0]
    counts = [len(group.positions) for group in batch]
    count = sum(counts)
    inputs = {name: np.concatenate([g.inputs[name] for g in batch]) for name in first.inputs}
    gradient = {name: np.concatenate([g.gradient[name] for g in batch]) for name in first.gradient}
    value = np.concatenate([group.value for group in batch])
    numbers = number_array(np.concatenate([*inputs.values(), value, *gradient.values()]), json)
    slices = [numbers.slice(k * count, count) for k in range(len(inputs) + 1 + len(gradient))]
    warned, offset = {}, 0
    for group, size in zip(batch, counts, strict=True):
        warned.update({offset + at: found for at, found in group.warned.items()})
        offset += size
    return GroupTexts(
        count=count,
        expressions=[group.text for group in batch],
        picks=np.repeat(np.arange(len(batch)), counts),
        rows=rows.slice(start, count),
        inputs=dict(zip(inputs, slices[: len(inputs)], strict=True)),
        value=slices[len(inputs)],
        gradient=dict(zip(gradient, slices[len(inputs) + 1 :], strict=True)),
        input_numbers=inputs,
        gradient_numbers=gradient,
        carried={
            name: pa.concat_arrays([group.carried[name] for group in batch])
            for name in first.carried
        },
        warned=warned,
    )
