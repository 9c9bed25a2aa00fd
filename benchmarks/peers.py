"""Where the benchmarks find their peers: the original micrograd 0.1.0, in a virtual environment
of its own (it has the same import name as ours), created on first use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_VENV = REPO / ".venv-peer"
PEER_PACKAGES = ["micrograd==0.1.0", "numpy", "scikit-learn", "torch==2.13.0"]


def peer_python() -> str:
    """The Python of the peer environment, creating it (once) if it does not exist."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} with {' '.join(PEER_PACKAGES)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return str(python)


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
