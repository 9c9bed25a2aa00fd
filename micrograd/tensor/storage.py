"""`t.storage()`: the elements a tensor's memory holds, in memory order, as PyTorch's
`TypedStorage` shows them (the makemore lectures print `a.storage()` to show that `view` only
changes how the same numbers are read).

A tensor's data is a numpy array; a view (a slice, a transpose, a reshape) looks into the
memory of the array it was made from. The storage is that whole memory, flattened, as in
PyTorch: `x[1:].storage()` lists `x`'s elements too.

Read `micrograd/tensor/device.py` next.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TypedStorage"]


def _memory(data: np.ndarray) -> np.ndarray:
    """The array whose memory `data` looks into, flattened in memory order (`data` itself,
    copied into memory order, when it owns no plain memory of its own)."""
    root = data
    while isinstance(root.base, np.ndarray) and root.base.dtype == data.dtype:
        root = root.base
    if root.flags.c_contiguous:
        return root.reshape(-1)
    return np.ascontiguousarray(data).reshape(-1)


class TypedStorage:
    """The flat elements of a tensor's memory: `len`, indexing (a Python number), iteration, `tolist()`, `size()`, `dtype`, `device`, and torch's printout."""

    __slots__ = ("_array", "dtype")

    def __init__(self, tensor: Any) -> None:
        self._array = _memory(np.asarray(tensor.data))
        self.dtype = tensor.dtype

    @property
    def device(self) -> Any:
        from micrograd.tensor.device import CPU

        return CPU

    def size(self) -> int:
        return self._array.shape[0]

    def __len__(self) -> int:
        return self._array.shape[0]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            # as torch's TypedStorage (its untyped storage slices bytes, which we do not have)
            raise RuntimeError(  # noqa: TRY004 -- the type torch raises
                "slices are only supported in UntypedStorage.__getitem__"
            )
        return self._array[index].item()

    def __setitem__(self, index: Any, value: Any) -> None:
        self._array[index] = value  # writes through to every tensor that shares the memory

    def __iter__(self) -> Any:
        return iter(self._array.tolist())

    def tolist(self) -> list:
        return self._array.tolist()

    def element_size(self) -> int:
        return self._array.dtype.itemsize

    def nbytes(self) -> int:
        return self._array.nbytes

    def __str__(self) -> str:
        info = f"[torch.storage.TypedStorage(dtype={self.dtype}, device=cpu) of size {len(self)}]"
        return " " + "\n ".join(str(v) for v in self._array.tolist()) + "\n" + info

    __repr__ = __str__
