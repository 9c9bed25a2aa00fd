"""Run a PyTorch script with no edit: `import torch` (and `torch.nn`, `torch.optim`, ...) resolves
to `micrograd.tensor` (and its `nn`, `optim`, ...).

`install()` puts a finder at the front of `sys.meta_path`. For `torch` or `torch.X.Y` it imports
`micrograd.tensor` or `micrograd.tensor.X.Y` and hands that very module out under the torch name,
so `torch.nn is micrograd.tensor.nn` and a script sees one set of classes. A torch module this
engine does not have is a ModuleNotFoundError that says so. `python -m micrograd.tensor` uses it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

__all__ = ["install", "uninstall"]

TARGET = "micrograd.tensor"


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec) -> ModuleType:
        ours = TARGET + spec.name[len("torch") :]
        try:
            return importlib.import_module(ours)
        except ModuleNotFoundError as e:
            if e.name is not None and not ours.startswith(e.name) and e.name != ours:
                raise  # something else is missing (numpy, ...): say that
            raise ModuleNotFoundError(
                f"No module named {spec.name!r}: micrograd.tensor has no {spec.name[6:]!r} "
                f"(it implements the part of PyTorch the course's scripts use)",
                name=spec.name,
            ) from None

    def exec_module(self, module: ModuleType) -> None:
        pass  # already imported, as micrograd.tensor...


_finder = _Alias()


def install() -> None:
    """Make `import torch...` give micrograd.tensor from now on, in this process."""
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        if getattr(sys.modules[name], "__name__", "").startswith(TARGET):
            del sys.modules[name]
