"""User text made safe to show: its control characters written out.

A program's comments may hold any character but a line break, an escape
code (ESC [31m) among them; a terminal acts on such codes, and so does one
that a DOT or Mermaid file is printed to. Every view that shows user text
writes them out (ESC as ``\\x1b``) instead of sending them.

The bidirectional controls (embeddings, overrides, isolates and the marks
U+200E, U+200F, U+061C) are written out too (as ``\\u202e``): they reorder
the text around them as it is shown, so that a comment can make the code
on its line read as something it is not ("Trojan Source").
"""

from __future__ import annotations

import re

# The C0 controls but line break and tab, DEL, the C1 controls, the line
# and paragraph separators (a line break to some viewers, not to the parser)
# and the bidirectional controls.
CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_BIDI = [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_VISIBLE = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
_VISIBLE.update({code: f"\\u{code:04x}" for code in _BIDI})
del _VISIBLE[ord("\n")], _VISIBLE[ord("\t")]


def visible(text: str) -> str:
    """``text`` with its control characters written out (ESC as ``\\x1b``,
    a right-to-left override as ``\\u202e``)."""
    return text.translate(_VISIBLE) if CONTROL.search(text) else text
