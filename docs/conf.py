"""Sphinx configuration of micrograd's documentation site.

The pages are MyST Markdown; the tutorial and how-to pages are notebooks in text form that
myst-nb executes at every build, so each number and picture on them comes from running the code
shown. Build with warnings as errors (from the repository root):

    python -m sphinx -E -W --keep-going -b html docs docs/_build/html

`-E` reads every page again, so the pages are executed on the current code even when only the
package changed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# autodoc imports this checkout's package, and so do the kernels that execute the pages (they
# inherit the environment): the documentation describes the code next to it, not an installed copy.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)
# The API reference documents engine.py, the readable specification of both scalar engines (the
# compiled twin has the same names, signatures and behaviour); the pages run the default engine.
_pure = os.environ.get("MICROGRAD_PURE")
os.environ["MICROGRAD_PURE"] = "1"
import micrograd
import micrograd.engine

if _pure is None:
    del os.environ["MICROGRAD_PURE"]
else:
    os.environ["MICROGRAD_PURE"] = _pure

project = "micrograd"
author = "The micrograd-plus developers"
copyright = "The micrograd-plus developers (MIT License)"
release = micrograd.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
# Docstrings write `name` for code, as Markdown does.
default_role = "literal"

# pytorch-differences.md is included by explanations/differences.md (other pages link there).
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "pytorch-differences.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}

# -- execution: every page runs at build time ---------------------------------------------------
nb_execution_mode = "force"
nb_execution_in_temp = True  # pages that write files write them into a scratch folder
nb_execution_timeout = 120
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# The animated backward pass is a GIF: show it as an image, not as its text repr.
nb_mime_priority_overrides = [("html", "image/gif", 15)]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- API reference ------------------------------------------------------------------------------
# The module pages are generated afresh at every build: a page left from a module that was
# renamed or removed would otherwise be an orphan (a warning, so an error here).
shutil.rmtree(Path(__file__).resolve().parent / "reference" / "generated", ignore_errors=True)
autosummary_generate = True
# Each object is documented once, on the page of the module that defines it: a package's __all__
# re-exports (micrograd.tensor's Tensor, defined in micrograd.tensor.core) would document it twice.
# undoc-members: an op without a docstring of its own (Value.tanh) is still listed, with its signature.
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "ignore-module-all": True,
}
# [source] links only for code of this project (an op stored as operator.add would list the C
# module _operator, which has no source page).
viewcode_follow_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autoclass_content = "both"

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"micrograd {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"  # also keeps browsers from asking for a missing /favicon.ico
templates_path = ["_templates"]


# -- docstrings ---------------------------------------------------------------------------------
# The docstrings are written as plain text for `help()`: an indented block after a line ending in
# ':' is code or a table, `|x|` is an absolute value. reStructuredText reads both otherwise (a
# block quote that needs a blank line before it, a substitution), so each docstring is adjusted
# for the reference: an indented block after a colon becomes a literal block, and bars outside
# literal blocks are escaped.


LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+\.) ")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _plain_text_docstring(app, what, name, obj, options, lines):
    out: list[str] = []
    literal_indent = None  # indentation of the paragraph that opened the literal block
    for line in lines:
        if literal_indent is not None:
            if not line.strip() or _indent(line) > literal_indent:
                out.append(line)
                continue
            literal_indent = None
            if out[-1].strip():
                out.append("")
        if not line.strip():
            out.append(line)
            continue
        previous = next((i for i in range(len(out) - 1, -1, -1) if out[i].strip()), None)
        if previous is not None and _indent(line) > _indent(out[previous]):
            head = out[previous].rstrip()
            item = LIST_ITEM.match(head)
            if LIST_ITEM.match(line):
                if out[-1].strip():  # a nested list needs a blank line before it
                    out.append("")
            elif item and _indent(line) == len(item.group(0)):
                pass  # a list item's continuation line
            elif head.endswith(":"):
                # code or a table after a colon: a literal block
                out[previous] = head if head.endswith("::") else head + ":"
                if out[-1].strip():
                    out.append("")
                literal_indent = _indent(out[previous])
                out.append(line)
                continue
            elif out[-1].strip():
                # a continuation line of the paragraph above (a hanging indent)
                line = " " * _indent(out[previous]) + line.lstrip()
        # bars outside `code` spans would start a substitution reference
        parts = line.split("`")
        parts[::2] = [part.replace("|", r"\|") for part in parts[::2]]
        out.append("`".join(parts))
    lines[:] = out


# Tensor.data and Tensor.requires_grad are checking slot descriptors (micrograd/tensor/_cattrs.c
# or its pure twin), whose own docstring describes the descriptor type, not the attribute.
SLOT_ATTRIBUTE_DOCS = {
    "data": "The numpy array this tensor holds. Assigning a Tensor, an array or a number stores "
    "its array (shape and dtype may change, as in PyTorch).",
    "requires_grad": "Whether backward() computes a gradient for this tensor (float tensors "
    "only, as in PyTorch).",
}


def _slot_attribute_docstring(app, what, name, obj, options, lines):
    if type(obj).__name__ in ("SlotAttribute", "_PySlotAttribute"):
        lines[:] = [SLOT_ATTRIBUTE_DOCS.get(name.rsplit(".", 1)[-1], "")]


def _old_path_docstring(app, what, name, obj, options, lines):
    # An old module path kept for compatibility (micrograd.train) is the moved module itself
    # (micrograd.cli.train): its page says so instead of repeating the module's docstring.
    if what == "module" and getattr(obj, "__name__", name) != name:
        lines[:] = [
            f"Kept for compatibility: the same module as ``{obj.__name__}``, where it is",
            "documented. Code that imports or patches this name keeps working.",
        ]


def setup(app):
    app.connect("autodoc-process-docstring", _old_path_docstring, priority=300)
    app.connect("autodoc-process-docstring", _slot_attribute_docstring, priority=400)
    app.connect("autodoc-process-docstring", _plain_text_docstring)
