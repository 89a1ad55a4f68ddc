"""Formulas at scale (``cgrad diff``): work that grows as the graph does.

The checks count work (formula nodes made, the canonical form's own count
of entries merged and sorted, the printer's nodes, the collector's runs),
never time."""

from __future__ import annotations

import gc

import pytest

import cgrad
from cgrad.symbolic import canonical, formulas, nodes, printing, refining

SHAPES = {
    "sum": lambda n: " + ".join(f"sin(x*{k})*y" for k in range(1, n + 1)),
    "chain": lambda n: "sin(" * n + "x" + ")*y + z" * n,
    "inputs": lambda n: " + ".join(f"x{k}*y" for k in range(1, n + 1)),
}
# The shapes and orders whose work is held linear: --order 2 of a sum of
# one input's terms (its Hessian is one formula as long as the sum).
WORK_CASES = {
    **{shape: (text, 1) for shape, text in SHAPES.items()},
    "sum, order 2": (lambda n: " + ".join(f"sin(x*{k})" for k in range(1, n + 1)), 2),
}


def _collections_during(work) -> int:
    runs = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            runs.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        work()
    finally:
        gc.callbacks.remove(seen)
    return len(runs)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_collector_does_not_run_while_formulas_are_made(shape):
    # Its rescans of the growing heap of formula nodes made diff slower
    # than linear; formula nodes make no reference cycles.
    function = cgrad.compile(SHAPES[shape](500))
    assert gc.isenabled()
    assert _collections_during(function.formulas) == 0
    assert gc.isenabled()  # and it runs again afterwards


def _work(monkeypatch: pytest.MonkeyPatch, text: str, order: int = 1) -> tuple[int, int, int]:
    """Formula nodes made, the canonical form's work, and characters
    printed (the text printer writes at least one for each node it lays
    out), for ``diff`` of ``text``."""
    made: list[int] = []
    work: list[int] = []
    real_made = nodes.Builder._made

    def counted_made(self, *arguments, **keywords):
        made.append(1)
        return real_made(self, *arguments, **keywords)

    def counted_canonical(builder, roots):
        simplest, done = canonical.canonical_counted(builder, roots)
        work.append(done)
        return simplest

    with monkeypatch.context() as patch:
        patch.setattr(nodes.Builder, "_made", counted_made)
        patch.setattr(formulas, "canonical", counted_canonical)
        found = cgrad.compile(text).formulas(order=order)
    statements = [found.value, *found.derivatives.values(), *found.partials.values()]
    return len(made), sum(work), sum(len(line) for lines in statements for line in lines)


@pytest.mark.parametrize("case", WORK_CASES)
def test_the_work_of_formulas_grows_linearly(monkeypatch, case):
    text, order = WORK_CASES[case]
    small = _work(monkeypatch, text(500), order)
    large = _work(monkeypatch, text(2_000), order)
    assert all(count > 0 for count in small)
    for before, after in zip(small, large, strict=True):
        assert after <= 5 * before  # 4 times the graph, with room for n log n sorting


def test_a_formula_is_printed_once_however_many_partials_it_is(monkeypatch):
    # Each of n inputs' partial of x1 + ... + xn is the one node 1: printed
    # n times over, its statements cost n walks and n bindings' searches.
    printed: list[int] = []
    real_statements = printing.TextPrinter.statements

    def counted_statements(self, root, prefix):
        printed.append(root.id)
        return real_statements(self, root, prefix)

    monkeypatch.setattr(printing.TextPrinter, "statements", counted_statements)
    found = cgrad.compile(" + ".join(f"x{k}" for k in range(1, 201))).formulas()
    assert set(found.derivatives) == {f"x{k}" for k in range(1, 201)}
    assert all(statements == ["1"] for statements in found.derivatives.values())
    assert len(printed) == 2  # the function, and the one partial


def test_the_second_order_of_one_input_makes_its_first_partial_once(monkeypatch):
    # The partial printed as the first order is the formula the second
    # order is the derivative of: it was made a second time for that.
    passes: list[int] = []
    real_backward = formulas.backward

    def counted_backward(*arguments, **keywords):
        passes.append(1)
        return real_backward(*arguments, **keywords)

    function = cgrad.compile(SHAPES["sum"](50).replace("*y", ""))
    monkeypatch.setattr(formulas, "backward", counted_backward)
    found = function.formulas(order=2)
    assert len(passes) == 2  # the first order, and the second
    monkeypatch.undo()
    # What the derivative of the first partial gives, made on its own.
    assert found.partials[("x", "x")] == function.derivative("x").formulas().derivatives["x"]
    assert found.hessian == {"x": {"x": found.partials[("x", "x")]}}


def test_a_formula_too_big_to_refine_is_not_sized_node_by_node(monkeypatch):
    # Whether a partial is past the size refining takes is a walk that
    # stops there, not the tree size of every node under it.
    sized: list[int] = []
    real_size = refining._tree_size

    def counted_size(node, operands):
        sized.append(1)
        return real_size(node, operands)

    monkeypatch.setattr(refining, "_tree_size", counted_size)
    function = cgrad.compile(SHAPES["sum"](2_000))
    assert sum(len(s) for s in function.formulas().derivatives["x"]) > 5 * refining._LARGEST_FORMULA
    assert sized == []


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_the_collector_does_not_run_while_diff_writes_its_output(cli, monkeypatch, output):
    # The formulas' nodes are alive while the output is made: each of the
    # collector's runs would rescan them all, for lines that make no cycles.
    from cgrad.cli import diff_command

    runs: list[int] = []
    for name in ("formulas_report", "write_styled_lines", "formulas_json", "write_json"):
        real = getattr(diff_command, name)

        def counted(*arguments, real=real, **keywords):
            done: list = []
            runs.append(_collections_during(lambda: done.append(real(*arguments, **keywords))))
            return done[0]

        monkeypatch.setattr(diff_command, name, counted)
    result = cli("diff", SHAPES["chain"](300), *output)
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") > (300 if not output else 0)
    assert runs == [0, 0]


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_the_collector_does_not_run_from_diffs_formulas_to_its_output(cli, monkeypatch, output):
    # Made while the collector was paused, the formulas' nodes are all in
    # its youngest generation: its first run after formulas() returned, as
    # the command went on to its output, scanned every one of them.
    from cgrad.cli import diff_command
    from cgrad.function import Function

    window: list[bool] = []  # from formulas() called to the output written
    runs: list[int] = []
    real_formulas = Function.formulas

    def formulas(self, *arguments, **keywords):
        window.append(True)
        return real_formulas(self, *arguments, **keywords)

    monkeypatch.setattr(Function, "formulas", formulas)
    for name in ("write_styled_lines", "write_json"):
        real = getattr(diff_command, name)

        def written(*arguments, real=real, **keywords):
            done = real(*arguments, **keywords)
            window.clear()
            return done

        monkeypatch.setattr(diff_command, name, written)

    def seen(phase: str, info: dict) -> None:
        if phase == "start" and window:
            runs.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        result = cli("diff", SHAPES["chain"](300), *output)
    finally:
        gc.callbacks.remove(seen)
    assert result.exit_code == 0, result.output
    assert window == [] and runs == []
    assert gc.isenabled()  # and it runs again afterwards


def test_diff_leaves_its_formulas_to_the_end_of_the_process(cli):
    # A last collection at exit walked all the formulas' nodes (a builder
    # and its nodes refer to each other) only to free memory.
    gc.unfreeze()
    try:
        result = cli("diff", SHAPES["chain"](50))
        assert result.exit_code == 0, result.output
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
