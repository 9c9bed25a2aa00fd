"""Fused multiply-add, `a * b + c` rounded once, on numpy arrays (numpy has no `fma` ufunc).

PyTorch's CPU kernels are compiled with fused multiply-adds: `add(a, b, alpha=k)` is
`fma(b, k, a)`, `arange`/`linspace` compute `start + step * i` as one fma, its random numbers'
uniform scaling and Box-Muller fuse their `x * y + z`, and so do SLEEF's functions. Matching
their floats bit for bit needs the same single rounding, computed exactly here (Boldo and
Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
odd", 2008):

* float32: a float32 product is exact in float64 (24 + 24 bits <= 53); its sum with c is
  rounded to odd in float64, after which rounding to float32 is the correct rounding;
* float64: Dekker's exact product and Knuth's TwoSum turn a*b + c into three float64 terms; the
  two small ones are added with rounding to odd, then the large one with the usual rounding.
  Where the split would overflow or lose bits among denormals, exact rational arithmetic takes
  over (only ever a few odd values).

`fma` rounds in a's dtype; `fma32` and `fma64` name the dtype. Users: `random.py`,
`factories.py` (arange, linspace), `core.py` (add with alpha), `optim/_kernels.py`, `_sleef.py`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["fma", "fma32", "fma64"]


def fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """a * b + c for float32 values (given in any float dtype that holds them exactly), rounded
    once to float32."""
    return fma(np.asarray(a, np.float32), b, c)


def fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """a * b + c in float64, rounded once."""
    return fma(np.asarray(a, np.float64), b, c)


def fma(a: np.ndarray, b, c) -> np.ndarray:
    """a * b + c rounded once in a's dtype, as the FMA instructions GCC emits for `x * y + z`.

    Boldo and Melquiond's emulation: the product is split exactly into p + e (in float64 for
    float32 inputs, by Dekker's TwoProduct for float64), c + p is summed exactly (TwoSum), the
    two small parts are added with rounding to odd, and only the last addition rounds to nearest.
    """
    if a.dtype == np.float32:
        return _fma32(a, b, c)
    a, b, c = np.broadcast_arrays(a, np.asarray(b, np.float64), np.asarray(c, np.float64))
    p = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        e = _two_product_error(a, b, p)
        high = c + p
        low = (c - (high - (high - c))) + (p - (high - c))  # TwoSum: high + low == c + p exactly
        small = _add_round_to_odd(e, low)
        # an exact `high` keeps its own sign of zero (-0.0 + 0.0 would make -0.0 into 0.0)
        result = np.where(small == 0, high, high + small)
    # Dekker's split overflows near the largest doubles and loses the product's low part among
    # denormals: there, compute exactly with fractions (only ever a few odd values).
    magnitude = np.abs(p)
    safe = (magnitude < 2.0**990) & ((magnitude > 2.0**-960) | (p == 0)) & (np.abs(c) < 2.0**1000)
    if not safe.all():
        result = np.array(result)
        for i in zip(*np.nonzero(~safe)):
            result[i] = _exact_fma(float(a[i]), float(b[i]), float(c[i]))
    return result


# a float64 exactly halfway between two normal float32s: the 29 bits float32 drops are 10...0;
# below float32's smallest normal (2**-126) float32 drops more bits, and those sums are redone
# too rather than recognised by another pattern (rare either way; an exact zero is exact)
_HALFWAY_MASK, _HALFWAY = 0x1FFFFFFF, 0x10000000
_MAGNITUDE_MASK, _SMALL = 0x7FFFFFFFFFFFFFFF, (1023 - 126) << 52


def _fma32(a: np.ndarray, b, c) -> np.ndarray:
    """float32 a * b + c rounded once: the product is exact in float64, so the float64 sum is
    the exact value rounded once; rounding that to float32 rounds twice, which can differ from
    one rounding only where the float64 sum is exactly halfway between two float32s (any float32
    halfway point strictly between the exact value and its float64 rounding would be a nearer
    float64). Those few sums, and the nonzero ones in float32's denormal range, are redone with
    a round-to-odd sum, which makes the second rounding the correct one (about 2x faster than
    rounding every sum to odd: Adam's update is two FMAs per parameter)."""
    product = np.multiply(a, np.asarray(b, np.float64), dtype=np.float64)
    c64 = np.asarray(c, np.float64)
    total = product + c64
    bits = total.view(np.int64)
    suspect = (bits & _HALFWAY_MASK) == _HALFWAY
    tiny = bits & _MAGNITUDE_MASK  # |total|'s bits; minus 1, zero wraps round to the largest
    tiny -= 1
    suspect |= tiny.view(np.uint64) < _SMALL - 1
    result = total.astype(np.float32)
    if not suspect.any():
        return result
    if total.ndim == 0:
        return _add_round_to_odd(product, c64).astype(np.float32)
    where = np.nonzero(suspect)
    product, c64 = np.broadcast_to(product, total.shape), np.broadcast_to(c64, total.shape)
    result[where] = _add_round_to_odd(product[where], c64[where]).astype(np.float32)
    return result


def _exact_fma(a: float, b: float, c: float) -> float:
    """a * b + c rounded once, by exact rational arithmetic (int / int rounds correctly)."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c  # inf and nan propagate as in the FMA instruction
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    try:
        value = exact.numerator / exact.denominator
    except OverflowError:
        return math.copysign(math.inf, exact)
    if value == 0:  # a zero keeps the sign of what was rounded to it
        return math.copysign(0.0, exact) if exact else a * b + c
    return value


def _add_round_to_odd(x: np.ndarray, y) -> np.ndarray:
    """x + y rounded to odd: when inexact, the neighbour of the exact sum with an odd last bit."""
    s = x + y
    z = s - x
    err = (x - (s - z)) + (y - z)
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s = np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s


def _two_product_error(a: np.ndarray, b, p: np.ndarray) -> np.ndarray:
    """Dekker's TwoProduct: the exact a * b - p for p = fl(a * b) (no overflow assumed)."""
    split = 134217729.0  # 2**27 + 1
    ah = a * split
    ah = ah - (ah - a)
    al = a - ah
    bh = b * split
    bh = bh - (bh - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl
