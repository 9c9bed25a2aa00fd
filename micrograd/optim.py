"""Optimizers (`SGD`, `Adam`, `AdamW`) and learning-rate schedules, as in `torch.optim`.

An optimizer holds a list of parameters and updates them from their gradients:

    opt = SGD(model.parameters(), lr=0.1)
    for step in range(100):
        loss = ...
        opt.zero_grad()
        loss.backward()
        opt.step()

It touches only `p.data` and `p.grad`, with arithmetic that works the same on Python floats and
numpy arrays (`** 0.5`, never `math.sqrt`), so the scalar `Value` and the numpy `Tensor` share
these optimizers. A parameter whose `grad` is None has no gradient and is skipped. State
(momentum buffers, Adam's moments) lives in the optimizer, in lists indexed like `params`, never
on the parameters; state is always a new object, never a reference to a `p.grad` array that the
engine might later change in place.

Plain `SGD` does exactly `p.data -= lr * p.grad`, and `LinearDecay(opt, 100)` gives the demo's
`1.0 - 0.9*k/100`, so the original demo's floats reproduce. The update formulas are PyTorch's
(tests compare step by step). Only the standard library is used. Read `micrograd/data.py` next.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adam",
    "AdamW",
    "Constant",
    "CosineDecay",
    "LinearDecay",
    "Optimizer",
    "Schedule",
    "StepDecay",
    "make_optimizer",
    "make_schedule",
]


def _number(
    value: object,
    name: str,
    owner: str,
    low: float = 0.0,
    high: float | None = None,
    high_open: bool = False,
) -> float:
    """A finite real number in [low, high] (or [low, high) with `high_open`), else ValueError."""
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= low
        and (high is None or (value < high if high_open else value <= high))
    )
    if not ok:
        if high is None:
            want = f">= {low:g}"
        else:
            want = f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{owner}: {name} must be a number {want}, got {value!r}")
    return value  # type: ignore[return-value]


def _positive_int(value: object, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def _copy(x: Any) -> Any:
    """A snapshot of a gradient: floats are immutable, arrays are copied."""
    return x.copy() if hasattr(x, "copy") else x


class Optimizer:
    """Base class: the parameter list, the learning rate, `zero_grad()` and `step()`.

    `params` is an iterable of parameters (objects with `.data` and `.grad`) or a model with a
    `parameters()` method. Subclasses implement `_update(i, p, g)` for one parameter."""

    def __init__(self, params: Iterable[Any] | Any, lr: float) -> None:
        owner = type(self).__name__
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{owner}: params must be an iterable of parameters or a model, "
                f"got {type(params).__name__}"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{owner}: got an empty parameter list")
        seen: dict[int, int] = {}
        for i, p in enumerate(params):
            if not (hasattr(p, "data") and hasattr(p, "grad")):
                raise TypeError(
                    f"{owner}: parameter {i} is a {type(p).__name__}, which has no .data/.grad"
                )
            if id(p) in seen:
                raise ValueError(
                    f"{owner}: parameter {i} is the same object as parameter {seen[id(p)]}; "
                    f"it would be updated twice per step"
                )
            seen[id(p)] = i
        self.params = params
        self.lr = _number(lr, "lr", owner)
        self.steps = 0  # number of step() calls

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Reset every gradient: to 0 (numbers) or an array of zeros (numpy), or to None with
        `set_to_none=True` (for engines that treat None as "no gradient yet")."""
        for p in self.params:
            g = p.grad
            if set_to_none:
                p.grad = None
            elif g is None:
                continue  # no gradient yet: nothing to reset
            elif isinstance(g, numbers.Number):
                p.grad = 0  # as the original's `p.grad = 0`
            else:
                import numpy  # only reached when gradients are arrays, so numpy is loaded

                p.grad = numpy.zeros_like(g)

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.steps += 1
        for i, p in enumerate(self.params):
            g = p.grad
            if g is not None:
                if hasattr(g, "numpy"):  # a tensor engine's gradient Tensor: update with its array
                    g = g.numpy()
                self._update(i, p, g)

    def _update(self, i: int, p: Any, g: Any) -> None:
        raise NotImplementedError

    # -- saving and restoring ----------------------------------------------------------------

    _hyper: tuple[str, ...] = ("lr",)
    _state: tuple[str, ...] = ()

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and per-parameter state (lists indexed like `params`), copied."""
        return {
            "type": type(self).__name__,
            "steps": self.steps,
            "hyper": {name: getattr(self, name) for name in self._hyper},
            "state": {name: [_copy(s) for s in getattr(self, name)] for name in self._state},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` output (also after a JSON round trip); everything is checked
        first, hyper-parameters by the constructor's own checks, so a bad dict raises ValueError
        and changes nothing."""
        owner = type(self).__name__
        where = f"{owner}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != owner:
            got = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{where}: this is the state of a {got}")
        hyper, saved = state.get("hyper"), state.get("state")
        for part, value in (("hyper", hyper), ("state", saved)):
            if not isinstance(value, dict):  # saved state is data: a bad one is a ValueError
                raise ValueError(f"{where}: {part!r} must be a dict, got {type(value).__name__}")  # noqa: TRY004
        missing = [name for name in self._hyper if name not in hyper]
        if missing:
            raise ValueError(f"{where}: missing hyper-parameters {missing}")
        try:  # a throwaway optimizer runs every check the constructor makes (and converts)
            checked = type(self)(self.params, **{name: hyper[name] for name in self._hyper})
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None
        for name in self._state:
            entries = saved.get(name)
            if not isinstance(entries, list) or len(entries) != len(self.params):
                raise ValueError(
                    f"{where}: state {name!r} must list {len(self.params)} entries, "
                    f"one per parameter"
                )
            for i, entry in enumerate(entries):
                problem = self._check_state_entry(name, entry)
                if problem:
                    raise ValueError(f"{where}: state {name!r}[{i}] is {entry!r}, {problem}")
        steps = state.get("steps", 0)
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
            raise ValueError(f"{where}: steps must be an int >= 0, got {steps!r}")
        for name in self._hyper:
            setattr(self, name, getattr(checked, name))
        for name in self._state:
            setattr(self, name, [_copy(s) for s in saved[name]])
        self.steps = int(steps)

    def _check_state_entry(self, name: str, entry: Any) -> str | None:
        """Why `entry` cannot be a value of the per-parameter state `name`, or None if it can:
        a number, or an array (the numpy engine's state)."""
        if hasattr(entry, "shape"):
            return None
        if isinstance(entry, bool) or not isinstance(entry, numbers.Real):
            return "not a number or an array"
        return None

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._hyper)
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight
    decay, exactly as `torch.optim.SGD`:

        g = grad + weight_decay * p
        buf = g (first step), then buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf (nesterov) or buf
        p -= lr * g

    With the defaults this is the original demo's `p.data -= lr * p.grad`, bit for bit."""

    _hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay")
    _state = ("buffers",)

    def __init__(
        self,
        params: Iterable[Any] | Any,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "momentum", "SGD")
        self.dampening = _number(dampening, "dampening", "SGD")
        self.weight_decay = _number(weight_decay, "weight_decay", "SGD")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening == 0")
        self.buffers: list[Any] = [None] * len(self.params)

    def _check_state_entry(self, name: str, entry: Any) -> str | None:
        # None: no momentum buffer yet (the parameter has not had a gradient)
        return None if entry is None else super()._check_state_entry(name, entry)

    def _update(self, i: int, p: Any, g: Any) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p.data
        if self.momentum:
            buf = self.buffers[i]
            if buf is None:
                buf = _copy(g)
            else:
                buf = self.momentum * buf + (1 - self.dampening) * g
            self.buffers[i] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        p.data -= self.lr * g


def _check_betas(betas: object, owner: str) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), got {betas!r}")
    return (
        _number(betas[0], "betas[0]", owner, 0.0, 1.0, high_open=True),
        _number(betas[1], "betas[1]", owner, 0.0, 1.0, high_open=True),
    )


class Adam(Optimizer):
    """Adam (Kingma & Ba), as `torch.optim.Adam`; `weight_decay` adds `weight_decay * p` to the
    gradient (L2), for decoupled decay use `AdamW`:

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    `t` counts the steps in which this parameter had a gradient."""

    _hyper = ("lr", "betas", "eps", "weight_decay")
    _state = ("m", "v", "t")

    def __init__(
        self,
        params: Iterable[Any] | Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        owner = type(self).__name__
        self.betas = _check_betas(betas, owner)
        self.eps = _number(eps, "eps", owner)
        if self.eps == 0:  # it keeps the step finite where a gradient (so v) is 0
            raise ValueError(f"{owner}: eps must be > 0, got {eps!r}")
        self.weight_decay = _number(weight_decay, "weight_decay", owner)
        n = len(self.params)
        self.m: list[Any] = [0.0] * n
        self.v: list[Any] = [0.0] * n
        self.t: list[int] = [0] * n

    def _check_state_entry(self, name: str, entry: Any) -> str | None:
        if name == "t":
            ok = not isinstance(entry, bool) and isinstance(entry, numbers.Integral) and entry >= 0
            return None if ok else "not a step count (an int >= 0)"
        return super()._check_state_entry(name, entry)

    def _decay(self, p: Any, g: Any) -> Any:
        """Adam folds weight decay into the gradient; AdamW overrides this."""
        return g + self.weight_decay * p.data if self.weight_decay else g

    def _update(self, i: int, p: Any, g: Any) -> None:
        g = self._decay(p, g)
        beta1, beta2 = self.betas
        m = self.m[i] = beta1 * self.m[i] + (1 - beta1) * g
        v = self.v[i] = beta2 * self.v[i] + (1 - beta2) * (g * g)
        t = self.t[i] = self.t[i] + 1
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        denom = v**0.5 / bias_correction2**0.5 + self.eps
        p.data -= (self.lr / bias_correction1) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`: each step
    first shrinks the parameter, `p *= 1 - lr * weight_decay`, then takes Adam's step on the
    plain gradient."""

    def __init__(
        self,
        params: Iterable[Any] | Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)

    def _decay(self, p: Any, g: Any) -> Any:
        if self.weight_decay:
            p.data *= 1 - self.lr * self.weight_decay
        return g


# -- learning-rate schedules ------------------------------------------------------------------


class Schedule:
    """Sets `optimizer.lr` from a step count: `lr_at(k)` is the rate of the k-th update (k = 0
    first). Creating the schedule sets `lr_at(0)`; call `.step()` after each `optimizer.step()`.

        sched = LinearDecay(opt, total_steps=100)
        for k in range(100):
            ...; opt.step(); sched.step()
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not hasattr(optimizer, "lr"):
            raise TypeError(
                f"{type(self).__name__}: expected an optimizer (an object with .lr), "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.k = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, k: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance one step; sets and returns the new learning rate."""
        self.k += 1
        self.optimizer.lr = self.lr_at(self.k)
        return self.optimizer.lr

    @property
    def lr(self) -> float:
        return self.lr_at(self.k)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_lr={self.base_lr!r}, k={self.k})"


class Constant(Schedule):
    """The learning rate never changes."""

    def lr_at(self, k: int) -> float:
        return self.base_lr


class LinearDecay(Schedule):
    """From `base_lr` down to `base_lr * end_factor` in a straight line over `total_steps`, then
    flat: `base_lr * (1 - (1 - end_factor) * k / total_steps)`. The original demo's schedule
    (`1.0 - 0.9*k/100`) is `LinearDecay(opt, 100)` with lr 1.0, float for float."""

    def __init__(self, optimizer: Optimizer, total_steps: int, end_factor: float = 0.1) -> None:
        self.total_steps = _positive_int(total_steps, "total_steps", "LinearDecay")
        self.end_factor = _number(end_factor, "end_factor", "LinearDecay")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        k = min(k, self.total_steps)
        return self.base_lr * (1 - (1 - self.end_factor) * k / self.total_steps)


class StepDecay(Schedule):
    """Multiply the rate by `gamma` every `step_size` steps: `base_lr * gamma ** (k // step_size)`."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int(step_size, "step_size", "StepDecay")
        self.gamma = _number(gamma, "gamma", "StepDecay")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        return self.base_lr * self.gamma ** (k // self.step_size)


class CosineDecay(Schedule):
    """Half a cosine from `base_lr` down to `min_lr` over `total_steps`, then flat:
    `min_lr + (base_lr - min_lr) * (1 + cos(pi * k / total_steps)) / 2`."""

    def __init__(self, optimizer: Optimizer, total_steps: int, min_lr: float = 0.0) -> None:
        self.total_steps = _positive_int(total_steps, "total_steps", "CosineDecay")
        self.min_lr = _number(min_lr, "min_lr", "CosineDecay")
        super().__init__(optimizer)

    def lr_at(self, k: int) -> float:
        k = min(k, self.total_steps)
        cos = math.cos(math.pi * k / self.total_steps)
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + cos) / 2


# -- by name, for the command line ------------------------------------------------------------

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "linear": LinearDecay,
    "step": StepDecay,
    "cosine": CosineDecay,
}


def make_optimizer(name: str, params: Iterable[Any] | Any, lr: float, **kwargs: Any) -> Optimizer:
    """`OPTIMIZERS[name](params, lr=lr, **kwargs)`, with a ValueError listing the names."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr, **kwargs)


def make_schedule(name: str, optimizer: Optimizer, total_steps: int, **kwargs: Any) -> Schedule:
    """A schedule by name over a run of `total_steps` updates. Defaults: 'linear' ends at 0.1x
    (the demo's), 'step' divides by 10 every third of the run, 'cosine' ends at 0."""
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    if name == "constant":
        return Constant(optimizer, **kwargs)
    if name == "step":
        total_steps = _positive_int(total_steps, "total_steps", "make_schedule")
        kwargs.setdefault("step_size", max(1, total_steps // 3))
        return StepDecay(optimizer, **kwargs)
    return SCHEDULES[name](optimizer, total_steps, **kwargs)  # type: ignore[call-arg]
