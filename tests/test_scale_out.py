"""A compiled function ships to other processes: it pickles, and the Dask
recipe of docs/library.md runs as written on a LocalCluster of worker
processes (dask and distributed are in the test extra, so this runs in CI)."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

import cgrad

PROGRAM = "t = x*y; sin(t) + t*z"
LIBRARY_PAGE = Path(__file__).resolve().parents[1] / "docs" / "library.md"


def test_a_function_pickles_and_evaluates_the_same():
    f = cgrad.compile(PROGRAM)
    g = pickle.loads(pickle.dumps(f))
    xs = np.linspace(-1, 1, 50_000)  # long enough to go through the slices
    mine, theirs = f.evaluate(x=xs, y=0.5, z=2.0), g.evaluate(x=xs, y=0.5, z=2.0)
    assert np.array_equal(mine.value, theirs.value)
    assert all(np.array_equal(mine.gradient[n], theirs.gradient[n]) for n in f.inputs)
    # A derivative keeps the inputs of its function through a pickle too.
    derivative = pickle.loads(pickle.dumps(f.derivative("z")))
    assert derivative.inputs == ("x", "y", "z") and derivative.source == "x*y"


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each, the default scheduler of
    dask while the module runs; shut down after it (the context managers
    close the client, then the workers and the scheduler)."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def _points(rows: int = 3000) -> pd.DataFrame:
    return pd.DataFrame(
        {"x": np.linspace(-2, 2, rows), "y": np.linspace(1, 2, rows), "z": 0.5, "id": range(rows)}
    )


def test_the_workers_are_other_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values()


def test_map_partitions_on_the_cluster_gives_the_frame_of_one_process(client):
    f = cgrad.compile(PROGRAM)
    points = _points()
    frame = dd.from_pandas(points, npartitions=4)
    out = frame.map_partitions(cgrad.evaluate_frame, f).compute()
    expected = cgrad.evaluate_frame(points, f)
    pd.testing.assert_frame_equal(out.sort_index(), expected)
    # ... and the numbers are the library's own at those points.
    result = f.evaluate(x=points["x"].to_numpy(), y=points["y"].to_numpy(), z=0.5)
    assert np.array_equal(expected["value"].to_numpy(), result.value)
    assert np.array_equal(expected["grad_x"].to_numpy(), result.gradient["x"])


def _recipe() -> str:
    """The Dask recipe's code, as docs/library.md shows it."""
    page = LIBRARY_PAGE.read_text(encoding="utf-8")
    section = page[page.index("## Beyond one machine") :]
    [code] = re.findall(r"```python\n(import cgrad\nimport dask.*?)```", section, re.DOTALL)
    return code


def test_the_recipe_of_the_library_page_runs_as_written(client, tmp_path, monkeypatch):
    points = _points(900)
    monkeypatch.chdir(tmp_path)
    for index in range(3):
        points.iloc[index * 300 : (index + 1) * 300].to_csv(f"points-{index}.csv", index=False)
    assert distributed.default_client() is client  # the recipe's to_parquet runs on it
    exec(compile(_recipe(), "docs/library.md", "exec"), {})  # noqa: S102 - the page's own code
    written = pd.read_parquet(tmp_path / "out").sort_values("id", ignore_index=True)
    expected = cgrad.evaluate_frame(points, cgrad.compile(PROGRAM))
    assert list(written.columns) == ["x", "y", "z", "id", "value", "grad_x", "grad_y", "grad_z"]
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    # Written by the workers: each part of the output came from a partition.
    assert len(list((tmp_path / "out").glob("*.parquet"))) == 3
