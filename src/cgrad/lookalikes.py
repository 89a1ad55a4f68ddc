"""Names that look alike but are not the same name: an ``x`` typed on a
Latin keyboard and the Cyrillic ``х`` in a pasted formula, a fullwidth ``ｘ``
or a ligature. Used for hints wherever a name the user gave is not one the
program has."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Letters of other scripts drawn like a Latin letter: a name typed with one
# of them (a Cyrillic keyboard's х) is another name that looks the same.
_LOOKALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u051b\u051d"
    "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408"
    "\u03bf\u03b1\u03bd\u03c1\u03b9\u03ba\u03c7\u03c5"
    "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7\u03a5",
    "aeopcyxijsdqwABEKMHOPCTXIJoavpikxuABEZHIKMNOPTXY",
)


def lookalike_note(names: Iterable[str], inputs: Iterable[str]) -> str | None:
    """What to say when one of the ``names`` given is not an input but one
    of ``inputs`` looks like it (``x`` given, ``х`` in the expression), or
    None. Linear: each name is reduced to the Latin letters it looks like."""
    wanted = {_skeleton(name): name for name in names}
    if not wanted:
        return None
    for other in inputs:
        name = wanted.get(_skeleton(other))
        if name is not None and name != other:
            return (
                f"the input {other} looks like {name} but is another name: "
                f"{_differences(name, other)}"
            )
    return None


def _skeleton(name: str) -> str:
    # NFKC first: a fullwidth x or the ligature fi reads as x or fi.
    return unicodedata.normalize("NFKC", name).translate(_LOOKALIKES)


def _differences(name: str, other: str) -> str:
    if len(name) != len(other):  # a ligature: no letter-for-letter pairing
        return "; ".join(_character(char) for char in dict.fromkeys(other) if char not in name)
    return "; ".join(
        f"{_character(b)}, {_character(a)}" for a, b in zip(name, other, strict=True) if a != b
    )


def _character(char: str) -> str:
    return f"{char} is U+{ord(char):04X} {unicodedata.name(char, '(unnamed)')}"
