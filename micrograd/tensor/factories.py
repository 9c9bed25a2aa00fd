"""Tensor factories in PyTorch's shape: `tensor`, `zeros`, `ones`, `randn`, `arange`, ...

Every factory takes `dtype=` and `requires_grad=` as PyTorch does, and the random ones take
`generator=` (a `micrograd.tensor.Generator`; the module's `default_generator` otherwise, seeded by
`manual_seed`). The dtypes are PyTorch's defaults: float32 for floats, int64 for integers, bool for
bools; `tensor(data)` infers them from the data as PyTorch does (a numpy array keeps its dtype).
No factory's result gets a gradient unless `requires_grad=True` (the rule of the whole engine).

Read `micrograd/tensor/random.py` for the generator, `micrograd/tensor/nn/` next.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from micrograd.tensor import random as _random
from micrograd.tensor._fma import fma32, fma64
from micrograd.tensor.core import (
    _TORCH_NAMES,
    Tensor,
    _check_device,
    _check_requires_grad,
    _new,
    _no_out,
    _np_dtype,
)
from micrograd.tensor.dtypes import from_numpy_dtype
from micrograd.tensor.errors import KernelDtypeError, TorchRuntimeError

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "multinomial",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]

_FLOAT = np.dtype(np.float32)


_LONG = np.dtype(np.int64)


def _leaf(data: np.ndarray, requires_grad: Any, op: str) -> Tensor:
    """A new leaf holding `data` (the array itself, not a copy)."""
    out = _new(Tensor)
    out.data = data
    out.grad = None
    try:
        out.requires_grad = _check_requires_grad(data, requires_grad)
    except RuntimeError as e:
        raise RuntimeError(f"{op}: {e}") from None
    out._prev = ()
    out._fn = None
    out._op = ""
    out.label = ""
    return out


def _dtype(dtype: Any, default: np.dtype, op: str) -> np.dtype:
    return default if dtype is None else _np_dtype(dtype, op)


def _size(size: tuple, op: str, keyword: Any = None) -> tuple:
    """`zeros(2, 3)`, `zeros((2, 3))`, `zeros([2, 3])` and `zeros(size=(2, 3))` all mean shape
    (2, 3)."""
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: give the sizes positionally or as size=, not both")
        size = (keyword,)
    elif not size:
        raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = n.item()
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {n!r} in {size!r}")
        if n < 0:
            raise TorchRuntimeError(
                f"{op}: Trying to create tensor with negative dimension {n}: {list(size)} "
                f"(sizes must be >= 0)"
            )
        out.append(int(n))
    # numpy's refusal of a shape whose byte count overflows is a ValueError in its own words;
    # PyTorch's is a RuntimeError naming the sizes (8 bytes: the widest element this engine has).
    if math.prod(out) * 8 >= 1 << 63:
        raise TorchRuntimeError(
            f"{op}: Storage size calculation overflowed with sizes={out} (more bytes than a "
            "64-bit address can hold)"
        )
    return tuple(out)


def _generator(generator: Any, op: str) -> Any:
    if generator is None:
        return _random.default_generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(
            f"{op}: generator must be a micrograd.tensor.Generator, got {type(generator).__name__}"
        )
    return generator


_INT64_RANGE = (-(1 << 63), (1 << 63) - 1)


def _check_python_ints(data: Any) -> None:
    """PyTorch reads Python ints as C long longs: one outside int64 is an error (numpy would
    make the array uint64 or object, or wrap it)."""
    stack = [data]
    while stack:
        x = stack.pop()
        if type(x) is int:
            if not _INT64_RANGE[0] <= x <= _INT64_RANGE[1]:
                raise ValueError("Overflow when unpacking long long")
        elif isinstance(x, (list, tuple)):
            stack.extend(x)


def _check_fits(arr: np.ndarray, dtype: np.dtype, kind: str) -> None:
    """PyTorch converts each Python number to an integer dtype only if it lies within the
    dtype's range (compared as a double for floats; nan and inf never do)."""
    if arr.size == 0:
        return
    info = np.iinfo(dtype)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            fits = bool(np.all((arr >= float(info.min)) & (arr <= float(info.max))))
    else:
        fits = int(arr.min()) >= info.min and int(arr.max()) <= info.max
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {dtype} without overflow")


def _infer(data: Any, op: str, dtype: Any = None) -> np.ndarray:
    """PyTorch's dtype inference for `tensor(data)`: Python bools bool, ints int64, floats
    float32; numpy arrays and scalars keep their dtype. With `dtype`, Python numbers are
    converted straight to it (a float64 tensor of 0.3 holds the float64 0.3, not the float32
    one)."""
    if isinstance(data, Tensor):
        arr = np.array(data.data)
        return arr if dtype is None else arr.astype(dtype, copy=False)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{op}: data must be numbers, got a numpy array of dtype {arr.dtype}")
        return arr if dtype is None else arr.astype(dtype, copy=False)
    if isinstance(data, (str, bytes)) or not isinstance(data, (numbers.Number, list, tuple, range)):
        raise TypeError(
            f"{op}: data must be a number, a (nested) list of numbers or an array, got "
            f"{type(data).__name__}"
        )
    if not isinstance(data, range):
        _check_python_ints(data)
    try:
        arr = np.array(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{op}: data is not a rectangular list of numbers: {e}") from None
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"{op}: data must be numbers (bools, ints that fit int64, floats); numpy read it "
            f"as {arr.dtype} elements (a None or a string?)"
        )
    if dtype is not None:
        if np.dtype(dtype).kind in "iu" and kind in "if":
            _check_fits(arr, np.dtype(dtype), kind)
        with np.errstate(invalid="ignore", over="ignore"):  # (2.0**63 wraps, as in PyTorch)
            if kind == "f" and np.dtype(dtype).kind in "iu" and arr.size:
                return _ints_kept_exact(data, arr, np.dtype(dtype))
            if kind == "f" or np.dtype(dtype).kind in "biu":
                return arr.astype(dtype, copy=False)  # float64 values (Python's) rounded once
            return np.array(data, dtype=dtype)  # ints straight from Python's exact values
    if kind in "iu":
        return arr.astype(_LONG, copy=False)
    if kind == "f":
        with np.errstate(over="ignore"):  # a float beyond float32's range is inf, as in torch
            return arr.astype(_FLOAT, copy=False)
    return arr


def _ints_kept_exact(data: Any, floats: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Ints and floats mixed, to an integer dtype: numpy read every number as a float64, which
    rounds ints above 2**53; PyTorch converts each number itself, so the ints are put back
    exactly (the floats truncated as before)."""
    out = floats.astype(dtype)
    numbers = np.array(data, dtype=object)
    is_int = np.frompyfunc(lambda x: isinstance(x, int) and not isinstance(x, bool), 1, 1)
    exact = np.asarray(is_int(numbers), dtype=bool)
    if exact.any():
        out[exact] = np.array(numbers[exact].tolist(), dtype=np.int64).astype(dtype)
    return out


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A new tensor holding a copy of `data` (numbers, nested lists, a numpy array, a Tensor)."""
    _check_device(device, "tensor")
    dt = None if dtype is None else _np_dtype(dtype, "tensor")
    arr = _infer(data, "tensor", dt)
    return _leaf(arr, requires_grad, "tensor")


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """`data` as a tensor, sharing memory where it can: a Tensor is returned itself (converted
    if `dtype` differs), a numpy array is wrapped without a copy (as `from_numpy`), anything
    else is read as by `tensor` (ints int64, floats float32)."""
    _check_device(device, "as_tensor")
    dt = None if dtype is None else _np_dtype(dtype, "as_tensor")
    if isinstance(data, Tensor):
        return data if dt is None or dt == data.data.dtype else data.to(dt)
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            raise TypeError(
                f"as_tensor: data must be numbers, got a numpy array of dtype {data.dtype}"
            )
        data = data.view(np.ndarray)  # a memmap or other subclass: the same memory
        if dt is None:
            _check_shared(data, "as_tensor")
        return _leaf(data if dt is None else data.astype(dt, copy=False), False, "as_tensor")
    return _leaf(_infer(data, "as_tensor", dt), False, "as_tensor")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    _check_shared(array, "from_numpy")
    # a subclass (np.memmap: nanoGPT's batches are slices of a memory-mapped file) is held as a
    # plain ndarray view of the same memory, as torch holds it
    return _leaf(array.view(np.ndarray), False, "from_numpy")


def _check_shared(array: np.ndarray, op: str) -> None:
    """Refuse, as torch does, an array whose memory a tensor cannot share: one in the other byte
    order (every kernel reads native floats), or of a dtype with no tensor here (float16, object,
    complex ...: refused now, not at the first operation)."""
    if not array.dtype.isnative:
        raise ValueError(
            f"{op}: given numpy array has byte order different from the native byte order. "
            f"Conversion between byte orders is currently not supported (convert it first: "
            f"array.astype(array.dtype.newbyteorder('=')))"
        )
    from_numpy_dtype(array.dtype)


def _filled(op: str, fill: Any, size: tuple, keyword: Any, dtype, device, requires_grad, out):
    _no_out(out, op)
    _check_device(device, op)
    shape = _size(size, op, keyword)
    return _leaf(fill(shape, _dtype(dtype, _FLOAT, op)), requires_grad, op)


def zeros(*size: Any, out=None, dtype=None, device=None, requires_grad=False, **kw) -> Tensor:
    return _filled(
        "zeros", np.zeros, size, _size_kw(kw, "zeros"), dtype, device, requires_grad, out
    )


def ones(*size: Any, out=None, dtype=None, device=None, requires_grad=False, **kw) -> Tensor:
    return _filled("ones", np.ones, size, _size_kw(kw, "ones"), dtype, device, requires_grad, out)


def empty(*size: Any, out=None, dtype=None, device=None, requires_grad=False, **kw) -> Tensor:
    """Zeros (PyTorch leaves the memory uninitialised; zeros are the safe reading of that)."""
    return _filled(
        "empty", np.zeros, size, _size_kw(kw, "empty"), dtype, device, requires_grad, out
    )


def _size_kw(kw: dict, op: str) -> Any:
    """The `size=` keyword (the sizes are `*size` positionally, so it arrives in **kw)."""
    size = kw.pop("size", None)
    if kw:
        raise TypeError(f"{op}() got an unexpected keyword argument {next(iter(kw))!r}")
    return size


def _fill(value: Any, dtype: np.dtype) -> Any:
    """A fill value as PyTorch converts it: a finite number outside the dtype's range is an
    error (inf and nan fill float tensors; they are out of range for integers)."""
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or dtype.kind == "b":
        return value
    info = np.finfo(dtype) if dtype.kind == "f" else np.iinfo(dtype)
    if dtype.kind == "f" and not math.isfinite(value):
        return value
    if not (float(info.min) <= value <= float(info.max)) or (
        isinstance(value, int) and not info.min <= value <= info.max
    ):
        name = {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return value


def _fill_dtype(fill_value: Any) -> np.dtype:
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(fill_value, (numbers.Integral, np.integer)):
        return _LONG
    return _FLOAT


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _no_out(out, "full")
    _check_device(device, "full")
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dt = _dtype(dtype, _fill_dtype(fill_value), "full")
    return _leaf(np.full(shape, _fill(fill_value, dt), dt), requires_grad, "full")


def _like(t: Any, op: str) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.data
    raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")


def zeros_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    _check_device(device, "zeros_like")
    a = _like(input, "zeros_like")
    return _leaf(
        np.zeros(a.shape, _dtype(dtype, a.dtype, "zeros_like")), requires_grad, "zeros_like"
    )


def ones_like(
    input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    _check_device(device, "ones_like")
    a = _like(input, "ones_like")
    return _leaf(np.ones(a.shape, _dtype(dtype, a.dtype, "ones_like")), requires_grad, "ones_like")


def full_like(
    input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad=False
) -> Tensor:
    _check_device(device, "full_like")
    a = _like(input, "full_like")
    dt = _dtype(dtype, a.dtype, "full_like")
    return _leaf(np.full(a.shape, _fill(fill_value, dt), dt), requires_grad, "full_like")


def eye(
    n: int,
    m: int | None = None,
    *,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _no_out(out, "eye")
    _check_device(device, "eye")
    (n,) = _size((n,), "eye")
    m = n if m is None else _size((m,), "eye")[0]
    return _leaf(np.eye(n, m, dtype=_dtype(dtype, _FLOAT, "eye")), requires_grad, "eye")


# Floats per vector register of PyTorch's arange kernel (x86-64 builds): the kernel computes
# each group of this many elements from the group's first one, so a bit-identical arange must too.
_ARANGE_VECTOR = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}


def _arange_number(v: Any, name: str) -> Any:
    if isinstance(v, Tensor):
        if v.data.size != 1:
            raise RuntimeError(f"arange: {name} must be a number or a one-element tensor")
        v = v.data.item()
    elif isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"arange: {name} must be a number, got {v!r}")
    return v


def arange(
    start: Any = 0,
    end: Any = None,
    step: Any = 1,
    *,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`arange(n)` is 0..n-1 (int64); a float bound or step gives float32, as in PyTorch, with
    PyTorch's values bit for bit: element i is start + step * i in float64, one fused
    multiply-add, computed in the same groups as PyTorch's vectorised kernel."""
    _no_out(out, "arange")
    _check_device(device, "arange")
    if end is None:
        start, end = 0, start
    start = _arange_number(start, "start")
    end = _arange_number(end, "end")
    step = _arange_number(step, "step")
    if step == 0:
        raise TorchRuntimeError("arange: step must be nonzero")
    integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = _dtype(dtype, _LONG if integral else _FLOAT, "arange")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise TorchRuntimeError("arange: unsupported range: the bounds and step must be finite")
    if (end - start) / step < 0:
        raise TorchRuntimeError("arange: upper bound and larger bound inconsistent with step sign")
    if dt.kind in "iu":
        # an integer result: PyTorch converts the bounds and step to int64 first (0.5 becomes
        # 0, which is no step) and counts and computes in int64
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise TorchRuntimeError("arange: step must be nonzero")
        if (end - start) / step < 0:
            raise TorchRuntimeError(
                "arange: upper bound and larger bound inconsistent with step sign"
            )
        data = np.arange(start, end, step, dtype=np.int64).astype(dt)
        return _leaf(data, requires_grad, "arange")
    n = math.ceil((float(end) - float(start)) / float(step))
    i = np.arange(n, dtype=np.int64)
    start64, step64 = float(start), float(step)
    vector = _ARANGE_VECTOR.get(dt)
    if vector is None:  # integer or bool results of a float range: no vectorised grouping
        data = fma64(step64, i, start64)
    else:
        # groups of `vector` elements are computed from the group's first element (rounded to
        # the result dtype), for every whole pair of groups; the tail element by element
        grouped = (n // (2 * vector)) * 2 * vector
        first = i - i % vector
        base = fma64(step64, first, start64).astype(dt).astype(np.float64)
        # (a group's first element is its base itself: -0.0 stays -0.0)
        within = np.where(i == first, base, fma64(i - first, step64, base))
        data = np.where(i < grouped, within, fma64(step64, i, start64))
    return _leaf(data.astype(dt), requires_grad, "arange")


def _linspace_end(v: Any, name: str) -> Any:
    if isinstance(v, Tensor):
        if v.data.ndim:
            raise RuntimeError(f"linspace: {name} must be a number or a 0-d tensor")
        return v.data.item()
    return _arange_number(v, name)


def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from start to end, PyTorch's floats bit for bit: with
    step = (end - start) / (steps - 1) in the result dtype, the first half is start + step * i
    and the second half end - step * (steps - 1 - i), each a fused multiply-add."""
    _no_out(out, "linspace")
    _check_device(device, "linspace")
    if isinstance(steps, Tensor):
        steps = steps.item()
    (steps,) = _size((steps,), "linspace")
    dt = _dtype(dtype, _FLOAT, "linspace")
    start = _linspace_end(start, "start")
    end = _linspace_end(end, "end")
    if steps == 0:
        return _leaf(np.zeros(0, dt), requires_grad, "linspace")
    if steps == 1:
        return _leaf(np.full(1, start, dt), requires_grad, "linspace")
    i = np.arange(steps, dtype=np.int64)
    halfway = steps // 2
    with np.errstate(over="ignore", invalid="ignore"):
        if dt == np.float32:
            s, e = np.float32(start), np.float32(end)
            step = (e - s) / np.float32(steps - 1)
            low = fma32(step, i.astype(np.float32), s)
            high = fma32(-step, (steps - 1 - i).astype(np.float32), e)
        else:  # float64, and integer results (computed in float64, then truncated)
            s, e = np.float64(start), np.float64(end)
            if dt.kind in "iu":
                s, e = np.float64(int(start)), np.float64(int(end))
            step = (e - s) / np.float64(steps - 1)
            low = fma64(step, i, s)
            high = fma64(-step, steps - 1 - i, e)
        data = np.where(i < halfway, low, high)
    return _leaf(data.astype(dt), requires_grad, "linspace")


def randn(
    *size: Any,
    generator: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Standard normal samples of the given shape (PyTorch's numbers for a seeded generator)."""
    _no_out(out, "randn")
    _check_device(device, "randn")
    shape = _size(size, "randn", _size_kw(kw, "randn"))
    dt = _dtype(dtype, _FLOAT, "randn")
    if dt.kind != "f" and math.prod(shape):  # (an empty tensor runs no kernel: no error)
        raise KernelDtypeError(
            f'"normal_kernel_cpu" not implemented for {_TORCH_NAMES.get(dt.name, dt.name)!r} '
            f"(randn: dtype must be a float dtype, got {dt})"
        )
    if dt.kind != "f":
        return _leaf(np.zeros(shape, dt), requires_grad, "randn")
    data = _generator(generator, "randn").normal(shape, 0.0, 1.0, dtype=dt)
    return _leaf(data, requires_grad, "randn")


def rand(
    *size: Any,
    generator: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    **kw: Any,
) -> Tensor:
    """Uniform samples in [0, 1) of the given shape."""
    _no_out(out, "rand")
    _check_device(device, "rand")
    shape = _size(size, "rand", _size_kw(kw, "rand"))
    dt = _dtype(dtype, _FLOAT, "rand")
    if dt.kind != "f":  # (checked before anything is drawn: even for an empty tensor)
        raise KernelDtypeError(
            f'"check_uniform_bounds" not implemented for {_TORCH_NAMES.get(dt.name, dt.name)!r} '
            f"(rand: dtype must be a float dtype, got {dt})"
        )
    data = _generator(generator, "rand").uniform(shape, 0.0, 1.0, dtype=dt)
    return _leaf(data, requires_grad, "rand")


def randn_like(
    input: Tensor,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    a = _like(input, "randn_like")
    dt = dtype if dtype is not None else a.dtype
    return randn(a.shape, generator=generator, dtype=dt, device=device, requires_grad=requires_grad)


def rand_like(
    input: Tensor,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    a = _like(input, "rand_like")
    dt = dtype if dtype is not None else a.dtype
    return rand(a.shape, generator=generator, dtype=dt, device=device, requires_grad=requires_grad)


_MISSING = object()


def randint(
    *args: Any,
    low: Any = _MISSING,
    high: Any = _MISSING,
    size: Any = _MISSING,
    generator: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """`randint(high, size)` or `randint(low, high, size)` (each also by keyword, as
    `randint(0, 10, size=(3,))`): integers in [low, high), int64."""
    _no_out(out, "randint")
    _check_device(device, "randint")
    # PyTorch's overloads: (high, size) and (low, high, size), positional then keywords
    given = {"low": low, "high": high, "size": size}
    names = ["low", "high", "size"]
    if len(args) + sum(v is not _MISSING for v in given.values()) == 2 and low is _MISSING:
        names = ["high", "size"]
    if len(args) > len(names):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    for name, value in zip(names, args):
        if given[name] is not _MISSING:
            raise TypeError(f"randint() got multiple values for argument {name!r}")
        given[name] = value
    if given["low"] is _MISSING:
        given["low"] = 0
    if given["high"] is _MISSING or given["size"] is _MISSING:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high, size = int(given["low"]), int(given["high"]), given["size"]
    if high <= low:
        raise TorchRuntimeError(
            f"randint: random_ expects 'from' to be less than 'to', but got from={low} >= "
            f"to={high} (high must be greater than low)"
        )
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "randint")
    dt = _dtype(dtype, _LONG, "randint")
    data = _generator(generator, "randint").randint(low, high, shape, dtype=dt)
    return _leaf(data, requires_grad, "randint")


def randperm(
    n: int,
    *,
    generator: Any = None,
    out: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    _no_out(out, "randperm")
    _check_device(device, "randperm")
    (n,) = _size((n,), "randperm")
    data = _generator(generator, "randperm").randperm(n)
    dt = _dtype(dtype, _LONG, "randperm")
    return _leaf(data.astype(dt, copy=False), requires_grad, "randperm")


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Draw `num_samples` category indices from the (unnormalised) weights in each row of
    `input` (1-D or 2-D), int64. Bad weights or counts raise RuntimeError, as in PyTorch
    (an error class that is also the ValueError this function raised before)."""
    p = input.data if isinstance(input, Tensor) else np.asarray(input)
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise TorchRuntimeError(
            f"multinomial: input must be 1-D or 2-D and non-empty, got {p.shape}"
        )
    if p.dtype.kind != "f":
        raise TorchRuntimeError(f"multinomial: input must be float weights, got dtype {p.dtype}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise TorchRuntimeError("multinomial: weights must be finite and >= 0")
    if (p.sum(axis=-1) <= 0).any():
        raise TorchRuntimeError("multinomial: every row of weights needs a positive sum")
    (n,) = _size((num_samples,), "multinomial")
    if n == 0:
        raise TorchRuntimeError("multinomial: num_samples must be positive")
    if not replacement and n > p.shape[-1]:
        raise TorchRuntimeError(
            f"multinomial: cannot draw {n} samples without replacement from {p.shape[-1]} "
            f"categories"
        )
    data = _generator(generator, "multinomial").multinomial(p, n, bool(replacement))
    return _leaf(np.asarray(data, dtype=_LONG), False, "multinomial")
