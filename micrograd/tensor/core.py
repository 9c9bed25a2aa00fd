"""`Tensor`: a numpy array that remembers how it was computed -- `Value`, one array at a time.

A Tensor is a node of the same kind of graph as `micrograd.engine.Value`: `data` (a numpy array),
`grad` (a Tensor of the same shape and dtype, as in PyTorch; None until a backward pass reaches
it; tools may also store a plain array there), `_prev`
(the input Tensors, in order), `_op` (the operation's name, '' for a leaf) and `label`. So
`micrograd.graph`, `micrograd.viz.draw_dot` and `micrograd.gradcheck` work on it unchanged.

Each operator calls one primitive `Function` from `micrograd/tensor/functions.py` (forward and
backward side by side) or is built from a few of them in one line. `backward()` visits the graph
in reverse topological order and calls each node's function with the node's gradient.

Semantics, as in PyTorch where the original micrograd has nothing to say:

* numpy broadcasting everywhere; the gradient of a broadcast operand is summed back to its
  shape (`functions.unbroadcast`);
* dtype: `Tensor(2, 3)`, `Tensor([1, 2])` and `Tensor(t)` are PyTorch's legacy constructor
  (float32); the engine's own form `Tensor(data, requires_grad=..., dtype=..., label=...)`
  keeps float arrays as they are (float32 in, float32 data and gradients out) and makes lists
  and numbers float64; the factory `micrograd.tensor.tensor(...)` follows PyTorch (ints int64,
  floats float32, bools bool). Mixed dtypes follow PyTorch's promotion (`result_type`: a
  higher category -- bool < integer < float -- wins, a 0-d tensor or a Python number does not
  widen a dimensioned tensor of its category); the gradient is converted back for each
  input's dtype. Only float tensors take part in gradients;
* gradients, PyTorch's rule: no tensor gets a gradient until asked (`requires_grad=True`, or
  `t.requires_grad = True`); a result needs one when any input does. Leaf gradients accumulate
  over backward passes (set `p.grad = None`, or `model.zero_grad()`, between steps); interior
  nodes keep theirs only after `retain_grad()`;
* `backward()` frees the graph as it goes (each node drops its inputs and saved arrays), so
  memory is released right away; `backward(retain_graph=True)` keeps it for another pass or a
  drawing. A second pass through a freed graph raises RuntimeError instead of silently
  stopping;
* `with no_grad():` computes results without building a graph (evaluation, optimizer steps).

The Python work per operation is kept short on purpose (no per-op validation of values, no
conversions of arrays that are already arrays): on small models it, not numpy, is the cost.

Read `micrograd/tensor/factories.py` (`tensor`, `zeros`, `randn`...) and
`micrograd/tensor/nn/` next.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import operator
from collections.abc import Sequence
from heapq import heappop, heappush
from typing import Any

import numpy as np

from micrograd.tensor import _native, _tensor_str
from micrograd.tensor import device as _device
from micrograd.tensor import dtypes as _dtypes
from micrograd.tensor import functions as F
from micrograd.tensor._missing import similar
from micrograd.tensor._topk import topk_indices
from micrograd.tensor.errors import (
    KernelDtypeError,
    TorchDtypeError,
    TorchIndexError,
    TorchIndexTypeError,
    TorchRuntimeError,
    TorchTypeError,
)
from micrograd.tensor.size import Size, from_shape

__all__ = [
    "Tensor",
    "as_tensor",
    "cat",
    "concatenate",
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "linear",
    "no_grad",
    "set_grad_enabled",
    "stack",
]

# `t.max(dim)` / `t.min(dim)` return (values, indices), PyTorch's `torch.return_types.max`.
from collections import namedtuple as _namedtuple

MaxResult = _namedtuple("max", ["values", "indices"])
MinResult = _namedtuple("min", ["values", "indices"])


class TopkResult(_namedtuple("topk", ["values", "indices"])):
    """`torch.topk`'s `(values, indices)`, printed as PyTorch prints `torch.return_types.topk`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"torch.return_types.topk(\nvalues={self.values!r},\nindices={self.indices!r})"


# Whether operations record a graph; `no_grad()` switches it off. A module global because the
# hot path reads it once per operation and a global lookup is the cheapest read there is.
_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """A context manager and decorator that sets whether operations record a graph, and puts
    the old setting back on exit. As in PyTorch it decorates bare (`@torch.no_grad`) or
    called (`@torch.no_grad()`)."""

    _mode = False

    def __new__(cls, orig_func: Any = None) -> Any:
        self = super().__new__(cls)
        if orig_func is None:
            return self
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments, got {orig_func!r}")
        self.__init__()  # (Python calls __init__ only when __new__ returns an instance)
        return self(orig_func)  # the bare decorator: `@no_grad` on a function

    def __init__(self, orig_func: Any = None) -> None:
        self._saved: list = []

    def __enter__(self) -> Any:
        global _grad_enabled
        self._saved.append(_grad_enabled)  # a stack: the same object may be re-entered
        _grad_enabled = self._mode
        return None

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._saved.pop()


class no_grad(_GradMode):
    """`with no_grad():`, `@no_grad()` or `@no_grad` -- operations inside build no graph: their
    results have `requires_grad=False` and keep no references to their inputs."""

    _mode = False


class enable_grad(_GradMode):
    """`with enable_grad():` (or as a decorator) -- record graphs again inside a `no_grad`."""

    _mode = True


class inference_mode(_GradMode):
    """`with inference_mode():` (or as a decorator): here the same as `no_grad` (PyTorch also
    marks the results as inference tensors, which later refuse autograd; this package does not
    track that). `inference_mode(False)` changes nothing."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # bare `@inference_mode`
            self = object.__new__(cls)
            self.__init__()
            return self(mode)
        return object.__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        super().__init__()
        self._mode = False if mode is True or callable(mode) else None

    def __enter__(self) -> Any:
        global _grad_enabled
        self._saved.append(_grad_enabled)
        if self._mode is not None:
            _grad_enabled = self._mode
        return None


class set_grad_enabled(_GradMode):
    """`set_grad_enabled(False)` switches graph recording off at once (a function call, as in
    PyTorch); `with set_grad_enabled(mode):` sets it for the block and puts the old setting
    back, and `@set_grad_enabled(mode)` for a function's calls."""

    def __new__(cls, mode: Any) -> Any:
        return object.__new__(cls)

    def __init__(self, mode: Any) -> None:
        global _grad_enabled
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        super().__init__()
        self._mode = bool(mode)
        self._before_call = _grad_enabled
        self._pending = True  # the construction switched the mode; `with` puts back this one
        _grad_enabled = self._mode

    def __call__(self, func: Any) -> Any:
        # used as a decorator: the construction must not have switched the mode for good
        global _grad_enabled
        _grad_enabled = self._before_call
        self._pending = False
        return super().__call__(func)

    def __enter__(self) -> Any:
        global _grad_enabled
        self._saved.append(self._before_call if self._pending else _grad_enabled)
        self._pending = False
        _grad_enabled = self._mode
        return None


def _as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """`data` as a float numpy array: float arrays kept as they are (no copy), lists and numbers
    as float64, integer and bool arrays converted to float64. Anything else is a TypeError."""
    if type(data) is np.ndarray:
        kind = data.dtype.kind
        if kind == "f":
            return data if dtype is None else data.astype(dtype, copy=False)
        if kind in "biu":
            return data.astype(np.float64 if dtype is None else dtype)
        raise TypeError(f"Tensor: data must be numbers, got a numpy array of dtype {data.dtype}")
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        return np.asarray(
            data,
            dtype=dtype
            if dtype is not None
            else (data.dtype if data.dtype.kind == "f" else np.float64),
        )
    if isinstance(data, Tensor):
        raise TypeError("Tensor: data is already a Tensor; use t.detach() or Tensor(t.data)")
    if isinstance(data, (numbers.Real, list, tuple)) and not isinstance(data, (str, bytes)):
        try:
            arr = np.array(data, dtype=np.float64 if dtype is None else dtype)
        except (ValueError, TypeError) as err:
            raise TypeError(
                f"Tensor: data must be a number or a (nested) list of numbers: {err}"
            ) from None
        return arr
    raise TypeError(
        f"Tensor: data must be a number, a list of numbers or a numpy array, "
        f"got {type(data).__name__}"
    )


def _check_requires_grad(data: np.ndarray, requires_grad: Any) -> bool:
    flag = bool(requires_grad)
    if flag and data.dtype.kind not in "fc":
        raise RuntimeError(
            f"only Tensors of floating point and complex dtype can require gradients (this "
            f"one is {data.dtype})"
        )
    return flag


def _np_dtype(dtype: Any, op: str) -> np.dtype:
    """A dtype argument (micrograd.tensor.float32, a numpy dtype or type, a name) as numpy's;
    a TypeError for a dtype this engine has no tensors of (`dtypes.numpy_dtype`)."""
    return _dtypes.numpy_dtype(dtype, op)


def _dim_args(dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> tuple:
    """PyTorch's `dim`/`keepdim` with numpy's `axis`/`keepdims` accepted as the same thing."""
    if axis is not None:
        if dim is not None:
            raise TypeError("give `dim` or `axis`, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)


def _maximum(a: Tensor, b: Tensor, largest: bool) -> Tensor:
    """Elementwise maximum (or minimum) of two tensors, with PyTorch's gradients (a tie splits
    the gradient, a nan sends it to both sides; `functions.Maximum`)."""
    cls = F.Maximum if largest else F.Minimum
    return _binary(cls, a, b, cls.op)


def _same_dtypes(a: Tensor, b: Tensor) -> None:
    """`a @ b` needs one dtype, as in PyTorch (no promotion for matrix products)."""
    if a.data.dtype != b.data.dtype:
        raise TorchDtypeError(
            f"expected m1 and m2 to have the same dtype, but got: {a.data.dtype} != "
            f"{b.data.dtype} (convert one with .to(), e.g. .float())"
        )


def _number(x: Any) -> Any:
    """A Python number for `x` if it is a real number (Python or numpy scalar), else None.

    numpy scalars become Python numbers so that numpy treats them as "weak": a float32 Tensor
    times `np.float64(2)` stays float32, as it does with `2.0`. Bools stay bools: PyTorch's
    promotion puts them below ints (`int_tensor + True` is int64, `bool_tensor * True` bool)."""
    t = type(x)
    if t is float or t is int or t is bool:
        return x
    if isinstance(x, np.generic):
        return x.item() if x.dtype.kind in "biuf" else None
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    return None


_new = object.__new__
_ndarray = np.ndarray

# The default of keyword arguments whose mere presence matters (the Tensor constructor's).
_UNSET = object()


def _node(data: Any, prev: tuple, fn: F.Function, op: str) -> Tensor:
    """An operation's result inside the graph (the constructor's checks skipped: `data` comes
    from numpy operations on arrays that were checked when they became Tensors)."""
    out = _new(Tensor)
    if type(data) is not _ndarray:  # numpy gives scalars for 0-d results: data is an array
        data = np.asarray(data)
    out._data = data  # the hidden slots: numpy made the array, in the graph
    out._requires_grad = True
    out.grad = None
    out._prev = prev
    out._fn = fn
    out._op = op
    out._seq = _next_seq()
    return out


# Creation numbers of graph nodes: an input is always numbered before the nodes that use it.
_next_seq = itertools.count().__next__


def _labelled(out: Tensor, label: str) -> Tensor:
    """Label a graph node built from other primitives with the operation the user called
    (`squeeze` is a reshape): drawings show it, and its repr names PyTorch's node for that
    operation (`_tensor_str.grad_fn_name`). A result outside the graph is left alone."""
    if out._fn is not None:
        out._op = label
    return out


def _const(data: Any) -> Tensor:
    """An operation's result outside any graph (no input needs a gradient, or `no_grad`)."""
    out = _new(Tensor)
    if type(data) is not _ndarray:  # numpy gives scalars for 0-d results: data is an array
        data = np.asarray(data)
    out._data = data  # the hidden slots: numpy made the array, no graph
    out._requires_grad = False
    out.grad = None
    out._prev = ()
    out._fn = None
    out._op = ""
    return out


def _unary(fn: F.Function, a: Tensor, data: Any) -> Tensor:
    """Wrap `data`, computed by `fn.forward` from `a`, as a node (or a constant)."""
    if a.requires_grad and _grad_enabled:
        return _node(data, (a,), fn, fn.op)
    return _const(data)


# PyTorch's type categories: bool < integer < float.
_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}


def _result_dtype(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """PyTorch's promotion of two tensors: a higher category wins outright (an int64 tensor
    with a float32 one is float32, where numpy says float64); within a category a 0-d tensor
    does not widen a dimensioned one; otherwise the wider dtype."""
    da, db = a.dtype, b.dtype
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        return da if ca > cb else db
    if a.ndim == 0 and b.ndim:
        return db
    if b.ndim == 0 and a.ndim:
        return da
    return np.result_type(da, db)


def _promote(a: Tensor, b: Tensor) -> tuple:
    """Give two operands one dtype (PyTorch's rule, `_result_dtype`), through a Cast node so
    that the gradient comes back in each tensor's own dtype."""
    da, db = a.data.dtype, b.data.dtype
    if da == db:
        return a, b
    target = _result_dtype(a.data, b.data)
    if da != target:
        a = _cast(a, target)
    if db != target:
        b = _cast(b, target)
    return a, b


def _cast(a: Tensor, dtype: Any) -> Tensor:
    fn = _new(F.Cast)
    return _unary(fn, a, fn.forward(a.data, dtype))


def _weak(a: Tensor, c: Any) -> Tensor:
    """An integer or bool tensor meeting a Python number, as in PyTorch: a float number makes
    the tensor float32 (numpy would say float64), an int makes a bool tensor int64, a bool
    changes nothing (bool is the lowest category)."""
    kind = a.data.dtype.kind
    if kind == "f":
        return a
    tc = type(c)
    if tc is float:
        return _cast(a, np.float32)
    if kind == "b" and tc is int:
        return _cast(a, np.int64)
    return a


def _scalar_dtype(c: Any) -> np.dtype:
    """The dtype PyTorch gives a Python number on its own (a "wrapped number")."""
    tc = type(c)
    return _BOOL if tc is bool else _INT64 if tc is int else _FLOAT32


_BOOL = np.dtype(np.bool_)
_INT64 = np.dtype(np.int64)
_FLOAT32 = np.dtype(np.float32)


def _promote_types(da: np.dtype, db: np.dtype) -> np.dtype:
    """torch.promote_types: a higher category wins outright (int64 with float32 is float32,
    where numpy says float64); within a category the wider dtype."""
    if da == db:
        return da
    ca, cb = _CATEGORY[da.kind], _CATEGORY[db.kind]
    if ca != cb:
        return da if ca > cb else db
    return np.promote_types(da, db)


def _combine(higher: Any, lower: Any) -> Any:
    """c10's combine_categories: the dtype of a higher priority group of operands (dimensioned
    tensors over 0-d tensors over Python numbers) wins unless the lower group is of a higher
    category (then the two are promoted); None is an empty group."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote_types(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """PyTorch's `torch.result_type` over tensors and Python numbers: the dtype an arithmetic
    operation on them computes in."""
    dim = zero = wrapped = None
    for x in operands:
        if isinstance(x, Tensor):
            dt = x.data.dtype
            if x.data.ndim:
                dim = dt if dim is None else _promote_types(dim, dt)
            else:
                zero = dt if zero is None else _promote_types(zero, dt)
        elif x is not None:
            c = _number(x)
            if c is None:
                raise TypeError(f"result_type: expected Tensors or numbers, got {type(x).__name__}")
            dt = _scalar_dtype(c)
            wrapped = dt if wrapped is None else _promote_types(wrapped, dt)
    return _combine(dim, _combine(zero, wrapped))


def _operands(result: np.dtype, *operands: Any) -> list:
    """The operands as Tensors of dtype `result`: tensors through a Cast node (their gradients
    come back in their own dtype), numbers as 0-d constants, None kept."""
    out = []
    for x in operands:
        if isinstance(x, Tensor):
            out.append(x if x.data.dtype == result else _cast(x, result))
        elif x is None:
            out.append(None)
        else:
            out.append(_const(np.asarray(_number(x), dtype=result)))
    return out


def _binary(cls: type, a: Tensor, b: Tensor, name: str) -> Tensor:
    """Apply a broadcasting binary primitive; a shape mismatch names the op and both shapes."""
    ad = a.data
    bd = b.data
    if ad.dtype is not bd.dtype:
        a, b = _promote(a, b)
        ad = a.data
        bd = b.data
    if not ((a.requires_grad or b.requires_grad) and _grad_enabled):
        # nothing to record (data, or under no_grad): the primitive's forward is the numpy
        # operator itself, so skip the Function object
        try:
            return _const(cls.compute(ad, bd))
        except (ValueError, TypeError) as err:
            _binary_error(cls, name, ad, bd, err)
    fn = _new(cls)
    try:
        data = fn.forward(ad, bd)
    except (ValueError, TypeError) as err:
        _binary_error(cls, name, ad, bd, err)
    return _node(data, (a, b), fn, cls.op)


def _binary_error(cls: type, name: str, ad: np.ndarray, bd: np.ndarray, err: Exception) -> None:
    """Re-raise a binary primitive's error: a shape mismatch names the op and both shapes."""
    if isinstance(err, F.DomainError) or not isinstance(err, ValueError):
        raise err
    sep = "@" if cls is F.MatMul else "and"
    raise TorchRuntimeError(
        f"{name}: shapes {tuple(np.shape(ad))} {sep} {tuple(np.shape(bd))} "
        + ("do not match" if cls is F.MatMul else "cannot be broadcast together")
    ) from None


def _operand(x: Any) -> Tensor | None:
    """The other side of an operator as a Tensor without gradient (arrays, lists), or None for
    types we do not handle (the operator then returns NotImplemented, so Python raises its
    usual TypeError naming both types)."""
    if type(x) is np.ndarray or isinstance(x, (list, tuple)):
        return _const(_as_array(x))
    if isinstance(x, Tensor):  # a subclass (nn.Parameter): the operators' fast paths test
        return x  # `type(x) is Tensor`, so it arrives here
    return None


def as_tensor(x: Any, requires_grad: bool = False) -> Tensor:
    """`x` itself if it is a Tensor, else a new Tensor of it (no gradient by default: data)."""
    return x if isinstance(x, Tensor) else Tensor(x, requires_grad=requires_grad)


def _no_out(out: Any, op: str) -> None:
    if out is not None:
        raise TypeError(
            f"{op}: out= is not supported (micrograd.tensor writes no result into an existing "
            f"tensor); assign the result instead"
        )


def _tensor_or_number(x: Any) -> Any:
    """A binary function's operand: a Tensor, a Python number, or an array/list made a Tensor;
    None for anything else."""
    if isinstance(x, Tensor):
        return x
    c = _number(x)
    if c is not None:
        return c
    return _operand(x)


def _binary_operands(x: Any, y: Any, op: str) -> tuple:
    """Two operands (at least one a Tensor) in their PyTorch result dtype: (a, b, dtype), or
    None when an operand is of a type we do not handle (the operator returns NotImplemented)."""
    x, y = _tensor_or_number(x), _tensor_or_number(y)
    if x is None or y is None:
        return None
    dtype = result_type(x, y)
    a, b = _operands(dtype, x, y)
    return a, b, dtype


def _bool_subtraction(x: Any, y: Any) -> None:
    """PyTorch refuses `-` with a bool operand (a tensor or a Python bool)."""

    def is_bool(v: Any) -> bool:
        return (isinstance(v, Tensor) and v.data.dtype.kind == "b") or isinstance(
            v, (bool, np.bool_)
        )

    if is_bool(x) and is_bool(y):
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` "
            "or `logical_xor()` operator instead."
        )
    if is_bool(x) or is_bool(y):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )


def _integer_power(x: Any, y: Any) -> Tensor:
    """An integer (or bool) base to an integer power, outside the graph (integers have no
    gradient): PyTorch's integer semantics, see `functions.integer_power`."""
    a, b, dtype = _binary_operands(x, y, "pow")
    _not_for_bool(dtype, "pow")
    data = F.integer_power(a.data, b.data)
    return _const(np.asarray(data).astype(dtype, copy=False))


def _not_for_bool(dtype: np.dtype, kernel: str) -> None:
    if dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _floor_divide(x: Any, y: Any) -> Any:
    """x // y as PyTorch: floor division (integers stay integers; an integer division by zero
    raises RuntimeError('ZeroDivisionError')). PyTorch has no derivative for it: a backward
    pass through it raises."""
    ops = _binary_operands(x, y, "floor_divide")
    if ops is None:
        return NotImplemented
    a, b, dtype = ops
    _not_for_bool(dtype, "div_floor_cpu")
    try:
        data = np.asarray(F.floor_divide(a.data, b.data))
    except ValueError:
        _binary_error(F.Div, "floor_divide", a.data, b.data, ValueError())
    if _grad_enabled and (a.requires_grad or b.requires_grad):
        fn = _new(F.NotDifferentiable)
        return _node(fn.forward(data, "floor_divide"), (a, b), fn, "floor_divide")
    return _const(data)


def _remainder(x: Any, y: Any) -> Any:
    """x % y as PyTorch (Python's sign convention: the result has y's sign)."""
    ops = _binary_operands(x, y, "remainder")
    if ops is None:
        return NotImplemented
    a, b, dtype = ops
    _not_for_bool(dtype, "remainder_cpu")
    fn = _new(F.Remainder)
    try:
        data = np.asarray(fn.forward(a.data, b.data))
    except ValueError:
        _binary_error(F.Div, "remainder", a.data, b.data, ValueError())
    if _grad_enabled and (a.requires_grad or b.requires_grad):
        return _node(data, (a, b), fn, fn.op)
    return _const(data)


def _rounded_division(x: Any, y: Any, rounding_mode: Any) -> Tensor:
    """`torch.div(x, y, rounding_mode='trunc' | 'floor')`: the quotient rounded, in the operands'
    result dtype (integers stay integers); the gradient is zero, as PyTorch's."""
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"{rounding_mode!r}"
        )
    ops = _binary_operands(x, y, "div")
    if ops is None:
        raise TypeError(
            f"div: expected Tensors or numbers, got {type(x).__name__} and {type(y).__name__}"
        )
    a, b, dtype = ops
    _not_for_bool(dtype, f"div_{rounding_mode}_cpu")
    ad, bd = a.data, b.data
    try:
        if rounding_mode == "floor":
            data = F.floor_divide(ad, bd)
        elif dtype.kind in "iu":
            F.check_integer_divisor(bd, "div")
            q = np.floor_divide(ad, bd)
            # C's truncating division: floor + 1 where the signs differ and it is inexact
            data = q + ((np.remainder(ad, bd) != 0) & ((ad < 0) != (bd < 0)))
        else:
            data = np.trunc(F._true_divide(ad, bd))
    except ValueError:
        _binary_error(F.Div, "div", ad, bd, ValueError())
    data = np.asarray(data).astype(dtype, copy=False)
    if _grad_enabled and (a.requires_grad or b.requires_grad):
        fn = _new(F.ZeroGrad)
        return _node(fn.forward(data), (a, b), fn, "div_" + rounding_mode)
    return _const(data)


def _add_scaled(x: Tensor, y: Any, alpha: Any, op: str, negate: bool = False) -> Tensor:
    """x + alpha * y (x - alpha * y when `negate`), as `torch.add(x, y, alpha=alpha)`: one
    fused multiply-add on floats (PyTorch's CPU kernel), exact on integers."""
    ops = _binary_operands(x, y, op)
    if ops is None:
        raise TypeError(f"{op}: expected a Tensor or a number, got {type(y).__name__}")
    a, b, dtype = ops
    k = _number(alpha)
    if k is None:
        raise TypeError(f"{op}: alpha must be a number, got {type(alpha).__name__}")
    if dtype.kind in "iub" and type(k) is float:
        raise RuntimeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )
    if dtype.kind != "b" and type(k) is bool:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if negate:
        if dtype.kind == "b":
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use "
                "the `^` or `logical_xor()` operator instead."
            )
        k = -k
    fn = _new(F.AddScaled)
    try:
        data = fn.forward(a.data, b.data, k)
    except ValueError:
        _binary_error(F.Add, op, a.data, b.data, ValueError())
    if _grad_enabled and (a.requires_grad or b.requires_grad):
        return _node(data, (a, b), fn, fn.op)
    return _const(data)


def _clamp(x: Tensor, lo: Any, hi: Any, op: str) -> Tensor:
    if lo is None and hi is None:
        raise RuntimeError(
            f"torch.{op.rstrip('_')}: At least one of 'min' or 'max' must not be None"
        )
    for name, v in (("min", lo), ("max", hi)):
        if v is not None and _tensor_or_number(v) is None:
            raise TypeError(f"{op}: {name} must be a number or a Tensor, got {type(v).__name__}")
    lo, hi = (
        _tensor_or_number(lo) if lo is not None else None,
        (_tensor_or_number(hi) if hi is not None else None),
    )
    dtype = result_type(x, lo, hi)
    a, lo, hi = _operands(dtype, x, lo, hi)
    fn = _new(F.Clamp)
    tensor_lo = lo is not None and lo.requires_grad
    tensor_hi = hi is not None and hi.requires_grad
    try:
        data = fn.forward(
            a.data,
            None if lo is None else lo.data,
            None if hi is None else hi.data,
            tensor_lo,
            tensor_hi,
        )
    except ValueError:
        raise TorchRuntimeError(
            f"{op}: shapes {a.shape}, {None if lo is None else lo.shape} and "
            f"{None if hi is None else hi.shape} cannot be broadcast together"
        ) from None
    prev = (a,) + ((lo,) if tensor_lo else ()) + ((hi,) if tensor_hi else ())
    if _grad_enabled and any(t.requires_grad for t in prev):
        # PyTorch names tensor bounds' node apart (ClampBackward0): a label that outlives backward
        return _node(data, prev, fn, "clamp_tensor" if tensor_lo or tensor_hi else fn.op)
    return _const(data)


def _int_arg(x: Any, op: str, name: str) -> int:
    """An integer argument as PyTorch takes it: an int, a numpy integer or a one-element integer
    tensor; anything else (a float, a bool) is a TypeError naming the argument, and an int
    outside int64 (PyTorch's C++ argument type) both a ValueError (PyTorch's for one int) and a
    TypeError (its for an int in a list), instead of numpy's OverflowError or a silently
    accepted huge value."""
    if type(x) is int:
        value = x
    elif isinstance(x, np.integer):
        value = int(x)
    elif isinstance(x, Tensor) and x.data.size == 1 and x.data.dtype.kind in "iu":
        value = int(x.data.item())
    else:
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(x).__name__}")
    if not -(1 << 63) <= value < (1 << 63):
        raise TorchTypeError(
            f"{op}(): argument '{name}' is {value}, outside the int64 range PyTorch takes "
            "(Overflow when unpacking long long)"
        )
    return value


def _float_arg(x: Any, op: str, name: str, position: int) -> Any:
    """A float argument as PyTorch takes it (a real number or a one-element tensor), returned
    unchanged; anything else a TypeError naming the argument, as PyTorch's argument parser says
    it, instead of numpy's words about strings or a failed comparison with None."""
    if isinstance(x, (numbers.Real, np.floating, np.integer)):
        return x
    if isinstance(x, Tensor) and x.data.size == 1 and x.data.dtype.kind in "fiub":
        return x.data.item()
    raise TypeError(
        f"{op}(): argument '{name}' (position {position}) must be float, not {type(x).__name__}"
    )


def _int_tuple(x: Any, op: str, name: str) -> tuple:
    """An int or a sequence of ints (`shifts`, `dims`) as a tuple of ints."""
    if isinstance(x, (tuple, list)):
        return tuple(_int_arg(v, op, name) for v in x)
    return (_int_arg(x, op, name),)


def _split_sizes(length: int, size: int) -> list:
    """PyTorch's pieces of `size` along an axis of `length`: as many full ones as fit, then the
    rest (at least one piece, possibly empty)."""
    count = max(-(-length // size), 1) if size else 1
    return [size] * (count - 1) + [length - size * (count - 1)]


def _fill_value(value: Any, dtype: np.dtype, op: str) -> np.ndarray:
    """A Python number as a 0-d array of `dtype`, converted as PyTorch converts a fill value:
    floats to integers truncated, and a value the dtype cannot hold (a finite float beyond
    float32's range, nan or inf or too large a number for an integer dtype) a RuntimeError."""
    kind = dtype.kind
    if kind == "b":
        return np.asarray(bool(value))
    if kind == "f":
        value = float(value)
        info = np.finfo(dtype)
        if math.isfinite(value) and not float(info.min) <= value <= float(info.max):
            raise TorchRuntimeError(
                f"{op}: value {value!r} cannot be converted to type {dtype} without overflow"
            )
        return np.asarray(value, dtype=dtype)
    python_int = type(value) is not float
    if not python_int:
        if not math.isfinite(value):
            raise TorchRuntimeError(
                f"{op}: value {value!r} cannot be converted to type {dtype} without overflow"
            )
        value = int(value)  # towards zero, as C++ converts
    info = np.iinfo(dtype)
    if not info.min <= value <= info.max:
        if python_int and not -(2**63) <= value < 2**63:  # (PyTorch's argument parser)
            raise OverflowError(f"{op}: value {value} is too big to convert")
        raise TorchRuntimeError(
            f"{op}: value {value} cannot be converted to type {dtype} without overflow"
        )
    return np.asarray(value, dtype=dtype)


def _masked_fill(x: Tensor, mask: Any, value: Any, op: str) -> Tensor:
    """`x.masked_fill(mask, value)` (`op` ending in "_": the in-place form's checks: the mask
    must not make x bigger)."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.data.dtype.kind != "b":
        raise TorchDtypeError(
            f"{op} only supports boolean masks, but got mask with dtype {mask.dtype} (compare, "
            f"e.g. mask == 0, or convert with .bool())"
        )
    dtype = x.data.dtype
    value_node = None  # the value's tensor, when the gradient must reach it
    if isinstance(value, Tensor):
        if value.data.ndim:
            raise TorchRuntimeError(
                f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.data.ndim} dimension(s)."
            )
        fill = _fill_value(value.data.item(), dtype, op)
        if value.requires_grad and _grad_enabled and dtype.kind == "f":
            value_node = value if value.data.dtype == dtype else _cast(value, dtype)
    else:
        number = _number(value)
        if number is None:
            if isinstance(value, numbers.Complex):
                raise TorchRuntimeError(f"{op}: a complex value cannot fill a {dtype} tensor")
            raise TypeError(
                f"{op}(): argument 'value' must be a number or a 0-d Tensor, not "
                f"{type(value).__name__}"
            )
        fill = _fill_value(number, dtype, op)
    shape = x.data.shape
    try:
        out_shape = np.broadcast_shapes(shape, mask.data.shape)
    except ValueError:
        raise TorchRuntimeError(
            f"{op}: the mask's shape {tuple(mask.data.shape)} cannot be broadcast to the "
            f"tensor's shape {tuple(shape)}"
        ) from None
    if op.endswith("_") and out_shape != shape:
        raise TorchRuntimeError(
            f"{op}: output with shape {list(shape)} doesn't match the broadcast shape "
            f"{list(out_shape)}"
        )
    fn = _new(F.MaskedFill)
    data = fn.forward(x.data, mask.data, fill)
    if value_node is not None:
        out = _node(data, (x, value_node), fn, fn.op)
    elif x.requires_grad and _grad_enabled:
        out = _node(data, (x,), fn, fn.op)
    else:
        return _const(data)
    # PyTorch names the backward of a tensor value's fill apart from a number's
    return _labelled(out, "masked_fill_tensor") if isinstance(value, Tensor) else out


def _topk_indices(data: np.ndarray, k: int, axis: int, largest: bool, sorted: bool) -> np.ndarray:
    """The int64 indices of torch.topk along `axis` (k of them there). A numpy sort gives them
    where the top k are distinct; a row where equal values meet among its first k + 1 (or every
    row, for `sorted=False` where torch leaves the first k in selection order) is replayed
    through libstdc++'s algorithms (`_topk.py`), so tied indices come out as torch's do."""
    moved = np.moveaxis(data, axis, -1)
    length = moved.shape[-1]
    rows = moved.reshape(math.prod(moved.shape[:-1]), length)
    if k == 0:
        picked = np.zeros((rows.shape[0], 0), np.int64)
    else:
        # ascending with nan last: reversed, largest first with nan first (torch's order)
        order = np.argsort(rows, axis=-1, kind="stable")
        if largest:
            order = order[:, ::-1]
        picked = order[:, :k].astype(np.int64)
        if not sorted and k * 64 > length:
            replay = range(rows.shape[0])
        else:
            head = np.take_along_axis(rows, order[:, : k + 1], axis=-1)
            same = head[:, 1:] == head[:, :-1]
            if rows.dtype.kind == "f":
                same |= np.isnan(head[:, 1:]) & np.isnan(head[:, :-1])
            replay = np.flatnonzero(same.any(axis=1)).tolist()
        for r in replay:
            # ranks (equal values equal ranks, nan the highest) order the row as torch's
            # comparison does: larger first for largest, smaller first (nan last) otherwise
            ranks = np.unique(rows[r], return_inverse=True)[1].reshape(-1)
            keys = ranks if largest else -ranks
            picked[r] = topk_indices(keys.tolist(), k, sorted)
    return np.moveaxis(picked.reshape(moved.shape[:-1] + (k,)), -1, axis)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """`torch.where(condition, input, other)`: input's elements where condition is True, other's
    elsewhere (broadcast together, in their PyTorch result dtype; gradients flow to the side
    each element came from). `torch.where(condition)` alone is `condition.nonzero(as_tuple=True)`:
    a tuple of int64 index tensors."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where: condition must be a Tensor, got {type(condition).__name__}")
    if input is None and other is None:
        return tuple(_const(i.astype(np.int64, copy=False)) for i in np.nonzero(condition.data))
    if condition.data.dtype.kind != "b":
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{_torch_name(condition.data.dtype)}"
        )
    x, y = _tensor_or_number(input), _tensor_or_number(other)
    if x is None or y is None:
        bad = input if x is None else other
        raise TypeError(f"where: expected Tensors or numbers, got {type(bad).__name__}")
    dtype = result_type(x, y)
    a, b = _operands(dtype, x, y)
    fn = _new(F.Where)
    try:
        data = fn.forward(condition.data, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {condition.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    if _grad_enabled and (a.requires_grad or b.requires_grad):
        return _node(data, (a, b), fn, fn.op)
    return _const(data)


# PyTorch's C++ names of dtypes, as its random kernels' errors print them (the factories' too)
_TORCH_NAMES = {"int64": "Long", "int32": "Int", "bool": "Bool", "float32": "Float"}


def _torch_name(dtype: np.dtype) -> str:
    names = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int"}
    return names.get(dtype.name, dtype.name)


def _check_device(device: Any, op: str) -> None:
    """`device=` as PyTorch takes it: the CPU is accepted, any other device refused in one line
    (`micrograd/tensor/device.py`)."""
    if device is not None:
        _device.check_device(device, op)


def _legacy_new(args: tuple) -> np.ndarray:
    """The data of PyTorch's `torch.Tensor(*args)`: sizes give float32 zeros, data a float32
    copy, a Tensor its own data (shared)."""
    if not args:
        return np.zeros(0, np.float32)
    first = args[0]
    if len(args) == 1 and isinstance(first, Tensor):
        return first.data
    sizes = args
    if len(args) == 1 and isinstance(first, tuple) and type(first) is not tuple:
        sizes = tuple(first)  # a torch.Size (a tuple subclass) is a shape, a tuple is data
    if sizes and all(
        isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, (bool, np.bool_))
        for n in sizes
    ):
        shape = tuple(int(n) for n in sizes)
        for n in shape:
            if n < 0:
                raise RuntimeError(
                    f"Trying to create tensor with negative dimension {n}: {list(shape)}"
                )
        return np.zeros(shape, np.float32)
    if len(args) != 1:
        raise TypeError(
            f"Tensor: expected sizes (ints), one sequence of numbers or a Tensor, got "
            f"{', '.join(type(a).__name__ for a in args)}"
        )
    return np.array(_as_array(first, np.float32))


# Freed nodes get this as their function: a second backward pass through them is an error.
class _Freed(F.Function):
    __slots__ = ()
    op = "freed"

    def backward(self, g, prev):
        raise RuntimeError(
            "backward: this graph was freed by an earlier backward(); pass retain_graph=True "
            "to the first backward() to go through it again"
        )


_FREED = _Freed()


def _checked_data(tensor: Tensor, value: Any) -> np.ndarray:
    """What `tensor.data = value` stores: the array itself, a Tensor's array (PyTorch's `.data =`
    replaces the storage: `w.data = w.data - lr * w.grad`, `w.data = torch.tensor(...)`; the
    shape and dtype may change), or a number as a 0-d array of the tensor's dtype (`gradcheck`
    moves a 0-d input that way)."""
    if type(value) is not np.ndarray:
        if isinstance(value, Tensor):
            value = value.data
        elif isinstance(value, (numbers.Number, np.generic)):
            old = _slot_or_none(_DATA_SLOT, tensor)
            value = np.asarray(value, dtype=None if old is None else old.dtype)
        else:
            raise TypeError(
                f"Tensor.data must be set to a Tensor or a numpy array, got {type(value).__name__}"
            )
    if value.dtype.kind not in "fc" and _slot_or_none(_REQUIRES_GRAD_SLOT, tensor):
        raise TorchRuntimeError(
            f"data set to a tensor that requires gradients must be floating point or complex "
            f"dtype, got {value.dtype}"
        )
    return value


def _checked_requires_grad(tensor: Tensor, value: Any) -> bool:
    """What `tensor.requires_grad = value` stores, after PyTorch's checks: a bool, a leaf, a
    float tensor."""
    if type(value) is not bool and not isinstance(value, np.bool_):
        raise TorchRuntimeError(f"requires_grad must be a bool, got {type(value).__name__}")
    if _fn_of(tensor) is not None:
        raise RuntimeError(
            "you can only change requires_grad flags of leaf variables (this tensor was "
            "computed by an operation). If you want to use a computed variable in a subgraph "
            "that doesn't require differentiation use var_no_grad = var.detach()."
        )
    return _check_requires_grad(tensor._data, value)


class _PySlotAttribute:
    """The pure-Python `SlotAttribute` (micrograd/tensor/_cattrs.c), used when that is not built
    or MICROGRAD_PURE=1: reads the hidden slot `member`, stores `checker(obj, value)` on an
    assignment (the same value again: stored unchecked when `same_is_stored`)."""

    __slots__ = ("checker", "member", "name", "same_is_stored")

    def __init__(self, member: Any, name: str, checker: Any, same_is_stored: bool = False):
        self.member = member
        self.name = name
        self.checker = checker
        self.same_is_stored = same_is_stored

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else self.member.__get__(obj, owner)

    def __set__(self, obj: Any, value: Any) -> None:
        if self.same_is_stored and value is _slot_or_none(self.member, obj):
            return
        self.member.__set__(obj, self.checker(obj, value))


def _slot_or_none(member: Any, tensor: Tensor) -> Any:
    """A slot's value, None while a tensor is being built (read through the slot itself, so
    that `Tensor.__getattr__`'s hint is not computed for the unset slot)."""
    try:
        return member.__get__(tensor)
    except AttributeError:
        return None


def _fn_of(tensor: Tensor) -> Any:
    """`tensor._fn`, None while a tensor is being built."""
    return _slot_or_none(_FN_SLOT, tensor)


def _random_generator(generator: Any, op: str) -> Any:
    from micrograd.tensor import random as _random

    if generator is None:
        return _random.default_generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(
            f"{op}(): argument 'generator' must be torch.Generator, not {type(generator).__name__}"
        )
    return generator


def _writable(data: Any, op: str) -> np.ndarray:
    """`data` if an in-place write can go into it; PyTorch's error for a broadcast view (one
    memory location behind several elements), whose numpy array is read-only."""
    if not isinstance(data, np.ndarray) or not data.flags.writeable:
        raise TorchRuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor "
            f"refers to a single memory location (or its array is read-only). Please clone() "
            f"the tensor before performing the operation."
        )
    return data


def _in_memory_order(data: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """`flat`'s values laid out so that they fill `data`'s memory in order: how PyTorch's
    serial kernels visit a non-contiguous tensor (a transposed or sliced view)."""
    if data.flags.c_contiguous:
        return flat.reshape(data.shape)
    offsets = np.zeros(data.shape, np.int64)
    for axis, (size, stride) in enumerate(zip(data.shape, data.strides)):
        shape = [1] * data.ndim
        shape[axis] = size
        offsets = offsets + (np.arange(size, dtype=np.int64) * stride).reshape(shape)
    placed = np.empty(data.size, flat.dtype)
    placed[np.argsort(offsets.ravel(), kind="stable")] = flat
    return placed.reshape(data.shape)


class Tensor:
    """A numpy array and its gradient; a node of the computation graph."""

    # `data` and `requires_grad` are the hidden slots `_data` and `_requires_grad` behind
    # checking descriptors (set up after the class); the engine's own code writes the slots
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_data",
        "_fn",
        "_op",
        "_prev",
        "_requires_grad",
        "_seq",
        "grad",
    )

    # Rarely set, so class-level defaults rather than slots: an operation's result is made
    # without storing them (the user's `t.label = ...` and `retain_grad()` go to the instance)
    label = ""
    _retains = False

    def __array_ufunc__(
        self, ufunc: Any, method: str, *inputs: Any, out: Any = None, **kwargs: Any
    ) -> Any:
        """numpy meeting a Tensor. `ndarray * Tensor` and `np.float64 * Tensor` become the
        Tensor's operator (a graph node), not an array. An in-place numpy operation
        (`p.data += -lr * grad` with a Tensor `grad`, as the makemore lectures write) works on
        the arrays: its target is numpy's, outside any graph."""
        if out is not None:
            if method == "__call__" and len(inputs) == 2 and not kwargs:
                a, b = inputs
                if type(a) is np.ndarray and type(b) is Tensor and out[0] is a:
                    # `array += tensor`: every optimizer step of the lectures (`p.data += -lr
                    # * p.grad`), so the shortest path
                    return ufunc(a, b.data, out=out)
            if len(out) != 1 or type(out[0]) is not np.ndarray:
                return NotImplemented
            args = [x.data if isinstance(x, Tensor) else x for x in inputs]
            return getattr(ufunc, method)(*args, out=out, **kwargs)
        names = _UFUNC_OPERATORS.get(ufunc)
        if method != "__call__" or names is None or kwargs:
            return NotImplemented
        if len(inputs) == 1:
            return getattr(inputs[0], names[0])()
        a, b = inputs
        if isinstance(a, Tensor):
            return getattr(a, names[0])(b)
        return getattr(b, names[1])(a)

    # Comparisons are elementwise (below), so hashing stays by identity: graphs keep Tensors
    # in sets and dicts.
    __hash__ = object.__hash__

    def __init__(
        self,
        *args: Any,
        requires_grad: Any = _UNSET,
        dtype: Any = None,
        label: str = "",
        device: Any = None,
    ) -> None:
        """Two constructors in one, told apart by the keywords:

        * PyTorch's `torch.Tensor(...)` (no keyword but `device=`): `Tensor(2, 3)` a 2x3 float32
          tensor (of zeros: PyTorch leaves it uninitialised), `Tensor([1, 2])` or
          `Tensor(array)` a float32 copy, `Tensor(t)` a tensor sharing t's data;
        * the engine's own `Tensor(data, requires_grad=..., dtype=..., label=...)` (a form
          PyTorch refuses), `Value`'s counterpart: float arrays wrapped as they are (no copy),
          lists, numbers and integer arrays as float64 (or `dtype`).
        """
        _check_device(device, "Tensor")
        if requires_grad is _UNSET and dtype is None and not label:
            data = _legacy_new(args)
            requires_grad = False
        else:
            if len(args) != 1:
                raise TypeError(
                    f"Tensor: Tensor(data, requires_grad=..., dtype=..., label=...) takes one "
                    f"data argument, got {len(args)}"
                )
            data = _as_array(args[0], None if dtype is None else _np_dtype(dtype, "Tensor"))
            if requires_grad is _UNSET:
                requires_grad = False
        self._data = data
        self._requires_grad = _check_requires_grad(data, requires_grad)
        self.grad = None
        self._prev = ()
        self._fn = None
        self._op = ""
        if label:
            self.label = label

    # -- array attributes ----------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return from_shape(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> _dtypes.dtype:
        """`torch.float32`, `torch.int64`, ...: the element type (numpy's is `t.data.dtype`)."""
        try:
            return _dtypes._FROM_NUMPY[self.data.dtype]
        except KeyError:
            return _dtypes.from_numpy_dtype(self.data.dtype)  # raises, naming the dtype

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def element_size(self) -> int:
        return self.data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.data.nbytes

    # -- device: always the CPU ------------------------------------------------------------

    @property
    def device(self) -> _device.device:
        return _device.CPU

    is_cuda = False
    is_cpu = True

    def get_device(self) -> int:
        """-1: the CPU, as PyTorch answers for a CPU tensor."""
        return -1

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        _device.check_device("cuda" if device is None else device, "cuda")
        return self

    @property
    def is_leaf(self) -> bool:
        """True for a tensor no operation made (or made outside any graph), as in PyTorch."""
        return self._fn is None

    def size(self, dim: int | None = None) -> Any:
        """The shape (a `torch.Size`), or the length of axis `dim` (PyTorch's `size()`)."""
        shape = self.data.shape
        if dim is None:
            return from_shape(shape)
        if not shape:
            raise TorchIndexError("size: dimension specified as 0 but tensor has no dimensions")
        return shape[F.wrap_dim(dim, len(shape), "size")]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    nelement = numel

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Any:
        """The tensor's rows (`t[0]`, `t[1]`, ...), as in PyTorch."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def item(self) -> Any:
        if self.data.size != 1:
            raise TorchRuntimeError(
                f"a Tensor with {self.data.size} elements cannot be converted to Scalar: only one "
                f"element can be (item() of shape {self.data.shape})"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return np.asarray(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        # numpy and matplotlib read a tensor as its data (`plt.plot(t)`, `np.asarray(t)`)
        data = np.asarray(self.data)
        return data if dtype is None else data.astype(dtype, copy=False)

    def tolist(self) -> Any:
        return np.asarray(self.data).tolist()

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __index__(self) -> int:
        # `itos[ix]` and `range(t)` with a one-element integer tensor
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(
                f"only an integer tensor with one element can be used as an index, got "
                f"dtype {self.dtype} and shape {self.data.shape}"
            )
        return int(self.data.item())

    def __format__(self, spec: str) -> str:
        # as PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}", f"{t}" is `2.5`);
        # any other tensor as its repr, with no format spec allowed
        if self.data.ndim == 0 and type(self) is Tensor:
            return self.data.item().__format__(spec)
        return object.__format__(self, spec)

    def detach(self) -> Tensor:
        """The same data (shared, not copied) as a new leaf outside the graph."""
        return _const(self.data)

    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph (its gradient flows back to self)."""
        if self.data.dtype.kind == "f":
            return _labelled(self * 1, "clone")
        return _const(self.data.copy())

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad  # the setter checks dtype and leafness
        return self

    def retain_grad(self) -> None:
        """Keep this interior node's gradient after `backward()` (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require a gradient")
        if self._fn is not None:
            self._retains = True

    def zero_grad(self) -> None:
        self.grad = None

    # -- in-place random fills (what nn.init calls) ----------------------------------------

    def normal_(self, mean: float = 0, std: float = 1, *, generator: Any = None) -> Tensor:
        """Fill with N(mean, std) samples, the numbers PyTorch draws for the same seed: a
        contiguous tensor of 16 or more elements takes torch's vectorised Box-Muller, any other
        one scalar draws, written in memory order (a transposed weight gets the values its
        storage would get). Returns self."""
        mean = _float_arg(mean, "normal_", "mean", 1)
        std = _float_arg(std, "normal_", "std", 2)
        data = self._random_fill_target("normal_", "normal_kernel_cpu")
        gen = _random_generator(generator, "normal_")
        if not std >= 0:
            raise TorchRuntimeError(f"normal expects std >= 0.0, but found std {std}")
        if data.size == 0:
            return self
        if data.flags.c_contiguous:
            values = gen.normal(data.shape, mean, std, dtype=data.dtype)
        else:
            flat = gen._scalar_normals(data.size, float(mean), float(std)).astype(data.dtype)
            values = _in_memory_order(data, flat)
        data[...] = values
        return self

    def uniform_(
        self, from_: float = 0, to: float = 1, *, generator: Any = None, **kwargs: Any
    ) -> Tensor:
        """Fill with U(from, to) samples, PyTorch's numbers for the same seed (one draw per
        element, in memory order). PyTorch's keyword is `from`, a Python keyword: pass it
        positionally, as `from_=`, or as `**{'from': ...}`. Returns self."""
        if kwargs:
            if set(kwargs) != {"from"}:
                raise TypeError(f"uniform_() got an unexpected keyword argument {min(kwargs)!r}")
            from_ = kwargs["from"]
        from_ = _float_arg(from_, "uniform_", "from", 1)
        to = _float_arg(to, "uniform_", "to", 2)
        data = self._random_fill_target("uniform_", "check_uniform_bounds")
        gen = _random_generator(generator, "uniform_")
        if from_ > to:
            raise TorchRuntimeError(
                f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}"
            )
        try:
            flat = gen.uniform((data.size,), from_, to, dtype=data.dtype)
        except ValueError as error:  # a bound out of the dtype's range
            raise TorchRuntimeError(f"uniform_: {error}") from None
        data[...] = _in_memory_order(data, flat) if data.size else flat.reshape(data.shape)
        return self

    def _random_fill_target(self, op: str, kernel: str) -> np.ndarray:
        """The array an in-place random fill writes into, after PyTorch's checks."""
        self._check_in_place(op)
        data = self.data
        if data.dtype.kind != "f":
            raise KernelDtypeError(
                f"{kernel!r} not implemented for "
                f"{_TORCH_NAMES.get(data.dtype.name, data.dtype.name)!r} ({op} fills float "
                f"tensors; this one is {data.dtype})"
            )
        return _writable(data, op)

    def _check_in_place(self, op: str) -> None:
        if _grad_enabled and self.requires_grad:
            if self._fn is None:
                raise TorchRuntimeError(
                    f"{op}: a leaf Variable that requires grad is being used in an in-place "
                    f"operation (call it under `with torch.no_grad():`, as nn.init does)"
                )
            raise TorchRuntimeError(
                f"{op}: this tensor was computed by an operation recorded for backward; fill a "
                f"leaf instead, or call it under `with torch.no_grad():`"
            )

    def copy_(self, src: Tensor, non_blocking: bool = False) -> Tensor:
        """Copy `src`'s values into this tensor's own array (broadcast to its shape, converted
        to its dtype; a number is taken as a 0-d tensor), so every view of it sees them. Returns
        self. In the graph (self or src requires grad) it is the assignment `self[...] = src`:
        the gradient flows to src, and a leaf that requires grad refuses it, as in PyTorch."""
        if not isinstance(src, Tensor):
            number = _number(src)  # PyTorch takes a number as a 0-d tensor here
            if number is None:
                raise TypeError(
                    f"copy_(): argument 'other' (position 1) must be Tensor, not "
                    f"{type(src).__name__}"
                )
            src = _const(np.asarray(number))
        shape = self.data.shape
        try:
            fits = np.broadcast_shapes(src.data.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise TorchRuntimeError(
                f"copy_: the size of src {tuple(src.data.shape)} cannot be broadcast to the size "
                f"of this tensor {tuple(shape)}"
            )
        if not (_grad_enabled and (self.requires_grad or src.requires_grad)):
            np.copyto(_writable(self.data, "copy_"), src.data, casting="unsafe")
            return self
        if self._fn is None and self.requires_grad:
            self._check_in_place("copy_")  # (raises: a leaf)
        dtype = self.data.dtype
        if src.data.dtype != dtype:  # a float source keeps its gradient through a Cast node
            both_float = dtype.kind == "f" and src.data.dtype.kind == "f"
            src = _cast(src, dtype) if both_float else _const(src.data.astype(dtype))
        before = self._fn
        self[...] = src
        if self._fn is not before:  # the assignment made self a node: PyTorch's name for it
            self._op = "copy_"
        return self

    # -- dtype conversions ----------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """The tensor in another dtype (`t.to(torch.float64)`, `t.to(other_tensor)`), or on a
        device (`t.to('cpu')`, `t.to(device, dtype)`; only the CPU is available here);
        itself if nothing changes, unless `copy=True`."""
        if len(args) == 1 and not kwargs and type(args[0]) is _dtypes.dtype:
            dt, copy = args[0].dtype, False  # t.to(torch.float32): the common form
        else:
            dt, copy = _device.parse_to_args(Tensor, args, kwargs)
        if dt is None or dt == self.data.dtype:
            return self.clone() if copy else self
        if dt.kind not in "fc":  # integers and bools take no part in gradients (PyTorch)
            return _const(self.data.astype(dt))
        return _cast(self, dt)

    def type(self, dtype: Any = None) -> Any:
        """Without an argument, torch's type name ('torch.FloatTensor'); with a dtype (or such
        a name), the tensor converted to it."""
        if dtype is None:
            return f"torch.{self.dtype._legacy}"
        return self.to(_np_dtype(dtype, "type"))

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    # -- arithmetic -----------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Add, self, other, "add")
        c = _number(other)
        if c is not None:
            a = self if self.data.dtype.kind == "f" else _weak(self, c)
            if not (a.requires_grad and _grad_enabled):
                return _const(a.data + c)
            fn = _new(F.AddScalar)
            return _node(fn.forward(a.data, c), (a,), fn, fn.op)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Add, self, other, "add")

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            if self.data.dtype.kind == "b" or other.data.dtype.kind == "b":
                _bool_subtraction(self, other)
            return _binary(F.Sub, self, other, "sub")
        if self.data.dtype.kind == "b" or type(other) is bool:
            _bool_subtraction(self, other)
        c = _number(other)
        if c is not None:
            a = self if self.data.dtype.kind == "f" else _weak(self, c)
            if not (a.requires_grad and _grad_enabled):
                return _const(a.data - c)
            fn = _new(F.AddScalar)
            return _node(fn.forward(a.data, -c), (a,), fn, "-")
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Sub, self, other, "sub")

    def __rsub__(self, other: Any) -> Tensor:  # other - self
        if self.data.dtype.kind == "b" or type(other) is bool:
            _bool_subtraction(other, self)
        c = _number(other)
        if c is not None:
            # promoted before the negation: -0.0 - int_tensor(0) is -0.0, as in PyTorch
            a = self if self.data.dtype.kind == "f" else _weak(self, c)
            return _labelled((-a) + c, "rsub")
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Sub, other, self, "sub")

    def __mul__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Mul, self, other, "mul")
        if type(other) is float and not (self.requires_grad and _grad_enabled):
            # `-lr * p.grad` in an optimizer step: a number times a constant, nothing to record
            # (an integer tensor still needs `_weak`'s float32 below)
            data = self.data
            if data.dtype.kind == "f":
                return _const(data * other)
        c = _number(other)
        if c is not None:
            a = self if self.data.dtype.kind == "f" else _weak(self, c)
            if not (a.requires_grad and _grad_enabled):
                return _const(a.data * c)
            fn = _new(F.MulScalar)
            return _node(fn.forward(a.data, c), (a,), fn, fn.op)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Mul, self, other, "mul")

    def __rmul__(self, other: Any) -> Tensor:  # other * self
        if type(other) is float and not (self.requires_grad and _grad_enabled):
            # `-lr * p.grad` in the lectures' optimizer step: nothing to record
            data = self.data
            if data.dtype.kind == "f":
                return _const(data * other)
        return self.__mul__(other)  # multiplication commutes

    def __truediv__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            if self.data.dtype.kind != "f" and other.data.dtype.kind != "f":
                # integer / integer is float32, as in PyTorch
                return _binary(F.Div, _cast(self, np.float32), other, "div")
            return _binary(F.Div, self, other, "div")
        c = _number(other)
        if c is not None:
            # a true division, correctly rounded as PyTorch's (x * (1/c) can differ in the last
            # bit); x / 0 is inf or nan, as in PyTorch
            a = self if self.data.dtype.kind == "f" else _cast(self, np.float32)
            fn = _new(F.DivScalar)
            data = fn.forward(a.data, c)
            if a.requires_grad and _grad_enabled:
                return _node(data, (a,), fn, fn.op)
            return _const(data)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Div, self, other, "div")

    def __rtruediv__(self, other: Any) -> Tensor:  # other / self
        c = _number(other)
        if c is not None:
            a = self if self.data.dtype.kind == "f" else _cast(self, np.float32)
            fn = _new(F.RDivScalar)
            return _unary(fn, a, fn.forward(a.data, c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Div, other, self, "div")

    def __pow__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            if self.data.dtype.kind != "f" and other.data.dtype.kind != "f":
                return _integer_power(self, other)
            return _binary(F.Pow, self, other, "pow")
        k = _number(other)
        if k is not None:
            a = self if self.data.dtype.kind == "f" else _weak(self, k)
            if a.data.dtype.kind != "f":
                if k < 0:
                    raise RuntimeError("Integers to negative integer powers are not allowed.")
                if a.data.dtype.kind == "b":  # bool ** False is True, bool ** True itself
                    return _const(np.asarray(a.data if k else np.ones_like(a.data)))
                return _integer_power(a, k)
            fn = _new(F.PowScalar)
            data = fn.forward(a.data, k)
            if a.requires_grad and _grad_enabled:
                return _node(data, (a,), fn, f"**{k}")
            return _const(data)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Pow, self, other, "pow")

    def __rpow__(self, other: Any) -> Tensor:  # other ** self
        c = _number(other)
        if c is not None:
            dtype = result_type(self, c)
            if dtype.kind != "f":  # 2 ** int_tensor is an integer tensor, as in PyTorch
                return _integer_power(c, self)
            a = self if self.data.dtype == dtype else _cast(self, dtype)
            fn = _new(F.RPowScalar)
            return _unary(fn, a, fn.forward(a.data, c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Pow, other, self, "pow")

    def __floordiv__(self, other: Any) -> Tensor:
        return _floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _remainder(other, self)

    def add(self, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
        """self + alpha * other (one rounding, as PyTorch's fused multiply-add)."""
        _no_out(out, "add")
        return (
            self + other
            if alpha == 1 and type(alpha) is not bool
            else _add_scaled(self, other, alpha, "add")
        )

    def sub(self, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
        """self - alpha * other."""
        _no_out(out, "sub")
        if alpha == 1 and type(alpha) is not bool:
            return self - other
        return _add_scaled(self, other, alpha, "sub", negate=True)

    subtract = sub

    def mul(self, other: Any, *, out: Any = None) -> Tensor:
        _no_out(out, "mul")
        return self * other

    multiply = mul

    def div(self, other: Any, *, rounding_mode: Any = None, out: Any = None) -> Tensor:
        """self / other; `rounding_mode='trunc'` rounds the quotient towards zero, 'floor'
        down (integers stay integers then), as `torch.div`."""
        _no_out(out, "div")
        if rounding_mode is None:
            return self / other
        return _rounded_division(self, other, rounding_mode)

    divide = div

    def true_divide(self, other: Any) -> Tensor:
        return self / other

    def floor_divide(self, other: Any) -> Tensor:
        return _floor_divide(self, other)

    def remainder(self, other: Any) -> Tensor:
        return _remainder(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Each element limited to [min, max] (`min`/`max` numbers or tensors, either may be
        None); where min > max the result is max, as in PyTorch."""
        return _clamp(self, min, max, "clamp")

    clip = clamp

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(None, lambda t, _: _clamp(t, min, max, "clamp_"), "clamp_")

    clip_ = clamp_

    def where(self, condition: Any, other: Any) -> Tensor:
        """`torch.where(condition, self, other)`."""
        return where(condition, self, other)

    def pow(self, exponent: Any) -> Tensor:
        return self**exponent

    def __matmul__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other)
            if other is None:
                return NotImplemented
        if self.data.dtype is not other.data.dtype:
            _same_dtypes(self, other)
        return _binary(F.MatMul, self, other, "matmul")

    def __rmatmul__(self, other: Any) -> Tensor:
        other = _operand(other)
        if other is None:
            return NotImplemented
        if self.data.dtype is not other.data.dtype:
            _same_dtypes(other, self)
        return _binary(F.MatMul, other, self, "matmul")

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def __neg__(self) -> Tensor:
        if self.data.dtype.kind == "b":
            raise TorchDtypeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        fn = _new(F.Neg)
        return _unary(fn, self, fn.forward(self.data))

    def neg(self) -> Tensor:
        return -self

    # -- comparisons: bool tensors outside the graph ----------------------------------------

    def _compare(self, other: Any, op: Any) -> Tensor:
        a = self.data
        o = other.data if isinstance(other, Tensor) else other
        if not isinstance(o, (np.ndarray, np.generic, numbers.Number, list, tuple)):
            return NotImplemented
        if isinstance(other, Tensor) and a.dtype != o.dtype:
            # compared in PyTorch's common dtype: a float64 0-d tensor against a float32 vector
            # is rounded to float32 first (numpy would widen the vector instead)
            common = _result_dtype(a, o)
            a, o = a.astype(common, copy=False), o.astype(common, copy=False)
        elif isinstance(o, float) and a.dtype.kind in "biu":
            a = a.astype(
                np.float32
            )  # an integer tensor meets a float number in float32, as PyTorch
        return _const(np.asarray(op(a, o)))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, operator.ne)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, operator.lt)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, operator.le)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, operator.gt)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, operator.ge)

    def __invert__(self) -> Tensor:
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~: needs a bool or integer tensor, got dtype {self.dtype}")
        return _const(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, operator.and_)

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, operator.or_)

    # -- in-place arithmetic --------------------------------------------------------------

    def _inplace(self, other: Any, op: Any, name: str) -> Tensor:
        """`self op= other`. Outside the graph (data, or under `no_grad()`) the data array is
        changed in place, so every alias sees it (PyTorch's semantics). A leaf that requires a
        gradient refuses it, as in PyTorch; on an interior node the name is rebound to a new
        node, which is what the chain rule needs."""
        in_graph = _grad_enabled and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
        )
        if in_graph:
            if self._fn is None and self.requires_grad:
                raise RuntimeError(
                    f"{name}: a leaf tensor that requires grad cannot be changed in place; do it "
                    f"under `with torch.no_grad():` (as an optimizer step does) or on `.data`"
                )
            _refuse_view_of_leaf(self, name)
            return op(self, other)
        with no_grad():
            result = op(self, other)
        if result is NotImplemented:
            return NotImplemented
        data = self.data
        new = result.data
        if new.dtype != data.dtype and not np.can_cast(new.dtype, data.dtype, "same_kind"):
            raise RuntimeError(
                f"{name}: the result has dtype {new.dtype}, which cannot be stored in place in "
                f"a tensor of dtype {data.dtype} (convert first, e.g. t = t.float())"
            )
        if new.shape != data.shape:
            raise RuntimeError(
                f"{name}: the result has shape {new.shape}, which cannot be stored in place in "
                f"a tensor of shape {data.shape}"
            )
        if data.ndim == 0 or not data.flags.writeable:
            self.data = new.astype(data.dtype, copy=False)
        else:
            data[...] = new
        return self

    def __iadd__(self, other: Any) -> Tensor:  # noqa: PYI034
        return self._inplace(other, Tensor.__add__, "+=")

    def __isub__(self, other: Any) -> Tensor:  # noqa: PYI034
        return self._inplace(other, Tensor.__sub__, "-=")

    def __imul__(self, other: Any) -> Tensor:  # noqa: PYI034
        return self._inplace(other, Tensor.__mul__, "*=")

    def __itruediv__(self, other: Any) -> Tensor:  # noqa: PYI034
        return self._inplace(other, Tensor.__truediv__, "/=")

    def add_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        if alpha == 1 and type(alpha) is not bool:
            return self._inplace(other, Tensor.__add__, "add_")
        return self._inplace(other, lambda t, o: _add_scaled(t, o, alpha, "add_"), "add_")

    def sub_(self, other: Any, *, alpha: Any = 1) -> Tensor:
        if alpha == 1 and type(alpha) is not bool:
            return self._inplace(other, Tensor.__sub__, "sub_")
        return self._inplace(
            other, lambda t, o: _add_scaled(t, o, alpha, "sub_", negate=True), "sub_"
        )

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(other, Tensor.__mul__, "mul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(other, Tensor.__truediv__, "div_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to `value`, a number or a 0-d tensor (an assignment
        `t[...] = value`, with its rules). Anything else is refused as PyTorch refuses it: numpy
        would take None as nan and spread a list or a 1-d tensor over the elements."""
        if isinstance(value, Tensor):
            if value.data.ndim != 0:
                raise TorchRuntimeError(
                    f"fill_ only supports 0-dimension value tensor but got tensor with "
                    f"{value.data.ndim} dimensions."
                )
        elif isinstance(value, (complex, np.complexfloating)):
            raise TorchRuntimeError(
                f"fill_: value {value} cannot be converted to type {self.dtype} without overflow"
            )
        elif not isinstance(value, (numbers.Number, np.number, np.bool_)):
            raise TypeError(
                f"fill_(): argument 'value' must be a number or a 0-dimensional Tensor, not "
                f"{type(value).__name__}"
            )
        else:
            # nan, inf or a too large number into an integer tensor: PyTorch's RuntimeError
            value = _fill_value(value, self.data.dtype, "fill_")
        self[...] = value
        return self

    # -- elementwise functions ------------------------------------------------------------

    def _float_input(self) -> Tensor:
        # exp/log/tanh... of an integer tensor are float32, as in PyTorch
        return self if self.data.dtype.kind == "f" else _cast(self, np.float32)

    def exp(self) -> Tensor:
        a = self if self.data.dtype.kind == "f" else self._float_input()
        fn = _new(F.Exp)
        return _unary(fn, a, fn.forward(a.data))

    def log(self) -> Tensor:
        a = self if self.data.dtype.kind == "f" else self._float_input()
        fn = _new(F.Log)
        return _unary(fn, a, fn.forward(a.data))

    def log10(self) -> Tensor:
        return _labelled(self.log() * (1.0 / math.log(10.0)), "log10")

    def log2(self) -> Tensor:
        return _labelled(self.log() * (1.0 / math.log(2.0)), "log2")

    def sqrt(self) -> Tensor:
        a = self if self.data.dtype.kind == "f" else self._float_input()
        fn = _new(F.Sqrt)
        return _unary(fn, a, fn.forward(a.data))

    def tanh(self) -> Tensor:
        a = self if self.data.dtype.kind == "f" else self._float_input()
        fn = _new(F.Tanh)
        return _unary(fn, a, fn.forward(a.data))

    def relu(self) -> Tensor:
        if self.data.dtype == np.bool_:  # as PyTorch
            raise TorchRuntimeError("Boolean inputs not supported for relu")
        fn = _new(F.ReLU)
        return _unary(fn, self, fn.forward(self.data))

    def sigmoid(self) -> Tensor:
        a = self if self.data.dtype.kind == "f" else self._float_input()
        fn = _new(F.Sigmoid)
        return _unary(fn, a, fn.forward(a.data))

    def abs(self) -> Tensor:
        if self.data.dtype == np.bool_:  # PyTorch has no abs of booleans either
            raise NotImplementedError('"abs" is not implemented for bool tensors')
        fn = _new(F.Abs)
        return _unary(fn, self, fn.forward(self.data))

    __abs__ = abs

    # -- reductions -----------------------------------------------------------------------

    def sum(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: Any = None,
        dtype: Any = None,
    ) -> Tensor:
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        axes = F.normalize_axes(dim, self.data.ndim, "sum")
        a = self if dtype is None else self.to(dtype)
        if a.data.dtype.kind in "biu" and a.data.dtype != np.int64:
            a = _cast(a, np.int64)  # integer sums are int64, as in PyTorch
        fn = _new(F.Sum)
        out = _unary(fn, a, np.asarray(fn.forward(a.data, axes, keepdim)))
        return out if dim is None else _labelled(out, "sum_dim")

    def mean(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: Any = None,
        dtype: Any = None,
    ) -> Tensor:
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        a = self if dtype is None else self.to(dtype)
        if a.data.dtype.kind != "f":
            raise TorchDtypeError(
                f"mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {a.dtype} (convert with .float())"
            )
        axes = F.normalize_axes(dim, a.data.ndim, "mean")
        fn = _new(F.Mean)
        out = _unary(fn, a, np.asarray(fn.forward(a.data, axes, keepdim)))
        return out if dim is None else _labelled(out, "mean_dim")

    def var(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """Variance over `dim`: sum((x - mean)**2) / (n - correction); `correction=1` (the
        default, `unbiased=True`) is the unbiased estimate, 0 the population variance."""
        return self._spread(F.Var, dim, unbiased, keepdim, correction, axis, keepdims)

    def std(
        self,
        dim: Any = None,
        unbiased: Any = None,
        keepdim: bool = False,
        *,
        correction: Any = None,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Tensor:
        """Standard deviation: the square root of `var` (same arguments), one node."""
        return self._spread(F.Std, dim, unbiased, keepdim, correction, axis, keepdims)

    def _spread(self, cls, dim, unbiased, keepdim, correction, axis, keepdims) -> Tensor:
        op = cls.op
        if isinstance(dim, bool):  # var(True): the old positional `unbiased`
            dim, unbiased = None, dim
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        if correction is not None and unbiased is not None:
            raise TypeError(f"{op}: give `unbiased` or `correction`, not both")
        corr = correction if correction is not None else (0 if unbiased is False else 1)
        if self.data.dtype.kind != "f":
            raise TorchDtypeError(
                f"std and var only support floating point and complex dtypes, got "
                f"{self.data.dtype} (convert with .float())"
            )
        a = self
        axes = F.normalize_axes(dim, a.data.ndim, op)
        fn = _new(cls)
        return _unary(fn, a, np.asarray(fn.forward(a.data, axes, corr, keepdim)))

    def _extreme(self, dim: Any, keepdim: bool, axis: Any, keepdims: Any, largest: bool) -> Any:
        name = "max" if largest else "min"
        if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
            return _maximum(self, dim, largest)
        given = dim is not None or axis is not None
        dim, keepdim = _dim_args(dim, keepdim, axis, keepdims)
        data = self.data
        if given and not isinstance(dim, (tuple, list)):
            axis_ = F.wrap_dim(dim, data.ndim, name)
            result = MaxResult if largest else MinResult
            if not data.ndim:  # one element along one axis: itself, at index 0
                return result(self.reshape(()), _const(np.zeros((), np.int64)))
            fn = _new(F.MaxDim)
            values, indices = fn.forward(data, axis_, keepdim, largest)
            out = _unary(fn, self, values)
            return result(out if largest else _labelled(out, "min_dim"), _const(indices))
        axes = F.normalize_axes(dim, data.ndim, name)
        if data.dtype.kind != "f":  # no gradient to route: numpy's own (bools have no `-`)
            if data.size == 0 and axes:
                raise TorchRuntimeError(
                    f"{name}(): cannot reduce an empty tensor of shape {self.data.shape}"
                )
            reduce = np.max if largest else np.min
            return _const(np.asarray(reduce(data, axis=axes, keepdims=keepdim)))
        src = self if largest else -self
        fn = _new(F.Max)
        out = _unary(fn, src, np.asarray(fn.forward(src.data, axes, keepdim)))
        return out if largest else _labelled(-out, "min")

    def max(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Any:
        """The largest element (a 0-d tensor); with an int `dim`, `(values, indices)` along it
        (the gradient goes to the first maximum, as in PyTorch); with another tensor, the
        elementwise maximum."""
        return self._extreme(dim, keepdim, axis, keepdims, True)

    def min(
        self,
        dim: Any = None,
        keepdim: bool = False,
        *,
        axis: Any = None,
        keepdims: Any = None,
    ) -> Any:
        """As `max`, for the smallest."""
        return self._extreme(dim, keepdim, axis, keepdims, False)

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        """The maximum over `dim` (int or tuple; all when empty); ties share the gradient."""
        dim = None if dim == () else dim
        axes = F.normalize_axes(dim, self.data.ndim, "amax")
        fn = _new(F.Max)
        return _labelled(_unary(fn, self, np.asarray(fn.forward(self.data, axes, keepdim))), "amax")

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        if self.data.dtype.kind != "f":  # no gradient; and bools have no `-`
            dim = None if dim == () else dim
            axes = F.normalize_axes(dim, self.data.ndim, "amin")
            return _const(np.asarray(np.min(self.data, axis=axes, keepdims=keepdim)))
        return _labelled(-((-self).amax(dim, keepdim)), "amin")

    def argmax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Index of the (first) largest element, over the flattened tensor when `dim` is None."""
        if self.data.dtype.kind == "b":
            raise TorchDtypeError("argmax(): does not support bool input (convert with .int())")
        if dim is None:
            return _const(np.asarray(np.argmax(self.data), dtype=np.int64))
        axis = F.wrap_dim(dim, self.data.ndim, "argmax")
        if not self.data.ndim:
            return _const(np.zeros((), np.int64))
        return _const(np.argmax(self.data, axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        if self.data.dtype.kind == "b":
            raise TorchDtypeError("argmin(): does not support bool input (convert with .int())")
        if dim is None:
            return _const(np.asarray(np.argmin(self.data), dtype=np.int64))
        axis = F.wrap_dim(dim, self.data.ndim, "argmin")
        if not self.data.ndim:
            return _const(np.zeros((), np.int64))
        return _const(np.argmin(self.data, axis=axis, keepdims=keepdim).astype(np.int64))

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes = None if dim is None else F.normalize_axes(dim, self.data.ndim, "all")
        return _const(np.asarray(np.all(self.data, axis=axes, keepdims=keepdim)))

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes = None if dim is None else F.normalize_axes(dim, self.data.ndim, "any")
        return _const(np.asarray(np.any(self.data, axis=axes, keepdims=keepdim)))

    # -- shapes ---------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in another shape (`t.reshape(2, -1)` or `t.reshape((2, -1))`): a
        view when numpy can make one, else a copy, as in PyTorch."""
        return self._reshaped(shape, "reshape")

    def view(self, *shape: Any) -> Tensor:
        """`reshape` that always shares the data: PyTorch refuses (RuntimeError) when the
        tensor's strides cannot be viewed in the new shape (a transpose flattened, say)."""
        if len(shape) == 1 and isinstance(shape[0], (np.dtype, type)):
            raise TypeError("view: viewing as another dtype is not supported; use .to(dtype)")
        out = self._reshaped(shape, "view")
        data = self.data
        if not data.flags.c_contiguous and not np.may_share_memory(out.data, data):
            raise TorchRuntimeError(
                f"view size is not compatible with input tensor's size and stride (at least "
                f"one dimension spans across two contiguous subspaces). Use .reshape(...) "
                f"instead (viewing shape {self.data.shape} as {tuple(out.shape)})"
            )
        return out

    def _reshaped(self, shape: tuple, op: str) -> Tensor:
        if len(shape) == 1 and type(shape[0]) is not int:
            if isinstance(shape[0], (tuple, list)):
                shape = tuple(shape[0])
            elif isinstance(shape[0], (np.dtype, type, _dtypes.dtype)):
                raise TypeError(f"{op}: viewing as another dtype is not supported; use .to(dtype)")
        fn = _new(F.Reshape)
        try:
            data = fn.forward(self.data, shape)
        except (ValueError, TypeError):
            raise TorchRuntimeError(
                f"{op}: shape {shape} is invalid for input of size {self.numel()} "
                f"(shape {self.data.shape})"
            ) from None
        return _unary(fn, self, data)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.shape
        if not shape:
            return self.reshape(1)
        start, end = (
            F.normalize_axes((start_dim,), len(shape), "flatten")[0],
            F.normalize_axes((end_dim,), len(shape), "flatten")[0],
        )
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(shape[:start] + (-1,) + shape[end + 1 :])

    def squeeze(self, dim: Any = None) -> Tensor:
        """Remove axes of length 1 (all of them, or `dim` if it has length 1, as in PyTorch)."""
        shape = self.shape
        if dim is None:
            new = tuple(n for n in shape if n != 1)
        else:
            axes = F.normalize_axes(dim, len(shape), "squeeze") if shape else ()
            new = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
        if new == shape:
            return self
        return _labelled(self.reshape(new), "squeeze" if dim is None else "squeeze_dim")

    def unsqueeze(self, dim: int) -> Tensor:
        shape = self.shape
        (axis,) = F.normalize_axes(dim, len(shape) + 1, "unsqueeze")
        return _labelled(self.reshape(shape[:axis] + (1,) + shape[axis:]), "unsqueeze")

    def transpose(self, *axes: Any) -> Tensor:
        """PyTorch's `transpose(dim0, dim1)`: swap two axes (any rank; the same axis twice gives
        a view of the same shape). Also numpy's forms, where PyTorch raises: `transpose()`
        reverses the axes, `transpose((2, 0, 1))` permutes them."""
        ndim = self.data.ndim
        if len(axes) == 2 and not isinstance(axes[0], (tuple, list)):
            d0 = F.wrap_dim(axes[0], ndim, "transpose")
            d1 = F.wrap_dim(axes[1], ndim, "transpose")
            perm = list(range(ndim))
            if ndim:
                perm[d0], perm[d1] = perm[d1], perm[d0]
            return self._permuted(tuple(perm))
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if axes:
            if sorted(a % ndim if -ndim <= a < ndim else a for a in axes) != list(range(ndim)):
                raise ValueError(
                    f"transpose: axes {axes} are not a permutation of the {ndim} axes of "
                    f"shape {self.data.shape}"
                )
            return self._permuted(tuple(a % ndim for a in axes))
        return self._permuted(None)

    def _permuted(self, perm: Any) -> Tensor:
        """The view with its axes in the order `perm` (None: reversed)."""
        fn = _new(F.Transpose)
        return _unary(fn, self, fn.forward(self.data, perm))

    swapaxes = transpose
    swapdims = transpose

    def permute(self, *dims: Any) -> Tensor:
        """The view with axis i of the result being axis dims[i] of this tensor."""
        if not dims:
            raise TypeError('permute() missing 1 required positional arguments: "dims"')
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        ndim = self.data.ndim
        if len(dims) != ndim:
            raise TorchRuntimeError(
                f"permute: the number of dims of the tensor ({ndim}) does not match the length "
                f"of the desired ordering of dimensions ({len(dims)})"
            )
        perm: list[int] = []
        for d in dims:  # in order, as torch: a repeat is found before a later dim's range
            axis = F.wrap_dim(d, ndim, "permute")
            if axis in perm:
                raise TorchRuntimeError("permute(): duplicate dims are not allowed.")
            perm.append(axis)
        return _labelled(self._permuted(tuple(perm)), "permute")

    @property
    def T(self) -> Tensor:
        """All axes reversed (PyTorch deprecates it for other than 2 dims, but does it)."""
        return _labelled(self._permuted(None), "permute")

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of matrices transposed)."""
        ndim = self.data.ndim
        if ndim == 1:
            raise TorchRuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor."
            )
        return self.transpose(-2, -1) if ndim else self._permuted(())  # 0-d: itself, a view

    def t(self) -> Tensor:
        if self.data.ndim > 2:
            raise TorchRuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.data.ndim}D"
            )
        return _labelled(self._permuted(None), "t")

    def is_contiguous(self) -> bool:
        """Whether the elements are laid out row after row with no gaps (numpy's C order;
        axes of length 1 do not count, as in PyTorch)."""
        return self.data.flags.c_contiguous

    def contiguous(self) -> Tensor:
        """Self when already contiguous, else a copy laid out row after row (writes to it no
        longer reach the tensor it was a view of), as in PyTorch."""
        if self.data.flags.c_contiguous:
            return self
        fn = _new(F.Contiguous)
        return _unary(fn, self, fn.forward(self.data))

    def unbind(self, dim: int = 0) -> tuple:
        if not self.data.ndim:
            raise TorchIndexError("unbind: dimension specified as 0 but tensor has no dimensions")
        axis = F.wrap_dim(dim, self.data.ndim, "unbind")
        lead = (slice(None),) * axis
        return tuple(_labelled(self[lead + (i,)], "unbind") for i in range(self.data.shape[axis]))

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        """Views of consecutive pieces along `dim`: of `split_size` elements each (the last one
        shorter if need be), or of the sizes a list gives (they must add up to the length)."""
        ndim = self.data.ndim
        if not ndim:
            raise TorchRuntimeError("split expects at least a 1-dimensional tensor")
        if isinstance(split_size, (list, tuple)):
            axis = F.wrap_dim(dim, ndim, "split_with_sizes")
            length = self.data.shape[axis]
            sizes = [_int_arg(n, "split_with_sizes", "split_sizes") for n in split_size]
            if any(n < 0 for n in sizes):
                raise TorchRuntimeError(
                    f"split_with_sizes expects split_sizes have only non-negative entries, but "
                    f"got split_sizes={sizes}"
                )
            if sum(sizes) != length:
                raise TorchRuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {length} (input "
                    f"tensor's size at dimension {axis}), but got split_sizes={sizes}"
                )
            return self._pieces(axis, sizes, "split_with_sizes")
        size = _int_arg(split_size, "split", "split_size")
        if size < 0:
            raise TorchRuntimeError(
                f"split expects split_size be non-negative, but got split_size={size}"
            )
        axis = F.wrap_dim(dim, ndim, "split")  # (checked after the size, as PyTorch does)
        length = self.data.shape[axis]
        if size == 0 and length:
            raise TorchRuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of "
                f"{length}"
            )
        return self._pieces(axis, _split_sizes(length, size), "split")

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most `chunks` views along `dim`, PyTorch's rule: pieces of ceil(length / chunks)
        elements, the last one shorter, so fewer pieces can come back (6 in 4 chunks: 3 of 2)."""
        ndim = self.data.ndim
        if not ndim:
            raise TorchRuntimeError("chunk expects at least a 1-dimensional tensor")
        chunks = _int_arg(chunks, "chunk", "chunks")
        if chunks <= 0:
            raise TorchRuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        axis = F.wrap_dim(dim, ndim, "chunk")
        length = self.data.shape[axis]
        size = -(-length // chunks)
        if length == 0:  # an empty axis: `chunks` empty pieces
            return self._pieces(axis, [0] * chunks, "split_with_sizes")
        return self._pieces(axis, _split_sizes(length, size), "split")

    def _pieces(self, axis: int, sizes: list, label: str) -> tuple:
        """Basic-index views of consecutive `sizes` elements along `axis`, each a node labelled
        as PyTorch names the backward of the split that made it."""
        lead = (slice(None),) * axis
        out = []
        start = 0
        data = self.data
        for n in sizes:
            fn = _new(F.Index)
            index = (*lead, slice(start, start + n))
            out.append(_labelled(_unary(fn, self, fn.forward(data, index, False)), label))
            start += n
        return tuple(out)

    def expand(self, *sizes: Any, size: Any = None, implicit: bool = False) -> Tensor:
        """A view repeating the length-1 axes (and new leading ones) to `sizes`, without a copy;
        -1 keeps an axis's length. The gradient is summed over the repetitions."""
        if size is not None:
            if sizes:
                raise TypeError("expand() got multiple values for argument 'size'")
            sizes = (size,)
        if not sizes:
            raise TypeError('expand() missing 1 required positional arguments: "size"')
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        target = [_int_arg(n, "expand", "size") for n in sizes]
        shape = self.data.shape
        lead = len(target) - len(shape)
        if lead < 0:
            raise TorchRuntimeError(
                f"expand(torch.{self.dtype._legacy}{{{list(shape)}}}, size={target}): the number "
                f"of sizes provided ({len(target)}) must be greater or equal to the number of "
                f"dimensions in the tensor ({len(shape)})"
            )
        for i, n in enumerate(target):
            if i < lead:
                if n < 0:
                    raise TorchRuntimeError(
                        f"The expanded size of the tensor ({n}) isn't allowed in a leading, "
                        f"non-existing dimension {i}"
                    )
                continue
            have = shape[i - lead]
            if n == -1:
                target[i] = have
            elif n != have and (have != 1 or n < 0):
                raise TorchRuntimeError(
                    f"The expanded size of the tensor ({n}) must match the existing size "
                    f"({have}) at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  "
                    f"Tensor sizes: {list(shape)}"
                )
        # numpy refuses a view of more than 2**63 elements only with its own "iterator is too
        # large"; PyTorch counts the elements first and names the overflow.
        if math.prod(target) >= 1 << 63:
            raise TorchRuntimeError(
                f"expand: numel: integer multiplication overflow (the sizes {list(target)} hold "
                "more than 2**63 - 1 elements)"
            )
        fn = _new(F.Expand)
        return _unary(fn, self, fn.forward(self.data, tuple(target)))

    def expand_as(self, other: Tensor) -> Tensor:
        """`self.expand(other.size())`."""
        if not isinstance(other, Tensor):
            raise TypeError(
                f"expand_as(): argument 'other' must be Tensor, not {type(other).__name__}"
            )
        return self.expand(other.data.shape)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two axes (a batch of matrices: each one), the diagonal
        `diagonal` steps up (negative: down) included; zeros above it."""
        return self._triangle(F.Tril, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle, as `tril`: zeros below the diagonal `diagonal`."""
        return self._triangle(F.Triu, diagonal)

    def _triangle(self, cls: type, diagonal: Any) -> Tensor:
        op = cls.op
        k = _int_arg(diagonal, op, "diagonal")
        if self.data.ndim < 2:
            raise TorchRuntimeError(f"{op}: input tensor must have at least 2 dimensions")
        fn = _new(cls)
        return _unary(fn, self, fn.forward(self.data, k))

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(None, lambda t, _: t.tril(diagonal), "tril_")

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(None, lambda t, _: t.triu(diagonal), "triu_")

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """The elements shifted cyclically by `shifts` along `dims` (ints or tuples of one
        length); without dims, along the flattened tensor, its shape kept."""
        steps = _int_tuple(shifts, "roll", "shifts")
        axes = () if dims is None else _int_tuple(dims, "roll", "dims")
        ndim = self.data.ndim
        if not steps:
            raise TorchRuntimeError("roll: `shifts` required")
        if len(steps) != len(axes) and not (len(steps) == 1 and not axes):
            raise TorchRuntimeError(
                f"shifts and dimensions must align. shifts: {len(steps)}, dims:{len(axes)}"
            )
        if axes and not ndim:
            raise TorchIndexError("roll: dimension specified as 0 but tensor has no dimensions")
        fn = _new(F.Roll)
        if not axes or not self.data.size:  # the flattened tensor (PyTorch checks no dims of
            # an empty one)
            return _unary(fn, self, fn.forward(self.data, steps[0], None))
        axes = tuple(F.wrap_dim(d, ndim, "roll") for d in axes)
        return _unary(fn, self, fn.forward(self.data, steps, axes))

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        """`value` (a number or a 0-d tensor) where the bool tensor `mask` is True, self's element
        elsewhere (mask and self broadcast together); the filled elements pass no gradient."""
        return _masked_fill(self, mask, value, "masked_fill")

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        other = value if isinstance(value, Tensor) else None
        return self._inplace(
            other, lambda t, _: _masked_fill(t, mask, value, "masked_fill_"), "masked_fill_"
        )

    def topk(
        self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out: Any = None
    ) -> Any:
        """The k largest (`largest=False`: smallest) elements along `dim` and their indices, as
        `(values, indices)`; nan counts as the largest. Among equal elements the indices are
        the ones PyTorch's CPU kernel picks (`_topk.py`). The values' gradient goes back to the
        elements they came from."""
        _no_out(out, "topk")
        k = _int_arg(k, "topk", "k")
        data = self.data
        if data.dtype.kind == "b":
            raise TorchDtypeError("topk does not support bool dtypes on CPU")
        axis = F.wrap_dim(dim, data.ndim, "topk")
        length = data.shape[axis] if data.ndim else 1
        if not 0 <= k <= length:
            raise TorchRuntimeError(
                f"selected index k out of range (k={k} along a dimension of size {length})"
            )
        if not data.ndim:  # one element along one axis: itself, at index 0
            values = _labelled(self.reshape(1)._take_along(np.zeros(1, np.int64), 0), "topk")
            return TopkResult(values.reshape(()), _const(np.zeros((), np.int64)))
        indices = _topk_indices(data, k, axis, bool(largest), bool(sorted))
        return TopkResult(self._take_along(indices, axis), _const(indices))

    def _take_along(self, indices: np.ndarray, axis: int) -> Tensor:
        fn = _new(F.TakeAlong)
        return _unary(fn, self, fn.forward(self.data, indices, axis))

    def __getitem__(self, index: Any) -> Tensor:
        if type(index) is Tensor and index.data.dtype.kind in "iu" and self.data.ndim:
            # C[X]: rows of a table picked by an integer tensor (the embedding lookup)
            if not (self.requires_grad and _grad_enabled):
                # a data batch (Xtr[ix]): nothing to record, so no Function object either.
                # `take` picks the same rows as `data[index]`, several times faster
                return _const(self.data.take(index.data, 0))
            fn = _new(F.Embedding)
            return _unary(fn, self, fn.forward(self.data, index.data))
        index, advanced = _index(index, self.data.shape)
        fn = _new(F.Index)
        return _unary(fn, self, fn.forward(self.data, index, advanced))

    def __setitem__(self, index: Any, value: Any) -> None:
        """`t[index] = value`. Outside the graph, the data changes in place; in the graph (the
        tensor or the value requires a gradient) the tensor becomes a new node whose gradient
        flows to the old value (except at the written elements) and to `value`."""
        index, _ = _index(index, self.data.shape)
        v = value.data if isinstance(value, Tensor) else value
        if _grad_enabled and (
            self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
        ):
            if self._fn is None and self.requires_grad:
                raise RuntimeError(
                    "setitem: a leaf tensor that requires grad cannot be changed in place; do "
                    "it under `with torch.no_grad():` or on `.data`"
                )
            _refuse_view_of_leaf(self, "setitem")
            old = _new(Tensor)
            for name in ("_data", "_requires_grad", "grad", "_prev", "_fn", "_op", "label"):
                setattr(old, name, getattr(self, name))
            if self._fn is not None:
                old._seq = self._seq
            vt = value if isinstance(value, Tensor) else _const(np.asarray(v))
            # `t[i] -= 1` reads t[i] before writing it: the read's node refers to self, which
            # is about to become the write. Point it (and anything between) at the old value.
            _redirect(vt, self, old, self._seq if self._fn is not None else -1)
            fn = _new(F.IndexPut)
            self.data = fn.forward(self.data, index, np.asarray(vt.data, dtype=self.data.dtype))
            self.grad = None
            self._requires_grad = True  # a node now (the public setter allows leaves only)
            self._prev = (old, vt)
            self._fn = fn
            self._op = fn.op
            self._seq = _next_seq()
            self._retains = False
            return
        data = self.data
        if data.ndim == 0 or not data.flags.writeable:
            data = self.data = np.array(data)
        target, index = F.index_target(data, index)
        target[index] = v

    # -- softmax --------------------------------------------------------------------------

    def softmax(self, dim: int = -1, *, axis: Any = None, dtype: Any = None) -> Tensor:
        return self._softmax(F.Softmax, "softmax", dim, axis, dtype)

    def log_softmax(self, dim: int = -1, *, axis: Any = None, dtype: Any = None) -> Tensor:
        return self._softmax(F.LogSoftmax, "log_softmax", dim, axis, dtype)

    def _softmax(self, cls: type, op: str, dim: Any, axis: Any, dtype: Any) -> Tensor:
        dim = axis if axis is not None else dim
        a = self if dtype is None else self.to(dtype)
        if a.data.dtype.kind != "f":
            # PyTorch has no integer kernel (NotImplementedError): convert, or pass dtype=
            raise NotImplementedError(
                f"{op}: not implemented for dtype {a.data.dtype}; convert with .float() or pass "
                f"dtype=torch.float32"
            )
        ndim = a.data.ndim
        axis_ = F.wrap_dim(dim, ndim, op)
        if not ndim:  # one element along one axis, as PyTorch sees a 0-d tensor
            return a.reshape(1)._softmax(cls, op, 0, None, None).reshape(())
        fn = _new(cls)
        return _unary(fn, a, fn.forward(a.data, axis_))

    # -- backpropagation ------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Compute d self / d t into `t.grad` for every tensor t this one depends on.

        `gradient` is d loss / d self; it may be left out when self holds one number (it is
        then 1). Leaf gradients accumulate over calls; interior ones are recomputed and kept
        only by nodes that called `retain_grad()`. The graph is freed as it is walked unless
        `retain_graph=True`.
        """
        data = self.data  # always an ndarray (the constructor and every Function make one)
        if gradient is None:
            if data.size != 1:
                raise TorchRuntimeError(
                    f"grad can be implicitly created only for scalar outputs: backward() of an "
                    f"output of shape {self.data.shape}; call it on one number (e.g. .sum()) or pass "
                    f"backward(gradient) of that shape"
                )
            seed = np.array(1, dtype=data.dtype)  # d self / d self
            if data.ndim:
                seed = seed.reshape(data.shape).copy()
        else:
            g = gradient.data if isinstance(gradient, Tensor) else gradient
            seed = np.array(_as_array(g), dtype=data.dtype)  # a copy: grads we own
            if seed.shape != np.shape(data):
                raise TorchRuntimeError(
                    f"backward: gradient of shape {seed.shape} for an output of shape {self.data.shape}"
                )
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require a gradient (no input had "
                "requires_grad=True, or it was computed under no_grad())"
            )
        if self._fn is None:  # a leaf: d self / d self
            old = self.grad
            self.grad = _const(seed) if old is None else _accumulate(old, seed)
            return
        # Nodes are visited newest first (`_seq`, their creation number): every node is created
        # after its inputs, so by the time a node is taken from the heap, every node that uses
        # it has passed its gradient down. A node enters the heap when its first gradient
        # arrives, so one pass finds the graph and applies the chain rule.
        self.grad = seed
        heap = [(-self._seq, id(self), self)]  # id(): no tie between copies of one node
        queued = {self}
        # Nodes that keep their gradient (leaves, retain_grad()): it is accumulated as an
        # array and handed to the user as a Tensor at the end.
        kept = [self] if self._retains else []
        # Leaves whose gradient Tensor comes from an earlier pass: this pass's sum is added into
        # it in place at the end, as PyTorch does (`g = w.grad` sees the sum, `g is w.grad`)
        earlier: list = []
        try:
            while heap:
                node = heappop(heap)[2]
                g = node.grad
                prev = node._prev
                grads = node._fn.backward(g, prev)
                seq = node._seq
                for t, gt in zip(prev, grads):
                    if gt is None or not t.requires_grad:
                        continue
                    if type(gt) is not _ndarray:  # a numpy scalar, from 0-d arrays
                        gt = np.asarray(gt)
                    if t._fn is None:  # a leaf: gradients accumulate over backward() calls
                        old = t.grad
                        if old is None:
                            # a kept gradient must be an array of its own: the user (or an
                            # optimizer) may change it in place; passed-through or view
                            # gradients are shared with other nodes, so those get copied
                            t.grad = gt.copy() if gt is g or gt.base is not None else gt
                            kept.append(t)
                        elif type(old) is np.ndarray:  # a second gradient in this pass
                            total = old + gt
                            # (0-d arrays add up to a numpy scalar: keep an array)
                            t.grad = total if type(total) is _ndarray else np.asarray(total)
                        else:  # the Tensor of an earlier pass (only read, so no copy)
                            t.grad = gt
                            earlier.append((t, old))
                    elif t._seq > seq:  # newer than the node that used it
                        raise RuntimeError(
                            f"backward: an input of a {node._op!r} node was changed in place "
                            f"(by t[...] = ...) after that node used it; its gradient would be "
                            f"wrong. Assign to a clone() instead"
                        )
                    elif t in queued:  # an interior node's further gradients in this pass
                        t.grad = t.grad + gt
                    else:  # an interior node's first gradient in this pass
                        if t._retains:
                            t.grad = gt.copy() if gt is g or gt.base is not None else gt
                            kept.append(t)
                        else:
                            t.grad = gt
                        queued.add(t)
                        heappush(heap, (-t._seq, id(t), t))
                if not node._retains:
                    node.grad = None
                if not retain_graph:
                    node._fn = _FREED
                    node._prev = ()
        finally:
            # also after an error or a Ctrl-C inside a Function: the gradients kept so far are
            # Tensors, so the next backward() accumulates onto them the usual way
            for t in kept:
                if type(t.grad) is np.ndarray:
                    t.grad = _const(t.grad)
            for t, old in earlier:
                if type(t.grad) is np.ndarray:
                    t.grad = _accumulate(old, t.grad)

    def _backward(self) -> None:
        """Apply the chain rule at this node only: add this node's contribution to its inputs'
        grads (the graph protocol's per-node step, used by the animated backward pass)."""
        fn = self._fn
        g = self.grad
        if fn is None or g is None:
            return
        for t, gt in zip(self._prev, fn.backward(_array_of(g), self._prev)):
            if gt is None or not t.requires_grad:
                continue
            t.grad = np.array(gt) if t.grad is None else _array_of(t.grad) + gt

    @property
    def _freed(self) -> bool:
        """True once `backward()` has freed this node (its inputs dropped): drawings and the
        animated backward pass refuse a freed graph instead of drawing a stub."""
        return self._fn is _FREED

    # -- drawing and printing -------------------------------------------------------------

    def draw_dot(self, **kwargs: Any):
        """Draw the graph that computed this Tensor (`micrograd.viz.draw_dot`; needs graphviz).
        Draw before `backward()`, or pass `retain_graph=True` to it: backward frees the graph."""
        from micrograd.viz import draw_dot

        return draw_dot(self, **kwargs)

    def __repr__(self) -> str:
        """PyTorch's format, byte for byte (`micrograd/tensor/_tensor_str.py`):
        `tensor([1.0000, 2.5000], requires_grad=True)`, `grad_fn=<TanhBackward0>`."""
        return _tensor_str.tensor_repr(self)

    def storage(self) -> Any:
        """The elements in memory order, as PyTorch's `TypedStorage` prints them (the whole
        array a view looks into, as in PyTorch)."""
        from micrograd.tensor.storage import TypedStorage

        return TypedStorage(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor with {self.data.size} elements is "
                f"ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __getattr__(self, name: str) -> Any:
        # Reached only when normal lookup fails: name the missing op and what exists.
        if name.startswith("_"):
            raise AttributeError(f"'Tensor' object has no attribute {name!r}")
        hint = similar(name, [n for n in dir(Tensor) if not n.startswith("_")])
        raise AttributeError(
            f"Tensor has no attribute or method {name!r} (micrograd.tensor implements a subset "
            f"of PyTorch's Tensor{hint}; see dir(Tensor))"
        )


_FN_SLOT = Tensor.__dict__["_fn"]
_DATA_SLOT = Tensor.__dict__["_data"]
_REQUIRES_GRAD_SLOT = Tensor.__dict__["_requires_grad"]


def _slot_attribute_type() -> Any:
    """The compiled SlotAttribute, or the pure-Python one (not built, or MICROGRAD_PURE=1)."""
    compiled = _native.load("_cattrs")
    return _PySlotAttribute if compiled is None else compiled.SlotAttribute


_SlotAttribute = _slot_attribute_type()
Tensor.data = _SlotAttribute(_DATA_SLOT, "data", _checked_data, True)
Tensor.requires_grad = _SlotAttribute(_REQUIRES_GRAD_SLOT, "requires_grad", _checked_requires_grad)

# numpy ufuncs that a Tensor implements: ufunc -> (method, reflected method).
_UFUNC_OPERATORS = {
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__"),
    np.less: ("__lt__", "__gt__"),
    np.less_equal: ("__le__", "__ge__"),
    np.greater: ("__gt__", "__lt__"),
    np.greater_equal: ("__ge__", "__le__"),
    np.negative: ("__neg__", None),
    np.exp: ("exp", None),
    np.log: ("log", None),
    np.tanh: ("tanh", None),
    np.sqrt: ("sqrt", None),
    np.absolute: ("abs", None),
}


def _redirect(value: Tensor, target: Tensor, replacement: Tensor, min_seq: int) -> None:
    """Replace `target` by `replacement` among the inputs of the nodes `value` was computed from
    (only nodes newer than `min_seq` can have used target)."""
    stack = [value]
    seen = set()
    while stack:
        node = stack.pop()
        if node._fn is None or node is target or id(node) in seen or node._seq <= min_seq:
            continue
        seen.add(id(node))
        prev = node._prev
        if any(p is target for p in prev):
            node._prev = prev = tuple(replacement if p is target else p for p in prev)
        stack.extend(prev)


def _refuse_view_of_leaf(t: Tensor, name: str) -> None:
    """PyTorch refuses an in-place change, in the graph, of a view (a slice, a reshape, a
    transpose) of a leaf that requires grad: the leaf's data would change under its graph."""
    node = t
    while node._fn is not None and node._prev:
        fn = node._fn
        base = node._prev[0]
        if type(fn) is F.Index:
            if fn.advanced:  # advanced indexing copies: not a view
                return
        elif type(fn) not in (F.Reshape, F.Transpose) or not np.may_share_memory(
            node.data, base.data
        ):
            return
        node = base
    if node is not t and node._fn is None and node.requires_grad:
        raise TorchRuntimeError(
            f"{name}: a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation (change the leaf under `with torch.no_grad():`, or clone() the view)"
        )


def _accumulate(old: Any, g: np.ndarray) -> Tensor:
    """A leaf's gradient `old` (a Tensor from an earlier backward pass, or an array a tool
    stored) plus this pass's `g`: added in place into old's array when it can hold the sum (the
    same shape and dtype, writeable), so that the Tensor the user holds sees it, as in PyTorch;
    otherwise a new Tensor."""
    if type(old) is Tensor:
        data = old.data
        if data.shape == g.shape and data.dtype == g.dtype and data.flags.writeable:
            data += g
            return old
    return _const(_array_of(old) + g)


def _array_of(g: Any) -> np.ndarray:
    """A gradient as an array: backward() leaves Tensors, tools (optimizers, the animation)
    may store arrays."""
    return g.data if type(g) is Tensor else np.asarray(g)


def _index(index: Any, shape: tuple) -> tuple:
    """Normalise an index for numpy: Tensors become their data, lists integer arrays. Returns
    (index, advanced) where `advanced` says an array is involved (elements may repeat). An
    index that mixes ints with arrays becomes a `functions.SplitIndex` (PyTorch's order of the
    result's axes, which differs from numpy's)."""
    if (
        type(index) is list
        and len(index) < 32
        and any(
            x is None or x is Ellipsis or isinstance(x, (list, tuple, slice, Tensor, np.ndarray))
            for x in index
        )
    ):
        # PyTorch (and old numpy) read such a list as a tuple of indices: t[[[0, 1], [1, 0]]]
        # is t[[0, 1], [1, 0]]
        index = tuple(index)
    items = index if type(index) is tuple else (index,)
    advanced = False
    has_int = False
    has_mask = False
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif type(item) is range:
            item = np.arange(item.start, item.stop, item.step)
        if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
            item = int(item)  # a one-element integer tensor indexes like an int
        if isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)
            if item.dtype.kind not in "biu":
                if item.size or item.dtype.kind != "f":
                    raise TorchIndexTypeError(
                        f"Tensor index: tensors used as indices must be long, int or bool "
                        f"tensors, got dtype {item.dtype}"
                    )
                item = item.astype(np.int64)  # `[]` (an empty list is float to numpy)
            elif item.dtype.kind == "b" and item.ndim:
                has_mask = True
            advanced = True
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            has_int = True
        elif type(item) is slice:
            if item.step is not None and item.step <= 0:
                _check_ints_before(items, len(out), shape)  # PyTorch meets those first
                raise ValueError(
                    f"Tensor index: step must be greater than zero (PyTorch has no reversed "
                    f"slices; use .flip()), got {item}"
                )
        elif not (item is None or item is Ellipsis or isinstance(item, (slice, bool, np.bool_))):
            raise TorchIndexTypeError(f"Tensor index: cannot index with {type(item).__name__}")
        out.append(item)
    if has_mask:
        _check_masks(out, shape)
    if advanced and any(x is Ellipsis for x in out) and len(shape) == sum(map(_width, out)):
        # an Ellipsis that covers no axis: numpy still sees it between two index arrays (and
        # moves their axes to the front); PyTorch does not
        out = [x for x in out if x is not Ellipsis]
    if advanced and has_int:
        return _split_index(out), True
    return (tuple(out) if type(index) is tuple else out[0]), advanced


def _check_ints_before(items: tuple, stop: int, shape: tuple) -> None:
    """PyTorch applies an index's ints, slices, None and Ellipsis in order: an int out of
    bounds before a refused item raises its IndexError first (its axis counted as PyTorch
    counts it: an Ellipsis covers the axes the other items leave)."""

    def width(item: Any) -> int:
        if isinstance(item, Tensor):
            item = item.data
        if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            return 0
        if isinstance(item, (list, np.ndarray)):
            array = np.asarray(item)
            return array.ndim if array.dtype.kind == "b" else 1
        return 1

    axis = 0
    for item in items[:stop]:
        if item is Ellipsis:
            axis += len(shape) - sum(map(width, items))
            continue
        if isinstance(item, Tensor) and item.data.ndim == 0 and item.data.dtype.kind in "iu":
            item = int(item.data)
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            size = shape[axis] if axis < len(shape) else 0
            if not -size <= item < size:
                raise IndexError(
                    f"index {item} is out of bounds for dimension {axis} with size {size}"
                )
        axis += width(item)


def _width(item: Any) -> int:
    """How many axes of the indexed tensor an index item covers (an Ellipsis: 0 here)."""
    if isinstance(item, np.ndarray):
        return item.ndim if item.dtype.kind == "b" else 1
    return 0 if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)) else 1


def _check_masks(items: list, shape: tuple) -> None:
    """A boolean mask must have the shape of the axes it covers (numpy lets an empty mask
    through; PyTorch raises IndexError)."""
    widths = [_width(x) for x in items]
    rest = len(shape) - sum(widths)  # the axes an Ellipsis (or the end) covers
    axis = 0
    for item, width in zip(items, widths):
        if item is Ellipsis:
            axis += rest
            rest = 0
            continue
        if isinstance(item, np.ndarray) and item.dtype.kind == "b" and item.ndim:
            covered = shape[axis : axis + width]
            if item.shape != covered:
                raise IndexError(
                    f"The shape of the mask {list(item.shape)} at index {axis} does not match "
                    f"the shape of the indexed tensor {list(shape)}"
                )
        axis += width


def _split_index(items: list) -> F.SplitIndex:
    """PyTorch's reading of an index that mixes ints and index arrays: the ints (with the
    slices, None and Ellipsis) first, as basic indexing, then the arrays on what is left."""
    first = []
    second = []
    for item in items:
        if isinstance(item, np.ndarray):
            # a k-d boolean mask covers k axes, an integer array one
            width = item.ndim if item.dtype.kind == "b" else 1
            first.extend([slice(None)] * width)
            second.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            first.append(item)  # the axis goes away here
        elif item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            first.append(item)
            second.append(Ellipsis if item is Ellipsis else slice(None))
        else:  # a slice: applied in the first step
            first.append(item)
            second.append(slice(None))
    return F.SplitIndex((tuple(first), tuple(second)))


def _tensors(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        if not isinstance(tensors, Tensor) and hasattr(tensors, "__iter__"):
            return _tensors(list(tensors), op)
        raise TypeError(f"{op}: expected a list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return [t if isinstance(t, Tensor) else as_tensor(t) for t in tensors]


def concatenate(tensors: Sequence[Tensor], dim: int = 0, *, axis: Any = None) -> Tensor:
    """Join tensors along an existing axis (`torch.cat`, np.concatenate); the gradient is split
    back."""
    axis = dim if axis is None else axis
    ts = _tensors(tensors, "concatenate")
    dtype = ts[0].data.dtype
    for t in ts[1:]:  # PyTorch's promotion (int64 with float32 is float32, not float64)
        dtype = _promote_types(dtype, t.data.dtype)
    ts = [t if t.data.dtype == dtype else _cast(t, dtype) for t in ts]
    ndim = ts[0].data.ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    (axis,) = F.normalize_axes(axis, ndim, "concatenate")
    fn = _new(F.Concatenate)
    try:
        data = fn.forward([t.data for t in ts], axis)
    except ValueError:
        shapes = ", ".join(str(t.data.shape) for t in ts)
        raise ValueError(f"concatenate: shapes {shapes} do not match along axis {axis}") from None
    if _grad_enabled and any(t.requires_grad for t in ts):
        return _node(data, tuple(ts), fn, fn.op)
    return _const(data)


cat = concatenate


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: Any = None) -> Tensor:
    """Join tensors along a new axis: each gets a length-1 axis there, then `concatenate`."""
    axis = dim if axis is None else axis
    ts = _tensors(tensors, "stack")
    shape = ts[0].shape
    for t in ts:
        if t.shape != shape:
            shapes = ", ".join(str(t.data.shape) for t in ts)
            raise TorchRuntimeError(f"stack: all tensors need the same shape, got {shapes}")
    (axis,) = F.normalize_axes(axis, len(shape) + 1, "stack")
    new_shape = shape[:axis] + (1,) + shape[axis:]
    return _labelled(concatenate([t.reshape(new_shape) for t in ts], axis), "stack")


def linear(x: Any, weight: Tensor, bias: Tensor | None = None, relu: bool = False) -> Tensor:
    """`x @ weight + bias` as one graph node (x: (..., nin), weight: (nin, nout), bias: (nout,)),
    followed by ReLU inside the same node when `relu=True` (what an MLP's hidden layer does)."""
    if type(x) is not Tensor:
        x = as_tensor(x)
    wd = weight.data
    if x.data.dtype is not wd.dtype and x.data.dtype != wd.dtype:
        x = _cast(x, wd.dtype)
    fn = _new(F.Linear)
    try:
        if bias is None:
            prev: tuple = (x, weight)
            data = fn.forward(x.data, wd, None, relu)
        else:
            prev = (x, weight, bias)
            data = fn.forward(x.data, wd, bias.data, relu)
    except ValueError:
        shapes = f"{x.data.shape} @ {weight.data.shape}" + (
            "" if bias is None else f" + {bias.data.shape}"
        )
        raise ValueError(f"linear: shapes {shapes} do not match") from None
    if _grad_enabled and (
        weight.requires_grad or x.requires_grad or (bias is not None and bias.requires_grad)
    ):
        return _node(data, prev, fn, "linear_relu" if relu else "linear")
    return _const(data)
