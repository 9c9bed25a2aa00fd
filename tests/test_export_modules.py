"""micrograd.export with the torch-shaped modules of micrograd.tensor.nn (Sequential, Linear,
Embedding, BatchNorm1d, Flatten, ReLU, Tanh, Sigmoid): one to one with torch.nn, the same
state_dict keys both ways, the same outputs in ours, torch and onnxruntime.

Tolerances as in test_export.py: |a - b| <= tol * (1 + |b|) with tol 1e-12 in float64 and 1e-6 in
float32. BatchNorm1d is compared in training mode (batch statistics, running statistics updated)
against torch, and in eval mode (running statistics) against torch and onnxruntime: the ONNX graph
is the model in eval mode.
"""

from __future__ import annotations

from collections import OrderedDict

import pytest

np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import micrograd.tensor as mt
from micrograd.export import (
    from_torch,
    load_torch_state_dict,
    onnx_model,
    to_onnx,
    to_torch,
    torch_state_dict,
)
from micrograd.tensor import nn as tnn

TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


def assert_close(a, b, dtype: str) -> None:
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def ours(model, X: np.ndarray) -> np.ndarray:
    return model(mt.from_numpy(np.ascontiguousarray(X))).data


def torch_out(module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(X))).numpy()


def onnx_out(model, X: np.ndarray, **kwargs) -> np.ndarray:
    session = ort.InferenceSession(
        onnx_model(model, **kwargs).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(["output"], {"input": X})[0]


def randomise_running_stats(model, seed: int) -> None:
    """BatchNorm1d starts at mean 0, var 1: give it statistics that matter."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, tnn.BatchNorm1d) and m.track_running_stats:
            dt = m.running_mean.data.dtype
            m.running_mean.data = rng.normal(size=m.num_features).astype(dt)
            m.running_var.data = rng.uniform(0.5, 2.0, size=m.num_features).astype(dt)
            if m.affine:
                m.weight.data = rng.uniform(0.5, 1.5, size=m.num_features).astype(dt)
                m.bias.data = rng.normal(size=m.num_features).astype(dt)


def makemore(dtype):
    """The makemore MLP: a 3-character context -> 27 logits."""
    return tnn.Sequential(
        tnn.Embedding(27, 10, dtype=dtype),
        tnn.Flatten(),
        tnn.Linear(30, 64, bias=False, dtype=dtype),
        tnn.BatchNorm1d(64, dtype=dtype),
        tnn.Tanh(),
        tnn.Linear(64, 27, dtype=dtype),
    )


def classifier(dtype):
    return tnn.Sequential(
        tnn.Linear(5, 16, dtype=dtype),
        tnn.ReLU(),
        tnn.Linear(16, 8, dtype=dtype),
        tnn.BatchNorm1d(8, dtype=dtype),
        tnn.Sigmoid(),
        tnn.Linear(8, 3, dtype=dtype),
    )


def nested(dtype):
    block = OrderedDict(
        [
            ("fc", tnn.Linear(4, 6, dtype=dtype)),
            ("norm", tnn.BatchNorm1d(6, affine=False, dtype=dtype)),
        ]
    )
    return tnn.Sequential(
        OrderedDict([("body", tnn.Sequential(block)), ("act", tnn.Tanh()),
                     ("head", tnn.Linear(6, 2, bias=False, dtype=dtype))])
    )  # fmt: skip


def embed_then_linear(dtype):
    """Linear on (batch, sequence, dim): ONNX MatMul, not Gemm."""
    return tnn.Sequential(tnn.Embedding(11, 4, dtype=dtype), tnn.Linear(4, 3, dtype=dtype),
                          tnn.ReLU())  # fmt: skip


CASES = {
    "makemore": (makemore, "indices"),
    "classifier": (classifier, "floats"),
    "nested, named, affine=False": (nested, "floats"),
    "embedding then linear": (embed_then_linear, "indices"),
}


def inputs(kind: str, model, dtype, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "indices":
        vocab = next(m for m in model.modules() if isinstance(m, tnn.Embedding)).num_embeddings
        return rng.integers(0, vocab, size=(40, 3)).astype(np.int64)
    first = next(m for m in model.modules() if isinstance(m, tnn.Linear))
    return rng.uniform(-3, 3, size=(40, first.in_features)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_eval_mode_agrees_in_ours_torch_and_onnxruntime(name, dtype):
    build, kind = CASES[name]
    mt.manual_seed(0)
    model = build(getattr(mt, dtype))
    randomise_running_stats(model, 1)
    model.eval()
    X = inputs(kind, model, dtype, 2)
    expected = ours(model, X)
    module = to_torch(model)
    assert module.training is False
    assert str(next(module.parameters()).dtype) == f"torch.{dtype}"
    assert_close(torch_out(module, X), expected, dtype)
    from_onnx = onnx_out(model, X)
    assert from_onnx.dtype == np.dtype(dtype) and from_onnx.shape == expected.shape
    assert_close(from_onnx, expected, dtype)


@pytest.mark.parametrize("name", list(CASES))
def test_training_mode_agrees_with_torch_batch_statistics_included(name):
    build, kind = CASES[name]
    mt.manual_seed(3)
    model = build(mt.float64)
    randomise_running_stats(model, 4)
    module = to_torch(model)
    assert module.training is True
    X = inputs(kind, model, "float64", 5)
    assert_close(torch_out(module, X), ours(model, X), "float64")  # batch statistics
    # ... and both moved their running statistics the same way
    theirs = module.state_dict()
    for key, value in model.state_dict().items():
        assert_close(theirs[key].numpy(), value.data, "float64")


def test_to_torch_is_torch_nn_one_to_one():
    mt.manual_seed(0)
    model = nested(mt.float32)
    model.body.norm.eval()  # one module in eval mode: kept per module
    module = to_torch(model)
    assert isinstance(module, torch.nn.Sequential)
    assert [n for n, _ in module.named_children()] == ["body", "act", "head"]
    assert type(module.body.fc) is torch.nn.Linear and module.head.bias is None
    norm = module.body.norm
    assert type(norm) is torch.nn.BatchNorm1d and norm.affine is False and norm.eps == 1e-5
    assert norm.training is False and module.body.fc.training is True
    assert list(module.state_dict()) == list(model.state_dict())
    assert list(module.state_dict()) == [
        "body.fc.weight",
        "body.fc.bias",
        "body.norm.running_mean",
        "body.norm.running_var",
        "body.norm.num_batches_tracked",
        "head.weight",
    ]
    assert module.state_dict()["body.norm.num_batches_tracked"].dtype == torch.int64
    lone = to_torch(tnn.Linear(3, 2, dtype=mt.float64))  # a lone module stays a lone module
    assert type(lone) is torch.nn.Linear and list(lone.state_dict()) == ["weight", "bias"]
    flat = to_torch(tnn.Flatten(0, 1))
    assert (flat.start_dim, flat.end_dim) == (0, 1)
    emb = to_torch(tnn.Embedding(5, 2))
    assert (emb.num_embeddings, emb.embedding_dim, emb.weight.dtype) == (5, 2, torch.float32)


def test_a_module_used_twice_stays_shared():
    shared = tnn.Linear(4, 4, dtype=mt.float64)
    model = tnn.Sequential(shared, tnn.Tanh(), shared)
    module = to_torch(model)
    assert module[0] is module[2]
    back = from_torch(module)
    assert back[0] is back[2]
    X = np.random.default_rng(0).normal(size=(3, 4))
    assert_close(torch_out(module, X), ours(model, X), "float64")
    assert_close(ours(back, X), ours(model, X), "float64")


def test_state_dicts_load_across_both_ways():
    mt.manual_seed(0)
    ours_model = makemore(mt.float32)
    randomise_running_stats(ours_model, 0)
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(
        torch.nn.Embedding(27, 10),
        torch.nn.Flatten(),
        torch.nn.Linear(30, 64, bias=False),
        torch.nn.BatchNorm1d(64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 27),
    )
    # torch -> ours: our own load_state_dict takes torch's state dict as it is
    ours_model.load_state_dict(theirs.state_dict())
    ours_model.eval(), theirs.eval()
    X = np.random.default_rng(2).integers(0, 27, size=(20, 3))
    assert_close(ours(ours_model, X), torch_out(theirs, X), "float32")
    # ours -> torch: torch_state_dict gives torch tensors under the same keys
    randomise_running_stats(ours_model, 3)
    theirs.load_state_dict(torch_state_dict(ours_model))
    assert_close(ours(ours_model, X), torch_out(theirs, X), "float32")
    # load_torch_state_dict is our load_state_dict here
    other = makemore(mt.float32)
    load_torch_state_dict(other, theirs.state_dict())
    for key, value in other.state_dict().items():
        assert np.array_equal(value.data, ours_model.state_dict()[key].data)
    with pytest.raises(RuntimeError, match=r"Missing key\(s\) in state_dict: \"2.weight\""):
        load_torch_state_dict(other, {"0.weight": theirs.state_dict()["0.weight"]})


def test_from_torch_mirrors_the_torch_model():
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        OrderedDict(
            [
                ("embed", torch.nn.Embedding(27, 8)),
                ("flat", torch.nn.Flatten()),
                ("skip", torch.nn.Identity()),
                (
                    "block",
                    torch.nn.Sequential(
                        torch.nn.Linear(24, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU()
                    ),
                ),
                ("out", torch.nn.Linear(32, 27)),
            ]
        )
    ).double()
    module.train()
    module(torch.randint(0, 27, (16, 3)))  # running statistics that are not the initial ones
    module.block[1].momentum = None  # cumulative average
    module.eval()
    model = from_torch(module)
    assert isinstance(model, tnn.Sequential)
    assert [n for n, _ in model.named_children()] == ["embed", "flat", "block", "out"]
    assert list(model.state_dict()) == list(module.state_dict())
    for key, value in module.state_dict().items():
        assert np.array_equal(model.state_dict()[key].data, value.numpy()), key
    norm = model.block[1]
    assert norm.momentum is None and norm.training is False and model.training is False
    assert model.embed.weight.data.dtype == np.float64
    X = np.random.default_rng(0).integers(0, 27, size=(10, 3))
    assert_close(ours(model, X), torch_out(module, X), "float64")


def test_from_torch_leaves_the_tensor_generator_alone():
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Embedding(4, 2))
    mt.manual_seed(7)
    expected = mt.rand(3).data
    mt.manual_seed(7)
    from_torch(module)
    assert np.array_equal(mt.rand(3).data, expected)


def test_fine_tuned_in_torch_and_imported_back_equals_the_same_steps_here():
    """A torch-shaped model with BatchNorm1d trained here (3 SGD steps), exported, given 2
    torch.optim.SGD steps (momentum 0.9, MSE on a batch of 32) in torch and imported back has
    the parameters and running statistics of the same 2 steps taken here with
    micrograd.optim.SGD, within 1e-12 (float64)."""
    from micrograd.optim import SGD
    from micrograd.tensor.nn import functional as F

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 1))
    mt.manual_seed(0)
    dt = mt.float64
    model = tnn.Sequential(tnn.Linear(4, 16, dtype=dt), tnn.BatchNorm1d(16, dtype=dt),
                           tnn.Tanh(), tnn.Linear(16, 1, dtype=dt))  # fmt: skip

    def steps_here(n, **options):
        opt = SGD(model.parameters(), lr=0.1, **options)
        for _ in range(n):
            loss = F.mse_loss(model(mt.from_numpy(X)), mt.from_numpy(y))
            model.zero_grad()
            loss.backward()
            opt.step()

    steps_here(3)  # trained here first
    before = {k: v.data.copy() for k, v in model.state_dict().items()}
    module = to_torch(model)
    opt = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(module(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt.step()
    imported = from_torch(module)
    steps_here(2, momentum=0.9)  # the same steps here

    here = model.state_dict()
    theirs = imported.state_dict()
    assert list(theirs) == list(here)
    for key in here:
        assert_close(theirs[key].data, here[key].data, "float64")
    assert int(here["1.num_batches_tracked"].data) == 5
    assert max(np.abs(here[k].data - before[k]).max() for k in here) > 1e-3


# -- ONNX specifics -----------------------------------------------------------------------------


def test_onnx_graph_of_makemore():
    mt.manual_seed(0)
    model = makemore(mt.float32)
    proto = onnx_model(model)
    assert [n.op_type for n in proto.graph.node] == [
        "Gather", "Reshape", "Gemm", "BatchNormalization", "Tanh", "Gemm",
    ]  # fmt: skip
    (graph_input,) = proto.graph.input
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.INT64
    dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    assert dims == ["batch", "sequence"]
    out_dims = [
        d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim
    ]
    assert out_dims == ["batch", 27]
    names = [i.name for i in proto.graph.initializer]
    assert names == [
        "0.weight", "1.shape", "2.weight", "3.weight", "3.bias", "3.running_mean",
        "3.running_var", "5.weight", "5.bias",
    ]  # fmt: skip
    model.eval()  # dynamic batch: any number of rows
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (1, 7):
        X = np.random.default_rng(batch).integers(0, 27, size=(batch, 3))
        assert_close(session.run(None, {"input": X})[0], ours(model, X), "float32")


def test_onnx_is_the_model_in_eval_mode(tmp_path):
    mt.manual_seed(0)
    model = classifier(mt.float64)
    randomise_running_stats(model, 0)
    assert model.training
    to_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).normal(size=(6, 5))
    model.eval()
    assert_close(session.run(None, {"input": X})[0], ours(model, X), "float64")


def test_onnx_input_shape_for_a_flatten_first():
    mt.manual_seed(0)
    model = tnn.Sequential(tnn.Flatten(), tnn.Linear(12, 3, dtype=mt.float64))
    with pytest.raises(ValueError, match=r"the first layer, layer 0 \(Flatten\), does not tell"):
        onnx_model(model)
    X = np.random.default_rng(0).normal(size=(5, 3, 4))
    assert_close(onnx_out(model, X, input_shape=(3, 4)), ours(model, X), "float64")
    assert_close(onnx_out(model, X, input_shape=("rows", 4)), ours(model, X), "float64")
    with pytest.raises(ValueError, match=r"layer 1 \(Linear\) takes 12 inputs, gets 15"):
        onnx_model(model, input_shape=(3, 5))
    for bad in ((3, 0), (3, -1), (3, True), (3, "not a name")):
        with pytest.raises(ValueError, match="each size must be an int >= 1 or a name"):
            onnx_model(model, input_shape=bad)
    with pytest.raises(TypeError, match="input_shape must be a list of sizes"):
        onnx_model(model, input_shape=12)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4, track_running_stats=False)),
         ValueError, r"layer 1 \(BatchNorm1d\) has no running statistics"),
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Embedding(4, 2)),
         ValueError, r"layer 1 \(Embedding\) must be the first layer"),
        (lambda: tnn.Sequential(tnn.Embedding(4, 2), tnn.Flatten(0, 1), tnn.Linear(2, 1)),
         ValueError, r"layer 1 \(Flatten\) flattens axes 0..1 of 3; only flattening through"),
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Flatten(2)),
         ValueError, r"layer 1 \(Flatten\) \(start_dim=2, end_dim=-1\) does not fit"),
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(5)),
         ValueError, r"layer 1 \(BatchNorm1d\) takes \(batch, 5\)"),
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(5, 1)),
         ValueError, r"layer 1 \(Linear\) takes 5 inputs, gets 4"),
        (lambda: tnn.Sequential(tnn.Linear(3, 4), tnn.Linear(4, 1, dtype=mt.float64)),
         ValueError, r"mixes dtypes \(float32 in layer 0 \(Linear\), float64 in layer 1"),
        (lambda: tnn.Sequential(tnn.ReLU()), ValueError, "does not tell the input's shape"),
    ],
)  # fmt: skip
def test_onnx_refuses_what_it_cannot_write_naming_the_layer(build, error, message, tmp_path):
    with pytest.raises(error, match=message):
        to_onnx(build(), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


class Custom(tnn.Module):
    def __init__(self):
        super().__init__()
        self.fc = tnn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x) * 2


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (Custom, r"cannot export the model \(Custom\)"),
        (lambda: tnn.Sequential(tnn.Linear(2, 2), Custom()), r"cannot export layer 1 \(Custom\)"),
        (lambda: tnn.Sequential(tnn.MLP(2, [3, 1])), r"cannot export layer 0 \(MLP\)"),
    ],
)
def test_modules_with_their_own_forward_are_refused(build, message):
    model = build()
    with pytest.raises(TypeError, match=message):
        to_torch(model)
    with pytest.raises(TypeError, match=message):
        onnx_model(model)
