"""benchmarks/bench_layernorm.py keeps working: its quick mode runs every engine, older
nn/fused.py included, and reports each one's share of values bitwise equal to torch's (ours:
all of them). No timing is asserted: speed is measured by the benchmark itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): the benchmark runs against PyTorch"
)

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_layernorm.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_quick_mode_times_every_engine_and_ours_are_torchs_bits(tmp_path):
    older = tmp_path / "fused.py"
    older.write_text((REPO / "micrograd" / "tensor" / "nn" / "fused.py").read_text())
    out = run("--quick", "--against", str(older))
    assert out.returncode == 0, out.stderr
    for shape in ("(256 rows, 384)", "(512 rows, 64)"):
        assert shape in out.stdout
    lines = [line for line in out.stdout.splitlines() if "ours (" in line]
    assert len(lines) == 2 * (3 if "C kernel" in out.stdout else 2)
    assert all(line.endswith("bitwise torch's: 100.0%") for line in lines), out.stdout


def test_a_missing_older_file_is_a_usage_error(tmp_path):
    out = run("--quick", "--against", str(tmp_path / "nowhere.py"))
    assert out.returncode == 2
    assert (
        out.stderr.strip() == f"bench_layernorm: --against {tmp_path / 'nowhere.py'}: no such file"
    )
