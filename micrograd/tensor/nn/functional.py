"""`micrograd.tensor.nn.functional`, imported as `F` by the makemore lectures: losses, activations and
layers as functions, with PyTorch's names and arguments.

`cross_entropy` and `mse_loss` are single fused graph nodes (`micrograd/tensor/functions.py`), the
rest are Tensor methods. Read `micrograd/tensor/losses.py` for the engine's own loss names.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from micrograd.tensor import core as _core
from micrograd.tensor import functions as _F
from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.core import Tensor, _const, _new, _node
from micrograd.tensor.errors import TorchRuntimeError
from micrograd.tensor.nn import fused as _fused
from micrograd.tensor.nn._bernoulli import bernoulli_mask

__all__ = [
    "cross_entropy",
    "dropout",
    "embedding",
    "gelu",
    "layer_norm",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "relu",
    "scaled_dot_product_attention",
    "sigmoid",
    "softmax",
    "tanh",
]

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    return x


def _reduction(reduction: Any, size_average: Any, reduce: Any, op: str) -> str:
    """The reduction, PyTorch's way: the deprecated size_average/reduce pair, when given,
    decides it (with PyTorch's warning)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=3,
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _refuse(op: str, **options: tuple) -> None:
    """Refuse, naming it, an option given another value than its default (value, default)."""
    for name, (value, default) in options.items():
        if value is not default and value != default:
            raise NotImplementedError(
                f"{op}: {name}={value!r} is not supported by this engine (only the default "
                f"{name}={default!r})"
            )


def _softmax_dim(ndim: int) -> int:
    # PyTorch's choice when dim is left out (with a warning there): 0 for 0-, 1- and 3-D
    return 0 if ndim in (0, 1, 3) else 1


def _float_input(x: Tensor, dtype: Any, op: str) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"{op}: not implemented for {x.dtype} tensors (needs floats)")
    return x


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    """exp(x) / sum(exp(x)) along `dim`; `dtype=` converts the input first, as in PyTorch."""
    x = _float_input(_tensor(input, "softmax"), dtype, "softmax")
    return x.softmax(_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None):
    x = _float_input(_tensor(input, "log_softmax"), dtype, "log_softmax")
    return x.log_softmax(_softmax_dim(x.ndim) if dim is None else dim)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    _refuse("relu", inplace=(inplace, False))
    return _tensor(input, "relu").relu()


def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


def linear_t(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`x @ weight.T + bias` as one node (PyTorch's `F.linear`: weight is (out, in))."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linear: input must be a Tensor, got {type(x).__name__}")
    wd = weight.data
    if x.data.dtype != wd.dtype:  # PyTorch refuses mixed dtypes rather than converting
        raise TorchRuntimeError(
            f"linear: mat1 and mat2 must have the same dtype, but got {x.data.dtype} input and "
            f"{wd.dtype} weight (convert one, e.g. x.float())"
        )
    fn = _new(_F.LinearT)
    try:
        if bias is None:
            prev: tuple = (x, weight)
            data = fn.forward(x.data, wd, None)
        else:
            prev = (x, weight, bias)
            data = fn.forward(x.data, wd, bias.data)
    except ValueError:
        shapes = f"{x.data.shape} with weight {weight.data.shape}" + (
            "" if bias is None else f" and bias {bias.data.shape}"
        )
        raise TorchRuntimeError(f"linear: input {shapes} do not match") from None
    if _core._grad_enabled and (
        weight.requires_grad or x.requires_grad or (bias is not None and bias.requires_grad)
    ):
        return _node(data, prev, fn, "linear")
    return _const(data)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`input @ weight.T + bias`, weight of shape (out_features, in_features)."""
    return linear_t(_tensor(input, "linear"), weight, bias)


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """The rows of `weight` that the integer tensor `input` picks (`weight[input]`)."""
    _refuse(
        "embedding",
        padding_idx=(padding_idx, None),
        max_norm=(max_norm, None),
        scale_grad_by_freq=(scale_grad_by_freq, False),
        sparse=(sparse, False),
    )
    idx = _tensor(input, "embedding")
    if idx.data.dtype.kind not in "iu":
        raise RuntimeError(
            f"embedding: indices must be an integer tensor (Long or Int), got {idx.dtype}"
        )
    return _core._labelled(weight[idx], "F.embedding")  # PyTorch's EmbeddingBackward0


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(..., num_classes) int64 tensor with a 1 at each index of the int64 tensor."""
    idx = _tensor(tensor, "one_hot").data
    if idx.dtype != np.int64:
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of type LongTensor (got {idx.dtype})."
        )
    if idx.size and idx.min() < 0:
        raise TorchRuntimeError("Class values must be non-negative.")
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else num_classes
    if n == -1:
        raise TorchRuntimeError(
            "Can not infer total number of classes from empty tensor; pass num_classes."
        )
    if idx.size and idx.max() >= n:
        raise TorchRuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(idx.shape + (n,), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return _const(out)


def _out_of_bounds(op: str, label: Any, classes: int) -> IndexError:
    return IndexError(f"{op}: target {label} is out of bounds for {classes} classes")


def _as_rows(x: Tensor, op: str) -> tuple[Tensor, Any]:
    """Logits or log-probabilities as (rows, C) with the classes along dim 1, PyTorch's layouts:
    (C,) one sample, (N, C) a batch, (N, C, d1, ...) a batch of maps; the second result turns
    per-row values back into the target's shape."""
    if x.ndim == 0:
        raise IndexError(f"{op}: input must have a class dimension, got a 0-d tensor")
    if x.ndim == 1:
        return x.reshape(1, -1), lambda rows: rows.reshape(())
    if x.ndim == 2:
        return x, lambda rows: rows
    n, c, *rest = x.shape
    moved = x.permute(0, *range(2, x.ndim), 1).reshape(-1, c)
    return moved, lambda rows: rows.reshape(n, *rest)


def _checked_targets(
    target: Any, n: int, c: int, ignore_index: int, op: str
) -> tuple[np.ndarray, np.ndarray]:
    """The class indices as a flat array, with the mask of the rows that count (not
    `ignore_index`), after PyTorch's checks: one per row, each in [0, c) unless ignored."""
    y = target.data if isinstance(target, Tensor) else np.asarray(target)
    y = y.reshape(-1)
    if y.shape[0] != n:
        raise ValueError(
            f"Expected input batch_size ({n}) to match target batch_size ({y.shape[0]})."
        )
    counted = y != ignore_index
    bad = counted & ((y < 0) | (y >= c))
    if bad.any():
        raise IndexError(f"{op}: Target {y[bad][0]} is out of bounds (for {c} classes).")
    return y, counted


def _check_class_weights(shape: tuple, c: int) -> None:
    if shape != (c,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {c} classes or no classes but got "
            f"weight tensor of shape: {list(shape)}"
        )


def _nll_rows(
    logp: Tensor, target: Any, weight: Any, ignore_index: int, op: str
) -> tuple[Tensor, Tensor | np.ndarray]:
    """Per-row weighted negative log-likelihoods (0 on ignored rows) and per-row weights."""
    n, c = logp.shape
    y, valid = _checked_targets(target, n, c, ignore_index, op)
    safe = np.where(valid, y, 0).astype(np.intp)
    picked = -logp[np.arange(n), safe]
    mask = valid.astype(logp.data.dtype)
    if weight is None:
        return picked * mask, _const(mask)
    w = weight if isinstance(weight, Tensor) else _const(np.asarray(weight, logp.data.dtype))
    _check_class_weights(tuple(w.shape), c)
    row_weights = w[safe] * mask
    return picked * row_weights, row_weights


def _reduce(
    rows: Tensor, reduction: str, denominator: Any, unshape: Any, counted: Any = True
) -> Tensor:
    if reduction == "none":
        return unshape(rows)
    total = rows.sum()
    if reduction == "sum":
        return total
    if not counted:
        # every target ignored: the mean of nothing is nan, and PyTorch's backward spreads the
        # gradient over the counted rows, none, so the inputs get 0 (total / 0 would give nan)
        return total * 0.0 + float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):  # every row ignored: nan, as torch
        return total / denominator


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits against class indices (or class probabilities, a float
    target of the input's shape), PyTorch's arguments: per-class `weight`, `ignore_index`,
    `label_smoothing`, `reduction`. Logits (N, C) with int64 labels and the defaults -- the
    lectures' case -- take one fused node, computed without overflow for logits of any size
    (`functions.CrossEntropy`)."""
    x = _tensor(input, "cross_entropy")
    if size_average is not None or reduce is not None:
        reduction = _reduction(reduction, size_average, reduce, "cross_entropy")
    z = x.data
    y = target.data if isinstance(target, Tensor) else None
    if (
        reduction == "mean"
        and weight is None
        and not label_smoothing
        and z.ndim == 2
        and y is not None
        and y.dtype.kind in "iu"  # any integer labels (torch: int64 or uint8)
        and y.shape == (z.shape[0],)
        and z.shape[0]
        and z.dtype.kind == "f"
        and not 0 <= ignore_index < z.shape[1]
    ):
        fn = _new(_F.CrossEntropy)
        try:
            data = fn.forward(z, y)  # which refuses a label outside 0..C-1 as it picks them
        except _F.LabelError as err:
            ignored = y == ignore_index
            if not ignored.any():
                raise _out_of_bounds("cross_entropy", err.label, z.shape[1]) from None
            if not ignored.all():  # (every row ignored: nan, below)
                try:  # the mean over the other rows (makemore.py pads its targets with -1)
                    data = fn.forward(z, y, ignored)
                except _F.LabelError as err:
                    raise _out_of_bounds("cross_entropy", err.label, z.shape[1]) from None
                return _core._unary(fn, x, data)
        else:
            return _core._unary(fn, x, data)
    return _cross_entropy(x, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy(x, target, weight, ignore_index, reduction, label_smoothing) -> Tensor:
    """Every case of cross_entropy, built from log_softmax and indexing (the fused node takes
    the common one)."""
    reduction = _reduction(reduction, None, None, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if x.data.dtype.kind != "f":
        raise NotImplementedError(
            f"cross_entropy: not implemented for {x.dtype} input (needs floats)"
        )
    rows, unshape = _as_rows(x, "cross_entropy")
    n, c = rows.shape
    logp = rows.log_softmax(1)
    t = target if isinstance(target, Tensor) else _const(np.asarray(target))
    if t.data.dtype.kind == "f":  # class probabilities, one row per input row
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if t.shape != x.shape:  # then torch reads it as class indices of the wrong dtype
            raise RuntimeError(
                f"cross_entropy: expected target dtype to be Long or Byte (class indices), but "
                f"got {t.dtype} of shape {tuple(t.shape)} (class probabilities need the input's "
                f"shape {tuple(x.shape)})"
            )
        probs, _ = _as_rows(t, "cross_entropy")
        if label_smoothing:
            probs = probs * (1 - label_smoothing) + label_smoothing / c
        terms = logp * probs
        if weight is not None:
            terms = terms * weight
        losses = -terms.sum(1)
        return _reduce(losses, reduction, n, unshape)
    if t.data.dtype.kind not in "iub":
        raise RuntimeError(
            f"cross_entropy: target must be class indices or probabilities, got {t.dtype}"
        )
    if x.ndim != t.ndim + 1:
        raise RuntimeError(
            f"cross_entropy: input of shape {tuple(x.shape)} needs a target of shape "
            f"{tuple(x.shape[:1] + x.shape[2:])}, got {tuple(t.shape)}"
        )
    if not label_smoothing:
        exact = _nll_float32(logp, t, weight, ignore_index, reduction, "cross_entropy", x.ndim)
        if exact is not None:
            return unshape(exact) if reduction == "none" else exact
    nll, row_weights = _nll_rows(logp, t, weight, ignore_index, "cross_entropy")
    total_weight = row_weights.sum() if reduction == "mean" else None
    counted = (t.data != ignore_index).any()
    loss = _reduce(nll, reduction, total_weight, unshape, counted)
    if not label_smoothing:
        return _nll_labelled(loss, x.ndim, reduction)
    # PyTorch's smoothing: (1 - eps) * nll + eps / C * (the sum over classes of -log p,
    # weighted by class, 0 on ignored rows, normalised as the nll is)
    all_classes = logp if weight is None else logp * weight
    valid = _const((t.data.reshape(-1) != ignore_index).astype(x.data.dtype))
    smooth = -all_classes.sum(1) * valid
    smooth = _reduce(smooth, reduction, total_weight, unshape, counted)
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / c)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (or (C,), (N, C, d1, ...)) at the
    target classes, PyTorch's `weight`, `ignore_index` and `reduction`."""
    x = _tensor(input, "nll_loss")
    reduction = _reduction(reduction, size_average, reduce, "nll_loss")
    rows, unshape = _as_rows(x, "nll_loss")
    t = target if isinstance(target, Tensor) else _const(np.asarray(target))
    if t.data.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: target must be class indices (Long), got {t.dtype}")
    if x.ndim != t.ndim + 1:
        raise ValueError(
            f"nll_loss: input of shape {tuple(x.shape)} needs a target of shape "
            f"{tuple(x.shape[:1] + x.shape[2:])}, got {tuple(t.shape)}"
        )
    exact = _nll_float32(rows, t, weight, ignore_index, reduction, "nll_loss", x.ndim)
    if exact is not None:
        return unshape(exact) if reduction == "none" else exact
    nll, row_weights = _nll_rows(rows, t, weight, ignore_index, "nll_loss")
    total_weight = row_weights.sum() if reduction == "mean" else None
    loss = _reduce(nll, reduction, total_weight, unshape, (t.data != ignore_index).any())
    return _nll_labelled(loss, x.ndim, reduction)


def _nll_labelled(loss: Tensor, ndim: int, reduction: str) -> Tensor:
    """Name the loss's node as PyTorch's (its repr's `grad_fn`): `nll_loss` for (C,) or (N, C)
    input, `nll_loss2d` above, where PyTorch views other shapes than (N, C, H, W) as 4-D and,
    with reduction 'none', views the per-element losses back (a plain view then)."""
    if ndim <= 2:
        return _core._labelled(loss, "nll_loss")
    if reduction != "none" or ndim == 4:
        return _core._labelled(loss, "nll_loss2d")
    return loss


def _nll_float32(
    logp: Tensor, target: Tensor, weight: Any, ignore_index: int, reduction: str, op: str, ndim: int
) -> Tensor | None:
    """nll_loss as PyTorch's kernel computes it, to the last bit (`functions.NllLoss`), for
    float32 log-probabilities of at most two dimensions (the lectures' cases); None for the
    others (a batch of maps, float64, a weight of another dtype or that needs a gradient),
    which `_nll_rows` computes with other rounding."""
    if logp.data.dtype != np.float32 or ndim > 2:
        return None
    w = None
    if weight is not None:
        w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
        if w.dtype != np.float32 or (isinstance(weight, Tensor) and weight.requires_grad):
            return None
    n, c = logp.shape
    y, _ = _checked_targets(target, n, c, ignore_index, op)
    if w is not None:
        _check_class_weights(w.shape, c)
    if ndim == 1 and reduction == "none":
        # one sample: PyTorch's kernel takes its reduction path (0 + loss: no -0.0 loss)
        reduction = "sum"
    fn = _new(_F.NllLoss)
    data = fn.forward(logp.data, y.astype(np.int64), w, ignore_index, reduction)
    return _core._unary(fn, logp, data)


def mse_loss(
    input: Tensor,
    target: Any,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """Mean (or sum, or elementwise) of (input - target)**2, optionally times `weight` (of the
    input's shape; the mean is then divided by the weights' sum, as in PyTorch)."""
    x = _tensor(input, "mse_loss")
    reduction = _reduction(reduction, size_average, reduce, "mse_loss")
    t = target if isinstance(target, Tensor) else _const(np.asarray(target, dtype=x.dtype))
    if t.shape != x.shape:
        raise ValueError(
            f"mse_loss: input of shape {x.data.shape} and target of shape {t.data.shape}"
        )
    if weight is not None:
        if tuple(weight.shape) != tuple(x.shape):
            raise ValueError("Weights and input must have the same size.")
        d = x - t
        weighted = d * d * weight
        if reduction == "none":
            return weighted
        return weighted.sum() if reduction == "sum" else weighted.sum() / weight.sum()
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


# ---------------------------------------------------------------------------------------------
# The transformer's layers: layer_norm, gelu, dropout, scaled_dot_product_attention


def _shape_list(shape: Any) -> str:
    return str(list(shape))


def _graph_node(fn: Any, data: Any, prev: tuple) -> Tensor:
    """`data` as a node of `fn` over `prev` when an input needs a gradient, else a constant."""
    if _core._grad_enabled and any(t.requires_grad for t in prev):
        return _node(data, prev, fn, fn.op)
    return _const(data)


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last `len(normalized_shape)` axes to mean 0 and variance 1 (biased,
    plus `eps`), then scale by `weight` and shift by `bias` (both of `normalized_shape`). One
    fused node (`fused.NativeLayerNorm`) computing as PyTorch's CPU kernel does: values and
    gradients are PyTorch's bit for bit, in float32 and float64."""
    x = _tensor(input, "layer_norm")
    if isinstance(normalized_shape, (int, np.integer)) or not isinstance(
        normalized_shape, (tuple, list)
    ):
        raise TypeError(
            f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
            f"{type(normalized_shape).__name__}"
        )
    for d in normalized_shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise TypeError(
                f"layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                f"but found element of type {type(d).__name__}"
            )
    shape = tuple(int(d) for d in normalized_shape)
    if not shape:
        raise TorchRuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != shape:
            raise TorchRuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {_shape_list(param.shape)} and normalized_shape = {_shape_list(shape)}"
            )
    n = len(shape)
    if x.ndim < n or tuple(x.shape[x.ndim - n :]) != shape:
        raise TorchRuntimeError(
            f"Given normalized_shape={_shape_list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size{_shape_list(x.shape)}"
        )
    dtype = x.data.dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"\"LayerNormKernelImpl\" not implemented for '{x.dtype}'")
    params = [p for p in (weight, bias) if p is not None]
    if any(p.data.dtype != dtype for p in params):
        raise TorchRuntimeError(
            f"mixed dtype (CPU): layer_norm's weight and bias must have the input's dtype "
            f"{x.dtype}, got " + " and ".join(str(p.dtype) for p in params)
        )
    fn = _new(_fused.NativeLayerNorm)
    with np.errstate(invalid="ignore", divide="ignore"):  # eps <= 0: nan / inf as in torch
        data = fn.forward(
            x.data,
            n,
            float(eps),
            None if weight is None else weight.data,
            None if bias is None else bias.data,
        )
    return _graph_node(fn, data, (x, *params))


def gelu(input: Tensor, *, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF: `approximate='none'` through erf, `'tanh'`
    through PyTorch's tanh formula. One node (`fused.Gelu`)."""
    x = _tensor(input, "gelu")
    if not isinstance(approximate, str):
        raise TypeError(
            f"gelu(): argument 'approximate' must be str, not {type(approximate).__name__}"
        )
    if approximate not in ("none", "tanh"):
        raise TorchRuntimeError("approximate argument must be either none or tanh.")
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f"\"GeluKernelImpl\" not implemented for '{x.dtype}'")
    fn = _new(_fused.Gelu)
    return _graph_node(fn, fn.forward(x.data, approximate), (x,))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """In training, zero each element with probability p and scale the rest by 1 / (1 - p):
    `input * noise` with noise = bernoulli(1 - p) / (1 - p), the mask drawn from the default
    generator exactly as PyTorch's CPU kernel draws it (`nn/_bernoulli.py`). With p = 0, outside
    training or for an empty input, `input` itself is returned, as in PyTorch."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _tensor(input, "dropout")
    if not 0.0 <= p <= 1.0:  # nan gets past the comparisons above, as in PyTorch
        raise TorchRuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or x.data.size == 0:
        return x
    dtype = x.data.dtype
    if p == 1:
        noise = _const(np.zeros((), dtype))
    elif dtype.kind != "f":  # PyTorch's noise.div_ fails on an integer noise tensor
        raise TorchRuntimeError(
            f"result type Float can't be cast to the desired output type {x.dtype}"
        )
    else:
        q = 1.0 - p
        mask = bernoulli_mask(x.data.shape, q)
        noise = _const(mask.astype(dtype) / dtype.type(q))  # noise.div_(1 - p) in x's dtype
    return x.mul_(noise) if inplace else x * noise


def _attention_shapes(q: Tensor, k: Tensor, v: Tensor, enable_gqa: bool) -> tuple:
    """PyTorch's checks of query (..., L, E), key (..., S, E) and value (..., S, Ev); returns
    the number of query heads per key/value head and the scores' shape (..., L, S)."""
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise TorchRuntimeError(
            f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{q.ndim} key.dim: {k.ndim} and value.dim: {v.ndim} instead."
        )
    dtypes = {t.data.dtype for t in (q, k, v)}
    if len(dtypes) > 1:
        raise TorchRuntimeError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{q.dtype} key.dtype: {k.dtype} and value.dtype: {v.dtype} instead."
        )
    if q.data.dtype.kind != "f":
        raise TorchRuntimeError(
            f"scaled_dot_product_attention: expected float tensors, got {q.dtype}"
        )
    if k.shape[-1] != q.shape[-1] or v.shape[-2] != k.shape[-2]:
        raise TorchRuntimeError(
            f"scaled_dot_product_attention: query {tuple(q.shape)}, key {tuple(k.shape)} and "
            f"value {tuple(v.shape)} do not fit: key needs query's last size and value key's "
            f"second-to-last"
        )
    groups = 1
    if enable_gqa and min(q.ndim, k.ndim, v.ndim) >= 3:
        q_heads, k_heads, v_heads = q.shape[-3], k.shape[-3], v.shape[-3]
        if q_heads % k_heads or q_heads % v_heads or k_heads != v_heads:
            raise TorchRuntimeError(
                "Number of heads in key and value must divide the number of heads in query"
            )
        groups = q_heads // k_heads
    k_batch = tuple(k.shape[:-2])
    if groups > 1:
        k_batch = k_batch[:-1] + (k_batch[-1] * groups,)
    v_batch = tuple(v.shape[:-2])
    if groups > 1:
        v_batch = v_batch[:-1] + (v_batch[-1] * groups,)
    try:
        batch = np.broadcast_shapes(tuple(q.shape[:-2]), k_batch, v_batch)
    except ValueError:
        raise TorchRuntimeError(
            f"scaled_dot_product_attention: the batch dimensions of query {tuple(q.shape)}, key "
            f"{tuple(k.shape)} and value {tuple(v.shape)} do not broadcast"
        ) from None
    return groups, batch + (q.shape[-2], k.shape[-2])


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, scale 1/sqrt(E) by default, over inputs
    (..., L, E), (..., S, E), (..., S, Ev). `is_causal` masks the keys after each query (the
    upper triangle of L x S); `attn_mask` is a bool mask (True keeps) or a float bias
    broadcastable to (..., L, S); `dropout_p` drops attention weights with a mask drawn as
    `dropout` draws it. Rows whose keys are all masked give 0, as in PyTorch. Where PyTorch's
    CPU dispatch picks its flash kernel (float32 4-D inputs of one batch and head count, no
    dropout, no mask needing a gradient) its arithmetic is replayed (`fused.FlashAttention`);
    otherwise one fused node with its math kernel's order of operations
    (`fused.ScaledDotProductAttention`)."""
    q = _tensor(query, "scaled_dot_product_attention")
    k = _tensor(key, "scaled_dot_product_attention")
    v = _tensor(value, "scaled_dot_product_attention")
    groups, scores_shape = _attention_shapes(q, k, v, bool(enable_gqa))
    dtype = q.data.dtype
    if attn_mask is not None and is_causal:
        raise TorchRuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if dropout_p > 1:
        raise TorchRuntimeError(
            f"dropout probability has to be between 0 and 1, but got {dropout_p}"
        )
    length, keys = scores_shape[-2:]
    bias = None
    bias_input = None
    if is_causal:
        bias = np.where(np.tri(length, keys, dtype=bool), dtype.type(0), dtype.type(-np.inf))
    elif attn_mask is not None:
        mask = _tensor(attn_mask, "scaled_dot_product_attention")
        if mask.data.dtype != np.bool_ and mask.data.dtype != dtype:
            raise TorchRuntimeError(
                f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {mask.dtype} and  query.dtype: {q.dtype} instead."
            )
        try:
            fits = np.broadcast_shapes(tuple(mask.shape), scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise TorchRuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} does not "
                f"broadcast to the attention scores' shape {scores_shape}"
            )
        if mask.data.dtype == np.bool_:
            bias = np.where(mask.data, dtype.type(0), dtype.type(-np.inf))
        else:
            bias = mask.data
            bias_input = mask
    noise_fn = None
    if dropout_p > 0:
        keep = 1.0 - dropout_p

        def noise_fn(shape: tuple) -> np.ndarray:
            """dropout's noise on the attention weights (p = 1 draws nothing, as in PyTorch)."""
            if keep == 0:
                return np.zeros(shape, dtype)
            return bernoulli_mask(shape, keep).astype(dtype) / dtype.type(keep)

    root = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    kernel = _attention_kernel(q, k, v, attn_mask, dropout_p, groups)
    flash_replay = kernel == "scaled_dot_product_attention_flash" and dtype == np.float32
    # (a causal call with a negative scale stays on the math kernel: PyTorch's flash kernel
    # scales its -inf there and returns NaN; grouped-query heads too, not replayed)
    if flash_replay and groups == 1 and not (is_causal and root < 0):
        # PyTorch's flash kernel, replayed bit for bit: it takes the causal flag itself
        fn = _new(_fused.FlashAttention)
        data = fn.forward(
            q.data, k.data, v.data, None if is_causal else bias, root, bool(is_causal)
        )
        return _core._labelled(_graph_node(fn, data, (q, k, v)), kernel)
    fn = _new(_fused.ScaledDotProductAttention)
    data = fn.forward(q.data, k.data, v.data, bias, root, noise_fn, groups)
    prev = (q, k, v) if bias_input is None else (q, k, v, bias_input)
    out = _graph_node(fn, data, prev)
    return _core._labelled(out, kernel)


def _attention_kernel(q: Tensor, k: Tensor, v: Tensor, mask: Any, dropout_p: float, groups: int):
    """The label naming the node PyTorch's CPU dispatch would record (its repr's `grad_fn`):
    its flash kernel for 4-D inputs of one batch and head count (key/value heads may divide the
    query's under grouped-query attention), one head size, non-empty sequences, no dropout and
    no mask other than a 2-D or 4-D one without a gradient; otherwise its math kernel, whose
    last product is an `mm` for 2-D inputs and an unsafe view of a batched product above."""
    if q.ndim == k.ndim == v.ndim == 2:
        return "scaled_dot_product_attention_mm"
    flash = (
        q.ndim == k.ndim == v.ndim == 4
        and dropout_p == 0
        and q.shape[-1] == k.shape[-1] == v.shape[-1]
        and q.shape[0] == k.shape[0] == v.shape[0]
        and q.shape[1] == k.shape[1] * groups == v.shape[1] * groups
        and q.shape[-2] > 0
        and k.shape[-2] > 0
        and (mask is None or (mask.ndim in (2, 4) and not mask.requires_grad))
    )
    return "scaled_dot_product_attention_flash" if flash else "scaled_dot_product_attention"
