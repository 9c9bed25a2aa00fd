"""PyTorch's CPU arithmetic for optimizer updates, on numpy arrays in place, to the last bit.

torch's CPU kernels compute `a.add_(b, alpha=s)`, `a.lerp_(b, w)` and `a.addcmul_(b, c, value=s)`
with a fused multiply-add (one rounding for `x*y + z`), where numpy would round twice. For float32
arrays a fused multiply-add is exact in float64 arithmetic: the product of two float32 numbers
fits in a float64 exactly, so `micrograd/tensor/_fma.py` computes the fused result exactly for
float32 and float64 (error-free transformations and rounding to odd). So these kernels match
torch bit for bit (checked against torch on random data in the tests).

One torch kernel is not reproduced exactly: torch's float32 `sqrt` on the CPU is Intel MKL's
vector square root, within one unit in the last place of the correctly rounded square root that
numpy computes but not always equal to it (about one element in five, on every CPU path), so
Adam's update can differ from torch's in the last bit; its state (`exp_avg`, `exp_avg_sq`,
`step`) is bit for bit from the same inputs. And one sign of zero: at lerp weight 1 (Adam with
beta1 = 0), torch's vector loop and its scalar loop (the last elements of each tensor) give
zeros of opposite signs for a zero gradient; these kernels give the vector loop's.

Scalars are cast to the array's dtype first, as torch does with a Python number in a float32
operation.

`compiled` is the C twin of the whole Adam / SGD update (`_coptim.c`: the same operations in
one pass, the same bits), or None when it is not built or MICROGRAD_PURE=1; the optimizers use it
when their arrays suit it and these kernels otherwise.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._fma import fma32, fma64

__all__ = ["add_", "addcdiv_", "addcmul_", "compiled", "lerp_", "mul_", "suits_compiled"]


compiled = _native.load("optim._coptim")  # the one-pass updates, or None


def suits_compiled(array, like: np.ndarray | None = None) -> bool:
    """Whether the compiled update can work on `array` in place: a writable contiguous aligned
    float32 or float64 numpy array (of `like`'s dtype and shape when given)."""
    if not isinstance(array, np.ndarray) or array.dtype not in (np.float32, np.float64):
        return False
    if not (array.flags.c_contiguous and array.flags.writeable and array.flags.aligned):
        return False
    return like is None or (array.dtype == like.dtype and array.shape == like.shape)


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
