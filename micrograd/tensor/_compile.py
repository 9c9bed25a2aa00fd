"""`torch.compile`, refused: this engine has no compiler.

PyTorch 2's `torch.compile(model)` traces a model and generates fused kernels for it; this engine
runs each operation as numpy calls, and there is nothing to compile them to. Scripts that compile
by default (nanoGPT's `compile = True`) have a switch to turn it off; the error names it. Only
`disable=True`, which PyTorch itself answers by returning the model unchanged, is accepted.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compile"]

NO_COMPILER = (
    "torch.compile: micrograd.tensor has no compiler; run with compile off, e.g. nanoGPT's "
    "--compile=False"
)


def compile(
    model: Any = None,
    *,
    fullgraph: bool = False,
    dynamic: bool | None = None,
    backend: Any = None,
    mode: str | None = None,
    options: dict | None = None,
    name: str | None = None,
    disable: bool = False,
    recompile_limit: int | None = None,
    isolate_recompiles: bool = False,
    shapes_spec: Any = None,
) -> Any:
    """Refused (see the module docstring), except `disable=True`, which returns `model` as it
    is (or, called without a model, a decorator that returns its function as it is)."""
    if not disable:
        raise RuntimeError(NO_COMPILER)
    if model is None:
        return lambda fn: fn
    return model
