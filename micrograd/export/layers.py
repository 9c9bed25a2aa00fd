"""Our models read as layers: what the PyTorch half (`micrograd/export/pytorch.py`) and the ONNX
half (`micrograd/export/onnx.py`) of the export both start from.

An MLP (the scalar `micrograd.nn.MLP`, `Layer`, `Neuron`; the tensor engine's `MLP`, `Dense`)
is read as a list of `Dense` layers (`mlp_layers`), numbered as a `torch.nn.Sequential` numbers
them (`sequential_index`); a torch-shaped `micrograd.tensor.nn` model is walked module by module
(`walk`, `torch_shaped_kind`, `torch_shaped_dtype`). `cannot_export` is the error for anything
else, and `_require` imports an optional package or says how to install it. The tensor engine is
looked at only if it has been imported, so exporting a scalar model never loads numpy's engine.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from micrograd._distribution import install_hint

__all__ = [
    "ACTIVATION_MODULES",
    "INSTALL_HINT",
    "TORCH_SHAPED",
    "Dense",
    "cannot_export",
    "describe",
    "is_torch_shaped",
    "mlp_layers",
    "sequential_index",
    "torch_shaped_dtype",
    "torch_shaped_kind",
    "walk",
]

INSTALL_HINT = install_hint("export")

# Our activation names <-> torch.nn class names. 'linear' has no module.
ACTIVATION_MODULES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
_ACTIVATION_NAMES = {cls: name for name, cls in ACTIVATION_MODULES.items()}

# The torch-shaped modules of micrograd.tensor.nn that have a torch.nn namesake.
TORCH_SHAPED = ("Sequential", "Linear", "Embedding", "BatchNorm1d", "Flatten", "ReLU", "Tanh",
                "Sigmoid")  # fmt: skip


def _require(name: str) -> Any:
    """Import an optional package, or raise ImportError with the install command."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(
            f"micrograd.export needs the {name!r} package, which is not installed ({e}); "
            f"install it with: {INSTALL_HINT}"
        ) from None


# ---------------------------------------------------------------------------------------------
# Our MLPs as a list of dense layers


@dataclass
class Dense:
    """One affine map and the activation after it, read from an MLP. `layer` is our module
    holding its parameters (a scalar `Layer` or `Neuron`, or a tensor `Dense`); `weight` is a
    numpy array (out_features, in_features), as torch stores it."""

    layer: Any
    weight: Any
    bias: Any  # (out_features,) or None
    activation: str  # 'relu', 'tanh', 'sigmoid' or 'linear'


def _scalar_rows(layer: Any) -> list:
    """The neurons of a scalar `Layer`, or a `Neuron` as a layer of one."""
    return layer.neurons if hasattr(layer, "neurons") else [layer]


def _scalar_dense(layer: Any, where: str) -> Dense:
    import numpy as np

    neurons = _scalar_rows(layer)
    activations = sorted({n.activation for n in neurons})
    if len(activations) > 1:
        # Possible: code may flip `neuron.nonlin` on single neurons. torch has one per layer.
        raise ValueError(
            f"{where}: its neurons have different activations {activations}; a torch Linear "
            f"layer is followed by one activation for all its outputs"
        )
    weight = np.array([[float(w.data) for w in n.w] for n in neurons], dtype=np.float64)
    bias = np.array([float(n.b.data) for n in neurons], dtype=np.float64)
    return Dense(layer, weight, bias, activations[0])


def _same_computation(model: Any, cls: type, method: str = "__call__") -> bool:
    """`model` is a `cls`, or a subclass that computes the same (does not override `method`):
    a subclass with its own forward pass cannot be translated layer by layer."""
    return isinstance(model, cls) and getattr(type(model), method) is getattr(cls, method)


def _tensor_engine_loaded() -> bool:
    """Whether a model may be a tensor-engine module: only if that engine has been imported (so
    exporting a scalar model never imports the numpy engine)."""
    return "micrograd.tensor.nn" in sys.modules


def mlp_layers(model: Any) -> tuple[list[Dense], str] | None:
    """An MLP-like model as dense layers, with the dtype name they compute in ('float64' or
    'float32'); None if `model` is not one of the MLP kinds."""
    from micrograd import nn as scalar_nn

    if _same_computation(model, scalar_nn.MLP):
        layers = [_scalar_dense(layer, f"layer {i}") for i, layer in enumerate(model.layers)]
        return layers, "float64"
    if _same_computation(model, scalar_nn.Layer) or _same_computation(model, scalar_nn.Neuron):
        return [_scalar_dense(model, type(model).__name__)], "float64"
    if not _tensor_engine_loaded():
        return None
    from micrograd.tensor.nn import mlp

    if _same_computation(model, mlp.MLP):
        pairs = list(zip(model.layers, model.activations))
    elif _same_computation(model, mlp.Dense):
        pairs = [(model, "linear")]  # its `activation` only chose the init's gain
    else:
        return None
    layers = [
        Dense(d, d.weight.data.T, None if d.bias is None else d.bias.data, activation)
        for d, activation in pairs
    ]
    dtypes = sorted({str(d.weight.dtype) for d in layers} | _bias_dtypes(layers))
    if len(dtypes) > 1:
        raise ValueError(
            f"the model mixes dtypes {dtypes}; torch and ONNX layers need one (build it with "
            f"one dtype=)"
        )
    return layers, dtypes[0]


def _bias_dtypes(layers: list[Dense]) -> set[str]:
    return {str(d.bias.dtype) for d in layers if d.bias is not None}


def sequential_index(layers: list[Dense]) -> list[tuple[int, Dense]]:
    """The `torch.nn.Sequential` index of each dense layer (an activation takes one too)."""
    index, named = 0, []
    for dense in layers:
        named.append((index, dense))
        index += 1 if dense.activation == "linear" else 2
    return named


# ---------------------------------------------------------------------------------------------
# The torch-shaped modules


def is_torch_shaped(model: Any) -> bool:
    """Whether `model` is one of `micrograd.tensor.nn`'s PyTorch-shaped modules (or a subclass)."""
    if not _tensor_engine_loaded():
        return False
    from micrograd.tensor.nn.modules import Module

    return isinstance(model, Module)


def describe(path: str, module: Any) -> str:
    """'layer 2 (Dropout)', "layer 'fc1' (Linear)", 'the model (Linear)' -- for messages."""
    kind = type(module).__name__
    if not path:
        return f"the model ({kind})"
    return (
        f"layer {path} ({kind})" if path.replace(".", "").isdigit() else f"layer {path!r} ({kind})"
    )


def torch_shaped_kind(module: Any, path: str) -> str:
    """The class name of a torch-shaped module we can translate, or TypeError naming it."""
    from micrograd.tensor.nn import modules

    kind = type(module).__name__
    if kind in TORCH_SHAPED and type(module) is getattr(modules, kind):
        return kind
    raise TypeError(
        f"cannot export {describe(path, module)}: micrograd.tensor.nn models are exported from "
        f"{', '.join(TORCH_SHAPED)} modules (a Module with its own forward() cannot be "
        f"translated; an MLP exports on its own, not inside a Sequential)"
    )


def walk(module: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """`(path, module)` for every non-Sequential module, in the order they run; paths are the
    state-dict prefixes without the final dot ('0', '1.0', 'fc1'; '' for a lone module)."""
    if torch_shaped_kind(module, path) == "Sequential":
        # every child in order, a module used twice included (named_children() skips repeats)
        for name, child in module._modules.items():
            yield from walk(child, f"{path}.{name}" if path else name)
    else:
        yield path, module


def _float_dtype(module: Any) -> str | None:
    """The float dtype of a torch-shaped module's parameters and buffers, None if it has none."""
    for name in ("weight", "running_mean"):
        t = getattr(module, name, None)
        if t is not None:
            return str(t.data.dtype)
    return None


def torch_shaped_dtype(model: Any) -> str:
    """The one float dtype of a torch-shaped model ('float32' when it has no parameters, as
    torch's default), or ValueError if its layers mix dtypes."""
    dtypes = {}
    for path, module in walk(model):
        dtype = _float_dtype(module)
        if dtype is not None:
            dtypes.setdefault(dtype, describe(path, module))
    if len(dtypes) > 1:
        raise ValueError(
            f"the model mixes dtypes ({', '.join(f'{d} in {w}' for d, w in dtypes.items())}); "
            f"torch and ONNX graphs need one"
        )
    return next(iter(dtypes), "float32")


def cannot_export(model: Any) -> TypeError:
    """The error for a model neither half can describe, naming what can be exported."""
    return TypeError(
        f"cannot export a {type(model).__name__}: expected a micrograd.nn MLP, Layer or "
        f"Neuron, a micrograd.tensor.nn MLP or Dense, or micrograd.tensor.nn's torch-shaped "
        f"modules ({', '.join(TORCH_SHAPED)})"
    )
