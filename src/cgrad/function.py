"""The compiled function of the public API: ``cgrad.compile(text)``."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, cast

import numpy as np

from .autodiff.evaluation import Mode, Result, evaluate, evaluate_floats, unbroadcast
from .autodiff.graph import Graph
from .autodiff.inputs import (
    check_values,
    check_wrt,
    checked_substitutions,
    chosen_wrt,
    given_values,
    input_name,
    inputs_text,
    whole_number,
)
from .autodiff.inputs import split_names as split_names  # (imported from here too)
from .autodiff.passes import Plan
from .autodiff.passes import plan as plan_for
from .autodiff.reading import graph_of_text
from .autodiff.runner import Runner
from .errors import InputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .autodiff.diagnostics import EvaluationWarning
    from .symbolic.formulas import Sym
    from .symbolic.printed import Formulas

# The symbolic modules (formulas, LaTeX) are imported where they are used:
# evaluating, which is what most runs do, has no use for them.


class Function:
    """A parsed and checked program, ready to evaluate at any point."""

    def __init__(
        self,
        graph: Graph,
        inputs: Sequence[str] | None = None,
        text: str | Callable[[], str] | None = None,
        of: str | Callable[[], str] | None = None,
    ) -> None:
        self.graph = graph
        # What a derivative is the derivative of ("of 'x*y' by x"), for its
        # repr: made when first asked for, as its text is.
        self._of = of
        # A derivative's text, or what prints it when first asked for: its
        # graph is built without it (and its source is the user's program).
        self._text = text
        # A derivative keeps the inputs of the function it came from, used
        # or not (d/dx of x*y is y, still a function of x and y).
        self._inputs = graph.inputs if inputs is None else tuple(inputs)
        self._input_set = frozenset(self._inputs)
        self._uses_every_input = self._inputs == graph.inputs
        # Runners (plans and their generated code) by the partials asked
        # for (None: all), made on first use.
        self._runners: dict[tuple[str, ...] | None, Runner] = {}

    def __getstate__(self) -> dict:
        # Plans hold the op table's lambdas, which do not pickle; they are
        # remade on first use after unpickling.
        state = {"graph": self.graph, "inputs": self._inputs}
        if self._text is not None:
            state["text"] = self.source
        if self._of is not None:
            state["of"] = self._of if isinstance(self._of, str) else self._of()
        return state

    def __setstate__(self, state: dict) -> None:
        Function.__init__(
            self, state["graph"], state.get("inputs"), state.get("text"), state.get("of")
        )

    @property
    def source(self) -> str:
        """The program's text; for a derivative, its formula."""
        if self._text is None:
            return self.graph.source
        if not isinstance(self._text, str):
            self._text = self._text()
        return self._text

    @property
    def inputs(self) -> tuple[str, ...]:
        """The free names, in order of first appearance in the text."""
        return self._inputs

    def __repr__(self) -> str:
        if self._of is None:
            return f"cgrad.compile({self.source!r})"
        # Not cgrad.compile(formula): that would be a function of the
        # formula's own names, not of the inputs it keeps.
        if not isinstance(self._of, str):
            self._of = self._of()
        return (
            f"<cgrad.Function {self.source!r}: the derivative {self._of}; inputs {self.inputs!r}>"
        )

    def evaluate(
        self,
        values: Mapping[str, object] | None = None,
        /,
        *,
        wrt: Sequence[str] | str | None = None,
        mode: Mode = "reverse",
        summed: bool = False,
        **named: object,
    ) -> Result:
        """The value and the partial derivatives at a point, or at many.

        Give values as keywords (``x=1``) or as a mapping (for names such as
        ``lambda``, ``mode`` or ``wrt`` that cannot be keywords here). Each
        value is a number or an array; arrays broadcast against each other.
        ``wrt`` limits the partials computed; ``mode="forward"`` computes
        them by forward mode, one pass per input. ``summed``: the partial by
        an input given as one number among arrays is the sum of its
        per-point partials (d sum(f) / d input, autograd's unbroadcast), a
        number, as a model's parameter among data columns needs.
        """
        if values is None and wrt is None and mode == "reverse" and not summed:
            made = self._runners.get(None)
            if made is not None and self._uses_every_input and named.keys() == self._input_set:
                # The usual call in a loop over points: nothing below can fail
                # for floats, and generated code allocates too little for the
                # collector to matter.
                result = evaluate_floats(made, named)
                if result is not None:
                    return result
        given = given_values(values, named)
        self.check_names(given)
        wrt = chosen_wrt(wrt, self._inputs)
        if mode not in ("reverse", "forward"):
            raise InputError(
                f"mode must be 'reverse' or 'forward', not {mode!r}", type="usage_error"
            )
        with collector_paused():
            result = evaluate(self._runner(wrt), given, mode, summed)
            if self._uses_every_input:
                return result
            # (check_names has found each value a number or an array of numbers)
            result = self._with_unused_inputs(result, cast("Mapping[str, ArrayLike]", given), wrt)
            return unbroadcast(result, given) if summed else result

    def _with_unused_inputs(
        self, result: Result, given: Mapping[str, ArrayLike], wrt: Sequence[str] | None
    ) -> Result:
        """The partials by inputs the graph does not use: zero everywhere."""
        shape = np.broadcast_shapes(*(np.shape(value) for value in given.values()))
        chosen = self._inputs if wrt is None else [n for n in self._inputs if n in set(wrt)]
        gradient: dict[str, float | np.ndarray] = {}
        for name in chosen:
            found = result.gradient.get(name)
            if found is None:
                found = 0.0 if shape == () else np.zeros(shape)
            elif shape != () and np.shape(found) != shape:
                found = np.array(np.broadcast_to(found, shape))
            gradient[name] = found
        value = result.value
        if shape != () and np.shape(value) != shape:
            value = np.array(np.broadcast_to(value, shape))
        return replace(result, value=value, gradient=gradient)

    def derivative(self, name: str) -> Function:
        """d self / d ``name`` as a compiled function of the same inputs,
        built by the backward pass run on formulas (see
        :mod:`cgrad.symbolic.formulas`); its ``source`` is the formula. Its graph is
        built from the formula's nodes, never by parsing its text, and its
        warnings point at the nodes of this function's program."""
        return self._derivative(input_name(name, self._inputs))

    def _derivative(self, name: str, made: Sym | None = None) -> Function:
        """:meth:`derivative` by a checked ``name``, from its formula ``made``
        already by ``formulas(self.graph, [name])`` if given."""
        from .symbolic.formulas import derivative_graph

        with collector_paused():
            graph, text = derivative_graph(self.graph, name, taken=self._inputs, root=made)
        # Its text, not self: a derivative need not keep its function alive.
        mine = self._text if self._text is not None else self.graph.source

        def of() -> str:
            return f"of {mine if isinstance(mine, str) else mine()!r} by {name}"

        return Function(graph, inputs=self._inputs, text=text, of=of)

    def hessian(
        self,
        values: Mapping[str, object] | None = None,
        /,
        wrt: Sequence[str] | str | None = None,
        known: Sequence[EvaluationWarning] = (),
        **named: object,
    ) -> tuple[dict[str, dict[str, float]], list[EvaluationWarning]]:
        """The second partial derivatives by ``wrt`` (all inputs if None) at
        one point, given as to :meth:`evaluate` (keywords or a mapping, one
        number per input): each partial's formula (:meth:`derivative`),
        evaluated with its own gradient, a row per name; and the warnings
        of those evaluations (a formula takes the general case where a rule
        has a special one, so at such a point an entry can be NaN: it must
        not pass in silence). Raises :class:`InputError` as evaluate does,
        and for an array.

        The warnings point at the user's program, each said once: not again
        for each row, nor when ``known`` (the first derivatives' warnings)
        already says it."""
        from .autodiff.diagnostics import in_second_derivatives, said_key
        from .autodiff.evaluation import input_warnings

        given = given_values(values, named)
        self.check_names(given)
        arrays = [name for name, value in given.items() if np.ndim(value) != 0]  # type: ignore[arg-type]
        if arrays:
            raise InputError(
                f"the Hessian is taken at one point: one number per input, not an array "
                f"(for {arrays[0]})",
                type="invalid_value",
            )
        names = chosen_wrt(wrt, self._inputs)
        names = list(self.inputs) if names is None else names
        matrix: dict[str, dict[str, float]] = {}
        said = {said_key(w) for w in known}
        # A non-finite input, as evaluate says it (the rows leave it out).
        warnings = [w for w in input_warnings(self.graph, given) if said_key(w) not in said]
        said.update(said_key(w) for w in warnings)
        for name in names:
            row = self._derivative(name).evaluate(given, wrt=names)
            matrix[name] = {other: float(g) for other, g in row.gradient.items()}
            for warning in in_second_derivatives(row.warnings, name):
                if said_key(warning, name) not in said:
                    said.add(said_key(warning, name))
                    warnings.append(warning)
        return matrix, warnings

    def formulas(
        self,
        wrt: Sequence[str] | str | None = None,
        substitutions: Mapping[str, float] | None = None,
        order: int = 1,
        numeric: bool = False,
    ) -> Formulas:
        """The function and its partial derivatives by ``wrt`` (all inputs if
        None) as programs in cgrad's language and as LaTeX, with the inputs
        in ``substitutions`` replaced by their values (what ``cgrad diff``
        prints). With ``order`` N >= 2, also every partial of order N once
        (by sorted multi-index: ∂³f/∂x²∂y, not ∂³f/∂x∂y∂x too), each the
        derivative of the graph of one of order N - 1, and for N = 2 the
        Hessian. ``order`` times the number of partials is at most
        :data:`ORDER_BOUND` for N >= 3. ``numeric``: ``pi``, ``e``
        and functions of numbers (``log(2)``) folded into numbers. Raises
        :class:`InputError` for a substitution of a name that is not an
        input, or of anything but one finite number."""
        wrt = chosen_wrt(wrt, self._inputs)
        order = cast(int, whole_number(order))  # (np.int64(2) too; check_order refuses the rest)
        # The collector paused, as while compiling: its rescans of the
        # growing heap of formula nodes made the work grow faster than them.
        with collector_paused():
            return self._formulas(wrt, substitutions, order, numeric)

    def _formulas(
        self,
        wrt: Sequence[str] | None,
        substitutions: Mapping[str, float] | None,
        order: int,
        numeric: bool,
    ) -> Formulas:
        from .symbolic.formulas import check_substitutions, formulas
        from .symbolic.printed import Formulas, Printed, check_order

        substitutions = checked_substitutions(
            {} if substitutions is None else substitutions, self._inputs, self._input_set
        )
        check_substitutions(substitutions)
        if wrt is not None:
            self.check_wrt(wrt)
        chosen = [n for n in self.inputs if wrt is None or n in set(wrt)]
        check_order(order, len(chosen))
        printed = Printed((*self.inputs, *self.graph.bindings))  # neither may be a t-name
        found = formulas(self.graph, chosen, substitutions, numeric)
        printed.add((), found.value)
        for name, derivative in found.derivatives.items():
            printed.add((name,), derivative)
        if order > 1:
            first = found.derivatives
            for index, root in self._partials_of_order(
                order, chosen, substitutions, numeric, first
            ):
                printed.add(index, root)
        statements = printed.statements
        hessian = None
        if order == 2:
            # Each entry printed once: the lower triangle is the upper's.
            hessian = {
                a: {b: statements[(a, b) if i <= j else (b, a)] for j, b in enumerate(chosen)}
                for i, a in enumerate(chosen)
            }
        return Formulas(
            statements[()],
            {n: statements[(n,)] for n in chosen},
            hessian,
            order,
            {i: s for i, s in statements.items() if len(i) == order and order > 1},
            printed,
        )

    def _partials_of_order(
        self,
        order: int,
        chosen: Sequence[str],
        substitutions: Mapping[str, float],
        numeric: bool = False,
        first: Mapping[str, Sym] | None = None,
    ) -> Iterator[tuple[tuple[str, ...], Sym]]:
        """Each partial of order ``order`` by ``chosen`` once, by sorted
        multi-index, with its node: each level's functions are the
        derivatives of the level before's (graphs, never text). ``first``:
        the first partials made already: by one name, nothing substituted,
        each is the formula derivative() would make again."""
        from .symbolic.formulas import formulas
        from .symbolic.printed import check_order_size

        if len(chosen) != 1 or substitutions or numeric:
            first = None
        position = {name: k for k, name in enumerate(chosen)}
        level: dict[tuple[str, ...], Function] = {(): self}
        for made in range(1, order):
            level = {
                index + (name,): function._derivative(
                    name, (first or {}).get(name) if not index else None
                )
                for index, function in level.items()
                for name in chosen[position[index[-1]] if index else 0 :]
            }
            check_order_size(made, sum(len(f.graph) for f in level.values()))
        for index, function in level.items():
            rest = chosen[position[index[-1]] :]
            found = formulas(function.graph, rest, substitutions, numeric)
            for name in rest:
                yield index + (name,), found.derivatives[name]

    def latex(self) -> str:
        """The function as LaTeX (the expression, then its shared parts
        after a "where"); for a derivative, its formula."""
        from .symbolic.formulas import formulas
        from .symbolic.latex import latex_formula, latex_statements

        value = formulas(self.graph, []).value
        return latex_formula(latex_statements(value, self._inputs))

    def _repr_latex_(self) -> str:
        """What Jupyter shows: :meth:`latex` as inline math."""
        return f"${self.latex()}$"

    def _repr_html_(self) -> str:
        """What Jupyter shows first: the expression, its inputs and its graph."""
        from .views.notebook import function_html  # only a notebook asks

        return function_html(self)

    def plan(self, wrt: Sequence[str] | str | None = None) -> Plan:
        """The plan of the passes for the partials by ``wrt`` (all inputs if
        None): its forward and backward steps, and which nodes the output
        reaches (see :class:`cgrad.autodiff.passes.Plan`). Made once per
        choice of partials and kept, as ``evaluate`` uses it; its kink
        tests are those that constants do not rule out. ``wrt`` is taken as
        :meth:`evaluate` takes it."""
        return self._runner(chosen_wrt(wrt, self._inputs)).plan

    def _runner(self, wrt: Sequence[str] | None) -> Runner:
        key = None if wrt is None else tuple(wrt)
        made = self._runners.get(key)
        if made is None:
            if len(self._runners) >= 64:  # a caller cycling through many choices
                self._runners.clear()
            made = self._runners[key] = Runner(plan_for(self.graph, wrt))
        return made

    def check_names(self, given: Mapping[str, object], missing_hint: str | None = None) -> None:
        """Raise :class:`InputError` unless ``given`` names exactly the
        inputs, each a number or an array of numbers, the arrays
        broadcasting together. ``missing_hint`` tells how to pass missing
        values, in the caller's terms."""
        check_values(given, self._inputs, self._input_set, missing_hint)

    def check_wrt(self, wrt: Sequence[str]) -> None:
        check_wrt(wrt, self._inputs)

    def inputs_text(self) -> str:
        return inputs_text(self._inputs)


class collector_paused:  # noqa: N801 - read as what the with statement does
    """Python's cyclic garbage collector paused for the block."""

    # Parsing, building, the passes and the views allocate millions of small
    # objects, which makes the cyclic collector rescan the growing heap again
    # and again, for nothing: the AST, the graph and the values hold no
    # reference cycles. A class, not @contextmanager, whose overhead would be
    # a noticeable part of evaluating one point.

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exception: object) -> None:
        if self.was_enabled:
            gc.enable()


def compile(text: str, origin: str | None = None) -> Function:  # noqa: A001 - the API's name
    """Parse and check ``text``; raise :class:`cgrad.ParseError` if it is
    wrong, :class:`cgrad.InputError` if it is no str."""
    if not isinstance(text, str):
        raise InputError(
            f"cgrad.compile expects the program as a str, not {type(text).__name__}",
            type="usage_error",
        )
    with collector_paused():
        return Function(graph_of_text(text, origin))


def compiled(function: object, taker: str) -> Function:
    """``function`` if it is a compiled function, compiled if it is a
    program's text; else the error that says what ``taker`` (the API
    function's name) takes."""
    if isinstance(function, str):
        return compile(function)
    if not isinstance(function, Function):
        raise InputError(
            f"{taker} takes a compiled function (cgrad.compile) or a program's text, "
            f"not {type(function).__name__}",
            type="usage_error",
        )
    return function
