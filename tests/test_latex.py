"""The LaTeX printer (symbolic/latex.py): golden layouts of each kind of
node on hand-made nodes (so that they do not depend on what simplifying
makes of a formula), parentheses by the text printer's precedences, names
and numbers as symbols, and every formula it prints well formed: balanced
braces, two groups after each \\frac, no Python float notation, and
converted by latex2mathml with no command left unknown."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

import latex2mathml.converter
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.autodiff.graph import CONSTANT, INPUT
from cgrad.ops import OPS
from cgrad.symbolic.formulas import formulas
from cgrad.symbolic.latex import (
    LATEX,
    LATEX_OP_NAMES,
    derivative_title,
    latex_formula,
    latex_name,
    latex_names,
    latex_number,
    latex_statements,
)
from cgrad.symbolic.printing import TEXT
from test_oracle import RELAXED, programs

_ids = itertools.count()


@dataclass(frozen=True)
class N:
    """A node as printing reads one, made by hand."""

    op: str
    operands: tuple[N, ...] = ()
    value: float | None = None
    name: str | None = None
    id: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", next(_ids))


def v(name: str) -> N:
    return N(INPUT, name=name)


def c(value: float) -> N:
    return N(CONSTANT, value=value)


def op(name: str, *operands: N) -> N:
    return N(name, operands)


x, y, z = v("x"), v("y"), v("z")


def latex(node: N) -> str:
    return LATEX.expression(node, {})


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (op("add", x, op("mul", c(2), y)), r"x + 2 \cdot y"),
        (op("sub", x, op("sub", y, z)), r"x - \left(y - z\right)"),
        (op("sub", op("sub", x, y), z), r"x - y - z"),
        (op("mul", op("add", x, y), z), r"\left(x + y\right) \cdot z"),
        (op("div", op("add", x, y), op("mul", x, z)), r"\frac{x + y}{x \cdot z}"),
        (op("mul", x, op("div", c(1), y)), r"x \cdot \frac{1}{y}"),
        (op("pow", op("div", x, y), c(2)), r"\left(\frac{x}{y}\right)^{2}"),
        (op("pow", x, op("add", y, c(1))), r"x^{y + 1}"),
        (op("pow", op("pow", x, y), z), r"\left(x^{y}\right)^{z}"),
        (op("pow", x, op("pow", y, z)), r"x^{y^{z}}"),
        (op("pow", c(-2), x), r"\left(-2\right)^{x}"),
        (op("neg", op("pow", x, c(2))), r"-x^{2}"),
        (op("pow", op("neg", x), c(2)), r"\left(-x\right)^{2}"),
        (op("neg", op("add", x, y)), r"-\left(x + y\right)"),
        (op("sqrt", op("add", c(1), op("pow", x, c(2)))), r"\sqrt{1 + x^{2}}"),
        (op("abs", op("sub", x, y)), r"\left|x - y\right|"),
        (op("sin", op("mul", x, y)), r"\sin\left(x \cdot y\right)"),
        (op("log", x), r"\log\left(x\right)"),
        (op("logb", x, c(2)), r"\log_{2}\left(x\right)"),
        (op("log10", x), r"\log_{10}\left(x\right)"),
        (op("exp", op("neg", x)), r"\exp\left(-x\right)"),
        (op("atan", x), r"\arctan\left(x\right)"),
        (op("sigmoid", x), r"\operatorname{sigmoid}\left(x\right)"),
        (op("relu", x), r"\operatorname{relu}\left(x\right)"),
        (op("max", x, y, z), r"\max\left(x, y, z\right)"),
        (op("atan2", y, x), r"\operatorname{atan2}\left(y, x\right)"),
        (op("mul", c(1e-5), x), r"10^{-5} \cdot x"),
        (op("pow", c(2.5e-7), x), r"\left(2.5 \cdot 10^{-7}\right)^{x}"),
        # A quotient over something: one fraction, not one in a numerator.
        (op("div", op("div", c(1), op("log", c(2))), x), r"\frac{1}{\log\left(2\right) \cdot x}"),
        (
            op("div", op("div", x, op("add", y, z)), op("sub", y, z)),
            r"\frac{x}{\left(y + z\right) \cdot \left(y - z\right)}",
        ),
    ],
)
def test_each_kind_of_node_is_laid_out_as_latex(node, expected):
    assert latex(node) == expected
    assert_well_formed(expected)


def test_parentheses_are_where_the_text_printer_puts_them():
    # One walk for both: where the text has "(", the LaTeX has "\left("
    # (a call's own parentheses included), except around a fraction, whose
    # bar groups it, and an exponent, whose braces do.
    for node in (
        op("sub", x, op("sub", y, z)),
        op("mul", op("add", x, y), op("neg", z)),
        op("pow", op("neg", x), c(2)),
        op("sin", op("mul", op("add", x, y), z)),
        op("max", op("neg", op("sub", x, y)), op("mul", op("add", x, y), z)),
    ):
        assert TEXT.expression(node, {}).count("(") == latex(node).count(r"\left(")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x", "x"),
        ("x1", "x_{1}"),
        ("x_12", "x_{12}"),
        ("x01", "x_{01}"),
        ("alpha", r"\alpha"),
        ("theta2", r"\theta_{2}"),
        ("rate", r"\mathrm{rate}"),
        ("learning_rate", r"\mathrm{learning\_rate}"),
        # A Greek letter typed as one: its command (pdflatex takes no α).
        ("α", r"\alpha"),
        ("λ2", r"\lambda_{2}"),
        ("Γ", r"\Gamma"),
        ("π", r"{\varpi}"),  # \pi is the constant's; pdflatex takes no π
    ],
)
def test_names_are_symbols(name, expected):
    assert latex_name(name) == expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # Two names that meet: the other one spelled, its θ as \theta.
        (["θ_1", "θ1"], [r"\mathrm{{\theta}\_1}", r"\theta_{1}"]),
        (["é", "é2"], [r"{\acute{e}}", r"{\acute{e}}_{2}"]),
        (["café", "ṓ"], [r"\mathrm{caf{\acute{e}}}", r"{\acute{\bar{o}}}"]),
        (["ж", "жx"], [r"{\mathrm{U+0436}}", r"\mathrm{{\mathrm{U+0436}}x}"]),
    ],
)
def test_names_beyond_ascii_print_as_latex_pdflatex_takes(names, expected):
    # θ_1 beside θ1 was \mathrm{θ\_1}: pdflatex takes no Unicode in math.
    assert list(latex_names(names).values()) == expected
    for symbol in expected:
        assert symbol.isascii()
        assert_well_formed(symbol)


def test_an_underscore_alone_is_spelled_out():
    # A bare "_" is LaTeX's subscript: it would not compile.
    assert latex_name("_") == r"\mathrm{\_}"
    assert_well_formed(latex_name("_"))


def test_two_names_that_would_print_alike_are_kept_apart():
    # x1 and x_1 are both x_{1} alone; in one program the one spelled with
    # an underscore is written as it is spelled.
    assert latex_names(["x_1", "y", "x1"]) == {
        "x_1": r"\mathrm{x\_1}",
        "y": "y",
        "x1": "x_{1}",
    }
    assert latex_names(["x_1", "y"]) == {"x_1": "x_{1}", "y": "y"}
    # A Greek letter keeps its symbol before the word that names it.
    assert latex_names(["alpha", "α", "alpha1", "α1", "alpha_1"]) == {
        "alpha": r"\mathrm{alpha}",
        "α": r"\alpha",
        "alpha1": r"\mathrm{alpha1}",
        "α1": r"\alpha_{1}",
        "alpha_1": r"\mathrm{alpha\_1}",
    }
    found = cgrad.compile("x_1^2 + x1*y").formulas(wrt=["x_1", "x1"])
    assert found.latex_lines() == [
        r"f &= \mathrm{x\_1}^{2} + x_{1} \cdot y",
        r"\frac{\partial f}{\partial \mathrm{x\_1}} &= 2 \cdot \mathrm{x\_1}",
        r"\frac{\partial f}{\partial x_{1}} &= y",
    ]
    assert_well_formed(found.latex_text())


def test_a_binding_never_prints_as_a_name_of_the_program():
    # Bindings t1 beside an input t_1 would both be t_{1}, a binding
    # reading as defining itself.
    function = cgrad.compile("a = sin(t_1*x); exp(a) + a*a")
    for statements in (function.formulas().latex(), [function.latex()]):
        assert not any(s.startswith("t_{1} =") for s in statements), statements
        assert "t_{1} =" not in statements[-1], statements
    assert function.formulas().latex() == [
        r"u_{1} = \sin\left(t_{1} \cdot x\right)",
        r"\exp\left(u_{1}\right) + u_{1} \cdot u_{1}",
    ]


_LOOKALIKES = [
    *("x", "x1", "x_1", "x01", "x_01", "t1", "t_1", "t_2", "_", "x_"),
    *("alpha", "α", "alpha1", "alpha_1", "α1", "α_1"),
]


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.sampled_from(_LOOKALIKES), min_size=1, max_size=6, unique=True))
def test_the_names_of_a_program_and_its_bindings_print_as_different_symbols(names):
    text = f"a = sin({' + '.join(names)}); a*exp(a)"  # a: a shared part, a binding
    found = cgrad.compile(text).formulas()
    symbols = latex_names(names)
    assert len(set(symbols.values())) == len(names)
    bindings = {s.split(" = ")[0] for s in found.latex()[:-1]}
    assert bindings and not bindings & set(symbols.values())


def test_a_formula_is_asked_for_by_a_name_or_by_names_in_any_order():
    found = cgrad.compile("x^3*y + sin(x)").formulas(order=2)
    assert found.latex("x") == found.latex(["x"]) == found.latex(("x",))
    assert found.latex(["y", "x"]) == found.latex(["x", "y"])
    assert found.latex() == [r"x^{3} \cdot y + \sin\left(x\right)"]


@pytest.mark.parametrize(
    ("wrt", "message"),
    [
        ("xy", "there is no formula for the partial by [xy] here"),
        (["z"], "there is no formula for the partial by [z] here"),
        (["x", "x", "y"], "there is no formula for the partial by [x, x, y] here"),
    ],
)
def test_a_formula_that_is_not_there_is_an_input_error_naming_those_that_are(wrt, message):
    found = cgrad.compile("x^3*y").formulas(order=2)
    with pytest.raises(cgrad.InputError) as raised:
        found.latex(wrt)
    assert raised.value.message == message
    assert raised.value.hint == (
        "these are the function, () or [], and the partials by [x], [y], [x, x], [x, y] and [y, y]"
    )
    assert raised.value.type == "unknown_input"
    with pytest.raises(cgrad.InputError) as alone:
        cgrad.compile("x^3*y").formulas(wrt=[]).latex("x")
    assert alone.value.hint == "these are the function, () or [] alone"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, "3"),
        (0.5, "0.5"),
        (-2.0, "-2"),
        (1e-05, "10^{-5}"),
        (-1e-05, "-10^{-5}"),
        (1.5e300, r"1.5 \cdot 10^{300}"),
        (0.6931471805599453, "0.6931471805599453"),
    ],
)
def test_numbers_lose_python_exponent_notation(value, expected):
    assert latex_number(value) == expected


@pytest.mark.parametrize(
    ("wrt", "expected"),
    [
        ((), "f"),
        (("x",), r"\frac{\partial f}{\partial x}"),
        (("x", "x"), r"\frac{\partial^{2} f}{\partial x^{2}}"),
        (("x", "x", "y"), r"\frac{\partial^{3} f}{\partial x^{2} \partial y}"),
        (("x1", "y"), r"\frac{\partial^{2} f}{\partial x_{1} \partial y}"),
    ],
)
def test_derivative_titles(wrt, expected):
    assert derivative_title(wrt) == expected
    assert_well_formed(expected)


def test_shared_parts_are_subscripted_bindings_after_a_where():
    function = cgrad.compile("a = sin(x)*y; a + exp(a)")
    statements = latex_statements(formulas(function.graph, []).value, function.inputs)
    assert statements == [r"t_{1} = \sin\left(x\right) \cdot y", r"t_{1} + \exp\left(t_{1}\right)"]
    assert latex_formula(statements) == (
        r"t_{1} + \exp\left(t_{1}\right) \quad\text{where}\quad t_{1} = \sin\left(x\right) \cdot y"
    )


def test_a_bound_quotient_in_a_numerator_stays_a_binding():
    function = cgrad.compile("a = sin(x)/y; a/z + exp(a)")
    assert function.latex() == (
        r"\frac{t_{1}}{z} + \exp\left(t_{1}\right) \quad\text{where}\quad "
        r"t_{1} = \frac{\sin\left(x\right)}{y}"
    )


def test_a_function_shows_as_latex_in_a_notebook():
    function = cgrad.compile("sin(x)*y")
    assert function.latex() == r"\sin\left(x\right) \cdot y"
    assert function._repr_latex_() == r"$\sin\left(x\right) \cdot y$"
    derivative = function.derivative("y")
    assert derivative.latex() == r"\sin\left(x\right)"
    assert derivative._repr_latex_() == r"$\sin\left(x\right)$"


def test_formulas_show_as_one_aligned_block():
    found = cgrad.compile("x*y + z^3").formulas(wrt=["x", "y"])
    assert found.latex_text() == "\n".join(
        [
            r"\begin{aligned}",
            r"f &= x \cdot y + z^{3} \\",
            r"\frac{\partial f}{\partial x} &= y \\",
            r"\frac{\partial f}{\partial y} &= x",
            r"\end{aligned}",
        ]
    )
    assert found._repr_latex_() == f"${found.latex_text()}$"
    assert_well_formed(found.latex_text())


def test_the_named_constants_print_as_a_paper_writes_them():
    assert cgrad.compile("sin(pi*x)").derivative("x").latex() == (
        r"\pi \cdot \cos\left(\pi \cdot x\right)"
    )
    assert cgrad.compile("e^x").derivative("x").latex() == "e^{x}"
    assert latex(N(CONSTANT, value=3.141592653589793, name="pi")) == r"\pi"


def test_every_op_prints_as_latex_that_converts():
    for name, entry in OPS.items():
        arity = entry.arity if entry.arity is not None else 3
        node = op(name, *(v(n) for n in ("x", "y", "z")[:arity]))
        assert_well_formed(latex(node))


@settings(max_examples=150, deadline=None, suppress_health_check=RELAXED)
@given(program=programs(symbolic=False, depth=4))
def test_every_derivative_prints_as_well_formed_latex(program):
    found = cgrad.compile(program.text).formulas(order=2)
    assert_well_formed(found.latex_text())


# --------------------------------------------------------------------------
# What well formed means.

_FLOAT_REPR = re.compile(r"\d[eE][+-]?\d")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_KNOWN = {
    r"\frac", r"\sqrt", r"\left", r"\right", r"\cdot", r"\partial", r"\quad", r"\text",
    r"\operatorname", r"\mathrm", r"\begin", r"\end", r"\sin", r"\cos", r"\tan",
    r"\arcsin", r"\arccos", r"\arctan", r"\sinh", r"\cosh", r"\tanh", r"\exp", r"\log",
    r"\min", r"\max", r"\alpha", r"\theta", r"\leq", r"\geq", r"\neq", r"\pi", r"\infty",
    r"\acute", r"\bar", r"\varpi",
}  # fmt: skip


def assert_well_formed(text: str) -> None:
    depth = 0
    for character in text.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(character, 0)
        assert depth >= 0, text
    assert depth == 0, text
    assert text.count(r"\left") == text.count(r"\right"), text
    for match in re.finditer(r"\\frac", text):
        assert _groups_after(text, match.end()) >= 2, text
    assert not _FLOAT_REPR.search(text), text
    plain = text.replace(r"\infty", "").replace(r"\mathrm{NaN}", "")
    assert "inf" not in plain and "nan" not in plain.lower(), text
    assert set(_COMMAND.findall(text)) <= _KNOWN, text
    mathml = latex2mathml.converter.convert(text)
    # A command latex2mathml does not know is kept as text, backslash and all.
    assert "\\" not in mathml, mathml


def _groups_after(text: str, start: int) -> int:
    groups, depth = 0, 0
    for character in text[start:]:
        if depth == 0 and character != "{":
            break
        depth += {"{": 1, "}": -1}.get(character, 0)
        if depth == 0:
            groups += 1
            if groups == 2:
                break
    return groups


def test_the_latex_tables_name_only_ops_of_the_table():
    # A renamed or removed op must not leave a LaTeX form behind.
    assert LATEX_OP_NAMES <= set(OPS)


PDFLATEX = shutil.which("pdflatex")


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
def test_latex_with_names_beyond_ascii_compiles_with_pdflatex(tmp_path):
    # θ_1 beside θ1 printed \mathrm{θ\_1}, é printed é: pdflatex stops there.
    program = "θ_1*θ1 + é + ж*café + ṓ*x_1 + x1"
    done = subprocess.run(
        [sys.executable, "-m", "cgrad", "diff", program, "--format", "latex"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    document = tmp_path / "formulas.tex"
    document.write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n\\[\n"
        + done.stdout
        + "\\]\n\\end{document}\n",
        encoding="utf-8",
    )
    compiled = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", document.name],
        cwd=tmp_path, capture_output=True, text=True, errors="replace",
        stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip
    errors = [line for line in compiled.stdout.splitlines() if line.startswith("!")]
    assert (compiled.returncode, errors) == (0, [])
    assert (tmp_path / "formulas.pdf").exists()
