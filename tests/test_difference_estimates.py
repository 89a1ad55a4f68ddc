"""The error estimate of a finite difference's rungs
(:func:`cgrad.check.differences._estimates`), computed at once over a
rung-by-rung matrix, against the rung-at-a-time definition it replaced:
the same numbers, NaN and infinities included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cgrad.check.differences import _estimates

ODD = st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, 5e-324])
NUMBERS = st.one_of(st.floats(-1e3, 1e3), ODD)


def estimates_rung_by_rung(quotients, rounding, usable):
    inner = quotients[1:-1]
    neighbours = np.maximum(abs(inner - quotients[:-2]), abs(inner - quotients[2:]))
    count = quotients.size
    own = np.empty(count)
    own[1:-1] = neighbours
    own[0] = abs(quotients[0] - quotients[1])
    own[-1] = abs(quotients[-1] - quotients[-2])
    own += rounding
    finer = np.zeros(count - 2)
    for k in range(1, count - 1):
        later = slice(k + 1, count)
        chosen = usable[later] & np.isfinite(own[later])
        if chosen.any():
            gaps = abs(quotients[k] - quotients[later][chosen]) - own[later][chosen]
            finer[k - 1] = max(0.0, float(np.max(gaps)) - rounding[k])
    return np.maximum(neighbours, finer) + rounding[1:-1]


@st.composite
def ladders(draw):
    count = draw(st.integers(3, 40))
    quotients = np.array(draw(st.lists(NUMBERS, min_size=count, max_size=count)))
    rounding = np.array(
        draw(st.lists(st.one_of(st.floats(0, 1e-3), ODD), min_size=count, max_size=count))
    )
    usable = np.array(draw(st.lists(st.booleans(), min_size=count, max_size=count)))
    return quotients, rounding, usable & np.isfinite(quotients)


@settings(max_examples=400, deadline=None)
@given(ladders())
def test_estimates_are_the_rung_by_rung_ones(ladder):
    quotients, rounding, usable = ladder
    with np.errstate(all="ignore"):
        got = _estimates(quotients, rounding, usable)
        want = estimates_rung_by_rung(quotients, rounding, usable)
    np.testing.assert_array_equal(got, want)
