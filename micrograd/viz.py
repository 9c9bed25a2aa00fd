"""Drawing a computation graph with Graphviz: the original notebook's `trace` and `draw_dot`.

`draw_dot(root)` returns a `graphviz.Digraph` with one record per node (`label | data | grad`) and
one small node per operation, edges in the data-flow direction (input -> op -> output), as the
original `trace_graph.ipynb` and the lecture draw them. It displays inline in Jupyter and
`render(root, 'graph.svg')` writes SVG/PNG/PDF files.

What this adds to the notebook's version:

* it works for any node of the graph protocol (`_prev`, `_op`, `label`, `data`, `grad`; see
  `micrograd/graph.py`), so the tensor engine's `Tensor` draws too (shape and a summary of its
  arrays instead of one number);
* labels and ops are escaped, so `{ } | < >` in a label cannot break the record syntax;
* nodes are numbered in topological order instead of by `id()`, so the same graph gives
  byte-identical DOT and SVG in every run and process;
* a graph bigger than `max_nodes` raises a clear error (or is summarised) instead of leaving
  Graphviz to lay out 70,000 nodes for an hour;
* a missing `dot` program raises `GraphvizNotFound`, saying how to install it; the DOT text
  (`draw_dot(root).source`) needs no `dot`.

Read `micrograd/animate.py` next: it reuses `build_digraph` to draw each step of the backward pass.
"""

from __future__ import annotations

import numbers
import os
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

try:
    import graphviz
except ImportError as err:  # pragma: no cover - exercised only without the viz extra
    raise ImportError(
        "micrograd.viz draws graphs with the 'graphviz' Python package: "
        "pip install 'micrograd-plus[viz]' (the Graphviz 'dot' program is needed too to render)"
    ) from err

from micrograd.graph import topological_order

__all__ = [
    "DEFAULT_MAX_NODES",
    "RANKDIRS",
    "Drawing",
    "GraphvizNotFound",
    "build_digraph",
    "draw_dot",
    "render",
    "trace",
]

# Graphviz needs seconds for a few hundred records and much longer beyond a few thousand; a
# drawing of more than this many Values is unreadable anyway.
DEFAULT_MAX_NODES = 500

RANKDIRS = ("LR", "TB", "RL", "BT")

# File extensions `render` understands, and the Graphviz output format of each. `.dot`/`.gv`
# write the DOT source itself and need no `dot` program.
_FORMATS_BY_SUFFIX = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".jpg": "jpg",
    ".jpeg": "jpg",
    ".dot": "dot-source",
    ".gv": "dot-source",
}

_INSTALL_HINT = (
    "Graphviz's 'dot' program, which renders the drawings, was not found on PATH. Install it "
    "with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install -c conda-forge graphviz` (see https://graphviz.org/download/). Without it, "
    "`draw_dot(root).source` still gives the DOT text."
)


class GraphvizNotFound(RuntimeError):
    """Graphviz's `dot` executable is missing: the message says how to install it."""

    def __init__(self, message: str = _INSTALL_HINT) -> None:
        super().__init__(message)


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering raises `GraphvizNotFound` (with install instructions)
    instead of graphviz's bare `ExecutableNotFound` when `dot` is missing. Jupyter's inline
    display goes through `pipe`, so it gets the same message."""

    def pipe(self, *args: Any, **kwargs: Any):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            raise GraphvizNotFound() from err

    def render(self, *args: Any, **kwargs: Any):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            raise GraphvizNotFound() from err


def trace(root: Any) -> tuple[set, set]:
    """All nodes `root` depends on and all edges `(child, parent)`, as two sets.

    The original notebook's `trace`, walked without recursion (through the shared
    `topological_order`) so that deep graphs work.
    """
    check_node(root, "trace")
    nodes = topological_order(root)
    try:
        edges = {(child, node) for node in nodes for child in node._prev}
        return set(nodes), edges
    except TypeError as err:  # e.g. an array-like node whose == is elementwise, so unhashable
        raise TypeError(
            f"trace returns sets of nodes, but {type(root).__name__} nodes are not hashable "
            f"({err}); use micrograd.graph.topological_order(root) for a list of them "
            f"(draw_dot works either way)"
        ) from None


def draw_dot(
    root: Any,
    format: str = "svg",
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_NODES,
    summarize: bool = False,
) -> Drawing:
    """Draw the graph that computed `root`: a `graphviz.Digraph` (displays inline in Jupyter).

    format: Graphviz output format used when the drawing is rendered (svg, png, pdf, ...).
    rankdir: LR (left to right, the default), TB (top to bottom), RL or BT.
    max_nodes: refuse graphs with more nodes than this (None: no cap), unless `summarize`.
    summarize: draw only the `max_nodes` nodes nearest to `root`, with a '...' marker where
        inputs are left out, instead of raising.
    """
    check_node(root, "draw_dot")
    _check_rankdir(rankdir)
    check_max_nodes(max_nodes, "draw_dot")
    order = topological_order(root)
    total = len(order)
    hidden: dict[int, int] = {}
    if max_nodes is not None and len(order) > max_nodes:
        if not summarize:
            raise ValueError(
                f"draw_dot: the graph has {len(order):,} nodes, more than max_nodes={max_nodes}; "
                f"Graphviz would take very long to lay it out and the drawing would be unreadable. "
                f"Draw a sub-expression (for example one neuron's output), pass summarize=True "
                f"to draw the {max_nodes} nodes nearest the output, or raise the cap "
                f"(max_nodes={len(order)} or max_nodes=None)."
            )
        order, hidden = _nearest(root, order, max_nodes)
    drawing = build_digraph(order, format=format, rankdir=rankdir, hidden_inputs=hidden)
    if len(order) < total:
        drawing.attr(label=f"showing the {len(order):,} nodes nearest the output, of {total:,}")
    return drawing


def render(root: Any, path: str | os.PathLike, **draw_kwargs: Any) -> Path:
    """Draw `root`'s graph into `path`; the format follows the extension (.svg, .png, .pdf, .jpg,
    or .dot/.gv for the DOT text). The file is written atomically: on any error nothing is left
    behind. Keyword arguments go to `draw_dot` (rankdir, max_nodes, summarize)."""
    path = Path(path)
    fmt = _FORMATS_BY_SUFFIX.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"render: cannot tell the format of {str(path)!r} from its extension; use one of "
            f"{', '.join(sorted(_FORMATS_BY_SUFFIX))}"
        )
    if fmt == "dot-source":
        data = draw_dot(root, **draw_kwargs).source.encode("utf-8")
    else:
        data = draw_dot(root, format=fmt, **draw_kwargs).pipe(format=fmt)
    atomic_write(path, data)
    return path


def build_digraph(
    order: Sequence[Any],
    *,
    format: str = "svg",
    rankdir: str = "LR",
    grads: Sequence[Any] | None = None,
    current: int | None = None,
    updated: Iterable[int] = (),
    hidden_inputs: dict[int, int] | None = None,
) -> Drawing:
    """The drawing of the nodes `order` (listed in topological order), the shared core of
    `draw_dot` and the animation frames.

    Node `order[i]` is named `n{i}` and its op `n{i}_op`: names come from positions, never from
    `id()`, so the output is the same in every process. `grads[i]`, when given, is shown instead
    of `order[i].grad` (the animation's snapshots). `current` (an index) is highlighted with its
    op and the edges into it; the nodes at the indices `updated` (the inputs whose grads it has
    just set) are highlighted too. `hidden_inputs[i]` = number of inputs of node `i` that are
    not drawn (summarised graphs).
    """
    _check_rankdir(rankdir)
    updated = set(updated)
    hidden_inputs = hidden_inputs or {}
    index = {id(node): i for i, node in enumerate(order)}
    drawing = Drawing(format=format, graph_attr={"rankdir": rankdir})
    for i, node in enumerate(order):
        grad = node.grad if grads is None else grads[i]
        attrs = {"shape": "record"}
        if i == current:
            attrs.update(style="filled,bold", fillcolor="#ffd966", penwidth="2")
        elif i in updated:
            attrs.update(style="filled", fillcolor="#a4c2f4")
        drawing.node(f"n{i}", label=graphviz.nohtml(record_label(node, grad)), **attrs)
        op = getattr(node, "_op", "")
        if op:
            op_attrs = {}
            if i == current:
                op_attrs.update(style="filled,bold", fillcolor="#ffd966", penwidth="2")
            drawing.node(f"n{i}_op", label=graphviz.nohtml(escape(str(op))), **op_attrs)
            drawing.edge(f"n{i}_op", f"n{i}")
        into = f"n{i}_op" if op else f"n{i}"
        seen: set[int] = set()
        for child in node._prev:
            j = index.get(id(child))
            if j is None or j in seen:  # a left-out input, or the same input twice (`a * a`)
                continue
            seen.add(j)
            edge_attrs = {"color": "#cc0000", "penwidth": "2"} if i == current else {}
            drawing.edge(f"n{j}", into, **edge_attrs)
        if hidden_inputs.get(i):
            count = hidden_inputs[i]
            drawing.node(
                f"n{i}_more",
                label=f"... {count} more input{'s' if count != 1 else ''}",
                shape="plaintext",
            )
            drawing.edge(f"n{i}_more", into, style="dashed")
    return drawing


def record_label(node: Any, grad: Any = None) -> str:
    """The record text `{ label | data ... | grad ... }` for one node, escaped for Graphviz.

    A number is printed with `%.4f` as in the original; an array (a Tensor's data) as its shape and
    a short summary.
    """
    label = str(getattr(node, "label", "") or "")
    if not label.isascii():
        # Graphviz's record parser drops a space that follows a multi-byte character
        # ("λ → x" is drawn "λ→x"); a no-break space survives and looks the same.
        label = label.replace(" ", "\u00a0")
    label = escape(label)
    data = node.data
    shape = _array_shape(data)
    if shape is None:
        return f"{{ {label} | data {_number(data)} | grad {_number(grad)} }}"
    dtype = getattr(data, "dtype", "")
    return (
        f"{{ {label} | shape {escape(str(shape))} {escape(str(dtype))} "
        f"| data {escape(_summary(data))} | grad {escape(_summary(grad))} }}"
    )


# Characters with a meaning inside a Graphviz record label, and the backslash and quote that end
# or escape a DOT string. Each gets a backslash; newlines become Graphviz's line break `\n`.
_SPECIAL = set('{}|<>\\"')


def escape(text: str) -> str:
    """Escape `text` for a Graphviz (record) label: it is then drawn exactly as written."""
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            continue
        else:
            out.append(ch)
    return "".join(out)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (`micrograd.serialize.atomic_write`: a temporary file in
    the same folder, then a rename), so the file is complete or untouched. An error names `path`,
    not the temporary file."""
    from micrograd.serialize import atomic_write as write

    try:
        write(path, data)
    except OSError as err:
        # OSError(errno, ...) comes back as the matching subclass (FileNotFoundError, ...)
        raise OSError(err.errno, f"cannot write {path}: {err.strerror}") from None


# -- argument checks (shared with micrograd.animate) -------------------------------------------


def check_node(root: Any, who: str) -> None:
    """A TypeError naming what `root` is, unless it is a graph node (see micrograd/graph.py)."""
    if not (hasattr(root, "_prev") and hasattr(root, "data")):
        raise TypeError(
            f"{who}: expected a Value (or a Tensor), the output of a computation, "
            f"got {type(root).__name__}: {root!r:.60}"
        )


def check_max_nodes(max_nodes: Any, who: str) -> None:
    if max_nodes is not None and (
        isinstance(max_nodes, bool) or not isinstance(max_nodes, numbers.Integral) or max_nodes < 1
    ):
        raise ValueError(f"{who}: max_nodes must be a positive int or None, got {max_nodes!r}")


# -- helpers --------------------------------------------------------------------------------


def _check_rankdir(rankdir: str) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")


def _array_shape(data: Any) -> tuple | None:
    """The shape of an array with at least one dimension, None for a number (or a 0-d array)."""
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) == 0:
        return None
    return tuple(shape)


def _number(x: Any) -> str:
    if x is None:
        return "None"
    try:
        return "%.4f" % x
    except TypeError:  # not a number (user code may put anything in grad)
        return escape(str(x))


def _summary(x: Any) -> str:
    """A short text for an array: its values when there are at most 4, else mean/min/max."""
    if x is None:
        return "None"
    if _array_shape(x) is None:
        return _number(x)
    if x.size == 0:
        return "[]"
    if x.size <= 4:
        return "[" + ", ".join("%.4g" % v for v in x.ravel().tolist()) + "]"
    return "mean %.4g, min %.4g, max %.4g" % (x.mean(), x.min(), x.max())


def _nearest(root: Any, order: list, limit: int) -> tuple[list, dict[int, int]]:
    """The `limit` nodes closest to `root` (breadth first over `_prev`), in topological order,
    and, by their new positions, how many distinct inputs of each were left out."""
    kept = {id(root)}
    queue = deque([root])
    while queue and len(kept) < limit:
        node = queue.popleft()
        for child in node._prev:
            if id(child) not in kept and len(kept) < limit:
                kept.add(id(child))
                queue.append(child)
    shown = [node for node in order if id(node) in kept]
    hidden = {}
    for i, node in enumerate(shown):
        missing = {id(c) for c in node._prev if id(c) not in kept}
        if missing:
            hidden[i] = len(missing)
    return shown, hidden
