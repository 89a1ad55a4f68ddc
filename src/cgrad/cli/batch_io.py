"""The input and output of ``cgrad batch``: the reader of
:mod:`cgrad.batch.inputs` with pyarrow loaded for the command line, and
the format and compression of the output judged from its name, and the
writer and sink that suit it."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, cast

from ..batch.compression import compressing
from ..batch.expression_block import Chunk
from ..batch.formats import (
    BINARY_FORMATS,
    COMPRESSIONS,
    FORMATS,
    Kind,
    kind_from_name,
    known_names,
    parse_kind,
)
from ..batch.rows import Records
from ..batch.writers import WRITERS, Layout, OutputFormat
from ..errors import UsageError
from .arrow_loading import load_arrow_without_pandas
from .environment import environment
from .files import atomic_output
from .output import GuardedStdout

if TYPE_CHECKING:
    from ..batch.arrow_files import ArrowRecords
    from ..batch.columnar import BlockReader


class Writer(Protocol):
    """What every writer of :data:`cgrad.batch.writers.WRITERS` does."""

    def write(self, outcomes: Chunk) -> None: ...

    def close(self) -> None: ...


def output_kind(given: str | None, output: Path | None) -> Kind:
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


def open_writer(
    chosen: Kind, sink: IO, layout: Layout, records: Records | BlockReader | ArrowRecords
) -> Writer:
    form = OutputFormat(chosen.format)
    types = getattr(records, "types", None)
    if form.value in BINARY_FORMATS:
        load_arrow_without_pandas()
        from ..batch.arrow_writers import ARROW_WRITERS

        writer = ARROW_WRITERS[form](cast(BinaryIO, sink), replace(layout, types=types))
        return cast(Writer, writer)
    return cast(Writer, WRITERS[form](sink, layout))


@contextmanager
def open_output(path: Path | None, kind: Kind) -> Iterator[IO]:
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
        # A closed stdout has no buffer: its writes fail as they should.
        buffer = getattr(sys.stdout, "buffer", sys.stdout)
        if not isinstance(buffer, GuardedStdout):  # (the command line's is guarded already)
            buffer = GuardedStdout(buffer)
        yield from _encoded(cast(BinaryIO, buffer), kind, live=True)
        return
    with atomic_output(path, binary=True) as raw:
        yield from _encoded(raw, kind, live=False)


def _encoded(raw: BinaryIO, kind: Kind, live: bool) -> Iterator[IO]:
    """``raw``, compressed as ``kind`` says, as text for a text format;
    ``live``: flushed chunk by chunk, for a pipe's reader."""
    stream = compressing(raw, kind.compression, live)
    sink: IO = stream
    if kind.format not in BINARY_FORMATS:
        sink = io.TextIOWrapper(cast(IO[bytes], stream), encoding="utf-8", newline="")
    try:
        yield sink
    except BaseException:
        # The output is thrown away: end the compressor without a word
        # (raw is its owner's to close).
        if sink is not raw:
            with suppress(Exception):
                sink.close()
        raise
    if sink is not raw:
        sink.close()  # the end of the compressed stream, written now
    raw.flush()
