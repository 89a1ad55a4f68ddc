"""A block of records that each carry their own expression, evaluated as
columns: the records of each distinct expression in one group, none with
an error (a warning kept by the record it is about; a CSV's other columns
carried as text), so that writers can format each group a column at a
time and put the rows back in input order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autodiff.diagnostics import EvaluationWarning
from ..errors import CgradError
from ..function import Function
from .blocks import ColumnBlock, CompiledCache, Outcome
from .per_row import row_warnings

# Past this many distinct expressions in a block, the block goes to the
# record reader unless each has eight records or more on average.
MANY_EXPRESSIONS = 1024


@dataclass(slots=True)
class ExpressionGroup:
    """The records of one expression within a block: their positions in
    the block (ascending), and their inputs, values and partials."""

    text: str
    positions: np.ndarray
    inputs: dict[str, np.ndarray]
    value: np.ndarray
    gradient: dict[str, np.ndarray]
    # A CSV's columns that are not this expression's inputs, as their
    # texts (an Arrow array of strings each), carried to "extra".
    carried: dict[str, Any] = field(default_factory=dict)
    # Each flagged record's warnings (by its index in the group), worded
    # with its own numbers.
    warned: dict[int, list[EvaluationWarning]] = field(default_factory=dict)


@dataclass(slots=True)
class ExpressionBlock:
    """Records ``first_row`` to ``first_row + count - 1``, in groups."""

    first_row: int
    count: int
    groups: list[ExpressionGroup]

    def warnings(self) -> list[tuple[int, list[EvaluationWarning]]]:
        """Each flagged record's row and warnings, in row order."""
        flagged = [
            (self.first_row + int(group.positions[at]), found)
            for group in self.groups
            for at, found in group.warned.items()
        ]
        return sorted(flagged, key=lambda pair: pair[0])

    def outcomes(self) -> list[Outcome]:
        """The same records one by one, in input order, for writers that
        want them so."""
        outcomes: list[Outcome | None] = [None] * self.count
        for group in self.groups:
            names, partials = tuple(group.inputs), tuple(group.gradient)
            inputs = [column.tolist() for column in group.inputs.values()]
            slopes = [column.tolist() for column in group.gradient.values()]
            values = group.value.tolist()
            carried = {name: column.to_pylist() for name, column in group.carried.items()}
            for i, position in enumerate(group.positions.tolist()):
                outcomes[position] = Outcome(
                    self.first_row + position,
                    expression=group.text,
                    input_names=names,
                    input_values=tuple(column[i] for column in inputs),
                    value=values[i],
                    gradient_names=partials,
                    gradient_values=tuple(column[i] for column in slopes),
                    extra={name: column[i] for name, column in carried.items()} or None,
                    warnings=group.warned.get(i),
                )
        return outcomes  # type: ignore[return-value]  # every position is a group's


# What a reader hands a writer: records one by one, or a block of columns.
Chunk = Sequence[Outcome] | ColumnBlock | ExpressionBlock


# An expression's inputs at its records, and the columns carried to "extra".
Inputs = tuple[dict[str, np.ndarray], dict[str, Any]]


def expression_block(
    encoded: Any,
    rows: int,
    compiled: CompiledCache,
    wrt: Sequence[str] | None,
    read: Callable[[Function, np.ndarray], Inputs | None],
) -> ExpressionBlock | None:
    """The records of a block whose dictionary-encoded expressions are
    ``encoded``, each expression's evaluated together (``read`` gives its
    inputs at its records' positions), or None when one of them is for
    the record reader: an expression that does not compile or lacks a
    --wrt name, or inputs ``read`` cannot vouch for; or when the block has
    no records (blank lines, which the record reader skips). Records with
    warnings stay, each with its own (see per_row.row_warnings)."""
    texts = encoded.dictionary.to_pylist()
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    if not len(codes):
        return None
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(texts)))
    groups, start = [], 0
    for text, end in zip(texts, ends.tolist(), strict=True):
        positions, start = order[start:end], end
        function = compiled.get(text)
        if isinstance(function, CgradError):
            return None
        if wrt is not None and not set(wrt) <= set(function.inputs):
            return None
        found = read(function, positions)
        if found is None:
            return None
        inputs, carried = found
        result = function.evaluate(inputs, wrt=wrt)
        count = len(positions)
        gradient = {name: _full(slope, count) for name, slope in result.gradient.items()}
        value = _full(result.value, count)
        warned = row_warnings(result.warnings, count)
        groups.append(ExpressionGroup(text, positions, inputs, value, gradient, carried, warned))
    return ExpressionBlock(rows + 1, len(codes), groups)


def dictionary(texts: Any) -> Any:
    """A block's expressions (an Arrow column of strings), dictionary-
    encoded, or None when there are many expressions of a record or two
    each: the record reader is as fast, and a group per record would cost
    more memory than a record."""
    encoded = texts.combine_chunks().dictionary_encode()
    distinct = len(encoded.dictionary)
    if distinct > MANY_EXPRESSIONS and distinct * 8 > len(encoded):
        return None
    return encoded


def _full(column: np.ndarray | float, count: int) -> np.ndarray:
    """A column of ``count`` values (an expression's value or partial is
    one number when it does not depend on the records)."""
    if isinstance(column, np.ndarray) and column.shape == (count,):
        return column
    return np.full(count, column, dtype=np.float64)
