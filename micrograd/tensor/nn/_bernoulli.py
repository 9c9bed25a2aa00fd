"""The random mask behind `functional.dropout` (and so `nn.Dropout`), drawn as PyTorch's CPU kernel
draws it.

PyTorch's CPU dropout (`aten/src/ATen/native/Dropout.cpp`) is
`noise = empty_like(input).bernoulli_(1 - p); noise.div_(1 - p); input * noise`, so its mask is
`Tensor.bernoulli_(q)` with q = 1 - p, from the default generator. `bernoulli_` with a number has
two CPU kernels (`aten/src/ATen/native/cpu/DistributionKernels.cpp`), and which one runs depends
on the machine:

* PyTorch built with MKL on an Intel CPU: one 32-bit draw `random()` from the generator seeds
  MKL's MCG31m1 stream (x <- 1132489760 x mod 2**31 - 1, seeded with the draw mod 2**31 - 1, 0
  replaced by 1, is the first state; each thread's chunk skips ahead to its start, so the stream is the same for any
  thread count), and `viRngBernoulli` with its inverse-CDF method turns each state into 1 where
  float32(x / (2**31 - 1)) < float32(q), else 0 (`_mcg31_bernoulli`);
* any other CPU (AMD, ARM) or a build without MKL: each element, in order, takes a 53-bit
  uniform u from one `random64()` draw and is 1 where u < q (`at::bernoulli_distribution`).

`bernoulli_mask` picks the kernel PyTorch picks on the machine it runs on (`torch_kernel()`),
so `torch.manual_seed(s)` followed by the same dropout calls drops the same elements as
PyTorch does there. The kept elements are scaled by `1 / (1 - p)` in the input's dtype.

The lowest module of dropout: `functional` imports it, `dropout.py` (the layer) imports both.
"""

from __future__ import annotations

import functools
import os
import platform
from typing import Any

import numpy as np

from micrograd.tensor import random as _random

__all__ = ["bernoulli_mask", "torch_kernel"]

_MCG31_A = 1132489760
_MCG31_M = (1 << 31) - 1


@functools.cache
def torch_kernel() -> str:
    """'mkl' where PyTorch's x86-64 builds (which include MKL) use the MKL kernel -- an Intel
    CPU -- else 'default'. `MICROGRAD_BERNOULLI=mkl|default` overrides it (to match a PyTorch
    that runs elsewhere)."""
    chosen = os.environ.get("MICROGRAD_BERNOULLI", "")
    if chosen in ("mkl", "default"):
        return chosen
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "x86"):
        return "default"
    vendor = ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                    break
    except OSError:
        vendor = platform.processor()
    return "mkl" if "GenuineIntel" in vendor else "default"


def _mcg31_powers(n: int) -> np.ndarray:
    """a**0, ..., a**(n-1) mod m for the MCG31 multiplier, by doubling (products < 2**62)."""
    powers = np.array([1], dtype=np.uint64)
    m = np.uint64(_MCG31_M)
    while powers.size < n:
        step = np.uint64(pow(_MCG31_A, powers.size, _MCG31_M))
        powers = np.concatenate([powers, powers * step % m])
    return powers[:n]


def _mcg31_bernoulli(seed: int, n: int, q: float) -> np.ndarray:
    """MKL's viRngBernoulli (inverse CDF) on a VSL_BRNG_MCG31 stream seeded with `seed`: the
    stream's first state is the seed itself, then each state is a times the previous one."""
    x0 = seed % _MCG31_M or 1
    states = np.uint64(x0) * _mcg31_powers(n) % np.uint64(_MCG31_M)
    # MKL's Bernoulli compares in single precision: u = x / (2**31 - 1) rounded to float32
    # against q rounded to float32 (checked against MKL's viRngBernoulli at the boundaries)
    uniforms = (states.astype(np.float64) / _MCG31_M).astype(np.float32)
    return uniforms < np.float32(q)


def bernoulli_mask(shape: tuple, q: float, generator: Any = None) -> np.ndarray:
    """A bool array of `shape`, True with probability q, drawn from `generator` (the default
    generator if None) as PyTorch's `Tensor.bernoulli_(q)` draws it on this machine."""
    gen = _random.default_generator if generator is None else generator
    n = int(np.prod(shape, dtype=np.int64))
    if torch_kernel() == "mkl":
        seed = int(gen._random(1)[0])
        flat = _mcg31_bernoulli(seed, n, q) if n else np.zeros(0, bool)
    else:
        bits = gen._random64(n) & np.uint64((1 << 53) - 1)
        flat = bits.astype(np.float64) * 2.0**-53 < q
    return flat.reshape(shape)
