"""`python -m micrograd.tensor SCRIPT`: an unedited PyTorch script runs on micrograd.tensor and
prints what it prints under torch 2.13; torch's distributed names import and refuse in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent

COVERED = {"torch.distributed", "nn.parallel"}

SCRIPT = textwrap.dedent(
    """
    import sys
    import torch
    import torch.nn as nn
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset
    from torch.nn.parallel import DistributedDataParallel as DDP
    from torch.distributed import init_process_group, destroy_process_group

    torch.manual_seed(int(sys.argv[1]))
    x = torch.randn(32, 3)
    y = torch.randint(0, 2, (32,))
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    for epoch in range(3):
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            print(f"{loss.item():.6f}")
    print(sys.argv[1:])
    """
)


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def test_a_pytorch_script_runs_unedited_and_prints_torchs_numbers(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    theirs = run(["train.py", "7", "extra"], tmp_path)
    ours = run(["-m", "micrograd.tensor", "train.py", "7", "extra"], tmp_path)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    ours_lines, theirs_lines = ours.stdout.splitlines(), theirs.stdout.splitlines()
    assert len(ours_lines) == len(theirs_lines) == 13
    # losses step by step within 1e-4 relative (float32 exp/log/sqrt may differ by an ulp)
    for a, b in zip(ours_lines[:-1], theirs_lines[:-1]):
        assert float(a) == pytest.approx(float(b), rel=1e-4)
    assert ours_lines[-1] == theirs_lines[-1] == "['7', 'extra']"


def test_torch_resolves_to_micrograd_tensor_inside_the_script(tmp_path):
    (tmp_path / "s.py").write_text(
        "import torch, torch.nn, torch.optim, torch.utils.data\n"
        "import micrograd.tensor as mt\n"
        "print(torch is mt, torch.nn is mt.nn, torch.optim.AdamW is mt.optim.AdamW)\n"
    )
    out = run(["-m", "micrograd.tensor", "s.py"], tmp_path)
    assert out.stdout == "True True True\n", out.stderr


def test_a_torch_module_we_do_not_have_is_named(tmp_path):
    (tmp_path / "s.py").write_text("import torch.fx\n")
    out = run(["-m", "micrograd.tensor", "s.py"], tmp_path)
    assert out.returncode == 1
    assert (
        "ModuleNotFoundError: No module named 'torch.fx': micrograd.tensor has no 'fx'"
        in out.stderr
    )


@pytest.mark.parametrize(
    "code, what",
    [
        (
            "from torch.distributed import init_process_group; init_process_group(backend='nccl')",
            "torch.distributed.init_process_group",
        ),
        (
            (
                "import torch; from torch.nn.parallel import DistributedDataParallel as DDP; "
                "DDP(torch.nn.Linear(2, 2), device_ids=[0])"
            ),
            "DistributedDataParallel",
        ),
    ],
)
def test_distributed_training_is_refused_in_one_line(tmp_path, code, what):
    (tmp_path / "s.py").write_text(code + "\n")
    out = run(["-m", "micrograd.tensor", "s.py"], tmp_path)
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(f"RuntimeError: {what}: micrograd.tensor runs in one process")
    assert "micrograd.export.to_torch" in last


def test_distributed_flags_as_scripts_read_them():
    import micrograd.tensor as mt

    assert mt.distributed.is_available() is False
    assert mt.distributed.is_initialized() is False


@pytest.mark.parametrize(
    "args, code, text",
    [
        ([], 2, "usage: python -m micrograd.tensor SCRIPT"),
        (["missing.py"], 2, "python -m micrograd.tensor: error: no such script: missing.py"),
    ],
)
def test_usage_errors_are_one_line(tmp_path, args, code, text):
    out = run(["-m", "micrograd.tensor", *args], tmp_path)
    assert out.returncode == code
    assert out.stderr.strip() == text or out.stderr.strip().startswith(text)
    assert len(out.stderr.strip().splitlines()) == 1
