"""makemore part 1 (bigrams) on `micrograd.tensor` and on PyTorch: the counting model (int32 count
matrix filled with `N[ix1, ix2] += 1`, smoothing, sampling with a seeded Generator, the negative
log-likelihood) and the one-layer neural bigram (one_hot, softmax by hand, `W.data += -50 *
W.grad`). Same code (`makemore_lectures.py`), only the imports changed."""

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

WORDS = lectures.load_words()


def test_names_txt_is_the_full_data_set():
    assert len(WORDS) == 32033 and WORDS[:3] == ["emma", "olivia", "ava"]
    assert max(len(w) for w in WORDS) == 15


def test_counting_model_matches_torch():
    words = WORDS[:3000]
    ours = lectures.bigram_counts(mt, words)
    theirs = lectures.bigram_counts(torch, words)
    assert ours["N"].dtype == np.int32
    np.testing.assert_array_equal(ours["N"], theirs["N"])
    assert ours["N"].sum() == sum(len(w) + 1 for w in words)
    assert ours["first"] == theirs["first"]
    np.testing.assert_allclose(ours["P"], theirs["P"], rtol=1e-6)
    assert ours["names"] == theirs["names"]  # the same samples as PyTorch's generator gives
    np.testing.assert_allclose(ours["nll"], theirs["nll"], rtol=1e-6)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-6)


def test_counting_model_on_all_names_matches_torch():
    """The smoothed model's loss on the whole data set, with the lecture's matrix code (the
    counting loop itself is the test above, on a subset). The lecture's 2.4544 is a float32 sum
    accumulated one bigram at a time; one vectorized mean gives 2.4546, in PyTorch too."""
    stoi, _ = lectures.vocabulary(WORDS)
    pairs = [(stoi[a], stoi[b]) for w in WORDS for a, b in zip("." + w, w + ".")]
    xs_np = np.array(pairs)
    counts = np.zeros((27, 27), dtype=np.int32)
    np.add.at(counts, (xs_np[:, 0], xs_np[:, 1]), 1)
    results = []
    for mod in (mt, torch):
        xs = mod.tensor(xs_np[:, 0])
        ys = mod.tensor(xs_np[:, 1])
        N = mod.tensor(counts, dtype=mod.int32)
        P = (N + 1).float()
        P /= P.sum(1, keepdims=True)
        results.append(-P[xs, ys].log().mean())
    ours, theirs = results
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    assert repr(ours) == repr(theirs) == "tensor(2.4546)"


def test_neural_bigram_matches_torch_step_by_step():
    words = WORDS[:1000]
    ours = lectures.bigram_network(mt, MF, words)
    theirs = lectures.bigram_network(torch, TF, words)
    np.testing.assert_array_equal(ours["W0"], theirs["W0"])  # the same randn numbers
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-6)
    assert ours["losses"][-1] < ours["losses"][0] - 0.5
    np.testing.assert_allclose(ours["W"], theirs["W"], rtol=1e-4, atol=1e-5)
    assert ours["names"] == theirs["names"]
