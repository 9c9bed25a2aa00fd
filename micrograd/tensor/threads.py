"""`torch.set_num_threads` / `torch.get_num_threads` for `micrograd.tensor`: the number of threads
its matrix products use, which are numpy's BLAS threads (set through threadpoolctl).

Benchmarks compare engines at one thread each: on a busy 2-core machine, numpy's and torch's BLAS
threads wait for each other, and both engines run faster with one.
"""

from __future__ import annotations

__all__ = ["get_num_threads", "set_num_threads"]

_limits = None  # the threadpoolctl limiter in force, kept so the setting lasts


def _check(n: object, name: str) -> int:
    if type(n) is not int:
        raise RuntimeError(f"{name} expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return n


def set_num_threads(n: int) -> None:
    """Use `n` threads for BLAS (matrix products) from now on, in this process."""
    global _limits
    _check(n, "set_num_threads")
    import numpy  # noqa: F401 -- loads the BLAS library, so threadpoolctl can find it
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(limits=n, user_api="blas")
    from micrograd.tensor import _math32, _reduce, _softmax32

    _softmax32.kernel_threads = n  # PyTorch's softmax backward rounds as its thread count says
    _reduce.kernel_threads = n  # and its sums of 32768 elements or more split by it
    _math32.kernel_threads = n  # so do its GELU and sigmoid loops, each part with its own tail
    from micrograd.tensor.nn import _layernorm

    _layernorm.kernel_threads = n  # layer_norm's weight and bias gradients: a sum per thread


def get_num_threads() -> int:
    """The number of BLAS threads matrix products use now."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else 1
