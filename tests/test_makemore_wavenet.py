"""makemore part 5 (a WaveNet-style hierarchical model) on `micrograd.tensor` and on PyTorch: the
lecture's own Embedding, FlattenConsecutive (`view` into pairs, `squeeze`), BatchNorm1d over
dims (0, 1) of 3-D inputs and Sequential classes, `torch.manual_seed` for the default generator,
block size 8, eval mode, sampling. Same code (`makemore_lectures.py`), only the imports changed."""

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

WORDS = lectures.load_words()[:3000]


def test_wavenet_matches_torch():
    ours = lectures.wavenet(mt, MF, WORDS)
    theirs = lectures.wavenet(torch, TF, WORDS)
    assert ours["n_params"] == theirs["n_params"] == 76579
    assert ours["shapes"] == theirs["shapes"]
    assert ours["shapes"][1] == (32, 4, 48) and ours["shapes"][9] == (32, 256)
    np.testing.assert_allclose(ours["lossi"], theirs["lossi"], rtol=1e-5)
    np.testing.assert_allclose(ours["smoothed"], theirs["smoothed"], rtol=1e-5)
    np.testing.assert_allclose(ours["dev_loss"], theirs["dev_loss"], rtol=1e-5)
    for p, tp in zip(ours["params"], theirs["params"]):
        np.testing.assert_allclose(p, tp, rtol=1e-4, atol=1e-5)
    assert ours["names"] == theirs["names"]
