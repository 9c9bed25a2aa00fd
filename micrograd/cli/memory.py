"""How much memory a training job needs, and how much there is: checked before the job starts, so
that a job too large for the machine stops with one line of advice instead of a `MemoryError`
(or the system's out-of-memory killer) minutes later.

    need = job_bytes(engine="scalar", layer_sizes=[2, 16, 16, 1], batch_rows=1_000_000, ...)
    free = available_bytes()      # None where it cannot be known

The estimates are per-object costs measured on CPython 3.11 with `tracemalloc` (see the
constants), rounded up; they are meant to tell a job that fits from one that is 10x too big,
not to be exact. Standard library only. Used by `micrograd/cli/train.py`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

__all__ = ["available_bytes", "csv_bytes", "data_bytes", "format_bytes", "job_bytes"]

# Scalar engine, per sample of a batch: MLP(2, [16, 16, 1]) measured 25 KB (fused) and 148 KB
# (unfused) at the forward + backward peak. A fused neuron's weighted sum keeps its inputs (~70 B
# per weight); the original graph of single `*` and `+` nodes costs ~450 B per weight; each
# neuron adds its activation node, each sample its loss nodes.
_SCALAR_FUSED_PER_WEIGHT = 70
_SCALAR_UNFUSED_PER_WEIGHT = 450
_SCALAR_PER_NEURON = 150
_SCALAR_PER_SAMPLE = 500
_SCALAR_PER_PARAMETER = 160 + 64  # the Value, plus the optimizer's state for it
# A row of data as Python lists of floats (the list, a float object and a pointer per value);
# x2 for the copies made while loading and splitting.
_ROW_BYTES = 160
_VALUE_BYTES = 32
_DATA_COPIES = 2
# Reading a CSV peaks at ~4.5 bytes per byte of file.
_CSV_BYTES_PER_FILE_BYTE = 5
# Tensor engine: float64 arrays; a parameter has its value, gradient, two Adam moments and
# temporaries; an activation its value, gradient and temporaries. The scalar model the tensor
# engine copies its initial weights from is built first (see micrograd/tensor/training.py).
_TENSOR_PER_PARAMETER = 8 * 6 + 160
_TENSOR_PER_ACTIVATION = 8 * 6


def data_bytes(n_rows: int, n_features: int) -> int:
    """Memory for a data set of `n_rows` rows held as Python lists of floats."""
    return _DATA_COPIES * n_rows * (_ROW_BYTES + _VALUE_BYTES * n_features)


def csv_bytes(path: str) -> int:
    """Memory the CSV reader needs for the file at `path` (0 if it cannot be sized)."""
    try:
        return _CSV_BYTES_PER_FILE_BYTE * os.path.getsize(path)
    except OSError:
        return 0


def job_bytes(
    engine: str, layer_sizes: Sequence[int], batch_rows: int, fused: bool = True
) -> dict[str, int]:
    """The memory of the model and of one step's graph, as `{"model": bytes, "graph": bytes,
    "per_row": bytes}`, for an MLP with `layer_sizes` (inputs first, outputs last) trained on
    batches of `batch_rows` rows."""
    weights = sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:]))
    neurons = sum(layer_sizes[1:])
    parameters = weights + neurons
    if engine == "tensor":
        per_row = _TENSOR_PER_ACTIVATION * sum(layer_sizes)
        model = _TENSOR_PER_PARAMETER * parameters
    else:
        per_weight = _SCALAR_FUSED_PER_WEIGHT if fused else _SCALAR_UNFUSED_PER_WEIGHT
        per_row = per_weight * weights + _SCALAR_PER_NEURON * neurons + _SCALAR_PER_SAMPLE
        model = _SCALAR_PER_PARAMETER * parameters
    return {"model": model, "graph": per_row * batch_rows, "per_row": per_row}


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_available() -> int | None:
    """What the process's cgroup (v2) still allows, e.g. in a container with a memory limit."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
        rel = next(line.split("::", 1)[1] for line in lines if line.startswith("0::"))
        base = os.path.join("/sys/fs/cgroup", rel.lstrip("/"))
        with open(os.path.join(base, "memory.max")) as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open(os.path.join(base, "memory.current")) as f:
            current = int(f.read().strip())
        return max(int(limit) - current, 0)
    except (OSError, ValueError, StopIteration, IndexError):
        return None


def _rlimit_available() -> int | None:
    """What the address-space limit (`ulimit -v`) leaves to this process."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as f:
            size_pages = int(f.read().split()[0])
        return max(soft - size_pages * os.sysconf("SC_PAGE_SIZE"), 0)
    except (ImportError, OSError, ValueError, AttributeError):
        return None


def available_bytes() -> int | None:
    """The memory this process can still use: the least of the system's available memory, its
    cgroup's allowance and its address-space limit; None where none of these can be read."""
    known = [v for v in (_meminfo_available(), _cgroup_available(), _rlimit_available()) if v]
    return min(known) if known else None


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")
