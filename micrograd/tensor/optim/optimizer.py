"""`torch.optim.Optimizer` for `micrograd.tensor`: parameter groups, per-parameter state, saving.

A PyTorch training script talks to its optimizer through a small surface, and this module gives
it in torch's shape so scripts run unchanged:

    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)           # or a list of group dicts
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    for g in opt.param_groups: g["lr"] = lr                         # nanoGPT's schedule
    ckpt = {"optimizer": opt.state_dict()}; opt.load_state_dict(ckpt["optimizer"])

`param_groups` is a list of dicts (`params` plus the hyper-parameters); `state` maps each
parameter to a dict of Tensors (`step`, `exp_avg`, ...). `state_dict()` has torch's layout
(parameters numbered in group order, state keyed by those numbers), so a checkpoint dict made here
has the same keys and values as one made by torch.

The update rules (in `sgd.py`, `adam.py`) work in place on the numpy arrays behind the Tensors.
The scalar engine's optimizers are `micrograd.optim`; these are the tensor engine's.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from micrograd.tensor.core import Tensor
from micrograd.tensor.factories import from_numpy

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """The default of a hyper-parameter a subclass must be given (torch's `required`)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: holds `param_groups` and `state`; subclasses implement `step()`.

    params: an iterable of Tensors, of `(name, Tensor)` pairs, or of dicts each holding a
    `params` list and any hyper-parameters that differ from `defaults` for that group.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                f"dicts, but got {type(params).__name__}"
            )
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ---------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with `params`), filling in the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = []
        if params and isinstance(params[0], tuple):  # named_parameters()
            names = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}"
                )
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            import warnings

            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, "
                "this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (torch's default) or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure: Any = None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _loss_of(self, closure: Any) -> Any:
        """`step(closure)`: re-evaluate the model and return the loss, before the update. The
        updates work on the arrays directly, so no graph is built whatever the grad mode."""
        return None if closure is None else closure()

    # -- saving and restoring -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: `{"state": {index: {...}}, "param_groups": [{..., "params": [index,
        ...]}]}`, parameters numbered in group order. The state Tensors are the live ones, as in
        torch (copy the dict, e.g. by saving it, to keep a snapshot)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore `state_dict()` output (ours or torch's): groups must match in number and size.
        State Tensors are copied into the parameters' dtypes (a float64 checkpoint loads into
        float32 parameters, as in torch)."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise TypeError("load_state_dict expects a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for ours, theirs in zip(self.param_groups, saved_groups):
            if len(ours["params"]) != len(theirs["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        id_map = {
            saved: p
            for ours, theirs in zip(self.param_groups, saved_groups)
            for saved, p in zip(theirs["params"], ours["params"])
        }
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict.get("state", {}).items():
            if key not in id_map:
                continue
            param = id_map[key]
            state[param] = {name: _cast_state(name, v, param) for name, v in value.items()}
        new_groups = []
        for ours, theirs in zip(self.param_groups, saved_groups):
            group = {k: copy.deepcopy(v) for k, v in theirs.items() if k != "params"}
            group["params"] = ours["params"]
            new_groups.append(group)
        self.state = state
        self.param_groups = new_groups

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        text = f"{type(self).__name__} ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"


def _cast_state(name: str, value: Any, param: Tensor) -> Any:
    """A saved state entry as a Tensor of this parameter's dtype; `step` stays float32 as in
    torch (a 0-d Tensor), numbers stay numbers."""
    if not isinstance(value, Tensor):
        return value
    if name == "step":
        return from_numpy(np.array(value.data, dtype=np.float32))
    return from_numpy(np.array(value.data, dtype=param.data.dtype))


def _hyper(value: Any, name: str, owner: str, low: float = 0.0) -> float:
    """A hyper-parameter as a float, with torch's `Invalid ... value` ValueError."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    if not (value >= low) or math.isnan(value):
        raise ValueError(f"Invalid {_LABELS.get(name, name + ' value')}: {value}")
    return value


# torch's wording of the `Invalid ...: value` errors
_LABELS = {"lr": "learning rate", "eps": "epsilon value", "weight_decay": "weight_decay value"}


def _refuse(flag: bool, name: str, owner: str, why: str) -> None:
    if flag:
        raise NotImplementedError(f"{owner}: {name}=True is not supported: {why}")
