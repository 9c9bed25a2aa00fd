"""Finding micrograd.tensor's compiled kernels (the modules setup.py's KERNELS table builds).

Each kernel is the C twin of a numpy path with the same results: the numpy module asks `load` for
it once at import and falls back to its own code when the answer is None -- when the extension
was not built (no compiler at install time) or `MICROGRAD_PURE=1` asks for the pure paths.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

__all__ = ["load", "pure"]


def pure() -> bool:
    """Whether MICROGRAD_PURE asks for the pure-Python and numpy paths only."""
    return os.environ.get("MICROGRAD_PURE", "") not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The compiled module `micrograd.tensor.<name>` (e.g. "nn._clayernorm"), or None when it is
    not built or MICROGRAD_PURE is set."""
    if pure():
        return None
    try:
        return importlib.import_module(f"micrograd.tensor.{name}")
    except ImportError:  # not built: the caller's numpy path gives the same results
        return None
