"""SLEEF's float32 `expf` and `logf` (u10) on numpy arrays, to the last bit, as PyTorch's
AVX-512 kernels get them (`Sleef_expf16_u10`, `Sleef_logf16_u10`; within 1 ulp, not correctly
rounded).

`expf_u10` replays SLEEF's `xexpf` (sleefsimdsp.c: a reduction by ln 2 split in two parts, a
degree-6 polynomial evaluated with fused multiply-adds, and a scaling by 2**q in two steps),
`logf_u10` its `xlogf_u1`. Users: the softmax kernels (`_softmax32.py`) and sigmoid
(`_math32.py`). Checked against torch bit for bit on millions of inputs in the tests.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor._fma import fma32

__all__ = ["expf_u10", "expf_u10_unchecked", "logf_u10"]

_F32 = np.float32
_R_LN2 = _F32(1.442695040888963407359924681001892137426645954152985934135449406931)
_L2U = _F32(0.693145751953125)  # ln 2 in two parts: the high part exact in a few bits
_L2L = _F32(1.428606765330187045e-06)
_POLY = [
    _F32(c)
    for c in (
        0.000198527617612853646278381,
        0.00139304355252534151077271,
        0.00833336077630519866943359,
        0.0416664853692054748535156,
        0.166666671633720397949219,
        0.5,
    )
]


def _sleef_expf(d: np.ndarray) -> np.ndarray:
    """SLEEF's `xexpf` (u10) on float32 values, operation by operation."""
    q = np.rint(d * _R_LN2).astype(np.int32)
    qf = q.astype(_F32)
    s = fma32(qf, -_L2U, d)
    s = fma32(qf, -_L2L, s)
    u = np.full_like(s, _POLY[0])
    for c in _POLY[1:]:
        u = fma32(u, s, c)
    u = _F32(1) + fma32(s * s, u, s)
    half = q >> 1  # 2**q as two factors, so that neither overflows on its own
    u = (u * np.ldexp(_F32(1), half).astype(_F32)) * np.ldexp(_F32(1), q - half).astype(_F32)
    u = np.where(d < _F32(-104), _F32(0), u)
    return np.where(d > _F32(100), _F32(np.inf), u).astype(_F32)


_F64 = np.float64
_L2U64, _L2L64 = _F64(_L2U), _F64(_L2L)
_POLY64 = [_F64(c) for c in _POLY]
# a float64 exactly halfway between two float32s has these low bits (see _fma.py)
_HALF_MASK, _HALF = np.int64(0x1FFFFFFF), np.int64(0x10000000)


_CHUNK = 16384  # elements of expf_u10's work at a time (float64 buffers of 128 KiB)


def expf_u10(d: np.ndarray) -> np.ndarray:
    """SLEEF's float32 `expf` (u10) of a float32 array, as PyTorch's vectorised kernels get it.

    The same operations as `_sleef_expf`, several times faster: each fused multiply-add is
    computed in float64 (the float32 product is exact there) and rounded once to float32. The
    two reduction steps are exact in float64; a polynomial step is not when `s` is small, and
    its float64 sum then rounds twice, which differs from one rounding only on a float64 sum
    exactly halfway between two float32s. Those elements (about one in 2**29 per step) are
    redone with the exact emulation. The work is done in place in a few buffers: fresh float64
    temporaries cost more than the arithmetic on arrays of this size."""
    d = np.asarray(d, _F32)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        return expf_u10_unchecked(d)


def expf_u10_unchecked(d: np.ndarray) -> np.ndarray:
    """`expf_u10` of a float32 array without its `np.errstate` block (a few microseconds): for
    callers that already ignore floating-point warnings (inf, nan and overflow are intended)."""
    if d.size == 0:
        return d.copy()
    if d.size > _CHUNK:  # in pieces whose float64 buffers stay in the processor's cache
        flat = np.ascontiguousarray(d).reshape(-1)
        out = np.empty_like(flat)
        for start in range(0, flat.size, _CHUNK):
            out[start : start + _CHUNK] = expf_u10_unchecked(flat[start : start + _CHUNK])
        return out.reshape(d.shape)
    q = d * _R_LN2
    np.rint(q, out=q)
    q64 = q.astype(_F64)
    t = d.astype(_F64)
    buf = q64 * _L2U64
    t -= buf  # exact: the product has few bits and cancels d's leading ones
    s = t.astype(_F32)
    np.copyto(t, s)
    np.multiply(q64, _L2L64, out=buf)
    t -= buf  # exact too (s has no bits below 2**-25 when q != 0)
    np.copyto(s, t, casting="same_kind")
    s64 = buf  # the product is no longer needed: its buffer holds s in float64
    np.copyto(s64, s)
    u, u32 = t, np.empty_like(s)  # so is t
    np.multiply(s64, _POLY64[0], out=u)
    u += _POLY64[1]
    # the low 29 bits of each float64 sum before it is rounded to float32, one row per
    # rounding; a sum halfway between two float32s shows as 10...0 there (looked for once, at
    # the end: they are rare)
    bits, lows = u.view(np.int64), np.empty((6, *d.shape), np.int64)
    for step, c in enumerate(_POLY64[2:]):
        np.bitwise_and(bits, _HALF_MASK, out=lows[step])
        np.copyto(u32, u, casting="same_kind")
        np.copyto(u, u32)
        u *= s64
        u += c
    np.bitwise_and(bits, _HALF_MASK, out=lows[4])
    np.copyto(u32, u, casting="same_kind")
    np.copyto(u, u32)
    np.multiply(s, s, out=u32)
    np.multiply(u, u32, out=u)
    u += s64
    np.bitwise_and(bits, _HALF_MASK, out=lows[5])
    np.copyto(u32, u, casting="same_kind")
    u32 += _F32(1)
    # SLEEF scales by 2**q in two float32 products, u * 2**(q >> 1) exact and the second
    # rounding once (among denormals, or to inf): the product u * 2**q, exact in float64 for
    # the q of every d in [-104, 100], rounded once to float32 is the same float
    np.copyto(u, u32)
    qi = q64.astype(np.int64)  # nan and infinities give garbage, replaced below
    qi += 1023
    qi <<= 52
    u *= qi.view(_F64)
    out = u32
    np.copyto(out, u, casting="same_kind")
    low, high = np.minimum.reduce(d, axis=None), np.maximum.reduce(d, axis=None)
    if not (low >= _F32(-104) and high <= _F32(100)):  # (nan fails both)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            out[d < _F32(-104)] = 0
            out[d > _F32(100)] = np.inf
            out[np.isnan(d)] = np.nan
    suspect = np.equal(lows, _HALF)
    if suspect.any():
        where = np.nonzero(np.logical_or.reduce(suspect, axis=0))
        out[where] = _sleef_expf(d[where])
    return out


def _pow2(k: np.ndarray) -> np.ndarray:
    """2.0**k as float32 for integers -126 <= k <= 127, built from the exponent bits (np.ldexp
    calls the C library once per element)."""
    return ((k + 127) << 23).astype(np.int32).view(_F32)


_LN2_HI, _LN2_LO = _F32(0.69314718246459960938), _F32(-1.904654323148236017e-09)
_THREE_QUARTERS_INV = _F32(1.0 / 0.75)


def logf_u10(d: np.ndarray) -> np.ndarray:
    """SLEEF's float32 `logf` (u10, `xlogf_u1`) of a float32 array, as built for AVX-512:
    the exponent and the mantissa in [0.75, 1.5) from `getexp`/`getmant`, log((m-1)/(m+1))
    in double-float arithmetic with a degree-3 polynomial. PyTorch's `Vectorized<float>::log`
    (which its log_softmax takes of the row sums; `torch.log` itself goes through MKL).

    Its nine fused multiply-adds are each the float64 sum of the exact product, rounded to
    float32: every one of those float64 sums is exact (no double rounding). Their operands
    depend on d's exponent alone (the first two, 300 values) or on its mantissa alone (the
    others, 2**24 values), and all of them were checked against the exact `fma32`."""
    d = np.asarray(d, _F32)

    def fma(a, b, c):
        total = np.multiply(a, b, dtype=_F64)
        total += c
        return total.astype(_F32)

    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        e = (np.frexp(d * _THREE_QUARTERS_INV)[1] - 1).astype(_F32)  # getexp(d / 0.75)
        frac = np.frexp(d)[0]  # in [0.5, 1)
        m = np.where(frac >= _F32(0.75), frac, frac * _F32(2)).astype(_F32)  # getmant
        # s = ln 2 * e in double-float
        sx = _LN2_HI * e
        sy = fma(_LN2_LO, e, fma(_LN2_HI, e, -sx))
        # x = (m - 1) / (m + 1) in double-float
        nx, ny = _two_sum_ordered(_F32(-1), m)
        dx, dy = _two_sum_ordered(_F32(1), m)
        t = _F32(1) / dx
        xx = nx * t
        u = fma(t, nx, -xx)
        v = fma(-dy, t, fma(-dx, t, _F32(1)))
        xy = fma(xx, v, fma(ny, t, u))
        x2 = xx * xx
        poly = fma(fma(_F32(0.3027294874), x2, _F32(0.3996108174)), x2, _F32(0.6666694880))
        # s + 2x, then + x**3 * poly, each a double-float addition
        hi = sx + xx * _F32(2)
        lo = (((sx - hi) + xx * _F32(2)) + sy) + xy * _F32(2)
        cube = (x2 * xx) * poly
        top = hi + cube
        lo = ((hi - top) + cube) + lo
        r = (top + lo).astype(_F32)
        r[d == 0] = -np.inf
        r[d == np.inf] = np.inf
        r[(d < 0) | np.isnan(d)] = np.nan
    return r


def _two_sum_ordered(x, y):
    """SLEEF's `dfadd2_vf2_vf_vf`: x + y as a float32 pair (sum, rounding error)."""
    s = x + y
    v = s - x
    return s, (x - (s - v)) + (y - v)
