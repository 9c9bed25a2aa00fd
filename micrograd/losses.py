"""Loss functions on Values: each takes a batch of model outputs and labels and returns the mean
loss over the samples as one Value, ready for `.backward()`.

* `hinge(scores, labels)` -- max-margin, labels -1/+1; the original demo's loss, computed with
  the same operations in the same order, so it reproduces the demo's floats;
* `mse(predictions, targets)` -- mean squared error (regression);
* `binary_cross_entropy_with_logits(logits, labels)` (alias `bce_with_logits`) -- labels 0/1;
* `cross_entropy(logits, labels)` -- softmax cross-entropy, one row of logits per sample;
* `l2(parameters, alpha)` -- the demo's weight penalty `alpha * sum(p*p)` (a sum, not a mean).

Every loss is built from `Value` operations, so its gradient comes from the engine's chain rule
(the tests compare values and gradients with PyTorch's). Only the standard library is used.
Read `micrograd/optim.py` next.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, Callable

from micrograd.engine import Value

__all__ = [
    "LOSSES",
    "bce_with_logits",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge",
    "l2",
    "mse",
]


def _as_list(xs: Iterable[Any], what: str, loss: str) -> list[Any]:
    if isinstance(xs, (Value, numbers.Number, str)) or not isinstance(xs, Iterable):
        raise TypeError(f"{loss}: {what} must be a sequence (one entry per sample), got {xs!r}")
    return list(xs)


def _pair(outputs: Iterable[Any], labels: Iterable[Any], names: tuple[str, str], loss: str):
    """The batch as two lists of equal, nonzero length, or a ValueError naming both lengths."""
    outputs = _as_list(outputs, names[0], loss)
    labels = _as_list(labels, names[1], loss)
    if len(outputs) != len(labels):
        raise ValueError(
            f"{loss}: {len(outputs)} {names[0]} but {len(labels)} {names[1]}; "
            f"they must have one entry per sample"
        )
    if not outputs:
        raise ValueError(f"{loss}: the batch is empty (0 {names[0]})")
    return outputs, labels


def _single(x: Any, i: int, loss: str) -> Value:
    """A model with one output returns a Value; accept a one-element list too."""
    if isinstance(x, (list, tuple)):
        if len(x) != 1:
            raise ValueError(
                f"{loss}: output {i} has {len(x)} values; this loss needs one score per sample"
            )
        x = x[0]
    return _as_value(x, i, loss)


def _as_value(x: Any, i: int, loss: str) -> Value:
    """A model output as a Value (a plain number becomes a leaf), or a TypeError naming it."""
    if isinstance(x, Value):
        return x
    if not _is_number(x):
        raise TypeError(
            f"{loss}: output {i} is a {type(x).__name__}, not a Value or a number: {x!r}"
        )
    return Value(x)


def _is_number(y: Any) -> bool:
    return isinstance(y, numbers.Real) and not isinstance(y, Value)


def hinge(scores: Sequence[Value], labels: Sequence[Any]) -> Value:
    """Mean of `max(0, 1 - y * score)`, labels -1 or +1 (the original demo's "svm max-margin").

    The graph is the demo's, op for op: `sum((1 + -yi*si).relu() ...) * (1.0 / n)`."""
    scores, labels = _pair(scores, labels, ("scores", "labels"), "hinge")
    for i, yi in enumerate(labels):
        if not (_is_number(yi) and (yi == 1 or yi == -1)):
            raise ValueError(
                f"hinge: label {yi!r} at index {i} is not -1 or +1 "
                f"(for 0/1 labels use y*2 - 1, or the 'bce' loss)"
            )
    losses = [
        (1 + -yi * _single(si, i, "hinge")).relu() for i, (yi, si) in enumerate(zip(labels, scores))
    ]
    return sum(losses) * (1.0 / len(losses))


def mse(predictions: Sequence[Any], targets: Sequence[Any]) -> Value:
    """Mean of `(prediction - target)**2` over every output of every sample.

    A prediction may be a Value (one output) or a list of Values (several outputs); its target
    is then a number (or Value) or a list of the same length."""
    predictions, targets = _pair(predictions, targets, ("predictions", "targets"), "mse")
    terms = []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        p_row = p if isinstance(p, (list, tuple)) else [p]
        t_row = t if isinstance(t, (list, tuple)) else [t]
        if len(p_row) != len(t_row):
            raise ValueError(
                f"mse: sample {i} has {len(p_row)} predictions but {len(t_row)} targets"
            )
        if not p_row:
            raise ValueError(f"mse: sample {i} has no predictions")
        for tj in t_row:
            if isinstance(tj, Value):
                continue
            if not _is_number(tj) or not math.isfinite(tj):
                raise ValueError(f"mse: target {tj!r} at index {i} is not a finite number")
        diffs = [_as_value(pj, i, "mse") - tj for pj, tj in zip(p_row, t_row)]
        # d * d, not d ** 2: a float product overflows to inf (PyTorch's loss) where ** raises;
        # the gradient d*g + d*g is the same float as ** 2's (2*d)*g (doubling is exact)
        terms += [d * d for d in diffs]
    return sum(terms) * (1.0 / len(terms))


def binary_cross_entropy_with_logits(logits: Sequence[Value], labels: Sequence[Any]) -> Value:
    """Mean binary cross-entropy of `sigmoid(z)` against labels 0/1, computed from the logit z.

    Written as `max(z, 0) - z*y + log(1 + exp(-|z|))`, which equals
    `-y*log(sigmoid(z)) - (1-y)*log(1 - sigmoid(z))` but never overflows: `exp` only sees
    numbers <= 0, and `log` numbers in [1, 2]. The gradient is `sigmoid(z) - y` everywhere,
    including z == 0 (where `|z|` takes the slope -1 so that the two halves give 1/2).
    Caution: for a very confident correct logit (|z| > ~37), `1 + exp(-|z|)` rounds to 1 and that
    sample's loss to 0; the error is below 1e-16 and the gradient stays accurate."""
    logits, labels = _pair(logits, labels, ("logits", "labels"), "binary_cross_entropy")
    for i, yi in enumerate(labels):
        if not (_is_number(yi) and (yi == 0 or yi == 1)):
            raise ValueError(f"binary_cross_entropy: label {yi!r} at index {i} is not 0 or 1")
    terms = []
    for i, (z, yi) in enumerate(zip(logits, labels)):
        z = _single(z, i, "binary_cross_entropy")
        if math.isnan(z.data):
            # A diverged model's NaN: the loss is NaN, as in PyTorch (the engine's log refuses
            # NaN, so the formula below would raise a puzzling "log(nan)")
            terms.append(z * math.nan)
            continue
        abs_z = z if z.data > 0 else -z  # branch on the data: the graph is built per sample
        # `- z * y` only where y == 1: with y == 0 it adds -0.0 (no change to any float), but
        # for z = inf it would add inf * 0 = NaN where PyTorch gives the loss inf
        data_term = z.relu() - z if yi else z.relu()
        terms.append(data_term + (1 + (-abs_z).exp()).log())
    return sum(terms) * (1.0 / len(terms))


bce_with_logits = binary_cross_entropy_with_logits


def cross_entropy(logits: Sequence[Sequence[Value]], labels: Sequence[Any]) -> Value:
    """Mean softmax cross-entropy: `logits[i]` is one row of class scores, `labels[i]` the index
    of the true class.

    Per row: `log(sum(exp(z - m))) - (z[label] - m)` with m the row's largest logit, subtracted as
    a constant (log-sum-exp): every exp sees a number <= 0 and the sum is >= 1, so logits of any
    size work. The constant does not change the gradient, `softmax(z) - onehot(label)`."""
    logits, labels = _pair(logits, labels, ("rows of logits", "labels"), "cross_entropy")
    terms = []
    n_classes = None
    for i, (row, yi) in enumerate(zip(logits, labels)):
        if isinstance(row, Value) or not isinstance(row, Sequence):
            raise TypeError(
                f"cross_entropy: logits[{i}] must be a list of class scores, got {row!r}"
            )
        if n_classes is None:
            n_classes = len(row)
            if n_classes < 2:
                raise ValueError(
                    f"cross_entropy: needs at least 2 classes, logits[0] has {n_classes}"
                )
        elif len(row) != n_classes:
            raise ValueError(
                f"cross_entropy: logits[{i}] has {len(row)} classes but logits[0] has {n_classes}"
            )
        if not (
            _is_number(yi)
            and not isinstance(yi, bool)
            and float(yi).is_integer()
            and 0 <= yi < n_classes
        ):
            raise ValueError(
                f"cross_entropy: label {yi!r} at index {i} is not a class index in "
                f"0..{n_classes - 1}"
            )
        row = [_as_value(z, i, "cross_entropy") for z in row]
        if any(math.isnan(z.data) or z.data == math.inf for z in row):
            # log-sum-exp of NaN or +inf is NaN (inf - inf), as in PyTorch; built without log,
            # which refuses NaN
            terms.append(sum(row[1:], row[0]) * math.nan)
            continue
        m = max(z.data for z in row)
        shifted = [z - m for z in row]
        exps = [s.exp() for s in shifted]
        terms.append(sum(exps[1:], exps[0]).log() - shifted[int(yi)])
    return sum(terms) * (1.0 / len(terms))


def l2(parameters: Iterable[Value] | Any, alpha: float) -> Value:
    """The weight penalty `alpha * sum(p*p for p in parameters)`, as the demo writes it.

    `parameters` may be a list of Values or a model (anything with `.parameters()`)."""
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    if not _is_number(alpha) or isinstance(alpha, bool) or not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"l2: alpha must be a finite number >= 0, got {alpha!r}")
    if isinstance(parameters, (Value, str)) or not isinstance(parameters, Iterable):
        raise TypeError(
            f"l2: parameters must be a list of Values or a model, got {type(parameters).__name__}"
        )
    parameters = list(parameters)
    for i, p in enumerate(parameters):
        if not isinstance(p, Value):
            raise TypeError(f"l2: parameter {i} is a {type(p).__name__}, not a Value")
    squares = [p * p for p in parameters]
    if not squares:
        return Value(0.0)
    return alpha * sum(squares)


# Name -> loss, for the command line. Every entry is called as `loss(outputs, labels)`.
LOSSES: dict[str, Callable[[Any, Any], Value]] = {
    "hinge": hinge,
    "mse": mse,
    "bce": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
}
