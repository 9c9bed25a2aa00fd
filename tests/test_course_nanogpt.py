"""nanoGPT on `micrograd.tensor` and on PyTorch: data/shakespeare_char/prepare.py's files,
model.py's GPT, the train.py loop (checkpoints, resuming) and sample.py's generation, on a tiny
configuration, written once (tests/course_gpt.py) and run with each library. With dropout 0 the
training losses agree step by step within 1e-4 (relative), the printed evaluation lines are
identical and so are the samples; with dropout the final losses agree within 3%. Checkpoints
cross over: each library samples from the other's ckpt.pt."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
import course_gpt
import torch.nn as tnn
import torch.nn.functional as TF

import micrograd.tensor as mt
import micrograd.tensor.nn as mnn
import micrograd.tensor.nn.functional as MF

OURS, THEIRS = (mt, mnn, MF), (torch, tnn, TF)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("shakespeare_char")
    course_gpt.nanogpt_prepare(course_gpt.shakespeare(), path)
    return path


def max_relative_difference(ours: list[float], theirs: list[float]) -> float:
    assert len(ours) == len(theirs)
    return max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))


def train_both(data_dir, tmp_path, flash=None, **settings):
    torch.set_num_threads(1)
    runs = []
    for name, modules in (("ours", OURS), ("torch", THEIRS)):
        cfg = course_gpt.NanoConfig(out_dir=str(tmp_path / name), **settings)
        run = course_gpt.nanogpt_train(*modules, data_dir, cfg, flash=flash)
        # "saving checkpoint to <out_dir>": each library has its own directory
        run["printed"] = [line.replace(cfg.out_dir, "out") for line in run["printed"]]
        runs.append(run)
    return runs


def evaluations(printed: list[str]) -> list[str]:
    return [line for line in printed if line.startswith(("step", "saving"))]


@pytest.mark.parametrize(
    "flash",
    [None, False],
    ids=["scaled_dot_product_attention", "tril"],
)
def test_training_and_sampling_match_torch(data_dir, tmp_path, flash):
    ours, theirs = train_both(data_dir, tmp_path, flash=flash)
    assert ours["n_params"] == theirs["n_params"]
    assert len(ours["losses"]) == 31  # iterations 0..max_iters, as train.py runs them
    assert max_relative_difference(ours["losses"], theirs["losses"]) <= 1e-4
    course_gpt.assert_same_printed(ours["printed"], theirs["printed"])
    assert "saving checkpoint to" in "\n".join(evaluations(ours["printed"]))
    assert ours["losses"][-1] < ours["losses"][0] - 0.25  # it learns
    samples = {}
    for who, out in (("ours", tmp_path / "ours"), ("torch", tmp_path / "torch")):
        for lib, modules in (("ours", OURS), ("torch", THEIRS)):
            samples[who, lib] = course_gpt.nanogpt_sample(*modules, data_dir, out, flash=flash)
    # each library samples the same text from its own checkpoint and from the other's
    assert samples["ours", "ours"] == samples["ours", "torch"]
    assert samples["torch", "ours"] == samples["torch", "torch"]
    assert samples["ours", "ours"] == samples["torch", "torch"]
    assert len(samples["ours", "ours"]) == 2 and all(
        s.startswith("\n") for s in samples["ours", "ours"]
    )


def test_sampling_without_top_k_at_temperature_one(data_dir, tmp_path):
    train_both(data_dir, tmp_path, max_iters=10)
    ours = course_gpt.nanogpt_sample(
        *OURS, data_dir, tmp_path / "ours", top_k=None, temperature=1.0, start="First"
    )
    theirs = course_gpt.nanogpt_sample(
        *THEIRS, data_dir, tmp_path / "ours", top_k=None, temperature=1.0, start="First"
    )
    assert ours == theirs and ours[0].startswith("First")


def test_resuming_from_the_checkpoint_matches_torch(data_dir, tmp_path):
    train_both(data_dir, tmp_path, max_iters=10, eval_interval=5)
    ours, theirs = train_both(
        data_dir, tmp_path, max_iters=20, eval_interval=5, init_from="resume",
        gradient_accumulation_steps=2,
    )  # fmt: skip
    assert len(ours["losses"]) == len(theirs["losses"]) == 11  # from iteration 10 on
    assert max_relative_difference(ours["losses"], theirs["losses"]) <= 1e-4
    course_gpt.assert_same_printed(ours["printed"], theirs["printed"])
    assert ours["printed"][0].startswith("step 10:")


def test_with_dropout_the_final_losses_are_within_three_percent(data_dir, tmp_path):
    ours, theirs = train_both(data_dir, tmp_path, dropout=0.1)
    final, their_final = np.mean(ours["losses"][-5:]), np.mean(theirs["losses"][-5:])
    assert abs(final - their_final) <= 0.03 * their_final
    # dropout did act: the first step's loss is not the one without dropout
    plain = course_gpt.nanogpt_train(
        *OURS, data_dir, course_gpt.NanoConfig(out_dir=str(tmp_path / "plain"), max_iters=1)
    )
    assert abs(ours["losses"][0] - plain["losses"][0]) > 1e-3
