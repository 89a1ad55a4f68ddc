"""The JSON documents of SPEC section 3, as plain dicts.

Apart from the Rich renderers in render.py and render_passes.py: ``--json``
output and error objects never pay for importing Rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .numbers import json_number

if TYPE_CHECKING:
    from .engine import Result
    from .explain import Passes, Paths
    from .graph import Graph


def graph_json(graph: Graph, result: Result | None = None) -> dict:
    """The ``"graph"`` object of SPEC section 3."""
    values = result.node_values if result is not None else None
    gradients = result.node_gradients if result is not None else None
    nodes = []
    for node in graph.nodes:
        value = values[node.id] if values else None
        grad = gradients[node.id] if gradients else None
        nodes.append(
            {
                "id": node.id,
                "op": node.op,
                "inputs": list(node.operands),
                "label": graph.label(node.id),
                "value": json_number(value) if value is not None else None,
                "grad": json_number(grad) if grad is not None else None,
            }
        )
    return {"nodes": nodes, "output": graph.output}


def evaluation_json(
    graph: Graph,
    inputs: dict[str, float],
    result: Result,
    with_graph: bool = False,
    hessian: dict[str, dict[str, float]] | None = None,
) -> dict:
    """The ``cgrad eval --json`` object, keys in the order SPEC section 3 fixes
    (``"hessian"``, when asked for, after ``"warnings"``)."""
    document = {
        "expression": graph.source,
        "inputs": {name: json_number(value) for name, value in inputs.items()},
        "value": json_number(result.value),
        "gradient": {name: json_number(g) for name, g in result.gradient.items()},
        "warnings": [w.as_json() for w in result.warnings],
    }
    if hessian is not None:
        document["hessian"] = {
            name: {other: json_number(v) for other, v in row.items()}
            for name, row in hessian.items()
        }
    if with_graph:
        document["graph"] = graph_json(graph, result)
    return document


def error_json(error) -> dict:
    """The JSON error object of SPEC section 3."""
    return {
        "error": {
            "type": error.type,
            "message": error.summary(),
            "line": error.line,
            "column": error.column,
        }
    }


def passes_json(graph: Graph, passes: Passes) -> dict:
    """The ``"steps"`` object of ``eval --steps --json``."""
    return {
        "forward": [
            {
                "node": step.node,
                "op": step.op,
                "operands": list(step.operands),
                "label": graph.label(step.node),
                "value": json_number(step.value),
            }
            for step in passes.forward
        ],
        "backward": [
            {
                "node": step.node,
                "gradient": json_number(step.gradient),
                "terms": [json_number(term) for term in step.terms],
                "edges": [
                    {
                        "to": edge.operand,
                        "argument": edge.position,
                        "local": json_number(edge.local),
                        "product": json_number(edge.product),
                    }
                    for edge in step.edges
                ],
            }
            for step in passes.backward
        ],
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
