"""User text made safe to show: its control characters written out.

A program's comments may hold any character but a line break, an escape
code (ESC [31m) among them; a terminal acts on such codes, and so does one
that a DOT or Mermaid file is printed to. Every view that shows user text
writes them out (ESC as ``\\x1b``) instead of sending them.
"""

from __future__ import annotations

import re

# The C0 controls but line break and tab, DEL and the C1 controls.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_VISIBLE = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}
del _VISIBLE[ord("\n")], _VISIBLE[ord("\t")]


def visible(text: str) -> str:
    """``text`` with its control characters written out (ESC as ``\\x1b``)."""
    return text.translate(_VISIBLE) if CONTROL.search(text) else text
