"""Per-call time of float32 tanh, GELU (both forms) and sigmoid, forward and forward+backward:
PyTorch, micrograd.tensor with its compiled kernels (micrograd/tensor/_cmath32.c) and with its
numpy code (micrograd/tensor/_math32.py), side by side.

Every engine runs on one thread. The calls are interleaved (one call of each engine per round,
in turn) and the median of the rounds is reported, with the ratio to PyTorch's median; on a
machine shared with other work the figures are noisy, the medians less so. All three give the
same floats (tests/test_torchdiff_math32.py); this measures only the time.

    python benchmarks/bench_math32.py [--rows 256] [--cols 1536] [--rounds 30] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

import micrograd.tensor as mt
from micrograd.tensor import _math32


def cases(lib):
    functional = lib.nn.functional
    return {
        "tanh": lambda x: x.tanh(),
        "gelu none": lambda x: functional.gelu(x),
        "gelu tanh": lambda x: functional.gelu(x, approximate="tanh"),
        "sigmoid": lambda x: x.sigmoid(),
    }


def runner(lib, op, x: np.ndarray, g: np.ndarray, backward: bool, numpy_path: bool):
    """A no-argument function doing one call (and its backward) on `lib`'s tensors."""
    make = torch.from_numpy if lib is torch else mt.from_numpy
    upstream = make(g)

    def run():
        compiled = _math32._compiled
        if numpy_path:
            _math32._compiled = None
        try:
            t = make(x)
            if backward:
                t.requires_grad_(True)
                op(t).backward(upstream)
            else:
                op(t)
        finally:
            _math32._compiled = compiled

    return run


def measure(rows: int, cols: int, rounds: int) -> None:
    torch.set_num_threads(1)
    mt.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((rows, cols)) * 2).astype(np.float32)
    g = rng.standard_normal((rows, cols)).astype(np.float32)
    engines = [("torch", torch, False), ("ours, C", mt, False), ("ours, numpy", mt, True)]
    if _math32._compiled is None:
        engines = [e for e in engines if e[0] != "ours, C"]
        print("micrograd.tensor._cmath32 is not built: the numpy code only", file=sys.stderr)
    print(f"float32 {rows}x{cols}, one thread, median of {rounds} interleaved rounds (ms)")
    print(f"{'op':<26}" + "".join(f"{name:>22}" for name, _, _ in engines))
    for backward in (False, True):
        for name in cases(mt):
            runs = [
                runner(lib, cases(lib)[name], x, g, backward, numpy_path)
                for _, lib, numpy_path in engines
            ]
            for run in runs:  # warm up (first calls load code and fill caches)
                run()
            times = [[] for _ in runs]
            for _ in range(rounds):
                for run, samples in zip(runs, times):
                    start = time.perf_counter()
                    run()
                    samples.append(time.perf_counter() - start)
            medians = [statistics.median(samples) * 1e3 for samples in times]
            label = f"{name} {'fwd+bwd' if backward else 'fwd'}"
            cells = [f"{m:9.3f} ({m / medians[0]:5.2f}x)" for m in medians]
            print(f"{label:<26}" + "".join(f"{cell:>22}" for cell in cells))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--cols", type=int, default=1536)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="a small shape, 3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.cols, args.rounds = 8, 100, 3
    if min(args.rows, args.cols, args.rounds) < 1:
        parser.error("--rows, --cols and --rounds must be at least 1")
    measure(args.rows, args.cols, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
