"""A check of a max or min of many inputs: linear in their count.

Its edges are evaluated over the points of a few inputs at a time, with
numbers over the points only for the inputs moved, and its memory stays
that of a chunk (counted: the numbers its edges make, and the peak of
traced memory, at two sizes). The edges and the forward fold that make
this so are the definitions' (against them, on numbers and arrays).
"""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgrad
from cgrad.check import differences
from cgrad.check.checker import check
from cgrad.elementary import edges_of_extremum, maximum, minimum
from cgrad.ops import OPS

# A small chunk budget, so that a few hundred inputs already take several
# chunks: what a check of thousands does with the real one.
SMALL_BUDGET = 1 << 16


def wide_max(count: int) -> tuple[cgrad.Function, list[str]]:
    names = [f"x{k}" for k in range(count)]
    return cgrad.compile(f"max({', '.join(names)})"), names


def edge_numbers_of_check(count: int, monkeypatch) -> int:
    """The numbers the edges of a max of ``count`` tied inputs make over a
    check's points."""
    made = []
    edges = edges_of_extremum(np.maximum)

    def counted(out, *args):
        quantities = edges(out, *args)
        made.append(sum(np.size(q) for q in quantities if np.ndim(q)))
        return quantities

    monkeypatch.setattr(differences, "BUDGET", SMALL_BUDGET)
    monkeypatch.setitem(OPS, "max", dataclasses.replace(OPS["max"], edges=counted))
    function, names = wide_max(count)
    check(function, dict.fromkeys(names, 1.0))
    return sum(made)


def test_the_edges_of_a_wide_max_grow_linearly_in_a_check(monkeypatch):
    # (4 times the inputs: linear is 4 times the numbers, quadratic 16.)
    small = edge_numbers_of_check(100, monkeypatch)
    big = edge_numbers_of_check(400, monkeypatch)
    assert big <= 6 * small


def peak_memory_of_check(count: int, tied: bool) -> int:
    function, names = wide_max(count)
    values = {name: 1.0 if tied else float(k) for k, name in enumerate(names)}
    tracemalloc.start()
    try:
        result = check(function, values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert set(result.partials) == set(names)
    return peak


@pytest.mark.parametrize("tied", [True, False])
def test_the_memory_of_checking_a_wide_max_stays_that_of_a_chunk(monkeypatch, tied):
    # Each chunk's input columns are counted in its budget, the edges of
    # a max make numbers only for the inputs moved, and a ladder keeps its
    # own few numbers, not the chunk's columns: past one chunk, 4 times the
    # inputs cost about the same memory (quadratic, it was 16 times).
    monkeypatch.setattr(differences, "BUDGET", SMALL_BUDGET)
    small = peak_memory_of_check(100, tied)
    big = peak_memory_of_check(400, tied)
    assert big <= 3 * small


def test_a_wide_max_is_checked_through_the_cli(cli, tmp_path):
    names = [f"x{k}" for k in range(300)]
    program = tmp_path / "wide.cg"
    program.write_text(f"max({', '.join(names)})\n")
    values = [f"{name}={k / 300}" for k, name in enumerate(names)]
    result = cli("check", f"@{program}", *values, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["ok"] is True
    assert {p["verdict"] for p in document["partials"].values()} == {"ok"}
    assert document["partials"]["x299"]["reverse"] == 1.0


# --------------------------------------------------------------------------
# The edges of a max or min, and its forward fold, over numbers and arrays.

VALUES = [0.0, -0.0, 1.0, -1.0, 2.0, np.inf, -np.inf, np.nan]


@st.composite
def mixed_arguments(draw):
    """Arguments of a max: some single numbers (still), some arrays
    (moving), from a few values so that ties are common."""
    count = draw(st.integers(2, 7))
    arguments = []
    for _ in range(count):
        if draw(st.booleans()):
            arguments.append(np.float64(draw(st.sampled_from(VALUES))))
        else:
            arguments.append(
                np.array(draw(st.lists(st.sampled_from(VALUES), min_size=4, max_size=4)))
            )
    return arguments


def same_numbers(a, b) -> bool:
    """Equal to the sign of zero, with NaN in the same places (their
    payloads aside)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nan = np.isnan(a)
    return bool(
        np.array_equal(nan, np.isnan(b))
        and np.array_equal(a[~nan], b[~nan])
        and np.array_equal(np.signbit(a[~nan]), np.signbit(b[~nan]))
    )


@settings(max_examples=400, deadline=None)
@given(mixed_arguments(), st.sampled_from([(maximum, np.maximum), (minimum, np.minimum)]))
def test_the_fold_of_a_max_is_numpys_to_the_bit(arguments, functions):
    fold, ufunc = functions
    assert same_numbers(fold(*arguments), reduce(ufunc, arguments))


def edges_by_definition(better, arguments) -> list:
    """Each argument's lead over the best of the others, over all points."""
    sign = 1.0 if better is np.maximum else -1.0
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in arguments])
    return [
        sign * (arrays[k] - reduce(better, arrays[:k] + arrays[k + 1 :]))
        for k in range(len(arrays))
    ]


def equal_numbers(a, b) -> bool:
    """Equal as numbers (an edge's sign of zero is no side), with NaN in
    the same places."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    nan = np.isnan(a)
    return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan], b[~nan]))


def side(quantity):
    return np.where(np.isnan(quantity), 2.0, np.sign(quantity))


@settings(max_examples=400, deadline=None)
@given(mixed_arguments(), st.sampled_from([np.maximum, np.minimum]))
def test_the_edges_of_a_max_cross_where_the_definition_does(arguments, better):
    edges = edges_of_extremum(better)
    with np.errstate(all="ignore"):
        # At x every argument is one number (a moving one its first).
        centre = [np.float64(a if np.ndim(a) == 0 else a[0]) for a in arguments]
        at_x = edges(None, *centre)
        wanted_at_x = edges_by_definition(better, centre)
        assert all(equal_numbers(g, w) for g, w in zip(at_x, wanted_at_x, strict=True))
        # Over the points: each array made is the definition's, and the
        # points where one changes side are those where one of the
        # definition's does (a number made is passed over).
        got = edges(None, *arguments)
        wanted = edges_by_definition(better, arguments)
        crossed = wanted_crossed = np.zeros(4, dtype=bool)
        for quantity, want, here, wanted_here in zip(got, wanted, at_x, wanted_at_x, strict=True):
            if np.ndim(quantity):
                assert equal_numbers(quantity, want)
                crossed = crossed | (side(quantity) != side(here))
            wanted_crossed = wanted_crossed | (side(want) != side(wanted_here))
        assert np.array_equal(crossed, wanted_crossed)
