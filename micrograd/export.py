"""Moving a model to PyTorch or ONNX, and back: `to_torch`, `from_torch`, `to_onnx`.

    torch_model = to_torch(model)            # a torch.nn.Sequential with the same weights
    model = from_torch(torch_model)          # back: a micrograd.tensor.nn.MLP (or engine="scalar")
    to_onnx(model, "model.onnx")             # an ONNX graph for onnxruntime and friends
    load_torch_state_dict(model, torch_model.state_dict())   # copy weights in place

Models: the scalar `micrograd.nn.MLP`, `Layer` and `Neuron` (fused or not, any activation) and the
tensor engine's `micrograd.tensor.nn.MLP` and `Linear`. Each becomes a `torch.nn.Sequential` of
`Linear` layers, each followed by its activation module (`ReLU`, `Tanh`, `Sigmoid`; none for a
linear layer), so `MLP(2, [16, 16, 1])` becomes

    Sequential(Linear(2, 16), ReLU(), Linear(16, 16), ReLU(), Linear(16, 1))

whose `state_dict()` keys are `0.weight`, `0.bias`, `2.weight`, ... -- the names used here too
(`torch_state_dict`, `load_torch_state_dict`) and for the ONNX initializers. Torch's `Linear.weight`
is (out_features, in_features): row j holds neuron j's weights, i.e. the transpose of the tensor
`MLP`'s (nin, nout) matrices. dtype: float64 for the scalar engine (Python floats are float64, so
nothing is rounded), the model's own dtype (float32 or float64) for tensor models.

Everything is copied, never shared: training the torch model leaves ours as it was.

torch, onnx and onnxruntime are optional (`pip install 'micrograd-plus[export]'`) and are imported
inside the functions that need them, so `import micrograd.export` loads none of them (nor numpy).
`micrograd/export_cli.py` is the `micrograd export` command built on this.
"""

from __future__ import annotations

import importlib
import os
import random
from dataclasses import dataclass
from typing import Any

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

INSTALL_HINT = "pip install 'micrograd-plus[export]'"

# The ONNX operator set the graphs are written for: Gemm, Relu, Tanh and Sigmoid have had their
# current form since opset 13; 17 is read by every onnxruntime since 1.11 (2022).
ONNX_OPSET = 17

# Our activation name -> (torch.nn class name, ONNX operator). 'linear' has neither.
_ACTIVATIONS = {
    "relu": ("ReLU", "Relu"),
    "tanh": ("Tanh", "Tanh"),
    "sigmoid": ("Sigmoid", "Sigmoid"),
}
_TORCH_ACTIVATIONS = {torch_name: ours for ours, (torch_name, _) in _ACTIVATIONS.items()}


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
# Our models as a list of dense layers: the one description every exporter reads.


@dataclass
class _Dense:
    """One affine map and the activation after it. `layer` is our module holding its parameters
    (a scalar `Layer` or `Neuron`, or a tensor `Linear`); `weight` is (out, in), as in torch."""

    layer: Any
    weight: Any  # numpy array (out_features, in_features)
    bias: Any  # numpy array (out_features,) or None
    activation: str  # 'relu', 'tanh', 'sigmoid' or 'linear'


def _scalar_rows(layer: Any) -> list:
    """The neurons of a scalar `Layer`, or a `Neuron` as a layer of one."""
    return layer.neurons if hasattr(layer, "neurons") else [layer]


def _scalar_dense(layer: Any, where: str) -> _Dense:
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
    return _Dense(layer, weight, bias, activations[0])


def _tensor_linear_arrays(layer: Any) -> tuple[Any, Any]:
    """(weight as (out, in), bias) of a tensor `Linear`, whose weight is (nin, nout)."""
    bias = None if layer.bias is None else layer.bias.data
    return layer.weight.data.T, bias


def _dense_layers(model: Any) -> tuple[list[_Dense], str]:
    """The model as dense layers, and the dtype name ('float64' or 'float32') they compute in."""
    from micrograd import nn as scalar_nn

    if isinstance(model, scalar_nn.MLP):
        layers = [_scalar_dense(layer, f"layer {i}") for i, layer in enumerate(model.layers)]
        return layers, "float64"
    if isinstance(model, (scalar_nn.Layer, scalar_nn.Neuron)):
        return [_scalar_dense(model, type(model).__name__)], "float64"
    if type(model).__module__.startswith("micrograd.tensor"):
        from micrograd.tensor import nn as tensor_nn

        if isinstance(model, tensor_nn.MLP):
            pairs = list(zip(model.layers, model.activations))
        elif isinstance(model, tensor_nn.Linear):
            pairs = [(model, "linear")]  # its `activation` only chose the init's gain
        else:
            pairs = None
        if pairs is not None:
            layers = []
            for layer, activation in pairs:
                weight, bias = _tensor_linear_arrays(layer)
                layers.append(_Dense(layer, weight, bias, activation))
            dtypes = sorted({str(d.weight.dtype) for d in layers} | _bias_dtypes(layers))
            if len(dtypes) > 1:
                raise ValueError(
                    f"the model mixes dtypes {dtypes}; torch and ONNX layers need one "
                    f"(build it with one dtype=)"
                )
            return layers, dtypes[0]
    raise TypeError(
        f"cannot export a {type(model).__name__}: expected a micrograd.nn MLP, Layer or Neuron, "
        f"or a micrograd.tensor.nn MLP or Linear"
    )


def _bias_dtypes(layers: list[_Dense]) -> set[str]:
    return {str(d.bias.dtype) for d in layers if d.bias is not None}


# ---------------------------------------------------------------------------------------------
# To PyTorch


def to_torch(model: Any) -> Any:
    """A `torch.nn.Sequential` computing what `model` computes, with a copy of its weights.

    One `torch.nn.Linear` per layer, each followed by `ReLU()`, `Tanh()` or `Sigmoid()` unless
    the layer is linear. float64 for scalar models, the model's dtype for tensor models. The
    module is in training mode if `model` is (`model.training`). Raises TypeError for a model
    this cannot describe, ImportError (with the install command) without torch.
    """
    layers, dtype = _dense_layers(model)
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
            modules.append(getattr(torch.nn, _ACTIVATIONS[dense.activation][0])())
    sequential = torch.nn.Sequential(*modules)
    sequential.train(bool(getattr(model, "training", True)))
    return sequential


def _torch_names(layers: list[_Dense]) -> list[tuple[int, _Dense]]:
    """The `Sequential` index of each dense layer (activations take an index each)."""
    index, named = 0, []
    for dense in layers:
        named.append((index, dense))
        index += 1 if dense.activation == "linear" else 2
    return named


def torch_state_dict(model: Any) -> dict[str, Any]:
    """`to_torch(model).state_dict()`: `{'0.weight': tensor, '0.bias': tensor, ...}`, copies,
    ready for `torch_module.load_state_dict(...)` on a torch model of the same architecture."""
    return to_torch(model).state_dict()


def load_torch_state_dict(model: Any, state_dict: dict[str, Any]) -> None:
    """Copy a torch state dict (keys and shapes as `torch_state_dict(model)` has them) into
    `model`'s parameters, in place.

    Values may be torch tensors or numpy arrays; they are converted to the model's dtype (float64
    Python floats for scalar models), as torch's `load_state_dict` converts. Everything is checked
    first -- the same keys, every shape, finite numbers -- so a bad dict raises ValueError
    naming the key and leaves the model unchanged.
    """
    import numpy as np

    if not isinstance(state_dict, dict):
        raise TypeError(
            f"load_torch_state_dict: expected a dict of tensors (a torch state_dict()), "
            f"got {type(state_dict).__name__}"
        )
    layers, dtype = _dense_layers(model)
    expected: dict[str, tuple] = {}
    for index, dense in _torch_names(layers):
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
    for index, dense in _torch_names(layers):
        bias = values.get(f"{index}.bias")
        _set_dense(dense, values[f"{index}.weight"], bias)


def _set_dense(dense: _Dense, weight: Any, bias: Any) -> None:
    """Write (out, in) `weight` and `bias` into our layer."""
    layer = dense.layer
    if hasattr(layer, "weight"):  # tensor Linear: (nin, nout)
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


def _describe(index: int, name: str, module: Any) -> str:
    kind = type(module).__name__
    return f"layer {index} ({kind})" if name == str(index) else f"layer {index} {name!r} ({kind})"


def _read_sequential(module: Any, engine: str) -> tuple[list, list[str], str]:
    """[(weight, bias) numpy pairs], [activation per Linear], dtype name, from a torch
    Sequential; errors name the layer that cannot be taken."""
    torch = _require("torch")
    import numpy as np

    if not isinstance(module, torch.nn.Sequential):
        hint = (
            " (wrap it: torch.nn.Sequential(module))" if isinstance(module, torch.nn.Linear) else ""
        )
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential of Linear and activation layers, "
            f"got {type(module).__name__}{hint}"
        )
    params: list = []
    activations: list[str] = []
    dtypes: set[str] = set()
    # Not named_children(): it skips a module's second appearance (weights shared by two layers).
    children = list(module._modules.items())
    if not children:
        raise ValueError("from_torch: the Sequential is empty")
    seen: dict[int, int] = {}
    for index, (name, layer) in enumerate(children):
        where = _describe(index, name, layer)
        kind = type(layer).__name__
        if id(layer) in seen and list(layer.parameters()):
            raise ValueError(
                f"from_torch: {where} is the same module as layer {seen[id(layer)]}; micrograd "
                f"layers do not share weights"
            )
        seen.setdefault(id(layer), index)
        if isinstance(layer, torch.nn.Linear) and type(layer) is torch.nn.Linear:
            weight = layer.weight
            if weight.is_meta:
                raise ValueError(f"from_torch: {where} has no data (a 'meta' tensor)")
            if weight.dtype not in (torch.float32, torch.float64):
                raise ValueError(
                    f"from_torch: {where} has dtype {weight.dtype}; micrograd computes in "
                    f"float32 or float64 (convert with module.float() or module.double())"
                )
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
            w = weight.detach().cpu().numpy().copy()
            b = layer.bias.detach().cpu().numpy().copy() if has_bias else None
            if not (np.isfinite(w).all() and (b is None or np.isfinite(b).all())):
                raise ValueError(f"from_torch: {where} has NaN or infinite weights")
            params.append((w, b))
            activations.append("linear")
            dtypes.add(str(weight.dtype).replace("torch.", ""))
        elif kind in _TORCH_ACTIVATIONS and type(layer) is getattr(torch.nn, kind):
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
            activations[-1] = _TORCH_ACTIVATIONS[kind]
        elif type(layer) is torch.nn.Identity:
            continue  # computes nothing
        else:
            raise ValueError(
                f"from_torch: {where} is not supported; micrograd models are built from "
                f"Linear, ReLU, Tanh, Sigmoid (and Identity) layers"
            )
    if len(dtypes) > 1:
        raise ValueError(f"from_torch: the Linear layers mix dtypes {sorted(dtypes)}")
    return params, activations, dtypes.pop()


def from_torch(module: Any, engine: str = "tensor", fused: bool = True) -> Any:
    """Our model for a `torch.nn.Sequential` of `Linear`, `ReLU`, `Tanh`, `Sigmoid` (and
    `Identity`) layers, with a copy of its weights: the inverse of `to_torch`.

    `engine="tensor"` (default) gives a `micrograd.tensor.nn.MLP` in the torch model's dtype
    (float32 or float64; needs numpy); `engine="scalar"` a `micrograd.nn.MLP` of Values (Python
    floats, so a float32 model's weights are kept exactly), `fused=True` by default (one graph node
    per neuron; the same numbers as `fused=False`). Each Linear may be followed by one activation;
    the last layer may have one too. Any other layer -- Dropout, BatchNorm, a custom module, a
    nested Sequential -- raises ValueError naming its index and type. Building a scalar model
    leaves the global `random` state as it was.
    """
    if engine not in ("tensor", "scalar"):
        raise ValueError(f"from_torch: engine must be 'tensor' or 'scalar', got {engine!r}")
    params, activations, dtype = _read_sequential(module, engine)
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

        model = MLP(
            nin, nouts, activation=activation, bias=params[0][1] is not None, dtype=dtype, rng=0
        )
    layers, _ = _dense_layers(model)
    for dense, (weight, bias) in zip(layers, params):
        _set_dense(dense, weight, bias)
    model.train(bool(module.training))
    return model


# ---------------------------------------------------------------------------------------------
# To ONNX


def onnx_model(model: Any, opset: int = ONNX_OPSET) -> Any:
    """The ONNX `ModelProto` for `model`, built with the `onnx` package's helper API and checked
    with `onnx.checker` (full check, shape inference included).

    One input, 'input', of shape ('batch', nin) and one output, 'output', of shape
    ('batch', nout): the batch dimension is symbolic, so any batch size runs. A layer is a `Gemm`
    node (`input @ weight.T + bias`, weight stored (out, in) as torch stores it), then `Relu`,
    `Tanh` or `Sigmoid`. Initializers are named as torch's state dict keys ('0.weight', ...).
    Element type DOUBLE for scalar and float64 models, FLOAT for float32 models.
    """
    layers, dtype = _dense_layers(model)
    onnx = _require("onnx")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not 13 <= opset <= newest:
        raise ValueError(
            f"to_onnx: opset must be an int from 13 to {newest} (the newest this onnx "
            f"{onnx.__version__} knows), got {opset!r}"
        )
    from onnx import helper, numpy_helper

    import micrograd

    elem = onnx.TensorProto.DOUBLE if dtype == "float64" else onnx.TensorProto.FLOAT
    nodes, initializers = [], []
    current = "input"
    named = _torch_names(layers)
    for position, (index, dense) in enumerate(named):
        last = position == len(named) - 1
        inputs = [current, f"{index}.weight"]
        initializers.append(numpy_helper.from_array(dense.weight.astype(dtype), f"{index}.weight"))
        if dense.bias is not None:
            inputs.append(f"{index}.bias")
            initializers.append(numpy_helper.from_array(dense.bias.astype(dtype), f"{index}.bias"))
        linear_out = "output" if last and dense.activation == "linear" else f"/{index}/Gemm_output"
        nodes.append(
            helper.make_node("Gemm", inputs, [linear_out], name=f"/{index}/Gemm", transB=1)
        )
        current = linear_out
        if dense.activation != "linear":
            op = _ACTIVATIONS[dense.activation][1]
            out = "output" if last else f"/{index + 1}/{op}_output"
            nodes.append(helper.make_node(op, [current], [out], name=f"/{index + 1}/{op}"))
            current = out
    nin = layers[0].weight.shape[1]
    nout = layers[-1].weight.shape[0]
    graph = helper.make_graph(
        nodes,
        "micrograd",
        [helper.make_tensor_value_info("input", elem, ["batch", nin])],
        [helper.make_tensor_value_info("output", elem, ["batch", nout])],
        initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(
        graph,
        opset_imports=opsets,
        # The oldest IR version that can hold this opset: readable by the most runtimes.
        ir_version=helper.find_min_ir_version_for(opsets),
        producer_name="micrograd",
        producer_version=micrograd.__version__,
        doc_string=f"exported from {type(model).__module__}.{type(model).__name__}",
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_onnx(model: Any, path: str | os.PathLike, opset: int = ONNX_OPSET) -> None:
    """Write `model` to `path` as an ONNX file (see `onnx_model` for the graph).

    The file is written atomically: to a temporary file in the same folder, then renamed over
    `path`, so a failure leaves no partial file and an existing file intact.
    """
    from micrograd.serialize import atomic_write

    content = onnx_model(model, opset).SerializeToString()
    atomic_write(path, content)
