"""docs/json.md lists every warning type and error type the code can emit,
and no other: the code's are read from its source (each is a literal where
it is made), the docs' from the page's lists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "cgrad"
PAGE = ROOT / "docs" / "json.md"

TYPE_NAME = re.compile(r"[a-z]+(?:_[a-z]+)*")
# A record's error type has two words or more (a pair ("csv", "...") is not one).
RECORD_TYPE = re.compile(r"[a-z]+(?:_[a-z]+)+")


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _called(node: ast.Call) -> str | None:
    function = node.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)


def _error_types(node: ast.AST) -> set[str]:
    """An error's type where it is set: ``type="..."`` in a call, a class's
    ``type = "..."``, and a parameter ``type`` defaulting to one."""
    values: list[ast.AST | None] = []
    if isinstance(node, ast.Call):
        values = [k.value for k in node.keywords if k.arg == "type"]
    elif isinstance(node, ast.ClassDef):
        values = [
            statement.value
            for statement in node.body
            if isinstance(statement, ast.Assign)
            and any(getattr(target, "id", None) == "type" for target in statement.targets)
        ]
    elif isinstance(node, ast.arguments):
        positional = node.posonlyargs + node.args
        padded = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
        pairs = [*zip(positional, padded, strict=True)]
        pairs += zip(node.kwonlyargs, node.kw_defaults, strict=True)
        values = [default for argument, default in pairs if argument.arg == "type"]
    return {text for text in map(_text, values) if text is not None}


def _warning_type(node: ast.AST, path: Path) -> str | None:
    """A warning's type where it is made: EvaluationWarning's first
    argument, or that of the diagnostics' ``add``."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    called = _called(node)
    if called == "EvaluationWarning" or (called == "add" and path.name == "diagnostics.py"):
        return _text(node.args[0])
    return None


def _record_error_type(node: ast.AST) -> str | None:
    """A batch record's error where it is made: a pair (type, message)."""
    if isinstance(node, ast.Tuple) and len(node.elts) == 2:
        kind, message = node.elts
        if isinstance(message, ast.JoinedStr) or _text(message) is not None:
            text = _text(kind)
            return text if text is not None and RECORD_TYPE.fullmatch(text) else None
    return None


def _code_types() -> tuple[set[str], set[str], set[str]]:
    errors: set[str] = set()
    warnings: set[str] = set()
    records: set[str] = set()
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            errors |= _error_types(node)
            warning = _warning_type(node, path)
            if warning is not None:
                warnings.add(warning)
            record = _record_error_type(node) if "batch" in path.parts else None
            if record is not None:
                records.add(record)
            if isinstance(node, ast.Call):
                # The base's own type, "error", is never emitted: nothing
                # raises the base itself.
                assert _called(node) != "CgradError", f"{path} raises the base CgradError"
    return errors - {"error"}, warnings, records


def _listed(text: str) -> set[str]:
    return {name for name in re.findall(r"`([^`]+)`", text) if TYPE_NAME.fullmatch(name)}


def _page_types() -> tuple[set[str], set[str], set[str]]:
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    warnings = re.search(r"`type` is one of (.*?); `node`, `line` and `column`", page)
    errors = re.search(r"Types: (.*?)\. A \[cgrad batch\]", page)
    records = re.search(r"has these types, and also (.*?) \(a record", page)
    assert warnings and errors and records, "docs/json.md's lists of types have moved"
    return _listed(warnings.group(1)), _listed(errors.group(1)), _listed(records.group(1))


def test_the_docs_list_every_warning_type_and_no_other():
    _, code, _ = _code_types()
    listed, _, _ = _page_types()
    assert "underflow" in code and "kink" in code  # the scan finds them
    assert listed == code


def test_the_docs_list_every_error_type_and_no_other():
    code, _, _ = _code_types()
    _, listed, _ = _page_types()
    assert "input_error" in code and "syntax_error" in code  # the scan finds them
    assert listed == code


def test_the_docs_list_every_batch_records_error_type_and_no_other():
    errors, _, records = _code_types()
    _, listed_errors, also = _page_types()
    assert "invalid_json" in records  # the scan finds them
    assert records <= listed_errors | also
    assert also == records - errors
