"""Where each node of a graph goes in a drawing: a layered (Sugiyama-style)
layout, computed by cgrad, pure geometry with no drawing in it.

Inputs sit on the bottom layer and the output on the top one; every other
node one layer above its highest operand (its longest path from an input),
and a constant just below its lowest consumer, so that a literal ``2`` is
drawn beside the node that uses it. Each node is placed once, so a shared
node has several edges out. Within a layer the order comes from a few
barycenter sweeps (each node moved to the mean position of its neighbours
on the other layers, down and up in turn), which removes most crossings.
Long edges get no dummy nodes: a drawing of a few hundred nodes stays
readable without them, and they would make the work grow with the number
of layers each edge spans rather than with the number of edges.

Everything is a loop over the node or edge lists, a constant number of
times: linear in the size of the graph, apart from sorting each layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autodiff.graph import CONSTANT, Graph

# The box of a node and the room around it, in SVG user units (pixels).
NODE_WIDTH = 150
NODE_HEIGHT = 58
GAP_X = 40
GAP_Y = 70
MARGIN = 20
# Barycenter sweeps, each down then up: more changes little.
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Layout:
    """The position of every node: ``x[i]``, ``y[i]`` the top-left corner of
    node ``i``'s box, and the size of the whole drawing. ``layers`` lists
    the node ids of each layer, bottom first, in drawing order."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    layers: tuple[tuple[int, ...], ...]
    width: float
    height: float


def layer_numbers(graph: Graph) -> list[int]:
    """Per node its layer, 0 at the bottom: inputs on 0, the output on the
    top layer, a constant one below its lowest consumer."""
    ops, operands = graph.columns.ops, graph.columns.operands
    layer = [0] * len(ops)
    for node_id, used in enumerate(operands):
        if used:
            # Constants are still on 0 here, as inputs: they move below.
            layer[node_id] = 1 + max(layer[i] for i in used)
    top = max(layer, default=0)
    layer[graph.output] = top
    lowest = [top + 1] * len(ops)
    for node_id, used in enumerate(operands):
        for operand in used:
            lowest[operand] = min(lowest[operand], layer[node_id])
    for node_id, op in enumerate(ops):
        if op == CONSTANT and lowest[node_id] <= top:
            layer[node_id] = lowest[node_id] - 1
    return layer


def layout(graph: Graph) -> Layout:
    """The layered layout of ``graph`` (see the module's docstring)."""
    layer = layer_numbers(graph)
    count = max(layer, default=0) + 1
    layers: list[list[int]] = [[] for _ in range(count)]
    for node_id, number in enumerate(layer):
        layers[number].append(node_id)
    below, above = _neighbours(graph)
    # Each node's place in its layer, as a fraction of the layer's width,
    # so that layers of different sizes can be compared.
    place = [0.0] * len(layer)
    for nodes in layers:
        _set_places(nodes, place)
    for _ in range(SWEEPS):
        for number in range(1, count):
            _order_by_barycenter(layers[number], below, place)
        for number in range(count - 2, -1, -1):
            _order_by_barycenter(layers[number], above, place)
    widest = max((len(nodes) for nodes in layers), default=1)
    width = 2 * MARGIN + widest * NODE_WIDTH + (widest - 1) * GAP_X
    height = 2 * MARGIN + count * NODE_HEIGHT + (count - 1) * GAP_Y
    xs = [0.0] * len(layer)
    ys = [0.0] * len(layer)
    for number, nodes in enumerate(layers):
        row = len(nodes) * NODE_WIDTH + (len(nodes) - 1) * GAP_X
        left = (width - row) / 2
        top = height - MARGIN - NODE_HEIGHT - number * (NODE_HEIGHT + GAP_Y)
        for index, node_id in enumerate(nodes):
            xs[node_id] = left + index * (NODE_WIDTH + GAP_X)
            ys[node_id] = top
    return Layout(tuple(xs), tuple(ys), tuple(map(tuple, layers)), width, height)


def _neighbours(graph: Graph) -> tuple[list[list[int]], list[list[int]]]:
    """Per node, its operands (below it) and its consumers (above it)."""
    operands = graph.columns.operands
    below = [list(used) for used in operands]
    above: list[list[int]] = [[] for _ in operands]
    for node_id, used in enumerate(operands):
        for operand in used:
            above[operand].append(node_id)
    return below, above


def _set_places(nodes: list[int], place: list[float]) -> None:
    for index, node_id in enumerate(nodes):
        place[node_id] = (index + 0.5) / len(nodes)


def _order_by_barycenter(
    nodes: list[int], neighbours: list[list[int]], place: list[float]
) -> None:
    """Sort ``nodes`` (one layer, in place) by the mean place of their
    ``neighbours``; a node without any keeps its own place."""
    keys = []
    for node_id in nodes:
        near = neighbours[node_id]
        own = place[node_id]
        mean = sum(place[other] for other in near) / len(near) if near else own
        keys.append((mean, own, node_id))
    keys.sort()
    nodes[:] = [node_id for _, _, node_id in keys]
    _set_places(nodes, place)
