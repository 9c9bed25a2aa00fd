"""The original demo notebook's training loop, verbatim, under the original, our pure and our
compiled engine, side by side in one run.

    python benchmarks/bench_notebook.py                  # 3 interleaved rounds of 10 steps
    python benchmarks/bench_notebook.py --rounds 5 --steps 20
    python benchmarks/bench_notebook.py --quick --no-original   # a smoke test, ours only

The workload is micrograd 0.1.0's `demo.ipynb` as its users run it: the cells below are the
notebook's own code (github.com/karpathy/micrograd, demo.ipynb), unchanged except that the
plotting lines are left out: scikit-learn's moons as numpy arrays, inputs wrapped with
`list(map(Value, xrow))`, numpy labels in the hinge loss, the L2 loss, the user's own SGD loop,
the garbage collector on, one print per step. Variants:

* original: micrograd 0.1.0 in its own virtual environment (see peers.py);
* pure, compiled: this repository's `micrograd` with the pure or the compiled `Value`, running
  the same cells, once as they are (the original's graph of single `*` and `+`) and once with
  `MLP(2, [16, 16, 1], fused=True)`, the only change (each neuron's sum as one node).

Each variant runs in a fresh process, the variants alternate within a round (the order rotates
every round). A process runs the setup cells and the first `--steps` steps of the loop (the
loop's `print` stops it there: the loop's code stays as it is, learning rates included). We
report the median seconds per step (wall and CPU time) and the ratios to the original measured
in the same run, and check the printed lines: ours (pure and compiled, fused or not) identical
to the last digit; the original the same first loss (0.8958441028683222) and accuracies, and
losses equal up to rounding (its gradient sums follow the order of a set of Values: see
`compare_outputs`).

Targets: compiled unfused at least 20x the original, compiled fused at least 60x.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import choose_engines, implementation, median, rotated, run_worker

FIRST_LOSS_LINE = "Value(data=0.8958441028683222, grad=0) 0.5"
LOSS_RTOL = 1e-9  # the original vs ours: rounding in the last digits (see compare_outputs)
TARGET_UNFUSED = 20.0
TARGET_FUSED = 60.0

# The notebook's code cells, in order (the plotting lines left out). Only the model line changes
# for the fused variant.
SETUP_CELLS = [
    """\
import random
import numpy as np
""",
    """\
from micrograd.engine import Value
from micrograd.nn import Neuron, Layer, MLP
""",
    """\
np.random.seed(1337)
random.seed(1337)
""",
    """\
# make up a dataset

from sklearn.datasets import make_moons, make_blobs
X, y = make_moons(n_samples=100, noise=0.1)

y = y*2 - 1 # make y be -1 or 1
""",
    """\
# initialize a model 
model = MLP(2, [16, 16, 1]) # 2-layer neural network
print(model)
print("number of parameters", len(model.parameters()))
""",
    """\
# loss function
def loss(batch_size=None):
    
    # inline DataLoader :)
    if batch_size is None:
        Xb, yb = X, y
    else:
        ri = np.random.permutation(X.shape[0])[:batch_size]
        Xb, yb = X[ri], y[ri]
    inputs = [list(map(Value, xrow)) for xrow in Xb]
    
    # forward the model to get scores
    scores = list(map(model, inputs))
    
    # svm "max-margin" loss
    losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    # L2 regularization
    alpha = 1e-4
    reg_loss = alpha * sum((p*p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    
    # also get accuracy
    accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
    return total_loss, sum(accuracy) / len(accuracy)

total_loss, acc = loss()
print(total_loss, acc)
""",
]
LOOP_CELL = """\
# optimization
for k in range(100):
    
    # forward
    total_loss, acc = loss()
    
    # backward
    model.zero_grad()
    total_loss.backward()
    
    # update (sgd)
    learning_rate = 1.0 - 0.9*k/100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    
    if k % 1 == 0:
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
"""
MODEL_LINE = "model = MLP(2, [16, 16, 1]) # 2-layer neural network"
FUSED_MODEL_LINE = "model = MLP(2, [16, 16, 1], fused=True) # 2-layer neural network"


def notebook_cells(fused: bool) -> tuple[list[str], str]:
    """The setup cells and the loop cell of the notebook, with the fused model if asked."""
    if not fused:
        return SETUP_CELLS, LOOP_CELL
    return [c.replace(MODEL_LINE, FUSED_MODEL_LINE) for c in SETUP_CELLS], LOOP_CELL


class _EnoughSteps(Exception):
    """Raised by the notebook's `print` after the steps we time (ends the loop early)."""


def worker(fused: bool, steps: int) -> dict:
    """Run the notebook's cells in this process, as a notebook kernel runs them (one namespace,
    the collector on), and time its loop step by step."""
    import gc
    import time

    printed: list[str] = []
    step_ends: list[float] = []
    cpu_ends: list[float] = []  # CPU time too: on a shared machine the wall time waits for others

    def notebook_print(*args, **kwargs) -> None:
        # The notebook's output, kept instead of shown; the loop prints once at the end of a step.
        text = " ".join(str(a) for a in args)
        printed.append(text)
        if text.startswith("step "):
            step_ends.append(time.perf_counter())
            cpu_ends.append(time.process_time())
            if len(step_ends) == steps:
                raise _EnoughSteps

    setup, loop = notebook_cells(fused)
    namespace: dict = {"__name__": "__main__", "print": notebook_print}
    t0 = time.perf_counter()
    for cell in setup:
        exec(compile(cell, "<notebook cell>", "exec"), namespace)  # noqa: S102 (the notebook)
    t1, c1 = time.perf_counter(), time.process_time()
    try:
        exec(compile(loop, "<notebook cell>", "exec"), namespace)  # noqa: S102
    except _EnoughSteps:
        pass
    starts, cpu_starts = [t1] + step_ends[:-1], [c1] + cpu_ends[:-1]
    return {
        "implementation": implementation(),
        "gc_enabled": gc.isenabled(),
        "setup_s": t1 - t0,
        "steps_s": [end - start for start, end in zip(starts, step_ends)],
        "steps_cpu_s": [end - start for start, end in zip(cpu_starts, cpu_ends)],
        "printed": printed,
    }


STEP_LINE = re.compile(r"^step (\d+) loss (\S+), accuracy (\S+)%$")


def _first_difference(a: list[str], b: list[str]) -> str:
    i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    return f"{len(b)} lines instead of {len(a)}" if i is None else f"{a[i]!r} vs {b[i]!r}"


def compare_outputs(results: dict[str, list[dict]], variants: list[str], steps: int) -> bool:
    """Print how the variants' outputs compare; True if they agree.

    Ours (pure and compiled, fused or not) must print exactly the same lines in every process:
    same floats to the last bit. The original must print the same model, parameter count and
    first loss (0.8958441028683222, a forward pass), the same accuracies, and the same losses
    up to rounding: its backward pass adds the gradients of a shared input in the order of a
    set of Values, which follows memory addresses, so its own runs differ in the last digits.
    """
    ours = [v for v in variants if v != "original"]
    reference = results[ours[0]][0]["printed"]
    ok = FIRST_LOSS_LINE in reference
    print(
        f"\nprinted output, {len(reference)} lines (model, parameter count, first loss, {steps} "
        f"steps); first loss line {FIRST_LOSS_LINE!r} {'printed' if ok else 'NOT PRINTED'}"
    )
    different = [(v, m["printed"]) for v in ours for m in results[v] if m["printed"] != reference]
    print(
        f"  ours ({', '.join(ours)}): "
        + ("identical in every variant and process" if not different else "DIFFERENT")
    )
    for v, theirs in different[:3]:
        print(f"    {ours[0]} vs {v}: {_first_difference(reference, theirs)}")
    print(f"  last step: {reference[-1]}")
    ok = ok and not different
    if "original" not in variants:
        return ok
    worst, runs = 0.0, results["original"]
    for m in runs:
        theirs = m["printed"]
        same_text = [a == b for a, b in zip(reference, theirs) if not STEP_LINE.match(a)]
        steps_ours = [STEP_LINE.match(line).groups() for line in reference if STEP_LINE.match(line)]
        steps_orig = [STEP_LINE.match(line).groups() for line in theirs if STEP_LINE.match(line)]
        if len(theirs) != len(reference) or not all(same_text) or len(steps_orig) != steps:
            print(f"    original vs ours: {_first_difference(reference, theirs)}")
            return False
        for (k, loss_a, acc_a), (j, loss_b, acc_b) in zip(steps_ours, steps_orig):
            if k != j or acc_a != acc_b:
                print(f"    step {k}: accuracy {acc_a}% (ours) vs {acc_b}% (original)")
                return False
            worst = max(worst, abs(float(loss_a) - float(loss_b)) / abs(float(loss_a)))
    own = {tuple(m["printed"]) for m in runs}
    agree = worst <= LOSS_RTOL
    print(
        f"  original: same model, parameter count, first loss and accuracies; losses within "
        f"{worst:.1e} relative of ours ({'ok' if agree else 'TOO FAR'}, "
        f"tolerance {LOSS_RTOL:.0e}); "
        f"its own {len(runs)} runs printed {len(own)} different output(s)"
    )
    return ok and agree


VARIANTS = {  # name -> (engine, fused)
    "original": ("original", False),
    "pure": ("pure", False),
    "pure fused": ("pure", True),
    "compiled": ("compiled", False),
    "compiled fused": ("compiled", True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps of the loop per process")
    parser.add_argument("--engines", help="comma-separated: pure,compiled,original (default: all)")
    parser.add_argument(
        "--no-original",
        action="store_true",
        help="leave out micrograd 0.1.0 (no peer virtual environment needed)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 round of 2 steps")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fused, steps = args.worker
        print(json.dumps(worker(fused == "fused", int(steps))))
        return

    rounds, steps = (1, 2) if args.quick else (args.rounds, args.steps)
    if rounds < 1 or steps < 1:
        raise SystemExit("--rounds and --steps must be at least 1")
    engines = choose_engines(args.engines, original=not args.no_original)
    variants = [v for v, (engine, _) in VARIANTS.items() if engine in engines]
    script = str(Path(__file__).resolve())
    results: dict[str, list[dict]] = {v: [] for v in variants}
    for r in range(rounds):
        for variant in rotated(variants, r):
            engine, fused = VARIANTS[variant]
            m = run_worker(engine, script, ["fused" if fused else "unfused", str(steps)])
            if not m["gc_enabled"]:
                raise SystemExit(f"{variant}: the garbage collector was off")
            results[variant].append(m)
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)

    # Per process, the median of its steps; then the median over the rounds.
    step = {v: median([median(m["steps_s"]) for m in results[v]]) for v in variants}
    cpu = {v: median([median(m["steps_cpu_s"]) for m in results[v]]) for v in variants}
    setup = {v: median([m["setup_s"] for m in results[v]]) for v in variants}
    print(
        f"the original demo notebook's loop, verbatim (moons as numpy arrays, MLP(2, [16, 16, 1]), "
        f"collector on); {steps} steps per process, medians of {rounds} interleaved rounds"
    )
    has_original = "original" in variants
    print(
        f"{'variant':16}{'s per step':>12}{'x original':>12}{'CPU s/step':>12}{'x original':>12}"
        f"{'setup cells (s)':>17}"
    )
    for v in variants:
        x_wall = f"{step['original'] / step[v]:11.1f}x" if has_original else f"{'-':>12}"
        x_cpu = f"{cpu['original'] / cpu[v]:11.1f}x" if has_original else f"{'-':>12}"
        print(f"{v:16}{step[v]:12.4f}{x_wall}{cpu[v]:12.4f}{x_cpu}{setup[v]:17.3f}")

    printed_ok = compare_outputs(results, variants, steps)

    missed = []
    if has_original and "compiled" in variants:
        print("\ntargets:")
        for v, target in (("compiled", TARGET_UNFUSED), ("compiled fused", TARGET_FUSED)):
            x = step["original"] / step[v]
            ok = x >= target
            print(f"  {v} >= {target:.0f}x the original: {x:.1f}x  {'met' if ok else 'MISSED'}")
            missed += [] if ok else [v]
    if not printed_ok:
        raise SystemExit("the variants did not print the same output")
    if missed:
        print(f"targets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
