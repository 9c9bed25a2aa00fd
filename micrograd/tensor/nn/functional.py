"""`micrograd.tensor.nn.functional`, imported as `F` by the makemore lectures: losses, activations and
layers as functions, with PyTorch's names and arguments.

`cross_entropy` and `mse_loss` are single fused graph nodes (`micrograd/tensor/functions.py`), the
rest are Tensor methods. Read `micrograd/tensor/losses.py` for the engine's own loss names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from micrograd.tensor import core as _core
from micrograd.tensor import functions as _F
from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.core import Tensor, _const, _new
from micrograd.tensor.nn.modules import linear_t

__all__ = [
    "cross_entropy",
    "embedding",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    return x


def _reduction(reduction: Any, op: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _softmax_dim(ndim: int) -> int:
    # PyTorch's choice when dim is left out (with a warning there): 0 for 0-, 1- and 3-D
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    x = _tensor(input, "softmax")
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    x = _tensor(input, "log_softmax")
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim)


def relu(input: Tensor) -> Tensor:
    return _tensor(input, "relu").relu()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`input @ weight.T + bias`, weight of shape (out_features, in_features)."""
    return linear_t(_tensor(input, "linear"), weight, bias)


def embedding(input: Tensor, weight: Tensor) -> Tensor:
    """The rows of `weight` that the integer tensor `input` picks (`weight[input]`)."""
    idx = _tensor(input, "embedding")
    if idx.data.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    return weight[idx]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(..., num_classes) int64 tensor with a 1 at each index of the integer tensor."""
    idx = _tensor(tensor, "one_hot").data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: needs an integer tensor, got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class indices must be >= 0, got {idx.min()}")
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else num_classes
    if n == -1:
        raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
    if idx.size and idx.max() >= n:
        raise ValueError(f"one_hot: class index {idx.max()} is not below num_classes={n}")
    out = np.zeros(idx.shape + (n,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return _const(out)


_UNSIGNED = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.uint16),
    4: np.dtype(np.uint32),
    8: np.dtype(np.uint64),
}


def _targets(target: Any, n: int, classes: int, op: str, check_range: bool = True) -> np.ndarray:
    """The class indices as an array, checked: integers, one per row, each in 0..classes-1
    (`check_range=False` leaves the last check to a caller whose computation makes it)."""
    y = target.data if isinstance(target, Tensor) else np.asarray(target)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must be class indices (an integer tensor), got {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{op}: input of {n} rows needs a target of shape ({n},), got {y.shape}")
    if not check_range:
        return y
    # one pass: as unsigned numbers, negative labels are huge (y.min() and y.max() are two)
    if n and np.maximum.reduce(y.view(_UNSIGNED[y.itemsize]), axis=None) >= classes:
        raise _out_of_bounds(op, y.min() if y.min() < 0 else y.max(), classes)
    return y


def _out_of_bounds(op: str, label: Any, classes: int) -> IndexError:
    return IndexError(f"{op}: target {label} is out of bounds for {classes} classes")


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of logits (N, C) against class indices (N,): the mean (or sum, or
    per row) of -log softmax(input)[i, target[i]]. The mean is one fused node, computed without
    overflow for logits of any size (`functions.CrossEntropy`)."""
    x = _tensor(input, "cross_entropy")
    z = x.data
    if z.ndim != 2:
        raise ValueError(f"cross_entropy: input must be (N, C) logits, got shape {x.data.shape}")
    n, c = z.shape
    if n == 0:
        raise ValueError("cross_entropy: the batch is empty")
    y = _targets(target, n, c, "cross_entropy", check_range=False)
    if z.dtype.kind != "f":
        raise TypeError(f"cross_entropy: input must be float logits, got {x.dtype}")
    if reduction != "mean":
        return nll_loss(x.log_softmax(1), y, reduction=_reduction(reduction, "cross_entropy"))
    fn = _new(_F.CrossEntropy)
    try:
        data = fn.forward(z, y)  # which refuses a label outside 0..C-1 as it picks the labels
    except _F.LabelError as err:
        raise _out_of_bounds("cross_entropy", err.label, c) from None
    return _core._unary(fn, x, data)


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) at the target classes (N,)."""
    x = _tensor(input, "nll_loss")
    reduction = _reduction(reduction, "nll_loss")
    if x.ndim != 2:
        raise ValueError(f"nll_loss: input must be (N, C), got shape {x.data.shape}")
    y = _targets(target, x.shape[0], x.shape[1], "nll_loss")
    picked = -x[np.arange(x.shape[0]), y]
    if reduction == "none":
        return picked
    return picked.sum() if reduction == "sum" else picked.mean()


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) of (input - target)**2; shapes must match."""
    x = _tensor(input, "mse_loss")
    reduction = _reduction(reduction, "mse_loss")
    t = target if isinstance(target, Tensor) else _const(np.asarray(target, dtype=x.dtype))
    if t.shape != x.shape:
        raise ValueError(
            f"mse_loss: input of shape {x.data.shape} and target of shape {t.data.shape}"
        )
    if reduction == "mean" and not t.requires_grad and x.numel():
        fn = object.__new__(_F.MSE)
        tdata = t.data if t.data.dtype == x.data.dtype else t.data.astype(x.data.dtype)
        return _core._unary(fn, x, np.asarray(fn.forward(x.data, tdata)))
    d = x - t
    sq = d * d
    if reduction == "none":
        return sq
    return sq.sum() if reduction == "sum" else sq.mean()


def __getattr__(name: str):
    raise _missing_name(
        "micrograd.tensor.nn.functional",
        name,
        __all__,
        "{module} has no {name!r}{hint}; see its __all__",
    )
