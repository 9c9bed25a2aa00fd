"""Every optional package stays optional for the test suite too: with none of them installed,
the suite is still collected, and each test that needs one is skipped with a one-line reason
naming it (`pytest.importorskip(..., reason=...)`), instead of the whole run stopping at
collection because a test file imports torch (or numpy, graphviz, ...) at its top.

The packages are hidden from a child pytest by modules of the same names that raise
ModuleNotFoundError, put first on its path; pytest's plugins (hypothesis', nbmake) are not
loaded there, since they import the packages themselves.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Everything the extras (pyproject.toml) and the test extra install, by import name.
OPTIONAL = [
    "numpy",
    "matplotlib",
    "tqdm",
    "graphviz",
    "PIL",
    "sklearn",
    "torch",
    "hypothesis",
    "nbformat",
    "nbclient",
    "onnx",
    "onnxruntime",
    "threadpoolctl",
]


def hide(packages: list[str], folder: Path) -> None:
    for name in packages:
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {name!r} (hidden by the test)'!r}, "
            f"name={name!r})\n"
        )


def collect(tmp_path: Path, packages: list[str]) -> subprocess.CompletedProcess:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    hide(packages, hidden)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(hidden), str(ROOT)])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("CI", None)  # skips are the point here
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )


def test_the_suite_is_collected_without_any_optional_package(tmp_path):
    proc = collect(tmp_path, OPTIONAL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert not re.search(r"ERROR collecting|\b\d+ errors?\b", out), out[-3000:]
    # Test modules that need a hidden package are skipped, each with a reason naming it.
    skips = re.findall(r"^SKIPPED \[\d+\] (\S+): (.*)$", out, flags=re.MULTILINE)
    assert skips, out[-2000:]
    for where, reason in skips:
        assert any(name in reason for name in OPTIONAL), (where, reason)
    # What needs nothing optional is still collected: the scalar engine's tests.
    assert "tests/test_engine.py::" in out


def test_the_suite_is_collected_with_the_all_extra_only(tmp_path):
    """`pip install 'micrograd-plus[all]'` brings numpy, matplotlib, tqdm, graphviz, Pillow and
    scikit-learn, not the test extra's torch, hypothesis or the notebook runners."""
    proc = collect(tmp_path, ["torch", "hypothesis", "nbformat", "nbclient", "onnx", "onnxruntime"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert not re.search(r"ERROR collecting|\b\d+ errors?\b", out), out[-3000:]
    assert "tests/test_animate.py::" in out  # it imported torch at its top
    assert "tests/test_viz.py::" in out
