"""`torch.nn.parallel` for `micrograd.tensor`: `DistributedDataParallel` (and `DataParallel`)
import, and say in one line, when a model is wrapped, that this engine runs in one process."""

from __future__ import annotations

from typing import Any

from micrograd.tensor.distributed import ONE_PROCESS

__all__ = ["DataParallel", "DistributedDataParallel"]


class DistributedDataParallel:
    def __init__(self, module: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"DistributedDataParallel: {ONE_PROCESS}")


class DataParallel:
    def __init__(self, module: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"DataParallel: {ONE_PROCESS}")
