"""The training job behind `micrograd train`: a config, the data, a model, the loop, the outputs.

Read it top to bottom, as the seven steps of the workflow: `TrainConfig` (what to run), `load_data`
(prepare data), the engine's `build_model` (define the network), then in `run`'s loop the forward
pass and loss (`loss_and_accuracy`), `backward()`, the optimizer's `step()` and the schedule; at the
end the outputs go into the output folder. `micrograd/cli.py` turns flags into a `TrainConfig`;
`micrograd/plots.py` draws the pictures; `micrograd/serialize.py` saves the model.

The defaults are the original micrograd's demo notebook: moons (100 samples, noise 0.1),
`MLP(2, [16, 16, 1])`, hinge loss + L2 (alpha 1e-4), full batch, SGD with the learning rate
`1.0 - 0.9*k/100` at step k, 100 steps, `random.seed(1337)` just before the model is built so that
its weights are drawn as in the original.

Engine adapters
---------------
The loop does not know which engine computes the graph. An *engine adapter* is any object (a class,
or a module such as `micrograd.tensor.training`) with these three functions:

``build_model(config: TrainConfig, n_features: int, n_outputs: int) -> model``
    An untrained model; `random.seed(config.seed)` has just been called (the scalar engine draws its
    weights from `random`; an engine may seed its own generator from `config.seed`). The model has
    `parameters()` (objects with `.data` and `.grad`, which `micrograd.optim` updates),
    `zero_grad()`, `named_parameters()` and `config()` (see `micrograd.serialize`), and takes
    `config.activation`, `config.layers` (hidden sizes; `n_outputs` is the last layer's size),
    `config.fused` and `config.init` into account where it can.
``loss_and_accuracy(model, Xb: list[list[float]], yb: list, config) -> (loss, accuracy)``
    The forward pass on one batch: `loss` is a graph node with `.data` (a number or a 0-d array)
    and `.backward()`, the mean of `config.loss` over the batch plus `l2(parameters, config.alpha)`
    when `config.alpha` is non-zero; `accuracy` is a float in [0, 1] for this batch, as `accuracy()`
    below computes it. `yb` holds targets already mapped to the loss by `targets_for_loss`: +-1 for
    "hinge", 0/1 for "bce", class indices 0..K-1 for "cross_entropy", floats for "mse".
``predict(model, X: list[list[float]]) -> outputs``
    The model's raw outputs with no gradient tracking: a list of floats when the model has one
    output, else a list of rows of K floats (a numpy array of shape (n,) or (n, K) is accepted).
    `decide()` below turns them into class indices.

`engine="scalar"` uses `ScalarEngine` below; `engine="tensor"` imports `micrograd.tensor.training`,
which provides the same three functions on numpy arrays.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import inspect
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENGINES",
    "LOSS_NAMES",
    "ConfigError",
    "ScalarEngine",
    "TrainConfig",
    "TrainingError",
    "accuracy",
    "decide",
    "get_engine",
    "load_data",
    "run",
    "targets_for_loss",
]

# The losses the job knows, and the label form each one trains on (see `targets_for_loss`).
LOSS_NAMES = ("hinge", "bce", "cross_entropy", "mse")
ENGINES = ("scalar", "tensor")
# Losses that score two classes with one output (its sign is the class).
_BINARY_LOSSES = ("hinge", "bce")


class ConfigError(ValueError):
    """A value in the `TrainConfig` that cannot be run (the CLI exits with code 2)."""


class TrainingError(ValueError):
    """Training could not finish (a NaN or infinite loss); nothing was written."""


@dataclass
class TrainConfig:
    """Everything a training run depends on. The defaults reproduce the original demo."""

    dataset: str = "moons"  # a name in micrograd.data.DATASETS, "digits", or a CSV path
    label: str = "label"  # the label column of a CSV data set
    n_samples: int = 100  # for the generated data sets
    noise: float = 0.1  # for the generated data sets
    layers: Sequence[int] = (16, 16)  # hidden layer sizes; the output layer is added
    activation: str = "relu"
    init: str = "uniform"
    loss: str = "hinge"
    optimizer: str = "sgd"
    lr: float = 1.0
    schedule: str = "linear"  # linear: lr * (1 - 0.9 * k / steps), the demo's
    steps: int = 100
    batch_size: int | None = 0  # 0 or None: the full training set at every step
    val_split: float = 0.0  # fraction of the data held out for validation
    seed: int = 1337
    alpha: float = 1e-4  # L2 penalty: alpha * sum(p * p)
    out: str = os.path.join("runs", "latest")
    engine: str = "scalar"
    fused: bool = True  # one graph node per neuron's weighted sum (same floats, fewer nodes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["layers"] = list(self.layers)
        return d


# -- the scalar engine ----------------------------------------------------------------------


class ScalarEngine:
    """The engine adapter for `micrograd.engine.Value` and `micrograd.nn.MLP` (see the module
    docstring for the interface)."""

    @staticmethod
    def build_model(config: TrainConfig, n_features: int, n_outputs: int):
        from micrograd.nn import MLP

        return MLP(
            n_features,
            [*config.layers, n_outputs],
            activation=config.activation,
            fused=config.fused,
            init=config.init,
        )

    @staticmethod
    def loss_and_accuracy(model, Xb: list, yb: list, config: TrainConfig):
        from micrograd import losses

        outputs = [model(row) for row in Xb]
        total = losses.LOSSES[config.loss](outputs, yb)
        if config.alpha:
            total = total + losses.l2(model.parameters(), config.alpha)  # the demo's order
        if config.loss == "cross_entropy":
            values = [[v.data for v in row] for row in outputs]
        else:
            values = [v.data for v in outputs]
        return total, accuracy(values, yb, config.loss)

    @staticmethod
    def predict(model, X: list) -> list:
        from micrograd.engine import Value
        from micrograd.nn import MLP

        if type(model) is MLP:
            return _mlp_forward_floats(model, X)
        out = []
        for row in X:
            y = model(row)
            out.append(y.data if isinstance(y, Value) else [v.data for v in y])
        return out


def _mlp_forward_floats(model, X: list) -> list:
    """`model(row)` for every row on plain floats, with no graph: the same multiplications and
    additions in the same order as the graph's forward pass (so the same floats), without the
    cost of building nodes. The decision-boundary plot evaluates thousands of grid points."""
    layers = [
        [([w.data for w in n.w], n.b.data, _FLOAT_ACTIVATIONS[n.activation]) for n in layer.neurons]
        for layer in model.layers
    ]
    out = []
    for row in X:
        x = [v.data if hasattr(v, "data") else v for v in row]
        for neurons in layers:
            y = []
            for ws, b, act in neurons:
                total = b
                for w, xi in zip(ws, x):
                    total = total + w * xi
                y.append(act(total))
            x = y
        out.append(x[0] if len(x) == 1 else x)
    return out


def _grid_outputs(engine, model):
    """A function giving the model's raw outputs for many points (the decision-boundary
    picture's grid), as `engine.predict` does.

    For the scalar MLP it runs on numpy arrays, a column of inputs at a time, with the same
    additions in the same order as the graph (so relu/linear models give the same floats; numpy's
    tanh may differ in the last bit, which a picture does not show): 100x faster than Python
    floats on tens of thousands of points. Any other model goes through `engine.predict`."""
    from micrograd.nn import MLP

    if engine is not ScalarEngine or type(model) is not MLP:
        return lambda points: engine.predict(model, points)
    import numpy as np

    activations = {
        "relu": lambda z: np.where(z < 0, 0.0, z),
        "linear": lambda z: z,
        "tanh": np.tanh,
        "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),
    }
    layers = [
        (
            np.array([[w.data for w in n.w] for n in layer.neurons], dtype=float),
            np.array([n.b.data for n in layer.neurons], dtype=float),
            activations[layer.neurons[0].activation],
        )
        for layer in model.layers
    ]

    def outputs(points: list):
        x = np.asarray(points, dtype=float)
        for W, b, act in layers:
            z = np.broadcast_to(b, (len(x), len(b)))
            for j in range(W.shape[1]):
                z = z + x[:, j : j + 1] * W[:, j]
            x = act(z)
        return x[:, 0] if x.shape[1] == 1 else x

    return outputs


def _sigmoid(x: float) -> float:
    # The engine's two-sided form (no overflow), so that the floats match Value.sigmoid.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _tanh(x: float) -> float:
    # The engine's: the lecture's formula, 1.0 where exp(2x) would overflow (see Value.tanh).
    if x > 354.0:
        return 1.0
    e = math.exp(2 * x)
    return (e - 1) / (e + 1)


_FLOAT_ACTIVATIONS = {
    "relu": lambda x: max(x, 0),
    "linear": lambda x: x,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
}


def get_engine(name: str):
    """The engine adapter called `name` ("scalar" or "tensor")."""
    if name == "scalar":
        return ScalarEngine
    if name == "tensor":
        try:
            from micrograd.tensor import training
        except ImportError as e:
            raise ConfigError(
                f"engine 'tensor' needs numpy (pip install 'micrograd[tensor]'): {e}"
            ) from None
        return training
    raise ConfigError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")


# -- labels, decisions, accuracy ------------------------------------------------------------


def targets_for_loss(y: Sequence, loss: str) -> list:
    """The labels (class indices 0..K-1, or numbers for "mse") in the form `loss` trains on."""
    if loss == "hinge":
        return [1 if c == 1 else -1 for c in y]
    if loss == "bce":
        return [1 if c == 1 else 0 for c in y]
    if loss == "cross_entropy":
        return [int(c) for c in y]
    return [float(c) for c in y]


def decide(outputs: Any, loss: str, n_classes: int | None = None) -> list:
    """Class indices from a model's raw outputs: the sign for "hinge" and "bce", the largest of
    K outputs for "cross_entropy", the nearest class (clipped to 0..K-1 when K is given) for
    "mse"."""
    if hasattr(outputs, "tolist"):  # a numpy array from the tensor engine
        outputs = outputs.tolist()
    if loss in _BINARY_LOSSES:
        return [1 if _scalar(s) > 0 else 0 for s in outputs]
    if loss == "cross_entropy":
        return [max(range(len(row)), key=row.__getitem__) for row in outputs]
    classes = [_nearest(_scalar(s)) for s in outputs]
    if n_classes:
        classes = [0 if c is None else min(max(c, 0), n_classes - 1) for c in classes]
    return classes


def _nearest(s: float) -> int | None:
    """The nearest whole number (halves round up); None for NaN or an infinity."""
    return math.floor(s + 0.5) if math.isfinite(s) else None


def _scalar(s: Any) -> float:
    # A one-output model's output may come as a 1-element row ([[0.3], ...] from a tensor engine).
    return s[0] if isinstance(s, (list, tuple)) else s


def accuracy(outputs: Any, targets: Sequence, loss: str) -> float:
    """The fraction of outputs whose decision matches the target (targets in `loss`'s form)."""
    if not len(targets):
        return 0.0
    if hasattr(outputs, "tolist"):
        outputs = outputs.tolist()
    if loss in _BINARY_LOSSES:
        correct = sum((_scalar(s) > 0) == (t > 0) for s, t in zip(outputs, targets))
    elif loss == "cross_entropy":
        correct = sum(p == t for p, t in zip(decide(outputs, loss), targets))
    else:
        correct = sum(_nearest(_scalar(s)) == t for s, t in zip(outputs, targets))
    return correct / len(targets)


# -- data -----------------------------------------------------------------------------------


@dataclass
class Data:
    """A data set ready to train on: class indices 0..K-1 (or numbers, for regression)."""

    name: str
    X: list
    y: list
    X_test: list | None = None
    y_test: list | None = None
    feature_names: list = field(default_factory=list)
    classes: list | None = None  # the original label of each class index, for a CSV
    n_classes: int = 0


def load_data(config: TrainConfig) -> Data:
    """The data set named by `config.dataset`: a generated one, "digits", or a CSV file."""
    from micrograd import data as datasets

    name = config.dataset
    if name == "digits":
        X, y, X_test, y_test = datasets.load_digits(test_fraction=0.2, seed=config.seed)
        features = [f"pixel_{i}" for i in range(len(X[0]))]
        return Data(name, X, y, X_test, y_test, features, None, 10)
    if name in datasets.DATASETS:
        if config.n_samples is None or config.n_samples < 2:
            raise ConfigError(f"n_samples must be at least 2, got {config.n_samples}")
        if not (config.noise >= 0 and math.isfinite(config.noise)):
            raise ConfigError(f"noise must be a finite number >= 0, got {config.noise}")
        make = datasets.DATASETS[name]
        kwargs = {"n_samples": config.n_samples, "seed": config.seed}
        if "noise" in inspect.signature(make).parameters:  # blobs has a spread of its own
            kwargs["noise"] = config.noise
        X, y = make(**kwargs)
        features = [f"x{i}" for i in range(len(X[0]))]
        return Data(name, X, y, feature_names=features, n_classes=max(y) + 1)
    if name.lower().endswith(".csv") or os.path.exists(name):
        if not os.path.isfile(name):
            raise ValueError(f"cannot read the data set {name!r}: no such file")
        X, y, features = datasets.load_csv(name, label=config.label)
        if not X:
            raise ValueError(f"{name}: the file has no data rows")
        if config.loss == "mse":
            return Data(name, X, [float(v) for v in y], feature_names=list(features))
        classes = sorted(set(y))
        for v in classes:
            if float(v) != int(v):
                raise ValueError(
                    f"{name}: label {v!r} in column {config.label!r} is not a class "
                    f"(a whole number); use --loss mse for numeric targets"
                )
        index = {v: i for i, v in enumerate(classes)}
        classes = [int(v) for v in classes]
        return Data(
            name,
            X,
            [index[v] for v in y],
            feature_names=list(features),
            classes=classes,
            n_classes=len(classes),
        )
    known = ", ".join(sorted([*datasets.DATASETS, "digits"]))
    raise ConfigError(f"unknown data set {name!r}: choose one of {known}, or a path to a CSV file")


def _check_labels(data: Data, loss: str) -> int:
    """How many outputs the model needs for `loss` on these labels; a clear error if they do not
    fit (a binary loss on more than two classes)."""
    if loss in _BINARY_LOSSES:
        if data.n_classes != 2:
            raise ValueError(
                f"loss {loss!r} needs exactly 2 classes but data set {data.name!r} has "
                f"{data.n_classes}; use --loss cross_entropy for several classes"
            )
        return 1
    if loss == "cross_entropy":
        if data.n_classes < 2:
            raise ValueError(
                f"loss 'cross_entropy' needs at least 2 classes, data set {data.name!r} has "
                f"{data.n_classes}"
            )
        return data.n_classes
    return 1


def _check_config(config: TrainConfig) -> None:
    from micrograd import optim

    if config.loss not in LOSS_NAMES:
        raise ConfigError(f"unknown loss {config.loss!r}: choose one of {', '.join(LOSS_NAMES)}")
    if config.optimizer not in optim.OPTIMIZERS:
        raise ConfigError(
            f"unknown optimizer {config.optimizer!r}: choose one of {', '.join(optim.OPTIMIZERS)}"
        )
    if config.schedule not in optim.SCHEDULES:
        raise ConfigError(
            f"unknown schedule {config.schedule!r}: choose one of {', '.join(optim.SCHEDULES)}"
        )
    if config.engine not in ENGINES:
        raise ConfigError(f"unknown engine {config.engine!r}: choose one of {', '.join(ENGINES)}")
    if not isinstance(config.steps, int) or config.steps < 1:
        raise ConfigError(f"steps must be a whole number >= 1, got {config.steps!r}")
    if not (isinstance(config.lr, (int, float)) and math.isfinite(config.lr) and config.lr > 0):
        raise ConfigError(f"learning rate must be a finite number > 0, got {config.lr!r}")
    if not (
        isinstance(config.alpha, (int, float)) and math.isfinite(config.alpha) and config.alpha >= 0
    ):
        raise ConfigError(f"alpha (L2) must be a finite number >= 0, got {config.alpha!r}")
    if config.batch_size is not None and (
        not isinstance(config.batch_size, int) or config.batch_size < 0
    ):
        raise ConfigError(f"batch size must be a whole number >= 0, got {config.batch_size!r}")
    if not (0 <= config.val_split < 1):
        raise ConfigError(f"validation split must be in [0, 1), got {config.val_split!r}")
    if not config.layers or any(not isinstance(n, int) or n < 1 for n in config.layers):
        raise ConfigError(
            f"layers must be one or more whole numbers >= 1, got {list(config.layers)!r}"
        )


def check_writable(folder: str) -> None:
    """Raise OSError unless files can be created in `folder` (or where it would be created).

    Checked by creating and removing a file, since `os.access` says yes to root everywhere.
    Nothing is left behind: if the folder does not exist yet, it is not created here.
    """
    path = os.path.abspath(folder)
    if os.path.exists(path) and not os.path.isdir(path):
        raise OSError(f"output folder {folder!r} is a file, not a folder")
    probe_in = path
    while not os.path.exists(probe_in):
        parent = os.path.dirname(probe_in)
        if parent == probe_in:
            break
        probe_in = parent
    if not os.path.isdir(probe_in):
        raise OSError(f"cannot create output folder {folder!r}: {probe_in!r} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".micrograd-probe-", dir=probe_in)
    except OSError as e:
        raise OSError(f"cannot write to output folder {folder!r}: {e.strerror or e}") from None
    os.close(fd)
    os.remove(probe)


def _batch_stream(X: list, y: list, batch_size: int | None, seed: int) -> Iterator[tuple]:
    """(Xb, yb) for every step: the full set, or shuffled mini-batches epoch after epoch, each
    epoch shuffled with its own seed so that a run is reproducible."""
    if not batch_size or batch_size >= len(X):
        while True:
            yield X, y
    from micrograd.data import batches

    epoch = 0
    while True:
        yield from batches(X, y, batch_size, seed=seed + epoch)
        epoch += 1


# -- the job --------------------------------------------------------------------------------


def run(config: TrainConfig | None = None, progress: bool = True) -> dict:
    """Train as `config` says, write the outputs into `config.out`, and return the metrics.

    Outputs (all written at the end, each file atomically, none if anything fails):
    `model.json` (`micrograd.serialize`), `metrics.json`, `curves.png` (loss and accuracy per step)
    and, for 2-D data, `decision_boundary.png`. Everything in `metrics.json` except its `timing`
    entry is the same, bit for bit, on every run with the same config.
    """
    from micrograd import optim

    config = config or TrainConfig()
    t_start = time.perf_counter()
    _check_config(config)
    check_writable(config.out)  # before training, so that a long run is not wasted
    for package in ("numpy", "matplotlib"):  # the pictures need them; found, not yet imported
        if importlib.util.find_spec(package) is None:
            raise ImportError(
                f"the training job's plots need {package}: pip install 'micrograd[train]'"
            )
    engine = get_engine(config.engine)

    # 1. data
    data = load_data(config)
    n_outputs = _check_labels(data, config.loss)
    X, y = data.X, data.y
    X_val = y_val = None
    if config.val_split:
        from micrograd.data import train_val_split

        X, y, X_val, y_val = train_val_split(X, y, config.val_split, seed=config.seed)
        if not X or not X_val:
            raise ConfigError(
                f"validation split {config.val_split} leaves an empty train or validation set "
                f"of {len(data.X)} samples"
            )
    targets = targets_for_loss(y, config.loss)

    # 2. model: seeded here, as the demo seeds `random` just before building it
    random.seed(config.seed)
    model = engine.build_model(config, len(X[0]), n_outputs)
    parameters = list(model.parameters())

    # 3. optimizer and learning-rate schedule
    opt = optim.make_optimizer(config.optimizer, parameters, config.lr)
    schedule = optim.make_schedule(config.schedule, opt, config.steps)

    # 4. the loop: forward, loss, backward, update
    history: dict[str, list] = {"loss": [], "accuracy": [], "lr": []}
    stream = _batch_stream(X, targets, config.batch_size, config.seed)
    bar = _progress_bar(config.steps, progress)
    t_train = time.perf_counter()
    # The engine makes no reference cycles: each step's graph is freed by reference counting
    # when `loss` is dropped. The cyclic collector would only re-scan the live graph again and
    # again while it is built (a third of the step time for the unfused MLP), so it is paused
    # during the loop and restored afterwards, even on errors.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for k in range(config.steps):
            Xb, yb = next(stream)
            try:
                loss, acc = engine.loss_and_accuracy(model, Xb, yb, config)
                loss_value = float(loss.data)
            except OverflowError:  # `x ** 2` of a huge float raises instead of giving inf
                loss_value = math.inf
            if not math.isfinite(loss_value):
                raise TrainingError(
                    f"the loss became {loss_value} at step {k} (learning rate {opt.lr:g}); "
                    f"try a smaller --lr; nothing was written"
                )
            history["loss"].append(loss_value)
            history["accuracy"].append(acc)
            history["lr"].append(opt.lr)
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
            # Free this step's graph now, not when the next step's graph is already built.
            del loss
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", acc=f"{acc:.1%}", refresh=False)
    finally:
        if gc_was_enabled:
            gc.enable()
        if bar is not None:
            bar.close()
    train_seconds = time.perf_counter() - t_train

    # 5. evaluate the trained model
    def evaluate(Xs: list, ys: list) -> float:
        return accuracy(engine.predict(model, Xs), targets_for_loss(ys, config.loss), config.loss)

    metrics: dict[str, Any] = {
        "final_loss": history["loss"][-1],
        "train_accuracy": evaluate(X, y),
    }
    if X_val is not None:
        metrics["val_accuracy"] = evaluate(X_val, y_val)
    if data.X_test is not None:
        metrics["test_accuracy"] = evaluate(data.X_test, data.y_test)
    metrics.update(
        steps=config.steps,
        seed=config.seed,
        n_parameters=sum(_size(p) for p in parameters),
        n_train=len(X),
        n_classes=data.n_classes,
        config=config.to_dict(),
        history=history,
    )

    # 6. outputs: rendered in memory first, then written
    _write_outputs(config, engine, model, data, X, y, metrics, t_start, train_seconds)
    return metrics


def _size(p: Any) -> int:
    return int(getattr(p.data, "size", 1))


def _progress_bar(steps: int, progress: bool):
    if not progress or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety: train without it
        return None
    return tqdm(total=steps, desc="train", unit="step", file=sys.stderr, leave=True)


def _write_outputs(config, engine, model, data, X, y, metrics, t_start, train_seconds) -> None:
    import json

    from micrograd import plots
    from micrograd.serialize import atomic_write, model_to_json

    files: dict[str, bytes] = {}
    files["curves.png"] = plots.curves_png(
        metrics["history"]["loss"],
        metrics["history"]["accuracy"],
        title=f"{data.name}: loss and accuracy per step",
    )
    if len(X[0]) == 2:
        outputs = _grid_outputs(engine, model)
        score = None
        if config.loss in _BINARY_LOSSES:  # one score, class 1 where > 0: a smooth boundary

            def score(points):
                out = outputs(points)
                return [_scalar(s) for s in (out.tolist() if hasattr(out, "tolist") else out)]

        files["decision_boundary.png"] = plots.decision_boundary_png(
            lambda points: decide(outputs(points), config.loss, data.n_classes or None),
            X,
            y,
            title=f"{data.name}: train accuracy {metrics['train_accuracy']:.0%}",
            score=score,
        )
    metadata = {
        "loss": config.loss,
        "features": data.feature_names,
        "label": config.label,
        "classes": data.classes,
        "n_classes": data.n_classes,
        "dataset": data.name,
        "engine": config.engine,
    }
    files["model.json"] = model_to_json(model, metadata).encode()
    metrics["timing"] = {
        "train_seconds": train_seconds,
        "seconds_per_step": train_seconds / config.steps,
        "total_seconds": time.perf_counter() - t_start,
    }
    files["metrics.json"] = (json.dumps(metrics, indent=2, allow_nan=False) + "\n").encode()
    os.makedirs(config.out, exist_ok=True)
    for name, content in files.items():
        atomic_write(os.path.join(config.out, name), content)
