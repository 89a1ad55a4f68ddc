"""Errors that users see, and the one place their messages are made.

Every error cgrad raises for bad input is a :class:`CgradError`. It carries a
stable ``type`` (used as the ``"type"`` of the JSON error object), a message,
an optional hint and, when the problem has a place in the source, a
:class:`Span`. :meth:`CgradError.render` draws the source line with a caret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of source text: offsets into the text, 1-based line/column."""

    start: int
    end: int
    line: int
    column: int

    def cover(self, other: Span) -> Span:
        """The span from the start of ``self`` to the end of ``other``."""
        return Span(self.start, other.end, self.line, self.column)


class CgradError(Exception):
    """Base of every error cgrad reports for bad input."""

    type = "error"

    def __init__(
        self,
        message: str,
        *,
        span: Span | None = None,
        hint: str | None = None,
        source: str | None = None,
        origin: str | None = None,
        type: str | None = None,
    ) -> None:
        self.message = message  # (bounded by the setter below)
        super().__init__(self.message)
        self.span = span
        self.hint = hint
        self.source = source
        # Where the source came from (a file name for @FILE programs).
        self.origin = origin
        if type is not None:
            self.type = type

    # The message and hint are bounded however they are set (a caller may
    # add to a message: the part of a directory it came from).
    @property
    def message(self) -> str:
        return self._message

    @message.setter
    def message(self, text: str) -> None:
        self._message = bounded(text)

    @property
    def hint(self) -> str | None:
        return self._hint

    @hint.setter
    def hint(self, text: str | None) -> None:
        self._hint = None if text is None else bounded(text)

    def __str__(self) -> str:
        return self.render()

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.column if self.span else None

    def summary(self, with_place: bool = False) -> str:
        """The message and hint on one line, as JSON and logs want it; with
        the line and column when asked (where no separate fields hold them)."""
        place = f" at line {self.line}, column {self.column}" if with_place and self.span else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.message}{place}{hint}"

    def render(self) -> str:
        """The message, the source line with a caret under the spot, the hint."""
        where = ""
        if self.span is not None:
            where = f" at line {self.span.line}, column {self.span.column}"
            if self.origin:
                where = f" at {self.origin}:{self.span.line}:{self.span.column}"
        lines = [f"{self.message}{where}"]
        if self.span is not None and self.source is not None:
            lines.extend(_caret_lines(self.source, self.span))
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


def _caret_lines(source: str, span: Span) -> list[str]:
    source_lines = source.split("\n")
    if not 1 <= span.line <= len(source_lines):
        return []
    text = source_lines[span.line - 1].rstrip("\r").replace("\ufeff", "")
    if len(text) > 200:
        # Keep a window around the spot so that a huge one-line program does
        # not flood the terminal.
        left = max(span.column - 1 - 80, 0)
        text_window = text[left : left + 160]
        prefix = "…" if left > 0 else ""
        suffix = "…" if left + 160 < len(text) else ""
        caret_at = span.column - 1 - left + len(prefix)
        text = prefix + text_window + suffix
    else:
        caret_at = span.column - 1
    # Control characters would move the terminal's cursor: show them as '?'.
    text = "".join(ch if ch.isprintable() or ch == "\t" else "?" for ch in text)
    width = max(1, min(span.end - span.start, len(text) - caret_at))
    # Tabs stay tabs under the line so that the caret lines up in a terminal.
    pad = "".join("\t" if ch == "\t" else " " for ch in text[:caret_at])
    return [f"  {text}", f"  {pad}{'^' * width}"]


# What a message quotes of one piece of user text (a name, a number, a
# value, a file name, a snippet): up to QUOTED characters as it is; a
# longer piece by its first QUOTED_HEAD and last QUOTED_TAIL characters
# and its length, so that a name of 4 MB makes a message of a line, not
# one of 4 MB on stderr, in the JSON error object and in every error row
# of a batch. A message whose pieces are all short but many (a value with
# spaces in it) is cut in the middle to MESSAGE characters.
QUOTED = 200
QUOTED_HEAD = 120
QUOTED_TAIL = 40
MESSAGE = 2000
# A piece: a run of characters other than white space, found only from
# its start (the look-behind), so that the search is linear in the text.
_LONG_PIECE = re.compile(rf"(?<!\S)\S{{{QUOTED + 1},}}")
# Quotes and brackets around a piece, and the punctuation after it, stay
# outside what is shortened: 'aaa…aaa' (4,000,000 characters), x.
_OPENING = "'\"([{`"
_CLOSING = "'\")]}`"
_AFTER = ".,;:!?"


def bounded(text: str) -> str:
    """``text`` (a message or a hint) with each piece of user text in it
    longer than :data:`QUOTED` shortened to its ends and its length, and
    the whole cut to :data:`MESSAGE` characters (see :data:`QUOTED`). The
    one place messages are bounded: :class:`CgradError` bounds its message
    and hint with it, and batch its error rows."""
    if len(text) <= QUOTED:
        return text
    text = _LONG_PIECE.sub(_shortened, text)
    if len(text) > MESSAGE:
        head, tail = MESSAGE * 2 // 3, MESSAGE // 4
        left_out = len(text) - head - tail
        text = f"{text[:head]} … ({left_out:,} characters left out) … {text[-tail:]}"
    return text


def _shortened(piece: re.Match[str]) -> str:
    text = piece[0]
    start = _run(text, _OPENING, 0, 1)
    after = _run(text, _AFTER, len(text) - 1, -1)
    closing = _run(text[: len(text) - after], _CLOSING, len(text) - after - 1, -1)
    end = len(text) - after - closing
    core = text[start:end]
    return (
        f"{text[:start]}{core[:QUOTED_HEAD]}…{core[-QUOTED_TAIL:]}{text[end : end + closing]}"
        f" ({len(core):,} characters){text[len(text) - after :]}"
    )


def _run(text: str, characters: str, at: int, step: int) -> int:
    """How many of ``characters`` (three at most) run from ``at`` on in
    direction ``step``."""
    count = 0
    while count < 3 and 0 <= at < len(text) and text[at] in characters:
        count += 1
        at += step
    return count


# Names listed in a message before the rest are counted instead: a program
# with 3,000 inputs must not make a message of 20,000 characters.
NAMES_SHOWN = 10


def join_names(names: Iterable[str], conjunction: str = "and") -> str:
    """``x``, ``x and y``, ``x, y and z``; ``x0, ..., x9 and 2,990 more``."""
    listed = list(names)
    if len(listed) <= 1:
        return "".join(listed)
    if len(listed) > NAMES_SHOWN:
        rest = len(listed) - NAMES_SHOWN
        return ", ".join(listed[:NAMES_SHOWN]) + f" {conjunction} {rest:,} more"
    return ", ".join(listed[:-1]) + f" {conjunction} " + listed[-1]


class ParseError(CgradError):
    """The program does not parse, or it parses but does not check
    (unknown function, wrong arity, a name bound twice, ...)."""

    type = "syntax_error"


class InputError(CgradError):
    """The values given for the inputs are wrong: missing, unknown, malformed."""

    type = "invalid_value"


class UsageError(CgradError):
    """The command line itself is wrong (an unreadable @FILE, a bad option)."""

    type = "usage_error"
