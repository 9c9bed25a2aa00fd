"""Tests for micrograd/tensor/nn.py and losses.py: parity with the scalar engine (same weights, same
losses and gradients), the Module API, saving, and micrograd.optim on tensor parameters against
torch.optim."""

from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from micrograd import losses as scalar_losses
from micrograd import nn as scalar_nn
from micrograd import optim
from micrograd.engine import Value
from micrograd.tensor import Tensor, no_grad
from micrograd.tensor import losses as L
from micrograd.tensor.nn import MLP, Dense, from_config


def _scalar_grads(smlp):
    """Each layer's gradients as (W (nin, nout), b (nout,)) arrays."""
    out = []
    for layer in smlp.layers:
        W = np.array([[w.grad for w in n.w] for n in layer.neurons]).T
        b = np.array([n.b.grad for n in layer.neurons], dtype=float)
        out.append((W, b))
    return out


@pytest.mark.parametrize(
    "activation, loss",
    [("relu", "hinge"), ("tanh", "mse"), ("sigmoid", "bce"), (["tanh", "relu", "linear"], "hinge")],
)
def test_same_weights_same_loss_and_gradients_as_the_scalar_mlp(activation, loss):
    random.seed(3)
    smlp = scalar_nn.MLP(3, [5, 4, 1], activation=activation)
    tmlp = MLP.from_scalar(smlp)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(6, 3))
    y = {
        "hinge": [1, -1, 1, 1, -1, -1],
        "mse": list(rng.normal(size=6)),
        "bce": [1, 0, 0, 1, 1, 0],
    }[loss]
    scalar_fn = {
        "hinge": scalar_losses.hinge,
        "mse": scalar_losses.mse,
        "bce": scalar_losses.bce_with_logits,
    }[loss]
    tensor_fn = L.LOSSES[loss]

    s_loss = scalar_fn([smlp(list(row)) for row in X], y) + scalar_losses.l2(
        smlp.parameters(), 1e-3
    )
    s_loss.backward()
    t_loss = tensor_fn(tmlp(X), np.array(y, dtype=float)) + L.l2(tmlp.parameters(), 1e-3)
    t_loss.backward()

    assert float(t_loss.data) == pytest.approx(s_loss.data, rel=1e-12, abs=1e-15)
    for (sW, sb), layer in zip(_scalar_grads(smlp), tmlp.layers):
        np.testing.assert_allclose(layer.weight.grad, sW, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.bias.grad, sb, rtol=1e-10, atol=1e-14)


def test_cross_entropy_parity_with_the_scalar_engine():
    random.seed(5)
    smlp = scalar_nn.MLP(4, [6, 3])
    tmlp = MLP.from_scalar(smlp)
    X = np.random.default_rng(1).normal(size=(5, 4))
    y = [0, 2, 1, 2, 0]
    s_loss = scalar_losses.cross_entropy([smlp(list(r)) for r in X], y)
    s_loss.backward()
    t_loss = L.cross_entropy(tmlp(X), y)
    t_loss.backward()
    assert float(t_loss.data) == pytest.approx(s_loss.data, rel=1e-12)
    for (sW, sb), layer in zip(_scalar_grads(smlp), tmlp.layers):
        np.testing.assert_allclose(layer.weight.grad, sW, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.bias.grad, sb, rtol=1e-10, atol=1e-14)


def test_demo_first_loss_reproduces_on_tensors():
    """compat.md: the demo's first loss is 0.8958441028683222 with the original's weights."""
    sklearn = pytest.importorskip("sklearn.datasets")
    np.random.seed(1337)
    random.seed(1337)
    X, y = sklearn.make_moons(n_samples=100, noise=0.1)
    model = MLP.from_scalar(scalar_nn.MLP(2, [16, 16, 1]))
    loss = L.hinge(model(X), y * 2 - 1) + L.l2(model.parameters(), 1e-4)
    assert float(loss.data) == pytest.approx(0.8958441028683222, rel=1e-13)


def test_module_api():
    model = MLP(3, [4, 2], rng=0)
    assert isinstance(model, scalar_nn.Module)
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
    ]  # fmt: skip
    assert [p.shape for p in model.parameters()] == [(3, 4), (4,), (4, 2), (2,)]
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2
    out = model(np.ones((5, 3)))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model and not model.training and not model.layers[0].training
    assert model.train().training
    assert repr(model) == "MLP of [Dense(3, 4), ReLU, Dense(4, 2)]"
    assert Dense(2, 3, bias=False).parameters()[0].shape == (2, 3)


def test_init_and_dtype():
    m = MLP(100, [50, 1], init="he", dtype=np.float32, rng=np.random.default_rng(0))
    w = m.layers[0].weight.data
    assert w.dtype == np.float32 and m(np.ones((2, 100), dtype=np.float32)).dtype == np.float32
    bound = np.sqrt(2.0) * np.sqrt(3.0 / 100)  # kaiming uniform for relu
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    np.testing.assert_array_equal(m.layers[0].bias.data, 0.0)
    np.random.seed(0)
    a = MLP(2, [3]).layers[0].weight.data
    np.random.seed(0)
    b = MLP(2, [3]).layers[0].weight.data
    np.testing.assert_array_equal(a, b)  # numpy's global seed makes weights repeatable


@pytest.mark.parametrize(
    "make, exc, word",
    [
        (lambda: MLP(0, [2]), ValueError, "nin"),
        (lambda: MLP(2, 3), TypeError, "nouts"),
        (lambda: MLP(2, []), ValueError, "nouts"),
        (lambda: MLP(2, [3], activation="gelu"), ValueError, "gelu"),
        (lambda: MLP(2, [3], init="zeros"), ValueError, "zeros"),
        (lambda: Dense(2, 3, dtype=np.int32), ValueError, "int32"),
        (lambda: MLP(2, [3])(np.ones((4, 5))), ValueError, "(4, 5)"),
    ],
)
def test_bad_arguments(make, exc, word):
    with pytest.raises(exc, match=word.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_config_round_trip_and_state_dict():
    m = MLP(3, [4, 2], activation="tanh", init="xavier", rng=1)
    cfg = m.config()
    m2 = from_config(cfg)
    assert m2.config() == cfg
    m2.load_state_dict(m.state_dict())
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(m(X).data, m2(X).data)
    with pytest.raises(ValueError, match="shape"):
        m2.load_state_dict({**m.state_dict(), "layers.0.bias": np.zeros(5)})
    with pytest.raises(ValueError, match="unknown keys"):
        from_config({**cfg, "colour": "red"})


def test_save_and_load_with_micrograd_serialize(tmp_path):
    from micrograd.serialize import load_model, save_model

    m = MLP(2, [3, 1], rng=2)
    save_model(m, tmp_path / "m.json")
    m2 = load_model(tmp_path / "m.json")
    assert type(m2) is MLP
    X = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_array_equal(m(X).data, m2(X).data)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
        (
            lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        ),
        (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
        (lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),
    ],
)
def test_micrograd_optim_trains_tensor_parameters_like_torch_optim(ours, theirs):
    rng = np.random.default_rng(0)
    model = MLP(3, [5, 2], activation="tanh", rng=0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
    tparams = [torch.tensor(p.data.copy(), requires_grad=True) for p in model.parameters()]
    opt, topt = ours(model.parameters()), theirs(tparams)
    for _ in range(5):
        loss = L.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        W0, b0, W1, b1 = tparams
        tl = torch.nn.functional.cross_entropy(
            torch.tanh(torch.from_numpy(X) @ W0 + b0) @ W1 + b1, torch.from_numpy(y)
        )
        topt.zero_grad()
        tl.backward()
        topt.step()
        assert float(loss.data) == pytest.approx(tl.item(), rel=1e-10)
    for p, tp in zip(model.parameters(), tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-12)


# -- losses: fused nodes against the same loss written with elementary ops -------------------------


def test_fused_losses_equal_their_elementary_definitions():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 1)) * 3
    pm = rng.choice([-1.0, 1.0], size=6)
    bits = (pm > 0).astype(float)
    logits = rng.normal(size=(6, 4)) * 3
    classes = rng.integers(0, 4, size=6)

    def pair(fused, elementary, x):
        a, b = Tensor(x.copy(), requires_grad=True), Tensor(x.copy(), requires_grad=True)
        fa, fb = fused(a), elementary(b)
        fa.backward()
        fb.backward()
        assert float(fa.data) == pytest.approx(float(fb.data), rel=1e-12)
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-15)

    pair(lambda s: L.hinge(s, pm), lambda s: (1 - s * pm[:, None]).relu().mean(), z)
    pair(lambda s: L.mse(s, pm), lambda s: ((s - pm[:, None]) ** 2).mean(), z)
    pair(
        lambda s: L.bce_with_logits(s, bits),
        lambda s: (
            s.relu() - s * bits[:, None] + (1 + (-(s * np.sign(s.data))).exp()).log()
        ).mean(),
        z,
    )
    onehot = np.eye(4)[classes]
    pair(
        lambda s: L.cross_entropy(s, classes),
        lambda s: -(s.log_softmax() * onehot).sum(1).mean(),
        logits,
    )


@pytest.mark.parametrize(
    "make, word",
    [
        (lambda: L.hinge(Tensor(np.zeros((3, 1)), requires_grad=True), [1, 0, -1]), "-1 or +1"),
        (lambda: L.hinge(Tensor(np.zeros((3, 1)), requires_grad=True), [1, -1]), "(3, 1)"),
        (lambda: L.bce_with_logits(Tensor(np.zeros(2), requires_grad=True), [1, 2]), "0 or 1"),
        (lambda: L.cross_entropy(Tensor(np.zeros((2, 3)), requires_grad=True), [0, 3]), "label 3"),
        (
            lambda: L.cross_entropy(Tensor(np.zeros((2, 3)), requires_grad=True), [0, -1]),
            "label -1",
        ),
        (
            lambda: L.cross_entropy(Tensor(np.zeros((2, 3)), requires_grad=True), [0.5, 1]),
            "class indices",
        ),
        (lambda: L.cross_entropy(Tensor(np.zeros(3), requires_grad=True), [0]), "(n, K)"),
        (lambda: L.l2([Tensor([1.0], requires_grad=True)], -1), "alpha"),
        (lambda: L.mse(Tensor(np.zeros((0,)), requires_grad=True), []), "empty"),
    ],
)
def test_loss_errors(make, word):
    with pytest.raises(ValueError) as info:
        make()
    assert word in str(info.value)


def test_l2_accepts_a_model_and_losses_work_under_no_grad():
    m = MLP(2, [2], rng=0)
    expected = sum(float((p.data**2).sum()) for p in m.parameters()) * 0.5
    assert float(L.l2(m, 0.5).data) == pytest.approx(expected)
    with no_grad():
        loss = L.cross_entropy(m(np.ones((1, 2))), [1])
    assert not loss.requires_grad


def test_scalar_values_are_not_tensors():
    with pytest.raises(TypeError, match="Value"):
        L.l2([Value(1.0)], 0.1)
