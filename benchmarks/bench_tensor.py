"""The tensor engine against PyTorch and against hand-written numpy backprop, side by side.

    python benchmarks/bench_tensor.py                  # both jobs, 3 interleaved rounds
    python benchmarks/bench_tensor.py --rounds 5 --job digits --epochs 10
    python benchmarks/bench_tensor.py --blas-threads 0   # leave numpy's BLAS threads alone

Jobs:

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
STEPS = 100  # the demo job's length (its learning rate 1 - 0.9*k/100 turns negative after 111)
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
    n_test = round(len(X) * 0.2)
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


def micrograd_moons(runs: int) -> dict:
    from micrograd.optim import SGD
    from micrograd.tensor import Tensor, losses
    from micrograd.tensor.nn import MLP

    X, y, weights = moons_setup()
    Xt = Tensor(X, requires_grad=False)
    times, final = [], None
    for _ in range(runs):
        model = MLP(2, [16, 16, 1])
        for layer, (W, b) in zip(model.layers, weights):
            layer.weight.data = W.copy()
            layer.bias.data = b.copy()
        params = model.parameters()
        opt = SGD(params, lr=1.0)
        for k in range(STEPS):
            t0 = time.perf_counter()
            loss = losses.hinge(model(Xt), y) + losses.l2(params, 1e-4)
            model.zero_grad()
            loss.backward()
            opt.lr = 1.0 - 0.9 * k / 100
            opt.step()
            times.append(time.perf_counter() - t0)
        final = float(loss.data) if final is None else final
    return {"step": statistics.median(times), "final_loss": final}


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


def numpy_moons(runs: int) -> dict:
    """The demo job with its backward pass derived by hand, using the same numpy calls as the
    engine's fused nodes (`ones @ g` for bias gradients, in-place bias add and ReLU), so that
    the difference to micrograd is the engine's own overhead."""
    import numpy as np

    X, y0, weights = moons_setup()
    y = y0[:, None]
    n, alpha, inv_n = len(X), 1e-4, 1.0 / len(X)
    ones = np.ones(n)
    times, final = [], None
    for _ in range(runs):
        Ws = [W.copy() for W, _ in weights]
        bs = [b.copy() for _, b in weights]
        params = Ws + bs
        for k in range(STEPS):
            t0 = time.perf_counter()
            # forward
            a1 = X @ Ws[0]
            a1 += bs[0]
            np.maximum(a1, 0, out=a1)
            a2 = a1 @ Ws[1]
            a2 += bs[1]
            np.maximum(a2, 0, out=a2)
            s = a2 @ Ws[2]
            s += bs[2]
            margins = 1 - y * s
            active = margins > 0
            l2 = 0.0
            for p in params:
                r = p.ravel()
                l2 = l2 + r @ r
            loss = np.maximum(margins, 0).sum() * inv_n + alpha * l2
            # backward: d loss / d score = -y/n where the margin is positive
            gs = (y * -inv_n) * active
            gW2, gb2 = a2.T @ gs, ones @ gs
            gh2 = (gs @ Ws[2].T) * (a2 > 0)
            gW1, gb1 = a1.T @ gh2, ones @ gh2
            gh1 = (gh2 @ Ws[1].T) * (a1 > 0)
            gW0, gb0 = X.T @ gh1, ones @ gh1
            # L2's gradient and SGD
            lr = 1.0 - 0.9 * k / 100
            for p, g in zip(params, [gW0, gW1, gW2, gb0, gb1, gb2]):
                p -= lr * (g + p * (2 * alpha))
            times.append(time.perf_counter() - t0)
        final = float(loss) if final is None else final
    return {"step": statistics.median(times), "final_loss": final}


def numpy_digits(epochs: int) -> dict:
    """The digits MLP with its backward pass derived by hand, with the numpy calls of the
    engine's fused nodes and `micrograd.optim.Adam`'s arithmetic."""
    import numpy as np

    X, y, Xte, yte, weights, batches, _ = digits_setup(epochs)
    params = [a.copy() for W, b in weights for a in (W, b)]  # W0 b0 W1 b1 W2 b2
    m = [0.0] * 6
    v = [0.0] * 6
    lr, b1, b2, eps, t = 1e-3, 0.9, 0.999, 1e-8, 0
    rows = np.arange(64)
    times = []
    for epoch in batches:
        t0 = time.perf_counter()
        for idx in epoch:
            xb, yb = X[idx], y[idx]
            nb = len(idx)
            ones = np.ones(nb, dtype=np.float32)
            W0, c0, W1, c1, W2, c2 = params
            a1 = xb @ W0
            a1 += c0
            np.maximum(a1, 0, out=a1)
            a2 = a1 @ W1
            a2 += c1
            np.maximum(a2, 0, out=a2)
            z = a2 @ W2
            z += c2
            shifted = z - z.max(1, keepdims=True)
            e = np.exp(shifted)
            sums = e.sum(1, keepdims=True)
            r = rows[:nb]
            loss = (np.log(sums).sum() - shifted[r, yb].sum()) * (1.0 / nb)  # noqa: F841 (as the engines do)
            # d loss / d logits = (softmax - onehot) / n
            dz = e / sums
            dz[r, yb] -= 1
            dz *= 1.0 / nb
            grads = [None] * 6
            grads[4], grads[5] = a2.T @ dz, ones @ dz
            dh2 = (dz @ W2.T) * (a2 > 0)
            grads[2], grads[3] = a1.T @ dh2, ones @ dh2
            dh1 = (dh2 @ W1.T) * (a1 > 0)
            grads[0], grads[1] = xb.T @ dh1, ones @ dh1
            t += 1
            for i, g in enumerate(grads):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * (g * g)
                denom = v[i] ** 0.5 / (1 - b2**t) ** 0.5 + eps
                params[i] -= (lr / (1 - b1**t)) * m[i] / denom
        times.append(time.perf_counter() - t0)
    W0, c0, W1, c1, W2, c2 = params
    out = np.maximum(np.maximum(Xte @ W0 + c0, 0) @ W1 + c1, 0) @ W2 + c2
    return {
        "epoch": statistics.median(times),
        "test_accuracy": float((out.argmax(1) == yte).mean()),
    }


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


def torch_moons(runs: int) -> dict:
    import torch

    X, y, weights = moons_setup()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    times, final = [], None
    for _ in range(runs):
        model = _torch_mlp(torch, weights, torch.float64)
        params = list(model.parameters())
        opt = torch.optim.SGD(params, lr=1.0)
        for k in range(STEPS):
            t0 = time.perf_counter()
            scores = model(Xt).squeeze(1)
            loss = torch.relu(1 - yt * scores).mean() + 1e-4 * sum((p * p).sum() for p in params)
            opt.zero_grad()
            loss.backward()
            for group in opt.param_groups:
                group["lr"] = 1.0 - 0.9 * k / 100
            opt.step()
            times.append(time.perf_counter() - t0)
        final = float(loss) if final is None else final
    return {"step": statistics.median(times), "final_loss": final}


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
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{job}/{engine} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--job", choices=["moons", "digits", "all"], default="all")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3, help="moons: 100-step jobs per measurement")
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
        key, size = ("step", args.runs) if job == "moons" else ("epoch", args.epochs)
        results: dict[str, list] = {e: [] for e in ENGINES}
        for r in range(args.rounds):
            # rotate the order every round so no engine always runs first
            order = ENGINES[r % len(ENGINES) :] + ENGINES[: r % len(ENGINES)]
            for engine in order:
                results[engine].append(measure(job, engine, size, args.blas_threads))
        what = "seconds per step" if job == "moons" else "seconds per epoch"
        check = "final_loss" if job == "moons" else "test_accuracy"
        print(
            f"\n{job}: median {what} over {args.rounds} interleaved rounds "
            f"({size} {'runs of 100 steps' if job == 'moons' else 'epochs'} each)"
        )
        ours = statistics.median(x[key] for x in results["micrograd"])
        print(f"  {'engine':<15} {what:>18}   {'micrograd / it':>14}   {check}")
        for engine in ENGINES:
            t = statistics.median(x[key] for x in results[engine])
            c = results[engine][-1][check]
            print(f"  {engine:<15} {t:>18.6f}   {ours / t:>14.2f}   {c:.5f}")


if __name__ == "__main__":
    main()
