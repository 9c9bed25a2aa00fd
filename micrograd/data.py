"""Data sets and batching for training: toy 2-D problems, a CSV loader, scikit-learn's digits.

Every generator returns `(X, y)`: `X` a list of rows (lists of floats), `y` a list of class
indices 0..K-1. They are pure Python and draw from their own `random.Random(seed)`, never from
the global `random` state (which `micrograd.nn` uses for weights, so generating data does not
change a model's initial weights). The same seed gives the same data, on every platform.

    X, y = make_moons(100, noise=0.1, seed=1337)
    X_train, y_train, X_val, y_val = train_val_split(X, y, val_fraction=0.2, seed=0)
    for Xb, yb in batches(X_train, y_train, batch_size=32, seed=0): ...

`load_csv` reads a table of numbers with a header (labels may be numbers or class names),
`read_table` any CSV as text, `save_csv` writes one; their errors name the file, the line and
the column. `load_digits` needs scikit-learn (the `datasets` extra),
imported only when called. `DATASETS` maps names to generators for the command line; every
entry accepts `n_samples=` and `seed=`; `generate(name, ...)` also names the features.

Standard library only. Read `micrograd/cli/train.py` next (the training job that uses all this).
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import numbers
import os
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Callable

from micrograd._distribution import install_hint

__all__ = [
    "DATASETS",
    "batches",
    "digits",
    "generate",
    "load_csv",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "parse_number",
    "read_table",
    "save_csv",
    "standardization",
    "standardize",
    "train_val_split",
]

Dataset = tuple[list[list[float]], list[int]]


# -- argument checks ----------------------------------------------------------------------------


def _count(value: object, name: str, owner: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _nonneg(value: object, name: str, owner: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {value!r}")
    return float(value)


def _rng(seed: object, owner: str) -> random.Random:
    """A private generator: the global `random` state is left alone."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{owner}: seed must be an int or None, got {type(seed).__name__}")
    # int(): random.Random refuses numpy integers (only int, float, str, bytes are seeds)
    return random.Random(None if seed is None else int(seed))


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """n evenly spaced numbers, as numpy.linspace."""
    if n <= 1:
        return [start] * n
    div = (n - 1) if endpoint else n
    step = (stop - start) / div
    return [start + i * step for i in range(n)]


def _shuffled_with_noise(points, labels, noise, rng) -> Dataset:
    """Shuffle the samples, then add Gaussian noise of std `noise` to every coordinate."""
    order = list(range(len(points)))
    rng.shuffle(order)
    X = [[c + rng.gauss(0.0, noise) if noise else c for c in points[i]] for i in order]
    y = [labels[i] for i in order]
    return X, y


# -- toy data sets --------------------------------------------------------------------------------


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Two interleaving half circles (scikit-learn's `make_moons` shapes): class 0 the upper
    moon, class 1 the lower one; `noise` is the std of Gaussian noise added to each coordinate."""
    n = _count(n_samples, "n_samples", "make_moons")
    noise = _nonneg(noise, "noise", "make_moons")
    rng = _rng(seed, "make_moons")
    n_out = n // 2
    n_in = n - n_out
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    points += [[1 - math.cos(t), 1 - math.sin(t) - 0.5] for t in _linspace(0.0, math.pi, n_in)]
    return _shuffled_with_noise(points, [0] * n_out + [1] * n_in, noise, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int | None = None
) -> Dataset:
    """A circle of radius 1 (class 0) around a smaller one of radius `factor` (class 1)."""
    n = _count(n_samples, "n_samples", "make_circles")
    noise = _nonneg(noise, "noise", "make_circles")
    if not (isinstance(factor, numbers.Real) and 0 <= factor < 1):
        raise ValueError(f"make_circles: factor must be a number in [0, 1), got {factor!r}")
    rng = _rng(seed, "make_circles")
    n_out = n // 2
    n_in = n - n_out
    outer = _linspace(0.0, 2 * math.pi, n_out, endpoint=False)
    inner = _linspace(0.0, 2 * math.pi, n_in, endpoint=False)
    points = [[math.cos(t), math.sin(t)] for t in outer]
    points += [[factor * math.cos(t), factor * math.sin(t)] for t in inner]
    return _shuffled_with_noise(points, [0] * n_out + [1] * n_in, noise, rng)


def _split_evenly(n: int, k: int) -> list[int]:
    """n samples over k classes: n // k each, the first n % k get one more."""
    return [n // k + (1 if j < n % k else 0) for j in range(k)]


def make_blobs(
    n_samples: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    seed: int | None = None,
) -> Dataset:
    """Gaussian clusters, one class each. `centers` is a number of clusters (their centres drawn
    uniformly in [-10, 10] per feature) or a list of centre points."""
    n = _count(n_samples, "n_samples", "make_blobs")
    std = _nonneg(cluster_std, "cluster_std", "make_blobs")
    rng = _rng(seed, "make_blobs")
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
        k = _count(centers, "centers", "make_blobs")
        d = _count(n_features, "n_features", "make_blobs")
        points_c = [[rng.uniform(-10.0, 10.0) for _ in range(d)] for _ in range(k)]
    else:
        points_c = _points(centers, "make_blobs")
    points, labels = [], []
    for j, (center, m) in enumerate(zip(points_c, _split_evenly(n, len(points_c)))):
        points += [list(center) for _ in range(m)]
        labels += [j] * m
    return _shuffled_with_noise(points, labels, std, rng)


def _points(centers: object, owner: str) -> list[list[float]]:
    """A non-empty list of equal-length points of finite numbers, or an error naming the entry."""
    if isinstance(centers, (str, bytes)) or not isinstance(centers, Iterable):
        raise TypeError(
            f"{owner}: centers must be a count or a list of points, got {type(centers).__name__}"
        )
    points = []
    for i, center in enumerate(centers):
        if isinstance(center, (str, bytes)) or not isinstance(center, Iterable):
            raise TypeError(
                f"{owner}: centers[{i}] must be a point (a list of numbers), "
                f"got {type(center).__name__}"
            )
        point = []
        for j, c in enumerate(center):
            if isinstance(c, bool) or not isinstance(c, numbers.Real) or not math.isfinite(c):
                raise ValueError(f"{owner}: centers[{i}][{j}] must be a finite number, got {c!r}")
            point.append(float(c))
        points.append(point)
    if not points or len({len(p) for p in points}) != 1 or not points[0]:
        raise ValueError(f"{owner}: centers must be a count or a list of equal-length points")
    return points


def make_spirals(
    n_samples: int = 100, n_classes: int = 2, noise: float = 0.2, seed: int | None = None
) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n spiral): along arm j the radius grows
    from 0 to 1 while the angle turns 4 radians from `2*pi*j/n_classes`; `noise` is the std of
    Gaussian noise added to the angle."""
    n = _count(n_samples, "n_samples", "make_spirals")
    k = _count(n_classes, "n_classes", "make_spirals", minimum=2)
    noise = _nonneg(noise, "noise", "make_spirals")
    rng = _rng(seed, "make_spirals")
    points, labels = [], []
    for j, m in enumerate(_split_evenly(n, k)):
        for r in _linspace(0.0, 1.0, m):
            t = 2 * math.pi * j / k + 4 * r + (rng.gauss(0.0, noise) if noise else 0.0)
            points.append([r * math.sin(t), r * math.cos(t)])
            labels.append(j)
    return _shuffled_with_noise(points, labels, 0.0, rng)


def make_xor(n_samples: int = 100, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Points uniform in the square [-1, 1]^2, class 1 where x and y have opposite signs (the
    XOR of the quadrants); `noise` is added to the coordinates after labelling."""
    n = _count(n_samples, "n_samples", "make_xor")
    noise = _nonneg(noise, "noise", "make_xor")
    rng = _rng(seed, "make_xor")
    points = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n)]
    labels = [1 if (a > 0) != (b > 0) else 0 for a, b in points]
    return _shuffled_with_noise(points, labels, noise, rng)


# -- splitting and batching -----------------------------------------------------------------------


def _check_pair(X: Sequence[Any], y: Sequence[Any], owner: str) -> int:
    for data in (X, y):
        if not hasattr(data, "__len__") or not hasattr(data, "__getitem__"):
            raise TypeError(
                f"{owner}: X and y must be sequences, got {type(data).__name__} "
                f"(pass list(...) of it)"
            )
    if len(X) != len(y):
        raise ValueError(f"{owner}: X has {len(X)} samples but y has {len(y)}")
    return len(X)


def train_val_split(
    X: Sequence[Any], y: Sequence[Any], val_fraction: float = 0.2, seed: int | None = None
) -> tuple[list, list, list, list]:
    """Shuffle and split into `(X_train, y_train, X_val, y_val)`; the validation part has
    `round(len(X) * val_fraction)` samples (0 with `val_fraction=0`)."""
    n = _check_pair(X, y, "train_val_split")
    if not (isinstance(val_fraction, numbers.Real) and 0 <= val_fraction < 1):
        raise ValueError(
            f"train_val_split: val_fraction must be a number in [0, 1), got {val_fraction!r}"
        )
    n_val = round(n * val_fraction)
    if n - n_val < 1:
        raise ValueError(
            f"train_val_split: {n} samples leave none for training with val_fraction={val_fraction}"
        )
    order = list(range(n))
    _rng(seed, "train_val_split").shuffle(order)
    val, train = order[:n_val], order[n_val:]
    return [X[i] for i in train], [y[i] for i in train], [X[i] for i in val], [y[i] for i in val]


def batches(
    X: Sequence[Any],
    y: Sequence[Any],
    batch_size: int,
    seed: int | None = None,
    shuffle: bool = True,
) -> Iterator[tuple[list, list]]:
    """Mini-batches `(X_batch, y_batch)` covering every sample once; the last one may be smaller.
    Shuffled with `random.Random(seed)` unless `shuffle=False`. Arguments are checked at the
    call, not at the first batch."""
    n = _check_pair(X, y, "batches")
    if n == 0:
        raise ValueError("batches: no samples (X and y are empty)")
    size = _count(batch_size, "batch_size", "batches")
    order = list(range(n))
    if shuffle:
        _rng(seed, "batches").shuffle(order)

    def generate() -> Iterator[tuple[list, list]]:
        for start in range(0, n, size):
            idx = order[start : start + size]
            yield [X[i] for i in idx], [y[i] for i in idx]

    return generate()


# -- files -----------------------------------------------------------------------------------


def load_csv(
    path: str | os.PathLike,
    label: str = "label",
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    log: Callable[[str], None] | None = None,
) -> tuple[list[list[float]], list[int] | list[float] | list[str], list[str]]:
    """Read a CSV with a header row: returns `(X, y, feature_names)`.

    `label` names the column that holds the targets. The features are the columns named in
    `features` (in that order), or else every other column but those in `drop`; they must hold
    numbers. A column of text only (an id such as `a17`, a name) that `features` does not ask for
    is left out, and `log` (default: `warnings.warn`) gets one line naming it; a column that
    mixes numbers and text is an error (a typo, most likely). Labels come back as ints when they
    are all whole numbers (class indices), as floats when they are all numbers, and as strings
    when they are all text (class names such as `dog`, `cat`). Blank lines are skipped. Every
    problem is a ValueError naming the file, and for a bad cell its line number and column name:
    a missing file, an empty file, no label column, an unknown column in `features` or `drop`, a
    row with the wrong number of cells, a feature cell that is not a finite number."""
    header, rows = read_table(path, owner="load_csv")
    if label not in header:
        raise ValueError(
            f"{path}: no label column {label!r}; the header has the columns {header} "
            f"(choose the label column by name)"
        )
    if len(header) < 2:
        raise ValueError(f"{path}: only the label column {label!r}; there are no features")
    for flag, names in (("features", features or ()), ("drop", drop)):
        unknown = [n for n in names if n not in header]
        if unknown:
            raise ValueError(f"{path}: {flag} names {_quoted(unknown)}, not in the header {header}")
        if label in names:
            raise ValueError(f"{path}: {flag} names the label column {label!r}")
    if features:
        if len(set(features)) != len(features):
            raise ValueError(f"{path}: features names a column twice: {list(features)}")
        clash = [n for n in features if n in drop]
        if clash:
            raise ValueError(f"{path}: {_quoted(clash)} is both in features and in drop")
        chosen = list(features)
    else:
        chosen = [n for n in header if n != label and n not in drop]
        text = [n for n in chosen if _is_text_column(rows, header.index(n))]
        if text:
            chosen = [n for n in chosen if n not in text]
            at = header.index(text[0])
            example = next(row[at].strip() for _, row in rows if row[at].strip())
            notice = (
                f"note: {path}: column{'s' if len(text) > 1 else ''} {_quoted(text)} "
                f"hold{'' if len(text) > 1 else 's'} text ({example!r}, ...), not numbers: "
                f"left out of the features (--drop {','.join(text)} leaves "
                f"{'them' if len(text) > 1 else 'it'} out without this note)"
            )
            if log is None:
                import warnings

                warnings.warn(notice, stacklevel=2)
            else:
                log(notice)
    if not chosen:
        raise ValueError(
            f"{path}: no features are left besides the label column {label!r} (the other "
            f"columns are dropped or hold text)"
        )
    label_at = header.index(label)
    columns = [(header.index(n), n) for n in chosen]
    X: list[list[float]] = []
    labels: list[tuple[int, str]] = []
    for line, row in rows:
        X.append([parse_number(row[i], path, line, n) for i, n in columns])
        labels.append((line, row[label_at].strip()))
    if not X:
        raise ValueError(f"{path}: no data rows after the header")
    return X, _label_values(labels, path, label), chosen


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _is_text_column(rows: list[tuple[int, list[str]]], at: int) -> bool:
    """True if column `at` holds text and no number (an id like `a17`, a name): a column of
    text, not a numeric column with a typo or a blank cell in it."""
    text = False
    for _, row in rows:
        cell = row[at].strip()
        try:
            float(cell)
            return False
        except ValueError:
            text = text or bool(cell)
    return text


def standardization(X: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
    """The mean and the standard deviation of every column of `X` (the population's, as
    scikit-learn's StandardScaler computes it), for `standardize`. A constant column (a pixel
    that is always 0) gets the deviation 1.0: it maps to 0 instead of dividing by 0."""
    n = len(X)
    if n == 0:
        raise ValueError("standardization: no rows")
    mean = [math.fsum(column) / n for column in zip(*X)]
    std = []
    for column, m in zip(zip(*X), mean):
        s = math.sqrt(math.fsum((v - m) ** 2 for v in column) / n)
        std.append(s if s > 0 else 1.0)
    return mean, std


def standardize(
    X: Sequence[Sequence[float]], mean: Sequence[float], std: Sequence[float]
) -> list[list[float]]:
    """`(x - mean) / std` for every cell of `X`, column by column: the features a model trained
    on standardized data takes (the same two float operations wherever it is applied)."""
    return [[(v - m) / s for v, m, s in zip(row, mean, std)] for row in X]


def read_table(
    path: str | os.PathLike, owner: str = "read_table"
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows of a CSV file, as text: `(header, [(line, cells), ...])`,
    `line` being the row's line number in the file (for error messages). Blank lines are
    skipped; header names are stripped of spaces. Every problem is a ValueError naming the
    file (and the line): a missing or unreadable file, not UTF-8, not CSV, an empty file, a
    header column with no name or named twice, a row with the wrong number of cells."""
    if not isinstance(path, (str, os.PathLike)):
        # open() would take an int as a file descriptor (1 is stdout)
        raise TypeError(f"{owner}: path must be a str or os.PathLike, got {type(path).__name__}")
    reader = None
    try:
        # utf-8-sig: drop the byte-order mark that spreadsheet programs write
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return _read_rows(reader, path)
    except OSError as e:
        raise ValueError(f"{path}: cannot read the file ({e.strerror or e})") from e
    except csv.Error as e:
        raise ValueError(f"{path}, line {reader.line_num}: not valid CSV ({e})") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a UTF-8 text file ({e.reason})") from e


def _read_rows(reader, path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    header = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            break
    if header is None:
        raise ValueError(f"{path}: the file is empty (a header row naming the columns is needed)")
    line = reader.line_num
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}, line {line}: column {i + 1} of the header has no name")
        if header.index(name) != i:
            raise ValueError(f"{path}, line {line}: the header names column {name!r} twice")
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank line
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {reader.line_num}: {len(row)} cells but the header has "
                f"{len(header)} columns"
            )
        rows.append((reader.line_num, row))
    return header, rows


def parse_number(cell: str, path: str | os.PathLike, line: int, column: str) -> float:
    """The finite number in a CSV cell, or a ValueError naming the file, line and column."""
    try:
        v = float(cell)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}, column {column!r}: {cell.strip()!r} is not a number"
        ) from None
    if not math.isfinite(v):
        raise ValueError(
            f"{path}, line {line}, column {column!r}: {cell.strip()!r} is not a finite number"
        )
    return v


def _label_values(
    labels: list[tuple[int, str]], path: str | os.PathLike, column: str
) -> list[int] | list[float] | list[str]:
    """Numbers when every label is a number (ints when all are whole), text when none is."""
    numbers_: list[float] = []
    text_at = number_at = None  # the first line of each kind, for the error message
    for line, cell in labels:
        if not cell:
            raise ValueError(f"{path}, line {line}, column {column!r}: the label is empty")
        try:
            v = float(cell)
        except ValueError:
            text_at = text_at or (line, cell)
            continue
        if not math.isfinite(v):
            raise ValueError(
                f"{path}, line {line}, column {column!r}: {cell!r} is not a finite number"
            )
        number_at = number_at or (line, cell)
        numbers_.append(v)
    if text_at is None:
        if all(v.is_integer() for v in numbers_):
            return [int(v) for v in numbers_]
        return numbers_
    if number_at is None:
        return [cell for _, cell in labels]
    # Both kinds: name a cell of the rarer kind (the odd one out is the likely typo).
    n_text = len(labels) - len(numbers_)
    line, cell = text_at if n_text <= len(numbers_) else number_at
    kind = "text" if n_text <= len(numbers_) else "a number"
    raise ValueError(
        f"{path}, line {line}, column {column!r}: the label {cell!r} is {kind} but other labels "
        f"are not (a label column holds numbers or class names, not both)"
    )


def _sklearn_digits():
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as e:
        raise ImportError(
            f"the digits data set needs scikit-learn: {install_hint('datasets')}"
        ) from e
    bunch = sk_load_digits()
    # 8x8 images with pixel values 0..16, scaled to [0, 1]
    X = [[v / 16.0 for v in row] for row in bunch.data.tolist()]
    y = [int(t) for t in bunch.target.tolist()]
    return X, y


def digits(n_samples: int | None = None, seed: int | None = None) -> Dataset:
    """scikit-learn's 1,797 8x8 digit images as `(X, y)`: 64 features in [0, 1], classes 0..9.
    With `n_samples`, a random subset of that size (drawn with `seed`)."""
    X, y = _sklearn_digits()
    if n_samples is not None:
        n = _count(n_samples, "n_samples", "digits")
        if n > len(X):
            raise ValueError(f"digits: n_samples={n} but the data set has {len(X)} images")
        idx = _rng(seed, "digits").sample(range(len(X)), n)
        X, y = [X[i] for i in idx], [y[i] for i in idx]
    return X, y


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> tuple[list, list, list, list]:
    """The digits split into `(X_train, y_train, X_test, y_test)`, `test_fraction` held out."""
    X, y = _sklearn_digits()
    return train_val_split(X, y, val_fraction=test_fraction, seed=seed)


# Name -> generator, for the command line. Every entry is called as `fn(n_samples=..., seed=...)`
# and returns (X, y) with integer class labels.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "moons": make_moons,
    "circles": make_circles,
    "blobs": make_blobs,
    "spirals": make_spirals,
    "xor": make_xor,
    "digits": digits,
}


def generate(
    name: str, n_samples: int | None = None, noise: float | None = None, seed: int | None = None
) -> tuple[list[list[float]], list[int], list[str]]:
    """`(X, y, feature_names)` of the data set `name` in `DATASETS`, as `micrograd train` and
    `micrograd data` make it: features named x0, x1, ... (pixel_0 .. pixel_63 for digits).
    `noise` is ignored by the data sets that have no noise (blobs, digits); `n_samples=None`
    gives every digits image, or 100 points of a generated set."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(sorted(DATASETS))}")
    make = DATASETS[name]
    kwargs: dict[str, Any] = {"seed": seed}
    if n_samples is not None or name != "digits":
        kwargs["n_samples"] = 100 if n_samples is None else n_samples
    if noise is not None and "noise" in inspect.signature(make).parameters:
        kwargs["noise"] = noise
    X, y = make(**kwargs)
    prefix = "pixel_" if name == "digits" else "x"
    return X, y, [f"{prefix}{i}" for i in range(len(X[0]))]


def save_csv(
    path: str | os.PathLike,
    X: Sequence[Sequence[float]],
    y: Sequence[Any],
    feature_names: Sequence[str],
    label: str = "label",
) -> None:
    """Write `X` and `y` as a CSV file with a header (the features, then the label column) that
    `load_csv` reads back exactly (floats are written with `repr` precision). The file is
    written atomically (`micrograd._files.atomic_write`): a failure leaves no partial file."""
    from micrograd._files import atomic_write

    n = _check_pair(X, y, "save_csv")
    names = [*feature_names, label]
    if len(set(names)) != len(names):
        raise ValueError(f"save_csv: the column names {names} are not all different")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for i in range(n):
        if len(X[i]) != len(feature_names):
            raise ValueError(
                f"save_csv: row {i} has {len(X[i])} features, the header names {len(feature_names)}"
            )
        writer.writerow([*X[i], y[i]])
    atomic_write(path, buf.getvalue().encode("utf-8"))
