"""Smoke test of benchmarks/bench_makemore.py in quick mode: it runs, every engine trains like
PyTorch (the script exits non-zero otherwise) and it prints the ratio it reports. Timings are not
checked here (speed targets live in the benchmark, not in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_bad_arguments_exit_with_one_line():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--rounds", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "--rounds and --steps must be positive" in proc.stderr
