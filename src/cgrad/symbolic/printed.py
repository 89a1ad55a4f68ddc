"""Formulas as ``cgrad diff`` shows them: the :class:`Formulas` record that
:meth:`cgrad.Function.formulas` returns, each formula as text (a program's
statements) and as LaTeX, and the bound on the order asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InputError, join_names
from ..namespaces import apply_rule
from ..ops import Op
from .canonical import canonical
from .latex import derivative_title, latex_formula, latex_names, latex_statements
from .nodes import Builder, Namespace, Sym
from .printing import binding_prefix, program_statements

# The most a request for derivatives of order 3 or more may ask: its order
# times the number of inputs it differentiates by. Each order differentiates
# the graphs of the one before, and the partials of order N by k inputs
# number (k + N - 1)! / (N! (k - 1)!): the bound keeps both in hand.
ORDER_BOUND = 12


def check_order(order: int, inputs: int) -> None:
    """Raise :class:`InputError` unless derivatives of ``order`` by
    ``inputs`` inputs are within :data:`ORDER_BOUND`."""
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise InputError(f"the order of a derivative must be a whole number >= 1, not {order!r}")
    if order > 2 and order * inputs > ORDER_BOUND:
        raise InputError(
            f"derivatives of order {order} by {inputs} input{'' if inputs == 1 else 's'} "
            "are too many to print: "
            f"the order times the number of inputs can be at most {ORDER_BOUND}",
            hint="pick fewer inputs with --wrt, or a lower order",
        )


# The most nodes the graphs of one order's partials may hold before the
# next order is made from them: each order is several times the one
# before, so past this the next would take minutes and gigabytes.
LARGEST_ORDER_GRAPHS = 300_000


def check_order_size(order: int, nodes: int) -> None:
    """Raise :class:`InputError` when the partials of ``order`` (made so
    far on the way to a higher order) hold more than
    :data:`LARGEST_ORDER_GRAPHS` nodes."""
    if nodes > LARGEST_ORDER_GRAPHS:
        raise InputError(
            f"the partials of order {order} already hold {nodes:,} nodes, "
            f"more than the {LARGEST_ORDER_GRAPHS:,} the next order may be made from: "
            "the derivatives asked for are too big to print",
            hint="ask for a lower order, or fewer inputs with --wrt",
        )


def printed_local(
    builder: Builder, op: Op, out: Sym, arguments: Sequence[Sym], position: int
) -> Sym:
    """d ``out`` / d argument ``position`` of ``op`` (``out`` is ``op`` of
    ``arguments``), from the table's rule as formulas print it, simplified
    as an answer is: ``1 + tan(u)^2``, not ``1 + t1*t1``."""
    rule = op.printed_rule(op.derivative(position))
    local = apply_rule(rule, Namespace(builder), out, arguments)
    return canonical(builder, [builder.lift(local)])[0]


class Printed:
    """Formulas printed as text as they are found, by multi-index, their
    nodes kept for LaTeX (printed only when asked for); the binding prefix
    worked out once (it reads every input's name: per formula, n partials
    would cost n^2)."""

    def __init__(self, taken: Sequence[str]) -> None:
        self.taken = tuple(taken)
        self.prefix = binding_prefix(taken)
        self.statements: dict[tuple[str, ...], list[str]] = {}
        self.roots: dict[tuple[str, ...], Sym] = {}
        self._latex_names: dict[str, str] | None = None
        # Printed statements by the id of their root, the root kept with
        # them so that its id is not reused.
        self._texts: dict[int, tuple[Sym, list[str]]] = {}

    @property
    def latex_names(self) -> dict[str, str]:
        """The LaTeX symbols of the names, worked out once (as the prefix)."""
        if self._latex_names is None:
            self._latex_names = latex_names(self.taken)
        return self._latex_names

    def text(self, root: Sym) -> list[str]:
        """``root``'s statements, printed once a root: many partials are
        one node (each input's partial of a sum of inputs is the one 1)."""
        known = self._texts.get(id(root))
        if known is None:
            known = self._texts[id(root)] = (
                root,
                program_statements(root, self.taken, self.prefix),
            )
        return list(known[1])

    def add(self, index: tuple[str, ...], root: Sym) -> None:
        self.statements[index] = self.text(root)
        self.roots[index] = root


@dataclass(frozen=True)
class Formulas:
    """Formulas in cgrad's language, each a program given as its statements
    (bindings ``t1 = ...`` for shared parts, then the expression): the
    function, its partial derivatives by name, for the second order the
    Hessian's as ``hessian[first][second]``, and for an ``order`` N >= 2
    every partial of order N once in ``partials``, by sorted multi-index
    (``("x", "x", "y")``). :meth:`latex` gives each as LaTeX, and in
    Jupyter the whole shows as LaTeX."""

    value: list[str]
    derivatives: dict[str, list[str]]
    hessian: dict[str, dict[str, list[str]]] | None = None
    order: int = 1
    partials: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    # What the LaTeX is printed from: the nodes of the formulas above.
    printed: Printed | None = field(default=None, repr=False, compare=False)

    def latex(self, wrt: str | Sequence[str] = ()) -> list[str]:
        """The formula of the partial by ``wrt`` (a name, or names in any
        order; ``()`` for the function) as LaTeX statements: ``t_{1} = ...``,
        then the expression. :class:`~cgrad.errors.InputError` for a partial
        these formulas do not hold."""
        if self.printed is None:
            raise ValueError("these formulas were made without their nodes")
        printed = self.printed
        index = self._index(wrt)
        return latex_statements(
            printed.roots[index], printed.taken, printed.prefix, printed.latex_names
        )

    def _index(self, wrt: str | Sequence[str]) -> tuple[str, ...]:
        """``wrt``'s key among the formulas: names in the order of the
        inputs (a partial's order does not matter), or an InputError that
        says which partials there are."""
        names = (wrt,) if isinstance(wrt, str) else tuple(wrt)
        assert self.printed is not None  # latex() checks it first
        if names in self.printed.roots:  # (without the sort below: n partials, n^2)
            return names
        position = {name: k for k, name in enumerate(self.derivatives)}
        index = tuple(sorted(names, key=lambda name: position.get(name, -1)))
        if index in self.printed.roots:
            return index
        asked = "the function" if not names else f"the partial by [{', '.join(names)}]"
        known = [f"[{', '.join(i)}]" for i in self.printed.roots if i]
        partials = f", and the partials by {join_names(known)}" if known else " alone"
        raise InputError(
            f"there is no formula for {asked} here",
            hint=f"these are the function, () or []{partials}",
            type="unknown_input",
        )

    def latex_lines(self) -> list[str]:
        """One ``title &= formula`` line per formula, in the order printed:
        the function, the first partials, those of the order asked for."""
        wanted = [(), *((n,) for n in self.derivatives), *self.partials]
        symbols = self.printed.latex_names if self.printed is not None else None
        return [f"{derivative_title(i, symbols)} &= {latex_formula(self.latex(i))}" for i in wanted]

    def latex_text(self) -> str:
        """Every formula in one LaTeX ``aligned`` block."""
        lines = " \\\\\n".join(self.latex_lines())
        return f"\\begin{{aligned}}\n{lines}\n\\end{{aligned}}"

    def _repr_latex_(self) -> str:
        """What Jupyter shows: :meth:`latex_text` as math."""
        return f"${self.latex_text()}$"


__all__ = [
    "LARGEST_ORDER_GRAPHS",
    "ORDER_BOUND",
    "Formulas",
    "Printed",
    "check_order",
    "check_order_size",
    "printed_local",
]
