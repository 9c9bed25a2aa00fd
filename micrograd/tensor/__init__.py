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

from micrograd.tensor import backends, cuda, nn
from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor._tensor_str import get_printoptions, printoptions, set_printoptions
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
from micrograd.tensor.device import device
from micrograd.tensor.dtypes import (
    bfloat16,
    bool,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    short,
    uint8,
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
from micrograd.tensor.size import Size

__all__ = [
    "Generator",
    "Size",
    "Tensor",
    "abs",
    "all",
    "allclose",
    "any",
    "arange",
    "argmax",
    "as_tensor",
    "backends",
    "bfloat16",
    "bool",
    "cat",
    "concatenate",
    "cuda",
    "default_generator",
    "device",
    "double",
    "dtype",
    "empty",
    "exp",
    "eye",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_default_dtype",
    "get_printoptions",
    "half",
    "histogram",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "is_grad_enabled",
    "is_tensor",
    "linear",
    "linspace",
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
    "printoptions",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "set_printoptions",
    "short",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "uint8",
    "unsqueeze",
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
