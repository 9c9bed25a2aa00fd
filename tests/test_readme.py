"""The README's code blocks run as written, and its quick start stays true."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


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
    quick = re.search(r"## Quick start\n\n```bash\n(.*?)```", text, flags=re.DOTALL).group(1)
    commands = [line for line in quick.splitlines() if line.strip()]
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job == 'pip install -e ".[train]" && python -m micrograd train'
    steps = tests.split(" && ")
    # the system packages: Graphviz (drawings), Debian's chromium and its driver (the docs site)
    assert "apt-get install -y graphviz chromium chromium-driver" in steps
    assert 'pip install -e ".[test]"' in steps
    # the site is built with warnings as errors before the tests, which open it in the browser
    build = steps.index(DOCS_BUILD)
    assert steps[-1].startswith("python -m pytest -q") and build == len(steps) - 2
    # CI runs the same steps.
    ci = (README.parent / ".ci" / "run").read_text()
    assert "apt-get install -y" in ci
    assert all(package in ci for package in ("graphviz", "chromium", "chromium-driver"))
    assert 'pip install -q -e ".[test]"' in ci and steps[-1] in ci
    assert DOCS_BUILD in ci and ci.index(DOCS_BUILD) < ci.index(steps[-1])


DOCS_BUILD = "python -m sphinx -E -W --keep-going -q -b html docs docs/_build/html"


def test_the_readme_shows_the_one_command_that_builds_the_site():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert (
        'pip install -e ".[docs]" && python -m sphinx -E -W --keep-going -b html docs docs/_build/html\n'
        in blocks
    )


def test_the_readme_is_short_and_speaks_of_the_project_only():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    assert not re.search(r"\bissue \d+|#\d{2,}", text, flags=re.IGNORECASE)  # no issue numbers
    assert not re.search(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b", text)  # no commit hashes
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)  # no dates
    assert "../" not in text and "/work/" not in text  # no paths outside the repository
    for link in re.findall(r"\]\(((?!https?:)[^)#]+)", text):  # every link inside the repo exists
        assert (README.parent / link).exists(), link


def test_main_job_is_what_the_readme_says(tmp_path):
    """The quick start's main job: the default `micrograd train` reaches 100% accuracy."""
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "micrograd", "train", "--no-progress", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "train accuracy 100.0%" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_accuracy"] == 1.0
    for name in ("curves.png", "decision_boundary.png", "model.json"):
        assert (out / name).stat().st_size > 0
