"""Formats judged from a file's name and from its first bytes.

A name says a format and, optionally, a compression (``points.csv.gz``);
the first bytes say what the file really is (gzip, bzip2, xz and zstd
streams, Parquet and Arrow files have magic numbers; JSON opens with ``[``
or ``{``). Where the two disagree the file is refused with a message that
names what it looks like, rather than read as garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from ..errors import UsageError

# Input and output formats, as --input-format and --format name them.
TEXT_FORMATS = ("csv", "tsv", "ndjson", "json")
BINARY_FORMATS = ("parquet", "arrow")
FORMATS = TEXT_FORMATS + BINARY_FORMATS

# A file's extension, and the format it names.
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
}

# A compression's extension, and its name.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "zstd"}
COMPRESSION_NAMES = {name: suffix[1:] for suffix, name in COMPRESSIONS.items()}

# What the first bytes of a file say it is. The Arrow streaming format
# opens with a continuation marker (0xFFFFFFFF) before its schema.
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PAR1", "parquet"),
    (b"ARROW1", "arrow"),
    (b"\xff\xff\xff\xff", "arrow"),
    (b"PK\x03\x04", "a zip archive"),
)
# The bytes as people would name them in a message.
_SPOKEN = {
    "gzip": "gzip-compressed data",
    "bzip2": "bzip2-compressed data",
    "xz": "xz-compressed data",
    "zstd": "zstd-compressed data",
    "parquet": "a Parquet file",
    "arrow": "an Arrow IPC (Feather) file",
    "csv": "CSV text",
    "tsv": "TSV text",
    "ndjson": "NDJSON text",
    "json": "JSON text",
}


@dataclass(frozen=True)
class Kind:
    """A format and its compression (None for none)."""

    format: str
    compression: str | None = None

    def __str__(self) -> str:
        suffix = COMPRESSION_NAMES.get(self.compression or "")
        return f"{self.format}.{suffix}" if suffix else self.format


def known_names() -> str:
    """The extensions cgrad knows, for messages."""
    formats = sorted(EXTENSIONS)
    compressions = "/".join(sorted(COMPRESSIONS))
    return f"{', '.join(formats)}, each optionally followed by {compressions}"


def kind_from_name(path: str | PurePath) -> Kind | None:
    """The format and compression a file's name says, or None when its
    extension names no format (``out.txt``, ``points``)."""
    suffixes = [s.lower() for s in PurePath(path).suffixes[-2:]]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression is not None:
        suffixes.pop()
    if not suffixes or suffixes[-1] not in EXTENSIONS:
        return None
    return Kind(EXTENSIONS[suffixes[-1]], compression)


def parse_kind(option: str, text: str, formats: tuple[str, ...] = FORMATS) -> Kind:
    """``csv`` or ``csv.gz``, as an option gives it."""
    name, _, suffix = text.lower().partition(".")
    compression = COMPRESSIONS.get(f".{suffix}") if suffix else None
    if name not in formats or (suffix and compression is None):
        choices = ", ".join(formats)
        raise UsageError(
            f"{option} must be one of {choices} (optionally .gz, .bz2, .xz or .zst), not {text!r}"
        )
    return Kind(name, compression)


def magic(head: bytes) -> str | None:
    """What a file's first bytes say it is: a compression or a binary
    format, or None for anything else (text, most likely)."""
    for prefix, name in _MAGIC:
        if head.startswith(prefix):
            return name
    return None


def sniff_text(head: bytes) -> str:
    """The text format of an uncompressed head: '[' opens a JSON array, '{'
    an NDJSON stream (read line by line, never as one document), otherwise
    CSV, or TSV when the header has tabs and no commas."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        return "ndjson"
    header = text.split("\n", 1)[0]
    return "tsv" if "\t" in header and "," not in header else "csv"


def spoken(name: str) -> str:
    """A format or compression as a message says it."""
    return _SPOKEN.get(name, name)


def check_compression(where: str, named: str | None, head: bytes) -> str | None:
    """The compression to undo: the one the name says, which the bytes must
    confirm. A compressed file whose name says nothing of it is refused (a
    renamed ``.gz`` read as CSV would be garbage). Without a name (stdin),
    the bytes decide."""
    found = magic(head)
    compressed = found if found in COMPRESSION_NAMES else None
    if named is None:
        if compressed is not None and where != "standard input":
            raise UsageError(
                f"{where} looks like {spoken(compressed)}, but its name does not say so",
                hint=f"name it with .{COMPRESSION_NAMES[compressed]} at the end",
                type="input_error",
            )
        return compressed
    if compressed != named:
        looks = spoken(found) if found else "uncompressed data"
        raise UsageError(
            f"{where} is not {spoken(named)}: it looks like {looks}", type="input_error"
        )
    return named


def check_format(where: str, named: str | None, head: bytes) -> str:
    """The format to read: the one named (by the extension or by
    --input-format), which binary magic must not contradict; else what the
    bytes look like. A .json file that opens with an object is NDJSON (the
    export format of Spark and BigQuery)."""
    found = magic(head)
    if found in COMPRESSION_NAMES:
        raise UsageError(
            f"{where} looks like {spoken(found)} inside its compression", type="input_error"
        )
    if named is None:
        return found if found in BINARY_FORMATS else sniff_text(head)
    if named in BINARY_FORMATS or found is not None:
        if found != named:
            looks = spoken(found) if found else "text"
            if found is None and not _looks_like_text(head):
                looks = "binary data"
            raise UsageError(
                f"{where} is not {spoken(named)}: it looks like {looks}", type="input_error"
            )
        return named
    if named == "json" and sniff_text(head) == "ndjson":
        return "ndjson"
    return named


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A character cut at the end of the head is still text.
        return error.start >= len(head) - 3
    return True
