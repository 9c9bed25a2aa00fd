"""Checking gradients against finite differences, for any function of Values (or Tensors).

`backward()` computes exact derivatives by the chain rule; a central finite difference
``(f(x + eps) - f(x - eps)) / (2 * eps)`` estimates the same derivative from two forward passes
only. If they disagree, an op's derivative is wrong. Use it on your own ops:

    >>> from micrograd import Value, gradcheck
    >>> gradcheck(lambda a, b: (a * b + a.exp()).tanh(), [Value(0.3), Value(-1.2)])
    True

Works with both engines: an input is anything with `data` (a number or a numpy array) and
`grad`, and `f` returns a node whose `data` has one element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["gradcheck", "numerical_gradients", "GradcheckError", "Mismatch"]


class GradcheckError(AssertionError):
    """`backward()` and the finite differences disagree; the message lists where."""


@dataclass(frozen=True)
class Mismatch:
    """One element whose analytic and numerical derivatives differ."""

    input_index: int
    element: tuple  # the index inside the input's array; () for a scalar
    analytic: float
    numerical: float

    def __str__(self) -> str:
        where = f"input {self.input_index}" + (f"[{self.element}]" if self.element else "")
        return f"{where}: backward() gives {self.analytic!r}, finite differences {self.numerical!r}"


def _scalar(node: Any) -> float:
    """The single number held by an output node (a Value, or a Tensor with one element)."""
    data = node.data
    size = getattr(data, "size", 1)
    if size != 1:
        raise ValueError(f"gradcheck: f must return one number, got data of shape {data.shape}")
    return float(data.item() if hasattr(data, "item") else data)


def _elements(x: Any) -> list[tuple]:
    """The element indices of an input: [()] for a scalar Value, every index of an array."""
    shape = getattr(x.data, "shape", None)
    if shape is None:
        return [()]
    from itertools import product

    return list(product(*(range(n) for n in shape)))


def _get(x: Any, idx: tuple) -> float:
    return x.data[idx] if idx else x.data


def _set(x: Any, idx: tuple, value: float) -> None:
    if idx:
        x.data[idx] = value
    else:
        x.data = value


def numerical_gradients(
    f: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6
) -> list[list[float]]:
    """Central finite differences of `f(*inputs)` with respect to every element of every input.

    Each input's data is moved by +-eps in place and restored afterwards.
    """
    result = []
    for x in inputs:
        grads = []
        for idx in _elements(x):
            original = _get(x, idx)
            try:
                _set(x, idx, original + eps)
                plus = _scalar(f(*inputs))
                _set(x, idx, original - eps)
                minus = _scalar(f(*inputs))
            finally:
                _set(x, idx, original)
            grads.append((plus - minus) / (2 * eps))
        result.append(grads)
    return result


def _analytic_gradients(f: Callable[..., Any], inputs: Sequence[Any]) -> list[list[float]]:
    for x in inputs:
        x.grad = 0 if not hasattr(x.data, "shape") else None
    out = f(*inputs)
    _scalar(out)  # one number, or a clear error
    out.backward()
    result = []
    for x in inputs:
        if x.grad is None:  # a tensor input that the output does not depend on
            result.append([0.0 for _ in _elements(x)])
        else:
            result.append([float(_get_grad(x, idx)) for idx in _elements(x)])
    return result


def _get_grad(x: Any, idx: tuple) -> float:
    return x.grad[idx] if idx else x.grad


def gradcheck(
    f: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare `backward()` with central finite differences for `f(*inputs)`.

    Every element must satisfy ``|analytic - numerical| <= atol + rtol * |numerical|``.
    Returns True if all do; otherwise raises `GradcheckError` listing the mismatches (or returns
    False with ``raise_exception=False``). The inputs' `grad` is overwritten.
    """
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    numerical = numerical_gradients(f, inputs, eps)
    analytic = _analytic_gradients(f, inputs)
    mismatches = [
        Mismatch(i, idx, a, n)
        for i, x in enumerate(inputs)
        for idx, a, n in zip(_elements(x), analytic[i], numerical[i])
        if not abs(a - n) <= atol + rtol * abs(n)
    ]
    if mismatches and raise_exception:
        lines = "\n".join(f"  {m}" for m in mismatches[:20])
        more = f"\n  ... and {len(mismatches) - 20} more" if len(mismatches) > 20 else ""
        raise GradcheckError(f"gradients differ from finite differences:\n{lines}{more}")
    return not mismatches
