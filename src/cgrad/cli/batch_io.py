"""The input and output of ``cgrad batch``: the format and compression of
each judged from names and bytes, the reader that suits the input (Arrow's
for CSV/TSV with one expression and for Parquet and Arrow files, the record
reader otherwise), and the writer and sink that suit the output."""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, cast

from ..batch.bindings import Bindings
from ..batch.blocks import CHUNK_ROWS, evaluate_blocks
from ..batch.compression import compressing, decompressed
from ..batch.expression_block import Chunk
from ..batch.formats import (
    BINARY_FORMATS,
    COMPRESSIONS,
    FORMATS,
    Kind,
    check_compression,
    check_format,
    kind_from_name,
    known_names,
    parse_kind,
)
from ..batch.rows import Format, Records
from ..batch.writers import WRITERS, Layout, OutputFormat
from ..errors import UsageError
from ..function import Function
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


def input_kind(source: str | None, stream: BinaryIO, given: str | None) -> Kind:
    """The input's format and compression: from --input-format, else the
    name, else the bytes; the bytes must not contradict the name. The
    format may still be "" here: it is judged once decompressed."""
    named = parse_kind("--input-format", given) if given is not None else None
    path = None if source in (None, "-") else source
    by_name = kind_from_name(path) if path is not None else None
    compression = named.compression if named is not None else None
    if compression is None and path is not None:
        compression = COMPRESSIONS.get(Path(path).suffix.lower())
    where = path or "standard input"
    # _input made it a buffered reader, which has peek().
    head = cast(io.BufferedReader, stream).peek(16)[:16]
    compression = check_compression(where, compression, head)
    form = named.format if named is not None else by_name.format if by_name else ""
    return Kind(form, compression)


def regular_file(stream: BinaryIO) -> bool:
    """Whether ``stream`` reads a file on disk. Only such input is read
    ahead in a thread (a thread blocked on a pipe that has nothing more to
    say would hold the pipe's lock when a signal ends the command, and the
    interpreter, unable to close it, aborts), and read in full blocks (a
    pipe is answered as its records come)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def open_records(
    source: str | None,
    stream: BinaryIO,
    given: str | None,
    function: Function | None,
    chunk_rows: int,
    hessian: bool = False,
) -> Records | BlockReader | ArrowRecords:
    """The reader for the input: Arrow's for Parquet and Arrow files, and
    for CSV/TSV/NDJSON with one expression in chunks of the default size or more;
    the record reader otherwise (smaller chunks ask for prompt answers to a
    slow stream, which Arrow's blocks of a megabyte would hold back; the
    second derivatives of --hessian are worked out record by record)."""
    kind = input_kind(source, stream, given)
    plain = decompressed(stream, kind.compression)
    where = "standard input" if source in (None, "-") else f"{source}"
    form = check_format(where, kind.format or None, plain.peek(4096)[:4096])
    columnar = chunk_rows >= CHUNK_ROWS and not hessian
    if form in BINARY_FORMATS or (columnar and form in ("csv", "tsv", "ndjson")):
        load_arrow_without_pandas()
    if form in BINARY_FORMATS:
        from ..batch.arrow_files import ArrowRecords

        return ArrowRecords(plain, form, chunk_rows)
    reader: BlockReader | None = None
    if form in ("csv", "tsv") and columnar and function is not None:
        from ..batch.columnar import DelimitedColumns

        reader = DelimitedColumns(plain, Format(form))
    elif form == "ndjson" and columnar:
        from ..batch.json_columns import NdjsonColumns

        reader = NdjsonColumns(plain)
    if reader is None:
        return Records(plain, Format(form))
    reader.prompt = not regular_file(stream)
    return reader


def evaluated(
    records: Records | BlockReader | ArrowRecords,
    function: Function | None,
    wrt: list[str] | None,
    chunk_rows: int,
    bindings: Bindings | None = None,
    hessian: bool = False,
    ahead: bool = False,
) -> Iterable[Chunk]:
    """The outcomes of the records, chunk by chunk, by the reader's own
    engine (see :func:`~cgrad.batch.blocks.evaluate_blocks` for the rest)."""
    bindings = bindings or Bindings()
    if isinstance(records, Records):
        return evaluate_blocks(records, function, wrt, chunk_rows, bindings, hessian)
    from ..batch.columnar import BlockReader  # loaded already if it read the input
    from ..batch.read_ahead import read_ahead

    if isinstance(records, BlockReader):  # no --hessian
        chunks = records.outcomes(function, wrt, chunk_rows, bindings)
    else:
        chunks = records.outcomes(function, wrt, chunk_rows, bindings, hessian)
    # Arrow's readers, reading a file (``ahead``): the next block made while
    # this one is written.
    return read_ahead(chunks) if ahead else chunks


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
        yield from _encoded(cast(BinaryIO, GuardedStdout(buffer)), kind)
        return
    with atomic_output(path, binary=True) as raw:
        yield from _encoded(raw, kind)


def _encoded(raw: BinaryIO, kind: Kind) -> Iterator[IO]:
    """``raw``, compressed as ``kind`` says, as text for a text format."""
    stream = compressing(raw, kind.compression)
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
