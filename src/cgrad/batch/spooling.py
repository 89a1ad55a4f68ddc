"""Copies of a stream to a temporary file, for a reader that must seek
(Parquet keeps its index at its end) or read its input more than once
(``cgrad fit``), that stop before they fill the file system they are on.

A stream can be endless (``(printf PAR1; cat /dev/zero) | cgrad batch``):
copied whole, it would fill the temporary file system, the disk or, for a
tmpfs, the memory, before any reader saw that it is no Parquet at all. So
every write of a copy first looks at the free space of the copy's file
system, and the copy stops with a clear error while :func:`reserve` is
still free. A file named by its path is read in place and never copied:
that is what the error suggests.
"""

from __future__ import annotations

import errno
import os
import tempfile
from typing import IO

from ..errors import UsageError

# The copy leaves free a tenth of its file system, the level at which disk
# monitors usually warn, but never more than this: on a big, fairly full
# disk a tenth would refuse copies that leave other programs ample room.
MAX_RESERVE = 1 << 30
RESERVE_SHARE = 10


def reserve(size: int) -> int:
    """Bytes a copy leaves free on a file system of ``size`` bytes."""
    return min(size // RESERVE_SHARE, MAX_RESERVE)


class SpoolError(UsageError):
    """A copy to a temporary file was stopped (or failed) for want of room."""

    type = "file_error"


class BoundedSink:
    """``sink`` (a temporary file) written only while the file system it is
    on keeps :func:`reserve` free; :class:`SpoolError` when a write would
    take that, or when the file system is full all the same (another
    program filled it, a quota). ``what`` says what is copied and why, and
    ``hint`` what to do instead, for the error."""

    def __init__(self, sink: IO[bytes], what: str, hint: str) -> None:
        self.sink, self.what, self.hint = sink, what, hint
        self.written = 0
        found = os.fstatvfs(sink.fileno())
        self.kept = reserve(found.f_blocks * found.f_frsize)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        found = os.fstatvfs(self.sink.fileno())
        room = found.f_bavail * found.f_frsize - self.kept
        try:
            if len(data) > room:
                # As much as there is room for (the copy comes in pieces of
                # a MiB): the count said is then all the copy could hold.
                self._write(memoryview(data)[: max(room, 0)])
                raise self._stopped()
            return self._write(data)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise self._stopped() from None
            raise

    def _write(self, data: bytes | bytearray | memoryview) -> int:
        written = self.sink.write(data)
        self.written += len(data)
        return written

    def flush(self) -> None:
        try:
            self.sink.flush()
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise self._stopped() from None
            raise

    def _stopped(self) -> SpoolError:
        # (Temporary files are made in the default directory for them.)
        return SpoolError(
            f"{self.what}; the copy was stopped after {self.written:,} bytes, before it "
            f"left less than {self.kept:,} bytes free on the file system of "
            f"{tempfile.gettempdir()}",
            hint=self.hint,
        )
