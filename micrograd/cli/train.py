"""The training job behind `micrograd train`: a config, the data, a model, the loop, the outputs.

Read it top to bottom, as the seven steps of the workflow: `TrainConfig` (what to run), `load_data`
(prepare data), the engine's `build_model` (define the network), then in `run`'s loop the forward
pass and loss (`loss_and_accuracy`), `backward()`, the optimizer's `step()` and the schedule; at the
end the outputs replace the output folder's previous run as one set (`runfolder.py`, beside this
file). `command.py` turns flags into a `TrainConfig`; `plots.py` draws the pictures;
`micrograd/serialize.py` saves the model.

Before any work, the job checks what would make it fail late: the output folder
(`runfolder.check_output_folder`), the plotting packages, and the memory the data, the model and
one step's graph need (`memory.py`). With no loss given, it is chosen from the data:
hinge for two classes, cross-entropy for more. Ctrl-C stops after the current step and writes the
steps done as a run marked interrupted, with `resume.json` (`resume.py`); `resume()`
continues it to the model an uninterrupted run gives, bit for bit.

The defaults are the original micrograd's demo notebook: moons (100 samples, noise 0.1),
`MLP(2, [16, 16, 1])`, hinge loss + L2 (alpha 1e-4), full batch, SGD with the learning rate
`1.0 - 0.9*k/100` at step k, 100 steps, `random.seed(1337)` just before the model is built so that
its weights are drawn as in the original. A setting left at None takes the value that fits the
data set (`DATASET_DEFAULTS`, `resolve_defaults`): moons, circles, spirals and xor keep the demo's;
blobs and digits standardize their features (`data.standardization` of the training rows, stored
in model.json for `micrograd predict` and the pictures) and train with Adam.

Engine adapters
---------------
The loop does not know which engine computes the graph. An *engine adapter* is any object (a class,
or a module such as `micrograd.tensor.training`) with these three functions:

Each function gets the job's config with every setting resolved (none left at None).

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
import json
import math
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

from micrograd._distribution import install_hint
from micrograd.cli import memory, runfolder
from micrograd.cli import resume as resume_mod

__all__ = [
    "ENGINES",
    "LOSS_NAMES",
    "ConfigError",
    "MemoryBudgetError",
    "ScalarEngine",
    "TrainConfig",
    "TrainingError",
    "accuracy",
    "decide",
    "format_accuracy",
    "get_engine",
    "load_data",
    "resume",
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
    """Everything a training run depends on. A setting left at None takes the value that fits the
    data set (`DATASET_DEFAULTS`); for moons, the default data set, those are the original demo's.
    """

    dataset: str = "moons"  # a name in micrograd.data.DATASETS, "digits", or a CSV path
    label: str = "label"  # the label column of a CSV data set
    n_samples: int = 100  # for the generated data sets
    noise: float = 0.1  # for the generated data sets
    layers: Sequence[int] | None = None  # hidden layer sizes; the output layer is added
    activation: str = "relu"
    init: str | None = None
    loss: str | None = None  # None: hinge for two classes (the demo's), cross_entropy for more
    optimizer: str | None = None
    lr: float | None = None
    schedule: str | None = None  # linear: lr * (1 - 0.9 * k / steps), the demo's
    steps: int | None = None
    epochs: int | None = None  # instead of steps: passes over the training set
    batch_size: int | None = None  # 0: the full training set at every step
    val_split: float = 0.0  # fraction of the data held out for validation
    seed: int = 1337
    alpha: float | None = None  # L2 penalty: alpha * sum(p * p)
    standardize: bool | None = None  # features scaled to mean 0, std 1 (training split's)
    out: str = os.path.join("runs", "latest")
    engine: str = "scalar"
    fused: bool = True  # one graph node per neuron's weighted sum (same floats, fewer nodes)
    plots: bool = True  # curves.png and decision_boundary.png (need numpy and matplotlib)
    features: Sequence[str] | None = None  # a CSV's feature columns (None: all but the label)
    drop: Sequence[str] = ()  # a CSV's columns to leave out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("layers", "features", "drop"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d


# The settings that fit each built-in data set: every TrainConfig setting left at None takes its
# value from here. moons is the original micrograd demo, exactly (its first loss is the
# original's 0.8958441028683222); circles, spirals and xor, on the same scale, reach 99%, 99% and
# 97% (noise-free points) with it. The others were chosen by measuring test accuracy on fresh
# samples (held-out images for digits) on both engines (benchmarks/bench_defaults.py): their
# features are standardized and Adam adapts the step size to each weight, where the demo's SGD
# at lr 1.0 diverges on blobs' coordinates (up to +-10) and reaches 56% on digits' 64 inputs.
_DEMO = {
    "layers": (16, 16),
    "init": "uniform",
    "optimizer": "sgd",
    "lr": 1.0,
    "schedule": "linear",
    "steps": 100,
    "batch_size": 0,
    "alpha": 1e-4,
    "standardize": False,
}
_FITTED = {**_DEMO, "optimizer": "adam", "lr": 0.05, "standardize": True}
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "moons": _DEMO,
    "circles": _DEMO,
    "blobs": _FITTED,
    "spirals": _DEMO,
    "xor": _DEMO,
    "digits": {
        **_FITTED,
        "layers": (32,),
        "init": "he",
        "lr": 0.01,
        "schedule": "constant",
        "steps": 200,
        "batch_size": 64,
        "alpha": 0.0,
    },
}
# A CSV file: the demo's settings when its features are already on the scale of a unit (every
# value within +-_UNIT_SCALE: the demo's moons, pixels in [0, 1]); features on other scales
# (kilograms, centimetres, counts) are standardized and trained with Adam.
_CSV_ON_UNIT_SCALE = _DEMO
_CSV_OTHER_SCALES = _FITTED
_UNIT_SCALE = 5.0
DEFAULTED = tuple(_DEMO)


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


def _grid_outputs(engine, model, scaling=None):
    """A function giving the model's raw outputs for many points (the decision-boundary
    picture's grid), as `engine.predict` does.

    For the scalar MLP it runs on numpy arrays, a column of inputs at a time, with the same
    additions in the same order as the graph (so relu/linear models give the same floats; numpy's
    tanh may differ in the last bit, which a picture does not show): 100x faster than Python
    floats on tens of thousands of points. Any other model goes through `engine.predict`."""
    import numpy as np

    from micrograd.nn import MLP

    def scaled(points):
        # The model takes standardized features; the picture's grid is in the data's units.
        if scaling is None:
            return points
        return ((np.asarray(points, dtype=float) - scaling[0]) / scaling[1]).tolist()

    if engine is not ScalarEngine or type(model) is not MLP:
        return lambda points: engine.predict(model, scaled(points))

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
        x = np.asarray(scaled(points), dtype=float)
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
                f"engine 'tensor' needs numpy ({install_hint('tensor')}): {e}"
            ) from None
        return training
    raise ConfigError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}")


def scalar_engine_note() -> str:
    """One line saying which scalar engine runs; for the pure-Python one, why and what it costs
    (benchmarks/bench_defaults.py --pure: each data set's default job takes 3-7x the compiled
    engine's time)."""
    from micrograd import engine

    if engine.IMPLEMENTATION == "compiled":
        return "scalar engine: compiled (micrograd/_cengine.c)"
    if os.environ.get("MICROGRAD_PURE", "") not in ("", "0"):
        why, fix = "MICROGRAD_PURE is set", "unset MICROGRAD_PURE for the compiled one"
    elif importlib.util.find_spec("micrograd._cengine") is None:
        why = "the compiled extension was not built (no C compiler was found at install)"
        fix = "install a C compiler and reinstall, or use --engine tensor"
    else:
        why, fix = "the compiled extension failed to load", "reinstall, or use --engine tensor"
    return (
        f"scalar engine: pure Python, because {why}; the same numbers, but training takes "
        f"3-7x as long as on the compiled engine ({fix})"
    )


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


def load_data(config: TrainConfig, log: Callable[[str], None] | None = None) -> Data:
    """The data set named by `config.dataset`: a generated one, "digits", or a CSV file (its
    columns chosen by `config.features` and `config.drop`; `log` gets the note about text columns
    left out)."""
    from micrograd import data as datasets

    name = config.dataset
    if name in datasets.DATASETS and (config.features or config.drop):
        raise ConfigError(
            f"--features and --drop choose the columns of a CSV file, not of data set {name!r}"
        )
    if name == "digits":
        X, y, X_test, y_test = datasets.load_digits(test_fraction=0.2, seed=config.seed)
        features = [f"pixel_{i}" for i in range(len(X[0]))]
        return Data(name, X, y, X_test, y_test, features, None, 10)
    if name in datasets.DATASETS:
        if config.n_samples is None or config.n_samples < 2:
            raise ConfigError(f"n_samples must be at least 2, got {config.n_samples}")
        if not (config.noise >= 0 and math.isfinite(config.noise)):
            raise ConfigError(f"noise must be a finite number >= 0, got {config.noise}")
        X, y, features = datasets.generate(name, config.n_samples, config.noise, config.seed)
        return Data(name, X, y, feature_names=features, n_classes=max(y) + 1)
    if name.lower().endswith(".csv") or os.path.exists(name):
        if os.path.isdir(name):
            raise ValueError(f"cannot read the data set {name!r}: it is a folder, not a CSV file")
        if not os.path.isfile(name):
            raise ValueError(f"cannot read the data set {name!r}: no such file")
        X, y, features = datasets.load_csv(
            name, label=config.label, features=config.features, drop=config.drop, log=log
        )
        text_labels = isinstance(y[0], str)
        if config.loss == "mse":
            if text_labels:
                raise ValueError(
                    f"{name}: column {config.label!r} holds class names ({y[0]!r}, ...), not the "
                    f"numbers loss 'mse' fits; choose a classification loss"
                )
            return Data(name, X, [float(v) for v in y], feature_names=list(features))
        classes = sorted(set(y))
        for v in classes:
            if not text_labels and float(v) != int(v):
                raise ValueError(
                    f"{name}: label {v!r} in column {config.label!r} is not a class "
                    f"(a whole number or a name); use --loss mse for numeric targets"
                )
        # Class index i stands for classes[i] (numbers in order, or names in sorted order);
        # the model file keeps the list, so that `micrograd predict` prints the labels back.
        index = {v: i for i, v in enumerate(classes)}
        classes = classes if text_labels else [int(v) for v in classes]
        return Data(
            name,
            X,
            [index[v] for v in y],
            feature_names=list(features),
            classes=classes,
            n_classes=len(classes),
        )
    known = ", ".join(sorted(datasets.DATASETS))  # (digits is one of them)
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
    """Refuse a setting that cannot run; a setting left at None (the data set's default) passes."""
    from micrograd import optim
    from micrograd.nn import INITS

    for key in ("dataset", "label"):
        if not isinstance(getattr(config, key), str):
            raise ConfigError(f"{key} must be a string, got {getattr(config, key)!r}")
    if config.loss is not None and config.loss not in LOSS_NAMES:
        raise ConfigError(f"unknown loss {config.loss!r}: choose one of {', '.join(LOSS_NAMES)}")
    if config.optimizer is not None and config.optimizer not in optim.OPTIMIZERS:
        raise ConfigError(
            f"unknown optimizer {config.optimizer!r}: choose one of {', '.join(optim.OPTIMIZERS)}"
        )
    if config.schedule is not None and config.schedule not in optim.SCHEDULES:
        raise ConfigError(
            f"unknown schedule {config.schedule!r}: choose one of {', '.join(optim.SCHEDULES)}"
        )
    if config.init is not None and config.init not in INITS:
        raise ConfigError(f"unknown init {config.init!r}: choose one of {', '.join(INITS)}")
    if config.engine not in ENGINES:
        raise ConfigError(f"unknown engine {config.engine!r}: choose one of {', '.join(ENGINES)}")
    for key in ("steps", "epochs"):
        value = getattr(config, key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ConfigError(f"{key} must be a whole number >= 1, got {value!r}")
    if config.lr is not None and not (
        isinstance(config.lr, (int, float)) and math.isfinite(config.lr) and config.lr > 0
    ):
        raise ConfigError(f"learning rate must be a finite number > 0, got {config.lr!r}")
    if config.alpha is not None and not (
        isinstance(config.alpha, (int, float)) and math.isfinite(config.alpha) and config.alpha >= 0
    ):
        raise ConfigError(f"alpha (L2) must be a finite number >= 0, got {config.alpha!r}")
    if config.batch_size is not None and (
        not isinstance(config.batch_size, int) or config.batch_size < 0
    ):
        raise ConfigError(f"batch size must be a whole number >= 0, got {config.batch_size!r}")
    if not (0 <= config.val_split < 1):
        raise ConfigError(f"validation split must be in [0, 1), got {config.val_split!r}")
    if config.layers is not None and (
        not config.layers or any(not isinstance(n, int) or n < 1 for n in config.layers)
    ):
        raise ConfigError(
            f"layers must be one or more whole numbers >= 1, got {list(config.layers)!r}"
        )
    if config.standardize is not None and not isinstance(config.standardize, bool):
        raise ConfigError(f"standardize must be True, False or None, got {config.standardize!r}")
    for key in ("features", "drop"):
        names = getattr(config, key)
        if names is not None and (
            isinstance(names, str) or not all(isinstance(n, str) and n for n in names)
        ):
            raise ConfigError(f"{key} must be a list of column names, got {names!r}")


def _batch_stream(
    X: list, y: list, batch_size: int | None, seed: int, start: int = 0
) -> Iterator[tuple]:
    """(Xb, yb) for every step from step `start` on: the full set, or shuffled mini-batches epoch
    after epoch, each epoch shuffled with its own seed. The batch of step k depends only on the
    seed and k, so a resumed run sees the batches the uninterrupted run would have seen."""
    if not batch_size or batch_size >= len(X):
        while True:
            yield X, y
    from micrograd.data import batches

    per_epoch = -(-len(X) // batch_size)
    epoch, skip = divmod(start, per_epoch)
    while True:
        stream = batches(X, y, batch_size, seed=seed + epoch)
        for _ in range(skip):
            next(stream)
        skip = 0
        yield from stream
        epoch += 1


class _StopRequest:
    """Ctrl-C during training: the first one asks the loop to stop after the current step (the
    steps done are then saved as an interrupted run); a second one interrupts at once. Only in
    the main thread, where Python delivers signals."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            # None: the previous handler was not set from Python; Python's own is the default.
            previous = self._previous
            signal.signal(
                signal.SIGINT, signal.default_int_handler if previous is None else previous
            )


def _say(log: Callable[[str], None] | None, message: str) -> None:
    if log is not None:
        log(message)


# -- checks made before the work ------------------------------------------------------------


def _check_plot_packages(config: TrainConfig) -> None:
    if not config.plots:
        return
    for package in ("numpy", "matplotlib"):  # the pictures need them; found, not yet imported
        if importlib.util.find_spec(package) is None:
            raise ImportError(
                f"the training job's plots need {package}: {install_hint('train')}, "
                f"or train without plots (--no-plots)"
            )


def _refuse_memory(need: int, free: int, what: str, advice: str) -> None:
    raise MemoryBudgetError(
        f"this job needs about {memory.format_bytes(need)} of memory ({what}) but about "
        f"{memory.format_bytes(free)} is available; {advice}"
    )


def _check_data_memory(config: TrainConfig) -> None:
    """Refuse, before generating or reading it, a data set larger than the free memory."""
    from micrograd import data as datasets

    free = memory.available_bytes()
    if free is None:
        return
    if config.dataset in datasets.DATASETS and config.dataset != "digits":
        need = memory.data_bytes(config.n_samples, 2)
        if need > free:
            _refuse_memory(
                need, free, f"{config.n_samples:,} samples", "ask for fewer with --samples"
            )
    elif os.path.isfile(config.dataset):
        need = memory.csv_bytes(config.dataset)
        if need > free:
            _refuse_memory(need, free, f"reading {config.dataset}", "use a smaller file")


def _check_job_memory(config: TrainConfig, sizes: list[int], n_rows: int) -> None:
    """Refuse a model or a step's graph that cannot fit, with the flag that makes it fit."""
    free = memory.available_bytes()
    if free is None:
        return
    batch = n_rows if not config.batch_size else min(config.batch_size, n_rows)
    cost = memory.job_bytes(config.engine, sizes, batch, config.fused)
    data = memory.data_bytes(n_rows, sizes[0])
    n_parameters = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if cost["model"] + data > free:
        _refuse_memory(
            cost["model"] + data,
            free,
            f"a model of {n_parameters:,} parameters on the {config.engine} engine",
            "use smaller --layers",
        )
    if cost["model"] + data + cost["graph"] > free:
        room = (free - cost["model"] - data) // 2
        fits = max(1, room // cost["per_row"])
        advice = f"use --batch-size {min(fits, 1 << 16)} or smaller"
        if config.engine == "scalar":
            advice += ", or --engine tensor (a numpy array per layer, not a node per number)"
        _refuse_memory(
            cost["model"] + data + cost["graph"],
            free,
            f"one step on a batch of {batch:,} rows on the {config.engine} engine",
            advice,
        )


def resolve_defaults(config: TrainConfig, data: Data) -> TrainConfig:
    """The config with every setting left at None taken from `DATASET_DEFAULTS` (a CSV file:
    the demo's settings when every feature value is within +-5, else standardized features and
    Adam). An optimizer chosen without a learning rate gets its own usual one (`_OPTIMIZER_LR`),
    not the rate tuned for another optimizer."""
    table = DATASET_DEFAULTS.get(config.dataset)
    if table is None:
        on_unit_scale = all(abs(v) <= _UNIT_SCALE for row in data.X for v in row)
        table = _CSV_ON_UNIT_SCALE if on_unit_scale else _CSV_OTHER_SCALES
    changes = {key: value for key, value in table.items() if getattr(config, key) is None}
    if config.optimizer is not None and config.optimizer != table["optimizer"]:
        changes["lr"] = _OPTIMIZER_LR[config.optimizer] if config.lr is None else config.lr
    if config.epochs is not None:
        changes.pop("steps", None)
    return dataclasses.replace(config, **changes)


# The learning rate of an optimizer chosen with --optimizer but no --lr, when the data set's
# defaults use another optimizer.
_OPTIMIZER_LR = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01}


def _steps_per_epoch(n_rows: int, batch_size: int | None) -> int:
    """Steps in one pass over `n_rows` training rows: one full batch, or ceil(n / batch)."""
    if not batch_size or batch_size >= n_rows:
        return 1
    return -(-n_rows // batch_size)


def _resolve_loss(config: TrainConfig, data: Data) -> TrainConfig:
    """The config with its loss chosen from the data when none was given: the demo's hinge for
    two classes, cross-entropy for more."""
    if config.loss is not None:
        return config
    loss = "hinge" if data.n_classes <= 2 else "cross_entropy"
    return dataclasses.replace(config, loss=loss)


# -- the job --------------------------------------------------------------------------------


def run(
    config: TrainConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> dict:
    """Train as `config` says, write the outputs into `config.out`, and return the metrics.

    Outputs: `model.json` (`micrograd.serialize`), `metrics.json`, and unless `config.plots` is
    False `curves.png` (loss and accuracy per step) and, for 2-D data, `decision_boundary.png`;
    an interrupted run adds `resume.json`. They replace the folder's previous run as one set
    (`micrograd.cli.runfolder`), or not at all if anything fails. Everything in `metrics.json`
    except its `timing` entry is the same, bit for bit, on every run with the same config.

    Ctrl-C stops after the current step and writes the steps done as a run marked
    `"interrupted": true` (see `resume`). `log` receives notes and warnings meant for the user
    (a long job's expected duration, a loss that got worse); `announce` receives, when training
    starts on the scalar engine, the line that says which one runs (`scalar_engine_note`).
    """
    return _Job(config or TrainConfig(), progress, log, announce=announce).run()


def resume(
    run_folder: str,
    out: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> dict:
    """Continue the interrupted run in `run_folder` to its planned number of steps, writing into
    `out` (default: `run_folder` itself). The model, optimizer state, schedule and batch order
    continue where they stopped: the final model is the one an uninterrupted run gives, bit for
    bit (on the same engine and machine)."""
    files = runfolder.read_run(run_folder, ["metrics.json", "resume.json"])
    if "metrics.json" not in files:
        raise ValueError(f"{run_folder}: not a micrograd run folder (no metrics.json)")
    try:
        metrics = json.loads(files["metrics.json"])
        saved = dict(metrics["config"])
        history = metrics["history"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{os.path.join(run_folder, 'metrics.json')}: unreadable ({e})") from None
    if "resume.json" not in files:
        raise ValueError(
            f"run {run_folder!r} was not interrupted (it has no resume.json): there is "
            f"nothing to resume; start a new run instead"
        )
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(saved) - known)
    if unknown:
        raise ValueError(f"{run_folder}: metrics.json has unknown settings {unknown}")
    saved["out"] = run_folder if out is None else out
    # A run saved before standardization existed trained on the features as they were.
    saved.setdefault("standardize", False)
    try:
        saved["layers"] = tuple(saved.get("layers", ()))
        for key in ("features", "drop"):
            if saved.get(key) is not None:
                saved[key] = tuple(saved[key])
        config = TrainConfig(**saved)
        _check_config(config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{os.path.join(run_folder, 'metrics.json')}: bad settings: {e}") from None
    _check_resumed_data(config, run_folder)
    state = (files["resume.json"].decode("utf-8", "replace"), history, run_folder)
    return _Job(config, progress, log, state, announce).run()


def _check_resumed_data(config: TrainConfig, run_folder: str) -> None:
    """A run keeps its CSV path as it was given; relative, it only resolves from the folder the
    run was started in. Say so, rather than "no such file"."""
    from micrograd.data import DATASETS

    name = config.dataset
    relative = name not in DATASETS and not os.path.isabs(name)
    if relative and not os.path.exists(name):
        raise ValueError(
            f"{run_folder}: the run was trained on {name!r}, a path relative to the folder it "
            f"was started in, and there is no {name!r} here ({os.getcwd()}); run --resume "
            f"from that folder"
        )


class MemoryBudgetError(MemoryError):
    """The job would need more memory than the machine has; refused before starting."""


class _Job:
    """One training run, in the order of the workflow (`run` is the entry point)."""

    def __init__(self, config, progress, log, resume_state=None, announce=None) -> None:
        self.config = config
        self.progress = progress
        self.log = log
        self.announce = announce
        self.resume_state = resume_state

    def run(self) -> dict:
        from micrograd import optim

        config = self.config
        t_start = time.perf_counter()
        _check_config(config)
        if self.resume_state is None and config.steps is not None and config.epochs is not None:
            raise ConfigError(
                f"give the length of training once: steps ({config.steps}) or epochs "
                f"({config.epochs}), not both"
            )
        runfolder.check_output_folder(config.out)  # before training: a long run is not wasted
        _check_plot_packages(config)
        engine = get_engine(config.engine)
        _check_data_memory(config)

        # 1. data, the settings that fit it (those not given), and the loss
        data = load_data(config, self.log)
        config = self.config = _resolve_loss(resolve_defaults(config, data), data)
        n_outputs = _check_labels(data, config.loss)
        X, y = data.X, data.y
        X_val = y_val = None
        if config.val_split:
            from micrograd.data import train_val_split

            X, y, X_val, y_val = train_val_split(X, y, config.val_split, seed=config.seed)
            if not X or not X_val:
                raise ConfigError(
                    f"validation split {config.val_split} leaves an empty train or validation "
                    f"set of {len(data.X)} samples"
                )
        if config.epochs is not None:  # the steps that pass over the training set that often
            config = self.config = dataclasses.replace(
                config, steps=config.epochs * _steps_per_epoch(len(X), config.batch_size)
            )
        targets = targets_for_loss(y, config.loss)
        val_targets = targets_for_loss(y_val, config.loss) if y_val is not None else None
        _check_job_memory(config, [len(X[0]), *config.layers, n_outputs], len(X))
        # The model sees standardized features (statistics of the training rows only, kept in
        # model.json for `predict`); `data` and X keep the raw ones for the pictures.
        scaling = None
        fit_X, fit_X_val = X, X_val
        if config.standardize:
            from micrograd.data import standardization, standardize

            scaling = standardization(X)
            fit_X = standardize(X, *scaling)
            fit_X_val = standardize(X_val, *scaling) if X_val is not None else None

        # 2. model: seeded here, as the demo seeds `random` just before building it
        random.seed(config.seed)
        model = engine.build_model(config, len(X[0]), n_outputs)
        parameters = list(model.parameters())

        # 3. optimizer and learning-rate schedule
        opt = optim.make_optimizer(config.optimizer, parameters, config.lr)
        schedule = optim.make_schedule(config.schedule, opt, config.steps)

        history: dict[str, list] = {"loss": [], "accuracy": [], "lr": []}
        if X_val is not None:
            history.update(val_step=[], val_loss=[], val_accuracy=[])
        start = 0
        if self.resume_state is not None:
            fingerprint = resume_mod.data_fingerprint(X, targets)
            start, history = self._restore(model, opt, schedule, fingerprint, history)

        if config.engine == "scalar":  # the first line of the training's output
            _say(self.announce, scalar_engine_note())

        # 4. the loop: forward, loss, backward, update. Ctrl-C stops it after the current step
        # (`_StopRequest`); from the end of the loop until the run is written, Ctrl-C waits for
        # the outputs, so a finished training is not lost while its pictures are drawn. A second
        # Ctrl-C stops at once.
        with _StopRequest() as stop, warnings.catch_warnings():
            # numpy's overflow warnings: a loss that overflows is reported in one line below
            warnings.simplefilter("ignore", RuntimeWarning)
            steps_done, train_seconds = self._loop(
                engine,
                model,
                opt,
                schedule,
                history,
                start,
                fit_X,
                targets,
                fit_X_val,
                val_targets,
                stop,
            )

            # 5. evaluate the trained model
            def evaluate(Xs: list, ys: list) -> float:
                if scaling is not None:
                    Xs = standardize(Xs, *scaling)
                return accuracy(
                    engine.predict(model, Xs), targets_for_loss(ys, config.loss), config.loss
                )

            interrupted = steps_done < config.steps
            metrics: dict[str, Any] = {
                "final_loss": history["loss"][-1],
                "train_accuracy": evaluate(X, y),
            }
            if X_val is not None:
                metrics["val_accuracy"] = evaluate(X_val, y_val)
            if data.X_test is not None:
                metrics["test_accuracy"] = evaluate(data.X_test, data.y_test)
            full_batch = not config.batch_size or config.batch_size >= len(X)
            diverged = _diverged(history["loss"], full_batch)
            metrics.update(
                steps=config.steps,
                steps_done=steps_done,
                interrupted=interrupted,
                diverged=diverged,
                seed=config.seed,
                n_parameters=sum(_size(p) for p in parameters),
                n_train=len(X),
                n_classes=data.n_classes,
                config=config.to_dict(),
                history=history,
            )
            if diverged:
                _say(self.log, _divergence_warning(history, config))

            # 6. outputs: rendered in memory first, then written as one set
            files = _render_outputs(config, engine, model, data, X, y, metrics, scaling)
            if interrupted:
                fingerprint = resume_mod.data_fingerprint(X, targets)
                files["resume.json"] = resume_mod.state_to_json(
                    steps_done, schedule.k, model, opt, fingerprint
                ).encode()
            metrics["timing"] = {
                "train_seconds": train_seconds,
                "seconds_per_step": train_seconds / max(steps_done - start, 1),
                "total_seconds": time.perf_counter() - t_start,
            }
            files["metrics.json"] = (json.dumps(metrics, indent=2, allow_nan=False) + "\n").encode()
            runfolder.write_run(config.out, files)
        if stop.requested and not interrupted:
            # Ctrl-C after the last step: the whole run is written; report the interruption.
            stopped = KeyboardInterrupt()
            stopped.run_written = True  # type: ignore[attr-defined]
            raise stopped
        return metrics

    def _restore(self, model, opt, schedule, fingerprint, history) -> tuple[int, dict]:
        """Load an interrupted run's state; the step to continue from and its history."""
        text, saved_history, folder = self.resume_state
        where = os.path.join(folder, "resume.json")
        state = resume_mod.load_state(text, model, opt, where)
        if state["data_fingerprint"] != fingerprint:
            raise ValueError(
                f"{folder}: the training data differ from those the run was trained on "
                f"({self.config.dataset}); resume on the same data"
            )
        start = state["step"]
        if not 0 < start < self.config.steps:
            raise ValueError(f"{where}: step {start} is not inside the run's {self.config.steps}")
        if not isinstance(saved_history, dict) or any(
            not isinstance(saved_history.get(k), list) or len(saved_history[k]) != start
            for k in ("loss", "accuracy", "lr")
        ):
            raise ValueError(f"{folder}: metrics.json's history does not match resume.json")
        missing = [k for k in history if k not in saved_history]
        if missing:
            raise ValueError(f"{folder}: metrics.json's history lacks {missing}")
        schedule.k = state["schedule_step"]
        opt.lr = schedule.lr_at(schedule.k)
        return start, {k: list(saved_history[k]) for k in history}

    def _loop(self, engine, model, opt, schedule, history, start, X, targets, X_val, y_val, stop):
        """Steps `start`..`config.steps - 1`; returns (steps done, seconds). Stops early, after
        a whole step, once Ctrl-C set `stop.requested`."""
        config = self.config
        stream = _batch_stream(X, targets, config.batch_size, config.seed, start)
        eval_every = max(1, config.steps // _VAL_POINTS)
        bar = _progress_bar(config.steps, self.progress, start)
        t_train = time.perf_counter()
        # The engine makes no reference cycles: each step's graph is freed by reference counting
        # when `loss` is dropped. The cyclic collector would only re-scan the live graph again
        # and again while it is built (a third of the step time for the unfused MLP), so it is
        # paused during the loop and restored afterwards, even on errors.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        k = start
        try:
            for k in range(start, config.steps):
                Xb, yb = next(stream)
                loss, acc = _forward(engine, model, Xb, yb, config, opt, k)
                loss_value = float(loss.data)
                history["loss"].append(loss_value)
                history["accuracy"].append(acc)
                history["lr"].append(opt.lr)
                if X_val is not None and (k % eval_every == 0 or k == config.steps - 1):
                    val_loss, val_acc = _forward(engine, model, X_val, y_val, config, opt, k)
                    history["val_step"].append(k)
                    history["val_loss"].append(float(val_loss.data))
                    history["val_accuracy"].append(val_acc)
                    del val_loss
                opt.zero_grad()
                loss.backward()
                opt.step()
                schedule.step()
                # Free this step's graph now, not when the next step's graph is built.
                del loss
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.4f}", acc=f"{acc:.1%}", refresh=False)
                if k == start:
                    self._note_duration(time.perf_counter() - t_train, config.steps - start)
                if stop.requested:
                    break
        finally:
            if gc_was_enabled:
                gc.enable()
            if bar is not None:
                bar.close()
        return k + 1, time.perf_counter() - t_train

    def _note_duration(self, first_step: float, steps: int) -> None:
        """After the first step: say so when the whole job will take long, and what helps."""
        expected = first_step * steps
        if expected < _LONG_JOB_SECONDS:
            return
        hint = ""
        if self.config.engine == "scalar" and importlib.util.find_spec("numpy") is not None:
            hint = "; --engine tensor runs it on numpy arrays, typically 10-100x faster"
        _say(
            self.log,
            f"note: this job will take about {_duration(expected)} ({first_step:.2g} s per "
            f"step x {steps} steps on the {self.config.engine} engine){hint}; Ctrl-C stops it "
            f"and saves the steps done (continue with --resume)",
        )


# Validation points drawn on the curves (evaluating at every step would double the work).
_VAL_POINTS = 50
# Jobs expected to run longer than this are announced after their first step.
_LONG_JOB_SECONDS = 60.0


def _forward(engine, model, Xb, yb, config, opt, k):
    """`engine.loss_and_accuracy`, with a loss that is not finite reported as a TrainingError."""
    try:
        loss, acc = engine.loss_and_accuracy(model, Xb, yb, config)
        value = float(loss.data)
    except OverflowError:  # `x ** 2` of a huge float raises instead of giving inf
        value = math.inf
    if not math.isfinite(value):
        raise TrainingError(
            f"the loss became {value} at step {k} (learning rate {opt.lr:g}); "
            f"try a smaller --lr; nothing was written"
        )
    return loss, acc


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


def _diverged(losses: list[float], full_batch: bool) -> bool:
    """Did training make the loss worse? Full batch: the last step's loss is above step 0's (the
    untrained model's). Mini-batches, whose losses vary from batch to batch: the median of the
    last tenth of the steps is above 1.25x step 0's."""
    if len(losses) < 2:
        return False
    if full_batch:
        return losses[-1] > losses[0]
    window = sorted(losses[-max(1, len(losses) // 10) :])
    return window[len(window) // 2] > 1.25 * losses[0]


def _divergence_warning(history: dict, config: TrainConfig) -> str:
    first, last = history["loss"][0], history["loss"][-1]
    return (
        f"warning: training made the loss worse (step 0: {first:.6g}, last step: {last:.6g}); "
        f"the learning rate {config.lr:g} is probably too large for {config.optimizer}: "
        f"try --lr {config.lr / 10:g}"
    )


def _size(p: Any) -> int:
    return int(getattr(p.data, "size", 1))


def _progress_bar(steps: int, progress: bool, start: int = 0):
    if not progress or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a nicety: train without it
        return None
    return tqdm(total=steps, initial=start, desc="train", unit="step", file=sys.stderr, leave=True)


def format_accuracy(a: float) -> str:
    """An accuracy as the command line and the pictures show it (one rounding everywhere)."""
    return f"{a:.1%}"


def _render_outputs(config, engine, model, data, X, y, metrics, scaling=None) -> dict[str, bytes]:
    """Every output file's bytes but metrics.json's, made in memory (nothing written yet)."""
    from micrograd.serialize import model_to_json

    files: dict[str, bytes] = {}
    if config.plots:
        from micrograd.cli import plots

        history = metrics["history"]
        val = None
        if "val_step" in history:
            val = (history["val_step"], history["val_loss"], history["val_accuracy"])
        files["curves.png"] = plots.curves_png(
            history["loss"],
            history["accuracy"],
            title=f"{data.name}: loss and accuracy per step",
            validation=val,
        )
        if len(X[0]) == 2:
            outputs = _grid_outputs(engine, model, scaling)
            score = None
            if config.loss in _BINARY_LOSSES:  # one score, class 1 where > 0: a smooth boundary

                def score(points):
                    out = outputs(points)
                    return [_scalar(s) for s in (out.tolist() if hasattr(out, "tolist") else out)]

            files["decision_boundary.png"] = plots.decision_boundary_png(
                lambda points: decide(outputs(points), config.loss, data.n_classes or None),
                X,
                y,
                title=f"{data.name}: train accuracy {format_accuracy(metrics['train_accuracy'])}",
                score=score,
                feature_names=data.feature_names,
                class_names=data.classes,
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
    if scaling is not None:
        metadata["standardize"] = {"mean": scaling[0], "std": scaling[1]}
    files["model.json"] = model_to_json(model, metadata).encode()
    return files
