"""`torch.backends.cudnn`: `allow_tf32`, `benchmark`, `deterministic`, `enabled`, settable,
with no effect here (no GPU; see `micrograd/tensor/backends/__init__.py`)."""

from __future__ import annotations

__all__ = ["allow_tf32", "benchmark", "deterministic", "enabled", "is_available"]

# torch's defaults
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: there is no cuDNN here."""
    return False
