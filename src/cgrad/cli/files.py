"""Files named on the command line: opening them with clear errors; an
``@FILE`` program read with its size bounded; outputs checked before any
work against the files read, each other and standard output, so that none
replaces another, and tried, so that one that cannot be written is found;
standard input copied to a file with its lines bounded; and output written
so that a failure never leaves a half-written file."""

from __future__ import annotations

import contextlib
import errno
import glob
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Literal, TextIO, overload

from ..errors import UsageError
from .file_roles import file_role, naming, open_output

if TYPE_CHECKING:
    from ..batch.spooling import BoundedSink


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
    if _same_file(output, source):
        raise UsageError(
            f"{option} {output} would replace {what}",
            hint=hint,
            type="file_error",
        )


def named_file(option: str, name: str | None) -> Path | None:
    """The file named to ``option`` (None when it is not given), known by
    that role to :func:`failed_file`. An empty name is refused here: as a
    path it would be ``.``, and the message would be about the current
    directory."""
    if name is None:
        return None
    if not name:
        raise UsageError(f"{option} '' names no file", hint=f"give a file name: {option} FILE")
    file_role(option, name)
    return Path(name)


def refuse_clashing_files(
    reads: Iterable[tuple[str, str | os.PathLike | None]],
    writes: Iterable[tuple[str, str | os.PathLike | None]],
    stdout: str | None = None,
) -> None:
    """Before any work, a usage error if a file a command writes (each
    ``(option, path)`` of ``writes``) is a file it reads (each ``(what,
    path)`` of ``reads``, ``what`` as in "would replace the data"), or if
    two options write the same file: by any path, links included. None,
    ``-`` (a standard stream) and devices are no files to protect. When
    standard output has the command's own output (``stdout``, as in "the
    summary"), a file that is standard output (``/dev/stdout``, or the
    file it is redirected to) is refused too: the two would run into each
    other there."""
    written = [(option, path) for option, path in writes if path is not None and str(path) != "-"]
    for option, path in written:
        if stdout is not None and _is_stdout(path):
            raise UsageError(
                f"{option} {path} is standard output, which has {stdout}",
                hint=f"give {option} a file of its own",
                type="file_error",
            )
    for option, path in written:
        for what, source in reads:
            refuse_replacing_input(option, path, source, what, "write to another file")
    for at, (option, path) in enumerate(written):
        for first, other in written[:at]:
            if _same_file(path, other) or _same_new_file(path, other):
                raise UsageError(
                    f"{first} {other} and {option} {path} are the same file: "
                    "one would replace the other",
                    hint="give each its own file",
                    type="file_error",
                )


def refuse_unwritable(writes: Iterable[tuple[str, str | os.PathLike | None]]) -> None:
    """Before any work, the error :func:`atomic_output` would give only
    once the work is done, for an output (each ``(option, path)``) whose
    folder takes no new file (read-only, missing, not ours): the temporary
    file it writes first is made there and removed at once. A device or a
    pipe that exists is written to directly and is not tried (opening a
    FIFO waits for its reader); nor is a directory (refused by name)."""
    for _option, path in writes:
        if path is None or str(path) == "-" or (os.path.exists(path) and not os.path.isfile(path)):
            continue
        target = Path(os.path.realpath(path))
        try:
            handle, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
            )
        except OSError as error:
            raise _no_file_beside(path, target, error) from None
        os.close(handle)
        os.unlink(temporary)


def _no_file_beside(path: str | os.PathLike, target: Path, error: OSError) -> UsageError:
    """The error of an output whose temporary file (made beside it, and
    renamed over it; a trace's folder is tried the same way) cannot be
    made: in words about the folder, when it exists (/proc's "No such file
    or directory" is not about the file)."""
    if error.errno != errno.ENOENT or not target.parent.is_dir():
        # (a missing folder, a read-only file system: true of the file as said)
        return UsageError(f"cannot write {path}: {error.strerror}", type="file_error")
    return UsageError(
        f"cannot write {path}: no file can be made in {target.parent} ({error.strerror})",
        type="file_error",
    )


# A program file larger than this is refused rather than read: /dev/zero
# must not exhaust memory, and a real program of this size would take
# minutes to parse.
MAX_PROGRAM_BYTES = 64 * 1024 * 1024


def read_program(expression: str | None, command: str = "eval") -> tuple[str, str | None]:
    """The program text and, for ``@FILE``, the file name it came from."""
    if expression is None:
        example = '"(x-3)^2 + y^2" x=0 y=1' if command == "minimize" else '"(x+y)*z" x=1 y=2 z=3'
        raise UsageError("no expression given", hint=f"for example: cgrad {command} {example}")
    if not expression.startswith("@"):
        return expression, None
    from .environment import environment, open_stdin  # (for standard input)

    path = expression[1:]
    if not path:
        raise UsageError("'@' needs a file name: @FILE, or @- for standard input")
    file_role("the program", path)
    if path == "-":
        open_stdin()
        if environment().stdin_is_terminal:
            # Waiting in silence for a program typed at the terminal looks like a hang.
            raise UsageError(
                "@- reads the program from standard input, which is a terminal",
                hint=f"pipe it in, as in: echo 'x*y' | cgrad {command} @- x=1 y=2",
            )
        data = sys.stdin.buffer.read(MAX_PROGRAM_BYTES + 1)
        origin = "<stdin>"
    else:
        with open_binary(path) as file:
            try:
                data = file.read(MAX_PROGRAM_BYTES + 1)
            except OSError as error:
                raise file_error(path, error) from None
        origin = path
    if path == "-":
        path = "standard input"
    if len(data) > MAX_PROGRAM_BYTES:
        raise UsageError(
            f"cannot read {path}: it is larger than {MAX_PROGRAM_BYTES // 2**20} MiB",
            type="file_error",
        )
    try:
        # utf-8-sig: a byte-order mark is not part of the program.
        return data.decode("utf-8-sig"), origin
    except UnicodeDecodeError as error:
        raise UsageError(
            f"cannot read {path}: it is not UTF-8 text (byte {error.start})", type="file_error"
        ) from None


def program_file(expression: str | None) -> str | None:
    """The file of an ``@FILE`` program, which an output must not replace."""
    if expression is None or not expression.startswith("@") or expression == "@-":
        return None
    return expression[1:]


def _same_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether both name one regular file that exists. A device or a pipe
    (``/dev/null``) is written to directly, never replaced (see
    :func:`atomic_output`), so two names for it clash with nothing."""
    try:
        return os.path.samefile(first, second) and stat.S_ISREG(os.stat(first).st_mode)
    except OSError:  # one of them does not exist (yet): not the same file
        return False


def _is_stdout(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the file, pipe or terminal standard output
    writes to (descriptor 1), but not the null device, where nothing meets."""
    try:
        found, out = os.stat(path), os.fstat(1)
    except OSError:  # one of them does not exist
        return False
    if (found.st_dev, found.st_ino) != (out.st_dev, out.st_ino):
        return False
    try:
        return not os.path.samefile(path, os.devnull)
    except OSError:
        return True


def _same_new_file(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two outputs not written yet would be one file."""
    return not os.path.exists(first) and os.path.realpath(first) == os.path.realpath(second)


def copy_bounded(head: bytes, source: BinaryIO, sink: IO[bytes]) -> None:
    """Copy ``head`` and then ``source`` to ``sink`` (standard input to a
    file that is read more than once), but stop once a line of the text,
    decompressed if it is compressed, runs past what batch's readers read of
    one (:data:`MAX_SKIP`, and a piece more): reading the copy then ends
    with their error for an unending line, as reading /dev/zero does,
    instead of the copy filling the disk. The bytes of a Parquet or Arrow
    file are no lines: they are copied whole, as batch copies them. Any
    copy stops with an error before it would fill its file system (see
    :mod:`cgrad.batch.spooling`): an endless stream is no data to fit."""
    from ..batch.spooling import BoundedSink

    bounded = BoundedSink(
        sink,
        "standard input is copied to a temporary file, to be read more than once",
        hint="pass the data file by its path: it is read in place, without a copy",
    )
    _copy(head, source, bounded)
    bounded.flush()


def _copy(head: bytes, source: BinaryIO, sink: BoundedSink) -> None:
    from ..batch.compression import decompressed
    from ..batch.formats import COMPRESSION_NAMES, magic
    from ..batch.spooling import SpoolError

    sink.write(head)
    found = magic(head)
    if found is None:
        _copy_lines(source, sink)
        return
    if found in COMPRESSION_NAMES:
        # The compressed bytes go to the copy as the decompressor takes
        # them; the text they hold is only looked at.
        text = decompressed(io.BufferedReader(_Copied(head, source, sink)), found)
        try:
            if magic(text.peek(16)[:16]) is None:
                _copy_lines(text, None)
                return
        except SpoolError:
            raise
        except UsageError:
            return  # corrupt or cut short: reading the copy says so
    shutil.copyfileobj(source, sink, 1 << 20)


def _copy_lines(text: BinaryIO, sink: BoundedSink | None) -> None:
    """Read ``text`` (into ``sink``, if any) until it ends or a line in it
    runs past the readers' limit."""
    from ..batch.delimited import MAX_LINE, MAX_SKIP

    limit = MAX_SKIP + 2 * MAX_LINE
    run = 0  # bytes since the last line break
    while piece := text.read(1 << 20):
        if sink is not None:
            sink.write(piece)
        end = piece.rfind(b"\n")
        run = len(piece) - end - 1 if end >= 0 else run + len(piece)
        if run > limit:
            return


class _Copied(io.RawIOBase):
    """``head``, then ``source``, each byte read from ``source`` written to
    ``sink`` too (if any) as it is read."""

    def __init__(self, head: bytes, source: BinaryIO, sink: BoundedSink | None) -> None:
        self.head, self.source, self.sink = head, source, sink

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            data, self.head = self.head[: len(buffer)], self.head[len(buffer) :]
        else:
            data = self.source.read(len(buffer))
            if self.sink is not None:
                self.sink.write(data)
        buffer[: len(data)] = data
        return len(data)


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
            sink = open_output(path, path, binary)
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
        raise _no_file_beside(path, target, error) from None
    try:
        os.chmod(temporary, _mode_for(target))
        with open_output(handle, path, binary) as sink:
            yield sink
        try:
            os.replace(temporary, target)
        except OSError as error:
            raise naming(error, path) from None
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


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
