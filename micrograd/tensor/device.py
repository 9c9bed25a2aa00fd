"""Devices: `torch.device`, and the one check every `device=` argument goes through.

This engine computes with numpy on the CPU. PyTorch code names devices everywhere
(`device = 'cuda' if torch.cuda.is_available() else 'cpu'`, `x.to(device)`, `zeros(3,
device=device)`), so `torch.device` exists and prints as torch's does, every tensor is on
`device(type='cpu')`, and asking for anything else ('cuda', 'mps', 'cuda:0') raises one clear
RuntimeError (`check_device`) instead of silently computing on the CPU.

`parse_to_args` reads the arguments of `Tensor.to` (`to(dtype)`, `to(device)`, `to(device,
dtype)`, `to(other)`, and the keywords `device=`, `dtype=`, `copy=`, `non_blocking=`).

Read `micrograd/tensor/cuda.py` and `micrograd/tensor/backends/` (the CUDA namespaces, for
scripts that ask about a GPU) next.
"""

from __future__ import annotations

from typing import Any

from micrograd.tensor import dtypes as _dtypes
from micrograd.tensor.errors import TorchDtypeError

__all__ = ["check_device", "device", "parse_to_args"]

# What torch accepts as a device type (`torch.device('xla')` is valid in torch, failing later)
_DEVICE_TYPES = (
    "cpu",
    "cuda",
    "mps",
    "xpu",
    "meta",
    "hip",
    "xla",
    "ipu",
    "hpu",
    "mtia",
    "lazy",
    "vulkan",
    "privateuseone",
)


class device:
    """`torch.device('cpu')`, `torch.device('cuda', 0)`, `torch.device('cuda:0')`: a device
    name, as torch has it. Making one for a GPU is allowed (scripts do it before asking whether
    one exists); using it for a tensor is refused by `check_device`."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): give an index only with a device type string")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(
                f"device(): expected a device type string such as 'cpu', got {_type_name(type)}"
            )
        name, sep, number = type.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device "
                f"string: {type}"
            )
        if sep:
            if index is not None:
                raise RuntimeError(f"device(): type {type!r} already has an index")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        # as torch: a device equals a device, never a string (torch.device('cpu') != 'cpu')
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> tuple:
        return (device, (self.type, self.index))

    def __enter__(self) -> device:  # noqa: PYI034
        # `with torch.device('cpu'):` sets the default device in torch; the CPU is ours
        check_device(self, "with torch.device(...)")
        return self

    def __exit__(self, *exc: object) -> None:
        return None


# The device of every tensor here
CPU = device("cpu")


def _type_name(value: Any) -> str:
    return type(value).__name__


def check_device(value: Any, op: str) -> device:
    """`value` as a device if it is the CPU ('cpu', 'cpu:0', device('cpu'), None); otherwise a
    RuntimeError naming the device and `op`, saying this engine runs on the CPU."""
    if value is None or value is CPU:
        return CPU
    if isinstance(value, str):
        value = device(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        # torch reads a bare int as a CUDA device ordinal
        raise RuntimeError(  # noqa: TRY004 -- not a type error: that device is missing
            f"{op}: device {value} (a GPU ordinal) is not available: micrograd.tensor runs on "
            f"the CPU only; use device='cpu'"
        )
    elif not isinstance(value, device):
        raise TypeError(f"{op}: device must be a string or torch.device, got {_type_name(value)}")
    if value.type != "cpu" or value.index not in (None, 0):
        raise RuntimeError(
            f"{op}: device '{value}' is not available: micrograd.tensor runs on the CPU only; "
            f"use device='cpu' (move the model to PyTorch with micrograd.export.to_torch for a "
            f"GPU)"
        )
    return CPU


def _is_device(value: Any) -> bool:
    return isinstance(value, (str, device)) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def parse_to_args(tensor_type: type, args: tuple, kwargs: dict) -> tuple:
    """`Tensor.to`'s arguments as (numpy dtype or None, copy): torch's three forms
    `to(dtype, non_blocking=False, copy=False)`, `to(device=None, dtype=None,
    non_blocking=False, copy=False)` and `to(other, non_blocking=False, copy=False)`; the device
    is checked (CPU only), `non_blocking` and `memory_format` have nothing to do here."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {min(unknown)!r}")
    args = list(args)
    target_device = kwargs.get("device")
    target_dtype = kwargs.get("dtype")
    if args and isinstance(args[0], tensor_type):
        other = args.pop(0)
        target_dtype = other.data.dtype
    elif args and _is_device(args[0]) and not _is_dtype_name(args[0]):
        target_device = args.pop(0)
        if args and not isinstance(args[0], bool):
            target_dtype = args.pop(0)
    elif args and args[0] is not None:
        target_dtype = args.pop(0)
    # what remains positionally: non_blocking, copy (torch's order)
    if len(args) > 2:
        raise TypeError(f"to() takes at most 4 positional arguments, got {len(args) + 2}")
    copy = kwargs.get("copy", args[1] if len(args) > 1 else False)
    check_device(target_device, "to")
    if isinstance(target_device, str) and ":" in target_device:
        copy = True  # as torch: `to('cpu:0')` copies, `to('cpu')` does not
    try:
        np_dtype = None if target_dtype is None else _dtypes.numpy_dtype(target_dtype, "to")
    except TypeError as error:
        if not isinstance(target_dtype, str):
            raise
        # torch reads a string as a device and raises RuntimeError ("Expected one of cpu, ...
        # device type at start of device string"); this class is both that and the TypeError
        # a bad dtype name raised here before
        raise TorchDtypeError(
            f"to: {target_dtype!r} is neither a device type (cpu, cuda, mps, ...) nor a dtype"
        ) from error
    return np_dtype, bool(copy)


def _is_dtype_name(value: Any) -> bool:
    # `t.to('float64')` is not torch, but numpy-style dtype names kept working here before
    # devices existed: a string that names a dtype rather than a device
    if not isinstance(value, str):
        return False
    return value.partition(":")[0] not in _DEVICE_TYPES
