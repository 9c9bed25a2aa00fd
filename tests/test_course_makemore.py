"""makemore.py (all six `--type` models) on `micrograd.tensor` and on PyTorch 2.13.

The program, re-expressed in tests/course_makemore.py, runs once per library with the same seed
on a tiny configuration (n_embd 16, n_embd2 16, two layers, two heads, batch 32, 30 steps,
evaluating every 10 steps and sampling every 20) and then again as `--sample-only` from the saved
weights. Compared: every training loss (within 1e-4 relative), the printed lines (numbers within
1e-4 relative, the rest identical), the evaluation losses, the TensorBoard scalars read back from
the event files, the sampled names (identical, with the default sampling and with greedy,
temperature and top-k sampling), and the saved weights, which also load in PyTorch with
`weights_only=True`."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("tensorboard", reason="makemore logs to TensorBoard (the tensorboard extra)")

import course_makemore as makemore
import torch.utils.data.dataloader as torch_dataloader
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import micrograd.tensor as mt
import micrograd.tensor.utils.data.dataloader as our_dataloader
from micrograd.tensor.utils.tensorboard import SummaryWriter as OurWriter

RTOL = 1e-4


def libraries():
    """The arguments of `makemore.run` for each library, as makemore.py imports them."""
    return {
        "torch": (
            torch,
            torch.nn,
            torch.nn.functional,
            torch.utils.data.Dataset,
            torch_dataloader.DataLoader,
            TorchWriter,
        ),
        "ours": (
            mt,
            mt.nn,
            mt.nn.functional,
            mt.utils.data.Dataset,
            our_dataloader.DataLoader,
            OurWriter,
        ),
    }


@pytest.fixture(scope="module")
def one_thread():
    """Both engines on one thread: their thread pools (torch's, numpy's BLAS) spin against each
    other on a busy shared machine and make these tiny steps many times slower."""
    before = torch.get_num_threads(), mt.get_num_threads()
    torch.set_num_threads(1)
    mt.set_num_threads(1)
    yield
    torch.set_num_threads(before[0])
    mt.set_num_threads(before[1])


_RUNS: dict[str, dict] = {}


@pytest.fixture
def runs(request, tmp_path_factory, one_thread):
    """Both libraries' runs of one model type (made once per type for the module)."""
    model_type = request.param
    if model_type not in _RUNS:
        out: dict = {}
        for name, lib in libraries().items():
            work_dir = tmp_path_factory.mktemp(f"{model_type}_{name}")
            options = makemore.Options(model_type=model_type, work_dir=str(work_dir))
            with warnings.catch_warnings():
                # torch's remarks on makemore's loader options on a small CPU-only machine:
                # pin_memory without an accelerator, 4 workers on fewer cores
                warnings.filterwarnings("ignore", message=".*pin_memory.*")
                warnings.filterwarnings("ignore", message=".*worker processes in total.*")
                out[name] = makemore.run(*lib, options)
            out[name]["work_dir"] = work_dir
        out["model_type"] = model_type
        _RUNS[model_type] = out
    return _RUNS[model_type]


NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")


def assert_same_lines(ours: list[str], theirs: list[str]) -> None:
    """Lines equal, except that decimal numbers (losses) may differ within RTOL."""
    assert len(ours) == len(theirs), (ours, theirs)
    for mine, other in zip(ours, theirs):
        assert NUMBER.sub("#", mine) == NUMBER.sub("#", other), (mine, other)
        np.testing.assert_allclose(
            [float(x) for x in NUMBER.findall(mine)],
            [float(x) for x in NUMBER.findall(other)],
            rtol=RTOL,
            err_msg=f"{mine!r} vs {other!r}",
        )


def scalars(folder: Path) -> dict:
    """The scalars of every event file in `folder`, as TensorBoard reads them."""
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def max_relative_difference(ours, theirs) -> float:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


TYPES = pytest.mark.parametrize("runs", makemore.MODEL_TYPES, indirect=True)


@TYPES
def test_training_losses_match_torch_step_by_step(runs):
    ours, theirs = runs["ours"]["training"], runs["torch"]["training"]
    assert ours.n_params == theirs.n_params
    assert len(ours.losses) == len(theirs.losses) == 30
    assert max_relative_difference(ours.losses, theirs.losses) < RTOL
    assert ours.losses[-1] < ours.losses[0]  # it learns
    assert [e[0] for e in ours.evaluations] == [e[0] for e in theirs.evaluations] == [10, 20]
    np.testing.assert_allclose(
        [e[1:] for e in ours.evaluations], [e[1:] for e in theirs.evaluations], rtol=RTOL
    )
    assert_same_lines(ours.log, theirs.log)


@TYPES
def test_samples_are_torchs(runs):
    ours, theirs = runs["ours"], runs["torch"]
    assert ours["training"].samples == theirs["training"].samples
    assert [len(s) for s in ours["training"].samples] == [10]
    assert ours["extra"] == theirs["extra"]
    # top-1 sampling is the greedy choice
    assert ours["extra"]["top1 sampled"] == ours["extra"]["greedy"]
    assert ours["sample_only"].samples == theirs["sample_only"].samples
    assert len(ours["sample_only"].samples[0]) == 50
    assert_same_lines(ours["sample_only"].log, theirs["sample_only"].log)


@TYPES
def test_saved_weights_load_back_and_in_torch(runs):
    ours, theirs = runs["ours"], runs["torch"]
    state, torch_state = ours["sample_only"].state, theirs["sample_only"].state
    assert list(state) == list(torch_state)  # makemore's keys, buffers included, in order
    for key in state:
        assert state[key].dtype == torch_state[key].dtype
        # AdamW moves every weight by about lr (5e-4) a step whatever its gradient's size, so a
        # weight whose gradient is mostly rounding noise may differ by a fraction of that
        np.testing.assert_allclose(state[key], torch_state[key], rtol=1e-3, atol=1e-4)
    # the file we wrote is a PyTorch file: the restricted loader reads it, with our values
    loaded = torch.load(ours["model_file"], weights_only=True)
    assert list(loaded) == list(state)
    for key, value in loaded.items():
        np.testing.assert_array_equal(value.numpy(), state[key])


@TYPES
def test_torchs_saved_weights_sample_torchs_names_here(runs, tmp_path):
    """--sample-only on our engine from the model.pt PyTorch wrote."""
    options = makemore.Options(model_type=runs["model_type"], work_dir=str(tmp_path))
    ours = makemore.run(*libraries()["ours"], options, weights=runs["torch"]["model_file"])
    theirs = runs["torch"]["sample_only"]
    for key, value in ours["sample_only"].state.items():
        np.testing.assert_array_equal(value, theirs.state[key])
    assert ours["sample_only"].samples == theirs.samples
    assert_same_lines(ours["sample_only"].log, theirs.log)


@TYPES
def test_tensorboard_scalars_match_torchs(runs):
    ours, theirs = scalars(runs["ours"]["work_dir"]), scalars(runs["torch"]["work_dir"])
    assert sorted(ours) == sorted(theirs) == ["Loss/test", "Loss/train"]
    for tag in ours:
        assert [s for s, _ in ours[tag]] == [s for s, _ in theirs[tag]] == [10, 20]
        np.testing.assert_allclose(
            [v for _, v in ours[tag]], [v for _, v in theirs[tag]], rtol=RTOL
        )

    # training and then --sample-only each opened a writer: two event files, as torch's
    def event_files(folder):
        return [p for p in Path(folder).iterdir() if p.name.startswith("events.out.tfevents.")]

    assert len(event_files(runs["ours"]["work_dir"])) == 2
    assert len(event_files(runs["torch"]["work_dir"])) == 2
