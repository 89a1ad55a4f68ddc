"""``cgrad batch``: many points, or many expressions, from files and pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from .. import compile as compile_program
from ..batch.blocks import CHUNK_ROWS, MAX_CHUNK_ROWS, ColumnBlock, Outcome
from ..batch.compression import buffered
from ..batch.rows import EXPRESSION_FIELD
from ..batch.writers import Layout
from ..errors import NAMES_SHOWN, UsageError
from ..function import Function
from .application import command
from .arguments import choose, read_program, split_wrt
from .batch_io import Writer, evaluated, open_output, open_records, open_writer, output_kind
from .environment import environment, open_stdin
from .exits import FailuresFoundError
from .files import open_binary, refuse_replacing_input
from .parameters import BatchWrt, quiet_option

if TYPE_CHECKING:
    pass

EXAMPLES = """
[bold]Examples[/bold]

  cgrad batch samples/points.csv -e "(x+y)*z" > out.ndjson
  cat samples/points.ndjson | cgrad batch -e "(x+y)*z" --format csv
  cgrad batch samples/jobs.ndjson          [dim]# each record carries its own "expr"[/dim]
  cgrad batch big.csv -e "sin(x*y)" --format csv -o out.csv --on-error skip
"""

# Inputs smaller than this finish before a progress bar would be any use.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024

# The command's own parameters (the shared ones are in parameters.py).
Source = Annotated[
    Optional[str],
    typer.Argument(
        metavar="INPUT",
        help="A .csv, .tsv, .ndjson, .jsonl, .json, .parquet, .arrow or .feather file, "
        "optionally .gz, .bz2, .xz or .zst; '-' or nothing reads stdin.",
        show_default=False,
    ),
]
ExpressionOption = Annotated[
    Optional[str],
    typer.Option(
        "--expr", "-e", help="The expression, evaluated at every record.", show_default=False
    ),
]
ProgramFile = Annotated[
    Optional[Path],
    typer.Option(help="Read the expression from this file instead.", show_default=False),
]
InputFormat = Annotated[
    Optional[str],
    typer.Option(
        metavar="csv|tsv|ndjson|json|parquet|arrow[.gz|.bz2|.xz|.zst]",
        help="The input's format (default: from the extension, else from its bytes).",
        show_default=False,
    ),
]
OutputFormatOption = Annotated[
    Optional[str],
    typer.Option(
        "--format",
        metavar="ndjson|json|csv|tsv|parquet|arrow|table[.gz|.bz2|.xz|.zst]",
        help="Output format (default: from the extension of -o, else table on a "
        "terminal and ndjson otherwise).",
        show_default=False,
    ),
]
OutputPath = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        help="Write here (replaced only when done) instead of to stdout; "
        "the extension picks the format unless --format does.",
        show_default=False,
    ),
]
OnError = Annotated[
    str,
    typer.Option(
        metavar="record|skip|fail",
        help="A bad record: write an error record, leave it out, or stop. "
        "Any bad record makes the exit status 1.",
    ),
]
ChunkRows = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="Records evaluated (and written) together, at most "
        f"{MAX_CHUNK_ROWS}; 1 for a slow stream that should be answered record by record.",
    ),
]


@command("batch", epilog=EXAMPLES, takes_values=False, json_errors=lambda options: False)
def batch_command(
    source: Source = None,
    expression: ExpressionOption = None,
    program: ProgramFile = None,
    input_format: InputFormat = None,
    output_format: OutputFormatOption = None,
    output: OutputPath = None,
    wrt: BatchWrt = None,
    on_error: OnError = "record",
    quiet: Annotated[bool, quiet_option("No progress bar.")] = False,
    chunk_rows: ChunkRows = CHUNK_ROWS,
) -> None:
    """Evaluate many points of one expression (-e), or records that each
    carry their own "expr", streamed in vectorised chunks: one output record
    per input record, in order."""
    on_error = choose("--on-error", on_error, ("record", "skip", "fail"))
    if chunk_rows < 1:
        raise UsageError("--chunk-rows must be at least 1")
    if chunk_rows > MAX_CHUNK_ROWS:
        raise UsageError(f"--chunk-rows must be at most {MAX_CHUNK_ROWS}")
    function = _expression(expression, program)
    wrt_names = split_wrt(wrt)
    if function is not None and wrt_names is not None:
        function.check_wrt(wrt_names)
    output = _output_path(output, source)
    if output is not None and program is not None:
        refuse_replacing_input("-o", output, program, "the program", "write to another file")
    tally = _Tally()
    chosen = output_kind(output_format, output)
    with _input(source) as (stream, size):
        records = open_records(source, stream, input_format, function, chunk_rows)
        _check_columns(records.header, function)
        layout = _layout(records.header, function, wrt_names)
        with open_output(output, chosen) as sink, _progress(size, stream, quiet) as advance:
            writer = open_writer(chosen, sink, layout, records)
            chunks = evaluated(records, function, wrt_names, chunk_rows)
            _write_chunks(chunks, writer, tally, on_error, advance)
    if tally.failed:
        raise FailuresFoundError(tally.describe(skipped=on_error == "skip"))


def _write_chunks(
    chunks: Iterable[Sequence[Outcome] | ColumnBlock],
    writer: Writer,
    tally: _Tally,
    on_error: str,
    advance: Callable[[], None],
) -> None:
    """Write each chunk as it comes, counting the records and the failed
    ones; ``--on-error skip`` leaves them out, ``fail`` stops at the first."""
    for outcomes in chunks:
        if isinstance(outcomes, ColumnBlock):  # all good, by construction
            tally.records += outcomes.count
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


def _layout(header: list[str] | None, function: Function | None, wrt: list[str] | None) -> Layout:
    """The output's columns: one expression's inputs and partials, or
    records that carry their own expressions."""
    return Layout(
        inputs=function.inputs if function else (),
        per_record=function is None,
        # Per-record inputs differ from record to record: what is
        # carried then goes to one JSON column.
        carried=_carried(header, function) if function else None,
        has_id=header is None or "id" in header,
        partials=_partials(function, wrt),
    )


class _Tally:
    """How many records there were and which failed, for the summary."""

    def __init__(self) -> None:
        self.records = 0
        self.failed = 0
        self.first: Outcome | None = None

    def count(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        bad = [o for o in outcomes if o.error is not None]
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


def _first_names(names: list[str]) -> str:
    """``a, b, c``; past NAMES_SHOWN, ``a, ..., j and 99,990 more``, so
    that the message stays one readable line however wide the input."""
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:NAMES_SHOWN]) + f" and {len(names) - NAMES_SHOWN:,} more"


def _partials(function: Function | None, wrt: list[str] | None) -> tuple[str, ...] | None:
    if function is None or wrt is None:
        return None
    wanted = set(wrt)
    return tuple(name for name in function.inputs if name in wanted)


def _check_columns(header: list[str] | None, function: Function | None) -> None:
    """A CSV without a column for an input, or without expressions, would
    fail on every row: say so once, before any output."""
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
        return
    columns = set(header)
    missing = [name for name in function.inputs if name not in columns]
    if missing:
        raise UsageError(
            f"the input has no column for {_first_names(missing)}",
            hint=f"its columns are {_first_names(header) or '(none)'}",
            type="input_error",
        )


def _expression(expression: str | None, program: Path | None) -> Function | None:
    if expression is not None and program is not None:
        raise UsageError("give the expression with -e or --program, not both")
    if program is not None:
        text, origin = read_program(f"@{program}")
        return compile_program(text, origin=origin)
    if expression is not None:
        return compile_program(expression)
    return None


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


def _output_path(output: Path | None, source: str | None) -> Path | None:
    """``-o`` checked before any work: '-' is stdout, a directory or the
    input itself are refused."""
    if output is None or str(output) == "-":
        return None
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory", type="file_error")
    refuse_replacing_input("-o", output, source)
    return output


def _carried(header: list[str] | None, function: Function | None) -> tuple[str, ...] | None:
    """The columns of a CSV/TSV input that are carried to the output."""
    if header is None:
        return None
    inputs = set(function.inputs) if function else set()
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
