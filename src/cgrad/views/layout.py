"""Where each node of a graph goes in a drawing: a layered (Sugiyama-style)
layout, computed by cgrad, pure geometry with no drawing in it.

Inputs sit on the bottom layer and the output on the top one; every other
node one layer above its highest operand (its longest path from an input),
and a constant just below its lowest consumer, so that a literal ``2`` is
drawn beside the node that uses it. Each node is placed once, so a shared
node has several edges out. Within a layer the order comes from a few
barycenter sweeps (each node moved to the mean position of its neighbours
on the other layers, down and up in turn), which removes most crossings.
An edge that spans several layers passes through a bend point on each
layer between (Sugiyama's dummy nodes), which take part in the ordering, so
that long edges go round boxes rather than through them. Their number is
bounded (``BENDS_PER_NODE`` per node; edges past that are drawn straight),
so the work stays linear in the size of the graph. Then each row is moved
towards the mean place of its neighbours, a few sweeps down and up, keeping
its order and the gaps between boxes.

Everything is a loop over the node or edge lists, a constant number of
times: linear in the size of the graph, apart from sorting each layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autodiff.graph import CONSTANT, Graph

# The box of a node and the room around it, in SVG user units (pixels).
NODE_WIDTH = 150
NODE_HEIGHT = 58
BEND_WIDTH = 24
GAP_X = 30
GAP_Y = 70
MARGIN = 20
# Sweeps of ordering and of placing, each down then up: more change little.
SWEEPS = 4
BENDS_PER_NODE = 4


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes: ``x[i]``, ``y[i]`` the top-left corner of
    node ``i``'s box; ``bends[k]`` the points edge ``k`` (numbered as
    :func:`edges` numbers them) passes through on its way up, if any; and
    the size of the whole drawing."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    bends: dict[int, list[tuple[float, float]]]
    width: float
    height: float


def edges(graph: Graph) -> list[tuple[int, int, int]]:
    """Every edge as (operand, consumer, argument position), by consumer,
    then position: the order in which drawings number them."""
    return [
        (operand, node_id, position)
        for node_id, used in enumerate(graph.columns.operands)
        for position, operand in enumerate(used)
    ]


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


class _Sketch:
    """The layout while it is made: real nodes and bend points alike are
    vertices (the bends numbered after the nodes), each on a layer, with
    its neighbours below and above and its width."""

    def __init__(self, graph: Graph) -> None:
        self.layer = layer_numbers(graph)
        count = len(self.layer)
        self.below: list[list[int]] = [[] for _ in range(count)]
        self.above: list[list[int]] = [[] for _ in range(count)]
        self.width = [float(NODE_WIDTH)] * count
        self.chains: dict[int, list[int]] = {}  # edge index -> its bend vertices
        budget = BENDS_PER_NODE * count
        for index, (operand, node_id, _) in enumerate(edges(graph)):
            lower, upper = self.layer[operand], self.layer[node_id]
            chain = [operand]
            if 1 < upper - lower <= budget:
                budget -= upper - lower - 1
                for number in range(lower + 1, upper):
                    chain.append(self._vertex(number, BEND_WIDTH))
                self.chains[index] = chain[1:]
            chain.append(node_id)
            for low, high in zip(chain, chain[1:], strict=False):
                self.below[high].append(low)
                self.above[low].append(high)
        self.layers: list[list[int]] = [[] for _ in range(max(self.layer, default=0) + 1)]
        for vertex, number in enumerate(self.layer):
            self.layers[number].append(vertex)

    def _vertex(self, number: int, width: float) -> int:
        self.layer.append(number)
        self.below.append([])
        self.above.append([])
        self.width.append(width)
        return len(self.layer) - 1


def layout(graph: Graph) -> Layout:
    """The layered layout of ``graph`` (see the module's docstring)."""
    sketch = _Sketch(graph)
    layers = sketch.layers
    place = [0.0] * len(sketch.layer)  # a vertex's place in its row, from 0 to 1
    for row in layers:
        _set_places(row, place)
    for _ in range(SWEEPS):
        for row in layers[1:]:
            _order_by_barycenter(row, sketch.below, place)
        for row in reversed(layers[:-1]):
            _order_by_barycenter(row, sketch.above, place)
    center = _centers(sketch)
    left = min((center[v] - sketch.width[v] / 2 for v in range(len(center))), default=0.0)
    right = max((center[v] + sketch.width[v] / 2 for v in range(len(center))), default=0.0)
    shift = MARGIN - left
    height = 2 * MARGIN + len(layers) * NODE_HEIGHT + (len(layers) - 1) * GAP_Y

    def top(vertex: int) -> float:
        return height - MARGIN - NODE_HEIGHT - sketch.layer[vertex] * (NODE_HEIGHT + GAP_Y)

    count = len(graph)
    xs = tuple(center[v] + shift - NODE_WIDTH / 2 for v in range(count))
    bends = {
        index: [(center[v] + shift, top(v) + NODE_HEIGHT / 2) for v in chain]
        for index, chain in sketch.chains.items()
    }
    return Layout(xs, tuple(top(v) for v in range(count)), bends, right - left + 2 * MARGIN, height)


def _centers(sketch: _Sketch) -> list[float]:
    """The x of each vertex's center: rows side by side at first, then each
    row moved towards its neighbours' mean, its order and gaps kept."""
    center = [0.0] * len(sketch.layer)
    for row in sketch.layers:
        _pack(row, sketch.width, center, [0.0] * len(row))
    for _ in range(SWEEPS):
        for row in sketch.layers[1:]:
            _move_row(row, sketch.below, sketch.width, center)
        for row in reversed(sketch.layers[:-1]):
            _move_row(row, sketch.above, sketch.width, center)
    return center


def _move_row(
    row: list[int], neighbours: list[list[int]], width: list[float], center: list[float]
) -> None:
    wanted = []
    for vertex in row:
        near = neighbours[vertex]
        wanted.append(sum(center[v] for v in near) / len(near) if near else center[vertex])
    _pack(row, width, center, wanted)


def _pack(row: list[int], width: list[float], center: list[float], wanted: list[float]) -> None:
    """Put ``row``'s vertices as near ``wanted`` as their order and the gap
    between them allow: left to right at the least distance, then the whole
    row shifted by the mean of what each still lacks."""
    previous = None
    for vertex, x in zip(row, wanted, strict=True):
        if previous is not None:
            x = max(x, center[previous] + (width[previous] + width[vertex]) / 2 + GAP_X)
        center[vertex] = x
        previous = vertex
    if row:
        shift = sum(x - center[v] for v, x in zip(row, wanted, strict=True)) / len(row)
        for vertex in row:
            center[vertex] += shift


def _set_places(nodes: list[int], place: list[float]) -> None:
    for index, node_id in enumerate(nodes):
        place[node_id] = (index + 0.5) / len(nodes)


def _order_by_barycenter(nodes: list[int], neighbours: list[list[int]], place: list[float]) -> None:
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
