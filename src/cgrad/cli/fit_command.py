"""``cgrad fit``: a model's parameters fitted to a data file by gradient
descent on the mean loss, watched live on stderr (as ``minimize`` is),
summed up on stdout, every step in ``--trace``, the parameters in ``-o``."""

from __future__ import annotations

import functools
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional, cast

import typer

from ..autodiff.graph import Graph
from ..batch.formats import COMPRESSION_NAMES, magic
from ..descent import DEFAULT_TOL, METHODS, Step
from ..errors import UsageError
from ..fitting.data import ON_ERROR, BadRowError
from ..fitting.losses import LOSSES
from ..fitting.results import Fitted
from ..fitting.training import DEFAULT_EPOCHS, fit
from ..numerals import format_number
from ..views.descent_page import KeptSteps
from ..views.fit_report import fit_json, fit_report, fit_step_json, params_json
from ..views.terminal_tables import program_heading
from .application import command
from .arguments import choose, given_numbers, read_command_line
from .arrow_loading import load_arrow_without_pandas
from .environment import environment, open_stdin
from .exits import FailuresFoundError
from .file_roles import file_role
from .files import (
    atomic_output,
    copy_bounded,
    named_file,
    program_file,
    refuse_clashing_files,
    refuse_unwritable,
)
from .minimize_command import (
    LearningRate,
    MethodOption,
    Tolerance,
    both_callbacks,
    live_display,
    trace_path,
    trace_writer,
)
from .output import stdout_console, write_json
from .page_output import HtmlFile, check_page_file, write_page
from .parameters import JsonSummary, StartValues, quiet_option

EXAMPLES = """
[bold]Examples[/bold]

  cgrad fit @samples/linear.cg samples/linear.csv --target y
  cgrad fit @samples/logistic.cg samples/logistic.csv --target y \\
      --loss logistic
  cgrad fit @samples/network.cg samples/network.csv --target y --holdout 0.2
  cgrad fit @samples/linear.cg samples/linear.csv --target y --html fit.html
  cgrad fit "w*x + b" data.parquet --target y w=0 b=0 --method gd --lr 0.1
  cgrad fit "w*x + b" data.csv --target y --batch-rows 64 --epochs 20
  cgrad fit "w*x + b" data.csv --target y \\
      --loss "(model - target)^2 + 0.01*w^2"
  cgrad fit "w*x + b" data.csv --target y -o params.json   [dim]# then:[/dim]
  cgrad batch new.csv -e "w*x + b" --params params.json
"""

# A fit's step is a minimize step with an epoch: minimize's trace writer
# writes it, with its own line.
_TRACE_LINE = cast("Callable[[Step], dict]", fit_step_json)

# The command's own parameters (the shared ones are in parameters.py).
Model = Annotated[
    Optional[str],
    typer.Argument(
        metavar="MODEL",
        help="The model: an expression or program, or @FILE; its inputs that are not "
        "columns of DATA are the parameters.",
        show_default=False,
    ),
]
Data = Annotated[
    Optional[str],
    typer.Argument(
        metavar="DATA",
        help="The rows: any file cgrad batch reads (.csv, .tsv, .ndjson, .json, .parquet, "
        ".arrow, optionally compressed), or '-' for stdin.",
        show_default=False,
    ),
]
Target = Annotated[
    Optional[str],
    typer.Option(metavar="COLUMN", help="The column the model predicts.", show_default=False),
]
Loss = Annotated[
    str,
    typer.Option(
        metavar="|".join(LOSSES) + "|EXPR",
        help="Each row's loss; logistic takes the model as log-odds of a 0/1 target; EXPR "
        "is an expression in model, target and the parameters.",
    ),
]
# The least of each whole-number option, checked as Typer reads it so that
# the error names the option (exits.py words it): the library's own checks
# name its parameters (batch_rows), which are not what was typed.
Epochs = Annotated[int, typer.Option(metavar="N", min=0, help="Passes over the training rows.")]
BatchRows = Annotated[
    Optional[int],
    typer.Option(
        metavar="N",
        min=1,
        help="Rows per step, shuffled each epoch with --seed (default: every row, one step "
        "an epoch).",
        show_default=False,
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        metavar="N",
        min=0,
        help="Seeds the start values not given, the shuffling and the --holdout rows.",
    ),
]
Holdout = Annotated[
    Optional[float],
    typer.Option(
        metavar="FRACTION",
        help="Keep this fraction of the rows for the validation loss: exactly "
        "round(FRACTION x rows) of them, chosen with --seed.",
        show_default=False,
    ),
]
Validation = Annotated[
    Optional[str],  # (a str: '' is no file, where a Path would make it '.')
    typer.Option(
        metavar="FILE", help="Rows for the validation loss, read as DATA is.", show_default=False
    ),
]
Stream = Annotated[
    bool,
    typer.Option(
        "--stream",
        help="Read DATA from the file on every pass instead of into memory (the default "
        "for data over 256 MiB as numbers).",
    ),
]
OnError = Annotated[
    str,
    typer.Option(
        metavar="|".join(ON_ERROR),
        help="A bad row: leave it out and list it, leave it out, or stop. "
        "Any bad row makes the exit status 1.",
    ),
]
# Output names, not Paths: Typer would make '' the current directory.
Trace = Annotated[
    Optional[str],
    typer.Option(
        metavar="FILE",
        help='Write every step to FILE as NDJSON: {"step", "epoch", "rows", "loss", '
        '"params", "gradient"}.',
        show_default=False,
    ),
]
Output = Annotated[
    Optional[str],
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write the fitted parameters to FILE as one JSON object, for cgrad batch --params.",
        show_default=False,
    ),
]


@command("fit", epilog=EXAMPLES)
def fit_command(
    context: typer.Context,
    model: Model = None,
    data: Data = None,
    variables: StartValues = None,
    target: Target = None,
    loss: Loss = "squared",
    method: MethodOption = "adam",
    lr: LearningRate = None,
    epochs: Epochs = DEFAULT_EPOCHS,
    batch_rows: BatchRows = None,
    tol: Tolerance = DEFAULT_TOL,
    seed: Seed = 0,
    holdout: Holdout = None,
    validation: Validation = None,
    stream: Stream = False,
    on_error: OnError = "record",
    json_output: JsonSummary = False,
    trace: Trace = None,
    output: Output = None,
    html: HtmlFile = None,
    quiet: Annotated[bool, quiet_option("No live display on stderr.")] = False,
) -> None:
    """Fit a model's parameters to the rows of DATA: gradient descent on the
    mean over the rows of the loss of the model's output against the
    --target column, each step one forward and one backward pass over a
    batch of rows, until --epochs, a step's gradient norm at --tol, or the
    numbers stop being finite (diverged: exit 1, naming the parameter).

    Start values are given as for eval (--NAME VALUE, NAME=VALUE or --var
    NAME=VALUE), else drawn with --seed. A live display of the loss runs
    on stderr when it is a terminal; the summary goes to stdout."""
    method = choose("--method", method, tuple(METHODS))
    on_error = choose("--on-error", on_error, ON_ERROR)
    target, data = _required(model, target, data)
    function, line, options = read_command_line(context, model, variables)
    start = given_numbers(function, line, options)
    held_out = named_file("--validation", validation)  # (the rows of the validation loss)
    params_file, trace_file, page = _output_files(model, data, held_out, (output, trace, html))
    run = functools.partial(
        fit, function, target=target, start=start, loss=loss, method=method, lr=lr, epochs=epochs,
        batch_rows=batch_rows, tol=tol, seed=seed, holdout=holdout, validation=held_out,
        stream=True if stream else None, on_error=on_error,
    )  # fmt: skip
    seen = KeptSteps()  # the steps the page of --html draws
    with _data_file(data) as source, trace_writer(trace_file, _TRACE_LINE) as write_step:
        with live_display(quiet, epochs) as show, _warnings_said():
            watch = both_callbacks(write_step, show)
            try:
                fitted = run(source, callback=both_callbacks(watch, seen.add) if page else watch)
            except BadRowError as error:
                raise FailuresFoundError(error.summary()) from None
            except BaseException as stop:
                reached = getattr(stop, "fitted", None)
                if reached is not None:
                    _print_summary(function.graph, reached, json_output)
                raise
    _print_summary(function.graph, fitted, json_output)  # first: a file may fail
    _write_files(fitted, params_file, page, seen, line.expression)
    _finish(fitted, params_file is not None)


@contextmanager
def _warnings_said() -> Iterator[None]:
    """The library's warnings about the model and the data (a parameter
    named like a column) on stderr as they come, before the fit runs."""
    import warnings

    from ..fitting.training import ColumnNameWarning

    shown = warnings.showwarning

    def say(message, category, *where: Any, **more: Any) -> None:
        if not issubclass(category, ColumnNameWarning):
            shown(message, category, *where, **more)
            return
        sys.stderr.write(f"cgrad: warning: {message}\n")
        sys.stderr.flush()

    with warnings.catch_warnings():
        warnings.simplefilter("always", ColumnNameWarning)
        warnings.showwarning = say
        yield


def _write_files(
    fitted: Fitted, output: Path | None, html: Path | None, seen: KeptSteps, program: str | None
) -> None:
    """-o's parameters (not those of a run that diverged: a file of good
    ones stays) and --html's page, each if asked for."""
    if output is not None and fitted.stopped != "diverged":
        with atomic_output(output) as sink:
            sink.write(json.dumps(params_json(fitted), ensure_ascii=False) + "\n")
    if html is not None:
        from ..views.fit_page import fit_page

        write_page("--html", html, fit_page(fitted, seen.steps()), program)


def _required(model: str | None, target: str | None, data: str | None) -> tuple[str, str]:
    """--target and DATA, once known to be given (and MODEL); DATA known
    by its role to a failure's message."""
    if model is None:
        raise UsageError(
            "no MODEL given", hint='for example: cgrad fit "w*x + b" data.csv --target y'
        )
    if target is None:
        raise UsageError("--target names the column to predict", hint="for example --target y")
    if data is None:
        raise UsageError("no DATA given", hint="cgrad fit MODEL DATA --target COLUMN")
    if model == "@-" and data == "-":
        raise UsageError(
            "MODEL @- and DATA - would both be read from standard input",
            hint="give the data as a file, or the model with @FILE",
        )
    file_role("the data", data)
    return target, data


def _output_files(
    model: str | None,
    data: str,
    validation: Path | None,
    names: tuple[str | None, str | None, str | None],
) -> tuple[Path | None, Path | None, Path | None]:
    """The files of -o, --trace and --html (``names``), checked before the
    fit: each in a folder that exists, none a directory, none a file that
    is read (the program, the data, the validation data), another of them
    or standard output, each one that can be written."""
    output, trace, html = names
    if output == "-":  # batch's stdout, but fit's has the summary
        raise UsageError("-o needs a file: stdout has the summary", hint="write -o params.json")
    read = [("the program", program_file(model)), ("the data", data)]
    read.append(("the validation data", None if validation is None else str(validation)))
    written = [("-o", named_file("-o", output)), ("--trace", trace_path(trace))]
    written.append(("--html", check_page_file(html)))
    for option, path in written:
        if path is not None and not path.parent.is_dir():
            raise UsageError(
                f"cannot write {path} ({option}): there is no folder {path.parent}",
                type="file_error",
            )
        if path is not None and path.is_dir():
            raise UsageError(f"cannot write {path}: it is a directory", type="file_error")
    refuse_clashing_files(read, written, stdout="the summary")
    refuse_unwritable(written)  # found now, not after the training
    return written[0][1], written[1][1], written[2][1]


def _finish(fitted: Fitted, output_asked: bool) -> None:
    """Exit 1, after saying why, when the run diverged or rows were bad."""
    if fitted.stopped == "diverged":
        kept = "; -o was not written" if output_asked else ""
        hint = (
            "the start is no point to fit from: give other start values (or another --seed)"
            if fitted.steps == 0
            else "the summary shows the last finite point; try a smaller --lr than "
            + format_number(fitted.lr)
        )
        raise FailuresFoundError(f"{fitted.reason}{kept}\nhint: {hint}")
    bad = fitted.bad_rows
    if bad.count:
        counted = f"{bad.count:,} bad row{'s' if bad.count > 1 else ''} left out"
        if not bad.first:  # --on-error skip: counted, not listed
            raise FailuresFoundError(counted)
        row, _, message = bad.first[0]
        raise FailuresFoundError(
            f"{counted} (the summary lists the first); the first, row {row:,}: {message}"
        )


def _print_summary(graph: Graph, fitted: Fitted, json_output: bool) -> None:
    if json_output:
        write_json(fit_json(fitted))
    else:
        stdout_console().print(fit_report(fitted, program_heading(graph)), soft_wrap=True)


@contextmanager
def _data_file(data: str) -> Iterator[str]:
    """DATA as a file path: standard input is copied to a temporary file
    first, since a fit may read its rows more than once. (Its rows are read
    by batch's readers, with pyarrow loaded as the command line loads it.)"""
    load_arrow_without_pandas()
    if data != "-":
        yield data
        return
    stdin = open_stdin()
    if environment().stdin_is_terminal:
        raise UsageError("DATA '-' reads standard input, which is a terminal")
    head = stdin.buffer.read(16)
    # Compressed input is told by its bytes, as batch tells it on stdin: the
    # file's name then says so, as a file's must.
    found = magic(head)
    suffix = f".{COMPRESSION_NAMES[found]}" if found in COMPRESSION_NAMES else ""
    with tempfile.NamedTemporaryFile(prefix="cgrad-fit-", suffix=suffix) as spool:
        copy_bounded(head, stdin.buffer, spool)
        spool.flush()
        yield spool.name
