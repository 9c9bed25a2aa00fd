"""The primitive operations of the tensor engine, each with its forward and backward side by side.

A `Function` is one node's operation. `forward(*arrays)` computes the result from numpy arrays and
keeps on the function object whatever the backward pass needs (an input, the output, a mask);
`backward(g, prev)` takes the gradient of the loss with respect to the result (`g`, same shape as
the result) and returns one gradient per input, in input order (`None` for an input that needs
none). `prev` is the node's tuple of input Tensors, so that a function can skip the work for an
input that does not require a gradient (the data batch `x` of a `Linear`).

Everything else in `micrograd/tensor/core.py` is built from these, usually in one line (`log10`
is `log` times a constant, `stack` is `reshape` + `Concatenate`). A few fused functions (`Linear`,
the losses) exist only for speed: on small models the cost is the Python work per node, so one
node for `x @ W + b` instead of two is worth its few lines.

Matrix products of 2-D (and 1-D) operands are written `a.dot(b)`, not `a @ b`: the same product
through the same BLAS call, but numpy's matmul ufunc costs about 0.7 µs more per call, which is
6% of a makemore lecture's training step. `@` stays where its rules differ from `dot`'s (stacks
of matrices with broadcast batch axes).

`FUNCTIONS` lists every primitive; the tests enumerate it and fail if one has no gradient check.

Read `micrograd/tensor/core.py` next for how a Tensor calls these and runs `backward()`.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from micrograd.tensor import _reduce, _softmax32
from micrograd.tensor._fma import fma32, fma64
from micrograd.tensor._math32 import sigmoid32, sigmoid_backward32, tanh32, tanh_backward32
from micrograd.tensor.errors import TorchIndexError, TorchRuntimeError

__all__ = ["FUNCTIONS", "Function", "normalize_axes", "unbroadcast", "wrap_dim"]


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `g` down to `shape`: the gradient of an input that numpy broadcast up to g.shape.

    Broadcasting repeats an input along new leading axes and along axes where it has length 1;
    the chain rule adds up the gradient over every repetition. Shapes usually match already,
    and that case returns at once (this is on every binary op's backward path).
    """
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    if g.dtype in _FLOAT_DTYPES:
        # PyTorch's sum_to: one sum over all those axes in PyTorch's order (its result has the
        # right shape when no kept axis is summed, or no leading one: leaf gradients that are
        # views get copied later)
        kept = len(axes) > lead
        if kept and lead:
            return _reduce.torch_sum(g, axes, True).reshape(shape)
        return _reduce.torch_sum(g, axes, kept)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    # A sum over every axis gives a numpy scalar: keep gradients as arrays.
    return g if type(g) is np.ndarray else np.asarray(g)


def reduce_sum(a: np.ndarray, axes: tuple, keepdims: bool) -> np.ndarray:
    """`np.add.reduce(a, axis=axes, keepdims=keepdims)`; a float matrix summed over its rows or
    its columns goes through BLAS instead (a product with a vector of ones), about three times
    faster on the small batches of this engine (BatchNorm's batch statistics, the row sums of
    a softmax). The order of the additions differs, so the last bits may too."""
    if a.ndim == 2 and len(axes) == 1:
        axis = axes[0]
        n = a.shape[axis]
        # the ones already shaped so that the product has the result's shape: (1, n) . a or
        # a . (n, 1) keeps the summed axis, a 1-D vector drops it
        key = ("sum", n, a.dtype.char, axis, keepdims)
        ones = _CACHE.get(key)
        if ones is None and a.dtype in _BLAS_DTYPES and n <= _CACHED_SIZE:
            # longer sums are not cached: numpy's own reduction is as fast
            shape = ((1, n) if axis == 0 else (n, 1)) if keepdims else (n,)
            ones = _remember(key, np.ones(shape, dtype=a.dtype))
        if ones is not None:
            return ones.dot(a) if axis == 0 else a.dot(ones)
    return np.add.reduce(a, axis=axes, keepdims=keepdims)


_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT_DTYPES = _BLAS_DTYPES  # the dtypes PyTorch's float sum (`_reduce.torch_sum`) covers


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple:
    """`axis` (None, an int or a tuple of ints, negative allowed) as a sorted tuple of
    non-negative axes; None means all of them. Errors name the op.

    As in PyTorch, a 0-d tensor accepts the dims 0 and -1 (it is treated as one element along
    one axis): they mean no axis at all here, `()`. An axis out of range is an IndexError, a
    repeated one a RuntimeError (both also ValueErrors, what this function raised before)."""
    if type(axis) is int and -ndim <= axis < ndim:  # the common case, one valid axis
        return (axis % ndim,)
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        axes: tuple = (int(axis),)
    elif isinstance(axis, (tuple, list)) and all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis
    ):
        axes = tuple(int(a) for a in axis)
    else:
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    out = []
    span = max(ndim, 1)  # a 0-d tensor's dims are -1 and 0, as a 1-d one's
    for a in axes:
        if not -span <= a < span:
            raise TorchIndexError(
                f"{op}: dimension out of range (expected to be in range of [{-span}, "
                f"{span - 1}], but got axis {a})"
            )
        out.append(a % span)
    if len(set(out)) != len(out):
        raise TorchRuntimeError(f"{op}: dim {out[0]} appears multiple times in the list of dims")
    return tuple(sorted(out)) if ndim else ()


def wrap_dim(dim: Any, ndim: int, op: str) -> int:
    """One dim (an int, negative counting from the end) as a non-negative axis, PyTorch's rule:
    a 0-d tensor takes 0 and -1 (both give 0); out of range is an IndexError."""
    if type(dim) is int and -ndim <= dim < ndim:
        return dim % ndim
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: a dim must be an int, got {dim!r}")
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise TorchIndexError(
            f"{op}: dimension out of range (expected to be in range of [{-span}, {span - 1}], "
            f"but got axis {dim})"
        )
    return int(dim) % span


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """The shape of a reduction over `axes` with keepdims=True."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Function:
    """One primitive operation. Subclasses set `op` (the name a graph drawing shows) and
    implement `forward(*arrays, **params)` and `backward(g, prev)`. The binary operators also
    have `compute(a, b)`: the forward value alone, for results outside any graph (no Function
    object, nothing kept)."""

    __slots__ = ()
    op = ""

    def forward(self, *args: Any) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, g: np.ndarray, prev: tuple) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError


# -- binary operations with broadcasting -------------------------------------------------------


class Add(Function):
    __slots__ = ("sa", "sb")
    op = "+"
    compute = staticmethod(operator.add)

    def forward(self, a, b):
        out = a + b
        self.sa = a.shape
        self.sb = b.shape
        return out

    def backward(self, g, prev):
        # d(a+b)/da = d(a+b)/db = 1, summed over broadcast repetitions
        return unbroadcast(g, self.sa), unbroadcast(g, self.sb)


class Sub(Function):
    __slots__ = ("sa", "sb")
    op = "-"
    compute = staticmethod(operator.sub)

    def forward(self, a, b):
        out = a - b
        self.sa = a.shape
        self.sb = b.shape
        return out

    def backward(self, g, prev):
        # negate after summing back: a broadcast operand's gradient is the smaller array
        gb = -unbroadcast(g, self.sb) if prev[1].requires_grad else None
        return unbroadcast(g, self.sa), gb


class Mul(Function):
    __slots__ = ("a", "b")
    op = "*"
    compute = staticmethod(operator.mul)

    def forward(self, a, b):
        self.a = a
        self.b = b
        return a * b

    def backward(self, g, prev):
        a, b = self.a, self.b
        # d(a*b)/da = b, d(a*b)/db = a
        ga = unbroadcast(g * b, a.shape) if prev[0].requires_grad else None
        gb = unbroadcast(g * a, b.shape) if prev[1].requires_grad else None
        return ga, gb


def _true_divide(a, b):
    """a / b with IEEE's results for a zero divisor (inf, -inf, nan), as PyTorch gives them,
    without numpy's RuntimeWarning."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return a / b


class Div(Function):
    __slots__ = ("a", "b", "out")
    op = "/"
    compute = staticmethod(_true_divide)

    def forward(self, a, b):
        self.a = a
        self.b = b
        self.out = out = _true_divide(a, b)
        return out

    def backward(self, g, prev):
        a, b = self.a, self.b
        # PyTorch's formulas, operation for operation (so the gradients are its floats):
        # d(a/b)/da = 1/b -> g / b; d(a/b)/db = -a/b**2 -> -g * ((a/b) / b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ga = unbroadcast(g / b, a.shape) if prev[0].requires_grad else None
            gb = unbroadcast(-(g * (self.out / b)), b.shape) if prev[1].requires_grad else None
        return ga, gb


class DivScalar(Function):
    """a / c for a number c: a true division (not a * (1/c), which can differ in the last bit)."""

    __slots__ = ("c",)
    op = "/"

    def forward(self, a, c):
        self.c = c
        if 1.0 <= abs(c) <= 3.4028234663852886e38:  # no division by zero, no overflow (not
            return a / c  # even in converting c to float32): numpy's errstate not needed
        return _true_divide(a, c)

    def backward(self, g, prev):
        return (_true_divide(g, self.c),)


class RDivScalar(Function):
    """c / a for a number c, as PyTorch computes it (`Tensor.__rtruediv__` is
    `a.reciprocal() * c`: two roundings, not a true division)."""

    __slots__ = ("c", "r")
    op = "/"

    def forward(self, a, c):
        self.c = c
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            self.r = r = 1 / a
            return r * c

    def backward(self, g, prev):
        # through PyTorch's two nodes: mul's g * c, then reciprocal's -g * (r * r)
        r = self.r
        with np.errstate(over="ignore", invalid="ignore"):
            return (-(g * self.c) * (r * r),)


def check_integer_divisor(b: Any, op: str) -> None:
    """Integer division and remainder by zero: PyTorch raises RuntimeError("ZeroDivisionError")
    where numpy would give 0 and a warning."""
    if not np.all(b):
        raise RuntimeError("ZeroDivisionError")


def floor_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's `a // b`: integers floor-divided (a zero divisor raises), floats by the
    fmod-based formula numpy and PyTorch share (inf/nan for a zero divisor)."""
    if a.dtype.kind in "iu":
        check_integer_divisor(b, "floor_divide")
        return np.floor_divide(a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.floor_divide(a, b)


def remainder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """PyTorch's `a % b` (the sign of b, as Python's): for floats fmod(a, b), plus b where the
    signs differ. A zero result keeps fmod's sign (numpy would give b's: -4.0 % 2 is -0.0 in
    PyTorch, 0.0 in numpy)."""
    if a.dtype.kind in "iu":
        check_integer_divisor(b, "remainder")
        return np.remainder(a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mod = np.fmod(a, b)
        fix = (mod != 0) & ((b < 0) != (mod < 0))
        return np.where(fix, mod + b, mod).astype(mod.dtype, copy=False)


def integer_power(a: np.ndarray, b: Any) -> np.ndarray:
    """PyTorch's power of integers: a negative exponent gives 1 for a base of 1, +-1 for -1 and
    0 otherwise (numpy refuses negative integer exponents)."""
    b = np.asarray(b)
    if not (b < 0).any():
        return np.power(a, b)
    safe = np.power(a, np.maximum(b, 0))
    odd = (b % 2) != 0
    tiny = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(b < 0, tiny, safe).astype(safe.dtype, copy=False)


class NotDifferentiable(Function):
    """The node of an operation PyTorch has no derivative for (`//`): a backward pass through
    it raises PyTorch's RuntimeError instead of silently giving no gradient."""

    __slots__ = ("name",)
    op = "not_differentiable"

    def forward(self, out, name):
        self.name = name
        return out

    def backward(self, g, prev):
        raise RuntimeError(f"derivative for aten::{self.name} is not implemented")


class ZeroGrad(Function):
    """An operation whose derivative is 0 wherever it exists (`div(rounding_mode=...)`): the
    inputs get zero gradients, as in PyTorch."""

    __slots__ = ()
    op = "div_rounded"

    def forward(self, out):
        return out

    def backward(self, g, prev):
        return tuple(np.zeros(p.data.shape, g.dtype) for p in prev)


class Remainder(Function):
    """a % b (PyTorch's remainder); d/da = 1, d/db = -floor(a / b)."""

    __slots__ = ("a", "b")
    op = "%"

    def forward(self, a, b):
        self.a = a
        self.b = b
        return remainder(a, b)

    def backward(self, g, prev):
        ga = unbroadcast(g, self.a.shape) if prev[0].requires_grad else None
        gb = None
        if prev[1].requires_grad:
            gb = unbroadcast(-g * floor_divide(self.a, self.b), self.b.shape)
        return ga, gb


class Maximum(Function):
    """maximum(a, b) elementwise (nan wins, as in PyTorch). PyTorch's gradients: the larger side
    gets g, a tie splits it (g/2 each), and where either is nan both sides get g."""

    __slots__ = ("a", "b")
    op = "maximum"
    compute = staticmethod(np.maximum)
    _beaten = staticmethod(np.less)  # a side gets nothing where it is beaten by the other

    def forward(self, a, b):
        self.a = a
        self.b = b
        return np.asarray(self.compute(a, b))

    def backward(self, g, prev):
        a, b = self.a, self.b
        zero = np.zeros((), g.dtype)
        share = np.where(a == b, g / 2, g)
        ga = gb = None
        if prev[0].requires_grad:
            ga = unbroadcast(np.where(self._beaten(a, b), zero, share), a.shape)
        if prev[1].requires_grad:
            gb = unbroadcast(np.where(self._beaten(b, a), zero, share), b.shape)
        return ga, gb


class Minimum(Maximum):
    """minimum(a, b): as `Maximum`, with the smaller side winning."""

    __slots__ = ()
    op = "minimum"
    compute = staticmethod(np.minimum)
    _beaten = staticmethod(np.greater)


class Where(Function):
    """where(condition, a, b): a's elements where the condition holds, b's elsewhere; each side's
    gradient is g where it was picked, 0 elsewhere (summed back over broadcasting)."""

    __slots__ = ("cond", "sa", "sb")
    op = "where"

    def forward(self, cond, a, b):
        self.cond = cond
        self.sa = a.shape
        self.sb = b.shape
        return np.where(cond, a, b)

    def backward(self, g, prev):
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(self.cond, g, zero), self.sa) if prev[0].requires_grad else None
        gb = unbroadcast(np.where(self.cond, zero, g), self.sb) if prev[1].requires_grad else None
        return ga, gb


class Clamp(Function):
    """clamp(a, lo, hi) = min(max(a, lo), hi) (hi wins where lo > hi; nan stays nan). PyTorch's
    gradients: a gets g where lo <= a <= hi (the bounds included); a tensor bound gets g where it
    was the result (lo where a < lo and lo < hi; hi where a > hi or hi < lo). The node's inputs
    are a, then the bounds that are tensors (`tensor_lo`, `tensor_hi` say which)."""

    __slots__ = ("a", "hi", "lo", "tensor_hi", "tensor_lo")
    op = "clamp"

    def forward(self, a, lo, hi, tensor_lo=False, tensor_hi=False):
        # lo, hi: arrays of a's dtype, or None for a missing bound
        self.a = a
        self.lo = lo
        self.hi = hi
        self.tensor_lo = tensor_lo
        self.tensor_hi = tensor_hi
        # PyTorch's min(max(a, lo), hi) with C++'s std::max/std::min: a bound replaces a only
        # where it is strictly beyond it (clamp(0.0, min=-0.0) is 0.0; numpy's maximum would
        # give -0.0); a nan in a stays, a nan bound makes the result nan
        out = a
        for bound, beyond in ((lo, np.less), (hi, np.greater)):
            if bound is not None:
                out = np.where(beyond(out, bound), bound, out)
                if bound.dtype.kind == "f":
                    out = np.where(np.isnan(bound), bound, out)
        return np.asarray(out)

    def backward(self, g, prev):
        a, lo, hi = self.a, self.lo, self.hi
        zero = np.zeros((), g.dtype)
        if lo is None:
            inside = a <= hi
        elif hi is None:
            inside = a >= lo
        else:
            inside = (a >= lo) & (a <= hi)
        grads = [unbroadcast(np.where(inside, g, zero), a.shape) if prev[0].requires_grad else None]
        if self.tensor_lo:
            pick = a < lo if hi is None else (a < lo) & (lo < hi)
            need = prev[len(grads)].requires_grad
            grads.append(unbroadcast(np.where(pick, g, zero), lo.shape) if need else None)
        if self.tensor_hi:
            pick = a > hi if lo is None else (a > hi) | (hi < lo)
            need = prev[len(grads)].requires_grad
            grads.append(unbroadcast(np.where(pick, g, zero), hi.shape) if need else None)
        return tuple(grads)


class AddScaled(Function):
    """a + k * b for a number k (`torch.add(a, b, alpha=k)`), rounded once as PyTorch's fused
    multiply-add; d/da = 1, d/db = k."""

    __slots__ = ("k", "sa", "sb")
    op = "+"

    def forward(self, a, b, k):
        self.k = k
        self.sa = a.shape
        self.sb = b.shape
        if a.dtype == np.float32:
            return fma32(b, np.float32(k), a)
        if a.dtype == np.float64:
            return fma64(b, k, a)
        return a + b * k  # integers: exact (up to the same wrap-around as PyTorch's)

    def backward(self, g, prev):
        ga = unbroadcast(g, self.sa) if prev[0].requires_grad else None
        gb = unbroadcast(g * self.k, self.sb) if prev[1].requires_grad else None
        return ga, gb


class DomainError(ValueError):
    """An op's input is outside the op's domain (log of 0, a negative base with a fractional
    exponent): a ValueError, kept apart from the shape errors the front end rewords."""


class LabelError(ValueError):
    """A class label outside 0..C-1; `label` is the offending one (the lowest if any is
    negative, else the highest), for the loss to name in its own words."""

    def __init__(self, label: int, classes: int) -> None:
        super().__init__(f"label {label} is not a class index in 0..{classes - 1}")
        self.label = label


class Pow(Function):
    """a ** b with both sides tensors; the exponent's gradient needs a > 0 (log a)."""

    __slots__ = ("a", "b", "out")
    op = "**"

    @staticmethod
    def compute(a, b):
        return Pow().forward(a, b)  # the same domain check as in a graph

    def forward(self, a, b):
        if (a < 0).any():
            raise DomainError(
                f"**: a negative base ({a[a < 0].flat[0]}) is not allowed with a tensor "
                f"exponent: the exponent's gradient a**b * log(a) needs a >= 0"
            )
        self.a = a
        self.b = b
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # inf, as torch
            self.out = out = a**b
        return out

    def backward(self, g, prev):
        a, b, out = self.a, self.b, self.out
        ga = gb = None
        if prev[0].requires_grad:
            # d(a**b)/da = b * a**(b-1)
            ga = unbroadcast(g * b * a ** (b - 1), a.shape)
        if prev[1].requires_grad:
            # d(a**b)/db = a**b * log(a), taken as 0 where a == 0 (as PyTorch does)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a == 0, 0.0, np.log(np.where(a == 0, 1.0, a)))
            gb = unbroadcast(g * out * log_a, b.shape)
        return ga, gb


def rows_dot(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """`x @ w` for x of shape (..., k) and a 2-D (or 1-D) w as ONE 2-D product: x's leading axes
    folded into the rows of a (n, k) matrix, the result unfolded again. PyTorch computes a linear
    layer on a (B, T, C) input the same way (one GEMM). numpy would run `x @ w` as a stack of
    B small products and `x.dot(w)` for a 3-D x without BLAS at all (20x slower still); one
    product of the same numbers is 3-20x faster on a WaveNet's or a GPT's layers.
    A non-contiguous x (a transposed view) is copied by the reshape, as PyTorch copies it."""
    if x.ndim <= 2:
        return x.dot(w)
    lead = x.shape[:-1]
    out = x.reshape(math.prod(lead), x.shape[-1]).dot(w)
    return out.reshape(lead + w.shape[1:])


def rows_weight_grad(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The gradient of a 2-D weight w in `x @ w` (x of shape (..., k), g the result's gradient,
    (..., n)): every row of x times its row of g, summed over all of x's leading axes -- one
    (k, rows) x (rows, n) product, never a stack of products followed by a sum over the stack."""
    if x.ndim != 2:  # (a 1-D x is one row: the gradient is an outer product)
        rows = math.prod(x.shape[:-1])
        x = x.reshape(rows, x.shape[-1])
        g = g.reshape(rows, g.shape[-1])
    return x.T.dot(g)


class MatMul(Function):
    """numpy's `a @ b`: 2-D matrices, 1-D vectors (promoted as numpy does) and stacks of
    matrices with broadcast batch dimensions. A stack times one matrix ((..., k) @ (k, n): a
    linear layer on a batch of sequences) is one 2-D product, forward and backward (`rows_dot`)."""

    __slots__ = ("a", "b")
    op = "@"

    @staticmethod
    def compute(a, b):
        if b.ndim == 2 and a.ndim:  # (a 0-d a goes to `@`, which refuses it as torch does)
            return rows_dot(a, b)  # a.dot(b) for 2-D a (dot: see the top)
        return a @ b

    def forward(self, a, b):
        self.a = a
        self.b = b
        if b.ndim == 2 and a.ndim:
            return rows_dot(a, b)
        return a @ b

    def backward(self, g, prev):
        a, b = self.a, self.b
        if b.ndim == 2 and a.ndim >= 2:  # the common cases, as 2-D products
            ga = rows_dot(g, b.T) if prev[0].requires_grad else None
            gb = rows_weight_grad(a, g) if prev[1].requires_grad else None
            return ga, gb
        if a.ndim == 1 and b.ndim == 1:  # the dot product of two vectors
            return g * b, g * a
        # Promote vectors as numpy does: a (n,) is a row (1, n), b (n,) a column (n, 1); put
        # the removed axes back into g, then treat everything as (stacks of) matrices.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if prev[0].requires_grad:
            ga = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if prev[1].requires_grad:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


# -- operations with a Python number (no broadcasting, no gradient for the number) ------------


class AddScalar(Function):
    __slots__ = ()
    op = "+"

    def forward(self, a, c):
        return a + c

    def backward(self, g, prev):
        return (g,)


class MulScalar(Function):
    __slots__ = ("c",)
    op = "*"

    def forward(self, a, c):
        self.c = c
        return a * c

    def backward(self, g, prev):
        return (g * self.c,)


def power(a: np.ndarray, k: float) -> np.ndarray:
    """a ** k for a number k as torch's CPU kernel computes it: the exponents it spells as
    products (3: x*x*x, -2: 1/(x*x), -0.5: 1/sqrt(x); 2 and -1 are numpy's own square and
    reciprocal) bit for bit, numpy's power (libm's pow) for the others. The products are also
    about 50x faster than pow (a tanh GELU raises x to 3 on every layer)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # inf, as torch
        if k == 3:
            return a * a * a
        if k == -2:
            return 1 / (a * a)
        if k == -0.5:
            return 1 / np.sqrt(a)
        return a**k


class PowScalar(Function):
    """a ** k for a number k (the `**2` node of a drawing, as for Value)."""

    __slots__ = ("a", "k")

    def forward(self, a, k):
        if not float(k).is_integer() and (a < 0).any():
            raise DomainError(
                f"**{k}: a negative base ({a[a < 0].flat[0]}) with a fractional exponent has no "
                f"real result"
            )
        self.a = a
        self.k = k
        return power(a, k)

    def backward(self, g, prev):
        a, k = self.a, self.k
        if k == 2:
            return (g * (2 * a),)  # the common square, without a power
        # d(a**k)/da = k * a**(k-1) (torch's order); at a == 0 with k < 1 this is inf (or 0 for
        # k == 0)
        return (g * (k * power(a, k - 1)),)


class RPowScalar(Function):
    """c ** a for a number c > 0 (a Tensor exponent)."""

    __slots__ = ("log_c", "out")
    op = "rpow"

    def forward(self, a, c):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # inf, as torch
            self.out = out = c**a
        self.log_c = math.log(c) if c > 0 else 0.0  # a Python float: keeps float32 float32
        return out

    def backward(self, g, prev):
        # d(c**a)/da = c**a * log(c)
        return (g * self.out * self.log_c,)


# -- elementwise functions ---------------------------------------------------------------------


class Neg(Function):
    __slots__ = ()
    op = "neg"

    def forward(self, a):
        return -a

    def backward(self, g, prev):
        return (-g,)


# float32 exp and log through float64: numpy's own float32 versions are up to 2-3 ulps from the
# correctly rounded result (and from PyTorch's, which is within 1 ulp of it); the float64
# result rounded to float32 is correctly rounded in all but the rarest cases, so ours is then
# within 1 ulp of PyTorch's. (float32 tanh has its own module, _math32.py; numpy's float32 sqrt
# is correctly rounded.) Overflow gives inf silently, as in PyTorch.


def exp(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.float32:
        with np.errstate(over="ignore"):
            return np.exp(a.astype(np.float64)).astype(np.float32)
    with np.errstate(over="ignore"):
        return np.exp(a)


def log(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.float32:
        return np.log(a.astype(np.float64)).astype(np.float32)
    return np.log(a)


class Exp(Function):
    __slots__ = ("out",)
    op = "exp"

    def forward(self, a):
        self.out = out = exp(a)
        return out

    def backward(self, g, prev):
        return (g * self.out,)


class Log(Function):
    """Natural log. numpy would return -inf for 0 and a silent nan for negative numbers; here
    they are a ValueError, as for `Value.log` (one comparison pass, cheap next to the log)."""

    __slots__ = ("a",)
    op = "log"

    def forward(self, a):
        positive = a > 0
        if not positive.all():
            bad = a[~positive]
            raise DomainError(
                f"log: the logarithm needs positive numbers; {bad.size} of {a.size} elements "
                f"are not (the first is {bad.flat[0]})"
            )
        self.a = a
        return log(a)

    def backward(self, g, prev):
        return (g / self.a,)


class Tanh(Function):
    """tanh; backward g * (1 - tanh**2). float32 both ways as PyTorch's CPU kernels (_math32.py):
    the forward correctly rounded (PyTorch's MKL tanh is, but for about 6 inputs in 10,000, 1
    ulp apart), the backward with PyTorch's fused multiply-add, bit for bit."""

    __slots__ = ("out",)
    op = "tanh"

    def forward(self, a):
        if a.dtype == np.float32:
            self.out = out = tanh32(a)
            return out
        self.out = out = np.tanh(a)  # saturates at +-1, no overflow
        return out

    def backward(self, g, prev):
        out = self.out
        if out.dtype == np.float32 and g.dtype == np.float32 and g.shape == out.shape:
            return (tanh_backward32(g, out),)
        # g * (1 - out**2), with one temporary array instead of three
        t = out * out
        if type(t) is not np.ndarray:  # 0-d: numpy gave a scalar, which has no `out=`
            return (g * (1 - t),)
        np.subtract(1, t, out=t)
        t *= g
        return (t,)


def relu(a: np.ndarray) -> np.ndarray:
    """0 where a < 0, else a itself: -0.0 and nan (of either sign) pass through unchanged, as
    in PyTorch (np.maximum(a, 0) turns -0.0 into 0.0). For floats, on the bits: each element
    ANDed with 0 where it is negative and with all ones elsewhere -- four fast passes, where
    np.where with a number runs an unvectorised loop (10x slower on a GPT's hidden layer)."""
    ints = _SAME_SIZE_INTS.get(a.dtype)
    if ints is None or a.ndim == 0:
        return np.where(a < 0, 0, a)
    mask = np.less(a, 0).astype(ints)  # 1 where negative
    mask -= 1  # 0 where negative, -1 (all bits set) elsewhere
    return np.bitwise_and(a.view(ints), mask, out=mask).view(a.dtype)


_SAME_SIZE_INTS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


class ReLU(Function):
    __slots__ = ("out",)
    op = "ReLU"

    def forward(self, a):
        self.out = out = relu(a)
        return out

    def backward(self, g, prev):
        # slope 1 where the output is positive, 0 elsewhere (0 at a == 0, like PyTorch)
        return (g * (self.out > 0),)


class Sigmoid(Function):
    __slots__ = ("out",)
    op = "sigmoid"

    def forward(self, a):
        if a.dtype == np.float32:
            # PyTorch's own float32 computation, bit for bit (SLEEF's exp; see _math32.py)
            self.out = out = sigmoid32(a)
            return out
        # PyTorch computes 1 / (1 + exp(-a)) in a's dtype: 0 where exp(-a) overflows, not the
        # tiny true value. For float64, the same formula in x86's 80-bit long double, rounded
        # once: the correctly rounded result.
        wide = np.longdouble
        with np.errstate(over="ignore"):
            e = np.exp(-a.astype(wide))
            out = 1 / (1 + e)
            out = np.where(e > np.finfo(a.dtype).max, 0.0, out).astype(a.dtype)
        self.out = out
        return out

    def backward(self, g, prev):
        s = self.out
        if s.dtype == np.float32 and g.dtype == np.float32 and g.shape == s.shape:
            return (sigmoid_backward32(g, s),)  # (g * (1 - s)) * s, PyTorch's order
        return ((g * (1 - s)) * s,)


class Sqrt(Function):
    """Square root; a negative input is a ValueError (numpy would give a silent nan)."""

    __slots__ = ("out",)
    op = "sqrt"

    def forward(self, a):
        if (a < 0).any():
            raise DomainError(f"sqrt: the square root needs numbers >= 0, got {a[a < 0].flat[0]}")
        self.out = out = np.sqrt(a)
        return out

    def backward(self, g, prev):
        # d sqrt(a)/da = 1 / (2 sqrt(a)) (inf at 0, as in PyTorch)
        with np.errstate(divide="ignore"):
            return (g / (2 * self.out),)


class Abs(Function):
    __slots__ = ("a",)
    op = "abs"

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g, prev):
        # the sign of a; 0 at a == 0, as PyTorch takes it
        return (g * np.sign(self.a),)


class Cast(Function):
    """Convert to another float dtype (inserted when a float32 and a float64 operand meet); the
    gradient is converted back, so every gradient has its tensor's dtype."""

    __slots__ = ("dtype",)
    op = "cast"

    def forward(self, a, dtype):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, g, prev):
        return (g.astype(self.dtype),)


# -- reductions --------------------------------------------------------------------------------


def _expand(g: np.ndarray, shape: tuple) -> np.ndarray:
    """g broadcast to `shape` as a new array (np.broadcast_to is a Python-level function, about
    three times slower than this on the small arrays of this engine)."""
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


class Sum(Function):
    __slots__ = ("kept", "shape")
    op = "sum"

    def forward(self, a, axes, keepdims):
        self.shape = a.shape
        # the gradient's shape before broadcasting back; None when keepdims already gives it
        self.kept = None if keepdims else _kept_shape(a.shape, axes)
        if a.dtype in _FLOAT_DTYPES:
            return _reduce.torch_sum(a, axes, keepdims)  # PyTorch's order of the additions
        return np.add.reduce(a, axis=axes, keepdims=keepdims)  # integers: any order is exact

    def backward(self, g, prev):
        if self.kept is not None:
            g = g.reshape(self.kept)
        # every element of the input contributed once to its sum
        return (_expand(g, self.shape),)


class Mean(Function):
    """The mean over axes: PyTorch's sum divided by n in one node (a division, as PyTorch
    computes it: the correctly rounded quotient, which sum * (1/n) is not always)."""

    __slots__ = ("count", "kept", "shape")
    op = "mean"

    def forward(self, a, axes, keepdims):
        n = 1
        for i in axes:
            n *= a.shape[i]
        self.shape = a.shape
        self.kept = None if keepdims else _kept_shape(a.shape, axes)
        # a Python number keeps float32 float32; an empty reduction is nan, as in PyTorch
        self.count = n if n else float("nan")
        return _reduce.torch_mean(a, axes, keepdims)

    def backward(self, g, prev):
        if self.kept is not None:
            g = g.reshape(self.kept)
        # each element contributed 1/n of itself to the mean (PyTorch's grad / n)
        return (_expand(g / self.count, self.shape),)


class Max(Function):
    """Maximum over axes. Where several elements tie for the maximum the gradient is shared
    equally between them (PyTorch's `amax` rule; a subgradient either way)."""

    __slots__ = ("kept", "mask")
    op = "max"

    def forward(self, a, axes, keepdims):
        if a.size == 0 and axes:
            raise ValueError(f"max: cannot take the maximum of an empty array of shape {a.shape}")
        out = a.max(axis=axes, keepdims=True)
        mask = a == out
        self.mask = mask / mask.sum(axis=axes, keepdims=True)
        self.kept = None if keepdims else out.shape
        return out if keepdims else out.reshape([n for i, n in enumerate(a.shape) if i not in axes])

    def backward(self, g, prev):
        if self.kept is not None:
            g = g.reshape(self.kept)
        return ((g * self.mask).astype(g.dtype, copy=False),)


class MaxDim(Function):
    """The maximum along one axis and where it is (`t.max(dim)`: values and indices). The
    gradient goes to the element the index names only (the first maximum, as PyTorch)."""

    __slots__ = ("axis", "indices", "keepdims", "shape")
    op = "max"

    def forward(self, a, axis, keepdims, largest=True):
        if a.shape[axis] == 0:
            raise ValueError(f"max: cannot reduce an empty axis {axis} of shape {a.shape}")
        idx = (
            np.argmax(a, axis=axis, keepdims=True)
            if largest
            else np.argmin(a, axis=axis, keepdims=True)
        )
        values = np.take_along_axis(a, idx, axis=axis)
        self.shape = a.shape
        self.axis = axis
        self.keepdims = keepdims
        self.indices = idx
        if not keepdims:
            values = values.squeeze(axis)
            idx = idx.squeeze(axis)
        return values, idx

    def backward(self, g, prev):
        ga = np.zeros(self.shape, dtype=g.dtype)
        if not self.keepdims:
            g = np.expand_dims(g, self.axis)
        np.put_along_axis(ga, self.indices, g, axis=self.axis)
        return (ga,)


class Var(Function):
    """Variance over axes, sum((a - mean)**2) / (n - correction) (correction=1: the unbiased
    estimate, PyTorch's default; 0: the population variance). `Std` is its square root."""

    __slots__ = ("centered", "denom", "kept")
    op = "var"

    def forward(self, a, axes, correction, keepdims):
        n = 1
        for i in axes:
            n *= a.shape[i]
        mean = reduce_sum(a, axes, True) * (1.0 / n if n else float("nan"))
        self.centered = c = a - mean
        self.denom = denom = max(n - correction, 0)
        self.kept = None if keepdims else _kept_shape(a.shape, axes)
        squares = reduce_sum(c * c, axes, keepdims)
        if denom:
            return squares / denom  # a Python int keeps the array's dtype
        with np.errstate(divide="ignore", invalid="ignore"):  # one sample, unbiased: 0/0 = nan,
            return squares / denom  # as in PyTorch, without numpy's warning

    def backward(self, g, prev):
        if self.kept is not None:
            g = g.reshape(self.kept)
        # d var / d a_i = 2 (a_i - mean) / (n - correction): the mean's own dependence on a_i
        # cancels, since the centered values sum to zero
        if self.denom:
            scale = g * (2.0 / self.denom)
        else:  # one sample, unbiased: the variance is nan, and so is its gradient
            with np.errstate(invalid="ignore"):
                scale = g * np.inf
        return ((self.centered * scale).astype(self.centered.dtype, copy=False),)


class Std(Var):
    """Standard deviation over axes, sqrt(var) in one node (BatchNorm takes it every step)."""

    __slots__ = ("out",)
    op = "std"

    def forward(self, a, axes, correction, keepdims):
        self.out = out = np.sqrt(Var.forward(self, a, axes, correction, keepdims))
        return out

    def backward(self, g, prev):
        out = self.out if self.kept is None else self.out.reshape(self.kept)
        if self.kept is not None:
            g = g.reshape(self.kept)
        # d std / d a_i = (a_i - mean) / ((n - correction) * std)
        if self.denom == 0 or not out.all():
            # where the spread is 0 the gradient is 0, as PyTorch masks it, without numpy's
            # warnings (np.errstate costs as much as the division, so only then)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(out == 0, 0, g / (out * self.denom))
        else:
            scale = g / (out * self.denom)
        return ((self.centered * scale).astype(self.centered.dtype, copy=False),)


# -- shape operations --------------------------------------------------------------------------


class Reshape(Function):
    __slots__ = ("shape",)
    op = "reshape"

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g, prev):
        return (g.reshape(self.shape),)


class Transpose(Function):
    __slots__ = ("inverse",)
    op = "transpose"

    def forward(self, a, axes):
        # the inverse permutation puts the gradient's axes back in the input's order (in
        # Python: np.argsort costs microseconds, and attention transposes several times a layer)
        if axes is None:
            self.inverse = None
        else:
            inverse = [0] * len(axes)
            for position, axis in enumerate(axes):
                inverse[axis] = position
            self.inverse = tuple(inverse)
        return a.transpose(axes)

    def backward(self, g, prev):
        return (g.transpose(self.inverse),)


class Contiguous(Function):
    """A C-ordered copy of a strided view (`t.contiguous()` of a transpose): the same values, so
    the gradient passes through unchanged."""

    __slots__ = ()
    op = "contiguous"

    def forward(self, a):
        return np.ascontiguousarray(a)

    def backward(self, g, prev):
        return (g,)


class Expand(Function):
    """`a.expand(*sizes)`: a read-only broadcast view (no copy), as PyTorch's stride-0 view. Every
    repetition of an element passed the same value on, so its gradient is the sum over them."""

    __slots__ = ("shape",)
    op = "expand"

    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g, prev):
        return (unbroadcast(g, self.shape),)


class Tril(Function):
    """The lower triangle of the last two axes (`diagonal` = k shifts it up), zeros elsewhere;
    the gradient is the lower triangle of g: the zeroed elements did not reach the result."""

    __slots__ = ("k",)
    op = "tril"
    _part = staticmethod(np.tril)

    def forward(self, a, k):
        self.k = k
        return self._part(a, k)

    def backward(self, g, prev):
        return (self._part(g, self.k),)


class Triu(Tril):
    """The upper triangle (`np.triu`), as `Tril`."""

    __slots__ = ()
    op = "triu"
    _part = staticmethod(np.triu)


class Roll(Function):
    """The elements shifted cyclically along `axes` by `shifts` (axes None: the flattened
    tensor, shape kept); the gradient is g shifted back."""

    __slots__ = ("axes", "shifts")
    op = "roll"

    def forward(self, a, shifts, axes):
        self.shifts = shifts
        self.axes = axes
        return np.roll(a, shifts, axes)

    def backward(self, g, prev):
        back = tuple(-s for s in self.shifts) if type(self.shifts) is tuple else -self.shifts
        return (np.roll(g, back, self.axes),)


class MaskedFill(Function):
    """`a.masked_fill(mask, value)`: `value` (a 0-d array of a's dtype) where the boolean mask
    holds, a's element elsewhere; the result has the broadcast shape of a and mask. a's gradient
    is g where the mask is false (summed back over broadcasting); a tensor `value` (the node's
    second input, when it has one) gets the sum of g over the elements it filled."""

    __slots__ = ("mask", "sa")
    op = "masked_fill"

    def forward(self, a, mask, value):
        self.mask = mask
        self.sa = a.shape
        return np.where(mask, value, a)

    def backward(self, g, prev):
        zero = np.zeros((), g.dtype)
        mask = self.mask
        ga = unbroadcast(np.where(mask, zero, g), self.sa) if prev[0].requires_grad else None
        if len(prev) == 1:
            return (ga,)
        gv = None
        if prev[1].requires_grad:
            gv = np.asarray(np.where(mask, g, zero).sum(), dtype=g.dtype)
        return ga, gv


class TakeAlong(Function):
    """The elements of `a` that an index array picks along one axis (`np.take_along_axis`):
    the values of `topk` and `sort`. Each picked element's gradient goes back to where it came
    from (an axis's indices are distinct, so no element is picked twice)."""

    __slots__ = ("axis", "indices", "shape")
    op = "topk"

    def forward(self, a, indices, axis):
        self.shape = a.shape
        self.indices = indices
        self.axis = axis
        return np.take_along_axis(a, indices, axis=axis)

    def backward(self, g, prev):
        ga = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(ga, self.indices, g, axis=self.axis)
        return (ga,)


class SplitIndex(tuple):
    """An index that mixes ints with index arrays, in PyTorch's two steps: `first` (the ints,
    slices, None and Ellipsis: basic indexing, a view) removes the ints' axes, then `second`
    (the arrays, with slice(None) for the axes kept) indexes what is left. numpy would count
    each int as an index array, which moves the result's axes elsewhere:
    `zeros(4, 3, 2)[0, :, [0, 1]]` is (3, 2) in PyTorch, (2, 3) in numpy."""

    __slots__ = ()

    @property
    def first(self) -> tuple:
        return self[0]

    @property
    def second(self) -> tuple:
        return self[1]


def index_get(a: np.ndarray, index: Any) -> Any:
    """`a[index]` for any index `_index` made (a SplitIndex in its two steps)."""
    if type(index) is SplitIndex:
        return a[index[0]][index[1]]
    return a[index]


def index_target(a: np.ndarray, index: Any) -> tuple:
    """(array, index) such that `array[index] = v` writes into `a` at `a[index]`: for a
    SplitIndex, the first step's view of `a` and the second step."""
    if type(index) is SplitIndex:
        return a[index[0]], index[1]
    return a, index


class Index(Function):
    """a[index] for ints, slices, None, Ellipsis, integer arrays and boolean masks."""

    __slots__ = ("advanced", "dtype", "index", "shape")
    op = "[]"

    def forward(self, a, index, advanced):
        self.shape = a.shape
        self.dtype = a.dtype
        self.index = index
        self.advanced = advanced
        out = index_get(a, index)
        # a single element comes back as a numpy scalar: keep data an array
        return out if type(out) is np.ndarray else np.asarray(out)

    def backward(self, g, prev):
        ga = np.zeros(self.shape, dtype=self.dtype)
        target, index = index_target(ga, self.index)
        if self.advanced:
            # an integer array may pick the same element twice: np.add.at adds both
            # contributions, where `ga[index] += g` would keep only one
            np.add.at(target, index, g)
        else:
            target[index] = g  # basic indexing never repeats an element
        return (ga,)


class Embedding(Function):
    """`table[indices]` for an integer array of any shape: the rows of `table` (V, ...) the
    indices pick, e.g. C[X] with X of shape (n, 3). Backward adds each picked row's gradient
    back into its row (a row picked twice gets both)."""

    __slots__ = ("indices", "shape")
    op = "embedding"

    def forward(self, table, indices):
        self.shape = table.shape
        self.indices = indices
        # the same rows as `table[indices]`; numpy's `take` (axis given positionally) is
        # several times faster than its fancy indexing on these small tables
        return table.take(indices, 0)

    def backward(self, g, prev):
        shape = self.shape
        idx = self.indices.reshape(-1)
        # one row of g per index (the width spelled out: -1 cannot be inferred when no index
        # was given)
        rows = g.reshape(idx.size, math.prod(shape[1:]))
        if shape[0] <= 1024 and idx.size <= 4096:
            # scatter-add as a product with a one-hot matrix: one BLAS call, faster than
            # np.add.at for the vocabulary sizes of the makemore lectures
            out = _one_hot(idx, shape[0], g.dtype).T.dot(rows)
            return (out if out.shape == shape else out.reshape(shape),)
        ga = np.zeros((shape[0], rows.shape[1]), dtype=g.dtype)
        np.add.at(ga, idx, rows)
        return (ga.reshape(shape),)


def _one_hot(idx: np.ndarray, vocab: int, dtype: Any) -> np.ndarray:
    """The (n, vocab) matrix whose row i is 1 at column idx[i] (indices in -vocab..vocab-1,
    negative ones counting from the end, as the lookup that took them)."""
    if vocab * vocab <= _CACHED_SIZE:
        # rows of a cached identity matrix: one `take`
        key = ("eye", vocab, dtype)
        eye = _CACHE.get(key)
        if eye is None:
            eye = _remember(key, np.eye(vocab, dtype=dtype))
        return eye.take(idx, 0)
    # set through flat positions: one index array into a flat buffer is cheaper than the
    # pair (rows, idx) into a 2-D one
    n = idx.size
    onehot = np.zeros(n * vocab, dtype=dtype)
    onehot[_flat_positions(n, vocab, np.remainder(idx, vocab))] = 1
    return onehot.reshape(n, vocab)


class IndexPut(Function):
    """`a[index] = v` as a new value (`out` = a copy of a with those elements replaced): what
    an in-place assignment into a tensor inside the graph becomes. The replaced elements pass
    no gradient to `a`; `v` gets the gradient of the elements it wrote."""

    __slots__ = ("index", "vshape")
    op = "index_put"

    def forward(self, a, index, v):
        out = a.copy()
        target, idx = index_target(out, index)
        target[idx] = v
        self.index = index
        self.vshape = np.shape(v)
        return out

    def backward(self, g, prev):
        ga = gv = None
        if prev[0].requires_grad:
            ga = g.copy()
            target, idx = index_target(ga, self.index)
            target[idx] = 0
        if prev[1].requires_grad:
            gv = unbroadcast(np.asarray(index_get(g, self.index)), self.vshape)
        return ga, gv


class Concatenate(Function):
    """np.concatenate of any number of tensors along one axis."""

    __slots__ = ("axis", "splits")
    op = "cat"

    def forward(self, arrays, axis):
        self.axis = axis
        self.splits = [x.shape[axis] for x in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, g, prev):
        # each input's part of g: a slice along the axis (a view, as np.split makes it, without
        # its Python overhead)
        before = (slice(None),) * self.axis
        parts, start = [], 0
        for size in self.splits:
            parts.append(g[(*before, slice(start, start + size))])
            start += size
        return tuple(parts)


# -- softmax -----------------------------------------------------------------------------------


def _float32_rows(a: np.ndarray, axis: int) -> bool:
    """Whether a softmax of `a` along `axis` takes the float32 replay of PyTorch's kernel (its
    last-dimension kernel, whose floats `_softmax32` reproduces bit for bit)."""
    return a.dtype == np.float32 and axis == a.ndim - 1 and a.size > 0


class Softmax(Function):
    __slots__ = ("axis", "out")
    op = "softmax"

    def forward(self, a, axis):
        self.axis = axis
        if _float32_rows(a, axis):
            rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1])
            self.out = out = _softmax32.softmax(rows).reshape(a.shape)
            return out
        # exp(a - max) <= 1: no overflow, and the max cancels in the ratio (the ufuncs' own
        # reductions: the same sums as a.max / a.sum without their Python wrappers)
        e = np.exp(a - np.maximum.reduce(a, axis=axis, keepdims=True))
        self.out = out = e / np.add.reduce(e, axis=axis, keepdims=True)
        return out

    def backward(self, g, prev):
        s = self.out
        if _float32_rows(s, self.axis) and g.dtype == np.float32:
            c = s.shape[-1]
            rows = np.ascontiguousarray(g).reshape(-1, c)
            return (_softmax32.softmax_backward(rows, s.reshape(-1, c)).reshape(s.shape),)
        # Jacobian-vector product of softmax: s * (g - sum(g * s))
        return (s * (g - np.add.reduce(g * s, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    __slots__ = ("axis", "out")
    op = "log_softmax"

    def forward(self, a, axis):
        self.axis = axis
        if _float32_rows(a, axis):
            rows = np.ascontiguousarray(a).reshape(-1, a.shape[-1])
            self.out = out = _softmax32.log_softmax(rows).reshape(a.shape)
            return out
        # log-sum-exp with the max taken out: log sum exp(a) = m + log sum exp(a - m)
        shifted = a - a.max(axis=axis, keepdims=True)
        self.out = out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return out

    def backward(self, g, prev):
        out = self.out
        if _float32_rows(out, self.axis) and g.dtype == np.float32:
            c = out.shape[-1]
            rows = np.ascontiguousarray(g).reshape(-1, c)
            return (_softmax32.log_softmax_backward(rows, out.reshape(-1, c)).reshape(out.shape),)
        # d log_softmax: g - softmax * sum(g)
        return (g - np.exp(out) * g.sum(axis=self.axis, keepdims=True),)


class NllLoss(Function):
    """PyTorch's nll_loss of float32 log-probabilities (N, C) at class indices (N,), with its
    per-class `weight`, `ignore_index` and `reduction`, to the last bit (`_softmax32`)."""

    __slots__ = ("classes", "ignore", "reduction", "target", "total_weight", "weight")
    op = "nll_loss"

    def forward(self, logp, target, weight, ignore, reduction):
        self.target, self.weight, self.ignore, self.reduction = target, weight, ignore, reduction
        self.classes = logp.shape[1]
        loss, self.total_weight = _softmax32.nll_loss(logp, target, weight, ignore, reduction)
        return loss

    def backward(self, g, prev):
        grad = _softmax32.nll_loss_backward(
            g,
            self.target,
            self.weight,
            self.ignore,
            self.reduction,
            self.total_weight,
            self.classes,
        )
        return (grad,)


# -- fused operations (one node instead of several, for speed) ---------------------------------


# Small constant arrays (vectors of ones, row numbers...) that every training step needs again,
# made once: numpy's per-call cost, not the arithmetic, is what they save. Read-only, because
# every caller shares them.
_CACHE: dict = {}


# Arrays longer than this are made anew each time (their making costs little next to the work
# they serve), so the cache holds at most 256 x 4096 elements.
_CACHED_SIZE = 4096


def _remember(key: tuple, array: np.ndarray) -> np.ndarray:
    """Keep `array`, made read-only, in `_CACHE` under `key` (the cache is emptied when it grows
    past 256 entries: batch sizes and dtypes that no longer occur)."""
    array.setflags(write=False)
    if array.size > _CACHED_SIZE:
        return array
    if len(_CACHE) > 256:
        _CACHE.clear()
    _CACHE[key] = array
    return array


class Linear(Function):
    """x @ W + b in one node, optionally followed by ReLU in the same node (`relu=True`: one
    node per hidden layer of an MLP instead of three). x is (..., nin), W (nin, nout), b (nout,)
    or absent."""

    __slots__ = ("out", "w", "x")
    op = "linear"

    def forward(self, x, w, b=None, relu=False):
        if x.ndim == 0:
            raise ValueError("linear: a 0-d input")  # (`dot` would scale by it)
        self.x = x
        self.w = w
        out = rows_dot(x, w)  # x @ w for 2-D w, whatever x's axes in front: one 2-D product
        if b is not None:
            out += b  # in place: `out` is a fresh array
        if relu:
            np.maximum(out, 0, out=out)
            self.out = out
        else:
            self.out = None
        return out

    def backward(self, g, prev):
        x, w, out = self.x, self.w, self.out
        if out is not None:
            g = g * (out > 0)  # ReLU's slope: 1 where the output is positive, else 0
        gx = rows_dot(g, w.T) if prev[0].requires_grad else None
        gw = rows_weight_grad(x, g) if prev[1].requires_grad else None
        if len(prev) == 2:
            return gx, gw
        if not prev[2].requires_grad:
            return gx, gw, None
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        return gx, gw, _bias_grad(g2)


def _bias_grad(g2: np.ndarray) -> np.ndarray:
    """The bias's gradient: the column sums of the output's gradient (as rows), in PyTorch's
    order for float arrays (its addmm backward sums the broadcast bias's gradient that way)."""
    if g2.dtype in _FLOAT_DTYPES:
        return _reduce.torch_sum(g2, (0,), False)
    return reduce_sum(g2, (0,), False)


class LinearT(Function):
    """x @ W.T + b in one node with W of shape (nout, nin), PyTorch's layout for
    `nn.Linear.weight`. x is (..., nin), b (nout,) or absent."""

    __slots__ = ("w", "x")
    op = "linear"

    def forward(self, x, w, b=None):
        if x.ndim == 0:
            raise ValueError("linear: a 0-d input")  # (`dot` would scale by it)
        self.x = x
        self.w = w
        out = rows_dot(x, w.T)  # one 2-D product for any number of leading axes
        if b is not None:
            out += b  # in place: `out` is a fresh array
        return out

    def backward(self, g, prev):
        x, w = self.x, self.w
        gx = rows_dot(g, w) if prev[0].requires_grad else None
        gw = rows_weight_grad(g, x) if prev[1].requires_grad else None  # (nout, nin)
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        if len(prev) == 2:
            return gx, gw
        gb = _bias_grad(g2) if prev[2].requires_grad else None
        return gx, gw, gb


def _flat_positions(n: int, c: int, columns: np.ndarray) -> np.ndarray:
    """Where element (i, columns[i]) of an (n, c) array sits in its flat view: one index array
    into a flat buffer is several times cheaper than the pair (rows, columns) into a 2-D one.
    A column outside 0..c-1 raises LabelError: numpy's `ravel_multi_index` checks each one as
    it computes, so callers need no range check of their own (a separate min/max reduction
    cost more than this whole function). The positions are int64 for any integer columns."""
    key = ("rows", n)
    rows = _CACHE.get(key)
    if rows is None:
        rows = _remember(key, np.arange(n))
    try:
        return np.ravel_multi_index((rows, columns), (n, c))
    except ValueError:
        lo = columns.min()
        raise LabelError((lo if lo < 0 else columns.max()).item(), c) from None


def _fractions(n: int, dtype: Any) -> np.ndarray:
    """A cached vector of n copies of 1/n: a dot product with it is a mean through BLAS."""
    key = ("fractions", n, dtype)
    weights = _CACHE.get(key)
    return weights if weights is not None else _remember(key, np.full(n, 1.0 / n, dtype=dtype))


class CrossEntropy(Function):
    """Mean softmax cross-entropy of logits (N, C) against class indices (N,), in one node.
    With `ignored` (a boolean mask of rows whose label is the ignore index, not all of them) the
    mean is over the other rows, and the ignored ones get no gradient."""

    __slots__ = (
        "e", "ignored", "labels", "logp", "nan_rows", "picks", "sums", "total_weight", "weights"
    )  # fmt: skip
    op = "cross_entropy"

    def forward(self, logits, labels, ignored=None):
        n, c = logits.shape
        if logits.dtype == np.float32:
            # PyTorch's own floats: its log_softmax kernel, then nll_loss's mean (_softmax32)
            self.ignored = ignored
            if ignored is not None:  # -1, never a class, marks the ignored rows
                self.picks = _flat_positions(n, c, np.where(ignored, 0, labels))
                labels = np.where(ignored, -1, labels)
            else:
                self.picks = _flat_positions(n, c, labels)  # refuses a label outside 0..C-1
            self.labels = labels
            self.logp = logp = _softmax32.log_softmax(np.ascontiguousarray(logits))
            loss, self.total_weight = _softmax32.nll_loss(logp, labels, None, -1, "mean")
            self.e = None
            return loss
        self.ignored = ignored
        if ignored is None:
            weights = _fractions(n, logits.dtype)
        else:  # the mean over the counted rows: weights 1/count on them, 0 on the others
            counted = ~ignored
            weights = counted * logits.dtype.type(1.0 / np.count_nonzero(counted))
            labels = np.where(ignored, 0, labels)  # any class: the row's loss is dropped
            # PyTorch's gradient of an ignored row is 0 * exp(log_softmax(row)): nan where that
            # is nan (a nan or +inf logit, or -inf everywhere), else 0
            rows = logits[ignored]
            bad = (
                np.isnan(rows).any(axis=1)
                | (rows == np.inf).any(axis=1)
                | (rows == -np.inf).all(axis=1)
            )
            self.nan_rows = np.flatnonzero(ignored)[bad] if bad.any() else None
        self.weights = weights
        # Each row's label element as a position in the flattened (N*C) array: picking through
        # one index array on a flat view is several times faster than the pair (rows, labels),
        # and the backward pass reuses it. A label outside 0..C-1 raises LabelError here.
        self.picks = picks = _flat_positions(n, c, labels)
        # -log softmax(x)[label] = log sum_j exp(x_j - x_label): with each row shifted by its
        # label's logit, a row's loss is the log of its sum, which cannot underflow (the label's
        # own term is exp(0) = 1). This needs no row maximum, a reduction that costs more than
        # the rest. Differences are capped so that no sum can overflow (C * e**cap is below
        # float32's largest number, about e**88.7); a capped row has a loss of at least `cap`.
        cap = 85.0 - math.log(c)
        shifted = logits - logits.ravel()[picks][:, None]
        np.minimum(shifted, cap, out=shifted)
        row_losses = self._log_sums(shifted)
        if ignored is not None:
            row_losses[ignored] = 0  # (an ignored row's logits may be anything, nan included)
        # every row's loss is below the cap (so none was capped) when their squares sum below
        # cap**2: one BLAS dot product instead of a maximum. nan and inf fail the test too.
        if row_losses.dot(row_losses) < cap * cap:
            # the mean as one dot product with a vector of 1/n; an array, not a numpy scalar
            return np.asarray(row_losses.dot(weights))
        # Large losses (and inf or nan logits): the usual log-sum-exp around each row's maximum
        # (every term <= 1), which gives PyTorch's answers, inf and nan included.
        shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
        picked = shifted.ravel()[picks]
        row_losses = self._log_sums(shifted) - picked
        if ignored is not None:
            row_losses[ignored] = 0
        return np.asarray(row_losses.dot(weights))

    def _log_sums(self, shifted):
        """log(sum(exp(shifted))) of each row, keeping exp(shifted) and the row sums (the
        softmax is their quotient) for the backward pass. `shifted` is overwritten."""
        self.e = e = np.exp(shifted, out=shifted)
        self.sums = sums = reduce_sum(e, (1,), False)
        return np.log(sums)

    def backward(self, g, prev):
        if self.e is None:  # the float32 replay: nll_loss's gradient, then log_softmax's
            grad = _softmax32.cross_entropy_backward(g, self.logp, self.labels, self.total_weight)
            return (grad,)
        if self.ignored is not None:
            # per row: g/count on the counted rows, 0 on the ignored ones
            scale = self.weights * g
            d = self.e * (scale / self.sums)[:, None]
            d.ravel()[self.picks] -= scale
            d[self.ignored] = 0
            if self.nan_rows is not None:
                d[self.nan_rows] = np.nan
            return (d,)
        n = self.e.shape[0]
        scale = g * (1.0 / n)
        # d loss / d logits = (softmax - onehot(label)) / N, the 1/N folded into the division
        d = self.e * (scale / self.sums)[:, None]  # a fresh C-order array: ravel() views it
        d.ravel()[self.picks] -= scale
        return (d,)


class Hinge(Function):
    """mean(relu(1 - y * score)) over all elements, y in {-1, +1}: the demo's SVM loss."""

    __slots__ = ("coef",)
    op = "hinge"

    def forward(self, scores, y):
        margins = 1 - y * scores
        active = margins > 0
        inv_n = 1.0 / margins.size
        # d/dscore of relu(1 - y*s) / n is -y/n where the margin is positive, else 0
        self.coef = (y * -inv_n) * active  # (y first: a bool array times a float is float64)
        return np.maximum(margins, 0).sum() * inv_n

    def backward(self, g, prev):
        return (self.coef * g,)


class MSE(Function):
    """mean((pred - target)**2)."""

    __slots__ = ("diff",)
    op = "mse"

    def forward(self, pred, target):
        self.diff = d = pred - target
        return (d * d).mean()

    def backward(self, g, prev):
        d = self.diff
        return ((g * (2.0 / d.size)) * d,)


class BCEWithLogits(Function):
    """mean(binary cross-entropy of sigmoid(x) against targets y in [0, 1]), in the stable
    form max(x, 0) - x*y + log(1 + exp(-|x|)): exp never sees a positive argument."""

    __slots__ = ("x", "y")
    op = "bce_with_logits"

    def forward(self, x, y):
        self.x = x
        self.y = y
        return (np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))).mean()

    def backward(self, g, prev):
        x, y = self.x, self.y
        e = np.exp(-np.abs(x))
        sig = np.where(x >= 0, 1.0, e) / (1.0 + e)
        # d/dx = (sigmoid(x) - y) / n
        return (((sig - y) * (g / x.size)).astype(x.dtype, copy=False),)


class SumOfSquares(Function):
    """alpha * (sum over several tensors of sum(p * p)) as one node: the L2 penalty of all the
    parameters of a model."""

    __slots__ = ("alpha", "arrays")
    op = "l2"

    def forward(self, arrays, alpha):
        self.arrays = arrays
        self.alpha = alpha
        total = 0.0
        for a in arrays:
            r = a.ravel()
            total = total + r @ r
        return np.asarray(alpha * total, dtype=np.result_type(*arrays))

    def backward(self, g, prev):
        # d/dp alpha * sum(p*p) = 2 * alpha * p
        c = (2 * self.alpha) * g
        return tuple((a * c if t.requires_grad else None) for a, t in zip(self.arrays, prev))


# Every primitive, by class name: the gradient tests enumerate this table.
FUNCTIONS: dict[str, type] = {
    cls.__name__: cls
    for cls in [
        Add, Sub, Mul, Div, Pow, MatMul,
        AddScalar, MulScalar, PowScalar, RPowScalar,
        Neg, Exp, Log, Tanh, ReLU, Sigmoid, Sqrt, Abs, Cast,
        Sum, Mean, Max, MaxDim, Var, Std, Reshape, Transpose, Index, Embedding, IndexPut, Concatenate,
        Expand, Tril, Triu, Roll, MaskedFill, TakeAlong,
        Softmax, LogSoftmax, NllLoss,
        Linear, LinearT, CrossEntropy, Hinge, MSE, BCEWithLogits, SumOfSquares,
    ]
}  # fmt: skip
