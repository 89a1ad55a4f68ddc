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

from collections import defaultdict
from typing import Any

from ..errors import ParseError, Span, join_names
from ..ops import CONSTANTS, FUNCTIONS, RESERVED, arity_text, function_for
from ..parse.syntax import Binary, Binding, Call, Group, Name, Number, Program, Unary
from .graph import CONSTANT, INPUT, Columns, Graph

_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True))


def build_graph(program: Program) -> Graph:
    """Check ``program`` and build its graph; raise :class:`ParseError` if it
    does not check."""
    return _GraphBuilder(program).build()


class _GraphBuilder:
    """Checks a program and builds its graph, a statement at a time.

    Each expression is walked left to right with an explicit stack: down
    the leftmost path of what is left (checking calls and names on the way,
    in the order they are written), then up, making each node once its
    operands are made. The stack holds the subtrees still to walk and,
    between them, (op, arity, span) for each op whose node is made when
    popped, of the last ``arity`` results. That walk runs once per AST
    node, so it is one loop with the common cases inline; the rare ones (a
    new name or number, an error) are calls."""

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
        self.named: dict[str, int] = {}
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
        del self.made, self.constants, self.named
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

    def expression(self, node: Any) -> int:  # an AST node, dispatched on its exact type
        """The id of the node for ``node``, building what is missing (see the class)."""
        ops, operands_of, spans, depends, op_ids, made, constants, resolved, calls = self.tables()
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
                    op = calls.get((node.function, count)) or self.check_call(node)
                    stack.append((op, count, node.span))
                    if count > 1:
                        stack.extend(reversed(node.arguments[1:]))
                    node = node.arguments[0]
                elif kind is Name:
                    node_id = resolved.get(node.name)
                    results.append(self.name(node.name, node.span) if node_id is None else node_id)
                    break
                elif kind is Number:
                    node_id = constants.get(node.value)
                    results.append(self.number(node) if node_id is None else node_id)
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
                new_id = len(ops)
                node_id = made[op].setdefault(key, new_id)
                if node_id == new_id:
                    ops.append(op)
                    operands_of.append(key)
                    spans.append(span)
                    op_ids.append(node_id)
                    dependent = depends[key[0]] or depends[key[-1]]
                    depends.append(dependent or (arity > 2 and any(map(depends.__getitem__, key))))
                results[-1] = node_id
            else:
                return results[0]

    def tables(self) -> tuple:
        """What :meth:`expression` reads and grows, for its locals: the
        columns ops, operands, spans, depends and op_ids, and the tables
        made, constants, resolved and calls."""
        columns = (self.ops, self.operands, self.spans, self.depends, self.op_ids)
        return (*columns, self.made, self.constants, self.resolved, self.calls)

    def number(self, number: Number) -> int:
        """The node of a number literal not seen before."""
        return self.constant(number.value, number.span)

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

    def named_constant(self, name: str, span: Span) -> int:
        """The node of ``pi`` or ``e``: a constant that keeps its name (in
        ``names``), so that a formula can print it; not one node with a
        number of the same value."""
        node_id = self.named.get(name)
        if node_id is None:
            node_id = self.named[name] = self.leaf(CONSTANT, span)
            self.values[node_id] = CONSTANTS[name]
            self.names[node_id] = name
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
            node_id = self.named_constant(name, span)
        elif name in FUNCTIONS:
            raise self.error(
                f"'{name}' is a function, not a value",
                span,
                hint=f"call it, as in {name}({_example_arguments(name)})",
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


def _example_arguments(name: str) -> str:
    """Arguments for an example call of the function ``name``: as many as
    it takes at the least (``x``, ``x, y``)."""
    fewest = min((arity or 1) for arity in FUNCTIONS[name])
    return ", ".join(["x", "y", "z"][:fewest] if fewest <= 3 else ["x"] * fewest)
