"""PyTorch-shaped layers for the tensor engine: `Module`, `Linear`, `Embedding`, `BatchNorm1d`, `Tanh`,
`ReLU`, `Sigmoid`, `Flatten`, `Sequential`.

Names, arguments, defaults, parameter names and shapes are PyTorch's, so model code and
`state_dict()` keys move across unchanged: `Linear.weight` is (out_features, in_features), a
`Sequential`'s keys are `0.weight`, `0.bias`, `1.running_mean`, ... . A `Module` registers the
Tensors with `requires_grad=True` and the Modules assigned to its attributes (PyTorch marks
parameters with `nn.Parameter`; here `Parameter(t)` returns the tensor with `requires_grad=True`,
and any such leaf tensor assigned to a module is one of its parameters). Buffers (`running_mean`)
are registered with `register_buffer`.

Initial weights follow PyTorch's rules and come from `micrograd.tensor`'s default generator
(`torch.manual_seed(...)` makes them repeatable).

It builds on `micrograd.nn.Module`, so `micrograd.optim` trains these modules as it trains the
others. Read `micrograd/tensor/nn/functional.py` next.
"""

from __future__ import annotations

import math
from collections import OrderedDict, namedtuple
from collections.abc import Iterator
from typing import Any

import numpy as np

from micrograd.nn import Module as _BaseModule
from micrograd.tensor import core as _core
from micrograd.tensor import functions as F
from micrograd.tensor import random as _random
from micrograd.tensor._missing import similar
from micrograd.tensor.core import Tensor, _const, _new, _node, _np_dtype, no_grad

__all__ = [
    "BatchNorm1d",
    "Embedding",
    "Flatten",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def Parameter(data: Tensor, requires_grad: bool = True) -> Tensor:
    """`data` marked as a parameter: the same tensor with `requires_grad` set (a Module then
    registers it when it is assigned to an attribute)."""
    if not isinstance(data, Tensor):
        raise TypeError(f"Parameter: expected a Tensor, got {type(data).__name__}")
    return data.requires_grad_(requires_grad)


def _is_parameter(value: Any) -> bool:
    return type(value) is Tensor and value.requires_grad and value._fn is None


class Module(_BaseModule):
    """Base class of the PyTorch-shaped layers: subclasses call `super().__init__()`, assign
    parameters (tensors with requires_grad) and sub-modules to attributes and define
    `forward`; `module(x)` calls `forward(x)`."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def _registries(self) -> tuple:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() in __init__ before assigning "
                f"parameters or modules"
            )
        return d["_parameters"], d["_buffers"], d["_modules"]

    def __setattr__(self, name: str, value: Any) -> None:
        params, buffers, modules = self._registries()
        for registry in (params, buffers, modules):
            if name in registry and not (registry is buffers and isinstance(value, Tensor)):
                del registry[name]
        if name in buffers:
            buffers[name] = value
        elif _is_parameter(value):
            params[name] = value
        elif isinstance(value, _BaseModule):
            modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in self._registries():
            registry.pop(name, None)
        object.__delattr__(self, name)

    def __getattr__(self, name: str) -> Any:
        # Only reached when an attribute is missing: name it and the nearest ones.
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        hint = similar(name, [n for n in dir(self) if not n.startswith("_")])
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{hint}")

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """A tensor that is part of the module's state (saved by `state_dict`) but not trained."""
        params, buffers, modules = self._registries()
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None")
        params.pop(name, None)
        modules.pop(name, None)
        buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        params, buffers, modules = self._registries()
        if param is not None and not _is_parameter(param):
            raise TypeError(
                f"register_parameter: {name!r} must be a leaf Tensor with requires_grad=True"
            )
        buffers.pop(name, None)
        modules.pop(name, None)
        params[name] = param
        object.__setattr__(self, name, param)

    # -- calling --------------------------------------------------------------------------

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the tree -----------------------------------------------------------------

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, _BaseModule]]:
        yield prefix, self
        for name, m in self.__dict__["_modules"].items():
            sub = f"{prefix}.{name}" if prefix else name
            if isinstance(m, Module):
                yield from m.named_modules(sub)
            else:
                yield sub, m

    def modules(self) -> Iterator[_BaseModule]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, _BaseModule]]:
        yield from self.__dict__["_modules"].items()

    def children(self) -> list[_BaseModule]:
        return list(self.__dict__["_modules"].values())

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> list[tuple[str, Tensor]]:
        out: list = []
        seen: set = set()
        for mod_name, m in self.named_modules(prefix) if recurse else [(prefix, self)]:
            if isinstance(m, Module):
                items = m.__dict__["_parameters"].items()
            else:  # a micrograd.nn module inside this one
                items = m.named_parameters()
            for name, p in items:
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                out.append((f"{mod_name}.{name}" if mod_name else name, p))
        return out

    def parameters(self, recurse: bool = True) -> list[Tensor]:
        return [p for _, p in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        out = []
        for mod_name, m in self.named_modules(prefix):
            if isinstance(m, Module):
                for name, b in m.__dict__["_buffers"].items():
                    if b is not None:
                        out.append((f"{mod_name}.{name}" if mod_name else name, b))
        return out

    def buffers(self) -> list[Tensor]:
        return [b for _, b in self.named_buffers()]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = _const(np.zeros_like(p.grad.data))

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    # -- state ----------------------------------------------------------------------------

    def _state_items(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """PyTorch's order: each module's parameters, then its buffers, then its children's."""
        out = []
        d = self.__dict__
        for registry in (d["_parameters"], d["_buffers"]):
            for name, t in registry.items():
                if t is not None:
                    out.append((prefix + name, t))
        for name, m in d["_modules"].items():
            if isinstance(m, Module):
                out.extend(m._state_items(f"{prefix}{name}."))
            else:
                out.extend((f"{prefix}{name}.{n}", p) for n, p in m.named_parameters())
        return out

    def state_dict(self) -> OrderedDict:
        """`{name: tensor}` for every parameter and buffer, PyTorch's keys (`0.weight`,
        `1.running_mean`, ...); the tensors share the module's arrays (detached), as in
        PyTorch. `{k: v.numpy() for k, v in sd.items()}` gives numpy arrays."""
        return OrderedDict((name, _const(t.data)) for name, t in self._state_items())

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors, numpy arrays, PyTorch tensors) into the parameters and
        buffers of the same names. Every value is checked first (shape, finite numbers), so
        a bad dict raises ValueError and leaves the module unchanged."""
        if not hasattr(state_dict, "items"):
            raise TypeError(
                f"load_state_dict: expected a dict of name -> tensor, got "
                f"{type(state_dict).__name__}"
            )
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
            )
        updates = []
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            v = value.data if isinstance(value, Tensor) else value
            try:
                v = np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)
            except Exception as e:  # noqa: BLE001 - any unreadable value is reported by name
                raise ValueError(f"load_state_dict: {name!r} is not an array: {e}") from None
            if v.shape != t.data.shape:
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {v.shape}, the module needs "
                    f"{t.data.shape}"
                )
            if v.dtype.kind not in "biuf" or (v.dtype.kind == "f" and not np.isfinite(v).all()):
                raise ValueError(f"load_state_dict: {name!r} is not finite numbers")
            updates.append((t, v))
        for t, v in updates:
            t.data = np.array(v, dtype=t.data.dtype)
        return IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self.__dict__["_modules"].items():
            body = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


def _uniform(shape: tuple, bound: float, dtype: np.dtype) -> Tensor:
    data = _random.default_generator.uniform(shape, -bound, bound, dtype=dtype)
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


def _float_dtype(dtype: Any, owner: str) -> np.dtype:
    dt = np.dtype(np.float32) if dtype is None else _np_dtype(dtype, owner)
    if dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a float dtype, got {dt}")
    return dt


def _positive(n: Any, what: str, owner: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"{owner}: {what} must be a positive int, got {n!r}")
    return int(n)


class Linear(Module):
    """`y = x @ weight.T + bias`, weight of shape (out_features, in_features), both drawn from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as PyTorch initialises them. One graph node."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.in_features = _positive(in_features, "in_features", "Linear")
        self.out_features = _positive(out_features, "out_features", "Linear")
        dt = _float_dtype(dtype, "Linear")
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = _uniform((self.out_features, self.in_features), bound, dt)
        if bias:
            self.bias = _uniform((self.out_features,), bound, dt)
        else:
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:
        return linear_t(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


def linear_t(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`x @ weight.T + bias` as one node (PyTorch's `F.linear`: weight is (out, in))."""
    if type(x) is not Tensor:
        raise TypeError(f"linear: input must be a Tensor, got {type(x).__name__}")
    wd = weight.data
    if x.data.dtype != wd.dtype:
        x = _core._cast(x, wd.dtype)
    fn = _new(F.LinearT)
    try:
        if bias is None:
            prev: tuple = (x, weight)
            data = fn.forward(x.data, wd, None)
        else:
            prev = (x, weight, bias)
            data = fn.forward(x.data, wd, bias.data)
    except ValueError:
        shapes = f"{x.data.shape} with weight {weight.data.shape}" + (
            "" if bias is None else f" and bias {bias.data.shape}"
        )
        raise ValueError(f"linear: input {shapes} do not match") from None
    if _core._grad_enabled and (
        weight.requires_grad or x.requires_grad or (bias is not None and bias.requires_grad)
    ):
        return _node(data, prev, fn, "linear")
    return _const(data)


class Embedding(Module):
    """A table of `num_embeddings` rows of size `embedding_dim` (drawn from N(0, 1), as in
    PyTorch); `emb(idx)` is `weight[idx]` for an integer tensor idx of any shape."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype: Any = None) -> None:
        super().__init__()
        self.num_embeddings = _positive(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim", "Embedding")
        dt = _float_dtype(dtype, "Embedding")
        data = _random.default_generator.normal(
            (self.num_embeddings, self.embedding_dim), 0.0, 1.0, dtype=dt
        )
        self.weight = Tensor(np.asarray(data, dtype=dt), requires_grad=True)

    def forward(self, input: Any) -> Tensor:
        idx = input.data if isinstance(input, Tensor) else np.asarray(input)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(
                f"Embedding: index {bad} is out of range for {self.num_embeddings} embeddings"
            )
        return self.weight[_const(idx)]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class BatchNorm1d(Module):
    """Batch normalisation over the batch (and length) axis of inputs (N, C) or (N, C, L).

    In training mode each feature is normalised with the batch's mean and (biased) variance,
    and `running_mean` / `running_var` move towards them by `momentum` (the running variance
    uses the unbiased estimate, as in PyTorch); in eval mode the running statistics are used.
    `momentum=None` keeps a cumulative average instead."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_features = _positive(num_features, "num_features", "BatchNorm1d")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"BatchNorm1d: eps must be a positive number, got {eps!r}")
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = _float_dtype(dtype, "BatchNorm1d")
        n = self.num_features
        if self.affine:
            self.weight = Tensor(np.ones(n, dtype=dt), requires_grad=True)
            self.bias = Tensor(np.zeros(n, dtype=dt), requires_grad=True)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(n, dtype=dt), dtype=dt))
            self.register_buffer("running_var", Tensor(np.ones(n, dtype=dt), dtype=dt))
            self.register_buffer("num_batches_tracked", _const(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Tensor) -> Tensor:
        x = input
        if not isinstance(x, Tensor):
            raise TypeError(f"BatchNorm1d: input must be a Tensor, got {type(x).__name__}")
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got {x.data.shape}"
            )
        dims = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.shape[0] * (1 if x.ndim == 2 else x.shape[2])
            if n <= 1:
                raise ValueError(
                    f"BatchNorm1d: training needs more than one value per feature, got input "
                    f"{x.data.shape}"
                )
            mean = x.mean(dims, keepdim=True)
            var = x.var(dims, keepdim=True, correction=0)
            if self.training and self.track_running_stats:
                with no_grad():
                    self.num_batches_tracked += 1
                    m = self.momentum
                    if m is None:
                        m = 1.0 / float(self.num_batches_tracked.item())
                    unbiased = var.data.reshape(-1) * (n / (n - 1))
                    rm, rv = self.running_mean, self.running_var
                    rm.data = ((1 - m) * rm.data + m * mean.data.reshape(-1)).astype(rm.dtype)
                    rv.data = ((1 - m) * rv.data + m * unbiased).astype(rv.dtype)
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        out = (x - mean) / (var + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class ReLU(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.relu()


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.sigmoid()


class Flatten(Module):
    """Flatten axes `start_dim`..`end_dim` into one (by default all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied in order; `Sequential(a, b)` names them '0', '1' (an OrderedDict gives
    names). Indexing, slicing, `len` and iteration work as in PyTorch."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(args)]
        for name, m in items:
            if not isinstance(m, _BaseModule):
                raise TypeError(f"Sequential: {name} is a {type(m).__name__}, not a Module")
            setattr(self, name, m)

    def forward(self, input: Any) -> Any:
        for m in self.__dict__["_modules"].values():
            input = m(input)
        return input

    def append(self, module: _BaseModule) -> Sequential:
        if not isinstance(module, _BaseModule):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self.__dict__["_modules"])

    def __iter__(self) -> Iterator[_BaseModule]:
        return iter(self.__dict__["_modules"].values())

    def __getitem__(self, index: Any) -> Any:
        mods = list(self.__dict__["_modules"].items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(mods[index]))
        try:
            return mods[index][1]
        except (IndexError, TypeError):
            raise IndexError(f"Sequential: index {index!r} is out of range ({len(mods)})") from None
