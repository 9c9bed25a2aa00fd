"""The exception types of `micrograd.tensor`: PyTorch's types, keeping the old ones as bases.

PyTorch raises `RuntimeError` where this package used to raise `ValueError` (a backward pass
from a tensor of many elements, `item()` of many elements, a state dict with missing keys or
wrong shapes, a view that cannot be made...). Code written for PyTorch catches `RuntimeError`;
code written for this package catches `ValueError`. Each class below derives from both the type
PyTorch raises and the one this package raised before, so both kinds of `except` keep working.

Raise these (not a bare `RuntimeError`) wherever PyTorch raises `RuntimeError` and the package
used to raise `ValueError`; where the package never raised anything, a plain `RuntimeError`
is as good.
"""

from __future__ import annotations

__all__ = [
    "KernelDtypeError",
    "TorchDtypeError",
    "TorchIndexError",
    "TorchIndexTypeError",
    "TorchRuntimeError",
    "TorchTypeError",
]


class TorchRuntimeError(RuntimeError, ValueError):
    """PyTorch raises RuntimeError here; the package raised ValueError before."""


class TorchIndexError(IndexError, ValueError):
    """PyTorch raises IndexError here (an index out of range); the package raised ValueError."""


class TorchTypeError(TypeError, ValueError):
    """PyTorch raises TypeError here (an argument of the wrong kind); the package raised
    ValueError."""


class TorchDtypeError(RuntimeError, TypeError):
    """PyTorch raises RuntimeError for an operation its dtype does not support (`-` on a bool
    tensor, `mean` or `std` of an integer tensor); the package raised TypeError."""


class TorchIndexTypeError(IndexError, TypeError):
    """PyTorch raises IndexError for an index of the wrong kind (a float tensor as an index);
    the package raised TypeError."""


class KernelDtypeError(NotImplementedError, TypeError):
    """A random fill or factory asked for a dtype its kernel lacks: PyTorch raises
    NotImplementedError; this package raised TypeError before (both kinds of `except` catch it)."""
