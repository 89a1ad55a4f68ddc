"""Fingerprints of formula nodes: a digest of each node's content, the
same in every run (canonical forms order terms by them where names and ops
tie), and whether a node depends on an input. Nothing here recurses on
the size of an expression.
"""

from __future__ import annotations

import hashlib

from ..autodiff.graph import INPUT
from .nodes import Sym, folded


class Fingerprints:
    """The fingerprints of the nodes asked about, and of the nodes under
    them, each made once."""

    def __init__(self) -> None:
        self.digests: dict[int, bytes] = {}
        self.variables: dict[int, bool] = {}  # whether a node depends on an input

    def variable(self, node: Sym) -> bool:
        known = self.variables.get(node.id)
        if known is None:
            self.digest(node)
            known = self.variables[node.id]
        return known

    def digest(self, node: Sym) -> bytes:
        """A fingerprint of ``node``'s content, the same in every run."""
        digests = self.digests
        known = digests.get(node.id)
        if known is not None:
            return known
        operands = node.operands
        for a in operands:
            if not a.operands and a.id not in digests:  # a number or a name
                digests[a.id] = self._digest_of(a, [])
        if all(a.id in digests for a in operands):  # most nodes: operands come first
            made = digests[node.id] = self._digest_of(node, [digests[a.id] for a in operands])
            return made
        return folded(node, digests, self._digest_of)

    def _digest_of(self, top: Sym, operands: list[bytes]) -> bytes:
        """``top``'s fingerprint from its operands'; whether it depends on an input."""
        variables = self.variables
        if not operands:  # a number or a name
            variables[top.id] = top.op == INPUT
            text = f"{top.op}|{top.value!r}|{top.name}|".encode()
            return _hashed(text)
        variable = False
        for a in top.operands:
            if variables[a.id]:
                variable = True
                break
        variables[top.id] = variable
        head = _HEADS.get(top.op)
        if head is None:  # an op's node has no value and no name
            head = _HEADS[top.op] = f"{top.op}|None|None|".encode()
        return _hashed(head + b"".join(operands))


# The start of the bytes an op's node is fingerprinted by, per op.
_HEADS: dict[str, bytes] = {}
# A hash of 8 bytes of nothing yet: copied, it hashes as a new one made with
# digest_size=8 does, for less than that call's parsing of its arguments.
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)


def _hashed(data: bytes) -> bytes:
    """``hashlib.blake2b(data, digest_size=8).digest()``."""
    hashed = _BLAKE2B_8.copy()
    hashed.update(data)
    return hashed.digest()
