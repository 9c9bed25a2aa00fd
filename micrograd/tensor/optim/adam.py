"""`torch.optim.Adam` and `torch.optim.AdamW`, computed as torch's CPU code computes them
(`_single_tensor_adam`, the default on the CPU), so the same steps give the same floats:

    t += 1
    p = p * (1 - lr * weight_decay)            AdamW (decoupled decay)
    g = g + weight_decay * p                    Adam (L2 penalty in the gradient)
    m = lerp(m, g, 1 - beta1)                   m + (1 - beta1) * (g - m)
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

with `max(v)` in place of `v` when `amsgrad`. State per parameter: `step` (a float32 0-d
Tensor, as torch keeps it), `exp_avg`, `exp_avg_sq` (and `max_exp_avg_sq`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from micrograd.tensor.errors import TorchIndexTypeError
from micrograd.tensor.factories import from_numpy
from micrograd.tensor.optim import _kernels as K
from micrograd.tensor.optim.optimizer import Optimizer, _hyper

__all__ = ["Adam", "AdamW"]

# elements per piece of a flat update: 64K float32s (256 KB, float64 temporaries 512 KB)
_PIECE = 1 << 16


def _check(lr, betas, eps, weight_decay, owner: str) -> tuple:
    lr = _hyper(lr, "lr", owner)
    eps = _hyper(eps, "eps", owner)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        # also an IndexError: PyTorch indexes betas[1] of a 1-tuple before any check
        raise TorchIndexTypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    for i, beta in enumerate(betas):
        beta = _hyper(beta, f"betas[{i}]", owner, low=-float("inf"))
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    weight_decay = _hyper(weight_decay, "weight_decay", owner)
    return lr, tuple(float(b) for b in betas), eps, weight_decay


class Adam(Optimizer):
    _owner = "Adam"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        owner = type(self).__name__
        lr, betas, eps, weight_decay = _check(lr, betas, eps, weight_decay, owner)
        if capturable:
            raise NotImplementedError(
                f"{owner}: capturable=True is not supported: it is for CUDA graphs, and this "
                f"engine runs on the CPU"
            )
        if differentiable:
            raise NotImplementedError(
                f"{owner}: differentiable=True is not supported: updates are not recorded in "
                f"the graph"
            )
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,  # accepted (nanoGPT passes it); the update is the same either way
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._loss_of(closure)
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if K.compiled is not None and self._step_compiled(group, params):
                continue
            if not self._step_flat(index, group, params):
                for p in params:
                    self._step_one(group, p)
        return loss

    def _step_compiled(self, group: dict, params: list) -> bool:
        """The update of `_step_one`, for the whole group in one call: the compiled kernel
        (`_coptim.c`) increments each parameter's step count, computes its bias corrections as
        torch does in Python floats, and makes one pass over its memory with the same
        operations in the same order (the same bits). It checks every array before it changes
        any; returns False, having changed nothing but a new parameter's zero state, when they
        do not suit it (not contiguous float32 / float64 arrays of the parameter's dtype and
        size, a step count that is not a float32 array, amsgrad without its state) or a
        parameter is listed twice (its steps must run one after the other); the numpy path
        then runs."""
        if len({id(p) for p in params}) < len(params):
            return False
        amsgrad = group["amsgrad"]
        states = []
        for p in params:
            state = self.state.get(p)
            if not state:  # torch's first-step state: a float32 step count and zero moments
                if not K.suits_compiled(p.data):
                    return False
                state = self.state[p]
                state["step"] = from_numpy(np.array(0.0, dtype=np.float32))
                state["exp_avg"] = from_numpy(np.zeros_like(p.data))
                state["exp_avg_sq"] = from_numpy(np.zeros_like(p.data))
                if amsgrad:
                    state["max_exp_avg_sq"] = from_numpy(np.zeros_like(p.data))
            states.append(state)
        lr, (beta1, beta2) = group["lr"], group["betas"]
        weight_decay = group["weight_decay"]
        if weight_decay == 0:
            mode, decay = 0, 0.0
        elif group["decoupled_weight_decay"]:
            mode, decay = 1, 1 - lr * weight_decay
        else:
            mode, decay = 2, weight_decay
        try:
            K.compiled.adam_(
                [p.data for p in params],
                [np.ascontiguousarray(p.grad.data) for p in params],
                [s["exp_avg"].data for s in states],
                [s["exp_avg_sq"].data for s in states],
                [s["max_exp_avg_sq"].data for s in states] if amsgrad else None,
                [s["step"].data for s in states],
                lr,
                beta1,
                beta2,
                group["eps"],
                mode,
                decay,
                bool(group["maximize"]),
            )
        except (KeyError, ValueError):  # a state entry missing or unsuitable: nothing changed
            return False
        return True

    def _step_one(self, group: dict, p: Any) -> None:
        """torch's single-tensor Adam on one parameter (the reference for `_step_flat`)."""
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = from_numpy(np.array(0.0, dtype=np.float32))
            state["exp_avg"] = from_numpy(np.zeros_like(p.data))
            state["exp_avg_sq"] = from_numpy(np.zeros_like(p.data))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = from_numpy(np.zeros_like(p.data))
        g = p.grad.data
        if group["maximize"]:
            g = np.negative(g, out=np.empty_like(g))  # stays an array when 0-d
        state["step"].data += np.float32(1)
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                K.mul_(p.data, 1 - lr * weight_decay)
            else:
                g = np.array(g, copy=True)
                K.add_(g, p.data, alpha=weight_decay)
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        K.lerp_(m, g, 1 - beta1)
        K.mul_(v, beta2)
        K.addcmul_(v, g, g, value=1 - beta2)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"].data
            np.maximum(vmax, v, out=vmax)
            v = vmax
        _adam_update(p.data, m, v, float(state["step"].data), lr, beta1, beta2, eps)

    def _step_flat(self, index: int, group: dict, params: list) -> bool:
        """The same update for a whole group at once, on one flat array per quantity: every
        operation of Adam is elementwise with the same numbers for each parameter (when all
        share a step count), so updating the parameters laid end to end gives the same floats
        as updating them one by one, with a few numpy calls per step instead of a dozen per
        parameter (a small transformer has some fifty parameters). The moments live in two
        flat arrays, and each parameter's `exp_avg` / `exp_avg_sq` state Tensor is a view into
        them, so `state_dict()` and the tensors users hold stay live. Returns False (the caller
        then updates one by one) for anything else: one parameter, amsgrad, mixed or non-float
        dtypes, a parameter listed twice, or different step counts."""
        if len(params) < 2 or group["amsgrad"]:
            return False
        dtype = params[0].data.dtype
        if dtype not in (np.float32, np.float64) or len({id(p) for p in params}) < len(params):
            return False
        steps = set()
        for p in params:
            if p.data.dtype != dtype or p.grad.data.dtype != dtype or not p.data.flags.writeable:
                return False
            state = self.state.get(p)
            steps.add(float(state["step"].data) if state else 0.0)
        if len(steps) > 1:
            return False
        flat = self._flat_moments(index, params, dtype)
        if flat is None:
            return False
        m, v, g, data = flat
        lr, (beta1, beta2) = group["lr"], group["betas"]
        eps, weight_decay = group["eps"], group["weight_decay"]
        # the gradients and parameters end to end, into arrays kept from step to step (fresh
        # arrays of this size would cost page faults every step)
        np.concatenate([p.grad.data.reshape(-1) for p in params], out=g)
        np.concatenate([p.data.reshape(-1) for p in params], out=data)
        if group["maximize"]:
            np.negative(g, out=g)
        step = np.float32(steps.pop()) + np.float32(1)
        for p in params:
            self.state[p]["step"].data[...] = step  # each its own 0-d Tensor, as torch's
        # in pieces: the exact fused multiply-adds make float64 temporaries of their operands'
        # size, which for a model of millions of parameters would be fresh arrays of tens of
        # megabytes (page faults on every step, out of the caches); a piece's stay in the cache
        for lo in range(0, len(g), _PIECE):
            part = slice(lo, lo + _PIECE)
            gp, dp, mp, vp = g[part], data[part], m[part], v[part]
            if weight_decay != 0:
                if group["decoupled_weight_decay"]:
                    K.mul_(dp, 1 - lr * weight_decay)
                else:
                    K.add_(gp, dp, alpha=weight_decay)
            K.lerp_(mp, gp, 1 - beta1)
            K.mul_(vp, beta2)
            K.addcmul_(vp, gp, gp, value=1 - beta2)
            _adam_update(dp, mp, vp, float(step), lr, beta1, beta2, eps)
        start = 0
        for p in params:
            n = p.data.size
            p.data[...] = data[start : start + n].reshape(p.data.shape)  # in place, as one by one
            start += n
        return True

    def _flat_moments(self, index: int, params: list, dtype: Any) -> tuple | None:
        """The flat `exp_avg` and `exp_avg_sq` arrays of group `index` for these parameters
        (and two arrays of their size for the gradients and the parameters' values),
        made (from their current state, or zeros) when the group's parameters or their state
        Tensors changed since the last step (a new group, `load_state_dict`, a state Tensor
        replaced). None when a state entry is not an array of its parameter's shape."""
        cache = self.__dict__.setdefault("_flat", {})
        ids = tuple(id(p) for p in params)
        known = cache.get(index)
        if known is not None and known[0] == ids:
            _, m, v, views, g, data = known
            if all(_holds(self.state.get(p), mv, vv) for p, (mv, vv) in zip(params, views)):
                return m, v, g, data
        moments = []
        for p in params:
            state = self.state.get(p)
            if not state:
                moments.append((None, None))
                continue
            pair = (state.get("exp_avg"), state.get("exp_avg_sq"))
            if any(t is None or np.shape(t.data) != p.data.shape for t in pair):
                return None
            moments.append((pair[0].data, pair[1].data))
        sizes = [p.data.size for p in params]
        m = np.zeros(sum(sizes), dtype)
        v = np.zeros(sum(sizes), dtype)
        views = []
        start = 0
        for p, n, (old_m, old_v) in zip(params, sizes, moments):
            mv = m[start : start + n].reshape(p.data.shape)
            vv = v[start : start + n].reshape(p.data.shape)
            state = self.state[p]
            if old_m is None:
                state["step"] = from_numpy(np.array(0.0, dtype=np.float32))
                state["exp_avg"], state["exp_avg_sq"] = from_numpy(mv), from_numpy(vv)
            else:
                mv[...], vv[...] = old_m, old_v
                state["exp_avg"].data, state["exp_avg_sq"].data = mv, vv
            views.append((mv, vv))
            start += n
        g, data = np.empty_like(m), np.empty_like(m)  # the step's gradients and parameters
        cache[index] = (ids, m, v, views, g, data)
        return m, v, g, data


def _holds(state: dict | None, m: np.ndarray, v: np.ndarray) -> bool:
    """Whether a parameter's state still holds these two arrays as its moments."""
    if not state or "exp_avg" not in state or "exp_avg_sq" not in state:
        return False
    return state["exp_avg"].data is m and state["exp_avg_sq"].data is v


def _adam_update(p, m, v, t: float, lr: float, beta1: float, beta2: float, eps: float) -> None:
    """p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps), in place, as torch's
    single-tensor Adam computes it."""
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr / bias_correction1
    denom = np.sqrt(v)
    denom /= denom.dtype.type(bias_correction2**0.5)
    denom += denom.dtype.type(eps)
    K.addcdiv_(p, m, denom, value=-step_size)


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first shrinks the parameter,
    `p *= 1 - lr * weight_decay`, then takes Adam's step on the plain gradient."""

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
