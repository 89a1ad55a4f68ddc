"""Many points, or many expressions, evaluated in vectorised chunks.

:func:`evaluate_blocks` takes records (see :mod:`cgrad.batch.rows`) and yields,
chunk by chunk and in input order, one :class:`Outcome` per record (a value
and gradient, or an error naming what was wrong with that record), or for a
clean CSV chunk a :class:`ColumnBlock` of them. Within a chunk, the records
of each expression go through its graph together, as numpy arrays, in one
forward and one backward pass.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from ..autodiff.diagnostics import EvaluationWarning
from ..errors import QUOTED, CgradError, bounded
from ..function import Function, compile
from .bindings import Bindings
from .per_row import Derivatives, row_warnings, second_derivatives
from .record_values import input_column, plain_number_text
from .rows import EXPRESSION_FIELD, ID_FIELD, Record, Records, RowBlock

# Rows per chunk: big enough that numpy's per-call overhead is spread thin,
# small enough that a chunk's arrays stay in cache and memory stays flat.
CHUNK_ROWS = 4096
# The most rows a chunk may be asked to hold (wide records make chunks
# shorter still: see rows.MAX_CHUNK_FIELDS).
MAX_CHUNK_ROWS = 1_000_000
# Distinct expressions kept compiled when records carry their own.
CACHE_SIZE = 4096
# ... and at most this much expression text among them.
CACHE_CHARACTERS = 1 << 18


@dataclass(slots=True)
class Outcome:
    """One output record: a value and partials, or an error.

    Inputs and partials are kept as parallel tuples (names shared by every
    row of an expression) rather than a dict per row: writers format them
    straight from the tuples. ``inputs`` and ``gradient`` give dicts.
    """

    row: int
    id: object = None
    expression: str | None = None  # set when records carry their own
    input_names: tuple[str, ...] = ()
    input_values: tuple[float, ...] = ()
    value: float | None = None
    gradient_names: tuple[str, ...] = ()
    gradient_values: tuple[float, ...] = ()
    extra: dict[str, object] | None = None
    warnings: list[EvaluationWarning] | None = None
    error: tuple[str, str] | None = None  # (type, message)
    # With --hessian: d2f/d(a)d(b) for a, b in gradient_names, row-major.
    hessian: tuple[float, ...] | None = None

    @property
    def inputs(self) -> dict[str, float]:
        return dict(zip(self.input_names, self.input_values, strict=True))

    @property
    def gradient(self) -> dict[str, float]:
        return dict(zip(self.gradient_names, self.gradient_values, strict=True))


class CompiledCache:
    """A least-recently-used cache of compiled expressions (and of their
    errors, so that a bad expression repeated a million times is parsed
    once), bounded in entries and in the total length of their text: a
    compiled expression takes memory in proportion to its text."""

    def __init__(self, size: int = CACHE_SIZE, characters: int = CACHE_CHARACTERS) -> None:
        self.size = size
        self.characters = characters
        self.held = 0
        self.entries: OrderedDict[str, Function | CgradError] = OrderedDict()

    def get(self, text: str) -> Function | CgradError:
        entry = self.entries.get(text)
        if entry is not None:
            self.entries.move_to_end(text)
            return entry
        try:
            entry = compile(text)
        except CgradError as error:
            entry = error
        self.entries[text] = entry
        self.held += len(text)
        # The newest entry stays, however long: it is about to be used.
        while len(self.entries) > 1 and (
            len(self.entries) > self.size or self.held > self.characters
        ):
            oldest, _ = self.entries.popitem(last=False)
            self.held -= len(oldest)
        return entry


def joined_messages(warnings: Sequence[EvaluationWarning] | None) -> str:
    """A row's warning messages as one text cell: ' | ' between them, as
    messages contain ';' themselves."""
    return " | ".join(w.message for w in warnings or ())


@dataclass(slots=True)
class ColumnBlock:
    """Outcomes of a block of well-formed records of one expression, kept
    as columns: writers format them a column at a time, with no object per
    record. The rows with warnings (NaN from a log of a negative number,
    say) keep them by their position in the block."""

    first_row: int
    count: int
    ids: list[str] | None
    inputs: dict[str, np.ndarray]
    value: np.ndarray
    gradient: dict[str, np.ndarray]
    # Text from CSV; Arrow arrays of any type from Parquet and Arrow.
    carried: dict[str, Any]
    # Each flagged row's warnings, worded with its own numbers.
    warned: dict[int, list[EvaluationWarning]] = field(default_factory=dict)

    def messages(self) -> dict[int, str]:
        """Each flagged row's :func:`joined_messages`, by position."""
        return {at: joined_messages(found) for at, found in self.warned.items()}

    def outcomes(self) -> list[Outcome]:
        """The same records one by one, for writers that want them so."""
        names = tuple(self.inputs)
        partials = tuple(self.gradient)
        inputs = [column.tolist() for column in self.inputs.values()]
        slopes = [column.tolist() for column in self.gradient.values()]
        values = self.value.tolist()
        carried = {n: c if isinstance(c, list) else c.to_pylist() for n, c in self.carried.items()}
        return [
            Outcome(
                self.first_row + i,
                id=self.ids[i] if self.ids is not None else None,
                input_names=names,
                input_values=tuple(column[i] for column in inputs),
                value=values[i],
                gradient_names=partials,
                gradient_values=tuple(column[i] for column in slopes),
                extra={name: column[i] for name, column in carried.items()} or None,
                warnings=self.warned.get(i),
            )
            for i in range(self.count)
        ]


def bounded_error(error: tuple[str, str] | None) -> tuple[str, str] | None:
    """A record's error with its message bounded as every message is (a
    cell of 16 MB quoted in it would be written as it is, row after row)."""
    if error is None or len(error[1]) <= QUOTED:
        return error
    return error[0], bounded(error[1])


@dataclass
class _Asked:
    """What every group of a run is asked for, besides its expression."""

    wrt: Sequence[str] | None
    bindings: Bindings
    hessian: bool
    derivatives: Derivatives


def evaluate_blocks(
    records: Records,
    function: Function | None = None,
    wrt: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    bindings: Bindings | None = None,
    hessian: bool = False,
    compiled: CompiledCache | None = None,
) -> Iterator[list[Outcome] | ColumnBlock]:
    """Outcomes for ``records``, chunk by chunk, in input order: a CSV chunk
    of one expression whose values all convert as a :class:`ColumnBlock`
    (its rows' warnings in it), anything else (bad records, JSON input,
    per-record expressions) as a list of :class:`Outcome`.

    With ``function``, every record is a point of it (an ``expr`` field is
    carried, not used). Without, each record names its own expression in
    ``expr``. ``wrt`` limits the partials, as in :meth:`Function.evaluate`.
    ``bindings`` says which field each input is read from, and the values
    of those a record lacks; ``hessian`` adds the second derivatives.
    ``compiled`` keeps the records' own expressions compiled from one call
    to the next (a reader that sends only some blocks here passes its own).
    """
    if function is not None and wrt is not None:
        function.check_wrt(wrt)
    compiled = compiled or CompiledCache()
    asked = _Asked(wrt, bindings or Bindings(), hessian, Derivatives())
    for block in records.blocks(chunk_rows):
        if isinstance(block, RowBlock):
            columns = None
            if function is not None and not hessian:
                columns = _column_block(block, function, wrt, asked.bindings)
            if columns is not None:
                yield columns
                continue
            block = block.records()
        yield _evaluate_chunk(block, function, compiled, asked)


def _column_block(
    block: RowBlock, function: Function, wrt: Sequence[str] | None, bindings: Bindings
) -> ColumnBlock | None:
    """The fast path, or None when a value does not convert in one go (the
    record path then says which row); each flagged row with its own
    warnings (see per_row.row_warnings)."""
    position = {name: index for index, name in enumerate(block.header)}
    rows = block.rows
    count = len(rows)
    read = [name for name in function.inputs if bindings.source(name) in position]
    try:
        # float() of each text, then one array: much faster than numpy's
        # own conversion of a list of strings.
        texts = {n: list(map(itemgetter(position[bindings.source(n)]), rows)) for n in read}
        inputs = {name: np.array(list(map(float, column))) for name, column in texts.items()}
    except ValueError:
        return None
    if not all(plain_number_text("".join(column)) for column in texts.values()):
        return None  # float() reads 1_000 and ١; cgrad does not
    # Inputs without a column have a fixed value (Bindings.check_header).
    for name in function.inputs:
        if name not in inputs:
            inputs[name] = np.full(count, bindings.fixed[name])
    inputs = {name: inputs[name] for name in function.inputs}
    result = function.evaluate(inputs, wrt=wrt)
    skip = {*bindings.sources(function.inputs), ID_FIELD}
    columns = ColumnBlock(
        first_row=block.first_row,
        count=count,
        ids=list(map(itemgetter(position[ID_FIELD]), rows)) if ID_FIELD in position else None,
        inputs=inputs,
        value=np.broadcast_to(result.value, (count,)),
        gradient={n: np.broadcast_to(g, (count,)) for n, g in result.gradient.items()},
        carried={
            name: list(map(itemgetter(index), rows))
            for name, index in position.items()
            if name not in skip
        },
    )
    return with_warnings(columns, result.warnings)


def with_warnings(columns: ColumnBlock, warnings: Sequence) -> ColumnBlock:
    """The block with each flagged row's warnings, worded with its own
    numbers."""
    columns.warned = row_warnings(warnings, columns.count)
    return columns


def _evaluate_chunk(
    chunk: list[Record], function: Function | None, compiled: CompiledCache, asked: _Asked
) -> list[Outcome]:
    """One outcome for each record of ``chunk``, in order."""
    outcomes: list[Outcome] = []
    # The records of each expression (by its text when records carry their
    # own), evaluated together; an expression is compiled, or taken from
    # the cache, only when its turn comes, so that a chunk of distinct
    # expressions never holds them all compiled at once.
    groups: dict[str | None, list[int]] = {}
    # The fields of each record that could be read, by its index in chunk.
    readable: dict[int, dict[str, object]] = {}
    for record in chunk:
        outcome = Outcome(record.row)
        outcomes.append(outcome)
        fields = record.fields
        if fields is None:  # the record could not be read: its error
            outcome.error = bounded_error(record.error)
            continue
        readable[len(outcomes) - 1] = fields
        outcome.id = fields.get(ID_FIELD)
        text = None if function is not None else _expression_text(fields, outcome)
        if function is None and text is None:
            continue
        groups.setdefault(text, []).append(len(outcomes) - 1)
    for text, members in groups.items():
        chosen = (
            function if text is None else _compiled(text, members, outcomes, compiled, asked.wrt)
        )
        members = [i for i in members if outcomes[i].error is None]
        if chosen is not None and members:
            _evaluate_group(
                chosen, [readable[i] for i in members], [outcomes[i] for i in members], asked
            )
    return outcomes


def _compiled(text: str, members: list[int], outcomes: list[Outcome], compiled, wrt):
    """The compiled expression of a group, or None when it fails (each of
    the group's records then gets the error)."""
    entry = compiled.get(text)
    error = None
    if isinstance(entry, CgradError):
        error = (entry.type, entry.summary(with_place=True))
    elif wrt is not None:
        missing = [name for name in wrt if name not in entry.inputs]
        if missing:
            error = (
                "unknown_input",
                f"--wrt names {', '.join(missing)}, "
                f"not inputs of this expression ({entry.inputs_text()})",
            )
    if error is None:
        return entry
    error = bounded_error(error)
    for index in members:
        outcomes[index].error = error
    return None


def _expression_text(fields: dict, outcome: Outcome) -> str | None:
    """The record's own expression, or None (and the record's error)."""
    text = fields.get(EXPRESSION_FIELD)
    if text is None:
        outcome.error = (
            "missing_expression",
            f'no "{EXPRESSION_FIELD}" in this record, and no expression given with -e',
        )
        return None
    if not isinstance(text, str):
        outcome.error = ("invalid_expression", f'the "{EXPRESSION_FIELD}" is not a string')
        return None
    outcome.expression = text
    return text


def _evaluate_group(
    function: Function, records: list[dict[str, object]], outcomes: list[Outcome], asked: _Asked
) -> None:
    """Evaluate the records (their fields) of one expression together."""
    names = function.inputs
    # Records without a header (NDJSON): their fields' names met here.
    bindings = asked.bindings.met(list(set().union(*records)))
    not_carried = {*bindings.sources(names), ID_FIELD}
    for fields, outcome in zip(records, outcomes, strict=True):
        # Carried fields travel with the record, failed or not. (A set
        # difference first: most records carry nothing.)
        if fields.keys() - not_carried:
            used_expression = outcome.expression is not None
            outcome.extra = {
                key: value
                for key, value in fields.items()
                if key not in not_carried and not (used_expression and key == EXPRESSION_FIELD)
            } or None
    columns = _read_inputs(names, records, outcomes, bindings)
    good = [i for i, outcome in enumerate(outcomes) if outcome.error is None]
    if not good:
        return
    if len(good) < len(records):
        columns = [column[good] for column in columns]
    arrays = dict(zip(names, columns, strict=True))
    result = function.evaluate(arrays, wrt=asked.wrt)
    count = len(good)
    values = np.broadcast_to(result.value, (count,)).tolist()
    gradient_names = tuple(result.gradient)
    gradients = [np.broadcast_to(g, (count,)).tolist() for g in result.gradient.values()]
    inputs = [column.tolist() for column in columns]
    rows_of_inputs = zip(*inputs, strict=True) if names else itertools.repeat(())
    rows_of_gradients = zip(*gradients, strict=True) if gradients else itertools.repeat(())
    # strict=False: repeat() stands in for the columns of an input-less expression.
    rows = zip(good, values, rows_of_inputs, rows_of_gradients, strict=False)
    for index, value, point, slopes in rows:
        outcome = outcomes[index]
        outcome.input_names = names
        outcome.input_values = point
        outcome.value = value
        outcome.gradient_names = gradient_names
        outcome.gradient_values = slopes
    flagged = row_warnings(result.warnings, count)
    if asked.hessian:
        second = second_derivatives(
            function, asked.derivatives, arrays, gradient_names, flagged, count
        )
        for position, index in enumerate(good):
            outcomes[index].hessian = second.row(position)
        for position, more in second.warnings.items():
            flagged[position] = flagged.get(position, []) + more
    for position, found in flagged.items():
        outcomes[good[position]].warnings = found


def _read_inputs(
    names: tuple[str, ...], records: list[dict], outcomes: list[Outcome], bindings: Bindings
) -> list[np.ndarray]:
    """Each input's column over the records; a record whose value of one
    is missing or no number gets its error (its first), and keeps the
    inputs it has, which CSV's and Parquet's input columns show beside it."""
    columns = []
    unread = {}
    for name in names:
        column, errors = input_column(name, records, bindings)
        for index, error in errors.items():
            if outcomes[index].error is None:
                outcomes[index].error = bounded_error(error)
        columns.append(column)
        unread[name] = errors.keys()
    for index, outcome in enumerate(outcomes):
        if outcome.error is not None:
            kept = [k for k, name in enumerate(names) if index not in unread[name]]
            outcome.input_names = tuple(names[k] for k in kept)
            outcome.input_values = tuple(float(columns[k][index]) for k in kept)
    return columns
