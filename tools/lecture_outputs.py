"""Run docs/lecture.ipynb in a kernel and store the outputs it shows, so
that the notebook read on the web shows today's numbers and drawings.

    .venv/bin/python tools/lecture_outputs.py

tests/test_notebook.py runs the notebook too and fails when the text it
prints no longer matches the stored outputs: this script brings them up to
date (the test extra has nbformat, nbclient and ipykernel).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

LECTURE = Path(__file__).resolve().parents[1] / "docs" / "lecture.ipynb"


def main() -> None:
    notebook = nbformat.read(LECTURE, as_version=4)
    path = str(LECTURE.parent)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": path}}).execute()
    for cell in notebook.cells:
        # Timings differ at each run: only the outputs are kept.
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, LECTURE)


if __name__ == "__main__":
    main()
