"""A function run with numpy's floating-point errors ignored, as
``np.errstate(all="ignore")`` runs it, for functions called once a point.

numpy's errors are the caller's to find in the numbers (a NaN or an inf is
looked at afterwards, where it was born), so the generated passes at one
point run with them ignored. As a decorator, ``np.errstate`` remakes its
error state at every call, a noticeable part of evaluating one point; since
numpy 2 that state is a context variable, which is set here to one state
made once. numpy 1.26 has no such variable: there, ``np.errstate`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

try:  # numpy's own names for its state (no stubs: numpy's private module)
    from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
        _extobj_contextvar,
        _make_extobj,
    )
except ImportError:  # numpy 1.26
    _extobj_contextvar = None


def errors_ignored(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, run with numpy's floating-point errors ignored."""
    if _extobj_contextvar is None:
        return np.errstate(all="ignore")(function)
    ignored = _make_extobj(all="ignore")
    set_state, reset_state = _extobj_contextvar.set, _extobj_contextvar.reset

    @functools.wraps(function)
    def quiet(*arguments: Any) -> Any:
        token = set_state(ignored)
        try:
            return function(*arguments)
        finally:
            reset_state(token)

    return quiet
