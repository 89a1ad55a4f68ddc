"""The column names of a flat output (CSV, TSV, Parquet, Arrow, the table).

A flat output's own columns (row, value, grad_<input>, error, ...) keep
their names, which readers of the output rely on. An input or a carried
column of the same name would be a second column under one name: a CSV
reader takes one of them for the other, and pandas cannot read such a
Parquet file at all. So an input column is renamed ``input_<name>`` and a
carried column ``extra_<name>`` where its name is taken, the prefix
repeated until the name is free (an input may itself be called
``input_value``). The Hessian's columns are the output's own too, made
unique among themselves first (see :func:`hessian_headers`). Nested
outputs (NDJSON, JSON) keep every name: their inputs and carried fields
are objects of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .hessians import hessian_headers


class Layout(Protocol):
    """What names the columns (:class:`cgrad.batch.writers.Layout` has it)."""

    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def per_record(self) -> bool: ...
    @property
    def carried(self) -> tuple[str, ...] | None: ...
    @property
    def has_id(self) -> bool: ...
    @property
    def hessian(self) -> bool: ...
    @property
    def gradient_columns(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class FlatColumns:
    """A flat output's columns in order: ``leading`` (row, id, then the
    inputs, or expr and inputs when records carry their own expressions),
    the ``carried`` columns, then ``trailing`` (value, the partials, the
    Hessian's, extra, error, warnings). ``inputs`` and ``carried`` are the
    output names of ``layout.inputs`` and ``layout.carried``, in order."""

    leading: tuple[str, ...]
    inputs: tuple[str, ...]
    carried: tuple[str, ...]
    trailing: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return [*self.leading, *self.carried, *self.trailing]


def flat_columns(layout: Layout) -> FlatColumns:
    """The columns of a flat output of ``layout`` (see the module's docstring)."""
    per_record = layout.per_record
    first = ["row"] + (["id"] if layout.has_id else [])
    trailing = (
        ["value"]
        + (["gradient"] if per_record else [f"grad_{n}" for n in layout.gradient_columns])
        + (hessian_headers(per_record, layout.gradient_columns) if layout.hessian else [])
        + (["extra"] if layout.carried is None else [])
        + ["error", "warnings"]
    )
    if per_record:
        first += ["expr", "inputs"]
    taken = set(first) | set(trailing)
    inputs = () if per_record else _unclashing(layout.inputs, "input_", taken)
    carried = _unclashing(layout.carried or (), "extra_", taken)
    return FlatColumns(tuple(first) + inputs, inputs, carried, tuple(trailing))


def _unclashing(names: Iterable[str], prefix: str, taken: set[str]) -> tuple[str, ...]:
    """``names`` as they may be written beside ``taken``: those that are
    free first, as they are, then the others prefixed until free; all of
    them added to ``taken``."""
    names = list(names)
    free = {name for name in names if name not in taken}
    taken |= free
    written = []
    for name in names:
        if name not in free:
            while name in taken:
                name = prefix + name
            taken.add(name)
        written.append(name)
    return tuple(written)
