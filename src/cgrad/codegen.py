"""The passes at one point as straight-line Python, for speed.

The forward and backward passes of a small graph are traced once, with the
engine's own loops and the op table's own rules running on :class:`_Traced`
stand-ins, and written out as one Python function: a line per operation, in
the engine's order. Evaluating one point then costs one call instead of a
walk over the graph, and the numbers are the engine's, bit for bit.

The values are Python floats, not numpy scalars: a numpy call on one number
costs ten times a float operation. IEEE arithmetic (``+ - * /``, negation,
abs, sqrt) is correctly rounded, so Python's float and numpy give the same
bits; everything else (exp, log, tan, power...) is the engine's own numpy
function, its result turned into a float. Where Python's float raises (1/0,
sqrt(-1)) numpy gives inf or NaN: the caller walks the graph for that point.

This is the only module that generates code, and the only place cgrad uses
``exec``. The generated text holds nothing from the user: variables are
``v``/``t``/``i`` and a number, constants and functions are ``k``/``f``
and a number that name objects in the function's namespace, and the rest is
``def``, ``return``, ``None``, ``=``, ``,``, brackets and ``+ - * /``
(Python's ``float``, ``abs`` and ``math.sqrt`` are ``f`` names too).
:data:`SAFE` is the whole of that alphabet; a test holds generated code to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from .ops import _power

# Graphs beyond this many nodes are walked, not compiled: the source of a
# big graph takes Python longer to compile than many evaluations save.
MAX_NODES = 2_000

# numpy functions that IEEE arithmetic computes to the same bits, as Python
# writes them (and np.negative, as unary minus).
_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.divide: "/"}
_FUNCTIONS = {np.abs: abs, np.sqrt: math.sqrt}

# Recent numpy's power loop squares by multiplying when the exponent is one
# number 2.0, as it is for a point and for a constant exponent over arrays;
# older numpy calls pow(), which is not always x*x to the last bit. The same
# change took an exponent of 0.5 to sqrt, which tells the two apart: sqrt
# keeps the sign of -0.0, pow() does not.
POWER_SQUARES = bool(np.signbit(np.power(np.float64(-0.0), np.float64(0.5))))

# Everything a generated function may contain.
SAFE = re.compile(r"(?:[ \n()\[\],:=*/+-]|def |return |None|passes|[ivtkf]\d+)*")


class _Untraceable(Exception):  # noqa: N818 - a signal, not an error
    """A rule asked something of a value that only the point can answer
    (is this argument 0?): such a graph is walked, not compiled."""


class _Recorder:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, object] = {}
        self.functions: dict[int, str] = {}
        self.count = 0

    def temporary(self, expression: str) -> _Traced:
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"    {name} = {expression}")
        return _Traced(self, name)

    def constant(self, value) -> str:
        name = f"k{len(self.namespace)}"
        # Every constant of a point is one number; as a Python float, the
        # arithmetic it takes part in stays Python's.
        self.namespace[name] = float(value)
        return name

    def function(self, function: Callable) -> str:
        name = self.functions.get(id(function))
        if name is None:
            name = self.functions[id(function)] = f"f{len(self.namespace)}"
            self.namespace[name] = function
        return name

    def operand(self, value) -> str:
        if isinstance(value, _Traced):
            return value.name
        return self.constant(value)

    def call(self, function: Callable, arguments) -> object:
        if not any(isinstance(a, _Traced) for a in arguments):
            return function(*arguments)  # constants: the same call, made now
        if function is _power and not isinstance(arguments[1], _Traced):
            base, exponent = arguments
            if np.ndim(exponent) == 0:
                # _power's own test of its exponent, made once here: x^1 is x.
                if exponent == 1.0:
                    return base
                if exponent == 2.0 and POWER_SQUARES:
                    return self.binary("*", base, base)
            function = np.power
        if function in _OPERATORS:
            return self.binary(_OPERATORS[function], *arguments)
        if function is np.negative:
            return self.temporary(f"-{arguments[0].name}")
        listed = ", ".join(self.operand(a) for a in arguments)
        exact = _FUNCTIONS.get(function)
        if exact is not None:
            return self.temporary(f"{self.function(exact)}({listed})")
        return self.temporary(f"{self.function(float)}({self.function(function)}({listed}))")

    def binary(self, symbol: str, left, right) -> _Traced:
        return self.temporary(f"{self.operand(left)} {symbol} {self.operand(right)}")


class _Traced:
    """A value known only at run time: arithmetic on it writes a line."""

    __slots__ = ("recorder", "name")
    # numpy scalars must leave arithmetic with a _Traced to it.
    __array_ufunc__ = None

    def __init__(self, recorder: _Recorder, name: str) -> None:
        self.recorder = recorder
        self.name = name

    def __add__(self, other):
        return self.recorder.binary("+", self, other)

    def __radd__(self, other):
        return self.recorder.binary("+", other, self)

    def __sub__(self, other):
        return self.recorder.binary("-", self, other)

    def __rsub__(self, other):
        return self.recorder.binary("-", other, self)

    def __mul__(self, other):
        return self.recorder.binary("*", self, other)

    def __rmul__(self, other):
        return self.recorder.binary("*", other, self)

    def __truediv__(self, other):
        return self.recorder.binary("/", self, other)

    def __rtruediv__(self, other):
        return self.recorder.binary("/", other, self)

    def __pow__(self, other):
        return self.recorder.call(np.power, (self, other))

    def __rpow__(self, other):
        return self.recorder.call(np.power, (other, self))

    def __neg__(self):
        return self.recorder.temporary(f"-{self.name}")

    def __bool__(self):
        raise _Untraceable


class _Namespace:
    """The rules' ``m``: each function of the numeric namespace, recorded."""

    def __init__(self, recorder: _Recorder, numeric) -> None:
        self.recorder = recorder
        self.numeric = numeric

    def __getattr__(self, name: str):
        function = getattr(self.numeric, name)
        if name in ("equal", "less", "greater_equal", "tie_share", "is_tie"):
            return self._decided(function)
        if name == "where":
            return self._where
        recorder = self.recorder
        return lambda *arguments: recorder.call(function, arguments)

    @staticmethod
    def _decided(function):
        def decide(*arguments):
            # A test on constants is decided now, as the engine would decide
            # it at every point; a test on a traced value cannot be.
            if any(isinstance(a, _Traced) for a in arguments):
                raise _Untraceable
            return function(*arguments)

        return decide

    def _where(self, condition, chosen, otherwise):
        if isinstance(condition, _Traced) or np.ndim(condition) != 0:
            raise _Untraceable
        return self.numeric.where(condition, chosen, otherwise)


def kink_impossible(at: Callable, numeric, arguments: list) -> bool:
    """Whether a kink test is false at every point, decided from the
    constant arguments alone (None stands for a value known only at run
    time): x^2 has no kink, whatever x. Then no pass need ask."""
    recorder = _Recorder()
    known = [_Traced(recorder, "v0") if a is None else a for a in arguments]
    try:
        answer = at(_Namespace(recorder, numeric), _Traced(recorder, "v0"), *known)
    except _Untraceable:
        return False
    return not isinstance(answer, _Traced) and np.ndim(answer) == 0 and not answer


def compile_point_passes(plan, numeric, seed) -> Callable | None:
    """A function of the inputs (Python floats, in ``plan.graph.inputs``
    order) returning the value of every node and the adjoint of every node
    (None where the engine has none) as Python floats, the numbers of
    :func:`cgrad.engine.forward` and :func:`cgrad.engine.backward`; or None
    if this plan cannot be compiled (too big, or a rule that must look at
    the point). It raises ArithmeticError or ValueError where Python's float
    does and numpy would give inf or NaN."""
    from .engine import backward  # the engine imports this module

    graph = plan.graph
    if len(graph) > MAX_NODES:
        return None
    recorder = _Recorder()
    values: list = list(plan.initial)
    parameters = []
    for position, name in enumerate(graph.inputs):
        parameters.append(f"i{position}")
        values[graph.input_ids[name]] = _Traced(recorder, f"i{position}")
    try:
        # Calls on constants are made now, as the walk makes them: silently.
        with np.errstate(all="ignore"):
            for node_id, function, operands in plan.forward_steps:
                values[node_id] = recorder.call(function, [values[i] for i in operands])
            adjoints = backward(plan, values, m=_Namespace(recorder, numeric), seed=seed)
    except _Untraceable:
        return None
    returned = ", ".join(recorder.operand(v) if v is not None else "None" for v in values)
    slopes = ", ".join(recorder.operand(a) if a is not None else "None" for a in adjoints)
    lines = [f"def passes({', '.join(parameters)}):", *recorder.lines]
    source = "\n".join([*lines, f"    return [{returned}], [{slopes}]"])
    if not SAFE.fullmatch(source):
        raise AssertionError("generated code outside its alphabet")  # a bug, never input
    namespace = dict(recorder.namespace)
    exec(compile(source, "<cgrad point passes>", "exec"), namespace)  # noqa: S102
    # numpy's floating-point errors are the caller's to look for in the
    # numbers, as with the walk (and as a decorator, errstate costs half
    # what a with statement costs).
    passes = np.errstate(all="ignore")(namespace["passes"])
    passes.source = source  # for the tests that hold it to its alphabet
    return passes
