"""Tests for micrograd.viz: trace, draw_dot, render.

Rendered SVGs are parsed (xml.etree) and checked for the labels, data and grads a hand
computation gives; the record structure and the edges are checked against the original
notebook's recursive `trace`, written out again here as the reference.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

graphviz = pytest.importorskip("graphviz", reason="needs the graphviz package (the viz extra)")

from micrograd import Value, viz
from micrograd.graph import topological_order

SVG = "{http://www.w3.org/2000/svg}"


def original_trace(root):
    """The original notebook's `trace`, verbatim apart from the name: the reference."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def lecture_graph():
    """The lecture's first expression: L = (a*b + c) * f, with labels."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    return L, {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": L}


def svg_nodes(svg: bytes) -> dict:
    """{graphviz node name: [its text lines]} and the edge titles, from a rendered SVG."""
    root = ET.fromstring(svg)
    nodes, edges = {}, []
    for g in root.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        if g.get("class") == "node":
            nodes[title.text] = [t.text or "" for t in g.iter(f"{SVG}text")]
        elif g.get("class") == "edge":
            edges.append(title.text)
    return nodes, edges


# -- trace ----------------------------------------------------------------------------------


def test_trace_matches_the_original_notebook():
    L, _ = lecture_graph()
    x = Value(3.0, label="x")
    y = x * x + x  # a node used twice by one op and again by another
    root = L * y
    assert viz.trace(root) == original_trace(root)


def test_trace_handles_deep_graphs_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y + 1
    nodes, edges = viz.trace(y)
    assert len(nodes) == 10001  # y, 5000 sums, 5000 constants... and x
    assert len(edges) == 10000


# -- draw_dot: content ----------------------------------------------------------------------


def test_drawing_shows_labels_data_and_grads():
    L, _v = lecture_graph()
    L.backward()
    drawing = viz.draw_dot(L)
    assert isinstance(drawing, graphviz.Digraph)
    nodes, _edges = svg_nodes(drawing.pipe(format="svg"))
    records = {texts[0]: texts[1:] for name, texts in nodes.items() if "_op" not in name}
    # By hand: e = -6, d = 4, L = -8; dL/dd = f = -2, dL/df = d = 4, dL/de = dL/dc = -2,
    # dL/da = -2 * b = 6, dL/db = -2 * a = -4.
    assert records == {
        "a": ["data 2.0000", "grad 6.0000"],
        "b": ["data -3.0000", "grad -4.0000"],
        "c": ["data 10.0000", "grad -2.0000"],
        "e": ["data -6.0000", "grad -2.0000"],
        "d": ["data 4.0000", "grad -2.0000"],
        "f": ["data -2.0000", "grad 4.0000"],
        "L": ["data -8.0000", "grad 1.0000"],
    }
    ops = sorted(texts[0] for name, texts in nodes.items() if name.endswith("_op"))
    assert ops == ["*", "*", "+"]


def test_nodes_are_numbered_in_topological_order_and_edges_follow_the_data():
    L, _ = lecture_graph()
    drawing = viz.draw_dot(L)
    nodes, edges = svg_nodes(drawing.pipe(format="svg"))
    order = topological_order(L)
    name = {id(n): f"n{i}" for i, n in enumerate(order)}
    for i, node in enumerate(order):
        assert nodes[f"n{i}"][0] == node.label
    _, trace_edges = original_trace(L)
    expected = {f"{name[id(c)]}->{name[id(p)]}_op" for c, p in trace_edges}
    expected |= {f"{name[id(n)]}_op->{name[id(n)]}" for n in order if n._op}
    assert sorted(edges) == sorted(expected)


def test_a_node_used_twice_by_one_op_gets_one_edge_as_in_the_original():
    x = Value(3.0, label="x")
    y = x * x
    source = viz.draw_dot(y).source
    assert source.count("n0 -> n1_op") == 1


def test_unlabelled_nodes_and_integer_data_draw():
    y = Value(2) * 3  # ints stay ints in the engine; %.4f prints them as floats
    nodes, _ = svg_nodes(viz.draw_dot(y).pipe(format="svg"))
    assert sorted(t[1] for n, t in nodes.items() if not n.endswith("_op")) == [
        "data 2.0000",
        "data 3.0000",
        "data 6.0000",
    ]


def test_lecture_style_user_defined_op_draws():
    # The lecture defines ops outside the class: Value(t, (self,), 'tanh') with its own closure.
    x = Value(0.5, label="x")

    def my_square(v):
        out = Value(v.data**2, (v,), "sq")

        def _backward():
            v.grad += 2 * v.data * out.grad

        out._backward = _backward
        return out

    y = my_square(x)
    y.label = "y"
    y.backward()
    nodes, edges = svg_nodes(viz.draw_dot(y).pipe(format="svg"))
    assert nodes["n0"] == ["x", "data 0.5000", "grad 1.0000"]
    assert nodes["n1_op"] == ["sq"]
    assert sorted(edges) == ["n0->n1_op", "n1_op->n1"]


def test_value_draw_dot_method_is_the_same_drawing():
    L, _ = lecture_graph()
    assert L.draw_dot(rankdir="TB").source == viz.draw_dot(L, rankdir="TB").source
    assert "rankdir=TB" in viz.draw_dot(L, rankdir="TB").source


def test_bad_rankdir_is_a_value_error():
    with pytest.raises(ValueError, match="rankdir must be one of LR, TB, RL, BT, got 'XY'"):
        viz.draw_dot(Value(1.0), rankdir="XY")


def test_jupyter_display_gives_svg():
    L, _ = lecture_graph()
    bundle = viz.draw_dot(L)._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    nodes, _ = svg_nodes(svg.encode("utf-8"))
    assert ["L", "data -8.0000", "grad 0.0000"] in nodes.values()


# -- escaping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    ["{x}", "a|b", "<in>", 'say "hi"', "back\\slash", "trailing\\", "<<b>html</b>>", '{|<>}\\"'],
)
def test_record_special_characters_in_labels_are_drawn_verbatim(label):
    x = Value(1.5, label=label)
    y = x.relu()
    y.label = "y"
    svg = viz.draw_dot(y).pipe(format="svg")
    nodes, _ = svg_nodes(svg)
    assert nodes["n0"] == [label, "data 1.5000", "grad 0.0000"]  # still three fields


def test_special_characters_in_ops_are_drawn_verbatim():
    x = Value(1.0, label="x")
    y = Value(2.0, (x,), "<{op|x}>")
    nodes, _ = svg_nodes(viz.draw_dot(y).pipe(format="svg"))
    assert nodes["n1_op"] == ["<{op|x}>"]


def test_newline_in_a_label_is_a_line_break_not_a_broken_record():
    x = Value(1.0, label="two\nlines")
    nodes, _ = svg_nodes(viz.draw_dot(x).pipe(format="svg"))
    assert nodes["n0"] == ["two", "lines", "data 1.0000", "grad 0.0000"]


# -- determinism ----------------------------------------------------------------------------

_BUILD = textwrap.dedent(
    """
    from micrograd import Value
    def build():
        xs = [Value(0.1 * i, label=f"x{i}") for i in range(4)]
        ws = [Value(-0.3 + 0.2 * i, label=f"w{i}") for i in range(4)]
        out = sum((w * x for w, x in zip(ws, xs)), Value(0.5, label="b")).tanh()
        out.label = "out"
        out.backward()
        return out
    """
)


def _build():
    scope: dict = {}
    exec(_BUILD, scope)
    return scope["build"]()


def test_same_graph_gives_byte_identical_dot_and_svg_across_runs_and_processes():
    first, second = _build(), _build()
    assert viz.draw_dot(first).source == viz.draw_dot(second).source
    svg = viz.draw_dot(first).pipe(format="svg")
    assert svg == viz.draw_dot(second).pipe(format="svg")
    # A fresh interpreter: different memory addresses, different hash seeds.
    code = _BUILD + "\nimport sys\nfrom micrograd import viz\n"
    code += "sys.stdout.buffer.write(viz.draw_dot(build()).pipe(format='svg'))\n"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    assert out.stdout == svg
    assert "id(" not in viz.draw_dot(first).source
    for node in topological_order(first):
        assert str(id(node)) not in viz.draw_dot(first).source


# -- big graphs -----------------------------------------------------------------------------


def _mlp_like_loss(n_terms: int) -> Value:
    """A loss with about 4 * n_terms nodes, shaped like a big neuron's weighted sum."""
    total = Value(0.0)
    for i in range(n_terms):
        total = total + Value(0.01 * i) * Value(1.0)
    return total


def test_a_huge_graph_is_refused_with_a_clear_message():
    loss = _mlp_like_loss(17_500)  # 70,001 nodes, the size of the demo MLP's loss
    count = len(topological_order(loss))
    assert count == 70_001
    with pytest.raises(ValueError) as info:
        viz.draw_dot(loss)
    message = str(info.value)
    assert "70,001 nodes" in message
    assert "max_nodes=500" in message
    assert "summarize=True" in message
    assert "sub-expression" in message


def test_the_cap_can_be_raised():
    loss = _mlp_like_loss(200)  # 801 nodes
    with pytest.raises(ValueError, match="801 nodes"):
        viz.draw_dot(loss)
    assert viz.draw_dot(loss, max_nodes=None).source.count("shape=record") == 801
    assert viz.draw_dot(loss, max_nodes=801).source.count("shape=record") == 801


def test_summarize_draws_the_nodes_nearest_the_output():
    loss = _mlp_like_loss(17_500)
    drawing = viz.draw_dot(loss, max_nodes=40, summarize=True)
    nodes, _edges = svg_nodes(drawing.pipe(format="svg"))
    records = [n for n in nodes if not n.endswith(("_op", "_more"))]
    assert len(records) == 40
    markers = [texts for n, texts in nodes.items() if n.endswith("_more")]
    assert markers and all(t[0].startswith("... ") for t in markers)
    # The output itself is drawn, with its true value.
    assert [f"data {loss.data:.4f}"] == [t[1] for t in nodes.values() if len(t) == 3][-1:]
    assert "showing the 40 nodes nearest the output, of 70,001" in drawing.source


# -- other engines: anything with _prev/_op/label/data/grad ---------------------------------


class ArrayNode:
    """A minimal node of the graph protocol holding numpy arrays, like the tensor engine's."""

    def __init__(self, data, prev=(), op="", label=""):
        np = pytest.importorskip("numpy", reason="array nodes hold numpy arrays")
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._prev = tuple(prev)
        self._op = op
        self.label = label


def test_array_nodes_show_shape_and_a_summary():
    x = ArrayNode([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], label="x")
    w = ArrayNode([0.5, -0.5], label="w")
    y = ArrayNode([7.0, 8.0], (x, w), "matmul", "y")
    y.grad = y.data * 0 + [1.0, 2.0]
    nodes, edges = svg_nodes(viz.draw_dot(y).pipe(format="svg"))
    assert nodes["n0"] == [
        "x",
        "shape (2, 3) float64",
        "data mean 3.5, min 1, max 6",
        "grad mean 0, min 0, max 0",
    ]
    assert nodes["n1"] == ["w", "shape (2,) float64", "data [0.5, -0.5]", "grad [0, 0]"]
    assert nodes["n2"] == ["y", "shape (2,) float64", "data [7, 8]", "grad [1, 2]"]
    assert sorted(edges) == ["n0->n2_op", "n1->n2_op", "n2_op->n2"]


def test_real_tensor_engine_draws_if_present():
    np = pytest.importorskip("numpy", reason="the tensor engine needs numpy")
    tensor = pytest.importorskip("micrograd.tensor")
    Tensor = getattr(tensor, "Tensor", None)
    if Tensor is None:
        pytest.skip("micrograd.tensor has no Tensor yet")
    a = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    loss = (a * a).sum()
    nodes, _ = svg_nodes(viz.draw_dot(loss).pipe(format="svg"))
    texts = [t for texts in nodes.values() for t in texts]
    assert "shape (2, 2) float64" in texts
    assert "data 30.0000" in texts  # 1 + 4 + 9 + 16: the 0-d result prints as a number


# -- rendering to files; missing dot --------------------------------------------------------


def test_render_writes_the_format_of_the_extension(tmp_path):
    L, _ = lecture_graph()
    L.backward()
    svg = viz.render(L, tmp_path / "g.svg")
    nodes, _ = svg_nodes(svg.read_bytes())
    assert ["a", "data 2.0000", "grad 6.0000"] in nodes.values()
    assert viz.render(L, tmp_path / "g.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert viz.render(L, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    assert viz.render(L, tmp_path / "g.dot").read_text() == viz.draw_dot(L).source
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "g.pdf", "g.png", "g.svg"]


def test_render_refuses_an_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the format of .*g\.txt.*\.svg"):
        viz.render(Value(1.0), tmp_path / "g.txt")
    assert list(tmp_path.iterdir()) == []


def test_render_into_a_missing_folder_is_an_oserror_naming_the_path(tmp_path):
    with pytest.raises(OSError, match="cannot write .*nowhere.*g.svg"):
        viz.render(Value(1.0), tmp_path / "nowhere" / "g.svg")


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which Graphviz's `dot` cannot be found."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def test_missing_dot_raises_the_documented_error_and_source_still_works(no_dot, tmp_path):
    L, _ = lecture_graph()
    drawing = viz.draw_dot(L)
    assert drawing.source.startswith("digraph {")  # DOT text needs no `dot`
    with pytest.raises(viz.GraphvizNotFound) as info:
        drawing.pipe(format="svg")
    message = str(info.value)
    for hint in (
        "apt-get install graphviz",
        "brew install graphviz",
        "conda install -c conda-forge graphviz",
        ".source",
    ):
        assert hint in message
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(viz.GraphvizNotFound):
        drawing._repr_mimebundle_()  # what Jupyter calls to display it
    with pytest.raises(viz.GraphvizNotFound):
        drawing.render(tmp_path / "out" / "g")


def test_missing_dot_leaves_no_file_and_keeps_an_old_one(no_dot, tmp_path):
    target = tmp_path / "g.svg"
    target.write_text("old")
    with pytest.raises(viz.GraphvizNotFound):
        viz.render(Value(1.0), target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-bin", "g.svg"]
    viz.render(Value(1.0), tmp_path / "g.dot")  # the DOT text needs no `dot`
    assert (tmp_path / "g.dot").read_text().startswith("digraph {")


class OriginalStyleNode:
    """Like micrograd 0.1.0's Value: no `label` attribute, children in a set."""

    def __init__(self, data, children=(), op=""):
        self.data = data
        self.grad = 0
        self._prev = set(children)
        self._op = op


def test_nodes_without_labels_like_the_original_draw_with_an_empty_field():
    a = OriginalStyleNode(2.0)
    b = OriginalStyleNode(4.0, (a,), "**2")
    nodes, _edges = svg_nodes(viz.draw_dot(b).pipe(format="svg"))
    assert nodes["n0"] == [" ", "data 2.0000", "grad 0.0000"]  # an empty label field
    assert nodes["n1_op"] == ["**2"]
    assert viz.trace(b) == original_trace(b)


class Unhashable(ArrayNode):
    __hash__ = None  # as for an array type whose == is elementwise


def test_trace_of_unhashable_nodes_says_what_to_use_instead():
    y = Unhashable([1.0, 2.0], (Unhashable([3.0]),), "f", "y")
    with pytest.raises(TypeError, match="not hashable.*topological_order"):
        viz.trace(y)
    assert "n1_op" in viz.draw_dot(y).source  # drawing does not need hashing


@pytest.mark.parametrize("bad", [0, -1, 2.5, "500", True])
def test_bad_max_nodes_is_a_value_error(bad):
    with pytest.raises(ValueError, match="max_nodes must be a positive int or None"):
        viz.draw_dot(Value(1.0), max_nodes=bad)


def test_unicode_labels_and_odd_grads_draw():
    x = Value(1.0, label="λ → ∂L/∂x ✓")
    x.grad = "n/a"  # user code may store anything; the drawing must not fail
    nodes, _ = svg_nodes(viz.draw_dot(x).pipe(format="svg"))
    # Spaces come out as no-break spaces (Graphviz would drop them after multi-byte characters).
    assert [t.replace("\xa0", " ") for t in nodes["n0"]] == [
        "λ → ∂L/∂x ✓",
        "data 1.0000",
        "grad n/a",
    ]


@pytest.mark.parametrize("root", [1.0, None, "a*b", [Value(1.0)]])
def test_drawing_something_that_is_not_a_node_names_its_type(root):
    kind = type(root).__name__
    for call in (viz.trace, viz.draw_dot):
        with pytest.raises(TypeError, match=f"{call.__name__}: expected a Value .* got {kind}"):
            call(root)


def test_numpy_integer_max_nodes_is_accepted():
    np = pytest.importorskip("numpy")
    assert "n0" in viz.draw_dot(Value(1.0), max_nodes=np.int64(5)).source


# -- shapes Graphviz lays out slowly, and its time budget (issue 9, item 1) -----------------


def power_chain(n, x=1.0001):
    """x*x*...*x with n factors, left to right: `x` feeds every product."""
    x = Value(x, label="x")
    y = x
    for _ in range(n - 1):
        y = y * x
    return y


def test_layout_size_counts_the_ranks_each_edge_crosses():
    # Drawn left to right, product k (k = 1..n-1) has its op at rank 2k-1 and its record at 2k,
    # x sits at rank 0, so the edge x -> op k crosses 2k-2 ranks beyond its first: in all
    # (n-1)(n-2) bends. The chain's own edges (product -> next op) cross none.
    for n in (2, 3, 10, 80):
        size = viz.layout_size(topological_order(power_chain(n)))
        assert size.bends == (n - 1) * (n - 2)
    size = viz.layout_size(topological_order(power_chain(80)))
    assert size.node.label == "x" and size.fan_out == 79 and size.node_bends == 79 * 78
    # A wide neuron is long but has no far-reaching edge: every weight feeds the next product.
    xs = [Value(float(i), label=f"x{i}") for i in range(200)]
    n = sum((x * Value(0.5) for x in xs), Value(0.0)).tanh()
    assert viz.layout_size(topological_order(n)).bends == 0
    assert viz.layout_size(topological_order(Value(1.0))).bends == 0


def test_the_80_factor_product_is_drawn_within_its_time_budget():
    """This graph (159 nodes) kept Graphviz busy for 765 s: it now gets a bounded layout. The
    budget turns a regression into a GraphvizTimeout instead of a hung test."""
    y = power_chain(80)
    y.backward()
    drawing = viz.draw_dot(y, timeout=30)
    assert drawing.graph_attr["nslimit"] == "0.1"
    nodes, edges = svg_nodes(drawing.pipe(format="svg"))
    assert len([n for n in nodes if not n.endswith("_op")]) == 80
    assert nodes["n0"][:1] == ["x"] and len(edges) == 79 * 2 + 78  # into ops, op -> record
    # Small graphs keep Graphviz's full layout (and their byte-identical output).
    assert "nslimit" not in viz.draw_dot(power_chain(10)).source


def test_a_layout_that_would_take_minutes_is_refused_with_advice():
    y = power_chain(200)
    assert len(topological_order(y)) < viz.DEFAULT_MAX_NODES  # the node cap does not see it
    with pytest.raises(ValueError) as info:
        viz.draw_dot(y)
    message = str(info.value)
    assert "'x' feeds 199 operations" in message and "39,402 bends" in message
    assert "x**80 rather than x*x*...*x" in message and "max_nodes=None" in message
    assert "nslimit" in viz.draw_dot(y, max_nodes=None).source  # asked for: built, bounded
    with pytest.raises(ValueError, match="feeds 199 operations"):
        viz.render(y, "never-written.svg")


@pytest.fixture
def slow_dot(tmp_path, monkeypatch):
    """A `dot` on PATH that never finishes (60 s) unless stopped; it notes that it started."""
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    script = folder / "dot"
    started = tmp_path / "dot-started"
    script.write_text(
        f"#!{sys.executable}\nimport pathlib, time\n"
        f"pathlib.Path({str(started)!r}).touch()\ntime.sleep(60)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    return started


def test_every_rendering_has_a_time_budget(slow_dot, tmp_path):
    L, _ = lecture_graph()
    drawing = viz.draw_dot(L, timeout=0.5)
    for call in (
        lambda: drawing.pipe(format="svg"),
        lambda: drawing._repr_mimebundle_(),  # Jupyter's inline display
        lambda: drawing.render(tmp_path / "g"),
        lambda: viz.render(L, tmp_path / "g.svg", timeout=0.5),
    ):
        with pytest.raises(viz.GraphvizTimeout) as info:
            call()
        assert str(info.value) == (
            "Graphviz took longer than its time budget of 0.5 s to draw this graph and was "
            "stopped; draw a smaller graph or give it more time (timeout=)"
        )
        assert isinstance(info.value, TimeoutError)
    assert slow_dot.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "slow-bin") == ["dot-started"]
    assert viz.draw_dot(L).timeout == viz.DEFAULT_TIMEOUT == 60.0


@pytest.mark.parametrize("timeout", [0, -1, "5", True, float("nan")])
def test_timeout_must_be_a_positive_number(timeout):
    with pytest.raises(ValueError, match="timeout must be a positive number of seconds or None"):
        viz.draw_dot(Value(1.0), timeout=timeout)


def test_a_failing_dot_is_one_line(tmp_path, monkeypatch):
    folder = tmp_path / "bad-bin"
    folder.mkdir()
    (folder / "dot").write_text(
        f"#!{sys.executable}\nimport sys\nsys.stderr.write('Error: something\\n  went wrong')\n"
        f"sys.exit(3)\n"
    )
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    with pytest.raises(viz.GraphvizError) as info:
        viz.draw_dot(Value(1.0)).pipe()
    assert str(info.value) == "Graphviz's dot failed (exit status 3): Error: something went wrong"


def test_render_method_writes_what_graphviz_would_name(tmp_path):
    L, _ = lecture_graph()
    drawing = viz.draw_dot(L)
    out = drawing.render(tmp_path / "g")
    assert out == str(tmp_path / "g.svg")
    assert (tmp_path / "g").read_text().startswith("digraph {")  # the DOT source beside it
    svg_nodes(Path(out).read_bytes())
    out = drawing.render(outfile=tmp_path / "h.png", cleanup=True)
    assert out == str(tmp_path / "h.png")
    assert Path(out).read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "h.gv").exists()


# -- labels that Graphviz cannot take as they are (issue 9, item 10) -------------------------


@pytest.mark.parametrize(
    "label, drawn",
    [
        ("a\x00b", "a\\x00b"),  # a NUL byte made dot fail with a raw CalledProcessError
        ("tab\there", "tab\\there"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("bell\x07", "bell\\x07"),
        ("del\x7f", "del\\x7f"),
        ("sur\ud800", "sur\\ud800"),  # a lone surrogate cannot even be encoded
    ],
)
def test_control_characters_in_labels_are_drawn_as_escapes(label, drawn):
    v = Value(1.0, label=label)
    w = v * 2
    w.label = "w"
    nodes, _ = svg_nodes(viz.draw_dot(w).pipe(format="svg"))
    assert nodes["n0"] == [drawn, "data 1.0000", "grad 0.0000"]


def test_a_label_too_long_for_graphviz_is_cut():
    v = Value(1.0, label="x" * 100_000)  # Graphviz refuses strings over 16,384 bytes
    nodes, _ = svg_nodes(viz.draw_dot(v).pipe(format="svg"))
    assert nodes["n0"][0] == "x" * 1000 + "... (100,000 characters)"


def test_an_integer_too_large_for_a_float_is_drawn():
    nodes, _ = svg_nodes(viz.draw_dot(Value(10**400, label="big")).pipe(format="svg"))
    assert nodes["n0"] == ["big", "data 1.0000e+400", "grad 0.0000"]


# -- a Tensor graph freed by backward() (issue 9, item 20) ----------------------------------


def test_a_freed_tensor_graph_is_refused_saying_what_to_pass():
    np = pytest.importorskip("numpy", reason="the tensor engine needs numpy")
    from micrograd import animate
    from micrograd.tensor import Tensor

    def build():
        x = Tensor(np.array([1.0, -2.0]), label="x", requires_grad=True)
        w = Tensor(np.array([0.5, 0.25]), label="w", requires_grad=True)
        return ((x * w).relu() + 1.0).sum()

    loss = build()
    loss.backward()
    for call in (viz.draw_dot, animate.backward_frames, animate.html_page):
        with pytest.raises(RuntimeError) as info:
            call(loss)
        assert "freed by backward()" in str(info.value)
        assert "backward(retain_graph=True)" in str(info.value)
    # A new node on top of a freed graph is refused too: the drawing would be a stub below it.
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        viz.draw_dot(loss * 2)
    kept = build()
    kept.backward(retain_graph=True)
    nodes, _ = svg_nodes(viz.draw_dot(kept).pipe(format="svg"))
    assert len([n for n in nodes if not n.endswith("_op")]) == len(topological_order(kept)) > 4
