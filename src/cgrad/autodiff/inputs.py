"""The values a call gives a program's inputs, checked: the names (none
missing, unknown or reserved), the numbers and their shapes, and the names
of a ``wrt``. :class:`cgrad.Function` checks with these before each
evaluation; each raises :class:`cgrad.InputError` with what is wrong."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import NAMES_SHOWN, InputError, join_names
from ..ops import CONSTANTS, RESERVED

if TYPE_CHECKING:
    from numpy.typing import ArrayLike


def given_values(
    values: Mapping[str, object] | None, named: dict[str, object]
) -> dict[str, object]:
    """The values of a call: the mapping's and the keywords', each once."""
    if values is None:
        return _huge_integers_as_floats(named)  # the keywords' own dict, new at each call
    if not hasattr(values, "keys"):
        raise InputError(
            f"the values must be a mapping of input names to numbers, not {values!r}",
            hint="or give them as keywords",
            type="usage_error",
        )
    given = dict(values)
    duplicated = sorted(set(given) & set(named))
    if duplicated:
        raise InputError(
            f"a value for {join_names(duplicated)} is given twice", type="duplicate_value"
        )
    given.update(named)
    return _huge_integers_as_floats(given)


def _huge_integers_as_floats(given: dict[str, object]) -> dict[str, object]:
    """``given`` with each Python int beyond the floats (10**400) as the
    infinity of its sign, as the command line reads its digits; the
    evaluation then warns of it as of any infinite input. A masked array's
    masked entries are NaN (:func:`unmasked`)."""
    for name, value in given.items():
        if type(value) is int and not -_BEYOND_FLOATS < value < _BEYOND_FLOATS:
            given[name] = number_as_float(value)
        elif type(value) is not float and isinstance(value, np.ma.MaskedArray):
            given[name] = unmasked(value)
    return given


def unmasked(value: object) -> Any:
    """``value``, a masked array's masked entries as NaN, as a frame's
    missing values (pandas' NA) are read: numpy alone would hand over the
    number hidden under the mask, and with it a wrong answer. A masked
    array of anything but numbers (booleans too) is left for the checks to
    refuse."""
    if not isinstance(value, np.ma.MaskedArray):
        return value
    if not np.ma.is_masked(value) or value.dtype.kind not in "iuf":
        return np.ma.getdata(value)
    return np.ma.filled(value.astype(np.float64), np.nan)


def whole_number(value: object) -> object:
    """``value`` as a Python int if it is a whole number of any integer
    type (numpy's ``int64`` too), else as it is, for the check that
    follows to refuse (a bool is no count)."""
    if isinstance(value, Integral) and not isinstance(value, bool | np.bool_):
        return int(value)
    return value


# The least integer that float() refuses (it would round to infinity).
_BEYOND_FLOATS = 2**1024 - 2**970


def number_as_float(value: float) -> float:
    """One number as a float: a Python int beyond the floats is the
    infinity of its sign (float() raises OverflowError), as the command
    line reads 1e400."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def wrt_names(wrt: Iterable[str] | str) -> list[str]:
    """The names of a ``wrt``: a list of them, or one string, ``"x, y"``
    (never its letters, one by one)."""
    names = split_names(wrt) if isinstance(wrt, str) else wrt
    # (a list first: a generator would be spent by the check)
    if isinstance(names, Iterable):
        names = list(names)
        if all(isinstance(n, str) for n in names):
            return names
    raise InputError(
        f"wrt must be input names, a list of them or one string, not {reprlib.repr(wrt)}",
        type="usage_error",
    )


def chosen_wrt(wrt: Iterable[str] | str | None, inputs: Sequence[str]) -> list[str] | None:
    """The names of a ``wrt`` (:func:`wrt_names`), each an input
    (:func:`check_wrt`); None (all inputs) for None."""
    if wrt is None:
        return None
    names = wrt_names(wrt)
    check_wrt(names, inputs)
    return names


def input_name(name: object, inputs: Sequence[str]) -> str:
    """``name`` if it is one input's name (a str), else the error that says
    what it is."""
    if not isinstance(name, str):
        raise InputError(
            f"the derivative is taken by one input, named by a str, not {reprlib.repr(name)}",
            hint=inputs_text(inputs),
            type="usage_error",
        )
    check_wrt([name], inputs)
    return name


def split_names(text: str) -> list[str]:
    """The names of a ``wrt`` given as one string, ``"x, y"``: split at the
    commas, blanks around them dropped."""
    return [name.strip() for name in text.split(",") if name.strip()]


def inputs_text(inputs: Sequence[str]) -> str:
    """The inputs, for a hint: one readable line however many there are."""
    if not inputs:
        return "this expression has no inputs"
    shown = ", ".join(inputs[:NAMES_SHOWN])
    rest = len(inputs) - NAMES_SHOWN
    return f"the inputs are {shown}" + (f" and {rest:,} more" if rest > 0 else "")


def check_wrt(wrt: Iterable[str], inputs: Sequence[str]) -> None:
    """Raise unless each name of ``wrt`` is an input."""
    known = set(inputs)  # a tuple scan per name is quadratic
    unknown = [name for name in wrt if name not in known]
    if unknown:
        from ..lookalikes import lookalike_note  # (and unicodedata) for a mistake only

        raise InputError(
            f"cannot differentiate with respect to {join_names(unknown)}: "
            f"{'it is not an input' if len(unknown) == 1 else 'they are not inputs'}",
            hint=lookalike_note(unknown, inputs) or inputs_text(inputs),
            type="unknown_input",
        )


def check_values(
    given: Mapping[str, object],
    inputs: Sequence[str],
    input_set: frozenset[str],
    missing_hint: str | None = None,
) -> None:
    """Raise unless ``given`` names exactly ``inputs`` (``input_set`` as a
    set), each a number or an array of numbers, the arrays broadcasting
    together. ``missing_hint`` tells how to pass missing values."""
    # Exactly the inputs by name (the usual call): none reserved, unknown or missing.
    if given.keys() != input_set:
        _check_names(given, inputs, input_set, missing_hint)
    shapes = []
    for name, value in given.items():
        if type(value) is float or type(value) is int:  # the usual point: nothing to check
            continue
        shapes.append(numeric_array(f"the value of {name}", value).shape)
    try:
        # (arrays of one shape, the usual case, need no np.broadcast_shapes)
        if shapes and shapes.count(shapes[0]) != len(shapes):
            np.broadcast_shapes(*shapes)
    except ValueError:
        described = ", ".join(
            f"{name} {np.shape(cast('ArrayLike', v))}" for name, v in given.items()
        )
        raise InputError(
            f"the values' shapes do not broadcast together: {described}",
            type="invalid_value",
        ) from None


def numeric_array(what: str, value: object) -> np.ndarray:
    """``value`` as a numpy array, if it is a number or an array of numbers
    (``what`` names it in the error: "the value of x")."""
    try:
        array = value if type(value) is np.ndarray else np.asarray(value)
    except ValueError:  # nested lists of different lengths
        raise InputError(
            f"{what} is not an array: its rows are of different lengths ({reprlib.repr(value)})",
            type="invalid_value",
        ) from None
    # None, strings, complex numbers and objects are not numbers (numpy
    # would turn None into NaN without a word, "1.5" into 1.5, and 1+2j
    # into 1.0 with a ComplexWarning).
    if array.dtype.kind not in "biuf":
        raise InputError(
            f"{what} is not a number or an array of numbers: {reprlib.repr(value)}",
            type="invalid_value",
        )
    if array.dtype.kind == "b" or (type(value) in (list, tuple) and _holds_booleans(array, value)):
        # True is 1 to numpy, but no number in cgrad's data (a JSON true,
        # a boolean column) nor here: one rule for every way in.
        said = "is a boolean, not a number" if array.ndim == 0 else "holds booleans, not numbers"
        raise InputError(
            f"{what} {said}: {reprlib.repr(value)}",
            hint="convert it to numbers first: float(value), or array.astype(float)",
            type="invalid_value",
        )
    return array


def _holds_booleans(array: np.ndarray, value: object) -> bool:
    """Whether a list of numbers (made ``array`` by numpy, which reads True
    among numbers as 1) holds a boolean."""
    if array.dtype.kind not in "iuf" or array.size == 0:
        return False
    items = (
        cast(list, value) if array.ndim == 1 else np.asarray(value, dtype=object).ravel().tolist()
    )
    # Only an item that numpy read as 0 or 1 can have been a boolean.
    flat = array.ravel()
    maybe = np.flatnonzero((flat == 0) | (flat == 1)).tolist()
    return any(type(items[index]) in _BOOLEANS for index in maybe)


_BOOLEANS = frozenset({bool, np.bool_})


def checked_substitutions(
    substitutions: Mapping[str, object], inputs: Sequence[str], input_set: frozenset[str]
) -> dict[str, float]:
    """The values a formula is to hold in place of inputs, as floats:
    some of ``inputs`` (not reserved, none unknown: a name misspelt must
    not leave the formula silently unsubstituted), each one number."""
    if not hasattr(substitutions, "keys"):
        raise InputError(
            f"substitutions must be a mapping of input names to numbers, not "
            f"{reprlib.repr(substitutions)}",
            type="usage_error",
        )
    given = {name: unmasked(value) for name, value in substitutions.items()}
    if not given.keys() <= input_set:
        _check_names(given, inputs, input_set, None)  # raises: a name reserved or unknown
    numbers: dict[str, float] = {}
    for name, value in given.items():
        if type(value) is not int and np.ndim(numeric_array(f"the value of {name}", value)) != 0:
            raise InputError(
                f"a formula holds one number for {name}, not an array of shape "
                f"{np.shape(cast('ArrayLike', value))}",
                type="invalid_value",
            )
        numbers[name] = number_as_float(cast(float, value))
    return numbers


def _check_names(
    given: Mapping[str, object],
    inputs: Sequence[str],
    input_set: frozenset[str],
    missing_hint: str | None,
) -> None:
    """Raise for a name given that is no str, reserved or not an input,
    or an input not given."""
    odd = [name for name in given if not isinstance(name, str)]
    if odd:
        raise InputError(
            f"the values must be given by input name (a str), not by {reprlib.repr(odd[0])}",
            hint=inputs_text(inputs),
            type="usage_error",
        )
    reserved = [name for name in given if name in RESERVED]
    if reserved:
        kind = "constant" if reserved[0] in CONSTANTS else "function"
        raise InputError(
            f"{reserved[0]} is a {kind}, so it cannot be given a value",
            hint=inputs_text(inputs),
            type="unknown_input",
        )
    unknown = [name for name in given if name not in input_set]
    if unknown:
        verb = "is not an input" if len(unknown) == 1 else "are not inputs"
        raise InputError(
            f"{join_names(unknown)} {verb} of this expression",
            hint=inputs_text(inputs),
            type="unknown_input",
        )
    missing = [name for name in inputs if name not in given]
    if missing:
        raise InputError(
            f"missing a value for {join_names(missing)}",
            hint=missing_hint or "pass every input, as keywords or in the values mapping",
            type="missing_value",
        )
