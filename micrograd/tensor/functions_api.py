"""Module-level functions in PyTorch's shape: `torch.tanh(x)`, `torch.allclose(a, b)`, ...

Each is the Tensor method of the same name (or a few numpy calls for the ones outside the graph:
`allclose`, `histogram`), so there is one implementation per operation. Several names here
(`all`, `any`, `abs`, `max`, `min`, `sum`) shadow Python builtins inside this module, as they do
in PyTorch's namespace; nothing here uses those builtins.

Read `micrograd/tensor/nn/functional.py` for the `F.` functions.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from micrograd.tensor.core import (
    Tensor,
    _add_scaled,
    _clamp,
    _const,
    _floor_divide,
    _maximum,
    _no_out,
    _remainder,
    _rounded_division,
)
from micrograd.tensor.errors import TorchRuntimeError

__all__ = [
    "abs",
    "add",
    "all",
    "allclose",
    "any",
    "argmax",
    "chunk",
    "clamp",
    "clip",
    "div",
    "divide",
    "exp",
    "floor_divide",
    "histogram",
    "is_tensor",
    "log",
    "log_softmax",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "multiply",
    "numel",
    "pow",
    "relu",
    "remainder",
    "roll",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "std",
    "sub",
    "subtract",
    "sum",
    "tanh",
    "topk",
    "tril",
    "triu",
    "true_divide",
    "unbind",
    "unsqueeze",
    "var",
]


def _t(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):  # a gradient (numpy) where PyTorch would have a tensor
        return _const(x)
    raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return _t(input, "numel").numel()


def tanh(input: Tensor) -> Tensor:
    return _t(input, "tanh").tanh()


def exp(input: Tensor) -> Tensor:
    return _t(input, "exp").exp()


def log(input: Tensor) -> Tensor:
    return _t(input, "log").log()


def sqrt(input: Tensor) -> Tensor:
    return _t(input, "sqrt").sqrt()


def abs(input: Tensor) -> Tensor:
    return _t(input, "abs").abs()


def relu(input: Tensor) -> Tensor:
    return _t(input, "relu").relu()


def sigmoid(input: Tensor) -> Tensor:
    return _t(input, "sigmoid").sigmoid()


def softmax(input: Tensor, dim: int) -> Tensor:
    return _t(input, "softmax").softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    return _t(input, "log_softmax").log_softmax(dim)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return _t(input, "matmul") @ other


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    return _t(input, "squeeze").squeeze(dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return _t(input, "unsqueeze").unsqueeze(dim)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(input, "sum").sum(dim, keepdim)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(input, "mean").mean(dim, keepdim)


def std(
    input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, **kw
) -> Tensor:
    return _t(input, "std").std(dim, unbiased, keepdim, **kw)


def var(
    input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, **kw
) -> Tensor:
    return _t(input, "var").var(dim, unbiased, keepdim, **kw)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _t(input, "max").max(dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _t(input, "min").min(dim, keepdim)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    return _maximum(_t(input, "maximum"), _t(other, "maximum"), True)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    return _maximum(_t(input, "minimum"), _t(other, "minimum"), False)


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(input, "argmax").argmax(dim, keepdim)


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element is true (nonzero), as a bool tensor."""
    return _t(input, "all").all(dim, keepdim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _t(input, "any").any(dim, keepdim)


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan=False
) -> bool:
    """|input - other| <= atol + rtol * |other| everywhere (PyTorch's and numpy's test)."""
    a = _t(input, "allclose").data
    b = _t(other, "allclose").data
    try:
        return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        raise ValueError(
            f"allclose: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together"
        ) from None


HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])


def histogram(
    input: Tensor,
    bins: Any = 100,
    *,
    range: Any = None,
    weight: Tensor | None = None,
    density: bool = False,
) -> HistogramResult:
    """Counts of `input`'s elements in `bins` equal bins between its min and max (or `range`),
    or in the bins a 1-D tensor of edges gives, and the bin edges, as float tensors of input's
    dtype (`hy, hx = torch.histogram(t)`).

    PyTorch's algorithm, so boundary values land in the same bins: the edges are
    `linspace(min, max, bins + 1)` in the input's dtype (a constant input gets min - 0.5 and
    max + 0.5, an empty one 0 and 1); an element's bin is estimated from its position between
    the outer edges, then found among the edges next to that estimate (the last edge
    belongs to the last bin); elements outside the edges (and nan) are not counted."""
    a = _t(input, "histogram").data
    if a.dtype.kind != "f":
        raise NotImplementedError(
            f"histogram: not implemented for {a.dtype} tensors (needs floats)"
        )
    if isinstance(bins, Tensor):
        edges = bins.data.astype(a.dtype)
        if edges.ndim != 1 or edges.size < 1:
            raise TorchRuntimeError("histogram: bins must be a 1-D tensor of edges")
        if (np.diff(edges) < 0).any():
            raise TorchRuntimeError("histogram: the bin edges must be non-decreasing")
    else:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)):
            raise TypeError(f"histogram: bins must be an int or a Tensor of edges, got {bins!r}")
        if bins <= 0:
            raise TorchRuntimeError(f"torch.histogram(): bins must be > 0, but got {bins}")
        if range is not None:
            low, high = (float(v) for v in range)
        elif a.size:
            low, high = float(a.min()), float(a.max())
        else:
            low, high = 0.0, 1.0
        if low > high:
            raise TorchRuntimeError(
                f"histogram: min should not exceed max, but got min {low} max {high}"
            )
        if not (np.isfinite(low) and np.isfinite(high)):
            raise TorchRuntimeError(f"histogram: the range [{low}, {high}] is not finite")
        if low == high:
            low, high = low - 0.5, high + 0.5
        from micrograd.tensor.factories import linspace

        edges = linspace(low, high, int(bins) + 1, dtype=a.dtype).data
    flat = a.ravel()
    if weight is not None:
        w = _t(weight, "histogram").data
        if w.shape != a.shape:
            raise TorchRuntimeError(
                f"histogram: weight must have the input's shape {a.shape}, got {w.shape}"
            )
        w = w.ravel().astype(a.dtype)
    nbins = edges.size - 1
    hist = np.zeros(nbins, dtype=a.dtype)
    left, right = edges[0], edges[-1]
    inside = (flat >= left) & (flat <= right)  # nan is outside
    x = flat[inside]
    if nbins > 0 and x.size:
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = (x - left) * a.dtype.type(nbins) / (right - left)
        pos = np.nan_to_num(estimate, nan=0.0, posinf=nbins, neginf=0).astype(np.int64)
        # upper_bound among edges[pos - 1 : pos + 2], minus one: torch's local search
        lowest = np.maximum(pos - 1, 0)
        highest = np.minimum(pos + 2, nbins + 1)
        found = lowest - 1
        for step in (0, 1, 2):
            index = lowest + step
            usable = index < highest
            found = found + (usable & (edges[np.minimum(index, nbins)] <= x))
        found = np.where(found == nbins, nbins - 1, found)  # the last edge: the last bin
        np.add.at(hist, found, 1 if weight is None else w[inside])
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = hist / hist.sum() / np.diff(edges)
    return HistogramResult(_const(hist.astype(a.dtype)), _const(edges.astype(a.dtype)))


# -- arithmetic: each is a Tensor operator, with a Python number allowed on either side --------


def _operand(x: Any, op: str) -> Any:
    """A Tensor, or a Python/numpy number (the other operand must then be a Tensor)."""
    if isinstance(x, (Tensor, int, float, bool, np.generic)):
        return x
    if isinstance(x, np.ndarray):
        return _const(x)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}")


def _first_tensor(input: Any, other: Any, op: str) -> tuple:
    a, b = _operand(input, op), _operand(other, op)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}: at least one operand must be a Tensor")
    return a, b


def add(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """input + alpha * other."""
    _no_out(out, "add")
    a, b = _first_tensor(input, other, "add")
    if alpha == 1 and type(alpha) is not bool:
        return a + b if isinstance(a, Tensor) else b + a
    return _add_scaled(a, b, alpha, "add")


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """input - alpha * other."""
    _no_out(out, "sub")
    a, b = _first_tensor(input, other, "sub")
    if alpha == 1 and type(alpha) is not bool:
        return a - b if isinstance(a, Tensor) else b.__rsub__(a)
    return _add_scaled(a, b, alpha, "sub", negate=True)


subtract = sub


def mul(input: Any, other: Any, *, out: Any = None) -> Tensor:
    _no_out(out, "mul")
    a, b = _first_tensor(input, other, "mul")
    return a * b if isinstance(a, Tensor) else b * a


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: Any = None, out: Any = None) -> Tensor:
    """input / other; `rounding_mode` 'trunc' or 'floor' rounds the quotient (see Tensor.div)."""
    _no_out(out, "div")
    a, b = _first_tensor(input, other, "div")
    if rounding_mode is not None:
        return _rounded_division(a, b, rounding_mode)
    return a / b if isinstance(a, Tensor) else b.__rtruediv__(a)


divide = div


def true_divide(input: Any, other: Any) -> Tensor:
    return div(input, other)


def floor_divide(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """input // other, PyTorch's floor division."""
    _no_out(out, "floor_divide")
    return _floor_divide(*_first_tensor(input, other, "floor_divide"))


def remainder(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """input % other, with other's sign (Python's convention), as `torch.remainder`."""
    _no_out(out, "remainder")
    return _remainder(*_first_tensor(input, other, "remainder"))


def pow(input: Any, exponent: Any, *, out: Any = None) -> Tensor:
    """input ** exponent (either may be a number)."""
    _no_out(out, "pow")
    a, b = _first_tensor(input, exponent, "pow")
    return a**b if isinstance(a, Tensor) else b.__rpow__(a)


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Any = None) -> Tensor:
    """input limited to [min, max], see Tensor.clamp."""
    _no_out(out, "clamp")
    return _clamp(_t(input, "clamp"), min, max, "clamp")


clip = clamp


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices of input along dim, as a tuple of tensors (each without that dim)."""
    return _t(input, "unbind").unbind(dim)


# -- shape and selection operations: each is the Tensor method -------------------------------


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """input with value where the bool mask is True (see Tensor.masked_fill)."""
    return _t(input, "masked_fill").masked_fill(mask, value)


def tril(input: Tensor, diagonal: int = 0, *, out: Any = None) -> Tensor:
    """The lower triangle of (each matrix of) input, zeros above the diagonal `diagonal`."""
    _no_out(out, "tril")
    return _t(input, "tril").tril(diagonal)


def triu(input: Tensor, diagonal: int = 0, *, out: Any = None) -> Tensor:
    """The upper triangle of (each matrix of) input, zeros below the diagonal `diagonal`."""
    _no_out(out, "triu")
    return _t(input, "triu").triu(diagonal)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """input's elements shifted cyclically (see Tensor.roll)."""
    return _t(input, "roll").roll(shifts, dims)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Views of consecutive pieces of tensor along dim (see Tensor.split)."""
    return _t(tensor, "split").split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most `chunks` views of input along dim (see Tensor.chunk)."""
    return _t(input, "chunk").chunk(chunks, dim)


def topk(
    input: Tensor,
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,
    *,
    out: Any = None,
) -> Any:
    """The k largest (or smallest) elements along dim and their indices (see Tensor.topk)."""
    return _t(input, "topk").topk(k, dim, largest, sorted, out=out)
