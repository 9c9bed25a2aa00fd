"""`torch.distributed` for `micrograd.tensor`: present so scripts import it, refused when used.

This engine runs in one process. nanoGPT-style scripts import `init_process_group` and decide
from an environment variable (`RANK`) whether to use it; run as a single process they never call
it, and when they do, the error says what to do instead: move the model to PyTorch with
`micrograd.export.to_torch` and train it there.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = [
    "ONE_PROCESS",
    "all_reduce",
    "barrier",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
]

ONE_PROCESS = (
    "micrograd.tensor runs in one process and has no distributed training; move the model to "
    "PyTorch with micrograd.export.to_torch to train it on several processes or devices"
)


def _refuse(what: str) -> NoReturn:
    raise RuntimeError(f"{what}: {ONE_PROCESS}")


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


def init_process_group(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.init_process_group")


def destroy_process_group(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.destroy_process_group")


def get_rank(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.get_rank")


def get_world_size(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.get_world_size")


def barrier(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.barrier")


def all_reduce(*args: Any, **kwargs: Any) -> NoReturn:
    _refuse("torch.distributed.all_reduce")
