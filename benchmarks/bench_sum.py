"""`sum` and `mean` of float32 tensors: micrograd.tensor against PyTorch (and against another
checkout of micrograd, e.g. the previous release), side by side.

    python benchmarks/bench_sum.py                       # 5 interleaved rounds
    python benchmarks/bench_sum.py --baseline ../old     # also a checkout built in ../old

Cases, each timed as the median of many calls in one process: the mean of a 30-element vector
(makemore's evaluation, `torch.tensor(losses).mean()`), a (256, 384) matrix summed along dim -1
and along dim 0, and the sum of a 10-million-element vector. Engines: micrograd.tensor (this
checkout), PyTorch with 1 thread and with its default threads, and the baseline checkout if
given. Every measurement runs in a fresh process; the engines alternate within each round, and
the report gives medians over rounds and ratios to PyTorch. Sums of 32768 elements or more use
PyTorch's threads in PyTorch; micrograd adds them on one thread (in PyTorch's order for the
thread count it is told).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = ["mean of 30", "(256, 384).sum(-1)", "(256, 384).sum(0)", "sum of 10M"]

CHILD = r"""
import json, sys, timeit
import numpy as np
engine, threads = sys.argv[1], int(sys.argv[2])
if engine == "torch":
    import torch
    torch.set_num_threads(threads)
else:
    import micrograd.tensor as torch
rng = np.random.default_rng(0)
v = torch.tensor(rng.standard_normal(30).astype(np.float32))
m = torch.tensor(rng.standard_normal((256, 384)).astype(np.float32))
big = torch.tensor(rng.standard_normal(10_000_000).astype(np.float32))
calls = {
    "mean of 30": (lambda: v.mean(), 2000),
    "(256, 384).sum(-1)": (lambda: m.sum(-1), 300),
    "(256, 384).sum(0)": (lambda: m.sum(0), 300),
    "sum of 10M": (lambda: big.sum(), 5),
}
out = {}
for name, (call, number) in calls.items():
    times = timeit.repeat(call, number=number, repeat=5)
    out[name] = sorted(times)[2] / number
print(json.dumps(out))
"""


def measure(engine: str, threads: int, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(path), OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, engine, str(threads)],
        env=env,
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another micrograd checkout, built")
    args = parser.parse_args()
    import torch

    default_threads = torch.get_num_threads()
    engines = {
        "micrograd": ("micrograd", 1, ROOT),
        "torch 1 thread": ("torch", 1, ROOT),
        f"torch {default_threads} threads": ("torch", default_threads, ROOT),
    }
    if args.baseline is not None:
        engines["baseline"] = ("micrograd", 1, args.baseline.resolve())
    samples: dict = {name: {case: [] for case in CASES} for name in engines}
    for _ in range(args.rounds):
        for name, (engine, threads, path) in engines.items():
            for case, seconds in measure(engine, threads, path).items():
                samples[name][case].append(seconds)
    torch_name = "torch 1 thread"
    print(f"medians over {args.rounds} interleaved rounds (microseconds; ratio to {torch_name})")
    print(f"{'case':22}" + "".join(f"{name:>24}" for name in engines))
    for case in CASES:
        reference = statistics.median(samples[torch_name][case])
        row = f"{case:22}"
        for name in engines:
            median = statistics.median(samples[name][case])
            row += f"{median * 1e6:>14.1f} ({median / reference:5.2f}x)"
        print(row)


if __name__ == "__main__":
    main()
