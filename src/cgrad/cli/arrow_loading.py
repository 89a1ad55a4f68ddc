"""pyarrow loaded for a command that never hands it a pandas object.

On its first conversion, pyarrow looks for pandas (to tell a pandas Series
from other sequences) and, when pandas is installed, imports all of it:
a large share of a short batch run's start-up, and tens of megabytes that
stay. The command line's batch only gives pyarrow numpy arrays, bytes and
lists, so it lets pyarrow's one look find no pandas. pyarrow looks again
whenever it truly needs pandas (``to_pandas``, say), so nothing is lost
if something in the same process does use both later.

pyarrow also swaps in a signal handler of its own while it reads, to
cancel a long read on Ctrl-C and pass the signal on. The command line's
handler (:mod:`.signals`) raises its own exception for every ending
signal; passed on by pyarrow, a Ctrl-C during a read was now and then
lost, and a streamed ``fit`` of a hundred million epochs ran on. The
command line reads in blocks of a few megabytes, each over in
milliseconds, so it turns pyarrow's handler off: the signal then reaches
the command's own handler as soon as the block is read.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class _NoPandas(MetaPathFinder):
    """A finder that refuses pandas while pyarrow takes its look."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201 (finder protocol)
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded for pyarrow by cgrad batch")
        return None


def load_arrow_without_pandas() -> None:
    """Import pyarrow, with its signal handlers off, and let it settle that
    pandas is absent (unless pandas is loaded already, when there is
    nothing to save; and once pyarrow has looked, looking again changes
    nothing)."""
    import pyarrow as pa

    pa.enable_signal_handlers(False)
    if "pandas" in sys.modules:
        return

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([])  # pyarrow's look for pandas happens here
    finally:
        sys.meta_path.remove(finder)
