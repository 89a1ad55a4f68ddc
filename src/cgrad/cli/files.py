"""Files named on the command line: opening them with clear errors, and
writing output so that a failure never leaves a half-written file."""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, Literal, TextIO, overload

from ..errors import UsageError


def file_error(path: str | os.PathLike, error: OSError) -> UsageError:
    """The one-line message for an input file that cannot be read."""
    if isinstance(error, FileNotFoundError):
        reason = "no such file"
    elif isinstance(error, IsADirectoryError):
        reason = "it is a directory"
    else:
        reason = error.strerror or str(error)
    return UsageError(f"cannot read {path}: {reason}", type="file_error")


def open_binary(path: str | os.PathLike) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as error:
        raise file_error(path, error) from None


def refuse_replacing_input(
    option: str,
    output: str | os.PathLike,
    source: str | os.PathLike | None,
    what: str = "the input while it is read",
    hint: str = "write to another file, then rename it",
) -> None:
    """A usage error if the file ``output`` (of ``option``) is the file
    ``source`` that is read: the same file by any path, a link included.
    ``None`` or ``-`` (stdin) is never a file that could be replaced."""
    if source is None or str(source) == "-":
        return
    try:
        same = os.path.samefile(output, source)
    except OSError:  # one of them does not exist (yet): not the same file
        return
    if same:
        raise UsageError(
            f"{option} {output} would replace {what}",
            hint=hint,
            type="file_error",
        )


@overload
def atomic_output(path: Path) -> contextlib.AbstractContextManager[TextIO]: ...
@overload
def atomic_output(
    path: Path, binary: Literal[True]
) -> contextlib.AbstractContextManager[BinaryIO]: ...


@contextmanager  # type: ignore[misc]
def atomic_output(path: Path, binary: bool = False) -> Iterator[IO]:
    """A text (or ``binary``) file written beside ``path`` and renamed over
    it only when everything was written; removed if anything fails.

    A device or a pipe (``-o /dev/null``, ``/dev/stdout``, a FIFO) has no
    contents to protect and must never be replaced by a file (as root, a
    rename over /dev/null would do just that): it is written to directly.
    Through a symbolic link, the file it points to is replaced, not the link.
    """
    if path.exists() and not path.is_file():
        if path.is_dir():
            raise UsageError(f"cannot write {path}: it is a directory", type="file_error")
        try:
            sink = _open(path, binary)
        except OSError as error:
            raise UsageError(f"cannot write {path}: {error.strerror}", type="file_error") from None
        with sink:
            yield sink
        return
    target = Path(os.path.realpath(path))
    directory = target.parent
    try:
        handle, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}", type="file_error") from None
    try:
        os.chmod(temporary, _mode_for(target))
        with _open(handle, binary) as sink:
            yield sink
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _open(file: Path | int, binary: bool) -> IO:
    if binary:
        return open(file, "wb")  # noqa: SIM115 - the caller closes it
    return open(file, "w", encoding="utf-8", newline="")  # noqa: SIM115


def remove_leftovers(target: Path) -> None:
    """Remove the temporary files that :func:`atomic_output` leaves beside
    ``target`` when the process writing them is killed instead of unwound
    (a Dask worker shut down when a run is interrupted)."""
    real = Path(os.path.realpath(target))
    for leftover in real.parent.glob(f".{glob.escape(real.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _mode_for(target: Path) -> int:
    """The permissions of the file replacing ``target``: those of the file
    it replaces (a private 0600 file stays private); for a new file, those
    of any other file the user creates (mkstemp's are always 0600)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
