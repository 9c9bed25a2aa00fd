"""float32 tanh, its derivative and GELU (erf form) with the floats of PyTorch's CPU kernels.

What PyTorch 2.13 (x86-64, MKL and oneDNN builds: the wheels on PyPI) computes for float32:

* `torch.tanh` goes through MKL's vector math (`vmsTanh`, high-accuracy mode). MKL's code is not
  public; its result is the correctly rounded tanh except for about 6 inputs in 10,000, which
  lie within 1.3% of a unit in the last place (ulp) of halfway between two floats and round the
  other way. `tanh32` is the correctly rounded tanh (evaluated in double precision, below), so
  it differs from PyTorch's by 1 ulp on those few inputs (docs/pytorch-differences.md).
* tanh's backward, `tanh_backward(g, y) = g * (1 - y*y)`, is compiled with the multiply-add
  fused: g * fma(-y, y, 1), in every lane and in the scalar tail loop alike.
* `F.gelu(x)` (approximate='none') on a contiguous float32 tensor of more than one element runs
  oneDNN's AVX-512 kernel (`eltwise_gelu_erf`), whose erf part is a piecewise polynomial, not
  the erf function: |x| picks one of 24 intervals from its float bits, a degree-5 polynomial in
  |x| (five fused multiply-adds) approximates erf(|x| / sqrt 2), and the result is
  (x * (1 +- P)) * 0.5. At +-inf it gives nan (0 * inf inside the polynomial). A single element
  takes ATen's scalar path instead, x * 0.5 * (1 + erff(x / sqrt 2)).
* Its backward there is oneDNN's too, with another erf: Abramowitz and Stegun's 7.1.26,
  erf(r) = 1 - t P(t) exp(-r^2), t = 1 / (1 + p|r|), r = x / sqrt 2, and oneDNN's own exp (a
  degree-5 polynomial after reducing by ln 2, fused multiply-adds in both polynomials). The
  derivative is fma(erf, 0.5, r / sqrt(pi) * exp(-r^2) + 0.5), multiplied by the incoming
  gradient. A single element: g * fma(x, pdf, cdf) with the C library's erff and expf.

* `F.gelu(x, approximate='tanh')` runs ATen's own kernel (oneDNN is used for 'none' only):
  0.5x (1 + tanh(beta fma(kappa, x^3, x))) with SLEEF's `tanhf` (u10, `xtanhf`: exp of |x| in
  double-float arithmetic, then (e - 1/e) / (e + 1/e) in double-float) on whole blocks of 32
  elements and the C library's `tanhf` on the rest. "The rest" is per thread: above 16,384
  elements the work is split in as many equal parts as PyTorch has threads, each with its own
  tail (`kernel_threads` below, kept by `torch.set_num_threads`). The backward
  (0.5 (1 + T) + 0.5x fma(-T, T, 1) beta fma(3 kappa, x^2, 1)) the same way, split in parts of
  at least 32,768 elements.

* `torch.sigmoid` is ATen's kernel: 1 / (exp(-x) + 1) (a nan in: the nan, sign flipped, quieted) with SLEEF's `expf` (u10, `_sleef.py`) on
  whole blocks of 32 elements, 1 / (1 + expf(-x)) with the C library's `expf` on the rest; above
  32,768 elements each thread's share has its tail. Its backward is (g * (1 - y)) * y.

`micrograd/tensor/_cmath32.c` computes the same floats in C; the functions here use it when it is built (and MICROGRAD_PURE is unset), numpy otherwise. The tests
compare both paths with each other and with torch, bit for bit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._fma import fma32
from micrograd.tensor._sleef import expf_u10
from micrograd.tensor._torch_threads import default_threads

__all__ = [
    "gelu_erf32",
    "gelu_erf_backward32",
    "gelu_tanh32",
    "gelu_tanh_backward32",
    "sigmoid32",
    "sigmoid_backward32",
    "tanh32",
    "tanh_backward32",
]

_F32 = np.float32


def _load_compiled():
    return _native.load("_cmath32")  # None: the numpy code below runs


_compiled = _load_compiled()

# The threads PyTorch would use (`set_num_threads` keeps it): above a size, its elementwise loops
# split the tensor in that many parts, each with its own scalar tail.
kernel_threads = default_threads()

# oneDNN's minimax polynomials (jit_uni_eltwise_injector, gelu_erf_minimax_pol), as float bits:
# row d holds the degree-d coefficient of each of the 25 intervals. Interval 23 is the constant
# 1 (|x| past the right bound), 24 the identity near 0; interval 0 is never picked.
# fmt: off
_GELU_ERF_POLY = np.array(
    [
        [0xA6F2CB94, 0x32827792, 0x3381CC0C, 0x34523D4A, 0x351AC44D, 0x35F36D88, 0x36EE8229,
         0x37B8A3BB, 0x3867A213, 0x3940033B, 0x3A2A5A1D, 0x3AE35863, 0x3B7828F2, 0x3C08B14B,
         0x3C515ED3, 0xBB503236, 0xBD8D8E5E, 0xBE8ABCD9, 0xBF0C19A2, 0xBECCB328, 0x3E176CED,
         0x3F470D99, 0x3F7ABB28, 0x3F800000, 0x00000000],
        [0x3F4C422A, 0x3F4C421F, 0x3F4C4207, 0x3F4C41CB, 0x3F4C413B, 0x3F4C3FAD, 0x3F4C3A2F,
         0x3F4C2D40, 0x3F4C146A, 0x3F4BC341, 0x3F4AD08C, 0x3F48F8CF, 0x3F45FAC7, 0x3F404E07,
         0x3F3B980F, 0x3F48DFF3, 0x3F78B21B, 0x3FBB0704, 0x40019C32, 0x3FE536D6, 0x3F81331E,
         0x3E6C8684, 0x3C98F936, 0x00000000, 0x3F800000],
        [0xB62173F4, 0x3735E4CF, 0x37F2FF89, 0x388C23BE, 0x3917535C, 0x39AB2AB0, 0x3A60FADB,
         0x3AF9B960, 0x3B6E5491, 0x3C0A4EC5, 0x3CA5AA8C, 0x3D2138D9, 0x3D8737D4, 0x3DDFB660,
         0x3E0F27AB, 0x3D94004B, 0xBE0EFDEB, 0xBF1D96C3, 0xBF89DB58, 0xBF6D9897, 0xBEF69FB8,
         0xBDC4F8A8, 0xBBDE6422, 0x00000000, 0x00000000],
        [0xBE081A19, 0xBE084570, 0xBE08639B, 0xBE089837, 0xBE08F409, 0xBE09AB95, 0xBE0B66D0,
         0xBE0E400A, 0xBE124DF8, 0xBE1BDE02, 0xBE2F19C9, 0xBE4931BF, 0xBE685FBC, 0xBE89C95F,
         0xBE96CBCA, 0xBE8044AA, 0xBE0550F2, 0x3DCFD6A1, 0x3E94C826, 0x3E79345F, 0x3DECEC91,
         0x3CA46568, 0x3AA1E00A, 0x00000000, 0x00000000],
        [0xBA3D61DB, 0x39F097A3, 0x3A5845DC, 0x3AB1FA35, 0x3B0CEFB8, 0x3B653AB6, 0x3BCAE527,
         0x3C221712, 0x3C6C5840, 0x3CC0A703, 0x3D1DCC19, 0x3D63656D, 0x3D955907, 0x3DBF9910,
         0x3DD53F69, 0x3DB7DCEF, 0x3D639EBE, 0xBA6EDE48, 0xBD22BE69, 0xBD041CF1, 0xBC64F5AB,
         0xBB097A32, 0xB8EBF380, 0x00000000, 0x00000000],
        [0x3CB7D80C, 0x3C9B6050, 0x3C978D11, 0x3C92E850, 0x3C8D058B, 0x3C848454, 0x3C6CD623,
         0x3C4C824B, 0x3C2A7935, 0x3BE0B390, 0x3B0651AC, 0xBB232F53, 0xBBD42FA0, 0xBC2C5366,
         0xBC492C9E, 0xBC2A7AA6, 0xBBD55D04, 0xBA823A76, 0x3B102AA8, 0x3AE25A7E, 0x3A31F792,
         0x38B84375, 0x3689BB5A, 0x00000000, 0x00000000],
    ],
    dtype=np.uint32,
).view(_F32)
# fmt: on
_GELU_ERF_INDEX_BIAS = np.uint32(0xC21FFFFF)  # added to |x|'s bits; >> 21 gives the interval
_GELU_ERF_RIGHT_BOUND = np.uint32(0x40B15CEE).view(_F32)  # past it (about 5.54) erf is 1
_SQRT1_2_F32 = _F32(math.sqrt(0.5))


def _bits(*words: int) -> list:
    return [np.uint32(w).view(_F32) for w in words]


# oneDNN's exp (exp_compute_vector_fwd): clip to [ln FLT_MIN, ln FLT_MAX], n = floor(x log2 e +
# 1/2), r = x - n ln 2 (fused), a degree-5 polynomial in r, times 2**(n-1) and 2
_EXP_LN_MIN, _EXP_LN_MAX, _EXP_LOG2E, _EXP_LN2 = _bits(
    0xC2AEAC50, 0x42B17218, 0x3FB8AA3B, 0x3F317218
)
_EXP_POLY = _bits(0x3F7FFFFB, 0x3EFFFEE3, 0x3E2AAD40, 0x3D2B9D0D, 0x3C07CFCE)  # degree 1..5
# Abramowitz and Stegun 7.1.26 as oneDNN writes it
_AS_P, _AS_ONE_OVER_SQRT2, _AS_ONE_OVER_SQRTPI = _bits(0x3EA7BA05, 0x3F3504F3, 0x3F106EBA)
_AS_POLY = _bits(0x3E827906, 0xBE91A98E, 0x3FB5F0E3, 0xBFBA00E3, 0x3F87DC22)  # degree 1..5
_PDF_SCALE_F32 = _F32(2 / math.sqrt(math.pi) * math.sqrt(0.5) * 0.5)  # 1 / sqrt(2 pi)


def _onednn_exp(x: np.ndarray) -> np.ndarray:
    underflow = x < _EXP_LN_MIN
    # x86's minps / maxps: a nan operand gives the constant (the result is nan anyway later)
    x = np.where(x < _EXP_LN_MAX, x, _EXP_LN_MAX)
    x = np.where(x > _EXP_LN_MIN, x, _EXP_LN_MIN)
    fx = x * _EXP_LOG2E
    fx += _F32(0.5)
    np.floor(fx, out=fx)
    r = fma32(-fx, _EXP_LN2, x)
    scale = ((fx - _F32(1)).astype(np.int32) + 127) << 23
    scale[underflow] = 0
    p = _EXP_POLY[4]
    for c in (*_EXP_POLY[3::-1], _F32(1)):
        p = fma32(p, r, c)
    p *= scale.view(_F32)
    p *= _F32(2)
    return p


def _contiguous(a: np.ndarray) -> np.ndarray:
    """a as a C-contiguous float32 array of the same shape (np.ascontiguousarray makes a 0-d
    array 1-d)."""
    a = np.asarray(a, _F32)
    # the C loops read aligned floats (a view at an odd byte offset is copied)
    return a if a.flags.c_contiguous and a.flags.aligned else a.copy()


# tanh(a) = e / (e + 2), e = expm1(2a), in double precision (the same operations as _cmath32.c):
# a Taylor polynomial of expm1 for 2a < 0.5, else exp(r) 2**k - 1 with r = 2a - k ln 2 (ln 2 in
# two parts, the first exact times any k here). Relative error a few units of 2**-53: the float
# rounding is the correct one but for inputs within about 2**-26 ulp of halfway, and there are
# none (every float below 9.1 gives the C library's double-precision tanh, rounded).
_TANH_LN2_HI = float.fromhex("0x1.62e42feep-1")
_TANH_LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
_TANH_INV_LN2 = float.fromhex("0x1.71547652b82fep+0")
_TANH_SATURATION = 9.1  # from here tanh rounds to 1.0f
_INV_FACTORIAL = [1.0 / math.factorial(k) for k in range(16)]


def tanh32(x: np.ndarray) -> np.ndarray:
    """tanh of a float32 array, correctly rounded (PyTorch's MKL tanh but for about 6 in 10,000
    inputs, 1 ulp apart)."""
    if _compiled is not None and x.size:
        x = _contiguous(x)
        out = np.empty_like(x)
        _compiled.tanh(x.reshape(-1), out.reshape(-1))
        return out
    x = np.asarray(x, _F32)
    if x.ndim == 0:  # numpy makes 0-d results scalars, which the masked writes below cannot take
        return tanh32(x.reshape(1)).reshape(())
    with np.errstate(invalid="ignore"):  # a signalling nan's widening flags an invalid operation
        a = np.abs(x).astype(np.float64)
    y = np.where(a < _TANH_SATURATION, a + a, 0.0)  # (nan and large |x|: a harmless 0)
    p = np.full_like(y, _INV_FACTORIAL[15])
    for c in _INV_FACTORIAL[14:0:-1]:
        p *= y
        p += c
    small = p * y
    k = np.rint(y * _TANH_INV_LN2)
    r = (y - k * _TANH_LN2_HI) - k * _TANH_LN2_LO
    q = np.full_like(r, _INV_FACTORIAL[14])
    for c in _INV_FACTORIAL[13::-1]:
        q *= r
        q += c
    q *= ((k.astype(np.int64) + 1023) << 52).view(np.float64)
    q -= 1.0
    e = np.where(y < 0.5, small, q)
    t = (e / (e + 2.0)).astype(_F32)
    t[a >= _TANH_SATURATION] = 1
    t = np.copysign(t, x)
    nan = np.isnan(x)
    t[nan] = x[nan]
    return t


def tanh_backward32(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """g * (1 - y*y) for float32 arrays of one shape, the multiply-add fused as PyTorch's."""
    if _compiled is not None and g.size and g.shape == y.shape:
        g, y = _contiguous(g), _contiguous(y)
        out = np.empty_like(g)
        _compiled.tanh_backward(g.reshape(-1), y.reshape(-1), out.reshape(-1))
        return out
    return (g * fma32(-y, y, _F32(1))).astype(_F32, copy=False)


def gelu_erf32(x: np.ndarray) -> np.ndarray:
    """GELU (erf form) of a float32 array as PyTorch computes it on the CPU (see the module's
    docstring): oneDNN's polynomial for arrays of two elements or more, ATen's scalar formula
    with the C library's erf for one."""
    if x.size == 1:
        value = float(x.reshape(-1)[0])
        erf = _F32(math.erf(float(_F32(value) * _SQRT1_2_F32)))  # erff: correctly rounded here
        with np.errstate(over="ignore", invalid="ignore"):
            return (_F32(value) * _F32(0.5) * (_F32(1) + erf)).astype(_F32).reshape(x.shape)
    if _compiled is not None and x.size:
        x = _contiguous(x)
        out = np.empty_like(x)
        _compiled.gelu_erf(x.reshape(-1), out.reshape(-1))
        return out
    magnitude = np.abs(x)
    index = (magnitude.view(np.uint32) + _GELU_ERF_INDEX_BIAS).view(np.int32) >> 21
    np.clip(index, 1, 24, out=index)
    index[_GELU_ERF_RIGHT_BOUND < magnitude] = 23
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        p = _GELU_ERF_POLY[5][index]
        for degree in range(4, -1, -1):
            p = fma32(p, magnitude, _GELU_ERF_POLY[degree][index])
        p = np.asarray(p, _F32)
        np.negative(p, out=p, where=np.signbit(x))
        p += _F32(1)
        p *= x
        p *= _F32(0.5)
    return p


def gelu_erf_backward32(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """g * GELU'(x) (erf form) for float32 arrays of one shape, as PyTorch computes it on the CPU
    (see the module's docstring)."""
    if x.size == 1:
        value = _F32(x.reshape(-1)[0])
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            cdf = _F32(0.5) * (_F32(1) + _F32(math.erf(float(value * _SQRT1_2_F32))))
            square = float(value * value * _F32(-0.5))
            pdf = _PDF_SCALE_F32 * _F32(math.exp(square) if square > -750 else 0.0)
            return (g * fma32(value, pdf, cdf)).astype(_F32).reshape(g.shape)
    if _compiled is not None and x.size and g.shape == x.shape:
        g, x = _contiguous(g), _contiguous(x)
        out = np.empty_like(g)
        _compiled.gelu_erf_backward(g.reshape(-1), x.reshape(-1), out.reshape(-1))
        return out
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        r = x * _AS_ONE_OVER_SQRT2
        q = _onednn_exp(-(r * r))
        density = r * _AS_ONE_OVER_SQRTPI
        density *= q
        t = _F32(1) / fma32(_AS_P, np.abs(r), _F32(1))
        minus_qt = -q * t
        poly = _AS_POLY[4]
        for c in _AS_POLY[3::-1]:
            poly = fma32(poly, t, c)
        erf = fma32(minus_qt, poly, _F32(1))
        np.negative(erf, out=erf, where=np.signbit(r))
        density += _F32(0.5)
        return (g * fma32(erf, _F32(0.5), density)).astype(_F32, copy=False)


# -- GELU, tanh form: SLEEF's tanhf ------------------------------------------------------------

_SLEEF_R_LN2 = _F32(1.442695040888963407359924681001892137426645954152985934135449406931)
_SLEEF_L2U, _SLEEF_L2L = _F32(0.693145751953125), _F32(1.428606765330187045e-06)
_SLEEF_EXPK2F_POLY = [_F32(c) for c in (0.1394256484e-2, 0.8333456703e-2, 0.4166637361e-1)]
_GELU_BETA = _F32(math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5)  # sqrt(2 / pi)
_GELU_KAPPA = _F32(0.044715)
_NAN_ALL_ONES = np.uint32(0xFFFFFFFF).view(_F32)  # the nan SLEEF's tanhf returns for nan
_BLOCK = 32  # elements per step of ATen's vectorised loop (two AVX-512 vectors)


# SLEEF's double-float arithmetic (df.h, the FMA variants AVX-512 builds use): a value is the
# unevaluated sum hi + lo of two float32 arrays.
def _df_add2_f(xh, xl, y):
    s = xh + y
    v = s - xh
    return s, ((xh - (s - v)) + (y - v)) + xl


def _df_add2(xh, xl, yh, yl):
    s = xh + yh
    v = s - xh
    return s, ((xh - (s - v)) + (yh - v)) + (xl + yl)


def _df_add(xh, xl, yh, yl):  # |x| >= |y|
    s = xh + yh
    return s, (((xh - s) + yh) + xl) + yl


def _df_mul_f(xh, xl, y):
    s = xh * y
    return s, fma32(xl, y, fma32(xh, y, -s))


def _df_mul(xh, xl, yh, yl):
    s = xh * yh
    return s, fma32(xh, yl, fma32(xl, yh, fma32(xh, yh, -s)))


def _df_square(xh, xl):
    s = xh * xh
    return s, fma32(xh + xh, xl, fma32(xh, xh, -s))


def _df_reciprocal(dh, dl):
    s = _F32(1) / dh
    return s, s * fma32(-dl, s, fma32(-dh, s, _F32(1)))


def _df_divide(nh, nl, dh, dl):
    t = _F32(1) / dh
    s = nh * t
    u = fma32(t, nh, -s)
    v = fma32(-dl, t, fma32(-dh, t, _F32(1)))
    return s, fma32(s, v, fma32(nl, t, u))


def _ldexp2(d, e):
    """SLEEF's vldexp2: d * 2**(e >> 1) * 2**(e - (e >> 1)), the powers from exponent bits
    (integer arithmetic that wraps, as the vector instructions')."""
    half = e >> 1
    first = ((half.astype(np.uint32) + np.uint32(0x7F)) << np.uint32(23)).view(_F32)
    second = (((e - half).astype(np.uint32) + np.uint32(0x7F)) << np.uint32(23)).view(_F32)
    return (d * first) * second


def _sleef_expk2f(dh):
    """SLEEF's expk2f of (dh, 0), dh >= 0: exp as a double-float."""
    u = dh * _SLEEF_R_LN2
    in_range = (u >= _F32(-(2.0**31))) & (u < _F32(2.0**31))  # vcvtps2dq: else INT32_MIN
    q = np.where(in_range, np.rint(np.where(in_range, u, 0)), -(2.0**31)).astype(np.int32)
    qf = q.astype(_F32)
    sh, sl = _df_add2_f(dh, np.zeros_like(dh), qf * -_SLEEF_L2U)
    sh, sl = _df_add2_f(sh, sl, qf * -_SLEEF_L2L)
    u = np.full_like(sh, _F32(0.1980960224e-3))
    for c in _SLEEF_EXPK2F_POLY:
        u = fma32(u, sh, c)
    th, tl = _df_add2_f(*_df_mul_f(sh, sl, u), _F32(0.166666659414234244790680580464e0))
    th, tl = _df_add2_f(*_df_mul(sh, sl, th, tl), _F32(0.5))
    th, tl = _df_add2(sh, sl, *_df_mul(*_df_square(sh, sl), th, tl))
    one_h = _F32(1) + th
    th, tl = one_h, ((_F32(1) - one_h) + th) + tl
    return _ldexp2(th, q), _ldexp2(tl, q)


def sleef_tanhf(x: np.ndarray) -> np.ndarray:
    """SLEEF's float32 tanh (`xtanhf`, u10) of a float32 array, as PyTorch's AVX-512
    `Vectorized<float>::tanh`: within 1 ulp, not correctly rounded."""
    x = np.asarray(x, _F32)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        dh, dl = _sleef_expk2f(np.abs(x))
        eh, el = _df_reciprocal(dh, dl)
        nh, nl = _df_add(dh, dl, -eh, -el)
        mh, ml = _df_add(dh, dl, eh, el)
        rh, rl = _df_divide(nh, nl, mh, ml)
        y = rh + rl
        y[(np.abs(x) > _F32(8.664339742)) | np.isnan(y)] = 1
        y = np.copysign(y, x)
        y[np.isnan(x)] = _NAN_ALL_ONES
    return y


def _libm_function(name: str):
    """The C library's float function `name` (tanhf, expf), which PyTorch's scalar loop calls:
    for the numpy path's few tail elements. None where there is no C library to load."""
    try:
        function = getattr(ctypes.CDLL(ctypes.util.find_library("m")), name)
    except (OSError, AttributeError, TypeError):
        return None
    function.restype, function.argtypes = ctypes.c_float, [ctypes.c_float]
    return function


_tanhf, _expf = _libm_function("tanhf"), _libm_function("expf")


def _tail_tanh(v: np.ndarray) -> np.ndarray:
    if _tanhf is None:  # no C library: correctly rounded, as glibc's tanhf is but for a few
        return np.tanh(v.astype(np.float64)).astype(_F32)
    return np.array([_tanhf(float(e)) for e in v], _F32)


def _tail_exp(v: np.ndarray) -> np.ndarray:
    if _expf is None:  # no C library: correctly rounded, as glibc's expf is but for a few
        with np.errstate(over="ignore"):
            return np.exp(v.astype(np.float64)).astype(_F32)
    return np.array([_expf(float(e)) for e in v], _F32)


def _thread_share(n: int, grain: int) -> int:
    """The elements each thread takes in PyTorch's `parallel_for(0, n, grain)` (OpenMP): all
    of them at one thread or below the grain, else n split evenly among min(threads, n / grain)
    threads."""
    threads = kernel_threads
    if threads <= 1 or n < grain:
        return max(n, 1)
    parts = min(threads, -(-n // grain))
    return -(-n // parts)


def _gelu_forward_share(n: int) -> int:
    # ATen's GeluKernelImpl: above 16,384 elements a grain of n / threads, else 32,768
    grain = n // max(kernel_threads, 1) if n > 16384 else 32768
    return _thread_share(n, max(grain, 1))


def _tails(n: int, share: int) -> np.ndarray:
    """Where ATen's vectorised loop, given `share` elements per thread, leaves elements to its
    scalar loop: the last n % 32 of each share."""
    tail = np.zeros(n, bool)
    for start in range(0, n, share):
        end = min(start + share, n)
        tail[start + (end - start) // _BLOCK * _BLOCK : end] = True
    return tail


def _tanh_with_tails(inner: np.ndarray, share: int) -> np.ndarray:
    """tanh of a 1-D float32 array as ATen's loop: SLEEF's on whole blocks of 32 of each thread's
    share, the C library's on the rest."""
    t = sleef_tanhf(inner)
    tail = _tails(inner.size, share)
    if tail.any():
        t[tail] = _tail_tanh(inner[tail])
    return t


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    return _GELU_BETA * fma32(_GELU_KAPPA, (x * x) * x, x)


def gelu_tanh32(x: np.ndarray) -> np.ndarray:
    """GELU (tanh form) of a 1-D float32 array as PyTorch's CPU kernel computes it."""
    share = _gelu_forward_share(x.size)
    if _compiled is not None and x.size:
        x = _contiguous(x)
        out = np.empty_like(x)
        _compiled.gelu_tanh(x, out, share)
        return out
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        t = _tanh_with_tails(_gelu_tanh_inner(x), share)
        return (_F32(0.5) * x) * (_F32(1) + t)


def gelu_tanh_backward32(g: np.ndarray, x: np.ndarray) -> np.ndarray:
    """g * GELU'(x) (tanh form) for 1-D float32 arrays, as PyTorch's CPU kernel."""
    share = _thread_share(x.size, 32768)
    if _compiled is not None and x.size and g.shape == x.shape:
        g, x = _contiguous(g), _contiguous(x)
        out = np.empty_like(g)
        _compiled.gelu_tanh_backward(g, x, out, share)
        return out
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        t = _tanh_with_tails(_gelu_tanh_inner(x), share)
        left_slope = _F32(0.5) * (_F32(1) + t)
        tanh_slope = fma32(-t, t, _F32(1))
        inner_slope = _GELU_BETA * fma32(_F32(3) * _GELU_KAPPA, x * x, _F32(1))
        right_slope = ((_F32(0.5) * x) * tanh_slope) * inner_slope
        return g * (left_slope + right_slope)


# -- sigmoid -------------------------------------------------------------------------------------


def sigmoid32(x: np.ndarray) -> np.ndarray:
    """torch.sigmoid of a float32 array (any shape) as PyTorch's CPU kernel (module docstring)."""
    shape = x.shape
    flat = _contiguous(x).reshape(-1)
    share = _thread_share(flat.size, 32768)
    if _compiled is not None and flat.size:
        out = np.empty_like(flat)
        _compiled.sigmoid(flat, out, share)
        return out.reshape(shape)
    one = _F32(1)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        out = one / (expf_u10(-flat) + one)
        tail = _tails(flat.size, share)
        if tail.any():
            out[tail] = one / (one + _tail_exp(-flat[tail]))
        nan = np.isnan(flat)
        if nan.any():  # PyTorch's nan out: the nan in, sign flipped (exp(-x)'s minus), quieted
            bits = flat[nan].view(np.uint32) ^ np.uint32(0x80000000) | np.uint32(0x00400000)
            out[nan] = bits.view(_F32)
    return out.reshape(shape)


def sigmoid_backward32(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(g * (1 - y)) * y for float32 arrays of one shape: PyTorch's sigmoid_backward."""
    if _compiled is not None and g.size and g.shape == y.shape:
        g, y = _contiguous(g), _contiguous(y)
        out = np.empty_like(g)
        _compiled.sigmoid_backward(g.reshape(-1), y.reshape(-1), out.reshape(-1))
        return out
    return ((g * (_F32(1) - y)) * y).astype(_F32, copy=False)
