"""The loss of a fit as one program with the model: each row's loss, a
function of ``model`` (the model's output), ``target`` and the parameters.

The model's program and the loss's are joined into one text, the model's
last expression bound to the name ``model``, and compiled by
:func:`cgrad.compile`: one graph, so one forward and one backward pass give
the loss of every row and, summed over the rows by the engine
(``Function.evaluate(summed=True)``), its gradient by each parameter.

The named losses (``LOSSES``):

- ``squared``: ``(model - target)^2``, least squares.
- ``absolute``: ``abs(model - target)``, least absolute deviations.
- ``logistic``: ``softplus(model) - target*model``: the model gives the
  log-odds of a 0/1 target, and this is its negative log-likelihood,
  ``-log(sigmoid(model))`` for 1 and ``-log(1 - sigmoid(model))`` for 0,
  written so that it never takes the log of a rounded 0 (softplus is
  ``log(1 + exp(model))`` by ``logaddexp``, finite for any finite model).
"""

from __future__ import annotations

from ..errors import CgradError, Span, UsageError, join_names
from ..function import Function, compile
from ..parse.parser import parse
from ..parse.syntax import Binding

LOSSES = {
    "squared": "(model - target)^2",
    "absolute": "abs(model - target)",
    "logistic": "softplus(model) - target*model",
}
# The names a loss is written in.
MODEL = "model"
TARGET = "target"


def loss_text(loss: str) -> str:
    """The program of a named loss, or ``loss`` itself (an expression)."""
    return LOSSES.get(loss, loss)


def objective(model: Function, loss: str, column: str = TARGET) -> Function:
    """The model and the loss as one program whose output is the loss of a
    row; its inputs are the model's, ``target`` and the loss's own names.
    The loss is parsed once, in the joined program: an error in its part
    is said of the loss, at its own line and column. ``column``: the name
    of the target's column in the data, which the loss calls ``target``."""
    text = loss_text(loss)
    if text.strip().isidentifier() and text.strip() != MODEL:
        # A name alone can only be meant as a named loss: say which there are.
        raise _unknown_loss(text.strip())
    program = parse(model.source)
    taken = {MODEL, TARGET} & (
        set(model.inputs) | {s.name for s in program.statements if isinstance(s, Binding)}
    )
    if taken:
        name = sorted(taken)[0]
        raise UsageError(
            f"the model uses the name {name}, which the loss gives its own meaning",
            hint=f"rename {name} in the model",
        )
    head = model_head(model.source, program.statements[-1].span)
    try:
        joined = compile(f"{head}{text}\n")
    except CgradError as error:
        raise _joining_error(error, text, head) from None
    if not _reads(joined, MODEL):
        raise UsageError(
            f"the loss {text!r} does not use {MODEL}, the model's output",
            hint="for example --loss '(model - target)^2'",
        )
    _check_target(joined, text, column)
    return joined


def _check_target(joined: Function, text: str, column: str) -> None:
    """The rows give every loss the target's column as ``target``: a loss
    that binds that name, never reads it, or reads the column by its own
    name, cannot be fitted to the target, and would otherwise fail at its
    first row about a name it never wrote."""
    if column != TARGET and column in joined.inputs:
        raise UsageError(
            f"the loss {text!r} reads the target column {column} by its name: "
            f"the loss calls the target's value {TARGET}",
            hint=f"write {TARGET} for {column} in the loss",
        )
    if TARGET in joined.graph.bindings:
        raise UsageError(
            f"the loss {text!r} binds {TARGET}, the name of the target column's value",
            hint=f"use another name for that binding, and {TARGET} for the target",
        )
    if not _reads(joined, TARGET):
        raise UsageError(
            f"the loss {text!r} does not use {TARGET}, the value of the target column",
            hint="for example --loss '(model - target)^2'",
        )


def _unknown_loss(name: str) -> UsageError:
    from difflib import get_close_matches  # for a hint only

    close = get_close_matches(name.lower(), LOSSES, n=1, cutoff=0.6)
    return UsageError(
        f"there is no loss named {name!r}: the losses are {join_names(LOSSES)}",
        hint=f"did you mean {close[0]}?"
        if close
        else "name one of them, or write the loss as an expression in model and target, "
        "as in '(model - target)^2'",
    )


def model_head(source: str, last: Span) -> str:
    """The model's part of the joined program: its text with its last
    expression (``last``) bound to ``model``, and a line break."""
    return f"{source[: last.start]}{MODEL} = {source[last.start : last.end]}\n"


def _joining_error(error: CgradError, text: str, head: str) -> UsageError:
    """The error of the joined program in words about the loss: where the
    loss is wrong, at its own line and column; else (a name of the model
    bound again) how the two clash."""
    span = error.span
    if span is None or span.start < len(head) or error.type == "name_error":
        return UsageError(
            f"the model and the loss do not go together: {error.summary()}",
            hint="a binding of the loss may not reuse a name of the model",
        )
    line = span.line - head.count("\n")
    return UsageError(
        f"the loss {text!r} does not compile: {error.message} at line {line}, "
        f"column {span.column}" + (f" (hint: {error.hint})" if error.hint else ""),
        hint=f"name one of {', '.join(LOSSES)}, or write an expression in model and target",
    )


def _reads(joined: Function, name: str) -> bool:
    """Does the output of ``joined`` read its binding or input ``name``?"""
    graph = joined.graph
    bound = graph.bindings.get(name, graph.input_ids.get(name))
    operands = graph.columns.operands
    seen, stack = {graph.output}, [graph.output]
    while stack:
        node = stack.pop()
        if node == bound:
            return True
        for operand in operands[node]:
            if operand not in seen:
                seen.add(operand)
                stack.append(operand)
    return False
