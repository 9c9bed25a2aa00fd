"""`ModuleList` and `ModuleDict`: PyTorch's containers that register the modules they hold.

A Python list or dict of layers kept in a module attribute is invisible to `parameters()`,
`state_dict()` and `to()`; these containers make each layer a child module named by its position
('0', '1', ...) or its key, so names come out as PyTorch's (`transformer.h.0.attn.c_attn.weight`
in nanoGPT). Neither has a `forward`: the owning module iterates over them.

`ModuleList`'s repr folds runs of identical layers into one line, `(0-3): 4 x Block(...)`, as
PyTorch prints it. Read `micrograd/tensor/nn/modules.py` for `Module` and `Sequential`.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from micrograd.nn import Module as _BaseModule
from micrograd.tensor.nn.modules import Module, _add_indent

__all__ = ["ModuleDict", "ModuleList"]


class ModuleList(Module):
    """A list of modules, each registered under its index: indexing (a slice gives a
    ModuleList), assignment and deletion by index (a deletion renumbers), `len`, iteration,
    `append`, `extend`, `insert`, `pop`, `+=` and `+`, as in PyTorch."""

    def __init__(self, modules: Iterable[_BaseModule] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self += modules

    def _index_key(self, index: Any) -> str:
        """The key of an int index, negative ones counted from the end (PyTorch's check)."""
        index = operator.index(index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range")
        return str(index % n)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)(list(self.__dict__["_modules"].values())[index])
        return self.__dict__["_modules"][self._index_key(index)]

    def __setitem__(self, index: Any, module: _BaseModule) -> None:
        setattr(self, self._index_key(index), module)

    def __delitem__(self, index: Any) -> None:
        if isinstance(index, slice):
            for key in list(self.__dict__["_modules"])[index]:
                delattr(self, key)
        else:
            delattr(self, self._index_key(index))
        # renumbered, so the names stay 0, 1, 2, ...
        self._set_modules([(str(i), m) for i, m in enumerate(self.__dict__["_modules"].values())])

    def __len__(self) -> int:
        return len(self.__dict__["_modules"])

    def __iter__(self) -> Iterator[_BaseModule]:
        return iter(self.__dict__["_modules"].values())

    def __iadd__(self, modules: Iterable[_BaseModule]) -> ModuleList:  # noqa: PYI034
        return self.extend(modules)

    def __add__(self, other: Iterable[_BaseModule]) -> ModuleList:
        combined = ModuleList()
        for i, module in enumerate([*self, *other]):
            combined.add_module(str(i), module)
        return combined

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def insert(self, index: int, module: _BaseModule) -> None:
        """Insert `module` before position `index`, 0 <= index <= len(self). (PyTorch's own
        insert raises KeyError for a negative index and leaves a gap past the end; both are
        refused here with an IndexError.)"""
        modules = list(self.__dict__["_modules"].values())
        if module is not None and not isinstance(module, _BaseModule):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        index = operator.index(index)
        if not 0 <= index <= len(modules):
            raise IndexError(f"ModuleList.insert: index {index} is out of range 0..{len(modules)}")
        modules.insert(index, module)
        self._set_modules([(str(i), m) for i, m in enumerate(modules)])

    def append(self, module: _BaseModule) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def pop(self, key: Any) -> Any:
        value = self[key]
        del self[key]
        return value

    def extend(self, modules: Iterable[_BaseModule]) -> ModuleList:
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleList.extend should be called with an iterable, but got "
                + type(modules).__name__
            )
        offset = len(self)
        for i, module in enumerate(modules):
            self.add_module(str(offset + i), module)
        return self

    def __repr__(self) -> str:
        """PyTorch's: consecutive layers with the same repr are printed once, as
        `(first-last): count x layer`."""
        reprs = [repr(m) for m in self]
        if not reprs:
            return self._get_name() + "()"
        runs: list[list] = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = []
        for first, last, text in runs:
            if first == last:
                line = f"({first}): {text}"
            else:
                line = f"({first}-{last}): {last - first + 1} x {text}"
            lines.append(_add_indent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules, each registered under its key (kept in insertion order): `md[key]`,
    `md[key] = module`, `del md[key]`, `key in md`, `len`, iteration over the keys, `keys()`,
    `values()`, `items()`, `update()`, `pop()` and `clear()`, as in PyTorch."""

    def __init__(self, modules: Mapping[str, _BaseModule] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> _BaseModule:
        return self.__dict__["_modules"][key]

    def __setitem__(self, key: str, module: _BaseModule) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self.__dict__["_modules"][key]
        self.__dict__.pop(key, None)

    def __len__(self) -> int:
        return len(self.__dict__["_modules"])

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__["_modules"])

    def __contains__(self, key: Any) -> bool:
        return key in self.__dict__["_modules"]

    def clear(self) -> None:
        self._set_modules([])

    def pop(self, key: str) -> _BaseModule:
        value = self[key]
        del self[key]
        return value

    def keys(self) -> Any:
        return self.__dict__["_modules"].keys()

    def items(self) -> Any:
        return self.__dict__["_modules"].items()

    def values(self) -> Any:
        return self.__dict__["_modules"].values()

    def update(self, modules: Any) -> None:
        """Add or replace modules from a mapping (or a ModuleDict), or from an iterable of
        (key, module) pairs, in order."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update should be called with an iterable of key/value pairs, but "
                "got " + type(modules).__name__
            )
        if isinstance(modules, (OrderedDict, ModuleDict, Mapping)):
            for key, module in modules.items():
                self[key] = module
            return
        for j, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(
                    f"ModuleDict update sequence element #{j} should be Iterable; is"
                    + type(pair).__name__
                )
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict update sequence element #{j} has length {len(pair)}; 2 is required"
                )
            self[pair[0]] = pair[1]
