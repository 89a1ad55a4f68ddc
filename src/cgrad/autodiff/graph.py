"""AST to computational graph: a hash-consed DAG in topological order.

Identical subexpressions become one node (same op, same operand ids), each
input is one node, equal constants are one node, and a binding names a node
without adding one. Node ids are assigned as nodes are first created in a
left-to-right post-order walk, so every operand has a smaller id than its
consumer and inputs are numbered in order of first appearance. The walk
uses an explicit stack: depth of nesting costs memory, never recursion.

A built graph holds its nodes as columns (parallel tuples by node id, see
:class:`Columns`) and makes :class:`Node` objects only when asked for them:
at 400,000 nodes, a Node each would cost more than building the rest.

This is also where a program is checked: unknown functions, arity, reserved
names, bindings. Every such error carries the span of the offending text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from functools import cached_property
from itertools import chain
from typing import NamedTuple

from ..errors import ParseError, Span, join_names
from ..ops import CONSTANTS, FUNCTIONS, RESERVED, arity_text, function_for
from ..parse.syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary

# A number literal whose digits before any exponent are not all zero.
_NONZERO_NUMBER = re.compile(r"0*\.?0*[1-9]")

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))

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
    it to 60 characters is O(n^2) over a graph: the sums of a 100,000-term
    sum span most of the source (15 s for 100,000 labels). Here the source's
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


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    op: str  # INPUT, CONSTANT or the name of an entry in ops.OPS
    operands: tuple[int, ...]
    span: Span
    name: str | None = None  # the input's name, for INPUT nodes
    value: float | None = None  # the constant's value, for CONSTANT nodes


class Columns(NamedTuple):
    """A graph's nodes as parallel sequences indexed by node id: what a pass
    over every node reads, with no object per node."""

    ops: tuple[str, ...]
    operands: tuple[tuple[int, ...], ...]
    spans: tuple[Span, ...]
    names: dict[int, str]  # of the INPUT nodes
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
    """A program's DAG. The nodes of a graph that :func:`build_graph` made
    are its :attr:`columns`: a Node object per node (0.85 µs and 120 bytes
    each) is made only when ``nodes`` is first read, and the passes that
    evaluate a graph never read it. A graph made with ``Graph(nodes=...)``
    derives its columns from its nodes."""

    nodes: tuple[Node, ...] = _FromColumns(_nodes)  # type: ignore[assignment]
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
            {node.id: node.name for node in nodes if node.op == INPUT},
            {node.id: node.value for node in nodes if node.op == CONSTANT},
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
        span = spans[node_id]
        if width is None:
            return " ".join(self.source[span.start : span.end].split())
        return self._labels.label(span.start, span.end, width)

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


def build_graph(program: Program) -> Graph:
    """Check ``program`` and build its graph; raise :class:`ParseError` if it
    does not check."""
    return _GraphBuilder(program).build()


class _GraphBuilder:
    def __init__(self, program: Program) -> None:
        self.program = program
        # The columns of the graph (see Columns), growing as nodes are made.
        self.ops: list[str] = []
        self.operands: list[tuple[int, ...]] = []
        self.spans: list[Span] = []
        self.names: dict[int, str] = {}
        self.values: dict[int, float] = {}
        self.depends: list[bool] = []
        self.op_ids: list[int] = []
        # Hash-consing. An op's node is found by its operand ids in a table
        # of its own, so that the key is the tuple the node keeps as its
        # operands and no other tuple is made per node.
        self.made: defaultdict[str, dict[tuple[int, ...], int]] = defaultdict(dict)
        self.constants: dict[float, int] = {}
        self.inputs: list[str] = []
        self.input_ids: dict[str, int] = {}
        self.bindings: dict[str, int] = {}
        self.binding_spans: dict[str, Span] = {}
        self.bound_later: set[str] = {
            statement.name for statement in program.statements if isinstance(statement, Binding)
        }
        # Names and calls that have passed their checks, with what they
        # denote: that never changes later in a program (a name that is
        # bound later cannot have been used, and cannot be bound twice).
        self.resolved: dict[str, int] = {}
        self.calls: dict[tuple[str, int], str] = {}

    def error(self, message: str, span: Span, hint: str | None = None, type: str = "name_error"):
        return ParseError(
            message,
            span=span,
            hint=hint,
            source=self.program.source,
            origin=self.program.origin,
            type=type,
        )

    def build(self) -> Graph:
        statements = self.program.statements
        if not statements:
            end = len(self.program.source)
            raise self.error(
                "the program is empty",
                Span(end, end, self.program.source.count("\n") + 1, 1),
                hint='write an expression, such as "(x+y)*z"',
                type="syntax_error",
            )
        output = -1
        for statement in statements:
            if isinstance(statement, Binding):
                self.bind(statement)
            else:
                output = self.expression(statement)
        last = statements[-1]
        if isinstance(last, Binding):
            raise self.error(
                "the program ends with a binding, but its last statement must be an expression "
                "(the output)",
                last.span,
                hint=f"end the program with the output, for example: ...; {last.name}",
                type="syntax_error",
            )
        # At a million terms the tables for sharing and each list are tens
        # of megabytes: they go as soon as they are done with.
        del self.made, self.constants
        columns = Columns(
            self.frozen("ops"),
            self.frozen("operands"),
            self.frozen("spans"),
            self.names,
            self.values,
            self.frozen("depends"),
            self.frozen("op_ids"),
        )
        return Graph._of_columns(
            columns,
            output=output,
            inputs=tuple(self.inputs),
            input_ids=dict(self.input_ids),
            bindings=dict(self.bindings),
            source=self.program.source,
            origin=self.program.origin,
        )

    def frozen(self, column: str) -> tuple:
        """The list ``column`` as a tuple, the list let go."""
        made = tuple(getattr(self, column))
        delattr(self, column)
        return made

    def bind(self, binding: Binding) -> None:
        name = binding.name
        self.check_name(name, binding.name_span)
        if name in RESERVED:
            kind = "constant" if name in CONSTANTS else "function"
            raise self.error(
                f"'{name}' is a {kind} and cannot be assigned",
                binding.name_span,
                hint="choose another name for the binding",
            )
        if name in self.bindings:
            first = self.binding_spans[name]
            raise self.error(
                f"'{name}' is bound twice",
                binding.name_span,
                hint=f"it was first bound at line {first.line}, column {first.column}; "
                "use a new name for the second binding",
            )
        self.bindings[name] = self.expression(binding.value)
        self.binding_spans[name] = binding.name_span

    def expression(self, root) -> int:
        """The id of the node for ``root``, building what is missing.

        A left-to-right walk with an explicit stack: down the leftmost path
        of what is left (checking calls and names on the way, in the order
        they are written), then up, making each node once its operands are
        made. This runs once per AST node, so it is one loop with the
        common cases inline; the rare ones (a new name, an error) are calls.
        """
        ops, operands_of, spans = self.ops, self.operands, self.spans
        depends, op_ids = self.depends, self.op_ids
        made, constants, resolved, calls = self.made, self.constants, self.resolved, self.calls
        results: list[int] = []
        # Subtrees still to walk, and between them (op, arity, span) for each
        # op whose node is made when popped: its operands are then the last
        # ``arity`` results.
        stack: list = []
        node = root
        while True:
            while True:
                kind = type(node)
                if kind is Binary:
                    stack.append((node.op, 2, node.span))
                    stack.append(node.right)
                    node = node.left
                elif kind is Call:
                    arguments = node.arguments
                    count = len(arguments)
                    op = calls.get((node.function, count))
                    if op is None:
                        op = self.check_call(node)
                    stack.append((op, count, node.span))
                    if count > 1:
                        stack.extend(reversed(arguments[1:]))
                    node = arguments[0]
                elif kind is Name:
                    node_id = resolved.get(node.name)
                    results.append(self.name(node.name, node.span) if node_id is None else node_id)
                    break
                elif kind is Number:
                    node_id = constants.get(node.value)
                    if node_id is None:
                        node_id = self.constant(node.value, node.span)
                    results.append(node_id)
                    break
                elif kind is Group:
                    node = node.inner
                elif kind is Unary:
                    if node.op != "plus":  # +a is a, with no node of its own
                        stack.append((node.op, 1, node.span))
                    node = node.operand
                else:
                    raise AssertionError(f"unexpected syntax node {kind.__name__}")
            while stack:
                item = stack.pop()
                if type(item) is not tuple:
                    node = item
                    break
                op, arity, span = item
                if arity == 1:
                    key = (results[-1],)
                elif arity == 2:
                    second = results.pop()
                    key = (results[-1], second)
                else:
                    key = tuple(results[-arity:])
                    del results[1 - arity :]
                new_id = len(ops)
                node_id = made[op].setdefault(key, new_id)
                if node_id == new_id:
                    ops.append(op)
                    operands_of.append(key)
                    spans.append(span)
                    op_ids.append(node_id)
                    depends.append(
                        depends[key[0]]
                        or depends[key[-1]]
                        or (arity > 2 and any(map(depends.__getitem__, key)))
                    )
                results[-1] = node_id
            else:
                return results[0]

    def leaf(self, op: str, span: Span) -> int:
        node_id = len(self.ops)
        self.ops.append(op)
        self.operands.append(())
        self.spans.append(span)
        self.depends.append(op == INPUT)
        return node_id

    def constant(self, value: float, span: Span) -> int:
        node_id = self.constants.get(value)
        if node_id is None:
            node_id = self.constants[value] = self.leaf(CONSTANT, span)
            self.values[node_id] = value
        return node_id

    def check_name(self, name: str, span: Span) -> None:
        """Names are letters, decimal digits and '_'. The lexer's \\w also
        lets through other Unicode digits such as '²', which would make x²
        a name of its own, never what was meant."""
        for offset, char in enumerate(name):
            if not (char.isalpha() or char == "_" or char.isdecimal()):
                at = Span(
                    span.start + offset, span.start + offset + 1, span.line, span.column + offset
                )
                power = _SUPERSCRIPTS.get(char)
                raise self.error(
                    f"'{char}' cannot be part of a name",
                    at,
                    hint=f"for a power, write {name[:offset]}^{power}" if power else None,
                    type="syntax_error",
                )

    def name(self, name: str, span: Span) -> int:
        self.check_name(name, span)
        if name in self.bindings:
            node_id = self.bindings[name]
        elif name in CONSTANTS:
            node_id = self.constant(CONSTANTS[name], span)
        elif name in FUNCTIONS:
            raise self.error(
                f"'{name}' is a function, not a value",
                span,
                hint=f"call it, as in {name}(x)",
            )
        elif name in self.bound_later:
            raise self.error(
                f"'{name}' is used before it is bound",
                span,
                hint=f"move the binding of {name} above its first use, "
                "or rename it if you meant an input",
            )
        else:
            node_id = self.input_ids[name] = self.leaf(INPUT, span)
            self.inputs.append(name)
            self.names[node_id] = name
        self.resolved[name] = node_id
        return node_id

    def check_call(self, call: Call) -> str:
        """The name of the op that ``call`` denotes, or a ParseError."""
        name = call.function
        if name not in FUNCTIONS:
            if name in CONSTANTS:
                raise self.error(
                    f"'{name}' is a constant, not a function",
                    call.function_span,
                    hint=f"to multiply, write {name}*(...)",
                )
            from difflib import get_close_matches  # for a hint only: not on every run

            close = get_close_matches(name, sorted(FUNCTIONS), n=3, cutoff=0.6)
            if name.lower() in FUNCTIONS:
                close = [name.lower()]
            if close:
                hint = f"did you mean {join_names(close, 'or')}?"
            else:
                hint = f"to multiply, write {name}*(...); the functions are " + ", ".join(
                    sorted(FUNCTIONS)
                )
            raise self.error(
                f"unknown function '{name}'", call.function_span, hint=hint, type="unknown_function"
            )
        count = len(call.arguments)
        op = function_for(name, count)
        if op is None:
            given = {0: "none were", 1: "one was"}.get(count, f"{count} were")
            raise self.error(
                f"{name}() takes {arity_text(name)}, but {given} given",
                call.span,
                type="arity_error",
            )
        self.calls[name, count] = op.name
        return op.name
