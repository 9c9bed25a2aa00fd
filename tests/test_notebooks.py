"""The notebooks in notebooks/ run top to bottom without an error (each asserts its own numbers:
the demo's first loss and final accuracy, the walkthrough's gradients against PyTorch).

They are committed without outputs; this runs them in a scratch copy with nbclient and the
`python3` kernel, from a temporary working directory, so nothing is written into the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="running the notebooks needs nbformat (test extra)")
nbclient = pytest.importorskip("nbclient", reason="running the notebooks needs nbclient (test extra)")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_the_expected_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["demo.ipynb", "trace_graph.ipynb", "walkthrough.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
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
