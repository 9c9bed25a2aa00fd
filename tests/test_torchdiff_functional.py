"""Differential tests of `micrograd.tensor.nn.functional` against torch 2.13's
`torch.nn.functional`: every function's signature (names, order, defaults), values, gradients
and exception types on generated inputs.

Losses and softmaxes reduce (sums in another order than torch's kernels) and call exp/log
(float32 libms differ by an ulp), so they are compared within a tolerance; lookups, one_hot and
relu bit for bit; tanh and sigmoid within 1 ulp."""

from __future__ import annotations

import warnings

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
import torch.nn.functional as TF
import torchdiff
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import (
    arrays,
    as_numpy,
    assert_same,
    assert_same_exception,
    assert_same_signature,
    outcomes,
    shapes,
    to_both,
)

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as F

COVERED = {
    "F.cross_entropy",
    "F.embedding",
    "F.linear",
    "F.log_softmax",
    "F.mse_loss",
    "F.nll_loss",
    "F.one_hot",
    "F.relu",
    "F.sigmoid",
    "F.softmax",
    "F.tanh",
}

TOLERANCE = {"float32": {"rtol": 3e-5, "atol": 3e-6}, "float64": {"rtol": 1e-11, "atol": 1e-12}}
SETTINGS = settings(max_examples=60, deadline=None)


def assert_close(ours, theirs, what: str = "value") -> None:
    """Same type, shape and dtype; values within TOLERANCE (see the module docstring)."""
    dtype = str(as_numpy(theirs).dtype)
    torchdiff.assert_close(ours, theirs, what=what, **TOLERANCE.get(dtype, {}))


# torch's inspect.signature is read from a docstring for these builtins, and that text is
# looser than the builtin itself: `F.gelu(x, "tanh")` raises TypeError in torch, as in ours.
SIGNATURE_TEXT_DIFFERS = {"gelu"}


@pytest.mark.parametrize("name", sorted(set(F.__all__) - SIGNATURE_TEXT_DIFFERS))
def test_signature_is_torchs(name):
    assert_same_signature(getattr(F, name), getattr(TF, name), f"F.{name}")


def test_gelu_takes_approximate_by_keyword_only_as_torchs_builtin_does():
    x = [1.0, -2.0]
    for module, make in ((F, mt.tensor), (TF, torch.tensor)):
        with pytest.raises(TypeError, match="positional"):
            module.gelu(make(x), "tanh")
        module.gelu(make(x), approximate="tanh")


def test_every_function_is_covered_by_a_differential_test():
    import test_torchdiff_transformer

    assert {f"F.{name}" for name in F.__all__} <= COVERED | test_torchdiff_transformer.COVERED


# ---------------------------------------------------------------------------------------------
# cross_entropy and nll_loss
# ---------------------------------------------------------------------------------------------


@st.composite
def classification(draw, probabilities: bool = False):
    """(logits array, target array, weight array or None, ignore_index) for one of PyTorch's
    layouts: (C,), (N, C), (N, C, d)."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    classes = draw(st.integers(1, 5))
    layout = draw(st.sampled_from(["single", "batch", "map"]))
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    shape = {"single": (classes,), "batch": (n, classes), "map": (n, classes, d)}[layout]
    logits = draw(arrays(dtype, shape, special=False, max_magnitude=30))
    target_shape = shape[:1] + shape[2:] if layout != "single" else ()
    ignore_index = draw(st.sampled_from([-100, -1, 0, classes - 1]))
    if probabilities:
        raw = draw(arrays(dtype, shape, special=False, max_magnitude=1)).__abs__()
        target = raw
    else:
        labels = st.one_of(st.integers(0, classes - 1), st.just(ignore_index))
        target = (
            np.array(
                draw(
                    st.lists(
                        labels,
                        min_size=int(np.prod(target_shape)),
                        max_size=int(np.prod(target_shape)),
                    )
                )
            )
            .reshape(target_shape)
            .astype(np.int64)
        )
    weight = None
    if draw(st.booleans()):
        weight = draw(arrays(dtype, (classes,), special=False, max_magnitude=3)).__abs__() + 0.5
    return logits, target, weight, ignore_index


def _both(array, requires_grad=False):
    return (None, None) if array is None else to_both(array, requires_grad=requires_grad)


@SETTINGS
@given(
    st.one_of(classification(), classification(probabilities=True)),
    st.sampled_from(["mean", "sum", "none"]),
    st.sampled_from([0.0, 0.0, 0.1, 1.0]),
)
def test_cross_entropy(case, reduction, label_smoothing):
    logits, target, weight, ignore_index = case
    (x, tx), (y, ty), (w, tw) = _both(logits, True), to_both(target), _both(weight)
    kwargs = {
        "ignore_index": ignore_index,
        "reduction": reduction,
        "label_smoothing": label_smoothing,
    }
    result = outcomes(
        lambda: F.cross_entropy(x, y, w, **kwargs), lambda: TF.cross_entropy(tx, ty, tw, **kwargs)
    )
    if result is None:
        return
    loss, tloss = result
    assert_close(loss, tloss)
    if np.isfinite(as_numpy(tloss)).all():
        upstream = np.ones(tuple(tloss.shape), dtype=logits.dtype)
        loss.backward(mt.tensor(upstream))
        tloss.backward(torch.tensor(upstream))
        assert_close(x.grad, tx.grad, "input grad")


@SETTINGS
@given(classification(), st.sampled_from(["mean", "sum", "none"]))
def test_nll_loss(case, reduction):
    logits, target, weight, ignore_index = case
    (x, tx), (y, ty), (w, tw) = _both(logits, True), to_both(target), _both(weight)
    logp, tlogp = (
        F.log_softmax(x, 0 if x.ndim == 1 else 1),
        TF.log_softmax(tx, 0 if tx.ndim == 1 else 1),
    )
    result = outcomes(
        lambda: F.nll_loss(logp, y, w, ignore_index=ignore_index, reduction=reduction),
        lambda: TF.nll_loss(tlogp, ty, tw, ignore_index=ignore_index, reduction=reduction),
    )
    if result is None:
        return
    loss, tloss = result
    assert_close(loss, tloss)
    if np.isfinite(as_numpy(tloss)).all():
        loss.sum().backward()
        tloss.sum().backward()
        assert_close(x.grad, tx.grad, "input grad")


def test_cross_entropy_lecture_case_is_one_fused_node_and_ignores_minus_100():
    rng = np.random.default_rng(0)
    x, tx = to_both(rng.standard_normal((8, 27)).astype(np.float32), requires_grad=True)
    y, ty = to_both(rng.integers(0, 27, 8))
    loss, tloss = F.cross_entropy(x, y), TF.cross_entropy(tx, ty)
    assert loss._op == "cross_entropy" and loss._prev == (x,)
    assert_close(loss, tloss)
    # the third positional argument is weight, as in torch
    w = np.linspace(0.5, 2, 27).astype(np.float32)
    assert_close(F.cross_entropy(x, y, mt.tensor(w)), TF.cross_entropy(tx, ty, torch.tensor(w)))
    labels = rng.integers(0, 27, 8)
    labels[[1, 4]] = -100  # the default ignore_index: those rows do not count
    y2, ty2 = to_both(labels)
    assert_close(F.cross_entropy(x, y2), TF.cross_entropy(tx, ty2))
    labels[[1, 4]] = -1  # nanoGPT's ignore_index
    y3, ty3 = to_both(labels)
    loss, tloss = (
        F.cross_entropy(x, y3, ignore_index=-1),
        TF.cross_entropy(tx, ty3, ignore_index=-1),
    )
    assert_close(loss, tloss)
    loss.backward()
    tloss.backward()
    assert_close(x.grad, tx.grad)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, 5, 1])),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, -5, 1])),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, 1])),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, 1, 2]), reduction="avg"),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4).long(), lib.tensor([0, 1, 2])),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, 1, 2]), lib.ones(3)),
        lambda lib, f: f.cross_entropy(lib.zeros(3, 4), lib.tensor([0, 1, 2]), label_smoothing=1.5),
        lambda lib, f: f.nll_loss(lib.zeros(3, 4), lib.tensor([0, 1, 2]), lib.ones(5)),
        lambda lib, f: f.nll_loss(lib.zeros(3, 4), lib.tensor([0, 1, 9])),
        lambda lib, f: f.mse_loss(lib.zeros(3), lib.zeros(3), weight=lib.ones(2)),
        lambda lib, f: f.mse_loss(lib.zeros(3), lib.zeros(3), reduction="all"),
        lambda lib, f: f.one_hot(lib.tensor([1.0, 2.0])),
        lambda lib, f: f.one_hot(lib.tensor([1, 5]), 3),
        lambda lib, f: f.one_hot(lib.tensor([-1])),
        lambda lib, f: f.cross_entropy(lib.zeros(2, 3), lib.tensor([0.0, 1.0])),
        lambda lib, f: f.softmax(lib.zeros(2, 3).long(), 1),
        lambda lib, f: f.log_softmax(lib.zeros(2, 3).long(), 1),
        lambda lib, f: f.embedding(lib.tensor([3]), lib.zeros(3, 2)),
    ],
)
def test_errors_are_torchs(call):
    assert_same_exception(lambda: call(mt, F), lambda: call(torch, TF))


def test_legacy_size_average_and_reduce_pick_the_reduction_with_torchs_warning():
    (x, tx), (y, ty) = to_both(np.arange(12.0).reshape(3, 4)), to_both(np.array([0, 3, 1]))
    for size_average, reduce in [(False, None), (None, False), (True, True), (False, True)]:
        with warnings.catch_warnings(record=True) as ours_warned:
            warnings.simplefilter("always")
            loss = F.cross_entropy(x, y, size_average=size_average, reduce=reduce)
        with warnings.catch_warnings(record=True) as torch_warned:
            warnings.simplefilter("always")
            tloss = TF.cross_entropy(tx, ty, size_average=size_average, reduce=reduce)
        assert_close(loss, tloss)
        assert [str(w.message) for w in ours_warned] == [str(w.message) for w in torch_warned]


# ---------------------------------------------------------------------------------------------
# mse_loss
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["float32", "float64"]).flatmap(
        lambda dt: st.tuples(*(arrays(dt, st.just(s), special=False) for s in [(2, 3)] * 3))
    ),
    st.sampled_from(["mean", "sum", "none"]),
    st.booleans(),
)
def test_mse_loss(three, reduction, weighted):
    a, b, w = three
    (x, tx), (y, ty) = to_both(a, requires_grad=True), to_both(b)
    wo, wt = to_both(np.abs(w) + 0.5) if weighted else (None, None)
    loss = F.mse_loss(x, y, reduction=reduction, weight=wo)
    tloss = TF.mse_loss(tx, ty, reduction=reduction, weight=wt)
    assert_close(loss, tloss)
    loss.sum().backward()
    tloss.sum().backward()
    assert_close(x.grad, tx.grad, "input grad")


# ---------------------------------------------------------------------------------------------
# Activations, softmaxes, linear, embedding, one_hot
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    arrays(st.sampled_from(["float32", "float64"]), shapes(min_dims=1)),
    st.sampled_from(["relu", "tanh", "sigmoid"]),
)
def test_activations(a, name):
    x, tx = to_both(a, requires_grad=True)
    out, tout = getattr(F, name)(x), getattr(TF, name)(tx)
    # relu is exact; float32 tanh/sigmoid go through different libms (1 ulp); float64 too
    ulps = {"relu": 0, "tanh": 1, "sigmoid": 2}[name]
    assert_same(out, tout, bitwise=ulps == 0, ulps=ulps)
    if np.isfinite(a).all():
        out.sum().backward()
        tout.sum().backward()
        if name == "relu":
            assert_same(x.grad, tx.grad)
        else:  # 1 - tanh**2 and s * (1 - s) magnify the output's 1-ulp difference
            assert_close(x.grad, tx.grad, "input grad")


@SETTINGS
@given(
    arrays(
        st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False, max_magnitude=50
    ),
    st.data(),
    st.sampled_from(["softmax", "log_softmax"]),
    st.sampled_from([None, "float64"]),
)
def test_softmaxes(a, data, name, dtype):
    dim = data.draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    x, tx = to_both(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's implicit-dim warning
        out = getattr(F, name)(x, dim, dtype=None if dtype is None else mt.float64)
        tout = getattr(TF, name)(tx, dim, dtype=None if dtype is None else torch.float64)
    assert_close(out, tout)
    upstream = np.random.default_rng(0).standard_normal(a.shape).astype(as_numpy(tout).dtype)
    (out * mt.tensor(upstream)).sum().backward()
    (tout * torch.tensor(upstream)).sum().backward()
    assert_close(x.grad, tx.grad, "input grad")


@SETTINGS
@given(
    st.sampled_from(["float32", "float64"]),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from([(), (2,), (2, 3)]),
    st.booleans(),
    st.integers(0, 1000),
)
def test_linear(dtype, nin, nout, batch, bias, seed):
    rng = np.random.default_rng(seed)
    (x, tx) = to_both(rng.standard_normal((*batch, nin)).astype(dtype), requires_grad=True)
    (w, tw) = to_both(rng.standard_normal((nout, nin)).astype(dtype), requires_grad=True)
    (b, tb) = (
        to_both(rng.standard_normal(nout).astype(dtype), requires_grad=True)
        if bias
        else (None, None)
    )
    out, tout = F.linear(x, w, b), TF.linear(tx, tw, tb)
    assert_close(out, tout)
    out.sum().backward()
    tout.sum().backward()
    for ours, theirs in [(x, tx), (w, tw)] + ([(b, tb)] if bias else []):
        assert_close(ours.grad, theirs.grad, "grad")


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 3), st.sampled_from([(), (4,), (2, 3)]), st.data())
def test_embedding_and_one_hot(rows, dim, index_shape, data):
    size = int(np.prod(index_shape))
    index = np.array(data.draw(st.lists(st.integers(0, rows - 1), min_size=size, max_size=size)))
    (i, ti) = to_both(index.reshape(index_shape).astype(np.int64))
    (w, tw) = to_both(
        np.arange(rows * dim, dtype=np.float32).reshape(rows, dim), requires_grad=True
    )
    out, tout = F.embedding(i, w), TF.embedding(ti, tw)
    assert_same(out, tout)
    out.sum().backward()
    tout.sum().backward()
    assert_same(w.grad, tw.grad)  # counts of small integers: exact in any order
    num_classes = data.draw(st.sampled_from([-1, rows, rows + 2]))
    if index.size or num_classes != -1:
        assert_same(F.one_hot(i, num_classes), TF.one_hot(ti, num_classes))


@pytest.mark.parametrize(
    "call",
    [
        lambda f, lib: f.relu(lib.zeros(2), inplace=True),
        lambda f, lib: f.embedding(lib.tensor([0]), lib.zeros(2, 2), padding_idx=0),
        lambda f, lib: f.embedding(lib.tensor([0]), lib.zeros(2, 2), max_norm=1.0),
    ],
)
def test_options_not_implemented_are_refused_by_name(call):
    with pytest.raises(NotImplementedError, match="not supported"):
        call(F, mt)
    call(TF, torch)  # torch has them
