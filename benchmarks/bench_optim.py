"""The optimizer update alone: `micrograd.tensor.optim` (compiled and numpy paths) beside PyTorch.

    python benchmarks/bench_optim.py                    # AdamW on the GPT lecture's model
    python benchmarks/bench_optim.py --rounds 5 --optimizer SGD

The parameters are the shapes of bench_course.py's gpt-scaled job (the "Let's build GPT"
lecture's model: n_embd 384, 6 heads, 6 layers, 10.8M parameters, AdamW(lr=3e-4)), with fixed
random gradients. Each round times one `step()` of every engine in turn on one thread
(interleaved, so a machine whose speed drifts slows them alike); the report gives each engine's
median over rounds and its ratio to PyTorch's. `--optimizer SGD` times SGD with momentum 0.9
and weight decay instead. The engines' parameters are checked to stay equal (compiled and numpy
paths bit for bit; PyTorch within 1e-5: for Adam, its float32 square root is sometimes off by
the last bit, and the steps carry that).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_course import JOBS, gpt_lecture_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--optimizer", choices=["AdamW", "SGD"], default="AdamW")
    args = ap.parse_args()

    import torch

    import micrograd.tensor as mt
    from micrograd.tensor.optim import _kernels as K

    torch.set_num_threads(1)
    mt.set_num_threads(1)
    compiled = K.compiled
    if compiled is None:
        sys.exit("the compiled update is not built (python setup.py build_ext --inplace)")
    torch.manual_seed(1337)
    model = gpt_lecture_model(torch, JOBS["gpt-scaled"], 65)
    shapes = [tuple(p.shape) for p in model.parameters()]
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(np.float32) * 0.02 for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    make = {
        "AdamW": lambda lib, ps: lib.optim.AdamW(ps, lr=3e-4),
        "SGD": lambda lib, ps: lib.optim.SGD(ps, lr=0.01, momentum=0.9, weight_decay=1e-4),
    }[args.optimizer]

    def engine(lib, path):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in start]
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g.copy())
        opt = make(lib, params)

        def step():
            K.compiled = path
            opt.step()
            K.compiled = compiled

        return step, params

    engines = {
        "micrograd compiled": engine(mt, compiled),
        "micrograd numpy": engine(mt, None),
        "PyTorch": engine(torch, None),
    }
    times: dict[str, list[float]] = {name: [] for name in engines}
    for step, _ in engines.values():  # the first step allocates the state
        step()
    for _ in range(args.rounds):
        for name, (step, _) in engines.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    ours_c, ours_np, theirs = (engines[n][1] for n in engines)
    for a, b, t in zip(ours_c, ours_np, theirs):
        assert np.array_equal(a.data.view(np.int32), b.data.view(np.int32)), "paths differ"
        ref = t.detach().numpy()
        # Adam: torch's square root is off by a last bit now and then, and the steps carry it
        assert np.allclose(a.data, ref, rtol=1e-5, atol=1e-8), "the engines differ from torch"
    n = sum(a.size for a in start)
    print(
        f"{args.optimizer} update, {n / 1e6:.1f}M float32 parameters in {len(start)} tensors, "
        f"one thread, median of {args.rounds} steps (machine shared with other jobs: noisy)"
    )
    base = statistics.median(times["PyTorch"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:20s} {med * 1e3:8.1f} ms   {med / base:5.2f}x PyTorch")


if __name__ == "__main__":
    main()
