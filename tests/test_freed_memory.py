"""A batch run keeps the memory it frees for its next block (glibc's
malloc would give big blocks back and fault them in again)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from cgrad.cli import batch_command

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "libc.so" not in str(ctypes.util.find_library("c")),
    reason="mallopt's thresholds are glibc's",
)

# Page faults of a second 8 MB array made after the first was freed.
_SECOND_ARRAY_FAULTS = """
import resource, sys
import numpy as np
from cgrad.cli.freed_memory import keep_freed_memory
if sys.argv[1] == "kept":
    keep_freed_memory()
first = np.ones(1 << 20)
del first
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
second = np.ones(1 << 20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _SECOND_ARRAY_FAULTS, mode],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(run.stdout)


@glibc
def test_freed_blocks_are_reused_without_faulting_their_pages_in_again():
    # Given back, an 8 MB array's pages fault in again (hundreds of faults
    # with pages of 4 KB, a few with huge pages); kept, none do.
    given_back, kept = _faults("given back"), _faults("kept")
    assert given_back > 0 and kept * 8 < given_back


def test_batch_keeps_freed_memory_for_its_run(cli, monkeypatch):
    calls: list[None] = []
    monkeypatch.setattr(batch_command, "keep_freed_memory", lambda: calls.append(None))
    result = cli("batch", "-e", "x*2", "--format", "csv", input="x\n1\n")
    assert result.exit_code == 0 and result.stdout.splitlines()[1].startswith("1,1.0,2.0,")
    assert calls == [None]
