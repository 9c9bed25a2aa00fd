"""PyTorch's CPU arithmetic for optimizer updates, on numpy arrays in place, to the last bit.

torch's CPU kernels compute `a.add_(b, alpha=s)`, `a.lerp_(b, w)` and `a.addcmul_(b, c, value=s)`
with a fused multiply-add (one rounding for `x*y + z`), where numpy would round twice. For float32
arrays a fused multiply-add is exact in float64 arithmetic: the product of two float32 numbers
fits in a float64 exactly, so `micrograd/tensor/_fma.py` computes the fused result exactly for
float32 and float64 (error-free transformations and rounding to odd). So these kernels match
torch bit for bit (checked against torch on random data in the tests).

One torch kernel is not reproduced exactly: on CPUs with AVX-512, torch's float32 `sqrt` is an
approximation within one unit in the last place of the correctly rounded square root that numpy
computes, so Adam's update can differ from torch's in the last bit; its state (`exp_avg`,
`exp_avg_sq`, `step`) is bit for bit.

Scalars are cast to the array's dtype first, as torch does with a Python number in a float32
operation.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor._fma import fma32, fma64

__all__ = ["add_", "addcdiv_", "addcmul_", "lerp_", "mul_"]


def _fma(x: np.ndarray, y, z: np.ndarray, out: np.ndarray) -> None:
    """out = x*y + z rounded once (float32 and float64; other dtypes round twice)."""
    if out.dtype == np.float32:
        out[...] = fma32(x, y, z)
    elif out.dtype == np.float64:
        out[...] = fma64(x, y, z)
    else:
        np.add(x * y, z, out=out)


def _scalar(value: float, array: np.ndarray):
    return array.dtype.type(value)


def add_(a: np.ndarray, b: np.ndarray, alpha: float = 1.0) -> None:
    """a += alpha * b (torch's `add_` with `alpha`)."""
    if alpha == 1:
        np.add(a, b, out=a, casting="unsafe")
    else:
        _fma(np.asarray(b, dtype=a.dtype), _scalar(alpha, a), a, a)


def mul_(a: np.ndarray, value: float) -> None:
    np.multiply(a, _scalar(value, a), out=a)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start += weight * (end - start), computed from whichever end is nearer (torch's rule,
    exact at weight 0 and 1)."""
    w = _scalar(weight, start)
    diff = end - start
    if abs(w) < 0.5:
        _fma(diff, w, start, start)
    else:
        _fma(diff, w - start.dtype.type(1), end, start)


def addcmul_(a: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float = 1.0) -> None:
    """a += value * t1 * t2."""
    _fma(_scalar(value, a) * t1, t2, a, a)


def addcdiv_(a: np.ndarray, t1: np.ndarray, t2: np.ndarray, value: float = 1.0) -> None:
    """a += value * t1 / t2 (multiply, divide, then add: no fused step in torch here)."""
    step = _scalar(value, a) * t1
    step /= t2
    a += step
