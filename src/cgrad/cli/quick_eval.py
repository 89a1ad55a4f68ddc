"""The quick road of the commonest run, ``cgrad eval EXPR VALUES... --json``:
the same reading, evaluation and JSON as the ``eval`` command, without
Typer (whose import, and the building of the app, would be most of a cold
start beyond numpy's).

It takes only a line whose meaning is plain without Typer's parser:
``--json`` and no other option of ``eval``, no ``--``, no ``@FILE``, and no
token that Typer might read as a short option. Anything else, and any
error before the JSON is written, goes the full road, which says what is
wrong exactly as always (the quick road has said nothing yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..views.json_documents import (
    document_pieces,
    evaluation_json,
    graph_json_pieces,
    passes_json_pieces,
    write_pieces,
)
from .arguments import Options, input_values, read_tokens
from .output import write_json

if TYPE_CHECKING:
    from ..autodiff.evaluation import Result
    from ..explain import BackwardStep, ForwardStep, TangentStep
    from ..function import Function

    # The forward and the backward steps of --steps (or per input, the
    # steps of its tangent pass), made as they are read.
    StepIterators = tuple[
        Iterator[ForwardStep], Iterator[BackwardStep] | dict[str, Iterator[TangentStep]]
    ]

# eval's own options (tests/test_scale_startup.py holds this to the
# command's): a line with any of them but --json goes the full road.
EVAL_OPTIONS = frozenset(
    ["--var", "--wrt", "--mode", "--json", "--graph", "--steps", "--hessian", "--html", "--full"]
    + ["--help", "-h"]
)

# A token with one dash that Typer passes on as it is: a negative number
# (its parser reads -h in -1h as the help option, so no letter but those of
# a number, inf or nan).
_NEGATIVE = re.compile(r"-(?:[0-9.][0-9.eE+_-]*|inf|nan|infinity)", re.IGNORECASE)


def plain_tokens(arguments: list[str]) -> list[str] | None:
    """The tokens of ``eval``'s line that are not its options, in order, if
    the line is ``eval ... --json`` as the quick road takes it; else None."""
    if arguments[:1] != ["eval"] or "--json" not in arguments:
        return None
    given = []
    for token in arguments[1:]:
        if token == "--json":
            continue
        if token.startswith("--"):
            if token == "--" or token.split("=", 1)[0] in EVAL_OPTIONS:
                return None
        elif token.startswith("-") and not _NEGATIVE.fullmatch(token):
            return None
        elif token.startswith("@"):  # a file, or standard input read only once
            return None
        given.append(token)
    return given


def quick_eval(arguments: list[str]) -> int | None:
    """Run the command line ``arguments`` (after ``cgrad``) the quick way and
    give its exit status; None if it is not one for the quick road, or it
    failed before writing anything (the full road then runs it)."""
    given = plain_tokens(arguments)
    if given is None:
        return None
    try:
        function, line, options = read_tokens(given, None, Options(sorted(EVAL_OPTIONS), "eval"))
        inputs = input_values(function, line, options, formula_hint=True)
        result = function.evaluate(inputs)
    except Exception:  # noqa: BLE001 - the full road says what it is
        return None
    write_evaluation_json(function, inputs, result, None, False, None)
    return 0


def write_evaluation_json(
    function: Function,
    inputs: dict[str, float],
    result: Result,
    matrix: dict[str, dict[str, float]] | None,
    graph: bool,
    passes: StepIterators | None,
) -> None:
    """The JSON document of ``eval --json``; with ``graph``, every node, and
    with ``passes`` (the forward and backward steps), the steps."""
    document = evaluation_json(function.graph, inputs, result, hessian=matrix)
    # The graph and the steps grow with the program: written as made.
    parts: dict[str, Iterator[str]] = {}
    if graph:
        parts["graph"] = graph_json_pieces(function.graph, result)
    if passes is not None:
        parts["steps"] = passes_json_pieces(function.graph, *passes)
    if parts:
        write_pieces(document_pieces(document, parts))
    else:
        write_json(document)
