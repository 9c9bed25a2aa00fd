"""Fused graph nodes of the transformer layers: layer normalisation, GELU and attention.

Each is one `Function` (forward and backward side by side, as in `micrograd/tensor/functions.py`)
instead of a chain of generic operations: a transformer block calls them a few times per layer and
step, and on the small models of the course the Python work per node, not numpy, is the cost. The
backward passes are closed-form numpy expressions over whole arrays.

`micrograd/tensor/nn/functional.py` checks the arguments (with PyTorch's errors) and builds the
nodes; the classes' names give PyTorch's names of the backward nodes (`grad_fn=<...Backward0>`).
"""

from __future__ import annotations

import math

import numpy as np

from micrograd.tensor._fma import fma32
from micrograd.tensor._sleef import _sleef_expf
from micrograd.tensor.functions import Function


class NativeLayerNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last `n` axes of x (the
    normalised shape), inputs (x, weight, bias) with weight and bias optional.

    Values: the statistics and the normalisation are computed in float64 and rounded once to
    the input's dtype, so a float32 result is the correctly rounded value of the float64
    computation. PyTorch's CPU kernel accumulates its mean and variance in float32 (a cascade of
    Welford updates), so float32 results differ from PyTorch's by a few units of float32's
    precision relative to |weight * x_hat| + |bias| (docs/pytorch-differences.md).

    Backward (x_hat the normalised input, g the upstream gradient, N the normalised size):
        d bias   = sum over rows of g
        d weight = sum over rows of g * x_hat
        d x      = rstd * (gw - mean(gw) - x_hat * mean(gw * x_hat)),  gw = g * weight
    computed in the input's dtype from the saved x_hat and rstd.
    """

    __slots__ = ("rstd", "weight", "x_hat")
    op = "layer_norm"

    def forward(self, x, n, eps, weight=None, bias=None):
        size = math.prod(x.shape[x.ndim - n :])
        rows = x.reshape(math.prod(x.shape[: x.ndim - n]), size)
        # in place where the result is a fresh array: the same operations, fewer float64
        # temporaries (a transformer normalises twice a layer)
        centred = rows.astype(np.float64)
        mean = np.add.reduce(centred, axis=1, keepdims=True) / max(size, 1)
        centred -= mean
        var = np.einsum("ij,ij->i", centred, centred)[:, None] / max(size, 1)
        rstd = 1.0 / np.sqrt(var + eps)
        x_hat = centred
        x_hat *= rstd
        out = x_hat
        if weight is not None:
            out = out * weight.reshape(-1)
        if bias is not None:
            if out is x_hat:
                out = out + bias.reshape(-1)
            else:
                out += bias.reshape(-1)
        self.x_hat = x_hat.astype(x.dtype)
        self.rstd = rstd.astype(x.dtype)
        self.weight = None if weight is None else weight.reshape(-1)
        return out.astype(x.dtype).reshape(x.shape)

    def backward(self, g, prev):
        # prev is (x,), then weight if given, then bias if given
        x_hat, rstd, weight = self.x_hat, self.rstd, self.weight
        g_rows = g.reshape(x_hat.shape)
        grads = []
        if prev[0].requires_grad:
            g_hat = g_rows if weight is None else g_rows * weight
            n = x_hat.shape[1]
            mean_g = g_hat.sum(axis=1, keepdims=True) / n
            mean_gx = np.einsum("ij,ij->i", g_hat, x_hat)[:, None] / n
            grads.append((rstd * (g_hat - mean_g - x_hat * mean_gx)).reshape(g.shape))
        else:
            grads.append(None)
        if weight is not None:
            wants = prev[1].requires_grad
            grads.append(
                np.einsum("ij,ij->j", g_rows, x_hat).reshape(prev[1].shape) if wants else None
            )
        if len(prev) > len(grads):  # the bias
            wants = prev[-1].requires_grad
            grads.append(g_rows.sum(axis=0).reshape(prev[-1].shape) if wants else None)
        return tuple(grads)


# -- GELU ---------------------------------------------------------------------------------------

_F32 = np.float32
# The error function as PyTorch's vectorised float32 kernel computes it (Abramowitz and Stegun
# 7.1.26, absolute error below 1.5e-7): erf(x) = sign(x) (1 - t P(t) exp(-x^2)), t = 1/(1 + p|x|)
_ERF_P = _F32(0.3275911)
_ERF_POLY = [_F32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]
_SQRT1_2 = math.sqrt(0.5)
_PDF_SCALE = 2 / math.sqrt(math.pi) * _SQRT1_2 * 0.5  # 1 / sqrt(2 pi)
_TANH_BETA = math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi)
_TANH_KAPPA = 0.044715
_libm_erf = np.frompyfunc(math.erf, 1, 1)


def _erf32(v: np.ndarray) -> np.ndarray:
    """PyTorch's float32 erf of its vectorised kernels (ATen's Vectorized<float>::erf), with its
    fused multiply-adds and SLEEF's expf, operation by operation."""
    a = np.abs(v)
    t = _F32(1) / fma32(_ERF_P, a, _F32(1))
    r = np.full_like(t, _ERF_POLY[0])
    for c in _ERF_POLY[1:]:
        r = fma32(r, t, c)
    with np.errstate(under="ignore"):
        minus_exp = -_sleef_expf(-(v * v))
    return np.copysign(fma32(minus_exp * t, r, _F32(1)), v)


def _erf(v: np.ndarray) -> np.ndarray:
    if v.dtype == np.float32:
        return _erf32(v)
    return _libm_erf(v).astype(v.dtype)  # the C library's erf, what PyTorch's scalar path calls


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    """sqrt(2/pi) (x + 0.044715 x^3) in x's dtype (GCC fuses the multiply-add)."""
    dt = x.dtype.type
    cube = x * x * x
    inner = fma32(dt(_TANH_KAPPA), cube, x) if x.dtype == np.float32 else x + dt(_TANH_KAPPA) * cube
    return dt(_TANH_BETA) * inner


def _tanh(v: np.ndarray) -> np.ndarray:
    return np.tanh(v.astype(np.float64)).astype(v.dtype)  # float32: correctly rounded


class Gelu(Function):
    """GELU, x * Phi(x) with Phi the standard normal CDF: `approximate='none'` is
    x/2 (1 + erf(x / sqrt 2)), `'tanh'` is x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Computed in the input's dtype as PyTorch's CPU kernels write it. float32 `erf` is the
    polynomial of PyTorch's vectorised kernels (`_erf32`), float64 `erf` the C library's, `tanh`
    correctly rounded. Backward, beside each form:
        none: Phi(x) + x phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        tanh: (1 + T) / 2 + x/2 (1 - T^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  T the tanh above
    """

    __slots__ = ("approximate", "x")
    op = "gelu"

    def forward(self, x, approximate):
        self.x = x
        self.approximate = approximate
        dt = x.dtype.type
        with np.errstate(over="ignore", invalid="ignore"):
            if approximate == "tanh":
                return dt(0.5) * x * (dt(1) + _tanh(_gelu_tanh_inner(x)))
            out = x * dt(0.5) * (dt(1) + _erf(x * dt(_SQRT1_2)))
            if x.dtype == np.float32:  # PyTorch's float32 kernel (oneDNN's) gives nan for +inf
                out[x == np.inf] = np.nan
            return out

    def backward(self, g, prev):
        x = self.x
        dt = x.dtype.type
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if self.approximate == "tanh":
                t = _tanh(_gelu_tanh_inner(x))
                left_slope = dt(0.5) * (dt(1) + t)
                inner_slope = dt(_TANH_BETA) * (dt(1) + dt(3) * dt(_TANH_KAPPA) * (x * x))
                right_slope = dt(0.5) * x * (dt(1) - t * t) * inner_slope
                return (g * (left_slope + right_slope),)
            cdf = dt(0.5) * (dt(1) + _erf(x * dt(_SQRT1_2)))
            minus_half_square = x * x * dt(-0.5)
            if x.dtype == np.float32:
                pdf = dt(_PDF_SCALE) * _sleef_expf(minus_half_square)
            else:
                pdf = dt(_PDF_SCALE) * np.exp(minus_half_square)
            return (g * (cdf + x * pdf),)
