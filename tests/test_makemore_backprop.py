"""makemore part 4 (becoming a backprop ninja) on `micrograd.tensor` and on PyTorch: every gradient
derived by hand in exercise 1 is compared with our autograd (`retain_grad()` on each
intermediate) and with PyTorch's; exercises 2 and 3 (cross-entropy and BatchNorm in one go, with
in-place `dlogits[range(n), Yb] -= 1`); exercise 4 trains with the hand-written backward pass
under `no_grad()`. Same code (`makemore_lectures.py`), only the imports changed."""

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


def _run(fn, *args):
    mt.manual_seed(1)  # the lecture draws bngain and bnbias from the default generator
    ours = fn(mt, MF, *args)
    torch.manual_seed(1)
    theirs = fn(torch, TF, *args)
    return ours, theirs


def test_every_hand_derived_gradient_matches_autograd_and_torch():
    ours, theirs = _run(lectures.backprop_ninja, WORDS)
    assert ours["n_params"] == theirs["n_params"] == 4137
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-6)
    assert len(ours["exercise1"]) == 26
    for mine, torchs in zip(ours["exercise1"], theirs["exercise1"]):
        name = mine["name"]
        assert mine["shape_ok"] == torchs["shape_ok"], name  # bnmeani: (64,) vs (1, 64)
        # hand-derived vs our autograd, as the lecture's cmp() checks
        assert mine["approximate"], (name, mine["maxdiff"])
        assert mine["maxdiff"] < 1e-6, name
        # ... and both against PyTorch's autograd. The gradients of logit_maxes and b1 are
        # mathematically zero: both engines compute float32 rounding noise there (sums of
        # terms of ~0.03 that cancel, each off by an ulp of ~4e-9), so atol is a few such ulps
        np.testing.assert_allclose(mine["autograd"], torchs["autograd"], rtol=1e-4, atol=3e-8)
        np.testing.assert_allclose(mine["manual"], torchs["manual"], rtol=1e-4, atol=3e-8)
    # bit-exact matches, as in the lecture, where our autograd does the same arithmetic as the
    # hand-written line (b2's sum over the batch goes through BLAS in autograd: close, not exact)
    exact = {r["name"] for r in ours["exercise1"] if r["exact"]}
    assert {"logprobs", "probs", "logits", "h", "W2"} <= exact
    assert [r["name"] for r in ours["exercise1"] if not r["shape_ok"]] == ["bnmeani"]
    assert abs(ours["loss_fast_diff"]) < 1e-5
    assert ours["bn_fast_diff"] < 1e-5
    for ex in ("exercise2", "exercise3"):
        assert ours[ex]["approximate"] and ours[ex]["maxdiff"] < 1e-7, ex
        np.testing.assert_allclose(ours[ex]["manual"], theirs[ex]["manual"], rtol=1e-4, atol=1e-9)


def test_training_with_the_manual_backward_pass_matches_torch():
    ours, theirs = _run(lectures.backprop_training, WORDS)
    np.testing.assert_allclose(ours["lossi"], theirs["lossi"], rtol=1e-5)
    for p, tp in zip(ours["params"], theirs["params"]):
        np.testing.assert_allclose(p, tp, rtol=1e-4, atol=1e-5)
