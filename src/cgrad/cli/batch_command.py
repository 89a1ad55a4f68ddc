"""``cgrad batch``: many points, or many expressions, from files and pipes."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Optional, Protocol, TextIO, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from ..batch.bindings import Bindings
from ..batch.blocks import CHUNK_ROWS, MAX_CHUNK_ROWS, ColumnBlock, Outcome, evaluate_blocks
from ..batch.per_row import WarningCounts
from ..batch.rows import EXPRESSION_FIELD, EXTENSIONS, Format, Records, detect_format
from ..batch.writers import WRITERS, Layout, OutputFormat
from ..errors import UsageError
from ..function import Function
from .application import command
from .arguments import choose, option_names, split_wrt
from .batch_line import bindings_of, command_line, expression_of, print_warnings
from .environment import environment, open_stdin
from .exits import FailuresFoundError
from .files import atomic_output, open_binary, refuse_replacing_input
from .parameters import BatchWrt, Variables, quiet_option

EXAMPLES = """
[bold]Examples[/bold]

  cgrad batch samples/points.csv -e "(x+y)*z" > out.ndjson
  cat samples/points.ndjson | cgrad batch -e "(x+y)*z" --format csv
  cgrad batch samples/jobs.ndjson          [dim]# each record carries its own "expr"[/dim]
  cgrad batch big.csv -e "sin(x*y)" --format csv -o out.csv --on-error skip
  cgrad batch samples/points.csv -e "w*x + b" w=2 --b 0.5    [dim]# the same w, b for all[/dim]
  cgrad batch samples/readings.csv -e "k*t*h" k=0.5 --column "t=temp C" --column h=hours
  cgrad batch samples/points.csv -e @samples/seed.cg --hessian
"""

# Inputs smaller than this finish before a progress bar would be any use.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024

# The command's own parameters (the shared ones are in parameters.py).
Source = Annotated[
    Optional[str],
    typer.Argument(
        metavar="INPUT",
        help="A .csv, .tsv, .ndjson, .jsonl or .json file; '-' or nothing reads stdin.",
        show_default=False,
    ),
]
ExpressionOption = Annotated[
    Optional[str],
    typer.Option(
        "--expr",
        "-e",
        help="The expression, evaluated at every record, or @FILE to read it from a file.",
        show_default=False,
    ),
]
ColumnOption = Annotated[
    Optional[list[str]],
    typer.Option(
        "--column",
        metavar="VAR=COLUMN",
        help="Read input VAR from column (or field) COLUMN, e.g. --column 't=temp C' (may repeat).",
        show_default=False,
    ),
]
HessianOption = Annotated[
    bool,
    typer.Option(
        "--hessian",
        help="Also the second partial derivatives, as eval --hessian gives them "
        '("hessian" in JSON, hessian_<a>_<b> columns in CSV).',
    ),
]
ProgramFile = Annotated[
    Optional[Path],
    typer.Option(help="Read the expression from this file instead.", show_default=False),
]
InputFormat = Annotated[
    Optional[str],
    typer.Option(
        metavar="csv|tsv|ndjson|json",
        help="The input's format (default: from the extension, else sniffed).",
        show_default=False,
    ),
]
OutputFormatOption = Annotated[
    Optional[str],
    typer.Option(
        "--format",
        metavar="ndjson|json|csv|table",
        help="Output format (default: table on a terminal, else ndjson).",
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


@command("batch", epilog=EXAMPLES, json_errors=lambda options: False)
def batch_command(
    context: typer.Context,
    source: Source = None,
    expression: ExpressionOption = None,
    program: ProgramFile = None,
    variables: Variables = None,
    columns: ColumnOption = None,
    hessian: HessianOption = False,
    input_format: InputFormat = None,
    output_format: OutputFormatOption = None,
    output: OutputPath = None,
    wrt: BatchWrt = None,
    on_error: OnError = "record",
    quiet: Annotated[bool, quiet_option("No progress bar, and no summary of warnings.")] = False,
    chunk_rows: ChunkRows = CHUNK_ROWS,
) -> None:
    """Evaluate many points of one expression (-e), or records that each
    carry their own "expr", streamed in vectorised chunks: one output record
    per input record, in order.

    Values given as --NAME VALUE, NAME=VALUE or --var NAME=VALUE fill the
    inputs that records lack."""
    on_error = choose("--on-error", on_error, ("record", "skip", "fail"))
    if chunk_rows < 1:
        raise UsageError("--chunk-rows must be at least 1")
    if chunk_rows > MAX_CHUNK_ROWS:
        raise UsageError(f"--chunk-rows must be at most {MAX_CHUNK_ROWS}")
    options = option_names(context)
    source, line = command_line(context, source, variables, options)
    function = expression_of(expression, program, source)
    bindings = bindings_of(function, line, columns, options)
    wrt_names = split_wrt(wrt)
    if function is not None and wrt_names is not None:
        function.check_wrt(wrt_names)
    output = _output_path(output, source)
    if expression is not None and expression.startswith("@") and expression != "@-":
        program = Path(expression[1:])  # -e @FILE: as --program FILE
    if output is not None and program is not None:
        refuse_replacing_input("-o", output, program, "the program", "write to another file")
    tally = _Tally()
    with _input(source) as (stream, size):
        records = Records(stream, _input_format(source, stream, input_format))
        _check_columns(records.header, function, bindings)
        layout = _layout(records.header, function, wrt_names, bindings, hessian)
        chosen = _output_format(output_format, output)
        with _output(output) as sink, _progress(size, stream, quiet) as advance:
            writer = cast(_Writer, WRITERS[chosen](sink, layout))
            chunks = evaluate_blocks(records, function, wrt_names, chunk_rows, bindings, hessian)
            _write_chunks(chunks, writer, tally, on_error, advance)
    if not quiet:
        print_warnings(tally.warnings)
    if tally.failed:
        raise FailuresFoundError(tally.describe(skipped=on_error == "skip"))


class _Writer(Protocol):
    """What every writer of :data:`cgrad.batch.writers.WRITERS` does."""

    def write(self, outcomes: Sequence[Outcome] | ColumnBlock) -> None: ...

    def close(self) -> None: ...


def _write_chunks(
    chunks: Iterable[Sequence[Outcome] | ColumnBlock],
    writer: _Writer,
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


class _Tally:
    """How many records there were and which failed, for the summary."""

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
        yield (stdin if hasattr(stdin, "peek") else io.BufferedReader(_Raw(stdin))), None
        return
    with open_binary(source) as stream:
        yield stream, os.fstat(stream.fileno()).st_size


class _Raw(io.RawIOBase):
    """A raw stream over any binary file object, for io.BufferedReader."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _input_format(source: str | None, stream: BinaryIO, given: str | None) -> Format:
    if given is not None:
        return Format(choose("--input-format", given, tuple(f.value for f in Format)))
    path = None if source in (None, "-") else source
    if path is not None and Path(path).suffix.lower() in EXTENSIONS:
        return detect_format(path, b"")
    # Sniff without consuming: the stream is a buffered reader.
    # _input made it a buffered reader, which has peek().
    return detect_format(None, cast(io.BufferedReader, stream).peek(4096)[:4096])


def _output_format(given: str | None, output: Path | None) -> OutputFormat:
    if given is not None:
        return OutputFormat(choose("--format", given, tuple(f.value for f in OutputFormat)))
    if output is not None:
        by_extension = {".csv": "csv", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson"}
        return OutputFormat(by_extension.get(output.suffix.lower(), "ndjson"))
    return OutputFormat.TABLE if environment().stdout_is_terminal else OutputFormat.NDJSON


def _output_path(output: Path | None, source: str | None) -> Path | None:
    """``-o`` checked before any work: '-' is stdout, a directory or the
    input itself are refused."""
    if output is None or str(output) == "-":
        return None
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory", type="file_error")
    refuse_replacing_input("-o", output, source)
    return output


def _carried(
    header: list[str] | None, function: Function | None, bindings: Bindings
) -> tuple[str, ...] | None:
    """The columns of a CSV/TSV input that are carried to the output."""
    if header is None:
        return None
    inputs = bindings.sources(function.inputs) if function else set()
    return tuple(name for name in header if name not in inputs and name != "id")


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
    else:
        with atomic_output(path) as sink:
            yield sink


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
