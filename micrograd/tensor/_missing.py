"""The error for a name that `micrograd.tensor` (or its `nn`, `nn.functional`) does not have.

A learner porting PyTorch code reaches for names we may not implement; the error says so and
lists the nearest names we do have, instead of a bare AttributeError. Each package's module-level
`__getattr__` (only called for missing names) raises this.
"""

from __future__ import annotations

import difflib


def missing_name(module: str, name: str, names: list[str], advice: str) -> AttributeError:
    """An AttributeError for `module.name`, with the close matches among `names` and `advice`.
    Dunder lookups (`__path__`, `__wrapped__`, ...) get Python's plain message: tools probe them."""
    if name.startswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    hint = f"; similar: {', '.join(close)}" if close else ""
    return AttributeError(advice.format(module=module, name=name, hint=hint))
