"""makemore part 2 (MLP) on `micrograd.tensor` and on PyTorch: the embedding lookup `C[X]`,
`view`, `tanh`, `F.cross_entropy`, SGD on `p.data` with a learning rate from `10**linspace`,
minibatches from a seeded `randint`, sampling with `F.softmax` and `multinomial`. Same code
(`makemore_lectures.py`), only the imports changed; losses compared step by step."""

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


def test_dataset_tensors_are_torchs():
    for mod in (mt, torch):
        (Xtr, Ytr), _, _ = lectures.splits(mod, WORDS)
        assert tuple(Xtr.shape) == (len(Ytr), 3) and Xtr.dtype == mod.int64
    (a, b), _, _ = lectures.splits(mt, WORDS)
    (ta, tb), _, _ = lectures.splits(torch, WORDS)
    np.testing.assert_array_equal(a.numpy(), ta.numpy())
    np.testing.assert_array_equal(b.numpy(), tb.numpy())


def test_mlp_training_matches_torch():
    ours = lectures.mlp(mt, MF, WORDS)
    theirs = lectures.mlp(torch, TF, WORDS)
    assert ours["n_params"] == theirs["n_params"] == 11897
    # float32 rounding differences grow over the steps (the order of additions in BLAS differs)
    np.testing.assert_allclose(ours["lossi"][:10], theirs["lossi"][:10], rtol=2e-6)
    np.testing.assert_allclose(ours["lossi"], theirs["lossi"], rtol=1e-4)
    for g, tg in zip(ours["grads"], theirs["grads"]):
        np.testing.assert_allclose(g, tg, rtol=1e-4, atol=1e-6)
    # after 30 steps of the lecture's unscaled init (saturated tanh units), float32 rounding
    # differences have grown to ~1e-4
    for p, tp in zip(ours["params"], theirs["params"]):
        np.testing.assert_allclose(p, tp, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ours["dev_loss"], theirs["dev_loss"], rtol=1e-4)
    assert ours["names"] == theirs["names"]
