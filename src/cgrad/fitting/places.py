"""Where a warning of the joined program (:mod:`.losses`) is in the
user's own text: the model's (its file, where it came from one) or the
loss's, line and column exact.

The joined program is the model's text with ``model = `` put before its
last expression, then the loss on a line of its own; the engine's
warnings name their node by its place in that text (``(node @3, line 2,
column 9)``). :class:`Places` maps an offset of it back: before the last
expression, the model's own; in it, 8 characters (``model = ``) less;
after it, the loss's, counted from its start.
"""

from __future__ import annotations

from dataclasses import replace

from ..autodiff.diagnostics import EvaluationWarning
from ..errors import Span
from ..function import Function
from ..parse.grammar import offset_places
from ..parse.parser import parse
from .losses import MODEL, loss_text, model_head


class Places:
    """The joined program's places as the user's (see the module's docstring)."""

    def __init__(self, model: Function, loss: str) -> None:
        source = model.source
        last = parse(source).statements[-1].span
        self.last = last.start
        self.bound = len(f"{MODEL} = ")
        self.loss_start = len(model_head(source, last))
        self.model_places = offset_places(source)
        self.loss_places = offset_places(loss_text(loss))
        origin = model.graph.origin
        self.model_origin = f"{origin}:" if origin else ""

    def where(self, span: Span) -> tuple[str, Span]:
        """The text ``span`` of the joined program is in (its origin, as
        the engine's messages put it before "line"), and its span there."""
        start, end = span.start, span.end
        if start >= self.loss_start:
            start, end = start - self.loss_start, end - self.loss_start
            return "loss ", Span(start, end, *self.loss_places(start))
        if start >= self.last:
            start = max(start - self.bound, self.last)
        if end > self.last:
            end = max(end - self.bound, self.last)
        return self.model_origin, Span(start, end, *self.model_places(start))

    def warning(self, warning: EvaluationWarning) -> EvaluationWarning:
        """``warning`` pointing at the user's text."""
        span = warning.span
        if span is None:
            return warning
        origin, found = self.where(span)
        said = f"(node @{warning.node}, line {span.line}, column {span.column})"
        meant = f"(node @{warning.node}, {origin}line {found.line}, column {found.column})"
        return replace(warning, message=warning.message.replace(said, meant), span=found)
