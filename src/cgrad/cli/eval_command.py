"""``cgrad eval``: the value and every partial derivative at one point."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated

import typer

from ..errors import UsageError
from ..views.json_documents import (
    document_pieces,
    evaluation_json,
    graph_json_pieces,
    passes_json_pieces,
    write_pieces,
)
from .application import app
from .arguments import (
    choose,
    input_values,
    read_command_line,
    split_wrt,
)
from .output import reporting, stdout_console, write_json
from .parameters import Expression, Json, Variables, Wrt

EXAMPLES = """
[bold]Examples[/bold]

  cgrad eval "(x+y)*z" --x 1 --y 2 --z 3
  cgrad eval "(x+y)*z" x=1 y=2 z=3 --json
  cgrad eval "sin(x*y) + x" x=0.5 y=2 --wrt x
  cgrad eval "x*y + sin(x*y)" x=0.5 y=2 --steps    [dim]# the chain rule, node by node[/dim]
  cgrad eval "x^3*y" x=2 y=1 --hessian
  cgrad eval @samples/neuron.cg x1=2 x2=0 w1=-3 w2=1 b=6.88
  cgrad eval "wrt*x" --var wrt=2 x=3    [dim]# wrt is also an option[/dim]
  cgrad eval -- "-x^2" x=3      [dim]# -- ends the options: the rest is EXPR and values[/dim]
"""


def hessian_at(
    function, inputs: dict[str, float], names: list[str], known: Sequence = ()
) -> tuple[dict, list]:
    """The Hessian at a point: each partial's formula, evaluated with its
    own gradient (a row per name); and the warnings of those evaluations
    (a formula takes the general case where a rule has a special one, so at
    such a point an entry can be NaN: it must not pass in silence).

    The warnings point at the user's program (a formula's nodes come from
    its nodes, or from their derivative rules), each said once: not again
    for each row, nor when ``known`` (the first derivatives' warnings)
    already says it."""
    matrix, warnings = {}, []
    said = {(w.type, w.node, w.in_rule) for w in known}
    for name in names:
        partial = function.derivative(name)
        row = partial.evaluate(inputs, wrt=names)
        matrix[name] = row.gradient
        for warning in row.warnings:
            if warning.type == "non_finite_input":  # said once already
                continue
            if warning.node is None:  # about a whole entry of the row
                key = (warning.type, name, warning.message)
                prefix = f"in the second derivatives, in the row of ∂f/∂{name}: "
            else:
                key = (warning.type, warning.node, warning.in_rule)
                prefix = "in the second derivatives, "
            if key not in said:
                said.add(key)
                warnings.append(replace(warning, message=prefix + warning.message))
    return matrix, warnings


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    epilog=EXAMPLES,
)
def eval_command(
    context: typer.Context,
    expression: Expression = None,
    variables: Variables = None,
    wrt: Wrt = None,
    mode: Annotated[
        str,
        typer.Option(
            metavar="reverse|forward",
            help="reverse: one backward pass; forward: one tangent pass per input.",
        ),
    ] = "reverse",
    json_output: Json = False,
    graph: Annotated[
        bool,
        typer.Option(
            "--graph",
            help="JSON: add every node of the graph. Text: draw up to 10,000 nodes of the "
            "tree instead of 100.",
        ),
    ] = False,
    steps: Annotated[
        bool,
        typer.Option(
            "--steps",
            help="Show the forward pass and the backward pass node by node: each local "
            "derivative, the gradient it multiplies, and the sums where paths meet.",
        ),
    ] = False,
    hessian: Annotated[
        bool,
        typer.Option(
            "--hessian",
            help="Also the second partial derivatives: each partial differentiated "
            "again, through its formula (see cgrad diff).",
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option("--full", help="Show every node of the tree or the steps, not the first 100."),
    ] = False,
) -> None:
    """Evaluate an expression at a point: its value, each partial derivative
    and the computational graph.

    Give each input a value as --NAME VALUE, --NAME=VALUE, NAME=VALUE, or
    --var NAME=VALUE. Values are decimal numbers, nan, inf or -inf.
    """
    with reporting(json_output):
        function, line, options = read_command_line(context, expression, variables)
        inputs = input_values(function, line, options, formula_hint=True)
        mode = choose("--mode", mode, ("reverse", "forward"))
        if steps and mode == "forward":
            raise UsageError(
                "--steps shows the backward pass, which --mode forward does not run",
                hint="leave out --mode forward",
            )
        result = function.evaluate(inputs, wrt=split_wrt(wrt), mode=mode)
        if steps:
            from ..explain import backward_steps, forward_steps  # only --steps needs them

            # Checked before anything is written: the steps are made as written.
            forward, backward = forward_steps(function, result), backward_steps(function, result)
        matrix = None
        if hessian:
            matrix, more = hessian_at(function, inputs, list(result.gradient), result.warnings)
            result = replace(result, warnings=result.warnings + tuple(more))
        if json_output:
            passes = (forward, backward) if steps else None
            _write_evaluation_json(function, inputs, result, matrix, graph, passes)
            return
        trace = None
        if steps:
            from ..explain import Passes

            trace = Passes(tuple(forward), tuple(backward))
        # Imported here, not at the top: a --json run never draws, and Rich
        # is a fifth of a cold start.
        from ..views.steps_text import STEPS_LIMIT, passes_report
        from ..views.text import GRAPH_TREE_LIMIT, TREE_LIMIT, evaluation_report

        limit = None if full else GRAPH_TREE_LIMIT if graph else TREE_LIMIT
        body = None
        if trace is not None:
            body = passes_report(function.graph, trace, None if full else STEPS_LIMIT)
        # Soft wrap: tree lines stay whole and the terminal folds them.
        stdout_console().print(
            evaluation_report(
                function.graph, inputs, result, tree_limit=limit, body=body, hessian=matrix
            ),
            soft_wrap=True,
        )


def _write_evaluation_json(function, inputs, result, matrix, graph: bool, passes) -> None:
    """The JSON document of ``eval --json``; with ``graph``, every node, and
    with ``passes`` (the forward and backward steps), the steps."""
    document = evaluation_json(function.graph, inputs, result, hessian=matrix)
    # The graph and the steps grow with the program: written as made.
    parts = {}
    if graph:
        parts["graph"] = graph_json_pieces(function.graph, result)
    if passes is not None:
        parts["steps"] = passes_json_pieces(function.graph, *passes)
    if parts:
        write_pieces(document_pieces(document, parts))
    else:
        write_json(document)
