"""`micrograd.tensor.utils.tensorboard.SummaryWriter` against torch 2.13's: the event files hold
the same scalars and texts (read back with TensorBoard's own reader), and without the tensorboard
package the writer says so in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch.utils.tensorboard import SummaryWriter as TorchWriter

import micrograd.tensor as mt
from micrograd.tensor.utils.tensorboard import SummaryWriter

ROOT = Path(__file__).resolve().parent.parent

COVERED = {"utils.tensorboard", "utils.tensorboard.SummaryWriter"}


def write(writer_class, lib, folder: Path) -> None:
    with writer_class(str(folder), purge_step=None) as w:
        for step in range(5):
            w.add_scalar("Loss/train", lib.tensor(1.0 / (step + 1)), step)
            w.add_scalar("Loss/test", 2.5 * step, step, new_style=True)
            w.add_scalar("lr", 0.1, step, walltime=1000.0 + step)
        w.add_scalars("run", {"a": 1.0, "b": 2.0}, 3)
        w.add_text("notes", "**step** done", 4)


def read(folder: Path) -> dict:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    out = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    for tag in acc.Tags()["tensors"]:
        out[tag] = [(e.step, e.tensor_proto.SerializeToString()) for e in acc.Tensors(tag)]
    return out


def test_event_files_hold_what_torchs_hold(tmp_path):
    write(SummaryWriter, mt, tmp_path / "ours")
    write(TorchWriter, torch, tmp_path / "theirs")
    ours, theirs = read(tmp_path / "ours"), read(tmp_path / "theirs")
    assert ours == theirs
    assert ours["Loss/train"][0] == (0, 1.0) and len(ours["Loss/train"]) == 5
    for sub in ("run_a", "run_b"):  # add_scalars: one run folder per curve, as torch
        assert read(tmp_path / "ours" / sub) == read(tmp_path / "theirs" / sub)
    files = sorted(p.name for p in (tmp_path / "ours").iterdir() if p.is_file())
    assert len(files) == 1 and files[0].startswith("events.out.tfevents.")


def test_default_log_dir_is_torchs_runs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("_lr0.1")
    assert w.get_logdir() == str(Path("runs") / folder.name)


def test_bad_values_are_named(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(ValueError, match="one element"):
            w.add_scalar("x", mt.ones(3), 0)
        with pytest.raises(TypeError, match="must be a number, got str"):
            w.add_scalar("x", "high", 0)


def test_without_tensorboard_the_writer_says_so_in_one_line(tmp_path):
    code = (
        "import sys; sys.modules['tensorboard'] = None\n"
        "from micrograd.tensor.utils.tensorboard import SummaryWriter\n"
        "SummaryWriter('x')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last == (
        "ImportError: SummaryWriter needs the tensorboard package, which is not installed: "
        "pip install tensorboard (or install this project's 'tensorboard' extra)"
    )
    assert not (tmp_path / "x").exists()
