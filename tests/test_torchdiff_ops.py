"""Shape and selection operations against torch 2.13: `masked_fill`, `tril`/`triu`, `split`/`chunk`,
`topk`, `roll`, `expand`/`expand_as`, and what the GPT lecture, makemore.py and nanoGPT do with
them (a causal mask, q/k/v split from one product, top-k sampling, `ignore_index=-1`), and
`copy_` (nanoGPT copies loaded weights into its parameters).

hypothesis draws the tensors (ties, nan, -0.0, empty and size-1 axes), the arguments (valid and
not) and the incoming gradient; both engines must give the same values bit for bit, dtypes,
shapes, gradients (backward with that gradient), exception types and `grad_fn` names. The
incoming gradients are small integers, so the sums some backward passes take (over an expanded
axis, over the elements a tensor value filled) are exact in any order.
"""

from __future__ import annotations

import re

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torchdiff import (
    arrays,
    assert_close,
    assert_same,
    assert_same_exception,
    assert_same_signature,
    broadcast_shapes,
    outcomes,
    shapes,
    to_both,
)

import micrograd.tensor as mt
from micrograd.tensor.nn import functional as F

COVERED = {
    "Tensor.masked_fill",
    "Tensor.masked_fill_",
    "torch.masked_fill",
    "Tensor.tril",
    "Tensor.triu",
    "Tensor.tril_",
    "Tensor.triu_",
    "torch.tril",
    "torch.triu",
    "Tensor.split",
    "torch.split",
    "Tensor.chunk",
    "torch.chunk",
    "Tensor.topk",
    "torch.topk",
    "Tensor.roll",
    "torch.roll",
    "Tensor.expand",
    "Tensor.expand_as",
    "Tensor.copy_",
}

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lib(x):
    """The module of x's engine: micrograd.tensor for ours, torch for torch's."""
    return mt if isinstance(x, mt.Tensor) else torch


@st.composite
def incoming(draw, shape):
    """An incoming gradient of `shape`: small integers, so every sum of them is exact."""
    return draw(hnp.arrays(np.float64, shape, elements=st.integers(-4, 4).map(float)))


def backward_both(ours, theirs, grad: np.ndarray) -> None:
    dtype = ours.data.dtype
    ours.backward(mt.tensor(grad.astype(dtype)))
    theirs.backward(torch.tensor(grad.astype(dtype)))


def grad_fn_name(t) -> str:
    found = re.search(r"grad_fn=<(\w+)>", repr(t))
    return found.group(1) if found else ""


def assert_same_grad_fn(ours, theirs) -> None:
    assert grad_fn_name(ours) == type(theirs.grad_fn).__name__


FLOATS = ("float32", "float64")


# -- masked_fill -------------------------------------------------------------------------------


@st.composite
def fill_values(draw, special: bool = True):
    """(kind, value): a Python number, or a 0-d array to become a tensor ("tensor")."""
    kind = draw(st.sampled_from(["float", "int", "bool", "tensor", "tensor"]))
    if kind == "float":
        pool = [0.5, -1.25, 3.0, float("-inf"), float("inf"), float("nan"), -0.0, 1e300, 1.7]
        return kind, draw(st.sampled_from(pool) if special else st.sampled_from([0.5, -1.25]))
    if kind == "int":
        return kind, draw(st.integers(-300, 300))
    if kind == "bool":
        return kind, draw(st.booleans())
    dtype = draw(st.sampled_from(["float32", "float64", "int64", "bool"]))
    shape = () if draw(st.integers(0, 5)) else (1,)  # a 1-d value: refused by both
    return kind, draw(arrays(dtype, shape, special=special, max_magnitude=100))


def _value(kind, value, engine, requires_grad=False):
    if kind != "tensor":
        return value
    t = engine.tensor(value.copy())
    if requires_grad and value.dtype.kind == "f":
        t.requires_grad_()
    return t


@SETTINGS
@given(
    broadcast_shapes(2, max_dims=3),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.sampled_from(["bool", "bool", "bool", "uint8", "int64", "float32"]),
    fill_values(),
    st.booleans(),
    st.data(),
)
def test_masked_fill_values_dtypes_and_errors_are_torchs(
    shapes2, dtype, mask_dtype, fill, fn, data
):
    x_shape, mask_shape = shapes2
    x_arr = data.draw(arrays(dtype, x_shape))
    mask = data.draw(arrays("bool", mask_shape)).astype(mask_dtype)
    kind, value = fill
    x, tx = to_both(x_arr)
    m, tm = to_both(mask)
    v, tv = _value(kind, value, mt), _value(kind, value, torch)
    if fn:
        pair = outcomes(lambda: mt.masked_fill(x, m, v), lambda: torch.masked_fill(tx, tm, tv))
    else:
        pair = outcomes(lambda: x.masked_fill(m, v), lambda: tx.masked_fill(tm, tv))
    if pair is not None:
        assert_same(*pair)
    # in place: the mask must not make the tensor bigger
    pair = outcomes(lambda: x.masked_fill_(m, v), lambda: tx.masked_fill_(tm, tv))
    if pair is not None:
        assert pair[0] is x
        assert_same(x, tx)


@SETTINGS
@given(broadcast_shapes(2, max_dims=3), st.sampled_from(FLOATS), fill_values(False), st.data())
def test_masked_fill_gradients_are_torchs(shapes2, dtype, fill, data):
    x_shape, mask_shape = shapes2
    kind, value = fill
    assume(kind != "tensor" or value.ndim == 0)
    x, tx = to_both(data.draw(arrays(dtype, x_shape, special=False)), requires_grad=True)
    m, tm = to_both(data.draw(arrays("bool", mask_shape)))
    v = _value(kind, value, mt, requires_grad=True)
    tv = _value(kind, value, torch, requires_grad=True)
    out, tout = x.masked_fill(m, v), tx.masked_fill(tm, tv)
    assert_same(out, tout)
    assert_same_grad_fn(out, tout)
    backward_both(out, tout, data.draw(incoming(tuple(tout.shape))))
    assert_same(x.grad, tx.grad)
    if isinstance(tv, torch.Tensor) and tv.requires_grad:
        assert_same(v.grad, tv.grad)
    assert_same_grad_fn(out, tout)  # the name survives backward() freeing the graph


def test_masked_fill_causal_mask_as_the_gpt_lecture_builds_it():
    # wei.masked_fill(tril[:T, :T] == 0, -inf), then softmax: the attention weights
    rng = np.random.default_rng(0)
    att = rng.standard_normal((2, 5, 5)).astype(np.float32)
    a, ta = to_both(att, requires_grad=True)
    tril, ttril = mt.tril(mt.ones(8, 8)), torch.tril(torch.ones(8, 8))
    wei = a.masked_fill(tril[:5, :5] == 0, float("-inf"))
    twei = ta.masked_fill(ttril[:5, :5] == 0, float("-inf"))
    assert_same(wei, twei)
    out, tout = wei.softmax(-1), twei.softmax(-1)
    assert_close(out, tout)
    g = rng.standard_normal((2, 5, 5)).astype(np.float32)
    out.backward(mt.tensor(g))
    tout.backward(torch.tensor(g))
    assert_close(a.grad, ta.grad)
    assert (a.grad.numpy()[:, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]] == 0).all()


def test_masked_fill_of_a_leaf_in_place_is_refused_as_torch_does():
    x, tx = to_both(np.zeros(3, np.float32), requires_grad=True)
    m, tm = to_both(np.array([True, False, True]))
    assert_same_exception(lambda: x.masked_fill_(m, 1.0), lambda: tx.masked_fill_(tm, 1.0))
    for bad in ([True, False, True], None):
        assert_same_exception(
            lambda bad=bad: x.masked_fill(bad, 1.0), lambda bad=bad: tx.masked_fill(bad, 1.0)
        )
    for bad in ("a", None, [1.0]):
        assert_same_exception(
            lambda bad=bad: x.masked_fill(m, bad), lambda bad=bad: tx.masked_fill(tm, bad)
        )


# -- tril / triu -------------------------------------------------------------------------------


@SETTINGS
@given(
    arrays(shape=shapes(0, 4, min_side=0)),
    st.integers(-5, 5) | st.sampled_from([1.5, None]),
    st.sampled_from(["tril", "triu"]),
    st.sampled_from(["method", "function", "keyword", "in place"]),
)
def test_tril_and_triu_are_torchs(x_arr, diagonal, name, form):
    x, tx = to_both(x_arr)

    def call(t):
        if form == "method":
            return getattr(t, name)() if diagonal is None else getattr(t, name)(diagonal)
        if form == "function":
            return (
                getattr(lib(t), name)(t) if diagonal is None else getattr(lib(t), name)(t, diagonal)
            )
        if form == "keyword":
            return getattr(lib(t), name)(t, diagonal=0 if diagonal is None else diagonal)
        return getattr(t, name + "_")(0 if diagonal is None else diagonal)

    pair = outcomes(lambda: call(x), lambda: call(tx))
    if pair is not None:
        assert_same(*pair)
        if form == "in place":
            assert pair[0] is x
            assert_same(x, tx)


@SETTINGS
@given(
    arrays(st.sampled_from(FLOATS), shapes(2, 4, min_side=1)),
    st.integers(-4, 4),
    st.sampled_from(["tril", "triu"]),
    st.data(),
)
def test_tril_and_triu_gradients_are_torchs(x_arr, diagonal, name, data):
    x, tx = to_both(x_arr, requires_grad=True)
    out, tout = getattr(x, name)(diagonal), getattr(tx, name)(diagonal)
    assert_same(out, tout)
    assert_same_grad_fn(out, tout)
    backward_both(out, tout, data.draw(incoming(x_arr.shape)))
    assert_same(x.grad, tx.grad)
    assert_same_grad_fn(out, tout)


def test_tril_of_a_leaf_in_place_is_refused_and_signatures_are_torchs():
    x, tx = to_both(np.ones((2, 2), np.float32), requires_grad=True)
    assert_same_exception(lambda: x.tril_(), lambda: tx.tril_())
    assert_same_exception(lambda: x.triu_(), lambda: tx.triu_())
    for name in ("tril", "triu", "roll", "chunk", "split"):
        assert_same_signature(getattr(mt, name), getattr(torch, name), f"torch.{name}")


# -- split / chunk -----------------------------------------------------------------------------


@st.composite
def split_args(draw, length: int):
    """An int size (0, negative and too large too) or a list of sizes (summing to the length
    most of the time)."""
    if draw(st.booleans()):
        return draw(st.integers(-1, length + 2))
    sizes = []
    left = length
    while left > 0 and len(sizes) < 5:
        n = draw(st.integers(0, left))
        sizes.append(n)
        left -= n
    sizes.append(left)
    if draw(st.integers(0, 4)) == 0:
        sizes[draw(st.integers(0, len(sizes) - 1))] += draw(st.sampled_from([-2, -1, 1]))
    return tuple(sizes) if draw(st.booleans()) else sizes


def _pieces_and_grads(x, tx, pieces, tpieces, data):
    assert_same(pieces, tpieces)
    for p, tp in zip(pieces, tpieces):
        assert tp._is_view()
        if tp.requires_grad:
            assert_same_grad_fn(p, tp)
    if tx.requires_grad and tpieces:
        grads = [data.draw(incoming(tuple(tp.shape))) for tp in tpieces]
        ours = sum((p * mt.tensor(g.astype(p.data.dtype))).sum() for p, g in zip(pieces, grads))
        theirs = sum(
            (tp * torch.tensor(g.astype(p.data.dtype))).sum() for tp, g in zip(tpieces, grads)
        )
        ours.backward()
        theirs.backward()
        assert_same(x.grad, tx.grad)


@SETTINGS
@given(
    arrays(shape=shapes(0, 3, min_side=0)),
    st.integers(-4, 3),
    st.sampled_from(["method", "function", "keyword"]),
    st.data(),
)
def test_split_is_torchs(x_arr, dim, form, data):
    grad = x_arr.dtype.kind == "f"
    x, tx = to_both(x_arr, requires_grad=grad)
    length = x_arr.shape[dim] if -x_arr.ndim <= dim < x_arr.ndim else 3
    size = data.draw(split_args(length))

    def call(t, s):
        if form == "method":
            return t.split(s, dim)
        if form == "function":
            return lib(t).split(t, s, dim)
        return lib(t).split(t, split_size_or_sections=s, dim=dim)

    pair = outcomes(lambda: call(x, size), lambda: call(tx, size))
    if pair is not None:
        _pieces_and_grads(x, tx, *pair, data)


@SETTINGS
@given(
    arrays(shape=shapes(0, 3, min_side=0)),
    st.integers(-1, 7),
    st.integers(-4, 3),
    st.booleans(),
    st.data(),
)
def test_chunk_is_torchs(x_arr, chunks, dim, function, data):
    grad = x_arr.dtype.kind == "f"
    x, tx = to_both(x_arr, requires_grad=grad)

    def call(t):
        return lib(t).chunk(t, chunks, dim) if function else t.chunk(chunks, dim=dim)

    pair = outcomes(lambda: call(x), lambda: call(tx))
    if pair is not None:
        _pieces_and_grads(x, tx, *pair, data)


def test_split_pieces_are_views_of_the_tensor():
    x, tx = to_both(np.arange(6, dtype=np.float32))
    pieces, tpieces = x.split([2, 4]), tx.split([2, 4])
    x.add_(10)
    tx.add_(10)
    assert_same(pieces, tpieces)


def test_qkv_split_then_heads_as_nanogpt_attention_does():
    # q, k, v = c_attn(x).split(n_embd, dim=2); k.view(B, T, nh, hs).transpose(1, 2); ...;
    # y.transpose(1, 2).contiguous().view(B, T, C)
    rng = np.random.default_rng(1)
    B, T, C, nh = 2, 4, 6, 3
    qkv_arr = rng.standard_normal((B, T, 3 * C)).astype(np.float32)
    w_arr = rng.standard_normal((B, T, C)).astype(np.float32)

    def attention(qkv, engine):
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, nh, C // nh).transpose(1, 2)
        k = k.view(B, T, nh, C // nh).transpose(1, 2)
        v = v.view(B, T, nh, C // nh).transpose(1, 2)
        att = q @ k.transpose(-2, -1)
        mask = engine.tril(engine.ones(T, T)).view(1, 1, T, T)
        att = att.masked_fill(mask[:, :, :T, :T] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return (y * engine.tensor(w_arr)).sum()

    x, tx = to_both(qkv_arr, requires_grad=True)
    out, tout = attention(x, mt), attention(tx, torch)
    assert_close(out, tout)
    out.backward()
    tout.backward()
    assert_close(x.grad, tx.grad)


# -- topk --------------------------------------------------------------------------------------


@st.composite
def topk_cases(draw):
    """A float or int64 array whose values tie often (nan, -0.0 and 0.0 among them), rows up to
    150 long (so both of torch's algorithms run: k * 64 <= n takes the partial sort), and
    (k, dim, largest, sorted) with k out of range now and then."""
    dtype = draw(st.sampled_from(["float32", "float64", "int64"]))
    ndim = draw(st.integers(0, 3))
    long_row = draw(st.integers(0, 3)) == 0
    shape = [draw(st.integers(0 if ndim > 1 else 1, 4)) for _ in range(ndim)]
    dim = draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))
    if ndim and long_row:
        shape[dim] = draw(st.integers(64, 150))
    pool = [0.0, -0.0, 1.0, -1.0, 2.5, np.nan, np.inf, -np.inf]
    if dtype == "int64":
        elements = st.integers(-3, 3)
    elif draw(st.booleans()):
        elements = st.sampled_from(pool)
    else:
        elements = st.floats(-100, 100, width=32)
    x = draw(hnp.arrays(np.dtype(dtype), tuple(shape), elements=elements))
    length = shape[dim] if ndim else 1
    if long_row and draw(st.booleans()):
        k = draw(st.integers(1, max(1, length // 64)))
    else:
        k = draw(st.integers(-1, length + 1))
    return x, k, dim, draw(st.booleans()), draw(st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topk_cases(), st.sampled_from(["method", "function", "keyword"]), st.data())
def test_topk_values_indices_and_ties_are_torchs(case, form, data):
    x_arr, k, dim, largest, sorted_ = case
    grad = x_arr.dtype.kind == "f"
    x, tx = to_both(x_arr, requires_grad=grad)

    def call(t):
        if form == "method":
            return t.topk(k, dim, largest, sorted_)
        if form == "function":
            return lib(t).topk(t, k, dim, largest, sorted_)
        return lib(t).topk(t, k=k, dim=dim, largest=largest, sorted=sorted_)

    pair = outcomes(lambda: call(x), lambda: call(tx))
    if pair is None:
        return
    ours, theirs = pair
    assert type(ours).__name__ == "TopkResult" and ours._fields == ("values", "indices")
    assert_same(ours.values, theirs.values)
    assert_same(ours.indices, theirs.indices)
    if grad and ours.values.requires_grad:
        backward_both(ours.values, theirs.values, data.draw(incoming(tuple(theirs.values.shape))))
        assert_same(x.grad, tx.grad)


def test_topk_result_prints_and_names_its_grad_fn_as_torch():
    data = np.array([[1.0, 3.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]], np.float32)
    x, tx = to_both(data, requires_grad=True)
    ours, theirs = x.topk(2), tx.topk(2)
    assert repr(ours) == repr(theirs)
    values, indices = ours  # unpacks as a tuple
    assert values is ours[0] and indices is ours.indices
    assert_same_grad_fn(ours.values, theirs.values)
    ours.values.sum().backward()
    theirs.values.sum().backward()
    assert_same_grad_fn(ours.values, theirs.values)
    assert_same(x.grad, tx.grad)


def test_topk_refusals_are_torchs():
    x, tx = to_both(np.arange(6, dtype=np.float32).reshape(2, 3))
    for call in (
        lambda t: t.topk(4),
        lambda t: t.topk(-1),
        lambda t: t.topk(1.0),
        lambda t: t.topk(1, 2),
        lambda t: (t > 2).topk(1),
        lambda t: t[0, 0].topk(2),
    ):
        assert_same_exception(lambda call=call: call(x), lambda call=call: call(tx))


def test_top_k_sampling_filter_as_makemore_and_nanogpt_write_it():
    # v, _ = torch.topk(logits, top_k); logits[logits < v[:, [-1]]] = -inf; then softmax
    rng = np.random.default_rng(2)
    logits = np.round(rng.standard_normal((3, 65)), 1).astype(np.float32)  # ties included
    z, tz = to_both(logits)
    v, _ = mt.topk(z, 5)
    tv, _ = torch.topk(tz, 5)
    z[z < v[:, [-1]]] = -float("Inf")
    tz[tz < tv[:, [-1]]] = -float("Inf")
    assert_same(z, tz)
    assert_close(z.softmax(-1), tz.softmax(-1))
    _, nxt = mt.topk(z.softmax(-1), k=1, dim=-1)
    _, tnxt = torch.topk(tz.softmax(-1), k=1, dim=-1)
    assert_same(nxt, tnxt)


# -- roll --------------------------------------------------------------------------------------


@st.composite
def roll_args(draw, ndim: int):
    n = draw(st.integers(1, 3))
    shifts = [draw(st.integers(-7, 7)) for _ in range(n)]
    kind = draw(st.sampled_from(["none", "int", "tuple", "tuple", "float"]))
    if kind == "float":
        return 1.5, None
    span = max(ndim, 1)
    dims = [
        draw(st.integers(-span - 1, span)) for _ in range(n + draw(st.sampled_from([0, 0, 0, 1])))
    ]
    if kind == "none":
        return (shifts[0] if n == 1 and draw(st.booleans()) else tuple(shifts)), None
    if kind == "int":
        return shifts[0], dims[0]
    return tuple(shifts), tuple(dims)


@SETTINGS
@given(arrays(shape=shapes(0, 3, min_side=0)), st.sampled_from(["method", "function"]), st.data())
def test_roll_is_torchs(x_arr, form, data):
    shifts, dims = data.draw(roll_args(x_arr.ndim))
    grad = x_arr.dtype.kind == "f"
    x, tx = to_both(x_arr, requires_grad=grad)

    def call(t):
        if form == "method":
            return t.roll(shifts, dims) if dims is not None else t.roll(shifts)
        return lib(t).roll(t, shifts=shifts, dims=dims)

    pair = outcomes(lambda: call(x), lambda: call(tx))
    if pair is None:
        return
    ours, theirs = pair
    assert_same(ours, theirs)
    if grad:
        assert_same_grad_fn(ours, theirs)
        backward_both(ours, theirs, data.draw(incoming(x_arr.shape)))
        assert_same(x.grad, tx.grad)


def test_roll_of_bow_context_as_makemore_does():
    # BoW: idx = torch.roll(idx, 1, 1); idx[:, 0] = block_size (an int64 tensor, no gradient)
    idx, tidx = to_both(np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.int64))
    idx, tidx = mt.roll(idx, 1, 1), torch.roll(tidx, 1, 1)
    idx[:, 0] = 9
    tidx[:, 0] = 9
    assert_same(idx, tidx)


# -- expand ------------------------------------------------------------------------------------


@st.composite
def expand_args(draw, shape: tuple):
    """Target sizes: -1 or the length for each axis (a new length for a size-1 one), new
    leading axes, and now and then a size that does not fit."""
    sizes = []
    for n in shape:
        if n == 1:
            sizes.append(draw(st.sampled_from([-1, 1, 0, 2, 3])))
        else:
            sizes.append(draw(st.sampled_from([-1, n, n])))
    lead = [draw(st.integers(0, 3)) for _ in range(draw(st.integers(0, 2)))]
    sizes = lead + sizes
    if draw(st.integers(0, 5)) == 0 and sizes:
        sizes[draw(st.integers(0, len(sizes) - 1))] = draw(st.sampled_from([-1, -2, 5]))
    if draw(st.integers(0, 9)) == 0 and shape:
        sizes = sizes[1:]  # fewer sizes than dims
    return sizes


@SETTINGS
@given(arrays(shape=shapes(0, 3, min_side=1)), st.sampled_from(["args", "tuple", "as"]), st.data())
def test_expand_is_torchs(x_arr, form, data):
    sizes = data.draw(expand_args(x_arr.shape))
    grad = x_arr.dtype.kind == "f"
    x, tx = to_both(x_arr, requires_grad=grad)
    try:
        negative = any(n < 0 for n in torch.zeros(x_arr.shape).expand(*sizes).shape)
    except (RuntimeError, TypeError):
        negative = False
    if negative:
        # torch makes a tensor of a negative size here (a 0-d one expanded to (-1, 0) is
        # (-1, 0)): we refuse
        with pytest.raises(RuntimeError):
            x.expand(*sizes)
        return
    if form == "as":
        assume(all(n >= 0 for n in sizes))
        other, tother = to_both(np.zeros(sizes, np.float32))
        pair = outcomes(lambda: x.expand_as(other), lambda: tx.expand_as(tother))
    elif form == "tuple":
        pair = outcomes(lambda: x.expand(tuple(sizes)), lambda: tx.expand(tuple(sizes)))
    else:
        pair = outcomes(lambda: x.expand(*sizes), lambda: tx.expand(*sizes))
    if pair is None:
        return
    ours, theirs = pair
    assert_same(ours, theirs)
    if grad:
        assert_same_grad_fn(ours, theirs)
        backward_both(ours, theirs, data.draw(incoming(tuple(theirs.shape))))
        assert_same(x.grad, tx.grad)


def test_expand_refusals_and_the_rnn_start_state():
    x, tx = to_both(np.zeros((1, 3), np.float32), requires_grad=True)
    for call in (
        lambda t: t.expand(),
        lambda t: t.expand(2.0, 3),
        lambda t: t.expand_as([2, 3]),
    ):
        assert_same_exception(lambda call=call: call(x), lambda call=call: call(tx))
    # makemore's RNN: hprev = self.start.expand((b, -1)), then a product; the start state's
    # gradient is the sum over the batch
    w_arr = np.arange(12, dtype=np.float32).reshape(3, 4) / 8
    h, th = x.expand((5, -1)), tx.expand((5, -1))
    assert_same(h, th)
    out, tout = (h @ mt.tensor(w_arr)).sum(), (th @ torch.tensor(w_arr)).sum()
    out.backward()
    tout.backward()
    assert_same(x.grad, tx.grad)
    assert_same(x.expand(size=(2, 3)), tx.expand(size=(2, 3)))


# -- F.cross_entropy(ignore_index=-1) over (B, T, C) logits --------------------------------------


@SETTINGS
@given(
    st.integers(1, 3),
    st.integers(1, 5),
    st.integers(2, 6),
    st.sampled_from(FLOATS),
    st.floats(0, 1),
    st.data(),
)
def test_cross_entropy_ignore_index_on_sequence_logits_as_makemore(B, T, C, dtype, ignored, data):
    # loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
    logits = data.draw(arrays(dtype, (B, T, C), special=False, max_magnitude=10))
    labels = np.array(
        [
            -1 if data.draw(st.floats(0, 1)) < ignored else data.draw(st.integers(0, C - 1))
            for _ in range(B * T)
        ],
        np.int64,
    ).reshape(B, T)
    if data.draw(st.integers(0, 4)) == 0:
        labels[:] = -1  # every position ignored: nan, as in torch
    ignored = labels == -1
    if ignored.any() and data.draw(st.booleans()):
        # an ignored position's logits do not count, whatever they are (its gradient is nan
        # where its log-softmax is: a nan or +inf logit)
        specials = np.array([np.nan, np.inf, -np.inf, 1e30], dtype)
        logits[ignored] = specials[data.draw(st.integers(0, 3))]
    z, tz = to_both(logits, requires_grad=True)
    y, ty = to_both(labels)
    loss = F.cross_entropy(z.view(-1, z.size(-1)), y.view(-1), ignore_index=-1)
    if ignored.any() and not ignored.all():  # still the one fused node of the common case
        assert loss._op == "cross_entropy" and len(loss._prev) == 1
    tloss = torch.nn.functional.cross_entropy(
        tz.view(-1, tz.size(-1)), ty.view(-1), ignore_index=-1
    )
    assert_close(loss, tloss)
    loss.backward()
    tloss.backward()
    assert_close(z.grad, tz.grad)


# -- copy_ -------------------------------------------------------------------------------------


@SETTINGS
@given(
    broadcast_shapes(2, max_dims=3),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.data(),
)
def test_copy_converts_broadcasts_and_writes_in_place_as_torch(shapes2, dtype, src_dtype, data):
    # values that every dtype holds the same way (no nan or inf into integers: C leaves that
    # undefined); floats into integers truncate
    x_arr = data.draw(arrays(dtype, shapes2[0], special=False, max_magnitude=1e4))
    src = data.draw(arrays(src_dtype, shapes2[1], special=False, max_magnitude=1e4))
    x, tx = to_both(x_arr)
    s, ts = to_both(src)
    view, tview = x.reshape(-1), tx.reshape(-1)  # sees the write, as a view must
    pair = outcomes(lambda: x.copy_(s), lambda: tx.copy_(ts))
    if pair is not None:
        assert pair[0] is x
        assert_same(x, tx)
        assert_same(view, tview)


@SETTINGS
@given(st.sampled_from(FLOATS), st.sampled_from(FLOATS), st.data())
def test_copy_passes_the_gradient_to_the_source_as_torch(dtype, src_dtype, data):
    base, tbase = to_both(data.draw(arrays(dtype, (2, 3), special=False)), requires_grad=True)
    src, tsrc = to_both(data.draw(arrays(src_dtype, (3,), special=False)), requires_grad=True)
    y, ty = base * 1, tbase * 1
    y.copy_(src)
    ty.copy_(tsrc)
    assert_same(y, ty)
    assert_same_grad_fn(y, ty)
    backward_both(y, ty, data.draw(incoming((2, 3))))
    assert_same(src.grad, tsrc.grad)
    assert_same(base.grad, tbase.grad)


def test_copy_into_parameters_under_no_grad_as_nanogpt_loads_weights():
    # with torch.no_grad(): sd[k].copy_(sd_hf[k].t())
    w, tw = mt.nn.Parameter(mt.zeros(3, 2)), torch.nn.Parameter(torch.zeros(3, 2))
    hf = np.arange(6, dtype=np.float32).reshape(2, 3)
    with mt.no_grad():
        w.copy_(mt.tensor(hf).t())
    with torch.no_grad():
        tw.copy_(torch.tensor(hf).t())
    assert_same(w.detach(), tw.detach())
    for call in (lambda t: t.copy_(t.detach() * 2), lambda t: t.copy_(2.0)):
        assert_same_exception(lambda call=call: call(w), lambda call=call: call(tw))
    x, tx = to_both(np.zeros(2, np.int64))
    assert_same(x.copy_(2.7), tx.copy_(2.7))  # a number is taken as a 0-d tensor
    for bad in ("a", [1.0, 2.0]):
        assert_same_exception(lambda bad=bad: x.copy_(bad), lambda bad=bad: tx.copy_(bad))
