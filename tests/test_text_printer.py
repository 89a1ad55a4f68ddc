"""The text printer's walk (``printing.TEXT``, which reads a node's layout
once per op and writes operands that are names or leaves as it lays the
node out) writes what the generic walk every language shares writes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import cgrad
from cgrad.symbolic.formulas import formulas
from cgrad.symbolic.printing import TEXT, Printer
from test_oracle import programs

# Places that need parentheses, signs and numbers that print specially,
# bindings, and leaves as whole formulas.
PROGRAMS = [
    "x - (y - z)", "(x - y) - z", "x/(y*z)", "(x/y)/z", "x^-2", "2^-x", "-2^x", "(-2)^x",
    "x^(y^z)", "(x^y)^z", "-(x - y)", "-x*y", "x*-y", "min(x, -y) + max(-x, 2)", "x*1e300*1e300",
    "sqrt(x)*exp(-x^2)", "pi*x + e", "1/(1 + x)^2", "t = sin(x)*y; t*t + cos(t)", "x", "2",
    "sin(" * 30 + "x" + ")*y + z" * 30, " + ".join(f"sin(x*{k})" for k in range(1, 40)),
]  # fmt: skip


def _same_text(text: str) -> None:
    function = cgrad.compile(text)
    found = formulas(function.graph, list(function.inputs))
    generic = Printer()
    for root in (found.value, *found.derivatives.values()):
        assert TEXT.statements(root, "t") == generic.statements(root, "t")
        assert TEXT.expression(root, {}) == generic.expression(root, {})


@pytest.mark.parametrize("text", PROGRAMS)
def test_the_text_walk_writes_what_the_generic_walk_writes(text):
    _same_text(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(program=programs(symbolic=False))
def test_the_text_walk_writes_what_the_generic_walk_writes_for_any_program(program):
    _same_text(program.text)
