"""The elements of one JSON array, found in a text stream by a single scan.

:class:`ElementScanner` finds where each element ends by tracking strings,
escapes and bracket depth (without decoding anything), so that reading is
linear in the input whatever the size of an element, an element too big or
nested too deeply can be passed over, and the elements after it still read.
Decoding the element's text is the caller's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_READ_SIZE = 1 << 16
_SPACE = " \t\r\n"
# Outside a string, only these characters change the scan's state.
_STRUCTURE = re.compile(r'[][{}",]')
_IN_STRING = re.compile(r'["\\]')


class DuplicateKeyError(ValueError):
    """An object names a key twice: json would silently keep the last value."""


def unique_object(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` that refuses a key given twice (a record with
    two values for x must not be read as one of them)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        shown = key if len(key) <= 40 else key[:40] + "..."
        raise DuplicateKeyError(f"the key {json.dumps(shown)} appears more than once")
    return record


def json_integer(text: str) -> int | float:
    """``parse_int`` that keeps the sign of ``-0``, which Python's json reads
    as the integer 0: ``{"x": -0}`` is -0.0, as in every other format
    (1/x is -inf there, atan2(x, -1) is -π)."""
    return -0.0 if text == "-0" else int(text)


DECODER = json.JSONDecoder(object_pairs_hook=unique_object, parse_int=json_integer)


class NotAnArrayError(Exception):
    """The input does not start with '['."""


@dataclass(slots=True)
class Element:
    """One element: its text (and its value when ``decoded``), or ``text``
    None when it was longer than the limit (``ended`` False: and had not
    ended within the skip limit either, so reading stopped)."""

    text: str | None
    ended: bool = True
    decoded: bool = False
    value: object = None


@dataclass(slots=True)
class Broken:
    """The array's structure is broken here: ``message`` says how, and
    nothing after it is read."""

    message: str
    element: str | None = None  # the unfinished element's text, if any


class ElementScanner:
    """Elements of the JSON array a text stream holds, one at a time."""

    def __init__(self, read: Callable[[int], str], max_element: int, max_skip: int) -> None:
        self.read = read
        self.max_element = max_element
        self.max_skip = max_skip
        self.buffer = ""
        self.position = 0
        self.at_end = False

    def _fill(self, keep: int) -> int:
        """Drop the buffer before ``keep``, read more (at least as much as is
        kept, so that an element's text is copied a bounded number of times
        overall); return how far positions moved back."""
        if self.at_end:
            return 0
        more = self.read(max(_READ_SIZE, len(self.buffer) - keep))
        self.buffer = self.buffer[keep:] + more
        self.position -= keep
        self.at_end = not more
        return keep

    def _next_nonspace(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            buffer = self.buffer
            while self.position < len(buffer) and buffer[self.position] in _SPACE:
                self.position += 1
            if self.position < len(buffer):
                return buffer[self.position]
            if self.at_end:
                return ""
            self._fill(self.position)

    def elements(self) -> Iterator[Element | Broken]:
        first = self._next_nonspace()
        if first != "[":
            raise NotAnArrayError(first)
        self.position += 1
        if self._next_nonspace() == "]":
            yield from self._after_array()
            return
        while True:
            self._next_nonspace()
            element = self._element()
            yield element
            if isinstance(element, Broken) or not element.ended:
                return
            separator = self._next_nonspace()
            self.position += 1
            if separator == "]":
                yield from self._after_array()
                return
            if separator != ",":
                yield Broken("expected ',' or ']' after an element; the rest cannot be read")
                return

    def _after_array(self) -> Iterator[Broken]:
        self.position += 1
        if self._next_nonspace():
            yield Broken("more data after the JSON array; it was not read")

    def _element(self) -> Element | Broken:
        """The element at the current position, the position moved past it."""
        decoded = self._decoded()
        if decoded is not None:
            return decoded
        start = self.position
        scan = _Scan()
        skipped = 0
        while True:
            end = scan.run(self.buffer, self.position)
            if end is not None:
                break
            self.position = len(self.buffer) + scan.overshoot
            if skipped or self.position - start > self.max_element:
                # Too long: keep scanning for its end, keeping nothing.
                skipped += self.position - start
                if skipped > self.max_skip:
                    return Element(None, ended=False)
                start = self.position
            if self.at_end:
                text = self.buffer[start:] if not skipped else None
                return Broken("the array is not closed", text)
            start -= self._fill(min(start, len(self.buffer)))
        self.position = end
        if skipped or end - start > self.max_element:
            return Element(None)
        return Element(self.buffer[start:end])

    def _decoded(self) -> Element | None:
        """The usual case: the element is whole in the buffer and decodes
        at C speed. None otherwise (cut by the buffer's end, too deep, a
        number Python will not read...): then the scan decides."""
        start = self.position
        try:
            value, end = DECODER.raw_decode(self.buffer, start)
        except (ValueError, RecursionError):
            return None
        # A bare number cut by the buffer's end also decodes: only an element
        # followed by something is sure to be whole.
        if (end == len(self.buffer) and not self.at_end) or end - start > self.max_element:
            return None
        self.position = end
        return Element(self.buffer[start:end], decoded=True, value=value)


class _Scan:
    """The state of the scan of one element: inside a string or not, and the
    depth of brackets; :meth:`run` goes on from where the last run stopped."""

    __slots__ = ("depth", "in_string", "overshoot")

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.overshoot = 0  # an escape's second character lies past the buffer

    def run(self, buffer: str, position: int) -> int | None:
        """Where the element ends in ``buffer`` (just past it), or None if
        not within it."""
        while True:
            pattern = _IN_STRING if self.in_string else _STRUCTURE
            found = pattern.search(buffer, position)
            if found is None:
                self.overshoot = 0
                return None
            at = found.start()
            character = buffer[at]
            position = at + 1
            if self.in_string:
                if character == "\\":
                    position += 1
                    if position > len(buffer):
                        self.overshoot = 1
                        return None
                    continue
                self.in_string = False
                if self.depth == 0:
                    return position
            elif character == '"':
                self.in_string = True
            elif character in "[{":
                self.depth += 1
            elif self.depth == 0:
                return at  # ',' or a closing bracket ends a bare value
            elif character != ",":
                self.depth -= 1
                if self.depth == 0:
                    return position
