"""Scoring a CSV file with a saved model: the job behind `micrograd predict`.

    saved = load_for_prediction("runs/moons/model.json")
    header, rows, summary = predict_table(saved, "new_points.csv", proba=False)

`load_for_prediction` loads a model file (`micrograd.serialize` checks the file itself) and then
checks the metadata the training job wrote beside the parameters: the loss, the feature columns,
the label column and the class labels. Every problem is a ValueError naming the file.

`predict_table` reads the CSV as text (`micrograd.data.read_table`), takes the model's feature
columns by name (numbers; errors name the line and column), and returns the input table with
every column passed through unchanged (an `id`, the label, anything) plus `prediction` (the class
label the model was trained with: a number or a name such as `dog`) and either the raw scores
(`score`, or `score_<class>` per class) or, with `proba=True`, the probability of each class
(`proba_<class>`: softmax for cross_entropy, sigmoid for bce). If the label column is present, the
summary gives the accuracy (or the mean squared error for an "mse" model).

Standard library only (numpy is imported by the tensor engine for tensor models).
`micrograd/cli/command.py` calls this; `micrograd/cli/train.py` wrote the files it reads.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["SavedModel", "load_for_prediction", "predict_table", "probabilities"]

# Losses whose model gives probabilities: one sigmoid output ("bce") or a softmax ("cross_entropy").
_PROBABILISTIC = ("bce", "cross_entropy")


@dataclass
class SavedModel:
    """A loaded model and what its file says about the data it was trained on."""

    path: str
    model: Any
    engine: Any  # the engine adapter (`micrograd.cli.train.get_engine`) whose predict() runs it
    loss: str
    nin: int
    n_outputs: int
    features: list[str] | None  # the feature columns by name, in the model's input order
    label: str  # the label column's name
    classes: list | None  # the label of each class index; None for a regression ("mse") model
    # (mean, std) per feature when the model was trained on standardized features, else None
    scaling: tuple[list[float], list[float]] | None = None


def load_for_prediction(path: str | os.PathLike) -> SavedModel:
    """Load the model file `path` and check its metadata against the model."""
    from micrograd.cli.train import LOSS_NAMES, get_engine
    from micrograd.serialize import load_checkpoint

    path = os.fspath(path)
    model, meta = load_checkpoint(path)

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    cfg = model.config()
    nin = cfg["nin"]
    n_outputs = cfg["nouts"][-1] if "nouts" in cfg else cfg.get("nout", 1)
    first = next(iter(model.parameters()))
    engine = get_engine("tensor" if hasattr(first.data, "shape") else "scalar")

    loss = meta.get("loss") or ("hinge" if n_outputs == 1 else "cross_entropy")
    if not isinstance(loss, str) or loss not in LOSS_NAMES:
        raise bad(f"metadata 'loss' is {loss!r}; expected one of {', '.join(LOSS_NAMES)}")
    wanted = "2 or more outputs" if loss == "cross_entropy" else "1 output"
    if (n_outputs >= 2) != (loss == "cross_entropy"):
        raise bad(f"loss {loss!r} needs {wanted}, but the model has {n_outputs}")

    features = meta.get("features") or None
    if features is not None:
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise bad(f"metadata 'features' must be a list of column names, got {features!r}")
        if len(features) != nin or len(set(features)) != nin:
            raise bad(
                f"metadata 'features' must name the model's {nin} inputs once each, got "
                f"{_short(features)}"
            )
    label = meta.get("label") or "label"
    if not isinstance(label, str):
        raise bad(f"metadata 'label' must be a column name, got {label!r}")

    classes = _classes(meta, loss, n_outputs, bad)
    scaling = _scaling(meta, nin, bad)
    return SavedModel(path, model, engine, loss, nin, n_outputs, features, label, classes, scaling)


def _scaling(meta: dict, nin: int, bad) -> tuple[list[float], list[float]] | None:
    """The training rows' feature means and deviations, if the model was trained on
    standardized features (`"standardize": {"mean": [...], "std": [...]}`); a model file
    without the entry (older files too) takes the features as they are."""
    entry = meta.get("standardize")
    if entry is None:
        return None
    if not isinstance(entry, dict) or set(entry) != {"mean", "std"}:
        raise bad(f"metadata 'standardize' must be {{'mean': [...], 'std': [...]}}, got {entry!r}")
    for key in ("mean", "std"):
        values = entry[key]
        if (
            not isinstance(values, list)
            or len(values) != nin
            or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            )
        ):
            raise bad(
                f"metadata 'standardize' {key!r} must list {nin} finite numbers, one per "
                f"feature, got {_short(values)}"
            )
    if not all(v > 0 for v in entry["std"]):
        raise bad(f"metadata 'standardize' 'std' must be > 0, got {_short(entry['std'])}")
    return [float(v) for v in entry["mean"]], [float(v) for v in entry["std"]]


def _classes(meta: dict, loss: str, n_outputs: int, bad) -> list | None:
    """The label of each class index: the metadata's list, checked, or 0..K-1."""
    n_classes = meta.get("n_classes") or None
    if n_classes is not None and (
        isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1
    ):
        raise bad(f"metadata 'n_classes' must be a whole number >= 1, got {n_classes!r}")
    if loss == "mse":
        # A regression model; one trained on class indices rounds to the nearest class.
        return list(range(n_classes)) if n_classes else None
    k = n_outputs if loss == "cross_entropy" else 2
    classes = meta.get("classes")
    if classes is None:
        return list(range(k))
    if not isinstance(classes, list) or not all(
        isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in classes
    ):
        raise bad(f"metadata 'classes' must be a list of class labels, got {_short(classes)}")
    if len(classes) != k:
        raise bad(
            f"metadata 'classes' lists {len(classes)} class labels {_short(classes)} but the "
            f"model predicts {k} classes"
        )
    if len({str(c) for c in classes}) != k:
        raise bad(f"metadata 'classes' names a class twice: {_short(classes)}")
    return classes


def _short(values: Any, limit: int = 10) -> str:
    if not isinstance(values, list) or len(values) <= limit:
        return repr(values)
    return f"[{', '.join(map(repr, values[:limit]))}, ... ({len(values)} in all)]"


def _names(names: list[str]) -> str:
    """Column names for a message: all of a few, or the first two and the last of many."""
    if len(names) <= 4:
        return ", ".join(names)
    return f"{names[0]}, {names[1]}, ..., {names[-1]}: {len(names)} columns"


def predict_table(
    saved: SavedModel,
    data: str | os.PathLike,
    label: str | None = None,
    proba: bool = False,
) -> tuple[list[str], list[list], str]:
    """Score the CSV file `data`: `(header, rows, summary)` of the output table (the input's
    columns, then `prediction` and the scores or probabilities) and a one-line summary.

    `label` names the label column (default: the one the model was trained with); when the file
    has it, the summary gives the accuracy. Raises ValueError naming the file, line and column.
    """
    from micrograd.cli.train import ConfigError, decide
    from micrograd.data import parse_number, read_table

    if proba and saved.loss not in _PROBABILISTIC:
        raise ConfigError(
            f"--proba: a model trained with loss {saved.loss!r} gives scores, not probabilities "
            f"(train with --loss bce or cross_entropy to get them)"
        )
    data = os.fspath(data)
    header, rows = read_table(data, owner="predict")
    label_given = label is not None
    label = label or saved.label
    if label_given and label not in header:
        raise ValueError(f"{data}: no label column {label!r}; the header has the columns {header}")
    has_label = label in header
    if saved.features:
        missing = [f for f in saved.features if f not in header]
        if len(missing) == len(saved.features):
            raise ValueError(
                f"{data}: none of the model's feature columns ({_names(saved.features)}) is in "
                f"the file, which has the columns {_names(header)}"
            )
        if missing:
            raise ValueError(
                f"{data}: the model needs the feature columns {_short(saved.features)}; "
                f"missing {_short(missing)}"
            )
        if label in saved.features:
            raise ValueError(
                f"{data}: column {label!r} is one of the model's features, not a label"
            )
        columns = [header.index(f) for f in saved.features]
    else:  # a model saved without feature names: every column but the label, in order
        columns = [i for i, name in enumerate(header) if name != label]
        if len(columns) != saved.nin:
            raise ValueError(
                f"{data}: the model takes {saved.nin} features and its file does not name them; "
                f"this file has {len(columns)} columns besides the label {label!r}"
            )
    if not rows:
        raise ValueError(f"{data}: no data rows after the header")

    classes = saved.classes
    added = ["prediction"]
    if proba:
        added += [f"proba_{c}" for c in classes]
    elif saved.n_outputs == 1:
        added += ["score"]
    else:
        added += [f"score_{c}" for c in classes]
    clash = [name for name in added if name in header]
    if clash:
        raise ValueError(
            f"{data}: the file already has a column {clash[0]!r}, which the output adds; "
            f"rename or drop that column"
        )

    X = [[parse_number(row[i], data, line, header[i]) for i in columns] for line, row in rows]
    if saved.scaling is not None:  # the model was trained on standardized features
        from micrograd.data import standardize

        X = standardize(X, *saved.scaling)
    truth = _truth(rows, header.index(label), data, label, saved) if has_label else None

    with warnings.catch_warnings():
        # numpy's overflow warnings: a non-finite output is reported below, in one line
        warnings.simplefilter("ignore", RuntimeWarning)
        outputs = saved.engine.predict(saved.model, X)
    if hasattr(outputs, "tolist"):
        outputs = outputs.tolist()
    scores = [row if isinstance(row, list) else [row] for row in outputs]
    for (line, _), row in zip(rows, scores):
        if not all(math.isfinite(v) for v in row):
            raise ValueError(
                f"{saved.path}: the model's output for {data}, line {line} is {row} (weights too "
                f"large for these inputs)"
            )
    if classes is None:  # regression: the prediction is the model's output
        predicted = [s[0] for s in scores]
    else:
        predicted = decide(outputs, saved.loss, len(classes))
    columns_out = probabilities(scores, saved.loss) if proba else scores
    table = [
        [*row, p if classes is None else classes[p], *extra]
        for (_, row), p, extra in zip(rows, predicted, columns_out)
    ]

    summary = f"{len(rows)} rows scored"
    if truth is not None:
        if classes is None:
            err = sum((s[0] - t) ** 2 for s, t in zip(scores, truth)) / len(truth)
            summary += f", mean squared error {err:.6g}"
        else:
            correct = sum(p == t for p, t in zip(predicted, truth))
            summary += f", accuracy {correct / len(truth):.1%}"
    return [*header, *added], table, summary


def _truth(rows: list, at: int, data: str, label: str, saved: SavedModel) -> list:
    """The label column as class indices (or numbers, for a regression model)."""
    from micrograd.data import parse_number

    classes = saved.classes
    if classes is None:
        return [parse_number(row[at], data, line, label) for line, row in rows]
    # Labels are matched as the model's classes were: numbers by value ("1" and "1.0" are class
    # 1), names by their text.
    names = {c: i for i, c in enumerate(classes) if isinstance(c, str)}
    numbers = {c: i for i, c in enumerate(classes) if not isinstance(c, str)}
    truth = []
    for line, row in rows:
        cell = row[at].strip()
        index = names.get(cell)
        if index is None and numbers:
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if value.is_integer():
                index = numbers.get(int(value))
        if index is None:
            raise ValueError(
                f"{data}, line {line}, column {label!r}: {cell!r} is not a class this model "
                f"knows ({_short(classes)[1:-1]}); to score the rows without an accuracy, "
                f"rename or drop the label column"
            )
        truth.append(index)
    return truth


def probabilities(scores: list[list[float]], loss: str) -> list[list[float]]:
    """Class probabilities from raw outputs: a softmax over each row ("cross_entropy"), or
    `[1 - p, p]` with `p = sigmoid(score)` for one output ("bce")."""
    if loss == "bce":
        out = []
        for (s,) in scores:
            # the two-sided sigmoid: exp() of a large positive number would overflow
            p = 1.0 / (1.0 + math.exp(-s)) if s >= 0 else math.exp(s) / (1.0 + math.exp(s))
            out.append([1.0 - p, p])
        return out
    out = []
    for row in scores:
        top = max(row)  # subtracting the largest score keeps exp() from overflowing
        e = [math.exp(s - top) for s in row]
        total = sum(e)
        out.append([v / total for v in e])
    return out
