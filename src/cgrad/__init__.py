"""cgrad: parse a math expression, build its computational graph, and get its
value and every partial derivative by reverse-mode automatic differentiation.

    >>> import cgrad
    >>> f = cgrad.compile("(x+y)*z")
    >>> f.inputs
    ('x', 'y', 'z')
    >>> r = f.evaluate(x=1, y=2, z=3)
    >>> r.value, r.gradient
    (9.0, {'x': 3.0, 'y': 3.0, 'z': 3.0})
"""

from .autodiff.evaluation import Result
from .autodiff.graph import Graph
from .errors import CgradError, InputError, ParseError, Span, UsageError
from .function import Function, compile

__all__ = [
    "CgradError",
    "EvaluationWarning",
    "Function",
    "Graph",
    "InputError",
    "Node",
    "ParseError",
    "Result",
    "Span",
    "UsageError",
    "compile",
    "evaluate_frame",
    "fit",
    "minimize",
]


def __getattr__(name: str) -> object:
    # cgrad.EvaluationWarning too: an evaluation with nothing to warn about
    # (most runs of `cgrad eval`) never imports the diagnostics.
    if name == "EvaluationWarning":
        from .autodiff.diagnostics import EvaluationWarning

        return EvaluationWarning
    # cgrad.minimize is imported on first use: a run of `cgrad eval` (which
    # imports this package) has no use for gradient descent.
    if name == "Node":  # likewise: most runs never make a node object
        from .autodiff.node import Node

        return Node
    if name == "minimize":
        from .descent import minimize

        return minimize
    if name == "evaluate_frame":  # likewise, for frames
        from .batch.frames import evaluate_frame

        return evaluate_frame
    if name == "fit":  # likewise, for fitting to data
        from .fitting.training import fit

        return fit
    raise AttributeError(f"module 'cgrad' has no attribute {name!r}")
