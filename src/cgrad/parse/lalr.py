"""Valid program text to AST, fast: Lark's LALR tables run by a loop of our own.

Lark's own loop does much more a token (a Token object each, a lexer per
parser state, a post-lexer generator, a chain of wrappers around each
callback), which a big program feels. This module builds nothing of its own
from the grammar: it runs what Lark built from grammars/cgrad.lark, as
tables.py reads it (the terminals, in the order Lark's lexer tries them, and
the LALR action and goto tables), with one regular expression, lists indexed
by small integers, and the reductions by unit rules folded into the goto
table.

It parses valid text only. Lark's contextual lexer tries, in each parser
state, only the terminals the state has an action for; where the first
terminal to match the one regular expression is among them, it is also the
one that lexer picks, and where it is not, this loop gives up. On anything
else that is not valid (a character no terminal matches, a token that leads
nowhere) it gives up too, raising :class:`Unparsable`, and the caller runs
Lark, whose errors it knows how to explain. The limits are the exception:
this loop meets them at the same token as the post-lexer on Lark's path, as
every token before that one was valid.
"""

from __future__ import annotations

import re
import sys
from operator import itemgetter
from typing import Any

from ..errors import Span
from .grammar import Callback, LimitError, Place, offset_places

# The version of the layout tables.read_tables() gives and Parser reads:
# tables saved with another are made again.
TABLES_FORMAT = 2


class Unparsable(Exception):  # noqa: N818 - a signal to fall back on Lark, not an error
    """The text is not valid as far as this loop can tell: let Lark decide."""


class _Inlined(list):
    """The children of an inlined rule (``_statement``), spliced into its parent."""


class Parser:
    """The tables of one grammar (see tables.read_tables), and a loop that runs them."""

    def __init__(self, tables: dict, callbacks: dict[str, Callback]) -> None:
        self._kind_of_group = tables["kind_of_group"]
        self._first_end = tables["first_end"]
        self._first_sign = tables["first_sign"]
        self._first_extend = tables["first_extend"]
        self._opens = tables["opens"]
        self._newline = tables["newline"]
        self._end_kind = len(tables["names"]) - 1
        self._sign_after = tables["sign_after"]
        self._pattern = re.compile(tables["pattern"], tables["flags"])
        self._start = tables["start"]
        self._end = tables["end"]
        self._error = tables["error"]
        self._actions = tables["actions"]
        after = tables["after"]
        self._rules: list[tuple[int, list, Callback, Any]] = [
            (
                # del stack[back:] pops the rule's symbols; a slice from
                # sys.maxsize is empty, for rules of no symbols.
                -shape["length"] if shape["length"] else sys.maxsize,
                after[shape["origin"]],
                *_reduction(shape, callbacks),
            )
            for shape in tables["rules"]
        ]
        self._rules.append((0, [], _same, _give_up))

    def parse(self, text: str, max_tokens: int, max_depth: int, context: Any = None) -> Any:
        """The value of the start rule for ``text``; :class:`Unparsable` if
        the text is not valid, :class:`LimitError` at the first token
        beyond a limit. The callbacks are given ``context`` where it is not
        None, else a Place for ``text`` (the AST's callbacks need one).

        One long flat loop on purpose (the one function of the house longer
        than 60 lines): it runs once a token of every program, and in
        CPython a call or an attribute lookup a token would cost more than
        the token's own work. So the tables are in local names, the nesting
        count is inline rather than a call, and the reductions are done in
        place. A token the state has no action for is not looked for apart:
        its action, -1, finds the rule that gives up (see __init__)."""
        actions = self._actions
        rules = self._rules
        kind_of_group = self._kind_of_group
        first_end = self._first_end
        first_sign = self._first_sign
        first_extend = self._first_extend
        opens = self._opens
        newline = self._newline
        sign_after = self._sign_after
        outer = _OUTER

        state = self._start
        states = [state]
        values: list[Any] = []
        # Nesting as the post-lexer counts it: open parentheses and open runs;
        # runs holds the open run of each enclosing level, run the innermost's.
        depth = run = 0
        runs: list[int] = []
        previous = self._end_kind  # the start of the text
        place = _places(text) if context is None else context
        m = None
        # The tokens are counted before the loop, not in it: it stops where
        # the first token beyond the limit starts.
        limit = len(text) if len(text) <= max_tokens else self._beyond(text, max_tokens)
        # Pattern.scanner matches token after token with no gap, which
        # finditer would skip; it is not in typeshed's stubs.
        scanner = self._pattern.scanner(text, 0, limit)  # type: ignore[attr-defined]
        for m in iter(scanner.match, None):
            kind = kind_of_group[m.lastindex]
            if kind >= first_end:  # ends, signs, extends, opens, closes, newlines, ignored
                if kind >= newline:
                    if kind > newline:
                        continue  # ignored
                    # Lark's lexer takes a newline in any state: the
                    # post-lexer counts it, and drops it inside parentheses.
                    depth -= run
                    run = 0
                    if runs:
                        continue
                elif kind < first_extend and (kind < first_sign or not sign_after[previous]):
                    depth -= run
                    run = 0
                elif kind <= opens:
                    if kind == opens:
                        runs.append(run)
                        run = 0
                    else:
                        run += 1
                    depth += 1
                    if depth > max_depth:
                        # Lark's lexer refuses a token the state has no
                        # action for before the post-lexer counts it.
                        if actions[state][kind] == self._error:
                            raise Unparsable
                        raise LimitError("depth", _span_of(m, text))
                elif runs:  # a closing parenthesis
                    depth -= 1 + run
                    run = runs.pop()
            previous = kind
            action = actions[state][kind]
            while action < 0:
                back, after, callback, pick = rules[action]
                if pick is None:
                    values[-1] = callback(place, values[-1])
                    state = after[states[-2]][kind]
                    states[-1] = state
                elif pick is outer:  # a binary operator's: its operands, read in place
                    value = callback(place, values[-3], values[-1])
                    del values[-2:]
                    values[-1] = value
                    del states[-2:]
                    state = after[states[-2]][kind]
                    states[-1] = state
                else:
                    children = pick(values)
                    del values[back:]
                    values.append(callback(place, *children))
                    del states[back:]
                    state = after[states[-1]][kind]
                    states.append(state)
                action = actions[state][kind]
            state = action
            states.append(state)
            values.append(m)
        if (m.end() if m else 0) != limit:
            raise Unparsable  # at a character no terminal matches
        if limit < len(text):
            self._refuse_beyond(text, limit, state)
        kind = self._end_kind
        end_state = self._end
        while True:
            action = actions[state][kind]
            if action >= 0:
                raise Unparsable
            back, after, callback, pick = rules[action]  # as in the loop above
            children = (values[-1],) if pick is None else pick(values)
            del values[back:]
            values.append(callback(place, *children))
            del states[back:]
            state = after[states[-1]][kind]
            if state == end_state:
                return values[-1]
            states.append(state)

    def _beyond(self, text: str, max_tokens: int) -> int:
        """Where the first token beyond ``max_tokens`` starts (those the
        post-lexer counts: newlines too, not what is ignored), or the end
        of the text; where no terminal matches, the end too (the loop gives
        up there)."""
        kind_of_group = self._kind_of_group
        newline = self._newline
        count = 0
        scanner = self._pattern.scanner(text)  # type: ignore[attr-defined]
        for m in iter(scanner.match, None):
            if kind_of_group[m.lastindex] <= newline:
                count += 1
                if count > max_tokens:
                    return m.start()
        return len(text)

    def _refuse_beyond(self, text: str, limit: int, state: int) -> None:
        """The first token beyond the limit on tokens, at ``limit``, after
        valid tokens that leave the parser in ``state``: the limit's error,
        or Unparsable where Lark's lexer refuses the token first (a newline
        it takes in any state)."""
        m = self._pattern.match(text, limit)
        assert m is not None  # (_beyond matched it there)
        kind = self._kind_of_group[m.lastindex]
        if kind != self._newline and self._actions[state][kind] == self._error:
            raise Unparsable
        raise LimitError("tokens", _span_of(m, text))


def _span_of(m: re.Match, text: str) -> Span:
    line, column = _places(text)(m)
    # The token ends where its kind's group, empty, is: a fixed string's
    # match runs on over what is ignored after it (see tables._lexer).
    return Span(m.start(), m.end(m.lastindex or 0), line, column)


def _places(text: str) -> Place:
    """The (line, column) of a match in ``text`` (see grammar.offset_places)."""
    if "\n" not in text:
        return _on_the_first_line
    at = offset_places(text)
    return lambda token: at(token.start())


def _on_the_first_line(token: re.Match) -> tuple[int, int]:
    return 1, token.start() + 1


def _reduction(shape: dict, callbacks: dict[str, Callback]) -> tuple[Callback, Any]:
    """``(callback, pick)`` for a reduction by the rule of ``shape``: ``pick``
    reads the rule's values on top of the stack (the whole stack, passed as
    it is: a copy of the top to pick from would cost a list a reduction) and
    gives the callback's arguments, shaped as Lark's ParseTreeBuilder shapes
    a transformer's (filtered tokens left out, the children of inlined rules
    spliced in, a ``?rule`` of one child passing it through). A pick of None
    means the callback takes the one value."""
    kept = [(i, spliced) for i, spliced in shape["kept"]]
    length = shape["length"]
    # Where the kept values are, counted from the end of the stack.
    from_the_top = [i - length for i, _ in kept]

    def splice(stack: list) -> _Inlined:
        return _splice(kept, stack[-length:] if length else [])

    name = shape["name"]
    if shape["unit"]:
        return _same, None
    if name in callbacks:
        callback = callbacks[name]
    elif shape["origin"].startswith("_"):
        # An inlined rule's value is its children, for its parent to splice.
        return _same, lambda stack: (splice(stack),)
    else:
        raise NotImplementedError(f"no callback for the grammar's rule {name!r}")
    expand1 = shape["expand1"]
    if not expand1 and not any(spliced for _, spliced in kept):
        if length == 1 and len(kept) == 1:
            return callback, None
        if length == 3 and from_the_top == [-3, -1]:
            return callback, _OUTER
        if len(kept) > 1:
            return callback, itemgetter(*from_the_top)
        return callback, lambda stack: tuple(stack[i] for i in from_the_top)
    if not expand1:
        return callback, splice

    def one_or_callback(place: Place, *children: Any) -> Any:
        return children[0] if len(children) == 1 else callback(place, *children)

    return one_or_callback, splice


# The pick of a rule of three symbols whose callback takes the first and
# the last (``sum "+" product``): the loop reads them in place, with no
# tuple of them made.
_OUTER = itemgetter(-3, -1)


def _splice(kept: list[tuple[int, bool]], popped: list) -> _Inlined:
    """The children kept, those of inlined rules spliced in. Like Lark, it
    grows the list of a first, inlined child rather than copy it: a
    left-recursive rule (``(a ";")*``) would otherwise copy every statement
    again for each one."""
    children = None
    for i, spliced in kept:
        if not spliced:
            if children is None:
                children = _Inlined()
            children.append(popped[i])
        elif children is None:
            children = popped[i]  # used once, by this parent: ours to grow
        else:
            children.extend(popped[i])
    return _Inlined() if children is None else children


def _same(place: Place, value: Any) -> Any:
    return value


def _give_up(stack: list) -> None:
    raise Unparsable
