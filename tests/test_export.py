"""micrograd.export: models to PyTorch and ONNX and back, with the same numbers.

Exactness, as asserted here: on random inputs in [-3, 3], our outputs, the torch module's from
`to_torch` and onnxruntime's on the graph from `to_onnx` agree within 1e-12 in float64 (scalar
models and float64 tensor models) and 1e-6 in float32, each as `assert_allclose(rtol=tol,
atol=tol)`: |a - b| <= tol * (1 + |b|). A round trip through torch keeps every weight bit for bit.
SGD steps taken in torch on an exported model, imported back, give the weights of the same steps
taken here within the same tolerances.

float32 caveat, measured (60 random MLPs, widths up to 32, up to 4 layers, inputs in [-3, 3]):
the largest |a - b| / (1 + |b|) was 4e-7 with xavier init, 9e-7 with he, but 4e-6 with the
original's U(-1, 1) weights, whose activations grow with the width -- float32 rounding is a
fraction (~6e-8) of the size of the sums, not of the result. float64: at most 1.2e-14.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd import nn as snn
from micrograd.engine import Value
from micrograd.export import (
    INSTALL_HINT,
    from_torch,
    load_torch_state_dict,
    onnx_model,
    to_onnx,
    to_torch,
    torch_state_dict,
)
from micrograd.tensor import nn as tnn

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


# ---------------------------------------------------------------------------------------------
# helpers


def ours(model, X: np.ndarray) -> np.ndarray:
    """Our model's outputs as an (n, nout) float array."""
    if isinstance(model, snn.Module) and not type(model).__module__.startswith("micrograd.tensor"):
        rows = []
        for x in X.tolist():
            out = model(x)
            out = out if isinstance(out, list) else [out]
            rows.append([v.data for v in out])
        return np.array(rows, dtype=np.float64)
    return model(mt.from_numpy(X)).data


def torch_out(module, X: np.ndarray) -> np.ndarray:
    dtype = next(module.parameters()).dtype
    with torch.no_grad():
        return module(torch.from_numpy(X).to(dtype)).numpy()


def onnx_out(model, X: np.ndarray, tmp_path, name="model.onnx") -> np.ndarray:
    path = tmp_path / name
    to_onnx(model, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def dtype_of(model) -> str:
    first = model.parameters()[0].data
    return str(first.dtype) if hasattr(first, "dtype") else "float64"


def assert_close(a, b, dtype: str) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def scalar_mlp(seed, nin, nouts, activation="relu", fused=False):
    random.seed(seed)
    return snn.MLP(nin, nouts, activation=activation, fused=fused)


def random_inputs(seed: int, n: int, nin: int, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3, 3, size=(n, nin)).astype(dtype)


MODELS = {
    "scalar relu, unfused": lambda: scalar_mlp(0, 3, [8, 8, 2]),
    "scalar relu, fused": lambda: scalar_mlp(1, 3, [8, 8, 1], fused=True),
    "scalar tanh": lambda: scalar_mlp(2, 4, [6, 5, 3], "tanh", fused=True),
    "scalar sigmoid": lambda: scalar_mlp(3, 2, [7, 2], "sigmoid"),
    "scalar linear hidden": lambda: scalar_mlp(4, 2, [3, 3, 2], "linear"),
    "scalar per-layer, activation last": lambda: scalar_mlp(
        5, 3, [4, 4, 2], ["tanh", "relu", "sigmoid"], fused=True
    ),
    "scalar xavier init": lambda: (random.seed(6), snn.MLP(5, [9, 4], init="xavier"))[1],
    "scalar Layer": lambda: (random.seed(7), snn.Layer(3, 4, activation="tanh"))[1],
    "scalar Layer of one": lambda: (random.seed(8), snn.Layer(3, 1))[1],
    "scalar Neuron": lambda: (random.seed(9), snn.Neuron(4, activation="sigmoid"))[1],
    "tensor float64": lambda: tnn.MLP(3, [16, 16, 2], rng=0),
    "tensor float64 tanh/sigmoid": lambda: tnn.MLP(
        3, [8, 8, 2], ["tanh", "sigmoid", "linear"], rng=1
    ),
    "tensor float32": lambda: tnn.MLP(5, [32, 16, 4], init="he", dtype=np.float32, rng=2),
    "tensor float32 tanh, no bias": lambda: tnn.MLP(
        4, [8, 3], "tanh", bias=False, dtype=np.float32, rng=3
    ),
    "tensor Dense": lambda: tnn.Dense(6, 3, rng=4),
}


# ---------------------------------------------------------------------------------------------
# outputs agree: ours, torch, onnxruntime


@pytest.mark.parametrize("name", list(MODELS))
def test_ours_torch_and_onnxruntime_agree(name, tmp_path):
    model = MODELS[name]()
    dtype = dtype_of(model)
    nin = model.config()["nin"]
    X = random_inputs(hash(name) % 1000, 64, nin, np.float32 if dtype == "float32" else np.float64)
    expected = ours(model, X)
    module = to_torch(model)
    assert str(next(module.parameters()).dtype) == f"torch.{dtype}"
    assert_close(torch_out(module, X), expected, dtype)
    from_onnx = onnx_out(model, X, tmp_path)
    assert from_onnx.dtype == np.dtype(dtype)
    assert_close(from_onnx, expected, dtype)


@st.composite
def architectures(draw):
    nin = draw(st.integers(1, 6))
    nouts = draw(st.lists(st.integers(1, 8), min_size=1, max_size=4))
    activations = draw(
        st.lists(
            st.sampled_from(["relu", "tanh", "sigmoid", "linear"]),
            min_size=len(nouts),
            max_size=len(nouts),
        )
    )
    return nin, nouts, activations


@settings(max_examples=25, deadline=None)
@given(
    arch=architectures(),
    engine=st.sampled_from(["scalar", "scalar fused", "float64", "float32"]),
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 9),
)
def test_any_architecture_agrees_everywhere(arch, engine, seed, batch, tmp_path_factory):
    nin, nouts, activations = arch
    if engine.startswith("scalar"):
        # A scalar Layer of one neuron returns a bare Value (as the original's does), which the
        # next layer cannot take: hidden layers of the scalar engine need two neurons or more.
        nouts = [max(n, 2) for n in nouts[:-1]] + nouts[-1:]
        model = scalar_mlp(seed, nin, nouts, activations, fused=engine.endswith("fused"))
        dtype = "float64"
    else:
        dtype = engine
        # float32 sums round to ~6e-8 of their size: inits that keep activations near 1 (see
        # the module docstring); U(-1, 1) weights grow them with the width.
        init = "uniform" if dtype == "float64" else ("xavier", "he")[seed % 2]
        model = tnn.MLP(nin, nouts, activations, init=init, dtype=dtype, rng=seed)
    X = random_inputs(seed, batch, nin, np.dtype(dtype))
    expected = ours(model, X)
    assert_close(torch_out(to_torch(model), X), expected, dtype)
    assert_close(onnx_out(model, X, tmp_path_factory.mktemp("onnx")), expected, dtype)


# ---------------------------------------------------------------------------------------------
# what to_torch builds


def test_to_torch_builds_torch_shaped_sequential():
    model = scalar_mlp(0, 2, [16, 16, 1])
    module = to_torch(model)
    assert isinstance(module, torch.nn.Sequential)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    state = module.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert state["0.weight"].shape == (16, 2) and state["2.weight"].shape == (16, 16)
    # row j of torch's weight is neuron j's weights; the bias is the neurons' biases
    neuron = model.layers[1].neurons[5]
    assert state["2.weight"][5].tolist() == [w.data for w in neuron.w]
    assert state["2.bias"][5].item() == neuron.b.data


def test_to_torch_tensor_weight_is_the_transpose_and_a_copy():
    model = tnn.MLP(3, [4, 2], "tanh", dtype=np.float32, rng=0)
    module = to_torch(model)
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear"]
    assert np.array_equal(module[0].weight.detach().numpy(), model.layers[0].weight.data.T)
    with torch.no_grad():
        module[0].weight.add_(1.0)  # training the torch copy leaves ours alone
    assert not np.array_equal(module[0].weight.detach().numpy(), model.layers[0].weight.data.T)


def test_to_torch_mirrors_the_training_flag():
    model = scalar_mlp(0, 2, [3, 1])
    assert to_torch(model).training is True
    model.eval()
    assert to_torch(model).training is False


def test_to_torch_refuses_what_it_cannot_describe():
    with pytest.raises(TypeError, match="cannot export a dict"):
        to_torch({"0.weight": 1})
    with pytest.raises(TypeError, match="cannot export a Sequential"):
        to_torch(torch.nn.Sequential(torch.nn.Linear(2, 2)))

    class Custom(snn.Module):
        pass

    with pytest.raises(TypeError, match="cannot export a Custom"):
        to_torch(Custom())
    model = scalar_mlp(0, 2, [3, 1])
    model.layers[0].neurons[1].nonlin = False  # one linear neuron in a ReLU layer
    with pytest.raises(ValueError, match=r"layer 0: its neurons have different activations"):
        to_torch(model)
    with pytest.raises(ValueError, match="layer 0"):
        to_onnx(model, "never-written.onnx")


# ---------------------------------------------------------------------------------------------
# from_torch


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_keeps_every_weight_bit_for_bit(name):
    model = MODELS[name]()
    module = to_torch(model)
    if type(model).__module__.startswith("micrograd.tensor"):
        backs = [from_torch(module), from_torch(module, mlp=True)]
        assert isinstance(backs[0], tnn.Sequential) and isinstance(backs[1], tnn.MLP)
    else:
        backs = [from_torch(module, engine="scalar")]
        assert isinstance(backs[0], snn.MLP)
    state = module.state_dict()
    for back in backs:
        again = to_torch(back).state_dict()
        assert list(again) == list(state)
        for key in state:
            assert again[key].dtype == state[key].dtype
            assert torch.equal(again[key], state[key]), key


def test_from_torch_keeps_the_architecture():
    model = scalar_mlp(0, 2, [16, 16, 1], "tanh", fused=True)
    back = from_torch(to_torch(model), engine="scalar")
    assert back.config() == model.config()
    assert repr(back) == repr(model)
    per_layer = scalar_mlp(0, 3, [4, 2], ["relu", "sigmoid"])
    assert from_torch(to_torch(per_layer), engine="scalar").config()["activation"] == [
        "relu",
        "sigmoid",
    ]
    tmodel = tnn.MLP(3, [4, 4, 2], "sigmoid", bias=False, dtype=np.float32, rng=0)
    assert from_torch(to_torch(tmodel), mlp=True).config() == tmodel.config()


def test_from_torch_takes_a_model_built_in_torch():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 32),
        torch.nn.ReLU(),
        torch.nn.Identity(),
        torch.nn.Linear(32, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 3),
        torch.nn.Sigmoid(),
    )
    X = random_inputs(0, 20, 4, np.float32)
    tmodel = from_torch(module, mlp=True)
    assert isinstance(tmodel, tnn.MLP)
    assert tmodel.activations == ["relu", "tanh", "sigmoid"]
    assert tmodel.layers[0].weight.data.dtype == np.float32
    assert_close(ours(tmodel, X), torch_out(module, X), "float32")
    seq = from_torch(module)  # the torch-shaped Sequential: the same layers and names
    assert [name for name, _ in seq.named_children()] == [
        "0",
        "1",
        "3",
        "4",
        "5",
        "6",
    ]  # no Identity
    assert_close(seq(mt.from_numpy(X)).data, torch_out(module, X), "float32")
    # the scalar engine computes in float64 from the float32 weights, kept exactly
    smodel = from_torch(module, engine="scalar")
    assert isinstance(smodel, snn.MLP) and smodel.config()["fused"] is True
    assert smodel.layers[0].neurons[3].w[2].data == module[0].weight[3, 2].item()
    assert_close(ours(smodel, X.astype(np.float64)), torch_out(module.double(), X), "float64")
    assert from_torch(module, engine="scalar", fused=False).config()["fused"] is False


def test_from_torch_scalar_leaves_the_global_random_state_alone():
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1))
    random.seed(42)
    expected = random.random()
    random.seed(42)
    from_torch(module, engine="scalar")
    assert random.random() == expected


def test_from_torch_mirrors_the_training_flag():
    module = torch.nn.Sequential(torch.nn.Linear(3, 5))
    assert from_torch(module).training is True
    assert from_torch(module.eval(), engine="scalar").training is False


def _seq(*layers):
    return torch.nn.Sequential(*layers)


L = torch.nn.Linear
SHARED = L(3, 3)
NAN = L(4, 1)
with torch.no_grad():
    NAN.bias[0] = float("inf")


@pytest.mark.parametrize(
    ("module", "engine", "error", "message"),
    [
        (
            _seq(L(2, 4), torch.nn.ReLU(), torch.nn.Dropout(0.5), L(4, 1)),
            "tensor",
            ValueError,
            r"layer 2 \(Dropout\) is not supported; the tensor engine takes Linear, ReLU",
        ),
        (
            _seq(L(2, 4), torch.nn.Dropout(0.5)),
            "scalar",
            ValueError,
            r"layer 1 \(Dropout\) is not supported; the scalar engine takes Linear, ReLU",
        ),
        (
            _seq(L(2, 4), torch.nn.BatchNorm1d(4), L(4, 1)),
            "scalar",
            ValueError,
            r"layer 1 \(BatchNorm1d\) is not supported; the scalar engine",
        ),
        (
            _seq(L(2, 4), _seq(L(4, 4)), L(4, 1)),
            "scalar",
            ValueError,
            r"layer 1 \(Sequential\) is not supported in an MLP \(a nested Sequential",
        ),
        (
            _seq(L(2, 4), _seq(L(4, 4), torch.nn.LayerNorm(4))),
            "tensor",
            ValueError,
            r"layer 1.1 \(LayerNorm\) is not supported",
        ),
        (_seq(L(2, 4), torch.nn.GELU()), "tensor", ValueError, r"layer 1 \(GELU\)"),
        (
            _seq(torch.nn.ReLU(), L(2, 4)),
            "scalar",
            ValueError,
            r"layer 0 \(ReLU\) comes before any Linear",
        ),
        (
            _seq(L(2, 4), torch.nn.ReLU(), torch.nn.Tanh()),
            "scalar",
            ValueError,
            r"layer 2 \(Tanh\) follows another activation",
        ),
        (
            _seq(L(2, 4), L(5, 1)),
            "scalar",
            ValueError,
            r"layer 1 \(Linear\) takes 5 inputs, the layer before gives 4",
        ),
        (
            _seq(L(2, 4, bias=False)),
            "scalar",
            ValueError,
            r"layer 0 \(Linear\) has no bias; micrograd.nn neurons always have one",
        ),
        (
            _seq(L(2, 4), L(4, 1, bias=False)),
            "tensor-mlp",
            ValueError,
            r"layer 1 \(Linear\) has no bias, unlike the first",
        ),
        (_seq(L(2, 4).half()), "tensor", ValueError, r"layer 0 \(Linear\) has dtype torch.float16"),
        (_seq(L(2, 4), L(4, 1).double()), "scalar", ValueError, "the Linear layers mix dtypes"),
        (
            _seq(L(2, 4), L(4, 1).double()),
            "tensor",
            ValueError,
            r"mixes dtypes \(float32 in layer 0 \(Linear\), float64 in layer 1 \(Linear\)\)",
        ),
        (_seq(torch.nn.LazyLinear(3)), "tensor", ValueError, r"layer 0 \(LazyLinear\)"),
        (
            _seq(torch.nn.BatchNorm1d(4, bias=False)),
            "tensor",
            ValueError,
            r"layer 0 \(BatchNorm1d\) sets bias=False",
        ),
        (
            _seq(torch.nn.Embedding(5, 2, padding_idx=0)),
            "tensor",
            ValueError,
            r"layer 0 \(Embedding\) sets padding_idx=0",
        ),
        (_seq(torch.nn.Embedding(5, 2, max_norm=1.0)), "tensor", ValueError, "sets max_norm=1.0"),
        (_seq(), "tensor", ValueError, "the Sequential is empty"),
        (_seq(torch.nn.Identity()), "scalar", ValueError, "the Sequential has no Linear layer"),
        (
            _seq(SHARED, torch.nn.ReLU(), SHARED),
            "scalar",
            ValueError,
            (
                r"layer 2 \(Linear\) is the same module as layer 0; the layers of a micrograd "
                r"MLP do not share weights"
            ),
        ),
        (_seq(L(2, 4), NAN), "scalar", ValueError, r"layer 1 \(Linear\) has NaN or infinite"),
        (_seq(_seq(NAN)), "tensor", ValueError, r"layer 0.0 \(Linear\) has NaN or infinite"),
        (L(2, 4), "tensor", TypeError, r"got Linear \(wrap it: torch.nn.Sequential\(module\)\)"),
        ("model.pt", "tensor", TypeError, "expected a torch.nn.Sequential, got str"),
        (_seq(L(2, 4)), "gpu", ValueError, "engine must be 'tensor' or 'scalar', got 'gpu'"),
    ],
)
def test_from_torch_refuses_other_layers_naming_them(module, engine, error, message):
    with pytest.raises(error, match=message):
        if engine == "tensor-mlp":
            from_torch(module, engine="tensor", mlp=True)
        else:
            from_torch(module, engine=engine)


def test_from_torch_names_a_named_layer():
    from collections import OrderedDict

    module = torch.nn.Sequential(
        OrderedDict([("fc1", L(2, 4)), ("drop", torch.nn.Dropout()), ("fc2", L(4, 1))])
    )
    with pytest.raises(ValueError, match=r"layer 'drop' \(Dropout\)"):
        from_torch(module)


# ---------------------------------------------------------------------------------------------
# state dicts across


@pytest.mark.parametrize("engine", ["scalar", "float64", "float32"])
def test_state_dicts_load_across(engine):
    if engine == "scalar":
        model, other = scalar_mlp(0, 3, [5, 2], "tanh"), scalar_mlp(1, 3, [5, 2], "tanh")
    else:
        model = tnn.MLP(3, [5, 2], "tanh", dtype=engine, rng=0)
        other = tnn.MLP(3, [5, 2], "tanh", dtype=engine, rng=1)
    # ours -> torch: a torch module of the same architecture takes our state dict
    module = to_torch(other)
    module.load_state_dict(torch_state_dict(model))
    X = random_inputs(0, 10, 3, np.dtype("float64" if engine == "scalar" else engine))
    assert np.array_equal(torch_out(module, X), torch_out(to_torch(model), X))
    # torch -> ours, torch tensors or numpy arrays
    load_torch_state_dict(other, to_torch(model).state_dict())
    assert np.array_equal(ours(other, X), ours(model, X))
    third = (
        scalar_mlp(2, 3, [5, 2], "tanh")
        if engine == "scalar"
        else tnn.MLP(3, [5, 2], "tanh", dtype=engine, rng=2)
    )
    load_torch_state_dict(third, {k: v.numpy() for k, v in torch_state_dict(model).items()})
    assert np.array_equal(ours(third, X), ours(model, X))


def test_load_torch_state_dict_checks_everything_first():
    model = scalar_mlp(0, 3, [4, 1])
    before = model.state_dict()
    good = torch_state_dict(model)
    with pytest.raises(TypeError, match="expected a dict of tensors"):
        load_torch_state_dict(model, [1, 2])
    with pytest.raises(ValueError, match=r"missing keys \['2.bias'\]"):
        load_torch_state_dict(model, {k: v for k, v in good.items() if k != "2.bias"})
    with pytest.raises(ValueError, match=r"unexpected keys \['3.weight'\]"):
        load_torch_state_dict(model, {**good, "3.weight": good["2.weight"]})
    bad_shape = {**good, "2.weight": torch.zeros(4, 1, dtype=torch.float64)}
    with pytest.raises(
        ValueError, match=r"'2.weight' has shape \(4, 1\), the model needs \(1, 4\)"
    ):
        load_torch_state_dict(model, bad_shape)
    nan = {k: v.clone() for k, v in good.items()}
    nan["0.weight"][0, 0] = float("nan")
    nan["0.bias"][:] = 9.0  # checked before anything is written
    with pytest.raises(ValueError, match="'0.weight' is not all finite numbers"):
        load_torch_state_dict(model, nan)
    assert model.state_dict() == before


def test_load_torch_state_dict_takes_parameters_that_require_grad():
    model = tnn.MLP(2, [3, 1], rng=0)
    module = to_torch(tnn.MLP(2, [3, 1], rng=1))
    load_torch_state_dict(model, dict(module.named_parameters()))
    assert np.array_equal(model.layers[0].weight.data, module[0].weight.detach().numpy().T)


# ---------------------------------------------------------------------------------------------
# fine-tuning in torch and back


def _mse_step_loss(model, X, y, dtype):
    """Our MSE of `model` on (X, y): scalar Values, or one tensor graph."""
    if isinstance(model, snn.MLP):
        from micrograd.losses import mse

        return mse([model([Value(a) for a in row]) for row in X], y)
    from micrograd.tensor.losses import mse

    return mse(model(np.array(X, dtype=dtype))[:, 0], np.array(y, dtype=dtype))


def _sgd_here(model, X, y, dtype, steps, lr, **options):
    from micrograd.optim import SGD

    opt = SGD(model.parameters(), lr=lr, **options)
    for _ in range(steps):
        loss = _mse_step_loss(model, X, y, dtype)
        model.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize(
    ("engine", "steps", "options"),
    [
        ("scalar", 1, {}),
        ("scalar", 3, {"momentum": 0.9, "weight_decay": 1e-3, "nesterov": True}),
        ("float64", 1, {}),
        ("float32", 1, {}),
        ("float32", 3, {"momentum": 0.9, "weight_decay": 1e-3}),
    ],
)
def test_fine_tuned_in_torch_and_imported_back_equals_the_same_steps_here(engine, steps, options):
    """A model trained here (5 SGD steps), exported, trained `steps` more torch.optim.SGD steps
    in torch (lr 0.1, MSE on a batch of 32) and imported back has, for every weight, the value
    the same steps taken here with micrograd.optim.SGD give: within 1e-12 (absolute and
    relative) in float64 (scalar and float64 tensor models), 1e-6 in float32."""
    from micrograd.data import make_moons

    X, y = make_moons(32, noise=0.1, seed=0)
    y = [float(t) for t in y]
    dtype = "float64" if engine == "scalar" else engine
    if engine == "scalar":
        model = scalar_mlp(0, 2, [8, 8, 1], "tanh", fused=True)
    else:
        model = tnn.MLP(2, [8, 8, 1], "tanh", dtype=dtype, rng=0)
    _sgd_here(model, X, y, dtype, steps=5, lr=0.05)  # trained here first
    exported = torch_state_dict(model)

    module = to_torch(model)
    torch_opt = torch.optim.SGD(module.parameters(), lr=0.1, **options)
    Xt = torch.tensor(X, dtype=getattr(torch, dtype))
    yt = torch.tensor(y, dtype=getattr(torch, dtype))
    for _ in range(steps):
        torch_opt.zero_grad()
        torch.nn.functional.mse_loss(module(Xt)[:, 0], yt).backward()
        torch_opt.step()
    # back as our own kind of model (a scalar MLP; the torch-shaped Sequential for tensors)
    imported = from_torch(module, engine="scalar" if engine == "scalar" else "tensor")

    _sgd_here(model, X, y, dtype, steps=steps, lr=0.1, **options)  # the same steps here

    theirs, here = torch_state_dict(imported), torch_state_dict(model)
    assert (
        list(theirs)
        == list(here)
        == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    )
    for key in here:
        assert_close(theirs[key].numpy(), here[key].numpy(), dtype)
    # the steps did move the weights (by far more than the tolerance)
    assert max(float((here[k] - exported[k]).abs().max()) for k in here) > 1e-3
    # importing in place, into the model trained here, gives the same weights as from_torch
    load_torch_state_dict(model, module.state_dict())
    for key, value in torch_state_dict(model).items():
        assert torch.equal(value, theirs[key])


# ---------------------------------------------------------------------------------------------
# the ONNX file


def test_onnx_graph_is_valid_with_a_dynamic_batch(tmp_path):
    model = scalar_mlp(0, 2, [16, 16, 1], fused=True)
    path = tmp_path / "model.onnx"
    to_onnx(model, path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    (graph_input,) = proto.graph.input
    (graph_output,) = proto.graph.output
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "input" and dims[0].dim_param == "batch" and dims[1].dim_value == 2
    assert graph_output.name == "output"
    assert graph_output.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    assert [i.name for i in proto.graph.initializer] == list(to_torch(model).state_dict())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 2, 100):
        X = random_inputs(batch, batch, 2)
        assert_close(session.run(None, {"input": X})[0], ours(model, X), "float64")
    f32 = onnx_model(tnn.MLP(2, [3, 1], dtype=np.float32, rng=0))
    assert f32.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_onnx_opset_is_checked():
    model = scalar_mlp(0, 2, [3, 1])
    assert onnx_model(model, opset=13).opset_import[0].version == 13
    for bad in (12, 10_000, "17", True):
        with pytest.raises(ValueError, match="opset must be an int from 13"):
            onnx_model(model, opset=bad)


def test_to_onnx_writes_atomically(tmp_path, monkeypatch):
    model = scalar_mlp(0, 2, [3, 1])
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the previous file")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        to_onnx(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == b"the previous file"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left
    with pytest.raises(TypeError):
        to_onnx(object(), path)
    assert path.read_bytes() == b"the previous file"
    with pytest.raises(FileNotFoundError):
        to_onnx(model, tmp_path / "no-such-folder" / "model.onnx")
    to_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)))


# ---------------------------------------------------------------------------------------------
# optional packages stay optional


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_importing_loads_no_optional_package():
    code = (
        "import sys, micrograd, micrograd.export, micrograd.export_cli, micrograd.export_onnx\n"
        "from micrograd.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'numpy') if m in sys.modules))"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("missing", "call"),
    [
        ("torch", "export.to_torch(model)"),
        ("torch", "export.from_torch(None)"),
        ("onnx", "export.to_onnx(model, 'x.onnx')"),
    ],
)
def test_a_missing_package_says_how_to_install_it(missing, call, tmp_path):
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"  # makes `import {missing}` fail
        "import random; random.seed(0)\n"
        "from micrograd import export, nn\n"
        "model = nn.MLP(2, [3, 1])\n"
        "try:\n"
        f"    {call}\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert f"needs the {missing!r} package" in proc.stdout
    assert INSTALL_HINT in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_export_extra_pins_torch_and_the_tests_install_it():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    extra = re.search(r"^export = \[(.*)\]$", text, flags=re.MULTILINE).group(1)
    assert '"torch==2.13.0"' in extra and '"onnx>=' in extra and '"onnxruntime>=' in extra
    test_extra = re.search(r"^test = \[(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL).group(1)
    assert "[export]" in test_extra


class _Doubling(torch.nn.Sequential):
    def forward(self, x):
        return super().forward(x) * 2


class _Named(torch.nn.Sequential):
    """A subclass that computes what Sequential computes."""


def test_subclasses_are_taken_only_when_they_compute_the_same():
    with pytest.raises(TypeError, match=r"got _Doubling \(a Sequential subclass with its own"):
        from_torch(_Doubling(L(2, 3)))
    with pytest.raises(ValueError, match=r"layer 1 \(_Doubling\) is not supported"):
        from_torch(_seq(L(2, 3), _Doubling(L(3, 1))))
    module = _Named(L(2, 3), torch.nn.Tanh(), _Named(L(3, 1)))
    X = random_inputs(0, 5, 2, np.float32)
    assert_close(ours(from_torch(module), X), torch_out(module, X), "float32")
    assert from_torch(_Named(L(2, 3)), engine="scalar").config()["nouts"] == [3]

    class Tweaked(snn.MLP):
        def __call__(self, x):
            return super().__call__(x) * 2

    class Plain(snn.MLP):
        def describe(self):
            return "same numbers"

    random.seed(0)
    with pytest.raises(TypeError, match="cannot export a Tweaked"):
        to_torch(Tweaked(2, [3, 1]))
    plain = Plain(2, [3, 1])
    X = random_inputs(1, 4, 2)
    assert_close(torch_out(to_torch(plain), X), ours(plain, X), "float64")
