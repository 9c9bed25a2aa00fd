"""makemore part 3 (activations, gradients, BatchNorm) on `micrograd.tensor` and on PyTorch: BatchNorm
by hand with running statistics under `no_grad()`, a `@torch.no_grad()` evaluation function, then
the lecture's own Linear / BatchNorm1d / Tanh classes with `retain_grad()` on every layer output,
the histograms and statistics it plots and the update-to-data ratios. Same code
(`makemore_lectures.py`), only the imports changed."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
import makemore_lectures as lectures
import torch.nn.functional as TF

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as MF

WORDS = lectures.load_words()[:4000]


def test_batchnorm_by_hand_matches_torch():
    ours = lectures.batchnorm_by_hand(mt, MF, WORDS)
    theirs = lectures.batchnorm_by_hand(torch, TF, WORDS)
    np.testing.assert_allclose(ours["lossi"], theirs["lossi"], rtol=1e-5)
    np.testing.assert_allclose(ours["dev_loss"], theirs["dev_loss"], rtol=1e-5)
    assert ours["dev requires_grad"] is False  # @no_grad() as a decorator
    np.testing.assert_allclose(
        ours["bnmean_running"], theirs["bnmean_running"], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(ours["bnstd_running"], theirs["bnstd_running"], rtol=1e-5)
    for p, tp in zip(ours["params"], theirs["params"]):
        np.testing.assert_allclose(p, tp, rtol=1e-4, atol=1e-5)


def test_lecture_layers_statistics_and_update_ratios_match_torch():
    ours = lectures.batchnorm_layers(mt, MF, WORDS)
    theirs = lectures.batchnorm_layers(torch, TF, WORDS)
    assert ours["n_params"] == theirs["n_params"]
    np.testing.assert_allclose(ours["lossi"], theirs["lossi"], rtol=1e-5)
    np.testing.assert_allclose(ours["ud"], theirs["ud"], rtol=1e-4, atol=1e-4)
    for s, ts in zip(ours["stats"], theirs["stats"]):
        np.testing.assert_allclose(s, ts, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(ours["dev_loss"], theirs["dev_loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["running_var"], theirs["running_var"], rtol=1e-4)
    for p, tp in zip(ours["params"], theirs["params"]):
        np.testing.assert_allclose(p, tp, rtol=1e-4, atol=1e-5)
