"""Tests for micrograd/tensor/nn/modules.py: the PyTorch-shaped layers against PyTorch 2.13 itself,
with the same weights copied across: outputs, gradients, running statistics, `state_dict()` keys and
shapes, `load_state_dict` both ways, train/eval, errors."""

from __future__ import annotations

from collections import OrderedDict

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)

import micrograd.tensor as mt
from micrograd.optim import SGD
from micrograd.tensor import nn

RNG = np.random.default_rng(5)


def _ours_from_torch(tmodel, ours):
    """Copy every parameter and buffer of a torch model into ours (same names)."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()})


def _pair(make_ours, make_torch, dtype):
    torch.manual_seed(0)
    t = make_torch().to(torch.float64 if dtype == np.float64 else torch.float32)
    o = make_ours(dtype)
    _ours_from_torch(t, o)
    return o, t


def _mlp_ours(dtype):
    return nn.Sequential(
        nn.Linear(6, 5, dtype=dtype),
        nn.BatchNorm1d(5, dtype=dtype),
        nn.Tanh(),
        nn.Linear(5, 4, bias=False, dtype=dtype),
        nn.ReLU(),
        nn.Linear(4, 3, dtype=dtype),
    )


def _mlp_torch():
    tn = torch.nn
    return tn.Sequential(
        tn.Linear(6, 5),
        tn.BatchNorm1d(5),
        tn.Tanh(),
        tn.Linear(5, 4, bias=False),
        tn.ReLU(),
        tn.Linear(4, 3),
    )


def test_state_dict_keys_and_shapes_are_torchs():
    o, t = _pair(_mlp_ours, _mlp_torch, np.float32)
    ours = o.state_dict()
    theirs = t.state_dict()
    assert list(ours) == list(theirs)
    for k in theirs:
        assert tuple(ours[k].shape) == tuple(theirs[k].shape), k
    assert ours["0.weight"].shape == (5, 6)  # (out_features, in_features)
    assert ours["1.num_batches_tracked"].dtype == np.int64
    assert [n for n, _ in o.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert o.num_parameters() == sum(p.numel() for p in t.parameters())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_steps_match_torch(dtype):
    o, t = _pair(_mlp_ours, _mlp_torch, dtype)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    tol = {"rtol": 2e-5, "atol": 2e-6} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    opt = SGD(o.parameters(), lr=0.1)
    topt = torch.optim.SGD(t.parameters(), lr=0.1)
    for step in range(4):
        x = RNG.normal(size=(8, 6)).astype(dtype)
        y = RNG.integers(0, 3, size=8)
        loss = nn.functional.cross_entropy(o(mt.tensor(x)), mt.tensor(y))
        tloss = torch.nn.functional.cross_entropy(t(torch.tensor(x, dtype=tdt)), torch.tensor(y))
        np.testing.assert_allclose(loss.item(), tloss.item(), **tol)
        o.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        for (name, p), tp in zip(o.named_parameters(), t.parameters()):
            assert p.grad.dtype == dtype
            np.testing.assert_allclose(p.grad, tp.grad.numpy(), err_msg=name, **tol)
        opt.step()
        topt.step()
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(o.state_dict()[k].numpy(), v.numpy(), err_msg=k, **tol)
    # eval mode uses the running statistics
    o.eval()
    t.eval()
    assert not o[1].training
    x = RNG.normal(size=(3, 6)).astype(dtype)
    with mt.no_grad():
        out = o(mt.tensor(x))
    np.testing.assert_allclose(out.numpy(), t(torch.tensor(x, dtype=tdt)).detach().numpy(), **tol)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_3d_input_and_momentum(momentum):
    o = nn.BatchNorm1d(4, momentum=momentum, dtype=np.float64)
    t = torch.nn.BatchNorm1d(4, momentum=momentum).double()
    with torch.no_grad():
        t.weight.copy_(torch.tensor(RNG.normal(size=4)))
        t.bias.copy_(torch.tensor(RNG.normal(size=4)))
    _ours_from_torch(t, o)
    for _ in range(3):
        x = RNG.normal(size=(5, 4, 3))
        xo = mt.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        w = RNG.normal(size=(5, 4, 3))
        (o(xo) * mt.tensor(w)).sum().backward()
        (t(xt) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(o.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)
    np.testing.assert_allclose(o.weight.grad, t.weight.grad.numpy(), rtol=1e-9)


def test_batchnorm_without_affine_or_running_stats():
    o = nn.BatchNorm1d(3, affine=False, track_running_stats=False, dtype=np.float64)
    t = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False).double()
    assert list(o.parameters()) == [] and list(o.state_dict()) == list(t.state_dict()) == []
    x = RNG.normal(size=(6, 3))
    o.eval()
    t.eval()  # no running statistics: batch statistics even in eval mode
    np.testing.assert_allclose(o(mt.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-12)


def test_embedding_flatten_and_linear_like_the_mlp_lecture():
    torch.manual_seed(1)
    temb, tlin = torch.nn.Embedding(27, 10), torch.nn.Linear(30, 7)
    model = nn.Sequential(nn.Embedding(27, 10), nn.Flatten(), nn.Linear(30, 7))
    tmodel = torch.nn.Sequential(temb, torch.nn.Flatten(), tlin)
    _ours_from_torch(tmodel, model)
    X = RNG.integers(0, 27, size=(16, 3))
    X[0] = [5, 5, 5]  # a row picked three times
    Y = RNG.integers(0, 7, size=16)
    loss = nn.functional.cross_entropy(model(mt.tensor(X)), mt.tensor(Y))
    tloss = torch.nn.functional.cross_entropy(tmodel(torch.tensor(X)), torch.tensor(Y))
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert list(model.state_dict()) == ["0.weight", "2.weight", "2.bias"]


def test_default_init_follows_torchs_rules():
    torch.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert lin.weight.shape == (300, 400) and lin.weight.dtype == np.float32
    assert np.abs(lin.weight.numpy()).max() <= bound
    assert np.abs(lin.weight.numpy()).max() > 0.99 * bound
    assert abs(lin.weight.numpy().std() - bound / np.sqrt(3)) < 0.01 * bound
    emb = nn.Embedding(1000, 50)
    assert abs(emb.weight.numpy().std() - 1.0) < 0.02 and abs(emb.weight.numpy().mean()) < 0.02
    bn = nn.BatchNorm1d(3)
    assert bn.weight.tolist() == [1, 1, 1] and bn.bias.tolist() == [0, 0, 0]
    assert bn.running_var.tolist() == [1, 1, 1] and not bn.running_mean.requires_grad
    assert all(p.requires_grad for p in nn.Sequential(lin, bn).parameters())


def test_load_state_dict_round_trip_to_torch_and_checks():
    o, t = _pair(_mlp_ours, _mlp_torch, np.float32)
    t2 = _mlp_torch()
    t2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in o.state_dict().items()})
    for k, v in t2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), t.state_dict()[k].numpy())
    sd = o.state_dict()
    before = o[0].weight.numpy().copy()
    # RuntimeError as in PyTorch (also a ValueError, as this package raised before)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: .*torch.Size\(\[6, 5\]\)"):
        o.load_state_dict({**sd, "0.weight": np.zeros((6, 5))})
    with pytest.raises(ValueError, match='Missing key\\(s\\) in state_dict: "1.running_var"'):
        o.load_state_dict({k: v for k, v in sd.items() if k != "1.running_var"})
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        o.load_state_dict({**sd, "extra": np.zeros(1)})
    with pytest.raises(TypeError, match="dict"):
        o.load_state_dict([1, 2])
    np.testing.assert_array_equal(o[0].weight.numpy(), before)  # unchanged after errors
    # nan and inf load, as in PyTorch
    o.load_state_dict({**sd, "0.bias": np.full(5, np.nan)})
    assert np.isnan(o[0].bias.numpy()).all()
    result = o.load_state_dict({k: v for k, v in sd.items() if k != "5.bias"}, strict=False)
    assert result.missing_keys == ["5.bias"] and result.unexpected_keys == []
    # the state dict shares the module's arrays, as PyTorch's does
    assert o.state_dict()["0.weight"].data is o[0].weight.data


def test_sequential_container_and_repr():
    lin = nn.Linear(2, 3)
    seq = nn.Sequential(lin, nn.Tanh())
    assert len(seq) == 2 and seq[0] is lin and isinstance(seq[-1], nn.Tanh)
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh"]
    assert isinstance(seq[:1], nn.Sequential) and len(seq[:1]) == 1
    seq.append(nn.ReLU())
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]
    assert repr(seq) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Tanh()\n  (2): ReLU()\n)"
    )
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    with pytest.raises(IndexError):
        seq[5]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(lambda x: x)


def test_user_module_registers_parameters_buffers_and_children():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(mt.ones(3))
            self.body = nn.Linear(3, 3)
            self.register_buffer("count", mt.zeros(1))
            self.note = mt.zeros(2)  # a plain tensor (no gradient): not a parameter

        def forward(self, x):
            return self.body(x) * self.scale

    net = Net()
    assert list(net.state_dict()) == ["scale", "count", "body.weight", "body.bias"]
    assert [n for n, _ in net.named_parameters()] == ["scale", "body.weight", "body.bias"]
    out = net(mt.randn(4, 3)).sum()
    out.backward()
    assert net.scale.grad.shape == (3,)
    net.zero_grad()
    assert net.scale.grad is None
    assert net.eval().body.training is False and net.train().body.training

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mt.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Forgot()


@pytest.mark.parametrize(
    "make, exc, words",
    [
        (lambda: nn.Linear(0, 3), ValueError, ["in_features"]),
        (lambda: nn.Linear(2, 3, dtype=mt.int64), TypeError, ["float"]),
        (lambda: nn.Linear(3, 2)(mt.zeros(4, 5)), ValueError, ["linear", "(4, 5)", "(2, 3)"]),
        (lambda: nn.Embedding(5, 2)(mt.tensor([5])), IndexError, ["5", "out of range"]),
        (lambda: nn.Embedding(5, 2)(mt.tensor([1.0])), RuntimeError, ["integer", "float32"]),
        (lambda: nn.BatchNorm1d(3)(mt.zeros(4, 2)), ValueError, ["(4, 2)"]),
        (lambda: nn.BatchNorm1d(3)(mt.zeros(1, 3)), ValueError, ["more than one"]),
        (lambda: nn.BatchNorm1d(3, eps=0), ValueError, ["eps"]),
        (lambda: nn.BatchNorm1d(3, momentum=2), ValueError, ["momentum"]),
        (lambda: nn.Linear(2, 2).wieght, AttributeError, ["wieght", "weight"]),
        (lambda: nn.Conv2d, AttributeError, ["Conv2d"]),
    ],
)
def test_errors_name_the_problem(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    for w in words:
        assert w in str(info.value)


def test_existing_mlp_still_there():
    model = nn.MLP(3, [4, 2], rng=0)
    assert repr(model) == "MLP of [Dense(3, 4), ReLU, Dense(4, 2)]"
    assert model(np.ones((2, 3))).shape == (2, 2)
    # a model file written before Dense was renamed still loads
    cfg = {**model.layers[0].config(), "type": "Linear"}
    assert repr(nn.from_config(cfg)) == "Dense(3, 4)"


@pytest.mark.parametrize("shape", [(4,), (5, 4), (2, 5, 4)])
def test_linear_layer_on_any_batch_shape_matches_torch_and_refuses_a_0d_input(shape):
    # the fused node computes x @ W.T through ndarray.dot, which must keep matmul's answer for
    # one sample, a batch and a stack of batches, and its refusal of a 0-d input
    layer = nn.Linear(4, 3)
    ref = torch.nn.Linear(4, 3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data))
        ref.bias.copy_(torch.tensor(layer.bias.data))
    x = RNG.standard_normal(shape).astype(np.float32)
    ours, theirs = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = layer(ours), ref(theirs)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        layer.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-5, atol=1e-5
    )
    with pytest.raises(ValueError, match="linear"):
        layer(mt.tensor(1.0))
