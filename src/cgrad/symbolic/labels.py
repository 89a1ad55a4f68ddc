"""Names to sort formula nodes by (canonical forms order factors and
terms by them first, their fingerprints breaking ties): an input's or a
named constant's name, or an op's, its digits read as a number, and the
first leaf down a node's leftmost operands.
"""

from __future__ import annotations

import functools
import re

from ..autodiff.graph import CONSTANT, INPUT
from .nodes import Sym


def label(node: Sym) -> tuple:
    """A name to sort by, its digits read as a number (x2 before x10)."""
    if node.op == INPUT:
        text = node.name or ""
    elif node.op == CONSTANT:
        text = node.name or ""
    else:
        text = node.op
    return _label_of(text)


@functools.lru_cache(maxsize=4096)
def _label_of(text: str) -> tuple:
    # Made once a name: the few op names of a big formula come up at every
    # node that is sorted.
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


_DIGITS = re.compile(r"(\d+)")


def leading_name(node: Sym) -> tuple:
    """The first leaf down the leftmost operands (at most 8 levels), so
    that calls of one op, and sums, sort by what they are of: step(a - m, 1)
    before step(b - m, 1), (1 + x) before (2 + x)."""
    for _ in range(8):
        if not node.operands:
            if node.name:  # an input, pi or e
                return (1, label(node))
            # a number: (1 + x) before (2 + x)
            return (0, node.value) if node.value is not None and node.value == node.value else (2,)
        node = node.operands[0]
    return (2,)
