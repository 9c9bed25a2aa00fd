"""The float32 fused multiply-add of `micrograd/tensor/_fma.py` (Adam's and AdamW's updates,
`add(alpha=)`, the random numbers' scaling) rounds `a * b + c` once, exactly: checked against an
independent reference, the exact rational value rounded to the nearest float32 (ties to even),
on generated values and on the sums where rounding twice (to float64, then to float32) goes
wrong -- a float64 sum that lands exactly halfway between two float32s, and float32 denormals.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from micrograd.tensor._fma import fma, fma32


def nearest_float32(exact: Fraction) -> np.float32:
    """The float32 nearest to a rational (ties to the even last bit), found by comparing the
    exact value with the candidates around a first guess (no floating-point rounding trusted)."""
    # from the largest float32 plus half its spacing on, the nearest is infinity (as RN does)
    if abs(exact) >= Fraction(float(np.finfo(np.float32).max)) + Fraction(2) ** 103:
        return np.float32(math.copysign(np.inf, exact))
    guess = np.float32(float(exact))
    up, down = np.float32(np.inf), np.float32(-np.inf)
    candidates = [x for x in (guess, np.nextafter(guess, up), np.nextafter(guess, down))]
    candidates = [x for x in candidates if np.isfinite(x)]

    def distance_then_odd(x):
        return abs(Fraction(float(x)) - exact), int(bits(x)) & 1

    return min(candidates, key=distance_then_odd)


def bits(x) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.int32)


def reference(a, b, c) -> np.ndarray:
    out = []
    for x, y, z in zip(a.ravel(), b.ravel(), c.ravel()):
        exact = Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))
        if exact == 0:  # IEEE's signed zeros: -0 only for (-0) + (-0), else +0 (to nearest)
            negative_product = bool(np.signbit(x) ^ np.signbit(y)) and x * y == 0
            out.append(np.float32(-0.0 if negative_product and np.signbit(z) else 0.0))
        else:
            out.append(nearest_float32(exact))
    return np.array(out, np.float32).reshape(a.shape)


finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, st.integers(1, 40), elements=finite32), st.data())
def test_fma32_rounds_once_like_the_exact_value(a, data):
    b = data.draw(hnp.arrays(np.float32, a.shape, elements=finite32))
    c = data.draw(hnp.arrays(np.float32, a.shape, elements=finite32))
    expected = reference(a, b, c)
    with np.errstate(over="ignore", invalid="ignore"):
        got = fma32(a, b, c)
    finite = np.isfinite(expected)
    assert got.dtype == np.float32 and got.shape == a.shape
    np.testing.assert_array_equal(bits(got)[finite], bits(expected)[finite])
    assert np.array_equal(got[~finite], expected[~finite])  # overflow: the same infinities


def test_a_float64_sum_exactly_halfway_between_two_float32s_is_rounded_once():
    # c = 1 + 2**-23 (an odd last bit), a*b = 2**-24 - 2**-54 exactly: the exact sum lies just
    # below the float32 halfway point 1 + 2**-23 + 2**-24, so it rounds down to c; its float64
    # rounding IS that halfway point, which then ties to the even 1 + 2**-22 (rounding twice).
    a = np.array([(1 + 2**-15) * 2**-24] * 3, np.float32)
    b = np.array([1 - 2**-15] * 3, np.float32)
    c = np.array([1 + 2**-23, -(1 + 2**-23), 3 * (1 + 2**-23)], np.float32)
    b[1] = -b[1]
    a[2] *= 3  # the same at another scale: 3 * (1 + 2**-23) is an odd float32 too
    twice = (a.astype(np.float64) * b + c).astype(np.float32)
    assert not np.array_equal(bits(twice), bits(reference(a, b, c)))  # the trap is real
    np.testing.assert_array_equal(bits(fma(a, b, c)), bits(reference(a, b, c)))
    np.testing.assert_array_equal(bits(fma32(a, b, c)), bits(reference(a, b, c)))


def test_denormal_results_scalars_and_broadcasting():
    tiny = np.float32(2**-149)
    a = np.array([tiny, 3 * tiny, np.float32(2**-126), np.float32(1e-30)], np.float32)
    b = np.float32(0.75)
    c = np.array([tiny, -tiny, np.float32(-(2**-127)), np.float32(1e-39)], np.float32)
    expected = reference(a, np.full(a.shape, b), c)
    np.testing.assert_array_equal(bits(fma32(a, b, c)), bits(expected))
    scalar = fma32(np.float32(3), 0.5, np.float32(2))
    assert np.shape(scalar) == () and scalar == np.float32(3.5)
    grid = fma32(np.ones((2, 1), np.float32), np.float32(0.1), np.zeros(3, np.float32))
    assert grid.shape == (2, 3) and grid.dtype == np.float32
