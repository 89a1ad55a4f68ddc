"""The JSON documents of SPEC section 3: plain dicts, and the big ones
(the graph, the steps) as pieces of JSON text made as they are written.

Apart from the Rich views (``terminal_*.py``): ``--json`` output and error
objects never pay for importing Rich.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice, repeat
from json.encoder import encode_basestring as _string  # JSON text of a str, as ensure_ascii=False
from typing import TYPE_CHECKING

from ..numerals import json_number, json_numbers, json_text

if TYPE_CHECKING:
    from ..autodiff.evaluation import Result
    from ..autodiff.graph import Graph
    from ..check.checker import CheckResult
    from ..check.runs import CheckRun
    from ..derivation import Derivation, Formula
    from ..descent import Minimum, Step
    from ..errors import CgradError
    from ..explain import BackwardStep, Edge, ForwardStep, Paths, TangentStep
    from ..function import Formulas


def graph_json_pieces(graph: Graph, result: Result | None = None) -> Iterator[str]:
    """The ``"graph"`` object of SPEC section 3 as JSON text, as
    ``json.dumps`` writes it (with ``ensure_ascii=False``), in pieces of a
    few thousand nodes made as they are written: a million nodes' dicts held
    at once take gigabytes."""
    yield '{"nodes": ['
    yield from joined_pieces(_node_texts(graph, result))
    yield f'], "output": {graph.output}}}'


def _node_texts(graph: Graph, result: Result | None) -> Iterator[str]:
    values = result.node_values if result is not None else None
    gradients = result.node_gradients if result is not None else None
    ops, operands = graph.columns.ops, graph.columns.operands
    label = graph.label
    for node_id, op in enumerate(ops):
        value = _number_json(values[node_id]) if values else "null"
        grad = _number_json(gradients[node_id]) if gradients else "null"
        yield (
            f'{{"id": {node_id}, "op": {_string(op)}, "inputs": {_ids(operands[node_id])}, '
            f'"label": {_string(label(node_id))}, "value": {value}, "grad": {grad}}}'
        )


def passes_json_pieces(
    graph: Graph, forward: Iterable, later: Iterable | Mapping[str, Iterable]
) -> Iterator[str]:
    """The ``"steps"`` object of ``eval --steps --json``, of the steps
    ``forward`` and ``later`` (see :func:`cgrad.explain.forward_steps`):
    the backward steps, or per input the steps of its tangent pass
    (``"tangent"``), in pieces, as :func:`graph_json_pieces`."""
    yield '{"forward": ['
    yield from joined_pieces(map(_forward_text, forward, repeat(graph)))
    if not isinstance(later, Mapping):
        yield '], "backward": ['
        yield from joined_pieces(map(_backward_text, later, repeat(graph)), piece=_STEPS_PIECE)
        yield "]}"
        return
    yield '], "tangent": {'
    for index, (name, steps) in enumerate(later.items()):
        yield f"{', ' if index else ''}{_string(name)}: ["
        yield from joined_pieces(map(_tangent_text, steps, repeat(graph)), piece=_STEPS_PIECE)
        yield "]"
    yield "}}"


def _forward_text(step: ForwardStep, graph: Graph) -> str:
    return (
        f'{{"node": {step.node}, "op": {_string(step.op)}, "operands": {_ids(step.operands)}, '
        f'"label": {_string(graph.label(step.node))}, "value": {_number_json(step.value)}}}'
    )


def _backward_text(step: BackwardStep, graph: Graph) -> str:
    terms = ", ".join(map(_number_json, step.terms))
    edges = ", ".join(_edge_text("to", edge) for edge in step.edges)
    return (
        f'{{"node": {step.node}, "label": {_string(graph.label(step.node))}, '
        f'"gradient": {_number_json(step.gradient)}, "terms": [{terms}], "edges": [{edges}]}}'
    )


def _tangent_text(step: TangentStep, graph: Graph) -> str:
    edges = ", ".join(_edge_text("from", edge) for edge in step.edges)
    return (
        f'{{"node": {step.node}, "label": {_string(graph.label(step.node))}, '
        f'"tangent": {_number_json(step.tangent)}, "edges": [{edges}]}}'
    )


def _edge_text(end: str, edge: Edge) -> str:
    formula = "null" if edge.formula is None else _string(edge.formula)
    return (
        f'{{"{end}": {edge.operand}, "argument": {edge.position}, '
        f'"formula": {formula}, '
        f'"local": {_number_json(edge.local)}, "product": {_number_json(edge.product)}}}'
    )


def joined_pieces(texts: Iterable[str], separator: str = ", ", piece: int = 0) -> Iterator[str]:
    """``separator.join(texts)``, made and given in pieces of ``piece``
    texts (by default ``_PIECE``), so that a million nodes' texts are never
    held at once."""
    texts = iter(texts)
    size = piece or _PIECE
    # islice fills each batch in C: a loop appending costs more than joining.
    batch = list(islice(texts, size))
    if batch:
        yield separator.join(batch)
    while batch := list(islice(texts, size)):
        yield separator + separator.join(batch)


def document_pieces(document: dict, more: Mapping[str, Iterable[str]]) -> Iterator[str]:
    """The text of ``document`` with the keys of ``more`` added at its end,
    each value given as pieces of its JSON text, as ``json.dumps`` writes it
    (``ensure_ascii=False``), then a newline."""
    head = json.dumps(document, ensure_ascii=False, allow_nan=False)
    yield head[:-1]
    separator = ", " if document else ""
    for key, pieces in more.items():
        yield f"{separator}{_string(key)}: "
        yield from pieces
        separator = ", "
    yield "}\n"


# Texts (nodes, lines) per piece of streamed output: big enough that writing costs little
# per node, small enough that a piece stays in the CPU cache.
_PIECE = 4096
# A step with its edges' formulas is several nodes' worth of text: fewer per
# piece, so that its pieces are the size of the others.
_STEPS_PIECE = _PIECE // 4


def _ids(ids: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, ids))}]"


def _number_json(value) -> str:
    """``json.dumps(json_number(value))``: repr of a float, or a quoted
    NaN/Infinity/-Infinity; ``null`` for None."""
    return "null" if value is None else json_text(float(value))


def write_pieces(pieces: Iterable[str]) -> None:
    """Write text made in pieces (a big graph's drawing or JSON) to stdout
    as each is made, so that it is never held whole; then flush."""
    from ..collector import collector_paused  # the pieces make no reference cycles

    write = sys.stdout.write
    with collector_paused():
        for piece in pieces:
            write(piece)
    sys.stdout.flush()


def evaluation_json(
    graph: Graph,
    inputs: dict[str, float],
    result: Result,
    hessian: dict[str, dict[str, float]] | None = None,
) -> dict:
    """The ``cgrad eval --json`` object, keys in the order SPEC section 3 fixes
    (``"hessian"``, when asked for, after ``"warnings"``)."""
    document: dict[str, object] = {
        "expression": graph.source,
        "inputs": json_numbers(inputs),
        "value": json_number(float(result.value)),
        "gradient": {name: json_number(float(g)) for name, g in result.gradient.items()},
        "warnings": [w.as_json() for w in result.warnings],
    }
    if hessian is not None:
        document["hessian"] = {name: json_numbers(row) for name, row in hessian.items()}
    return document


def error_json(error: CgradError) -> dict:
    """The JSON error object of SPEC section 3."""
    return {
        "error": {
            "type": error.type,
            "message": error.summary(),
            "line": error.line,
            "column": error.column,
        }
    }


def paths_json(paths: Paths) -> dict:
    return {
        "input": paths.input,
        "gradient": json_number(paths.gradient),
        "count": paths.count,
        "paths": [
            {
                "nodes": list(path.nodes),
                "locals": [json_number(slope) for slope in path.locals],
                "product": json_number(path.product),
            }
            for path in paths.shown
        ],
    }


def formulas_json(
    source: str,
    substitutions: Mapping[str, float],
    found: Formulas,
) -> dict:
    """The ``cgrad diff --json`` object: each formula as its program's
    statements joined by ``; ``; for ``--order N`` >= 2 also ``order`` and
    ``partials``, each partial of order N once, ``{"wrt": [names, repeated],
    "formula": ...}`` in the order printed (and for N = 2 the whole Hessian
    as ``hessian[first][second]``)."""
    document: dict[str, object] = {
        "expression": source,
        "inputs": dict(substitutions),
        "value": "; ".join(found.value),
        "derivatives": {n: "; ".join(s) for n, s in found.derivatives.items()},
    }
    if (hessian := found.hessian) is not None:
        document["hessian"] = {
            a: {b: "; ".join(s) for b, s in row.items()} for a, row in hessian.items()
        }
    if found.order > 1:
        document["order"] = found.order
        document["partials"] = [
            {"wrt": list(index), "formula": "; ".join(s)} for index, s in found.partials.items()
        ]
    return document


def check_json(source: str, run: CheckRun) -> dict:
    """The ``cgrad check --json`` object, keys in the order of SPEC section 3,
    then ``warnings`` and, with random points, ``points``. ``ok`` is the
    verdict of the whole run (the exit status), random points included."""
    result = run.result
    document: dict[str, object] = {
        "expression": source,
        "inputs": json_numbers(result.inputs),
        "partials": _partials_json(result),
        "ok": run.passed,
        "warnings": [w.as_json() for w in result.warnings],
    }
    if run.around is not None:
        document["points"] = [
            {
                "inputs": json_numbers(point.inputs),
                "partials": _partials_json(point),
                "ok": point.ok,
                "warnings": [w.as_json() for w in point.warnings],
            }
            for point in run.around
        ]
    return document


def _partials_json(result: CheckResult) -> dict:
    # "ok" is null where finite differences could not judge; "verdict" says
    # why: "ok", "fail", "kink", "non-finite" or "cannot-judge".
    return {
        name: {
            "reverse": json_number(p.reverse),
            "forward": json_number(p.forward),
            "finite_difference": json_number(p.finite_difference),
            "abs_error": json_number(p.abs_error),
            "rel_error": json_number(p.rel_error),
            "ok": p.ok,
            "verdict": p.status,
            # why a partial was not judged, where that is known: as the text says it
            **({"reason": p.reason} if p.reason else {}),
        }
        for name, p in result.partials.items()
    }


def minimize_json(source: str, minimum: Minimum) -> dict:
    """The ``cgrad minimize --json`` object, keys in the order SPEC section 3
    fixes. Every number is finite: a diverged run reports its last finite
    point."""
    return {
        "expression": source,
        "method": minimum.method,
        "start": json_numbers(minimum.start),
        "point": json_numbers(minimum.point),
        "value": json_number(minimum.value),
        "gradient": json_numbers(minimum.gradient),
        "gradient_norm": json_number(minimum.gradient_norm),
        "steps": minimum.steps,
        "stopped": minimum.stopped,
        # A diverged run says why, and what to try, as the text output does.
        **(_divergence(minimum) if minimum.stopped == "diverged" else {}),
    }


def _divergence(minimum: Minimum) -> dict[str, str | None]:
    return {"reason": minimum.reason, "hint": minimum.advice("--lr")}


def step_json(step: Step) -> dict:
    """One line of ``minimize --trace``; ``"warnings"`` only when the
    evaluation had some, as where the numbers stopped being finite (SPEC
    section 4)."""
    line: dict[str, object] = {
        "step": step.step,
        "loss": json_number(step.loss),
        "point": json_numbers(step.point),
        "gradient": json_numbers(step.gradient),
    }
    if step.warnings:
        line["warnings"] = [w.as_json() for w in step.warnings]
    return line


def derivation_json(derivation: Derivation) -> dict:
    """The ``cgrad diff --steps --json`` object: the steps shown (``count``
    is of them all), each formula as its program's statements joined by
    ``; `` (null where it is too long to print), and the ``result``, the
    formula ``cgrad diff`` prints for the partial."""
    return {
        "expression": derivation.source,
        "inputs": dict(derivation.substitutions),
        "wrt": derivation.input,
        "steps": [
            {
                "node": step.node,
                "op": step.op,
                "text": step.text,
                "rule": step.rule,
                "statement": step.statement,
                "upstream": _formula_json(step.upstream),
                "terms": [
                    {"from": term.sender, "contribution": _formula_json(term.contribution)}
                    for term in step.terms
                ],
                "edges": [
                    {
                        "to": send.operand,
                        "argument": send.position,
                        "text": send.text,
                        "local": _formula_json(send.local),
                        "contribution": _formula_json(send.contribution),
                    }
                    for send in step.sends
                ],
            }
            for step in derivation.steps
        ],
        "count": derivation.count,
        "result": "; ".join(derivation.answer),
    }


def _formula_json(statements: Formula) -> str | None:
    return None if statements is None else "; ".join(statements)
