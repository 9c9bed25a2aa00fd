"""`micrograd predict` and `micrograd data`: text class labels, columns passed through, class
probabilities, checked model metadata, crafted model files, and the README's example as written.
In-process (`main(argv)`) where possible; in a real process for the one-line-error checks."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import shlex
import stat
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from micrograd.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
QUICK = ["--layers", "8", "--no-progress"]


def cli(*args: str, cwd=None, limit_memory=False) -> subprocess.CompletedProcess:
    """`python -m micrograd ARGS` in a fresh process, optionally with 1 GiB of address space."""
    preexec = None
    if limit_memory:
        import resource

        def preexec():
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-m", "micrograd", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
        preexec_fn=preexec,
    )


def pets_csv(path, classes=("dog", "cat", "bird"), n=60, seed=0, with_id=False) -> str:
    """Two features per animal, a text label; clusters far apart, so a small model is exact."""
    centres = {"dog": (3.0, 1.0), "cat": (1.0, -1.0), "bird": (-1.0, 2.0)}
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(["id"] if with_id else []), "weight", "height", "species"])
        for i in range(n):
            c = classes[i % len(classes)]
            x, y = (v + rng.gauss(0, 0.3) for v in centres[c])
            w.writerow([*([f"a{i:03d}"] if with_id else []), f"{x:.3f}", f"{y:.3f}", c])
    return str(path)


def read_csv(path_or_text, text=False) -> list[dict]:
    lines = path_or_text.splitlines() if text else Path(path_or_text).read_text().splitlines()
    return list(csv.DictReader(lines))


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("micrograd: error: ") and "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def pets_model(tmp_path_factory):
    """A 3-class cross-entropy model trained on text labels (dog, cat, bird)."""
    folder = tmp_path_factory.mktemp("pets")
    data = pets_csv(folder / "pets.csv")
    out = folder / "run"
    args = ["train", "--dataset", data, "--label", "species", "--loss", "cross_entropy"]
    assert main([*args, "--steps", "60", *QUICK, "--out", str(out)]) == 0
    return data, out / "model.json", json.loads((out / "metrics.json").read_text())


# -- text class labels ------------------------------------------------------------------------


def test_text_labels_train_and_come_back_as_text(pets_model, capsys):
    data, model, metrics = pets_model
    meta = json.loads(Path(model).read_text())["metadata"]
    assert meta["classes"] == ["bird", "cat", "dog"]  # class index i is classes[i], sorted
    assert meta["label"] == "species" and meta["features"] == ["weight", "height"]
    assert metrics["n_classes"] == 3
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", data]) == 0
    captured = capsys.readouterr()
    rows = read_csv(captured.out, text=True)
    assert list(rows[0]) == [
        "weight", "height", "species", "prediction", "score_bird", "score_cat", "score_dog"
    ]  # fmt: skip
    assert {r["prediction"] for r in rows} == {"bird", "cat", "dog"}
    correct = sum(r["prediction"] == r["species"] for r in rows) / len(rows)
    assert correct == metrics["train_accuracy"]
    assert f"accuracy {metrics['train_accuracy']:.1%}" in captured.err
    # Each prediction is the class with the largest score.
    for r in rows:
        scores = {c: float(r[f"score_{c}"]) for c in ("bird", "cat", "dog")}
        assert r["prediction"] == max(scores, key=scores.get)


def test_text_labels_on_the_tensor_engine(tmp_path, capsys):
    pytest.importorskip("micrograd.tensor.training")
    data = pets_csv(tmp_path / "pets.csv", classes=("dog", "cat"))
    out = tmp_path / "run"
    flags = ["--label", "species", "--engine", "tensor", "--steps", "30", *QUICK]
    assert main(["train", "--dataset", data, *flags, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", data]) == 0
    rows = read_csv(capsys.readouterr().out, text=True)
    assert {r["prediction"] for r in rows} <= {"cat", "dog"}
    assert sum(r["prediction"] == r["species"] for r in rows) >= 0.9 * len(rows)


def test_text_labels_with_a_regression_loss_are_refused(tmp_path, capsys):
    data = pets_csv(tmp_path / "pets.csv")
    out = tmp_path / "run"
    args = ["train", "--dataset", data, "--label", "species", "--loss", "mse", *QUICK]
    assert main([*args, "--out", str(out)]) == 1
    assert "holds class names" in one_line_error(capsys.readouterr().err)
    assert not out.exists()


# -- the output table -------------------------------------------------------------------------


def test_other_columns_are_passed_through_unchanged(pets_model, tmp_path, capsys):
    _data, model, _ = pets_model
    # An id column, the features in another order, an extra note, numbers written oddly.
    new = tmp_path / "new.csv"
    new.write_text("id,height,note,weight\nx-17,1.0e0,first,3.00\ny-2, -1 ,,1\n")
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(model), "--data", str(new), "--out", str(out)]) == 0
    assert "2 rows scored; wrote" in capsys.readouterr().out  # no label column: no accuracy
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "height", "note", "weight", "prediction", *[
        f"score_{c}" for c in ("bird", "cat", "dog")
    ]]  # fmt: skip
    assert rows[1][:4] == ["x-17", "1.0e0", "first", "3.00"]  # the cells as they were
    assert rows[2][:4] == ["y-2", " -1 ", "", "1"]
    assert [rows[1][4], rows[2][4]] == ["dog", "cat"]  # (3, 1) is a dog, (1, -1) a cat


def test_proba_gives_softmax_probabilities(pets_model, capsys):
    data, model, _ = pets_model
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", data]) == 0
    scores = read_csv(capsys.readouterr().out, text=True)
    assert main(["predict", "--model", str(model), "--data", data, "--proba"]) == 0
    probas = read_csv(capsys.readouterr().out, text=True)
    assert list(probas[0])[3:] == ["prediction", "proba_bird", "proba_cat", "proba_dog"]
    for s, p in zip(scores, probas):
        z = [float(s[f"score_{c}"]) for c in ("bird", "cat", "dog")]
        softmax = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
        got = [float(p[f"proba_{c}"]) for c in ("bird", "cat", "dog")]
        assert got == pytest.approx(softmax, rel=1e-12)
        assert sum(got) == pytest.approx(1.0)
        assert p["prediction"] == s["prediction"]


def test_proba_of_a_bce_model_is_the_sigmoid(tmp_path, capsys):
    data = pets_csv(tmp_path / "pets.csv", classes=("dog", "cat"))
    out = tmp_path / "run"
    flags = ["--label", "species", "--loss", "bce", "--steps", "30", *QUICK]
    assert main(["train", "--dataset", data, *flags, "--out", str(out)]) == 0
    capsys.readouterr()
    model = str(out / "model.json")
    assert main(["predict", "--model", model, "--data", data]) == 0
    scores = read_csv(capsys.readouterr().out, text=True)
    assert main(["predict", "--model", model, "--data", data, "--proba"]) == 0
    probas = read_csv(capsys.readouterr().out, text=True)
    assert list(probas[0])[3:] == ["prediction", "proba_cat", "proba_dog"]
    for s, p in zip(scores, probas):
        dog = 1 / (1 + math.exp(-float(s["score"])))  # class 1 is "dog" (sorted: cat, dog)
        assert float(p["proba_dog"]) == pytest.approx(dog, rel=1e-12)
        assert float(p["proba_cat"]) == pytest.approx(1 - dog, rel=1e-12, abs=1e-15)
        assert p["prediction"] == ("dog" if dog > 0.5 else "cat")


def test_proba_of_a_hinge_model_is_a_usage_error(tmp_path, capsys):
    data = pets_csv(tmp_path / "pets.csv", classes=("dog", "cat"))
    out = tmp_path / "run"
    flags = ["--label", "species", "--steps", "2", *QUICK]
    assert main(["train", "--dataset", data, *flags, "--out", str(out)]) == 0
    capsys.readouterr()
    code = main(["predict", "--model", str(out / "model.json"), "--data", data, "--proba"])
    assert code == 2
    line = one_line_error(capsys.readouterr().err)
    assert "loss 'hinge' gives scores, not probabilities" in line and "bce" in line


def test_a_regression_model_predicts_its_output(tmp_path, capsys):
    rng = random.Random(1)
    rows = [[f"{x:.3f}", f"{2 * x + 0.5 + rng.gauss(0, 0.01):.4f}"] for x in range(-5, 6)]
    data = tmp_path / "line.csv"
    data.write_text("x,y\n" + "\n".join(",".join(r) for r in rows) + "\n")
    out = tmp_path / "run"
    flags = ["--label", "y", "--loss", "mse", "--optimizer", "adam", "--lr", "0.05"]
    assert (
        main(["train", "--dataset", str(data), *flags, "--steps", "40", *QUICK, "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    assert main(["predict", "--model", str(out / "model.json"), "--data", str(data)]) == 0
    captured = capsys.readouterr()
    table = read_csv(captured.out, text=True)
    assert all(r["prediction"] == r["score"] for r in table)  # a number, not a rounded class
    mse = sum((float(r["score"]) - float(r["y"])) ** 2 for r in table) / len(table)
    assert f"mean squared error {mse:.6g}" in captured.err


def test_a_model_saved_without_metadata_uses_the_other_columns(tmp_path, capsys):
    from micrograd.nn import MLP
    from micrograd.serialize import save_model

    random.seed(0)
    model = MLP(2, [4, 1])
    save_model(model, tmp_path / "m.json")
    data = tmp_path / "d.csv"
    data.write_text("u,v,label\n0.5,-1,1\n2,3,0\n")
    capsys.readouterr()
    assert main(["predict", "--model", str(tmp_path / "m.json"), "--data", str(data)]) == 0
    rows = read_csv(capsys.readouterr().out, text=True)
    assert [float(r["score"]) for r in rows] == [model([0.5, -1.0]).data, model([2.0, 3.0]).data]


# -- errors: one line naming the file ----------------------------------------------------------


def test_a_label_the_model_never_saw(pets_model, tmp_path, capsys):
    data, model, _ = pets_model
    text = Path(data).read_text().replace(",bird\n", ",fish\n", 1)
    other = tmp_path / "fish.csv"
    other.write_text(text)
    line_no = text.splitlines().index(next(s for s in text.splitlines() if s.endswith("fish"))) + 1
    out = tmp_path / "preds.csv"
    assert main(["predict", "--model", str(model), "--data", str(other), "--out", str(out)]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"{other}, line {line_no}, column 'species': 'fish' is not a class" in line
    assert "'bird', 'cat', 'dog'" in line
    assert not out.exists()


def _meta(key, value):
    return lambda d: d["metadata"].__setitem__(key, value)


CRAFTED_METADATA = {
    "short classes": (_meta("classes", ["bird"]), "'classes' lists 1 class labels"),
    "classes not a list": (_meta("classes", 3), "'classes' must be a list of class labels"),
    "duplicate classes": (_meta("classes", ["a", "a", "b"]), "names a class twice"),
    "features not a list": (_meta("features", 5), "'features' must be a list of column names"),
    "feature names not text": (_meta("features", [1, 2]), "must be a list of column names"),
    "too few features": (_meta("features", ["weight"]), "must name the model's 2 inputs"),
    "label not text": (_meta("label", 5), "'label' must be a column name, got 5"),
    "unknown loss": (_meta("loss", "huber"), "'loss' is 'huber'; expected one of"),
    "loss does not fit": (
        _meta("loss", "hinge"),
        "loss 'hinge' needs 1 output, but the model has 3",
    ),
    "n_classes": (_meta("n_classes", "ten"), "'n_classes' must be a whole number"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED_METADATA))
def test_crafted_metadata_gives_one_line_naming_the_file(pets_model, tmp_path, capsys, case):
    data, model, _ = pets_model
    edit, problem = CRAFTED_METADATA[case]
    doc = json.loads(Path(model).read_text())
    edit(doc)
    crafted = tmp_path / "model.json"
    crafted.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["predict", "--model", str(crafted), "--data", data]) == 1
    captured = capsys.readouterr()
    line = one_line_error(captured.err)
    assert line.startswith(f"micrograd: error: {crafted}: ") and problem in line
    assert captured.out == ""


def test_an_output_column_the_file_already_has(pets_model, tmp_path, capsys):
    _data, model, _ = pets_model
    new = tmp_path / "again.csv"
    new.write_text("weight,height,prediction\n1,2,dog\n")
    assert main(["predict", "--model", str(model), "--data", str(new)]) == 1
    assert "already has a column 'prediction'" in one_line_error(capsys.readouterr().err)


def test_output_paths_are_checked_before_the_work(pets_model, tmp_path, capsys):
    data, model, _ = pets_model
    before = Path(data).read_bytes()
    cases = {
        str(tmp_path): "is a folder",
        data: "would overwrite the --data file",
        str(model): "would overwrite the --model file",
    }
    for out, problem in cases.items():
        assert main(["predict", "--model", str(model), "--data", data, "--out", out]) == 1
        line = one_line_error(capsys.readouterr().err)
        assert problem in line
        assert out in line or problem.startswith("would")
    assert Path(data).read_bytes() == before


def test_a_missing_output_folder_is_named(pets_model, tmp_path, capsys):
    data, model, _ = pets_model
    out = tmp_path / "missing" / "p.csv"
    assert main(["predict", "--model", str(model), "--data", data, "--out", str(out)]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"cannot write {out}: the folder {out.parent} does not exist" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
@pytest.mark.parametrize("command", ["predict", "data"])
def test_out_to_a_pipe_writes_into_it_and_keeps_it(pets_model, tmp_path, capsys, command):
    # issue 9 trial: `--out /dev/null` (as root) replaced the device node with a regular file.
    data, model, _ = pets_model
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()), daemon=True)
    reader.start()
    if command == "predict":
        argv = ["predict", "--model", str(model), "--data", data, "--out", str(pipe)]
    else:
        argv = ["data", "moons", "--samples", "5", "--out", str(pipe)]
    assert main(argv) == 0
    reader.join(10)
    assert got and got[0].splitlines()[0].startswith(("weight,height,species", "x0,x1,label"))
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and os.listdir(tmp_path) == ["pipe"]


def test_out_through_a_link_writes_its_target(pets_model, tmp_path, capsys):
    data, model, _ = pets_model
    (tmp_path / "real.csv").write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to("real.csv")
    assert main(["predict", "--model", str(model), "--data", data, "--out", str(link)]) == 0
    assert link.is_symlink()
    assert (tmp_path / "real.csv").read_text().startswith("weight,height,species,prediction")


def test_out_as_a_dangling_link_is_refused_before_the_work(pets_model, tmp_path, capsys):
    data, model, _ = pets_model
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "gone" / "out.csv")
    assert main(["predict", "--model", str(model), "--data", data, "--out", str(link)]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"cannot write {link}: it is a symbolic link to" in line
    assert link.is_symlink() and not (tmp_path / "gone").exists()


CRAFTED_FILES = {
    "huge layers": lambda good: good.replace('"nouts": [', '"nouts": [10000, 10000, ', 1),
    "huge nin": lambda good: good.replace('"nin": 2', '"nin": 100000000000', 1),
    "deep nesting": lambda good: "[" * 200_000 + "]" * 200_000,
    "infinite weight": lambda good: good.replace('"data": ', '"data": 1e999, "x": ', 1),
    "NaN weight": lambda good: good.replace('"data": ', '"data": NaN, "x": ', 1),
    "4000-digit weight": lambda good: good.replace('"data": ', f'"data": {"7" * 4000}, "x": ', 1),
}


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    assert main(["train", "--samples", "20", "--steps", "2", *QUICK, "--out", str(folder)]) == 0
    data = folder / "d.csv"
    data.write_text("x0,x1\n0.5,0.25\n")
    return (folder / "model.json").read_text(), data


@pytest.mark.parametrize("case", sorted(CRAFTED_FILES))
def test_crafted_model_files_fail_fast_in_one_line(small_model, tmp_path, case):
    good, data = small_model
    crafted = tmp_path / "crafted.json"
    crafted.write_text(CRAFTED_FILES[case](good))
    # 1 GiB of address space: building the crafted architecture would need tens of GB.
    proc = cli("predict", "--model", str(crafted), "--data", str(data), limit_memory=True)
    assert proc.returncode == 1, proc.stderr
    assert one_line_error(proc.stderr).startswith(f"micrograd: error: {crafted}: ")
    assert proc.stdout == ""


def test_a_crafted_tensor_dtype_fails_in_one_line(small_model, tmp_path):
    pytest.importorskip("numpy")
    from micrograd.serialize import save_model
    from micrograd.tensor.nn import MLP as TensorMLP

    _, data = small_model
    path = tmp_path / "tensor.json"
    save_model(TensorMLP(2, [4, 1], rng=0), path, metadata={"loss": "hinge"})
    doc = json.loads(path.read_text())
    doc["parameters"][0]["dtype"] = "S2000000000"
    path.write_text(json.dumps(doc))
    proc = cli("predict", "--model", str(path), "--data", str(data), limit_memory=True)
    assert proc.returncode == 1
    assert "dtype 'S2000000000'" in one_line_error(proc.stderr)


# -- micrograd data -----------------------------------------------------------------------------


def test_data_writes_the_points_train_uses(tmp_path, capsys):
    from micrograd.data import load_csv, make_moons

    out = tmp_path / "moons.csv"
    args = ["--samples", "30", "--noise", "0.2", "--seed", "4"]
    assert main(["data", "moons", *args, "--out", str(out)]) == 0
    assert "30 rows, columns x0, x1, label" in capsys.readouterr().out
    assert out.read_text().splitlines()[0] == "x0,x1,label"
    X, y, names = load_csv(out)
    assert (X, y) == make_moons(30, noise=0.2, seed=4) and names == ["x0", "x1"]  # exact floats
    # Training on the CSV is training on the built-in set: the same metrics, bit for bit.
    runs = []
    for dataset in ("moons", str(out)):
        run = tmp_path / f"run{len(runs)}"
        flags = ["--steps", "5", *QUICK, "--out", str(run)]
        assert main(["train", "--dataset", dataset, *args, *flags]) == 0
        runs.append(json.loads((run / "metrics.json").read_text()))
    assert runs[0]["history"] == runs[1]["history"]


def test_data_digits_columns(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "digits.csv"
    assert main(["data", "digits", "--samples", "50", "--out", str(out)]) == 0
    header = out.read_text().splitlines()[0].split(",")
    assert header == [f"pixel_{i}" for i in range(64)] + ["label"]
    assert len(out.read_text().splitlines()) == 51


def test_data_errors(tmp_path, capsys):
    assert main(["data", "moonz", "--out", str(tmp_path / "x.csv")]) == 2
    assert "did you mean 'moons'?" in one_line_error(capsys.readouterr().err)
    assert main(["data", "moons", "--out", str(tmp_path / "no" / "x.csv")]) == 1
    assert "does not exist" in one_line_error(capsys.readouterr().err)
    assert main(["data", "moons", "--noise", "-1", "--out", str(tmp_path / "x.csv")]) == 1
    assert "noise" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "x.csv").exists()


# -- the README's examples ----------------------------------------------------------------------


def readme_commands() -> list[list[str]]:
    """Every `micrograd ...` command of the README's bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["micrograd"]:
                commands.append(words[1:])
    return commands


def test_readme_predict_example_runs_as_written(tmp_path):
    """The README's scoring example, command by command, in an empty folder."""
    commands = readme_commands()
    start = next(i for i, c in enumerate(commands) if c[0] == "data")
    example = commands[start - 1 : start + 2]
    assert [c[0] for c in example] == ["train", "data", "predict"]
    for args in example:
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
    out = example[-1][example[-1].index("--out") + 1]
    header = (tmp_path / out).read_text().splitlines()[0]
    assert header == "x0,x1,label,prediction,score"
    assert f"\n# {proc.stdout.strip()}\n" in README.read_text()  # the summary it quotes


def test_readme_train_examples_write_distinct_folders():
    """So that one example's model does not replace the one the next example scores."""
    outs = []
    for args in readme_commands():
        if args[0] == "train":
            outs.append(args[args.index("--out") + 1] if "--out" in args else "runs/latest")
        if args[0] == "predict":
            model = args[args.index("--model") + 1]
            assert str(Path(model).parent) in outs, f"{model} is written by no earlier example"
    assert len(outs) == len(set(outs)), outs


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_outputs_that_overflow_are_an_error_not_nan_predictions(tmp_path, capsys, engine):
    if engine == "tensor":
        pytest.importorskip("numpy")
    from micrograd.nn import MLP
    from micrograd.serialize import save_model

    random.seed(0)
    model = MLP(2, [4, 1])
    for p in model.parameters():
        p.data = 1e150  # finite weights; the second row's outputs overflow float64
    if engine == "tensor":
        from micrograd.tensor.nn import MLP as TensorMLP

        model = TensorMLP.from_scalar(model)
    save_model(model, tmp_path / "m.json", metadata={"loss": "hinge", "features": ["a", "b"]})
    data = tmp_path / "d.csv"
    data.write_text("a,b\n0.5,0.5\n1e10,1e10\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning must not reach the user
        code = main(["predict", "--model", str(tmp_path / "m.json"), "--data", str(data)])
    assert code == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"{data}, line 3 is [inf]" in line and "weights too large" in line


def test_a_file_for_another_model_names_both_column_sets_once(pets_model, tmp_path, capsys):
    _data, model, _ = pets_model
    other = tmp_path / "pixels.csv"
    other.write_text(",".join(f"pixel_{i}" for i in range(64)) + ",label\n" + "0," * 64 + "1\n")
    assert main(["predict", "--model", str(model), "--data", str(other)]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "none of the model's feature columns (weight, height) is in the file" in line
    assert "pixel_0, pixel_1, ..., label: 65 columns" in line
    assert line.count("pixel_") == 2


def test_predict_applies_the_models_standardization(tmp_path, capsys):
    """A model trained on standardized features (blobs' default) scores raw CSV rows as the
    training did: its file keeps the training rows' mean and std, and predict applies them."""
    out, data = tmp_path / "run", tmp_path / "blobs.csv"
    flags = ["--dataset", "blobs", "--no-plots", "--no-progress"]
    assert main(["train", *flags, "--out", str(out)]) == 0
    assert main(["data", "blobs", "--out", str(data)]) == 0  # the same 100 points
    model = out / "model.json"
    train_accuracy = json.loads((out / "metrics.json").read_text())["train_accuracy"]
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--data", str(data)]) == 0
    assert capsys.readouterr().err == f"100 rows scored, accuracy {train_accuracy:.1%}\n"
    saved = json.loads(model.read_text())
    scaling = saved["metadata"]["standardize"]
    assert len(scaling["mean"]) == 2 and all(s > 0 for s in scaling["std"])

    def tampered(change) -> str:
        document = json.loads(model.read_text())
        change(document["metadata"])
        path = tmp_path / "tampered.json"
        path.write_text(json.dumps(document))
        return str(path)

    for change, message in (
        (lambda m: m["standardize"].update(std=[1.0, 0.0]), "'std' must be > 0"),
        (lambda m: m["standardize"].update(mean=[1.0]), "'mean' must list 2 finite numbers"),
        (lambda m: m.update(standardize=[0, 1]), "metadata 'standardize' must be"),
    ):
        assert main(["predict", "--model", tampered(change), "--data", str(data)]) == 1
        assert message in one_line_error(capsys.readouterr().err)
    # A file without the entry (as written before standardization existed) still loads, and
    # takes the features as they are.
    unscaled = tampered(lambda m: m.pop("standardize"))
    assert main(["predict", "--model", unscaled, "--data", str(data)]) == 0
    assert capsys.readouterr().err.startswith("100 rows scored, accuracy ")
