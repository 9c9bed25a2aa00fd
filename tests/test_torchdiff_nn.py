"""Differential tests of `micrograd.tensor.nn` against torch 2.13's `torch.nn`: `Parameter`, the
`Module` protocol (what is registered, generators, assignment errors), `state_dict` /
`load_state_dict` (live values, error messages, nan), reprs, and each layer's forward values,
gradients and train/eval behaviour on generated inputs with torch's weights copied in.

Values of layers that multiply matrices (Linear) or reduce (BatchNorm1d) are compared within a
tolerance: numpy's BLAS and torch's kernels sum in different orders, so neither result is the
correctly rounded one. Elementwise layers and lookups are compared bit for bit (or within 1 ulp
where torch's float32 libm differs: tanh, sigmoid)."""

from __future__ import annotations

import inspect
import math
from collections import OrderedDict

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
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
from micrograd.tensor import nn

COVERED = {
    "nn.Parameter",
    "nn.Module",
    "nn.Linear",
    "nn.Embedding",
    "nn.BatchNorm1d",
    "nn.Tanh",
    "nn.ReLU",
    "nn.Sigmoid",
    "nn.Flatten",
    "nn.Sequential",
}

TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-12, "atol": 1e-13}}
SETTINGS = settings(max_examples=40, deadline=None)


def assert_close(ours, theirs, dtype: str, what: str = "value") -> None:
    """Same shape and dtype, values within TOLERANCE (see the module docstring for why)."""
    torchdiff.assert_close(ours, theirs, what=what, **TOLERANCE[dtype])


def copy_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict(theirs.state_dict())


def backward_both(ours_out, theirs_out, seed: int = 0) -> None:
    """Backward through both with the same random upstream gradient."""
    upstream = np.random.default_rng(seed).standard_normal(tuple(theirs_out.shape))
    upstream = upstream.astype(as_numpy(theirs_out).dtype)
    (ours_out * mt.tensor(upstream)).sum().backward()
    (theirs_out * torch.tensor(upstream)).sum().backward()


# ---------------------------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------------------------


def test_parameter_is_a_tensor_subclass_as_in_torch():
    assert isinstance(nn.Parameter, type) and issubclass(nn.Parameter, mt.Tensor)
    data_ours, data_theirs = to_both(np.array([1.0, 2.0], np.float32))
    p, tp = nn.Parameter(data_ours), torch.nn.Parameter(data_theirs)
    assert isinstance(p, nn.Parameter) and isinstance(p, mt.Tensor)
    assert p.requires_grad is tp.requires_grad is True
    assert p.is_leaf and p.grad is None
    assert repr(p) == repr(tp) and str(p) == str(tp)
    # Parameter(t) shares t's memory
    data_ours.data[0] = 5.0
    data_theirs.data[0] = 5.0
    assert_same(p.detach(), tp.detach())
    frozen, tfrozen = nn.Parameter(data_ours, False), torch.nn.Parameter(data_theirs, False)
    assert frozen.requires_grad is tfrozen.requires_grad is False
    assert repr(frozen) == repr(tfrozen)
    # results of operations are plain tensors
    assert type(p * 2) is mt.Tensor and type(tp * 2) is torch.Tensor
    assert type(p.detach()) is mt.Tensor
    empty, tempty = nn.Parameter(), torch.nn.Parameter()
    assert_same(empty.detach(), tempty.detach())
    assert repr(empty) == repr(tempty)
    assert_same_signature(nn.Parameter, torch.nn.Parameter)


def test_parameter_of_integers_needs_requires_grad_false():
    ours, theirs = to_both(np.array([1, 2]))
    assert_same_exception(lambda: nn.Parameter(ours), lambda: torch.nn.Parameter(theirs))
    assert repr(nn.Parameter(ours, requires_grad=False)) == repr(
        torch.nn.Parameter(theirs, requires_grad=False)
    )


@SETTINGS
@given(
    # (0-d gradients are another part of the engine's tests). Integers as floats: the sums
    # of broadcast gradients are then exact in any order.
    arrays("int64", shape=shapes(min_dims=1)).map(lambda a: a.astype(np.float32)),
    arrays("int64", shape=shapes(min_dims=1)).map(lambda a: a.astype(np.float32)),
)
def test_parameter_in_arithmetic_and_gradients(a, b):
    """A Parameter takes part in every operator on either side, as a plain tensor does."""
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        return
    del shape
    (x, tx), (y, ty) = to_both(a), to_both(b)
    p, tp = nn.Parameter(x), torch.nn.Parameter(tx)
    for op in (
        lambda u, v: u + v,
        lambda u, v: u - v,
        lambda u, v: u * v,
        lambda u, v: v - u,
        lambda u, v: v * u,
    ):
        p.grad = tp.grad = None
        out, tout = op(p, y), op(tp, ty)
        assert_same(out, tout)
        out.sum().backward()
        tout.sum().backward()
        assert_same(p.grad, tp.grad)


# ---------------------------------------------------------------------------------------------
# The Module protocol
# ---------------------------------------------------------------------------------------------


def _net_class(nn_module, make_tensor, parameter):
    class Net(nn_module.Module):
        def __init__(self):
            super().__init__()
            self.scale = parameter(make_tensor([1.0, 2.0, 3.0]))
            self.plain = make_tensor([1.0, 1.0, 1.0]).requires_grad_()  # not a parameter
            self.body = nn_module.Sequential(nn_module.Linear(3, 2), nn_module.Tanh())
            self.shared = self.body  # the same module twice: listed once
            self.register_buffer("count", make_tensor([0.0]))

        def forward(self, x):
            return self.body(x * self.scale)

    return Net


def test_module_registers_only_parameters_and_lists_with_generators():
    ours = _net_class(nn, mt.tensor, nn.Parameter)()
    theirs = _net_class(torch.nn, torch.tensor, torch.nn.Parameter)()
    for method in (
        "parameters",
        "named_parameters",
        "buffers",
        "named_buffers",
        "children",
        "named_children",
        "modules",
        "named_modules",
    ):
        got, expected = getattr(ours, method)(), getattr(theirs, method)()
        assert inspect.isgenerator(got) and inspect.isgenerator(expected), method
        names = [n for n, _ in got] if method.startswith("named") else [type(m) for m in got]
        if method.startswith("named"):
            assert names == [n for n, _ in expected], method
        else:
            assert len(names) == len(list(expected)), method
    assert next(ours.parameters()) is ours.scale
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters(prefix="m", recurse=False)] == [
        n for n, _ in theirs.named_parameters(prefix="m", recurse=False)
    ]
    assert repr(ours) == repr(theirs)
    assert ours.eval().body[0].training is theirs.eval().body[0].training is False


def test_module_assignment_errors_are_torchs():
    ours = _net_class(nn, mt.tensor, nn.Parameter)()
    theirs = _net_class(torch.nn, torch.tensor, torch.nn.Parameter)()
    cases = [
        lambda m, lib: setattr(m, "scale", lib.zeros(3)),  # a tensor into a parameter's name
        lambda m, lib: setattr(m, "body", 3),
        lambda m, lib: setattr(m, "count", 3),
        lambda m, lib: m.register_parameter("q", lib.zeros(1)),
        lambda m, lib: m.register_parameter("a.b", None),
        lambda m, lib: m.register_buffer("", None),
        lambda m, lib: m.register_buffer("plain", None),  # an existing attribute
    ]
    for case in cases:
        with pytest.raises(Exception) as expected:
            case(theirs, torch)
        with pytest.raises(type(expected.value)) as got:
            case(ours, mt)
        assert str(got.value) == str(expected.value)
    # None is accepted for a parameter's name, and the parameter is gone
    ours.scale = None
    theirs.scale = None
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


# ---------------------------------------------------------------------------------------------
# state_dict and load_state_dict
# ---------------------------------------------------------------------------------------------


def test_state_dict_shows_later_steps_and_loads_as_torch():
    ours, theirs = nn.BatchNorm1d(3, dtype=mt.float64), torch.nn.BatchNorm1d(3).double()
    sd, tsd = ours.state_dict(), theirs.state_dict()
    x, tx = to_both(np.random.default_rng(0).standard_normal((5, 3)))
    ours(x)
    theirs(tx)
    for key in tsd:  # taken before the step, the values are the current ones
        assert_close(sd[key], tsd[key], "float64", key)
        assert not sd[key].requires_grad
    assert_same(sd["num_batches_tracked"], tsd["num_batches_tracked"])
    # load copies into the same memory: the earlier state dict sees the loaded values
    new = {k: v.clone() + 1 for k, v in tsd.items()}
    ours.load_state_dict(new)
    theirs.load_state_dict(new)
    for key in tsd:
        assert_same(sd[key], tsd[key], what=key)
    kept = ours.state_dict(keep_vars=True)
    assert kept["weight"] is ours.weight and isinstance(kept["weight"], nn.Parameter)


def test_load_state_dict_loads_nan_and_inf():
    ours, theirs = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    values = {
        "weight": torch.tensor([[np.nan, np.inf], [-np.inf, 0.0]]),
        "bias": torch.tensor([1.0, 2.0], dtype=torch.float64),  # cast to the parameter's
    }
    assert repr(ours.load_state_dict(values)) == repr(theirs.load_state_dict(values))
    assert_same(ours.weight.detach(), theirs.weight.detach())
    assert_same(ours.bias.detach(), theirs.bias.detach())


@pytest.mark.parametrize(
    "state",
    [
        {"weight": torch.zeros(4, 3), "foo": torch.zeros(1)},  # missing, unexpected and shape
        {"weight": torch.zeros(4, 2), "bias": torch.zeros(4), "a": 1, "c.d": 3},
        {"weight": torch.zeros(4, 2)},
        {"weight": [[1.0, 2.0]] * 4, "bias": torch.zeros(4)},  # not a tensor
        {"weight": torch.zeros(4, 2), "bias": torch.zeros(5)},
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_errors_and_result_are_torchs(state, strict):
    ours, theirs = nn.Linear(2, 4), torch.nn.Linear(2, 4)
    before = ours.weight.detach().clone()
    result = outcomes(
        lambda: ours.load_state_dict(state, strict=strict),
        lambda: theirs.load_state_dict(state, strict=strict),
    )
    if result is None:  # both raised RuntimeError: the same message
        with pytest.raises(RuntimeError) as expected:
            theirs.load_state_dict(state, strict=strict)
        with pytest.raises(RuntimeError) as got:
            ours.load_state_dict(state, strict=strict)
        assert str(got.value) == str(expected.value)
        assert isinstance(got.value, ValueError)  # what this package raised before
        assert_same(ours.weight.detach(), before)  # nothing was loaded
    else:
        got, expected = result
        assert repr(got) == repr(expected)
        assert got == expected and got.missing_keys == expected.missing_keys
    assert_same_exception(lambda: ours.load_state_dict([1]), lambda: theirs.load_state_dict([1]))


# ---------------------------------------------------------------------------------------------
# Reprs and constructor signatures
# ---------------------------------------------------------------------------------------------

numbers_for_repr = st.one_of(
    st.sampled_from([1e-5, 1e-3, 0.1, 1, 0.5, 1e-10, 2.5e-7]), st.floats(1e-8, 1.0)
)


@SETTINGS
@given(
    st.integers(1, 50),
    numbers_for_repr,
    st.one_of(st.none(), st.sampled_from([0.1, 0.0, 1, 0.3333])),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(1, 30),
    st.integers(1, 30),
    st.booleans(),
    st.integers(-3, 2),
    st.integers(-3, 2),
)
def test_reprs_are_torchs(n, eps, momentum, affine, track, bias, nin, nout, lbias, sd, ed):
    pairs = [
        (
            nn.BatchNorm1d(n, eps, momentum, affine, track, bias=bias),
            torch.nn.BatchNorm1d(n, eps, momentum, affine, track, bias=bias),
        ),
        (nn.Linear(nin, nout, lbias), torch.nn.Linear(nin, nout, lbias)),
        (nn.Embedding(nin, nout), torch.nn.Embedding(nin, nout)),
        (nn.Flatten(sd, ed), torch.nn.Flatten(sd, ed)),
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.ReLU(), torch.nn.ReLU()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Sequential(), torch.nn.Sequential()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert str(ours) == str(theirs)
        assert ours.extra_repr() == theirs.extra_repr()
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        assert list(ours.state_dict()) == list(theirs.state_dict())
    nested = (
        nn.Sequential(
            OrderedDict([("emb", pairs[2][0]), ("body", nn.Sequential(pairs[0][0], pairs[4][0]))])
        ),
        torch.nn.Sequential(
            OrderedDict(
                [("emb", pairs[2][1]), ("body", torch.nn.Sequential(pairs[0][1], pairs[4][1]))]
            )
        ),
    )
    assert repr(nested[0]) == repr(nested[1])


def test_constructor_signatures_are_torchs():
    for name in ("Linear", "BatchNorm1d", "Embedding", "Flatten", "ReLU"):
        assert_same_signature(getattr(nn, name), getattr(torch.nn, name), name)


def test_device_keyword_accepted_for_the_cpu_only():
    for device in ("cpu", None, "cpu:0"):
        nn.Linear(2, 3, device=device)
        nn.Embedding(4, 2, device=device)
        nn.BatchNorm1d(3, device=device)
    with pytest.raises(RuntimeError, match="cuda"):
        nn.Embedding(4, 2, device="cuda")


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Embedding(4, 2, padding_idx=0),
        lambda: nn.Embedding(4, 2, max_norm=1.0),
        lambda: nn.Embedding(4, 2, scale_grad_by_freq=True),
        lambda: nn.ReLU(inplace=True),
    ],
)
def test_options_not_implemented_are_refused_by_name(make):
    with pytest.raises(NotImplementedError, match="not supported"):
        make()


def test_embedding_weight_and_freeze():
    table, ttable = to_both(np.arange(6, dtype=np.float32).reshape(3, 2))
    ours = nn.Embedding(3, 2, _weight=table, _freeze=True)
    theirs = torch.nn.Embedding(3, 2, _weight=ttable, _freeze=True)
    assert_same(ours.weight.detach(), theirs.weight.detach())
    assert ours.weight.requires_grad is theirs.weight.requires_grad is False
    assert repr(ours.weight) == repr(theirs.weight)


# ---------------------------------------------------------------------------------------------
# Forward values and gradients
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["float32", "float64"]),
    st.integers(1, 5),
    st.integers(1, 5),
    st.sampled_from([(), (1,), (3,), (2, 3)]),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_linear_forward_and_gradients(dtype, nin, nout, batch, bias, seed):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(nin, nout, bias=bias, dtype=getattr(torch, dtype))
    ours = nn.Linear(nin, nout, bias=bias, dtype=getattr(mt, dtype))
    copy_weights(ours, theirs)
    data = np.random.default_rng(seed).standard_normal((*batch, nin)).astype(dtype)
    x, tx = to_both(data, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    assert_close(out, tout, dtype)
    backward_both(out, tout, seed)
    assert_close(x.grad, tx.grad, dtype, "input grad")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, tp.grad, dtype, name)


@SETTINGS
@given(
    st.sampled_from(["float32", "float64"]),
    st.integers(1, 4),
    st.sampled_from([(2,), (5,), (3, 1), (2, 4)]),
    st.one_of(st.none(), st.sampled_from([0.1, 0.5])),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_batchnorm_train_eval_values_stats_and_gradients(
    dtype, features, batch, momentum, affine, track, seed
):
    n, *length = batch
    if n * (length[0] if length else 1) < 2:
        return
    ours = nn.BatchNorm1d(
        features,
        momentum=momentum,
        affine=affine,
        track_running_stats=track,
        dtype=getattr(mt, dtype),
    )
    theirs = torch.nn.BatchNorm1d(
        features,
        momentum=momentum,
        affine=affine,
        track_running_stats=track,
        dtype=getattr(torch, dtype),
    )
    rng = np.random.default_rng(seed)
    if affine:  # weights other than the initial ones
        state = {
            "weight": torch.tensor(rng.standard_normal(features)),
            "bias": torch.tensor(rng.standard_normal(features)),
        }
        ours.load_state_dict(state, strict=False)
        theirs.load_state_dict(state, strict=False)
    for step in range(2):  # two training steps move the running statistics twice
        data = rng.standard_normal((n, features, *length)).astype(dtype) * 3 + 1
        x, tx = to_both(data, requires_grad=True)
        out, tout = ours(x), theirs(tx)
        assert_close(out, tout, dtype, f"train step {step}")
        backward_both(out, tout, seed + step)
        # the input gradient subtracts batch means of terms of size |upstream| / std, which
        # cancel to much smaller numbers: an absolute tolerance on that scale (torch computes
        # the whole backward in float64 for float32 input, we in float32)
        scale = float(np.abs(as_numpy(tx.grad)).max()) + 1.0
        epsilon = 1e-4 if dtype == "float32" else 1e-10
        torchdiff.assert_close(x.grad, tx.grad, rtol=1e-3, atol=epsilon * scale, what="input grad")
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            assert_close(p.grad, tp.grad, dtype, name)
        for (name, b), tb in zip(ours.named_buffers(), theirs.buffers()):
            if b.dtype == mt.int64:
                assert_same(b, tb, what=name)
            else:
                assert_close(b, tb, dtype, name)
    ours.eval()
    theirs.eval()
    data = rng.standard_normal((n, features, *length)).astype(dtype)
    x, tx = to_both(data)
    assert_close(ours(x), theirs(tx).detach(), dtype, "eval")


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 4), st.sampled_from([(), (3,), (2, 3)]), st.data())
def test_embedding_lookup_and_gradient(rows, dim, index_shape, data):
    theirs = torch.nn.Embedding(rows, dim)
    ours = nn.Embedding(rows, dim)
    copy_weights(ours, theirs)
    index = np.array(
        data.draw(
            st.lists(
                st.integers(0, rows - 1),
                min_size=int(np.prod(index_shape)),
                max_size=int(np.prod(index_shape)),
            )
        )
    ).reshape(index_shape)
    i, ti = to_both(index.astype(np.int64))
    out, tout = ours(i), theirs(ti)
    assert_same(out, tout)  # a lookup: exact
    backward_both(out, tout)
    # repeated rows are summed, in possibly another order than torch's
    assert_close(ours.weight.grad, theirs.weight.grad, "float32")
    bad, tbad = to_both(np.array([rows]))
    assert_same_exception(lambda: ours(bad), lambda: theirs(tbad))


@SETTINGS
@given(
    arrays("float32", shape=shapes(min_dims=1), special=True),  # 0-d: the engine's own tests
    st.sampled_from(["Tanh", "ReLU", "Sigmoid"]),
)
def test_activation_modules(a, name):
    ours, theirs = getattr(nn, name)(), getattr(torch.nn, name)()
    x, tx = to_both(a, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    # torch's float32 tanh and sigmoid are not correctly rounded (nor are numpy's): 1 ulp
    ulps = {"ReLU": 0, "Tanh": 1, "Sigmoid": 2}[name]
    assert_same(out, tout, bitwise=ulps == 0, ulps=ulps)
    if a.size and np.isfinite(a).all():
        out.sum().backward()
        tout.sum().backward()
        if name == "ReLU":
            assert_same(x.grad, tx.grad)
        else:  # 1 - tanh**2 and s * (1 - s) magnify the output's 1-ulp difference
            assert_close(x.grad, tx.grad, "float32", "input grad")


@SETTINGS
@given(arrays("float64", shape=st.sampled_from([(2, 3, 4), (1, 2, 1, 3), (2, 1)])), st.data())
def test_flatten(a, data):
    # dims in range with start before end (the errors for others are the engine's, tested
    # with Tensor.flatten)
    start = data.draw(st.integers(-a.ndim, a.ndim - 1))
    end = data.draw(st.integers(start % a.ndim - a.ndim, -1))
    x, tx = to_both(a, requires_grad=True)
    out, tout = nn.Flatten(start, end)(x), torch.nn.Flatten(start, end)(tx)
    assert_same(out, tout)
    backward_both(out, tout)
    assert_same(x.grad, tx.grad)


def test_sequential_model_trains_as_torch_for_two_steps():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Embedding(27, 4),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 16, bias=False),
        torch.nn.BatchNorm1d(16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 27),
    ).double()
    ours = nn.Sequential(
        nn.Embedding(27, 4, dtype=mt.float64),
        nn.Flatten(),
        nn.Linear(12, 16, bias=False, dtype=mt.float64),
        nn.BatchNorm1d(16, dtype=mt.float64),
        nn.Tanh(),
        nn.Linear(16, 27, dtype=mt.float64),
    )
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    for _ in range(2):
        X, Y = rng.integers(0, 27, (8, 3)), rng.integers(0, 27, 8)
        loss = nn.functional.cross_entropy(ours(mt.tensor(X)), mt.tensor(Y))
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(X)), torch.tensor(Y))
        assert math.isclose(loss.item(), tloss.item(), rel_tol=1e-12)
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        loss.backward()
        tloss.backward()
        with mt.no_grad():
            for p in ours.parameters():
                p.data += -0.1 * p.grad.data
        with torch.no_grad():
            for p in theirs.parameters():
                p += -0.1 * p.grad
    for key, value in theirs.state_dict().items():
        if value.dtype == torch.int64:
            assert_same(ours.state_dict()[key], value)
        else:
            assert_close(ours.state_dict()[key], value, "float64", key)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 3, dtype=lib.float64)),  # mixed dtypes
        lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 3, dtype=lib.int64)),
        lambda lib: lib.nn.Linear(3, 2)(lib.ones(4, 2)),
        lambda lib: lib.nn.functional.linear(lib.ones(4, 3), lib.ones(2, 3, dtype=lib.float64)),
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 3, dtype=lib.float64)),
        lambda lib: lib.nn.BatchNorm1d(3).eval()(lib.ones(4, 3, dtype=lib.float64)),
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 2)),
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)),
        lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 3, 2, 2)),
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([1.0])),
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([3])),
        lambda lib: lib.nn.Embedding(3, 2)(lib.tensor([-4])),
    ],
)
def test_layer_errors_are_torchs(call):
    assert_same_exception(lambda: call(mt), lambda: call(torch))
