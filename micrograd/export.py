"""Moving a model to PyTorch or ONNX, and back: `to_torch`, `from_torch`, `to_onnx`.

    torch_model = to_torch(model)            # torch.nn modules with the same weights
    model = from_torch(torch_model)          # back (engine="tensor" or "scalar")
    to_onnx(model, "model.onnx")             # an ONNX graph for onnxruntime and friends
    load_torch_state_dict(model, torch_model.state_dict())   # copy weights in place

Two kinds of models move across.

* The torch-shaped modules of `micrograd.tensor.nn` (`Sequential`, `Linear`, `Embedding`,
  `BatchNorm1d`, `Flatten`, `ReLU`, `Tanh`, `Sigmoid`) map one to one onto their `torch.nn`
  namesakes, with the same names, shapes, dtypes and `state_dict()` keys, buffers included
  (`running_mean`, `num_batches_tracked`): `load_state_dict` works across in both directions.
* The MLPs -- the scalar `micrograd.nn.MLP`, `Layer` and `Neuron` (fused or not, any activation)
  and the tensor engine's `micrograd.tensor.nn.MLP` and `Dense` -- become a `torch.nn.Sequential`
  of `Linear` layers each followed by its activation (`ReLU`, `Tanh`, `Sigmoid`; none for a
  linear layer), so `MLP(2, [16, 16, 1])` becomes

      Sequential(Linear(2, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 1))

  whose keys are `0.weight`, `0.bias`, `2.weight`, ...; `torch_state_dict(model)` and
  `load_torch_state_dict(model, state)` translate to and from those keys. Torch's `Linear.weight`
  is (out_features, in_features): row j holds neuron j's weights, the transpose of a `Dense`'s
  (nin, nout) matrix.

dtype: float64 for the scalar engine (Python floats are float64, so nothing is rounded), the
model's own dtype (float32 or float64) for tensor models. Everything is copied, never shared:
training the torch model leaves ours as it was.

torch, onnx and onnxruntime are optional (the `export` extra) and are imported
inside the functions that need them, so `import micrograd.export` loads none of them (nor numpy).
The ONNX graph is built in `micrograd/export_onnx.py`; `micrograd/export_cli.py` is the
`micrograd export` command.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from micrograd._distribution import install_hint

__all__ = [
    "INSTALL_HINT",
    "ONNX_OPSET",
    "from_torch",
    "load_torch_state_dict",
    "onnx_model",
    "to_onnx",
    "to_torch",
    "torch_state_dict",
]

INSTALL_HINT = install_hint("export")

# The ONNX operator set the graphs are written for: every operator used has had its current
# form since opset 13; 17 is read by every onnxruntime since 1.11 (2022).
ONNX_OPSET = 17

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


# ---------------------------------------------------------------------------------------------
# To PyTorch


def to_torch(model: Any) -> Any:
    """A `torch.nn` module computing what `model` computes, with a copy of its weights.

    A torch-shaped module (`micrograd.tensor.nn.Sequential`, `Linear`, ...) becomes its torch.nn
    namesake, nested Sequentials and module names included, every module in the same training
    mode. An MLP becomes a `torch.nn.Sequential` of `Linear` and activation modules (float64 for
    scalar models), in the model's training mode. Raises TypeError for a model this cannot
    describe, ImportError (with the install command) without torch.
    """
    if is_torch_shaped(model):
        torch_shaped_dtype(model)  # one dtype, or an error naming the layers
        return _torch_shaped_to_torch(model)
    found = mlp_layers(model)
    if found is None:
        raise TypeError(
            f"cannot export a {type(model).__name__}: expected a micrograd.nn MLP, Layer or "
            f"Neuron, a micrograd.tensor.nn MLP or Dense, or micrograd.tensor.nn's torch-shaped "
            f"modules ({', '.join(TORCH_SHAPED)})"
        )
    layers, dtype = found
    torch = _require("torch")
    import numpy as np

    torch_dtype = getattr(torch, dtype)
    modules = []
    for dense in layers:
        out_features, in_features = dense.weight.shape
        linear = torch.nn.Linear(
            in_features, out_features, bias=dense.bias is not None, dtype=torch_dtype
        )
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(dense.weight, dtype=dtype)))
            if dense.bias is not None:
                linear.bias.copy_(torch.from_numpy(np.array(dense.bias, dtype=dtype)))
        modules.append(linear)
        if dense.activation != "linear":
            modules.append(getattr(torch.nn, ACTIVATION_MODULES[dense.activation])())
    sequential = torch.nn.Sequential(*modules)
    sequential.train(bool(getattr(model, "training", True)))
    return sequential


def _torch_shaped_to_torch(model: Any) -> Any:
    torch = _require("torch")
    import numpy as np

    made: dict[int, Any] = {}  # a module used twice stays one (shared) module in torch

    def build(module: Any, path: str) -> Any:
        if id(module) in made:
            return made[id(module)]
        kind = torch_shaped_kind(module, path)
        dtype = _float_dtype(module)
        dt = getattr(torch, dtype) if dtype else None
        if kind == "Sequential":
            children = OrderedDict(
                (name, build(child, f"{path}.{name}" if path else name))
                for name, child in module._modules.items()  # repeats included
            )
            out = torch.nn.Sequential(children)
        elif kind == "Linear":
            out = torch.nn.Linear(
                module.in_features, module.out_features, bias=module.bias is not None, dtype=dt
            )
        elif kind == "Embedding":
            out = torch.nn.Embedding(module.num_embeddings, module.embedding_dim, dtype=dt)
        elif kind == "BatchNorm1d":
            out = torch.nn.BatchNorm1d(
                module.num_features,
                eps=module.eps,
                momentum=module.momentum,
                affine=module.affine,
                track_running_stats=module.track_running_stats,
                dtype=dt,
            )
        elif kind == "Flatten":
            out = torch.nn.Flatten(module.start_dim, module.end_dim)
        else:
            out = getattr(torch.nn, kind)()
        out.training = bool(module.training)  # this module only, as ours is set
        made[id(module)] = out
        return out

    result = build(model, "")
    state = {k: torch.from_numpy(np.array(v.data)) for k, v in model.state_dict().items()}
    result.load_state_dict(state)  # same keys by construction; copies the arrays
    return result


def torch_state_dict(model: Any) -> dict[str, Any]:
    """`to_torch(model).state_dict()`: torch tensors (copies) under torch's keys, ready for
    `torch_module.load_state_dict(...)` on a torch model of the same architecture."""
    return to_torch(model).state_dict()


def load_torch_state_dict(model: Any, state_dict: dict[str, Any]) -> None:
    """Copy a torch state dict (keys and shapes as `torch_state_dict(model)` has them) into
    `model`'s parameters (and buffers), in place.

    Values may be torch tensors or numpy arrays; they are converted to the model's dtype (Python
    floats for scalar models), as torch's `load_state_dict` converts. Everything is checked
    first -- the same keys, every shape, finite numbers -- so a bad dict raises ValueError
    naming the key and leaves the model unchanged. For torch-shaped modules this is their own
    `load_state_dict`, which takes torch tensors.
    """
    if not isinstance(state_dict, dict):
        raise TypeError(
            f"load_torch_state_dict: expected a dict of tensors (a torch state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    if is_torch_shaped(model):
        model.load_state_dict(state_dict)
        return
    found = mlp_layers(model)
    if found is None:
        to_torch(model)  # raises the TypeError that names what can be exported
    layers, dtype = found
    import numpy as np

    expected: dict[str, tuple] = {}
    for index, dense in sequential_index(layers):
        expected[f"{index}.weight"] = dense.weight.shape
        if dense.bias is not None:
            expected[f"{index}.bias"] = dense.bias.shape
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    if missing or unexpected:
        raise ValueError(
            f"load_torch_state_dict: missing keys {missing}, unexpected keys {unexpected} "
            f"(the model's torch keys are {list(expected)})"
        )
    values = {}
    for key, shape in expected.items():
        value = state_dict[key]
        if hasattr(value, "detach"):  # a torch tensor (maybe requiring grad, maybe on a GPU)
            value = value.detach().cpu().double().numpy()
        array = np.asarray(value)
        if array.shape != shape:
            raise ValueError(
                f"load_torch_state_dict: {key!r} has shape {tuple(array.shape)}, the model needs "
                f"{shape}"
            )
        if array.dtype.kind not in "fiu" or not np.isfinite(array).all():
            raise ValueError(f"load_torch_state_dict: {key!r} is not all finite numbers")
        values[key] = array.astype(dtype)
    for index, dense in sequential_index(layers):
        _set_dense(dense, values[f"{index}.weight"], values.get(f"{index}.bias"))


def _set_dense(dense: Dense, weight: Any, bias: Any) -> None:
    """Write an (out, in) `weight` and a `bias` into our layer."""
    layer = dense.layer
    if hasattr(layer, "weight"):  # a tensor Dense: (nin, nout)
        layer.weight.data = weight.T.copy()
        if bias is not None:
            layer.bias.data = bias.copy()
        return
    for neuron, row, b in zip(_scalar_rows(layer), weight.tolist(), bias.tolist()):
        for w, value in zip(neuron.w, row):
            w.data = value
        neuron.b.data = b


# ---------------------------------------------------------------------------------------------
# From PyTorch


def _top_layers(module: Any) -> list[tuple[str, Any]]:
    """`(name, layer)` for every layer of a torch Sequential, repeats included (named_children()
    would skip a module's second appearance: weights shared by two layers)."""
    return list(module._modules.items())


def _check_torch_layer(path: str, layer: Any, torch: Any, engine: str) -> str:
    """The kind of a torch layer we can take ('Linear', 'ReLU', ...), or ValueError naming it."""
    import numpy as np

    where = describe(path, layer)
    kind = type(layer).__name__
    supported = ("Linear", "ReLU", "Tanh", "Sigmoid", "Identity")
    if engine == "tensor":
        supported += ("Embedding", "BatchNorm1d", "Flatten")
    if kind not in supported or type(layer) is not getattr(torch.nn, kind):
        raise ValueError(
            f"from_torch: {where} is not supported; the {engine} engine takes "
            f"{', '.join(supported)} layers"
        )
    tensors = [t for t in (*layer.parameters(), *layer.buffers()) if t.is_floating_point()]
    for t in tensors:
        if t.is_meta:
            raise ValueError(f"from_torch: {where} has no data (a 'meta' tensor)")
        if t.dtype not in (torch.float32, torch.float64):
            raise ValueError(
                f"from_torch: {where} has dtype {t.dtype}; micrograd computes in float32 or "
                f"float64 (convert with module.float() or module.double())"
            )
        if not np.isfinite(t.detach().cpu().numpy()).all():
            raise ValueError(f"from_torch: {where} has NaN or infinite weights")
    if kind == "BatchNorm1d" and layer.affine and layer.bias is None:
        raise ValueError(
            f"from_torch: {where} sets bias=False; micrograd's BatchNorm1d has a bias whenever "
            f"affine=True"
        )
    if kind == "Embedding":
        for option, default in (("padding_idx", None), ("max_norm", None),
                                ("scale_grad_by_freq", False), ("sparse", False)):  # fmt: skip
            if getattr(layer, option) != default:
                raise ValueError(
                    f"from_torch: {where} sets {option}={getattr(layer, option)!r}; "
                    f"micrograd's Embedding has no {option}"
                )
    return kind


def _read_mlp(module: Any, engine: str, torch: Any) -> tuple[list, list[str], str]:
    """[(weight, bias) numpy pairs], [activation per Linear], dtype name: a torch Sequential
    read as an MLP (Linear layers, each followed by at most one activation)."""
    params: list = []
    activations: list[str] = []
    dtypes: set[str] = set()
    seen: dict[int, str] = {}
    for path, layer in _top_layers(module):
        where = describe(path, layer)
        if _same_computation(layer, torch.nn.Sequential, "forward"):
            raise ValueError(
                f"from_torch: {where} is not supported in an MLP (a nested Sequential; "
                f"engine='tensor' takes it)"
            )
        kind = _check_torch_layer(path, layer, torch, "scalar")
        if id(layer) in seen and list(layer.parameters()):
            raise ValueError(
                f"from_torch: {where} is the same module as layer {seen[id(layer)]}; the layers "
                f"of a micrograd MLP do not share weights"
            )
        seen.setdefault(id(layer), path)
        if kind == "Linear":
            if params and layer.in_features != params[-1][0].shape[0]:
                raise ValueError(
                    f"from_torch: {where} takes {layer.in_features} inputs, the layer before "
                    f"gives {params[-1][0].shape[0]}"
                )
            has_bias = layer.bias is not None
            if engine == "scalar" and not has_bias:
                raise ValueError(
                    f"from_torch: {where} has no bias; micrograd.nn neurons always have one "
                    f"(use engine='tensor')"
                )
            if params and has_bias != (params[0][1] is not None):
                raise ValueError(
                    f"from_torch: {where} {'has' if has_bias else 'has no'} bias, unlike the "
                    f"first Linear; a micrograd MLP has biases in all layers or in none"
                )
            w = layer.weight.detach().cpu().numpy().copy()
            b = layer.bias.detach().cpu().numpy().copy() if has_bias else None
            params.append((w, b))
            activations.append("linear")
            dtypes.add(str(layer.weight.dtype).replace("torch.", ""))
        elif kind in _ACTIVATION_NAMES:
            if not params:
                raise ValueError(
                    f"from_torch: {where} comes before any Linear layer; a micrograd MLP starts "
                    f"with a Linear layer"
                )
            if activations[-1] != "linear":
                raise ValueError(
                    f"from_torch: {where} follows another activation; a micrograd MLP has one "
                    f"activation after each Linear layer"
                )
            activations[-1] = _ACTIVATION_NAMES[kind]
        # Identity: computes nothing
    if not params:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    if len(dtypes) > 1:
        raise ValueError(f"from_torch: the Linear layers mix dtypes {sorted(dtypes)}")
    return params, activations, dtypes.pop()


def _mlp_from_torch(module: Any, engine: str, fused: bool, torch: Any) -> Any:
    params, activations, dtype = _read_mlp(module, engine, torch)
    nin = int(params[0][0].shape[1])
    nouts = [int(w.shape[0]) for w, _ in params]
    activation: Any = activations
    if len(activations) > 1 and activations[-1] == "linear" and len(set(activations[:-1])) == 1:
        activation = activations[0]  # the usual shape: one hidden activation, a linear output
    if engine == "scalar":
        from micrograd.nn import MLP

        state = random.getstate()  # building draws throw-away weights from `random`
        try:
            model = MLP(nin, nouts, activation=activation, fused=bool(fused))
        finally:
            random.setstate(state)
    else:
        from micrograd.tensor.nn import MLP

        bias = params[0][1] is not None
        model = MLP(nin, nouts, activation=activation, bias=bias, dtype=dtype, rng=0)
    layers, _ = mlp_layers(model)
    for dense, (weight, bias) in zip(layers, params):
        _set_dense(dense, weight, bias)
    model.train(bool(module.training))
    return model


def _torch_shaped_from_torch(module: Any, torch: Any) -> Any:
    from micrograd.tensor import random as tensor_random
    from micrograd.tensor.nn import modules as tnn

    made: dict[int, Any] = {}

    def build(layer: Any, path: str) -> Any:
        if id(layer) in made:  # shared in torch, shared here
            return made[id(layer)]
        if _same_computation(layer, torch.nn.Sequential, "forward"):
            children = OrderedDict()
            for name, child in _top_layers(layer):
                if type(child) is not torch.nn.Identity:
                    children[name] = build(child, f"{path}.{name}" if path else name)
            out = tnn.Sequential(children)
        else:
            kind = _check_torch_layer(path, layer, torch, "tensor")
            floats = [t for t in layer.parameters() if t.is_floating_point()]
            dtype = str(floats[0].dtype).replace("torch.", "") if floats else None
            if kind == "Linear":
                bias = layer.bias is not None
                out = tnn.Linear(layer.in_features, layer.out_features, bias=bias, dtype=dtype)
            elif kind == "Embedding":
                out = tnn.Embedding(layer.num_embeddings, layer.embedding_dim, dtype=dtype)
            elif kind == "BatchNorm1d":
                if dtype is None and layer.running_mean is not None:
                    dtype = str(layer.running_mean.dtype).replace("torch.", "")
                out = tnn.BatchNorm1d(
                    layer.num_features,
                    eps=layer.eps,
                    momentum=layer.momentum,
                    affine=layer.affine,
                    track_running_stats=layer.track_running_stats,
                    dtype=dtype,
                )
            elif kind == "Flatten":
                out = tnn.Flatten(layer.start_dim, layer.end_dim)
            else:
                out = getattr(tnn, kind)()
        out.training = bool(layer.training)
        made[id(layer)] = out
        return out

    # Building draws throw-away initial weights from micrograd.tensor's default generator.
    state = tensor_random.default_generator.get_state()
    try:
        model = build(module, "")
    finally:
        tensor_random.default_generator.set_state(state)
    if not any(True for _ in model.named_children()):
        raise ValueError("from_torch: the Sequential is empty")
    torch_shaped_dtype(model)  # one dtype, or an error naming the layers
    model.load_state_dict(module.state_dict())  # the same keys: Identity layers hold nothing
    return model


def from_torch(module: Any, engine: str = "tensor", mlp: bool = False, fused: bool = True) -> Any:
    """Our model for a `torch.nn.Sequential`, with a copy of its weights: the inverse of
    `to_torch`.

    * `engine="tensor"` (default): `micrograd.tensor.nn`'s torch-shaped modules, one per torch
      layer, with the same names, nesting, dtypes, training mode and `state_dict()` keys. Takes
      `Linear`, `Embedding`, `BatchNorm1d`, `Flatten`, `ReLU`, `Tanh`, `Sigmoid` and nested
      `Sequential` layers (`Identity` layers are dropped: they compute nothing and hold no state).
    * `engine="tensor", mlp=True`: a `micrograd.tensor.nn.MLP` (which `micrograd.serialize` saves
      and `micrograd predict` uses), from `Linear` layers each followed by at most one of `ReLU`,
      `Tanh`, `Sigmoid`, in the torch model's dtype.
    * `engine="scalar"`: a `micrograd.nn.MLP` of Values from the same layers (Python floats: a
      float32 model's weights are kept exactly), `fused=True` by default (one graph node per
      neuron; the same numbers as `fused=False`). Leaves the global `random` state as it was.

    Any other layer -- Dropout, a custom module, LayerNorm -- raises ValueError naming its path
    and type: `layer 2 (Dropout) is not supported`. A non-Sequential raises TypeError.
    """
    torch = _require("torch")
    if engine not in ("tensor", "scalar"):
        raise ValueError(f"from_torch: engine must be 'tensor' or 'scalar', got {engine!r}")
    if not _same_computation(module, torch.nn.Sequential, "forward"):
        if isinstance(module, torch.nn.Sequential):
            hint = " (a Sequential subclass with its own forward())"
        elif isinstance(module, torch.nn.Module):
            hint = " (wrap it: torch.nn.Sequential(module))"
        else:
            hint = ""
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential, got {type(module).__name__}{hint}"
        )
    if not module._modules:
        raise ValueError("from_torch: the Sequential is empty")
    if engine == "scalar" or mlp:
        return _mlp_from_torch(module, engine, fused, torch)
    return _torch_shaped_from_torch(module, torch)


# ---------------------------------------------------------------------------------------------
# To ONNX (the graph is built in micrograd/export_onnx.py)


def onnx_model(
    model: Any,
    opset: int = ONNX_OPSET,
    input_shape: Sequence[int | str] | None = None,
    dtype: str | None = None,
) -> Any:
    """The ONNX `ModelProto` for `model`, built with the `onnx` package's helper API and checked
    by `onnx.checker` (full check, shape inference included). See `micrograd.export_onnx`.
    `dtype` ('float32' or 'float64') is the graph's float type; default: the model's own."""
    from micrograd.export_onnx import build_model

    return build_model(model, opset, input_shape, dtype)


def to_onnx(
    model: Any,
    path: str | os.PathLike,
    opset: int = ONNX_OPSET,
    input_shape: Sequence[int | str] | None = None,
    dtype: str | None = None,
) -> None:
    """Write `model` to `path` as an ONNX file: input 'input' with a dynamic batch dimension,
    output 'output' (see `micrograd.export_onnx` for the graph). `input_shape` is one sample's
    shape, needed only when the first layer does not tell it (a `Flatten` first); `dtype`
    ('float32' or 'float64') the graph's float type (default: the model's own).

    The file is written atomically: to a temporary file in the same folder, then renamed over
    `path`, so a failure leaves no partial file and an existing file intact.
    """
    from micrograd._files import atomic_write

    content = onnx_model(model, opset, input_shape, dtype).SerializeToString()
    atomic_write(path, content)
