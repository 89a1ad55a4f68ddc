"""Every path of evaluation gives IEEE's answer at the special values.

A point is walked on floats or run by generated code, an array is walked
or run by generated array code, and forward mode takes the rules the other
way: at +-inf, +-0 and NaN they must all agree, with each other and with
numpy's ufuncs over whole arrays (which take no shortcut for an exponent
shared by every point: numpy's power takes sqrt(a) for a^0.5, which is not
IEEE's pow at -0.0 and -inf).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import cgrad
from cgrad.autodiff import runner
from cgrad.ops import OPS

SPECIAL = [math.inf, -math.inf, 0.0, -0.0, math.nan]
ORDINARY = [0.5, 1.5, -1.5, 2.0, -1.0, 3.0]
VALUES = SPECIAL + ORDINARY
PAIRS = [(a, b) for a, b in itertools.product(VALUES, VALUES) if a in SPECIAL or b in SPECIAL]
# The ops of two arguments (and min and max, of any number), from the table.
BINARY = [op for op in OPS.values() if op.arity in (2, None)]


def _same(got: object, want: object) -> bool:
    """The same float, bit for bit but for NaN's payload (-0.0 is not 0.0)."""
    got, want = float(got), float(want)  # type: ignore[arg-type]
    if math.isnan(want):
        return math.isnan(got)
    return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


def _reference(op, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The op over two whole arrays (never one number broadcast), by the
    ufunc its forward calls where it has one."""
    with np.errstate(all="ignore"):
        return (op.ufunc or op.forward)(a, b)


def _program(op) -> str:
    return op.notation.written(["x", "y"])


@pytest.fixture(params=["walked", "generated"])
def strategy(request, monkeypatch):
    """Point and array evaluations walked, or by generated code from the
    first one on."""
    walked = request.param == "walked"
    monkeypatch.setattr(runner, "COMPILE_AFTER", 10**9 if walked else -1)
    monkeypatch.setattr(runner, "COMPILE_AT_POINTS", 10**9 if walked else 0)
    return request.param


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.name)
def test_a_point_an_array_and_forward_mode_agree_with_numpy(op, strategy):
    function = cgrad.compile(_program(op))
    xs = np.array([a for a, _ in PAIRS])
    ys = np.array([b for _, b in PAIRS])
    want = _reference(op, xs, ys)
    whole = function.evaluate(x=xs, y=ys)
    forward = function.evaluate(x=xs, y=ys, mode="forward")
    for k, (a, b) in enumerate(PAIRS):
        assert _same(whole.value[k], want[k]), (a, b, whole.value[k], want[k])
        ways = {
            "point": function.evaluate(x=a, y=b),
            "point, forward mode": function.evaluate(x=a, y=b, mode="forward"),
            "one-element array": function.evaluate(x=np.array([a]), y=np.array([b])),
            "array and one number": function.evaluate(x=np.array([a, a]), y=b),
        }
        for way, result in ways.items():
            assert _same(np.ravel(result.value)[0], want[k]), (way, a, b, result.value)
            for name in "xy":
                got = np.ravel(result.gradient[name])[0]
                assert _same(got, whole.gradient[name][k]), (way, name, a, b, got)
        for name in "xy":
            assert _same(forward.gradient[name][k], whole.gradient[name][k]), (name, a, b)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("exponent", [0.5, 1.5, -0.5, 2.0, 3.0, -1.0, 0.0, 1.0])
def test_a_constant_exponent_gives_ieee_pow_and_its_slope(exponent, strategy):
    # d/da a^b is b*a^(b-1) (0 where b is 0), each power IEEE's.
    function = cgrad.compile(f"x^{exponent}")
    xs = np.array(VALUES)
    shared = np.full_like(xs, exponent)
    with np.errstate(all="ignore"):
        want = np.power(xs, shared)
        slope = np.where(shared == 0.0, 0.0, shared * np.power(xs, shared - 1.0))
    results = [function.evaluate(x=xs), function.evaluate(x=xs, mode="forward")]
    for k, a in enumerate(VALUES):
        for result in [*results, function.evaluate(x=a), function.evaluate(x=a, mode="forward")]:
            value, gradient = np.ravel(result.value), np.ravel(result.gradient["x"])
            index = k if value.size > 1 else 0
            assert _same(value[index], want[k]), (a, value[index], want[k])
            assert _same(gradient[index], slope[k]), (a, gradient[index], slope[k])


def test_eval_and_batch_agree_at_minus_infinity_to_the_half(cli):
    # The report: eval gave NaN, batch Infinity (as IEEE, numpy and Python do).
    evaluated = cli("eval", "x^y", "x=-inf", "y=0.5", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    document = json.loads(evaluated.stdout)
    assert document["value"] == "Infinity"
    assert document["gradient"] == {"x": 0.0, "y": "NaN"}
    batched = cli("batch", "-e", "x^y", "--format", "csv", input="x,y\n-inf,0.5\n")
    assert batched.exit_code == 0, batched.output
    row = batched.stdout.splitlines()[1].split(",")
    assert row[3:6] == ["Infinity", "0.0", "NaN"]
