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
from micrograd.tensor.functions import Function
from micrograd.tensor.nn import _flash32


class NativeLayerNorm(Function):
    """y = (x - mean) * rstd * weight + bias over the last `n` axes of x (the normalised
    shape), rstd = 1 / sqrt(var + eps) with the biased variance; inputs (x, weight, bias) with
    weight and bias optional.

    The mean and variance are computed in float64 (two passes) and rounded to the input's dtype;
    from there on the arithmetic is PyTorch's CPU kernel's, in the input's dtype:
    rstd = 1 / sqrt(var + eps), then y = fma((x - mean) * rstd, weight, bias) (one rounding for
    the multiply-add, as its compiled vector loop). PyTorch accumulates its statistics in
    float32 (Welford updates in a cascade), so a float32 row whose rounded mean and rstd equal
    PyTorch's -- most rows -- is equal bit for bit, and the others differ by a few units of
    float32's precision relative to (|x| + the row's largest |x|) * rstd * |weight| + |bias|
    (docs/pytorch-differences.md).

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
        dt = x.dtype.type
        wide = rows.astype(np.float64)
        mean = wide.sum(axis=1, keepdims=True) / max(size, 1)
        wide -= mean
        var = np.einsum("ij,ij->i", wide, wide)[:, None] / max(size, 1)
        mean = mean.astype(x.dtype)
        rstd = dt(1) / np.sqrt(var.astype(x.dtype) + dt(eps))
        x_hat = rows - mean
        x_hat *= rstd
        self.x_hat, self.rstd = x_hat, rstd
        self.weight = None if weight is None else weight.reshape(-1)
        if weight is None:
            out = x_hat if bias is None else x_hat + bias.reshape(-1)
        elif bias is None:
            out = x_hat * self.weight
        elif x.dtype == np.float32:
            out = fma32(x_hat, self.weight, bias.reshape(-1))
        else:
            out = x_hat * self.weight + bias.reshape(-1)
        return out.reshape(x.shape)

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
    """The erf of PyTorch's vectorised float32 kernels (ATen's Vectorized<float>::erf), its
    polynomial evaluated in float64 and rounded once: within an ulp or two of the kernel's own
    float32 evaluation, at a fraction of the cost of replaying its fused multiply-adds."""
    a = np.abs(v).astype(np.float64)
    t = 1.0 / (a * float(_ERF_P) + 1.0)
    r = np.full_like(t, float(_ERF_POLY[0]))
    for c in _ERF_POLY[1:]:
        r *= t
        r += float(c)
    a *= a
    np.negative(a, out=a)
    np.exp(a, out=a)
    a *= t
    a *= r
    np.subtract(1.0, a, out=a)
    return np.copysign(a, v).astype(np.float32)


def _erf(v: np.ndarray) -> np.ndarray:
    if v.dtype == np.float32:
        return _erf32(v)
    return _libm_erf(v).astype(v.dtype)  # the C library's erf, what PyTorch's scalar path calls


def _exp(v: np.ndarray) -> np.ndarray:
    return np.exp(v.astype(np.float64)).astype(v.dtype)  # float32: correctly rounded


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
    polynomial of PyTorch's vectorised kernels (`_erf32`), float64 `erf` the C library's; `exp`
    and `tanh` are correctly rounded. Backward, beside each form:
        none: Phi(x) + x phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
        tanh: (1 + T) / 2 + x/2 (1 - T^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),  T the tanh above
    """

    __slots__ = ("approximate", "erf", "x")
    op = "gelu"

    def forward(self, x, approximate):
        shape = x.shape
        x = x.reshape(-1)  # 1-D, so that 0-d inputs stay arrays through the in-place steps
        self.x = x
        self.approximate = approximate
        dt = x.dtype.type
        with np.errstate(over="ignore", invalid="ignore"):
            if approximate == "tanh":
                return (dt(0.5) * x * (dt(1) + _tanh(_gelu_tanh_inner(x)))).reshape(shape)
            self.erf = erf = _erf(x * dt(_SQRT1_2))  # kept for the backward pass
            out = x * dt(0.5) * (dt(1) + erf)
            if x.dtype == np.float32:  # PyTorch's float32 kernel (oneDNN's) gives nan for +inf
                out[x == np.inf] = np.nan
            return out.reshape(shape)

    def backward(self, g, prev):
        x = self.x
        dt = x.dtype.type
        flat = g.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if self.approximate == "tanh":
                t = _tanh(_gelu_tanh_inner(x))
                left_slope = dt(0.5) * (dt(1) + t)
                inner_slope = dt(_TANH_BETA) * (dt(1) + dt(3) * dt(_TANH_KAPPA) * (x * x))
                right_slope = dt(0.5) * x * (dt(1) - t * t) * inner_slope
                return ((flat * (left_slope + right_slope)).reshape(g.shape),)
            cdf = dt(0.5) * (dt(1) + self.erf)
            minus_half_square = x * x * dt(-0.5)
            pdf = dt(_PDF_SCALE) * _exp(minus_half_square)
            return ((flat * (cdf + x * pdf)).reshape(g.shape),)


# -- attention ----------------------------------------------------------------------------------


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum the broadcast leading / length-1 axes of a gradient back to an operand's shape."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


class ScaledDotProductAttention(Function):
    """softmax(q k^T * scale + bias) v over the last two axes, with PyTorch's math kernel's
    order of operations: q and k each scaled by sqrt(scale), one batched product, the bias added
    (causal and boolean masks as 0 / -inf), a softmax whose fully masked rows are 0 (PyTorch's
    `_safe_softmax`), optionally dropout's `noise` (0 or 1 / (1 - p)), then the product with v.

    Inputs (q, k, v) and a float mask if it needs a gradient; the leading (batch, head) axes
    broadcast as in matmul, and `groups` > 1 repeats each key/value head for that many query
    heads (grouped-query attention). Backward, with P the softmax, D = P * noise:
        dv = D^T g,  dD = g v^T,  dP = dD * noise,  dS = P * (dP - rowsum(dP * P)),
        dq = dS k * scale,  dk = dS^T q * scale,  d mask = dS
    """

    __slots__ = ("groups", "k", "noise", "p", "q", "scale", "shapes", "used", "v")
    op = "scaled_dot_product_attention"

    def forward(self, q, k, v, bias, scale, noise_fn, groups):
        self.shapes = (q.shape, k.shape, v.shape, None if bias is None else bias.shape)
        self.groups = groups
        if groups > 1:  # repeat_interleave along the head axis
            k = np.repeat(k, groups, axis=-3)
            v = np.repeat(v, groups, axis=-3)
        dt = q.dtype.type
        root = dt(math.sqrt(abs(scale)))
        q_scaled = q * (root if scale >= 0 else -root)
        scores = np.matmul(q_scaled, np.swapaxes(k * root, -1, -2))
        if bias is not None:
            scores = scores + bias
        p = scores
        if scores.size:
            row_max = scores.max(axis=-1, keepdims=True)
            masked_rows = row_max == -np.inf  # every key masked: 0, not 0/0
            with np.errstate(invalid="ignore", over="ignore"):
                e = np.exp(scores - np.where(masked_rows, dt(0), row_max))
                p = e / e.sum(axis=-1, keepdims=True)
            if masked_rows.any():
                p = np.where(masked_rows, dt(0), p)
        noise = noise_fn(p.shape) if noise_fn is not None else None
        used = p if noise is None else p * noise
        self.q, self.k, self.v = q, k, v
        self.p, self.noise, self.used, self.scale = p, noise, used, scale
        return np.matmul(used, v)

    def backward(self, g, prev):
        q, k, v, p, noise, scale = self.q, self.k, self.v, self.p, self.noise, self.scale
        dt = q.dtype.type
        q_shape, k_shape, v_shape, bias_shape = self.shapes
        dv = np.matmul(np.swapaxes(self.used, -1, -2), g) if prev[2].requires_grad else None
        d_used = np.matmul(g, np.swapaxes(v, -1, -2))
        dp = d_used if noise is None else d_used * noise
        ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
        dq = np.matmul(ds, k) * dt(scale) if prev[0].requires_grad else None
        dk = np.matmul(np.swapaxes(ds, -1, -2), q) * dt(scale) if prev[1].requires_grad else None
        if self.groups > 1:  # the repeated heads' gradients add up
            groups = self.groups
            if dk is not None:
                dk = dk.reshape(*dk.shape[:-3], -1, groups, *dk.shape[-2:]).sum(axis=-3)
            if dv is not None:
                dv = dv.reshape(*dv.shape[:-3], -1, groups, *dv.shape[-2:]).sum(axis=-3)
        grads = [
            None if dq is None else _sum_to(dq, q_shape),
            None if dk is None else _sum_to(dk, k_shape),
            None if dv is None else _sum_to(dv, v_shape),
        ]
        if len(prev) == 4:
            grads.append(_sum_to(ds, bias_shape) if prev[3].requires_grad else None)
        return tuple(grads)


class FlashAttention(Function):
    """Attention as PyTorch's CPU flash-attention kernel computes it for float32 (B, H, L, E)
    inputs without dropout: query blocks against key blocks with a running softmax, its own
    exponential and PyTorch's BLAS order of additions, replayed in `_flash32` bit for bit.
    Inputs (q, k, v); `mask` is a float bias broadcastable to (B, H, L, S) (a boolean mask
    becomes 0 / -inf) without a gradient, `causal` hides the keys after each query.

    Backward (the kernel's own): with lse the saved log-sum-exp and D = rowsum(g * out),
        P = exp(scale q k^T + mask - lse),  dv = P^T g,  dS = P * (g v^T - D),
        dq = scale dS k,  dk = scale dS^T q
    accumulated query block after query block."""

    __slots__ = ("causal", "k", "lse", "mask", "out", "q", "scale", "v")
    op = "scaled_dot_product_attention"

    def forward(self, q, k, v, mask, scale, causal):
        out, lse = _flash32.forward(q, k, v, scale, causal, mask)
        self.q, self.k, self.v, self.mask = q, k, v, mask
        self.out, self.lse, self.scale, self.causal = out, lse, scale, causal
        return out

    def backward(self, g, prev):
        g = np.asarray(g, np.float32)
        dq, dk, dv = _flash32.backward(
            g, self.q, self.k, self.v, self.out, self.lse, self.scale, self.causal, self.mask
        )
        return tuple(d if t.requires_grad else None for d, t in zip((dq, dk, dv), prev))
