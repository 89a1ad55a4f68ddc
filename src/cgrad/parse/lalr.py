"""Valid program text to AST, fast: Lark's LALR tables run by a loop of our own.

Lark's own loop costs 7 to 10 µs a token (a Token object each, a lexer per
parser state, a post-lexer generator, a chain of wrappers around each
callback), seconds for a big program. This module builds nothing of its own
from the grammar: it reads what Lark built from grammars/cgrad.lark (the
terminals, in the order Lark's lexer tries them, and the LALR action and goto
tables) and runs it with one regular expression, lists indexed by small
integers, and the reductions by unit rules (``?sum: product`` and the like,
which change no value) folded into the goto table.

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
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import Span

if TYPE_CHECKING:
    from lark import Lark
    from lark.grammar import Rule

# The version of the layout read_tables() gives: tables saved with another
# are made again.
TABLES_FORMAT = 1


class Unparsable(Exception):  # noqa: N818 - a signal to fall back on Lark, not an error
    """The text is not valid as far as this loop can tell: let Lark decide."""


class LimitError(Exception):
    """``limit`` ("tokens" or "depth") was exceeded at the token at ``span``."""

    def __init__(self, limit: str, span: Span) -> None:
        super().__init__(limit)
        self.limit = limit
        self.span = span


class Nesting(NamedTuple):
    """What the post-lexer counts as nesting, by terminal name (see
    parser._PostLexer, which applies the same rules to Lark's tokens)."""

    opens: str  # "(": a new level, with a run of its own
    closes: str  # ")": the level and its run are let go
    extends: frozenset[str]  # "^": one more in the open run
    signs: frozenset[str]  # "+": a sign after these, else an end
    before_an_operand: frozenset[str | None]  # None: at the start
    ends: frozenset[str]  # "*": the open run is let go
    continues: str  # a newline: ends the run; inside parentheses, dropped


# A reduction's callback takes a function that gives the (line, column) of a
# token, then the rule's children (tokens filtered out and inlined rules
# spliced in, as Lark passes them to a transformer method), and returns the
# value. A token is the regular expression's match.
Callback = Callable[..., Any]
Place = Callable[[re.Match], tuple[int, int]]


class _Inlined(list):
    """The children of an inlined rule (``_statement``), spliced into its parent."""


def read_tables(lark: Lark, nesting: Nesting) -> dict:
    """What the loop needs of the parser Lark built, as plain data (lists,
    numbers, strings: JSON can hold them, so that a cold start need not
    build Lark, which takes 25 ms, nor import it)."""
    from lark.parsers.lalr_analysis import Shift

    options = lark.options
    if (
        options.maybe_placeholders
        or options.keep_all_tokens
        or options.lexer_callbacks
        or options.regex
        or options.use_bytes
    ):
        raise NotImplementedError("the fast parser reads Lark's default lexer and tree shaping")

    # Kinds are numbered by what the loop does with them: terminals with no
    # part in nesting first, then each nesting role, then the newline, then
    # what is ignored; the loop tells them apart by these ranges.
    ignored = set(lark.ignore_tokens)
    roles = [*sorted(nesting.ends), *sorted(nesting.signs), *sorted(nesting.extends)]
    roles += [nesting.opens, nesting.closes]
    plain = [t.name for t in lark.terminals if t.name not in ignored and t.name not in roles]
    plain.remove(nesting.continues)
    names = [*plain, *roles, nesting.continues, *sorted(ignored), "$END"]
    kind = {name: number for number, name in enumerate(names)}
    first_end = len(plain)
    first_sign = first_end + len(nesting.ends)
    # Whether a '+' or '-' after each kind is a sign; $END stands for the
    # start of the text.
    sign_after = [name in nesting.before_an_operand for name in names]
    sign_after[-1] = None in nesting.before_an_operand

    flags = options.g_regex_flags
    terminals = list(lark.terminals)
    _refuse_keywords(terminals, flags)
    # One alternation in the order Lark's lexer tries the terminals (its
    # BasicLexer sorts them so), so that the first alternative to match is
    # the terminal Lark would pick.
    terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    pattern = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
    compiled = re.compile(pattern, flags)
    kind_of_group = [-1] * (compiled.groups + 1)
    for name, group in compiled.groupindex.items():
        kind_of_group[group] = kind[name]

    # Private, but the same from Lark 1.0 on (its serialisation uses it).
    table = lark.parser.parser._parse_table
    (start,) = table.start_states.values()
    (end,) = table.end_states.values()
    goto = {
        state: {symbol: arg for symbol, (_, arg) in actions.items() if symbol not in kind}
        for state, actions in table.states.items()
    }
    nonterminals = {symbol for symbols in goto.values() for symbol in symbols}
    rules = sorted(
        {arg for actions in table.states.values() for action, arg in actions.values()
         if action is not Shift},
        key=str,
    )  # fmt: skip
    unit = {rule for rule in rules if _is_unit(rule)}
    # A shift is the state shifted to; a reduction, a negative code with
    # which rules[code] finds the rule; the error, -1, finds a rule that
    # gives up.
    error = -1
    code = {rule: number - len(rules) - 1 for number, rule in enumerate(rules)}
    states = range(len(table.states))
    actions = [[error] * len(kind) for _ in states]
    for state, symbols in table.states.items():
        for symbol, (action, arg) in symbols.items():
            if symbol in kind:
                actions[state][kind[symbol]] = arg if action is Shift else code[arg]

    def settle(below: int, top: int, lookahead: int) -> int:
        # Reductions by unit rules leave the stack below alone, so where
        # they lead depends on the two states on top and the lookahead.
        while (action := actions[top][lookahead]) < error:
            rule = rules[action + len(rules) + 1]
            if rule not in unit:
                break
            top = goto[below][rule.origin.name]
        return top

    # after[origin][state below][lookahead]: the state once a reduction to
    # origin has pushed its goto and every unit reduction has followed.
    after = {
        origin: [
            [settle(below, goto[below][origin], lookahead) for lookahead in range(len(kind))]
            if origin in goto[below]
            else None
            for below in states
        ]
        for origin in sorted(nonterminals)
    }
    # Lark numbers its states differently from run to run (it walks sets of
    # strings, whose order follows the hash seed): numbered again in the
    # order a walk from the start meets them, the tables of one grammar are
    # the same every time, and the shipped ones can be compared with them.
    renumbered = {}
    waiting = [start]
    while waiting:
        state = waiting.pop(0)
        if state in renumbered:
            continue
        renumbered[state] = len(renumbered)
        waiting += [target for target in actions[state] if target >= 0]
        waiting += [goto[state][symbol] for symbol in sorted(goto[state])]
    assert len(renumbered) == len(actions), "a state no walk from the start reaches"
    old_states = sorted(renumbered, key=renumbered.__getitem__)
    actions = [[renumbered[a] if a >= 0 else a for a in actions[old]] for old in old_states]
    after = {
        origin: [
            None if rows[old] is None else [renumbered[state] for state in rows[old]]
            for old in old_states
        ]
        for origin, rows in after.items()
    }
    start, end = renumbered[start], renumbered[end]
    return {
        "names": names,
        "first_end": first_end,
        "first_sign": first_sign,
        "first_extend": first_sign + len(nesting.signs),
        "opens": kind[nesting.opens],
        "newline": kind[nesting.continues],
        "sign_after": sign_after,
        "pattern": pattern,
        "flags": flags,
        "kind_of_group": kind_of_group,
        "start": start,
        "end": end,
        "error": error,
        "actions": actions,
        "after": after,
        "rules": [_rule_shape(rule, rule in unit) for rule in rules],
    }


def _rule_shape(rule: Rule, unit: bool) -> dict:
    """What a reduction by ``rule`` does with the values it pops (see
    :func:`_reduction`)."""
    return {
        "origin": rule.origin.name,
        "name": rule.alias or rule.origin.name,
        "length": len(rule.expansion),
        # The children a transformer gets: (position, the children of an
        # inlined rule, to splice?), filtered tokens left out.
        "kept": [[i, _spliced(s)] for i, s in enumerate(rule.expansion) if not _filtered(s)],
        "expand1": bool(rule.options.expand1 and not rule.alias),
        "unit": unit,
    }


class Parser:
    """The tables of one grammar (see :func:`read_tables`), and a loop that runs them."""

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

    def parse(self, text: str, max_tokens: int, max_depth: int) -> Any:
        """The value of the start rule for ``text``; :class:`Unparsable` if
        the text is not valid, :class:`LimitError` at the first token
        beyond a limit."""
        actions = self._actions
        rules = self._rules
        kind_of_group = self._kind_of_group
        error = self._error
        first_end = self._first_end
        first_sign = self._first_sign
        first_extend = self._first_extend
        opens = self._opens
        newline = self._newline
        sign_after = self._sign_after

        state = self._start
        states = [state]
        values: list[Any] = []
        count = 0
        # Nesting as the post-lexer counts it: open parentheses and open runs;
        # runs holds the open run of each enclosing level, run the innermost's.
        depth = run = 0
        runs: list[int] = []
        previous = self._end_kind  # the start of the text
        place = _places(text)
        m = None
        for m in iter(self._pattern.scanner(text).match, None):
            kind = kind_of_group[m.lastindex]
            if kind >= newline:
                if kind > newline:
                    continue  # ignored
                # Lark's lexer takes a newline in any state: the post-lexer
                # counts it, and drops it inside parentheses.
                count += 1
                if count > max_tokens:
                    raise LimitError("tokens", _span_of(m, place))
                depth -= run
                run = 0
                if runs:
                    continue
                action = actions[state][kind]
            else:
                # Lark's lexer refuses a token the state has no action for
                # before the post-lexer counts it.
                action = actions[state][kind]
                if action == error:
                    raise Unparsable
                count += 1
                if count > max_tokens:
                    raise LimitError("tokens", _span_of(m, place))
                if kind >= first_end:  # ends, signs, extends, opens, closes
                    if kind < first_extend and (kind < first_sign or not sign_after[previous]):
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
                            raise LimitError("depth", _span_of(m, place))
                    elif runs:  # a closing parenthesis
                        depth -= 1 + run
                        run = runs.pop()
            previous = kind
            while action < 0:
                back, after, callback, pick = rules[action]
                if pick is None:
                    values[-1] = callback(place, values[-1])
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
        if (m.end() if m else 0) != len(text):
            raise Unparsable  # at a character no terminal matches
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


def _span_of(m: re.Match, place: Place) -> Span:
    line, column = place(m)
    return Span(m.start(), m.end(), line, column)


def _places(text: str) -> Place:
    """The (line, column) of a match in ``text``, 1-based, as Lark's lexer
    counts them: lines end at '\\n' only."""
    if "\n" not in text:
        return _on_the_first_line
    # Where each line starts: after each line and its '\n'.
    starts = list(accumulate(map((1).__add__, map(len, text.split("\n"))), initial=0))

    def place(token: re.Match) -> tuple[int, int]:
        offset = token.start()
        line = bisect_right(starts, offset)
        return line, offset - starts[line - 1] + 1

    return place


def _on_the_first_line(token: re.Match) -> tuple[int, int]:
    return 1, token.start() + 1


def _is_unit(rule: Rule) -> bool:
    """A rule whose value is its one child's, as ``?sum: product``."""
    if len(rule.expansion) != 1 or not rule.options.expand1 or rule.alias:
        return False
    (symbol,) = rule.expansion
    return not _filtered(symbol) and not _spliced(symbol)


def _filtered(symbol) -> bool:
    return symbol.is_term and symbol.filter_out


def _spliced(symbol) -> bool:
    return not symbol.is_term and symbol.name.startswith("_")


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
        if len(kept) > 1:
            return callback, itemgetter(*from_the_top)
        return callback, lambda stack: tuple(stack[i] for i in from_the_top)
    if not expand1:
        return callback, splice

    def one_or_callback(place: Place, *children: Any) -> Any:
        return children[0] if len(children) == 1 else callback(place, *children)

    return one_or_callback, splice


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


def _refuse_keywords(terminals, flags: int) -> None:
    # Lark's lexer retypes a match of a pattern terminal that is also a
    # string terminal (a keyword matched as a NAME); this loop does not.
    strings = [t for t in terminals if t.pattern.type == "str"]
    for terminal in terminals:
        if terminal.pattern.type != "re":
            continue
        pattern = re.compile(terminal.pattern.to_regexp(), flags)
        for string in strings:
            value = string.pattern.value
            found = pattern.match(value)
            if string.priority == terminal.priority and found and found.group(0) == value:
                raise NotImplementedError(f"{string.name} is also a {terminal.name}")
