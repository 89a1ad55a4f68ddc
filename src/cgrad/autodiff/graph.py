"""The computational graph: a hash-consed DAG in topological order, and
what is asked of it (labels, shared nodes, which nodes the output reaches).

Every operand has a smaller id than its consumer, and inputs are numbered
in order of first appearance (:mod:`cgrad.autodiff.builder` makes graphs
from programs). A built graph holds its nodes as columns (parallel tuples by
node id, see :class:`Columns`) and makes :class:`Node` objects only when
asked for them: for a big graph, a Node each would cost more than building
the rest.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass
from functools import cached_property
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple, cast, overload

from ..errors import Span
from ..parse.grammar import offset_places

if TYPE_CHECKING:
    from .node import Node

# A number literal whose digits before any exponent are not all zero.
_NONZERO_NUMBER = re.compile(r"0*\.?0*[1-9]")

INPUT = "input"
CONSTANT = "const"

# Labels longer than this are shortened in the middle: the full text of every
# node of a 100,000-term sum would be quadratic in the size of the input.
LABEL_WIDTH = 60


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut in the middle with '…' to at most ``width``."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    keep = (width - 1) // 2
    return f"{text[:keep]}…{text[len(text) - keep :]}"


class _LabelIndex:
    """Labels of long spans without reading them whole.

    Collapsing the whitespace of a node's whole source text before cutting
    it to 60 characters is O(n^2) over a graph: the sums of a long sum span
    most of the source. Here the source's
    runs of non-space characters are found once, and a label is put together
    from the few runs at each end of its span, with the same result.
    """

    _RUN = re.compile(r"\S+")  # \S is the complement of what str.split() splits on

    def __init__(self, source: str) -> None:
        self.source = source
        self.starts: list[int] = []
        self.ends: list[int] = []
        # Run lengths summed up to each run, to measure a span without walking it.
        self.before = [0]
        for match in self._RUN.finditer(source):
            self.starts.append(match.start())
            self.ends.append(match.end())
            self.before.append(self.before[-1] + match.end() - match.start())

    def label(self, start: int, end: int, width: int) -> str:
        if end - start <= 4 * width:  # short enough to collapse whole, which is quicker
            return shorten(self.source[start:end], width)
        # Usually the first and last 4 * width characters hold enough text:
        # collapsed, they are a prefix and a suffix of the collapsed span.
        keep = (width - 1) // 2
        head = " ".join(self.source[start : start + 4 * width].split())
        if len(head) > width:
            tail = " ".join(self.source[end - 4 * width : end].split())
            if len(tail) >= keep:
                return f"{head[:keep]}…{tail[len(tail) - keep :]}"
        first = bisect_right(self.ends, start)
        stop = bisect_left(self.starts, end)
        if first >= stop:
            return ""
        # A span may begin or end inside a run ("x" of "x*y"): trim those two.
        length = self.before[stop] - self.before[first]
        length -= max(start - self.starts[first], 0) + max(self.ends[stop - 1] - end, 0)
        length += stop - first - 1  # one space between runs
        runs = range(first, stop)
        if length <= width:
            return " ".join(self._pieces(runs, start, end, length))
        keep = (width - 1) // 2
        head = " ".join(self._pieces(runs, start, end, keep))[:keep]
        tail = " ".join(reversed(self._pieces(runs[::-1], start, end, keep)))
        return f"{head}…{tail[len(tail) - keep :]}"

    def _pieces(self, runs: range, start: int, end: int, keep: int) -> list[str]:
        """The runs, in the order given and cut to the span, until they make
        ``keep`` characters with a space between each two."""
        pieces: list[str] = []
        size = -1
        for k in runs:
            if size >= keep:
                break
            pieces.append(self.source[max(self.starts[k], start) : min(self.ends[k], end)])
            size += len(pieces[-1]) + 1
        return pieces


class SpanColumn(Sequence[Span]):
    """The spans of a built graph's nodes as two arrays of offsets into its
    source, each :class:`Span` made when it is read: at a million nodes, a
    Span object each cost more memory than the rest of the columns. A
    span's line and column are those of its start, counted as the parsers
    count them (see :func:`cgrad.parse.grammar.offset_places`)."""

    __slots__ = ("source", "starts", "ends", "_places")

    def __init__(self, source: str, starts: array, ends: array) -> None:
        self.source = source
        self.starts = starts
        self.ends = ends
        self._places: Callable[[int], tuple[int, int]] | None = None

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> Span: ...
    @overload
    def __getitem__(self, index: slice) -> list[Span]: ...
    def __getitem__(self, index: int | slice) -> Span | list[Span]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start = self.starts[index]
        places = self._places
        if places is None:
            places = self._places = offset_places(self.source)
        return Span(start, self.ends[index], *places(start))

    def __eq__(self, other: object) -> bool:
        # Equal to any sequence of the same spans (a graph made from Node
        # objects keeps them in a tuple).
        if not isinstance(other, Sequence) or len(other) != len(self):
            return NotImplemented if not isinstance(other, Sequence) else False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple, mutable arrays

    def __reduce__(self) -> tuple:
        return SpanColumn, (self.source, self.starts, self.ends)  # not the places, a closure


class Columns(NamedTuple):
    """A graph's nodes as parallel sequences indexed by node id: what a pass
    over every node reads, with no object per node."""

    ops: tuple[str, ...]
    operands: tuple[tuple[int, ...], ...]
    spans: Sequence[Span]  # a SpanColumn for a graph built from text
    names: dict[int, str]  # of the INPUT nodes and the named CONSTANT ones
    values: dict[int, float]  # of the CONSTANT nodes
    depends_on_input: tuple[bool, ...]
    # The ids of the nodes that apply an op, in order. They are the very int
    # objects that ``operands`` holds, so that a plan's steps share them
    # (an int is 32 bytes, and a plan refers to each op node twice).
    op_ids: tuple[int, ...]


class _FromColumns:
    """A field of :class:`Graph` that a built graph does not store: it is
    made from the columns when first read, then kept like a stored field.

    As a dataclass field's default this is a descriptor: the dataclass asks
    it for the default (``default``, or none when it raises AttributeError),
    and ``__init__`` stores a given value in the instance, where it wins over
    this (which has no ``__set__``)."""

    def __init__(self, make: Callable[[Graph], object], default: object = MISSING) -> None:
        self.make = make
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, graph: Graph | None, owner: type | None = None):
        if graph is None:
            if self.default is MISSING:
                raise AttributeError(self.name)
            return self.default
        value = graph.__dict__[self.name] = self.make(graph)
        return value


def _nodes(graph: Graph) -> tuple[Node, ...]:
    from .node import Node  # (on first use: most runs never make a Node)

    ops, operands, spans, names, values = graph.columns[:5]
    ids = range(len(ops))
    return tuple(map(Node, ids, ops, operands, spans, map(names.get, ids), map(values.get, ids)))


def _use_counts(graph: Graph) -> tuple[int, ...]:
    operands = graph.columns.operands
    counts = [0] * len(operands)
    for operand in chain.from_iterable(operands):
        counts[operand] += 1
    return tuple(counts)


@dataclass(frozen=True, eq=False)
class Graph:
    """A program's DAG. The nodes of a graph that
    :func:`~cgrad.autodiff.builder.build_graph` made are its
    :attr:`columns`: a Node object per node is made only when ``nodes`` is
    first read, and the passes that evaluate a graph never read it. A graph
    made with ``Graph(nodes=...)`` derives its columns from its nodes."""

    if TYPE_CHECKING:  # to mypy, a default; to dataclasses, none (see _FromColumns)
        nodes: tuple[Node, ...]
    else:
        nodes: tuple[Node, ...] = _FromColumns(_nodes)
    output: int
    inputs: tuple[str, ...]
    input_ids: dict[str, int]
    bindings: dict[str, int]
    source: str
    origin: str | None = None
    # Per node: does its value depend on some input? Constants' subgraphs
    # need no derivatives (and a^b forms d/db only when b depends on one).
    depends_on_input: tuple[bool, ...] = _FromColumns(  # type: ignore[assignment]
        lambda graph: graph.columns.depends_on_input, ()
    )
    # Per node: how many edges point at it.
    use_counts: tuple[int, ...] = _FromColumns(_use_counts, ())  # type: ignore[assignment]

    @classmethod
    def _of_columns(cls, columns: Columns, **fields) -> Graph:
        """A graph whose nodes, depends_on_input and use_counts are made
        from ``columns`` when first read; ``fields`` are the other fields."""
        graph = cls.__new__(cls)
        graph.__dict__.update(fields, columns=columns)
        return graph

    @cached_property
    def columns(self) -> Columns:
        """The nodes as columns (a built graph is made with them)."""
        nodes = self.nodes
        depends = [False] * len(nodes)
        for node in nodes:
            depends[node.id] = node.op == INPUT or any(depends[i] for i in node.operands)
        return Columns(
            tuple(node.op for node in nodes),
            tuple(node.operands for node in nodes),
            tuple(node.span for node in nodes),
            # (an input node has a name, a constant node a value, pi a name too)
            {node.id: node.name for node in nodes if node.name is not None},
            {node.id: cast(float, node.value) for node in nodes if node.op == CONSTANT},
            tuple(depends),
            tuple(node.id for node in nodes if node.op not in (INPUT, CONSTANT)),
        )

    @cached_property
    def underflows(self) -> tuple[int, ...]:
        """The constants written as a nonzero number that float64 rounds
        to 0 (``1e-400``): each is warned about, as ``1e309`` is."""
        spans = self.columns.spans
        return tuple(
            node_id
            for node_id, value in self.columns.values.items()
            if value == 0.0 and _NONZERO_NUMBER.match(self.source, spans[node_id].start)
        )

    def __len__(self) -> int:
        return len(self.columns.ops)

    def label(self, node_id: int, width: int | None = LABEL_WIDTH) -> str:
        """The source text a node came from, shortened to ``width``."""
        ops, _, spans, names = self.columns[:4]
        if ops[node_id] == INPUT:
            return names.get(node_id % len(ops)) or ""  # -1 is the last, as in nodes[-1]
        if isinstance(spans, SpanColumn):  # the offsets, without a Span and its line
            start, end = spans.starts[node_id], spans.ends[node_id]
        else:
            start, end = spans[node_id].start, spans[node_id].end
        if width is None:
            return " ".join(self.source[start:end].split())
        return self._labels.label(start, end, width)

    @cached_property
    def _labels(self) -> _LabelIndex:
        return _LabelIndex(self.source)

    def shared(self) -> list[int]:
        """Ids of the nodes used more than once."""
        return [node_id for node_id, count in enumerate(self.use_counts) if count > 1]

    def reachable(self) -> list[bool]:
        """Per node: does the output depend on it?"""
        operands = self.columns.operands
        reached = [False] * len(operands)
        reached[self.output] = True
        # Operands have smaller ids than their consumers: none is after the output.
        for node_id in range(self.output, -1, -1):
            if reached[node_id]:
                for operand in operands[node_id]:
                    reached[operand] = True
        return reached
