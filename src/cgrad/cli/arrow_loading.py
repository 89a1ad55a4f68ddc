"""pyarrow loaded for a command that never hands it a pandas object.

On its first conversion, pyarrow looks for pandas (to tell a pandas Series
from other sequences) and, when pandas is installed, imports all of it:
a large share of a short batch run's start-up, and tens of megabytes that
stay. The command line's batch only gives pyarrow numpy arrays, bytes and
lists, so it lets pyarrow's one look find no pandas. pyarrow looks again
whenever it truly needs pandas (``to_pandas``, say), so nothing is lost
if something in the same process does use both later.
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
    """Import pyarrow and let it settle that pandas is absent (unless
    pandas is loaded already, when there is nothing to save; and once
    pyarrow has looked, looking again changes nothing)."""
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([])  # pyarrow's look for pandas happens here
    finally:
        sys.meta_path.remove(finder)
