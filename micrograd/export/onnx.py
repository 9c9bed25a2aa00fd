"""The ONNX graph of a micrograd model, built with the `onnx` package's helper API.

`to_onnx` and `onnx_model` (also offered by `micrograd.export`) call `build_model`. The model is
first read as a list of torch-shaped layers (`micrograd/export/layers.py` reads it: an MLP as
`Linear` + activation, as `to_torch` builds it), then each layer becomes ONNX operators:

    Linear              Gemm(x, weight, bias, transB=1) on (batch, in) inputs; on inputs with
                        more axes MatMul(x, Transpose(weight)) + bias, as torch's Linear applies
                        to the last axis
    ReLU, Tanh, Sigmoid Relu, Tanh, Sigmoid
    Embedding           Gather(weight, indices): the graph's input is then int64 indices
    BatchNorm1d         BatchNormalization with the running statistics: the graph is the model in
                        eval mode, as torch.onnx.export writes it by default
    Flatten             Reshape to [0] * start_dim + [-1] (the leading axes are kept)

The graph has one input, 'input', whose first axis is the symbolic 'batch' (any batch size runs),
and one output, 'output'. Weights are initializers named as torch's state-dict keys ('0.weight',
'2.running_mean', ...), stored as torch stores them (a Linear's weight is (out, in)). Element
type DOUBLE for scalar and float64 models, FLOAT for float32 ones. The shape of every tensor is
tracked while building, so a layer that cannot take its input (a Linear of 30 inputs after a
Flatten giving 20) is an error naming the layer before anything is written, and the model is
checked by `onnx.checker.check_model(full_check=True)` before it is returned.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from micrograd.export.layers import (
    ACTIVATION_MODULES,
    _require,
    cannot_export,
    describe,
    is_torch_shaped,
    mlp_layers,
    sequential_index,
    torch_shaped_dtype,
    torch_shaped_kind,
    walk,
)

__all__ = ["ONNX_OPSET", "build_model", "model_layers", "onnx_model", "to_onnx"]

# The ONNX operator set the graphs are written for: every operator used has had its current
# form since opset 13; 17 is read by every onnxruntime since 1.11 (2022).
ONNX_OPSET = 17


@dataclass
class Layer:
    """One torch-shaped layer to translate: `path` is its state-dict prefix ('' for a lone
    module), `arrays` its parameters and buffers by torch's names, `options` the rest."""

    kind: str  # 'Linear', 'ReLU', 'Tanh', 'Sigmoid', 'Embedding', 'BatchNorm1d', 'Flatten'
    path: str
    where: str
    arrays: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)


def model_layers(model: Any) -> tuple[list[Layer], str]:
    """`model` as torch-shaped layers, and its float dtype name."""
    if is_torch_shaped(model):
        dtype = torch_shaped_dtype(model)
        return [_torch_shaped_layer(path, m) for path, m in walk(model)], dtype
    found = mlp_layers(model)
    if found is None:
        raise cannot_export(model)
    dense_layers, dtype = found
    layers = []
    for index, dense in sequential_index(dense_layers):
        arrays = {"weight": dense.weight}
        if dense.bias is not None:
            arrays["bias"] = dense.bias
        layers.append(Layer("Linear", str(index), f"layer {index} (Linear)", arrays))
        if dense.activation != "linear":
            kind = ACTIVATION_MODULES[dense.activation]
            layers.append(Layer(kind, str(index + 1), f"layer {index + 1} ({kind})"))
    return layers, dtype


def _torch_shaped_layer(path: str, module: Any) -> Layer:
    kind = torch_shaped_kind(module, path)
    where = describe(path, module)
    names = {
        "Linear": ("weight", "bias"),
        "Embedding": ("weight",),
        "BatchNorm1d": ("weight", "bias", "running_mean", "running_var"),
    }.get(kind, ())
    arrays = {n: getattr(module, n).data for n in names if getattr(module, n) is not None}
    options = {}
    if kind == "BatchNorm1d":
        options = {
            "eps": module.eps,
            "num_features": module.num_features,
            "track_running_stats": module.track_running_stats,
        }
    elif kind == "Flatten":
        options = {"start_dim": module.start_dim, "end_dim": module.end_dim}
    return Layer(kind, path, where, arrays, options)


class _Graph:
    """Nodes and initializers being collected, with the shape of the current tensor."""

    def __init__(self, onnx: Any, dtype: str) -> None:
        self.onnx = onnx
        self.helper = onnx.helper
        self.numpy_helper = onnx.numpy_helper
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self.current = "input"

    def weight(self, layer: Layer, name: str, array: Any = None) -> str:
        """An initializer named as torch's state-dict key (or a helper constant)."""
        import numpy as np

        key = f"{layer.path}.{name}" if layer.path else name
        value = layer.arrays[name] if array is None else array
        if value.dtype.kind == "f":
            value = value.astype(self.dtype)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), key))
        return key

    def node(self, layer: Layer, op: str, inputs: list[str], **attributes: Any) -> str:
        prefix = f"/{layer.path}" if layer.path else ""
        output = f"{prefix}/{op}_output_{len(self.nodes)}"
        self.nodes.append(
            self.helper.make_node(op, inputs, [output], name=f"{prefix}/{op}", **attributes)
        )
        self.current = output
        return output


def _input_shape(first: Layer, input_shape: Sequence[int | str] | None) -> list:
    """One sample's shape: given, or told by the first layer."""
    if input_shape is not None:
        if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
            raise TypeError(
                f"to_onnx: input_shape must be a list of sizes (one sample's shape, without the "
                f"batch axis), got {type(input_shape).__name__}"
            )
        dims = list(input_shape)
        for d in dims:
            ok_int = isinstance(d, int) and not isinstance(d, bool) and d >= 1
            if not (ok_int or (isinstance(d, str) and d.isidentifier())):
                raise ValueError(
                    f"to_onnx: input_shape {tuple(dims)}: each size must be an int >= 1 or a "
                    f"name for a dynamic axis, got {d!r}"
                )
        return dims
    if first.kind == "Linear":
        return [int(first.arrays["weight"].shape[1])]
    if first.kind == "BatchNorm1d":
        return [first.options["num_features"]]
    if first.kind == "Embedding":
        return ["sequence"]
    raise ValueError(
        f"to_onnx: the first layer, {first.where}, does not tell the input's shape; pass "
        f"input_shape= (one sample's shape, without the batch axis, e.g. (28, 28))"
    )


def _add_layer(g: _Graph, layer: Layer, shape: list, position: int) -> list:
    """Append `layer`'s nodes to `g`; return the shape of its output."""
    import numpy as np

    kind, where = layer.kind, layer.where
    if kind == "Embedding" and position != 0:
        raise ValueError(f"to_onnx: {where} must be the first layer (its input is integer indices)")
    if kind == "Linear":
        out_features, in_features = layer.arrays["weight"].shape
        if isinstance(shape[-1], int) and shape[-1] != in_features:
            raise ValueError(f"to_onnx: {where} takes {in_features} inputs, gets {shape[-1]}")
        inputs = [g.current, g.weight(layer, "weight")]
        has_bias = "bias" in layer.arrays
        if len(shape) == 2:
            g.node(layer, "Gemm", inputs + ([g.weight(layer, "bias")] if has_bias else []),
                   transB=1)  # fmt: skip
        else:
            transposed = g.node(layer, "Transpose", [inputs[1]], perm=[1, 0])
            g.node(layer, "MatMul", [inputs[0], transposed])
            if has_bias:
                g.node(layer, "Add", [g.current, g.weight(layer, "bias")])
        return shape[:-1] + [int(out_features)]
    if kind in ("ReLU", "Tanh", "Sigmoid"):
        g.node(layer, {"ReLU": "Relu"}.get(kind, kind), [g.current])
        return shape
    if kind == "Embedding":
        g.node(layer, "Gather", [g.weight(layer, "weight"), g.current], axis=0)
        return shape + [int(layer.arrays["weight"].shape[1])]
    if kind == "BatchNorm1d":
        n = layer.options["num_features"]
        if not layer.options["track_running_stats"]:
            raise ValueError(
                f"to_onnx: {where} has no running statistics (track_running_stats=False), so "
                f"it normalises with each batch's statistics; the ONNX graph is the model in "
                f"eval mode and needs them"
            )
        if len(shape) not in (2, 3) or (isinstance(shape[1], int) and shape[1] != n):
            raise ValueError(
                f"to_onnx: {where} takes (batch, {n}) or (batch, {n}, length), gets {tuple(shape)}"
            )
        ones, zeros = np.ones(n, dtype=g.dtype), np.zeros(n, dtype=g.dtype)
        scale = g.weight(layer, "weight") if "weight" in layer.arrays else None
        bias = g.weight(layer, "bias") if "bias" in layer.arrays else None
        if scale is None:  # affine=False: scale 1, shift 0
            layer.arrays.update(scale_ones=ones, shift_zeros=zeros)
            scale, bias = g.weight(layer, "scale_ones"), g.weight(layer, "shift_zeros")
        inputs = [g.current, scale, bias, g.weight(layer, "running_mean"),
                  g.weight(layer, "running_var")]  # fmt: skip
        g.node(layer, "BatchNormalization", inputs, epsilon=float(layer.options["eps"]))
        return shape
    # Flatten
    rank = len(shape)
    start, end = layer.options["start_dim"], layer.options["end_dim"]
    s = start + rank if start < 0 else start
    e = end + rank if end < 0 else end
    if not 0 <= s <= e < rank:
        raise ValueError(
            f"to_onnx: {where} (start_dim={start}, end_dim={end}) does not fit an input of "
            f"{rank} axes {tuple(shape)}"
        )
    if e != rank - 1:
        raise ValueError(
            f"to_onnx: {where} flattens axes {s}..{e} of {rank}; only flattening through the "
            f"last axis (end_dim=-1) is exported"
        )
    if s == e:
        return shape  # one axis: nothing to do
    target = np.array([0] * s + [-1], dtype=np.int64)  # 0: keep that axis's size
    layer.arrays["shape"] = target
    g.node(layer, "Reshape", [g.current, g.weight(layer, "shape")])
    tail = shape[s:]
    size = math.prod(tail) if all(isinstance(d, int) for d in tail) else f"flat_{len(g.nodes)}"
    return shape[:s] + [size]


def build_model(
    model: Any,
    opset: int = ONNX_OPSET,
    input_shape: Sequence[int | str] | None = None,
    dtype: str | None = None,
) -> Any:
    """The checked ONNX `ModelProto` of `model` (see the module docstring), its weights, input
    and output in `dtype` ('float32' or 'float64'; default: the model's own)."""
    if dtype is not None and dtype not in ("float32", "float64"):
        raise ValueError(f"to_onnx: dtype must be 'float32' or 'float64', got {dtype!r}")
    layers, model_dtype = model_layers(model)
    dtype = dtype or model_dtype
    onnx = _require("onnx")
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not 13 <= opset <= newest:
        raise ValueError(
            f"to_onnx: opset must be an int from 13 to {newest} (the newest this onnx "
            f"{onnx.__version__} knows), got {opset!r}"
        )
    if not layers:
        raise ValueError("to_onnx: the model has no layers")
    import micrograd

    elem = onnx.TensorProto.DOUBLE if dtype == "float64" else onnx.TensorProto.FLOAT
    in_elem = onnx.TensorProto.INT64 if layers[0].kind == "Embedding" else elem
    g = _Graph(onnx, dtype)
    shape = ["batch", *_input_shape(layers[0], input_shape)]
    input_info = onnx.helper.make_tensor_value_info("input", in_elem, shape)
    for position, layer in enumerate(layers):
        shape = _add_layer(g, layer, shape, position)
    if g.nodes:
        g.nodes[-1].output[0] = "output"
    else:  # only no-op layers (a Flatten of one axis)
        g.nodes.append(onnx.helper.make_node("Identity", ["input"], ["output"], name="/Identity"))
    graph = onnx.helper.make_graph(
        g.nodes,
        "micrograd",
        [input_info],
        [onnx.helper.make_tensor_value_info("output", elem, shape)],
        g.initializers,
    )
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(
        graph,
        opset_imports=opsets,
        # The oldest IR version that can hold this opset: readable by the most runtimes.
        ir_version=onnx.helper.find_min_ir_version_for(opsets),
        producer_name="micrograd",
        producer_version=micrograd.__version__,
        doc_string=f"exported from {type(model).__module__}.{type(model).__name__}",
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto


# ---------------------------------------------------------------------------------------------
# The entry points: the checked model, and the model written to a file


def onnx_model(
    model: Any,
    opset: int = ONNX_OPSET,
    input_shape: Sequence[int | str] | None = None,
    dtype: str | None = None,
) -> Any:
    """The ONNX `ModelProto` for `model`, built with the `onnx` package's helper API and checked
    by `onnx.checker` (full check, shape inference included). See this module's docstring.
    `dtype` ('float32' or 'float64') is the graph's float type; default: the model's own."""
    return build_model(model, opset, input_shape, dtype)


def to_onnx(
    model: Any,
    path: str | os.PathLike,
    opset: int = ONNX_OPSET,
    input_shape: Sequence[int | str] | None = None,
    dtype: str | None = None,
) -> None:
    """Write `model` to `path` as an ONNX file: input 'input' with a dynamic batch dimension,
    output 'output' (see this module's docstring for the graph). `input_shape` is one sample's
    shape, needed only when the first layer does not tell it (a `Flatten` first); `dtype`
    ('float32' or 'float64') the graph's float type (default: the model's own).

    The file is written atomically: to a temporary file in the same folder, then renamed over
    `path`, so a failure leaves no partial file and an existing file intact.
    """
    from micrograd._files import atomic_write

    content = onnx_model(model, opset, input_shape, dtype).SerializeToString()
    atomic_write(path, content)
