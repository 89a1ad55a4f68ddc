"""``cgrad diff --steps`` for the terminal: a :class:`~cgrad.derivation.Derivation`
as lines, one block per node from the output back to the input, then the
answer as ``cgrad diff`` prints it (its JSON is in :mod:`.json_documents`).

User text goes into :class:`~rich.text.Text` objects, never into markup.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text

from ..autodiff.graph import INPUT, Graph
from ..derivation import FORMULA_LIMIT, Derivation, Formula, Step, where_text
from ..numerals import format_number
from .node_names import binding_names
from .terminal_tables import program_heading

# Terms listed where paths meet (the rest are counted).
TERMS_SHOWN = 4
_STYLE = "bold cyan"


def derivation_report(graph: Graph, derivation: Derivation) -> Group:
    """The program, each step of the derivation, what was left out, and the
    answer."""
    heading = program_heading(graph)
    if derivation.substitutions:
        heading += "   at " + ", ".join(
            f"{n} = {format_number(v)}" for n, v in derivation.substitutions.items()
        )
    # A bound node is called by its name; an input, by its own.
    names = {
        node_id: name
        for node_id, name in binding_names(graph).items()
        if graph.columns.ops[node_id] != INPUT
    }
    lines = [
        Text(heading, style="bold"),
        Text(f"∂f/∂{derivation.input} step by step, from the output back to {derivation.input}:"),
        Text(),
    ]
    for step in derivation.steps:
        lines += _step_lines(step, names, graph.output)
    left_out = derivation.count - len(derivation.steps)
    if left_out:
        lines.append(Text(f"... {left_out:,} more steps (--full shows them all)", style="dim"))
    lines += [Text(), *_answer_lines(f"∂f/∂{derivation.input}", derivation.answer)]
    return Group(*lines)


def _step_lines(step: Step, names: dict[int, str], output: int) -> list[Text]:
    name = names.get(step.node)
    called = name or step.text
    head = (
        f"@{step.node} {name} = {step.text}"
        if name and name != step.text
        else f"@{step.node} {called}"
    )
    lines = [Text(head, style="bold")]
    derivative = f"∂f/∂{called}" if called.isidentifier() else f"∂f/∂({called})"
    for term in step.terms[:TERMS_SHOWN] if len(step.terms) > 1 else ():
        lines.append(Text(f"  from @{term.sender}: {_formula(term.contribution)}"))
    if len(step.terms) > TERMS_SHOWN:
        lines.append(Text(f"  ... {len(step.terms) - TERMS_SHOWN:,} more terms", style="dim"))
    total = _formula(step.upstream)
    if step.node == output:
        total += " (the output)"
    sum_of = "sum: " if len(step.terms) > 1 else ""
    lines.append(Text(f"  {sum_of}{derivative} = {total}", style=_STYLE))
    if step.rule is not None:
        lines.append(Text(f"  {step.rule}: {step.statement}"))
    for send in step.sends:
        to = names.get(send.operand) or send.text
        lines.append(
            Text(
                f"  → @{send.operand} {to}: local {_formula(send.local)}, "
                f"sends {_formula(send.contribution)}"
            )
        )
    return lines


def _formula(statements: Formula) -> str:
    if statements is None:
        return f"(a formula of more than {FORMULA_LIMIT} nodes, not shown)"
    return where_text(statements)


def _answer_lines(title: str, statements: list[str]) -> list[Text]:
    """``title = formula`` as ``cgrad diff`` prints it: the title and the
    program's statements indented, one a line, when it names shared parts."""
    if len(statements) == 1:
        return [Text.assemble((title, _STYLE), f" = {statements[0]}")]
    return [Text(f"{title}:", style=_STYLE), *(Text(f"  {s}") for s in statements)]
