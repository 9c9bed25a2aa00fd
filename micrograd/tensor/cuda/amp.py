"""`torch.cuda.amp`: PyTorch's older spelling of `torch.amp` for CUDA (`micrograd/tensor/amp.py`).

`torch.cuda.amp.GradScaler(...)` is `torch.amp.GradScaler("cuda", ...)` and
`torch.cuda.amp.autocast(...)` is `torch.amp.autocast("cuda", ...)`, each with PyTorch's
FutureWarning that the spelling is deprecated. Without a GPU both disable themselves with
PyTorch's warning, so nanoGPT's `GradScaler(enabled=(dtype == 'float16'))` passes its calls
straight through.
"""

from __future__ import annotations

import warnings

from micrograd.tensor import amp as _amp
from micrograd.tensor import dtypes

__all__ = ["GradScaler", "autocast"]


class GradScaler(_amp.GradScaler):
    """`torch.cuda.amp.GradScaler(init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000, enabled=True)`: a CUDA scaler, disabled here (no GPU)."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`torch.cuda.amp.GradScaler(args...)` is deprecated. "
            "Please use `torch.amp.GradScaler('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


class autocast(_amp.autocast):
    """`torch.cuda.amp.autocast(enabled=True, dtype=torch.float16, cache_enabled=True)`: CUDA
    autocast, disabled here (no GPU)."""

    def __init__(
        self,
        enabled: bool = True,
        dtype: dtypes.dtype = dtypes.float16,
        cache_enabled: bool = True,
    ) -> None:
        warnings.warn(
            "`torch.cuda.amp.autocast(args...)` is deprecated. "
            "Please use `torch.amp.autocast('cuda', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
