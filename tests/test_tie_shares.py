"""max and min share a tie's slope: 1/n to each of the n arguments equal
to the result. The numeric helpers count the ties in one comparison over
the arguments stacked and skip the count for an argument that is the
extreme nowhere: the same numbers as counting them one call per argument
(the definition, below), NaN, infinities, signed zeros and broadcasting
included; and the work of a call grows with the number of arguments, not
with its square, as does that of diff, check and the Hessian of
max(x, ..., x), whose rule is handed its arguments as one sequence. A node
tied with itself is no tie (max(x, x) is x): no kink warning, and check
judges it."""

from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cgrad
from cgrad import namespaces
from cgrad.namespaces import NUMERIC_HELPERS, ArgumentRule

VALUES = st.sampled_from([0.0, -0.0, 1.0, 2.0, -1.0, np.inf, -np.inf, np.nan])


def share_by_definition(out, args, index):
    hits = [np.equal(arg, out) * 1.0 for arg in args]
    return hits[index] / reduce(np.add, hits)


def tie_by_definition(out, args):
    return reduce(np.add, [np.equal(arg, out) * 1.0 for arg in args]) > 1


@st.composite
def arguments(draw):
    # (past 8 arguments a node's count is kept between its calls)
    count = draw(st.integers(1, 12))
    points = draw(st.integers(0, 4))  # 0: one point (0-d values)
    made = []
    for _ in range(count):
        if points and draw(st.booleans()):
            made.append(np.array(draw(st.lists(VALUES, min_size=points, max_size=points))))
        else:
            made.append(np.float64(draw(VALUES)))
    return made


@settings(max_examples=500, deadline=None)
@given(arguments(), st.sampled_from([np.maximum, np.minimum]))
def test_tie_shares_are_the_definitions(args, extreme):
    out = reduce(extreme, args)
    with np.errstate(all="ignore"):
        for index in range(len(args)):
            got = NUMERIC_HELPERS["tie_share"](out, tuple(args), index)
            want = share_by_definition(out, args, index)
            assert np.shape(got) == np.shape(want)
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(
            NUMERIC_HELPERS["is_tie"](out, *args), tie_by_definition(out, args)
        )


def comparisons_of_max(count: int, tied: bool) -> int:
    """The elementwise comparisons of one evaluation of max over ``count``
    arguments, counted by wrapping np.equal."""
    calls = []
    real = np.equal

    def counted(a, b, *rest, **options):
        calls.append(np.size(a))
        return real(a, b, *rest, **options)

    names = [f"x{k}" for k in range(count)]
    function = cgrad.compile(f"max({', '.join(names)})")
    values = {name: 1.0 if tied else float(k) for k, name in enumerate(names)}
    np.equal = counted
    try:
        function.evaluate(**values)
    finally:
        np.equal = real
    return sum(calls)


def test_max_without_ties_compares_linearly():
    # (A generous ratio: 4 times the arguments, well under 16 times the work.)
    small, big = comparisons_of_max(50, False), comparisons_of_max(200, False)
    assert big <= 6 * small


def test_a_kept_count_never_outlives_its_evaluation():
    names = [f"x{k}" for k in range(12)]
    function = cgrad.compile(f"max({', '.join(names)}) + min({', '.join(names)})")
    for values in ([1.0] * 12, [float(k) for k in range(12)], [2.0] * 6 + [1.0] * 6, [1.0] * 12):
        got = function.evaluate(**dict(zip(names, values, strict=True))).gradient
        top, bottom = max(values), min(values)
        for name, value in zip(names, values, strict=True):
            want = (value == top) / values.count(top) + (value == bottom) / values.count(bottom)
            assert got[name] == want, (values, name)


def test_the_backward_pass_hands_a_variadic_rule_its_arguments_unpacked_never(monkeypatch):
    # Unpacking n arguments for each of n edges is n^2 work: the walk calls
    # ArgumentRule.over with the arguments as one list instead.
    def unpacked(self, m, out, *args):
        raise AssertionError("a variadic rule called with its arguments unpacked")

    names = [f"x{k}" for k in range(20)]
    function = cgrad.compile(f"max({', '.join(names)}) * min({', '.join(names)})")
    monkeypatch.setattr(ArgumentRule, "__call__", unpacked)
    at_point = function.evaluate(**{name: float(k % 3) for k, name in enumerate(names)})
    over_arrays = function.evaluate(**{name: np.arange(3.0) + k for k, name in enumerate(names)})
    # max is 2 (the 6 x = 2 tie: 0 each, times min = 0); min is 0, a tie of 7
    # (x0, x3, ..., x18), each sent 2 * 1/7
    assert at_point.gradient["x0"] == 2.0 * (1.0 / 7.0)
    assert at_point.gradient["x1"] == 0.0
    assert over_arrays.gradient["x19"].tolist() == [0.0, 1.0, 2.0]  # min, x0
    assert over_arrays.gradient["x0"].tolist() == [19.0, 20.0, 21.0]  # max, x19


# --------------------------------------------------------------------------
# One node many times: max(x, ..., x).


def work_on_copies(cli, tmp_path, monkeypatch, count: int, *command: str) -> int:
    """The arguments copied to hand max's rule (unpacked, per call) and
    compared in counting its ties, for ``command`` on max of ``count``
    copies of x."""
    work = []
    unpacked = ArgumentRule.__call__
    tie_count = namespaces._tie_count

    def counted_call(self, m, out, *args):
        work.append(len(args))
        return unpacked(self, m, out, *args)

    def counted_ties(out, args):
        work.append(len(args))
        return tie_count(out, args)

    monkeypatch.setattr(ArgumentRule, "__call__", counted_call)
    monkeypatch.setattr(namespaces, "_tie_count", counted_ties)
    program = tmp_path / f"copies{count}.cg"
    program.write_text(f"max({', '.join(['x'] * count)})\n")
    result = cli(command[0], f"@{program}", *command[1:])
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    return sum(work)


@pytest.mark.parametrize(
    "command", [("diff",), ("check", "x=1"), ("eval", "--hessian", "x=1"), ("eval", "x=1")]
)
def test_max_of_one_input_many_times_is_linear(cli, tmp_path, monkeypatch, command):
    small = work_on_copies(cli, tmp_path, monkeypatch, 50, *command)
    big = work_on_copies(cli, tmp_path, monkeypatch, 200, *command)
    assert big <= 6 * max(small, 50)


# --------------------------------------------------------------------------
# A node tied with itself is no tie.


def test_max_of_a_node_with_itself_warns_of_nothing(cli):
    result = cli("eval", "max(x,x)", "x=1", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "expression": "max(x,x)",
        "inputs": {"x": 1.0},
        "value": 1.0,
        "gradient": {"x": 1.0},
        "warnings": [],
    }
    shared = json.loads(cli("eval", "min(sin(x),sin(x))", "x=1", "--json").output)
    assert shared["warnings"] == []


def test_check_judges_a_max_whose_tie_is_one_node(cli):
    result = cli("check", "max(x,x,y)", "x=2", "y=1", "--json")
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["ok"] is True
    assert document["warnings"] == []
    assert {name: p["verdict"] for name, p in document["partials"].items()} == {
        "x": "ok",
        "y": "ok",
    }
    text = cli("check", "max(x,x,y)", "x=2", "y=1").output
    assert text.splitlines()[-1] == "ok: all 2 partials agree"


def test_a_real_tie_beside_a_repeated_node_tells_fs_one_sided_slopes(cli):
    result = cli("eval", "max(x,x,y)", "x=1", "y=1", "--json")
    [warning] = json.loads(result.output)["warnings"]
    assert warning["type"] == "kink"
    assert warning["message"] == (
        "`max(x,x,y)` (node @2, line 1, column 1) is at a kink, max(1, 1); by convention, "
        "tied arguments share the slope equally (1/n each) (one-sided: in argument 1, 0 from "
        "the left, 1 from the right; in argument 2, 0 from the left, 1 from the right)"
    )
    # x written twice is one argument of the node: the tie is shared in halves.
    assert json.loads(result.output)["gradient"] == {"x": 0.5, "y": 0.5}
    # min: x moved from the left leads; y is argument 1, min(y, x, z)'s.
    result = cli("eval", "min(y,x,x,z)", "x=1", "y=1", "z=3", "--json")
    [warning] = json.loads(result.output)["warnings"]
    assert warning["message"].endswith(
        "(one-sided: in argument 1, 1 from the left, 0 from the right; in argument 2, "
        "1 from the left, 0 from the right; in argument 3, 0 from the left, 0 from the right)"
    )
