"""`torch.backends`: the switches scripts set for GPU libraries (`cuda.matmul.allow_tf32`,
`cudnn.allow_tf32`, `cudnn.benchmark`, ...) and `mps.is_available()`.

This engine uses none of those libraries (it computes with numpy on the CPU), so the flags are
plain settable attributes with torch's defaults and change nothing; `cudnn.is_available()` and
`mps.is_available()` are False.
"""

from micrograd.tensor.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
