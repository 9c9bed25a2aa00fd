"""The makemore lectures' training steps: `micrograd.tensor` against PyTorch and hand-written numpy.

    python benchmarks/bench_makemore.py                 # 40 interleaved rounds of 25 steps
    python benchmarks/bench_makemore.py --rounds 100 --steps 25
    python benchmarks/bench_makemore.py --quick         # a few steps: checks that it runs
    python benchmarks/bench_makemore.py --getattr-cost  # what Tensor.__getattr__ costs a step

Jobs, both on the names data set (block size 3, batch 32, vocabulary 27), the same batches and the
same initial weights for every engine:

* mlp: the MLP lecture's step -- embedding lookup `C[Xb]` (C 27x10), `view`, `tanh(emb @ W1 + b1)`
  (hidden 200), `h @ W2 + b2`, `F.cross_entropy`, `p.grad = None`, `backward()`, SGD on `p.data`.
* batchnorm: the BatchNorm lecture's step -- the same with `hpreact` normalised by its batch mean
  and std (`bngain * (hpreact - mean) / std + bnbias`) and the running statistics updated under
  `no_grad()`.

Engines: `micrograd.tensor` (the lecture code with only the imports changed), PyTorch 2.13 on one
thread (`torch.set_num_threads(1)`: on small tensors more threads only wait for each other), and
the same step with its backward pass written by hand in numpy (the floor for a numpy engine).
numpy's BLAS runs on one thread too (`OPENBLAS_NUM_THREADS=1`, set before numpy loads).

All engines run in one process, interleaved: each round runs every engine for `--steps` steps in
turn, and a step's time is the median over a round. These machines change speed by up to 1.7x
from one second to the next (other virtual machines on the host), so the ratio to PyTorch is taken
within each round, where both engines ran within milliseconds of each other, and the report gives
the median of those ratios (and the median step time over rounds, for scale). Many short rounds
beat a few long ones for the same reason. The target: micrograd at most 0.5x PyTorch's
time per step. The report also splits each engine's step into its forward pass (to the loss),
backward pass (`p.grad = None` and `backward()`) and update (the SGD loop), as medians over all
steps: where our step spends more than the hand-written one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy (and torch) load their BLAS

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
NAMES = REPO / "tests" / "data" / "names.txt"
BLOCK, EMB, HIDDEN, VOCAB, BATCH = 3, 10, 200, 27, 32
LR = 0.1


# -- shared data and weights ---------------------------------------------------------------------


def dataset():
    words = NAMES.read_text().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    X, Y = [], []
    for w in words:
        context = [0] * BLOCK
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return np.array(X, dtype=np.int64), np.array(Y, dtype=np.int64)


def initial_weights():
    rng = np.random.default_rng(0)
    f32 = np.float32
    return {
        "C": rng.standard_normal((VOCAB, EMB)).astype(f32),
        "W1": (rng.standard_normal((EMB * BLOCK, HIDDEN)) * (5 / 3) / (EMB * BLOCK) ** 0.5).astype(
            f32
        ),
        "b1": (rng.standard_normal(HIDDEN) * 0.01).astype(f32),
        "W2": (rng.standard_normal((HIDDEN, VOCAB)) * 0.01).astype(f32),
        "b2": np.zeros(VOCAB, dtype=f32),
        "bngain": np.ones((1, HIDDEN), dtype=f32),
        "bnbias": np.zeros((1, HIDDEN), dtype=f32),
    }


# -- the lecture's step, for micrograd.tensor and PyTorch (same code) ------------------------------


def lecture_engine(torch, F, job, weights, Xtr, Ytr, batches):
    """The lecture's training step with `torch`/`F` being either library. Returns a function
    that runs steps i..j and the list of losses it appends to."""
    names = ["C", "W1", "b1", "W2", "b2"] + (["bngain", "bnbias"] if job == "batchnorm" else [])
    params = {k: torch.tensor(weights[k]) for k in names}
    parameters = list(params.values())
    for p in parameters:
        p.requires_grad = True
    C, W1, b1, W2, b2 = (params[k] for k in ["C", "W1", "b1", "W2", "b2"])
    bngain, bnbias = params.get("bngain"), params.get("bnbias")
    Xtr, Ytr = torch.tensor(Xtr), torch.tensor(Ytr)
    ixs = [torch.tensor(ix) for ix in batches]
    state = {
        "bnmean_running": torch.zeros((1, HIDDEN)),
        "bnstd_running": torch.ones((1, HIDDEN)),
    }
    losses = []

    def mlp_step(ix, laps):
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        h = torch.tanh(emb.view(-1, EMB * BLOCK) @ W1 + b1)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        laps.append(time.perf_counter())  # forward done
        for p in parameters:
            p.grad = None
        loss.backward()
        laps.append(time.perf_counter())  # backward done
        for p in parameters:
            p.data += -LR * p.grad
        return loss

    def batchnorm_step(ix, laps):
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hpreact = embcat @ W1 + b1
        bnmeani = hpreact.mean(0, keepdim=True)
        bnstdi = hpreact.std(0, keepdim=True)
        hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
        with torch.no_grad():
            state["bnmean_running"] = 0.999 * state["bnmean_running"] + 0.001 * bnmeani
            state["bnstd_running"] = 0.999 * state["bnstd_running"] + 0.001 * bnstdi
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        laps.append(time.perf_counter())
        for p in parameters:
            p.grad = None
        loss.backward()
        laps.append(time.perf_counter())
        for p in parameters:
            p.data += -LR * p.grad
        return loss

    step = mlp_step if job == "mlp" else batchnorm_step
    return timed_runner(step, ixs, losses), losses


# -- the same step written by hand in numpy (the floor) -----------------------------------------


def numpy_engine(job, weights, Xtr, Ytr, batches):
    w = {k: v.copy() for k, v in weights.items()}
    running = {"mean": np.zeros((1, HIDDEN), np.float32), "std": np.ones((1, HIDDEN), np.float32)}
    losses = []

    def step(ix, laps):
        C, W1, b1, W2, b2 = w["C"], w["W1"], w["b1"], w["W2"], w["b2"]
        Xb, Yb = Xtr[ix], Ytr[ix]
        n = len(ix)
        embcat = C[Xb].reshape(n, -1)
        hpre = embcat @ W1 + b1
        if job == "batchnorm":
            mean = hpre.mean(0, keepdims=True)
            diff = hpre - mean
            std = np.sqrt((diff * diff).sum(0, keepdims=True) / (n - 1))
            raw = diff / std
            hpreact = w["bngain"] * raw + w["bnbias"]
            running["mean"] = 0.999 * running["mean"] + 0.001 * mean
            running["std"] = 0.999 * running["std"] + 0.001 * std
        else:
            hpreact = hpre
        h = np.tanh(hpreact)
        logits = h @ W2 + b2
        shifted = logits - logits.max(1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(1, keepdims=True)
        loss = (np.log(s).sum() - shifted[np.arange(n), Yb].sum()) / n
        laps.append(time.perf_counter())
        # backward
        dlogits = e / s
        dlogits[np.arange(n), Yb] -= 1
        dlogits /= n
        grads = {"W2": h.T @ dlogits, "b2": dlogits.sum(0)}
        dh = dlogits @ W2.T
        dhpreact = (1 - h * h) * dh
        if job == "batchnorm":
            grads["bngain"] = (raw * dhpreact).sum(0, keepdims=True)
            grads["bnbias"] = dhpreact.sum(0, keepdims=True)
            draw = w["bngain"] * dhpreact
            # d raw / d hpre for raw = (x - mean) / std with the unbiased std
            dhpre = (draw - draw.mean(0, keepdims=True) - raw * (draw * raw).sum(0, keepdims=True)
                     / (n - 1)) / std  # fmt: skip
        else:
            dhpre = dhpreact
        grads["W1"] = embcat.T @ dhpre
        grads["b1"] = dhpre.sum(0)
        demb = (dhpre @ W1.T).reshape(n, BLOCK, EMB)
        dC = np.zeros_like(C)
        np.add.at(dC, Xb, demb)
        grads["C"] = dC
        laps.append(time.perf_counter())
        for k, g in grads.items():
            w[k] += -LR * g
        return loss

    return timed_runner(step, batches, losses), losses


def timed_runner(step, batches, losses):
    """`run(i, j, times, phases=None)`: steps i..j of `step` on `batches`, each step's time
    appended to `times`, its forward/backward/update split (the step marks the two boundaries
    in `laps`) to `phases`, and its loss to `losses`."""

    def run(i, j, times, phases=None):
        for k in range(i, j):
            laps = [time.perf_counter()]
            loss = step(batches[k], laps)
            laps.append(time.perf_counter())
            times.append(laps[-1] - laps[0])
            if phases is not None:
                phases.append(np.diff(laps))
            losses.append(loss.item())  # a tensor or a numpy scalar

    return run


# -- the price of Tensor.__getattr__ ------------------------------------------------------------


def getattr_cost(job, weights, Xtr, Ytr, batches, rounds, steps) -> float:
    """Our step with and without `Tensor.__getattr__` (the "did you mean" error for a missing
    method), alternating round by round in this process; returns the median ratio without/with.

    A class that defines `__getattr__` loses Python 3.11's specialised attribute lookups on
    every instance, so each `t.data`, `t.grad`... takes the slow path. Deleting the method from
    the class (and putting it back) switches that, as the lookups find the class changed."""
    import micrograd.tensor as mt
    import micrograd.tensor.nn.functional as MF
    from micrograd.tensor.core import Tensor

    hook = Tensor.__dict__["__getattr__"]
    run, _ = lecture_engine(mt, MF, job, weights, Xtr, Ytr, batches)
    times: dict = {"with": [], "without": []}
    k = 0
    try:
        for _ in range(rounds):
            for variant in ("with", "without"):
                if variant == "with":
                    Tensor.__getattr__ = hook
                else:
                    del Tensor.__getattr__
                round_times: list = []
                run(k, k + steps, round_times)
                k += steps
                times[variant].append(statistics.median(round_times))
    finally:
        Tensor.__getattr__ = hook
    return statistics.median(a / b for a, b in zip(times["without"], times["with"]))


# -- driver ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--steps", type=int, default=25, help="steps per engine per round")
    ap.add_argument("--job", choices=["mlp", "batchnorm", "both"], default="both")
    ap.add_argument("--quick", action="store_true", help="2 rounds of 5 steps (a smoke test)")
    ap.add_argument(
        "--getattr-cost",
        action="store_true",
        help="instead: our step with and without Tensor.__getattr__, alternating",
    )
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.steps = 2, 5
    if args.rounds < 1 or args.steps < 1:
        ap.error("--rounds and --steps must be positive")
    if args.getattr_cost:
        Xtr, Ytr = dataset()
        weights = initial_weights()
        rng = np.random.default_rng(1)
        batches = [rng.integers(0, len(Xtr), BATCH) for _ in range(2 * args.rounds * args.steps)]
        for job in ["mlp", "batchnorm"] if args.job == "both" else [args.job]:
            ratio = getattr_cost(job, weights, Xtr, Ytr, batches, args.rounds, args.steps)
            rounds = f"median of {args.rounds} alternating rounds of {args.steps} steps"
            print(f"{job} step without Tensor.__getattr__ / with it: {ratio:.3f} ({rounds})")
        return

    import torch
    import torch.nn.functional as TF

    import micrograd.tensor as mt
    import micrograd.tensor.nn.functional as MF

    torch.set_num_threads(1)
    Xtr, Ytr = dataset()
    weights = initial_weights()
    rng = np.random.default_rng(1)
    total = args.rounds * args.steps
    batches = [rng.integers(0, len(Xtr), BATCH) for _ in range(total)]
    jobs = ["mlp", "batchnorm"] if args.job == "both" else [args.job]
    print(f"torch {torch.__version__}, 1 thread; numpy {np.__version__}; "
          f"{args.rounds} rounds x {args.steps} steps, interleaved")  # fmt: skip
    failed = False
    for job in jobs:
        engines = {
            "micrograd.tensor": lecture_engine(mt, MF, job, weights, Xtr, Ytr, batches),
            "PyTorch (1 thread)": lecture_engine(torch, TF, job, weights, Xtr, Ytr, batches),
            "numpy by hand": numpy_engine(job, weights, Xtr, Ytr, batches),
        }
        medians = {name: [] for name in engines}
        phases: dict = {name: [] for name in engines}  # per step: forward, backward, update
        for r in range(args.rounds):
            for name, (run, _) in engines.items():
                times: list = []
                run(r * args.steps, (r + 1) * args.steps, times, phases[name])
                medians[name].append(statistics.median(times))
        per_step = {name: statistics.median(m) for name, m in medians.items()}
        # the ratio within each round (both engines ran moments apart), then its median
        ratios = {
            name: statistics.median(a / b for a, b in zip(m, medians["PyTorch (1 thread)"]))
            for name, m in medians.items()
        }
        losses = {name: losses for name, (_, losses) in engines.items()}
        ref = np.array(losses["PyTorch (1 thread)"])
        print(f"\n{job} step (batch {BATCH}, hidden {HIDDEN}):")
        for name, t in per_step.items():
            drift = np.abs(np.array(losses[name]) - ref).max()
            print(f"  {name:20s} {t * 1e6:8.1f} us/step   {ratios[name]:5.2f}x PyTorch   "
                  f"max |loss - PyTorch's| {drift:.1e}")  # fmt: skip
            if not np.allclose(losses[name], ref, rtol=1e-3, atol=1e-3):
                print(f"  ERROR: {name} does not train like PyTorch", file=sys.stderr)
                failed = True
        print("  median us per phase   forward  backward  update (forward ends with the loss;")
        print("                        backward includes p.grad = None; update is the SGD loop)")
        for name, per_step in phases.items():
            f, b, u = np.median(np.array(per_step), axis=0) * 1e6
            print(f"  {name:20s} {f:8.1f} {b:9.1f} {u:7.1f}")
        ratio = ratios["micrograd.tensor"]
        verdict = "meets" if ratio <= 0.5 else "misses"
        print(f"  micrograd.tensor / PyTorch = {ratio:.2f} ({verdict} the 0.5x target)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
