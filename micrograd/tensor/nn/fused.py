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
        wide = rows.astype(np.float64)
        mean = wide.sum(axis=1, keepdims=True) / max(size, 1)
        centred = wide - mean
        var = np.einsum("ij,ij->i", centred, centred)[:, None] / max(size, 1)
        rstd = 1.0 / np.sqrt(var + eps)
        x_hat = centred * rstd
        out = x_hat
        if weight is not None:
            out = out * weight.reshape(-1)
        if bias is not None:
            out = out + bias.reshape(-1)
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
