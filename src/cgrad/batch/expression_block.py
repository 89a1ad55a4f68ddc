"""A block of records that each carry their own expression, evaluated as
columns: the records of each distinct expression in one group, all clean
(no error, no warning; a CSV's other columns carried as text), so that
writers can format each group a column at a time and put the rows back in
input order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .blocks import ColumnBlock, Outcome


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


@dataclass(slots=True)
class ExpressionBlock:
    """Records ``first_row`` to ``first_row + count - 1``, in groups."""

    first_row: int
    count: int
    groups: list[ExpressionGroup]

    def order(self) -> np.ndarray:
        """The block's positions, group after group: where each row of the
        groups' concatenated columns comes from."""
        return np.concatenate([group.positions for group in self.groups])

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
                )
        return outcomes  # type: ignore[return-value]  # every position is a group's


# What a reader hands a writer: records one by one, or a block of columns.
Chunk = Sequence[Outcome] | ColumnBlock | ExpressionBlock
