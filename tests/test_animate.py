"""Tests for micrograd.animate: frames of the backward pass, the HTML page and the GIF.

The frames are checked against a real `backward()` on an identical graph and against PyTorch;
the page's SVGs are parsed, and its script is run under node.js with a stub DOM when node is
installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import torch
from PIL import Image

from micrograd import Value, animate, viz
from micrograd.graph import backward_order, topological_order

SVG = "{http://www.w3.org/2000/svg}"


def neuron():
    """The lecture's neuron, o = tanh(x1*w1 + x2*w2 + b), every node labelled."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}


def shared_graph():
    """A graph where nodes are reused, so grads accumulate from several paths."""
    a, b = Value(1.5, label="a"), Value(0.5, label="b")
    c = a * b
    d = c + a
    e = d * d  # the same input twice
    f = (e + c).relu() + b.exp()
    return f, {"a": a, "b": b}


@pytest.mark.parametrize("build", [neuron, shared_graph])
def test_one_frame_per_node_in_backward_order(build):
    root, _ = build()
    frames = animate.backward_frames(root)
    visit = backward_order(root)
    assert len(frames) == len(visit)
    assert all(f.node is n for f, n in zip(frames, visit))
    assert [f.step for f in frames] == list(range(len(visit)))
    topo = topological_order(root)
    assert all(a is b for a, b in zip(frames[0].nodes, topo))
    assert all(f.nodes[f.index] is f.node for f in frames)


@pytest.mark.parametrize("build", [neuron, shared_graph])
def test_frame_grads_follow_a_real_backward(build):
    root, _ = build()
    frames = animate.backward_frames(root)
    reference, _ = build()
    reference.backward()
    final = [n.grad for n in topological_order(reference)]
    assert list(frames[-1].grads) == final  # same floats, not just close
    assert [
        n.grad for n in topological_order(root)
    ] == final  # the graph is left as backward() leaves it
    for k, frame in enumerate(frames):
        # A node is visited only once every node that uses it is done: its grad is final then.
        assert frame.grads[frame.index] == final[frame.index]
        # Each step changes exactly the grads of the current node's inputs (or none for a leaf).
        before = frames[k - 1].grads if k else None
        if before is not None:
            changed = {i for i, (g0, g1) in enumerate(zip(before, frame.grads)) if g0 != g1}
            assert changed <= set(frame.inputs)
    assert frames[0].grads[frames[0].index] == 1


def test_neuron_frames_match_pytorch():
    root, leaves = neuron()
    frames = animate.backward_frames(root)
    t = {
        k: torch.tensor(v.data, dtype=torch.float64, requires_grad=True) for k, v in leaves.items()
    }
    out = torch.tanh(t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"])
    out.backward()
    position = {id(n): i for i, n in enumerate(frames[0].nodes)}
    for name, leaf in leaves.items():
        assert frames[-1].grads[position[id(leaf)]] == pytest.approx(t[name].grad.item(), abs=1e-12)
    # The lecture's numbers: x1.grad = -1.5, w1.grad = 1.0, x2.grad = 0.5, w2.grad = 0.
    assert frames[-1].grads[position[id(leaves["x1"])]] == pytest.approx(-1.5)


def test_frames_on_a_graph_with_paths_of_different_lengths_match_pytorch():
    # `c` reaches the output directly (through e + c) and through d = c + a, e = d * d: a
    # correct reverse topological order visits `c` only after `d` has added into its grad.
    root, leaves = shared_graph()
    frames = animate.backward_frames(root)
    a = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    c = a * b
    d = c + a
    e = d * d
    ((e + c).relu() + b.exp()).backward()
    position = {id(n): i for i, n in enumerate(frames[0].nodes)}
    got = {k: frames[-1].grads[position[id(v)]] for k, v in leaves.items()}
    assert got == pytest.approx({"a": a.grad.item(), "b": b.grad.item()}, abs=1e-12), (
        "backward order visits a node before all its users: micrograd.graph.topological_order "
        "(and Value._topological_order) mark a node visited when it is pushed, not when entered"
    )


def test_leaf_grads_accumulate_and_interior_grads_are_recomputed_like_backward():
    def build():
        root, _leaves = shared_graph()
        for node in topological_order(root):
            node.grad = 5.0  # left over from an earlier pass
        return root

    root, reference = build(), build()
    frames = animate.backward_frames(root)
    reference.backward()
    assert list(frames[-1].grads) == [n.grad for n in topological_order(reference)]
    fresh, _ = shared_graph()
    fresh.backward()
    for node, grad, clean in zip(frames[-1].nodes, frames[-1].grads, topological_order(fresh)):
        # Leaves accumulate onto the old 5.0; interior nodes start again from 0.
        assert grad == (5.0 + clean.grad if not node._prev else clean.grad)


def test_an_input_used_twice_is_one_updated_input():
    x = Value(3.0, label="x")
    y = x * x
    frames = animate.backward_frames(y)
    assert frames[0].inputs == (0,)
    assert frames[0].grads == (6.0, 1)  # dy/dx = 2x, both uses accumulated in one step
    assert frames[0].updates == ((x, 6.0),)
    assert frames[1].node is x and frames[1].updates == ()


def test_captions_describe_each_step():
    root, _ = neuron()
    frames = animate.backward_frames(root)
    assert frames[0].caption() == (
        "Step 1/10: 'o' (op tanh) has grad 1.0000. Chain rule: input.grad += local derivative "
        "* 1.0000, so now grad of 'n' = 0.5000."
    )
    assert frames[-1].caption() == (
        "Step 10/10: 'x1' is a leaf (an input): nothing to pass back. Its grad is -1.5000."
    )


def test_too_many_nodes_is_refused():
    x = Value(1.0)
    for _ in range(60):
        x = x * 1.01  # 121 nodes
    with pytest.raises(
        ValueError, match="save_html: the graph has 121 nodes, more than max_nodes=100"
    ):
        animate.save_html(x, "unused.html")
    with pytest.raises(ValueError, match="backward_frames: the graph has 121 nodes"):
        animate.backward_frames(x, max_nodes=50)
    assert len(animate.backward_frames(x, max_nodes=None)) == 121


# -- the HTML page --------------------------------------------------------------------------


def page_svgs(text: str) -> list:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", text, flags=re.DOTALL)]


def highlighted(svg) -> list:
    """Titles of the nodes drawn with the 'current node' fill."""
    out = []
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node":
            fills = {p.get("fill") for p in g.iter() if p.get("fill")}
            if "#ffd966" in fills:
                out.append(g.find(f"{SVG}title").text)
    return out


def updated(svg) -> list:
    out = []
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == "node" and any(p.get("fill") == "#a4c2f4" for p in g.iter()):
            out.append(g.find(f"{SVG}title").text)
    return out


def test_html_page_has_one_drawing_per_step_with_the_current_node_highlighted(tmp_path):
    root, _ = neuron()
    path = animate.save_html(root, tmp_path / "backward.html")
    text = path.read_text(encoding="utf-8")
    reference, _ = neuron()
    frames = animate.backward_frames(reference)
    svgs = page_svgs(text)
    assert len(svgs) == len(frames) == 10
    for frame, svg in zip(frames, svgs):
        current = f"n{frame.index}"
        expected = [current, current + "_op"] if frame.node._op else [current]
        assert sorted(highlighted(svg)) == sorted(expected)
        assert sorted(updated(svg)) == sorted(f"n{j}" for j in frame.inputs)
        # The grads drawn are the frame's grads.
        texts = {
            g.find(f"{SVG}title").text: [t.text for t in g.iter(f"{SVG}text")]
            for g in svg.iter(f"{SVG}g")
            if g.get("class") == "node"
        }
        for i, grad in enumerate(frame.grads):
            assert texts[f"n{i}"][-1] == "grad %.4f" % grad
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text)
    assert captions[0].startswith("Step 1/10: &#x27;o&#x27; (op tanh) has grad 1.0000.")
    assert len(captions) == 10


def test_html_page_is_self_contained_and_deterministic(tmp_path):
    first = animate.save_html(neuron()[0], tmp_path / "a.html").read_bytes()
    second = animate.save_html(neuron()[0], tmp_path / "b.html").read_bytes()
    assert first == second
    text = first.decode("utf-8")
    assert "<script src" not in text and "<link" not in text and "@import" not in text
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}  # namespaces
    ids = re.findall(r'\bid="([^"]+)"', text)
    assert len(ids) == len(set(ids))


@pytest.mark.skipif(shutil.which("node") is None, reason="node.js is not installed")
def test_html_controls_step_through_the_frames(tmp_path):
    text = animate.save_html(neuron()[0], tmp_path / "a.html").read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", text, flags=re.DOTALL).group(1)
    harness = """
    const N = %d;
    const frames = Array.from({length: N}, () => ({hidden: false}));
    const el = {slider: {value: '0'}, counter: {textContent: ''}, play: {textContent: 'play'},
                prev: {}, next: {}};
    let keydown = null, tick = null;
    global.document = {
      querySelectorAll: () => frames,
      getElementById: (id) => el[id],
      addEventListener: (type, f) => { if (type === 'keydown') keydown = f; },
    };
    global.setInterval = (f) => { tick = f; return 1; };
    global.clearInterval = () => { tick = null; };
    const states = [];
    const record = () => states.push([frames.map((f) => !f.hidden), el.counter.textContent]);
    eval(%s);
    record();                                   // initial
    el.next.onclick(); el.next.onclick(); record();
    el.prev.onclick(); record();
    el.slider.value = '7'; el.slider.oninput(); record();
    keydown({key: 'ArrowRight', preventDefault() {}}); record();
    keydown({key: 'ArrowRight', preventDefault() {}}); keydown({key: 'ArrowRight', preventDefault() {}});
    record();                                   // stays on the last frame
    el.prev.onclick(); el.prev.onclick(); el.play.onclick();
    const playing = el.play.textContent;
    while (tick) tick();                        // runs to the end and stops
    record();
    console.log(JSON.stringify({states, playing, after: el.play.textContent}));
    """ % (len(page_svgs(text)), json.dumps(script))
    out = subprocess.run(["node", "-e", harness], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    shown = [(s.index(True), s.count(True), counter) for s, counter in result["states"]]
    assert shown == [
        (0, 1, "1 / 10"),
        (2, 1, "3 / 10"),
        (1, 1, "2 / 10"),
        (7, 1, "8 / 10"),
        (8, 1, "9 / 10"),
        (9, 1, "10 / 10"),
        (9, 1, "10 / 10"),
    ]
    assert result["playing"] == "pause" and result["after"] == "play"


# -- the GIF --------------------------------------------------------------------------------


def test_gif_has_one_frame_per_node_and_is_deterministic(tmp_path):
    root, _ = neuron()
    path = animate.save_gif(root, tmp_path / "b.gif", duration=500)
    again = animate.save_gif(neuron()[0], tmp_path / "c.gif", duration=500)
    assert path.read_bytes() == again.read_bytes()
    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames == 10
        size = im.size
        for k in range(im.n_frames):
            im.seek(k)
            assert im.size == size
            assert im.info["duration"] == 500
            colors = {rgb for _, rgb in im.convert("RGB").getcolors(maxcolors=1 << 16)}
            assert (0xFF, 0xD9, 0x66) in colors  # the current node's highlight
    assert im.info.get("loop") == 0


def test_missing_dot_gives_the_documented_error_and_no_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for name, save in (("b.html", animate.save_html), ("b.gif", animate.save_gif)):
        with pytest.raises(viz.GraphvizNotFound, match="apt-get install graphviz"):
            save(neuron()[0], tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_real_tensor_engine_frames_match_its_backward():
    tensor = pytest.importorskip("micrograd.tensor")
    np = pytest.importorskip("numpy")

    def build():
        x = tensor.Tensor(np.array([[1.0, -2.0], [3.0, 0.5]]), label="x", requires_grad=True)
        w = tensor.Tensor(np.array([0.5, -1.0]), label="w", requires_grad=True)
        y = (x * w).tanh()
        y.label = "y"
        loss = y.sum()
        loss.label = "loss"
        return loss, x, w

    loss, x, w = build()
    frames = animate.backward_frames(loss)
    assert [f.node.label for f in frames] == ["loss", "y", "", "w", "x"]
    px = next(i for i, n in enumerate(frames[0].nodes) if n is x)
    pw = next(i for i, n in enumerate(frames[0].nodes) if n is w)
    # Nodes not reached yet have no grad, as in Tensor.backward.
    assert frames[0].grads[px] is None
    ref, rx, rw = build()
    ref.backward()
    np.testing.assert_array_equal(x.grad, rx.grad)
    np.testing.assert_array_equal(w.grad, rw.grad)
    np.testing.assert_array_equal(frames[-1].grads[px], rx.grad)
    np.testing.assert_array_equal(frames[-1].grads[pw], rw.grad)
    assert frames[-1].grads[px] is not x.grad  # frames hold copies, not the live arrays
    page = animate.html_page(build()[0])
    assert page.count("<svg") == 5 and "shape (2, 2) float64" in page


def test_exports_show_one_fresh_pass_and_leave_the_grads_alone(tmp_path):
    fresh = animate.html_page(neuron()[0])
    root, leaves = neuron()
    root.backward()
    root.backward()  # leaf grads now hold two passes
    before = [n.grad for n in topological_order(root)]
    assert animate.html_page(root) == fresh  # not three passes' worth
    assert [n.grad for n in topological_order(root)] == before
    untouched, _ = neuron()
    animate.save_gif(untouched, tmp_path / "b.gif")
    assert all(n.grad == 0 for n in topological_order(untouched))


def test_unlabelled_nodes_are_named_by_op_and_data_in_captions():
    a = Value(2.0, label="a")
    out = a * 3 + 1
    captions = [f.caption() for f in animate.backward_frames(out)]
    assert captions[0] == (
        "Step 1/5: the + node (data 7.0000) has grad 1.0000. Chain rule: input.grad += local "
        "derivative * 1.0000, so now grad of the * node (data 6.0000) = 1.0000, grad of the "
        "leaf (data 1.0000) = 1.0000."
    )


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: animate.backward_frames(1.0), TypeError, "backward_frames: expected a Value"),
        (lambda: animate.html_page(None), TypeError, "html_page: expected a Value .* NoneType"),
        (
            lambda: animate.backward_frames(Value(1.0), max_nodes="5"),
            ValueError,
            "backward_frames: max_nodes must be a positive int or None, got '5'",
        ),
        (
            lambda: animate.html_page(Value(1.0), max_nodes=0),
            ValueError,
            "html_page: max_nodes must be a positive int or None, got 0",
        ),
        (
            lambda: animate.html_page(Value(1.0), title=None),
            TypeError,
            "html_page: title must be a str, got NoneType",
        ),
    ],
)
def test_bad_arguments_name_what_was_wrong(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("duration", [0, -5, 2.5, "100", True])
def test_save_gif_checks_the_frame_duration_and_writes_nothing(tmp_path, duration):
    with pytest.raises(ValueError, match="save_gif: duration must be a positive int"):
        animate.save_gif(Value(1.0), tmp_path / "a.gif", duration=duration)
    assert list(tmp_path.iterdir()) == []
