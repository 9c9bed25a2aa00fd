"""`torch.amp`: mixed precision as PyTorch has it on a machine without a GPU.

Training scripts such as nanoGPT's build an `autocast` context for their forward pass and a
`GradScaler` for their backward pass, and decide from `torch.cuda.is_available()` whether either
does anything. This module gives them what PyTorch 2.13 gives them on a CPU-only machine:

- `autocast(device_type="cuda", ...)` warns that CUDA is not available and does nothing;
  `autocast(device_type="cpu", dtype=torch.float32)` warns that the dtype is not supported on
  the CPU and does nothing; `enabled=False` does nothing. Each works as a context manager and as
  a decorator.
- A real CPU autocast (`device_type="cpu"` with bfloat16, its default, or float16) is refused:
  PyTorch would run matrix products and linear layers in that dtype, and this engine computes in
  float32 and float64 only (see `micrograd/tensor/dtypes.py`).
- `GradScaler("cuda", enabled=True)` (and `torch.cuda.amp.GradScaler(enabled=True)`) warns that
  CUDA is not available and disables itself; a disabled scaler passes everything through:
  `scale(x)` is `x`, `step(opt)` is `opt.step()`, `state_dict()` is `{}`, and `unscale_`,
  `update`, `load_state_dict` do nothing.
- `GradScaler("cpu", enabled=True)` scales as PyTorch's does on the CPU: the loss times a float32
  scale (65536 at first), gradients multiplied by its float32 reciprocal and checked for
  infinities and NaNs, the optimizer step skipped when one is found, the scale halved then (and
  doubled after `growth_interval` clean steps).
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Iterable
from enum import Enum
from typing import Any

import numpy as np

from micrograd.tensor import dtypes
from micrograd.tensor.core import Tensor, no_grad

__all__ = ["GradScaler", "autocast"]


class ScalerUsageError(RuntimeError, AssertionError):
    """PyTorch raises AssertionError for a scaler used out of order (update() before any step,
    step() before scale()) and for bad factors; code may catch either type."""


# The device types PyTorch's autocast knows; only "cpu" and "cuda" mean something here.
_AUTOCAST_DEVICES = ("cpu", "cuda", "mps", "xpu", "hpu", "xla", "mtia", "maia", "ipu")


class autocast:
    """`torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`: on this
    CPU-only engine a context manager (and decorator) that changes nothing, with PyTorch's
    warnings where PyTorch disables itself; a real CPU autocast to bfloat16/float16 is refused.
    """

    def __init__(
        self,
        device_type: str,
        dtype: dtypes.dtype | None = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(  # noqa: TRY004 (PyTorch's type)
                f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
            )
        if device_type not in _AUTOCAST_DEVICES:
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'"
            )
        if device_type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"autocast(device_type={device_type!r}): micrograd.tensor runs on the CPU only"
            )
        # PyTorch's defaults: float16 on CUDA, bfloat16 on the CPU
        self.fast_dtype = (
            dtype
            if dtype is not None
            else (dtypes.float16 if device_type == "cuda" else dtypes.bfloat16)
        )
        self.device = device_type
        self._cache_enabled = True if cache_enabled is None else cache_enabled
        if enabled and device_type == "cuda":
            warnings.warn(
                "CUDA is not available or torch_xla is imported. Disabling autocast.",
                stacklevel=2,
            )
            enabled = False
        elif enabled and self.fast_dtype not in (dtypes.bfloat16, dtypes.float16):
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                stacklevel=2,
            )
            enabled = False
        elif enabled:
            raise NotImplementedError(
                f"autocast(device_type='cpu', dtype={self.fast_dtype}) would compute matrix "
                f"products in {self.fast_dtype.name}; micrograd.tensor computes in float32 and "
                "float64 only: pass enabled=False (or leave autocast out) to train in float32"
            )
        self._enabled = enabled

    def __enter__(self):  # returns self, as PyTorch's does
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> bool:
        return False  # exceptions propagate

    def __call__(self, func):
        """As a decorator: run `func` inside this (no-op) autocast region."""

        @functools.wraps(func)
        def in_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return in_autocast


class OptState(Enum):
    """Where an optimizer is in the scaler's iteration: nothing done, gradients unscaled, stepped."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_optimizer_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf": None}


class GradScaler:
    """`torch.amp.GradScaler(device="cuda", init_scale=2.0**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)`: see the module docstring."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        self._device = device
        self._enabled = enabled
        if device == "cuda" and enabled:
            warnings.warn(
                "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                stacklevel=2,
            )
            self._enabled = False
        elif device != "cpu" and enabled:
            raise RuntimeError(f"GradScaler({device!r}): micrograd.tensor runs on the CPU only")
        if self._enabled:
            if growth_factor <= 1.0:
                raise ScalerUsageError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise ScalerUsageError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale: Tensor | None = None  # float32, made by the first scale()
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: int | None = None
            self._per_optimizer_states: defaultdict[int, dict[str, Any]] = defaultdict(
                _fresh_optimizer_state
            )

    # -- the iteration: scale, (unscale_), step, update ------------------------------------------

    def scale(self, outputs):
        """`outputs` (a tensor, or a list/tuple/iterable of them) times the current scale; the
        outputs themselves when disabled."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = Tensor(np.array(self._init_scale, dtype=np.float32))
            self._growth_tracker = self._init_growth_tracker

        def apply(value):
            if isinstance(value, Tensor):
                return value * self._scale
            if isinstance(value, Iterable):
                scaled = map(apply, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def _check_started(self, funcname: str) -> None:
        if self._scale is None:
            raise ScalerUsageError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration."
            )

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale (in place: times its float32
        reciprocal, as PyTorch's kernel does) and note whether any is infinite or NaN."""
        if not self._enabled:
            return
        self._check_started("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # PyTorch: scale.double().reciprocal().float()
        inv_scale = np.float32(1.0 / np.float64(self._scale.data))
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad = param.grad.data
                    found_inf = found_inf or not bool(np.isfinite(grad).all())
                    grad *= inv_scale.astype(grad.dtype)
        state["found_inf"] = found_inf
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer, *args: Any, **kwargs: Any):
        """`optimizer.step()` unless the (unscaled) gradients hold an infinity or a NaN; returns
        what `step` returns (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_started("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Halve the scale (backoff_factor) after a step with an infinity or NaN, grow it
        (growth_factor) after growth_interval clean steps in a row; or set it to `new_scale`."""
        if not self._enabled:
            return
        self._check_started("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise ScalerUsageError(
                        "new_scale should be a float or a 1-element torch.FloatTensor with "
                        "requires_grad=False."
                    )
                new_scale = float(new_scale.item())
            self._scale = Tensor(np.array(new_scale, dtype=np.float32))
        else:
            found = [
                s["found_inf"]
                for s in self._per_optimizer_states.values()
                if s["found_inf"] is not None
            ]
            if not found:
                raise ScalerUsageError("No inf checks were recorded prior to update.")
            scale = np.float64(self._scale.data)
            # PyTorch's _amp_update_scale_ kernel: float scale times double factor, to float
            if any(found):
                scale = np.float32(scale * self._backoff_factor)
                self._growth_tracker = 0
            elif self._growth_tracker + 1 == self._growth_interval:
                grown = np.float32(scale * self._growth_factor)
                if np.isfinite(grown):
                    scale = grown
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
            self._scale = Tensor(np.array(scale, dtype=np.float32))
        self._per_optimizer_states = defaultdict(_fresh_optimizer_state)

    # -- reading and setting the state ------------------------------------------------------------

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale as a float; 1.0 when disabled."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale.data)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's five entries; `{}` when disabled."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._get_growth_tracker(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore `state_dict()`'s entries; nothing when disabled."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved "
                "from a disabled instance of GradScaler."
            )
        self._init_scale = state_dict["scale"]
        if self._scale is not None:
            self._scale = Tensor(np.array(state_dict["scale"], dtype=np.float32))
        self._growth_factor = state_dict["growth_factor"]
        self._backoff_factor = state_dict["backoff_factor"]
        self._growth_interval = state_dict["growth_interval"]
        self._init_growth_tracker = state_dict["_growth_tracker"]
        if self._growth_tracker is not None:
            self._growth_tracker = state_dict["_growth_tracker"]
