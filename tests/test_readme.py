"""The README's code blocks run as written, and its quick start stays true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    code = python_blocks()[index]
    exec(compile(code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    # Every `# prints X` / `# X` comment on a print line is checked against what it printed.
    expected = [
        m.group(1)
        for line in code.splitlines()
        if line.lstrip().startswith("print(")
        for m in [re.search(r"#\s*(?:prints\s+)?(-?[\d.]+)", line)]
        if m
    ]
    lines = printed.split()
    for value in expected:
        assert value.rstrip(".") in lines, f"README says {value}, the code printed {printed!r}"


def test_quick_start_commands():
    text = README.read_text()
    quick = re.search(r"## Quick start\n\n```bash\n(.*?)```", text, flags=re.S).group(1)
    commands = [line for line in quick.splitlines() if line.strip()]
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job == 'pip install -e ".[train]" && python -m micrograd train'
    assert tests.endswith('pip install -e ".[test]" && python -m pytest -q')
    assert "apt-get install -y graphviz" in tests
    # CI runs the same steps.
    ci = (README.parent / ".ci" / "run").read_text()
    assert "apt-get install -y" in ci and "graphviz" in ci
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest -q" in ci


def test_main_job_is_what_the_readme_says(tmp_path):
    """The quick start's main job: the default `micrograd train` reaches 100% accuracy."""
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "micrograd", "train", "--no-progress", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "train accuracy 100.0%" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_accuracy"] == 1.0
    for name in ("curves.png", "decision_boundary.png", "model.json"):
        assert (out / name).stat().st_size > 0
