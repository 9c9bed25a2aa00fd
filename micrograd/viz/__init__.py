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
  Graphviz to lay out 70,000 nodes for an hour, and so does a small graph of a shape that
  Graphviz lays out in minutes (one node feeding many others far apart: `layout_size`);
* every run of Graphviz has a time budget (`timeout`, default `DEFAULT_TIMEOUT` seconds) and
  raises `GraphvizTimeout` when it runs out; a failing `dot` raises `GraphvizError`, one line;
* a missing `dot` program raises `GraphvizNotFound`, saying how to install it; the DOT text
  (`draw_dot(root).source`) needs no `dot`.

The animated backward pass is `micrograd/viz/animate.py`, beside this module (read it next: it
reuses `build_digraph` to draw each step of the backward pass).
"""

from __future__ import annotations

import numbers
import os
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micrograd._distribution import install_hint

try:
    import graphviz
except ImportError as err:  # pragma: no cover - exercised only without the viz extra
    raise ImportError(
        "micrograd.viz draws graphs with the 'graphviz' Python package: "
        f"{install_hint('viz')} (the Graphviz 'dot' program is needed too to render)"
    ) from err

from micrograd.graph import topological_order

__all__ = [
    "DEFAULT_MAX_NODES",
    "DEFAULT_TIMEOUT",
    "MAX_LAYOUT_SIZE",
    "RANKDIRS",
    "Drawing",
    "GraphvizError",
    "GraphvizNotFound",
    "GraphvizTimeout",
    "LayoutSize",
    "build_digraph",
    "draw_dot",
    "layout_size",
    "render",
    "trace",
]

# Graphviz needs seconds for a few hundred records and much longer beyond a few thousand; a
# drawing of more than this many Values is unreadable anyway.
DEFAULT_MAX_NODES = 500

RANKDIRS = ("LR", "TB", "RL", "BT")

# Seconds one run of Graphviz may take before it is stopped (`timeout=None`: no limit).
DEFAULT_TIMEOUT = 60.0

# Graphviz's `dot` lays out nodes in ranks and turns an edge that spans k ranks into a chain of
# k - 1 invisible nodes; its cost grows faster than linearly in those. One node feeding many
# others far apart (`x*x*...*x`: x feeds every product) makes that count quadratic in the size of
# the graph: 80 factors, 159 nodes, ~6,000 of them, took 765 s. Measured on a 2-core VM (Graphviz
# 2.43): 800 bends 0.3 s, 2,400 bends 2-10 s; with `nslimit` (below) 6,000 bends 1-2 s, 25,000
# bends 10 s. So: plain Graphviz up to FAST_LAYOUT_SIZE, a bounded layout up to MAX_LAYOUT_SIZE,
# and beyond that a refusal with advice (`layout_size`).
FAST_LAYOUT_SIZE = 1_000
MAX_LAYOUT_SIZE = 12_000
# Graph attributes for the bounded layout: network simplex (node positions) stops after
# 0.1 x (number of nodes) iterations instead of running to the optimum; ranks stay exact.
_BOUNDED_LAYOUT = {"nslimit": "0.1", "nslimit1": "1"}

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


class GraphvizTimeout(TimeoutError):
    """Graphviz ran longer than its time budget (`timeout=`) and was stopped."""


class GraphvizError(RuntimeError):
    """Graphviz's `dot` failed; the message is its own first line of explanation."""


class Drawing(graphviz.Digraph):
    """A `graphviz.Digraph` whose rendering runs `dot` with a time budget.

    `timeout` (seconds, None for no limit) bounds every rendering: `pipe`, `render`, and the
    inline display in Jupyter, which goes through `pipe`. Running out raises `GraphvizTimeout`;
    a missing `dot` raises `GraphvizNotFound` (with install instructions) and a failing one
    `GraphvizError`, each with a one-line message, instead of graphviz's bare exceptions.
    """

    timeout: float | None = DEFAULT_TIMEOUT

    def pipe(
        self,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        *,
        engine: str | None = None,
        encoding: str | None = None,
        timeout: float | None = None,
    ) -> bytes | str:
        """The drawing rendered in `format` (bytes; str when `encoding` is given), as graphviz's
        `pipe`, within `timeout` seconds (default: the drawing's `timeout`)."""
        fmt = ":".join(part for part in (format or self.format, renderer, formatter) if part)
        command = ["dot", f"-K{engine or self.engine}", f"-T{fmt}"]
        if neato_no_op:
            command.append(f"-n{int(neato_no_op)}")
        budget = self.timeout if timeout is None else timeout
        try:
            proc = subprocess.run(
                command,
                input=self.source.encode(self.encoding),
                capture_output=True,
                timeout=budget,
                check=False,
            )
        except FileNotFoundError:
            raise GraphvizNotFound() from None
        except subprocess.TimeoutExpired:
            raise GraphvizTimeout(
                f"Graphviz took longer than its time budget of {budget:g} s to draw this graph "
                f"and was stopped; draw a smaller graph or give it more time (timeout=)"
            ) from None
        if proc.returncode != 0:
            reason = " ".join(proc.stderr.decode("utf-8", "replace").split()) or "no message"
            raise GraphvizError(
                f"Graphviz's dot failed (exit status {proc.returncode}): {reason[:300]}"
            )
        if proc.stderr and not quiet:  # warnings, shown as graphviz shows them
            sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
        return proc.stdout.decode(encoding) if encoding else proc.stdout

    def render(
        self,
        filename: str | os.PathLike | None = None,
        directory: str | os.PathLike | None = None,
        view: bool = False,
        cleanup: bool = False,
        format: str | None = None,
        renderer: str | None = None,
        formatter: str | None = None,
        neato_no_op: bool | int | None = None,
        quiet: bool = False,
        quiet_view: bool = False,
        *,
        outfile: str | os.PathLike | None = None,
        engine: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Save the DOT source and render it next to it, as graphviz's `render` (same arguments,
        same file names: `graph.gv` and `graph.gv.svg`, or `outfile`), within `timeout`
        seconds. The rendered file is written atomically; returns its path."""
        if outfile is not None:
            outfile = Path(outfile)
            if format is None and outfile.suffix:
                format = outfile.suffix[1:].lower()
            if directory is not None:
                outfile = Path(directory, outfile)
            if filename is None:
                filename = outfile.with_suffix(".gv").name
                directory = directory if directory is not None else outfile.parent
        fmt = format or self.format
        data = self.pipe(
            fmt, renderer, formatter, neato_no_op, quiet, engine=engine, timeout=timeout
        )  # before writing anything: nothing left on failure
        source = self.save(filename, directory=directory)
        if outfile is None:
            suffix = ".".join(part for part in (formatter, renderer, fmt) if part)
            outfile = Path(f"{source}.{suffix}")
        atomic_write(outfile, data)
        if cleanup:
            os.remove(source)
        if view or quiet_view:
            graphviz.view(outfile, quiet=quiet_view)
        return os.fspath(outfile)


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
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Drawing:
    """Draw the graph that computed `root`: a `graphviz.Digraph` (displays inline in Jupyter).

    format: Graphviz output format used when the drawing is rendered (svg, png, pdf, ...).
    rankdir: LR (left to right, the default), TB (top to bottom), RL or BT.
    max_nodes: refuse graphs with more nodes than this, or whose layout would take Graphviz
        minutes (`layout_size`), unless `summarize`; None: no cap at all.
    summarize: draw only the `max_nodes` nodes nearest to `root`, with a '...' marker where
        inputs are left out, instead of raising.
    timeout: seconds each rendering of the drawing may take (None: no limit); then
        `GraphvizTimeout`.

    A Tensor graph must be drawn before `backward()` frees it, or after
    `backward(retain_graph=True)`: a freed graph raises a RuntimeError saying so.
    """
    check_node(root, "draw_dot")
    _check_rankdir(rankdir)
    check_max_nodes(max_nodes, "draw_dot")
    check_timeout(timeout, "draw_dot")
    order = topological_order(root)
    check_not_freed(order, "draw_dot")
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
    if max_nodes is not None:
        check_layout_size(order, "draw_dot")
    drawing = build_digraph(
        order, format=format, rankdir=rankdir, hidden_inputs=hidden, timeout=timeout
    )
    if len(order) < total:
        drawing.attr(label=f"showing the {len(order):,} nodes nearest the output, of {total:,}")
    return drawing


def render(root: Any, path: str | os.PathLike, **draw_kwargs: Any) -> Path:
    """Draw `root`'s graph into `path`; the format follows the extension (.svg, .png, .pdf, .jpg,
    or .dot/.gv for the DOT text). The file is written atomically: on any error nothing is left
    behind. Keyword arguments go to `draw_dot` (rankdir, max_nodes, summarize, timeout)."""
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
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Drawing:
    """The drawing of the nodes `order` (listed in topological order), the shared core of
    `draw_dot` and the animation frames.

    Node `order[i]` is named `n{i}` and its op `n{i}_op`: names come from positions, never from
    `id()`, so the output is the same in every process. `grads[i]`, when given, is shown instead
    of `order[i].grad` (the animation's snapshots). `current` (an index) is highlighted with its
    op and the edges into it; the nodes at the indices `updated` (the inputs whose grads it has
    just set) are highlighted too. `hidden_inputs[i]` = number of inputs of node `i` that are
    not drawn (summarised graphs). `timeout` bounds each rendering (`Drawing`). A graph
    whose layout is slow for Graphviz (`layout_size` above FAST_LAYOUT_SIZE) gets attributes that
    bound the layout's work.
    """
    _check_rankdir(rankdir)
    updated = set(updated)
    hidden_inputs = hidden_inputs or {}
    index = {id(node): i for i, node in enumerate(order)}
    graph_attr = {"rankdir": rankdir}
    if layout_size(order).bends > FAST_LAYOUT_SIZE:
        graph_attr.update(_BOUNDED_LAYOUT)
    drawing = Drawing(format=format, graph_attr=graph_attr)
    drawing.timeout = timeout
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
            drawing.node(f"n{i}_op", label=graphviz.nohtml(escape(clip(str(op)))), **op_attrs)
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
    label = clip(str(getattr(node, "label", "") or ""))
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


# Graphviz refuses a quoted string longer than 16,384 bytes; escaping can grow a character to
# seven, and a longer label could not be read in a drawing anyway.
MAX_LABEL = 1_000


def clip(text: str) -> str:
    """`text`, cut to MAX_LABEL characters (saying how long it was)."""
    if len(text) <= MAX_LABEL:
        return text
    return f"{text[:MAX_LABEL]}... ({len(text):,} characters)"


# Characters with a meaning inside a Graphviz record label, and the backslash and quote that end
# or escape a DOT string. Each gets a backslash; newlines become Graphviz's line break `\n`.
_SPECIAL = set('{}|<>\\"')


def escape(text: str) -> str:
    """Escape `text` for a Graphviz (record) label: it is then drawn exactly as written.

    Control characters (a NUL byte makes `dot` fail; most others are dropped or garble the
    layout) and lone surrogates (which cannot be encoded) are drawn as their Python escapes,
    `\\x00`, `\\t`, `\\ud800`.
    """
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            continue
        elif ch < " " or "\x7f" <= ch <= "\x9f" or "\ud800" <= ch <= "\udfff":
            out.append("\\" + repr(ch)[1:-1])  # repr gives \x00, \t, \ud800; its \ escaped
        else:
            out.append(ch)
    return "".join(out)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (`micrograd._files.atomic_write`: a temporary file in
    the same folder, then a rename), so the file is complete or untouched. An error names `path`,
    not the temporary file."""
    from micrograd._files import atomic_write as write

    write(path, data)


@dataclass(frozen=True)
class LayoutSize:
    """How much work a graph's layout is for Graphviz (see `layout_size`).

    bends: the invisible nodes Graphviz adds, one per rank an edge crosses beyond the first.
    node: the node whose outgoing edges add the most of them (None when `bends` is 0).
    fan_out: how many drawn nodes `node` feeds; node_bends: the bends of its edges.
    """

    bends: int
    node: Any
    fan_out: int
    node_bends: int


def layout_size(order: Sequence[Any]) -> LayoutSize:
    """Estimate the layout work of drawing the nodes `order` (in topological order).

    Graphviz's `dot` puts nodes in ranks (here: columns, with rankdir LR) and draws an edge that
    spans k ranks through k - 1 invisible nodes, which its positioning step then has to place;
    that step is what takes minutes when one node feeds many others far apart. The ranks are
    estimated two ways, each node as early as its inputs allow (leaves pulled next to their first
    use) and as late as its uses allow, and the smaller count is taken: Graphviz's own ranking
    (an optimum) needs at most that many.
    """
    index = {id(node): i for i, node in enumerate(order)}
    inputs = []  # per node: positions of its distinct drawn inputs
    has_op = []
    for node in order:
        seen = dict.fromkeys(index[id(c)] for c in node._prev if id(c) in index)
        inputs.append(list(seen))
        has_op.append(bool(getattr(node, "_op", "")))
    n = len(order)
    # As early as possible: rank of a node's record; its op node sits one rank before it.
    early = [0] * n
    for i in range(n):
        if inputs[i]:
            early[i] = max(early[j] for j in inputs[i]) + 1 + has_op[i]
    first_use = [None] * n  # rank of the earliest node (or op) a leaf feeds
    for k in range(n):
        for j in inputs[k]:
            if not inputs[j]:
                into = early[k] - has_op[k]
                first_use[j] = into if first_use[j] is None else min(first_use[j], into)
    for i in range(n):  # a leaf sits just before its first use
        if first_use[i] is not None:
            early[i] = first_use[i] - 1
    # As late as possible: distance from the output, measured back.
    late = [0] * n
    for i in range(n - 1, -1, -1):
        for j in inputs[i]:
            late[j] = max(late[j], late[i] + has_op[i] + 1)
    per_node_early = [0] * n
    per_node_late = [0] * n
    fan_out = [0] * n
    for i in range(n):
        into_early = early[i] - has_op[i]
        into_late = late[i] + has_op[i]
        for j in inputs[i]:
            per_node_early[j] += into_early - early[j] - 1
            per_node_late[j] += late[j] - into_late - 1
            fan_out[j] += 1
    bends = min(sum(per_node_early), sum(per_node_late))
    if bends <= 0:
        return LayoutSize(0, None, 0, 0)
    # Blame the node whose uses lie far from it when everything is drawn as late as possible:
    # that is the one feeding many others spread across the graph.
    worst = max(range(n), key=per_node_late.__getitem__)
    return LayoutSize(bends, order[worst], fan_out[worst], per_node_late[worst])


def check_layout_size(order: Sequence[Any], who: str, limit: int = MAX_LAYOUT_SIZE) -> None:
    """A ValueError with advice when Graphviz would take minutes to lay out `order` (more than
    `limit` bends; an animation, which lays the graph out once per frame, passes less)."""
    size = layout_size(order)
    if size.bends > limit:
        raise ValueError(
            f"{who}: Graphviz would take minutes to lay out this graph of {len(order):,} "
            f"nodes: {describe(size.node)} feeds {size.fan_out} operations spread across it, "
            f"and each of those edges is drawn through every level it crosses ({size.bends:,} "
            f"bends, more than {limit:,}). Draw a sub-expression, write a repeated "
            f"product as a power (x**80 rather than x*x*...*x), or pass max_nodes=None to try "
            f"anyway (timeout= bounds the wait)."
        )


def check_not_freed(order: Sequence[Any], who: str) -> None:
    """A RuntimeError when part of the graph was freed by `backward()` (Tensor graphs): the
    drawing would silently show a stub where the computation was."""
    if any(getattr(node, "_freed", False) for node in order):
        raise RuntimeError(
            f"{who}: this graph was freed by backward(), which drops each operation's inputs "
            f"as it goes, so only a stub is left to draw. Draw it before backward(), or call "
            f"backward(retain_graph=True) to keep the graph for drawing."
        )


def describe(node: Any) -> str:
    """How a message names a node: its label, else its op and data."""
    label = getattr(node, "label", "")
    if label:
        return f"{str(label)[:40]!r}"
    op = getattr(node, "_op", "")
    data = _array_shape(getattr(node, "data", None))
    shown = f"shape {data}" if data else f"data {_number(getattr(node, 'data', None))}"
    return f"the {op!r} node ({shown})" if op else f"an unlabelled leaf ({shown})"


# -- argument checks (shared with micrograd.viz.animate) ---------------------------------------


def check_node(root: Any, who: str) -> None:
    """A TypeError naming what `root` is, unless it is a graph node (see micrograd/graph.py)."""
    if not (hasattr(root, "_prev") and hasattr(root, "data")):
        raise TypeError(
            f"{who}: expected a Value (or a Tensor), the output of a computation, "
            f"got {type(root).__name__}: {root!r:.60}"
        )


def check_timeout(timeout: Any, who: str) -> None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0
    ):
        raise ValueError(
            f"{who}: timeout must be a positive number of seconds or None, got {timeout!r}"
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
    except OverflowError:  # an int too large for a float: Value(10**400)
        from decimal import Decimal

        return format(Decimal(x), ".4e")
    except TypeError:  # not a number (user code may put anything in grad)
        return escape(clip(str(x)))


def _summary(x: Any) -> str:
    """A short text for an array: its values when there are at most 4, else mean/min/max."""
    if x is None:
        return "None"
    to_numpy = getattr(x, "numpy", None)
    if callable(to_numpy):  # a Tensor (a tensor's `.grad` is one, as in PyTorch): its array
        x = to_numpy()
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
