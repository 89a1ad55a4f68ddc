"""What a node is called in every view: the name a binding gives it.

Plain data, no Rich, so that the drawings and JSON never load it.
"""

from __future__ import annotations

from ..autodiff.graph import Graph


def binding_names(graph: Graph) -> dict[int, str]:
    """Each bound node's name. The first binding of a node names it
    (``a = x; b = a`` binds one node twice)."""
    names: dict[int, str] = {}
    for name, node_id in graph.bindings.items():
        names.setdefault(node_id, name)
    return names
