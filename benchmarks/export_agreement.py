"""How far torch's and onnxruntime's outputs are from ours for exported models (not a speed test).

    python benchmarks/export_agreement.py               # 60 random MLPs per engine, init 'he'
    python benchmarks/export_agreement.py --init uniform --models 100

For random MLPs (1-7 inputs, 1-4 layers of 2-32 units, a random activation per layer) on each
engine -- scalar (fused), tensor float64, tensor float32 -- it prints the largest
|theirs - ours| / (1 + |ours|) over 50 inputs in [-3, 3] per model, for `to_torch` and for
onnxruntime on `onnx_model`. The tests assert 1e-12 (float64) and 1e-6 (float32); this shows the
margin. float32 differences scale with the size of the sums inside the network, which the init
decides: the original's U(-1, 1) ('uniform') grows activations with the width.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
import onnxruntime as ort
import torch

from micrograd import nn as snn
from micrograd.export import onnx_model, to_torch
from micrograd.tensor import nn as tnn


def ours(model, X: np.ndarray, scalar: bool) -> np.ndarray:
    if not scalar:
        return model(X).data
    rows = [model(x) for x in X.tolist()]
    return np.array([[v.data for v in (r if isinstance(r, list) else [r])] for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=60)
    parser.add_argument("--init", default="he", choices=["uniform", "xavier", "he"])
    args = parser.parse_args()
    worst = {"scalar": [0.0, 0.0], "float64": [0.0, 0.0], "float32": [0.0, 0.0]}
    rng = np.random.default_rng(0)
    for trial in range(args.models):
        nin = int(rng.integers(1, 8))
        nouts = [int(n) for n in rng.integers(2, 33, size=rng.integers(1, 5))]
        acts = [str(a) for a in rng.choice(["relu", "tanh", "sigmoid", "linear"], len(nouts))]
        for engine, dtype in (
            ("scalar", "float64"),
            ("float64", "float64"),
            ("float32", "float32"),
        ):
            if engine == "scalar":
                random.seed(trial)
                model = snn.MLP(nin, nouts, acts, init=args.init, fused=True)
            else:
                model = tnn.MLP(nin, nouts, acts, init=args.init, dtype=dtype, rng=trial)
            X = rng.uniform(-3, 3, size=(50, nin)).astype(dtype)
            expected = ours(model, X, engine == "scalar")
            with torch.no_grad():
                from_torch = to_torch(model)(torch.from_numpy(X)).numpy()
            session = ort.InferenceSession(
                onnx_model(model).SerializeToString(), providers=["CPUExecutionProvider"]
            )
            from_onnx = session.run(None, {"input": X})[0]
            for i, theirs in enumerate((from_torch, from_onnx)):
                err = float((np.abs(theirs - expected) / (1 + np.abs(expected))).max())
                worst[engine][i] = max(worst[engine][i], err)
    print(f"init {args.init}, {args.models} MLPs per engine; max |diff| / (1 + |ours|):")
    for engine, (t, o) in worst.items():
        print(f"  {engine:8s} torch {t:.2e}   onnxruntime {o:.2e}")


if __name__ == "__main__":
    main()
