"""A cold start imports what its run needs (bench/run.py, W4): the modules
that evaluating one point from the command line has no use for stay out."""

from __future__ import annotations

from test_cli import _modules_imported

# Modules, or packages (every module under them), that `cgrad eval --json`
# at one point must not import: each is imported where it is used.
NOT_FOR_ONE_POINT = (
    "cgrad.symbolic",  # formulas: diff, derivative, hessian, latex
    "cgrad.derivation",
    "cgrad.autodiff.codegen",  # generated code: only once it pays
    "cgrad.autodiff.tracing",
    "cgrad.autodiff.array_code",
    "cgrad.autodiff.chunks",  # arrays in slices
    "cgrad.batch",
    "cgrad.descent",
    "cgrad.check",
    "cgrad.views.terminal_reports",
    "orjson",  # columns of numbers
    "rich",
    "lark",
)


def _offending(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_FOR_ONE_POINT)
    )


def test_eval_json_at_one_point_imports_nothing_it_does_not_use():
    modules = _modules_imported("eval", "(x+y)*z", "--x", "1", "--y", "2", "--z", "3", "--json")
    assert "cgrad.cli.eval_command" in modules  # the run did happen
    assert _offending(modules) == []


def test_the_check_sees_a_heavy_module_that_comes_back():
    # diff does need the formulas: the list would catch them on eval.
    modules = _modules_imported("diff", "x*y", "--json")
    assert "cgrad.symbolic.formulas" in _offending(modules)
