"""The shape of the source tree: imports run one way, no cycles, small
modules and functions, and a docstring on every module and class.

These read the source (with :mod:`ast`), not the running program, so a lazy
import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cgrad"

# Each module's layer: a module may import its own layer and those below,
# never one above. The library (everything below views) never imports views
# or cli; views never import cli.
LAYERS = [
    (
        "core",
        [
            "cgrad.errors",
            "cgrad.ops",
            "cgrad.numerals",
            "cgrad.lookalikes",
            "cgrad.composed_names",
            "cgrad.elementary",
            "cgrad.namespaces",
            "cgrad.extrema",
            "cgrad.collector",
        ],
    ),
    ("parse", ["cgrad.parse"]),
    ("autodiff", ["cgrad.autodiff"]),
    ("symbolic", ["cgrad.symbolic"]),
    ("api", ["cgrad.function", "cgrad.explain", "cgrad.derivation"]),
    ("tools", ["cgrad.check", "cgrad.descent", "cgrad.batch", "cgrad.fitting"]),
    ("facade", ["cgrad"]),
    ("views", ["cgrad.views"]),
    ("cli", ["cgrad.cli", "cgrad.__main__"]),
]

# The limits of the house style. The LALR loop is the one function allowed
# to be long: it is the parser's inner loop, kept flat on purpose.
MODULE_LINES = 450
FUNCTION_LINES = 60
LONG_ON_PURPOSE = {("cgrad.parse.lalr", "parse")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    best, best_length = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{module} has no layer: add it to LAYERS"
    return best


# Jupyter's display hooks (``_repr_html_`` and the like) on the library's
# objects: the one place the library may import a view, and only the
# notebook's, lazily (Jupyter calls them on the object; a script never
# does). The import runs upward by design, so it is checked apart, by
# test_display_hooks_import_only_the_notebook_view.
DISPLAY_HOOK = re.compile(r"_repr_\w+_")
NOTEBOOK_VIEW = "cgrad.views.notebook"


def display_hooks(tree: ast.AST) -> list[ast.FunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and DISPLAY_HOOK.fullmatch(node.name)
    ]


def imported_modules(module: str, hooks: bool = False) -> set[str]:
    """The cgrad modules ``module`` imports, anywhere in its source but its
    display hooks (``hooks``: only in those)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_hooks = {id(node) for hook in display_hooks(tree) for node in ast.walk(hook)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if (id(node) in in_hooks) != hooks:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cgrad"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("cgrad"):
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in MODULES else target)
    return {name for name in found if name in MODULES and name != module}


IMPORTS = {module: imported_modules(module) for module in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_one_way(module):
    upward = sorted(
        f"{target} ({LAYERS[layer_of(target)][0]})"
        for target in IMPORTS[module]
        if layer_of(target) > layer_of(module)
    )
    assert not upward, f"{module} ({LAYERS[layer_of(module)][0]}) imports upward: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_display_hooks_import_only_the_notebook_view(module):
    imported = imported_modules(module, hooks=True)
    assert imported <= {NOTEBOOK_VIEW}, f"{module}'s display hooks import {sorted(imported)}"
    if imported:
        # ...and only the library's own modules have them, never a view's.
        assert layer_of(module) < layer_of(NOTEBOOK_VIEW)


def test_no_import_cycles():
    # Iterative depth-first search with colours: a grey node reached again is a cycle.
    colour = dict.fromkeys(MODULES, "white")
    for start in MODULES:
        if colour[start] != "white":
            continue
        stack = [(start, iter(sorted(IMPORTS[start])))]
        colour[start] = "grey"
        while stack:
            module, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                colour[module] = "black"
                stack.pop()
            elif colour[target] == "grey":
                cycle = [name for name, _ in stack]
                cycle = cycle[cycle.index(target) :] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            elif colour[target] == "white":
                colour[target] = "grey"
                stack.append((target, iter(sorted(IMPORTS[target]))))


def test_the_layers_name_every_package():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_are_short(module):
    text = MODULES[module].read_text(encoding="utf-8")
    problems = []
    if text.count("\n") > MODULE_LINES:
        problems.append(f"{text.count(chr(10))} lines (limit {MODULE_LINES})")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            if length > FUNCTION_LINES and (module, node.name) not in LONG_ON_PURPOSE:
                problems.append(f"{node.name} is {length} lines (limit {FUNCTION_LINES})")
    assert not problems, f"{module}: " + "; ".join(problems)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_and_class_says_what_it_is_for(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    missing = [] if ast.get_docstring(tree) else ["the module"]
    missing += [
        f"class {node.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and not ast.get_docstring(node)
    ]
    assert not missing, f"{module}: no docstring on " + ", ".join(missing)
