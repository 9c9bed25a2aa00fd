"""The scalar engine's MLP on the tensor engine: `Dense` layers and `MLP`, on the same `Module` as the
scalar ones (the PyTorch-shaped layers are in `modules.py`).

A `Dense(nin, nout)` layer holds a weight Tensor of shape (nin, nout) and a bias of shape (nout,)
and computes `x @ W + b` for a batch `x` of shape (n, nin) as one graph node. An `MLP` is a list
of them with an activation between, the last layer linear, exactly as `micrograd.nn.MLP` is built
from neurons: `MLP.from_scalar(scalar_mlp)` copies a scalar MLP's weights (neuron j's weights
become column j of W), and the two then compute the same outputs, losses and gradients.

The base class is `micrograd.nn.Module`, so `parameters()`, `named_parameters()`, `zero_grad()`
and `train()` / `eval()` behave as for scalar models, and `micrograd.optim` trains either (it
touches only `p.data` and `p.grad`). `config()` / `from_config()` describe the architecture for
`micrograd.serialize`.

Weights are drawn from numpy's global generator (`np.random.seed(...)` makes them repeatable) or
from `rng=` (a `numpy.random.Generator` or a seed), with the scalar engine's init rules.

Read `micrograd/tensor/nn/modules.py` for the PyTorch-shaped layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from micrograd.nn import (
    ACTIVATIONS,
    INITS,
    LayerStack,
    Module,
    _check_size,
    _init_bound,
    mlp_layers,
)
from micrograd.tensor.core import Tensor, as_tensor, linear

__all__ = ["MLP", "Dense", "from_config"]


def _check_choice(value: object, table: dict, what: str, owner: str) -> str:
    if not isinstance(value, str) or value not in table:
        raise ValueError(f"{owner}: unknown {what} {value!r}; choose one of {sorted(table)}")
    return value


def _dtype(dtype: Any, owner: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"{owner}: dtype must be float32 or float64, got {dt}")
    return dt


def _generator(rng: Any) -> Any:
    """numpy's global random module (seeded by np.random.seed), or a Generator."""
    if rng is None or rng is np.random:
        return np.random
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    return np.random.default_rng(rng)


class _TensorModule(Module):
    """What differs from the scalar `Module` for array parameters."""

    def zero_grad(self) -> None:
        """Forget the gradients (None: the next backward pass stores fresh arrays)."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """The number of scalar parameters (array elements)."""
        return sum(p.data.size for p in self.parameters())

    def state_dict(self) -> dict[str, np.ndarray]:
        """`{name: copy of the parameter's array}`."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def _checked_value(self, name: str, parameter: Any, value: Any) -> np.ndarray:
        """An array of the parameter's shape, finite, cast to its dtype (for `load_state_dict`)."""
        v = np.asarray(value)
        if v.shape != parameter.data.shape:
            raise ValueError(
                f"load_state_dict: parameter {name!r} has shape {v.shape}, the model needs "
                f"{parameter.data.shape}"
            )
        if v.dtype.kind not in "fiu" or not np.isfinite(v).all():
            raise ValueError(f"load_state_dict: parameter {name!r} is not finite numbers")
        return v.astype(parameter.data.dtype)


class Dense(_TensorModule):
    """`x @ W + b`: W of shape (nin, nout), b of shape (nout,) (zeros, as the scalar neurons'
    biases). `activation` names the activation that follows, which only sets the init's gain.
    (PyTorch's layout, W of shape (nout, nin), is `micrograd.tensor.nn.Linear`.)"""

    def __init__(
        self,
        nin: int,
        nout: int,
        bias: bool = True,
        init: str = "uniform",
        activation: str = "linear",
        dtype: Any = np.float64,
        rng: Any = None,
    ) -> None:
        nin = _check_size(nin, "nin", "Dense")
        nout = _check_size(nout, "nout", "Dense")
        self.init = INITS[_check_choice(init, INITS, "init", "Dense")]
        self.activation = _check_choice(activation, ACTIVATIONS, "activation", "Dense")
        dt = _dtype(dtype, "Dense")
        bound = _init_bound(self.init, self.activation, nin, nout)
        w = _generator(rng).uniform(-bound, bound, size=(nin, nout))
        self.weight = Tensor(w.astype(dt, copy=False), requires_grad=True, label="weight")
        self.bias = (
            Tensor(np.zeros(nout, dtype=dt), requires_grad=True, label="bias") if bias else None
        )

    @property
    def nin(self) -> int:
        return self.weight.data.shape[0]

    @property
    def nout(self) -> int:
        return self.weight.data.shape[1]

    def __call__(self, x: Any) -> Tensor:
        return linear(x if type(x) is Tensor else as_tensor(x), self.weight, self.bias)

    def parameters(self) -> list[Tensor]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def named_parameters(self) -> list[tuple[str, Tensor]]:
        named = [("weight", self.weight)]
        return named if self.bias is None else named + [("bias", self.bias)]

    def config(self) -> dict[str, Any]:
        return {
            "type": "Dense",
            "nin": self.nin,
            "nout": self.nout,
            "bias": self.bias is not None,
            "init": self.init,
            "activation": self.activation,
            "dtype": str(self.weight.data.dtype),
        }

    def __repr__(self) -> str:
        return f"Dense({self.nin}, {self.nout}{'' if self.bias is not None else ', bias=False'})"


def _activate(x: Tensor, activation: str) -> Tensor:
    if activation == "relu":
        return x.relu()
    if activation == "linear":
        return x
    if activation == "tanh":
        return x.tanh()
    return x.sigmoid()


class MLP(_TensorModule, LayerStack):
    """Layers of sizes `[nin] + nouts` with `activation` between them, the last layer linear
    (or a list of one activation per layer, the last included) -- `micrograd.nn.MLP` on arrays.

    Call it on a batch of shape (n, nin) (a Tensor, array or nested list); it returns the
    outputs as a Tensor of shape (n, nouts[-1])."""

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "relu",
        init: str = "uniform",
        bias: bool = True,
        dtype: Any = np.float64,
        rng: Any = None,
    ) -> None:
        nin, nouts, activations = mlp_layers(nin, nouts, activation)
        self._activation = activation if isinstance(activation, str) else activations
        self.activations = activations
        gen = _generator(rng)
        sizes = [nin] + nouts
        self.layers = [
            Dense(sizes[i], sizes[i + 1], bias, init, activations[i], dtype, gen)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Any) -> Tensor:
        if type(x) is not Tensor:
            x = as_tensor(x)
        for layer, activation in zip(self.layers, self.activations):
            if activation == "relu":  # fused: one node for x @ W + b and its ReLU
                x = linear(x, layer.weight, layer.bias, relu=True)
            else:
                x = _activate(linear(x, layer.weight, layer.bias), activation)
        return x

    def config(self) -> dict[str, Any]:
        """A JSON-able description; `from_config(model.config())` builds the same architecture."""
        first = self.layers[0]
        act = self._activation
        return {
            "type": "MLP",
            "nin": first.nin,
            "nouts": [layer.nout for layer in self.layers],
            "activation": act if isinstance(act, str) else list(act),
            "init": first.init,
            "bias": first.bias is not None,
            "dtype": str(first.weight.data.dtype),
        }

    @classmethod
    def from_scalar(cls, scalar_mlp: Any, dtype: Any = np.float64) -> MLP:
        """A tensor MLP with the weights of a scalar `micrograd.nn.MLP` (copied, not shared):
        neuron j of a layer gives column j of that layer's W and element j of its b."""
        layers = scalar_mlp.layers
        activations = [layer.neurons[0].activation for layer in layers]
        nin = len(layers[0].neurons[0].w)
        init = layers[0].neurons[0].init
        model = cls(
            nin,
            [len(layer.neurons) for layer in layers],
            activations,
            init=init,
            dtype=dtype,
            rng=0,
        )
        model._activation = scalar_mlp.config()["activation"]
        for layer, tlayer in zip(layers, model.layers):
            w = [[wi.data for wi in n.w] for n in layer.neurons]  # (nout, nin)
            tlayer.weight.data = np.array(w, dtype=dtype).T.copy()
            tlayer.bias.data = np.array([n.b.data for n in layer.neurons], dtype=dtype)
        return model

    def __repr__(self) -> str:
        parts = []
        for layer, act in zip(self.layers, self.activations):
            parts.append(repr(layer))
            if act != "linear":
                parts.append(ACTIVATIONS[act])
        return f"MLP of [{', '.join(parts)}]"


_KEYS = {
    "MLP": {"type", "nin", "nouts", "activation", "init", "bias", "dtype"},
    "Dense": {"type", "nin", "nout", "activation", "init", "bias", "dtype"},
}


def from_config(cfg: dict[str, Any]) -> Module:
    """A fresh, untrained `MLP` or `Dense` from `config()` output (load the trained weights
    afterwards, e.g. with `load_state_dict`). Errors name the missing or bad key."""
    if not isinstance(cfg, dict):
        raise TypeError(f"from_config: expected a dict, got {type(cfg).__name__}")
    kind = cfg.get("type")
    if kind == "Linear":  # the name this layer had before the PyTorch-shaped Linear came
        kind = "Dense"
        cfg = {**cfg, "type": "Dense"}
    if kind not in _KEYS:
        raise ValueError(
            f"from_config: unknown model type {kind!r}; expected one of {sorted(_KEYS)}"
        )
    unknown = sorted(set(cfg) - _KEYS[kind])
    if unknown:
        raise ValueError(f"from_config: unknown keys {unknown} in a {kind} config")
    for key in ("nin", "nouts" if kind == "MLP" else "nout"):
        if key not in cfg:
            raise ValueError(f"from_config: a {kind} config needs the key {key!r}")
    common = {
        "init": cfg.get("init", "uniform"),
        "bias": cfg.get("bias", True),
        "dtype": cfg.get("dtype", "float64"),
    }
    if not isinstance(
        common["bias"], bool
    ):  # a bad value in a file: ValueError, as in micrograd.nn
        raise ValueError(f"from_config: 'bias' must be true or false, got {common['bias']!r}")  # noqa: TRY004
    if kind == "MLP":
        nouts = cfg["nouts"]
        if not isinstance(nouts, list):
            raise ValueError(f"from_config: 'nouts' must be a list of ints, got {nouts!r}")
        return MLP(cfg["nin"], nouts, activation=cfg.get("activation", "relu"), **common)
    return Dense(cfg["nin"], cfg["nout"], activation=cfg.get("activation", "linear"), **common)
