"""Smoke test of benchmarks/bench_makemore.py in quick mode: it runs, every engine trains like
PyTorch (the script exits non-zero otherwise) and it prints the ratio it reports. Timings are not
checked here (speed targets live in the benchmark, not in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_makemore.py"


def test_quick_mode_runs_and_reports_ratios():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "mlp step" in out and "batchnorm step" in out
    assert out.count("micrograd.tensor / PyTorch =") == 2
    for engine in ("micrograd.tensor", "PyTorch (1 thread)", "numpy by hand"):
        assert out.count(engine) >= 2
    # each job splits every engine's step into forward, backward and update: three positive
    # times per engine, which add up to no more than a step (medians of the same steps)
    assert out.count("median us per phase") == 2
    for job in out.split("\n\n")[1:]:
        steps = {}
        for line in job.splitlines():
            fields = line.split()
            if "us/step" in fields:
                steps[line[:22].strip()] = float(fields[fields.index("us/step") - 1])
        phase_lines = job.split("update is the SGD loop)")[1].splitlines()[1:4]
        assert len(phase_lines) == 3
        for line in phase_lines:
            name, times = line[:22].strip(), [float(x) for x in line[22:].split()]
            assert len(times) == 3 and all(t > 0 for t in times)
            assert sum(times) <= steps[name] * 1.5


def test_bad_arguments_exit_with_one_line():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "--rounds and --steps must be positive" in proc.stderr


def test_getattr_cost_mode_runs_and_puts_the_method_back():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--getattr-cost", "--quick", "--job", "mlp"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mlp step without Tensor.__getattr__ / with it:" in proc.stdout
    # in this process too: the function restores the method even when a round fails
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_makemore as bm

    from micrograd.tensor.core import Tensor

    hook = Tensor.__dict__["__getattr__"]
    X, Y = bm.dataset()
    batches = [np.arange(bm.BATCH)] * 3  # too few for two rounds of two steps: IndexError
    with pytest.raises(IndexError):
        bm.getattr_cost("mlp", bm.initial_weights(), X, Y, batches, rounds=2, steps=2)
    assert Tensor.__dict__["__getattr__"] is hook
