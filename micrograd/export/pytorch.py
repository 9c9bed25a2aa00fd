"""The PyTorch half of the export: `to_torch`, `torch_state_dict`, `load_torch_state_dict` and
`from_torch` (see `micrograd.export` for what moves across and how).

Both directions start from `micrograd/export/layers.py`: our model read as dense layers (an
MLP) or as torch-shaped modules. torch is imported inside the functions that need it.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

from micrograd.export.layers import (
    _ACTIVATION_NAMES,
    ACTIVATION_MODULES,
    Dense,
    _float_dtype,
    _require,
    _same_computation,
    _scalar_rows,
    cannot_export,
    describe,
    is_torch_shaped,
    mlp_layers,
    sequential_index,
    torch_shaped_dtype,
    torch_shaped_kind,
)

__all__ = ["from_torch", "load_torch_state_dict", "to_torch", "torch_state_dict"]


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
        raise cannot_export(model)
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
