"""The numpy tensor engine: `Tensor`, the array counterpart of `micrograd.Value`.

Same graph protocol (`data`, `grad`, `_prev`, `_op`, `label`), same `backward()`, the same `Module`
base and optimizers, on whole numpy arrays. Needs numpy (`pip install 'micrograd-plus[tensor]'`);
`import micrograd` alone never loads it.

Read in this order: `functions.py` (the primitive operations, forward and backward side by side),
`tensor.py` (the Tensor front end and `backward()`), `nn.py` (Linear, MLP), `losses.py`,
`training.py` (the adapter the training CLI uses for `--engine tensor`).
"""

from micrograd.tensor.tensor import (
    Tensor,
    as_tensor,
    cat,
    concatenate,
    is_grad_enabled,
    linear,
    no_grad,
    stack,
)

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
