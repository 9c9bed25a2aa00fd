"""The training job (`micrograd.train.run`): the demo's numbers, reproducibility, label checks,
errors before anything is written, and the files it writes."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import random
from pathlib import Path

import pytest

from micrograd import train
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.serialize import load_checkpoint
from micrograd.train import ConfigError, ScalarEngine, TrainConfig, TrainingError, run


def small(tmp_path, **kw) -> TrainConfig:
    """A quick job: fewer samples and steps than the demo where the defaults are not the point."""
    base = {"n_samples": 40, "steps": 15, "layers": (8,), "out": str(tmp_path / "out")}
    base.update(kw)
    return TrainConfig(**base)


def write_csv(path, header, rows) -> str:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def three_class_csv(path) -> str:
    rng = random.Random(3)
    rows = []
    for i in range(45):
        c = i % 3
        rows.append([repr(c * 2.0 + rng.gauss(0, 0.3)), repr(rng.gauss(0, 0.3) - c), c])
    return write_csv(path, ["a", "b", "label"], rows)


def folder_state(folder) -> dict:
    if not os.path.exists(folder):
        return {}
    return {n: Path(folder, n).read_bytes() for n in sorted(os.listdir(folder))}


# -- the default job is the original demo ---------------------------------------------------


def demo_loop(X, y, steps):
    """The original demo notebook's loop, written out as in the notebook, on our Value and MLP
    (unfused: the original's graph). Returns the loss and accuracy printed at each step."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    y = [yi * 2 - 1 for yi in y]
    printed = []
    for k in range(steps):
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        acc = sum(accuracy) / len(accuracy)
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        printed.append((total_loss.data, acc))
    return printed


def test_default_config_is_the_demo():
    # Settings left at None take the data set's; moons' are the demo's.
    c = train.resolve_defaults(TrainConfig(), train.Data("moons", [], [], n_classes=2))
    assert c.standardize is False and c.init == "uniform"
    assert (c.dataset, c.n_samples, c.noise, tuple(c.layers)) == ("moons", 100, 0.1, (16, 16))
    assert (c.loss, c.alpha, c.optimizer, c.lr, c.schedule) == (None, 1e-4, "sgd", 1.0, "linear")
    assert (c.steps, c.batch_size, c.seed, c.engine, c.fused) == (100, 0, 1337, "scalar", True)
    # No loss given: two classes get the demo's hinge loss.
    assert train._resolve_loss(c, train.Data("moons", [], [], n_classes=2)).loss == "hinge"


def test_hundred_steps_match_the_demo_notebook_loop(tmp_path):
    from micrograd.data import make_moons

    X, y = make_moons(n_samples=10, noise=0.1, seed=1337)
    expected = demo_loop(X, y, steps=100)
    m = run(TrainConfig(n_samples=10, out=str(tmp_path)), progress=False)
    assert list(zip(m["history"]["loss"], m["history"]["accuracy"])) == expected
    assert m["history"]["lr"] == [1.0 - 0.9 * k / 100 for k in range(100)]


def test_original_demo_numbers_on_scikit_learn_moons(tmp_path):
    """The original demo's data (scikit-learn's moons after np.random.seed(1337)) through a CSV:
    the original micrograd 0.1.0 prints first loss 0.8958441028683222, accuracy 0.5, and at step
    99 loss 0.010978370135492717 with accuracy 100%."""
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    np.random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    path = write_csv(
        tmp_path / "moons.csv",
        ["x0", "x1", "label"],
        [[repr(float(a)), repr(float(b)), int(c)] for (a, b), c in zip(X, y)],
    )
    m = run(TrainConfig(dataset=path, out=str(tmp_path / "out")), progress=False)
    assert m["history"]["loss"][0] == 0.8958441028683222
    assert m["history"]["accuracy"][0] == 0.5
    assert m["final_loss"] == 0.010978370135492717
    assert m["history"]["accuracy"][-1] == 1.0
    assert m["train_accuracy"] == 1.0


# -- reproducibility ------------------------------------------------------------------------


def test_same_seed_gives_identical_metrics_files(tmp_path):
    files = []
    for name in ("a", "b"):
        run(small(tmp_path, out=str(tmp_path / name), batch_size=8, val_split=0.25), progress=False)
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        assert set(metrics["timing"]) >= {"train_seconds", "total_seconds"}
        del metrics["timing"]
        metrics["config"].pop("out")
        files.append(metrics)
    assert files[0] == files[1]
    assert (tmp_path / "a" / "model.json").read_bytes() == (
        tmp_path / "b" / "model.json"
    ).read_bytes()


def test_different_seed_gives_different_run(tmp_path):
    a = run(small(tmp_path, seed=1), progress=False)
    b = run(small(tmp_path, seed=2), progress=False)
    assert a["history"]["loss"] != b["history"]["loss"]


def test_fused_and_unfused_give_identical_metrics(tmp_path):
    a = run(small(tmp_path, fused=True), progress=False)
    b = run(small(tmp_path, fused=False), progress=False)
    for m in (a, b):
        m.pop("timing")
        m["config"].pop("fused")
    assert a == b


# -- outputs --------------------------------------------------------------------------------


def test_outputs_are_written_and_valid(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    cfg = small(tmp_path, val_split=0.25)
    metrics = run(cfg, progress=False)
    out = cfg.out
    assert sorted(os.listdir(out)) == [
        "curves.png",
        "decision_boundary.png",
        "metrics.json",
        "model.json",
    ]
    for name in ("curves.png", "decision_boundary.png"):
        with open(os.path.join(out, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        with Image.open(os.path.join(out, name)) as im:
            im.load()
            assert im.width > 300 and im.height > 300
            # Not a blank picture: a plot has many colours.
            assert len(im.convert("RGB").getcolors(1 << 20)) > 20
    saved = json.loads(Path(out, "metrics.json").read_text())
    for key in ("final_loss", "train_accuracy", "val_accuracy", "steps", "seed", "config"):
        assert key in saved
    assert saved["steps"] == 15 and saved["seed"] == 1337
    assert saved["config"]["layers"] == [8]
    assert "test_accuracy" not in saved  # moons has no held-out test split
    assert saved["final_loss"] == metrics["final_loss"]
    assert len(saved["history"]["loss"]) == 15
    assert 0 <= saved["val_accuracy"] <= 1

    model, meta = load_checkpoint(os.path.join(out, "model.json"))
    assert meta["loss"] == "hinge" and meta["features"] == ["x0", "x1"]
    # The reloaded model gives the accuracy the job reported, recomputed by hand.
    from micrograd.data import make_moons, train_val_split

    X, y = make_moons(n_samples=40, noise=0.1, seed=1337)
    Xtr, ytr, _, _ = train_val_split(X, y, 0.25, seed=1337)
    correct = sum((model(x).data > 0) == (c == 1) for x, c in zip(Xtr, ytr))
    assert correct / len(Xtr) == saved["train_accuracy"]


def test_nothing_written_when_output_folder_is_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(OSError, match="taken"):
        run(small(tmp_path, out=str(target)), progress=False)
    assert target.read_text() == "keep me"


def test_output_folder_inside_a_file_is_refused_before_training(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    calls = []
    monkeypatch.setattr(train, "load_data", lambda c: calls.append(c))
    with pytest.raises(OSError):
        run(small(tmp_path, out=str(tmp_path / "file" / "sub")), progress=False)
    assert calls == []  # refused before any data was made or training started


def test_nan_loss_stops_with_clear_error_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"from": "a previous run"}')
    before = folder_state(out)
    with pytest.raises(TrainingError, match=r"loss became (nan|inf)"):
        run(
            small(tmp_path, out=str(out), loss="mse", lr=1e6, schedule="constant", steps=60),
            progress=False,
        )
    assert folder_state(out) == before


def test_failure_while_rendering_writes_nothing(tmp_path, monkeypatch):
    from micrograd import plots

    def broken(*a, **k):
        raise RuntimeError("plot failed")

    monkeypatch.setattr(plots, "decision_boundary_png", broken)
    cfg = small(tmp_path)
    with pytest.raises(RuntimeError):
        run(cfg, progress=False)
    assert not os.path.exists(cfg.out)


# -- data and labels ------------------------------------------------------------------------


def test_binary_losses_refuse_three_classes(tmp_path):
    path = three_class_csv(tmp_path / "three.csv")
    for loss in ("hinge", "bce"):
        with pytest.raises(ValueError, match="exactly 2 classes.*has 3"):
            run(small(tmp_path, dataset=path, loss=loss), progress=False)
    assert not os.path.exists(tmp_path / "out")


def test_cross_entropy_on_three_classes(tmp_path):
    path = three_class_csv(tmp_path / "three.csv")
    cfg = small(
        tmp_path,
        dataset=path,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.05,
        schedule="constant",
        steps=60,
        alpha=0,
    )
    m = run(cfg, progress=False)
    assert m["n_classes"] == 3
    assert m["train_accuracy"] > 0.9  # three well-separated blobs
    model, meta = load_checkpoint(os.path.join(cfg.out, "model.json"))
    assert model.config()["nouts"] == [8, 3]
    assert meta["classes"] == [0, 1, 2]


def test_csv_labels_are_mapped_to_classes(tmp_path):
    rows = [[repr(x), 7 if x > 0 else 3] for x in (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)]
    path = write_csv(tmp_path / "d.csv", ["x", "y"], rows)
    cfg = small(tmp_path, dataset=path, label="y", steps=40)
    m = run(cfg, progress=False)
    assert m["train_accuracy"] == 1.0
    _, meta = load_checkpoint(os.path.join(cfg.out, "model.json"))
    assert meta["classes"] == [3, 7]
    assert "decision_boundary.png" not in os.listdir(cfg.out)  # 1-D data: no boundary picture


def test_non_integer_labels_need_mse(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["x", "label"], [["1", "0.5"], ["2", "1.5"]])
    with pytest.raises(ValueError, match="not a class"):
        run(small(tmp_path, dataset=path), progress=False)


def test_mse_regression_on_numbers(tmp_path):
    rows = [[repr(x / 10), repr(0.5 * x / 10)] for x in range(-10, 11)]
    path = write_csv(tmp_path / "lin.csv", ["x", "label"], rows)
    m = run(
        small(
            tmp_path,
            dataset=path,
            loss="mse",
            optimizer="adam",
            lr=0.02,
            alpha=0,
            schedule="constant",
            steps=80,
        ),
        progress=False,
    )
    assert m["final_loss"] < m["history"]["loss"][0] / 10


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dataset": "nope"}, "unknown data set 'nope'"),
        ({"loss": "huber"}, "unknown loss"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"schedule": "warm"}, "unknown schedule"),
        ({"engine": "gpu"}, "unknown engine"),
        ({"steps": 0}, "steps"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": -1.0}, "learning rate"),
        ({"val_split": 1.0}, "validation split"),
        ({"layers": ()}, "layers"),
        ({"batch_size": -3}, "batch size"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        run(small(tmp_path, **change), progress=False)
    assert not os.path.exists(tmp_path / "out")


def test_missing_csv_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        run(small(tmp_path, dataset=str(tmp_path / "missing.csv")), progress=False)


# -- the scalar engine adapter and the decisions --------------------------------------------


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("nouts", [[6, 1], [5, 4, 3]])
def test_predict_equals_the_graph_forward_pass(fused, activation, nouts):
    random.seed(4)
    model = MLP(2, nouts, activation=activation, fused=fused)
    X = [[random.uniform(-3, 3), random.uniform(-3, 3)] for _ in range(25)] + [[0.0, 0.0]]
    expected = []
    for x in X:
        out = model(x)
        expected.append(out.data if isinstance(out, Value) else [v.data for v in out])
    assert ScalarEngine.predict(model, X) == expected


def test_loss_and_accuracy_adds_l2_and_counts_correct_signs():
    random.seed(0)
    model = MLP(2, [3, 1])
    X = [[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7], [2.0, 2.0]]
    scores = [model(x).data for x in X]
    y = [1 if s > 0 else -1 for s in scores]
    y[0] = -y[0]  # one wrong on purpose
    cfg = TrainConfig(alpha=0.5, loss="hinge")
    loss, acc = ScalarEngine.loss_and_accuracy(model, X, y, cfg)
    assert acc == 0.75
    hinge = sum(max(0.0, 1 - t * s) for t, s in zip(y, scores)) / 4
    l2 = 0.5 * sum(p.data * p.data for p in model.parameters())
    assert math.isclose(loss.data, hinge + l2, rel_tol=1e-12)


def test_decide_and_accuracy():
    assert train.decide([0.5, -0.1, 0.0, 3.0], "hinge") == [1, 0, 0, 1]
    assert train.decide([[0.1, 0.9, 0.3], [2.0, -1.0, 1.0]], "cross_entropy") == [1, 0]
    assert train.decide([0.4, 0.6, 2.7, -3.0], "mse", 3) == [0, 1, 2, 0]
    assert train.accuracy([0.5, -0.1, 0.2], [1, -1, -1], "hinge") == 2 / 3
    assert train.accuracy([0.5, -0.1, 0.2], [1, 0, 0], "bce") == 2 / 3
    assert train.accuracy([[0.0, 1.0], [3.0, 1.0]], [1, 1], "cross_entropy") == 0.5
    assert train.targets_for_loss([0, 1, 1], "hinge") == [-1, 1, 1]
    assert train.targets_for_loss([0, 1, 1], "bce") == [0, 1, 1]


def test_tensor_engine_runs_the_same_job(tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("micrograd.tensor.training")
    m = run(small(tmp_path, engine="tensor", steps=30), progress=False)
    assert m["train_accuracy"] > 0.7
    assert set(os.listdir(tmp_path / "out")) >= {"model.json", "metrics.json", "curves.png"}


def test_progress_bar_shows_loss_and_accuracy_on_a_terminal(tmp_path, monkeypatch):
    pytest.importorskip("tqdm")
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    run(small(tmp_path, steps=5), progress=True)
    text = term.getvalue()
    assert "5/5" in text and "loss=" in text and "acc=" in text
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    run(small(tmp_path, steps=5), progress=False)
    assert quiet.getvalue() == ""


# -- a one-neuron hidden layer (issue 9, item 6) ----------------------------------------------


@pytest.mark.parametrize("layers", [(1,), (4, 1), (1, 4)])
def test_one_neuron_hidden_layers_train_on_both_engines(tmp_path, layers):
    m = run(small(tmp_path, layers=layers, plots=False), progress=False)
    assert m["steps_done"] == 15 and math.isfinite(m["final_loss"])
    model, _ = load_checkpoint(os.path.join(tmp_path, "out", "model.json"))
    assert model.config()["nouts"] == [*layers, 1]
    pytest.importorskip("micrograd.tensor.training")
    t = run(small(tmp_path, layers=layers, plots=False, engine="tensor"), progress=False)
    # Same starting weights, same data: the same first loss up to float64 rounding.
    assert math.isclose(t["history"]["loss"][0], m["history"]["loss"][0], rel_tol=1e-12)


# -- divergence (item 11) ---------------------------------------------------------------------


def test_a_loss_made_worse_by_training_is_flagged_and_told(tmp_path):
    notes = []
    m = run(
        small(tmp_path, optimizer="adam", lr=1e3, steps=30, layers=(16, 16), n_samples=100),
        progress=False,
        log=notes.append,
    )
    assert m["diverged"] is True and m["final_loss"] > 100 * m["history"]["loss"][0]
    assert len(notes) == 1 and notes[0].startswith("warning: training made the loss worse")
    assert "--lr 100" in notes[0]
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["diverged"] is True  # the run is written, and marked
    notes.clear()
    ok = run(small(tmp_path), progress=False, log=notes.append)
    assert ok["diverged"] is False and notes == []


def test_divergence_rule():
    assert train._diverged([1.0, 0.5, 1.01], full_batch=True)
    assert not train._diverged([1.0, 2.0, 0.99], full_batch=True)
    noisy = [1.0] + [0.6, 1.2] * 20  # mini-batch noise around a lower loss
    assert not train._diverged(noisy, full_batch=False)
    assert train._diverged([1.0] + [5.0] * 20, full_batch=False)
    assert not train._diverged([3.0], full_batch=True)


# -- defaults that fit the data (item 13) -----------------------------------------------------


def test_the_loss_is_chosen_from_the_number_of_classes(tmp_path):
    path = three_class_csv(tmp_path / "three.csv")
    m = run(small(tmp_path, dataset=path, plots=False), progress=False)
    assert m["config"]["loss"] == "cross_entropy" and m["n_classes"] == 3
    m = run(small(tmp_path, plots=False), progress=False)
    assert m["config"]["loss"] == "hinge"  # two classes: the demo's loss


@pytest.mark.parametrize("engine", ["scalar", "tensor"])
def test_digits_trains_with_no_loss_given(tmp_path, engine):
    pytest.importorskip("sklearn")
    if engine == "tensor":
        pytest.importorskip("micrograd.tensor.training")
    cfg = TrainConfig(
        dataset="digits", engine=engine, layers=(8,), steps=2, batch_size=32, plots=False,
        out=str(tmp_path / "d"),
    )  # fmt: skip
    m = run(cfg, progress=False)
    assert m["config"]["loss"] == "cross_entropy" and m["n_classes"] == 10
    assert "test_accuracy" in m


def test_a_long_job_is_announced_after_its_first_step(tmp_path, monkeypatch):
    notes = []
    monkeypatch.setattr(train, "_LONG_JOB_SECONDS", 0.0)
    run(small(tmp_path, plots=False), progress=False, log=notes.append)
    assert len(notes) == 1 and notes[0].startswith("note: this job will take about")
    assert "x 15 steps on the scalar engine" in notes[0] and "Ctrl-C" in notes[0]
    if importlib.util.find_spec("numpy") is not None:
        assert "--engine tensor" in notes[0]
    notes.clear()
    monkeypatch.setattr(train, "_LONG_JOB_SECONDS", 1e9)
    run(small(tmp_path, plots=False), progress=False, log=notes.append)
    assert notes == []


# -- pictures match the metrics (item 16) ------------------------------------------------------


def test_pictures_use_the_metrics_rounding_column_names_and_validation(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from micrograd import plots

    seen = {}
    real_boundary, real_curves = plots.decision_boundary_png, plots.curves_png

    def boundary(*args, **kwargs):
        seen["boundary"] = kwargs
        return real_boundary(*args, **kwargs)

    def curves(*args, **kwargs):
        seen["curves"] = kwargs
        return real_curves(*args, **kwargs)

    monkeypatch.setattr(plots, "decision_boundary_png", boundary)
    monkeypatch.setattr(plots, "curves_png", curves)
    rng = random.Random(2)
    rows = [[repr(rng.gauss(0, 1)), repr(rng.gauss(0, 1))] for _ in range(300)]
    for r in rows:  # a noisy boundary: an accuracy that is not a whole percent
        r.append(int(float(r[0]) + 0.3 * rng.gauss(0, 1) > 0))
    path = write_csv(tmp_path / "hw.csv", ["height", "weight", "label"], rows)
    m = run(small(tmp_path, dataset=path, steps=8, val_split=0.2), progress=False)
    accuracy_text = f"{m['train_accuracy']:.1%}"
    assert seen["boundary"]["title"].endswith(f"train accuracy {accuracy_text}")
    assert accuracy_text == train.format_accuracy(m["train_accuracy"])
    assert seen["boundary"]["feature_names"] == ["height", "weight"]
    steps, losses, accs = seen["curves"]["validation"]
    assert steps == m["history"]["val_step"] and steps[-1] == 7
    assert losses == m["history"]["val_loss"] and accs == m["history"]["val_accuracy"]


# -- no plots (item 17) -------------------------------------------------------------------------


def test_no_plots_writes_the_model_and_metrics_only(tmp_path):
    m = run(small(tmp_path, plots=False), progress=False)
    assert sorted(os.listdir(tmp_path / "out")) == ["metrics.json", "model.json"]
    assert m["config"]["plots"] is False


# -- defaults that fit the data ---------------------------------------------------------------


def realistic_pets_csv(path, n, seed) -> str:
    """The README's pets recipe on data like a user's: an `id` column of text, the weight in
    kilograms (0.02 to 40) and the height in metres (0.05 to 0.9), three species whose ranges
    overlap a little (small dogs and large cats)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        species = ("dog", "cat", "bird")[i % 3]
        if species == "dog":
            weight, height = max(4.0, rng.gauss(20, 8)), max(0.25, rng.gauss(0.55, 0.12))
        elif species == "cat":
            weight, height = max(2.0, rng.gauss(4.5, 1.0)), rng.gauss(0.25, 0.03)
        else:
            weight, height = max(0.02, rng.gauss(0.3, 0.15)), max(0.05, rng.gauss(0.2, 0.06))
        rows.append([f"a{i}", f"{weight:.2f}", f"{height:.3f}", species])
    return write_csv(path, ["id", "weight", "height", "species"], rows)


def accuracy_on(model_path, csv_path, label="label") -> float:
    """The accuracy `micrograd predict` reports for the model on a CSV file."""
    from micrograd.predict import load_for_prediction, predict_table

    summary = predict_table(load_for_prediction(model_path), csv_path, label=label)[2]
    return float(summary.split("accuracy ")[1].rstrip("%")) / 100


def fresh_sample(tmp_path, name) -> str:
    """1,000 new points of a built-in data set, as `micrograd data` writes them: another seed,
    except for blobs, whose cluster centres are drawn from the seed (so the training seed and
    more samples: the same clusters, new points). xor's points are noise-free: with the default
    noise 0.1 a tenth of the points cross an axis from their quadrant's class, so no model can
    exceed about 92% on noisy points; its test is whether the model learned XOR."""
    from micrograd.data import generate, save_csv

    seed = 1337 if name == "blobs" else 99
    X, y, names = generate(name, 1000, 0.0 if name == "xor" else 0.1, seed)
    path = str(tmp_path / f"fresh-{name}.csv")
    save_csv(path, X, y, names)
    return path


@pytest.mark.parametrize(
    "name,engine",
    [
        ("blobs", "scalar"),
        ("blobs", "tensor"),
        ("spirals", "tensor"),
        ("xor", "tensor"),
        ("circles", "tensor"),
        ("moons", "tensor"),
    ],
)
def test_built_in_data_sets_train_well_with_no_flags(tmp_path, name, engine):
    """`micrograd train --dataset NAME` with no other flag: >= 95% on new points. (The scalar
    engine gives the same numbers as the tensor one; benchmarks/bench_defaults.py runs every
    data set on both.)"""
    if engine == "tensor":
        pytest.importorskip("micrograd.tensor.training")
    from micrograd.cli import main

    out = tmp_path / "run"
    flags = ["--dataset", name, "--engine", engine, "--no-progress", "--no-plots"]
    assert main(["train", *flags, "--out", str(out)]) == 0
    assert accuracy_on(out / "model.json", fresh_sample(tmp_path, name)) >= 0.95
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["diverged"] is False and metrics["train_accuracy"] >= 0.95


def test_digits_trains_well_with_no_flags(tmp_path):
    """The held-out images: >= 95% on the tensor engine (the scalar engine gives the same
    numbers in about twice the time: benchmarks/bench_defaults.py)."""
    pytest.importorskip("sklearn")
    pytest.importorskip("micrograd.tensor.training")
    m = run(TrainConfig(dataset="digits", engine="tensor", out=str(tmp_path)), progress=False)
    assert m["test_accuracy"] >= 0.95
    assert m["config"]["standardize"] is True and m["config"]["optimizer"] == "adam"


def test_the_readme_pets_recipe_trains_well(tmp_path, capsys):
    """The README's command as written, on the default (scalar) engine, with an `id` column
    of text in the file: >= 90% on new animals, predictions by name."""
    from micrograd.cli import main

    pets = realistic_pets_csv(tmp_path / "pets.csv", 150, seed=1)
    new_pets = realistic_pets_csv(tmp_path / "new_pets.csv", 600, seed=2)
    out = tmp_path / "runs" / "pets"
    argv = ["train", "--dataset", pets, "--label", "species", "--loss", "cross_entropy"]
    assert main([*argv, "--no-progress", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "'id'" in err and "--drop id" in err  # the text column is named, with the flag
    assert accuracy_on(out / "model.json", new_pets, label="species") >= 0.90
    saved = json.loads((out / "model.json").read_text())
    assert saved["metadata"]["features"] == ["weight", "height"]
    assert len(saved["metadata"]["standardize"]["mean"]) == 2


def test_settings_given_override_the_data_sets(tmp_path):
    m = run(
        TrainConfig(
            dataset="blobs",
            optimizer="sgd",
            lr=0.02,
            standardize=False,
            steps=3,
            layers=(4,),
            alpha=0.0,
            plots=False,
            out=str(tmp_path / "a"),
        ),
        progress=False,
    )
    c = m["config"]
    assert (c["optimizer"], c["lr"], c["standardize"], c["steps"], c["layers"]) == (
        "sgd", 0.02, False, 3, [4],
    )  # fmt: skip
    assert c["alpha"] == 0.0 and c["schedule"] == "linear"  # not given: blobs'
    assert "standardize" not in json.loads((tmp_path / "a" / "model.json").read_text())["metadata"]
    # An optimizer other than the data set's, with no learning rate: that optimizer's usual one.
    quick = {"steps": 2, "plots": False}
    m = run(TrainConfig(dataset="blobs", optimizer="sgd", **quick, out=str(tmp_path / "b")))
    assert m["config"]["lr"] == 0.1
    m = run(TrainConfig(optimizer="adam", **quick, out=str(tmp_path / "c")), progress=False)
    assert m["config"]["lr"] == 0.01 and m["config"]["standardize"] is False  # moons'


def test_csv_defaults_follow_the_scale_of_the_features(tmp_path):
    """A CSV whose features are all within +-5 trains with the demo's settings (the demo's
    moons through a CSV keep its numbers, tested above); one with larger numbers is
    standardized and trained with Adam."""
    small_path = three_class_csv(tmp_path / "small.csv")
    m = run(TrainConfig(dataset=small_path, steps=2, out=str(tmp_path / "a")), progress=False)
    assert (m["config"]["optimizer"], m["config"]["standardize"]) == ("sgd", False)
    rows = [[repr(1000 * (i % 2) + i), i % 2] for i in range(20)]
    large = write_csv(tmp_path / "large.csv", ["grams", "label"], rows)
    m = run(TrainConfig(dataset=large, steps=2, out=str(tmp_path / "b")), progress=False)
    assert (m["config"]["optimizer"], m["config"]["standardize"]) == ("adam", True)


def test_standardization_uses_the_training_rows_only(tmp_path):
    from micrograd.data import generate, standardization, train_val_split

    run(small(tmp_path, dataset="blobs", val_split=0.25), progress=False)
    saved = json.loads((tmp_path / "out" / "model.json").read_text())["metadata"]
    X, y, _ = generate("blobs", 40, 0.1, 1337)
    X_train = train_val_split(X, y, 0.25, seed=1337)[0]
    mean, std = standardization(X_train)
    assert saved["standardize"] == {"mean": mean, "std": std}
    assert standardization(X)[0] != mean  # the validation rows would have changed it


def test_standardized_models_picture_is_in_the_datas_units(tmp_path):
    """The decision boundary of a model trained on standardized features: the grid is in the
    data's units and goes through the scaling (the picture's classes are the predictions)."""
    np = pytest.importorskip("numpy")
    from micrograd.data import standardize

    run(small(tmp_path, dataset="blobs", steps=40, plots=False), progress=False)
    model, meta = load_checkpoint(str(tmp_path / "out" / "model.json"))
    scaling = (meta["standardize"]["mean"], meta["standardize"]["std"])
    points = [[-8.0, 3.0], [0.5, 0.25], [9.0, -7.5]]
    raw = train._grid_outputs(ScalarEngine, model, scaling)(points)
    expected = ScalarEngine.predict(model, standardize(points, *scaling))
    assert np.allclose(raw, np.array(expected), rtol=0, atol=1e-12)


def test_epochs_instead_of_steps(tmp_path):
    m = run(small(tmp_path, steps=None, epochs=3, batch_size=16), progress=False)
    assert m["steps"] == 9 and len(m["history"]["loss"]) == 9  # 40 rows: 3 batches per epoch
    m = run(small(tmp_path, steps=None, epochs=4, batch_size=0), progress=False)
    assert m["steps"] == 4  # full batch: one step per epoch
    with pytest.raises(ConfigError, match="steps .15. or epochs .2., not both"):
        run(small(tmp_path, epochs=2), progress=False)
