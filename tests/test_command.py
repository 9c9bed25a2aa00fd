"""How the `micrograd` command starts and stops (micrograd/_interrupts.py,
micrograd/_distribution.py, `cli.main`): Ctrl-C at any moment is one line and exit code 130,
and the original `micrograd` distribution installed beside ours is reported.

Ctrl-C is sent as SIGINT to a real process, started both ways users start it: the console
script pip writes (copied here, as pip writes it) and `python -m micrograd`. The child runs with
`-X importtime`, whose lines tell the test when micrograd's own code has started; the signal is
then sent at several moments from there: during the imports, while the parser is built, and
during the job. (Before that moment Python is still starting up -- its `site` module, which
runs the environment's .pth files -- and no package can catch a Ctrl-C there.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from micrograd import _distribution, _interrupts

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT: POSIX only")

# The console script as pip writes it for `micrograd = "micrograd.cli:main"`.
CONSOLE_SCRIPT = """# -*- coding: utf-8 -*-
import re
import sys
from micrograd.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bin") / "micrograd"
    path.write_text(CONSOLE_SCRIPT)
    return path


def env(**extra: str) -> dict:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([*extra.pop("first", "").split(os.pathsep), str(ROOT)])
    out.update(extra)
    return out


def interrupt(command: list, delay: float, **kwargs) -> tuple[int, list]:
    """Start `command` (a python command line), wait until micrograd's code runs, wait `delay`
    seconds more, send SIGINT; the exit code and stderr without the importtime lines."""
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,  # noqa: PLW1509 (no threads yet when it runs)
        **kwargs,
    )
    watchdog = threading.Timer(120, proc.kill)  # a child that ignored the signal: fail, not hang
    watchdog.start()
    try:
        seen = []
        for line in proc.stderr:  # micrograd.engine is imported right after the handler is set
            seen.append(line)
            if line.rstrip().endswith(" micrograd.engine") or not line.startswith("import time:"):
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
    finally:
        watchdog.cancel()
    lines = [ln for ln in "".join(seen + [err]).splitlines() if not ln.startswith("import time:")]
    return proc.returncode, lines


def as_from_a_terminal() -> None:
    """In the child: Ctrl-C handled by default, as in a shell's foreground job (the test runner
    may itself run in the background, where SIGINT is ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def entry(how: str, script: Path) -> list:
    return ["-m", "micrograd"] if how == "module" else [str(script)]


@pytest.mark.parametrize("how", ["module", "script"])
@pytest.mark.parametrize("delay", [0.0, 0.005, 0.02, 0.06, 0.15, 0.4])
def test_ctrl_c_while_starting_or_training_is_one_line_and_exit_130(tmp_path, script, how, delay):
    # A job long enough that every moment lands before it ends.
    argv = ["train", "--steps", "100000", "--no-progress", "--out", str(tmp_path / "run")]
    code, err = interrupt([*entry(how, script), *argv], delay, env=env(), cwd=tmp_path)
    assert code in (130, -signal.SIGINT), err  # -SIGINT: see the short-command test below
    # Before the first step ends, Ctrl-C is the one line "micrograd: interrupted"; after it, the
    # job may first have said how long it would take and written the steps done as a run, and
    # its last line says how to continue it. Every line is the command's own, never a traceback.
    assert err and "interrupted" in err[-1], err
    assert all(line.startswith("micrograd") for line in err), err
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize("how", ["module", "script"])
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.1])
def test_ctrl_c_during_a_short_command_is_never_a_traceback(tmp_path, script, how, delay):
    # `--version` may finish before the signal: then it printed the version and exited 0.
    code, err = interrupt([*entry(how, script), "--version"], delay, env=env(), cwd=tmp_path)
    assert not any("Traceback" in line for line in err), err
    # A signal that arrives once the command is done, while Python shuts down (which gives
    # SIGINT back its default action), ends the process by SIGINT, as Python ends any program on
    # an unhandled Ctrl-C: a shell reports that as 130 too (seen under load in issue 9's trial).
    finished = (code, err) in ((0, []), (-signal.SIGINT, []))
    # Rarely (twice in some hundred runs under load, cause not found) the process printed its one
    # line and was then ended by the signal itself (-SIGINT) rather than exiting with 130; a shell
    # reports both as 130, and what the user sees is the same one line.
    interrupted = code in (130, -signal.SIGINT) and err == ["micrograd: interrupted"]
    assert finished or interrupted, (code, err)


@pytest.mark.parametrize("how", ["module", "script"])
def test_ctrl_c_while_graph_renders(tmp_path, script, how):
    """Graphviz is a `dot` that never finishes: Ctrl-C stops both, one line, exit 130, no file,
    no `dot` left running."""
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    started = tmp_path / "dot-pid"
    (folder / "dot").write_text(
        f"#!{sys.executable}\nimport os, pathlib, time\n"
        f"pathlib.Path({str(started)!r}).write_text(str(os.getpid()))\ntime.sleep(60)\n"
    )
    (folder / "dot").chmod(0o755)
    out = tmp_path / "g.svg"
    command = [*entry(how, script), "graph", "a*b", "--values", "a=1,b=2", "-o", str(out)]
    proc = subprocess.Popen(
        [sys.executable, *command],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env(PATH=f"{folder}{os.pathsep}{os.environ['PATH']}"),
        preexec_fn=as_from_a_terminal,  # noqa: PLW1509 (no threads yet when it runs)
    )
    deadline = time.monotonic() + 60
    while not started.exists() or not started.read_text():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.splitlines() == ["micrograd: interrupted"]
    assert not out.exists()
    with pytest.raises(ProcessLookupError):  # subprocess.run killed it on the way out
        for _ in range(100):
            os.kill(int(started.read_text()), 0)
            time.sleep(0.05)


def _ctrl_c_while_a_class_is_defined(*args, **kwargs):
    """A real SIGINT that lands in a `__set_name__` (a dataclass field being set up while some
    module imports): Python 3.11 wraps the KeyboardInterrupt in a RuntimeError."""

    class Field:
        def __set_name__(self, owner, name):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)  # the KeyboardInterrupt is raised here

    class Record:
        field = Field()


@pytest.mark.parametrize("command", ["train", "graph"])
def test_a_ctrl_c_wrapped_by_python_is_still_one_line_and_130(
    command, tmp_path, capsys, monkeypatch
):
    # issue 9 trial: a Ctrl-C 0.06 s into `python -m micrograd train` printed a traceback ending
    # in "RuntimeError: Error calling __set_name__" and exited with 1.
    from micrograd import train, viz_cli
    from micrograd.cli import main

    if command == "train":
        monkeypatch.setattr(train, "load_data", _ctrl_c_while_a_class_is_defined)
        argv = ["train", "--no-plots", "--no-progress", "--out", str(tmp_path / "run")]
    else:
        pytest.importorskip("graphviz", reason="needs the graphviz package (the viz extra)")
        monkeypatch.setattr(viz_cli, "build_expression", _ctrl_c_while_a_class_is_defined)
        argv = ["graph", "a*b", "--values", "a=1,b=2", "-o", str(tmp_path / "g.svg")]
    assert main(argv) == 130
    assert capsys.readouterr().err.splitlines()[-1:] in (
        ["micrograd: interrupted"],
        [f"micrograd: error: interrupted; nothing was written to {tmp_path / 'run'}"],
    )
    assert list(tmp_path.iterdir()) == []


def test_a_program_importing_micrograd_keeps_its_own_ctrl_c():
    code = (
        "import signal, micrograd\n"
        "from micrograd.cli import main\n"
        "assert main(['--version']) == 0\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env(), check=True
    )
    assert out.stdout.splitlines()[-1] == "True"


@pytest.mark.parametrize(
    "argv, orig_argv, expected",
    [
        (["/venv/bin/micrograd", "train"], None, True),
        (["C:\\venv\\Scripts\\micrograd.exe"], None, True),
        (["-m", "train"], ["python", "-m", "micrograd", "train"], True),
        (["-m"], ["python", "-X", "importtime", "-W", "error", "-m", "micrograd"], True),
        (["-m"], ["python3", "-mmicrograd"], True),
        (["-m"], ["python3", "-Im", "micrograd"], True),
        (["-m"], ["python", "-m", "pytest"], False),
        (["-m"], ["python", "-m", "micrograd.cli"], False),
        (["-m"], None, True),  # Python 3.9 has no orig_argv: '-m' is taken to be us
        (["-c"], ["python", "-c", "import micrograd"], False),
        (["/home/me/train.py"], ["python", "/home/me/train.py"], False),
        (["/usr/bin/micrograd-tool"], None, False),
        ([], None, False),
    ],
)
def test_started_as_command(monkeypatch, argv, orig_argv, expected):
    monkeypatch.setattr(sys, "argv", argv)
    if orig_argv is None:
        monkeypatch.delattr(sys, "orig_argv", raising=False)
    else:
        monkeypatch.setattr(sys, "orig_argv", orig_argv, raising=False)
    assert _interrupts.started_as_command() is expected


# -- the original `micrograd` distribution installed beside `micrograd-plus` (issue 9, 12) ---


def fake_site(tmp_path: Path, name: str, version: str | None = "0.1.0") -> Path:
    """A site folder holding the metadata of distribution `name`, as pip writes it."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    folder = site / (f"{name}-{version}.dist-info" if version else f"{name}.egg-info")
    folder.mkdir()
    header = "METADATA" if version else "PKG-INFO"
    (folder / header).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version or '0.0.9'}\n\nbody\n"
    )
    return site


CLASH = (
    "micrograd: warning: the distribution 'micrograd' 0.1.0 (PyPI's original micrograd, or an "
    "old install of this project under that name) is installed in {site} beside micrograd-plus; "
    "both provide the import package 'micrograd', so their files overwrite each other and "
    "uninstalling either breaks the other. Fix: pip uninstall -y micrograd micrograd-plus, then "
    "install micrograd-plus again (pip install -e . in its checkout, or pip install on its wheel)"
)


@pytest.mark.parametrize("how", ["module", "script"])
def test_the_command_warns_once_when_the_original_is_installed_too(tmp_path, script, how):
    site = fake_site(tmp_path, "micrograd")
    out = subprocess.run(
        [sys.executable, *entry(how, script), "--version"],
        capture_output=True,
        text=True,
        env=env(first=str(site)),
        check=False,
    )
    assert out.returncode == 0
    assert re.fullmatch(r"micrograd-plus 0\.3\.0 \((compiled|pure) scalar engine\)\n", out.stdout)
    assert out.stderr.splitlines() == [CLASH.format(site=site)]


@pytest.mark.parametrize(
    "name, version",
    [("micrograd_plus", "0.3.0"), ("micrograd_tools", "1.0"), ("micrograd2", "0.1")],
)
def test_other_distributions_are_not_the_original(tmp_path, name, version):
    site = fake_site(tmp_path, name, version)
    assert _distribution.find_original([str(site)]) is None


@pytest.mark.parametrize(
    "name, version",
    [("micrograd", "0.1.0"), ("Micrograd", "0.1.0"), ("micrograd", None)],
)
def test_the_original_is_found_by_its_metadata_folder(tmp_path, name, version):
    site = fake_site(tmp_path, name, version)
    assert _distribution.find_original([str(site)]) == (version or "0.0.9", str(site))


def test_import_micrograd_warns_once_when_the_original_shares_its_folder(tmp_path):
    """The dangerous case: both installed into one site-packages, where they overwrote each
    other's files. `import micrograd` looks only there (one directory listing)."""
    site = fake_site(tmp_path, "micrograd")
    (site / "micrograd").symlink_to(ROOT / "micrograd")
    code = (
        "import warnings, sys\n"
        "warnings.simplefilter('default')\n"
        "import micrograd\n"
        "import micrograd.nn\n"
        "import importlib; importlib.import_module('micrograd')\n"
        "print(micrograd.__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd=tmp_path,
        check=True,
    )
    assert out.stdout.strip() == str(site / "micrograd" / "__init__.py")
    warnings = [line for line in out.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 1, out.stderr
    assert "<string>:3: DistributionClashWarning: the distribution 'micrograd' 0.1.0" in warnings[0]
    assert "pip uninstall -y micrograd micrograd-plus, then install micrograd-plus again" in warnings[0]


def test_no_warning_without_the_original(tmp_path):
    site = fake_site(tmp_path, "micrograd_plus", "0.3.0")
    for command in (["-m", "micrograd", "--version"], ["-W", "error", "-c", "import micrograd"]):
        out = subprocess.run(
            [sys.executable, *command],
            capture_output=True,
            text=True,
            env=env(first=str(site)),
            check=True,
        )
        assert out.stderr == ""


# The original's three files as its 0.1.0 wheel installs them: no module docstrings, no `dot`,
# no `__version__` (shortened: only what an import touches).
ORIGINAL_FILES = {
    "__init__.py": "",
    "engine.py": "\nclass Value:\n    def __init__(self, data, _children=(), _op=''):\n"
    "        self.data = data\n",
    "nn.py": "import random\nfrom micrograd.engine import Value\n\nclass Module:\n    pass\n",
}


@pytest.mark.parametrize("how", ["module", "script"])
def test_the_original_installed_over_ours_gives_the_clash_message_only(tmp_path, script, how):
    """pip install micrograd after micrograd-plus overwrites __init__.py, engine.py and nn.py:
    the command cannot run, and says why in one line instead of a traceback."""
    site = fake_site(tmp_path, "micrograd")
    shutil.copytree(ROOT / "micrograd", site / "micrograd", ignore=shutil.ignore_patterns("*.so"))
    for name, text in ORIGINAL_FILES.items():
        (site / "micrograd" / name).write_text(text)
    out = subprocess.run(
        [sys.executable, *entry(how, script), "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd=tmp_path,
        check=False,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    expected = CLASH.format(site=site).replace("micrograd: warning:", "micrograd: error:")
    assert out.stderr.splitlines() == [expected]
