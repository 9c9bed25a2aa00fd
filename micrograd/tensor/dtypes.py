"""PyTorch's dtypes: `torch.float32`, `torch.long`, ... as objects that print as torch's do.

`t.dtype` is one of these (`torch.float32`, not numpy's `dtype('float32')`), with torch's
attributes (`is_floating_point`, `is_signed`, `itemsize`, ...). Tensors keep their data in numpy
arrays, so each dtype also knows numpy's equivalent: `np.dtype(torch.float32)` and
`np.zeros(3, torch.int64)` work (numpy reads an object's `dtype` attribute), and a dtype compares
equal to numpy's dtype of the same kind, so numpy-based code that checks
`t.dtype == np.float32` keeps working.

`float` is float32 and `int` int32, as in PyTorch (not Python's float and int, which numpy reads
as float64 and int64); `long` is int64, `double` float64, `half` float16.

`float16` and `bfloat16` exist as names (scripts pass them to autocast or compare with them), but
a tensor cannot have them: numpy has no bfloat16, and its float16 products accumulate in float16
where PyTorch's accumulate in float32, so results would silently differ. Asking for either raises
a TypeError that says so.

Read `micrograd/tensor/_tensor_str.py` (how tensors print) next.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

__all__ = [
    "bfloat16",
    "bool",
    "double",
    "dtype",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy_dtype",
    "get_default_dtype",
    "half",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "long",
    "short",
    "uint8",
]


class dtype:
    """A tensor element type, as `torch.dtype`: repr `torch.float32`, compared by identity (and
    with numpy's equivalent dtype), `is_floating_point`, `is_signed`, `is_complex`, `itemsize`."""

    __slots__ = (
        "_legacy",
        "_numpy",
        "is_complex",
        "is_floating_point",
        "is_signed",
        "itemsize",
        "name",
    )

    def __init__(self, name: str, numpy_name: str | None, itemsize: builtins.int, legacy: str):
        self.name = name
        # None: a name torch has whose tensors this engine cannot make (see the module docstring)
        self._numpy = None if numpy_name is None else np.dtype(numpy_name)
        self.itemsize = itemsize
        self.is_floating_point = name.startswith(("float", "bfloat"))
        self.is_complex = False
        self.is_signed = not name.startswith(("uint", "bool"))
        self._legacy = legacy  # `t.type()`: torch's legacy tensor type name

    @property
    def dtype(self) -> np.dtype:
        """numpy's equivalent (what `np.dtype(d)` and every numpy function given `d` read)."""
        if self._numpy is None or self.name == "float16":
            raise TypeError(_unsupported_message(self.name))
        return self._numpy

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__

    def __eq__(self, other: object) -> builtins.bool:
        if type(other) is dtype:
            return other is self
        if isinstance(other, np.dtype) or (
            isinstance(other, type) and issubclass(other, np.generic)
        ):
            return self._numpy is not None and self._numpy == np.dtype(other)
        return NotImplemented

    def __ne__(self, other: object) -> builtins.bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> builtins.int:
        # equal to numpy's dtype, so equal keys of a dict hash alike
        return hash(self._numpy if self._numpy is not None else self.name)

    def __reduce__(self) -> str:
        # pickled by name, as torch pickles its dtypes: unpickling gives the same object
        return self.name

    def to_real(self) -> dtype:
        return self

    def to_complex(self) -> dtype:
        raise TypeError(f"to_complex: {self} has no complex counterpart here (no complex tensors)")


def _unsupported_message(name: str) -> str:
    why = {
        "bfloat16": "numpy, which stores this engine's tensors, has no bfloat16",
        "float16": "numpy's float16 products and sums accumulate in float16, PyTorch's in "
        "float32, so results would differ",
    }[name]
    return (
        f"torch.{name} tensors are not supported: {why}; micrograd.tensor computes in "
        f"float32 or float64 (use torch.float32)"
    )


float32 = dtype("float32", "float32", 4, "FloatTensor")
float64 = dtype("float64", "float64", 8, "DoubleTensor")
float16 = dtype("float16", "float16", 2, "HalfTensor")
bfloat16 = dtype("bfloat16", None, 2, "BFloat16Tensor")
int8 = dtype("int8", "int8", 1, "CharTensor")
int16 = dtype("int16", "int16", 2, "ShortTensor")
int32 = dtype("int32", "int32", 4, "IntTensor")
int64 = dtype("int64", "int64", 8, "LongTensor")
uint8 = dtype("uint8", "uint8", 1, "ByteTensor")
# These three shadow builtins inside this module only; code below uses `builtins.` for those.
bool = dtype("bool", "bool", 1, "BoolTensor")
float = float32
int = int32
double = float64
half = float16
short = int16
long = int64

# numpy's dtype -> ours, for `t.dtype` (one dict lookup: it is read by printing and by user code)
_FROM_NUMPY = {d._numpy: d for d in (float32, float64, int8, int16, int32, int64, uint8, bool)}
# torch's legacy type names (`t.type('torch.DoubleTensor')`) -> ours
_FROM_LEGACY = {
    f"torch.{d._legacy}": d
    for d in (float32, float64, float16, bfloat16, int8, int16, int32, int64, uint8, bool)
}


def get_default_dtype() -> dtype:
    """torch.float32: the dtype factories give floats (changing it is not offered here)."""
    return float32


def from_numpy_dtype(np_dtype: Any) -> dtype:
    """Our dtype for numpy's `np_dtype`; a TypeError for one PyTorch has no tensor of here."""
    found = _FROM_NUMPY.get(np_dtype)
    if found is None:
        found = _FROM_NUMPY.get(np.dtype(np_dtype))
        if found is None:
            if np.dtype(np_dtype) == np.float16:
                raise TypeError(_unsupported_message("float16"))
            raise TypeError(
                f"numpy dtype {np.dtype(np_dtype)} has no micrograd.tensor counterpart (tensors "
                f"are float32, float64, int8, int16, int32, int64, uint8 or bool)"
            )
    return found


def numpy_dtype(value: Any, op: str) -> np.dtype:
    """A `dtype=` argument (ours, numpy's dtype or type, a name such as 'float32' or torch's
    'torch.DoubleTensor') as numpy's dtype; a TypeError naming `op` for anything else."""
    if type(value) is dtype:
        return value.dtype  # raises for bfloat16/float16
    if isinstance(value, str) and value in _FROM_LEGACY:
        return _FROM_LEGACY[value].dtype
    if isinstance(value, str) and value.startswith("torch."):
        value = value[len("torch.") :]
    try:
        np_dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"{op}: {value!r} is not a dtype") from None
    return from_numpy_dtype(np_dtype)._numpy
