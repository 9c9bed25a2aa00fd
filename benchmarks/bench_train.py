"""The default `micrograd train` job, on our pure and compiled engines, against the original
micrograd's demo loop, side by side.

    python benchmarks/bench_train.py                 # 5 rounds of ours, the original once
    python benchmarks/bench_train.py --rounds 3 --original-runs 2
    python benchmarks/bench_train.py --original-runs 0   # ours only (fused vs unfused)
    python benchmarks/bench_train.py --quick             # a smoke test: ours, 1 round of 5 steps

The job is the original `demo.ipynb`: moons, 100 samples, `MLP(2, [16, 16, 1])`, hinge loss + L2
(alpha 1e-4), full batch, SGD with `lr = 1.0 - 0.9*k/100`, 100 steps, seed 1337.

* original: micrograd 0.1.0 in its own virtual environment (see peers.py), the notebook's code
  run exactly as its users run it: the garbage collector on, scikit-learn's `make_moons`, inputs
  wrapped as `Value`s, one print per step. About 165 s on the reference machine, so by default it
  runs once, in the middle of our rounds.
* ours: `micrograd.train.run(TrainConfig())`, i.e. `micrograd train --no-progress`, end to end:
  data, model, 100 steps, then the plots, the saved model and metrics.json. Once with the fused
  MLP (the CLI's default) and once with `fused=False` (the original's graph of single `*`/`+`),
  each on the pure engine (`MICROGRAD_PURE=1`) and on the compiled one when it is built.

Every measurement is a fresh process (the variants alternate within a round, in an order that
rotates); we report its wall time (interpreter start to exit, imports included), the job time
and the job's CPU time measured inside it (on a shared machine the wall time also waits for
other processes), medians over the rounds, and the ratios to the original.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import choose_engines, implementation, median, rotated, run_worker

STEPS = 100


def original_demo() -> dict:
    """The original demo notebook's cells, in order, as a user runs them (original package)."""
    t0, c0 = time.perf_counter(), time.process_time()
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
        "implementation": implementation(),
        "job_s": t2 - t0,
        "job_cpu_s": time.process_time() - c0,
        "loop_s": t2 - t1,
        "final_loss": float(total_loss.data),
        "accuracy": float(acc),
    }


def ours(fused: bool, steps: int) -> dict:
    """`micrograd train --no-progress` (or with `--no-fused`), end to end, in this process."""
    t0, c0 = time.perf_counter(), time.process_time()
    from micrograd.train import TrainConfig, run

    with tempfile.TemporaryDirectory() as out:
        metrics = run(TrainConfig(out=out, fused=fused, steps=steps), progress=False)
    t1 = time.perf_counter()
    return {
        "implementation": implementation(),
        "job_s": t1 - t0,
        "job_cpu_s": time.process_time() - c0,
        "loop_s": metrics["timing"]["train_seconds"],
        "final_loss": metrics["final_loss"],
        "accuracy": metrics["train_accuracy"],
    }


OURS = {  # variant -> (engine, fused)
    "pure fused": ("pure", True),
    "pure unfused": ("pure", False),
    "compiled fused": ("compiled", True),
    "compiled unfused": ("compiled", False),
}
LABELS = {
    "original": "original 0.1.0 (GC on)",
    "pure fused": "pure, fused (CLI default)",
    "pure unfused": "pure, --no-fused",
    "compiled fused": "compiled, fused (default)",
    "compiled unfused": "compiled, --no-fused",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each of our variants")
    parser.add_argument("--original-runs", type=int, default=1, help="runs of the original")
    parser.add_argument("--engines", help="ours to run: pure,compiled (default: both if built)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: ours only, 1 round of 5-step jobs"
    )
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        job, steps = args.worker
        result = original_demo() if job == "original" else ours(job == "fused", int(steps))
        print(json.dumps(result))
        return

    steps = 5 if args.quick else STEPS
    rounds, original_runs = (1, 0) if args.quick else (args.rounds, args.original_runs)
    engines = choose_engines(args.engines, original=False)
    variants = [v for v, (engine, _) in OURS.items() if engine in engines]
    script = str(Path(__file__).resolve())
    results: dict[str, list[dict]] = {v: [] for v in ["original", *variants]}
    # Spread the original's runs evenly among our rounds, so that they share the machine's state.
    original_at = {round((i + 0.5) * rounds / original_runs) for i in range(original_runs)}
    for r in range(rounds + 1):
        if r in original_at or (r == rounds and len(results["original"]) < original_runs):
            print("running the original demo (about 3 minutes) ...", file=sys.stderr)
            results["original"].append(run_worker("original", script, ["original", str(STEPS)]))
        if r == rounds:
            break
        for variant in rotated(variants, r):
            engine, fused = OURS[variant]
            job = "fused" if fused else "unfused"
            results[variant].append(run_worker(engine, script, [job, str(steps)]))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)

    def med(variant: str, key: str) -> float:
        return median([m[key] for m in results[variant]])

    print(
        f"default train job, {steps} steps; medians of {rounds} runs of ours and "
        f"{len(results['original'])} of the original, each in a fresh process"
    )
    shown = [v for v in ["original", *variants] if results[v]]
    with_original = bool(results["original"])
    print(
        f"{'':27}{'wall (s)':>10}{'job (s)':>10}{'job CPU':>10}{'loop (s)':>10}{'final loss':>13}"
        f"{'acc':>7}"
        + (
            f"{'x orig. (wall)':>16}{'x orig. (CPU)':>15}{'x orig. (loop)':>16}"
            if with_original
            else ""
        )
    )
    for v in shown:
        line = (
            f"{LABELS[v]:27}{med(v, 'wall_s'):10.3f}{med(v, 'job_s'):10.3f}"
            f"{med(v, 'job_cpu_s'):10.3f}{med(v, 'loop_s'):10.3f}"
            f"{med(v, 'final_loss'):13.6f}{med(v, 'accuracy'):7.2f}"
        )
        if with_original:
            line += (
                f"{med('original', 'wall_s') / med(v, 'wall_s'):15.1f}x"
                f"{med('original', 'job_cpu_s') / med(v, 'job_cpu_s'):14.1f}x"
                f"{med('original', 'loop_s') / med(v, 'loop_s'):15.1f}x"
            )
        print(line)
    # Ours must agree to the last bit: both engines, fused or not, compute the same floats. The
    # original's loss is on its own data (scikit-learn's moons from numpy's generator; `micrograd
    # train` draws its moons with the standard library's), so it is shown, not compared.
    losses = {m["final_loss"] for v in variants for m in results[v]}
    print(
        "final losses of ours: "
        + ("identical" if len(losses) == 1 else "DIFFERENT: " + str(sorted(losses)))
    )
    if len(losses) != 1:
        raise SystemExit("our variants did not reach the same final loss")


if __name__ == "__main__":
    main()
