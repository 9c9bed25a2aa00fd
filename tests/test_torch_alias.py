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


# -- what `python SCRIPT ARGS` gives a script, `python -m micrograd.tensor SCRIPT ARGS` gives too --

# Prints what the course's scripts rely on: nanoGPT's configurator is exec'd from the current
# folder and reads sys.argv; prepare.py finds its data next to __file__; train.py imports model.py
# from its own folder; makemore guards its main code with `if __name__ == '__main__'`.
PROBE = textwrap.dedent(
    """
    import os, pickle, sys
    import torch
    batch_size = 64
    exec(open('configurator.py').read())
    from helper import where
    class Config:
        pass
    print(__name__, __file__, os.path.dirname(__file__) == where())
    print(sys.argv, batch_size)
    print(sys.path[0], os.getcwd() in sys.path, '' in sys.path)
    print(type(pickle.loads(pickle.dumps(Config()))).__qualname__, __spec__)
    if len(sys.argv) > 2:
        sys.exit(int(sys.argv[2]))
    """
)
CONFIGURATOR = textwrap.dedent(
    """
    import sys
    for arg in sys.argv[1:]:
        if arg.startswith('--'):
            key, val = arg[2:].split('=')
            globals()[key] = int(val)
    """
)


def both(args: list, cwd: Path) -> tuple:
    """(python SCRIPT ARGS, python -m micrograd.tensor SCRIPT ARGS), run in `cwd`."""
    return run(args, cwd), run(["-m", "micrograd.tensor", *args], cwd)


def test_the_script_sees_what_python_gives_it(tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.py").write_text(PROBE)
    (tmp_path / "scripts" / "helper.py").write_text(
        "import os\ndef where():\n    return os.path.dirname(os.path.abspath(__file__))\n"
    )
    (tmp_path / "configurator.py").write_text(CONFIGURATOR)
    theirs, ours = both(["scripts/train.py", "--batch_size=8"], tmp_path)
    assert theirs.returncode == ours.returncode == 0, ours.stderr
    # the real torch is imported on one side, this package on the other: the rest is the same
    assert ours.stdout == theirs.stdout
    assert f"__main__ {tmp_path / 'scripts' / 'train.py'} True" in ours.stdout
    assert "['scripts/train.py', '--batch_size=8'] 8" in ours.stdout
    assert f"{tmp_path / 'scripts'} False False" in ours.stdout


def test_sys_exit_in_the_script_is_its_exit_status(tmp_path):
    (tmp_path / "train.py").write_text(PROBE)
    (tmp_path / "helper.py").write_text("def where():\n    return ''\n")
    (tmp_path / "configurator.py").write_text(CONFIGURATOR)
    theirs, ours = both(["train.py", "--batch_size=8", "3"], tmp_path)
    assert theirs.returncode == ours.returncode == 3


@pytest.mark.parametrize(
    "code",
    [
        "import torch\n\ndef step(x):\n    return x.no_such_method()\n\nstep(torch.zeros(2))\n",
        "import torch\nfrom helper import fail\nfail()\n",
        "import torch\nx = (\n",  # a syntax error: no traceback above it
    ],
)
def test_an_error_prints_a_traceback_that_starts_in_the_script(tmp_path, code):
    (tmp_path / "s.py").write_text(code)
    (tmp_path / "helper.py").write_text("def fail():\n    raise KeyError('missing')\n")
    theirs, ours = both(["s.py"], tmp_path)
    assert theirs.returncode == ours.returncode == 1
    # the frames (file, line) are python's from the first on: none of this runner's above them;
    # ours may have more below (this package's Tensor raises in Python, torch's in C++)
    theirs_frames = [line for line in theirs.stderr.splitlines() if line.startswith("  File ")]
    ours_frames = [line for line in ours.stderr.splitlines() if line.startswith("  File ")]
    assert theirs_frames and ours_frames[: len(theirs_frames)] == theirs_frames, ours.stderr
    assert ours.stderr.splitlines()[0] == theirs.stderr.splitlines()[0]


@pytest.mark.parametrize(
    "statement, name, ours",
    [
        ("import torch.nn as nn", "nn", "mt.nn"),
        ("from torch.nn import functional as F", "F", "mt.nn.functional"),
        ("import torch.nn.functional as F", "F", "mt.nn.functional"),
        ("from torch.utils.data import Dataset", "Dataset", "mt.utils.data.Dataset"),
        (
            "from torch.utils.data.dataloader import DataLoader",
            "DataLoader",
            "mt.utils.data.DataLoader",
        ),
        ("import torch.utils.data", "torch.utils.data", "mt.utils.data"),
        ("from torch import optim", "optim", "mt.optim"),
        (
            "from torch.nn.parallel import DistributedDataParallel as DDP",
            "DDP",
            "mt.nn.parallel.DistributedDataParallel",
        ),
    ],
)
def test_the_import_forms_the_scripts_use_give_this_package(tmp_path, statement, name, ours):
    (tmp_path / "s.py").write_text(
        f"{statement}\nimport micrograd.tensor as mt\nprint({name} is {ours})\n"
    )
    out = run(["-m", "micrograd.tensor", "s.py"], tmp_path)
    assert out.stdout == "True\n", out.stderr
