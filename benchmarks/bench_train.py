"""The default `micrograd train` job against the original micrograd's demo loop, side by side.

    python benchmarks/bench_train.py                 # 5 rounds of ours, the original once
    python benchmarks/bench_train.py --rounds 3 --original-runs 2
    python benchmarks/bench_train.py --original-runs 0   # ours only (fused vs unfused)

The job is the original `demo.ipynb`: moons, 100 samples, `MLP(2, [16, 16, 1])`, hinge loss + L2
(alpha 1e-4), full batch, SGD with `lr = 1.0 - 0.9*k/100`, 100 steps, seed 1337.

* original: micrograd 0.1.0 in its own virtual environment (see peers.py), the notebook's code
  run exactly as its users run it: the garbage collector on, scikit-learn's `make_moons`, inputs
  wrapped as `Value`s, one print per step. About 165 s on the reference machine, so by default it
  runs once, in the middle of our rounds.
* ours: `micrograd.train.run(TrainConfig())`, i.e. `micrograd train --no-progress`, end to end:
  data, model, 100 steps, then the plots, the saved model and metrics.json. Once with the fused
  MLP (the CLI's default) and once with `fused=False` (the original's graph of single `*`/`+`).

Every measurement is a fresh process; we report its wall time (interpreter start to exit, imports
included) and the job time measured inside it, medians over the rounds, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import median, peer_python

STEPS = 100


def original_demo() -> dict:
    """The original demo notebook's cells, in order, as a user runs them (original package)."""
    t0 = time.perf_counter()
    import random

    import numpy as np
    from sklearn.datasets import make_moons

    from micrograd.engine import Value
    from micrograd.nn import MLP

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1])

    def loss(batch_size=None):
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    t1 = time.perf_counter()
    for k in range(STEPS):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        print(f"step {k} loss {total_loss.data}, accuracy {acc * 100}%", file=sys.stderr)
    t2 = time.perf_counter()
    return {
        "job_s": t2 - t0,
        "loop_s": t2 - t1,
        "final_loss": float(total_loss.data),
        "accuracy": float(acc),
    }


def ours(fused: bool) -> dict:
    """`micrograd train --no-progress` (or with `--no-fused`), end to end, in this process."""
    t0 = time.perf_counter()
    from micrograd.train import TrainConfig, run

    with tempfile.TemporaryDirectory() as out:
        metrics = run(TrainConfig(out=out, fused=fused), progress=False)
    t1 = time.perf_counter()
    return {
        "job_s": t1 - t0,
        "loop_s": metrics["timing"]["train_seconds"],
        "final_loss": metrics["final_loss"],
        "accuracy": metrics["train_accuracy"],
    }


def measure(python: str, worker: str) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run(
        [python, __file__, "--worker", worker],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parent),  # the original must not see our package
    )
    result = json.loads(out.stdout)
    result["wall_s"] = time.perf_counter() - t0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each of our variants")
    parser.add_argument("--original-runs", type=int, default=1, help="runs of the original")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        jobs = {
            "original": original_demo,
            "fused": lambda: ours(True),
            "unfused": lambda: ours(False),
        }
        print(json.dumps(jobs[args.worker]()))
        return

    results: dict[str, list[dict]] = {"fused": [], "unfused": [], "original": []}
    # Spread the original's runs evenly among our rounds, so that they share the machine's state.
    original_at = {
        round((i + 0.5) * args.rounds / args.original_runs) for i in range(args.original_runs)
    }
    for r in range(args.rounds + 1):
        if r in original_at or (r == args.rounds and len(results["original"]) < args.original_runs):
            print("running the original demo (about 3 minutes) ...", file=sys.stderr)
            results["original"].append(measure(peer_python(), "original"))
        if r == args.rounds:
            break
        for variant in ("fused", "unfused"):
            results[variant].append(measure(sys.executable, variant))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def med(variant: str, key: str) -> float:
        return median([m[key] for m in results[variant]])

    print(
        f"default train job, {STEPS} steps; medians of {args.rounds} runs of ours and "
        f"{len(results['original'])} of the original, each in a fresh process"
    )
    print(f"{'':26}{'wall (s)':>10}{'job (s)':>10}{'loop (s)':>10}{'final loss':>13}{'acc':>7}")
    for variant, label in (
        ("original", "original 0.1.0 (GC on)"),
        ("fused", "ours, fused (CLI default)"),
        ("unfused", "ours, unfused"),
    ):
        if results[variant]:
            print(
                f"{label:26}{med(variant, 'wall_s'):10.3f}{med(variant, 'job_s'):10.3f}"
                f"{med(variant, 'loop_s'):10.3f}{med(variant, 'final_loss'):13.6f}"
                f"{med(variant, 'accuracy'):7.2f}"
            )
    if results["original"]:
        for variant in ("fused", "unfused"):
            print(
                f"speed-up of ours, {variant}: "
                f"{med('original', 'wall_s') / med(variant, 'wall_s'):.1f}x end to end (wall), "
                f"{med('original', 'job_s') / med(variant, 'job_s'):.1f}x job, "
                f"{med('original', 'loop_s') / med(variant, 'loop_s'):.1f}x training loop"
            )
    print(
        f"fused vs unfused: {med('unfused', 'wall_s') / med('fused', 'wall_s'):.2f}x (wall), "
        f"{med('unfused', 'loop_s') / med('fused', 'loop_s'):.2f}x (loop)"
    )


if __name__ == "__main__":
    main()
