"""`Tensor`: a numpy array that remembers how it was computed -- `Value`, one array at a time.

A Tensor is a node of the same kind of graph as `micrograd.engine.Value`: `data` (a numpy array),
`grad` (an array of the same shape and dtype, None until a backward pass reaches it), `_prev`
(the input Tensors, in order), `_op` (the operation's name, '' for a leaf) and `label`. So
`micrograd.graph`, `micrograd.viz.draw_dot` and `micrograd.gradcheck` work on it unchanged.

Each operator calls one primitive `Function` from `micrograd/tensor/functions.py` (forward and
backward side by side) or is built from a few of them in one line. `backward()` visits the graph
in reverse topological order and calls each node's function with the node's gradient.

Semantics, as in PyTorch where the original micrograd has nothing to say:

* numpy broadcasting everywhere; the gradient of a broadcast operand is summed back to its
  shape (`functions.unbroadcast`);
* dtype: Python lists and numbers become float64, float arrays keep their dtype (float32 in,
  float32 data and gradients out); integer arrays become float64; a float32 meeting a float64
  gives float64, and the gradient is converted back for the float32 input;
* a Tensor made by the user is a leaf that gets a gradient (`requires_grad=True`, as every
  micrograd Value does); pass `requires_grad=False` for data. Leaf gradients accumulate over
  backward passes (set `p.grad = None`, or `model.zero_grad()`, between steps); interior
  gradients are recomputed on each pass;
* `backward()` frees the graph as it goes (each node drops its inputs and saved arrays), so
  memory is released right away; `backward(retain_graph=True)` keeps it for another pass or a
  drawing. A second pass through a freed graph raises RuntimeError instead of silently
  stopping;
* `with no_grad():` computes results without building a graph (evaluation, optimizer steps).

The Python work per operation is kept short on purpose (no per-op validation of values, no
conversions of arrays that are already arrays): on small models it, not numpy, is the cost.

Read `micrograd/tensor/nn.py` next.
"""

from __future__ import annotations

import contextlib
import itertools
import numbers
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from micrograd.tensor import functions as F

__all__ = [
    "Tensor",
    "as_tensor",
    "cat",
    "concatenate",
    "is_grad_enabled",
    "linear",
    "no_grad",
    "stack",
]

# Whether operations record a graph; `no_grad()` switches it off. A module global because the
# hot path reads it once per operation and a global lookup is the cheapest read there is.
_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """`with no_grad():` (or `@no_grad()`) -- operations inside build no graph: their results
    have `requires_grad=False` and keep no references to their inputs."""

    def __enter__(self) -> no_grad:  # noqa: PYI034
        global _grad_enabled
        self._saved = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._saved


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


def _number(x: Any) -> Any:
    """A Python number for `x` if it is a real number (Python or numpy scalar), else None.

    numpy scalars become Python numbers so that numpy treats them as "weak": a float32 Tensor
    times `np.float64(2)` stays float32, as it does with `2.0`."""
    t = type(x)
    if t is float or t is int:
        return x
    if isinstance(x, np.generic):
        return x.item() if x.dtype.kind in "biuf" else None
    if isinstance(x, numbers.Real):
        return float(x) if isinstance(x, bool) else x
    return None


_new = object.__new__


def _node(data: Any, prev: tuple, fn: F.Function, op: str) -> Tensor:
    """An operation's result inside the graph (the constructor's checks skipped: `data` comes
    from numpy operations on arrays that were checked when they became Tensors)."""
    out = _new(Tensor)
    out.data = data
    out.grad = None
    out.requires_grad = True
    out._prev = prev
    out._fn = fn
    out._op = op
    out.label = ""
    out._seq = _next_seq()
    return out


# Creation numbers of graph nodes: an input is always numbered before the nodes that use it.
_next_seq = itertools.count().__next__


def _const(data: Any) -> Tensor:
    """An operation's result outside any graph (no input needs a gradient, or `no_grad`)."""
    out = _new(Tensor)
    out.data = data
    out.grad = None
    out.requires_grad = False
    out._prev = ()
    out._fn = None
    out._op = ""
    out.label = ""
    return out


def _unary(fn: F.Function, a: Tensor, data: Any) -> Tensor:
    """Wrap `data`, computed by `fn.forward` from `a`, as a node (or a constant)."""
    if a.requires_grad and _grad_enabled:
        return _node(data, (a,), fn, fn.op)
    return _const(data)


def _promote(a: Tensor, b: Tensor) -> tuple:
    """Give two operands one dtype (numpy's rule: float32 with float64 is float64), through a
    Cast node so that the gradient comes back in each tensor's own dtype."""
    da, db = a.data.dtype, b.data.dtype
    if da == db:
        return a, b
    target = np.result_type(da, db)
    if da != target:
        a = _cast(a, target)
    if db != target:
        b = _cast(b, target)
    return a, b


def _cast(a: Tensor, dtype: Any) -> Tensor:
    fn = _new(F.Cast)
    return _unary(fn, a, fn.forward(a.data, dtype))


def _binary(cls: type, a: Tensor, b: Tensor, name: str) -> Tensor:
    """Apply a broadcasting binary primitive; a shape mismatch names the op and both shapes."""
    if a.data.dtype is not b.data.dtype:
        a, b = _promote(a, b)
    fn = _new(cls)
    try:
        data = fn.forward(a.data, b.data)
    except F.DomainError:
        raise
    except ValueError:
        sep = "@" if cls is F.MatMul else "and"
        raise ValueError(
            f"{name}: shapes {tuple(np.shape(a.data))} {sep} {tuple(np.shape(b.data))} "
            + ("do not match" if cls is F.MatMul else "cannot be broadcast together")
        ) from None
    if (a.requires_grad or b.requires_grad) and _grad_enabled:
        return _node(data, (a, b), fn, cls.op)
    return _const(data)


def _operand(x: Any) -> Tensor | None:
    """The other side of an operator as a Tensor without gradient (arrays, lists), or None for
    types we do not handle (the operator then returns NotImplemented, so Python raises its
    usual TypeError naming both types)."""
    if type(x) is np.ndarray or isinstance(x, (list, tuple)):
        return _const(_as_array(x))
    return None


def as_tensor(x: Any, requires_grad: bool = False) -> Tensor:
    """`x` itself if it is a Tensor, else a new Tensor of it (no gradient by default: data)."""
    return x if isinstance(x, Tensor) else Tensor(x, requires_grad=requires_grad)


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


class Tensor:
    """A numpy array and its gradient; a node of the computation graph."""

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_fn",
        "_op",
        "_prev",
        "_seq",
        "data",
        "grad",
        "label",
        "requires_grad",
    )

    # numpy must not treat a Tensor as an array-like: `ndarray * Tensor` and
    # `np.float64 * Tensor` then fall back to Tensor.__rmul__ and build a node.
    __array_ufunc__ = None

    def __init__(
        self,
        data: Any,
        requires_grad: bool = True,
        *,
        dtype: Any = None,
        label: str = "",
    ) -> None:
        self.data = _as_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._prev = ()
        self._fn = None
        self._op = ""
        self.label = label

    # -- array attributes ----------------------------------------------------------------

    @property
    def shape(self) -> tuple:
        return np.shape(self.data)

    @property
    def ndim(self) -> int:
        return np.ndim(self.data)

    @property
    def size(self) -> int:
        return np.size(self.data)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return np.asarray(self.data)

    def tolist(self) -> Any:
        return np.asarray(self.data).tolist()

    def detach(self) -> Tensor:
        """The same data (shared, not copied) as a new leaf outside the graph."""
        return _const(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    # -- arithmetic -----------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Add, self, other, "add")
        c = _number(other)
        if c is not None:
            fn = _new(F.AddScalar)
            return _unary(fn, self, fn.forward(self.data, c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Add, self, other, "add")

    __radd__ = __add__

    def __sub__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Sub, self, other, "sub")
        c = _number(other)
        if c is not None:
            fn = _new(F.AddScalar)
            return _unary(fn, self, fn.forward(self.data, -c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Sub, self, other, "sub")

    def __rsub__(self, other: Any) -> Tensor:  # other - self
        c = _number(other)
        if c is not None:
            return (-self) + c
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Sub, other, self, "sub")

    def __mul__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Mul, self, other, "mul")
        c = _number(other)
        if c is not None:
            fn = _new(F.MulScalar)
            return _unary(fn, self, fn.forward(self.data, c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Mul, self, other, "mul")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Div, self, other, "div")
        c = _number(other)
        if c is not None:
            if c == 0:
                raise ZeroDivisionError("div: division of a Tensor by zero")
            # x * (1/c), as Value computes x / c: the same floats as the scalar engine
            return self * (1.0 / c)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Div, self, other, "div")

    def __rtruediv__(self, other: Any) -> Tensor:  # other / self
        c = _number(other)
        if c is not None:
            return self**-1 * c
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Div, other, self, "div")

    def __pow__(self, other: Any) -> Tensor:
        if type(other) is Tensor:
            return _binary(F.Pow, self, other, "pow")
        k = _number(other)
        if k is not None:
            fn = _new(F.PowScalar)
            data = fn.forward(self.data, k)
            if self.requires_grad and _grad_enabled:
                return _node(data, (self,), fn, f"**{k}")
            return _const(data)
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Pow, self, other, "pow")

    def __rpow__(self, other: Any) -> Tensor:  # other ** self
        c = _number(other)
        if c is not None:
            fn = _new(F.RPowScalar)
            return _unary(fn, self, fn.forward(self.data, c))
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.Pow, other, self, "pow")

    def __matmul__(self, other: Any) -> Tensor:
        if type(other) is not Tensor:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _binary(F.MatMul, self, other, "matmul")

    def __rmatmul__(self, other: Any) -> Tensor:
        other = _operand(other)
        return NotImplemented if other is None else _binary(F.MatMul, other, self, "matmul")

    def matmul(self, other: Any) -> Tensor:
        return self @ other

    def __neg__(self) -> Tensor:
        fn = _new(F.Neg)
        return _unary(fn, self, fn.forward(self.data))

    def neg(self) -> Tensor:
        return -self

    # -- elementwise functions ------------------------------------------------------------

    def exp(self) -> Tensor:
        fn = _new(F.Exp)
        return _unary(fn, self, fn.forward(self.data))

    def log(self) -> Tensor:
        fn = _new(F.Log)
        return _unary(fn, self, fn.forward(self.data))

    def tanh(self) -> Tensor:
        fn = _new(F.Tanh)
        return _unary(fn, self, fn.forward(self.data))

    def relu(self) -> Tensor:
        fn = _new(F.ReLU)
        return _unary(fn, self, fn.forward(self.data))

    def sigmoid(self) -> Tensor:
        fn = _new(F.Sigmoid)
        return _unary(fn, self, fn.forward(self.data))

    # -- reductions -----------------------------------------------------------------------

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = F.normalize_axes(axis, self.data.ndim, "sum")
        fn = _new(F.Sum)
        return _unary(fn, self, fn.forward(self.data, axes, keepdims))

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        shape = np.shape(self.data)
        axes = F.normalize_axes(axis, len(shape), "mean")
        n = 1
        for i in axes:
            n *= shape[i]
        return self.sum(axes, keepdims) * (1.0 / n if n else float("nan"))

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        axes = F.normalize_axes(axis, self.data.ndim, "max")
        fn = _new(F.Max)
        return _unary(fn, self, fn.forward(self.data, axes, keepdims))

    # -- shapes ---------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        fn = _new(F.Reshape)
        try:
            data = fn.forward(self.data, shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape shape {self.shape} ({self.size} elements) "
                f"into shape {shape}"
            ) from None
        return _unary(fn, self, data)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if axes:
            ndim = self.data.ndim
            if sorted(a % ndim if -ndim <= a < ndim else a for a in axes) != list(range(ndim)):
                raise ValueError(
                    f"transpose: axes {axes} are not a permutation of the {ndim} axes of "
                    f"shape {self.shape}"
                )
            axes = tuple(a % ndim for a in axes)
        fn = _new(F.Transpose)
        return _unary(fn, self, fn.forward(self.data, axes or None))

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __getitem__(self, index: Any) -> Tensor:
        index, advanced = _index(index)
        fn = _new(F.Index)
        return _unary(fn, self, fn.forward(self.data, index, advanced))

    # -- softmax --------------------------------------------------------------------------

    def softmax(self, axis: int = -1) -> Tensor:
        (axis,) = F.normalize_axes(axis, self.data.ndim, "softmax")
        fn = _new(F.Softmax)
        return _unary(fn, self, fn.forward(self.data, axis))

    def log_softmax(self, axis: int = -1) -> Tensor:
        (axis,) = F.normalize_axes(axis, self.data.ndim, "log_softmax")
        fn = _new(F.LogSoftmax)
        return _unary(fn, self, fn.forward(self.data, axis))

    # -- backpropagation ------------------------------------------------------------------

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Compute d self / d t into `t.grad` for every tensor t this one depends on.

        `gradient` is d loss / d self; it may be left out when self holds one number (it is
        then 1). Leaf gradients accumulate over calls; interior ones are recomputed. The graph
        is freed as it is walked unless `retain_graph=True`.
        """
        data = self.data
        if gradient is None:
            if np.size(data) != 1:
                raise ValueError(
                    f"backward: the output has shape {self.shape}; call it on one number "
                    f"(e.g. .sum()) or pass backward(gradient) of that shape"
                )
            seed = np.ones(np.shape(data), dtype=data.dtype)
        else:
            g = gradient.data if isinstance(gradient, Tensor) else gradient
            seed = np.array(_as_array(g), dtype=data.dtype)  # a copy: grads we own
            if seed.shape != np.shape(data):
                raise ValueError(
                    f"backward: gradient of shape {seed.shape} for an output of shape {self.shape}"
                )
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require a gradient (it was computed under "
                "no_grad() or only from tensors with requires_grad=False)"
            )
        if self._fn is None:  # a leaf: d self / d self
            self.grad = seed if self.grad is None else self.grad + seed
            return
        order = _interior_nodes(self)
        for node in order:
            node.grad = None
        self.grad = seed
        for node in order:
            g = node.grad
            if g is None:
                continue
            prev = node._prev
            grads = node._fn.backward(g, prev)
            for t, gt in zip(prev, grads):
                if gt is None or not t.requires_grad:
                    continue
                old = t.grad
                if old is None:
                    # A leaf's gradient must be an array of its own: the user (or an
                    # optimizer) may change it in place. Passed-through or view gradients are
                    # shared with other nodes, so those get copied.
                    if t._fn is None and (gt is g or gt.base is not None):
                        gt = gt.copy()
                    t.grad = gt
                else:
                    t.grad = old + gt
            if not retain_graph:
                node._fn = _FREED
                node._prev = ()

    def _backward(self) -> None:
        """Apply the chain rule at this node only: add this node's contribution to its inputs'
        grads (the graph protocol's per-node step, used by the animated backward pass)."""
        fn = self._fn
        g = self.grad
        if fn is None or g is None:
            return
        for t, gt in zip(self._prev, fn.backward(g, self._prev)):
            if gt is None or not t.requires_grad:
                continue
            t.grad = np.array(gt) if t.grad is None else t.grad + gt

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
        data = np.array2string(np.asarray(self.data), separator=", ", threshold=20)
        if self.grad is None:
            grad = "None"
        else:
            grad = np.array2string(np.asarray(self.grad), separator=", ", threshold=20)
        return f"Tensor(data={data}, grad={grad})"

    def __bool__(self) -> bool:
        return bool(self.data)


def _interior_nodes(root: Tensor) -> list:
    """The non-leaf nodes `root` depends on, each before all of its inputs (the order backward
    visits them). Leaves are not listed: nothing to do at a leaf but receive a gradient.

    Every node is created after its inputs and numbered in creation order (`_seq`), so sorting
    the reachable nodes newest first is a valid order; it is cheaper than a depth-first walk
    with post-order bookkeeping, and this runs once per training step."""
    order = [root]
    visited = {root}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if child._fn is not None and child not in visited:
                visited.add(child)
                order.append(child)
                stack.append(child)
    if len(order) > 1:
        order.sort(key=_seq_of, reverse=True)
    return order


_seq_of = operator.attrgetter("_seq")


def _index(index: Any) -> tuple:
    """Normalise an index for numpy: Tensors become their data, lists integer arrays. Returns
    (index, advanced) where `advanced` says an array is involved (elements may repeat)."""
    items = index if type(index) is tuple else (index,)
    advanced = False
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        if isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)
            if item.dtype.kind not in "biu":
                raise TypeError(
                    f"Tensor index: arrays used as indices must hold integers or booleans, "
                    f"got dtype {item.dtype}"
                )
            advanced = True
        elif not (item is None or item is Ellipsis or isinstance(item, (slice, int, np.integer))):
            raise TypeError(f"Tensor index: cannot index with {type(item).__name__}")
        out.append(item)
    return (tuple(out) if type(index) is tuple else out[0]), advanced


def _tensors(tensors: Any, op: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expected a list of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return [t if isinstance(t, Tensor) else as_tensor(t) for t in tensors]


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (np.concatenate); the gradient is split back."""
    ts = _tensors(tensors, "concatenate")
    dtype = np.result_type(*[t.data.dtype for t in ts])
    ts = [t if t.data.dtype == dtype else _cast(t, dtype) for t in ts]
    ndim = ts[0].data.ndim
    if ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    (axis,) = F.normalize_axes(axis, ndim, "concatenate")
    fn = _new(F.Concatenate)
    try:
        data = fn.forward([t.data for t in ts], axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in ts)
        raise ValueError(f"concatenate: shapes {shapes} do not match along axis {axis}") from None
    if _grad_enabled and any(t.requires_grad for t in ts):
        return _node(data, tuple(ts), fn, fn.op)
    return _const(data)


cat = concatenate


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along a new axis: each gets a length-1 axis there, then `concatenate`."""
    ts = _tensors(tensors, "stack")
    shape = ts[0].shape
    for t in ts:
        if t.shape != shape:
            shapes = ", ".join(str(t.shape) for t in ts)
            raise ValueError(f"stack: all tensors need the same shape, got {shapes}")
    (axis,) = F.normalize_axes(axis, len(shape) + 1, "stack")
    new_shape = shape[:axis] + (1,) + shape[axis:]
    return concatenate([t.reshape(new_shape) for t in ts], axis)


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
        shapes = f"{x.shape} @ {weight.shape}" + ("" if bias is None else f" + {bias.shape}")
        raise ValueError(f"linear: shapes {shapes} do not match") from None
    if _grad_enabled and (
        weight.requires_grad or x.requires_grad or (bias is not None and bias.requires_grad)
    ):
        return _node(data, prev, fn, "linear_relu" if relu else "linear")
    return _const(data)
