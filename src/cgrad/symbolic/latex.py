"""Symbolic nodes printed as LaTeX, for a paper or a notebook.

The walk and the parentheses are :class:`~cgrad.symbolic.printing.Printer`'s,
the text printer's: the same precedences decide where ``\\left( \\right)``
go, so the LaTeX of a formula has the structure of its text. What differs
is how a node is laid out: ``\\frac{a}{b}`` (which binds like a power,
needing no parentheses of its own but getting them as a base), ``a^{b}``,
``\\sqrt{a}``, ``\\left|a\\right|``, ``a \\cdot b``, ``\\sin`` and the other
functions LaTeX names, ``\\operatorname{...}`` for the rest. Names become
symbols (``x1`` is ``x_{1}``, ``alpha`` is ``\\alpha``; no two names of one
program alike: :func:`latex_names`), numbers lose
Python's exponent notation (``1e-05`` is ``10^{-5}``), and a binding's name
is subscripted (``t_{1}``). Nothing here recurses on the size of an
expression.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..autodiff.graph import CONSTANT, INPUT
from ..numerals import literal_text
from ..ops import OPS, POWER, PRODUCT, SUM, UNARY, Fixity
from .printing import Node, Printer, binding_prefix

# The constants of the language as a paper writes them.
NAMED_CONSTANTS = {"pi": r"\pi", "e": "e"}

# The functions LaTeX has a command for (the rest are \operatorname{...}).
_COMMANDS = {
    "sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "asin": r"\arcsin",
    "acos": r"\arccos", "atan": r"\arctan", "sinh": r"\sinh", "cosh": r"\cosh",
    "tanh": r"\tanh", "exp": r"\exp", "log": r"\log", "log2": r"\log_{2}",
    "log10": r"\log_{10}", "min": r"\min", "max": r"\max",
}  # fmt: skip


def _anywhere(operand: Node) -> tuple[Node, int, bool]:
    """An operand in a place of its own (braces, bars): no parentheses."""
    return (operand, SUM, False)


def _base(place: tuple[Node, int, bool]) -> tuple[Node, int, bool]:
    """An operand as a power's base: anything looser than an atom in
    parentheses, a power too (their order matters)."""
    return (place[0], POWER, True)


# The ops LaTeX writes in a form of their own, each given its operands'
# places (SymPy's _print_Pow, _print_Abs, ... in one table).
_LAYOUTS: dict[str, Callable[..., list]] = {
    "div": lambda a, b: [r"\frac{", a, "}{", b, "}"],
    "pow": lambda a, b: [_base(a), "^{", b, "}"],
    "sqrt": lambda a: [r"\sqrt{", a, "}"],
    "abs": lambda a: [r"\left|", a, r"\right|"],
    "logb": lambda a, base: [r"\log_{", base, r"}\left(", a, r"\right)"],
}

# Infix symbols as LaTeX writes them (the table's own symbol otherwise).
_SYMBOLS = {"*": r"\cdot", "<=": r"\leq", ">=": r"\geq", "!=": r"\neq", "==": "="}

_GREEK = frozenset(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
    "pi rho sigma tau upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi "
    "Sigma Upsilon Phi Psi Omega".split()
)
# Greek letters by their Unicode names (which spell lambda "lamda"); not
# pi, the constant's symbol (an input π stays as it is typed).
_GREEK_NAMES = {
    f"greek {case} letter {letter.lower()}": letter
    for letter in _GREEK - {"pi"}
    for case in ("small", "capital")
    if letter[0].isupper() == (case == "capital")
}
_GREEK_NAMES |= {"greek small letter lamda": "lambda", "greek capital letter lamda": "Lambda"}
_INDEXED = re.compile(r"([^\W\d_]+?)_?(\d+)")
_EXPONENT = re.compile(r"(-?[\d.]+)e([+-]\d+)")


def latex_name(name: str) -> str:
    """A name as a LaTeX symbol: ``x``, ``x_{1}`` for ``x1`` or ``x_1``,
    ``\\alpha``, and ``\\mathrm{rate}`` for a word. Two names can meet
    here (``x1`` and ``x_1``): :func:`latex_names` keeps them apart."""
    if (indexed := _INDEXED.fullmatch(name)) is not None:
        return f"{latex_name(indexed[1])}_{{{indexed[2]}}}"
    if name in _GREEK:
        return "\\" + name
    if len(name) == 1 and name != "_":
        # A Greek letter typed as one (α), as its command: not every TeX
        # engine takes the letter itself in math.
        greek = _GREEK_NAMES.get(unicodedata.name(name, "").lower())
        return _character(name) if greek is None else "\\" + greek
    return _spelled(name)


def _spelled(name: str) -> str:
    """A name as it is spelled, upright: ``\\mathrm{x\\_1}``."""
    if not name.isascii():
        return r"\mathrm{" + "".join(_character(char) for char in name) + "}"
    return r"\mathrm{" + name.replace("_", r"\_") + "}"


# Math accents by the combining mark that makes them (é is e and U+0301).
_ACCENTS = {
    "\u0300": "grave", "\u0301": "acute", "\u0302": "hat", "\u0303": "tilde",
    "\u0304": "bar", "\u0306": "breve", "\u0307": "dot", "\u0308": "ddot",
    "\u030a": "mathring", "\u030c": "check",
}  # fmt: skip


def _character(char: str) -> str:
    """One character of a name as pdflatex takes it in math, which has no
    Unicode: a Greek letter as its command (``{\\theta}``), an accented
    Latin letter as its accents over its letter (``{\\acute{e}}``), a π
    as ``{\\varpi}`` (``\\pi`` is the constant), any
    other non-ASCII letter as its code point (``{\\mathrm{U+0436}}``)."""
    if char == "_":
        return r"\_"
    if char.isascii():
        return char
    greek = _GREEK_NAMES.get(unicodedata.name(char, "").lower())
    if greek is not None:
        return f"{{\\{greek}}}"
    if char == "\u03c0":  # (not \pi, the constant's)
        return r"{\varpi}"
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and marks and all(mark in _ACCENTS for mark in marks):
        for mark in marks:
            base = f"\\{_ACCENTS[mark]}{{{base}}}"
        return f"{{{base}}}"
    return f"{{\\mathrm{{U+{ord(char):04X}}}}}"


def latex_names(names: Iterable[str]) -> dict[str, str]:
    """The LaTeX symbol of each of ``names`` (a program's names), no two
    alike: each its :func:`latex_name`, except where names meet (``x1`` and
    ``x_1`` are both ``x_{1}``, ``alpha`` and ``α`` both ``\\alpha``): then
    one keeps the symbol (one without an underscore, a Greek letter before
    a word) and the others are written as they are spelled
    (``\\mathrm{x\\_1}``), a form no other name takes. (The bindings a
    formula names, ``t_{1}``, are kept clear of the names by
    :func:`~cgrad.symbolic.printing.binding_prefix`.)"""
    symbols = {name: latex_name(name) for name in names}
    holders: dict[str, str] = {}  # a symbol: the name that keeps it
    for name, symbol in symbols.items():
        holder = holders.setdefault(symbol, name)
        if _keeps(name) < _keeps(holder):
            holders[symbol] = name
    for name, symbol in symbols.items():
        if holders[symbol] != name:
            symbols[name] = _spelled(name)
    return symbols


def _keeps(name: str) -> tuple[bool, bool]:
    """Which of two names that print alike keeps the symbol: the smaller."""
    return ("_" in name, name.isascii())


_NON_FINITE = {"Infinity": r"\infty", "-Infinity": r"-\infty", "NaN": r"\mathrm{NaN}"}


def latex_number(value: float) -> str:
    """A number as LaTeX: its shortest round-trip digits, a power of ten
    written as one (``1.5 \\cdot 10^{-5}``, not ``1.5e-05``)."""
    text = literal_text(value)
    if text in _NON_FINITE:
        return _NON_FINITE[text]
    if (power := _EXPONENT.fullmatch(text)) is None:
        return text
    mantissa, exponent = power[1], int(power[2])
    if mantissa in ("1", "-1"):
        return f"{mantissa[:-1]}10^{{{exponent}}}"
    return rf"{mantissa} \cdot 10^{{{exponent}}}"


class LatexPrinter(Printer):
    """Lays out a node as LaTeX; the walk and the parentheses are the base's."""

    opening, closing = r"\left(", r"\right)"
    folds_signs = False  # (its sums print as they always have)

    def __init__(self, names: Mapping[str, str] | None = None) -> None:
        # The symbols of the program's names (latex_names): a name is
        # written alike wherever it stands in one program's formulas.
        self.names = names or {}
        self.bound: dict[int, str] = {}  # the walk's bindings, by node id

    def binding_name(self, prefix: str, index: int) -> str:
        return latex_name(f"{prefix}{index}")

    def expression(self, root: Node, names: dict[int, str]) -> str:
        self.bound = names  # what parts() must not look into
        return super().expression(root, names)

    def _unbound_quotient(self, node: Node) -> bool:
        """A quotient written out where it stands (not a binding's name)."""
        return node.op == "div" and node.id not in self.bound

    def precedence(self, node: Node) -> int:
        # A fraction's bar groups it: it needs parentheses only as a base.
        if node.op == "div":
            return POWER
        if node.op == CONSTANT and node.name is None and "10^" in latex_number(node.value or 0.0):
            return UNARY  # 2 \cdot 10^{-5} is a product: a base needs parentheses
        return super().precedence(node)

    def parts(self, node: Node) -> list:
        if node.op == CONSTANT:
            assert node.value is not None  # a constant node has its value
            if node.name is not None:  # a named constant: pi or e
                return [NAMED_CONSTANTS.get(node.name, node.name)]
            return [latex_number(node.value)]
        if node.op == INPUT:
            assert node.name is not None  # an input node has its name
            return [self.names.get(node.name) or latex_name(node.name)]
        if node.op == "div" and self._unbound_quotient(node.operands[0]):
            # (a/b)/c as one fraction, a over b times c: a fraction in a
            # numerator reads badly (1/log(2)/x).
            (a, b), c = node.operands[0].operands, node.operands[1]
            return [r"\frac{", (a, SUM, False), "}{", (b, PRODUCT, False), r" \cdot ",
                    (c, PRODUCT, True), "}"]  # fmt: skip
        special = _LAYOUTS.get(node.op)
        if special is not None:
            return special(*(_anywhere(operand) for operand in node.operands))
        notation = OPS[node.op].notation
        if notation.fixity is Fixity.CALL:
            return self._call(node.op, node.operands)
        return [
            _spaced(part) if isinstance(part, str) else (part.operand, part.need, part.strict)
            for part in notation.layout(node.operands)
        ]

    @staticmethod
    def _call(op: str, operands: Sequence[Node]) -> list:
        name = _COMMANDS.get(op, rf"\operatorname{{{op}}}")
        parts: list = [name + r"\left("]
        for index, operand in enumerate(operands):
            if index:
                parts.append(", ")
            parts.append((operand, SUM, False))
        return [*parts, r"\right)"]


def _spaced(symbol: str) -> str:
    bare = symbol.strip()
    written = _SYMBOLS.get(bare, bare)
    return f" {written} " if symbol != bare else written


LATEX = LatexPrinter()


def latex_statements(
    root: Node,
    taken: Sequence[str] = (),
    prefix: str | None = None,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """``root`` as LaTeX, as :func:`~cgrad.symbolic.printing.program_statements`
    gives it as text: ``t_{1} = ...`` for each shared part, then the
    expression (the same bindings, the same names, subscripted). ``taken``:
    the program's names; ``prefix`` and ``names``, when given, are
    ``binding_prefix(taken)`` and ``latex_names(taken)``, worked out once by
    a caller that prints many formulas."""
    printer = LatexPrinter(latex_names(taken) if names is None else names)
    return printer.statements(root, binding_prefix(taken) if prefix is None else prefix)


def latex_formula(statements: Sequence[str]) -> str:
    """One formula from its LaTeX statements: the expression, then its
    bindings after a ``where``."""
    *bindings, expression = statements
    if not bindings:
        return expression
    return rf"{expression} \quad\text{{where}}\quad " + r",\; ".join(bindings)


def derivative_title(wrt: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    """``\\frac{\\partial^{3} f}{\\partial x^{2} \\partial y}`` for the
    partial by ``wrt`` (names in order, repeats counted); ``f`` for none.
    ``names``: the symbols of the program's names (:func:`latex_names`)."""
    symbols = names or {}
    if not wrt:
        return "f"
    counts = {name: wrt.count(name) for name in dict.fromkeys(wrt)}
    power = "" if len(wrt) == 1 else f"^{{{len(wrt)}}}"
    below = " ".join(
        rf"\partial {symbols.get(n) or latex_name(n)}" + ("" if k == 1 else f"^{{{k}}}")
        for n, k in counts.items()
    )
    return rf"\frac{{\partial{power} f}}{{{below}}}"


__all__ = [
    "LATEX",
    "LatexPrinter",
    "derivative_title",
    "latex_formula",
    "latex_name",
    "latex_names",
    "latex_number",
    "latex_statements",
]

# For the tests: the op names the tables above are keyed by.
LATEX_OP_NAMES = frozenset(_COMMANDS) | frozenset(_LAYOUTS)
