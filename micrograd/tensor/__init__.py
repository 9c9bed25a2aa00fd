"""The numpy tensor engine: `Tensor`, the array counterpart of `micrograd.Value`, in PyTorch's shape.

Same graph protocol (`data`, `grad`, `_prev`, `_op`, `label`), same `backward()`, the same `Module`
base and optimizers, on whole numpy arrays. Needs numpy (`pip install 'micrograd-plus[tensor]'`);
`import micrograd` alone never loads it.

`import micrograd.tensor as torch` gives the part of PyTorch the makemore lectures use: factories
(`tensor`, `zeros`, `randn`, ... in `factories.py`), dtypes (`dtypes.py`), functions
(`functions_api.py`: `cat`, `stack`, `allclose`, `histogram`, ...), `nn` and `nn.functional`.

Read in this order: `functions.py` (the primitive operations, forward and backward side by side),
`core.py` (the Tensor front end and `backward()`), `factories.py`, `random.py`, `nn/` (torch-shaped
modules in `modules.py`, the scalar engine's `MLP` in `mlp.py`), `losses.py`, `training.py` (the
adapter the training CLI uses for `--engine tensor`).
"""

from micrograd.tensor import distributed, nn, optim, utils
from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.core import (
    Tensor,
    as_tensor,
    cat,
    concatenate,
    is_grad_enabled,
    linear,
    no_grad,
    stack,
)
from micrograd.tensor.dtypes import (
    bool,
    double,
    float,
    float32,
    float64,
    int,
    int32,
    int64,
    long,
)
from micrograd.tensor.factories import (
    arange,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from micrograd.tensor.functions_api import (
    abs,
    all,
    allclose,
    any,
    argmax,
    exp,
    histogram,
    is_tensor,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    numel,
    relu,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    std,
    sum,
    tanh,
    unsqueeze,
    var,
)
from micrograd.tensor.random import Generator, default_generator, manual_seed
from micrograd.tensor.serialization import load, save
from micrograd.tensor.threads import get_num_threads, set_num_threads

__all__ = [
    "Generator",
    "Tensor",
    "abs",
    "all",
    "allclose",
    "any",
    "arange",
    "argmax",
    "as_tensor",
    "bool",
    "cat",
    "concatenate",
    "default_generator",
    "distributed",
    "double",
    "empty",
    "exp",
    "eye",
    "float",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_num_threads",
    "histogram",
    "int",
    "int32",
    "int64",
    "is_grad_enabled",
    "is_tensor",
    "linear",
    "linspace",
    "load",
    "log",
    "log_softmax",
    "long",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "multinomial",
    "nn",
    "no_grad",
    "numel",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "save",
    "set_num_threads",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "unsqueeze",
    "utils",
    "var",
    "zeros",
    "zeros_like",
]


def __getattr__(name: str):
    # Only reached for a name the package does not have: say so, with the nearest ones.
    raise _missing_name(
        "micrograd.tensor",
        name,
        __all__,
        "{module} has no {name!r} (it implements the part of PyTorch the makemore lectures "
        "use{hint}; see micrograd.tensor.__all__)",
    )
