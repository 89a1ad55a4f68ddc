"""The single-file pipeline of ``cgrad batch``: one input (a file or
standard input) read, evaluated in chunks and written as it comes to one
output, atomically for a file. A part of a directory or glob goes through
it too, in this process or as a task on a Dask worker (:func:`run_part`),
so that a part is processed exactly as a file is.

It lives in the CLI layer because it opens files and stdin as the command
does (cli.files, cli.environment) and draws the progress bar; the reading,
evaluating and writing themselves are the library's (cgrad.batch)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from ..batch import partitions
from ..batch.bindings import Bindings
from ..batch.blocks import ColumnBlock, Outcome
from ..batch.compression import buffered
from ..batch.expression_block import Chunk, ExpressionBlock
from ..batch.inputs import evaluated, open_records, regular_file
from ..batch.per_row import WarningCounts
from ..batch.rows import EXPRESSION_FIELD
from ..batch.writers import Layout
from ..errors import UsageError
from ..function import Function
from .arrow_loading import load_arrow_without_pandas
from .batch_io import Writer, open_output, open_writer, output_kind
from .environment import environment, open_stdin
from .exits import FailuresFoundError
from .files import open_binary

# Inputs smaller than this finish before a progress bar would be any use.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileJob:
    """The command's options for one file: what :func:`run_file` needs
    besides the input and the output (pickled to Dask workers for parts)."""

    function: Function | None
    wrt_names: list[str] | None
    input_format: str | None
    output_format: str | None
    on_error: str
    chunk_rows: int
    quiet: bool
    bindings: Bindings
    hessian: bool


def run_file(job: FileJob, source: str | None, output: Path | None, tally: Tally) -> None:
    """The single-file pipeline: records read, evaluated in chunks and
    written as they come, counted in ``tally``. Each part of a directory or
    glob goes through it too (:func:`run_part`)."""
    function, wrt_names, bindings = job.function, job.wrt_names, job.bindings
    chosen = output_kind(job.output_format, output)
    with _input(source) as (stream, size):
        # pyarrow loaded without pandas: the command never gives it a pandas object.
        records = open_records(
            source, stream, job.input_format, function, job.chunk_rows, job.hessian,
            arrow_loader=load_arrow_without_pandas,
        )  # fmt: skip
        if records.header is not None:
            bindings = bindings.met(records.header)
        _check_columns(records.header, function, bindings)
        layout = _layout(records.header, function, wrt_names, bindings, job.hessian)
        with open_output(output, chosen) as sink, _progress(size, stream, job.quiet) as advance:
            writer = open_writer(chosen, sink, layout, records)
            chunks = evaluated(
                records,
                function,
                wrt_names,
                job.chunk_rows,
                bindings,
                job.hessian,
                ahead=regular_file(stream),
            )
            try:
                _write_chunks(chunks, writer, tally, job.on_error, advance)
            except BaseException:
                abandon = getattr(writer, "abandon", None)  # (Parquet and Arrow's)
                if abandon is not None:
                    abandon()
                raise


def run_part(job: FileJob, part: Path, output: Path) -> partitions.PartReport:
    """One part of a directory or glob, through :func:`run_file` exactly
    as a file is (in this process, or as a task on a Dask worker)."""
    tally, stopped = Tally(), False
    try:
        run_file(job, str(part), output, tally)
    except FailuresFoundError:  # --on-error fail stopped at a bad record
        stopped = True
    first = tally.first
    where = None if first is None or first.error is None else (first.row, *first.error)
    return partitions.PartReport(
        str(part), tally.records, tally.failed, where, stopped, tally.warnings
    )


def _write_chunks(
    chunks: Iterable[Chunk],
    writer: Writer,
    tally: Tally,
    on_error: str,
    advance: Callable[[], None],
) -> None:
    """Write each chunk as it comes, counting the records and the failed
    ones; ``--on-error skip`` leaves them out, ``fail`` stops at the first."""
    for outcomes in chunks:
        if isinstance(outcomes, ColumnBlock | ExpressionBlock):  # no failed record in them
            tally.records += outcomes.count
            if isinstance(outcomes, ColumnBlock):
                for at, found in outcomes.warned.items():
                    tally.warnings.add(outcomes.first_row + at, found)
            else:
                for row, found in outcomes.warnings():
                    tally.warnings.add(row, found)
            writer.write(outcomes)
            advance()
            continue
        bad = tally.count(outcomes)
        if on_error == "skip":
            outcomes = [o for o in outcomes if o.error is None]
        elif on_error == "fail" and bad:
            writer.write([o for o in outcomes if o.row < bad[0].row])
            writer.close()
            raise FailuresFoundError(tally.describe(stopped=True))
        writer.write(outcomes)
        advance()
    writer.close()


def _layout(
    header: list[str] | None,
    function: Function | None,
    wrt: list[str] | None,
    bindings: Bindings,
    hessian: bool,
) -> Layout:
    """The output's columns: one expression's inputs and partials, or
    records that carry their own expressions."""
    return Layout(
        inputs=function.inputs if function else (),
        per_record=function is None,
        # Per-record inputs differ from record to record: what is
        # carried then goes to one JSON column.
        carried=_carried(header, function, bindings) if function else None,
        has_id=header is None or "id" in header,
        partials=_partials(function, wrt),
        hessian=hessian,
    )


class Tally:
    """How many records there were and which failed, and the warnings,
    for the summaries."""

    def __init__(self) -> None:
        self.records = 0
        self.failed = 0
        self.first: Outcome | None = None
        self.warnings = WarningCounts()

    def count(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        bad = [o for o in outcomes if o.error is not None]
        for outcome in outcomes:
            if outcome.warnings:
                self.warnings.add(outcome.row, outcome.warnings)
        self.records += len(outcomes)
        self.failed += len(bad)
        if bad and self.first is None:
            self.first = bad[0]
        return bad

    def describe(self, stopped: bool = False, skipped: bool = False) -> str:
        first = self.first
        assert first is not None and first.error is not None, "described only after a failure"
        where = f"row {first.row}: {first.error[0]}: {first.error[1]}"
        if stopped:
            return f"stopped at {where}"
        verb = "were left out" if skipped else "are error records in the output"
        return f"{self.failed} of {self.records} records failed and {verb} (first: {where})"


def _partials(function: Function | None, wrt: list[str] | None) -> tuple[str, ...] | None:
    if function is None or wrt is None:
        return None
    wanted = set(wrt)
    return tuple(name for name in function.inputs if name in wanted)


def _check_columns(header: list[str] | None, function: Function | None, bindings: Bindings) -> None:
    """A CSV without a column for an input, or without expressions, would
    fail on every row: say so once, before any output; and a column mapping
    or a value that can never be used (see Bindings.check_header)."""
    if header is None:
        return
    if not header:
        raise UsageError("the input is empty: no header line names the columns", type="input_error")
    if function is None:
        if EXPRESSION_FIELD not in header:
            raise UsageError(
                f'no expression: -e is not given, and the input has no "{EXPRESSION_FIELD}" column',
                hint="give one with -e EXPR or --program FILE",
            )
        bindings.check_header(header, None)
        return
    bindings.check_header(header, function.inputs)


@contextmanager
def _input(source: str | None) -> Iterator[tuple[BinaryIO, int | None]]:
    """The input as a binary stream, and its size in bytes when known."""
    if source in (None, "-"):
        open_stdin()
        if environment().stdin_is_terminal and source is None:
            # Waiting for a person to type CSV is never what was meant.
            raise UsageError(
                "no input: give a file, or pipe records in",
                hint='for example: cgrad batch samples/points.csv -e "(x+y)*z"',
            )
        stdin = sys.stdin.buffer
        # Sniffing needs peek(); a test runner's stdin may be a plain BytesIO.
        yield buffered(stdin), None
        return
    with open_binary(source) as stream:
        yield stream, os.fstat(stream.fileno()).st_size


def _carried(
    header: list[str] | None, function: Function | None, bindings: Bindings
) -> tuple[str, ...] | None:
    """The columns of a CSV/TSV input that are carried to the output."""
    if header is None:
        return None
    inputs = bindings.sources(function.inputs) if function else set()
    return tuple(name for name in header if name not in inputs and name != "id")


@contextmanager
def _progress(size: int | None, stream: BinaryIO, quiet: bool) -> Iterator[Callable[[], None]]:
    """A progress bar by bytes on stderr, for a big file and a person watching."""
    if quiet or size is None or size < PROGRESS_MIN_BYTES or not environment().stderr_is_terminal:
        yield lambda: None
        return
    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("cgrad batch", total=size)
        yield lambda: progress.update(task, completed=min(stream.tell(), size))
