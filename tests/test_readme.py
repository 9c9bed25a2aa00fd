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
    assert commands[1] == 'pip install -e ".[test]" && python -m pytest -q'
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[test]"' in ci and "python -m pytest -q" in ci
