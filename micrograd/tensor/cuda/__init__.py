"""`torch.cuda` for a machine without a GPU: what scripts ask before choosing a device.

This engine runs on the CPU (`micrograd/tensor/device.py`), so `is_available()` is False and
`device_count()` 0, as PyTorch answers on a machine without CUDA. Seeding the GPU's generators
(`manual_seed`, `manual_seed_all`) does nothing, as in PyTorch when there is no GPU: the CPU
generator (`torch.manual_seed`) is the one that draws; so does `empty_cache()`. Asking for a GPU
(`set_device`, `current_device`, `synchronize`) fails in one line, as it fails in PyTorch built
without CUDA. `torch.cuda.amp` is in `amp.py`. Other CUDA functions are not here: the
missing-name error says so.
"""

from __future__ import annotations

from typing import Any

from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.cuda import amp

__all__ = [
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "is_available",
    "is_bf16_supported",
    "manual_seed",
    "manual_seed_all",
    "set_device",
    "synchronize",
]


class NoCudaError(RuntimeError, AssertionError):
    """PyTorch built without CUDA raises AssertionError("Torch not compiled with CUDA enabled")
    when a script asks for a GPU; code may catch that type or RuntimeError."""


def _no_gpu(op: str) -> NoCudaError:
    return NoCudaError(
        f"{op}: micrograd.tensor runs on the CPU only (no CUDA device); use device='cpu'"
    )


def is_available() -> bool:
    """False: micrograd.tensor has no GPU backend."""
    return False


def device_count() -> int:
    return 0


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def _seed(seed: Any, op: str) -> None:
    # torch reads the seed as an integer (int(seed)) even with no GPU to seed
    try:
        int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: seed must be an integer, got {type(seed).__name__}") from None


def manual_seed(seed: int) -> None:
    """No GPU to seed: nothing to do (as PyTorch does without CUDA)."""
    _seed(seed, "torch.cuda.manual_seed")


def manual_seed_all(seed: int) -> None:
    """No GPU to seed: nothing to do (as PyTorch does without CUDA)."""
    _seed(seed, "torch.cuda.manual_seed_all")


def empty_cache() -> None:
    """No GPU memory to release: nothing to do (PyTorch returns None without CUDA too)."""


def current_device() -> int:
    raise _no_gpu("torch.cuda.current_device()")


def set_device(device: Any) -> None:
    raise _no_gpu(f"torch.cuda.set_device({device!r})")


def synchronize(device: Any = None) -> None:
    raise _no_gpu("torch.cuda.synchronize()")


def __getattr__(name: str):
    raise _missing_name(
        "micrograd.tensor.cuda",
        name,
        __all__,
        "{module} has no {name!r}: micrograd.tensor runs on the CPU only{hint}",
    )
