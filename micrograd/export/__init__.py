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

This package has two halves over one shared reading of the model: `layers.py` reads our models as
layers, `pytorch.py` moves them to and from PyTorch, `onnx.py` builds the ONNX graph. Neither
half imports the other. The `micrograd export` command is `micrograd/cli/export.py`.
"""

# The readers of our models stay importable from here, as before the package was split, and so
# does `_require`, which the `micrograd export` command uses for its install hint.
from micrograd.export.layers import (  # noqa: F401
    ACTIVATION_MODULES,
    INSTALL_HINT,
    TORCH_SHAPED,
    Dense,
    _require,
    describe,
    is_torch_shaped,
    mlp_layers,
    sequential_index,
    torch_shaped_dtype,
    torch_shaped_kind,
    walk,
)
from micrograd.export.onnx import ONNX_OPSET, onnx_model, to_onnx
from micrograd.export.pytorch import from_torch, load_torch_state_dict, to_torch, torch_state_dict

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
