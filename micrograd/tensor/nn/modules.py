"""PyTorch-shaped layers for the tensor engine: `Module`, `Linear`, `Embedding`, `BatchNorm1d`, `Tanh`,
`ReLU`, `GELU`, `Sigmoid`, `Flatten`, `Sequential`.

Names, arguments, defaults, parameter names and shapes are PyTorch's, so model code and
`state_dict()` keys move across unchanged: `Linear.weight` is (out_features, in_features), a
`Sequential`'s keys are `0.weight`, `0.bias`, `1.running_mean`, ... . As in PyTorch, a `Module`
registers the `nn.Parameter`s (a Tensor subclass) and the Modules assigned to its attributes; a
plain Tensor attribute is not a parameter, even with `requires_grad=True`. Buffers
(`running_mean`, a causal mask) are registered with `register_buffer` (`persistent=False` keeps
one out of `state_dict()`). `parameters()`, `named_parameters()`, `modules()`, ... are
generators that list a shared (tied) parameter or module once, while `state_dict()` names it
under every key, and holds tensors that share the module's arrays. `apply(fn)` visits children
first; `to()`, `float()`, `double()` convert parameters in place (the same Parameter objects, so
an optimizer made earlier keeps them), their gradients and the buffers. Reprs are PyTorch's,
byte for byte. The containers `ModuleList` and `ModuleDict` are in `container.py`.

Initial weights are drawn through `nn.init` as PyTorch draws them, from `micrograd.tensor`'s
default generator: `torch.manual_seed(...)` gives PyTorch's very weights.

It builds on `micrograd.nn.Module`, so `micrograd.optim` trains these modules as it trains the
others. Read `micrograd/tensor/nn/functional.py` next.
"""

from __future__ import annotations

import math
import operator as _operator
from collections import OrderedDict, namedtuple
from collections.abc import Iterator
from typing import Any

import numpy as np

from micrograd.nn import Module as _BaseModule
from micrograd.tensor import core as _core
from micrograd.tensor import device as _device_mod
from micrograd.tensor import dtypes as _dtypes
from micrograd.tensor._missing import similar
from micrograd.tensor.core import Tensor, _const, _new, _np_dtype
from micrograd.tensor.errors import TorchDtypeError, TorchRuntimeError
from micrograd.tensor.nn import functional as _functional
from micrograd.tensor.nn import init as _init
from micrograd.tensor.nn.functional import linear_t

__all__ = [
    "GELU",
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


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict(..., strict=False)` returns, printed as PyTorch prints it."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()  # named after the class: _IncompatibleKeys(...)

    __str__ = __repr__


IncompatibleKeys = _IncompatibleKeys


class Parameter(Tensor):
    """A Tensor that is a module's parameter: assigned to a `Module` attribute it is registered
    (listed by `parameters()`, saved by `state_dict()`); a plain Tensor is not, as in PyTorch.

    `Parameter(t)` shares `t`'s array (no copy) and requires a gradient unless
    `requires_grad=False`; `Parameter()` is an empty float32 one. Operations on a Parameter give
    plain Tensors."""

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            raise TypeError(
                f"Parameter: data must be a Tensor, got {type(data).__name__} (wrap it in "
                f"torch.tensor(...) first)"
            )
        self.data = array
        self.grad = None
        self.requires_grad = _core._check_requires_grad(array, requires_grad)
        self._prev = ()
        self._fn = None
        self._op = ""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


def _is_parameter(value: Any) -> bool:
    return isinstance(value, Parameter)


def _type_name(value: Any) -> str:
    """The name PyTorch's messages give a value's type ('torch.FloatTensor' for a tensor)."""
    if isinstance(value, Tensor):
        names = {
            "float32": "Float",
            "float64": "Double",
            "int64": "Long",
            "int32": "Int",
            "bool": "Bool",
        }
        return f"torch.{names.get(str(value.data.dtype), '')}Tensor"
    return type(value).__name__


def _add_indent(text: str, spaces: int) -> str:
    """Every line but the first indented: how PyTorch nests a child module's repr."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(" " * spaces + line for line in rest)])


class Module(_BaseModule):
    """Base class of the PyTorch-shaped layers: subclasses call `super().__init__()`, assign
    parameters (`nn.Parameter`s), buffers (`register_buffer`) and sub-modules to attributes and
    define `forward`; `module(x)` calls `forward(x)`. A plain Tensor attribute is just an
    attribute, as in PyTorch."""

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        # buffers that `state_dict` leaves out (`register_buffer(..., persistent=False)`)
        object.__setattr__(self, "_non_persistent_buffers_set", set())
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
        # PyTorch's rules: a Parameter is registered as one (whatever the name held before);
        # a name that holds a parameter, a child module or a buffer accepts only its own kind
        # (or None) afterwards; anything else is an ordinary attribute. Registered values are
        # also kept as ordinary attributes, so reading `self.weight` costs no __getattr__ call.
        params, buffers, modules = self._registries()
        if isinstance(value, Parameter):
            buffers.pop(name, None)
            modules.pop(name, None)
            self.__dict__["_non_persistent_buffers_set"].discard(name)
            params[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                    f"(torch.nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, _BaseModule):
            params.pop(name, None)
            buffers.pop(name, None)
            self.__dict__["_non_persistent_buffers_set"].discard(name)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as child module '{name}' "
                    f"(torch.nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                    f"(torch.nn.Buffer, torch.Tensor or None expected)"
                )
            buffers[name] = value  # keeps its persistence, as in PyTorch
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        params, buffers, modules = self._registries()
        params.pop(name, None)
        buffers.pop(name, None)
        modules.pop(name, None)
        self.__dict__["_non_persistent_buffers_set"].discard(name)
        object.__delattr__(self, name)

    def _set_modules(self, items: list) -> None:
        """Replace the child modules by `items` ((name, module) pairs, in order): how the
        containers renumber their children after a deletion or an insertion."""
        modules = self.__dict__["_modules"]
        for name in modules:
            self.__dict__.pop(name, None)
        modules.clear()
        for name, module in items:
            modules[name] = module
            object.__setattr__(self, name, module)

    def __getattr__(self, name: str) -> Any:
        # Only reached when an attribute is missing: name it and the nearest ones.
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        hint = similar(name, [n for n in dir(self) if not n.startswith("_")])
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}{hint}")

    def _check_new_name(self, name: Any, kind: str, registry: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if name not in registry and name in dir(self):
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is part of the module's state but not trained (`running_mean`, a causal
        mask). `state_dict` saves it unless `persistent=False`; `to()` and `float()` convert it
        with the parameters; `named_buffers()` lists it."""
        params, buffers, modules = self._registries()
        self._check_new_name(name, "buffer", buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                f"(torch Tensor or None required)"
            )
        params.pop(name, None)
        modules.pop(name, None)
        buffers[name] = tensor
        if persistent:
            self.__dict__["_non_persistent_buffers_set"].discard(name)
        else:
            self.__dict__["_non_persistent_buffers_set"].add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (an `nn.Parameter`, or None for an absent one such as `bias`)."""
        params, buffers, modules = self._registries()
        self._check_new_name(name, "parameter", params)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                f"(torch.nn.Parameter or None required)"
            )
        buffers.pop(name, None)
        modules.pop(name, None)
        params[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: _BaseModule | None) -> None:
        if module is not None and not isinstance(module, _BaseModule):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        params, buffers, modules = self._registries()
        self._check_new_name(name, "module", modules)
        params.pop(name, None)
        buffers.pop(name, None)
        modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # -- calling --------------------------------------------------------------------------

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- walking the tree (generators, as in PyTorch) -------------------------------------

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, _BaseModule]]:
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self.__dict__["_modules"].items():
            if m is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            if isinstance(m, Module):
                yield from m.named_modules(memo, sub, remove_duplicate)
            elif not (remove_duplicate and id(m) in memo):
                memo.add(id(m))
                yield sub, m

    def modules(self) -> Iterator[_BaseModule]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, _BaseModule]]:
        seen: set = set()
        for name, m in self.__dict__["_modules"].items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[_BaseModule]:
        for _, m in self.named_children():
            yield m

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set = set()
        walk = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for mod_name, m in walk if recurse else [(prefix, self)]:
            if isinstance(m, Module):
                items = m.__dict__[registry].items()
            elif registry == "_parameters":  # a micrograd.nn module inside this one
                items = m.named_parameters()
            else:
                continue
            for name, t in items:
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def train(self, mode: bool = True) -> Module:
        """Training mode (BatchNorm uses batch statistics) for this module and all inside it."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004 - torch's type
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (the default), or zero it in place with
        `set_to_none=False` (a reference to the gradient sees the zeros, as in PyTorch)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
                continue
            grad = p.grad.detach() if p.grad.requires_grad else p.grad
            if isinstance(grad.data, np.ndarray) and grad.data.flags.writeable:
                grad.data[...] = 0
            else:
                grad.data = np.zeros_like(grad.data)
            p.grad = grad

    def num_parameters(self) -> int:
        return sum(p.data.size for p in self.parameters())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # -- applying functions and converting (PyTorch's `apply` / `_apply`) -----------------

    def apply(self, fn: Any) -> Module:
        """Call `fn(module)` on every child module (each one's own children first), then on
        this one; returns self. `model.apply(init_weights)` is how the GPT lectures and nanoGPT
        initialise their layers."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _apply(self, fn: Any) -> Module:
        """Convert every parameter, gradient and buffer with `fn` (a tensor -> tensor function),
        children first. As in PyTorch, a parameter stays the same object (its `.data` is
        replaced, so an optimizer built earlier still holds it) and a buffer is replaced by
        `fn`'s result."""
        for module in self.children():
            if isinstance(module, Module):
                module._apply(fn)
        d = self.__dict__
        with _core.no_grad():
            for param in d["_parameters"].values():
                if param is None:
                    continue
                converted = fn(param)
                if converted is not param:
                    param.data = converted.data
                if param.grad is not None:
                    grad = fn(param.grad)
                    if grad is not param.grad:
                        param.grad.data = grad.data
            buffers = d["_buffers"]
            for name, buf in buffers.items():
                if buf is not None:
                    buffers[name] = fn(buf)
                    object.__setattr__(self, name, buffers[name])
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """`to(device)`, `to(dtype)`, `to(device, dtype)`, `to(tensor)` (its dtype), with
        `non_blocking=` accepted: the floating-point parameters and buffers converted in place
        (integer buffers keep their dtype, as in PyTorch); only the CPU is available. Returns
        self."""
        if "copy" in kwargs:
            raise TypeError("to() got an unexpected keyword argument 'copy'")
        dtype, _ = _device_mod.parse_to_args(Tensor, args, kwargs)
        if dtype is not None and dtype.kind not in "fc":
            raise TypeError(
                f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={_torch_dtype_name(dtype)}"
            )
        if dtype is None:
            return self  # the CPU, where everything already is

        def convert(t: Tensor) -> Tensor:
            return t.to(dtype) if t.data.dtype.kind in "fc" else t

        return self._apply(convert)

    def cpu(self) -> Module:
        """Everything is on the CPU already: returns self."""
        return self

    def cuda(self, device: Any = None) -> Module:
        _device_mod.check_device("cuda" if device is None else device, "Module.cuda")
        return self

    def float(self) -> Module:
        """The floating-point parameters and buffers as float32 (in place; returns self)."""
        return self._apply(lambda t: t.float() if t.data.dtype.kind == "f" else t)

    def double(self) -> Module:
        """The floating-point parameters and buffers as float64 (in place; returns self)."""
        return self._apply(lambda t: t.double() if t.data.dtype.kind == "f" else t)

    def half(self) -> Module:
        """float16, refused as tensors refuse it (see `torch.float16`), naming the reason."""
        return self._apply(lambda t: t.to(_dtypes.float16) if t.data.dtype.kind == "f" else t)

    def bfloat16(self) -> Module:
        """bfloat16, refused as tensors refuse it (numpy has no bfloat16)."""
        return self._apply(lambda t: t.to(_dtypes.bfloat16) if t.data.dtype.kind == "f" else t)

    def type(self, dst_type: Any) -> Module:
        """Every parameter and buffer converted to `dst_type` (integer buffers too)."""
        return self._apply(lambda t: t.type(dst_type))

    # -- looking things up by dotted name ---------------------------------------------------

    def get_submodule(self, target: str) -> _BaseModule:
        """The module at `target` ('transformer.h.0.attn'); '' is this module."""
        if target == "":
            return self
        module: Any = self
        for item in target.split("."):
            if not isinstance(module, Module) or item not in module.__dict__["_modules"]:
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = module.__dict__["_modules"][item]
            if not isinstance(module, _BaseModule):
                raise AttributeError(f"`{item}` is not an nn.Module")  # noqa: TRY004 - torch's type
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at `target` ('transformer.wte.weight')."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")  # noqa: TRY004 - torch's
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at `target` ('transformer.h.0.attn.bias')."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{module._get_name()} has no attribute `{name}`")
        if name not in module.__dict__["_buffers"]:
            raise AttributeError(f"`{name}` is not a buffer")
        return module.__dict__["_buffers"][name]

    # -- state ----------------------------------------------------------------------------

    def _state_items(self, prefix: str = "") -> list[tuple[str, Tensor]]:
        """PyTorch's order: each module's parameters, then its buffers, then its children's."""
        out = []
        d = self.__dict__
        for name, t in d["_parameters"].items():
            if t is not None:
                out.append((prefix + name, t))
        transient = d["_non_persistent_buffers_set"]
        for name, t in d["_buffers"].items():
            if t is not None and name not in transient:
                out.append((prefix + name, t))
        for name, m in d["_modules"].items():
            if isinstance(m, Module):
                out.extend(m._state_items(f"{prefix}{name}."))
            elif m is not None:
                out.extend((f"{prefix}{name}.{n}", p) for n, p in m.named_parameters())
        return out

    def state_dict(
        self, *, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """`{name: tensor}` for every parameter and buffer, PyTorch's keys (`0.weight`,
        `1.running_mean`, ...). The values are detached tensors sharing the module's arrays,
        as in PyTorch: they show later training steps and loads (`keep_vars=True` gives the
        parameters themselves). `{k: v.numpy() for k, v in sd.items()}` gives numpy arrays."""
        out = OrderedDict() if destination is None else destination
        for name, t in self._state_items(prefix):
            out[name] = t if keep_vars else _const(t.data)
        return out

    def load_state_dict(
        self, state_dict: Any, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copy values (Tensors, PyTorch tensors, numpy arrays) into the parameters and buffers
        of the same names, in place (earlier `state_dict()` results see the new values), cast
        to each one's dtype. Every entry is checked first, so a bad dict raises RuntimeError in
        PyTorch's words and leaves the module unchanged; `strict=False` skips missing and
        unexpected keys and returns them."""
        if assign:
            raise NotImplementedError(
                "load_state_dict: assign=True (keeping the given tensors instead of copying "
                "them) is not supported; load with the default assign=False"
            )
        if not hasattr(state_dict, "items") or not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        # PyTorch loads a BatchNorm state saved before it counted batches (no
        # num_batches_tracked key) without complaint
        missing = [k for k in missing if not self._optional_key(k)]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        updates = []
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            if isinstance(value, Tensor):
                v = np.asarray(value.data)
            elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
                v = value.detach().cpu().numpy()
            elif isinstance(value, np.ndarray):
                v = value
            else:
                errors.append(
                    f'While copying the parameter named "{name}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(value)}"
                )
                continue
            if v.shape != t.data.shape:
                errors.append(
                    f"size mismatch for {name}: copying a param with shape "
                    f"{_size(v.shape)} from checkpoint, the shape in current model is "
                    f"{_size(t.data.shape)}."
                )
                continue
            updates.append((t, v))
        if strict:
            if unexpected:
                keys = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {keys}. ")
            if missing:
                keys = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {keys}. ")
        if errors:
            raise TorchRuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        for t, v in updates:
            _copy_into(t, v)
        return _IncompatibleKeys(missing, unexpected)

    def _optional_key(self, key: str) -> bool:
        return key.endswith("num_batches_tracked")

    # -- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (PyTorch's hook)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        """PyTorch's layout: `Linear(in_features=3, ...)`, children indented by two."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _add_indent(repr(m), 2) for name, m in self.__dict__["_modules"].items()
        ]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"


def _torch_dtype_name(dtype: np.dtype) -> str:
    try:
        return str(_dtypes.from_numpy_dtype(dtype))
    except TypeError:
        return str(dtype)


def _size(shape: tuple) -> str:
    return f"torch.Size({list(shape)})"


def _copy_into(t: Tensor, value: np.ndarray) -> None:
    """`t`'s values replaced by `value` in its own array (PyTorch's `copy_`), so every tensor
    sharing that array -- a state_dict taken earlier -- sees them."""
    data = t.data
    if isinstance(data, np.ndarray) and data.flags.writeable:
        np.copyto(data, value, casting="unsafe")
    else:
        t.data = np.array(value, dtype=data.dtype)


def _parameter(array: np.ndarray) -> Parameter:
    p = _new(Parameter)
    Parameter.__init__(p, _const(array))
    return p


def _float_dtype(dtype: Any, owner: str) -> np.dtype:
    dt = np.dtype(np.float32) if dtype is None else _np_dtype(dtype, owner)
    if dt.kind != "f":
        raise TypeError(f"{owner}: dtype must be a float dtype, got {dt}")
    return dt


def _check_cpu(device: Any, owner: str) -> None:
    """`device=` accepted for the CPU (None, 'cpu', torch-style device objects on the CPU)."""
    try:
        from micrograd.tensor.device import check_device
    except ImportError:  # the device module is not there yet: the same rule, locally
        if device is None or str(device) in ("cpu", "cpu:0"):
            return
        raise RuntimeError(
            f"{owner}: device={device!r} is not available: this engine computes on the CPU "
            f"only (use device='cpu', or leave device out)"
        ) from None
    check_device(device, owner)


def _refuse_options(owner: str, **options: tuple) -> None:
    """Refuse, naming it, any option given a value other than its default (each option is
    (value, default)): these are PyTorch options this engine does not implement."""
    for name, (value, default) in options.items():
        if value is not default and value != default:
            raise NotImplementedError(
                f"{owner}: {name}={value!r} is not supported by this engine (only the default "
                f"{name}={default!r})"
            )


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
        _check_cpu(device, "Linear")
        self.in_features = _positive(in_features, "in_features", "Linear")
        self.out_features = _positive(out_features, "out_features", "Linear")
        dt = _float_dtype(dtype, "Linear")
        self.weight = _parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if bias:
            self.bias = _parameter(np.empty(self.out_features, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's draws: the weight by kaiming_uniform_(a=sqrt(5)), U(-1/sqrt(in), 1/sqrt(in))
        up to rounding, computed as PyTorch computes the bound; then the bias from
        U(-1/sqrt(in), 1/sqrt(in))."""
        _init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = _init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            _init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return linear_t(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Embedding(Module):
    """A table of `num_embeddings` rows of size `embedding_dim` (drawn from N(0, 1), as in
    PyTorch); `emb(idx)` is `weight[idx]` for an integer tensor idx of any shape. `_weight`
    gives the table (shared, not copied) and `_freeze=True` keeps it out of training."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        _check_cpu(device, "Embedding")
        _refuse_options(
            "Embedding",
            padding_idx=(padding_idx, None),
            max_norm=(max_norm, None),
            scale_grad_by_freq=(scale_grad_by_freq, False),
            sparse=(sparse, False),
        )
        self.num_embeddings = _positive(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _positive(embedding_dim, "embedding_dim", "Embedding")
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dt = _float_dtype(dtype, "Embedding")
            shape = (self.num_embeddings, self.embedding_dim)
            self.weight = Parameter(_const(np.empty(shape, dtype=dt)), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            shape = (self.num_embeddings, self.embedding_dim)
            if not isinstance(_weight, Tensor) or tuple(_weight.shape) != shape:
                raise ValueError(
                    f"Embedding: _weight must be a Tensor of shape {shape}, got "
                    f"{getattr(_weight, 'shape', type(_weight).__name__)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """The table drawn from N(0, 1), as PyTorch draws it."""
        _init.normal_(self.weight)

    def forward(self, input: Any) -> Tensor:
        idx = input.data if isinstance(input, Tensor) else np.asarray(input)
        if idx.dtype.kind not in "iu":
            raise TorchDtypeError(
                f"Embedding: indices must be an integer tensor (Long or Int), got dtype {idx.dtype}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise IndexError(
                f"Embedding: index {bad} is out of range for {self.num_embeddings} embeddings"
            )
        return self.weight[_const(idx)]

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
        # (padding_idx, max_norm, ... would follow here; they are refused in __init__)


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
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        _check_cpu(device, "BatchNorm1d")
        self.num_features = _positive(num_features, "num_features", "BatchNorm1d")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"BatchNorm1d: eps must be a positive number, got {eps!r}")
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum!r}")
        # kept as given: PyTorch's repr prints eps=1 for an int
        self.eps = eps
        self.momentum = momentum
        self.affine = bool(affine)
        self.bias_enabled = self.affine and bool(bias)
        self.track_running_stats = bool(track_running_stats)
        dt = _float_dtype(dtype, "BatchNorm1d")
        n = self.num_features
        if self.affine:
            self.weight = _parameter(np.ones(n, dtype=dt))
        else:
            self.register_parameter("weight", None)
        if self.bias_enabled:
            self.bias = _parameter(np.zeros(n, dtype=dt))
        else:
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
        if x.ndim in (2, 3) and x.shape[1] != self.num_features:
            raise TorchRuntimeError(
                f"BatchNorm1d({self.num_features}): running_mean should contain "
                f"{x.shape[1]} elements not {self.num_features} (input {x.data.shape})"
            )
        if x.ndim not in (2, 3):
            raise ValueError(
                f"BatchNorm1d({self.num_features}): expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got {x.data.shape}"
            )
        own = self.weight if self.weight is not None else self.running_mean
        if own is not None and x.data.dtype != own.data.dtype:
            raise TorchRuntimeError(
                f"BatchNorm1d: mixed dtype (CPU): all inputs must share same datatype (input "
                f"{x.data.dtype}, the layer's {own.data.dtype})"
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
                # In place, as PyTorch updates them: a state_dict taken earlier shares these
                # arrays and shows the new statistics.
                count = self.num_batches_tracked
                _copy_into(count, count.data + 1)
                m = self.momentum
                if m is None:
                    m = 1.0 / float(count.data)
                unbiased = var.data.reshape(-1) * (n / (n - 1))
                rm, rv = self.running_mean, self.running_var
                _copy_into(rm, (1 - m) * rm.data + m * mean.data.reshape(-1))
                _copy_into(rv, (1 - m) * rv.data + m * unbiased)
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        out = (x - mean) / (var + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias_enabled}, "
            f"track_running_stats={self.track_running_stats}"
        )


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class ReLU(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _refuse_options("ReLU", inplace=(inplace, False))
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""

    def forward(self, input: Tensor) -> Tensor:
        return input.relu()


class GELU(Module):
    """GELU, x * Phi(x): `approximate='none'` (erf) or `'tanh'`, as `functional.gelu`. As in
    PyTorch, another string is only refused when the layer is called."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return _functional.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


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
    names). Indexing, slicing, assignment and deletion by position, `len`, iteration, `append`,
    `insert`, `extend`, `pop`, `+` and `*` work as in PyTorch (a deletion renumbers)."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            items = list(args[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(args)]
        for name, m in items:
            self.add_module(name, m)

    def forward(self, input: Any) -> Any:
        for m in self.__dict__["_modules"].values():
            input = m(input)
        return input

    def _key_at(self, index: Any) -> str:
        keys = list(self.__dict__["_modules"])
        index = _operator.index(index)
        if not -len(keys) <= index < len(keys):
            raise IndexError(f"index {index} is out of range")
        return keys[index]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self.__dict__["_modules"].items())[index]))
        return self.__dict__["_modules"][self._key_at(index)]

    def __setitem__(self, index: Any, module: _BaseModule) -> None:
        setattr(self, self._key_at(index), module)

    def __delitem__(self, index: Any) -> None:
        if isinstance(index, slice):
            for key in list(self.__dict__["_modules"])[index]:
                delattr(self, key)
        else:
            delattr(self, self._key_at(index))
        self._set_modules([(str(i), m) for i, m in enumerate(self.__dict__["_modules"].values())])

    def __len__(self) -> int:
        return len(self.__dict__["_modules"])

    def __iter__(self) -> Iterator[_BaseModule]:
        return iter(self.__dict__["_modules"].values())

    def __dir__(self) -> list[str]:
        return [key for key in super().__dir__() if not key.isdigit()]

    def append(self, module: _BaseModule) -> Sequential:
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: _BaseModule) -> Sequential:
        if not isinstance(module, _BaseModule):
            raise TypeError(
                f"Sequential.insert: module should be a Module, got {_type_name(module)}"
            )
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        modules = list(self.__dict__["_modules"].values())
        modules.insert(index, module)
        self._set_modules([(str(i), m) for i, m in enumerate(modules)])
        return self

    def extend(self, sequential: Any) -> Sequential:
        for layer in sequential:
            self.append(layer)
        return self

    def pop(self, key: Any) -> Any:
        value = self[key]
        del self[key]
        return value

    def __add__(self, other: Any) -> Sequential:
        if not isinstance(other, Sequential):
            raise ValueError(  # noqa: TRY004 - torch's type
                f"add operator supports only objects of Sequential class, but {type(other)} is "
                f"given."
            )
        return Sequential(*self, *other)

    def __iadd__(self, other: Any) -> Sequential:  # noqa: PYI034
        if not isinstance(other, Sequential):
            raise ValueError(  # noqa: TRY004 - torch's type
                f"add operator supports only objects of Sequential class, but {type(other)} is "
                f"given."
            )
        return self.extend(list(other))

    def _repeats(self, times: Any) -> list:
        if not isinstance(times, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(times)}")
        if times <= 0:
            raise ValueError(f"Non-positive multiplication factor {times} for {type(self)}")
        return list(self) * times

    def __mul__(self, times: Any) -> Sequential:
        return Sequential(*self._repeats(times))

    __rmul__ = __mul__

    def __imul__(self, times: Any) -> Sequential:  # noqa: PYI034
        modules = self._repeats(times)
        self._set_modules([(str(i), m) for i, m in enumerate(modules)])
        return self
