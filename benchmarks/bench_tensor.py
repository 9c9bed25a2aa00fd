"""The tensor engine against PyTorch and against hand-written numpy backprop, side by side.

    python benchmarks/bench_tensor.py                  # both jobs, 3 interleaved rounds
    python benchmarks/bench_tensor.py --rounds 5 --job digits
    python benchmarks/bench_tensor.py --blas-threads 0   # leave numpy's BLAS threads alone

Jobs (baselines.md):

* moons: the demo job on tensors -- `make_moons(100, noise=0.1)`, MLP 2-16-16-1 (ReLU), hinge +
  1e-4 * L2, full batch, SGD with `lr = 1.0 - 0.9*k/100`, 100 steps, float64, all engines starting
  from the weights the scalar `micrograd.nn.MLP` draws after `random.seed(1337)`. Reported: the
  median time of one training step (forward, loss, zero_grad, backward, update).
* digits: scikit-learn `load_digits` (pixels / 16), 80/20 split with seed 0, MLP 64-128-64-10
  (ReLU), softmax cross-entropy, Adam lr 1e-3, batch 64, float32, the same shuffled batches for
  every engine. Reported: the median time of one epoch (23 steps), and the test accuracy after
  10 epochs as a check that every engine trains.

Engines: `micrograd.tensor` (with `micrograd.optim`), PyTorch with 1 thread and with its default
threads, and the same network with its backward pass and optimizer written by hand in numpy (the
overhead-free floor for a numpy engine).

Each measurement runs in a fresh process; engines alternate within each round, and we report
medians over rounds, and ratios. numpy's BLAS (OpenBLAS) uses every core by default, and on a
2-core machine whose other core is busy its threads stall on small matrices (10x slower steps
measured); the numpy engines therefore run with `OPENBLAS_NUM_THREADS=1` unless
`--blas-threads 0` is given. The same setting applies to micrograd and to the hand-written numpy
code, so their ratio is fair either way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENGINES = ("micrograd", "numpy", "torch-1thread", "torch-default")

# -- data and initial weights, shared by every engine -------------------------------------------


def moons_setup():
    import random

    import numpy as np
    from sklearn.datasets import make_moons

    from micrograd.nn import MLP as ScalarMLP

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = (y * 2 - 1).astype(np.float64)
    scalar = ScalarMLP(2, [16, 16, 1])
    weights = []
    for layer in scalar.layers:
        W = np.array([[w.data for w in n.w] for n in layer.neurons], dtype=np.float64).T.copy()
        b = np.array([n.b.data for n in layer.neurons], dtype=np.float64)
        weights.append((W, b))
    return X.astype(np.float64), y, weights


def digits_setup(epochs: int):
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    n_test = int(round(len(X) * 0.2))
    test, train = order[:n_test], order[n_test:]
    sizes = [64, 128, 64, 10]
    weights = []
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(nin)  # PyTorch's default Linear init
        W = rng.uniform(-bound, bound, size=(nin, nout)).astype(np.float32)
        b = rng.uniform(-bound, bound, size=nout).astype(np.float32)
        weights.append((W, b))
    batches = []
    for _ in range(epochs):
        perm = rng.permutation(len(train))
        batches.append([perm[i : i + 64] for i in range(0, len(train), 64)])
    return X[train], y[train], X[test], y[test], weights, batches, train


# -- micrograd.tensor ---------------------------------------------------------------------------


def micrograd_moons(steps: int) -> dict:
    import numpy as np

    from micrograd.optim import SGD
    from micrograd.tensor import Tensor, losses
    from micrograd.tensor.nn import MLP

    X, y, weights = moons_setup()
    model = MLP(2, [16, 16, 1])
    for layer, (W, b) in zip(model.layers, weights):
        layer.weight.data = W.copy()
        layer.bias.data = b.copy()
    params = model.parameters()
    opt = SGD(params, lr=1.0)
    Xt = Tensor(X, requires_grad=False)
    times, loss = [], None
    for k in range(steps):
        t0 = time.perf_counter()
        loss = losses.hinge(model(Xt), y) + losses.l2(params, 1e-4)
        model.zero_grad()
        loss.backward()
        opt.lr = 1.0 - 0.9 * k / 100
        opt.step()
        times.append(time.perf_counter() - t0)
    return {"step": statistics.median(times), "final_loss": float(loss.data)}


def micrograd_digits(epochs: int) -> dict:
    import numpy as np

    from micrograd.optim import Adam
    from micrograd.tensor import Tensor, losses, no_grad
    from micrograd.tensor.nn import MLP

    X, y, Xte, yte, weights, batches, _ = digits_setup(epochs)
    model = MLP(64, [128, 64, 10], dtype=np.float32)
    for layer, (W, b) in zip(model.layers, weights):
        layer.weight.data = W.copy()
        layer.bias.data = b.copy()
    opt = Adam(model.parameters(), lr=1e-3)
    times = []
    for epoch in batches:
        t0 = time.perf_counter()
        for idx in epoch:
            loss = losses.cross_entropy(model(Tensor(X[idx], requires_grad=False)), y[idx])
            model.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with no_grad():
        acc = float((model(Tensor(Xte, requires_grad=False)).data.argmax(1) == yte).mean())
    return {"epoch": statistics.median(times), "test_accuracy": acc}


# -- numpy, backprop by hand --------------------------------------------------------------------


def numpy_moons(steps: int) -> dict:
    import numpy as np

    X, y, weights = moons_setup()
    y = y[:, None]
    Ws = [W.copy() for W, _ in weights]
    bs = [b.copy() for _, b in weights]
    n, alpha = len(X), 1e-4
    times, loss = [], None
    for k in range(steps):
        t0 = time.perf_counter()
        # forward
        h1 = X @ Ws[0] + bs[0]
        a1 = np.maximum(h1, 0)
        h2 = a1 @ Ws[1] + bs[1]
        a2 = np.maximum(h2, 0)
        s = a2 @ Ws[2] + bs[2]
        margins = 1 - y * s
        active = margins > 0
        params = Ws + bs
        loss = np.maximum(margins, 0).sum() / n + alpha * sum((p * p).sum() for p in params)
        # backward
        gs = -(y * active) / n
        gW2, gb2 = a2.T @ gs, gs.sum(0)
        gh2 = (gs @ Ws[2].T) * (h2 > 0)
        gW1, gb1 = a1.T @ gh2, gh2.sum(0)
        gh1 = (gh2 @ Ws[1].T) * (h1 > 0)
        gW0, gb0 = X.T @ gh1, gh1.sum(0)
        # L2 and SGD
        lr = 1.0 - 0.9 * k / 100
        for p, g in zip(params, [gW0, gW1, gW2, gb0, gb1, gb2]):
            p -= lr * (g + 2 * alpha * p)
        times.append(time.perf_counter() - t0)
    return {"step": statistics.median(times), "final_loss": float(loss)}


def numpy_digits(epochs: int) -> dict:
    import numpy as np

    X, y, Xte, yte, weights, batches, _ = digits_setup(epochs)
    params = [a.copy() for W, b in weights for a in (W, b)]  # W0 b0 W1 b1 W2 b2
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps, t = 1e-3, 0.9, 0.999, 1e-8, 0
    times = []
    for epoch in batches:
        t0 = time.perf_counter()
        for idx in epoch:
            xb, yb = X[idx], y[idx]
            W0, c0, W1, c1, W2, c2 = params
            h1 = xb @ W0 + c0
            a1 = np.maximum(h1, 0)
            h2 = a1 @ W1 + c1
            a2 = np.maximum(h2, 0)
            z = a2 @ W2 + c2
            z = z - z.max(1, keepdims=True)
            e = np.exp(z)
            p = e / e.sum(1, keepdims=True)
            nb = len(idx)
            # d loss / d logits = (softmax - onehot) / n
            p[np.arange(nb), yb] -= 1
            dz = p / nb
            grads = [None] * 6
            grads[4], grads[5] = a2.T @ dz, dz.sum(0)
            dh2 = (dz @ W2.T) * (h2 > 0)
            grads[2], grads[3] = a1.T @ dh2, dh2.sum(0)
            dh1 = (dh2 @ W1.T) * (h1 > 0)
            grads[0], grads[1] = xb.T @ dh1, dh1.sum(0)
            t += 1
            for i, g in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * (g * g)
                denom = np.sqrt(v[i]) / np.sqrt(1 - b2**t) + eps
                params[i] -= (lr / (1 - b1**t)) * m[i] / denom
        times.append(time.perf_counter() - t0)
    W0, c0, W1, c1, W2, c2 = params
    out = np.maximum(np.maximum(Xte @ W0 + c0, 0) @ W1 + c1, 0) @ W2 + c2
    return {"epoch": statistics.median(times), "test_accuracy": float((out.argmax(1) == yte).mean())}


# -- PyTorch ------------------------------------------------------------------------------------


def _torch_mlp(torch, weights, dtype):
    layers = []
    for i, (W, b) in enumerate(weights):
        lin = torch.nn.Linear(*W.shape).to(dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_moons(steps: int) -> dict:
    import torch

    X, y, weights = moons_setup()
    model = _torch_mlp(torch, weights, torch.float64)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=1.0)
    times, loss = [], None
    for k in range(steps):
        t0 = time.perf_counter()
        scores = model(Xt).squeeze(1)
        loss = torch.relu(1 - yt * scores).mean() + 1e-4 * sum((p * p).sum() for p in params)
        opt.zero_grad()
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = 1.0 - 0.9 * k / 100
        opt.step()
        times.append(time.perf_counter() - t0)
    return {"step": statistics.median(times), "final_loss": float(loss)}


def torch_digits(epochs: int) -> dict:
    import torch

    X, y, Xte, yte, weights, batches, _ = digits_setup(epochs)
    model = _torch_mlp(torch, weights, torch.float32)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [[torch.from_numpy(idx) for idx in epoch] for epoch in batches]
    times = []
    for epoch in batches:
        t0 = time.perf_counter()
        for idx in epoch:
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        out = model(torch.from_numpy(Xte)).argmax(1).numpy()
    return {"epoch": statistics.median(times), "test_accuracy": float((out == yte).mean())}


# -- the driver ---------------------------------------------------------------------------------

JOBS = {
    ("moons", "micrograd"): micrograd_moons,
    ("moons", "numpy"): numpy_moons,
    ("moons", "torch"): torch_moons,
    ("digits", "micrograd"): micrograd_digits,
    ("digits", "numpy"): numpy_digits,
    ("digits", "torch"): torch_digits,
}


def worker(job: str, engine: str, size: int) -> None:
    if engine.startswith("torch"):
        import torch

        if engine == "torch-1thread":
            torch.set_num_threads(1)
        fn = JOBS[(job, "torch")]
    else:
        fn = JOBS[(job, engine)]
    print(json.dumps(fn(size)))


def measure(job: str, engine: str, size: int, blas_threads: int) -> dict:
    env = dict(os.environ)
    if blas_threads and not engine.startswith("torch"):
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, __file__, "--worker", job, engine, str(size)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{job}/{engine} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--job", choices=["moons", "digits", "all"], default="all")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=300, help="moons: steps per measurement")
    ap.add_argument("--epochs", type=int, default=10, help="digits: epochs per measurement")
    ap.add_argument("--blas-threads", type=int, default=1, help="0: numpy's default")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        job, engine, size = args.worker
        worker(job, engine, int(size))
        return
    import numpy
    import torch

    print(
        f"python {sys.version.split()[0]}, numpy {numpy.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} cores, OPENBLAS_NUM_THREADS for numpy engines: "
        f"{args.blas_threads or 'default'}"
    )
    jobs = ["moons", "digits"] if args.job == "all" else [args.job]
    for job in jobs:
        key, size = ("step", args.steps) if job == "moons" else ("epoch", args.epochs)
        results: dict[str, list] = {e: [] for e in ENGINES}
        for r in range(args.rounds):
            # rotate the order every round so no engine always runs first
            order = ENGINES[r % len(ENGINES):] + ENGINES[: r % len(ENGINES)]
            for engine in order:
                results[engine].append(measure(job, engine, size, args.blas_threads))
        what = "seconds per step" if job == "moons" else "seconds per epoch"
        check = "final_loss" if job == "moons" else "test_accuracy"
        print(f"\n{job}: median {what} over {args.rounds} interleaved rounds "
              f"({size} {'steps' if job == 'moons' else 'epochs'} each)")
        ours = statistics.median(x[key] for x in results["micrograd"])
        print(f"  {'engine':<15} {what:>18}   {'micrograd / it':>14}   {check}")
        for engine in ENGINES:
            t = statistics.median(x[key] for x in results[engine])
            c = results[engine][-1][check]
            print(f"  {engine:<15} {t:>18.6f}   {ours / t:>14.2f}   {c:.5f}")


if __name__ == "__main__":
    main()
