"""The package's foundation: version, stdlib-only core, optional dependencies stay optional."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd

ROOT = Path(__file__).resolve().parent.parent
STDLIB_ONLY = ["engine.py", "nn.py", "graph.py", "gradcheck.py"]


def test_version_is_after_the_original():
    major, minor, *_ = (int(part) for part in micrograd.__version__.split("."))
    assert (major, minor) >= (0, 2)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{micrograd.__version__}"' in pyproject


@pytest.mark.parametrize("module", ["micrograd", "micrograd.engine", "micrograd.nn"])
def test_import_loads_no_numpy(module):
    code = f"import sys, {module}; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("filename", STDLIB_ONLY)
def test_core_modules_import_only_the_standard_library(filename):
    tree = ast.parse((ROOT / "micrograd" / filename).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    allowed = set(sys.stdlib_module_names) | {"micrograd"}
    assert imported <= allowed, imported - allowed


def test_original_import_paths():
    from micrograd.engine import Value  # noqa: F401
    from micrograd.nn import MLP, Layer, Module, Neuron  # noqa: F401
