"""The second derivatives of ``cgrad batch --hessian`` as text: a JSON
object nested as ``cgrad eval --hessian --json`` nests it (a row per
partial), CSV columns ``hessian_<a>_<b>`` beside ``grad_<a>`` (unique:
see :func:`hessian_headers`), and table
columns. Entries are row-major over the partials (all inputs, or the
``--wrt`` ones), as :attr:`cgrad.batch.blocks.Outcome.hessian` holds them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from ..numerals import format_short, json_text, number_text
from .blocks import Outcome


def hessian_json(outcome: Outcome) -> str:
    """``{"x": {"x": 2.0, "y": 1.0}, "y": {...}}``."""
    names = [json.dumps(name, ensure_ascii=False) for name in outcome.gradient_names]
    entries = list(map(json_text, outcome.hessian or ()))
    width = len(names)
    rows = (
        "{"
        + ", ".join(f"{b}: {e}" for b, e in zip(names, entries[i * width :], strict=False))
        + "}"
        for i in range(width)
    )
    return "{" + ", ".join(f"{a}: {row}" for a, row in zip(names, rows, strict=True)) + "}"


def hessian_headers(per_record: bool, names: Sequence[str]) -> list[str]:
    """The CSV columns: one of JSON text when records carry their own
    expressions, else ``hessian_<a>_<b>`` for each pair, row-major.

    Names may hold ``_`` themselves, so two pairs can make one name (inputs
    ``x``, ``y_z``, ``x_y``, ``z``: ``hessian_x_y_z`` twice). The pairs
    whose plain names clash are named ``hessian_<a>.<b>`` instead: no name
    holds a ``.``, so those are unique and clash with no plain name. The
    plain names, which nearly every run has, stay as they are."""
    if per_record:
        return ["hessian"]
    plain = [f"hessian_{a}_{b}" for a in names for b in names]
    counts = Counter(plain)
    return [
        name if counts[name] == 1 else f"hessian_{a}.{b}"
        for name, (a, b) in zip(plain, _pairs(names), strict=True)
    ]


def table_headers(per_record: bool, names: Sequence[str]) -> list[str]:
    """The table's columns: ``∂²/∂x²``, ``∂²/∂x∂y``, ..."""
    if per_record:
        return ["hessian"]
    return [f"∂²/∂{a}²" if a == b else f"∂²/∂{a}∂{b}" for a in names for b in names]


def hessian_cells(per_record: bool, names: Sequence[str], outcome: Outcome, table: bool) -> list:
    """The cells of one record: empty for an error record; in a table,
    6 significant digits, as the other numbers there."""
    if outcome.error is not None or outcome.hessian is None:
        return [""] if per_record else [""] * len(names) ** 2
    if per_record:
        if not table:
            return [hessian_json(outcome)]
        own = outcome.gradient_names
        pairs = [f"{a}{b}" if len(a) == len(b) == 1 else f"{a},{b}" for a in own for b in own]
        return [
            " ".join(f"{p}={format_short(h)}" for p, h in zip(pairs, outcome.hessian, strict=True))
        ]
    shown = format_short if table else number_text
    known = dict(zip(_pairs(outcome.gradient_names), outcome.hessian, strict=True))
    return [shown(known[pair]) if pair in known else "" for pair in _pairs(names)]


def _pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for a in names for b in names]
