"""`Dropout`, the layer: `functional.dropout` in training mode, the identity in eval mode.

Its random mask is drawn as PyTorch's CPU kernel draws it (`_bernoulli.py`, re-exported here:
`bernoulli_mask`, `torch_kernel`), so `torch.manual_seed(s)` followed by the same dropout calls
drops the same elements as PyTorch does.
"""

from __future__ import annotations

from micrograd.tensor.core import Tensor
from micrograd.tensor.nn import functional as _functional
from micrograd.tensor.nn._bernoulli import bernoulli_mask, torch_kernel
from micrograd.tensor.nn.modules import Module

__all__ = ["Dropout", "bernoulli_mask", "torch_kernel"]


class Dropout(Module):
    """During training, zero each element with probability `p` (a fresh mask each call, from
    the default generator) and scale the others by 1 / (1 - p); in eval mode, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return _functional.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
