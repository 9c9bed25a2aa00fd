"""Neural networks on the scalar engine: `Module`, `Neuron`, `Layer`, `MLP`.

This is the original micrograd's `nn.py` with the same classes, reprs, graph and weight draw
order (after `random.seed(1337)` the same weights come out as from the original, so the original
demo's numbers reproduce), plus options that are off by default:

* `activation=`: 'relu', 'tanh' (the lecture's neurons), 'sigmoid' or 'linear';
* `init=`: 'uniform' (the original's U(-1, 1)), 'xavier' / 'glorot', 'he' / 'kaiming' -- all
  drawn from the global `random` module, one draw per weight in the original's order;
* `fused=True`: a neuron's weighted sum becomes one n-ary graph node (`micrograd.engine.dot`)
  instead of 2n binary ones. Same additions in the same order, so the same floats, several times
  faster; the default keeps the original's graph of single `*` and `+` nodes, which learners draw;
* `named_parameters()`, `num_parameters()`, `train()` / `eval()`, `state_dict()`,
  `MLP.summary()`, and `config()` / `from_config()` to rebuild an architecture (used by saving).

Only the standard library is used here. Read `micrograd/losses.py` and `micrograd/optim.py` next.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterable, Sequence
from typing import Any

from micrograd.engine import Value, dot

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "Layer",
    "Module",
    "Neuron",
    "from_config",
]

# Activation name -> the name used in reprs (`ReLUNeuron(2)`, as the original prints it).
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}

# Initialisation name -> canonical name. Aliases keep the names people search for.
INITS = {
    "uniform": "uniform",
    "xavier": "xavier",
    "glorot": "xavier",
    "he": "he",
    "kaiming": "he",
}


def _check_size(value: object, name: str, owner: str) -> int:
    """A layer size must be a positive int (bool is refused: `MLP(True, ...)` is a typo)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be a positive int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value}")
    return int(value)


def _check_activation(activation: object, owner: str) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise ValueError(
            f"{owner}: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
        )
    return activation  # type: ignore[return-value]


def _check_init(init: object, owner: str) -> str:
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"{owner}: unknown init {init!r}; choose one of {sorted(INITS)}")
    return INITS[init]  # type: ignore[index]


def mlp_layers(
    nin: object, nouts: object, activation: object, owner: str = "MLP"
) -> tuple[int, list[int], list[str]]:
    """Check an MLP's arguments (both engines' MLPs take the same ones) and return the input
    size, the layer sizes and one activation per layer: `activation` for the hidden layers and
    'linear' for the last, as in the original, or a list with one entry per layer."""
    nin = _check_size(nin, "nin", owner)
    if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
        raise TypeError(f"{owner}: nouts must be a list of layer sizes, got {type(nouts).__name__}")
    if len(nouts) == 0:
        raise ValueError(f"{owner}: nouts must list at least one layer size")
    nouts = [_check_size(n, f"nouts[{i}]", owner) for i, n in enumerate(nouts)]
    if isinstance(activation, str):
        _check_activation(activation, owner)
        return nin, nouts, [activation] * (len(nouts) - 1) + ["linear"]
    if not isinstance(activation, Sequence):
        raise TypeError(
            f"{owner}: activation must be a name or a list of names (one per layer), "
            f"got {type(activation).__name__}"
        )
    activations = list(activation)
    if len(activations) != len(nouts):
        raise ValueError(f"{owner}: {len(activations)} activations given for {len(nouts)} layers")
    for a in activations:
        _check_activation(a, owner)
    return nin, nouts, activations


def _init_bound(init: str, activation: str, fan_in: int, fan_out: int) -> float:
    """Half-width of the uniform distribution the weights are drawn from.

    'uniform' is the original's U(-1, 1). The others scale with the layer's width so that
    activations keep their size through deep networks (PyTorch's `xavier_uniform_` and
    `kaiming_uniform_` formulas):
      xavier: gain * sqrt(6 / (fan_in + fan_out)),  gain 5/3 for tanh, else 1;
      he:     gain * sqrt(3 / fan_in),               gain sqrt(2) for relu, else 1.
    """
    if init == "uniform":
        return 1.0
    if init == "xavier":
        gain = 5.0 / 3.0 if activation == "tanh" else 1.0
        return gain * math.sqrt(6.0 / (fan_in + fan_out))
    gain = math.sqrt(2.0) if activation == "relu" else 1.0
    return gain * math.sqrt(3.0 / fan_in)


class Module:
    """Base class: anything with parameters. Subclasses override `parameters()` (as in the
    original) and, for nested modules, `children()` and `named_parameters()`."""

    training = True

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (call between steps: leaf grads accumulate)."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        return []

    def children(self) -> list[Module]:
        """The modules directly inside this one (used by `train()` / `eval()`)."""
        return []

    def named_parameters(self) -> list[tuple[str, Value]]:
        """`(name, parameter)` pairs, in `parameters()` order. A subclass that only defines
        `parameters()` gets names '0', '1', ..."""
        return [(str(i), p) for i, p in enumerate(self.parameters())]

    def num_parameters(self) -> int:
        return len(self.parameters())

    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and every module inside it; returns self.

        None of the built-in layers behaves differently in training (no dropout, no batch
        statistics); the flag is there for user modules and for code written for PyTorch."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def state_dict(self) -> dict[str, Any]:
        """`{name: parameter.data}` for every parameter (numbers, JSON-able)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values from `state_dict()` output into the parameters.

        Everything is checked first (same names, every value a real number), so a bad dict
        raises ValueError and leaves the model unchanged."""
        if not isinstance(state, dict):
            raise TypeError(
                f"load_state_dict: expected a dict of parameter values (from state_dict()), "
                f"got {type(state).__name__}"
            )
        named = self.named_parameters()
        names = [n for n, _ in named]
        missing = [n for n in names if n not in state]
        known = set(names)
        unexpected = [n for n in state if n not in known]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict: missing parameters {missing[:5]}{'...' if len(missing) > 5 else ''}"
                f", unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
            )
        values = [self._checked_value(name, p, state[name]) for name, p in named]
        for (_, p), v in zip(named, values):
            p.data = v

    def _checked_value(self, name: str, parameter: Any, value: Any) -> Any:
        """What `load_state_dict` stores in `parameter` for `value`, or a ValueError naming
        the parameter. A scalar parameter takes a finite real number; the tensor engine's
        modules override this for arrays."""
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise ValueError(
                f"load_state_dict: parameter {name!r} is {value!r}, not a finite number"
            )
        return value


class Neuron(Module):
    """One unit: `activation(w . x + b)`.

    `Neuron(nin)` is the original's ReLU neuron, `Neuron(nin, nonlin=False)` its linear one;
    `activation=` picks another ('tanh' for the lecture's neurons) and overrides `nonlin`.
    `fan_out` only matters for the 'xavier' init (a `Layer` passes its width).
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        activation: str | None = None,
        init: str = "uniform",
        fused: bool = False,
        fan_out: int = 1,
    ) -> None:
        nin = _check_size(nin, "nin", "Neuron")
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self.activation = _check_activation(activation, "Neuron")
        self.init = _check_init(init, "Neuron")
        self.fused = bool(fused)
        bound = _init_bound(self.init, self.activation, nin, fan_out)
        # One draw per weight from the global `random`, in order, then the bias: the original's
        # draw order, so that `random.seed(...)` gives the original's weights.
        if bound == 1.0:
            self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        else:
            self.w = [Value(random.uniform(-bound, bound)) for _ in range(nin)]
        self.b = Value(0)

    @property
    def nonlin(self) -> bool:
        """The original's flag: True for a nonlinear neuron."""
        return self.activation != "linear"

    @nonlin.setter
    def nonlin(self, value: bool) -> None:
        # The original reads `nonlin` at every call, so code that flips it after construction
        # changes the neuron: False makes it linear, True makes a linear one ReLU again.
        if bool(value) != self.nonlin:
            self.activation = "relu" if value else "linear"

    def __call__(self, x: Sequence[Any]) -> Value:
        if not hasattr(x, "__len__"):
            if isinstance(x, (Value, numbers.Number)):
                raise TypeError(
                    f"{self!r} takes a sequence of {len(self.w)} inputs, got a single "
                    f"{type(x).__name__} (wrap it in a list: [x])"
                )
            if not isinstance(x, Iterable):
                raise TypeError(
                    f"{self!r} takes a sequence of {len(self.w)} inputs, got a {type(x).__name__}"
                )
            x = list(x)
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        if self.fused:
            act = dot(self.w, x, self.b)  # one node, same floats as the sum below
        else:
            # The original's `sum((wi * xi for ...), self.b)`: the same nodes in the same order,
            # written as a loop, which skips a generator per neuron call (a fifth of the call).
            act = self.b
            for wi, xi in zip(self.w, x):
                act = act + wi * xi
        a = self.activation
        if a == "relu":
            return act.relu()
        if a == "linear":
            return act
        if a == "tanh":
            return act.tanh()
        return act.sigmoid()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def config(self) -> dict[str, Any]:
        return {
            "type": "Neuron",
            "nin": len(self.w),
            "activation": self.activation,
            "init": self.init,
            "fused": self.fused,
        }

    def __repr__(self) -> str:
        return f"{ACTIVATIONS[self.activation]}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons that all see the same inputs. Keyword arguments go to every `Neuron`.

    Calling it returns a list of `nout` Values, or a single Value when `nout == 1` (as the
    original does, so that a one-output MLP returns a Value)."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        nout = _check_size(nout, "nout", "Layer")
        kwargs.setdefault("fan_out", nout)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        if not hasattr(x, "__len__") and isinstance(x, Iterable):
            x = list(x)  # a generator would be used up by the first neuron
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def children(self) -> list[Module]:
        return list(self.neurons)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return [
            (f"neurons.{i}.{name}", p)
            for i, n in enumerate(self.neurons)
            for name, p in n.named_parameters()
        ]

    def config(self) -> dict[str, Any]:
        first = self.neurons[0]
        return {
            "type": "Layer",
            "nin": len(first.w),
            "nout": len(self.neurons),
            "activation": first.activation,
            "init": first.init,
            "fused": first.fused,
        }

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class LayerStack(Module):
    """A module that is a list of layers, `self.layers`, applied in order: the part of an MLP
    that both engines share. Parameters are named 'layers.<i>.<name in the layer>'."""

    layers: list

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    def children(self) -> list[Module]:
        return list(self.layers)

    def named_parameters(self) -> list[tuple[str, Any]]:
        return [
            (f"layers.{i}.{name}", p)
            for i, layer in enumerate(self.layers)
            for name, p in layer.named_parameters()
        ]


class MLP(LayerStack):
    """A multi-layer perceptron: layers of sizes `[nin] + nouts`, the last one linear.

    `activation` is the hidden layers' activation (the last layer stays linear, as in the
    original), or a list with one activation per layer, the last included.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "relu",
        fused: bool = False,
        init: str = "uniform",
    ) -> None:
        nin, nouts, activations = mlp_layers(nin, nouts, activation)
        self._activation = activation if isinstance(activation, str) else activations
        sz = [nin] + nouts
        self.layers = [
            Layer(sz[i], sz[i + 1], activation=activations[i], init=init, fused=fused)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Any) -> Value | list[Value]:
        for layer in self.layers[:-1]:
            x = layer(x)
            # A one-neuron layer returns a bare Value (the original's `Layer` does, and code
            # relies on it); the next layer takes a list of inputs.
            if isinstance(x, Value):
                x = [x]
        return self.layers[-1](x)

    def config(self) -> dict[str, Any]:
        """A JSON-able description of the architecture; `from_config(model.config())` builds a
        fresh (untrained) model of the same shape."""
        first = self.layers[0].neurons[0]
        activation = self._activation
        return {
            "type": "MLP",
            "nin": len(first.w),
            "nouts": [len(layer.neurons) for layer in self.layers],
            "activation": activation if isinstance(activation, str) else list(activation),
            "init": first.init,
            "fused": first.fused,
        }

    def summary(self) -> str:
        """A table of the layers and their parameter counts (`print(model.summary())`)."""
        cfg = self.config()
        rows = [("layer", "in", "out", "activation", "parameters")]
        for i, layer in enumerate(self.layers):
            n = layer.neurons[0]
            rows.append(
                (
                    str(i),
                    str(len(n.w)),
                    str(len(layer.neurons)),
                    n.activation,
                    str(len(layer.parameters())),
                )
            )
        rows.append(("total", "", "", "", str(self.num_parameters())))
        widths = [max(len(r[c]) for r in rows) for c in range(5)]
        lines = [f"MLP({cfg['nin']}, {cfg['nouts']}, init={cfg['init']!r}, fused={cfg['fused']})"]
        for r in rows:
            lines.append(
                "  ".join(
                    cell.ljust(w) if c in (0, 3) else cell.rjust(w)
                    for c, (cell, w) in enumerate(zip(r, widths))
                ).rstrip()
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _cfg_get(cfg: dict, key: str, kind: str) -> Any:
    if key not in cfg:
        raise ValueError(f"from_config: a {kind} config needs the key {key!r}, got {sorted(cfg)}")
    return cfg[key]


def from_config(cfg: dict[str, Any]) -> Module:
    """Build a fresh, untrained model from `model.config()` output (MLP, Layer or Neuron).

    Weights are drawn from the global `random` as when the model was first built; load trained
    values afterwards with `load_state_dict`. Errors name the missing or bad key."""
    if not isinstance(cfg, dict):
        raise TypeError(f"from_config: expected a dict, got {type(cfg).__name__}")
    kind = cfg.get("type")
    known = {
        "MLP": {"type", "nin", "nouts", "activation", "init", "fused"},
        "Layer": {"type", "nin", "nout", "activation", "init", "fused"},
        "Neuron": {"type", "nin", "activation", "init", "fused"},
    }
    if not isinstance(kind, str) or kind not in known:  # (a list cannot even be looked up)
        raise ValueError(
            f"from_config: unknown model type {kind!r}; expected one of {sorted(known)}"
        )
    unknown = sorted(set(cfg) - known[kind])
    if unknown:
        raise ValueError(f"from_config: unknown keys {unknown} in a {kind} config")
    activation = cfg.get("activation", "relu")
    init = cfg.get("init", "uniform")
    fused = cfg.get("fused", False)
    if not isinstance(fused, bool):
        raise ValueError(f"from_config: 'fused' must be true or false, got {fused!r}")  # noqa: TRY004
    nin = _cfg_get(cfg, "nin", kind)
    try:
        if kind == "MLP":
            nouts = _cfg_get(cfg, "nouts", kind)
            if not isinstance(nouts, list):
                raise ValueError(f"'nouts' must be a list of ints, got {nouts!r}")
            return MLP(nin, nouts, activation=activation, init=init, fused=fused)
        if kind == "Layer":
            nout = _cfg_get(cfg, "nout", kind)
            return Layer(nin, nout, activation=activation, init=init, fused=fused)
        return Neuron(nin, activation=activation, init=init, fused=fused)
    except (TypeError, ValueError) as e:
        # A config comes from a file: report a bad one as bad data, whatever the cause.
        msg = str(e)
        raise ValueError(msg if msg.startswith("from_config") else f"from_config: {msg}") from e
