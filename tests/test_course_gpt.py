"""The "Let's build GPT" lecture's two scripts, bigram.py and gpt.py, on `micrograd.tensor` and
on PyTorch: the same code (tests/course_gpt.py), only the modules passed in differ. With dropout
0 the training losses agree step by step within 1e-4 (relative), the printed evaluation lines
are identical and so is the sampled text; with dropout the final losses agree within 3%."""

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

TEXT = course_gpt.shakespeare()


def max_relative_difference(ours: list[float], theirs: list[float]) -> float:
    assert len(ours) == len(theirs)
    return max(abs(a - b) / abs(b) for a, b in zip(ours, theirs))


def run_both(program, cfg):
    torch.set_num_threads(1)  # one summation order per run
    return program(mt, mnn, MF, TEXT, cfg), program(torch, tnn, TF, TEXT, cfg)


def test_the_excerpt_is_small_and_has_the_lectures_alphabet():
    assert 4_000 < len(TEXT.encode()) < 10_000
    alphabet, encode, decode = course_gpt.character_codec(TEXT)
    assert alphabet[0] == "\n" and " " in alphabet and decode(encode(TEXT[:200])) == TEXT[:200]


def test_printed_lines_may_differ_only_by_one_unit_on_a_rounding_boundary():
    theirs = ["step 20: train loss 3.5402, val loss 3.5275"]
    course_gpt.assert_same_printed(["step 20: train loss 3.5402, val loss 3.5276"], theirs)
    for wrong in (
        "step 20: train loss 3.5402, val loss 3.5277",  # two units
        "step 21: train loss 3.5402, val loss 3.5275",  # another step
        "step 20: train loss 3.5402, val loss 3.528",  # other digits
        "step 20: train loss 3.5402, test loss 3.5275",  # another word
    ):
        with pytest.raises(AssertionError):
            course_gpt.assert_same_printed([wrong], theirs)


def test_bigram_matches_torch_step_by_step():
    cfg = course_gpt.LectureConfig(learning_rate=1e-2, max_iters=50, eval_interval=10)
    ours, theirs = run_both(course_gpt.lecture_bigram, cfg)
    assert len(ours["losses"]) == 50
    assert max_relative_difference(ours["losses"], theirs["losses"]) <= 1e-4
    course_gpt.assert_same_printed(ours["printed"], theirs["printed"])
    assert len(ours["printed"]) == 6  # steps 0, 10, ..., 40 and the last one
    assert ours["sample"] == theirs["sample"] and len(ours["sample"]) == cfg.new_tokens + 1


def test_gpt_without_dropout_matches_torch_step_by_step():
    cfg = course_gpt.LectureConfig(dropout=0.0)
    ours, theirs = run_both(course_gpt.lecture_gpt, cfg)
    assert ours["n_params"] == theirs["n_params"]
    assert max_relative_difference(ours["losses"], theirs["losses"]) <= 1e-4
    course_gpt.assert_same_printed(ours["printed"], theirs["printed"])
    assert ours["sample"] == theirs["sample"]
    assert ours["losses"][-1] < ours["losses"][0] - 0.3  # it learns


def test_gpt_with_dropout_ends_within_three_percent_of_torch():
    cfg = course_gpt.LectureConfig(dropout=0.2)
    ours, theirs = run_both(course_gpt.lecture_gpt, cfg)
    final, their_final = np.mean(ours["losses"][-5:]), np.mean(theirs["losses"][-5:])
    assert abs(final - their_final) <= 0.03 * their_final
    last, their_last = ours["printed"][-1], theirs["printed"][-1]
    for ours_value, their_value in zip(last.split()[4::3], their_last.split()[4::3]):
        ours_value, their_value = float(ours_value.rstrip(",")), float(their_value.rstrip(","))
        assert abs(ours_value - their_value) <= 0.03 * their_value
    # dropout did act: the first step's loss is not the one without dropout
    plain = course_gpt.lecture_gpt(mt, mnn, MF, TEXT, course_gpt.LectureConfig(max_iters=1))
    assert abs(ours["losses"][0] - plain["losses"][0]) > 1e-3
