"""Neural networks on the tensor engine.

PyTorch-shaped layers (`Module`, `Linear`, `Embedding`, `BatchNorm1d`, `Tanh`, `ReLU`, `GELU`,
`Sigmoid`, `Flatten`, `Sequential`; `modules.py`), the containers `ModuleList` and `ModuleDict`
(`container.py`), `LayerNorm` (`normalization.py`), `Dropout` (`dropout.py`) and `functional`
(`F.cross_entropy`, `F.layer_norm`, ...; its transformer nodes are in `fused.py`), `init` (the
weight initialisers, PyTorch's draws) and `utils` (`clip_grad_norm_`), plus the scalar engine's
`MLP` built from `Dense` layers and `from_config` (`mlp.py`).
"""

from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.nn import functional, init, parallel, utils
from micrograd.tensor.nn.container import ModuleDict, ModuleList
from micrograd.tensor.nn.dropout import Dropout
from micrograd.tensor.nn.mlp import MLP, Dense, from_config
from micrograd.tensor.nn.modules import (
    GELU,
    BatchNorm1d,
    Embedding,
    Flatten,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from micrograd.tensor.nn.normalization import LayerNorm

__all__ = [
    "GELU",
    "MLP",
    "BatchNorm1d",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "from_config",
    "functional",
    "init",
    "parallel",
    "utils",
]


def __getattr__(name: str):
    raise _missing_name(
        "micrograd.tensor.nn", name, __all__, "{module} has no {name!r}{hint}; see its __all__"
    )
