"""Fused multiply-add, `a * b + c` rounded once, on numpy arrays (numpy has no `fma` ufunc).

PyTorch's CPU kernels are compiled with fused multiply-adds: `add(a, b, alpha=k)` is
`fma(b, k, a)`, and `arange`/`linspace` compute `start + step * i` as one fma. Matching their
floats bit for bit needs the same single rounding. Both functions here are exact (correctly
rounded) for finite inputs whose products neither overflow nor fall into the subnormal range:

* `fma32`: a float32 product is exact in float64 (24 + 24 bits <= 53); the sum with c is made
  exact by Knuth's TwoSum and rounded to odd in float64, after which rounding to float32 is the
  correct rounding (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved
  algorithms using rounding to odd", 2008);
* `fma64`: Dekker's exact product (Veltkamp splitting) and TwoSum turn a*b + c into three
  float64 terms; the two small ones are added with rounding to odd, then the large one with
  the usual rounding (same paper, Algorithm 5.4).

Read `micrograd/tensor/factories.py` (arange, linspace) and `core.py` (add with alpha) for uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's splitter for float64
_INF = np.float64(np.inf)


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple:
    """s, t with s = fl(a + b) and s + t == a + b exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple:
    """p, e with p = fl(a * b) and p + e == a * b exactly (Dekker)."""
    p = a * b
    ca = _SPLIT * a
    ah = ca - (ca - a)
    al = a - ah
    cb = _SPLIT * b
    bh = cb - (cb - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _round_to_odd(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """hi + lo (hi = fl(hi + lo)) rounded to odd: hi itself if exact or odd, else the
    neighbour of hi towards lo (whose last bit is then odd)."""
    even_and_inexact = (lo != 0) & ((hi.view(np.int64) & 1) == 0)
    if not even_and_inexact.any():
        return hi
    return np.where(even_and_inexact, np.nextafter(hi, np.copysign(_INF, lo)), hi)


def fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """a * b + c in float64, rounded once."""
    a, b, c = (np.asarray(x, np.float64) for x in (a, b, c))
    with np.errstate(over="ignore", invalid="ignore"):
        ph, pl = _two_product(a, b)
        th, tl = _two_sum(c, ph)
        vh, vl = _two_sum(tl, pl)
        v = _round_to_odd(vh, vl)
        # an exact th keeps its own sign of zero (-0.0 + 0.0 would make -0.0 into 0.0)
        out = np.where(v == 0, th, th + v)
    # inf/nan inputs or an overflowing product: the plain formula gives IEEE's answer
    plain = ~np.isfinite(out)
    if plain.any():
        out = np.where(plain, a * b + c, out)
    return out


def fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """a * b + c for float32 values (given in any float dtype that holds them exactly), rounded
    once to float32."""
    a, b, c = (np.asarray(x, np.float64) for x in (a, b, c))
    with np.errstate(over="ignore", invalid="ignore"):
        s, t = _two_sum(c, a * b)  # a * b is exact
        t = np.where(np.isfinite(s), t, 0.0)
        return _round_to_odd(s, t).astype(np.float32)
