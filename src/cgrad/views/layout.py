"""Where each node of a graph goes in a drawing: a layered (Sugiyama-style)
layout, computed by cgrad, pure geometry with no drawing in it.

The output sits on the top layer and every other node just below its
lowest consumer (as high as it can go), so that most edges span one layer:
a term of a long sum is drawn beside the addition that uses it, not on the
bottom row with a long edge up, and a literal ``2`` beside its user. A node
nobody uses sits one layer above its highest operand. Each node is placed
once, so a shared node has several edges out. Within a layer the order comes from a few
barycenter sweeps (each node moved to the mean position of its neighbours
on the other layers, down and up in turn), which removes most crossings.
An edge that spans several layers passes through a bend point on each
layer between (Sugiyama's dummy nodes), which take part in the ordering, so
that long edges go round boxes rather than through them; the bend points
belong to the operand, one chain up to its highest consumer that all its
long edges share, so that a node used on many layers costs one bend per
layer, not one per edge and layer. Their number is bounded
(``BENDS_PER_NODE`` per node, shortest chains first; an operand past that
has its edges drawn straight), so the work stays linear in the size of the
graph. Then each row is moved
towards the mean place of its neighbours, a few sweeps down and up, keeping
its order and the gaps between boxes.

A gap between rows that many edges cross is made taller (up to three
times), so that the labels of its edges find room beside them.

Everything is a loop over the node or edge lists, a constant number of
times: linear in the size of the graph, apart from sorting each layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autodiff.graph import Graph

# The box of a node and the room around it, in SVG user units (pixels).
NODE_WIDTH = 150
# Monospace at 11px is about 6.6px a character: a box holds LABEL_CHARS of
# label, and the value and gradient on lines of their own.
NODE_HEIGHT = 72
BEND_WIDTH = 24
GAP_X = 30
GAP_Y = 70
# A gap crossed by more than CROWDED_GAP edges grows by GAP_PER_EDGES for
# each CROWDED_GAP more (to three times its height at most).
CROWDED_GAP = 8
GAP_PER_EDGES = 22
MARGIN = 20
# Sweeps of ordering and of placing, each down then up: more change little.
SWEEPS = 4
BENDS_PER_NODE = 16


@dataclass(frozen=True, slots=True)
class Layout:
    """Where everything goes: ``x[i]``, ``y[i]`` the top-left corner of
    node ``i``'s box; ``trunks[i]`` the points the trunk of operand ``i``
    passes through on its way up, if it has one (two a row crossed: where it
    enters the row and where it leaves it, straight up beside the boxes);
    ``bends[k]`` the point edge ``k`` (numbered as :func:`edges` numbers
    them) leaves its operand's trunk at, if it does (else it goes straight
    from its operand); and the size of the whole drawing."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    trunks: dict[int, list[tuple[float, float]]]
    bends: dict[int, tuple[float, float]]
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


def edge_numbers(graph: Graph) -> dict[tuple[int, int], int]:
    """Each edge's index in :func:`edges`, by (consumer, argument position)."""
    return {(node_id, position): index for index, (_, node_id, position) in enumerate(edges(graph))}


def layer_numbers(graph: Graph) -> list[int]:
    """Per node its layer, 0 at the bottom: the output on the top layer,
    every other node just below its lowest consumer, one nobody uses one
    above its highest operand."""
    operands = graph.columns.operands
    layer = [0] * len(operands)
    for node_id, used in enumerate(operands):
        if used:
            layer[node_id] = 1 + max(layer[i] for i in used)
    top = max(layer, default=0)
    layer[graph.output] = top
    lowest = [top + 1] * len(operands)
    # Consumers come after their operands: from the last node down, each
    # node's consumers are placed before it.
    for node_id in range(len(operands) - 1, -1, -1):
        if node_id != graph.output and lowest[node_id] <= top:
            layer[node_id] = lowest[node_id] - 1
        for operand in operands[node_id]:
            lowest[operand] = min(lowest[operand], layer[node_id])
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
        self.branch: dict[int, int] = {}  # edge index -> the bend it leaves its trunk at
        self.trunks = self._trunks(graph)
        for index, (operand, node_id, _) in enumerate(edges(graph)):
            span = self.layer[node_id] - self.layer[operand] - 1
            low = operand
            if span > 0 and operand in self.trunks:
                low = self.branch[index] = self.trunks[operand][span - 1]
            self.below[node_id].append(low)
            self.above[low].append(node_id)
        self.layers: list[list[int]] = [[] for _ in range(max(self.layer, default=0) + 1)]
        for vertex, number in enumerate(self.layer):
            self.layers[number].append(vertex)

    def _trunks(self, graph: Graph) -> dict[int, list[int]]:
        """Per operand with a long edge, its chain of bend vertices, one on
        each layer up to its highest consumer, linked to each other; the
        shortest first while the budget lasts."""
        highest = list(self.layer)
        for node_id, used in enumerate(graph.columns.operands):
            for operand in used:
                highest[operand] = max(highest[operand], self.layer[node_id])
        spans = sorted(
            (top - self.layer[v] - 1, v) for v, top in enumerate(highest) if top - self.layer[v] > 1
        )
        budget = BENDS_PER_NODE * len(highest)
        trunks: dict[int, list[int]] = {}
        for span, operand in spans:
            if span > budget:
                break
            budget -= span
            low = operand
            chain = []
            for number in range(self.layer[operand] + 1, self.layer[operand] + 1 + span):
                vertex = self._vertex(number, BEND_WIDTH)
                self.below[vertex].append(low)
                self.above[low].append(vertex)
                chain.append(vertex)
                low = vertex
            trunks[operand] = chain
        return trunks

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
            _order_by_barycenter(row, sketch.below, sketch.above, place)
        for row in reversed(layers[:-1]):
            _order_by_barycenter(row, sketch.above, sketch.below, place)
    center = _centers(sketch)
    left = min((center[v] - sketch.width[v] / 2 for v in range(len(center))), default=0.0)
    right = max((center[v] + sketch.width[v] / 2 for v in range(len(center))), default=0.0)
    shift = MARGIN - left
    # Each layer's bottom, from the drawing's bottom: a gap that many edges
    # cross is taller, so that their labels find room beside them.
    crossing = [0] * len(layers)
    for vertex, below in enumerate(sketch.below):
        crossing[sketch.layer[vertex]] += len(below)
    bottoms = [0.0]
    for number in range(1, len(layers)):
        extra = GAP_PER_EDGES * max(0, crossing[number] - CROWDED_GAP) // CROWDED_GAP
        bottoms.append(bottoms[-1] + NODE_HEIGHT + GAP_Y + min(extra, 2 * GAP_Y))
    height = 2 * MARGIN + bottoms[-1] + NODE_HEIGHT

    def top(vertex: int) -> float:
        return height - MARGIN - NODE_HEIGHT - bottoms[sketch.layer[vertex]]

    count = len(graph)
    xs = tuple(center[v] + shift - NODE_WIDTH / 2 for v in range(count))
    # A trunk crosses a row straight up, beside the boxes, and curves only
    # in the gaps between rows.
    trunks = {
        operand: [
            point
            for v in chain
            for point in ((center[v] + shift, top(v) + NODE_HEIGHT), (center[v] + shift, top(v)))
        ]
        for operand, chain in sketch.trunks.items()
    }
    bends = {index: (center[v] + shift, top(v)) for index, v in sketch.branch.items()}
    ys = tuple(top(v) for v in range(count))
    return Layout(xs, ys, trunks, bends, right - left + 2 * MARGIN, height)


def _centers(sketch: _Sketch) -> list[float]:
    """The x of each vertex's center: rows side by side at first, then each
    row moved towards its neighbours' mean, its order and gaps kept. Each
    vertex counts by how far down it reaches (its longest path to the
    bottom), in the means and in how far a row moves: the spine of a long
    sum stays straight and each short term hangs beside it, rather than
    every addition moving sideways towards its term and the drawing running
    off diagonally."""
    center = [0.0] * len(sketch.layer)
    for row in sketch.layers:
        _pack(row, sketch.width, center, [0.0] * len(row))
    depth = _reach(sketch.layers, sketch.below)
    for _ in range(SWEEPS):
        for row in sketch.layers[1:]:
            _move_row(row, sketch.below, depth, sketch.width, center)
        for row in reversed(sketch.layers[:-1]):
            _move_row(row, sketch.above, depth, sketch.width, center)
    return center


def _reach(layers: list[list[int]], neighbours: list[list[int]]) -> list[int]:
    """Per vertex, 1 + the longest path through ``neighbours`` (``layers``
    in the order that path goes, its far end first)."""
    reach = [1] * len(neighbours)
    for row in layers:
        for vertex in row:
            near = neighbours[vertex]
            if near:
                reach[vertex] = 1 + max(reach[v] for v in near)
    return reach


def _move_row(
    row: list[int],
    neighbours: list[list[int]],
    weight: list[int],
    width: list[float],
    center: list[float],
) -> None:
    wanted = []
    for vertex in row:
        near = neighbours[vertex]
        if near:
            total = sum(weight[v] for v in near)
            wanted.append(sum(center[v] * weight[v] for v in near) / total)
        else:
            wanted.append(center[vertex])
    _pack(row, width, center, wanted, [weight[v] for v in row])


def _pack(
    row: list[int],
    width: list[float],
    center: list[float],
    wanted: list[float],
    weight: list[int] | None = None,
) -> None:
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
        weight = weight or [1] * len(row)
        lacks = zip(row, wanted, weight, strict=True)
        shift = sum((x - center[v]) * w for v, x, w in lacks) / sum(weight)
        for vertex in row:
            center[vertex] += shift


def _set_places(nodes: list[int], place: list[float]) -> None:
    for index, node_id in enumerate(nodes):
        place[node_id] = (index + 0.5) / len(nodes)


def _order_by_barycenter(
    nodes: list[int], neighbours: list[list[int]], others: list[list[int]], place: list[float]
) -> None:
    """Sort ``nodes`` (one layer, in place) by the mean place of their
    ``neighbours``; a node without any by those on its other side
    (``others``: an input goes under the term that uses it, not wherever it
    happened to start), else keeps its own place."""
    keys = []
    for node_id in nodes:
        near = neighbours[node_id] or others[node_id]
        own = place[node_id]
        mean = sum(place[other] for other in near) / len(near) if near else own
        keys.append((mean, own, node_id))
    keys.sort()
    nodes[:] = [node_id for _, _, node_id in keys]
    _set_places(nodes, place)
