"""The files a command names, by role: which one failed, in the message
of a failed read or write ("input/output failed on -o out.json: No space
left on device", not only "No space left on device" when a fit writes
both -o and --trace), and outputs whose failed writes name their file."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import IO

# The files of the command that runs, by their path as Path writes it: the
# role each plays ("-o", "--trace", "the input"), for a failure's message.
_roles: dict[str, str] = {}


def forget_file_roles() -> None:
    """A new command: none of its files is known yet."""
    _roles.clear()


def file_role(role: str, path: str | os.PathLike | None) -> None:
    """Say that ``path`` is the command's ``role`` (not standard input)."""
    if path is not None and str(path) not in ("", "-"):
        _roles[str(Path(path))] = role


def failed_file(error: OSError) -> str:
    """What an input or output that failed is, for its message: the file
    the error names, with its role in the command when it is one of its
    files ("-o out.json", "the input points.csv"), or "" when it names none."""
    if error.filename is None:
        return ""
    name = os.fsdecode(error.filename) if isinstance(error.filename, bytes) else str(error.filename)
    role = _roles.get(str(Path(name))) if name else None
    return f"{role} {name}" if role else name


def naming(error: OSError, path: Path) -> OSError:
    """``error`` of a write to the output ``path``, naming it (a write
    names no file; a failed rename names the temporary one)."""
    error.filename, error.filename2 = str(path), None
    return error


class _NamedOutput(io.FileIO):
    """An output file whose failed writes (a full disk) name ``path``, the
    file the user named: every write of a text or binary writer above it,
    and of pyarrow's writers, comes down to these."""

    def __init__(self, file: Path | int, path: Path) -> None:
        super().__init__(file, "w")
        self.path = path

    def write(self, data) -> int | None:  # type: ignore[override]
        try:
            return super().write(data)
        except OSError as error:
            raise naming(error, self.path) from None

    def close(self) -> None:
        try:
            super().close()
        except OSError as error:
            raise naming(error, self.path) from None


def open_output(file: Path | int, path: Path, binary: bool = False) -> IO:
    """``file`` (a path, or a descriptor it takes over) open to write, its
    failures naming ``path``, the output the user named."""
    raw = _NamedOutput(file, path)
    try:
        buffered = io.BufferedWriter(raw)
    except BaseException:
        raw.close()
        raise
    if binary:
        return buffered
    return io.TextIOWrapper(buffered, encoding="utf-8", newline="")
