"""Tests for micrograd/tensor/training.py: the tensor engine adapter behind
`micrograd train --engine tensor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
pytest.importorskip("sklearn", reason="the digits job needs scikit-learn (the datasets extra)")

from micrograd.tensor import training
from micrograd.tensor.nn import MLP
from micrograd.train import TrainConfig, run


def test_tensor_engine_follows_the_scalar_engine_on_the_demo_job(tmp_path):
    """Same config, same initial weights (drawn from the same seeded `random`): float64 tensors
    must give the scalar engine's losses step by step, up to rounding."""
    common = {"steps": 15, "out": str(tmp_path / "x")}
    scalar = run(TrainConfig(engine="scalar", **common), progress=False)
    common["out"] = str(tmp_path / "y")
    tensor = run(TrainConfig(engine="tensor", **common), progress=False)
    np.testing.assert_allclose(tensor["history"]["loss"], scalar["history"]["loss"], rtol=1e-10)
    assert tensor["history"]["accuracy"] == scalar["history"]["accuracy"]
    assert tensor["train_accuracy"] == scalar["train_accuracy"]
    assert os.path.exists(tmp_path / "y" / "decision_boundary.png")


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_other_losses_train(tmp_path, loss):
    m = run(
        TrainConfig(
            engine="tensor", loss=loss, steps=60, lr=0.05, optimizer="adam", out=str(tmp_path)
        ),
        progress=False,
    )
    assert m["history"]["loss"][-1] < m["history"]["loss"][0]
    assert m["train_accuracy"] > 0.8


def test_digits_from_the_command_line_reaches_95_percent(tmp_path):
    # The command of the documentation's command-line guide (docs/howto/cli.md), as written.
    out = tmp_path / "digits"
    cmd = [
        sys.executable, "-m", "micrograd", "train", "--dataset", "digits", "--engine", "tensor",
        "--loss", "cross_entropy", "--layers", "128,64", "--init", "he", "--optimizer", "adam",
        "--lr", "3e-3", "--schedule", "cosine", "--batch-size", "64", "--steps", "460",
        "--alpha", "0", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    guide = (Path(__file__).resolve().parent.parent / "docs" / "howto" / "cli.md").read_text()
    assert "micrograd " + " ".join(cmd[3:-1]) in " ".join(guide.replace("\\\n", " ").split())
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95
    assert metrics["train_accuracy"] >= metrics["test_accuracy"] - 0.05
    assert metrics["n_classes"] == 10 and metrics["steps"] == 460
    assert "test accuracy" in done.stdout
    saved = json.loads((out / "model.json").read_text())
    assert saved["engine"] == "tensor"


def test_adapter_functions():
    # The adapters get a config with every setting resolved (the job fills in the data set's).
    cfg = TrainConfig(
        engine="tensor", layers=(4,), init="uniform", loss="cross_entropy", alpha=0.01
    )
    model = training.build_model(cfg, 3, 5)
    assert isinstance(model, MLP) and model.config()["nouts"] == [4, 5]
    X = [[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]]
    loss, acc = training.loss_and_accuracy(model, X, [4, 0], cfg)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    preds = training.predict(model, X)
    assert preds.shape == (2, 5)
    expected = float(np.mean(np.argmax(preds, axis=1) == np.array([4, 0])))
    assert acc == expected
    one = training.build_model(TrainConfig(engine="tensor", layers=(3,), init="he"), 2, 1)
    assert training.predict(one, [[0.0, 1.0]]).shape == (1,)
    with pytest.raises(ValueError, match="table of numbers"):
        training.loss_and_accuracy(model, [[1.0, "a", 2.0]], [0], cfg)
