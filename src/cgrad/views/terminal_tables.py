"""The pieces every terminal report is made of, as Rich renderables: the
program's heading, aligned tables, the table of partials and the Hessian's,
and the ``warning:`` lines.

Nothing here prints; the command line decides where things go. User text
(expressions, names) is passed through ``escape`` before it meets Rich
markup, so that ``x[1]`` is never read as a tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markup import escape
from rich.measure import Measurement
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from ..autodiff.diagnostics import EvaluationWarning
from ..autodiff.evaluation import Result
from ..autodiff.graph import Graph, shorten
from ..batch.aligned import cell_width, column_widths, padded
from ..numerals import format_number
from .styled_lines import PieceLines, Pieces
from .visible_text import visible

# Characters of the program repeated at the top of a report.
PROGRAM_WIDTH = 400


def program_heading(graph: Graph) -> str:
    """The program as a report's first line(s): comment-only lines (usage
    notes in a sample file) are not the program, and one too long to repeat
    is named by its file where it has one, else shortened in the middle."""
    # Lines as the parser has them: ended by a line feed (and a CRLF), not
    # at \f, \v or U+2028 as splitlines() ends them, whose text the parser
    # reads on one line; those, and a bell, are written out, not acted on.
    lines = graph.source.strip().replace("\r\n", "\n").split("\n")
    program = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    if len(program) <= PROGRAM_WIDTH:
        return visible(program)
    return graph.origin or visible(shorten(program, PROGRAM_WIDTH))


def aligned_table(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    last_style: Callable[[str], str] | None = None,
) -> list[Text]:
    """Plain aligned columns: a bold header, a rule, the rows (right-aligned
    where the column is a number; the last cell styled by ``last_style``).
    Laid out as batch's table is (:mod:`cgrad.batch.aligned`): a line may
    be wider than the terminal. For a table of tens of thousands of rows
    (``--full``), see :func:`aligned_lines`."""
    return [Text.assemble(*pieces) for pieces in _aligned_pieces(header, rows, right, last_style)]


def aligned_lines(header: list[str], rows: list[list[str]], right: set[int]) -> PieceLines:
    """:func:`aligned_table` as lines made as they are written (see
    :class:`~.styled_lines.PieceLines`): ``--full`` may ask for a line per
    node of a graph of a million, which as Rich ``Text`` objects would take
    gigabytes."""
    return PieceLines(lambda: _aligned_pieces(header, rows, right, None))


def _aligned_pieces(
    header: list[str],
    rows: list[list[str]],
    right: set[int],
    last_style: Callable[[str], str] | None,
) -> Iterator[Pieces]:
    widths = column_widths(header, rows)
    numeric = [i in right for i in range(len(header))]

    def line(cells: list[str], style: str = "") -> Pieces:
        cut = padded(cells, widths, numeric)
        head = "  ".join(cut[:-1]) + "  "
        last = cut[-1].rstrip()
        if not last:  # a line ends at its last character, not in blanks
            head = head.rstrip()
        # (the line's style covers the last cell too, under the cell's own)
        own = last_style(cells[-1]) if last_style and last else ""
        if not own:  # one style: one piece, as Rich joins them
            return ((head + last, style),)
        return ((head, style), (last, f"{style} {own}".strip()))

    heading = line(header, style="bold")
    yield heading
    yield (("─" * sum(cell_width(text) for text, _ in heading), "dim"),)
    for row in rows:
        yield line(row)


def warning_lines(warnings: Iterable[EvaluationWarning]) -> list[Text]:
    """A blank line, then one ``warning:`` line per warning; nothing when
    there are none."""
    lines = [Text(f"warning: {w.message}", style="yellow") for w in warnings]
    return [Text(), *lines] if lines else []


class NaturalWidth:
    """A table drawn at its natural width however narrow the console: a
    number that does not fit overflows the line, as in the aligned tables,
    never cut to an ellipsis (the full digits are the point of the table)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def _natural(self, console: Console, options: ConsoleOptions) -> int:
        wide = options.update(max_width=max(options.max_width, WIDEST))
        return Measurement.get(console, wide, self.table).maximum

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        natural = self._natural(console, options)
        return Measurement(natural, natural)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        natural = self._natural(console, options)
        if natural > options.max_width:
            options = options.update(width=natural)
        yield Segments(console.render(self.table, options))


# Wider than any table of partials: the width a table is measured at.
WIDEST = 1 << 20


def result_table(inputs: dict[str, float], result: Result) -> NaturalWidth:
    """One row per input: its value and the partial derivative of the output."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("input")
    table.add_column("value", justify="right")
    table.add_column("∂f/∂input", justify="right")
    for name, value in inputs.items():
        partial = result.gradient.get(name)
        table.add_row(
            escape(name),
            format_number(value),
            format_number(float(partial)) if partial is not None else "-",
        )
    return NaturalWidth(table)


def hessian_table(hessian: dict[str, dict[str, float]]) -> NaturalWidth:
    """The second partial derivatives, a row and a column per input."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("∂²f")
    names = list(hessian)
    for name in names:
        table.add_column(f"∂{escape(name)}", justify="right")
    for name, row in hessian.items():
        table.add_row(f"∂{escape(name)}", *(format_number(row[other]) for other in names))
    return NaturalWidth(table)
