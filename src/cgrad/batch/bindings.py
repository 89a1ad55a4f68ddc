"""Where each input of a batch takes its values from: a column of the
records (by default the one named like the input; ``--column VAR=COLUMN``
names another), or a value fixed for every record that lacks it (``w=2``).

The record's own value wins: a fixed value fills only the records without
that field. For input with a header (CSV, TSV), where no record lacks a
column, a fixed value for an input that has a column would never be used,
and is refused (:meth:`Bindings.check_header`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ..composed_names import composed, spellings_by_composed
from ..errors import NAMES_SHOWN, UsageError
from .rows import EXPRESSION_FIELD, ID_FIELD

# A name of the language (as cli.arguments reads NAME=VALUE).
_NAME = re.compile(r"[^\W\d]\w*")


@dataclass(frozen=True)
class Bindings:
    """``columns``: input name -> the field (column) it is read from, for
    those not read from their own name. ``fixed``: input name -> the value
    of every record that has no such field."""

    columns: Mapping[str, str] = field(default_factory=dict)
    fixed: Mapping[str, float] = field(default_factory=dict)

    def source(self, name: str) -> str:
        """The field that input ``name`` is read from."""
        return self.columns.get(name, name)

    def sources(self, names: Iterable[str]) -> set[str]:
        """The fields that inputs ``names`` are read from: not carried."""
        return {self.columns.get(name, name) for name in names}

    def met(self, header: Sequence[str]) -> Bindings:
        """These bindings for data with columns ``header``: where a column's
        name is written decomposed (``e`` and a combining accent, as macOS
        writes names) and the input's, or a --column COLUMN, composed, the
        input reads the column as the data spells it. The data's names are
        left as they are, in the data and wherever an output echoes them
        (a carried column); only the lookup is made in one form."""
        spelled = spellings_by_composed(header)
        if not spelled:
            return self
        present = set(header)
        columns = {
            name: column if column in present else spelled.get(composed(column), column)
            for name, column in self.columns.items()
        }
        for name, column in spelled.items():
            if name not in present:
                columns.setdefault(name, column)
        return replace(self, columns=columns)

    def check_header(self, header: Sequence[str], inputs: Sequence[str] | None) -> None:
        """Refuse, before any output, a column mapping to a column the
        input lacks, and a fixed value that no record would use; with
        ``inputs`` (one expression), a missing column for an input."""
        columns = set(header)
        for name, column in self.columns.items():
            if column not in columns:
                raise UsageError(
                    f"--column {name}={column}: the input has no column {column!r}",
                    hint=f"its columns are {_first(header) or '(none)'}",
                    type="input_error",
                )
        for name in self.fixed:
            if self.source(name) in columns and (inputs is None or name in inputs):
                raise UsageError(
                    f"{name} is given a value, and the input has a column "
                    f"{self.source(name)!r} for it: the value would never be used",
                    hint=f"leave out the value of {name}, or read {name} from another column "
                    f"with --column {name}=COLUMN",
                )
        if inputs is None:
            return
        missing = [n for n in inputs if self.source(n) not in columns and n not in self.fixed]
        if missing:
            raise UsageError(
                f"the input has no column for {_first(missing)}",
                hint=f"its columns are {_first(header) or '(none)'}",
                type="input_error",
            )


def read_columns(items: Sequence[str] | None, reserved: Iterable[str] = ()) -> dict[str, str]:
    """``--column VAR=COLUMN`` items as {VAR: COLUMN}; VAR is a name of the
    language, COLUMN any text (``temp C``, ``a=b``: split at the first
    '=')."""
    columns: dict[str, str] = {}
    for item in items or ():
        name, equals, column = item.partition("=")
        if not equals or not column:
            raise UsageError(
                f"--column expects VAR=COLUMN, not {item!r}",
                hint="for example: --column x=X or --column 'temp=temp C'",
            )
        checked = composed(name.strip())  # a name of the language, as the program's are
        if not _NAME.fullmatch(checked):
            raise UsageError(
                f"--column {item}: {name!r} is not a variable name",
                hint="write the variable first: --column VAR=COLUMN",
            )
        if checked in (ID_FIELD, EXPRESSION_FIELD) or checked in reserved:
            raise UsageError(f"--column {item}: {checked!r} cannot name an input here")
        if checked in columns:
            raise UsageError(f"--column gives {checked} twice")
        columns[checked] = column
    return columns


def _first(names: Sequence[str]) -> str:
    """``a, b, c``; past NAMES_SHOWN, ``a, ..., j and 99,990 more``."""
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:NAMES_SHOWN]) + f" and {len(names) - NAMES_SHOWN:,} more"
