"""Autograd, views, dims and error types against torch 2.13, on hypothesis-generated tensors.

Each test runs the same program on micrograd.tensor and on torch and compares what comes out:
values, shapes, dtypes, gradients (after one and after two backward passes), whether a result
requires grad, whether it is contiguous, and the type of any exception. Inputs: 0-d, size-1 and
larger axes, negative dims, views (transposes, strided slices), float32/float64/int64/bool.
"""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchdiff import (
    arrays,
    assert_same,
    assert_same_exception,
    assert_same_grads,
    dims,
    outcomes,
    shapes,
    to_both,
)

import micrograd.tensor as mt

COVERED = {
    "Tensor.T",
    "Tensor.__iadd__",
    "Tensor.__matmul__",
    "Tensor.__neg__",
    "Tensor.__setitem__",
    "Tensor.add_",
    "Tensor.all",
    "Tensor.amax",
    "Tensor.amin",
    "Tensor.any",
    "Tensor.argmax",
    "Tensor.argmin",
    "Tensor.backward",
    "Tensor.bool",
    "Tensor.contiguous",
    "Tensor.data",
    "Tensor.double",
    "Tensor.exp",
    "Tensor.float",
    "Tensor.grad",
    "Tensor.int",
    "Tensor.is_contiguous",
    "Tensor.is_leaf",
    "Tensor.item",
    "Tensor.log_softmax",
    "Tensor.long",
    "Tensor.mT",
    "Tensor.max",
    "Tensor.mean",
    "Tensor.min",
    "Tensor.mul_",
    "Tensor.permute",
    "Tensor.relu",
    "Tensor.requires_grad",
    "Tensor.requires_grad_",
    "Tensor.reshape",
    "Tensor.sigmoid",
    "Tensor.size",
    "Tensor.softmax",
    "Tensor.std",
    "Tensor.sum",
    "Tensor.swapaxes",
    "Tensor.swapdims",
    "Tensor.t",
    "Tensor.tanh",
    "Tensor.to",
    "Tensor.transpose",
    "Tensor.unbind",
    "Tensor.var",
    "Tensor.view",
    "torch.enable_grad",
    "torch.inference_mode",
    "torch.is_grad_enabled",
    "torch.maximum",
    "torch.minimum",
    "torch.no_grad",
    "torch.set_grad_enabled",
}

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FLOATS = st.sampled_from(["float32", "float64"])


def float_arrays(shape=None, **kw):
    return arrays(
        FLOATS, shape if shape is not None else shapes(0, 4), special=False, max_magnitude=10, **kw
    )


def _weights(shape, dtype):
    """Small integers as the upstream gradient: gradient sums are exact in any order."""
    n = int(np.prod(shape))
    return (np.arange(n).reshape(shape) % 5 - 2).astype(dtype)


def _backward_both(out_ours, out_theirs, dtype):
    w = _weights(tuple(out_theirs.shape), dtype)
    (out_ours * mt.tensor(w)).sum().backward()
    (out_theirs * torch.tensor(w)).sum().backward()


# -- transpose and friends (views) ------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_transpose_swaps_two_dims_like_torch(data):
    x = data.draw(float_arrays())
    d0 = data.draw(dims(x.ndim) | st.integers(-6, 6))  # out of range too: IndexError
    d1 = data.draw(dims(x.ndim))
    ours, theirs = to_both(x, requires_grad=True)
    for name in ("transpose", "swapaxes", "swapdims"):
        result = outcomes(
            lambda name=name: getattr(ours, name)(d0, d1),
            lambda name=name: getattr(theirs, name)(d0, d1),
        )
        if result is None:
            return
        assert_same(*result)
        assert result[0] is not ours  # a new view, even when d0 == d1
        assert result[0].is_contiguous() == result[1].is_contiguous()
    _backward_both(ours.transpose(d0, d1), theirs.transpose(d0, d1), x.dtype)
    assert_same_grads([ours], [theirs])


@SETTINGS
@given(st.data())
def test_permute_mT_t_and_T_like_torch(data):
    x = data.draw(float_arrays())
    ours, theirs = to_both(x, requires_grad=True)
    perm = data.draw(
        st.permutations(range(x.ndim)).map(tuple)
        | st.lists(st.integers(-x.ndim - 1, x.ndim), max_size=4).map(tuple)
    )
    if all(-max(x.ndim, 1) <= d < max(x.ndim, 1) for d in perm):
        # negative dims as torch spells them
        perm = tuple(d - x.ndim if data.draw(st.booleans()) and d >= 0 else d for d in perm)
    result = outcomes(lambda: ours.permute(*perm), lambda: theirs.permute(*perm))
    if result is not None:
        assert_same(*result)
        _backward_both(*result, x.dtype)
        assert_same_grads([ours], [theirs])
    for get in (lambda t: t.mT, lambda t: t.t(), lambda t: t.T):
        result = outcomes(lambda get=get: get(ours), lambda get=get: get(theirs))
        if result is not None:
            assert_same(*result)
            assert result[0].is_contiguous() == result[1].is_contiguous()


@SETTINGS
@given(st.data())
def test_contiguous_copies_a_strided_view_and_view_refuses_it_like_torch(data):
    x = data.draw(float_arrays(shapes(1, 3)))
    ours, theirs = to_both(x)
    how = data.draw(st.sampled_from(["transpose", "step", "plain", "narrow"]))
    step = data.draw(st.integers(1, 3))

    def make(t):
        if how == "transpose":
            return t.transpose(0, -1)
        if how == "step":
            return t[::step]
        if how == "narrow":
            return t[..., :1]
        return t

    v_ours, v_theirs = make(ours), make(theirs)
    assert v_ours.is_contiguous() == v_theirs.is_contiguous()
    c_ours, c_theirs = v_ours.contiguous(), v_theirs.contiguous()
    assert (c_ours is v_ours) == (c_theirs is v_theirs)
    assert c_ours.is_contiguous() and c_theirs.is_contiguous()
    if c_theirs.numel():
        # a copy does not write through to x; the view itself does
        c_ours.view(-1)[0] = 99.0
        c_theirs.view(-1)[0] = 99.0
        assert_same(ours, theirs, what="x after writing into contiguous()")
    result = outcomes(lambda: v_ours.view(-1), lambda: v_theirs.view(-1))
    if result is not None:
        assert_same(*result)
    assert_same(v_ours.reshape(-1), v_theirs.reshape(-1))


def test_t_contiguous_is_a_copy_and_contiguous_of_contiguous_is_itself():
    x = mt.zeros(2, 3)
    y = x.t().contiguous()
    y[0, 0] = 5.0
    assert x[0, 0].item() == 0.0 and y.is_contiguous() and not x.t().is_contiguous()
    assert x.contiguous() is x
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(6)


def test_transpose_of_a_matrix_swaps_its_axes():
    x = mt.arange(6.0).reshape(2, 3)
    assert x.transpose(0, 1).shape == (3, 2) and x.transpose(-2, -1).shape == (3, 2)
    assert x.transpose(0, 1).tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    same = x.transpose(1, 1)
    assert same.shape == (2, 3) and same is not x


# -- .data assignment ------------------------------------------------------------------------


@SETTINGS
@given(float_arrays(shapes(0, 3)), st.sampled_from(["update", "tensor", "reshaped"]))
def test_assigning_data_then_backward_matches_torch(x, how):
    ours, theirs = to_both(x, requires_grad=True)
    for t, lib in ((ours, mt), (theirs, torch)):
        (t * t).sum().backward()
        if how == "update":
            t.data = t.data - 0.25 * t.grad  # the lectures' SGD step, written with .data
        elif how == "tensor":
            t.data = lib.tensor(np.full(x.shape, 1.5, dtype=np.float64))  # dtype changes too
        else:
            t.data = lib.tensor(np.arange(6.0, dtype=x.dtype).reshape(2, 3))
        t.grad = None
        (t * 3 + t * t).sum().backward()
    assert_same(ours, theirs)
    assert ours.requires_grad and ours.is_leaf
    assert_same_grads([ours], [theirs])


def test_assigning_an_integer_tensor_to_data_of_a_float_leaf_is_refused_like_torch():
    assert_same_exception(
        lambda: setattr(mt.ones(2, requires_grad=True), "data", mt.tensor([1, 2])),
        lambda: setattr(torch.ones(2, requires_grad=True), "data", torch.tensor([1, 2])),
    )


def test_data_holds_an_array_after_a_tensor_is_assigned():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w.data = w.data - 0.1 * w.grad  # ndarray - Tensor is a Tensor: stored as its array
    assert type(w.data) is np.ndarray
    w.grad = None
    (w * w).sum().backward()
    assert w.grad.tolist() == pytest.approx([1.6, 3.2])


# -- 0-d tensors -----------------------------------------------------------------------------

UNARY = {
    "tanh": lambda t: t.tanh(),
    "exp": lambda t: t.exp(),
    "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(),
    "neg": lambda t: -t,
    "square": lambda t: t**2,
    "scale": lambda t: t * 3 + 1,
    "sum": lambda t: t.sum(),
    "sum0": lambda t: t.sum(0),
    "mean-1": lambda t: t.mean(-1, keepdim=True),
    "amax0": lambda t: t.amax(0),
    "max": lambda t: t.max(),
    "max-1": lambda t: t.max(-1).values,
    "min0": lambda t: t.min(0, keepdim=True)[0],
    "softmax0": lambda t: t.softmax(0),
    "log_softmax-1": lambda t: t.log_softmax(-1),
    "reshape": lambda t: t.reshape(1, 1),
    "transpose": lambda t: t.transpose(0, -1),
    "index": lambda t: t[None, ...],
}


@SETTINGS
@given(float_arrays(()), st.sampled_from(sorted(UNARY)))
def test_zero_dim_ops_and_their_gradients_match_torch(x, name):
    fn = UNARY[name]
    ours, theirs = to_both(x, requires_grad=True)
    out_ours, out_theirs = fn(ours), fn(theirs)
    # exp, tanh and sigmoid go through different libms: not bitwise. This test is about 0-d
    # inputs, not about those last bits (sigmoid's float32 can be 2 ulps from torch's)
    assert_same(out_ours, out_theirs, bitwise=False, ulps=2 if name == "sigmoid" else 1)
    assert type(out_ours.data) is np.ndarray
    out_ours.sum().backward()
    out_theirs.sum().backward()
    assert type(ours.grad) is mt.Tensor
    if name in ("tanh", "exp", "sigmoid"):
        # the 1-ulp difference of the forward value y stays an absolute ~2 eps in 1 - y**2
        # (cancellation near saturation), so the tolerance is absolute there
        eps = np.finfo(x.dtype).eps
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-4, atol=4 * eps)
    else:
        assert_same_grads([ours], [theirs])
    ours.grad.zero_()  # a Tensor, so its methods work


@SETTINGS
@given(arrays(shape=()), st.data())
def test_zero_dim_reductions_with_a_dim_like_torch(x, data):
    dim = data.draw(st.sampled_from([0, -1, 1, -2]))
    keepdim = data.draw(st.booleans())
    ours, theirs = to_both(x)
    calls = [
        lambda t: t.sum(dim, keepdim=keepdim),
        lambda t: t.amax(dim, keepdim=keepdim),
        lambda t: t.amin(dim, keepdim=keepdim),
        lambda t: t.max(dim, keepdim=keepdim),
        lambda t: t.min(dim, keepdim=keepdim),
        lambda t: t.argmax(dim, keepdim=keepdim),
        lambda t: t.argmin(dim, keepdim=keepdim),
        lambda t: t.all(dim, keepdim=keepdim),
        lambda t: t.any(dim, keepdim=keepdim),
        lambda t: t.size(dim),
        lambda t: t.unbind(dim),
    ]
    if x.dtype.kind == "f":
        calls += [
            lambda t: t.mean(dim, keepdim=keepdim),
            lambda t: t.var(dim, keepdim=keepdim),
            lambda t: t.std(dim, correction=0, keepdim=keepdim),
            lambda t: t.softmax(dim),
            lambda t: t.log_softmax(dim),
        ]
    for call in calls:
        result = outcomes(lambda call=call: call(ours), lambda call=call: call(theirs))
        if result is not None:
            assert_same(*result, bitwise=False, ulps=1)


def test_the_reported_zero_dim_cases():
    a = mt.tensor(2.0, requires_grad=True)
    (a * 3).backward()
    assert type(a.grad) is mt.Tensor and a.grad.item() == 3.0
    a.grad.zero_()
    b = mt.tensor(0.5, requires_grad=True)
    b.tanh().backward()
    assert b.grad.item() == pytest.approx(1 - np.tanh(0.5) ** 2)


# -- integer and bool tensors take no part in gradients ---------------------------------------


@SETTINGS
@given(float_arrays(shapes(0, 2)), st.sampled_from(["long", "int", "bool", "to64", "double"]))
def test_integer_casts_leave_the_graph_like_torch(x, how):
    ours, theirs = to_both(x, requires_grad=True)

    def cast(t, lib):
        if how == "to64":
            return t.to(lib.int64)
        return getattr(t, how)()

    out_ours, out_theirs = cast(ours, mt), cast(theirs, torch)
    assert_same(out_ours, out_theirs)
    assert out_ours.requires_grad == out_theirs.requires_grad
    assert out_ours.is_leaf == out_theirs.is_leaf


@SETTINGS
@given(
    arrays(st.sampled_from(["int64", "bool"]), shapes(0, 2)),
    st.sampled_from(["attr", "method", "factory"]),
)
def test_integer_tensors_cannot_require_grad_like_torch(x, how):
    ours, theirs = to_both(x)

    def ask(t, lib):
        if how == "attr":
            t.requires_grad = True
        elif how == "method":
            t.requires_grad_()
        else:
            lib.tensor(x, requires_grad=True)

    assert_same_exception(lambda: ask(ours, mt), lambda: ask(theirs, torch))
    assert not ours.requires_grad


def test_requires_grad_of_a_computed_tensor_cannot_be_changed_like_torch():
    for flag in (True, False):
        assert_same_exception(
            lambda flag=flag: setattr(mt.ones(2, requires_grad=True) * 2, "requires_grad", flag),
            lambda flag=flag: setattr(torch.ones(2, requires_grad=True) * 2, "requires_grad", flag),
        )
    assert_same_exception(
        lambda: setattr(mt.ones(2), "requires_grad", 1),
        lambda: setattr(torch.ones(2), "requires_grad", 1),
    )


# -- gradient accumulation --------------------------------------------------------------------


@SETTINGS
@given(float_arrays(shapes(0, 3)), st.booleans())
def test_a_second_backward_adds_into_the_same_grad_tensor_like_torch(x, from_leaf):
    ours, theirs = to_both(x, requires_grad=True)
    for t in (ours, theirs):
        (t * 2).sum().backward()
    g_ours, g_theirs = ours.grad, theirs.grad
    for t in (ours, theirs):
        if from_leaf and t.numel() == 1:
            t.backward(t.detach() * 0 + 1)  # d t / d t: the leaf itself as the output
        else:
            (t * t + t).sum().backward()
    assert (g_ours is ours.grad) == (g_theirs is theirs.grad) is True
    assert_same(g_ours, g_theirs, what="the grad Tensor held before the second backward")


# -- error types -------------------------------------------------------------------------------


@SETTINGS
@given(float_arrays(shapes(0, 3)))
def test_error_types_of_backward_item_and_bool_match_torch(x):
    ours, theirs = to_both(x, requires_grad=True)
    for call in (
        lambda t: (t * 2).backward(),
        lambda t: (t * 2).backward(t.detach()[None]),
        lambda t: t.item(),
        lambda t: bool(t),
        lambda t: t.detach().backward(),
    ):
        result = outcomes(lambda call=call: call(ours), lambda call=call: call(theirs))
        if result is not None and result[1] is not None:
            assert_same(*result)


def test_runtime_errors_are_still_value_errors():
    with pytest.raises(ValueError):
        mt.ones(2, 3).item()
    with pytest.raises(ValueError):
        (mt.ones(2, requires_grad=True) * 2).backward()


# -- bool and integer tensors in reductions; refusals ------------------------------------------


@SETTINGS
@given(arrays(st.sampled_from(["bool", "int64"]), shapes(0, 3)), st.data())
def test_bool_and_integer_min_max_match_torch(x, data):
    y = data.draw(arrays(x.dtype.name, st.just(x.shape)))
    ours, theirs = to_both(x)
    other_ours, other_theirs = to_both(y)
    dim = data.draw(dims(x.ndim))
    for call in (
        lambda t, o, lib: t.min(),
        lambda t, o, lib: t.max(),
        lambda t, o, lib: t.amin(),
        lambda t, o, lib: t.amax(dim),
        lambda t, o, lib: t.max(dim),
        lambda t, o, lib: t.min(dim, keepdim=True),
        lambda t, o, lib: lib.maximum(t, o),
        lambda t, o, lib: lib.minimum(t, o),
    ):
        result = outcomes(
            lambda call=call: call(ours, other_ours, mt),
            lambda call=call: call(theirs, other_theirs, torch),
        )
        if result is not None:
            assert_same(*result)


@SETTINGS
@given(arrays(st.sampled_from(["bool", "int64"]), shapes(1, 2)))
def test_refusals_on_integer_and_bool_tensors_match_torch(x):
    ours, theirs = to_both(x)
    for call in (
        lambda t: -t,
        lambda t: t.std(),
        lambda t: t.var(0),
        lambda t: t.mean(),
        lambda t: t.softmax(-1),
        lambda t: t.log_softmax(0),
        lambda t: t.argmax(),
    ):
        result = outcomes(lambda call=call: call(ours), lambda call=call: call(theirs))
        if result is not None:
            assert_same(*result)


@SETTINGS
@given(
    st.sampled_from(["float32", "float64", "int64"]),
    st.sampled_from(["float32", "float64", "int64"]),
)
def test_matmul_of_mixed_dtypes_is_refused_like_torch(da, db):
    a_ours, a_theirs = to_both(np.ones((2, 3)), dtype=da)
    b_ours, b_theirs = to_both(np.ones((3, 2)), dtype=db)
    result = outcomes(lambda: a_ours @ b_ours, lambda: a_theirs @ b_theirs)
    if result is not None:
        assert_same(*result)


IN_PLACE = {
    "add_": lambda v: v.add_(1),
    "mul_": lambda v: v.mul_(2),
    "iadd": lambda v: v.__iadd__(1),
    "setitem": lambda v: v.__setitem__(0, 5.0),
}
VIEWS = {
    "itself": lambda w: w,
    "slice": lambda w: w[1:],
    "view": lambda w: w.view(-1),
    "transpose": lambda w: w.t(),
    "fancy": lambda w: w[[0, 1]],
    "clone": lambda w: w.clone(),
    "detach": lambda w: w.detach(),
}


@pytest.mark.parametrize("view", sorted(VIEWS))
@pytest.mark.parametrize("op", sorted(IN_PLACE))
@pytest.mark.parametrize("grad_mode", ["enabled", "no_grad"])
def test_in_place_on_a_leaf_and_its_views_like_torch(view, op, grad_mode):
    w_ours = mt.ones(2, 2, requires_grad=True)
    w_theirs = torch.ones(2, 2, requires_grad=True)

    def run(w, lib):
        if grad_mode == "no_grad":
            with lib.no_grad():
                IN_PLACE[op](VIEWS[view](w))
        else:
            IN_PLACE[op](VIEWS[view](w))

    result = outcomes(lambda: run(w_ours, mt), lambda: run(w_theirs, torch))
    if result is not None:
        assert_same(w_ours, w_theirs, what="the leaf afterwards")


# -- grad modes --------------------------------------------------------------------------------


def _grad_mode_programs(lib):
    x = lib.ones(2, requires_grad=True)

    @lib.no_grad
    def bare():
        return (x * 2).requires_grad

    @lib.no_grad()
    def called():
        return (x * 2).requires_grad

    @lib.enable_grad()
    def enabled():
        return (x * 2).requires_grad

    @lib.set_grad_enabled(False)
    def switched_off():
        return (x * 2).requires_grad

    @lib.inference_mode()
    def inference():
        return (x * 2).requires_grad

    @lib.inference_mode
    def inference_bare():
        return (x * 2).requires_grad

    results = [bare(), called(), lib.is_grad_enabled(), switched_off(), lib.is_grad_enabled()]
    results += [inference(), inference_bare()]
    with lib.no_grad():
        results += [enabled(), (x * 2).requires_grad]
        with lib.enable_grad():
            results.append((x * 2).requires_grad)
        results.append(lib.is_grad_enabled())
    with lib.set_grad_enabled(False):
        results.append(lib.is_grad_enabled())
    results.append(lib.is_grad_enabled())
    lib.set_grad_enabled(False)
    results.append(lib.is_grad_enabled())
    lib.set_grad_enabled(True)
    with lib.inference_mode(False):
        results.append((x * 2).requires_grad)
    with lib.no_grad():
        with lib.no_grad():
            results.append(lib.is_grad_enabled())
        results.append(lib.is_grad_enabled())
    results.append(lib.is_grad_enabled())
    return results


def test_grad_mode_decorators_and_contexts_match_torch():
    assert _grad_mode_programs(mt) == _grad_mode_programs(torch)
