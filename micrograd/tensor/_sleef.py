"""PyTorch's float32 sigmoid on the CPU, to the last bit: `1 / (1 + exp(-x))` with SLEEF's `expf`.

PyTorch's vectorised sigmoid kernel computes `1 / (1 + exp(-x))` in float32 with
`Sleef_expf16_u10`, SLEEF's float32 exp (within 1 ulp), on blocks of 32 elements; the elements
left after the last whole block go through the scalar kernel, with the C library's `expf`. Its
result is up to 2 ulps from the true sigmoid, so a correctly rounded sigmoid would differ from
PyTorch's by as much. `sigmoid32` follows the same route: SLEEF's algorithm (sleefsimdsp.c,
`xexpf`: a reduction by ln 2 split in two parts, a degree-6 polynomial evaluated with fused
multiply-adds, and a scaling by 2**q in two steps) for the whole blocks, and a correctly rounded
`expf` (the C library's is within an ulp of it) for the rest. Checked against torch bit for bit
on millions of inputs in the tests.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor._fma import fma32

__all__ = ["expf_u10", "logf_u10", "sigmoid32"]

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
_BLOCK = 32  # elements per iteration of PyTorch's vectorised loop (2 AVX-512 registers)


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
    if d.size > _CHUNK:  # in pieces whose float64 buffers stay in the processor's cache
        flat = np.ascontiguousarray(d).reshape(-1)
        out = np.empty_like(flat)
        for start in range(0, flat.size, _CHUNK):
            out[start : start + _CHUNK] = expf_u10(flat[start : start + _CHUNK])
        return out.reshape(d.shape)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
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
        s64 = q64  # q64 is no longer needed: its buffer holds s in float64
        np.copyto(s64, s)
        u, u32 = t, s.copy()  # so is t
        np.multiply(s64, _POLY64[0], out=u)
        u += _POLY64[1]
        bits, low = u.view(np.int64), np.empty(u.shape, np.int64)
        suspect, flag = np.zeros(u.shape, bool), np.empty(u.shape, bool)

        def round_to_float32():
            # the float64 sum rounded to float32 (and back), noting sums halfway between two
            np.bitwise_and(bits, _HALF_MASK, out=low)
            np.equal(low, _HALF, out=flag)
            suspect.__ior__(flag)
            np.copyto(u32, u, casting="same_kind")
            np.copyto(u, u32)

        for c in _POLY64[2:]:
            round_to_float32()
            u *= s64
            u += c
        round_to_float32()
        np.multiply(s, s, out=u32)
        np.multiply(u, u32, out=u)
        u += s64
        round_to_float32()
        u32 += _F32(1)
        # 2**q as two factors, as SLEEF scales (only the second product can round, among
        # denormals); q fits in int32 once clipped (d beyond +-104 is replaced below)
        qi = q.astype(np.int32)  # nan and infinities give garbage, replaced below
        np.clip(qi, -200, 200, out=qi)
        half = qi >> 1
        out = u32
        out *= _pow2(half)
        qi -= half
        out *= _pow2(qi)
        out[d < _F32(-104)] = 0
        out[d > _F32(100)] = np.inf
        out[np.isnan(d)] = np.nan
    if suspect.any():
        where = np.nonzero(suspect)
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
    (which its log_softmax takes of the row sums; `torch.log` itself goes through MKL)."""
    d = np.asarray(d, _F32)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        e = (np.frexp(d * _THREE_QUARTERS_INV)[1] - 1).astype(_F32)  # getexp(d / 0.75)
        frac = np.frexp(d)[0]  # in [0.5, 1)
        m = np.where(frac >= _F32(0.75), frac, frac * _F32(2)).astype(_F32)  # getmant
        # s = ln 2 * e in double-float
        sx = _LN2_HI * e
        sy = fma32(_LN2_LO, e, fma32(_LN2_HI, e, -sx))
        # x = (m - 1) / (m + 1) in double-float
        nx, ny = _two_sum_ordered(_F32(-1), m)
        dx, dy = _two_sum_ordered(_F32(1), m)
        t = _F32(1) / dx
        xx = nx * t
        u = fma32(t, nx, -xx)
        v = fma32(-dy, t, fma32(-dx, t, _F32(1)))
        xy = fma32(xx, v, fma32(ny, t, u))
        x2 = xx * xx
        poly = fma32(fma32(_F32(0.3027294874), x2, _F32(0.3996108174)), x2, _F32(0.6666694880))
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


def sigmoid32(a: np.ndarray) -> np.ndarray:
    """PyTorch's float32 sigmoid of `a` (a float32 array), element for element."""
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty_like(flat)
    head = flat.size - flat.size % _BLOCK
    one = _F32(1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        out[:head] = one / (one + _sleef_expf(-flat[:head]))
        tail = np.exp(-flat[head:].astype(np.float64)).astype(_F32)  # expf, correctly rounded
        out[head:] = one / (one + tail)
    return out.reshape(np.shape(a))
