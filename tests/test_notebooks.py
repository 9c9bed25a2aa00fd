"""The notebooks in notebooks/ are stored with their outputs (plots visible on a code host), run
top to bottom without an error (each asserts its own numbers: the demo's first loss and final
accuracy, the walkthrough's gradients against PyTorch), and running them again reproduces the
stored outputs.

The test runs them in a scratch copy with nbclient and the `python3` kernel, from a temporary
working directory, so nothing is written into the repository. After changing a notebook, store
its new outputs with `python tests/test_notebooks.py` (it executes every notebook in place).
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REFRESH = "python tests/test_notebooks.py"


def nbformat():
    return pytest.importorskip("nbformat", reason="reading notebooks needs nbformat (test extra)")


def execute(nb, cwd: Path):
    """Run a notebook (nbformat node) top to bottom in `cwd`, in place; raises on any error."""
    import nbclient

    client = nbclient.NotebookClient(
        nb,
        timeout=300,  # per cell; the demo's training cell takes about 10 s
        kernel_name="python3",
        record_timing=False,  # no timestamps in the stored notebooks
        resources={"metadata": {"path": str(cwd)}},
    )
    # The kernel imports this checkout's package (not another installed copy): it inherits
    # PYTHONPATH from this process.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), saved]))
    try:
        client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return nb


# Memory addresses (`<function f at 0x7f...>`) and timings change from run to run.
VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x..."),
    (re.compile(r"\b\d+(\.\d+)?\s?(s|ms|µs|us|it/s|s/it)\b"), "<time>"),
]


def text_outputs(nb) -> list:
    """Per code cell, its printed text and the text/plain of its results, volatile parts masked."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts = []
        for output in cell.outputs:
            if output.output_type == "stream":
                if texts and texts[-1][0] == output.name:
                    # a cell's printing arrives in chunks that depend on timing: join them
                    texts[-1] = (output.name, texts[-1][1] + output.text)
                else:
                    texts.append((output.name, output.text))
            elif output.output_type in ("execute_result", "display_data"):
                texts.append(("text/plain", output.get("data", {}).get("text/plain", "")))
            elif output.output_type == "error":
                texts.append(("error", output.ename))
        for pattern, replacement in VOLATILE:
            texts = [(kind, pattern.sub(replacement, text)) for kind, text in texts]
        cells.append(texts)
    return cells


def test_the_expected_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == ["demo.ipynb", "trace_graph.ipynb", "walkthrough.ipynb"]


EXPECTED_KINDS = {
    "demo": {"image/png"},
    "trace_graph": {"image/svg+xml"},
    "walkthrough": {"image/svg+xml", "text/html", "image/gif"},
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_with_its_outputs(path):
    nb = nbformat().read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    # every cell ran, in order, in one session (stored by running the notebook, not by hand)
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), REFRESH
    outputs = [o for cell in code for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # the plots and drawings are in the file, so a code host shows them
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert EXPECTED_KINDS[path.stem] <= kinds, f"outputs missing; store them with {REFRESH}"
    for cell in code:  # no timestamps or run times recorded
        assert "execution" not in cell.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_and_reproduces_its_stored_outputs(path, tmp_path):
    pytest.importorskip("nbclient", reason="running notebooks needs nbclient (test extra)")
    stored = nbformat().read(path, as_version=4)
    nb = execute(nbformat().read(path, as_version=4), tmp_path)
    assert list(tmp_path.iterdir()) == []  # the notebooks write only into their own temp dirs
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every drawing displayed as SVG (graphviz present) and the plots as PNG.
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert EXPECTED_KINDS[path.stem] <= kinds
    # The numbers the notebook prints are the ones stored in it, cell by cell.
    fresh, kept = text_outputs(nb), text_outputs(stored)
    assert len(fresh) == len(kept)
    for index, (new, old) in enumerate(zip(fresh, kept)):
        assert new == old, f"code cell {index} prints something else than stored; {REFRESH}"


def test_text_outputs_mask_addresses_and_timings_only():
    nbf = nbformat()
    nb = nbf.v4.new_notebook()
    cell = nbf.v4.new_code_cell("f")
    cell.outputs = [
        nbf.v4.new_output("stream", name="stdout", text="loss 0.8958441028683222 in 2.31 s\n"),
        nbf.v4.new_output("execute_result", data={"text/plain": "<function f at 0x7f3a2b>"}),
    ]
    nb.cells = [cell]
    assert text_outputs(nb) == [
        [("stdout", "loss 0.8958441028683222 in <time>\n"), ("text/plain", "<function f at 0x...>")]
    ]
    cell.outputs[0]["text"] = "loss 0.8958441028683223 in 2.31 s\n"  # a different number shows
    assert text_outputs(nb)[0][0] == ("stdout", "loss 0.8958441028683223 in <time>\n")
    # printing that arrived in two chunks is the same printing
    cell.outputs = [
        nbf.v4.new_output("stream", name="stdout", text="step 0\nstep 1"),
        nbf.v4.new_output("stream", name="stdout", text="0\n"),
    ]
    assert text_outputs(nb) == [[("stdout", "step 0\nstep 10\n")]]


# -- opening them: the `notebooks` extra and the README's command -----------------------------

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


if __name__ == "__main__":
    # Store the notebooks' outputs: execute each one in place (from a scratch working directory).
    import nbformat as _nbformat

    for notebook in NOTEBOOKS:
        with tempfile.TemporaryDirectory() as scratch:
            executed = execute(_nbformat.read(notebook, as_version=4), Path(scratch))
        _nbformat.write(executed, notebook)
        print(f"executed {notebook.relative_to(ROOT)}")
