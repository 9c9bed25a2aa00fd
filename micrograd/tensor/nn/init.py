"""`nn.init`: PyTorch's weight initialisers, drawing the same numbers as PyTorch for the same seed.

Each function fills its tensor in place without recording anything for backward (as under
`torch.no_grad()`, so a Parameter can be filled) and returns it. The draws go through the
Tensor methods `normal_` and `uniform_`, which replay PyTorch's CPU generator
(`micrograd/tensor/random.py`), and the scales are computed with the same Python float
arithmetic as PyTorch's, so `torch.manual_seed(s); nn.init.kaiming_uniform_(w)` gives PyTorch's
weights bit for bit.

`trunc_normal_` is PyTorch's rejection sampler (redraw the values outside [a, b] from the
normal when most of the mass is inside, else uniform proposals accepted by the normal's
density); its acceptance test compares against a float32 log, where numpy's and PyTorch's log can
differ in the last bit, so a proposal lying within an ulp of the boundary could be decided
differently (docs/pytorch-differences.md).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from micrograd.tensor import core as _core
from micrograd.tensor.core import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear layers and sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope**2)) for leaky_relu (slope `param`, 0.01 by
    default), 3/4 for selu."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _checked(tensor: Any, fn: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"nn.init.{fn}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with U(a, b) samples."""
    with _core.no_grad():
        return _checked(tensor, "uniform_").uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with N(mean, std**2) samples."""
    with _core.no_grad():
        return _checked(tensor, "normal_").normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    with _core.no_grad():
        return _checked(tensor, "constant_").fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    with _core.no_grad():
        return _checked(tensor, "ones_").fill_(1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    with _core.no_grad():
        return _checked(tensor, "zeros_").zero_()


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel): in and out times the kernel's
    size."""
    if tensor.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return tensor.size(1) * receptive_field_size, tensor.size(0) * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot's uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_checked(tensor, "xavier_uniform_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std  # the uniform's std is a / sqrt(3)
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot's normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_checked(tensor, "xavier_normal_"))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float | None:
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He's uniform: U(-bound, bound) with bound = gain * sqrt(3 / fan) (`a` is leaky_relu's
    negative slope; nn.Linear uses a = sqrt(5))."""
    std = _kaiming_std(_checked(tensor, "kaiming_uniform_"), a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    """He's normal: N(0, std**2) with std = gain / sqrt(fan)."""
    std = _kaiming_std(_checked(tensor, "kaiming_normal_"), a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0, std, generator)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    """N(mean, std**2) restricted to [a, b], drawn as PyTorch draws it (see the module
    docstring): the same generator calls, so the same values for the same seed."""
    tensor = _checked(tensor, "trunc_normal_")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )

    def norm_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with _core.no_grad():
        if tensor.data.dtype.kind != "f":  # the fills below raise PyTorch's error
            return tensor.normal_(mean, std, generator=generator)
        if norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std) > 0.3:
            _redraw_outside(tensor, mean, std, a, b, generator)
        else:
            _accept_by_density(tensor, mean, std, a, b, generator)
    return tensor


def _like(tensor: Tensor) -> Tensor:
    """A new tensor laid out as `tensor` is (`torch.empty_like`'s preserve_format: a dense
    permuted layout, such as a transposed weight, is kept; anything else is contiguous), so
    that fills of it visit memory in PyTorch's order."""
    data = tensor.data
    order = np.argsort([-s for s in data.strides], kind="stable")
    permuted = tuple(data.shape[i] for i in order)
    expected = [data.itemsize]
    for size in reversed(permuted[1:]):
        expected.insert(0, expected[0] * size)
    dense = [data.strides[i] for i in order] == expected
    if data.flags.c_contiguous or not dense:
        return Tensor(np.empty(data.shape, data.dtype), requires_grad=False)
    array = np.empty(permuted, data.dtype).transpose(np.argsort(order))
    return Tensor(array, requires_grad=False)


def _redraw_outside(tensor: Tensor, mean: float, std: float, a: float, b: float, gen: Any):
    """Mostly inside [a, b]: draw normals, then redraw a whole fresh tensor and take its values
    where the current ones fall outside, until none does."""
    dtype = tensor.data.dtype.type
    lo, hi = float(dtype(a)), float(dtype(b))  # the bounds as the tensor's dtype holds them
    result = tensor.normal_(mean, std, generator=gen).data
    while True:
        outside = (result < lo) | (result > hi)
        if not outside.any():
            break
        fresh = _like(tensor).normal_(mean, std, generator=gen).data
        result = np.where(outside, fresh, result)
    if result is not tensor.data:
        tensor.data[...] = result


def _accept_by_density(tensor: Tensor, mean: float, std: float, a: float, b: float, gen: Any):
    """Little mass inside [a, b]: uniform proposals on [a, b], each kept when log(u) for a
    fresh uniform u is at most the normal's log density relative to its peak on [a, b]."""
    dtype = tensor.data.dtype.type
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def log_density(x: np.ndarray) -> np.ndarray:
        # PyTorch's in-place chain sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak),
        # each step in the tensor's dtype
        z = (x - dtype(mean)) / dtype(std)
        return (z * z) * dtype(-0.5) - dtype(log_peak)

    accept_buf = _like(tensor)
    candidates = _like(tensor)

    def rejected(threshold: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(accept_buf.uniform_(generator=gen).data) > threshold

    tensor.uniform_(a, b, generator=gen)
    pending = rejected(log_density(tensor.data))
    if not pending.any():
        return
    result = tensor.data
    while True:
        proposal = candidates.uniform_(a, b, generator=gen).data
        result = np.where(pending, proposal, result)
        pending = np.where(pending, rejected(log_density(proposal)), pending)
        if not pending.any():
            break
    tensor.data[...] = result
