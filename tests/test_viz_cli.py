"""Tests for `micrograd graph` (micrograd.viz_cli), through a parser of our own and, when the
`micrograd` command's dispatcher exists, through `python -m micrograd`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("graphviz", reason="needs the graphviz package (the viz extra)")

from micrograd import viz_cli

SVG = "{http://www.w3.org/2000/svg}"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="micrograd")
    viz_cli.add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["graph", *argv])
    return args.func(args)


def records(path) -> dict:
    """{label: [data text, grad text]} of every record in a rendered SVG."""
    out = {}
    for g in ET.parse(path).getroot().iter(f"{SVG}g"):
        if g.get("class") == "node":
            texts = [t.text or "" for t in g.iter(f"{SVG}text")]
            if len(texts) == 3:
                out[texts[0]] = texts[1:]
    return out


def test_expression_with_values_is_drawn_with_its_gradients(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert run("a*b + c", "--values", "a=2,b=-3,c=10", "-o", str(out)) == 0
    assert capsys.readouterr().out.strip() == str(out)
    got = records(out)
    # out = a*b + c = 4; d/da = b = -3, d/db = a = 2, d/dc = 1.
    assert got["a"] == ["data 2.0000", "grad -3.0000"]
    assert got["b"] == ["data -3.0000", "grad 2.0000"]
    assert got["c"] == ["data 10.0000", "grad 1.0000"]
    assert got["out"] == ["data 4.0000", "grad 1.0000"]
    assert len(got) == 5  # a, b, c, a*b (unlabelled), out


def test_functions_powers_division_and_constants(tmp_path):
    out = tmp_path / "g.svg"
    expr = "tanh(x*w + b) + relu(-x) + exp(x)/2 + log(w**2) - sigmoid(b) + x**w"
    assert run(expr, "--values", "x=0.5,w=2,b=-1", "-o", str(out)) == 0
    got = records(out)
    import math

    x, w, b = 0.5, 2.0, -1.0
    s = 1 / (1 + math.exp(-b))
    value = math.tanh(x * w + b) + 0 + math.exp(x) / 2 + math.log(w**2) - s + x**w
    dx = (1 - math.tanh(x * w + b) ** 2) * w + math.exp(x) / 2 + w * x ** (w - 1)
    dw = (1 - math.tanh(x * w + b) ** 2) * x + 2 / w + x**w * math.log(x)
    db = (1 - math.tanh(x * w + b) ** 2) - s * (1 - s)
    assert got["out"] == [f"data {value:.4f}", "grad 1.0000"]
    assert got["x"] == ["data 0.5000", f"grad {dx:.4f}"]
    assert got["w"] == ["data 2.0000", f"grad {dw:.4f}"]
    assert got["b"] == ["data -1.0000", f"grad {db:.4f}"]


def test_lecture_neuron(tmp_path):
    out = tmp_path / "neuron.svg"
    assert run("--neuron", "2", "-o", str(out)) == 0
    got = records(out)
    assert set(got) == {"x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2", "x1*w1 + x2*w2", "n", "o"}
    # The lecture's numbers.
    assert got["o"] == ["data 0.7071", "grad 1.0000"]
    assert got["n"] == ["data 0.8814", "grad 0.5000"]
    assert got["x1"] == ["data 2.0000", "grad -1.5000"]
    assert got["w1"] == ["data -3.0000", "grad 1.0000"]
    assert got["w2"] == ["data 1.0000", "grad 0.0000"]


def test_neuron_values_can_be_overridden_and_bigger_neurons_are_deterministic(tmp_path):
    out = tmp_path / "n.svg"
    assert run("--neuron", "2", "--values", "x2=1", "--activation", "linear", "-o", str(out)) == 0
    got = records(out)
    assert "o" not in got
    assert got["n"] == [f"data {2 * -3 + 1 * 1 + 6.8813735870195432:.4f}", "grad 1.0000"]
    assert got["x2"] == ["data 1.0000", "grad 1.0000"]
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    assert run("--neuron", "5", "-o", str(a)) == 0
    assert run("--neuron", "5", "-o", str(b)) == 0
    assert a.read_bytes() == b.read_bytes()
    assert {f"w{i}" for i in range(1, 6)} <= set(records(a))


def test_formats_rankdir_and_no_backward(tmp_path):
    assert run("a*b", "--values", "a=1,b=2", "-o", str(tmp_path / "g.png")) == 0
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    assert run("a*b", "--values", "a=1,b=2", "-o", str(tmp_path / "g.pdf")) == 0
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    assert (
        run(
            "a*b",
            "--values",
            "a=1,b=2",
            "--format",
            "dot",
            "--rankdir",
            "TB",
            "-o",
            str(tmp_path / "g.txt"),
        )
        == 0
    )
    assert "rankdir=TB" in (tmp_path / "g.txt").read_text()
    assert run("a*b", "--values", "a=1,b=2", "--no-backward", "-o", str(tmp_path / "n.svg")) == 0
    assert records(tmp_path / "n.svg")["a"] == ["data 1.0000", "grad 0.0000"]


def test_animate_to_html_and_gif(tmp_path):
    html = tmp_path / "b.html"
    assert run("a*b + c", "--values", "a=2,b=-3,c=10", "--animate", "-o", str(html)) == 0
    text = html.read_text(encoding="utf-8")
    assert text.count("<svg") == 5  # a, b, a*b, c, out
    assert "Step 1/5: &#x27;out&#x27; (op +) has grad 1.0000." in text
    gif = tmp_path / "b.gif"
    assert run("--neuron", "2", "--animate", "-o", str(gif)) == 0
    Image = pytest.importorskip("PIL.Image", reason="needs Pillow (the viz extra) for GIFs")
    with Image.open(gif) as im:
        assert im.n_frames == 10


@pytest.mark.parametrize(
    "argv, message",
    [
        (["a*b +", "--values", "a=1,b=2"], "bad expression 'a*b +'"),
        (["foo(a)", "--values", "a=1"], "unknown function 'foo'"),
        (["__import__('os').system('true')"], "is not allowed in an expression"),
        (["__import__('os')"], "unknown function '__import__'"),
        (["a.real", "--values", "a=1"], "'a.real' is not allowed"),
        (["(lambda: 1)()"], "not allowed"),
        (["a % 2", "--values", "a=1"], "'a % 2' is not allowed"),
        (["a + 'x'", "--values", "a=1"], "only numbers are allowed"),
        (["a*b"], "missing value for a, b"),
        (["a*b", "--values", "a=1,b=2,z=3"], "--values names z, not in the expression"),
        (["a", "--values", "a=two"], "a='two' is not a number"),
        (["a", "--values", "a"], "expected NAME=NUMBER, got 'a'"),
        (["a", "--values", "a=1,a=2"], "a is given twice"),
        (["a", "--values", "a=nan"], "a must be a finite number"),
        (["log(a)", "--values", "a=-1"], "log(-1.0): the logarithm needs a positive number"),
        (["a / 0", "--values", "a=1"], "cannot evaluate 'a / 0'"),
        (["a + 9**9**9", "--values", "a=1"], "a number gets too large"),
        (["relu + 1"], "relu is a function: call it"),
        (["tanh(a, a)", "--values", "a=1"], "tanh() takes exactly one argument"),
        (["--neuron", "0"], "between 1 and 20"),
        (["--neuron", "2", "--values", "q=1"], "--values names q, not in the neuron"),
        (["a", "--neuron", "2", "--values", "a=1"], "exactly one of them"),
        ([], "exactly one of them"),
        (["a", "--values", "a=1", "--animate", "--no-backward"], "do not go together"),
    ],
)
def test_bad_input_is_one_line_on_stderr_exit_2_and_no_file(tmp_path, capsys, argv, message):
    out = tmp_path / "g.svg" if "--animate" not in argv else tmp_path / "g.html"
    assert run(*argv, "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("micrograd: error: ")
    assert message in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name, animate, message",
    [
        ("g.txt", False, "cannot write a drawing as 'txt'"),
        ("g", False, "'a file without extension'"),
        ("g.svg", True, "cannot write an animation as 'svg'"),
        ("g.gif", False, "cannot write a drawing as 'gif'"),
    ],
)
def test_output_format_must_fit(tmp_path, capsys, name, animate, message):
    argv = ["a", "--values", "a=1", "-o", str(tmp_path / name)] + (["--animate"] if animate else [])
    assert run(*argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_is_exit_1_naming_it(tmp_path, capsys):
    target = tmp_path / "missing" / "g.svg"
    assert run("a", "--values", "a=1", "-o", str(target)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot write {target}: the folder {target.parent} does not exist" in err


def test_a_full_disk_is_one_line_naming_the_file_without_errno(tmp_path, capsys, monkeypatch):
    # issue 9 trial: `-o` on a full tmpfs printed "[Errno 28] cannot write ...".
    from micrograd import serialize

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialize.os, "replace", full)
    target = tmp_path / "g.dot"
    assert run("a*b", "--values", "a=1,b=2", "-o", str(target)) == 1
    err = capsys.readouterr().err
    assert err == f"micrograd: error: cannot write {target}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_missing_dot_is_exit_1_with_install_hint_and_keeps_the_old_file(
    tmp_path, capsys, monkeypatch
):
    target = tmp_path / "g.svg"
    target.write_text("old drawing")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    assert run("a*b", "--values", "a=1,b=2", "-o", str(target)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install graphviz" in err
    assert target.read_text() == "old drawing"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "g.svg"]
    # The DOT text needs no `dot`.
    assert run("a*b", "--values", "a=1,b=2", "-o", str(tmp_path / "g.dot")) == 0


@pytest.mark.skipif(
    importlib.util.find_spec("micrograd.cli") is None, reason="micrograd/cli.py not written yet"
)
def test_through_the_micrograd_command(tmp_path):
    out = tmp_path / "g.svg"
    env = dict(os.environ)
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "micrograd",
            "graph",
            "a*b + c",
            "--values",
            "a=2,b=-3,c=10",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert records(out)["a"] == ["data 2.0000", "grad -3.0000"]
    bad = subprocess.run(
        [sys.executable, "-m", "micrograd", "graph", "a*", "-o", str(tmp_path / "x.svg")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "bad expression" in bad.stderr
    assert not (tmp_path / "x.svg").exists()


def test_readme_picture_is_what_the_command_draws(tmp_path):
    # docs/graph.svg (shown in the README) was made by `micrograd graph --neuron 2 -o
    # docs/graph.svg`; compare contents, not bytes, since another Graphviz version lays out
    # differently.
    committed = Path(__file__).resolve().parent.parent / "docs" / "graph.svg"
    fresh = tmp_path / "graph.svg"
    assert run("--neuron", "2", "-o", str(fresh)) == 0
    assert records(committed) == records(fresh)
    assert records(committed)["o"] == ["data 0.7071", "grad 1.0000"]


def test_an_expression_starting_with_minus_goes_after_double_dash(tmp_path):
    out = tmp_path / "g.svg"
    assert run("-o", str(out), "--values", "a=2,b=3", "--", "-a*b") == 0
    assert records(out)["a"] == ["data 2.0000", "grad -3.0000"]


@pytest.mark.parametrize(
    "terms,animate,limit",
    [(260, False, 500), (60, True, 100)],
)
def test_too_big_a_graph_is_refused_with_advice_for_the_command_line(
    tmp_path, capsys, terms, animate, limit
):
    # The library's message suggests `summarize=True` / `max_nodes=`, which the command has no
    # flags for; the command says what to do instead, before any drawing work.
    out = tmp_path / ("g.html" if animate else "g.svg")
    expr = " + ".join(f"a*{i}" for i in range(terms))
    argv = [expr, "--values", "a=1", "-o", str(out)] + (["--animate"] if animate else [])
    assert run(*argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("micrograd: error: the expression's graph has")
    assert f"more than {limit}" in err and "max_nodes" not in err and "summarize" not in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


# -- issue 9: shapes that hung Graphviz, its time budget, names in --values ------------------


def product(n: int) -> str:
    return "*".join(["x"] * n)


def test_the_80_factor_product_that_hung_graphviz_is_drawn(tmp_path, capsys):
    """`micrograd graph -o g.svg --values x=1.0001 -- "x*x*...*x"` (80 factors) ran 765 s in
    Graphviz. The time budget makes a regression fail with a message, not hang."""
    out = tmp_path / "g.svg"
    assert run("-o", str(out), "--timeout", "30", "--values", "x=1.0001", "--", product(80)) == 0
    got = records(out)
    assert got["x"] == ["data 1.0001", f"grad {80 * 1.0001**79:.4f}"]
    assert got["out"][0] == f"data {1.0001**80:.4f}"


@pytest.mark.parametrize("factors, animate", [(200, False), (60, True)])
def test_a_shape_graphviz_cannot_lay_out_quickly_is_refused_before_drawing(
    tmp_path, capsys, factors, animate
):
    out = tmp_path / ("g.html" if animate else "g.svg")
    flags = ["--animate"] if animate else []
    assert run("-o", str(out), "--values", "x=2", *flags, "--", product(factors)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("micrograd: error: Graphviz would take minutes to lay out")
    assert f"'x' feeds {factors - 1} operations spread across it" in err
    assert f"x**{factors} rather than x*x*...*x" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("animate", [False, True])
def test_graphviz_is_stopped_at_the_time_budget(tmp_path, capsys, monkeypatch, animate):
    folder = tmp_path / "slow-bin"
    folder.mkdir()
    (folder / "dot").write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    out = tmp_path / ("g.html" if animate else "g.svg")
    argv = ["a*b", "--values", "a=1,b=2", "-o", str(out), "--timeout", "0.5"]
    assert run(*argv, *(["--animate"] if animate else [])) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "time budget of 0.5 s" in err
    assert err.rstrip().endswith("give it more time (--timeout SECONDS)")
    assert not out.exists()


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_timeout_flag_must_be_a_positive_number(value, capsys):
    with pytest.raises(SystemExit):
        run("a", "--values", "a=1", "-o", "g.svg", "--timeout", value)
    assert f"invalid time {value!r}" in capsys.readouterr().err


def test_timeout_flag_default_is_the_library_default():
    from micrograd import viz

    assert viz_cli._DEFAULT_TIMEOUT == viz.DEFAULT_TIMEOUT


@pytest.mark.parametrize(
    "expression, values, label",
    [
        ("ﬁ*2", "ﬁ=1", "fi"),  # the ligature: Python reads the name as "fi"
        ("fi*2", "ﬁ=1", "fi"),
        ("ﬁ*2", "fi=1", "fi"),
        ("𝑥*3", "𝑥=3", "x"),  # mathematical italic x
        ("Ａ + 1", "Ａ=4", "A"),  # fullwidth
    ],
)
def test_names_in_values_are_read_as_python_reads_the_expression(
    tmp_path, expression, values, label
):
    out = tmp_path / "g.svg"
    assert run(expression, "--values", values, "-o", str(out)) == 0
    assert label in records(out)


def test_names_that_become_the_same_are_given_twice(capsys):
    assert run("fi", "--values", "fi=1,ﬁ=2", "-o", "never.svg") == 2
    assert "--values: fi is given twice" in capsys.readouterr().err
