"""``cgrad batch``: many points, or many expressions, from files and pipes."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, BinaryIO, Optional, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from .. import compile as compile_program
from ..batch import evaluate_records
from ..errors import UsageError
from ..rows import EXTENSIONS, Format, Records, detect_format
from ..writers import WRITERS, Layout, OutputFormat
from .app import app
from .arguments import choose, read_program, split_wrt
from .files import atomic_output, open_binary
from .output import ExitStatus, print_error, reporting

EXAMPLES = """
[bold]Examples[/bold]

  cgrad batch samples/points.csv -e "(x+y)*z" > out.ndjson
  cat samples/points.ndjson | cgrad batch -e "(x+y)*z" --format csv
  cgrad batch samples/jobs.ndjson          [dim]# each record carries its own "expr"[/dim]
  cgrad batch big.csv -e "sin(x*y)" --format csv -o out.csv --on-error skip
"""

# Inputs smaller than this finish before a progress bar would be any use.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


@app.command("batch", epilog=EXAMPLES)
def batch_command(
    source: Annotated[
        Optional[str],
        typer.Argument(
            metavar="INPUT",
            help="A .csv, .tsv, .ndjson, .jsonl or .json file; '-' or nothing reads stdin.",
            show_default=False,
        ),
    ] = None,
    expression: Annotated[
        Optional[str],
        typer.Option(
            "--expr", "-e", help="The expression, evaluated at every record.", show_default=False
        ),
    ] = None,
    program: Annotated[
        Optional[Path],
        typer.Option(help="Read the expression from this file instead.", show_default=False),
    ] = None,
    input_format: Annotated[
        Optional[str],
        typer.Option(
            metavar="csv|tsv|ndjson|json",
            help="The input's format (default: from the extension, else sniffed).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        Optional[str],
        typer.Option(
            "--format",
            metavar="ndjson|json|csv|table",
            help="Output format (default: table on a terminal, else ndjson).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            help="Write here (replaced only when done) instead of to stdout.",
            show_default=False,
        ),
    ] = None,
    wrt: Annotated[
        Optional[list[str]],
        typer.Option(metavar="x,y", help="Only these partial derivatives (may repeat)."),
    ] = None,
    on_error: Annotated[
        str,
        typer.Option(
            metavar="record|skip|fail",
            help="A bad record: write an error record, leave it out, or stop. "
            "Any bad record makes the exit status 1.",
        ),
    ] = "record",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Evaluate many points of one expression (-e), or records that each
    carry their own "expr", streamed in vectorised chunks: one output record
    per input record, in order."""
    with reporting():
        on_error = choose("--on-error", on_error, ("record", "skip", "fail"))
        function = _expression(expression, program)
        wrt_names = split_wrt(wrt)
        if function is not None and wrt_names is not None:
            function.check_wrt(wrt_names)
        with _input(source) as (stream, size):
            in_format = _input_format(source, stream, input_format)
            records = Records(stream, in_format)
            chosen = _output_format(output_format, output)
            layout = Layout(
                inputs=function.inputs if function else (),
                per_record=function is None,
                carried=_carried(records.header, function),
                has_id=records.header is None or "id" in records.header,
            )
            with _output(output) as sink:
                writer = WRITERS[chosen](sink, layout)
                failed = False
                with _progress(size, stream, quiet) as advance:
                    for outcomes in evaluate_records(records, function, wrt_names):
                        bad = [o for o in outcomes if o.error is not None]
                        failed = failed or bool(bad)
                        if on_error == "skip":
                            outcomes = [o for o in outcomes if o.error is None]
                        elif on_error == "fail" and bad:
                            first = bad[0]
                            writer.write([o for o in outcomes if o.row < first.row])
                            writer.close()
                            print_error(f"row {first.row}: {first.error[0]}: {first.error[1]}")
                            raise typer.Exit(ExitStatus.FAILURES)
                        writer.write(outcomes)
                        advance()
                writer.close()
        if failed:
            raise typer.Exit(ExitStatus.FAILURES)


def _expression(expression: str | None, program: Path | None):
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
        if source is None and sys.stdin.isatty():
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
    return detect_format(None, stream.peek(4096)[:4096])


def _output_format(given: str | None, output: Path | None) -> OutputFormat:
    if given is not None:
        return OutputFormat(choose("--format", given, tuple(f.value for f in OutputFormat)))
    return OutputFormat.TABLE if output is None and sys.stdout.isatty() else OutputFormat.NDJSON


def _carried(header: list[str] | None, function) -> tuple[str, ...] | None:
    """The columns of a CSV/TSV input that are carried to the output."""
    if header is None:
        return None
    inputs = set(function.inputs) if function else set()
    return tuple(name for name in header if name not in inputs and name != "id")


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
    else:
        with atomic_output(path) as sink:
            yield sink


@contextmanager
def _progress(size: int | None, stream: BinaryIO, quiet: bool):
    """A progress bar by bytes on stderr, for a big file and a person watching."""
    if quiet or size is None or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield lambda: None
        return
    columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("cgrad batch", total=size)
        yield lambda: progress.update(task, completed=min(stream.tell(), size))
