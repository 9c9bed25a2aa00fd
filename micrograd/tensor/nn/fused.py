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

from micrograd.tensor._math32 import (
    gelu_erf32,
    gelu_erf_backward32,
    gelu_tanh32,
    gelu_tanh_backward32,
)
from micrograd.tensor.functions import Function
from micrograd.tensor.nn import _flash32, _layernorm


class NativeLayerNorm(Function):
    """y = (x - mean) * rstd * weight + bias over the last `n` axes of x (the normalised
    shape), rstd = 1 / sqrt(var + eps) with the biased variance; inputs (x, weight, bias) with
    weight and bias optional.

    Forward and backward are PyTorch's CPU kernels replayed operation for operation
    (`_layernorm.py`: its Welford statistics, its fused multiply-adds, its order of sums, its
    split of the rows among threads for the weight and bias gradients), so values and gradients
    are PyTorch's to the last bit, in float32 and float64. The forward keeps the rows, their
    mean and rstd for the backward:
        d x      = rstd * g * weight + b * x + c  (b and c per row, from sums of g * weight
                   and g * weight * x)
        d weight = sum over rows of g * (x - mean) * rstd
        d bias   = sum over rows of g
    """

    __slots__ = ("mean", "rows", "rstd", "weight")
    op = "layer_norm"

    def forward(self, x, n, eps, weight=None, bias=None):
        size = math.prod(x.shape[x.ndim - n :])
        rows = np.ascontiguousarray(x).reshape(math.prod(x.shape[: x.ndim - n]), size)
        self.weight = None if weight is None else np.ascontiguousarray(weight).reshape(-1)
        bias = None if bias is None else np.ascontiguousarray(bias).reshape(-1)
        out, self.mean, self.rstd = _layernorm.forward(rows, eps, self.weight, bias)
        self.rows = rows
        return out.reshape(x.shape)

    def backward(self, g, prev):
        # prev is (x,), then weight if given, then bias if given
        rows, weight = self.rows, self.weight
        has_bias = len(prev) > (1 if weight is None else 2)
        need = (
            prev[0].requires_grad,
            weight is not None and prev[1].requires_grad,
            has_bias and prev[-1].requires_grad,
        )
        g_rows = np.ascontiguousarray(g, rows.dtype).reshape(rows.shape)
        dx, dw, db = _layernorm.backward(g_rows, rows, self.mean, self.rstd, weight, need)
        grads = [None if dx is None else dx.reshape(g.shape)]
        if weight is not None:
            grads.append(None if dw is None else dw.reshape(prev[1].shape))
        if has_bias:
            grads.append(None if db is None else db.reshape(prev[-1].shape))
        return tuple(grads)


# -- GELU ---------------------------------------------------------------------------------------

_SQRT1_2 = math.sqrt(0.5)
_PDF_SCALE = 2 / math.sqrt(math.pi) * _SQRT1_2 * 0.5  # 1 / sqrt(2 pi)
_TANH_BETA = math.sqrt(2) * (2 / math.sqrt(math.pi)) * 0.5  # sqrt(2 / pi)
_TANH_KAPPA = 0.044715
_libm_erf = np.frompyfunc(math.erf, 1, 1)


def _erf(v: np.ndarray) -> np.ndarray:
    """erf of a float64 array: the C library's, as PyTorch's scalar path."""
    return _libm_erf(v).astype(v.dtype)


# float64 GELU's pieces (float32 GELU is _math32.py's)


def _exp(v: np.ndarray) -> np.ndarray:
    return np.exp(v)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    """sqrt(2/pi) (x + 0.044715 x^3) in x's dtype."""
    dt = x.dtype.type
    return dt(_TANH_BETA) * (x + dt(_TANH_KAPPA) * (x * x * x))


def _tanh(v: np.ndarray) -> np.ndarray:
    return np.tanh(v)


class Gelu(Function):
    """GELU, x * Phi(x) with Phi the standard normal CDF: `approximate='none'` is
    x/2 (1 + erf(x / sqrt 2)), `'tanh'` is x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    Computed in the input's dtype as PyTorch's CPU kernels write it. float32, forward and
    backward, is PyTorch's bit for bit (`_math32.py`): 'none' is oneDNN's kernel (a piecewise
    polynomial forward, Abramowitz and Stegun's erf with oneDNN's exp backward), 'tanh' ATen's
    with SLEEF's tanhf. float64 `erf` is the C library's; `exp` and `tanh` are correctly
    rounded. Backward, beside each form:
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
            if x.dtype == np.float32:
                gelu = gelu_tanh32 if approximate == "tanh" else gelu_erf32
                return gelu(x).reshape(shape)
            if approximate == "tanh":
                return (dt(0.5) * x * (dt(1) + _tanh(_gelu_tanh_inner(x)))).reshape(shape)
            self.erf = erf = _erf(x * dt(_SQRT1_2))  # kept for the backward pass
            return (x * dt(0.5) * (dt(1) + erf)).reshape(shape)

    def backward(self, g, prev):
        x = self.x
        dt = x.dtype.type
        flat = g.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if x.dtype == np.float32 and flat.dtype == np.float32:
                slope = gelu_tanh_backward32 if self.approximate == "tanh" else gelu_erf_backward32
                return (slope(flat, x).reshape(g.shape),)
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
