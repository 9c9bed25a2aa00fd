"""The package's foundation: version, stdlib-only core, optional dependencies stay optional."""

from __future__ import annotations

import ast
import re
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


# -- the distribution name (issue 9, item 12) ------------------------------------------------


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_distribution_is_micrograd_plus_and_the_import_name_micrograd():
    project = pyproject()["project"]
    # PyPI's `micrograd` is the original 0.1.0: `pip install 'micrograd[tensor]'` installed it.
    assert project["name"] == "micrograd-plus"
    assert project["version"] == micrograd.__version__ == "0.3.0"
    assert project["scripts"] == {"micrograd": "micrograd.cli:main"}
    assert pyproject()["tool"]["setuptools"]["packages"]["find"]["include"] == ["micrograd*"]


def test_extras_refer_to_micrograd_plus_and_to_extras_that_exist():
    extras = pyproject()["project"]["optional-dependencies"]
    for extra, requirements in extras.items():
        for requirement in requirements:
            name = requirement.split("[")[0].split("=")[0].split(">")[0].strip()
            assert name != "micrograd", (extra, requirement)  # that would be the original
            if name == "micrograd-plus":
                wanted = requirement[requirement.index("[") + 1 : requirement.index("]")]
                assert set(wanted.split(",")) <= set(extras), (extra, requirement)
    assert extras["all"] == ["micrograd-plus[tensor,train,viz,datasets]"]


def install_hints() -> list[tuple[str, str]]:
    """(file, hint) for every `pip install ...` the code, the README and the notebooks show."""
    files = [*sorted((ROOT / "micrograd").rglob("*.py")), ROOT / "README.md"]
    files += sorted((ROOT / "notebooks").glob("*.ipynb"))
    hints = []
    for path in files:
        for match in re.finditer(r"pip install[^\n`\"]*", path.read_text(encoding="utf-8")):
            hints.append((path.name, match.group(0)))
    return hints


def test_every_install_hint_names_micrograd_plus_and_a_real_extra():
    extras = pyproject()["project"]["optional-dependencies"]
    hints = install_hints()
    assert len(hints) >= 8
    for where, hint in hints:
        assert not re.search(r"(?<![-\w])micrograd\[", hint), (where, hint)
        for wanted in re.findall(r"micrograd-plus\[([\w,]+)\]", hint):
            assert set(wanted.split(",")) <= set(extras), (where, hint)
        for wanted in re.findall(r'"\.\[([\w,]+)\]"', hint):  # pip install -e ".[train]"
            assert set(wanted.split(",")) <= set(extras), (where, hint)


def test_install_hints_say_what_works_before_the_distribution_is_published():
    """micrograd-plus is not on the package index yet: every hint the code prints installs the
    extra from a checkout, and names the published command only as what it will be."""
    from micrograd._distribution import install_hint

    assert install_hint("train") == (
        "pip install -e '.[train]' in the micrograd-plus checkout "
        "(once published: pip install 'micrograd-plus[train]')"
    )
    for path in sorted((ROOT / "micrograd").rglob("*.py")):
        if path.name == "_distribution.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "micrograd-plus[" not in text, path  # every hint comes from install_hint()
