"""The training and validation rows of a fit, as the objective reads them:
in memory (full batch, or shuffled mini-batches), or streamed from a file
on every pass (:class:`Rows`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from ..errors import InputError, UsageError
from .data import FULL_BATCH_BYTES, BadRows, Columns, Source
from .losses import TARGET

# Rows a streamed pass reads at a time (when no --batch-rows says).
STREAM_ROWS = 1 << 16
# Rows a holdout chooses from at a time (see Holdout).
HOLDOUT_BLOCK = 1 << 16


class Rows:
    """The rows of ``source``: each data column under the model's name for
    it and the target under ``target``, split into training and
    validation rows (``holdout``, or a second source), read into memory
    or streamed (``stream``: None decides by :data:`FULL_BATCH_BYTES`)."""

    def __init__(
        self,
        source: Source,
        columns: Sequence[str],
        target: str,
        *,
        holdout: float | None,
        validation: Source | None,
        seed: int,
        stream: bool | None,
        batch_rows: int | None,
        on_error: str,
    ) -> None:
        self.source = source
        self.read = [*columns, target]
        self.names = [*columns, TARGET]
        self.holdout = holdout
        self.seed = seed
        self.batch_rows = batch_rows
        self.on_error = on_error
        self.bad = BadRows()
        self.train: Columns | None = None
        self.valid: Columns | None = None
        self.streamed = False
        self.rows = 0
        self.validation_rows = 0
        self.total = 0  # the good rows of the source, training and validation
        if source.path is None or not stream:
            bound = FULL_BATCH_BYTES if source.path is not None and stream is None else None
            self.streamed = not self._load(bound)
        else:
            self.streamed = True
        if self.streamed:
            self._count()
        bad_in_data = self.bad.count  # (the validation rows' are counted on)
        if validation is not None:
            self.valid = _read_only(
                _read_all(validation, self.read, self.names, self.bad, on_error)
            )
            self.validation_rows = _length(self.valid)
        if self.rows == 0 and holdout is not None and self.validation_rows:
            raise UsageError(
                f"the holdout of {holdout:g} left no rows to fit: all "
                f"{self.validation_rows:,} went to validation",
                hint="give a smaller holdout",
            )
        if self.rows == 0:
            raise UsageError(_no_rows(self.bad, bad_in_data), type="input_error")

    def _passes(self, bad: BadRows) -> Iterator[tuple[Columns, Columns | None]]:
        """One pass over the source: (training, validation) chunk by chunk,
        the validation rows chosen by :class:`Holdout`."""
        rows = self.batch_rows or STREAM_ROWS
        held = None if self.holdout is None else Holdout(self.holdout, self.total, self.seed)
        for chunk in self.source.chunks(self.read, rows, bad, self.on_error):
            renamed = dict(zip(self.names, chunk.values(), strict=True))
            if held is None:
                yield renamed, None
                continue
            out = held.take(_length(renamed))
            yield (
                {name: column[~out] for name, column in renamed.items()},
                {name: column[out] for name, column in renamed.items()},
            )

    def _load(self, bound: int | None) -> bool:
        """Read every row into memory; False (and nothing kept) once they
        pass ``bound`` bytes. The holdout is split off once all are read
        (its count depends on theirs)."""
        chunks: list[Columns] = []
        size = 0
        for chunk in self.source.chunks(self.read, STREAM_ROWS, self.bad, self.on_error):
            chunks.append(dict(zip(self.names, chunk.values(), strict=True)))
            size += _length(chunks[-1]) * len(self.names) * 8
            if bound is not None and size > bound:
                self.bad = BadRows()
                return False
        every = _joined(chunks, self.names)
        self.total = _length(every)
        if self.holdout is None:
            self.train = every
        else:
            out = Holdout(self.holdout, self.total, self.seed).take(self.total)
            self.train = {name: column[~out] for name, column in every.items()}
            self.valid = {name: column[out] for name, column in every.items()}
            self.validation_rows = _length(self.valid)
        self.rows = _length(self.train)
        self.train = _read_only(self.train)
        self.valid = None if self.valid is None else _read_only(self.valid)
        return True

    def _count(self) -> None:
        """The rows of a streamed source, and its bad rows, by one pass."""
        for chunk in self.source.chunks(self.read, STREAM_ROWS, self.bad, self.on_error):
            self.total += _length(chunk)
        if self.holdout is not None:
            self.validation_rows = held_out(self.holdout, self.total)
        self.rows = self.total - self.validation_rows

    def training(self, shuffle: np.random.Generator) -> Iterator[Iterable[Columns]]:
        """The batches of one epoch, each as the chunks of rows its one step
        sums over: the whole training set (streamed: every chunk of one
        pass, read as the step reads them), or mini-batches of
        ``batch_rows`` (in memory: shuffled)."""
        if self.train is not None:
            if self.batch_rows is None:
                yield [self.train]
                return
            order = shuffle.permutation(self.rows)
            for start in range(0, self.rows, self.batch_rows):
                picked = order[start : start + self.batch_rows]
                yield [{name: column[picked] for name, column in self.train.items()}]
            return
        if self.batch_rows is None:
            yield self.full()
            return
        yield from ([batch] for batch in self._streamed_batches(self.batch_rows))

    def _streamed_batches(self, size: int) -> Iterator[Columns]:
        """A streamed pass cut into batches of exactly ``size`` rows (the
        last may be shorter), in file order."""
        pending: Columns | None = None
        for training, _ in self._passes(BadRows()):
            joined = training if pending is None else _joined([pending, training], self.names)
            count, start = _length(joined), 0
            while count - start >= size:
                yield {name: column[start : start + size] for name, column in joined.items()}
                start += size
            pending = {name: column[start:] for name, column in joined.items()}
        if pending is not None and _length(pending):
            yield pending

    def full(self) -> Iterator[Columns]:
        """Every training row, in chunks."""
        if self.train is not None:
            yield self.train
            return
        for training, _ in self._passes(BadRows()):
            yield training

    def validation(self) -> Iterator[Columns]:
        """Every validation row, in chunks (none without validation)."""
        if self.valid is not None:
            yield self.valid
        elif self.holdout is not None and self.streamed:
            for _, validation in self._passes(BadRows()):
                if validation is not None:
                    yield validation


def held_out(fraction: float, rows: int) -> int:
    """How many of ``rows`` a holdout of ``fraction`` keeps for validation."""
    return round(fraction * rows)


def _no_rows(bad: BadRows, count: int) -> str:
    """Why there is nothing to fit: no rows, or ``count`` rows all bad
    (with the first reason, as a fit's bad rows are told)."""
    said = "the data has no rows to fit"
    if count == 0:
        return said
    first = bad.first[0] if bad.first else None  # (none listed with on_error="skip")
    if count == 1:
        return f"{said}: its one row is bad" + (f", row {first[0]:,}: {first[2]}" if first else "")
    said = f"{said}: all {count:,} rows are bad"
    return f"{said}; the first, row {first[0]:,}: {first[2]}" if first else said


class Holdout:
    """Which rows of one pass are validation rows: exactly
    :func:`held_out` of the ``rows`` good rows, a uniformly random choice
    made by a generator seeded with ``seed``, the same on every pass and
    whether the rows are read into memory or streamed (see
    :mod:`cgrad.fitting.data`). The rows go in blocks of
    :data:`HOLDOUT_BLOCK`: how many of a block are held out is drawn from
    the hypergeometric distribution of those left to hold out among the
    rows left (the last block takes all that are left), and which ones by a
    permutation of the block; :meth:`take` answers for the next rows of
    the pass, so memory holds one block's flags whatever the data's size."""

    def __init__(self, fraction: float, rows: int, seed: int) -> None:
        self.left = held_out(fraction, rows)
        self.remaining = rows
        self.draws = np.random.default_rng([seed, 1])
        self.block = np.zeros(0, dtype=bool)
        self.at = 0

    def take(self, count: int) -> np.ndarray:
        """Whether each of the next ``count`` rows is held out."""
        pieces = []
        while count:
            if self.at == len(self.block):
                self._next_block()
            piece = self.block[self.at : self.at + count]
            self.at += len(piece)
            count -= len(piece)
            pieces.append(piece)
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces or [self.block[:0]])

    def _next_block(self) -> None:
        size = min(HOLDOUT_BLOCK, self.remaining)
        if size == 0:
            raise InputError("the data has more rows than when it was first read: has it changed?")
        held = self.left
        if size < self.remaining:
            held = int(self.draws.hypergeometric(self.left, self.remaining - self.left, size))
        self.block = np.zeros(size, dtype=bool)
        self.block[self.draws.permutation(size)[:held]] = True
        self.left -= held
        self.remaining -= size
        self.at = 0


def _read_all(
    source: Source, read: Sequence[str], names: Sequence[str], bad: BadRows, on_error: str
) -> Columns:
    chunks = [
        dict(zip(names, chunk.values(), strict=True))
        for chunk in source.chunks(read, STREAM_ROWS, bad, on_error)
    ]
    return _joined(chunks, names)


def _read_only(columns: Columns) -> Columns:
    """Read-only views of the columns kept in memory: the engine keeps its
    copy of the linear forms' columns between steps for arrays that say
    they do not change (see :mod:`cgrad.autodiff.linear_forms`)."""
    views = {}
    for name, column in columns.items():
        view = column.view()
        view.flags.writeable = False
        views[name] = view
    return views


def _joined(chunks: list[Columns], names: Sequence[str]) -> Columns:
    if len(chunks) == 1:
        return chunks[0]
    return {
        name: np.concatenate([chunk[name] for chunk in chunks]) if chunks else np.empty(0)
        for name in names
    }


def _length(columns: Columns) -> int:
    return len(next(iter(columns.values()))) if columns else 0
