"""Normalisation layers beside `BatchNorm1d` (`modules.py`): `LayerNorm`, the transformer's.

As in PyTorch's `torch/nn/modules/normalization.py`: the layer keeps `normalized_shape` as a
tuple, a `weight` of ones and a `bias` of zeros of that shape (or neither), and calls
`functional.layer_norm`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from micrograd.tensor.core import Tensor
from micrograd.tensor.errors import TorchRuntimeError
from micrograd.tensor.nn import functional as F
from micrograd.tensor.nn.modules import Module, _check_cpu, _float_dtype, _parameter

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """Layer normalisation over the last `len(normalized_shape)` axes, with a learned
    elementwise `weight` and `bias` (`elementwise_affine=True`; `bias=False` keeps the weight
    only). An int `normalized_shape` means the last axis."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_cpu(device, "LayerNorm")
        if isinstance(normalized_shape, (int, np.integer)) and not isinstance(
            normalized_shape, bool
        ):
            normalized_shape = (normalized_shape,)
        try:
            shape = tuple(normalized_shape)
        except TypeError:
            raise TypeError(f"'{type(normalized_shape).__name__}' object is not iterable") from None
        for d in shape:
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
                raise TypeError(
                    f"LayerNorm: normalized_shape must hold ints, got {d!r} in {shape!r}"
                )
            if d < 0:
                raise TorchRuntimeError(
                    f"Trying to create tensor with negative dimension {d}: {list(shape)}"
                )
        self.normalized_shape = tuple(int(d) for d in shape)
        self.eps = eps  # kept as given: the repr prints eps=1 for an int, as PyTorch's
        self.elementwise_affine = bool(elementwise_affine)
        dt = _float_dtype(dtype, "LayerNorm")
        if self.elementwise_affine:
            self.weight = _parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = _parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )
