"""`torch.optim.SGD`: stochastic gradient descent with momentum, dampening, Nesterov momentum and
weight decay, computed as torch's CPU code computes it (`_single_tensor_sgd`):

    g = -grad if maximize else grad
    g = g + weight_decay * p                                  (if weight_decay)
    buf = g (first step); then buf = momentum * buf + (1 - dampening) * g
    g = g + momentum * buf (nesterov) or buf                  (if momentum)
    p = p - lr * g
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from micrograd.tensor.factories import from_numpy
from micrograd.tensor.optim import _kernels as K
from micrograd.tensor.optim.optimizer import Optimizer, _hyper

__all__ = ["SGD"]


class SGD(Optimizer):
    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        lr = _hyper(lr, "lr", "SGD")
        momentum = _hyper(momentum, "momentum", "SGD")
        weight_decay = _hyper(weight_decay, "weight_decay", "SGD")
        if differentiable:
            raise NotImplementedError(
                "SGD: differentiable=True is not supported: updates are not recorded in the graph"
            )
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def step(self, closure: Any = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = self._loss_of(closure)
        for group in self.param_groups:
            if K.compiled is not None and self._step_compiled(group):
                continue
            lr, momentum = group["lr"], group["momentum"]
            dampening, weight_decay = group["dampening"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if group["maximize"]:
                    g = np.negative(g, out=np.empty_like(g))  # stays an array when 0-d
                if weight_decay != 0:
                    g = np.array(g, copy=True)
                    K.add_(g, p.data, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = from_numpy(np.array(g, copy=True))
                    else:
                        K.mul_(buf.data, momentum)
                        K.add_(buf.data, g, alpha=1 - dampening)
                    if group["nesterov"]:
                        g = np.array(g, copy=True)
                        K.add_(g, buf.data, alpha=momentum)
                    else:
                        g = buf.data
                K.add_(p.data, g, alpha=-lr)
        return loss

    def _step_compiled(self, group: dict) -> bool:
        """The group's update in one pass over each parameter's memory by the compiled kernel
        (`_coptim.c`: the operations above in the same order, so the same bits). Returns False,
        having changed nothing, when the arrays do not suit it (not contiguous float32 / float64
        arrays, a momentum buffer of another dtype or shape) or a parameter is listed twice (its
        updates must run one after the other); the numpy path above then runs."""
        params = [p for p in group["params"] if p.grad is not None]
        if len({id(p) for p in params}) < len(params):
            return False
        momentum = group["momentum"]
        grads, buffers, fresh = [], [], []
        for p in params:
            data, grad = p.data, p.grad.data
            if not K.suits_compiled(data) or not isinstance(grad, np.ndarray):
                return False
            if grad.dtype != data.dtype or grad.shape != data.shape:
                return False
            grads.append(np.ascontiguousarray(grad))
            if momentum != 0:
                buf = self.state[p].get("momentum_buffer") if p in self.state else None
                if buf is None:
                    fresh.append(True)
                    buffers.append(None)
                elif K.suits_compiled(buf.data, data):
                    fresh.append(False)
                    buffers.append(buf.data)
                else:
                    return False
        if momentum != 0:
            for i, p in enumerate(params):  # torch's first step: the buffer is the gradient
                if buffers[i] is None:
                    buf = from_numpy(np.empty_like(p.data))
                    self.state[p]["momentum_buffer"] = buf
                    buffers[i] = buf.data
        K.compiled.sgd_(
            [p.data for p in params],
            grads,
            buffers if momentum != 0 else None,
            fresh,
            group["weight_decay"],
            momentum,
            1 - group["dampening"],
            bool(group["nesterov"]),
            -group["lr"],
            bool(group["maximize"]),
        )
        return True
