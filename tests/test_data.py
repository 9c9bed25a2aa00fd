"""Tests for micrograd.data: seeded determinism without touching global random, shapes, label
ranges, the geometry of each toy set, splitting and batching, and CSV errors that name the line
and column."""

from __future__ import annotations

import math
import random

import pytest

from micrograd.data import (
    DATASETS,
    batches,
    digits,
    load_csv,
    load_digits,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    train_val_split,
)

GENERATORS = ["moons", "circles", "blobs", "spirals", "xor"]


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_and_global_random_untouched(name):
    make = DATASETS[name]
    random.seed(123)
    before = random.getstate()
    a = make(n_samples=57, seed=4)
    assert random.getstate() == before
    assert make(n_samples=57, seed=4) == a
    assert make(n_samples=57, seed=5) != a


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_shapes_and_labels(name, n):
    X, y = DATASETS[name](n_samples=n, seed=0)
    assert len(X) == len(y) == n
    assert all(len(row) == 2 and all(isinstance(v, float) for v in row) for row in X)
    assert all(type(label) is int for label in y)
    k = 3 if name == "blobs" else 2
    assert set(y) <= set(range(k))
    if n >= 100:
        assert set(y) == set(range(k))


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = make_moons(40, noise=0.0, seed=0)
    assert y.count(0) == y.count(1) == 20
    for (a, b), label in zip(X, y):
        if label == 0:  # upper moon: unit circle centred at (0, 0), y >= 0
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: unit circle centred at (1, 0.5), y <= 0.5
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_moons_noise_has_the_requested_spread():
    clean, _ = make_moons(2000, noise=0.0, seed=3)
    noisy, _ = make_moons(2000, noise=0.1, seed=3)
    # same shuffle, so the difference is the noise alone
    diffs = [n - c for rn, rc in zip(noisy, clean) for n, c in zip(rn, rc)]
    std = (sum(d * d for d in diffs) / len(diffs)) ** 0.5
    assert std == pytest.approx(0.1, rel=0.05)


def test_circles_radii():
    X, y = make_circles(50, noise=0.0, factor=0.3, seed=1)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3)


def test_blobs_clusters_around_given_centers():
    centers = [[5.0, 5.0, 0.0], [-5.0, 0.0, 1.0]]
    X, y = make_blobs(200, centers=centers, cluster_std=0.5, seed=2)
    assert len(X[0]) == 3 and y.count(0) == y.count(1) == 100
    for j, c in enumerate(centers):
        pts = [x for x, label in zip(X, y) if label == j]
        mean = [sum(p[d] for p in pts) / len(pts) for d in range(3)]
        assert mean == pytest.approx(c, abs=0.2)
    X4, y4 = make_blobs(10, centers=4, n_features=5, seed=0)
    assert len(X4[0]) == 5 and sorted(set(y4)) == [0, 1, 2, 3]
    assert [y4.count(j) for j in range(4)] == [3, 3, 2, 2]


def test_spirals_and_xor_geometry():
    X, y = make_spirals(300, n_classes=3, noise=0.0, seed=0)
    assert sorted(set(y)) == [0, 1, 2] and all(math.hypot(*p) <= 1 + 1e-12 for p in X)
    X, y = make_xor(200, noise=0.0, seed=0)
    assert all(label == (1 if a * b < 0 else 0) for (a, b), label in zip(X, y))
    assert 60 < sum(y) < 140


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: make_moons(0), ValueError, "make_moons: n_samples must be an int >= 1, got 0"),
        (lambda: make_moons(10.0), ValueError, "n_samples must be an int"),
        (lambda: make_circles(noise=-1), ValueError, "make_circles: noise must be a number >= 0"),
        (lambda: make_circles(factor=1.0), ValueError, r"factor must be a number in \[0, 1\)"),
        (lambda: make_spirals(n_classes=1), ValueError, "n_classes must be an int >= 2"),
        (lambda: make_blobs(centers=[]), ValueError, "centers must be a count or a list"),
        (lambda: make_xor(seed="x"), TypeError, "seed must be an int or None, got str"),
    ],
)
def test_generator_arguments_are_checked(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_train_val_split_sizes_and_partition():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    Xt, yt, Xv, yv = train_val_split(X, y, val_fraction=0.3, seed=1)
    assert len(Xt) == len(yt) == 7 and len(Xv) == len(yv) == 3
    assert sorted(yt + yv) == y
    assert all(x == [float(label)] for x, label in zip(Xt + Xv, yt + yv))  # rows stay paired
    assert train_val_split(X, y, 0.3, seed=1) == (Xt, yt, Xv, yv)
    assert train_val_split(X, y, 0.0, seed=1)[2] == []
    with pytest.raises(ValueError, match=r"val_fraction must be a number in \[0, 1\), got 1.0"):
        train_val_split(X, y, 1.0)
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        train_val_split(X, y[:-1])
    with pytest.raises(ValueError, match="leave none for training"):
        train_val_split([[1.0]], [0], 0.6)


def test_batches_cover_every_sample_once_and_keep_the_last_partial_batch():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    got = list(batches(X, y, 4, seed=0))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    assert sorted(label for _, yb in got for label in yb) == y
    assert all(xb[i] == [float(yb[i])] for xb, yb in got for i in range(len(yb)))
    assert list(batches(X, y, 4, seed=0)) == got
    assert [yb for _, yb in batches(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        batches(X, y, 0)  # checked at the call, before iterating


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_csv_reads_features_labels_and_names(tmp_path):
    _write(tmp_path, "x1, label ,x2\n0.5,1,-2\n\n1e-3,0,3\n")
    X, y, names = load_csv(tmp_path / "data.csv")  # a pathlib.Path works too
    assert names == ["x1", "x2"]
    assert X == [[0.5, -2.0], [0.001, 3.0]]
    assert y == [1, 0] and all(type(v) is int for v in y)
    X, y, names = load_csv(_write(tmp_path, "target,a\n0.25,1\n2,3\n"), label="target")
    assert y == [0.25, 2.0] and names == ["a"]
    # a byte-order mark (spreadsheet exports) does not become part of the first name
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefflabel,a\n1,2\n".encode())
    assert load_csv(str(bom)) == ([[2.0]], [1], ["a"])


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        ("a,b\n1,2\n", r"no label column 'label'; the header has the columns \['a', 'b'\]"),
        ("label\n1\n", "no features"),
        ("a,label\n", "no data rows after the header"),
        ("a,label\n1,0\n2\n", "line 3: 1 cells but the header has 2 columns"),
        ("a,label\n1,0\n2,1,5\n", "line 3: 3 cells but the header has 2 columns"),
        ("a,b,label\n1,2,0\n\n3,abc,1\n", r"line 4, column 'b': 'abc' is not a number"),
        ("a,label\n1,0\n2,cat\n3,1\n", r"line 3, column 'label': the label 'cat' is text but"),
        ("a,label\n1,dog\n2,7\n3,cat\n", r"line 3, column 'label': the label '7' is a number"),
        ("a,label\n1,dog\n2, \n", r"line 3, column 'label': the label is empty"),
        ("a,label\n1,0\n2,inf\n", r"line 3, column 'label': 'inf' is not a finite number"),
        ("a,label\n,1\n", r"line 2, column 'a': '' is not a number"),
        ("a,label\nnan,1\n", r"line 2, column 'a': 'nan' is not a finite number"),
        ("a,a,label\n1,2,0\n", "line 1: the header names column 'a' twice"),
        ("a,,label\n1,2,0\n", "column 2 of the header has no name"),
    ],
)
def test_load_csv_errors_name_file_line_and_column(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        load_csv(path)
    assert str(info.value).startswith(path)


def test_load_csv_unreadable_files(tmp_path):
    missing = str(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="nope.csv: cannot read the file"):
        load_csv(missing)
    with pytest.raises(ValueError, match="cannot read the file"):
        load_csv(str(tmp_path))  # a directory
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"label,a\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        load_csv(str(binary))


def test_load_digits_split_and_scaling():
    pytest.importorskip("sklearn")
    X_train, y_train, X_test, y_test = load_digits(test_fraction=0.2, seed=0)
    assert len(X_train) + len(X_test) == 1797
    assert len(X_test) == round(1797 * 0.2)
    assert len(X_train[0]) == 64
    assert min(min(r) for r in X_train) == 0.0 and max(max(r) for r in X_train) == 1.0
    assert set(y_train) == set(range(10))
    assert load_digits(0.2, seed=0)[3] == y_test
    X, y = digits(n_samples=50, seed=1)
    assert len(X) == 50 and digits(n_samples=50, seed=1) == (X, y)
    assert DATASETS["digits"] is digits


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"pip install 'micrograd-plus\[datasets\]'"):
        load_digits()


def test_importing_data_loads_no_numpy():
    import subprocess
    import sys

    code = "import sys, micrograd.data, micrograd.nn, micrograd.losses, micrograd.optim; "
    code += "print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numpy_integer_seeds_work_like_ints():
    np = pytest.importorskip("numpy")
    assert make_moons(20, seed=np.int64(3)) == make_moons(20, seed=3)
    X = [[float(i)] for i in range(6)]
    assert train_val_split(X, list(range(6)), 0.5, seed=np.int32(2)) == train_val_split(
        X, list(range(6)), 0.5, seed=2
    )


@pytest.mark.parametrize(
    "centers,exc,match",
    [
        ([[0.0, float("nan")]], ValueError, r"centers\[0\]\[1\] must be a finite number, got nan"),
        ([[0.0, 1.0], [math.inf, 1.0]], ValueError, r"centers\[1\]\[0\] must be a finite number"),
        ([["a", 0.0]], ValueError, r"centers\[0\]\[0\] must be a finite number, got 'a'"),
        ([1.0, 2.0], TypeError, r"centers\[0\] must be a point \(a list of numbers\), got float"),
        (2.5, TypeError, "centers must be a count or a list of points, got float"),
    ],
)
def test_blob_centers_are_checked(centers, exc, match):
    with pytest.raises(exc, match=match):
        make_blobs(10, centers=centers, seed=0)


def test_split_and_batches_name_bad_arguments():
    with pytest.raises(
        TypeError, match="train_val_split: X and y must be sequences, got generator"
    ):
        train_val_split((r for r in [[1.0]]), [0])
    with pytest.raises(TypeError, match="batches: X and y must be sequences, got NoneType"):
        batches(None, None, 2)
    with pytest.raises(ValueError, match="batches: no samples"):
        batches([], [], 2)


@pytest.mark.parametrize("path", [None, 1, True, 2.5])
def test_load_csv_refuses_a_path_that_is_not_a_path(path):
    # open(1) would read file descriptor 1 (stdout), and open(None) raise a bare TypeError
    with pytest.raises(TypeError, match="load_csv: path must be a str or os.PathLike"):
        load_csv(path)
