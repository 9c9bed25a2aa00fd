"""Tensor factories in PyTorch's shape: `tensor`, `zeros`, `ones`, `randn`, `arange`, ...

Every factory takes `dtype=` and `requires_grad=` as PyTorch does, and the random ones take
`generator=` (a `micrograd.tensor.Generator`; the module's `default_generator` otherwise, seeded by
`manual_seed`). The dtypes are PyTorch's defaults: float32 for floats, int64 for integers, bool for
bools; `tensor(data)` infers them from the data as PyTorch does (a numpy array keeps its dtype).
No factory's result gets a gradient unless `requires_grad=True` (the rule of the whole engine).

Read `micrograd/tensor/random.py` for the generator, `micrograd/tensor/nn/` next.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from micrograd.tensor import random as _random
from micrograd.tensor.core import Tensor, _check_requires_grad, _new, _np_dtype
from micrograd.tensor.errors import TorchRuntimeError

__all__ = [
    "arange",
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


def _size(size: tuple, op: str) -> tuple:
    """`zeros(2, 3)`, `zeros((2, 3))` and `zeros([2, 3])` all mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = n.item()
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"{op}: sizes must be ints, got {n!r} in {size!r}")
        if n < 0:
            raise ValueError(f"{op}: sizes must be >= 0, got {size!r}")
        out.append(int(n))
    return tuple(out)


def _generator(generator: Any, op: str) -> Any:
    if generator is None:
        return _random.default_generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(
            f"{op}: generator must be a micrograd.tensor.Generator, got {type(generator).__name__}"
        )
    return generator


def _infer(data: Any, op: str) -> np.ndarray:
    """PyTorch's dtype inference for `tensor(data)`: Python bools bool, ints int64, floats
    float32; numpy arrays and scalars keep their dtype."""
    if isinstance(data, Tensor):
        return np.array(data.data)
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{op}: data must be numbers, got a numpy array of dtype {arr.dtype}")
        return arr
    if isinstance(data, (str, bytes)) or not isinstance(data, (numbers.Number, list, tuple, range)):
        raise TypeError(
            f"{op}: data must be a number, a (nested) list of numbers or an array, got "
            f"{type(data).__name__}"
        )
    try:
        arr = np.array(data)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{op}: data is not a rectangular list of numbers: {e}") from None
    kind = arr.dtype.kind
    if kind == "b":
        return arr
    if kind in "iu":
        return arr.astype(_LONG, copy=False)
    if kind == "f":
        return arr.astype(_FLOAT, copy=False)
    raise TypeError(
        f"{op}: data must be numbers (bools, ints that fit int64, floats); numpy read it as "
        f"{arr.dtype} elements (a None, a string or an integer too large?)"
    )


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (numbers, nested lists, a numpy array, a Tensor)."""
    arr = _infer(data, "tensor")
    if dtype is not None:
        arr = arr.astype(_np_dtype(dtype, "tensor"), copy=False)
    return _leaf(arr, requires_grad, "tensor")


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy array, got {type(array).__name__}")
    return _leaf(array, False, "from_numpy")


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = _size(size, "zeros")
    return _leaf(np.zeros(shape, _dtype(dtype, _FLOAT, "zeros")), requires_grad, "zeros")


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape = _size(size, "ones")
    return _leaf(np.ones(shape, _dtype(dtype, _FLOAT, "ones")), requires_grad, "ones")


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros (PyTorch leaves the memory uninitialised; zeros are the safe reading of that)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def _fill_dtype(fill_value: Any) -> np.dtype:
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(bool)
    if isinstance(fill_value, (numbers.Integral, np.integer)):
        return _LONG
    return _FLOAT


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, requires_grad=False):
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "full")
    dt = _dtype(dtype, _fill_dtype(fill_value), "full")
    return _leaf(np.full(shape, fill_value, dt), requires_grad, "full")


def _like(t: Any, op: str) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.data
    raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")


def zeros_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    a = _like(input, "zeros_like")
    return _leaf(
        np.zeros(a.shape, _dtype(dtype, a.dtype, "zeros_like")), requires_grad, "zeros_like"
    )


def ones_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    a = _like(input, "ones_like")
    return _leaf(np.ones(a.shape, _dtype(dtype, a.dtype, "ones_like")), requires_grad, "ones_like")


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, requires_grad=False):
    a = _like(input, "full_like")
    dt = _dtype(dtype, a.dtype, "full_like")
    return _leaf(np.full(a.shape, fill_value, dt), requires_grad, "full_like")


def eye(n: int, m: int | None = None, *, dtype: Any = None, requires_grad=False) -> Tensor:
    (n,) = _size((n,), "eye")
    m = n if m is None else _size((m,), "eye")[0]
    return _leaf(np.eye(n, m, dtype=_dtype(dtype, _FLOAT, "eye")), requires_grad, "eye")


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, requires_grad=False):
    """`arange(n)` is 0..n-1 (int64); a float bound or step gives float32, as in PyTorch."""
    if end is None:
        start, end = 0, start
    for name, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, Tensor):
            v = v.item()
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"arange: {name} must be a number, got {v!r}")
    if step == 0:
        raise ValueError("arange: step must not be 0")
    integral = all(isinstance(v, (numbers.Integral, np.integer)) for v in (start, end, step))
    dt = _dtype(dtype, _LONG if integral else _FLOAT, "arange")
    # computed in float64 (or int64) and then converted, as PyTorch does
    data = np.arange(start, end, step, dtype=np.int64 if integral else np.float64).astype(dt)
    return _leaf(data, requires_grad, "arange")


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, requires_grad=False):
    (steps,) = _size((steps,), "linspace")
    dt = _dtype(dtype, _FLOAT, "linspace")
    return _leaf(np.linspace(start, end, steps).astype(dt), requires_grad, "linspace")


def randn(*size: Any, generator: Any = None, dtype: Any = None, requires_grad=False) -> Tensor:
    """Standard normal samples of the given shape (PyTorch's numbers for a seeded generator)."""
    shape = _size(size, "randn")
    dt = _dtype(dtype, _FLOAT, "randn")
    if dt.kind != "f":
        raise TypeError(f"randn: dtype must be a float dtype, got {dt}")
    data = _generator(generator, "randn").normal(shape, 0.0, 1.0, dtype=dt)
    return _leaf(data, requires_grad, "randn")


def rand(*size: Any, generator: Any = None, dtype: Any = None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) of the given shape."""
    shape = _size(size, "rand")
    dt = _dtype(dtype, _FLOAT, "rand")
    if dt.kind != "f":
        raise TypeError(f"rand: dtype must be a float dtype, got {dt}")
    data = _generator(generator, "rand").uniform(shape, 0.0, 1.0, dtype=dt)
    return _leaf(data, requires_grad, "rand")


def randn_like(input: Tensor, *, generator: Any = None, dtype: Any = None) -> Tensor:
    a = _like(input, "randn_like")
    return randn(a.shape, generator=generator, dtype=dtype if dtype is not None else a.dtype)


def rand_like(input: Tensor, *, generator: Any = None, dtype: Any = None) -> Tensor:
    a = _like(input, "rand_like")
    return rand(a.shape, generator=generator, dtype=dtype if dtype is not None else a.dtype)


def randint(*args: Any, generator: Any = None, dtype: Any = None, requires_grad=False) -> Tensor:
    """`randint(high, size)` or `randint(low, high, size)`: integers in [low, high), int64."""
    if len(args) == 2:
        low, (high, size) = 0, args
    elif len(args) == 3:
        low, high, size = args
    else:
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = int(low), int(high)
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _size((size,) if not isinstance(size, (tuple, list)) else (tuple(size),), "randint")
    dt = _dtype(dtype, _LONG, "randint")
    data = _generator(generator, "randint").randint(low, high, shape, dtype=dt)
    return _leaf(data, requires_grad, "randint")


def randperm(n: int, *, generator: Any = None, dtype: Any = None) -> Tensor:
    (n,) = _size((n,), "randperm")
    data = _generator(generator, "randperm").randperm(n)
    return _leaf(data.astype(_dtype(dtype, _LONG, "randperm"), copy=False), False, "randperm")


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
