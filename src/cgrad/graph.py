"""AST to computational graph: a hash-consed DAG in topological order.

Identical subexpressions become one node (same op, same operand ids), each
input is one node, equal constants are one node, and a binding names a node
without adding one. Node ids are assigned as nodes are first created in a
left-to-right post-order walk, so every operand has a smaller id than its
consumer and inputs are numbered in order of first appearance. The walk
uses an explicit stack: depth of nesting costs memory, never recursion.

This is also where a program is checked: unknown functions, arity, reserved
names, bindings. Every such error carries the span of the offending text.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from .errors import ParseError, Span, join_names
from .ops import CONSTANTS, FUNCTIONS, RESERVED, arity_text, function_for
from .syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary, children

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


@dataclass(frozen=True, eq=False)
class Graph:
    nodes: tuple[Node, ...]
    output: int
    inputs: tuple[str, ...]
    input_ids: dict[str, int]
    bindings: dict[str, int]
    source: str
    origin: str | None = None
    # Per node: does its value depend on some input? Constants' subgraphs
    # need no derivatives (and a^b forms d/db only when b depends on one).
    depends_on_input: tuple[bool, ...] = field(default=())
    # Per node: how many edges point at it.
    use_counts: tuple[int, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.nodes)

    def label(self, node_id: int, width: int | None = LABEL_WIDTH) -> str:
        """The source text a node came from, shortened to ``width``."""
        node = self.nodes[node_id]
        if node.op == INPUT:
            return node.name or ""
        if width is None:
            return " ".join(self.source[node.span.start : node.span.end].split())
        return self._labels.label(node.span.start, node.span.end, width)

    @cached_property
    def _labels(self) -> _LabelIndex:
        return _LabelIndex(self.source)

    def shared(self) -> list[int]:
        """Ids of the nodes used more than once."""
        return [node_id for node_id, count in enumerate(self.use_counts) if count > 1]

    def reachable(self) -> list[bool]:
        """Per node: does the output depend on it?"""
        reached = [False] * len(self.nodes)
        reached[self.output] = True
        for node in reversed(self.nodes):
            if reached[node.id]:
                for operand in node.operands:
                    reached[operand] = True
        return reached


def build_graph(program: Program) -> Graph:
    """Check ``program`` and build its graph; raise :class:`ParseError` if it
    does not check."""
    return _GraphBuilder(program).build()


class _GraphBuilder:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.nodes: list[Node] = []
        self.keys: dict[tuple, int] = {}
        self.inputs: list[str] = []
        self.input_ids: dict[str, int] = {}
        self.bindings: dict[str, int] = {}
        self.binding_spans: dict[str, Span] = {}
        self.bound_later: set[str] = {
            statement.name for statement in program.statements if isinstance(statement, Binding)
        }

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
        depends = [False] * len(self.nodes)
        use_counts = [0] * len(self.nodes)
        for node in self.nodes:
            depends[node.id] = node.op == INPUT or any(depends[i] for i in node.operands)
            for operand in node.operands:
                use_counts[operand] += 1
        return Graph(
            nodes=tuple(self.nodes),
            output=output,
            inputs=tuple(self.inputs),
            input_ids=dict(self.input_ids),
            bindings=dict(self.bindings),
            source=self.program.source,
            origin=self.program.origin,
            depends_on_input=tuple(depends),
            use_counts=tuple(use_counts),
        )

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

    def add(self, key: tuple, op: str, operands: tuple[int, ...], span: Span, **extra) -> int:
        existing = self.keys.get(key)
        if existing is not None:
            return existing
        node_id = len(self.nodes)
        self.nodes.append(Node(node_id, op, operands, span, **extra))
        self.keys[key] = node_id
        return node_id

    def expression(self, root) -> int:
        """The id of the node for ``root``, building what is missing."""
        results: list[int] = []
        # (node, expanded?) pairs: an expanded node's children are on
        # ``results`` by the time it is popped again.
        stack: list[tuple[object, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                count = len(children(node))
                operands = tuple(results[len(results) - count :])
                del results[len(results) - count :]
                results.append(self.combine(node, operands))
                continue
            kids = children(node)
            if not kids:
                results.append(self.leaf(node))
                continue
            if isinstance(node, Call):
                self.check_call(node)
            stack.append((node, True))
            stack.extend((kid, False) for kid in reversed(kids))
        return results[0]

    def combine(self, node, operands: tuple[int, ...]) -> int:
        match node:
            case Group() | Unary(op="plus"):
                return operands[0]
            case Unary(op=op) | Binary(op=op):
                return self.add((op, operands), op, operands, node.span)
            case Call():
                op = function_for(node.function, len(operands))
                assert op is not None  # check_call has vouched for it
                return self.add((op.name, operands), op.name, operands, node.span)
        raise AssertionError(f"unexpected syntax node {type(node).__name__}")

    def leaf(self, node) -> int:
        match node:
            case Number(value=value):
                return self.add((CONSTANT, value), CONSTANT, (), node.span, value=value)
            case Name(name=name):
                return self.name(name, node.span)
            case Call():
                self.check_call(node)  # no arguments: always an arity error
        raise AssertionError(f"unexpected syntax node {type(node).__name__}")

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
            return self.bindings[name]
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return self.add((CONSTANT, value), CONSTANT, (), span, value=value)
        if name in FUNCTIONS:
            raise self.error(
                f"'{name}' is a function, not a value",
                span,
                hint=f"call it, as in {name}(x)",
            )
        if name in self.bound_later:
            raise self.error(
                f"'{name}' is used before it is bound",
                span,
                hint=f"move the binding of {name} above its first use, "
                "or rename it if you meant an input",
            )
        if name not in self.input_ids:
            self.inputs.append(name)
        node_id = self.add((INPUT, name), INPUT, (), span, name=name)
        self.input_ids[name] = node_id
        return node_id

    def check_call(self, call: Call) -> None:
        name = call.function
        if name not in FUNCTIONS:
            if name in CONSTANTS:
                raise self.error(
                    f"'{name}' is a constant, not a function",
                    call.function_span,
                    hint=f"to multiply, write {name}*(...)",
                )
            close = difflib.get_close_matches(name, sorted(FUNCTIONS), n=3, cutoff=0.6)
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
        if function_for(name, len(call.arguments)) is None:
            count = len(call.arguments)
            given = {0: "none were", 1: "one was"}.get(count, f"{count} were")
            raise self.error(
                f"{name}() takes {arity_text(name)}, but {given} given",
                call.span,
                type="arity_error",
            )
