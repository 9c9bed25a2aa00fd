"""Loss functions on Tensors, with the names and meanings of `micrograd.losses`.

Each takes a batch of model outputs (a Tensor) and the labels (an array or list) and returns the
mean loss over the batch as a 0-d Tensor, ready for `.backward()`. Each loss is one fused graph
node (`micrograd/tensor/functions.py`: `Hinge`, `MSE`, `BCEWithLogits`, `CrossEntropy`,
`SumOfSquares`), so a training step's graph stays small; the tests check them against the same
losses written with elementary Tensor operations, against PyTorch and against finite differences.

* `hinge(scores, labels)` -- mean of max(0, 1 - y * score), labels -1/+1 (the demo's loss);
* `mse(predictions, targets)` -- mean squared error over every element;
* `binary_cross_entropy_with_logits(logits, labels)` (alias `bce_with_logits`) -- labels 0/1;
* `cross_entropy(logits, labels)` -- softmax cross-entropy, logits (n, K), class indices (n,);
* `l2(parameters, alpha)` -- `alpha * sum(p * p)` over all parameters (a sum, not a mean).

A model with one output gives scores of shape (n, 1); labels of shape (n,) are matched to it
(numpy would otherwise broadcast (n, 1) against (n,) into an (n, n) matrix, silently).

Read `micrograd/tensor/training.py` next.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from micrograd.tensor import core as _t
from micrograd.tensor import functions as F
from micrograd.tensor.core import Tensor, as_tensor

__all__ = [
    "LOSSES",
    "bce_with_logits",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge",
    "l2",
    "mse",
]


def _apply(fn: F.Function, x: Tensor, data: Any) -> Tensor:
    return _t._unary(fn, x, data)


def _outputs_and_labels(outputs: Any, labels: Any, loss: str) -> tuple:
    """The outputs as a Tensor and the labels as an array of the outputs' dtype and shape."""
    if type(outputs) is not Tensor:
        outputs = as_tensor(outputs)
    data = outputs.data
    y = labels.data if isinstance(labels, Tensor) else labels
    y = np.asarray(y, dtype=data.dtype) if type(y) is not np.ndarray or y.dtype != data.dtype else y
    if y.shape != data.shape:
        if y.size != data.size:
            raise ValueError(
                f"{loss}: outputs of shape {data.shape} and labels of shape {y.shape} do not match"
            )
        y = y.reshape(data.shape)
    if data.size == 0:
        raise ValueError(f"{loss}: the batch is empty")
    return outputs, y


def hinge(scores: Any, labels: Any) -> Tensor:
    """Mean of `max(0, 1 - y * score)` over the batch, labels -1 or +1."""
    scores, y = _outputs_and_labels(scores, labels, "hinge")
    if not (y * y == 1).all():
        bad = y[np.abs(y) != 1].ravel()[0]
        raise ValueError(
            f"hinge: labels must be -1 or +1, got {bad!r} (for 0/1 labels use y*2 - 1, or the "
            f"'bce' loss)"
        )
    fn = F.Hinge()
    return _apply(fn, scores, fn.forward(scores.data, y))


def mse(predictions: Any, targets: Any) -> Tensor:
    """Mean of `(prediction - target)**2` over every element."""
    predictions, y = _outputs_and_labels(predictions, targets, "mse")
    fn = F.MSE()
    return _apply(fn, predictions, fn.forward(predictions.data, y))


def binary_cross_entropy_with_logits(logits: Any, labels: Any) -> Tensor:
    """Mean binary cross-entropy of `sigmoid(z)` against labels 0/1, from the logits z, in the
    overflow-free form `max(z, 0) - z*y + log(1 + exp(-|z|))`."""
    logits, y = _outputs_and_labels(logits, labels, "binary_cross_entropy")
    if not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)].ravel()[0]
        raise ValueError(f"binary_cross_entropy: labels must be 0 or 1, got {bad!r}")
    fn = F.BCEWithLogits()
    return _apply(fn, logits, fn.forward(logits.data, y))


bce_with_logits = binary_cross_entropy_with_logits


def cross_entropy(logits: Any, labels: Any) -> Tensor:
    """Mean softmax cross-entropy of logits (n, K) against class indices (n,) in 0..K-1, with
    log-sum-exp computed without overflow for logits of any size (`functions.CrossEntropy`)."""
    if type(logits) is not Tensor:
        logits = as_tensor(logits)
    z = logits.data
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(
            f"cross_entropy: logits must have shape (n, K) with K >= 2 classes, got {z.shape}"
        )
    y = labels.data if isinstance(labels, Tensor) else labels
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.intp)
        else:
            raise ValueError(f"cross_entropy: labels must be class indices, got dtype {y.dtype}")
    if y.shape != (z.shape[0],):
        raise ValueError(
            f"cross_entropy: logits of shape {z.shape} need labels of shape ({z.shape[0]},), "
            f"got {y.shape}"
        )
    if z.shape[0] == 0:
        raise ValueError("cross_entropy: the batch is empty")
    fn = F.CrossEntropy()
    try:
        data = fn.forward(z, y)  # which refuses a label outside 0..K-1 as it picks the labels
    except F.LabelError as err:
        raise ValueError(f"cross_entropy: {err}") from None
    return _apply(fn, logits, data)


def l2(parameters: Iterable[Tensor] | Any, alpha: float) -> Tensor:
    """The weight penalty `alpha * sum(p * p)` over every element of every parameter (a sum over
    the parameters, as the demo writes it), as one node. `parameters` may be a model."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha >= 0:
        raise ValueError(f"l2: alpha must be a number >= 0, got {alpha!r}")
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    ps = list(parameters)
    if not ps:
        raise ValueError("l2: no parameters given")
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"l2: parameters must be Tensors, got {type(p).__name__}")
    fn = F.SumOfSquares()
    data = fn.forward([p.data for p in ps], alpha)
    if _t._grad_enabled and any(p.requires_grad for p in ps):
        return _t._node(data, tuple(ps), fn, fn.op)
    return _t._const(data)


# Name -> loss, as in `micrograd.losses.LOSSES`. Every entry is called as `loss(outputs, labels)`.
LOSSES = {
    "hinge": hinge,
    "mse": mse,
    "bce": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}
