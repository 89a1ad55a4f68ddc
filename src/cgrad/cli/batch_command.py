"""``cgrad batch``: many points, or many expressions, from files and pipes."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional, cast

import typer

from ..batch import partitions
from ..batch.bindings import Bindings
from ..batch.blocks import CHUNK_ROWS, MAX_CHUNK_ROWS
from ..batch.formats import FORMATS, parse_kind
from ..errors import UsageError
from ..function import Function
from .application import command
from .arguments import choose, option_names, split_wrt
from .batch_files import FileJob, Tally, run_file, run_part
from .batch_io import output_kind
from .batch_line import bindings_of, command_line, expression_of, print_warnings
from .exits import FailuresFoundError
from .file_roles import file_role
from .files import (
    named_file,
    refuse_clashing_files,
    refuse_replacing_input,
    remove_leftovers,
)
from .freed_memory import keep_freed_memory
from .parameters import BatchWrt, Variables, quiet_option

EXAMPLES = """
[bold]Examples[/bold]

  cgrad batch samples/points.csv -e "(x+y)*z" > out.ndjson
  cat samples/points.ndjson | cgrad batch -e "(x+y)*z" --format csv
  cgrad batch samples/jobs.ndjson    [dim]# each record has its own "expr"[/dim]
  cgrad batch big.csv -e "sin(x*y)" --format csv -o out.csv --on-error skip
  cgrad batch samples/points.csv -e "w*x + b" w=2 --b 0.5  [dim]# w, b for all[/dim]
  cgrad batch samples/readings.csv -e "k*t*h" k=0.5 \\
      --column "t=temp C" --column h=hours
  cgrad batch samples/points.csv -e @samples/seed.cg --hessian
  cgrad batch 'parts/*.csv' -e "sin(x*y)" -o out/ --scheduler local
"""

# The command's own parameters (the shared ones are in parameters.py).
Source = Annotated[
    Optional[str],
    typer.Argument(
        metavar="INPUT",
        help="A .csv, .tsv, .ndjson, .jsonl, .json, .parquet, .arrow or .feather file, "
        "optionally .gz, .bz2, .xz or .zst; '-' or nothing reads stdin; "
        "a directory or a quoted glob of parts, with -o DIRECTORY.",
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
# A name, not a Path: Typer would make '' the current directory.
OutputPath = Annotated[
    Optional[str],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
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
ParamsFile = Annotated[
    Optional[str],  # (a str: '' is no file, where a Path would make it '.')
    typer.Option(
        "--params",
        metavar="FILE",
        help="Values for inputs from a JSON object of names to numbers, as cgrad fit -o "
        "writes it (values on the command line win).",
        show_default=False,
    ),
]
# Partitioned data (see batch/partitions.py).
SchedulerOption = Annotated[
    Optional[str],
    typer.Option(
        metavar="ADDRESS|local",
        help="Run the parts of a directory or glob on the Dask cluster at ADDRESS "
        "(tcp://HOST:8786), or on one started here (local).",
        show_default=False,
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
    scheduler: SchedulerOption = None,
    params: ParamsFile = None,
) -> None:
    """Evaluate many points of one expression (-e), or records that each
    carry their own "expr", streamed in vectorised chunks: one output record
    per input record, in order.

    Values given as --NAME VALUE, NAME=VALUE or --var NAME=VALUE fill the
    inputs that records lack."""
    on_error = choose("--on-error", on_error, ("record", "skip", "fail"))
    _check_chunk_rows(chunk_rows)
    options = option_names(context)
    source, line = command_line(context, source, variables, options)
    file_role("the input", source)
    function = expression_of(expression, program, source)
    bindings = bindings_of(function, line, columns, options)
    params_file = named_file("--params", params)
    bindings = _with_params(bindings, params_file, function)
    wrt_names = split_wrt(wrt)
    if function is not None and wrt_names is not None:
        function.check_wrt(wrt_names)
    if expression is not None and expression.startswith("@") and expression != "@-":
        program = Path(expression[1:])  # -e @FILE: as --program FILE
    job = FileJob(
        function, wrt_names, input_format, output_format, on_error, chunk_rows, quiet,
        bindings, hessian,
    )  # fmt: skip
    keep_freed_memory()
    read = [("the program", program), ("the --params file", params_file)]
    if partitions.is_partitioned(source):
        _run_parts(job, cast(str, source), named_file("-o", output), scheduler, read)
        return
    if scheduler is not None:
        raise UsageError(
            "--scheduler runs the parts of a directory or a glob, and INPUT is one file",
            hint="give a directory or a quoted pattern ('parts/*.csv') and -o DIRECTORY",
        )
    written = _output_path(named_file("-o", output), source)
    refuse_clashing_files(read, [("-o", written)])
    tally = Tally()
    run_file(job, source, written, tally)
    if not quiet:
        print_warnings(tally.warnings)
    if tally.failed:
        raise FailuresFoundError(tally.describe(skipped=on_error == "skip"))


def _check_chunk_rows(chunk_rows: int) -> None:
    if chunk_rows < 1:
        raise UsageError("--chunk-rows must be at least 1")
    if chunk_rows > MAX_CHUNK_ROWS:
        raise UsageError(f"--chunk-rows must be at most {MAX_CHUNK_ROWS}")


def _run_parts(
    job: FileJob,
    source: str,
    output: Path | None,
    scheduler: str | None,
    read: list[tuple[str, Path | None]],
) -> None:
    """A directory or glob of parts, each written to ``-o DIRECTORY`` under
    its own base name, in the format of --format or else its own; the
    summaries (warnings, failures) over all parts, naming the part."""
    extension = None
    if job.output_format is not None:
        chosen = parse_kind("--format", job.output_format, (*FORMATS, "table"))
        if chosen.format == "table":
            raise UsageError("--format table is for a terminal, not for output parts")
        extension = f".{chosen}"  # csv.gz: the compression too
    plan = partitions.plan_outputs(partitions.find_parts(source), output, extension)
    for _, target in plan:
        for what, path in read:
            refuse_replacing_input("-o", target, path, what, "write to another directory")
        output_kind(job.output_format, target)  # a name without a format: before any part runs
    part_job = replace(job, quiet=True)  # a bar per part would only flicker
    try:
        reports = partitions.run_parts(plan, functools.partial(run_part, part_job), scheduler)
    except BaseException:
        if scheduler is not None:  # a worker shut down mid-part unwinds nothing
            for _, target in plan:
                remove_leftovers(target)
        raise
    if not job.quiet:
        print_warnings(partitions.gather_warnings(reports))
    summary = partitions.describe_failures(reports, skipped=job.on_error == "skip")
    if summary is not None:
        raise FailuresFoundError(summary)


def _with_params(bindings: Bindings, path: Path | None, function: Function | None) -> Bindings:
    """The values of a --params file added to the bindings, under those of
    the command line; each must name an input of the expression."""
    if path is None:
        return bindings
    from ..fitting.params import read_params

    found = read_params(path)
    if function is not None:
        unknown = [name for name in found if name not in function.inputs]
        if unknown:
            raise UsageError(
                f"--params {path}: {unknown[0]} is not an input of this expression",
                hint=function.inputs_text(),
            )
    fixed = {name: value for name, value in found.items() if name not in bindings.columns}
    return replace(bindings, fixed={**fixed, **bindings.fixed})


def _output_path(output: Path | None, source: str | None) -> Path | None:
    """``-o`` checked before any work: '-' is stdout, a directory or the
    input itself are refused."""
    if output is None or str(output) == "-":
        return None
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a directory", type="file_error")
    refuse_replacing_input("-o", output, source)
    return output
