"""AST to computational graph: the checks of a program and the walk that
builds its :class:`~cgrad.autodiff.graph.Graph`.

Identical subexpressions become one node (same op, same operand ids), each
input is one node, equal numbers are one node (``pi`` and ``e`` one each,
which keep their names), and a binding names a node
without adding one. Node ids are assigned as nodes are first created in a
left-to-right post-order walk, so every operand has a smaller id than its
consumer and inputs are numbered in order of first appearance. The walk
uses an explicit stack: depth of nesting costs memory, never recursion.

This is also where a program is checked: unknown functions, arity, reserved
names, bindings. Every such error carries the span of the offending text.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Collection
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import ParseError, Span, join_names
from ..ops import CONSTANTS, FUNCTIONS, OPS, RESERVED, function_for
from ..parse.grammar import offset_places
from .graph import CONSTANT, INPUT, Columns, Graph, SpanColumn

if TYPE_CHECKING:
    from ..parse.syntax import Program

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))
# The ops whose node takes each operand once (see Op.node_once): max(x, y, x)
# is max(x, y), so that a tie shares the slope between x and y equally,
# however often x is written.
NODE_ONCE = frozenset(name for name, op in OPS.items() if op.node_once)


def taken_once(op: str, operands: tuple[int, ...]) -> tuple[int, ...]:
    """The operands of a node of ``op``: each once for an op in NODE_ONCE."""
    return tuple(dict.fromkeys(operands)) if op in NODE_ONCE else operands


def build_graph(program: Program) -> Graph:
    """Check ``program`` and build its graph; raise :class:`ParseError` if it
    does not check."""
    # The AST's classes only where there is an AST: a valid program is read
    # straight into its graph (autodiff/reading.py), which needs none.
    from ..parse.syntax import Binding

    bound = {statement.name for statement in program.statements if isinstance(statement, Binding)}
    builder = GraphBuilder(program.source, program.origin, bound)
    for statement in program.statements[:-1]:
        if not isinstance(statement, Binding):
            raise builder.unused_expression(statement.span.start, statement.span.end)
    output = -1
    for statement in program.statements:
        if isinstance(statement, Binding):
            builder.check_binding(statement.name, statement.name_span.start)
            builder.bind(
                statement.name, statement.name_span.start, builder.expression(statement.value)
            )
        else:
            output = builder.expression(statement)
    last = program.statements[-1] if program.statements else None
    if isinstance(last, Binding):
        return builder.build(output, (last.name, last.span.start, last.span.end))
    return builder.build(output)


class GraphBuilder:
    """Checks a program and builds its graph, a statement at a time: from
    its AST (:func:`build_graph`), or node by node as the parser reduces
    its text (:mod:`cgrad.autodiff.reading`). Source spans are kept as
    offsets, the line and column worked out only for an error.

    Each expression of an AST is walked left to right with an explicit stack: down
    the leftmost path of what is left (checking calls and names on the way,
    in the order they are written), then up, making each node once its
    operands are made. The stack holds the subtrees still to walk and,
    between them, (op, arity, span) for each op whose node is made when
    popped, of the last ``arity`` results. That walk runs once per AST
    node, so it is one loop with the common cases inline; the rare ones (a
    new name or number, an error) are calls."""

    def __init__(self, source: str, origin: str | None, bound_later: Collection[str]) -> None:
        self.source = source
        self.origin = origin
        # The columns of the graph (see Columns), growing as nodes are made.
        self.ops: list[str] = []
        self.operands: list[tuple[int, ...]] = []
        self.starts = array("q")
        self.ends = array("q")
        self.names: dict[int, str] = {}
        self.values: dict[int, float] = {}
        self.depends: list[bool] = []
        self.op_ids: list[int] = []
        # Hash-consing. An op's node is found by its operand ids in a table
        # of its own, so that the key is the tuple the node keeps as its
        # operands and no other tuple is made per node.
        self.made: defaultdict[str, dict[tuple[int, ...], int]] = defaultdict(dict)
        self.constants: dict[float, int] = {}
        self.named: dict[str, int] = {}
        self.inputs: list[str] = []
        self.input_ids: dict[str, int] = {}
        self.bindings: dict[str, int] = {}
        self.binding_starts: dict[str, int] = {}
        # The names bound by the program (an AST's; none are known ahead
        # when reading text, which sees a binding after what comes before).
        self.bound_later = bound_later
        # Names and calls that have passed their checks, with what they
        # denote: that never changes later in a program (a name that is
        # bound later cannot have been used, and cannot be bound twice).
        self.resolved: dict[str, int] = {}
        self.calls: dict[tuple[str, int], str] = {}

    def error(
        self, message: str, start: int, end: int, hint: str | None = None, type: str = "name_error"
    ) -> ParseError:
        """The error ``message`` about the text from ``start`` to ``end``."""
        return ParseError(
            message,
            span=Span(start, end, *self._places(start)),
            hint=hint,
            source=self.source,
            origin=self.origin,
            type=type,
        )

    def unused_expression(self, start: int, end: int) -> ParseError:
        """The error for an expression that is not the last statement: it
        would go unused, and ``a*x^2 + b*x`` then ``+ c`` on the next line
        would give c alone."""
        return self.error(
            "only the last statement may be an expression (the output): this one would go unused",
            start,
            end,
            hint="to continue an expression on the next line, put the whole of it in "
            "parentheses; to keep a value, bind it to a name (t = ...)",
            type="syntax_error",
        )

    @cached_property
    def _places(self):
        return offset_places(self.source)

    def build(self, output: int, last_binding: tuple[str, int, int] | None = None) -> Graph:
        """The graph of the program read, whose output is the node
        ``output``; ``last_binding``, the name, start and end of a last
        statement that is a binding (an error)."""
        if not self.ops:
            end = len(self.source)
            raise ParseError(
                "the program is empty",
                span=Span(end, end, self.source.count("\n") + 1, 1),
                hint='write an expression, such as "(x+y)*z"',
                source=self.source,
                origin=self.origin,
                type="syntax_error",
            )
        if last_binding is not None:
            name, start, end = last_binding
            raise self.error(
                "the program ends with a binding, but its last statement must be an expression "
                "(the output)",
                start,
                end,
                hint=f"end the program with the output, for example: ...; {name}",
                type="syntax_error",
            )
        # At a million terms the tables for sharing and each list are tens
        # of megabytes: they go as soon as they are done with.
        del self.made, self.constants, self.named
        columns = Columns(
            self.frozen("ops"),
            self.frozen("operands"),
            SpanColumn(self.source, self.starts, self.ends),
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
            source=self.source,
            origin=self.origin,
        )

    def frozen(self, column: str) -> tuple:
        """The list ``column`` as a tuple, the list let go."""
        made = tuple(getattr(self, column))
        delattr(self, column)
        return made

    def check_binding(self, name: str, start: int) -> None:
        """The checks of a binding of ``name``, written at ``start``."""
        end = start + len(name)
        self.check_name(name, start)
        if name in RESERVED:
            kind = "constant" if name in CONSTANTS else "function"
            raise self.error(
                f"'{name}' is a {kind} and cannot be assigned",
                start,
                end,
                hint="choose another name for the binding",
            )
        if name in self.bindings:
            line, column = self._places(self.binding_starts[name])
            raise self.error(
                f"'{name}' is bound twice",
                start,
                end,
                hint=f"it was first bound at line {line}, column {column}; "
                "use a new name for the second binding",
            )

    def bind(self, name: str, start: int, node_id: int) -> None:
        """``name`` (checked) names the node ``node_id`` from here on."""
        self.bindings[name] = node_id
        self.binding_starts[name] = start

    def node(self, op: str, key: tuple[int, ...], start: int, end: int) -> int:
        """The id of the node of ``op`` on the operands ``key``: the one
        made before, else a new one for the text from ``start`` to ``end``."""
        new_id = len(self.ops)
        node_id = self.made[op].setdefault(key, new_id)
        if node_id == new_id:
            self.ops.append(op)
            self.operands.append(key)
            self.starts.append(start)
            self.ends.append(end)
            self.op_ids.append(node_id)
            depends = self.depends
            dependent = depends[key[0]] or depends[key[-1]]
            depends.append(dependent or (len(key) > 2 and any(map(depends.__getitem__, key))))
        return node_id

    def expression(self, node: Any) -> int:  # an AST node, dispatched on its exact type
        """The id of the node for ``node``, building what is missing (see the class)."""
        from ..parse.syntax import Binary, Call, Group, Name, Number, Unary  # see build_graph

        constants, resolved, calls = self.constants, self.resolved, self.calls
        make = self.node
        results: list[int] = []  # the ids of the subtrees walked, left to right
        stack: list = []
        while True:
            while True:
                kind = type(node)
                if kind is Binary:
                    stack.append((node.op, 2, node.span))
                    stack.append(node.right)
                    node = node.left
                elif kind is Call:
                    count = len(node.arguments)
                    op = calls.get((node.function, count)) or self.check_call(
                        node.function, count, node.function_span.start, node.span.end
                    )
                    stack.append((op, count, node.span))
                    if count > 1:
                        stack.extend(reversed(node.arguments[1:]))
                    node = node.arguments[0]
                elif kind is Name:
                    node_id = resolved.get(node.name)
                    if node_id is None:
                        node_id = self.name(node.name, node.span.start)
                    results.append(node_id)
                    break
                elif kind is Number:
                    node_id = constants.get(node.value)
                    if node_id is None:
                        node_id = self.constant(node.value, node.span.start, node.span.end)
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
                    key: tuple[int, ...] = (results[-1],)
                elif arity == 2:  # (the last result read, then popped)
                    key = (results[-2], results.pop())
                else:
                    key = tuple(results[-arity:])
                    del results[1 - arity :]
                results[-1] = make(op, taken_once(op, key), span.start, span.end)
            else:
                return results[0]

    def leaf(self, op: str, start: int, end: int) -> int:
        node_id = len(self.ops)
        self.ops.append(op)
        self.operands.append(())
        self.starts.append(start)
        self.ends.append(end)
        self.depends.append(op == INPUT)
        return node_id

    def constant(self, value: float, start: int, end: int) -> int:
        """The node of the number ``value``, written from ``start`` to ``end``
        where it is first written."""
        node_id = self.constants.get(value)
        if node_id is None:
            # leaf()'s work, inline: a big program's numbers are most of
            # its leaves, and a call each would cost more than the work.
            node_id = self.constants[value] = len(self.ops)
            self.ops.append(CONSTANT)
            self.operands.append(())
            self.starts.append(start)
            self.ends.append(end)
            self.depends.append(False)
            self.values[node_id] = value
        return node_id

    def named_constant(self, name: str, start: int) -> int:
        """The node of ``pi`` or ``e``: a constant that keeps its name (in
        ``names``), so that a formula can print it; not one node with a
        number of the same value."""
        node_id = self.named.get(name)
        if node_id is None:
            node_id = self.named[name] = self.leaf(CONSTANT, start, start + len(name))
            self.values[node_id] = CONSTANTS[name]
            self.names[node_id] = name
        return node_id

    def check_name(self, name: str, start: int) -> None:
        """Names are letters, decimal digits and '_'. The lexer's \\w also
        lets through other Unicode digits such as '²', which would make x²
        a name of its own, never what was meant."""
        for offset, char in enumerate(name):
            if not (char.isalpha() or char == "_" or char.isdecimal()):
                power = _SUPERSCRIPTS.get(char)
                raise self.error(
                    f"'{char}' cannot be part of a name",
                    start + offset,
                    start + offset + 1,
                    hint=f"for a power, write {name[:offset]}^{power}" if power else None,
                    type="syntax_error",
                )

    def name(self, name: str, start: int) -> int:
        """The node a name not met before denotes, written at ``start``."""
        self.check_name(name, start)
        end = start + len(name)
        if name in self.bindings:
            node_id = self.bindings[name]
        elif name in CONSTANTS:
            node_id = self.named_constant(name, start)
        elif name in FUNCTIONS:
            raise self.error(
                f"'{name}' is a function, not a value",
                start,
                end,
                hint=f"call it, as in {name}({_example_arguments(name)})",
            )
        elif name in self.bound_later:
            raise self.error(
                f"'{name}' is used before it is bound",
                start,
                end,
                hint=f"move the binding of {name} above its first use, "
                "or rename it if you meant an input",
            )
        else:
            node_id = self.input_ids[name] = self.leaf(INPUT, start, end)
            self.inputs.append(name)
            self.names[node_id] = name
        self.resolved[name] = node_id
        return node_id

    def check_call(self, name: str, count: int, start: int, end: int) -> str:
        """The name of the op that a call of ``name`` with ``count``
        arguments denotes (written from ``start`` to ``end``), or a ParseError."""
        if name not in FUNCTIONS:
            if name in CONSTANTS:
                raise self.error(
                    f"'{name}' is a constant, not a function",
                    start,
                    start + len(name),
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
                f"unknown function '{name}'",
                start,
                start + len(name),
                hint=hint,
                type="unknown_function",
            )
        op = function_for(name, count)
        if op is None:
            given = {0: "none were", 1: "one was"}.get(count, f"{count} were")
            # ln(x, 2): ln is log of one argument, and log takes a base.
            symbol = next(iter(FUNCTIONS[name].values())).notation.symbol
            other = None
            if symbol != name and function_for(symbol, count) is not None:
                written = self.source[start + len(name) : end]
                other = f"{symbol}() takes {arity_text(symbol)}: write {symbol}{written}"
            raise self.error(
                f"{name}() takes {arity_text(name)}, but {given} given",
                start,
                end,
                hint=other,
                type="arity_error",
            )
        self.calls[name, count] = op.name
        return op.name


def _example_arguments(name: str) -> str:
    """Arguments for an example call of the function ``name``: as many as
    it takes at the least (``x``, ``x, y``)."""
    fewest = min((arity or 1) for arity in FUNCTIONS[name])
    return ", ".join(["x", "y", "z"][:fewest] if fewest <= 3 else ["x"] * fewest)


def arity_text(name: str) -> str:
    """How many arguments ``name`` takes, in words."""
    arities = sorted(FUNCTIONS[name], key=lambda arity: -1 if arity is None else arity)
    if arities == [None]:
        return "one or more arguments"
    words: dict[int | None, str] = {1: "one", 2: "two", 3: "three"}
    counts = " or ".join(words.get(arity, str(arity)) for arity in arities)
    return f"{counts} argument{'' if arities == [1] else 's'}"
