"""The numeric pieces the op table's entries are made of.

Forward functions numpy lacks or gets wrong for us, kink tests and edges
(numbers only), the careful numeric forms of two rules, and the facts
generated code needs about pow. Each is named in its op's entry in
:mod:`cgrad.ops`, where the op's other facts are; nothing else uses them.
"""

from __future__ import annotations

import math
import operator
import sys
from collections.abc import Callable
from enum import Enum, IntEnum
from functools import reduce

import numpy as np

# (max and min, with their edges, are a module of their own.)
from .extrema import edges_of_extremum as edges_of_extremum
from .extrema import maximum as maximum
from .extrema import minimum as minimum

# --------------------------------------------------------------------------
# Forward functions.


def sigmoid(a):
    # 1/(1 + exp(-a)), but exp(a) itself below -709, where 1 + exp(a) is 1
    # and exp(-a) nears overflow (then sigmoid(-720) was 0, its slope not).
    if type(a) is np.ndarray and a.dtype == np.float64:
        # In one new array: a fit's step pays for each array made.
        made = np.negative(a)
        np.exp(made, made)
        np.add(made, 1.0, made)
        np.divide(1.0, made, made)
        if (far := np.less(a, _FAR)).any():
            made[far] = np.exp(a[far])
        return made
    if type(a) is float or type(a) is np.float64:
        return np.exp(a) if a < _FAR else 1.0 / (1.0 + np.exp(-a))
    # (np.less is no op's ufunc: generated code calls this function whole.)
    return np.where(np.less(a, _FAR), np.exp(a), 1.0 / (1.0 + np.exp(-a)))


_FAR = -709.0  # (exp(709) is 8.2e307)


_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def erf(a):
    # numpy has no erf; math.erf is exact to the last bit and handles inf/nan.
    result = _erf_ufunc(a)
    return (
        np.asarray(result, dtype=np.float64)
        if isinstance(result, np.ndarray)
        else np.float64(result)
    )


def power(a, b):
    # x^2's slope is 2*x^1: no need to copy x to raise it to the power 1.
    one_exponent = np.ndim(b) == 0
    if one_exponent and b == 1.0:
        return a
    if not POWER_TAKES_ROOTS:
        return np.power(a, b)
    if one_exponent:
        return _root(a) if b == 0.5 else np.power(a, b)
    result = np.power(a, b)
    # Exponents of 0.5 among many take numpy's sqrt too where they are one
    # number broadcast: put those right (np.equal first: a tracer of ufuncs
    # records this function whole, see cgrad.autodiff.array_code).
    if np.any(np.equal(b, 0.5)):
        edge = np.equal(b, 0.5) & (np.equal(a, 0.0) | np.isinf(a))
        result = np.where(edge, np.abs(a), result)[()]
    return result


def _root(a):
    """a^0.5 as IEEE's pow has it: numpy's sqrt (what its power takes, see
    POWER_TAKES_ROOTS), but +0.0 at -0.0 and +inf at -inf, where sqrt
    gives -0.0 and NaN."""
    if type(a) is float or type(a) is np.float64:
        return np.float64(math.inf) if a == -math.inf else np.sqrt(a + 0.0)
    # (A tracer's stand-in is no number: it records this function whole.)
    a = np.asarray(a, dtype=np.float64)
    # A pass that finds the least value, and a second only if it is -inf.
    least = np.fmin.reduce(a, axis=None, initial=math.inf)
    root = np.sqrt(a + 0.0)  # -0.0 + 0.0 is +0.0
    if least == -math.inf:
        root = np.where(np.isneginf(a), math.inf, root)[()]
    return root


def relu(a):
    return np.maximum(a, 0.0)


def softplus(a):
    # log(1 + exp(a)) as max(a, 0) + log1p(exp(-|a|)): logaddexp(0, a)'s
    # steps, finite for any finite a, by vectorised ufuncs (logaddexp is a
    # scalar loop), into one new array (see sigmoid).
    if type(a) is np.ndarray and a.dtype == np.float64:
        made = np.abs(a)
        np.negative(made, made)
        np.exp(made, made)
        np.log1p(made, made)
        return np.add(np.maximum(a, 0.0), made, made)
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


def log_base(a, b):
    return np.log(a) / np.log(b)


# --------------------------------------------------------------------------
# What generated code needs to know (see Op.sign, Op.shortcut).


class Sign(IntEnum):
    """What is known of a value's sign at every point, weakest first."""

    UNKNOWN = 0
    NONNEGATIVE = 1  # >= 0 (-0.0 included) or NaN
    POSITIVE = 2  # > 0 or NaN, never 0


class Shortcut(Enum):
    """What a call amounts to for some constant last argument."""

    FIRST = "the first argument itself"  # x^1
    SQUARE = "the first argument times itself"  # x^2
    FORWARD = "the op's forward function, not its bare ufunc"  # x^0.5 (POWER_TAKES_ROOTS)


# Recent numpy's power loop squares by multiplying when the exponent is one
# number 2.0, as it is for a point and for a constant exponent over arrays;
# older numpy calls pow(), which is not always x*x to the last bit. The same
# change took an exponent of 0.5 to sqrt, which tells the two apart: sqrt
# keeps the sign of -0.0, pow() does not.
POWER_SQUARES = bool(np.signbit(np.power(np.float64(-0.0), np.float64(0.5))))
# That sqrt is not IEEE's pow(a, 0.5) at -0.0 and -inf (+0.0 and +inf):
# power() puts those right where numpy took it, and generated code calls
# power() rather than the bare ufunc for a constant exponent of 0.5.
with np.errstate(invalid="ignore"):
    POWER_TAKES_ROOTS = bool(np.isnan(np.power(np.float64(-np.inf), np.float64(0.5))))


def power_shortcut(exponent) -> Shortcut | None:
    """power's own tests of a constant exponent, made once: x^1 is x,
    x^2 is x*x where numpy squares so (POWER_SQUARES), and x^0.5 is
    power() itself where numpy's ufunc takes sqrt (POWER_TAKES_ROOTS)."""
    if np.ndim(exponent) == 0:
        if exponent == 1.0:
            return Shortcut.FIRST
        if exponent == 2.0 and POWER_SQUARES:
            return Shortcut.SQUARE
        if exponent == 0.5 and POWER_TAKES_ROOTS:
            return Shortcut.FORWARD
    return None


def nonnegative(signs: tuple[Sign, ...], repeated: bool) -> Sign:
    # exp may underflow to 0, sqrt(-0.0) is -0.0: never more than >= 0.
    return Sign.NONNEGATIVE


def sign_of_root(signs: tuple[Sign, ...], repeated: bool) -> Sign:
    # The root of a positive float is positive (of the least subnormal too);
    # sqrt(-0.0) is -0.0.
    return Sign.POSITIVE if signs[0] is Sign.POSITIVE else Sign.NONNEGATIVE


def sign_of_product(signs: tuple[Sign, ...], repeated: bool) -> Sign:
    return Sign.NONNEGATIVE if repeated else Sign.UNKNOWN  # a square (of -0.0: 0.0)


def sign_of_sum(signs: tuple[Sign, ...], repeated: bool) -> Sign:
    # Rounding is monotonic: a > 0 plus b >= 0 rounds to a or more.
    return max(signs) if min(signs) >= Sign.NONNEGATIVE else Sign.UNKNOWN


# --------------------------------------------------------------------------
# Rules in careful numeric forms (each op's printed rule is the textbook's).

TINY = sys.float_info.min
HUGE = sys.float_info.max
TWO_OVER_ROOT_PI = 2.0 / math.sqrt(math.pi)
# Veltkamp's constant: a*SPLIT splits a float into halves of 26 bits, each
# of which squares exactly.
_SPLIT = 134217729.0  # 2^27 + 1
# Past |a| = 27.3 exp(-a^2) is 0: clamping there keeps a*SPLIT finite.
_ERF_REACH = 30.0


def erf_slope(m, out, a):
    """2/sqrt(pi)*exp(-a^2) with a^2 exact: a = hi + lo with hi^2 exact, and
    a^2 - hi^2 = lo*(a + hi), small enough that its rounding does not
    matter. exp(-a*a) turns the rounding of a*a (up to a^2*2^-53) into a
    relative error of up to a^2 ULP."""
    a = m.min(m.max(a, -_ERF_REACH), _ERF_REACH)
    scaled = _SPLIT * a
    hi = scaled - (scaled - a)
    lo = a - hi
    return TWO_OVER_ROOT_PI * m.exp(-(hi * hi)) * m.exp(-(lo * (a + hi)))


def tanh_slope(m, out, a):
    """tanh'(a) as 1/cosh(a)/cosh(a): as precise as 4*sigmoid(2a)*sigmoid(-2a)
    (no cancellation) in three passes over an array rather than a dozen,
    which a network's backward pass feels; divided twice rather than by
    cosh(a)^2, which overflows while the truth is still a subnormal float.
    Its own derivative is 0*inf once cosh overflows, so formulas, whose
    derivatives are taken again, print the sigmoids (the op's ``printed``
    rule)."""
    c = m.cosh(a)
    return 1.0 / c / c


# Past |a| = 2^512 a*a overflows; |a| + 2^400 is then |a| to the bit (2^400
# is below half its ULP), and at least 2^400 everywhere: 1/b/b is finite.
_ATAN_FLOOR = 2.0**400


def atan_slope(m, out, a):
    """1/(1 + a*a), and where a*a overflows (|a| > 1.3e154, the truth still
    a subnormal float: atan'(1e155) is 1e-310) 1/|a|/|a|, with no branch
    (generated code has none): the first is 0 exactly there, the second
    is made finite everywhere and multiplied by 1 - sign(first), which is
    1 where the first is 0 and 0 elsewhere, so the first keeps its bits."""
    first = 1.0 / (1.0 + a * a)
    b = m.abs(a) + _ATAN_FLOOR
    return first + 1.0 / b / b * (1.0 - m.sign(first))


def sigmoid_slope(m, out, a):
    """sigmoid(a)*sigmoid(-a) as e/(1 + e)/(1 + e), e = exp(-|a|): the
    same on both sides of 0 (it is even), so sigmoid(a), which is 0 once
    exp(-a) overflows, is never a factor: sigmoid'(-740) is 4.2e-322."""
    e = m.exp(-m.abs(a))
    d = 1.0 + e
    return e / d / d


def softplus_slope(m, out, a):
    """sigmoid(a) as -expm1(-softplus(a)) (the same mathematics): the
    forward sigmoid is 0 where exp(-a) overflows, softplus is not (the
    truth is a subnormal float there). out's relative error stays one in
    the result (x/(e^x - 1) <= 1), and expm1 adds its own."""
    return -m.expm1(-out)


def power_slope(m, out, a, b):
    """b*a^(b-1), 0 where b is 0. Where b - 1 is rounded (a fractional b
    below 1/2), a^(b-1) would turn that rounding into a relative error of
    |log a| times it: there a^(b-1) is a^d * a^e with d + e = b - 1 exactly
    (e the rounding error of d = b - 1), and a^e, which is within 1e-13 of
    1, taken with a kept between the normal floats so that 0^e and inf^e
    do not turn a^d's 0 or inf into NaN. A constant b (x^2, x^0.3) is
    decided once, so generated code holds one form or the other."""
    d = b - 1.0
    exact = m.equal(d + 1.0, b)
    if np.ndim(exact) == 0:  # one exponent: one form, the other never computed
        return _power_slope_simple(m, a, b, d) if exact else _power_slope_careful(m, a, b, d)
    return m.where(exact, _power_slope_simple(m, a, b, d), _power_slope_careful(m, a, b, d))


def _power_slope_simple(m, a, b, d):
    return m.where(m.equal(b, 0.0), 0.0, b * m.pow(a, d))


def _power_slope_careful(m, a, b, d):
    # (Knuth's TwoSum: e is exactly b + (-1) - d.)
    back = d - b
    e = (b - (d - back)) + (-1.0 - back)
    return b * m.pow(a, d) * m.pow(m.min(m.max(a, TINY), HUGE), e)


def power_slope_printed(m, out, a, b):
    """b*a^(b-1) as the textbook writes it (0 where b is 0)."""
    return m.where(m.equal(b, 0.0), 0.0, b * m.pow(a, b - 1.0))


def power_slope_in_exponent(m, out, a, b):
    """a^b*log(a), 0 where a is 0 and b >= 0 (see the pow entry)."""
    return m.where(m.equal(a, 0.0) & m.greater_equal(b, 0.0), 0.0, out * m.log(a))


def power_slope_in_exponent_printed(m, out, a, b):
    """As :func:`power_slope_in_exponent`, the logarithm first: log(2)*2^x.
    A base that is 0 itself gives 0: 0^b is defined (finite) only for
    b >= 0, where its slope is 0."""
    return m.where(m.equal(a, 0.0), 0.0, m.log(a) * out)


def power_slope_in_exponent_guarded(m, out, a, b):
    """The printed d/db with its guard (0 where a is 0 and b >= 0) in the
    language: log of a + step(-|a|, 1)*step(b, 1), 1 there. Its derivatives
    at a = 0 are then the limits where they exist (a^b*log(a)^2 and
    a^(b-1)*(1 + b*log(a)) tend to 0 for b > 1), not 0*inf. (Formulas
    only: m.quiet keeps the indicator's kinks unsaid.)"""
    at_guard = m.quiet(lambda: m.step(-m.abs(a), 1.0) * m.step(b, 1.0))
    return m.log(a + at_guard) * out


def tie_share_printed(direction: float) -> Callable[..., object]:
    """The printed rule of max (``direction`` 1) or min (-1): the numeric
    rule's 1/n share of a tie, written with step. Of two arguments, the one
    ahead has slope 1, the other 0, and each 1/2 at a tie: step(x - y, 0.5)
    for max. Of more, each argument's indicator of being the extreme,
    step(x - max(x, y, z), 1), over the sum of them all: 1/k at a k-way tie,
    to the bit, as the numeric rule."""

    def share(m, out, args, index):
        if len(args) == 1:
            return 1.0
        # Each indicator is a sign test of one argument against another or
        # against out, kept as the program computes both (see m.sign_test):
        # 0 exactly where eval's comparison is a tie.
        if len(args) == 2:
            this, other = args[index], args[1 - index]
            return m.sign_test(this, other, 0.5) if direction > 0 else m.sign_test(other, this, 0.5)

        def count():
            hits = [
                m.sign_test(arg, out, 1.0) if direction > 0 else m.sign_test(out, arg, 1.0)
                for arg in args
            ]
            return hits, reduce(operator.add, hits)

        # Made once for all n edges of the node (per edge: n^2 work). The
        # chosen argument's indicator is at its jump wherever it is chosen:
        # quiet, so that no evaluation calls that a kink; a real tie is the
        # max's own, which the formula holds and which warns of it.
        hits, total = m.once(("tie count", direction, out), lambda: m.quiet(count))
        return hits[index] / total

    return share


def over_hypot_squared(m, numerator, y, x):
    # numerator/(x*x + y*y) without the squares, which overflow (or vanish)
    # while the quotient is still a float.
    length = m.hypot(y, x)
    return numerator / length / length


# --------------------------------------------------------------------------
# Kink tests: ``at(m, out, *args)``, true at the kink (see ops.Kink).


def at_zero(m, out, a):
    return m.equal(a, 0.0)


def pow_kink(m, out, a, b):
    # Only a power below 1 has a kink at 0. At b = 0 it is d/db that has
    # none: 0^b jumps from inf to 1 to 0.
    return _at_zero_base(m, a, m.less(b, 1.0))


def pow_kink_in_base(m, out, a, b):
    # b*a^(b-1) has no limit at a = 0 where b < 1, except at b = 0: a^0 is 1
    # on both sides of 0, its slope 0 on both.
    below_one = m.less(b, 1.0) & (m.less(b, 0.0) | m.less(0.0, b))
    return _at_zero_base(m, a, below_one)


def pow_kink_in_exponent(m, out, a, b):
    # d/db = a^b*log(a) at a = 0 is 0 for b > 0 (0^b is 0 there), and a jump at b = 0.
    return _at_zero_base(m, a, m.equal(b, 0.0))


def _at_zero_base(m, a, exponent_kinks):
    # x^2 (the usual case, an exponent that is one number with no kink)
    # needs no look at x at all.
    if np.ndim(exponent_kinks) == 0 and not exponent_kinks:
        return False
    return m.equal(a, 0.0) & exponent_kinks


def step_kink(m, out, a, h):
    return m.equal(a, 0.0)


def never(m, out, *args):
    return False


def hypot_at_origin(m, out, a, b):
    return m.equal(out, 0.0)


def is_tie(m, out, *args):
    return m.is_tie(out, *args)


# --------------------------------------------------------------------------
# Edges (see Op.edges): numeric only, so plain numpy.


def edge_at_zero(out, a):
    return (a,)


def edge_of_unit_interval(out, a):
    # (1 - a)(1 + a) rather than 1 - a*a: exact near |a| = 1.
    return ((1.0 - a) * (1.0 + a),)


def edges_of_power(out, a, b):
    # In a: a^b is smooth in a through 0 only for a whole exponent >= 0. In
    # b (edges_crossed_by): 0^b jumps at b = 0, a negative a^b has whole b.
    whole = np.equal(np.floor(b), b)
    in_base = np.where(whole & np.greater_equal(b, 0.0), 1.0, a)
    off_whole = np.where(np.less(a, 0.0), b - np.round(b), 1.0)
    return (in_base, np.where(np.equal(a, 0.0), b, off_whole))


def edge_at_origin(a, b):
    # The larger of the two in size, with its sign: it changes sign when a
    # path through the plane passes the origin (hypot(a, b) only touches 0).
    return np.where(np.abs(a) <= np.abs(b), b, a)


def edge_of_atan2(out, y, x):
    # The branch cut (y = 0 with x < 0) and the origin.
    return (np.where(np.less(x, 0.0), y, 1.0), edge_at_origin(y, x))
