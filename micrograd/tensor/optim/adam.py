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

from micrograd.tensor.factories import from_numpy
from micrograd.tensor.optim import _kernels as K
from micrograd.tensor.optim.optimizer import Optimizer, _hyper

__all__ = ["Adam", "AdamW"]


def _check(lr, betas, eps, weight_decay, owner: str) -> tuple:
    lr = _hyper(lr, "lr", owner)
    eps = _hyper(eps, "eps", owner)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
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
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
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
                t = float(state["step"].data)
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                step_size = lr / bias_correction1
                if group["amsgrad"]:
                    vmax = state["max_exp_avg_sq"].data
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                denom = np.sqrt(v)
                denom /= denom.dtype.type(bias_correction2**0.5)
                denom += denom.dtype.type(eps)
                K.addcdiv_(p.data, m, denom, value=-step_size)
        return loss


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
