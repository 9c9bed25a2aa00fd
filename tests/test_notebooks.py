"""The notebooks in notebooks/ run top to bottom without an error (each asserts its own numbers:
the demo's first loss and final accuracy, the walkthrough's gradients against PyTorch).

They are committed without outputs; this runs them in a scratch copy with nbclient and the
`python3` kernel, from a temporary working directory, so nothing is written into the repository.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def nbformat():
    return pytest.importorskip("nbformat", reason="reading notebooks needs nbformat (test extra)")


def test_the_expected_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["demo.ipynb", "trace_graph.ipynb", "walkthrough.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat().read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nbclient = pytest.importorskip(
        "nbclient", reason="running notebooks needs nbclient (test extra)"
    )
    nb = nbformat().read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,  # per cell; the demo's training cell takes about 10 s
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    assert list(tmp_path.iterdir()) == []  # the notebooks write only into their own temp dirs
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every drawing displayed as SVG (graphviz present) and the plots as PNG.
    kinds = {key for o in outputs for key in o.get("data", {})}
    expected = {
        "demo": {"image/png"},
        "trace_graph": {"image/svg+xml"},
        "walkthrough": {"image/svg+xml", "text/html", "image/gif"},
    }[path.stem]
    assert expected <= kinds


# -- opening them: the `notebooks` extra and the README's command (issue 9, item 19) ---------

# Import name -> distribution, where they differ; IPython comes with ipykernel.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "PIL": "pillow", "IPython": "ipykernel"}


def imported_modules(path: Path) -> set:
    """Top-level modules a notebook's code cells import (read as JSON: no nbformat needed)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    modules = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(
            ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def notebooks_extra() -> dict:
    """{distribution: requirement} the `notebooks` extra installs, its self-references expanded."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    found, todo = {}, ["notebooks"]
    while todo:
        for requirement in extras[todo.pop()]:
            name = re.match(r"[\w.-]+", requirement).group(0).lower()
            if name == "micrograd-plus":
                todo += requirement[requirement.index("[") + 1 : requirement.index("]")].split(",")
            else:
                found[name] = requirement
    return found


def test_the_notebooks_extra_installs_jupyter_and_what_every_notebook_imports():
    installed = notebooks_extra()
    assert "jupyterlab" in installed  # the README's `jupyter lab`
    assert installed["torch"] == "torch==2.13.0"  # the walkthrough checks against PyTorch
    needed = set()
    for path in NOTEBOOKS:
        for module in imported_modules(path) - set(sys.stdlib_module_names) - {"micrograd"}:
            needed.add(DISTRIBUTIONS.get(module, module).lower())
    assert {"torch", "numpy", "matplotlib", "scikit-learn", "ipykernel"} <= needed  # the parse
    assert needed <= set(installed), needed - set(installed)


def test_the_readme_opens_the_notebooks_with_one_command():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    assert 'pip install -e ".[notebooks]" && jupyter lab notebooks/\n' in blocks
