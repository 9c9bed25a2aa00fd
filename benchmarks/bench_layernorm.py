"""`F.layer_norm` forward + backward, per call, against torch 2.13's CPU kernel.

    python benchmarks/bench_layernorm.py                     # 9 interleaved rounds
    python benchmarks/bench_layernorm.py --rounds 15 --against OLD_FUSED_PY
    python benchmarks/bench_layernorm.py --quick             # one short round (a smoke test)

One call is what a transformer block does with its layer norms: `F.layer_norm(x, (C,), weight,
bias)` on a (rows, C) float32 input with a weight and a bias, then `backward` of the output with
an upstream gradient (input, weight and bias gradients). Shapes: (256, 384), nanoGPT's width
over a batch of token rows, and (512, 64), makemore's transformer. Engines, timed back to back in
each round (torch and numpy on one thread): torch; ours with the compiled kernel
(`_clayernorm`); ours with its numpy replay (what runs without a C compiler or with
MICROGRAD_PURE=1); with `--against FILE`, ours with an older `micrograd/tensor/nn/fused.py`
(for instance `git show main:micrograd/tensor/nn/fused.py > old.py`) whose `NativeLayerNorm`
builds the node instead. The report gives the median time per call over rounds, the ratio to
torch's, and the share of the output's and the three gradients' values that are bitwise
torch's.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import micrograd.tensor as mt
from micrograd.tensor.nn import _layernorm
from micrograd.tensor.nn import functional as F

SHAPES = [(256, 384), (512, 64)]


def per_call(fn, budget: float) -> float:
    """Seconds per call: repeat fn for about `budget` seconds."""
    fn()
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < budget:
        fn()
        n += 1
    return elapsed / n


def load_fused(path: str):
    """An older nn/fused.py as a module of its own (its imports resolve to this checkout)."""
    spec = importlib.util.spec_from_file_location("micrograd_bench_older_fused", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def engines(shape, against):
    """name -> (call, output after a call) for one shape."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    w = rng.standard_normal(shape[1]).astype(np.float32)
    b = rng.standard_normal(shape[1]).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    c = (shape[1],)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tg = torch.tensor(g)
    mx, mw, mb = (mt.tensor(a, requires_grad=True) for a in (x, w, b))
    mg = mt.tensor(g)

    def torch_call():
        for t in (tx, tw, tb):
            t.grad = None
        out = torch.nn.functional.layer_norm(tx, c, tw, tb)
        out.backward(tg)
        return out

    def ours_call():
        for t in (mx, mw, mb):
            t.grad = None
        out = F.layer_norm(mx, c, mw, mb)
        out.backward(mg)
        return out

    def with_kernel(kernel):
        def call():
            saved = _layernorm._C
            _layernorm._C = kernel
            try:
                return ours_call()
            finally:
                _layernorm._C = saved

        return call

    def with_fused(module):
        def call():
            saved = F._fused
            F._fused = module
            try:
                return ours_call()
            finally:
                F._fused = saved

        return call

    found = {"torch": torch_call}
    if _layernorm._C is not None:
        found["ours (C kernel)"] = with_kernel(_layernorm._C)
    found["ours (numpy replay)"] = with_kernel(None)
    if against is not None:
        found["ours (--against)"] = with_fused(against)
    leaves = {"torch": (tx, tw, tb)}
    return found, leaves, (mx, mw, mb)


def agreement(found, torch_leaves, our_leaves) -> dict:
    """name -> share of output and gradient values bitwise equal to torch's."""
    expected = found["torch"]().detach().numpy()
    expected_grads = [t.grad.numpy().copy() for t in torch_leaves]
    shares = {}
    for name, call in found.items():
        if name == "torch":
            continue
        out = call().numpy()
        values = [(out, expected)]
        values += [(o.grad.numpy(), e) for o, e in zip(our_leaves, expected_grads)]
        equal = sum(int((a.view(np.int32) == b.view(np.int32)).sum()) for a, b in values)
        shares[name] = equal / sum(a.size for a, _ in values)
    return shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (9)")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per timing (0.3)")
    parser.add_argument("--against", metavar="FILE", help="an older nn/fused.py to time too")
    parser.add_argument("--quick", action="store_true", help="one short round")
    args = parser.parse_args(argv)
    if args.against is not None and not Path(args.against).is_file():
        print(f"bench_layernorm: --against {args.against}: no such file", file=sys.stderr)
        return 2
    rounds, budget = (1, 0.02) if args.quick else (args.rounds, args.budget)
    torch.set_num_threads(1)
    mt.set_num_threads(1)
    against = None if args.against is None else load_fused(args.against)
    print(
        f"layer_norm forward + backward per call, float32, weight and bias; {rounds} "
        f"interleaved round(s), medians; torch {torch.__version__} and numpy on 1 thread"
    )
    for shape in SHAPES:
        found, torch_leaves, our_leaves = engines(shape, against)
        shares = agreement(found, torch_leaves["torch"], our_leaves)
        times = {name: [] for name in found}
        for _ in range(rounds):
            for name, call in found.items():
                times[name].append(per_call(call, budget))
        base = statistics.median(times["torch"])
        print(f"\n({shape[0]} rows, {shape[1]})")
        for name, samples in times.items():
            median = statistics.median(samples)
            bitwise = "" if name == "torch" else f"  bitwise torch's: {shares[name]:.1%}"
            print(f"  {name:22s} {median * 1e6:9.1f} us  {median / base:6.2f}x torch{bitwise}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
