"""The tensor engine's adapter for the training job (`micrograd train --engine tensor`).

`micrograd/train.py` runs the loop and documents the interface (its "Engine adapters" section):
`build_model`, `loss_and_accuracy` and `predict`. Here they work on whole batches as numpy
arrays: one `MLP` call and one fused loss node per step instead of a graph node per scalar.

`build_model` draws the initial weights exactly as the scalar engine does (a scalar
`micrograd.nn.MLP` is built from the same seeded `random` and copied), so both engines start a
run from the same weights and, in float64, follow the same training curve up to rounding.

Read `micrograd/train.py` for the loop that calls these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from micrograd.tensor import losses
from micrograd.tensor.core import Tensor, no_grad
from micrograd.tensor.nn import MLP

__all__ = ["DTYPE", "build_model", "loss_and_accuracy", "predict"]

# float64: the same numbers as the scalar engine. (float32 is faster for large models; this
# job's models are small and the per-step cost is the Python work, not the arithmetic.)
DTYPE = np.float64

# The last training batch converted to an array, kept with the list it came from: in full-batch
# training the loop passes the same (never modified) list at every step, and converting it once
# is enough. Only `loss_and_accuracy` uses it; `predict` always converts.
_last_batch: list = [None, None]


def _array(rows: Any, cache: bool = False) -> np.ndarray:
    if isinstance(rows, np.ndarray):
        return rows.astype(DTYPE, copy=False)
    if cache and _last_batch[0] is rows:
        return _last_batch[1]
    try:
        arr = np.asarray(rows, dtype=DTYPE)
    except (TypeError, ValueError) as e:
        raise ValueError(f"tensor engine: the batch is not a table of numbers: {e}") from None
    if arr.ndim != 2:
        raise ValueError(f"tensor engine: expected a batch of rows (n, features), got {arr.shape}")
    if cache:
        _last_batch[0], _last_batch[1] = rows, arr
    return arr


def _one_blas_thread() -> None:
    """Run numpy's BLAS on one thread for the rest of this (training) process, if threadpoolctl
    is installed (it comes with scikit-learn).

    This job's matrices are small: a second BLAS thread gains nothing, and when the other cores
    are busy (a test suite, another job) OpenBLAS threads wait for each other; steps 10-20x
    slower were measured on a 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


def build_model(config: Any, n_features: int, n_outputs: int) -> MLP:
    """An untrained tensor MLP `n_features -> config.layers -> n_outputs` with the weights the
    scalar engine would draw (`random.seed(config.seed)` has just been called)."""
    from micrograd.nn import MLP as ScalarMLP

    _one_blas_thread()
    scalar = ScalarMLP(
        n_features,
        [*config.layers, n_outputs],
        activation=config.activation,
        init=config.init,
        fused=True,
    )
    return MLP.from_scalar(scalar, dtype=DTYPE)


def _batch_accuracy(out: np.ndarray, y: np.ndarray, loss: str) -> float:
    """`micrograd.train.accuracy` on arrays: the same decisions, vectorised."""
    if loss in ("hinge", "bce"):
        correct = (out.reshape(-1) > 0) == (y > 0)
    elif loss == "cross_entropy":
        correct = out.argmax(axis=1) == y  # the first largest, as `decide` picks
    else:
        correct = np.floor(out.reshape(-1) + 0.5) == y
    return float(correct.mean()) if correct.size else 0.0


def loss_and_accuracy(model: MLP, Xb: Any, yb: Any, config: Any) -> tuple:
    """The forward pass on one batch: (loss Tensor, batch accuracy)."""
    X = _array(Xb, cache=True)
    y = np.asarray(yb)
    out = model(Tensor(X, requires_grad=False))
    loss = losses.LOSSES[config.loss](out, y)
    if config.alpha:
        loss = loss + losses.l2(model.parameters(), config.alpha)
    return loss, _batch_accuracy(out.data, y, config.loss)


def predict(model: MLP, X: Any) -> np.ndarray:
    """Raw outputs for the rows of X, without a graph: shape (n,) for a one-output model, else
    (n, K)."""
    with no_grad():
        out = model(Tensor(_array(X), requires_grad=False)).data
    return out.reshape(-1) if out.shape[1] == 1 else out
