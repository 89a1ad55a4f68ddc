"""Partitioned data: a directory or a glob of input parts, one output part
for each, run one after another in this process or as tasks on a Dask
cluster.

This module finds the parts, names their outputs, runs a part function over
them and sums up what went wrong; what a part function does with one input
file and one output file is the caller's (``cgrad batch`` passes its own
single-file pipeline, so that a part is processed exactly as a file is).
Dask is imported only when a scheduler is asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..errors import CgradError, UsageError
from .per_row import WarningCounts

# Files a directory of parts holds beside its data: Spark's _SUCCESS and
# .crc files, editors' and Dask's own hidden files. pyarrow's datasets skip
# the same names.
HIDDEN_PREFIXES = (".", "_")

# The last suffix of a compressed part names the compression, not the format.
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")

# How long a client waits for a scheduler that does not answer.
CONNECT_TIMEOUT = "10s"

LOCAL = "local"

# The HTTP server a scheduler always starts: on a free port of this machine
# only, never a fixed one (8787 may be taken) nor every interface.
LOCAL_ONLY = "127.0.0.1:0"


@dataclass(frozen=True)
class PartReport:
    """What running one part gave: its name, how many records it had, how
    many failed and the first that did (row within the part, error type,
    message), whether ``--on-error fail`` stopped it there, and its
    warnings counted by kind."""

    name: str
    records: int
    failed: int = 0
    first: tuple[int, str, str] | None = None
    stopped: bool = False
    warnings: WarningCounts | None = None


# A part function: reads the input part, writes the output part, reports.
PartFunction = Callable[[Path, Path], PartReport]


def is_partitioned(source: str | None) -> bool:
    """Whether INPUT names parts (a directory, or a glob pattern that is not
    itself the name of a file) rather than one file or standard input."""
    if source is None or source == "-":
        return False
    if os.path.isdir(source):
        return True
    return glob.has_magic(source) and not os.path.exists(source)


def find_parts(source: str) -> list[Path]:
    """The files of a directory or those a glob matches, sorted by name,
    but for hidden ones (names starting with . or _); a clear error when
    there are none."""
    if os.path.isdir(source):
        found = [Path(source, name) for name in os.listdir(source)]
        nothing = f"no input: the directory {source} holds no file"
    else:
        found = [Path(name) for name in glob.glob(source)]
        nothing = f"no input: no file matches {source!r}"
    visible = (path for path in found if not path.name.startswith(HIDDEN_PREFIXES))
    parts = sorted(path for path in visible if path.is_file())
    if not parts:
        raise UsageError(nothing, type="file_error")
    return parts


def output_name(part: Path, extension: str | None) -> str:
    """The output part's name: the input's own name when the format is the
    input's, else its base name with ``extension`` (``a.csv.gz`` -> ``a.ndjson``)."""
    if extension is None:
        return part.name
    base = part.name
    for _ in range(2 if part.suffix.lower() in COMPRESSIONS else 1):
        base = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    return base + extension


def plan_outputs(
    parts: Sequence[Path], output: Path | None, extension: str | None
) -> list[tuple[Path, Path]]:
    """Each part with the file it is written to, in the directory
    ``output`` (made by :func:`run_parts` if missing). Checked before any
    part runs: no output directory, one
    that is a file, two parts written to one name, a part written over an
    input are errors."""
    if output is None or str(output) == "-":
        raise UsageError(
            "a directory or a glob of parts needs -o DIRECTORY for the output parts",
            hint="for example: -o out/",
        )
    if output.exists() and not output.is_dir():
        raise UsageError(
            f"cannot write the output parts to {output}: it is a file, not a directory",
            type="file_error",
        )
    plan = [(part, output / output_name(part, extension)) for part in parts]
    _refuse_collisions(plan, {part.resolve() for part in parts})
    return plan


def _make_directory(plan: Sequence[tuple[Path, Path]]) -> None:
    """The output directory, made once the parts are about to run (not when
    the run fails before, a scheduler out of reach, say)."""
    output = plan[0][1].parent
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(f"cannot make {output}: {reason}", type="file_error") from None


def _refuse_collisions(plan: list[tuple[Path, Path]], inputs: set[Path]) -> None:
    written: dict[Path, Path] = {}
    for part, target in plan:
        resolved = target.resolve()
        if resolved in inputs:
            raise UsageError(
                f"-o {target.parent} would replace the input part {part}",
                hint="write the output parts to another directory",
                type="file_error",
            )
        if resolved in written:
            raise UsageError(
                f"{written[resolved]} and {part} would both be written to {target}",
                hint="give the parts different base names, or keep their formats (no --format)",
                type="file_error",
            )
        written[resolved] = part


def run_parts(
    plan: Sequence[tuple[Path, Path]], run_part: PartFunction, scheduler: str | None
) -> list[PartReport]:
    """Run ``run_part`` on every part, in this process one after another
    (``scheduler`` None) or as tasks on a Dask cluster: ``local`` starts one
    on this machine, anything else is a scheduler's address. Reports come in
    the order of the parts; a part stopped by ``--on-error fail`` ends the
    run, and so does an error with a part as a whole (raised, naming it)."""
    if scheduler is None:
        _make_directory(plan)
        here = ((part, functools.partial(run_part, part, target)) for part, target in plan)
        return _collect(here, cancel=lambda: None)
    with _client(scheduler, len(plan)) as client:
        _make_directory(plan)
        # Workers may run in another directory: they get absolute paths.
        sources = [part.absolute() for part, _ in plan]
        targets = [target.absolute() for _, target in plan]
        futures = client.map(run_part, sources, targets, pure=False)
        waiting = (
            (part, functools.partial(_task_result, future))
            for (part, _), future in zip(plan, futures, strict=True)
        )
        return _collect(waiting, cancel=lambda: client.cancel(futures))


def _task_result(future: Any) -> PartReport:
    """A task's report. cgrad's own errors and a failed file come back as
    they are; anything else means the cluster could not run cgrad's code
    (cgrad missing on a worker, a worker lost), not a bug of the input."""
    try:
        return cast(PartReport, future.result())
    except (CgradError, OSError):
        raise
    except Exception as error:  # noqa: BLE001 - named in the message
        raise UsageError(
            f"the task failed on the Dask cluster: {type(error).__name__}: {error}",
            hint="every worker needs cgrad installed, the version that runs here",
            type="cluster_error",
        ) from None


def _collect(
    results: Iterator[tuple[Path, Callable[[], PartReport]]], cancel: Callable[[], object]
) -> list[PartReport]:
    reports = []
    for part, result in results:
        try:
            # Named as the command line named it, not as a worker saw it.
            report = dataclasses.replace(result(), name=str(part))
        except CgradError as error:
            cancel()
            error.message = f"{part}: {error.message}"
            raise
        except BaseException:
            cancel()
            raise
        reports.append(report)
        if report.stopped:
            cancel()
            break
    return reports


@contextmanager
def _client(scheduler: str, parts: int) -> Iterator[Any]:
    """A Dask client of a cluster started here (``local``: one worker
    process per core, at most one per part) or of the scheduler at an
    address, closed (the local cluster shut down) when done."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask's distributed package, which is not installed",
            hint="pip install distributed, or run without --scheduler",
        ) from None
    if scheduler == LOCAL:
        workers = max(1, min(os.cpu_count() or 1, parts))
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=LOCAL_ONLY,
                # Its workers log to this process's stderr, with tracebacks,
                # when a run is interrupted (a task cancelled, a heartbeat
                # to a scheduler that has closed): cgrad reports failures
                # itself, from the tasks' results.
                silence_logs=logging.CRITICAL,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot reach the Dask scheduler at {scheduler}: {error}",
            hint="give the address the scheduler prints (tcp://HOST:8786), or --scheduler local",
        ) from None
    with client:
        yield client


def gather_warnings(reports: Sequence[PartReport]) -> WarningCounts:
    """The warnings of all parts counted by kind, each kind first met at a
    row of the part named, for one summary of the run."""
    gathered = WarningCounts()
    for report in reports:
        if report.warnings is not None:
            gathered.merge(report.warnings, report.name)
    return gathered


def describe_failures(reports: Sequence[PartReport], skipped: bool) -> str | None:
    """The one-line summary of the bad records over all parts, naming the
    part of the first; None when there were none."""
    failed = [report for report in reports if report.failed]
    if not failed:
        return None
    first = failed[0]
    assert first.first is not None, "a part with failures names its first"
    row, kind, message = first.first
    where = f"{first.name} row {row}: {kind}: {message}"
    if first.stopped:
        return f"stopped at {where}"
    bad = sum(report.failed for report in failed)
    total = sum(report.records for report in reports)
    verb = "were left out" if skipped else "are error records in the output"
    return (
        f"{bad} of {total} records in {len(failed)} of {len(reports)} parts failed "
        f"and {verb} (first: {where})"
    )
