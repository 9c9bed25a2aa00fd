"""Tests for the PyTorch-shaped surface of micrograd.tensor (factories.py, dtypes.py,
functions_api.py, nn/functional.py and the Tensor methods in core.py), each against PyTorch 2.13:
dtypes and promotion, the gradient rule, indexing and in-place semantics, reductions, printing,
errors that name what is missing."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
import torch.nn.functional as TF

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as F
from micrograd.tensor import Tensor

RNG = np.random.default_rng(11)


def same(ours, theirs, rtol=1e-6, atol=1e-7):
    """Same dtype (by name), shape and values."""
    o = ours.numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    t = theirs.detach().numpy()
    assert str(theirs.dtype) == f"torch.{o.dtype}", (o.dtype, theirs.dtype)
    assert o.shape == t.shape
    np.testing.assert_allclose(o, t, rtol=rtol, atol=atol)


# -- layout ------------------------------------------------------------------------------------


def test_layout_tensor_is_the_factory_function():
    from micrograd.tensor import core

    assert callable(mt.tensor) and not isinstance(mt.tensor, type(core))
    assert mt.nn.functional is F
    assert mt.Tensor is core.Tensor


# -- factories and dtypes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [[1, 2, 3], [1.5, 2], 3, 2.5, True, [[True, False]], [[1, 2], [3, 4]], np.arange(3, dtype=np.int32),
     np.ones(2, dtype=np.float64), np.float64(2.0), range(4)],
)  # fmt: skip
def test_tensor_infers_dtypes_like_torch(data):
    same(mt.tensor(data), torch.tensor(data))
    assert not mt.tensor(data).requires_grad


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.zeros((2, 3)),
        lambda m: m.zeros(2, 3, dtype=m.int32),
        lambda m: m.ones(4, dtype=m.float64),
        lambda m: m.ones([2, 2], dtype=m.long),
        lambda m: m.zeros_like(m.ones(2, dtype=m.int32)),
        lambda m: m.ones_like(m.zeros(3), dtype=m.bool),
        lambda m: m.full((2, 2), 7),
        lambda m: m.full((2,), 1.5),
        lambda m: m.full((2,), True),
        lambda m: m.eye(3),
        lambda m: m.eye(2, 3, dtype=m.int64),
        lambda m: m.arange(5),
        lambda m: m.arange(1, 10, 3),
        lambda m: m.arange(0.0, 1.0, 0.25),
        lambda m: m.arange(5, dtype=m.float32),
        lambda m: m.linspace(-3, 0, 7),
        lambda m: m.empty(0, 3),
        lambda m: m.tensor([1, 2], dtype=m.float),
        lambda m: m.tensor([1.7, -2.2]).long(),
        lambda m: m.tensor([1, 0]).bool(),
        lambda m: m.tensor([1, 2]).double(),
        lambda m: m.tensor([1.5]).int(),
    ],
)
def test_factories_match_torch(make):
    same(make(mt), make(torch))


@pytest.mark.parametrize("seed", [0, 42, 2147483647])
def test_random_factories_match_torch(seed):
    g, tg = mt.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    same(mt.randn((27, 27), generator=g), torch.randn((27, 27), generator=tg))
    same(mt.rand(5, 3, generator=g), torch.rand(5, 3, generator=tg))
    same(
        mt.randn(4, generator=g, dtype=mt.float64),
        torch.randn(4, generator=tg, dtype=torch.float64),
    )
    same(mt.randint(0, 100, (32,), generator=g), torch.randint(0, 100, (32,), generator=tg))
    same(mt.randint(10, (3,), generator=g), torch.randint(10, (3,), generator=tg))
    p = mt.rand(27, generator=g)
    tp = torch.rand(27, generator=tg)
    same(
        mt.multinomial(p, 5, replacement=True, generator=g),
        torch.multinomial(tp, 5, replacement=True, generator=tg),
    )
    same(mt.multinomial(p, 5, generator=g), torch.multinomial(tp, 5, generator=tg))
    same(mt.randperm(10, generator=g), torch.randperm(10, generator=tg))
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    same(mt.randn(3, 2), torch.randn(3, 2))
    same(mt.randn_like(mt.zeros(4)), torch.randn_like(torch.zeros(4)))
    x = mt.randn(2, 2, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad is None


def test_dtype_names():
    assert mt.float is mt.float32 and mt.int is mt.int32 and mt.long is mt.int64
    assert mt.double == np.float64 and mt.bool == np.bool_
    assert mt.zeros(1).dtype == mt.float32 and mt.arange(2).dtype == mt.long


# -- the gradient rule ---------------------------------------------------------------------------


def test_gradient_rule_is_torchs():
    x = mt.tensor([1.0, 2.0])
    w = mt.tensor([3.0, 4.0], requires_grad=True)
    assert not x.requires_grad and not Tensor([1.0]).requires_grad
    y = x * w
    assert y.requires_grad and not y.is_leaf and w.is_leaf
    y.sum().backward()
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]
    assert isinstance(w.grad, Tensor) and not w.grad.requires_grad
    assert y.grad is None  # interior nodes keep no gradient ...
    z = x * w
    z.retain_grad()  # ... unless asked
    (z * 2).sum().backward()
    assert z.grad.tolist() == [2.0, 2.0] and w.grad.tolist() == [3.0, 6.0]  # leaves accumulate
    w.grad = None
    assert w.grad is None
    with pytest.raises(RuntimeError, match="float"):
        mt.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="float"):
        mt.zeros(2, dtype=mt.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (x * 2).sum().backward()
    w2 = mt.ones(2)
    w2.requires_grad = True
    (w2 * 3).sum().backward()
    assert w2.grad.tolist() == [3.0, 3.0]
    assert w2.requires_grad_(False) is w2 and not w2.requires_grad


def test_no_grad_is_a_context_manager_and_a_decorator():
    w = mt.ones(2, requires_grad=True)
    with mt.no_grad():
        assert not (w * 2).requires_grad
        assert not mt.is_grad_enabled()
    assert mt.is_grad_enabled()

    @mt.no_grad()
    def f(t):
        return t * 2

    assert not f(w).requires_grad and (w * 2).requires_grad


# -- promotion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    [
        lambda m: m.arange(3) + 1.5,
        lambda m: m.arange(3) * 2,
        lambda m: m.arange(3) / 2,
        lambda m: m.arange(3) / m.arange(1, 4),
        lambda m: 1 / m.arange(1, 4),
        lambda m: m.tensor([True, False]) + 1,
        lambda m: m.tensor([True, False]) * 1.5,
        lambda m: m.arange(3) + m.ones(3),
        lambda m: m.ones(3) + m.tensor(2.5, dtype=m.float64),
        lambda m: m.ones(3, dtype=m.float64) + m.tensor(2.5),
        lambda m: m.arange(3) + m.tensor(2.5, dtype=m.float64),
        lambda m: m.ones(3, dtype=m.int32) + m.ones(3, dtype=m.int64),
        lambda m: (m.zeros((2, 2), dtype=m.int32) + 1).float(),
        lambda m: m.arange(4).sum(),
        lambda m: m.ones(3, dtype=m.int32).sum(),
        lambda m: m.tensor([True, True, False]).sum(),
        lambda m: m.arange(3) ** 2,
        lambda m: 10 ** m.linspace(-3, 0, 4),
        lambda m: m.arange(1, 4).exp(),
        lambda m: m.arange(3) == 1,
        lambda m: m.arange(3) >= m.tensor([0, 2, 1]),
    ],
)
def test_promotion_matches_torch(op):
    same(op(mt), op(torch))


# -- indexing and in-place ops ----------------------------------------------------------------


def test_indexing_like_the_lectures():
    a = RNG.normal(size=(5, 4)).astype(np.float32)
    X = RNG.integers(0, 5, size=(6, 3))
    for index in [
        lambda m: m.tensor(X),
        lambda m: (m.arange(3), m.tensor([0, 3, 1])),
        lambda m: (range(3), m.tensor([0, 3, 1])),
        lambda m: m.tensor(a[:, 0] > 0),
        lambda m: (m.tensor(2), m.tensor(1)),
        lambda m: (slice(None), 2),
        lambda m: (Ellipsis, None),
        lambda m: m.tensor([[True, False, True, False]] * 5),
    ]:
        same(mt.tensor(a)[index(mt)], torch.tensor(a)[index(torch)])


def test_count_matrix_in_place_updates():
    N = mt.zeros((3, 3), dtype=mt.int32)
    tN = torch.zeros((3, 3), dtype=torch.int32)
    for i, j in [(0, 1), (0, 1), (2, 2)]:
        N[i, j] += 1
        tN[i, j] += 1
        ix1, ix2 = mt.tensor(i), mt.tensor(j)
        N[ix1, ix2] += 1
        tN[torch.tensor(i), torch.tensor(j)] += 1
    same(N, tN)
    alias = N
    N += 1  # in place: every alias sees it, as in PyTorch
    assert alias is N and alias[0, 0].item() == 1
    P = N.float()
    P /= P.sum(1, keepdims=True)
    tP = (tN + 1).float()
    tP /= tP.sum(1, keepdims=True)
    same(P, tP)
    with pytest.raises(RuntimeError, match="float32.*int32"):
        N /= 2  # PyTorch refuses too: a float result cannot be stored in an int tensor
    m = mt.zeros(4)
    m[mt.tensor([True, False, True, False])] = 5.0
    assert m.tolist() == [5, 0, 5, 0]
    m[1:3] = mt.tensor([1.0, 2.0])
    assert m.tolist() == [5, 1, 2, 0]


def test_in_place_on_leaves_that_require_grad():
    w = mt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 2.0
    with mt.no_grad():
        w *= 0.5  # allowed outside the graph, as in PyTorch
        w[0] = 3.0
    assert w.tolist() == [3.0, 0.5, 0.5] and w.requires_grad
    w.grad = None
    (w * w).sum().backward()
    w.data += -0.1 * w.grad  # the lectures' update: .data is the numpy array
    np.testing.assert_allclose(w.data, [2.4, 0.4, 0.4], rtol=1e-6)
    assert isinstance(w.data, np.ndarray)


def test_numpy_ufuncs_writing_into_an_array_take_a_tensors_data():
    # `array += tensor` has a short path; the other forms with `out=` take the general one
    t = mt.tensor([1.0, 2.0, 3.0])
    a = np.array([10.0, 20.0, 30.0], dtype=np.float32)
    a += t
    a -= 2 * t
    np.multiply(a, t, out=a)
    assert a.tolist() == [9.0, 36.0, 81.0]
    b, c = np.array([1.0, 1.0, 1.0], dtype=np.float32), np.zeros(3, dtype=np.float32)
    np.add(b, t, out=c)  # the target is not an input
    np.add(t, b, out=b)  # the tensor comes first
    d = np.zeros(3, dtype=np.float32)
    np.negative(t, out=d)  # one input
    assert c.tolist() == [2.0, 3.0, 4.0] and b.tolist() == [2.0, 3.0, 4.0]
    assert d.tolist() == [-1.0, -2.0, -3.0]


def test_assignment_into_a_node_in_the_graph_backpropagates_like_torch():
    a = RNG.normal(size=(4, 3))
    x, tx = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for m, t in ((mt, x), (torch, tx)):
        d = m.softmax(t, 1).clone()  # (PyTorch refuses to change softmax's saved output)
        d[range(4), [0, 2, 1, 1]] -= 1
        d /= 4
        (d * d).sum().backward()
    same(x.grad, tx.grad, rtol=1e-10)
    y = x * 2
    z = y.exp()
    y[0] = 1.0  # y changed after z used it: the gradient would be wrong
    with pytest.raises(RuntimeError, match="changed in place"):
        (z + y).sum().backward()


def test_numpy_interop():
    t = mt.tensor([[1.0, 2.0]])
    assert np.asarray(t).dtype == np.float32 and np.array(t).shape == (1, 2)
    w = mt.ones(2, requires_grad=True)
    out = np.array([1.0, 2.0], dtype=np.float32) * w
    assert isinstance(out, Tensor) and out.requires_grad
    arr = np.zeros(2, dtype=np.float32)
    arr += mt.tensor([1.0, 2.0])
    assert isinstance(arr, np.ndarray) and arr.tolist() == [1.0, 2.0]


def test_python_protocols():
    t = mt.tensor([[1, 2], [3, 4]])
    assert [row.tolist() for row in t] == [[1, 2], [3, 4]]
    assert ["abc"[mt.tensor(1)]] == ["b"] and list(range(mt.tensor(3))) == [0, 1, 2]
    assert int(mt.tensor(2.7)) == 2 and float(mt.tensor(2)) == 2.0
    assert f"{mt.tensor(2.5):.2f}" == "2.50"
    assert t.size() == (2, 2) and t.size(1) == 2 and t.dim() == 2 and t.numel() == 4
    assert len(t) == 2 and t.nelement() == 4
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mt.tensor([1, 2]))
    with pytest.raises(ValueError, match="one element"):
        mt.tensor([1, 2]).item()
    d = {t: 1}  # hashed by identity
    assert d[t] == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.tensor([1.0, 2.0]),
        lambda m: m.tensor([0.5, 0.25, 1.0]),
        lambda m: m.tensor(2.4544),
        lambda m: m.tensor([1, 2, 3]),
        lambda m: m.tensor([[1, 2]], dtype=m.int32),
        lambda m: m.tensor([True, False]),
        lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
        lambda m: m.tensor([1.0, 2.0], requires_grad=True),
        lambda m: m.zeros((2, 3)),
        lambda m: m.tensor([[0.1234, -5.5], [3.0, 1.0]]),
    ],
)
def test_repr_matches_torch(make):
    assert repr(make(mt)) == repr(make(torch))


# -- reductions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t.sum(0),
        lambda t: t.sum((0, 1), keepdim=True),
        lambda t: t.mean(1, keepdims=True),
        lambda t: t.var(),
        lambda t: t.var(0, unbiased=False),
        lambda t: t.var(1, keepdim=True, correction=0),
        lambda t: t.std(0, keepdim=True),
        lambda t: t.std(unbiased=True),
        lambda t: t.max(),
        lambda t: t.max(1).values,
        lambda t: t.max(1).indices,
        lambda t: t.max(0, keepdim=True).indices,
        lambda t: t.min(1)[0],
        lambda t: t.min(0).indices,
        lambda t: t.argmax(),
        lambda t: t.argmax(1),
        lambda t: t.argmin(0, keepdim=True),
        lambda t: t.amax((0, 1)),
        lambda t: t.abs().sqrt().log10(),
        lambda t: t.all(),
        lambda t: (t > 0).any(1),
        lambda t: t.view(-1),
        lambda t: t.view(2, -1).T,
        lambda t: t.unsqueeze(0).squeeze(),
        lambda t: t.flatten(),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_methods_match_torch(op, dtype):
    a = RNG.normal(size=(4, 3)).astype(dtype)
    same(op(mt.tensor(a)), op(torch.tensor(a)), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_max_dim_gradient_goes_to_the_first_maximum_like_torch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x, tx = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    v, i = x.max(1)
    tv, ti = tx.max(1)
    same(i, ti)
    (v * mt.tensor([2.0, 3.0], dtype=mt.float64)).sum().backward()
    (tv * torch.tensor([2.0, 3.0], dtype=torch.float64)).sum().backward()
    same(x.grad, tx.grad)


# -- functions ------------------------------------------------------------------------------


def test_module_functions_match_torch():
    a = RNG.normal(size=(3, 4)).astype(np.float32)
    b = RNG.normal(size=(3, 4)).astype(np.float32)
    for name in ["tanh", "exp", "sigmoid", "relu", "abs"]:
        same(getattr(mt, name)(mt.tensor(a)), getattr(torch, name)(torch.tensor(a)))
    same(mt.sqrt(mt.tensor(np.abs(a))), torch.sqrt(torch.tensor(np.abs(a))))
    same(mt.log(mt.tensor(np.abs(a))), torch.log(torch.tensor(np.abs(a))))
    same(mt.squeeze(mt.tensor(a[:1]), 0), torch.squeeze(torch.tensor(a[:1]), 0))
    same(mt.cat([mt.tensor(a), mt.tensor(b)], 1), torch.cat([torch.tensor(a), torch.tensor(b)], 1))
    same(mt.cat(mt.tensor(a).unbind(1), 0), torch.cat(torch.tensor(a).unbind(1), 0))
    same(
        mt.stack([mt.tensor(a), mt.tensor(b)], dim=2),
        torch.stack([torch.tensor(a), torch.tensor(b)], dim=2),
    )
    same(mt.all(mt.tensor(a) == mt.tensor(a)), torch.all(torch.tensor(a) == torch.tensor(a)))
    assert mt.allclose(mt.tensor(a), mt.tensor(a + 1e-9)) is True
    assert mt.allclose(mt.tensor(a), mt.tensor(b)) is False
    assert torch.allclose(torch.tensor(a), torch.tensor(b)) is False
    same(mt.maximum(mt.tensor(a), mt.tensor(b)), torch.maximum(torch.tensor(a), torch.tensor(b)))
    same(mt.softmax(mt.tensor(a), 0), torch.softmax(torch.tensor(a), 0))
    same(mt.tensor(a).softmax(dim=1), torch.tensor(a).softmax(dim=1))


@pytest.mark.parametrize(
    "kwargs", [{}, {"bins": 10}, {"bins": 5, "density": True}, {"bins": 4, "range": (-1.0, 1.0)}]
)
def test_histogram_matches_torch(kwargs):
    a = RNG.normal(size=1000).astype(np.float32)
    hist, edges = mt.histogram(mt.tensor(a), **kwargs)
    thist, tedges = torch.histogram(torch.tensor(a), **kwargs)
    same(edges, tedges, rtol=1e-5, atol=1e-6)
    same(hist, thist, rtol=1e-4, atol=1e-6)


def test_functional_one_hot_and_losses_match_torch():
    y = RNG.integers(0, 5, size=7)
    same(F.one_hot(mt.tensor(y), num_classes=6), TF.one_hot(torch.tensor(y), num_classes=6))
    same(F.one_hot(mt.tensor(y)), TF.one_hot(torch.tensor(y)))
    same(F.one_hot(mt.tensor(y), 5).float(), TF.one_hot(torch.tensor(y), 5).float())
    z = RNG.normal(size=(7, 5)).astype(np.float32)
    same(
        F.cross_entropy(mt.tensor(z), mt.tensor(y)),
        TF.cross_entropy(torch.tensor(z), torch.tensor(y)),
    )
    t = RNG.normal(size=(7, 5)).astype(np.float32)
    same(F.mse_loss(mt.tensor(z), mt.tensor(t)), TF.mse_loss(torch.tensor(z), torch.tensor(t)))
    same(F.softmax(mt.tensor(z), dim=1), TF.softmax(torch.tensor(z), dim=1))


@pytest.mark.parametrize(
    "make, exc, words",
    [
        (lambda: mt.tensor([1.0]).foo(), AttributeError, ["foo"]),
        (lambda: mt.tensor([1.0]).sofmax(0), AttributeError, ["sofmax", "softmax"]),
        (lambda: mt.tensor([1.0]).unsqeeze(0), AttributeError, ["unsqueeze"]),
        (lambda: mt.randm(3), AttributeError, ["randm", "randn"]),
        (lambda: mt.conv2d, AttributeError, ["conv2d"]),
        (lambda: F.cross_entropie, AttributeError, ["cross_entropy"]),
        (lambda: mt.tensor("abc"), TypeError, ["str"]),
        (lambda: mt.tensor([[1, 2], [3]]), ValueError, ["rectangular"]),
        (lambda: mt.zeros(2, 1.5), TypeError, ["1.5"]),
        (lambda: mt.zeros(-1), ValueError, ["-1"]),
        (lambda: mt.randn(2, dtype=mt.int64), TypeError, ["float"]),
        (lambda: mt.randint(5, 2, (3,)), ValueError, ["high"]),
        (lambda: mt.randn(2, generator=np.random.default_rng()), TypeError, ["Generator"]),
        (lambda: mt.multinomial(mt.tensor([0.0, 0.0]), 1), ValueError, ["positive sum"]),
        (lambda: mt.multinomial(mt.tensor([1.0, -1.0]), 1), ValueError, [">= 0"]),
        (lambda: mt.multinomial(mt.tensor([1.0, 1.0]), 3), ValueError, ["without replacement"]),
        (lambda: mt.arange(0, 5, 0), ValueError, ["step"]),
        (lambda: F.one_hot(mt.tensor([1.0])), RuntimeError, ["LongTensor"]),
        (lambda: F.one_hot(mt.tensor([3]), 2), ValueError, ["num_classes"]),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor([0, 3])),
            IndexError,
            ["3", "out of bounds"],
        ),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor([-1, 0])),
            IndexError,
            ["-1", "out of bounds"],
        ),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor(np.array([0, 200], np.uint8))),
            IndexError,
            ["200", "out of bounds"],
        ),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor([0, 3]), reduction="sum"),
            IndexError,
            ["3", "out of bounds"],
        ),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor([0.0, 1.0])),
            RuntimeError,
            ["class indices"],
        ),
        (
            lambda: F.cross_entropy(mt.zeros(2, 3), mt.tensor([0, 1]), reduction="avg"),
            ValueError,
            ["avg"],
        ),
        (lambda: F.mse_loss(mt.zeros(2), mt.zeros(3)), ValueError, ["(2,)", "(3,)"]),
        (lambda: mt.zeros(2, 3).view(4, -1), ValueError, ["(2, 3)", "(4, -1)"]),
        (lambda: mt.zeros(2, 3).var(unbiased=True, correction=0), TypeError, ["unbiased"]),
        (lambda: mt.zeros(2).mean(dim=0, axis=0), TypeError, ["dim"]),
        (lambda: mt.tensor([1, 2]).mean(), TypeError, ["float"]),
        (lambda: mt.allclose(mt.zeros(2), mt.zeros(3)), ValueError, ["(2,)", "(3,)"]),
        (lambda: mt.histogram(mt.tensor([1, 2])), NotImplementedError, ["float"]),
        (lambda: mt.zeros(2, 3).t().t().t().max(5), ValueError, ["axis 5"]),
        (lambda: mt.tensor([-1.0]).sqrt(), ValueError, ["sqrt"]),
    ],
)
def test_errors_name_the_problem(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_missing_attribute_errors_are_attribute_errors():
    # getattr with a default and hasattr must keep working
    assert getattr(mt.tensor([1.0]), "nonexistent", None) is None
    assert not hasattr(mt, "conv2d") and not hasattr(F, "gelu_new")


def test_fill_and_zero_in_place_like_torch():
    for m in (mt, torch):
        t = m.tensor([float("inf"), 1.0])
        assert t.fill_(2.5) is t and t.tolist() == [2.5, 2.5]
        n = m.ones(3, dtype=m.int64)
        n.zero_()
        assert n.tolist() == [0, 0, 0]
        w = m.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            w.zero_()
        with m.no_grad():
            w.zero_()
        assert w.tolist() == [0.0, 0.0] and w.requires_grad
