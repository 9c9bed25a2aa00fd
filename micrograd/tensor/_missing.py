"""The error for a name that `micrograd.tensor` (or its `nn`, `nn.functional`, a Tensor, a
Module) does not have.

A learner porting PyTorch code reaches for names we may not implement; the error says so and
lists the nearest names we do have, instead of a bare AttributeError. Each package's module-level
`__getattr__` (only called for missing names) raises `missing_name`; `Tensor.__getattr__` and
`Module.__getattr__` build their messages with `similar`.
"""

from __future__ import annotations

import difflib


def similar(name: str, names: list[str]) -> str:
    """ "; similar: a, b" with the names closest to `name` (up to five), or "" if none is close."""
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    return f"; similar: {', '.join(close)}" if close else ""


def missing_name(module: str, name: str, names: list[str], advice: str) -> AttributeError:
    """An AttributeError for `module.name`, with the close matches among `names` and `advice`.
    Dunder lookups (`__path__`, `__wrapped__`, ...) get Python's plain message: tools probe them."""
    if name.startswith("__"):
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    return AttributeError(advice.format(module=module, name=name, hint=similar(name, names)))
