"""This project is the `micrograd-plus` distribution; PyPI's `micrograd` (the original 0.1.0)
must not be installed beside it.

Both install the same import package, `micrograd/`. In one environment the second install
overwrites the first one's `__init__.py`, `engine.py` and `nn.py`, and uninstalling either one
deletes files the other still needs. `find_original()` looks for the original's metadata folder
(`micrograd-<version>.dist-info`, or `.egg-info`) and `clash_message()` says what to do.

Two callers, two costs: the `micrograd` command (`cli.main`) searches every folder on
`sys.path` (about a millisecond; `importlib.metadata` itself would take 20-100 ms to import),
and `import micrograd` looks only in the folder that holds this package, the case where files
were overwritten, and warns once with a `DistributionClashWarning`.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "DISTRIBUTION",
    "DistributionClashWarning",
    "clash_message",
    "find_original",
    "install_hint",
    "warn_once",
]

DISTRIBUTION = "micrograd-plus"
ORIGINAL = "micrograd"

# The folder this package was imported from (not resolved: a symlinked package counts where it is).
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_warned = False


class DistributionClashWarning(UserWarning):
    """PyPI's original `micrograd` is installed in the same environment as `micrograd-plus`."""


def find_original(folders: list | None = None) -> tuple[str, str] | None:
    """`(version, folder)` of an installed `micrograd` distribution, or None.

    folders: where to look (default: every folder on `sys.path`). A metadata folder's name is
    `<name>-<version>.dist-info` with the name normalised (PEP 503: case, `-`, `_` and `.`), so
    ours, `micrograd_plus-0.3.0.dist-info`, never matches.
    """
    for folder in sys.path if folders is None else folders:
        try:
            entries = os.scandir(folder or ".")
        except OSError:  # a zip file, a missing folder, no permission
            continue
        with entries:
            for entry in entries:
                name = entry.name
                stem, dot, suffix = name.rpartition(".")
                if suffix not in ("dist-info", "egg-info") or not dot:
                    continue
                project, _, version = stem.partition("-")
                if _normalise(project) == ORIGINAL and entry.is_dir():
                    return _version(entry.path) or version or "unknown", str(folder or ".")
    return None


def clash_message(version: str, folder: str) -> str:
    """One line: what is installed where, why it breaks, and the commands that fix it."""
    return (
        f"the distribution 'micrograd' {version} (PyPI's original micrograd, or an old install "
        f"of this project under that name) is installed in {folder} beside micrograd-plus; "
        f"both provide the import package 'micrograd', so their files overwrite each other and "
        f"uninstalling either breaks the other. Fix: pip uninstall -y micrograd micrograd-plus, "
        f"then install micrograd-plus again (pip install -e . in its checkout, or pip install "
        f"on its wheel)"
    )


def install_hint(extra: str) -> str:
    """The command that installs the optional extra `extra` today, from a checkout of this
    project (the distribution is not on the package index yet), with the published form named
    as what it will be."""
    return (
        f"pip install -e '.[{extra}]' in the micrograd-plus checkout (once published: "
        f"pip install 'micrograd-plus[{extra}]')"
    )


def warn_once(everywhere: bool) -> str | None:
    """Warn (once per process) if the original `micrograd` is installed too; return the message.

    everywhere: search every folder on `sys.path` (the command), else only the folder holding
    this package (`import micrograd`, where it must stay cheap). The command prints the message
    itself; `import micrograd` raises it as a `DistributionClashWarning`.
    """
    global _warned
    if _warned:
        return None
    found = find_original(None if everywhere else [_PACKAGE_PARENT])
    if found is None:
        return None
    _warned = True
    return clash_message(*found)


def _normalise(project: str) -> str:
    out = []
    for ch in project.lower():
        out.append("-" if ch in "-_." else ch)
    return "".join(out)


def _version(path: str) -> str | None:
    """The `Version:` header of a metadata folder (its name may lack the version: egg-info)."""
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(path, filename), encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.partition(":")[2].strip()
                    if not line.strip():  # the headers end at the first empty line
                        break
        except OSError:
            continue
    return None
