"""The passes over arrays as straight-line numpy calls, into work arrays.

The tracing of :mod:`cgrad.autodiff.tracing`, recording calls rather than
lines (:class:`ArrayRecorder`): which array a result goes to is decided
once the whole pass is known (:func:`array_source`), the way a compiler
allocates registers. What the recorder learns on the way comes from the
op table: which arguments an op echoes (:func:`echoed_inputs`) and the sign
of its result (for :func:`~cgrad.autodiff.tracing.never_at_kink`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ops import OPS, Op, Sign
from .tracing import Recorder, Traced, sign_of

# (result, function called, its arguments, the op it applies)
Statement = tuple["ArrayTraced", Callable[..., Any], tuple, Op]


class ArrayTraced(Traced):
    """A traced value that knows whether it is an array (it depends on an
    input given as an array) or one number, and what its sign is."""

    __slots__ = ("array", "sign")

    def __init__(
        self, recorder: Recorder, name: str, array: bool, sign: Sign = Sign.UNKNOWN
    ) -> None:
        super().__init__(recorder, name)
        self.array = array
        self.sign = sign


class _NotUfuncs(Exception):  # noqa: N818 - a signal, not an error
    """A function traced through called something other than the table's
    ufuncs: it is recorded whole instead."""


class UfuncTraced(ArrayTraced):
    """An :class:`ArrayTraced` that numpy's ufuncs take too: a function made
    of them and of arithmetic (sigmoid is 1/(1 + exp(-a))) is traced through
    (see :meth:`ArrayRecorder.record`), each call recorded as the table's op
    whose forward is that ufunc, so that each writes into a work array."""

    __slots__ = ()

    def __array_ufunc__(  # type: ignore[override]  # Traced has None: numpy defers to it
        self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any
    ) -> Any:
        op = _op_of_ufunc().get(ufunc)
        if op is None or method != "__call__" or kwargs:
            raise _NotUfuncs
        return self.recorder.apply(op, inputs)


def _op_of_ufunc() -> dict[np.ufunc, Op]:
    """The table's ops whose forward is a ufunc, by that ufunc."""
    if not _OP_OF_UFUNC:
        _OP_OF_UFUNC.update(
            {op.forward: op for op in OPS.values() if isinstance(op.forward, np.ufunc)}
        )
    return _OP_OF_UFUNC


_OP_OF_UFUNC: dict[np.ufunc, Op] = {}


def writes_float64(function: Callable[..., Any]) -> bool:
    """A ufunc whose float64 loop gives one float64: it may write its
    result into a buffer of float64s, one of its operands' included."""
    return (
        isinstance(function, np.ufunc)
        and function.nout == 1
        and "d" * function.nin + "->d" in function.types
    )


class ArrayRecorder(Recorder):
    """Records calls, not lines: which buffer a result goes to is decided
    once the whole pass is known (see :func:`array_source`)."""

    def __init__(self) -> None:
        super().__init__()
        self.statements: list[Statement] = []
        # What a recorded result is: a UfuncTraced while a function is
        # traced through (see :meth:`_traced_through`).
        self.made: type[ArrayTraced] = ArrayTraced

    def constant(self, value: Any) -> str:
        name = f"k{len(self.namespace)}"
        self.namespace[name] = value  # as the walk has it, float or float64
        return name

    def array_operand(self, value: Any) -> str:
        """An operand of a ufunc over arrays of float64: a constant as an
        array of one float64, the same number, which a ufunc takes in
        faster than a float (no conversion at each call)."""
        if isinstance(value, Traced):
            return value.name
        name = f"k{len(self.namespace)}"
        self.namespace[name] = np.array(value, dtype=np.float64)
        return name

    def record(self, op: Op, function: Callable[..., Any], arguments: Sequence[Any]) -> Traced:
        array = any(isinstance(a, ArrayTraced) and a.array for a in arguments)
        sign = Sign.UNKNOWN
        if op.sign is not None:
            repeated = all(a is arguments[0] for a in arguments)
            sign = op.sign(tuple(sign_of(a) for a in arguments), repeated)
        if array and not writes_float64(function):
            through = self._traced_through(function, arguments)
            if through is not None:
                if sign is not Sign.UNKNOWN:  # the op's entry may know more
                    through.sign = sign
                return through
        self.count += 1
        result = self.made(self, f"t{self.count}", array, sign)
        self.statements.append((result, function, tuple(arguments), op))
        return result

    def _traced_through(
        self, function: Callable[..., Any], arguments: Sequence[Any]
    ) -> ArrayTraced | None:
        """``function`` run on stand-ins that record its ufunc calls and
        arithmetic as the table's ops (the same calls in the same order:
        the same numbers); None, and nothing recorded, where it calls
        anything else."""
        mark, made = len(self.statements), self.made
        self.made = UfuncTraced
        try:
            stand_ins = [
                UfuncTraced(self, a.name, a.array, a.sign) if isinstance(a, ArrayTraced) else a
                for a in arguments
            ]
            result = function(*stand_ins)
        except Exception:  # noqa: BLE001 - anything it cannot do: recorded whole
            result = None
        finally:
            self.made = made
        if not isinstance(result, ArrayTraced):
            del self.statements[mark:]
            return None
        # Out of the function, its result is what any other op's is.
        return ArrayTraced(self, result.name, result.array, result.sign)


def echoed_inputs(recorder: ArrayRecorder, inputs: int, results: list) -> tuple[bool, ...]:
    """Per input: is it not finite only where a result is not? Then the
    caller, which looks at the results for NaN and inf, need not look at
    it too (x*y + z is NaN or inf wherever x, y or z is)."""
    echoing = {v.name for v in results if isinstance(v, Traced)}
    for result, _, arguments, op in reversed(recorder.statements):
        if result.name in echoing:
            for position in op.echoes:
                if isinstance(arguments[position], Traced):
                    echoing.add(arguments[position].name)
    return tuple(f"i{position}" in echoing for position in range(inputs))


def array_source(
    recorder: ArrayRecorder, inputs: int, results: list, watched: list
) -> tuple[str, int]:
    """The text of the passes, and how many work arrays it uses.

    Straight-line code in which every name is assigned once: a name's last
    reader is known, and when it has read it, the name's work array is free
    for the next result (a linear scan over the lines, as a compiler
    allocates registers). Names the caller gets back are never written
    over; nor is an operand of a function that is not a ufunc (it might
    return it, as x^1 returns x), nor an input."""
    kept = {v.name for v in [*results, *watched] if isinstance(v, Traced)}
    statements = _negations_folded(recorder, _live(recorder.statements, kept), kept)
    lines, buffers = _allocated(recorder, statements, results, kept)

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


def _live(statements: list[Statement], kept: set[str]) -> list[Statement]:
    """The statements whose results something in ``kept`` reads: the walk
    computes every node, but only the results and the watched values reach
    the caller."""
    live = set(kept)
    found = []
    for statement in reversed(statements):
        if statement[0].name in live:
            found.append(statement)
            live.update(a.name for a in statement[2] if isinstance(a, Traced))
    found.reverse()
    return found


def _negations_folded(
    recorder: ArrayRecorder, statements: list[Statement], kept: set[str]
) -> list[Statement]:
    """``statements`` with each negation of an array folded into what reads
    it where the op table says that is exact (a + -b is a - b, (-a)*b is
    -(a*b): carried on to the next reader): a call fewer each, the same
    bits. The backward pass makes such negations (the slope of a - b by b
    is -1, of a/b by b is -out/b); a negation whose reader cannot take it
    in is written just before that reader. What the caller gets back is
    never left negated."""
    negation = OPS["neg"]
    negated: dict[str, ArrayTraced] = {}  # left out: the value it negates
    folded: list[Statement] = []
    # A negation left out for one reader and written for another would be
    # two calls where there was one: only those read once are left out.
    reads = Counter(
        a.name for _, _, arguments, _ in statements for a in arguments if isinstance(a, Traced)
    )

    def written(value: Any) -> Any:
        inner = negated.pop(value.name, None) if isinstance(value, Traced) else None
        if inner is not None:
            folded.append((value, negation.forward, (inner,), negation))
        return value

    for statement in statements:
        result, function, arguments, op = statement
        signs = [isinstance(a, Traced) and a.name in negated for a in arguments]
        if (
            op is negation
            and result.array
            and result.name not in kept
            and reads[result.name] == 1
            and not signs[0]
        ):
            negated[result.name] = arguments[0]
            continue
        if any(signs) and result.array:
            made = _without_negations(recorder, statement, signs, negated, kept)
            if made is not None:
                line, inner = made
                folded.append(line)
                if inner is not None:
                    negated[result.name] = inner
                continue
        folded.append((result, function, tuple(map(written, arguments)), op))
    return folded


def _without_negations(
    recorder: ArrayRecorder,
    statement: Statement,
    signs: list[bool],
    negated: dict[str, ArrayTraced],
    kept: set[str],
) -> tuple[Statement, ArrayTraced | None] | None:
    """``statement`` written on the values its negated arguments negate
    (``signs``): the line, and the value the result is the negation of
    where it is left negated (None: the line makes the result itself);
    None where the op table knows no exact way."""
    result, _, arguments, op = statement
    plain = tuple(negated[a.name] if sign else a for a, sign in zip(arguments, signs, strict=True))
    if all(position in op.odd_in for position, sign in enumerate(signs) if sign):
        if signs.count(True) % 2 == 0:  # (-a)*(-b) is a*b
            return (result, statement[1], plain, op), None
        if result.name in kept:
            return None
        recorder.count += 1
        inner = ArrayTraced(recorder, f"t{recorder.count}", True)
        return (inner, statement[1], plain, op), inner
    if op.with_last_negated is None or signs.count(True) != 1:
        return None
    other = OPS[op.with_last_negated]
    if signs[-1]:  # a + -b is a - b
        return (result, other.forward, plain, other), None
    if op.commutes:  # -a + b is b + -a, b - a
        return (result, other.forward, plain[::-1], other), None
    return None


def _allocated(
    recorder: ArrayRecorder, statements: list[Statement], results: list, kept: set[str]
) -> tuple[list[str], int]:
    """The lines of ``statements``, each ufunc writing into the caller's
    array for its result or a work array; and how many work arrays."""
    last_read = {}
    for index, (_, _, arguments, _) in enumerate(statements):
        for a in arguments:
            if isinstance(a, Traced):
                last_read[a.name] = index
    # A result made by a ufunc is made in the caller's array for it.
    destination = {}
    made_here = {t.name for t, function, _, _ in statements if t.array and writes_float64(function)}
    for position, v in enumerate(results):
        if isinstance(v, Traced) and v.name in made_here and v.name not in destination:
            destination[v.name] = f"o{position}"
    buffer_of: dict[str, int] = {}
    free: list[int] = []
    buffers = 0
    lines = []
    for index, (result, function, arguments, _) in enumerate(statements):
        if not (result.array and writes_float64(function)):
            # Its result may be one of its operands: they are never freed.
            kept.update(a.name for a in arguments if isinstance(a, Traced))
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
        # (the out array positionally: a keyword costs a ufunc more)
        lines.append(f"    {result.name} = {call}, {out})")
    return lines, buffers
