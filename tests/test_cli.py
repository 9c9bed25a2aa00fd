"""The `micrograd` command: the default job end to end, `predict`, `--help`, and one-line errors
with nothing half-written. Run both in-process (`main(argv)`) and as a real subprocess."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from micrograd.cli import main

SMALL = ["--samples", "40", "--steps", "15", "--layers", "8", "--no-progress"]


def cli(*args: str, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    """`python -m micrograd ARGS` in a fresh process (stderr is not a terminal: no bar)."""
    return subprocess.run(
        [sys.executable, "-m", "micrograd", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def write_csv(path, header, rows) -> str:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def blobs_csv(path, n_classes=2, n=40, seed=3) -> str:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        c = i % n_classes
        rows.append([repr(3.0 * c + rng.gauss(0, 0.4)), repr(rng.gauss(0, 0.4) - 2.0 * c), c])
    return write_csv(path, ["a", "b", "label"], rows)


def folder_state(folder) -> dict:
    if not os.path.exists(folder):
        return {}
    return {n: Path(folder, n).read_bytes() for n in sorted(os.listdir(folder))}


# -- the default job ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """`python -m micrograd train` with no options but the output folder: the original demo."""
    out = tmp_path_factory.mktemp("default") / "run"
    proc = cli("train", "--out", str(out))
    return proc, out


def train_on_blobs(tmp_path, flags, blobs=None):
    """Train a model with `micrograd train` on a blobs CSV; return the CSV path and run folder."""
    data = blobs_csv(tmp_path / "train.csv", **(blobs or {}))
    out = tmp_path / "run"
    code = main(["train", "--dataset", data, *flags, "--no-progress", "--out", str(out)])
    assert code == 0
    return data, out


def test_default_job_reaches_full_training_accuracy(default_run):
    proc, out = default_run
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal, no warnings
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train_accuracy"] == 1.0
    assert metrics["steps"] == 100 and metrics["seed"] == 1337
    assert metrics["config"]["layers"] == [16, 16] and metrics["config"]["loss"] == "hinge"
    assert metrics["n_parameters"] == 337  # MLP(2, [16, 16, 1])
    assert metrics["final_loss"] < 0.05
    assert "train accuracy 100.0%" in proc.stdout


def test_default_job_writes_valid_files(default_run):
    Image = pytest.importorskip("PIL.Image")
    _, out = default_run
    assert sorted(os.listdir(out)) == [
        "curves.png",
        "decision_boundary.png",
        "metrics.json",
        "model.json",
    ]
    for name in ("curves.png", "decision_boundary.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(out / name) as im:
            im.load()
            assert im.format == "PNG" and min(im.size) > 300


def test_saved_model_reproduces_the_jobs_accuracy(default_run):
    from micrograd.data import make_moons
    from micrograd.serialize import load_model

    _, out = default_run
    model = load_model(out / "model.json")
    X, y = make_moons(n_samples=100, noise=0.1, seed=1337)
    predictions = [1 if model(x).data > 0 else 0 for x in X]
    assert predictions == list(y)  # 100% on the training data, recomputed from the file


def test_same_seed_twice_gives_identical_metrics(default_run, tmp_path):
    _, out = default_run
    assert main(["train", "--out", str(tmp_path), "--no-progress"]) == 0
    first = json.loads((out / "metrics.json").read_text())
    second = json.loads((tmp_path / "metrics.json").read_text())
    for m in (first, second):
        m.pop("timing")
        m["config"].pop("out")
    assert first == second


# -- in-process runs and predict ------------------------------------------------------------


def test_in_process_train_with_flags(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(
        [
            "train",
            *SMALL,
            "--dataset",
            "circles",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--schedule",
            "cosine",
            "--batch-size",
            "10",
            "--val-split",
            "0.25",
            "--activation",
            "tanh",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    metrics = json.loads((out / "metrics.json").read_text())
    cfg = metrics["config"]
    assert (cfg["dataset"], cfg["optimizer"], cfg["schedule"], cfg["batch_size"]) == (
        "circles",
        "adam",
        "cosine",
        10,
    )
    assert (cfg["activation"], cfg["seed"], cfg["val_split"]) == ("tanh", 3, 0.25)
    assert "val_accuracy" in metrics
    assert "val accuracy" in captured.out


def test_no_fused_flag(tmp_path):
    assert main(["train", *SMALL, "--no-fused", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "model.json").read_text())
    assert doc["architecture"]["fused"] is False


def test_predict_scores_a_csv_and_reports_accuracy(tmp_path, capsys):
    data, out = train_on_blobs(tmp_path, ["--steps", "40", "--layers", "8"])
    trained = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    preds = tmp_path / "preds.csv"
    code = main(
        ["predict", "--model", str(out / "model.json"), "--data", data, "--out", str(preds)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"accuracy {trained['train_accuracy']:.1%}" in captured.out
    with open(preds) as f:
        rows = list(csv.DictReader(f))
    with open(data) as f:
        truth = list(csv.DictReader(f))
    assert len(rows) == len(truth) == 40
    assert list(rows[0]) == ["a", "b", "label", "prediction", "score"]
    correct = sum(r["prediction"] == t["label"] for r, t in zip(rows, truth))
    assert correct / 40 == trained["train_accuracy"]
    # Each prediction is the sign of its score (hinge).
    assert all((float(r["score"]) > 0) == (r["prediction"] == "1") for r in rows)


def test_predict_with_a_tensor_engine_model(tmp_path, capsys):
    pytest.importorskip("micrograd.tensor.training")
    data, out = train_on_blobs(
        tmp_path,
        [
            "--engine",
            "tensor",
            "--loss",
            "cross_entropy",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--steps",
            "60",
            "--layers",
            "8",
            "--init",
            "he",
        ],
        blobs={"n_classes": 3, "n": 60},
    )
    trained = json.loads((out / "metrics.json").read_text())
    assert json.loads((out / "model.json").read_text())["engine"] == "tensor"
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", data]) == 0
    captured = capsys.readouterr()
    assert f"accuracy {trained['train_accuracy']:.1%}" in captured.err
    header = captured.out.splitlines()[0]
    assert header == "a,b,label,prediction,score_0,score_1,score_2"


def test_predict_without_labels_writes_csv_to_stdout(tmp_path, capsys):
    _data, out = train_on_blobs(tmp_path, ["--steps", "5", "--layers", "4"])
    unlabelled = write_csv(tmp_path / "new.csv", ["b", "a"], [["0.1", "0.2"], ["-2.0", "3.0"]])
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", unlabelled]) == 0
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0] == "b,a,prediction,score"  # the input's columns as they are, then ours
    assert lines[1].startswith("0.1,0.2,")
    assert "2 rows scored" in captured.err


# -- help -----------------------------------------------------------------------------------


def test_help_lists_commands_and_is_fast():
    t0 = time.perf_counter()
    proc = cli("--help")
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0
    for command in ("train", "predict", "graph"):
        assert command in proc.stdout
    assert elapsed < 5


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from micrograd.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('numpy', 'matplotlib', 'tqdm', 'graphviz') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_train_help_explains_every_flag(capsys):
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in (
        "--dataset",
        "--label",
        "--samples",
        "--noise",
        "--layers",
        "--activation",
        "--init",
        "--loss",
        "--optimizer",
        "--lr",
        "--schedule",
        "--steps",
        "--batch-size",
        "--val-split",
        "--seed",
        "--alpha",
        "--out",
        "--engine",
        "--no-fused",
        "--no-progress",
        "--no-plots",
        "--resume",
    ):
        assert flag in text
    assert "default: moons" in text


def test_console_script_is_installed():
    exe = shutil.which("micrograd")
    if exe is None:
        pytest.skip("the micrograd console script is not on PATH")
    proc = subprocess.run([exe, "predict", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "--model" in proc.stdout


# -- errors: one line, an exit code, nothing written ----------------------------------------


def bad_csv(tmp_path) -> str:
    path = tmp_path / "bad.csv"
    path.write_text("a,b,label\n1.0,2.0,0\n3.0,oops,1\n")
    return str(path)


def nan_args(tmp_path):
    return ["--loss", "mse", "--lr", "1e6", "--schedule", "constant", "--steps", "60"]


ERROR_CASES = {
    "unknown data set": (lambda t: ["--dataset", "nope"], 2, "unknown data set 'nope'"),
    "unknown flag": (lambda t: ["--colour", "red"], 2, "unrecognized arguments: --colour"),
    "bad layers": (lambda t: ["--layers", "16,x"], 2, "invalid layer sizes"),
    "empty layer size": (lambda t: ["--layers", "16,,16"], 2, "invalid layer sizes"),
    "bad loss": (lambda t: ["--loss", "huber"], 2, "invalid choice: 'huber'"),
    "bad split": (lambda t: ["--val-split", "1.5"], 2, "invalid fraction"),
    "missing csv": (lambda t: ["--dataset", str(t / "missing.csv")], 1, "no such file"),
    "malformed csv": (lambda t: ["--dataset", bad_csv(t)], 1, "line 3"),
    "labels do not fit": (
        lambda t: ["--dataset", blobs_csv(t / "three.csv", n_classes=3), "--loss", "hinge"],
        1,
        "exactly 2 classes",
    ),
    "nan loss": (nan_args, 1, "loss became"),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, capsys, case):
    make_args, code, message = ERROR_CASES[case]
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"from": "an earlier run"}')
    before = folder_state(out)
    assert main(["train", *SMALL, "--out", str(out), *make_args(tmp_path)]) == code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("micrograd: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err
    assert folder_state(out) == before


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", *SMALL, "--out", str(blocker / "run")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("micrograd: error: ")
    assert blocker.read_text() == "x"


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    proc = cli("train", "--dataset", bad_csv(tmp_path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("micrograd: error: ")
    assert not (tmp_path / "o").exists()
    proc = cli("train", "--bogus")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1


@pytest.mark.parametrize("content", ["", "{not json", '{"format": "something-else"}'])
def test_predict_with_a_bad_model_file(tmp_path, capsys, content):
    model = tmp_path / "model.json"
    model.write_text(content)
    data = blobs_csv(tmp_path / "d.csv")
    preds = tmp_path / "preds.csv"
    code = main(["predict", "--model", str(model), "--data", data, "--out", str(preds)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("micrograd: error: ") and str(model) in err[0]
    assert model.read_text() == content
    assert not preds.exists()


def test_predict_with_missing_feature_columns(tmp_path, capsys):
    _data, out = train_on_blobs(tmp_path, ["--steps", "3", "--layers", "4"])
    other = write_csv(tmp_path / "other.csv", ["a", "c"], [["1", "2"]])
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", other]) == 1
    err = capsys.readouterr().err
    assert "missing ['b']" in err and err.count("\n") == 1


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "train" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, message",
    [("", "empty"), ("\na,b\n0.5,0.2\n\n1,oops\n", "line 5, column 'b'")],
)
def test_predict_on_a_bad_unlabelled_csv(tmp_path, capsys, content, message):
    _data, out = train_on_blobs(tmp_path, ["--steps", "2", "--layers", "4"])
    bad = tmp_path / "new.csv"
    bad.write_text(content)
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("micrograd: error: ") and message in lines[0]


def test_missing_matplotlib_is_reported_before_training(tmp_path, capsys, monkeypatch):
    import importlib.util

    from micrograd import train

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a),
    )
    monkeypatch.setattr(train, "load_data", lambda c: pytest.fail("trained without matplotlib"))
    assert main(["train", *SMALL, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "matplotlib" in err[0] and "pip install" in err[0]
    assert not (tmp_path / "o").exists()


# -- help and usage errors (issue 9, item 14) -----------------------------------------------


@pytest.mark.parametrize("command", ["train", "predict", "data"])
def test_help_shows_only_defaults_that_mean_something(capsys, command):
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # lines unwrapped
    for wrong in ("(default: None)", "(default: True)", "(default: False)", "(default: ("):
        assert wrong not in text
    assert "(default: )" not in text  # an empty list (--drop) has no default to show
    if command == "train":
        # as it is typed, not a Python tuple; per data set where the data set decides
        assert "(default per data set: moons circles blobs spirals xor: 16,16; digits: 32)" in text
        assert "times slower) --no-progress" in text  # --no-fused: an on/off switch, no default
    if command == "predict":
        assert "--model FILE a model.json written by 'micrograd train' --data" in text
        assert "(default: stdout)" in text and "--proba" in text


USAGE_ERRORS = {
    "abbreviation": (
        ["train", "--step", "5"],
        "unrecognized arguments: --step 5; did you mean --steps?",
    ),
    "misspelled flag": (["train", "--batchsize", "3"], "did you mean --batch-size?"),
    "no close flag": (["train", "--colour", "red"], "unrecognized arguments: --colour red (see"),
    "predict flag": (
        ["predict", "--model", "m.json", "--data", "d.csv", "--prob"],
        "did you mean --proba? (see 'micrograd predict --help')",
    ),
    "graph flag": (["graph", "-o", "g.svg", "--neuorn", "2"], "did you mean --neuron?"),
    "command": (["trian"], "invalid choice: 'trian'"),
    "choice": (["train", "--loss", "hinj"], "invalid choice: 'hinj'"),
}
USAGE_HELP = {"command": "did you mean 'train'? (see 'micrograd --help')"}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_errors_suggest_a_fix_and_name_the_commands_help(capsys, case):
    argv, message = USAGE_ERRORS[case]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("micrograd: error: "), err
    assert message in lines[0]
    command = argv[0] if argv[0] != "trian" else None
    help_hint = f"(see 'micrograd {command} --help')" if command else USAGE_HELP["command"]
    assert lines[0].endswith(help_hint)
    if case == "choice":
        assert "did you mean 'hinge'?" in lines[0]


def test_abbreviated_flags_are_not_taken(tmp_path, capsys):
    # --step is not --steps, --out-dir is not --out: nothing runs, nothing is written.
    assert main(["train", "--step", "5", "--out", str(tmp_path / "o")]) == 2
    assert main(["train", *SMALL, "--ou", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


# -- messages (issue 9, item 9) -------------------------------------------------------------


def test_unknown_data_set_lists_each_name_once(capsys):
    assert main(["train", "--dataset", "mons", *SMALL]) == 2
    line = capsys.readouterr().err.strip()
    assert "choose one of blobs, circles, digits, moons, spirals, xor," in line
    assert line.count("digits") == 1


def test_a_folder_as_data_set_is_named_a_folder(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    assert main(["train", "--dataset", str(folder), *SMALL, "--out", str(tmp_path / "o")]) == 1
    line = capsys.readouterr().err.strip()
    assert "it is a folder, not a CSV file" in line and "no such file" not in line


def test_graph_into_a_missing_folder_names_it(tmp_path, capsys):
    out = tmp_path / "missing" / "g.svg"
    assert main(["graph", "a*b", "--values", "a=1,b=2", "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (f"micrograd: error: cannot write {out}: the folder {out.parent} does not exist")
    assert "Errno" not in err and not out.parent.exists()


# -- output paths checked before training (issue 9, item 8) -------------------------------------


def _dangling(t):
    os.symlink(t / "nowhere", t / "link")
    return str(t / "link")


def _model_json_folder(t):
    (t / "run" / "model.json").mkdir(parents=True)
    return str(t / "run")


def _inside_a_file(t):
    (t / "file").write_text("x")
    return str(t / "file" / "run")


@pytest.mark.parametrize(
    "make_out, message",
    [
        (lambda t: "", "the output folder is ''"),
        (_dangling, "is a symbolic link to"),
        (_inside_a_file, "not a folder"),
        (_model_json_folder, "model.json (a folder)"),
    ],
)
def test_unusable_output_is_refused_before_training(
    tmp_path, capsys, monkeypatch, make_out, message
):
    from micrograd import train

    out = make_out(tmp_path)
    monkeypatch.setattr(train, "load_data", lambda c: pytest.fail("trained before checking --out"))
    before = sorted(os.listdir(tmp_path))
    assert main(["train", *SMALL, "--out", out]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("micrograd: error: ") and message in lines[0]
    if out:
        assert out in lines[0]  # the user's path, never a temporary one
    assert sorted(os.listdir(tmp_path)) == before


# -- one-neuron layers, warnings, a bare install (items 6, 11, 17) ------------------------------


@pytest.mark.parametrize("layers", ["1", "4,1", "1,4"])
def test_one_neuron_layers_train_from_the_command_line(tmp_path, layers):
    proc = cli("train", *SMALL, "--layers", layers, "--no-plots", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    arch = json.loads((tmp_path / "o" / "model.json").read_text())["architecture"]
    assert arch["nouts"] == [int(n) for n in layers.split(",")] + [1]


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_divergence_is_one_warning_line_and_no_runtime_warnings(tmp_path, engine):
    if engine == "tensor":
        pytest.importorskip("micrograd.tensor.training")
    proc = cli(
        "train", "--optimizer", "adam", "--lr", "1e3", "--steps", "30", "--engine", engine,
        "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # no RuntimeWarning from numpy or matplotlib
    assert lines[0].startswith("micrograd: warning: training made the loss worse")
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["diverged"] is True


BARE = (
    "import sys\n"
    "for name in ('numpy', 'matplotlib', 'tqdm', 'sklearn', 'torch'):\n"
    "    sys.modules[name] = None  # as if not installed: importing it raises ImportError\n"
    "from micrograd.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_no_plots_trains_on_a_bare_install(tmp_path):
    out = tmp_path / "o"
    args = [sys.executable, "-c", BARE, "train", *SMALL, "--out", str(out)]
    proc = subprocess.run([*args, "--no-plots"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "model.json"]
    # Without --no-plots: one line saying what is missing and both ways out.
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "numpy" in proc.stderr and "--no-plots" in proc.stderr
    assert sorted(os.listdir(out)) == ["metrics.json", "model.json"]


def test_digits_with_no_loss_from_the_command_line(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "d"
    flags = ["--dataset", "digits", "--steps", "2", "--batch-size", "16", "--layers", "4"]
    assert main(["train", *flags, "--no-plots", "--no-progress", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["config"]["loss"] == "cross_entropy"
    assert "test accuracy" in capsys.readouterr().out


def test_an_overflowing_tensor_loss_is_one_line_without_numpy_warnings(tmp_path):
    pytest.importorskip("micrograd.tensor.training")
    proc = cli(
        "train", "--engine", "tensor", *nan_args(tmp_path), "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "RuntimeWarning" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("micrograd: error: the loss became")
    assert not (tmp_path / "o").exists()


# -- which scalar engine trains ----------------------------------------------------------------


def test_training_output_opens_with_the_scalar_engine_that_runs(tmp_path):
    from micrograd import engine

    quick = ["--steps", "1", "--no-plots", "--no-progress"]
    proc = cli("train", *quick, "--out", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    if engine.IMPLEMENTATION == "compiled":
        assert first == "scalar engine: compiled (micrograd/_cengine.c)"
    env = {**os.environ, "MICROGRAD_PURE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "micrograd", "train", *quick, "--out", str(tmp_path / "b")],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("scalar engine: pure Python, because MICROGRAD_PURE is set;")
    assert "3-7x as long as on the compiled engine" in first
    assert proc.stdout.splitlines()[1].startswith("final loss")
    # The tensor engine does not use the scalar one: no such line.
    pytest.importorskip("micrograd.tensor.training")
    proc = cli("train", *quick, "--engine", "tensor", "--out", str(tmp_path / "c"))
    assert proc.returncode == 0 and proc.stdout.startswith("final loss"), proc.stderr


def test_a_missing_compiled_engine_is_explained(monkeypatch, tmp_path, capsys):
    """Installed where no C compiler was found: the extension is not there at all."""
    import importlib.util

    from micrograd import engine, train

    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "micrograd._cengine" else real_find_spec(name, *args)

    monkeypatch.delenv("MICROGRAD_PURE", raising=False)
    monkeypatch.setattr(engine, "IMPLEMENTATION", "pure")
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    note = train.scalar_engine_note()
    assert note.startswith("scalar engine: pure Python, because the compiled extension was not")
    assert "no C compiler was found at install" in note and "--engine tensor" in note
    quick = ["--steps", "1", "--no-plots", "--no-progress"]
    assert main(["train", *quick, "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == note


# -- one output flag, CSV columns, epochs ---------------------------------------------------------


def one_line(err: str) -> str:
    """The one line of a CLI error (and nothing else on stderr)."""
    assert err.count("\n") == 1 and err.startswith("micrograd: error: "), err
    return err.strip()


def test_every_output_path_takes_o_out_and_output(tmp_path, capsys):
    """-o, --out and --output name the output of train, predict, data, graph and export."""
    for flag in ("-o", "--out", "--output"):
        folder = tmp_path / flag.strip("-")
        folder.mkdir()
        run = folder / "run"
        assert main(["train", *SMALL, "--no-plots", flag, str(run)]) == 0
        assert (run / "model.json").exists()
        assert main(["data", "moons", "--samples", "5", flag, str(folder / "d.csv")]) == 0
        model, data = str(run / "model.json"), str(folder / "d.csv")
        assert main(["predict", "--model", model, "--data", data, flag, str(folder / "p.csv")]) == 0
        assert (folder / "p.csv").read_text().startswith("x0,x1,label,prediction,score")
        graph = ["graph", "a*b", "--values", "a=2,b=3", "--format", "dot"]
        assert main([*graph, flag, str(folder / "g.dot")]) == 0
        assert "digraph" in (folder / "g.dot").read_text()
    capsys.readouterr()
    for command in ("train", "predict", "data", "graph", "export"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert "-o " in text and "--out " in text and "--output " in text, command


def test_an_expression_that_starts_with_a_minus_gets_a_hint(tmp_path, capsys):
    for expression in ("-x*2", "-x"):
        assert main(["graph", expression, "--values", "x=3", "-o", str(tmp_path / "g.svg")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("micrograd: error: ")
        assert f"put it after '--', as in micrograd graph -o graph.svg -- \"{expression}\"" in err
    # A flag after '--' is a value: said so, instead of "did you mean" the same flag.
    assert main(["graph", "-o", str(tmp_path / "g.svg"), "--", "-x*2", "--values", "x=3"]) == 2
    assert "put --values before '--'" in capsys.readouterr().err


def test_every_command_reports_errors_with_one_prefix(tmp_path, capsys):
    """`micrograd: error: ...` from every command, usage errors and failed jobs alike."""
    missing = str(tmp_path / "missing")
    cases = [
        ["train", "--dataset", missing + ".csv", "--out", str(tmp_path / "o")],
        ["predict", "--model", missing, "--data", missing],
        ["data", "moons", "--out", str(tmp_path / "no" / "d.csv")],
        ["graph", "a*b", "-o", str(tmp_path / "no" / "g.svg")],
        ["graph", "a*", "-o", str(tmp_path / "g.svg")],
        ["export", missing, "--to", str(tmp_path / "m.onnx")],
        ["train", "--stepz", "3"],
    ]
    for argv in cases:
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert err.startswith("micrograd: error: ") and err.count("\n") == 1, (argv, err)


def test_csv_columns_chosen_dropped_and_text_ones_left_out(tmp_path, capsys):
    rng = random.Random(5)
    rows = []
    for i in range(40):
        c = i % 2
        a, b = 3.0 * c + rng.gauss(0, 0.4), rng.gauss(0, 0.4) - 2.0 * c
        rows.append([f"id{i}", repr(a), repr(b), repr(rng.gauss(0, 1)), ["cat", "dog"][c]])
    data = write_csv(tmp_path / "pets.csv", ["id", "a", "b", "noise", "species"], rows)
    base = ["train", "--dataset", data, "--label", "species", *SMALL, "--no-plots"]

    def features(out) -> list:
        return json.loads((out / "model.json").read_text())["metadata"]["features"]

    # The text column is left out, with one note naming it and the flag that silences it.
    assert main([*base, "--out", str(tmp_path / "all")]) == 0
    err = capsys.readouterr().err
    assert features(tmp_path / "all") == ["a", "b", "noise"]
    notes = [line for line in err.splitlines() if "'id'" in line]
    assert len(notes) == 1 and "--drop id" in notes[0] and "'id0'" in notes[0]
    # --drop: no note; --features: those columns, in that order.
    assert main([*base, "--drop", "id,noise", "--out", str(tmp_path / "drop")]) == 0
    assert "'id'" not in capsys.readouterr().err and features(tmp_path / "drop") == ["a", "b"]
    assert main([*base, "--features", "b,a", "--out", str(tmp_path / "chosen")]) == 0
    assert features(tmp_path / "chosen") == ["b", "a"]
    # predict takes the chosen columns by name and copies the rest.
    scored = tmp_path / "scored.csv"
    model = str(tmp_path / "chosen" / "model.json")
    assert main(["predict", "--model", model, "--data", data, "--out", str(scored)]) == 0
    assert scored.read_text().startswith("id,a,b,noise,species,prediction,score")
    # Mistakes are one line naming the column.
    for flags, message in (
        (["--features", "a,id"], "line 2, column 'id': 'id0' is not a number"),
        (["--features", "a,weight"], "features names 'weight', not in the header"),
        (["--drop", "species"], "drop names the label column 'species'"),
        (["--features", "a", "--drop", "a"], "'a' is both in features and in drop"),
    ):
        assert main([*base, *flags, "--out", str(tmp_path / "bad")]) != 0
        assert message in one_line(capsys.readouterr().err), flags
    assert main(["train", "--features", "x0", "--out", str(tmp_path / "bad")]) == 2
    assert "choose the columns of a CSV file" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_epochs_beside_steps(tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--samples", "40", "--layers", "4", "--no-plots", "--no-progress"]
    assert main(["train", *flags, "--epochs", "2", "--batch-size", "16", "--out", str(out)]) == 0
    assert "(6 steps," in capsys.readouterr().out  # 40 rows, batches of 16: 3 steps per epoch
    assert json.loads((out / "metrics.json").read_text())["config"]["epochs"] == 2
    assert main(["train", *flags, "--epochs", "2", "--steps", "5", "--out", str(out)]) == 2
    err = one_line(capsys.readouterr().err)
    assert "steps (5) or epochs (2), not both" in err


def test_picture_legend_names_the_classes(tmp_path, monkeypatch):
    from micrograd import plots

    seen = {}
    real = plots.decision_boundary_png

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "decision_boundary_png", spy)
    rows = [
        [repr(3.0 * (i % 2) + 0.1 * i / 40), repr(i / 40), ["cat", "dog"][i % 2]] for i in range(40)
    ]
    data = write_csv(tmp_path / "pets.csv", ["weight", "height", "species"], rows)
    out = tmp_path / "run"
    assert main(["train", "--dataset", data, "--label", "species", *SMALL, "--out", str(out)]) == 0
    assert seen["class_names"] == ["cat", "dog"]
    fig = plots.decision_boundary_figure(
        lambda p: [0] * len(p), [[0, 0], [1, 1]], [0, 1], class_names=["cat", "dog"]
    )
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["cat", "dog"]
