"""`micrograd export MODEL --to PATH`: ONNX and PyTorch files with the model's numbers, one-line
errors, nothing partial."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from micrograd.cli import main
from micrograd.export import INSTALL_HINT, to_torch
from micrograd.serialize import load_model, save_model


def cli(*args: str, cwd=None, code_before: str = "") -> subprocess.CompletedProcess:
    """`micrograd ARGS` in a fresh process; `code_before` runs first (to hide a package)."""
    code = (
        f"{code_before}\nimport sys\nfrom micrograd.cli import main\nsys.exit(main(sys.argv[1:]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def predictions(model, X: np.ndarray) -> np.ndarray:
    first = model.parameters()[0].data
    if hasattr(first, "shape"):
        return model(X).data
    rows = [model(x) for x in X.tolist()]
    return np.array([[v.data for v in (r if isinstance(r, list) else [r])] for r in rows])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A scalar model trained by `micrograd train` (runs/latest/model.json)."""
    folder = tmp_path_factory.mktemp("train")
    out = folder / "runs" / "latest"
    flags = ["--samples", "40", "--steps", "10", "--layers", "8,8", "--activation", "tanh"]
    assert main(["train", *flags, "--no-progress", "--out", str(out)]) == 0
    return out / "model.json"


@pytest.fixture(scope="module")
def tensor_model_file(tmp_path_factory):
    from micrograd.tensor.nn import MLP

    path = tmp_path_factory.mktemp("tensor") / "model.json"
    save_model(MLP(4, [16, 3], "sigmoid", dtype=np.float32, rng=0), path)
    return path


def test_export_onnx_runs_in_onnxruntime_with_the_same_outputs(trained, tmp_path, capsys):
    dest = tmp_path / "model.onnx"
    assert main(["export", str(trained), "--to", str(dest)]) == 0
    out = capsys.readouterr().out
    assert out == f"wrote {dest} (ONNX graph, opset 17, input 'input' (batch, 2), float64)\n"
    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).uniform(-2, 2, size=(25, 2))
    expected = predictions(load_model(trained), X)
    np.testing.assert_allclose(session.run(None, {"input": X})[0], expected, rtol=1e-12, atol=1e-12)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]


def test_export_tensor_model_keeps_float32(tensor_model_file, tmp_path):
    dest = tmp_path / "model.onnx"
    assert main(["export", str(tensor_model_file), "--to", str(dest), "--opset", "13"]) == 0
    proto = onnx.load(str(dest))
    assert proto.opset_import[0].version == 13
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(1).uniform(-2, 2, size=(7, 4)).astype(np.float32)
    expected = predictions(load_model(tensor_model_file), X)
    np.testing.assert_allclose(session.run(None, {"input": X})[0], expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("extension", [".pt", ".pth"])
def test_export_pt_is_a_state_dict_torch_loads_safely(trained, tmp_path, capsys, extension):
    dest = tmp_path / f"model{extension}"
    assert main(["export", str(trained), "--to", str(dest)]) == 0
    assert capsys.readouterr().out == (
        f"wrote {dest} (state dict of torch.nn.Sequential(Linear(2, 8), Tanh(), Linear(8, 8), "
        "Tanh(), Linear(8, 1)), float64)\n"
    )
    state = torch.load(dest, weights_only=True)  # tensors only: no pickled code runs
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    module = torch.nn.Sequential(
        torch.nn.Linear(2, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 1),
    ).double()  # the architecture the command printed
    module.load_state_dict(state)
    model = load_model(trained)
    for key, value in to_torch(model).state_dict().items():
        assert torch.equal(state[key], value), key


def test_export_a_neuron_and_a_layer(tmp_path):
    import random

    from micrograd.nn import Layer, Neuron

    random.seed(0)
    for model in (Neuron(3, activation="tanh"), Layer(3, 2, activation="sigmoid")):
        src = tmp_path / "model.json"
        save_model(model, src)
        assert main(["export", str(src), "--to", str(tmp_path / "m.onnx")]) == 0
        session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
        X = np.random.default_rng(2).uniform(-2, 2, size=(5, 3))
        np.testing.assert_allclose(
            session.run(None, {"input": X})[0], predictions(model, X), rtol=1e-12, atol=1e-12
        )


# -- errors: one line, the right exit code, nothing written ----------------------------------


def one_line_error(proc_or_err: str) -> str:
    lines = proc_or_err.strip().splitlines()
    assert len(lines) == 1, proc_or_err
    assert lines[0].startswith("micrograd: error: ")
    return lines[0]


def test_unknown_extension_is_a_usage_error(trained, tmp_path, capsys):
    assert main(["export", str(trained), "--to", str(tmp_path / "model.h5")]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "extension '.h5'" in err and ".onnx" in err and ".pt" in err
    assert main(["export", str(trained), "--to", str(tmp_path / "model")]) == 2
    assert "extension '(none)'" in capsys.readouterr().err
    assert main(["export", str(trained)]) == 2  # --to is required
    assert "--to" in one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_missing_model_file(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.json"), "--to", str(tmp_path / "m.onnx")]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert "No such file or directory" in err and "nope.json" in err
    assert list(tmp_path.iterdir()) == []


HEADER = b'{"format": "micrograd-model", "version": 1, "engine": "scalar", "architecture": '


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "UTF-8"),
        (HEADER + b'{"type": "MLP", "ni', "truncated"),
        (b'{"format": "something-else"}', "not a micrograd model file"),
        (b'{"format": "micrograd-model", "version": 99}', "version 99"),
        (HEADER + b'{"type": "MLP", "nin": 2, "nouts": [1]}, "parameters": []}', "parameters"),
        (HEADER + b'{"type": "Conv2d"}, "parameters": []}', "'Conv2d'"),
    ],
)
def test_crafted_model_file_is_one_line_and_leaves_the_destination(
    tmp_path, capsys, content, message
):
    src = tmp_path / "model.json"
    src.write_bytes(content)
    dest = tmp_path / "model.onnx"
    dest.write_bytes(b"an older export")
    assert main(["export", str(src), "--to", str(dest)]) == 1
    err = one_line_error(capsys.readouterr().err)
    assert str(src) in err and message in err
    assert dest.read_bytes() == b"an older export"
    assert sorted(os.listdir(tmp_path)) == ["model.json", "model.onnx"]


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        ("no-such-folder/m.onnx", "the folder '{tmp}/no-such-folder' does not exist"),
        ("a-file.txt/m.onnx", "the folder '{tmp}/a-file.txt' is a file, not a folder"),
        ("a-folder.onnx", "it is a folder"),
        ("/proc/m.onnx", "cannot write '/proc/m.onnx'"),  # not writable, even for root
    ],
)
def test_unwritable_destination(trained, tmp_path, capsys, destination, message):
    (tmp_path / "a-file.txt").write_text("x")
    (tmp_path / "a-folder.onnx").mkdir()
    before = sorted(os.listdir(tmp_path))
    dest = destination if destination.startswith("/") else str(tmp_path / destination)
    assert main(["export", str(trained), "--to", dest]) == 1
    assert message.format(tmp=tmp_path) in one_line_error(capsys.readouterr().err)
    assert sorted(os.listdir(tmp_path)) == before
    assert not os.path.exists("/proc/m.onnx")


@pytest.mark.parametrize(("package", "extension"), [("onnx", ".onnx"), ("torch", ".pt")])
def test_missing_package_gives_the_install_hint(trained, tmp_path, package, extension):
    dest = tmp_path / f"model{extension}"
    proc = cli(
        "export",
        str(trained),
        "--to",
        str(dest),
        code_before=f"import sys; sys.modules[{package!r}] = None",
    )
    assert proc.returncode == 1
    err = one_line_error(proc.stderr)
    assert f"needs the {package!r} package" in err
    assert INSTALL_HINT in err
    assert "micrograd[train]" not in err  # (the generic hint of other commands)
    assert list(tmp_path.iterdir()) == []


def test_bad_opset_is_one_line(trained, tmp_path, capsys):
    assert main(["export", str(trained), "--to", str(tmp_path / "m.onnx"), "--opset", "5"]) == 1
    assert "opset must be an int from 13" in one_line_error(capsys.readouterr().err)
    assert main(["export", str(trained), "--to", str(tmp_path / "m.onnx"), "--opset", "x"]) == 2
    one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_two_exports_at_once_leave_one_whole_file(trained, tmp_path):
    dest = tmp_path / "model.onnx"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "micrograd", "export", str(trained), "--to", str(dest)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]  # no temporary file left
    onnx.checker.check_model(onnx.load(str(dest)), full_check=True)


def test_help_lists_export(capsys):
    assert main(["--help"]) == 0
    assert "export" in capsys.readouterr().out
    assert main(["export", "--help"]) == 0
    text = capsys.readouterr().out
    assert ".onnx" in text and ".pt" in text and INSTALL_HINT in " ".join(text.split())


@pytest.mark.parametrize("extension", [".onnx", ".pt"])
def test_a_missing_model_file_fails_before_torch_or_onnx_is_imported(tmp_path, extension):
    """Importing torch takes seconds: the model file is checked first."""
    missing = tmp_path / "nope.json"
    code = (
        "import sys\nfrom micrograd.cli import main\n"
        f"code = main(['export', {str(missing)!r}, '--to', {str(tmp_path / ('m' + extension))!r}])\n"
        "print(code, sorted(m for m in ('torch', 'onnx', 'numpy') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.stdout == "1 []\n", proc.stderr
    assert "nope.json" in one_line_error(proc.stderr)


def test_onnx_export_in_float32_and_float64(trained, tensor_model_file, tmp_path, capsys):
    X = np.random.default_rng(1).uniform(-2, 2, size=(25, 2))
    expected = predictions(load_model(trained), X)
    for dtype, elem, tolerance in (("float32", 1, 1e-5), ("float64", 11, 1e-12)):
        dest = tmp_path / f"{dtype}.onnx"
        assert main(["export", str(trained), "--to", str(dest), "--dtype", dtype]) == 0
        assert capsys.readouterr().out.endswith(f", {dtype})\n")
        proto = onnx.load(str(dest))
        assert proto.graph.input[0].type.tensor_type.elem_type == elem
        assert proto.graph.output[0].type.tensor_type.elem_type == elem
        assert {t.data_type for t in proto.graph.initializer} == {elem}
        session = ort.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": X.astype(dtype)})[0]
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
    # A float32 tensor model widened to float64.
    dest = tmp_path / "wide.onnx"
    assert main(["export", str(tensor_model_file), "--to", str(dest), "--dtype", "float64"]) == 0
    assert onnx.load(str(dest)).graph.input[0].type.tensor_type.elem_type == 11
    # And a state dict in the dtype asked for.
    dest = tmp_path / "m.pt"
    assert main(["export", str(trained), "-o", str(dest), "--dtype", "float32"]) == 0
    state = torch.load(str(dest), weights_only=True)
    assert {t.dtype for t in state.values()} == {torch.float32}
    assert main(["export", str(trained), "--to", str(dest), "--dtype", "float16"]) == 2


def test_export_of_a_standardized_model_says_how_to_feed_it(tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--dataset", "blobs", "--samples", "30", "--steps", "3", "--no-plots", "--no-progress"]
    assert main(["train", *flags, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", str(out / "model.json"), "--output", str(tmp_path / "m.onnx")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("micrograd: note: this model was trained on standardized features")
    assert "(x - mean) / std" in err and err.count("\n") == 1
