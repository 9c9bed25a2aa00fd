"""Neural networks on the tensor engine.

PyTorch-shaped layers (`Module`, `Linear`, `Embedding`, `BatchNorm1d`, `Tanh`, `ReLU`, `Sigmoid`,
`Flatten`, `Sequential`; `modules.py`) and `functional` (`F.cross_entropy`, ...), plus the scalar
engine's `MLP` built from `Dense` layers and `from_config` (`mlp.py`).
"""

import difflib as _difflib

from micrograd.tensor.nn import functional
from micrograd.tensor.nn.mlp import MLP, Dense, from_config
from micrograd.tensor.nn.modules import (
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

__all__ = [
    "MLP",
    "BatchNorm1d",
    "Dense",
    "Embedding",
    "Flatten",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "from_config",
    "functional",
]


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module 'micrograd.tensor.nn' has no attribute {name!r}")
    close = _difflib.get_close_matches(name, __all__, n=5, cutoff=0.6)
    hint = f"; similar: {', '.join(close)}" if close else ""
    raise AttributeError(f"micrograd.tensor.nn has no {name!r}{hint}; see its __all__")
