"""CSV and TSV read by Apache Arrow's C++ reader, block by block.

The file is cut into blocks of whole lines; Arrow parses a block into
columns (the inputs as float64, the rest as text) and the columns go
through the expression at once. Arrow is strict where it could disagree
with the record reader, and any block it refuses is read again by the
record reader (:mod:`cgrad.batch.rows`), which gives each bad row its
number, its line and its error exactly as before. A block with warnings
stays here: each flagged row gets its own, worded from the one evaluation
(:func:`cgrad.batch.per_row.row_warnings`). A block with a quote or a
lone carriage return (where a line break may sit inside a field) hands
the rest of the file to the record reader, which knows quoting; a NaN
among the inputs sends its block there too, since Arrow reads a few
spellings of NaN that Python's float() refuses.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator, Sequence
from typing import BinaryIO, Protocol

import numpy as np

from ..errors import CgradError
from ..function import Function
from .arrow_csv import ArrowCsv
from .bindings import Bindings
from .blocks import ColumnBlock, CompiledCache, evaluate_blocks, with_warnings
from .delimited import MAX_LINE
from .expression_block import Chunk, ExpressionBlock
from .rows import EXPRESSION_FIELD, ID_FIELD, Format, Records

# Bytes read per block for each record a chunk is asked to hold.
BYTES_PER_ROW = 48
# The smallest and largest block, in bytes: Arrow's cost per call is
# spread over many rows (a slow stream wanting an answer per record asks
# for small chunks, which the record reader serves instead).
MIN_BLOCK = 1 << 20
MAX_BLOCK = 16 << 20
# How many times bigger the smallest block is for records that carry
# their own expressions.
EXPRESSION_BLOCKS = 5
# Lines a block holds at most (or --chunk-rows, if more): a block's memory
# goes with its records (a warning per flagged record, a group's arrays),
# and short lines pack hundreds of thousands into a few megabytes.
BLOCK_ROWS = 1 << 16
# The first block's bytes, at most: its lines tell how long lines are.
FIRST_BLOCK = 1 << 16


class _Chained(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, first: bytes, rest: BinaryIO | None) -> None:
        self.first = memoryview(first)
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.first:
            count = min(len(buffer), len(self.first))
            buffer[:count] = self.first[:count]
            self.first = self.first[count:]
            return count
        if self.rest is None:
            return 0
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _chained(first: bytes, rest: BinaryIO | None = None) -> io.BufferedReader:
    return io.BufferedReader(_Chained(first, rest))


class BlockReader:
    """Records of a text stream read in blocks of whole lines, each block
    parsed by Arrow (see :meth:`parser`) or, when Arrow cannot vouch for
    it, by the record reader, which gives each bad row its number, line
    and error. Subclasses say how a block is parsed and which blocks Arrow
    may see at all."""

    stream: io.BufferedReader
    format: Format
    # The columns a CSV header names (None for JSON records).
    header: list[str] | None = None
    # Blank lines before the records, and the bytes the record reader must
    # read again in front of a block (a CSV header).
    blank = 0
    prefix = b""
    fallback: Records | None = None
    # Set for input that is not a file on disk (a pipe): each block is what
    # one read gives, rather than a full block.
    prompt = False
    # An error met while reading a block, raised once its lines are used.
    pending: CgradError | None = None

    def parser(
        self, function: Function | None, bindings: Bindings, compiled: CompiledCache
    ) -> BlockParser:
        """Arrow's reader for this stream's blocks, for ``function`` or
        (None) for records that carry their own expressions."""
        raise NotImplementedError

    def streamable(self, block: bytes) -> bool:
        """Whether the rest of the stream may still go block by block
        (else the record reader reads all of it)."""
        return not _long_line(block)

    def outcomes(
        self,
        function: Function | None,
        wrt: Sequence[str] | None,
        chunk_rows: int,
        bindings: Bindings | None = None,
    ) -> Iterator[Chunk]:
        """Outcomes chunk by chunk, in input order, as
        :func:`~cgrad.batch.blocks.evaluate_blocks` gives them (and, for
        records with their own expressions, as expression blocks)."""
        bindings = bindings or Bindings()
        compiled = CompiledCache()

        def by_records(records: Records) -> Iterator[Chunk]:
            return evaluate_blocks(records, function, wrt, chunk_rows, bindings, False, compiled)

        if self.fallback is None and (
            (function and ID_FIELD in bindings.sources(function.inputs))
            or (function is None and self.header is not None and not _expressions(self.header))
        ):
            # An input read from the id field: Arrow would read a CSV's ids
            # as numbers, and drop an NDJSON record's id from the output,
            # where the record reader keeps both. A CSV's ids beside records'
            # own expressions, or no expressions at all: the record reader says.
            self.fallback = Records(_chained(self.prefix, self.stream), self.format, 0, self.blank)
        if self.fallback is not None:
            yield from by_records(self.fallback)
            return
        # Records with their own expressions gain from bigger blocks: more
        # records of each expression go through one evaluation.
        least = MIN_BLOCK if function is not None else MIN_BLOCK * EXPRESSION_BLOCKS
        largest = min(max(chunk_rows * BYTES_PER_ROW, least), MAX_BLOCK)
        most_rows = max(BLOCK_ROWS, chunk_rows)
        size = min(largest, FIRST_BLOCK)
        # The lines before this block, but the header's (the record reader
        # counts that one itself: it reads it again), and the records.
        lines, rows = self.blank, 0
        parser = self.parser(function, bindings, compiled)
        while block := self._block(size):
            block_lines = _line_count(block)
            size = _next_size(len(block), block_lines, largest, most_rows)
            if not self.streamable(block):
                rest = _chained(self.prefix + block, self.stream)
                yield from by_records(Records(rest, self.format, rows, lines))
                return
            columns = parser.block(block, rows, wrt)
            if columns is None:
                again = Records(_chained(self.prefix + block), self.format, rows, lines)
                for chunk in by_records(again):
                    rows += _count(chunk)
                    yield chunk
            else:
                rows += _count(columns)
                yield columns
            lines += block_lines

    def _block(self, size: int) -> bytes:
        """Whole lines, about ``size`` bytes of them (with :attr:`prompt`,
        what one read gives, so that a slow pipe is answered as it comes).
        A compressed input cut short gives the whole lines before the cut;
        the error comes with the next block."""
        if self.pending is not None:
            error, self.pending = self.pending, None
            raise error
        parts: list[bytes] = []
        try:
            while (got := sum(map(len, parts))) < size:
                data = self.stream.read1(size - got)
                if not data:
                    break
                parts.append(data)
                if self.prompt:
                    break
            block = b"".join(parts)
            if block and not block.endswith(b"\n"):
                block += self.stream.readline(MAX_LINE + 1)
        except CgradError as error:
            block = b"".join(parts)
            block = block[: block.rfind(b"\n") + 1]
            if not block:
                raise
            self.pending = error
        return block


def _next_size(size: int, lines: int, largest: int, rows: int) -> int:
    """The bytes of about ``rows`` lines as long as those of a block of
    ``size`` bytes and ``lines`` lines, at most ``largest``."""
    return max(1, min(largest, size * rows // max(1, lines)))


def _line_count(block: bytes) -> int:
    # (numpy counts a byte several times faster than bytes.count)
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n")))


def _count(chunk: Chunk) -> int:
    return chunk.count if isinstance(chunk, ColumnBlock | ExpressionBlock) else len(chunk)


class BlockParser(Protocol):
    """Arrow's reader for one kind of block, set up for one expression."""

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> Chunk | None:
        """The block's outcomes, or None when the record reader must say
        something about one of its rows."""
        ...


class DelimitedColumns(BlockReader):
    """The CSV/TSV records of ``stream`` (binary, buffered) for one
    expression: ``header`` names the columns, :meth:`outcomes` evaluates."""

    def __init__(self, stream: io.BufferedReader, format: Format) -> None:
        self.stream = stream
        self.format = format
        # The blank lines before the header are counted, not kept (an
        # endless stream of them must not fill memory); the header line is
        # kept, to put in front of a block the record reader reads again.
        line = stream.readline(MAX_LINE + 1)
        while line and not _content(line, self.blank == 0):
            self.blank += 1
            line = stream.readline(MAX_LINE + 1)
        self.prefix = line
        # The record reader from the header on, when the header has a quote.
        if not _plain(line) or len(line) > MAX_LINE:
            self.fallback = Records(_chained(line, stream), format, 0, self.blank)
            self.header = self.fallback.header
            return
        self.header = Records(_chained(line), format).header

    def parser(
        self, function: Function | None, bindings: Bindings, compiled: CompiledCache
    ) -> BlockParser:
        if function is None:
            from .delimited_expressions import DelimitedExpressionParser

            return DelimitedExpressionParser(self.header or [], self.format, bindings, compiled)
        return _Parser(self.header or [], function, self.format, bindings)

    def streamable(self, block: bytes) -> bool:
        return _plain(block) and not _long_line(block)


def _expressions(header: list[str]) -> bool:
    """Whether Arrow may read a CSV header's records with their own
    expressions: an expression column, and no ids (Arrow's expression
    blocks carry none)."""
    return EXPRESSION_FIELD in header and ID_FIELD not in header


def _content(line: bytes, first: bool) -> bytes:
    """What a line holds besides its line break (and a byte-order mark
    opening the input): nothing for a blank line, which is no record."""
    if first:
        line = line.removeprefix(codecs.BOM_UTF8)
    return line.strip(b"\r\n")


def _long_line(block: bytes) -> bool:
    """A line the record reader would refuse as too long (Arrow would read
    it, and a row of it that warns would keep the block here)."""
    if len(block) <= MAX_LINE:
        return False
    return any(len(line) >= MAX_LINE for line in block.split(b"\n"))


def _plain(block: bytes) -> bool:
    """No quote and no lone carriage return: every line break ends a row."""
    if b'"' in block:
        return False
    return b"\r" not in block or block.count(b"\r") == block.count(b"\r\n")


class _Parser:
    """Arrow's CSV reader, set up once for one header and expression."""

    def __init__(
        self, header: list[str], function: Function, format: Format, bindings: Bindings
    ) -> None:
        import pyarrow as pa

        self.function = function
        self.header = header
        self.bindings = bindings
        sources = bindings.sources(function.inputs)
        types = {name: pa.float64() if name in sources else pa.string() for name in header}
        self.reader = ArrowCsv(header, format, types)

    def block(self, block: bytes, rows: int, wrt: Sequence[str] | None) -> Chunk | None:
        """The block's outcomes as columns (each flagged row's warnings in
        it), or None when the record reader must say something about one of
        its rows."""
        table = self.reader.table(block)
        if table is None:
            return None
        function, bindings, count = self.function, self.bindings, table.num_rows
        read = [name for name in function.inputs if bindings.source(name) in self.header]
        inputs = {name: table.column(bindings.source(name)).to_numpy() for name in read}
        if any(np.isnan(column).any() for column in inputs.values()):
            return None
        # Inputs without a column have a fixed value (Bindings.check_header).
        inputs = {
            name: inputs[name] if name in inputs else np.full(count, bindings.fixed[name])
            for name in function.inputs
        }
        result = function.evaluate(inputs, wrt=wrt)
        skip = {*bindings.sources(function.inputs), ID_FIELD}
        columns = ColumnBlock(
            first_row=rows + 1,
            count=count,
            ids=table.column(ID_FIELD).to_pylist() if ID_FIELD in self.header else None,
            inputs=inputs,
            value=np.broadcast_to(result.value, (count,)),
            gradient={n: np.broadcast_to(g, (count,)) for n, g in result.gradient.items()},
            carried={
                name: table.column(name).to_pylist() for name in self.header if name not in skip
            },
        )
        return with_warnings(columns, result.warnings)
