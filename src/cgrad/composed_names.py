"""Names in one Unicode form: what the command line, the data's column
names and a parameters file give is read composed (NFC), so that a name
typed as one character and the same name written decomposed (as macOS
writes file names) are one name. Imported at startup: unicodedata only
for text that is not ASCII."""

from __future__ import annotations

from collections.abc import Iterable


def composed(text: str) -> str:
    """``text`` in Unicode's composed form (NFC): an ``é`` typed or pasted as
    ``e`` and a combining accent (as macOS writes file names) is the one
    letter ``é`` that the language's names are made of, and the same name
    as the ``é`` typed as one character. (NFC, not NFKC: a fullwidth ``ｘ``
    stays another name, which the lookalike hints point out.)"""
    if text.isascii():  # (most text: unicodedata not even imported)
        return text
    import unicodedata

    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def spellings_by_composed(names: Iterable[str]) -> dict[str, str]:
    """For each of ``names`` that is not composed, its composed form -> it
    (the first, where two compose alike): how to find the name as the data
    spells it from the name as the program does."""
    found: dict[str, str] = {}
    for name in names:
        if not name.isascii():
            found.setdefault(composed(name), name)
    return {key: name for key, name in found.items() if key != name}
