"""Compressed streams: gzip, bzip2 and xz by Python's own modules, zstd by
pyarrow's codec (Python 3.11 has none, and pyarrow is a dependency
anyway), each read and written as a stream, so memory stays bounded."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO, cast

from ..errors import UsageError


class _Raw(io.RawIOBase):
    """A raw stream over any readable binary file object, so that
    io.BufferedReader can give it peek()."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def buffered(stream: BinaryIO) -> io.BufferedReader:
    """``stream`` with peek() (a test runner's stdin may be a plain BytesIO)."""
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(_Raw(stream))


class _Failing(io.RawIOBase):
    """A decompressor whose errors (a truncated or corrupt stream) become
    one clear input error instead of a traceback."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self.stream.read(len(buffer))
        except (OSError, EOFError, lzma.LZMAError, ValueError) as error:
            raise UsageError(
                f"the {self.name} stream is corrupt or cut short ({error})", type="input_error"
            ) from None
        buffer[: len(data)] = data
        return len(data)


def decompressed(stream: BinaryIO, compression: str | None) -> io.BufferedReader:
    """What ``stream`` holds, decompressed as it is read."""
    if compression is None:
        return buffered(stream)
    inner: BinaryIO
    if compression == "gzip":
        inner = cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))
    elif compression == "bzip2":
        inner = cast(BinaryIO, bz2.BZ2File(stream, "rb"))
    elif compression == "xz":
        inner = cast(BinaryIO, lzma.LZMAFile(stream, "rb"))
    else:
        import pyarrow as pa

        inner = cast(BinaryIO, pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), "zstd"))
    return io.BufferedReader(_Failing(inner, compression), buffer_size=1 << 20)


def compressing(sink: BinaryIO, compression: str | None, live: bool = True) -> BinaryIO:
    """A stream that writes compressed into ``sink``; closing it ends the
    compressed stream but leaves ``sink`` open (its owner closes it). Not
    ``live`` (a file rather than a pipe), it compresses everything before
    it writes what it holds: a flush after each chunk would make the bytes
    depend on the chunk size (and compress worse)."""
    if compression is None:
        return sink
    stream = _compressor(sink, compression)
    return stream if live else cast(BinaryIO, _FlushedAtClose(stream))


def _compressor(sink: BinaryIO, compression: str) -> BinaryIO:
    if compression == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=sink, mode="wb", mtime=0))
    if compression == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(sink, "wb"))
    if compression == "xz":
        return cast(BinaryIO, lzma.LZMAFile(sink, "wb"))
    import pyarrow as pa

    # pyarrow closes the file it writes into: a wrapper that does not.
    return cast(BinaryIO, pa.CompressedOutputStream(pa.PythonFile(_Unclosed(sink)), "zstd"))


class _FlushedAtClose(io.BufferedIOBase):
    """``stream`` with its flushes left to its close."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.stream.write(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
        super().close()


class _Unclosed(io.RawIOBase):
    """``sink`` with close() a flush: its owner closes it."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.sink.write(data)

    def close(self) -> None:
        self.sink.flush()
        super().close()
