"""Tracing: the passes run on stand-ins that write each operation down.

The engine's own loops and the op table's own rules run unchanged on
:class:`Traced` values (an :class:`~cgrad.namespaces.OperatorProxy`) and a
namespace ``m`` that records (:class:`TracedNamespace`); a
:class:`Recorder` turns each op applied to a traced value into one line of
Python, reading what it needs from the op's table entry: its exact form on
floats, its shortcuts. A rule that must look at the point (is this
argument 0?) cannot be traced: it raises :class:`Untraceable`, and the
graph is walked instead.

The same stand-ins answer a kink test's one question, whether the test is
false at every point (:func:`never_at_kink`): x^2 has no kink, whatever x,
and sqrt(y^2 + 1) is never at its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..namespaces import OperatorProxy, RuleNamespace
from ..ops import OPS, Fixity, Op, Shortcut, Sign


class Untraceable(Exception):  # noqa: N818 - a signal, not an error
    """A rule asked something of a value that only the point can answer
    (is this argument 0?): such a graph is walked, not compiled."""


class Traced(OperatorProxy):
    """A value known only at run time: arithmetic on it writes a line."""

    __slots__ = ("recorder", "name")
    # numpy scalars must leave arithmetic with a Traced to it.
    __array_ufunc__ = None

    def __init__(self, recorder: Recorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def apply_op(self, name: str, *arguments: object) -> Any:
        return self.recorder.apply(OPS[name], arguments)

    def __bool__(self) -> bool:
        raise Untraceable


def sign_of(value: Any) -> Sign:
    """What is known of the sign of a traced value or a constant."""
    if isinstance(value, Traced):
        return getattr(value, "sign", Sign.UNKNOWN)
    return Sign.POSITIVE if value > 0 else Sign.NONNEGATIVE if value >= 0 else Sign.UNKNOWN


class Recorder:
    """The heart of codegen: writes the passes as straight-line Python while
    they run on traced values.

    :meth:`apply` is every op the passes apply: on constants it is made at
    once (as the walk makes it), on a traced value it becomes a line
    ``tN = ...`` (:meth:`record`) in the engine's order. The constants and
    functions the lines name are ``kN`` and ``fN`` in :attr:`namespace`,
    the generated function's globals, so the text holds nothing but names,
    operators and brackets. This recorder writes the passes at one point
    on Python floats; see :class:`~cgrad.autodiff.array_code.ArrayRecorder`
    for arrays.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, object] = {}
        self.functions: dict[int, str] = {}
        self.count = 0

    def temporary(self, expression: str) -> Traced:
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"    {name} = {expression}")
        return Traced(self, name)

    def constant(self, value: Any) -> str:
        name = f"k{len(self.namespace)}"
        # Every constant of a point is one number; as a Python float, the
        # arithmetic it takes part in stays Python's.
        self.namespace[name] = float(value)
        return name

    def function(self, function: Callable[..., Any]) -> str:
        name = self.functions.get(id(function))
        if name is None:
            name = self.functions[id(function)] = f"f{len(self.namespace)}"
            self.namespace[name] = function
        return name

    def operand(self, value: Any) -> str:
        if isinstance(value, Traced):
            return value.name
        return self.constant(value)

    def apply(self, op: Op, arguments: Sequence[Any]) -> Any:
        """``op`` applied to ``arguments``: a number, or a traced value."""
        if not any(isinstance(a, Traced) for a in arguments):
            return op.forward(*arguments)  # constants: the same call, made now
        if op.same_from is not None and sign_of(arguments[0]) >= op.same_from:
            return arguments[0]  # what is known of its sign says the call changes nothing
        function = op.forward
        if op.shortcut is not None and not isinstance(arguments[-1], Traced):
            # The op's own tests of a constant argument, made once, here.
            shortcut = op.shortcut(arguments[-1])
            if shortcut is Shortcut.FIRST:
                return arguments[0]
            if shortcut is Shortcut.SQUARE:
                return self.apply(OPS["mul"], (arguments[0], arguments[0]))
            if shortcut is not Shortcut.FORWARD:
                function = op.ufunc or op.forward
        return self.record(op, function, arguments)

    def record(self, op: Op, function: Callable[..., Any], arguments: Sequence[Any]) -> Traced:
        """A line that applies ``op`` (by ``function``) at run time."""
        listed = [self.operand(a) for a in arguments]
        exact = op.exact_on_floats
        if exact is None:
            joined = ", ".join(listed)
            return self.temporary(f"{self.function(float)}({self.function(function)}({joined}))")
        if op.notation.fixity is Fixity.CALL:
            return self.temporary(f"{self.function(exact)}({', '.join(listed)})")
        # An operator: the language's + - * / and unary minus are Python's.
        return self.temporary(op.notation.written(listed))


class TracedNamespace(RuleNamespace):
    """The rules' ``m`` while tracing: each op recorded; each test decided
    now where its arguments are constants (as the engine would decide it
    at every point), and Untraceable where one is traced."""

    def __init__(self, recorder: Recorder, numeric: Any) -> None:
        self.recorder = recorder
        self.numeric = numeric

    def function(self, name: str) -> Callable[..., Any]:
        op = OPS.get(name)
        if op is None:
            raise AttributeError(name)
        recorder = self.recorder
        return lambda *arguments: recorder.apply(op, arguments)

    def _decided(self, name: str, *arguments: Any) -> Any:
        if any(isinstance(a, Traced) for a in arguments):
            raise Untraceable
        return getattr(self.numeric, name)(*arguments)

    def where(self, condition, chosen, otherwise):
        if isinstance(condition, Traced) or np.ndim(condition) != 0:
            raise Untraceable
        return self.numeric.where(condition, chosen, otherwise)

    def equal(self, a, b):
        return self._decided("equal", a, b)

    def less(self, a, b):
        return self._decided("less", a, b)

    def greater_equal(self, a, b):
        return self._decided("greater_equal", a, b)

    def tie_share(self, out, arguments, index):
        if any(isinstance(a, Traced) for a in arguments):
            raise Untraceable
        return self._decided("tie_share", out, arguments, index)

    def is_tie(self, out, *arguments):
        return self._decided("is_tie", out, *arguments)


class SignsNamespace(TracedNamespace):
    """The kink tests' ``m`` over traced values: a test for 0 of a value
    known never to be 0 is false; any other question about a traced value
    cannot be decided (Untraceable), and nothing is recorded."""

    def function(self, name: str) -> Callable[..., Any]:
        if name not in OPS:
            raise AttributeError(name)
        return lambda *arguments: self._decided(name, *arguments)

    def equal(self, a, b):
        for value, other in ((a, b), (b, a)):
            if (
                sign_of(value) == Sign.POSITIVE
                and isinstance(value, Traced)
                and not isinstance(other, Traced)
                and other == 0
            ):
                return False
        return self._decided("equal", a, b)


def never_at_kink(at: Callable[..., Any], numeric: Any, out: Any, arguments: Sequence) -> bool:
    """Whether a kink test is false at every point, from the constant
    arguments and what is known of the signs of the traced ones (x^2 has
    no kink whatever x; sqrt(y^2 + 1) is never at its own)."""
    try:
        answer = at(SignsNamespace(Recorder(), numeric), out, *arguments)
    except Untraceable:
        return False
    return not isinstance(answer, Traced) and np.ndim(answer) == 0 and not answer


def kink_impossible(at: Callable[..., Any], numeric: Any, arguments: list) -> bool:
    """:func:`never_at_kink` from the constant arguments alone (None stands
    for a value known only at run time). Then no pass need ask."""
    unknown = Traced(Recorder(), "v0")
    known = [unknown if a is None else a for a in arguments]
    return never_at_kink(at, numeric, unknown, known)
