"""``cgrad batch``: many points, or many expressions, from files and pipes."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, BinaryIO, Optional, Protocol, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from .. import compile as compile_program
from ..batch.blocks import CHUNK_ROWS, MAX_CHUNK_ROWS, ColumnBlock, Outcome, evaluate_blocks
from ..batch.compression import buffered, compressing, decompressed
from ..batch.formats import (
    BINARY_FORMATS,
    COMPRESSIONS,
    FORMATS,
    Kind,
    check_compression,
    check_format,
    kind_from_name,
    known_names,
    parse_kind,
)
from ..batch.rows import EXPRESSION_FIELD, Format, Records
from ..batch.writers import WRITERS, Layout, OutputFormat
from ..errors import NAMES_SHOWN, UsageError
from ..function import Function
from .application import command
from .arguments import choose, read_program, split_wrt
from .environment import environment, open_stdin
from .exits import FailuresFoundError
from .files import atomic_output, open_binary, refuse_replacing_input
from .output import GuardedStdout
from .parameters import BatchWrt, quiet_option

if TYPE_CHECKING:
    from ..batch.arrow_files import ArrowRecords
    from ..batch.columnar import DelimitedColumns

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
    chosen = _output_format(output_format, output)
    with _input(source) as (stream, size):
        records = _records(source, stream, input_format, function, chunk_rows)
        _check_columns(records.header, function)
        layout = _layout(records.header, function, wrt_names)
        with _output(output, chosen) as sink, _progress(size, stream, quiet) as advance:
            writer = _writer(chosen, sink, layout, records)
            chunks = _evaluated(records, function, wrt_names, chunk_rows)
            _write_chunks(chunks, writer, tally, on_error, advance)
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


def _input_format(source: str | None, stream: BinaryIO, given: str | None) -> Kind:
    """The input's format and compression: from --input-format, else the
    name, else the bytes; the bytes must not contradict the name. The
    format may still be "" here: it is judged once decompressed."""
    named = parse_kind("--input-format", given) if given is not None else None
    path = None if source in (None, "-") else source
    by_name = kind_from_name(path) if path is not None else None
    compression = named.compression if named is not None else None
    if compression is None and path is not None:
        compression = COMPRESSIONS.get(Path(path).suffix.lower())
    where = path or "standard input"
    # _input made it a buffered reader, which has peek().
    head = cast(io.BufferedReader, stream).peek(16)[:16]
    compression = check_compression(where, compression, head)
    form = named.format if named is not None else by_name.format if by_name else ""
    return Kind(form, compression)


def _records(
    source: str | None,
    stream: BinaryIO,
    given: str | None,
    function: Function | None,
    chunk_rows: int,
) -> Records | DelimitedColumns | ArrowRecords:
    """The reader for the input: Arrow's for CSV/TSV with one expression,
    Parquet and Arrow files; the record reader otherwise."""
    kind = _input_format(source, stream, given)
    plain = decompressed(stream, kind.compression)
    where = "standard input" if source in (None, "-") else f"{source}"
    form = check_format(where, kind.format or None, plain.peek(4096)[:4096])
    if form in BINARY_FORMATS:
        from ..batch.arrow_files import ArrowRecords

        return ArrowRecords(plain, form, chunk_rows)
    if form in ("csv", "tsv") and function is not None:
        from ..batch.columnar import DelimitedColumns

        return DelimitedColumns(plain, Format(form))
    return Records(plain, Format(form))


def _evaluated(
    records: Records | DelimitedColumns | ArrowRecords,
    function: Function | None,
    wrt: list[str] | None,
    chunk_rows: int,
) -> Iterable[Sequence[Outcome] | ColumnBlock]:
    if isinstance(records, Records):
        return evaluate_blocks(records, function, wrt, chunk_rows)
    if function is None:
        assert not isinstance(records, DelimitedColumns), "read by records without -e"
        return records.outcomes(None, wrt, chunk_rows)
    return records.outcomes(function, wrt, chunk_rows)


def _output_format(given: str | None, output: Path | None) -> Kind:
    """The output's format and compression: --format, else the name of
    -o (an extension cgrad does not know is refused), else table on a
    terminal and ndjson otherwise."""
    named = kind_from_name(output) if output is not None else None
    if given is not None:
        kind = parse_kind("--format", given, (*FORMATS, "table"))
        compression = kind.compression
        if compression is None and output is not None:
            compression = COMPRESSIONS.get(output.suffix.lower())
        chosen = Kind(kind.format, compression)
    elif named is not None:
        chosen = named
    elif output is not None and output.suffix:
        raise UsageError(
            f"cannot tell the format of {output} from its extension {output.suffix!r}",
            hint=f"name it .{known_names()[1:]}, or pass --format",
        )
    elif output is not None:
        chosen = Kind("ndjson")
    else:
        chosen = Kind("table" if environment().stdout_is_terminal else "ndjson")
    if chosen.format == "table" and chosen.compression is not None:
        raise UsageError("a table for people is not compressed", hint="pass --format csv.gz")
    if output is None and _binary(chosen) and environment().stdout_is_terminal:
        raise UsageError(
            f"{chosen} output is not for a terminal", hint="write it with -o FILE, or pipe it"
        )
    return chosen


def _binary(kind: Kind) -> bool:
    return kind.format in BINARY_FORMATS or kind.compression is not None


def _writer(
    chosen: Kind, sink: IO, layout: Layout, records: Records | DelimitedColumns | ArrowRecords
) -> _Writer:
    form = OutputFormat(chosen.format)
    types = getattr(records, "types", None)
    if form.value in BINARY_FORMATS:
        from ..batch.arrow_writers import ARROW_WRITERS

        writer = ARROW_WRITERS[form](cast(BinaryIO, sink), replace(layout, types=types))
        return cast(_Writer, writer)
    return cast(_Writer, WRITERS[form](sink, layout))


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
def _output(path: Path | None, kind: Kind) -> Iterator[IO]:
    """Where the writer writes: stdout or -o (written atomically), text or
    bytes, compressed as ``kind`` says."""
    if not _binary(kind):
        if path is None:
            yield sys.stdout
        else:
            with atomic_output(path) as sink:
                yield sink
        return
    if path is None:
        sys.stdout.flush()
        yield from _encoded(cast(BinaryIO, GuardedStdout(sys.stdout.buffer)), kind)
        return
    with atomic_output(path, binary=True) as raw:
        yield from _encoded(raw, kind)


def _encoded(raw: BinaryIO, kind: Kind) -> Iterator[IO]:
    """``raw``, compressed as ``kind`` says, as text for a text format."""
    stream = compressing(raw, kind.compression)
    sink: IO = stream
    if kind.format not in BINARY_FORMATS:
        sink = io.TextIOWrapper(cast(IO[bytes], stream), encoding="utf-8", newline="")
    try:
        yield sink
    except BaseException:
        # The output is thrown away: end the compressor without a word.
        with suppress(Exception):
            sink.close()
        raise
    if sink is not raw:
        sink.close()  # the end of the compressed stream, written now
    raw.flush()


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
