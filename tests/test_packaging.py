"""The distribution as users get it: the sdist and the wheel, built from a clean copy of the tree.

- the build prints no warning (an SPDX license string, a LICENSE file, no deprecated tables);
- the sdist holds every file its own tests need, and a part of the suite passes from it;
- the wheel holds the compiled engine, installs into a fresh virtual environment and works from
  another directory;
- with no C compiler the build still succeeds, says why the pure-Python engine will be used, and
  the wheel it makes works.

Builds use the `build` front end (the `test` extra) without network access: `--no-isolation`
builds with the setuptools already installed here.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("build")


def clean_copy(dest: Path) -> Path:
    """The tree as a fresh checkout has it (git's tracked files), or, in an unpacked sdist
    (no git), every file except build products."""
    dest.mkdir()
    if (ROOT / ".git").exists():
        files = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        names = [n for n in files.split("\0") if n and (ROOT / n).is_file()]
    else:
        skip = {"build", "dist", "__pycache__", ".pytest_cache", ".hypothesis"}
        names = [
            str(p.relative_to(ROOT))
            for p in ROOT.rglob("*")
            if p.is_file()
            and not skip.intersection(p.relative_to(ROOT).parts)
            and p.suffix not in (".so", ".pyc")
            and not any(part.endswith(".egg-info") for part in p.relative_to(ROOT).parts)
        ]
    for name in names:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    return dest


def build(source: Path, out: Path, *what: str, **env: str) -> str:
    """Run `python -m build` on `source`; return what it printed (stdout and stderr)."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *what, "-o", str(out), str(source)],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dist")
    source = clean_copy(tmp / "src")
    log = build(source, tmp / "dist", "--sdist", "--wheel")
    (sdist,) = (tmp / "dist").glob("*.tar.gz")
    (wheel,) = (tmp / "dist").glob("*.whl")
    return {"log": log, "sdist": sdist, "wheel": wheel, "source": source, "tmp": tmp}


def test_the_build_prints_no_warning(built):
    warnings = [
        line
        for line in built["log"].splitlines()
        if "warn" in line.lower() or "deprecat" in line.lower()
    ]
    assert warnings == []


def test_the_wheel_and_the_sdist_hold_every_module_of_the_package(built):
    # The subpackages (micrograd/cli/, viz/, export/, tensor/...) are found by
    # [tool.setuptools.packages.find]: a folder it missed would install a package that cannot
    # import its own command or bridges.
    modules = {
        p.relative_to(built["source"]).as_posix()
        for p in (built["source"] / "micrograd").rglob("*.py")
    }
    assert {"micrograd/cli/__init__.py", "micrograd/viz/animate.py"} <= modules
    assert "micrograd/export/onnx.py" in modules
    with zipfile.ZipFile(built["wheel"]) as whl:
        assert sorted(modules - set(whl.namelist())) == []
    with tarfile.open(built["sdist"]) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert sorted(modules - in_sdist) == []


def test_the_license_is_an_spdx_string_with_its_file(built):
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = whl.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = whl.read(metadata).decode()
    assert "License-Expression: MIT" in text.splitlines()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_sdist_holds_every_file_its_tests_need(built):
    with tarfile.open(built["sdist"]) as tar:
        top = tar.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = [
        str(p.relative_to(built["source"]))
        for folder in ("tests", "notebooks", "examples", "benchmarks")
        for p in (built["source"] / folder).rglob("*")
        if p.is_file()
    ]
    assert "tests/conftest.py" in needed and "tests/data/names.txt" in needed
    missing = sorted(set(needed) - names)
    assert missing == [], f"missing from {top}: {missing}"
    # Every picture the README shows, and the files the README and the license point to.
    readme = (ROOT / "README.md").read_text()
    for path in ("LICENSE", "README.md", "CHANGELOG.md", "setup.py", "pyproject.toml"):
        assert path in names
    for image in (p for p in names if p.startswith("docs/") and p.endswith((".png", ".svg"))):
        assert image in names
    referenced = [
        part.split(")")[0]
        for part in readme.split("](")[1:]
        if part.split(")")[0].endswith((".png", ".svg", ".gif")) and "://" not in part.split(")")[0]
    ]
    assert [r for r in referenced if r not in names] == []


def test_part_of_the_suite_passes_from_the_unpacked_sdist(built):
    with tarfile.open(built["sdist"]) as tar:
        tar.extractall(built["tmp"] / "unpacked", filter="data")
    (folder,) = (built["tmp"] / "unpacked").iterdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-x",
            "tests/test_engine.py",
            "tests/test_compat_nn.py",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "MICROGRAD_PURE": "1", "PYTHONPATH": str(folder)},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout.splitlines()[-1]


def fresh_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(where)  # installed into by this pip: faster
    return where / "bin" / "python"


def install_and_smoke(python: Path, wheel: Path, cwd: Path) -> str:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import micrograd, micrograd.engine as e\n"
        "from micrograd import Value\n"
        "from micrograd.nn import MLP\n"
        "x = Value(2.0); y = (x * x + x.tanh()).relu(); y.backward()\n"
        "assert 'site-packages' in micrograd.__file__, micrograd.__file__\n"
        "print(e.IMPLEMENTATION, y.data, x.grad)\n"
    )
    # the installed engine, whichever engine this suite runs on (MICROGRAD_PURE is not passed on)
    env = {k: v for k, v in os.environ.items() if k != "MICROGRAD_PURE"}
    out = subprocess.run(
        [str(python), "-c", code], cwd=cwd, capture_output=True, text=True, check=True, env=env
    ).stdout
    version = subprocess.run(
        [str(python.parent / "micrograd"), "--version"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    return out + version


def assert_smoke_numbers(line: str, engine: str) -> None:
    """y = relu(x*x + tanh x) at x = 2 and dy/dx = 2x + 1 - tanh(x)**2."""
    name, y, grad = line.split()
    assert name == engine
    assert float(y) == pytest.approx(4 + math.tanh(2.0), rel=1e-15)
    assert float(grad) == pytest.approx(4 + 1 - math.tanh(2.0) ** 2, rel=1e-15)


def test_the_wheel_installs_into_a_fresh_venv_and_runs_from_elsewhere(built, tmp_path):
    with zipfile.ZipFile(built["wheel"]) as whl:
        assert any(n.startswith("micrograd/_cengine") and n.endswith(".so") for n in whl.namelist())
    python = fresh_venv(tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = install_and_smoke(python, built["wheel"], elsewhere)
    assert_smoke_numbers(out.splitlines()[0], "compiled")
    assert out.splitlines()[1] == "micrograd-plus 0.3.0 (compiled scalar engine)"


def test_without_a_c_compiler_the_build_says_so_and_the_pure_engine_works(built, tmp_path):
    source = clean_copy(tmp_path / "src")
    log = build(source, tmp_path / "dist", "--wheel", CC="false")
    assert "micrograd: the compiled scalar engine (micrograd/_cengine.c) could not be built" in log
    assert "micrograd: the install goes on with the pure-Python engine" in log
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert not any(n.endswith(".so") for n in whl.namelist())
    python = fresh_venv(tmp_path / "venv")
    out = install_and_smoke(python, wheel, tmp_path)
    assert_smoke_numbers(out.splitlines()[0], "pure")
    assert out.splitlines()[1] == "micrograd-plus 0.3.0 (pure scalar engine)"
