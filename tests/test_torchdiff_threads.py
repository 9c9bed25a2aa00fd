"""`torch.set_num_threads` / `get_num_threads`: set numpy's BLAS threads, with torch's errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import micrograd.tensor as mt

ROOT = Path(__file__).resolve().parent.parent

COVERED = {"torch.set_num_threads", "torch.get_num_threads"}


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_raise_what_torch_raises(bad):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_num_threads(bad)
    with pytest.raises(RuntimeError) as ours:
        mt.set_num_threads(bad)
    assert str(ours.value) == str(theirs.value)


def test_the_setting_reaches_numpys_blas_and_lasts():
    # in a fresh process, so the suite's own BLAS setting is not changed
    code = (
        "import micrograd.tensor as torch\n"
        "from threadpoolctl import threadpool_info\n"
        "torch.set_num_threads(1)\n"
        "import numpy as np; a = np.ones((200, 200)); a @ a\n"
        "print(torch.get_num_threads(), [p['num_threads'] for p in threadpool_info()"
        " if p['user_api'] == 'blas'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "2"},
    )
    count, pools = out.stdout.split(" ", 1)
    assert count == "1" and pools.strip() == "[1]"
