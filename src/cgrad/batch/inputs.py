"""Where ``cgrad batch`` (and ``cgrad fit``) reads its records from: the
input's format and compression judged from its name and bytes, and the
reader that suits it (Arrow's for CSV/TSV/NDJSON in big enough chunks and
for Parquet and Arrow files, the record reader otherwise), and the
outcomes of that reader chunk by chunk."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from ..function import Function
from .bindings import Bindings
from .blocks import CHUNK_ROWS, evaluate_blocks
from .compression import decompressed
from .expression_block import Chunk
from .formats import (
    BINARY_FORMATS,
    COMPRESSIONS,
    Kind,
    check_compression,
    check_format,
    kind_from_name,
    parse_kind,
)
from .rows import Format, Records

if TYPE_CHECKING:
    from .arrow_files import ArrowRecords
    from .columnar import BlockReader


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
    arrow_loader: Callable[[], object] = lambda: None,
) -> Records | BlockReader | ArrowRecords:
    """The reader for the input: Arrow's for Parquet and Arrow files, and
    for CSV/TSV/NDJSON in chunks of the default size or more;
    the record reader otherwise (smaller chunks ask for prompt answers to a
    slow stream, which Arrow's blocks of a megabyte would hold back; the
    second derivatives of --hessian are worked out record by record)."""
    kind = input_kind(source, stream, given)
    plain = decompressed(stream, kind.compression)
    where = "standard input" if source in (None, "-") else f"{source}"
    form = check_format(where, kind.format or None, plain.peek(4096)[:4096])
    columnar = chunk_rows >= CHUNK_ROWS and not hessian
    if form in BINARY_FORMATS or (columnar and form in ("csv", "tsv", "ndjson")):
        arrow_loader()
    if form in BINARY_FORMATS:
        from .arrow_files import ArrowRecords

        return ArrowRecords(plain, form, chunk_rows, where)
    reader: BlockReader | None = None
    if form in ("csv", "tsv") and columnar:
        from .columnar import DelimitedColumns

        reader = DelimitedColumns(plain, Format(form))
    elif form == "ndjson" and columnar:
        from .json_columns import NdjsonColumns

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
    from .columnar import BlockReader  # loaded already if it read the input
    from .read_ahead import read_ahead

    if isinstance(records, BlockReader):  # no --hessian
        chunks = records.outcomes(function, wrt, chunk_rows, bindings)
    else:
        chunks = records.outcomes(function, wrt, chunk_rows, bindings, hessian)
    # Arrow's readers, reading a file (``ahead``): the next block made while
    # this one is written.
    return read_ahead(chunks) if ahead else chunks
