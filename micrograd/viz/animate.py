"""The backward pass, animated: one frame per node, in the order `backward()` visits them.

`backward_frames(root)` runs the real chain rule one node at a time, exactly as `Value.backward()`
does (interior grads reset to 0, leaf grads kept so they accumulate, the root's grad set to 1,
then each node's own `_backward()` in reverse topological order), and records after each node
which node ran and every grad at that moment. So the last frame's grads are the ones `backward()`
gives, and the graph is left in that state.

The exports show one fresh pass (leaf grads start at 0, whatever an earlier `backward()` left)
and put every grad back afterwards. `save_html(root, path)` writes one self-contained page (an
SVG per frame, a slider, prev/next/play buttons, no network access needed; `html_page` gives its
text); `save_gif(root, path)` writes an animated GIF. In each frame the node whose `_backward`
just ran is yellow, the edges into it red, and the inputs whose grads it has just set blue.

Read `micrograd/viz/__init__.py` for the drawing and `micrograd/graph.py` for the order.
"""

from __future__ import annotations

import html
import io
import os
import re
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from micrograd import viz
from micrograd._distribution import install_hint
from micrograd.graph import backward_order, topological_order

__all__ = [
    "DEFAULT_MAX_FRAMES",
    "Frame",
    "backward_frames",
    "html_page",
    "save_gif",
    "save_html",
]

# Every frame is a full Graphviz layout of the graph, so an animation costs (nodes x layout time);
# past about a hundred nodes it is slow to make and too dense to follow.
DEFAULT_MAX_FRAMES = 100

# An animation lays its graph out once per frame, so the layout-size cap (`viz.layout_size`) is
# lower than a single drawing's: a 50-factor `x*x*...*x` (2,352 bends) takes about 0.5 s a frame.
MAX_LAYOUT_SIZE = 2_500


@dataclass(frozen=True)
class Frame:
    """The state right after one node's `_backward()` ran.

    step: position in the backward pass (0 is the root).
    index: the node's position in topological order (`nodes[index]`; drawn as `n{index}`).
    inputs: positions of the distinct inputs whose grads this step has just set (none for a leaf).
    grads: every node's grad after this step, by topological position.
    nodes: all nodes in topological order (the same tuple in every frame).
    """

    step: int
    index: int
    inputs: tuple
    grads: tuple
    nodes: tuple

    @property
    def node(self) -> Any:
        """The node whose `_backward()` ran in this step."""
        return self.nodes[self.index]

    @property
    def updates(self) -> tuple:
        """`(input, its grad after this step)` for each input this step has just updated."""
        return tuple((self.nodes[j], self.grads[j]) for j in self.inputs)

    def caption(self) -> str:
        """A sentence or two describing this step, for the page and the GIF."""
        node, g = self.node, _short(self.grads[self.index])
        head = f"Step {self.step + 1}/{len(self.nodes)}: {_name(node)}"
        if not self.inputs:
            return f"{head} is a leaf (an input): nothing to pass back. Its grad is {g}."
        updates = ", ".join(
            f"grad of {_name(self.nodes[j])} = {_short(self.grads[j])}" for j in self.inputs
        )
        op = f" (op {node._op})" if getattr(node, "label", "") else ""
        return (
            f"{head}{op} has grad {g}. Chain rule: input.grad += local derivative * {g}, "
            f"so now {updates}."
        )


def backward_frames(root: Any, max_nodes: int | None = viz.DEFAULT_MAX_NODES) -> list[Frame]:
    """Run backward on `root` one node at a time; one `Frame` per node, in backward order.

    Afterwards the grads are what `root.backward()` would have left. Graphs with more than
    `max_nodes` nodes raise a ValueError (each frame keeps a copy of every grad).
    """
    viz.check_node(root, "backward_frames")
    viz.check_max_nodes(max_nodes, "backward_frames")
    visit = backward_order(root)
    viz.check_not_freed(visit, "backward_frames")
    if max_nodes is not None and len(visit) > max_nodes:
        raise ValueError(
            f"backward_frames: the graph has {len(visit):,} nodes, more than "
            f"max_nodes={max_nodes}; animate a smaller sub-expression or raise max_nodes"
        )
    nodes = tuple(reversed(visit))  # topological order: the positions used for drawing
    position = {id(node): i for i, node in enumerate(nodes)}
    # As Value.backward: interior grads are recomputed, leaf grads accumulate, the root gets 1.
    # Array engines start interior grads at None ("not reached yet"), as Tensor.backward does;
    # a non-scalar root is seeded with ones, as if backward ran on its sum.
    for node in nodes:
        if tuple(node._prev):
            node.grad = None if _is_array(node.data) else 0
    root.grad = _ones_like(root.data)
    frames = []
    for step, node in enumerate(visit):
        node._backward()
        inputs = tuple(dict.fromkeys(position[id(child)] for child in node._prev))
        grads = tuple(_snapshot(n.grad) for n in nodes)
        frames.append(Frame(step, position[id(node)], inputs, grads, nodes))
    return frames


def html_page(
    root: Any,
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_FRAMES,
    title: str = "micrograd: the backward pass, step by step",
    timeout: float | None = viz.DEFAULT_TIMEOUT,
) -> str:
    """The animation as the text of one self-contained HTML page (inline SVGs and script, no
    network access): one fresh backward pass from `root` (leaf grads start at 0), after which
    every grad is put back as it was. `timeout`: seconds Graphviz may take for all the frames
    together (None: no limit), then `viz.GraphvizTimeout`. In a notebook, show it in an iframe:
    `HTML(f'<div><iframe srcdoc="{html.escape(page)}" ...></iframe></div>')`."""
    return _html_page(root, rankdir, max_nodes, title, timeout, "html_page")


def _html_page(
    root: Any, rankdir: str, max_nodes: int | None, title: str, timeout: float | None, who: str
) -> str:
    if not isinstance(title, str):
        raise TypeError(f"{who}: title must be a str, got {type(title).__name__}")
    viz.check_timeout(timeout, who)
    frames = _frames(root, max_nodes, who)
    budget = _Budget(timeout, len(frames))
    figures = []
    for frame in frames:
        svg = budget.pipe(_frame_drawing(frame, rankdir, "svg"), "svg").decode("utf-8")
        svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: it is inlined
        # Graphviz numbers its SVG ids from scratch in every drawing; prefix them per frame so
        # that ids stay unique in the page.
        svg = re.sub(r'\bid="', f'id="f{frame.step}-', svg)
        figures.append(
            f'<figure class="frame" id="frame{frame.step}">\n'
            f"<figcaption>{html.escape(frame.caption())}</figcaption>\n{svg}</figure>"
        )
    return _PAGE.format(
        title=html.escape(title),
        last=len(frames) - 1,
        count=len(frames),
        figures="\n".join(figures),
        script=_SCRIPT,
        style=_STYLE,
    )


def save_html(
    root: Any,
    path: str | os.PathLike,
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_FRAMES,
    title: str = "micrograd: the backward pass, step by step",
    timeout: float | None = viz.DEFAULT_TIMEOUT,
) -> Path:
    """Write `html_page(root)` to `path` (atomically; nothing is written on error)."""
    page = _html_page(root, rankdir, max_nodes, title, timeout, "save_html")
    path = Path(path)
    viz.atomic_write(path, page.encode("utf-8"))
    return path


def save_gif(
    root: Any,
    path: str | os.PathLike,
    rankdir: str = "LR",
    max_nodes: int | None = DEFAULT_MAX_FRAMES,
    duration: int = 1200,
    timeout: float | None = viz.DEFAULT_TIMEOUT,
) -> Path:
    """Write the animation as a looping GIF, one frame per node, `duration` ms each (needs
    Pillow), atomically. Like `html_page`, it shows one fresh backward pass, leaves the grads
    as they were, and gives Graphviz `timeout` seconds for all the frames. Returns the path."""
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 1:
        raise ValueError(f"save_gif: duration must be a positive int (ms), got {duration!r}")
    viz.check_timeout(timeout, "save_gif")
    try:
        from PIL import Image
    except ImportError as err:  # pragma: no cover - only without the viz extra
        raise ImportError(f"save_gif needs Pillow: {install_hint('viz')}") from err
    _ADAPTIVE = getattr(Image, "Palette", Image).ADAPTIVE  # Pillow < 9.1 has no Palette enum
    frames = _frames(root, max_nodes, "save_gif")
    budget = _Budget(timeout, len(frames))
    images = []
    for frame in frames:
        drawing = _frame_drawing(frame, rankdir, "png")
        caption = textwrap.fill(frame.caption(), 90)  # a long label would widen the picture
        drawing.attr(label=viz.escape(caption), labelloc="t", fontsize="14")
        with Image.open(io.BytesIO(budget.pipe(drawing, "png"))) as im:
            images.append(im.convert("RGB"))
    # Grad texts change width from frame to frame, and so may the layout: put every frame on a
    # white canvas of the largest size, since a GIF has one size.
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    canvases = []
    for im in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, (0, 0))
        canvases.append(canvas.convert("P", palette=_ADAPTIVE))
    buffer = io.BytesIO()
    canvases[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=canvases[1:],
        duration=duration,
        loop=0,
        optimize=False,
    )
    path = Path(path)
    viz.atomic_write(path, buffer.getvalue())
    return path


# -- helpers --------------------------------------------------------------------------------


def _frames(root: Any, max_nodes: int | None, who: str) -> list[Frame]:
    """The frames of one fresh backward pass, for a page or a GIF, leaving every grad as it
    was: drawing should not change the graph, and leaf grads left by an earlier `backward()`
    would otherwise show up added into this pass's."""
    viz.check_node(root, who)
    viz.check_max_nodes(max_nodes, who)
    order = topological_order(root)
    viz.check_not_freed(order, who)
    if max_nodes is not None and len(order) > max_nodes:
        raise ValueError(
            f"{who}: the graph has {len(order):,} nodes, more than max_nodes={max_nodes}; "
            f"animate a smaller sub-expression or raise max_nodes (each node is one frame)"
        )
    if max_nodes is not None:
        viz.check_layout_size(order, who, MAX_LAYOUT_SIZE)
    saved = [node.grad for node in order]
    try:
        for node in order:
            if not tuple(node._prev):
                node.grad = None if _is_array(node.data) else 0
        return backward_frames(root, max_nodes=None)
    finally:
        for node, grad in zip(order, saved):
            node.grad = grad


class _Budget:
    """One time budget for all the frames of an animation: each Graphviz run gets what is left,
    and when the frames drawn so far show that the rest cannot fit, it stops at once rather
    than after the whole budget."""

    def __init__(self, timeout: float | None, frames: int) -> None:
        self.timeout = timeout
        self.frames = frames
        self.done = 0
        self.start = time.monotonic()

    def pipe(self, drawing: viz.Drawing, fmt: str) -> bytes:
        if self.timeout is None:
            return drawing.pipe(format=fmt, timeout=None)
        spent = time.monotonic() - self.start
        left = self.timeout - spent
        expected = spent / self.done * self.frames if self.done else 0.0
        if left <= 0 or expected > 2 * self.timeout:
            raise viz.GraphvizTimeout(
                f"Graphviz needed {spent:.1f} s for {self.done} of the {self.frames} frames, "
                f"so the animation would take about {max(expected, spent):.0f} s, more than "
                f"its time budget of {self.timeout:g} s; animate a smaller graph or give it "
                f"more time (timeout=)"
            )
        try:
            data = drawing.pipe(format=fmt, timeout=left)
        except viz.GraphvizTimeout:
            raise viz.GraphvizTimeout(
                f"Graphviz used up the animation's time budget of {self.timeout:g} s after "
                f"{self.done} of the {self.frames} frames; animate a smaller graph or give it "
                f"more time (timeout=)"
            ) from None
        self.done += 1
        return data


def _frame_drawing(frame: Frame, rankdir: str, fmt: str) -> viz.Drawing:
    return viz.build_digraph(
        frame.nodes,
        format=fmt,
        rankdir=rankdir,
        grads=frame.grads,
        current=frame.index,
        updated=frame.inputs,
    )


def _name(node: Any) -> str:
    """'label' when the node has one, else what the drawing shows of it: its op and data."""
    label = getattr(node, "label", "")
    if label:
        return f"'{label}'"
    op = getattr(node, "_op", "")
    kind = f"the {op} node" if op else "the leaf"
    return f"{kind} (data {_short(node.data)})"


def _short(x: Any) -> str:
    shape = getattr(x, "shape", None)
    if shape:  # an array: the same summary as the drawing
        return viz._summary(x)
    try:
        return "%.4f" % x
    except TypeError:
        return str(x)


def _is_array(data: Any) -> bool:
    """An array with at least one dimension; numbers, numpy scalars and 0-d arrays count as
    numbers (a Value may hold a numpy scalar; a Tensor's sum holds one)."""
    return bool(getattr(data, "shape", None))


def _ones_like(data: Any) -> Any:
    if _is_array(data):
        import numpy as np

        return np.ones_like(data)
    return 1


def _snapshot(grad: Any) -> Any:
    """A copy of an array grad (engines update arrays in place); numbers are immutable."""
    copy = getattr(grad, "copy", None)
    return copy() if callable(copy) and getattr(grad, "shape", None) else grad


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
.controls { margin: 0.8em 0; display: flex; gap: 0.5em; align-items: center; }
.controls input[type=range] { flex: 1; max-width: 40em; }
figcaption { font-size: 1.05em; margin: 0.5em 0; min-height: 2.6em; }
.legend span { padding: 0 0.4em; border-radius: 3px; }
svg { max-width: 100%; height: auto; }
"""

_SCRIPT = """
(function () {
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var counter = document.getElementById('counter');
  var play = document.getElementById('play');
  var timer = null;
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) { frames[i].hidden = (i !== k); }
    slider.value = k;
    counter.textContent = (k + 1) + ' / ' + frames.length;
  }
  function current() { return parseInt(slider.value, 10); }
  function stop() { if (timer) { clearInterval(timer); timer = null; play.textContent = 'play'; } }
  function toggle() {
    if (timer) { stop(); return; }
    if (current() === frames.length - 1) { show(0); }
    play.textContent = 'pause';
    timer = setInterval(function () {
      if (current() >= frames.length - 1) { stop(); } else { show(current() + 1); }
    }, 1200);
  }
  document.getElementById('prev').onclick = function () { stop(); show(current() - 1); };
  document.getElementById('next').onclick = function () { stop(); show(current() + 1); };
  play.onclick = toggle;
  slider.oninput = function () { stop(); show(current()); };
  document.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowLeft') { stop(); show(current() - 1); }
    else if (e.key === 'ArrowRight') { stop(); show(current() + 1); }
    else if (e.key === ' ') { e.preventDefault(); toggle(); }
  });
  show(0);
})();
"""

# Without JavaScript every frame simply shows, one under the other.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p class="legend">{count} steps, one per node, in the order <code>backward()</code> visits them.
<span style="background:#ffd966">yellow</span>: the node whose <code>_backward()</code> runs;
<span style="background:#a4c2f4">blue</span>: the inputs whose grad it has just set;
red edges: where its gradient flows. Keys: left/right arrows, space to play.</p>
<div class="controls">
<button id="prev" type="button">prev</button>
<button id="play" type="button">play</button>
<button id="next" type="button">next</button>
<input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
<span id="counter"></span>
</div>
{figures}
<script>{script}</script>
</body>
</html>
"""
