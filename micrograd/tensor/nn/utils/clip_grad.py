"""Gradient clipping as PyTorch computes it: `clip_grad_norm_` and `clip_grad_value_`.

`clip_grad_norm_(parameters, max_norm)` follows PyTorch's steps and roundings: each gradient's
norm in its own dtype, those norms stacked (float32 ones first, then float64 ones, as PyTorch
groups them by dtype; a mixed stack is float64) and their norm taken, then every gradient is
multiplied in place by `clamp(max_norm * (1 / (total + 1e-6)), max=1)` (PyTorch's `number /
tensor` is a reciprocal then a product). The result is the total norm, a 0-d tensor.

The 2-norm of an array is PyTorch's CPU reduction, replayed: squares summed in 8 float32 (or 4
float64) lanes -- each lane a plain running sum, which numpy's sum over the rows of an (n/8, 8)
array computes in the same order -- then the lanes added left to right, then the last n % 8
squares added one at a time (a block of 4 squares rounded first, the last 0-3 with a fused
multiply-add, as the compiled loop does), then the square root. This order was found by
comparing with torch 2.13 on an AVX2/AVX-512 CPU; a differently compiled PyTorch (another CPU
kernel) can differ in the last bit (docs/pytorch-differences.md). Other orders (1, 3, ...) are summed in float64 and rounded once;
inf, -inf and 0 are exact.
"""

from __future__ import annotations

import math
import types
import warnings
from typing import Any

import numpy as np

from micrograd.tensor._fma import fma32, fma64
from micrograd.tensor.core import Tensor
from micrograd.tensor.errors import TorchRuntimeError

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]

# PyTorch's AVX2 norm kernel: lanes per vector register for each dtype
_LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}
_FMA = {np.dtype(np.float32): fma32, np.dtype(np.float64): fma64}


def _two_norm(x: np.ndarray) -> np.floating:
    """sqrt(sum(x**2)) in x's dtype, summed in PyTorch's order (module docstring)."""
    lanes = _LANES[x.dtype]
    whole = x.size - x.size % lanes
    body = x[:whole]
    if whole:
        lane_sums = (body * body).reshape(-1, lanes).sum(axis=0)
    else:
        lane_sums = np.zeros(lanes, x.dtype)
    total = lane_sums[:1].copy()
    for j in range(1, lanes):
        total += lane_sums[j : j + 1]
    # The tail loop as the compiler left it: squares of blocks of 4 computed together (each
    # rounded) and added in order, then the last 0-3 elements fused (multiply-add).
    tail = x[whole:]
    blocks = tail.size - tail.size % 4
    fma = _FMA[x.dtype]
    with np.errstate(all="ignore"):  # inf and nan gradients give PyTorch's inf and nan
        for square in (tail[:blocks] * tail[:blocks]).tolist():
            total += x.dtype.type(square)
        for value in tail[blocks:]:
            v = np.full(1, value, x.dtype)
            total = fma(v, v, total)
    return np.sqrt(total)[0]


def _vector_norm(array: np.ndarray, norm_type: float) -> np.floating:
    """`torch.linalg.vector_norm(array, norm_type)` of a whole float array."""
    x = np.ascontiguousarray(array).ravel()
    dtype = x.dtype.type
    if norm_type == 2.0:
        return _two_norm(x)
    if x.size == 0:
        return dtype(0)
    if norm_type == math.inf:
        return dtype(np.max(np.abs(x)))
    if norm_type == -math.inf:
        return dtype(np.min(np.abs(x)))
    if norm_type == 0:
        return dtype(np.count_nonzero(x))
    wide = np.abs(x.astype(np.float64))
    if norm_type == 1.0:
        return dtype(wide.sum())
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return dtype(np.sum(wide**norm_type) ** (1.0 / norm_type))


def _in_place(grad: Tensor, ufunc: Any, *args: Any) -> None:
    """`grad.data = ufunc(grad.data, *args)`, into the same array when it can be written (a
    gradient backward left as a read-only broadcast view gets a new array)."""
    data = grad.data
    if isinstance(data, np.ndarray) and data.flags.writeable:
        ufunc(data, *args, out=data)
    else:
        grad.data = np.asarray(ufunc(data, *args), dtype=data.dtype)


def _as_list(tensors: Any) -> list:
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def _checked_norm_type(norm_type: Any) -> float:
    try:
        return float(norm_type)
    except ValueError:
        raise ValueError(f"norm_type must be a number (or 'inf'), got {norm_type!r}") from None


def _grouped_by_dtype(tensors: list) -> list:
    """Float32 tensors first, then float64 ones, each in the given order: PyTorch's grouping
    (by dtype) decides the order the norms are stacked in."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TorchRuntimeError(
                f"get_total_norm: tensor {i} is {type(t).__name__}, not a Tensor (pass the "
                f"gradients that exist: [p.grad for p in params if p.grad is not None])"
            )
        if t.data.dtype not in _LANES:
            raise TypeError(
                f"clip_grad_norm_: gradients must be float32 or float64, got {t.data.dtype}"
            )
    return [t for t in tensors if t.data.dtype == np.float32] + [
        t for t in tensors if t.data.dtype == np.float64
    ]


def get_total_norm(
    tensors: Any,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm of the norms of `tensors` (a 0-d tensor): the norm of them all as one vector."""
    tensors = _as_list(tensors)
    norm_type = _checked_norm_type(norm_type)
    if not tensors:
        return Tensor(np.array(0.0, np.float32), requires_grad=False)
    norms = [_vector_norm(t.data, norm_type) for t in _grouped_by_dtype(tensors)]
    stacked = np.array(norms, np.result_type(*norms))
    total = np.asarray(_vector_norm(stacked, norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise TorchRuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite, so it cannot be clipped. To disable this error and scale the "
            f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor(total, requires_grad=False)


def clip_grads_with_norm_(
    parameters: Any, max_norm: float, total_norm: Tensor, foreach: bool | None = None
) -> None:
    """Scale the gradients of `parameters` in place by max_norm / (total_norm + 1e-6), when
    that is below 1."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    total = np.asarray(total_norm.data if isinstance(total_norm, Tensor) else total_norm)
    dtype = total.dtype.type
    # PyTorch: max_norm / (total + 1e-6) is (total + 1e-6).reciprocal() * max_norm, each step
    # rounded to the total's dtype
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        coef = np.minimum((dtype(1) / (total + dtype(1e-6))) * dtype(max_norm), dtype(1.0))
        if coef == 1:
            return  # x * 1.0 is x for every float (PyTorch multiplies anyway)
        for g in grads:
            _in_place(g, np.multiply, coef.astype(g.data.dtype))


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients of `parameters` (a tensor or an iterable of them) so that their
    total norm is at most `max_norm`; return the total norm before clipping (a 0-d tensor).
    Gradients that are None are skipped. See the module docstring for how it is computed."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_generator and not parameters:
            warnings.warn(
                "`parameters` is an empty generator, no gradient clipping will occur.",
                stacklevel=2,
            )
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The deprecated name of `clip_grad_norm_` (with PyTorch's FutureWarning)."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of `parameters` into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            _in_place(p.grad, np.clip, -clip_value, clip_value)
