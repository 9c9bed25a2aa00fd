"""The number of threads PyTorch would run its CPU kernels on, without `set_num_threads`.

Several of PyTorch's kernels round differently with the thread count: a long sum is split into one
run per thread, layer_norm adds its weight and bias gradients per thread's share of the rows, and
the elementwise loops (GELU, sigmoid) give each thread's part its own scalar tail. The numpy and
compiled replays (`_softmax32`, `_math32`, `_reduce`, `nn/_layernorm`) follow the count kept in
their `kernel_threads`, which starts at `default_threads()` here and which
`torch.set_num_threads` (`threads.py`) changes.
"""

from __future__ import annotations

import os

__all__ = ["default_threads", "physical_cores"]


def physical_cores() -> int | None:
    """The number of physical cores (Linux: distinct cores in sysfs), or None if unknown."""
    root = "/sys/devices/system/cpu"

    def read(path: str) -> str:
        with open(path) as f:
            return f.read().strip()

    try:
        cores = {
            (
                read(f"{root}/{name}/topology/physical_package_id"),
                read(f"{root}/{name}/topology/core_id"),
            )
            for name in os.listdir(root)
            if name.startswith("cpu") and name[3:].isdigit()
        }
    except OSError:
        return None
    return len(cores) or None


def default_threads() -> int:
    """PyTorch's default number of threads: its physical cores (the processors where cores
    cannot be counted), fewer if MKL_NUM_THREADS, or else OMP_NUM_THREADS, asks for fewer."""
    cores = physical_cores() or os.cpu_count() or 1
    for variable in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        try:
            count = int(os.environ.get(variable, ""))
        except ValueError:
            continue
        if count > 0:
            return min(count, cores)
    return cores
