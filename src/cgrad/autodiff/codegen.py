"""The passes at one point, and over slices of many points, as
straight-line Python, for speed.

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

Over arrays, the same tracing writes the engine's own numpy calls, each
into a work array (a ufunc takes one as its last argument) whose contents
no later line needs: a slice of points costs no allocation, and its
temporaries stay in the CPU cache (see :func:`compile_array_passes`).

This is the only module that generates code, and the only place cgrad uses
``exec``. The generated text holds nothing from the user: variables are
``v``/``t``/``i``/``o``/``s`` and a number, constants and functions are
``k``/``f`` and a number that name objects in the function's namespace, and
the rest is ``def``, ``return``, ``None``, ``=``, ``,``, brackets and
``+ - * /`` (Python's ``float``, ``abs`` and ``math.sqrt`` are ``f`` names
too).
:data:`SAFE` is the whole of that alphabet; a test holds generated code to it.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable

import numpy as np

from ..ops import _power

# Graphs beyond this many nodes are walked, not compiled: the source of a
# big graph takes Python longer to compile than many evaluations save.
MAX_NODES = 2_000

# numpy functions that IEEE arithmetic computes to the same bits, as Python
# writes them (and np.negative, as unary minus): correctly rounded, so
# Python's floats and numpy agree to the last bit.
_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.divide: "/"}
_FUNCTIONS = {np.abs: abs, np.sqrt: math.sqrt}
_PYTHON_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
# The same as callables, for the engine's walk on floats.
EXACT_ON_FLOATS: dict[Callable, Callable] = {
    **{function: _PYTHON_OPERATORS[symbol] for function, symbol in _OPERATORS.items()},
    np.negative: operator.neg,
    **_FUNCTIONS,
}

# Recent numpy's power loop squares by multiplying when the exponent is one
# number 2.0, as it is for a point and for a constant exponent over arrays;
# older numpy calls pow(), which is not always x*x to the last bit. The same
# change took an exponent of 0.5 to sqrt, which tells the two apart: sqrt
# keeps the sign of -0.0, pow() does not.
POWER_SQUARES = bool(np.signbit(np.power(np.float64(-0.0), np.float64(0.5))))

# Everything a generated function may contain. ASCII digits only: \d would
# also take other scripts' digits (i\u0660, or t\uff11, which Python reads
# as t1), names that no tracing writes.
SAFE = re.compile(r"(?:[ \n()\[\],:=*/+-]|def |return |None|passes|[ivtkfos][0-9]+)*")


class _Untraceable(Exception):  # noqa: N818 - a signal, not an error
    """A rule asked something of a value that only the point can answer
    (is this argument 0?): such a graph is walked, not compiled."""


def _power_shortcut(recorder: _Recorder, base, exponent):
    """_power's own tests of a constant exponent, made once while tracing:
    x^1 is x, and x^2 is x*x where numpy squares so (POWER_SQUARES); None
    where the call stays np.power."""
    if np.ndim(exponent) == 0:
        if exponent == 1.0:
            return base
        if exponent == 2.0 and POWER_SQUARES:
            return recorder.binary("*", base, base)
    return None


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
            shortcut = _power_shortcut(self, *arguments)
            if shortcut is not None:
                return shortcut
            function = np.power
        if function in _OPERATORS:
            return self.binary(_OPERATORS[function], *arguments)
        if function is np.negative:
            return self.negative(arguments[0])
        listed = ", ".join(self.operand(a) for a in arguments)
        exact = _FUNCTIONS.get(function)
        if exact is not None:
            return self.temporary(f"{self.function(exact)}({listed})")
        return self.temporary(f"{self.function(float)}({self.function(function)}({listed}))")

    def binary(self, symbol: str, left, right) -> _Traced:
        return self.temporary(f"{self.operand(left)} {symbol} {self.operand(right)}")

    def negative(self, value: _Traced) -> _Traced:
        return self.temporary(f"-{value.name}")


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
        return self.recorder.negative(self)

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


def _trace(plan, recorder: _Recorder, numeric, seed, inputs: list) -> tuple[list, list] | None:
    """The engine's forward steps and backward loop run on ``inputs``
    (stand-ins, in ``plan.graph.inputs`` order) as ``recorder`` records
    them: every node's value and adjoint, traced or constant; or None where
    a rule must look at the point."""
    from .passes import backward  # (passes imports nothing of codegen)

    graph = plan.graph
    values: list = list(plan.initial)
    for name, stand_in in zip(graph.inputs, inputs, strict=True):
        values[graph.input_ids[name]] = stand_in
    try:
        # Calls on constants are made now, as the walk makes them: silently.
        with np.errstate(all="ignore"):
            for node_id, function, operands in plan.forward_steps:
                values[node_id] = recorder.call(function, [values[i] for i in operands])
            adjoints = backward(plan, values, m=_Namespace(recorder, numeric), seed=seed)
    except _Untraceable:
        return None
    return values, adjoints


def compile_point_passes(plan, numeric, seed) -> Callable | None:
    """A function of the inputs (Python floats, in ``plan.graph.inputs``
    order) returning the value of every node and the adjoint of every node
    (None where the engine has none) as Python floats, the numbers of
    :func:`cgrad.autodiff.engine.forward` and :func:`cgrad.autodiff.engine.backward`; or None
    if this plan cannot be compiled (too big, or a rule that must look at
    the point). It raises ArithmeticError or ValueError where Python's float
    does and numpy would give inf or NaN."""
    graph = plan.graph
    if len(graph) > MAX_NODES:
        return None
    recorder = _Recorder()
    parameters = [f"i{position}" for position in range(len(graph.inputs))]
    traced = _trace(plan, recorder, numeric, seed, [_Traced(recorder, p) for p in parameters])
    if traced is None:
        return None
    values, adjoints = traced
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


# ---------------------------------------------------------------------------
# The passes over arrays: the same tracing, numpy's own calls, and buffers.

_UFUNCS = {symbol: function for function, symbol in _OPERATORS.items()}

# Ufuncs whose result is not finite wherever their operand in these
# positions is not, whatever the other operand: inf*0 and inf-inf are NaN,
# sin(inf) is NaN; but x/inf and exp(-inf) are 0, and tanh(inf) is 1.
_ECHOING = {
    np.add: (0, 1),
    np.subtract: (0, 1),
    np.multiply: (0, 1),
    np.divide: (0,),
    np.negative: (0,),
    np.absolute: (0,),
    np.sqrt: (0,),
    np.log: (0,),
    np.sin: (0,),
    np.cos: (0,),
}


def _writes_float64(function) -> bool:
    """A ufunc whose float64 loop gives one float64: it may write its
    result into a buffer of float64s, one of its operands' included."""
    return (
        isinstance(function, np.ufunc)
        and function.nout == 1
        and "d" * function.nin + "->d" in function.types
    )


# What is known of a traced value's sign, at every point: nothing, that
# it is >= 0 (-0.0 included) or NaN, or that it is > 0 or NaN (never 0).
UNKNOWN, NONNEGATIVE, POSITIVE = 0, 1, 2


class _ArrayTraced(_Traced):
    """A traced value that knows whether it is an array (it depends on an
    input given as an array) or one number, and what its sign is."""

    __slots__ = ("array", "sign")

    def __init__(self, recorder: _Recorder, name: str, array: bool, sign: int = UNKNOWN) -> None:
        super().__init__(recorder, name)
        self.array = array
        self.sign = sign


def _sign(value) -> int:
    if isinstance(value, _Traced):
        return getattr(value, "sign", UNKNOWN)
    return POSITIVE if value > 0 else NONNEGATIVE if value >= 0 else UNKNOWN


def _sign_of_call(function: Callable, arguments) -> int:
    """The sign of a result, as far as the ufunc and its operands' signs
    tell (enough to know that sqrt(y^2 + 1) has no kink)."""
    if function in (np.exp, np.sqrt, np.absolute):
        return NONNEGATIVE  # exp may underflow to 0, sqrt(-0.0) is -0.0
    if function is np.multiply and arguments[0] is arguments[1]:
        return NONNEGATIVE  # a square (of -0.0: 0.0)
    if function is np.add:
        # Rounding is monotonic: a > 0 plus b >= 0 rounds to a or more.
        signs = [_sign(a) for a in arguments]
        if min(signs) >= NONNEGATIVE:
            return max(signs)
    return UNKNOWN


class _ArrayRecorder(_Recorder):
    """Records calls, not lines: which buffer a result goes to is decided
    once the whole pass is known (see :func:`_array_source`)."""

    def __init__(self) -> None:
        super().__init__()
        # (result, function, arguments), in the engine's order.
        self.statements: list[tuple[_ArrayTraced, Callable, tuple]] = []

    def constant(self, value) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value  # as the walk has it, float or float64
        return name

    def array_operand(self, value) -> str:
        """An operand of a ufunc over arrays of float64: a constant as an
        array of one float64, the same number, which a ufunc takes in
        0.2 µs faster than a float (no conversion at each call)."""
        if isinstance(value, _Traced):
            return value.name
        name = f"k{len(self.namespace)}"
        self.namespace[name] = np.array(value, dtype=np.float64)
        return name

    def call(self, function: Callable, arguments) -> object:
        if not any(isinstance(a, _Traced) for a in arguments):
            return function(*arguments)
        if function is _power and not isinstance(arguments[1], _Traced):
            shortcut = _power_shortcut(self, *arguments)
            if shortcut is not None:
                return shortcut
            function = np.power
        self.count += 1
        array = any(isinstance(a, _ArrayTraced) and a.array for a in arguments)
        sign = _sign_of_call(function, arguments)
        result = _ArrayTraced(self, f"t{self.count}", array, sign)
        self.statements.append((result, function, tuple(arguments)))
        return result

    def binary(self, symbol: str, left, right) -> _Traced:
        return self.call(_UFUNCS[symbol], (left, right))

    def negative(self, value: _Traced) -> _Traced:
        return self.call(np.negative, (value,))


def compile_array_passes(plan, numeric, seed, arrays: tuple[bool, ...]) -> Callable | None:
    """Both passes over a slice of many points, as one function, or None
    where the graph is walked (too big, or a rule that must look at the
    point). Its arguments are the inputs in ``plan.graph.inputs`` order
    (arrays of one length where ``arrays`` says so, else float64 numbers),
    then one array per result (the value, then the partials by
    ``plan.wrt``) and ``passes.buffers`` work arrays, all of that length.
    It returns the results and the values of the nodes in
    ``passes.watched`` (those the kink tests look at). A result may be
    computed into its array or not (an input, a number, None for no path):
    what is not, the caller copies. ``passes.unechoed`` lists the inputs
    whose NaN and inf the results may not show, for the caller to look at.

    The calls are the walk's calls on the same operands in the same order
    (less those whose results nothing reads, and x^2 as x*x where numpy
    squares so, see POWER_SQUARES), so the numbers are the walk's: a ufunc
    gives the same bits into a given array as into a new one. Every call
    that makes an array writes into a work array whose contents nothing
    later reads, its own operand's if that dies with it: a slice of points
    then costs no allocation, and the slice stays in the CPU cache."""
    graph = plan.graph
    if len(graph) > MAX_NODES:
        return None
    recorder = _ArrayRecorder()
    inputs = [_ArrayTraced(recorder, f"i{i}", array) for i, array in enumerate(arrays)]
    traced = _trace(plan, recorder, numeric, seed, inputs)
    if traced is None:
        return None
    values, adjoints = traced
    results = [values[graph.output], *(adjoints[graph.input_ids[name]] for name in plan.wrt)]
    kink_steps = tuple(
        (node_id, at, operands)
        for node_id, at, operands in plan.kink_steps
        if not _never_at_kink(at, numeric, values[node_id], [values[i] for i in operands])
    )
    watched = tuple(
        dict.fromkeys(i for node_id, _, operands in kink_steps for i in (node_id, *operands))
    )
    source, buffers = _array_source(
        recorder, len(graph.inputs), results, [values[i] for i in watched]
    )
    if not SAFE.fullmatch(source):
        raise AssertionError("generated code outside its alphabet")  # a bug, never input
    namespace = dict(recorder.namespace)
    exec(compile(source, "<cgrad array passes>", "exec"), namespace)  # noqa: S102
    passes = namespace["passes"]
    passes.source = source
    passes.buffers = buffers
    passes.kink_steps = kink_steps
    passes.watched = watched
    echoed = _echoed_inputs(recorder, len(graph.inputs), results)
    passes.unechoed = tuple(
        position for position, array in enumerate(arrays) if array and not echoed[position]
    )
    return passes


class _Signs:
    """The kink tests' ``m`` over traced values: a test for 0 of a value
    known never to be 0 is false; a test of anything else traced cannot be
    decided."""

    def __init__(self, numeric) -> None:
        self.numeric = numeric

    def __getattr__(self, name: str):
        function = getattr(self.numeric, name)

        def decide(*arguments):
            traced = [a for a in arguments if isinstance(a, _Traced)]
            if not traced:
                return function(*arguments)
            if name == "equal" and len(arguments) == 2 and _sign(traced[0]) == POSITIVE:
                other = arguments[1] if arguments[0] is traced[0] else arguments[0]
                if not isinstance(other, _Traced) and other == 0:
                    return False
            raise _Untraceable

        return decide


def _never_at_kink(at: Callable, numeric, out, arguments: list) -> bool:
    """Whether a kink test is false at every point, by what is known of the
    signs of the values it looks at: sqrt(y^2 + 1) is never at its kink."""
    try:
        answer = at(_Signs(numeric), out, *arguments)
    except _Untraceable:
        return False
    return not isinstance(answer, _Traced) and np.ndim(answer) == 0 and not answer


def _echoed_inputs(recorder: _ArrayRecorder, inputs: int, results: list) -> tuple[bool, ...]:
    """Per input: is it not finite only where a result is not? Then the
    caller, which looks at the results for NaN and inf, need not look at
    it too (x*y + z is NaN or inf wherever x, y or z is)."""
    echoing = {v.name for v in results if isinstance(v, _Traced)}
    for result, function, arguments in reversed(recorder.statements):
        if result.name in echoing:
            for position in _ECHOING.get(function, ()):
                if isinstance(arguments[position], _Traced):
                    echoing.add(arguments[position].name)
    return tuple(f"i{position}" in echoing for position in range(inputs))


def _array_source(
    recorder: _ArrayRecorder, inputs: int, results: list, watched: list
) -> tuple[str, int]:
    """The text of the passes, and how many work arrays it uses.

    Straight-line code in which every name is assigned once: a name's last
    reader is known, and when it has read it, the name's work array is free
    for the next result (a linear scan over the lines, as a compiler
    allocates registers). Names the caller gets back are never written
    over; nor is an operand of a function that is not a ufunc (it might
    return it, as x^1 returns x), nor an input."""
    returned = [v for v in [*results, *watched] if isinstance(v, _Traced)]
    kept = {v.name for v in returned}
    # Lines whose result nobody reads are left out: the walk computes every
    # node, but only the results and the watched values reach the caller.
    live = set(kept)
    statements = []
    for statement in reversed(recorder.statements):
        if statement[0].name in live:
            statements.append(statement)
            live.update(a.name for a in statement[2] if isinstance(a, _Traced))
    statements.reverse()
    last_read = {}
    for index, (_, _, arguments) in enumerate(statements):
        for a in arguments:
            if isinstance(a, _Traced):
                last_read[a.name] = index
    # A result made by a ufunc is made in the caller's array for it.
    destination = {}
    made_here = {t.name for t, function, _ in statements if t.array and _writes_float64(function)}
    for position, v in enumerate(results):
        if isinstance(v, _Traced) and v.name in made_here and v.name not in destination:
            destination[v.name] = f"o{position}"

    buffer_of: dict[str, int] = {}
    free: list[int] = []
    buffers = 0
    lines = []
    for index, (result, function, arguments) in enumerate(statements):
        if not (result.array and _writes_float64(function)):
            # Its result may be one of its operands: they are never freed.
            kept.update(a.name for a in arguments if isinstance(a, _Traced))
            listed = ", ".join(map(recorder.operand, arguments))
            lines.append(f"    {result.name} = {recorder.function(function)}({listed})")
            continue
        call = f"{recorder.function(function)}({', '.join(map(recorder.array_operand, arguments))}"
        # Operands read for the last time give their arrays back first, the
        # first operand's on top: an elementwise ufunc may write over what
        # it reads, element by element.
        dying = []
        for a in arguments:
            name = getattr(a, "name", None)
            if name in buffer_of and last_read[name] == index and name not in kept:
                dying.append(buffer_of.pop(name))
        free.extend(reversed(dying))
        out = destination.get(result.name)
        if out is None:
            if free:
                buffer = free.pop()
            else:
                buffer, buffers = buffers, buffers + 1
            buffer_of[result.name] = buffer
            out = f"s{buffer}"
        # (the out array positionally: a keyword costs a ufunc 50 ns more)
        lines.append(f"    {result.name} = {call}, {out})")

    def listed(values: list) -> str:
        return ", ".join(recorder.operand(v) if v is not None else "None" for v in values)

    parameters = [
        *(f"i{position}" for position in range(inputs)),
        *(f"o{position}" for position in range(len(results))),
        *(f"s{buffer}" for buffer in range(buffers)),
    ]
    source = "\n".join(
        [
            f"def passes({', '.join(parameters)}):",
            *lines,
            f"    return [{listed(results)}], [{listed(watched)}]",
        ]
    )
    return source, buffers
