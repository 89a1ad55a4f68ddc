"""A compiled function ships to other processes: it pickles, and runs inside
Dask's map_partitions unchanged (when dask is installed)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import cgrad

PROGRAM = "t = x*y; sin(t) + t*z"


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


def partials(frame, function):
    """The README's recipe: a partition's columns in, value and partials out."""
    result = function.evaluate({name: frame[name].to_numpy() for name in function.inputs})
    gradient = {f"grad_{name}": slope for name, slope in result.gradient.items()}
    return frame.assign(value=result.value, **gradient)


def test_dask_map_partitions_in_other_processes():
    dd = pytest.importorskip("dask.dataframe")
    import pandas as pd

    f = cgrad.compile(PROGRAM)
    points = pd.DataFrame({"x": np.linspace(-2, 2, 3000), "y": np.linspace(1, 2, 3000), "z": 0.5})
    frame = dd.from_pandas(points, npartitions=4)
    out = frame.map_partitions(partials, f).compute(scheduler="processes", num_workers=2)
    expected = partials(points, f)
    pd.testing.assert_frame_equal(out.sort_index(), expected)
