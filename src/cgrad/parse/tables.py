"""Lark's parser for the grammar, read into the fast loop's tables: plain
lists, numbers and strings (JSON can hold them, and parse_tables.json
ships them), so that a run need not import Lark nor build its parser.

What is read: the terminals, in the order Lark's lexer tries them, as one
regular expression; the LALR action and goto tables, with the states
numbered the same way every time and the reductions by unit rules
(``?sum: product`` and the like, which change no value) folded into the
goto table; and how each rule shapes its children for its callback. Only
parser.read_tables() imports this module (it needs Lark).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .grammar import Nesting

if TYPE_CHECKING:
    from lark import Lark
    from lark.grammar import Rule

# The error in the action table: a negative code, as reductions are, that
# finds a rule that gives up.
_ERROR = -1


def read_tables(lark: Lark, nesting: Nesting) -> dict[str, Any]:
    """What the fast loop (lalr.Parser) needs of the parser Lark built for
    the grammar, as plain data; ``nesting`` says which terminals nest."""
    options = lark.options
    if (
        options.maybe_placeholders
        or options.keep_all_tokens
        or options.lexer_callbacks
        or options.regex
        or options.use_bytes
    ):
        raise NotImplementedError("the fast parser reads Lark's default lexer and tree shaping")
    tables = _kinds(lark, nesting)
    kind = {name: number for number, name in enumerate(tables["names"])}
    tables.update(_lexer(lark, kind))
    tables.update(_renumbered(*_lalr_tables(lark, kind)))
    return tables


def _kinds(lark: Lark, nesting: Nesting) -> dict[str, Any]:
    """The terminals' names, numbered as kinds, and where each nesting role's
    kinds begin."""
    # Kinds are numbered by what the loop does with them: terminals with no
    # part in nesting first, then each nesting role, then the newline, then
    # what is ignored; the loop tells them apart by these ranges.
    ignored = set(lark.ignore_tokens)
    roles = [*sorted(nesting.ends), *sorted(nesting.signs), *sorted(nesting.extends)]
    roles += [nesting.opens, nesting.closes]
    plain = [t.name for t in lark.terminals if t.name not in ignored and t.name not in roles]
    plain.remove(nesting.continues)
    names = [*plain, *roles, nesting.continues, *sorted(ignored), "$END"]
    first_end = len(plain)
    first_sign = first_end + len(nesting.ends)
    # Whether a '+' or '-' after each kind is a sign; $END stands for the
    # start of the text.
    sign_after = [name in nesting.before_an_operand for name in names]
    sign_after[-1] = None in nesting.before_an_operand
    return {
        "names": names,
        "first_end": first_end,
        "first_sign": first_sign,
        "first_extend": first_sign + len(nesting.signs),
        "opens": names.index(nesting.opens),
        "newline": names.index(nesting.continues),
        "sign_after": sign_after,
    }


def _lexer(lark: Lark, kind: dict[str, int]) -> dict[str, Any]:
    """One regular expression for every terminal, and the kind of each of its groups."""
    flags = lark.options.g_regex_flags
    terminals = list(lark.terminals)
    _refuse_keywords(terminals, flags)
    # One alternation in the order Lark's lexer tries the terminals (its
    # BasicLexer sorts them so), so that the first alternative to match is
    # the terminal Lark would pick.
    terminals.sort(key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
    # A fixed string (an operator, a parenthesis) takes in what is ignored
    # after it, in the same match: a token fewer for the loop to skip (in
    # "a + b" the two spaces were two of five). No terminal starts with what
    # is ignored, so Lark's lexer would skip the same text; the string's
    # text and start stay its own (its end is read as start + length, see
    # lalr.Parser). Names and numbers, whose text is read, end where they end.
    ignored = set(lark.ignore_tokens)
    trailing = _trailing([t.pattern.to_regexp() for t in terminals if t.name in ignored])
    # Each terminal's group is empty, at the end of its text: an alternative
    # that starts with a character or a class is then passed over at a
    # glance by the regular expression engine where the text does not start
    # with it (a group in front hid that), and the last group to close, which
    # names the kind, is still the terminal's.
    pattern = "|".join(
        f"(?:{t.pattern.to_regexp()})(?P<{t.name}>)"
        + (trailing if t.pattern.type == "str" and t.name not in ignored else "")
        for t in terminals
    )
    compiled = re.compile(pattern, flags)
    kind_of_group = [-1] * (compiled.groups + 1)
    for name, group in compiled.groupindex.items():
        kind_of_group[group] = kind[name]
    return {"pattern": pattern, "flags": flags, "kind_of_group": kind_of_group}


def _trailing(ignored: list[str]) -> str:
    """A pattern for what is ignored after a fixed string: any run of the
    ``ignored`` patterns. Where they are blanks (one class of characters,
    repeated) and comments (a first character that is not a blank, then the
    rest of the line), a run is blanks then at most one comment, since
    nothing ignored can follow a comment on its line; so written, the
    regular expression engine tries it without the bookkeeping of a
    repeated group, once a token. A run of one other character (a
    byte-order mark, ``\\ufeff+``) is left out of it: it ends what is taken
    in, and is then a token of its own, which the loop skips all the same
    (in the blanks' class, a character past U+00FF would make the pattern
    several times slower to compile, at every start)."""
    if not ignored:
        return ""
    general = f"(?:{'|'.join(ignored)})*"
    blanks = [p for p in ignored if re.fullmatch(r"\[[^\]]*\]\+", p)]
    # A comment: plain characters, then the rest of the line.
    comments = [p for p in ignored if re.fullmatch(r"[^\\\[\](){}.*+?|^$]+\[\^(?:\n|\\n)\]\*", p)]
    # A run of one character: itself, or written \uXXXX.
    one = r"(?:[^\\\[\](){}.*+?|^$\s]|\\u[0-9a-fA-F]{4})\+"
    runs = [p for p in ignored if re.fullmatch(one, p)]
    if len(blanks) != 1 or len(blanks) + len(comments) + len(runs) != len(ignored):
        return general
    if re.match(blanks[0], "\n") or any(re.match(blanks[0], comment) for comment in comments):
        return general
    return blanks[0][:-1] + "*" + (f"(?:{'|'.join(comments)}|)" if comments else "")


def _lalr_tables(lark: Lark, kind: dict[str, int]) -> tuple:
    """The action table by kind, the states after each reduction, the rules,
    and the start and end states, as Lark numbers its states."""
    from lark.parsers.lalr_analysis import Shift

    # Private, but the same from Lark 1.0 on (its serialisation uses it).
    table = lark.parser.parser._parse_table
    (start,) = table.start_states.values()
    (end,) = table.end_states.values()
    goto = {
        state: {symbol: arg for symbol, (_, arg) in actions.items() if symbol not in kind}
        for state, actions in table.states.items()
    }
    rules = sorted(
        {arg for actions in table.states.values() for action, arg in actions.values()
         if action is not Shift},
        key=str,
    )  # fmt: skip
    # A shift is the state shifted to; a reduction, a negative code with
    # which rules[code] finds the rule; the error, -1, finds a rule that
    # gives up.
    code = {rule: number - len(rules) - 1 for number, rule in enumerate(rules)}
    actions = [[_ERROR] * len(kind) for _ in range(len(table.states))]
    for state, symbols in table.states.items():
        for symbol, (action, arg) in symbols.items():
            if symbol in kind:
                actions[state][kind[symbol]] = arg if action is Shift else code[arg]
    unit = {rule for rule in rules if _is_unit(rule)}
    after = _after(actions, goto, rules, unit)
    shapes = [_rule_shape(rule, rule in unit) for rule in rules]
    return actions, goto, after, shapes, start, end


def _after(
    actions: list[list[int]], goto: dict[int, dict[str, int]], rules: list[Rule], unit: set[Rule]
) -> dict[str, list[list[int] | None]]:
    """after[origin][state below][lookahead]: the state once a reduction to
    origin has pushed its goto and every unit reduction has followed."""

    def state_after_unit_reductions(below: int, top: int, lookahead: int) -> int:
        # Reductions by unit rules leave the stack below alone, so where
        # they lead depends on the two states on top and the lookahead.
        while (action := actions[top][lookahead]) < _ERROR:
            rule = rules[action + len(rules) + 1]
            if rule not in unit:
                break
            top = goto[below][rule.origin.name]
        return top

    kinds = range(len(actions[0]))
    nonterminals = {symbol for symbols in goto.values() for symbol in symbols}
    return {
        origin: [
            [
                state_after_unit_reductions(below, goto[below][origin], lookahead)
                for lookahead in kinds
            ]
            if origin in goto[below]
            else None
            for below in range(len(actions))
        ]
        for origin in sorted(nonterminals)
    }


def _renumbered(
    actions: list[list[int]],
    goto: dict[int, dict[str, int]],
    after: dict[str, list[list[int] | None]],
    rules: list[dict[str, Any]],
    start: int,
    end: int,
) -> dict[str, Any]:
    """The parse tables with the states numbered in the order a walk from
    the start meets them. Lark numbers its states differently from run to
    run (it walks sets of strings, whose order follows the hash seed):
    numbered again, the tables of one grammar are the same every time, and
    the shipped ones can be compared with them."""
    renumbered: dict[int, int] = {}
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
    return {
        "start": renumbered[start],
        "end": renumbered[end],
        "error": _ERROR,
        "actions": [[renumbered[a] if a >= 0 else a for a in actions[old]] for old in old_states],
        "after": {
            origin: [
                None if (row := rows[old]) is None else [renumbered[state] for state in row]
                for old in old_states
            ]
            for origin, rows in after.items()
        },
        "rules": rules,
    }


def _rule_shape(rule: Rule, unit: bool) -> dict:
    """What a reduction by ``rule`` does with the values it pops (see
    lalr._reduction)."""
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
