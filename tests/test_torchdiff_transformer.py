"""Differential tests of the transformer's layers against torch 2.13: `F.layer_norm` /
`nn.LayerNorm`, `F.gelu` / `nn.GELU`, `F.dropout` / `nn.Dropout` and
`F.scaled_dot_product_attention` -- forward values, gradients of the input and the parameters,
dropout masks for the same seed, train/eval, reprs, state_dict keys and exception types -- and
finite-difference gradient checks in float64.

Tolerances, and why:
* layer_norm: none -- values and all three gradients bit for bit, float32 and float64 (ours
  replays PyTorch's CPU kernel; tests/test_torchdiff_layernorm_bitwise.py tries it harder).
* gelu: float32 replays torch's kernels (oneDNN's for 'none', ATen's with SLEEF's tanhf for
  'tanh'), forward and backward: bit for bit (more in test_torchdiff_math32.py). float64 (the C
  library's erf, torch's SLEEF; tanh correctly rounded here, SLEEF's in torch): values within
  GELU_UNITS * eps * |x| and gradients within GELU_UNITS * eps * max(1, |x|) * |upstream|.
* dropout: bit for bit, masks included, for the same torch.manual_seed (the kernel PyTorch uses
  on this machine; MKL's Intel-only kernel is checked against outputs of MKL's viRngBernoulli).
* scaled_dot_product_attention: where torch runs its flash kernel ours replays it bit for bit
  (tests/test_torchdiff_attention.py); elsewhere ours follows torch's math kernel. The comparisons
  here allow for the orders of summation and exp's last bits between the two: values within
  SDPA_TOL[dtype] * max |value| * (1 + the scores' largest possible size), gradients within
  SDPA_TOL[dtype] times their own scale times the same factor.
"""

from __future__ import annotations

import inspect
import math

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torchdiff import (
    as_numpy,
    assert_same,
    assert_same_exception,
    assert_same_grads,
    assert_same_signature,
    outcomes,
)

import micrograd.tensor as mt
from micrograd.tensor import nn
from micrograd.tensor.nn import _bernoulli as dropout_kernel
from micrograd.tensor.nn import _layernorm as layer_norm_kernel
from micrograd.tensor.nn import functional as F

TF = torch.nn.functional

COVERED = {
    "nn.LayerNorm",
    "F.layer_norm",
    "nn.GELU",
    "F.gelu",
    "nn.Dropout",
    "F.dropout",
    "F.scaled_dot_product_attention",
}

SETTINGS = settings(max_examples=30, deadline=None)
FLOATS = st.sampled_from(["float32", "float64"])

GELU_UNITS = 8
SDPA_TOL = {"float32": 2e-6, "float64": 1e-13}


def both(array: np.ndarray, requires_grad: bool = False):
    """The same values as our tensor and torch's, each with its own copy."""
    ours = mt.tensor(array.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def upstream_for(shape: tuple, dtype: str, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def backward_both(ours, theirs, upstream: np.ndarray) -> None:
    ours.backward(mt.tensor(upstream.copy()))
    theirs.backward(torch.tensor(upstream.copy()))


def assert_grad_close(ours, theirs, dtype: str, what: str, condition: float = 1.0) -> None:
    """A gradient, to a tolerance scaled by the gradient's size (sums in other orders) times
    `condition`, how much the computation amplifies float rounding errors."""
    assert (ours.grad is None) == (theirs.grad is None), what
    if theirs.grad is None:
        return
    expected, got = as_numpy(theirs.grad), as_numpy(ours.grad)
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    scale = max(1.0, float(np.abs(expected).max(initial=0))) * condition
    rtol, atol = (2e-4, 2e-5 * scale) if dtype == "float32" else (1e-9, 1e-10 * scale)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def finite_difference_check(fn, inputs: list[np.ndarray], seed: int = 0) -> None:
    """Central differences in float64 of sum(fn(*inputs) * w) against backward's gradients."""
    tensors = [mt.tensor(a.copy(), requires_grad=True) for a in inputs]
    out = fn(*tensors)
    w = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    (out * mt.tensor(w)).sum().backward()
    h = 1e-6
    for k, a in enumerate(inputs):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus, minus = [x.copy() for x in inputs], [x.copy() for x in inputs]
            plus[k][idx] += h
            minus[k][idx] -= h
            f_plus = float((fn(*map(mt.tensor, plus)).numpy() * w).sum())
            f_minus = float((fn(*map(mt.tensor, minus)).numpy() * w).sum())
            numeric[idx] = (f_plus - f_minus) / (2 * h)
        np.testing.assert_allclose(
            tensors[k].grad.numpy(), numeric, rtol=1e-5, atol=1e-6, err_msg=f"input {k}"
        )


# ---------------------------------------------------------------------------------------------
# layer_norm / LayerNorm
# ---------------------------------------------------------------------------------------------


@st.composite
def layer_norm_cases(draw):
    """(x, normalized_shape, weight or None, bias or None, eps, dtype)."""
    dtype = draw(FLOATS)
    norm_ndim = draw(st.integers(1, 2))
    norm_shape = tuple(draw(st.lists(st.integers(1, 40), min_size=norm_ndim, max_size=norm_ndim)))
    lead = tuple(draw(st.lists(st.integers(1, 5), min_size=0, max_size=2)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    offset = draw(st.sampled_from([0.0, 1.0, -50.0, 1e3]))
    spread = draw(st.sampled_from([1e-2, 1.0, 30.0]))
    x = (rng.standard_normal(lead + norm_shape) * spread + offset).astype(dtype)
    weight = rng.standard_normal(norm_shape).astype(dtype) if draw(st.booleans()) else None
    bias = rng.standard_normal(norm_shape).astype(dtype) if draw(st.booleans()) else None
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    return x, norm_shape, weight, bias, eps, dtype


@pytest.fixture(autouse=True, scope="module")
def layer_norm_threads_as_torchs():
    """layer_norm's weight and bias gradients are summed per thread: the replay follows torch's
    thread count."""
    saved = layer_norm_kernel.kernel_threads
    layer_norm_kernel.kernel_threads = torch.get_num_threads()
    yield
    layer_norm_kernel.kernel_threads = saved


@SETTINGS
@given(layer_norm_cases())
def test_layer_norm_values_and_gradients_match_torch(case):
    x, shape, weight, bias, eps, dtype = case
    xs = both(x, requires_grad=True)
    ws = both(weight, requires_grad=True) if weight is not None else (None, None)
    bs = both(bias, requires_grad=True) if bias is not None else (None, None)
    ours = F.layer_norm(xs[0], shape, ws[0], bs[0], eps)
    theirs = TF.layer_norm(xs[1], shape, ws[1], bs[1], eps)
    assert_same(ours, theirs, what="layer_norm")
    assert type(theirs.grad_fn).__name__ in repr(ours)  # NativeLayerNormBackward0
    backward_both(ours, theirs, upstream_for(x.shape, dtype))
    leaves = [pair for pair in (xs, ws, bs) if pair[0] is not None]
    assert_same_grads([o for o, _ in leaves], [t for _, t in leaves], what="x, weight, bias grad")


@SETTINGS
@given(layer_norm_cases(), st.booleans(), st.booleans())
def test_layer_norm_module_matches_torch(case, affine, with_bias):
    x, shape, _, _, eps, dtype = case
    torch_dtype = getattr(torch, dtype)
    ours_m = nn.LayerNorm(list(shape), eps, affine, with_bias, dtype=getattr(mt, dtype))
    theirs_m = torch.nn.LayerNorm(list(shape), eps, affine, with_bias, dtype=torch_dtype)
    assert repr(ours_m) == repr(theirs_m)
    assert list(ours_m.state_dict()) == list(theirs_m.state_dict())
    assert ours_m.normalized_shape == theirs_m.normalized_shape
    rng = np.random.default_rng(1)
    with torch.no_grad():  # parameters away from ones and zeros, the same on both sides
        for p in theirs_m.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(dtype)))
    ours_m.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs_m.state_dict().items()})
    xs = both(x, requires_grad=True)
    ours, theirs = ours_m(xs[0]), theirs_m(xs[1])
    assert_same(ours, theirs, what="LayerNorm")
    backward_both(ours, theirs, upstream_for(x.shape, dtype, 3))
    assert_same_grads([xs[0], *ours_m.parameters()], [xs[1], *theirs_m.parameters()])


def test_layer_norm_module_defaults_repr_and_signature():
    assert repr(nn.LayerNorm(32)) == repr(torch.nn.LayerNorm(32))
    assert repr(nn.LayerNorm((2, 3), eps=1)) == repr(torch.nn.LayerNorm((2, 3), eps=1))
    assert repr(nn.LayerNorm(3, bias=False)) == repr(torch.nn.LayerNorm(3, bias=False))
    ours, theirs = nn.LayerNorm(5), torch.nn.LayerNorm(5)
    assert_same(ours.weight, theirs.weight.detach())
    assert_same(ours.bias, theirs.bias.detach())
    assert isinstance(ours.weight, nn.Parameter)
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []
    ours_sig = inspect.signature(nn.LayerNorm.__init__).parameters
    theirs_sig = inspect.signature(torch.nn.LayerNorm.__init__).parameters
    assert [(p.name, p.default) for p in ours_sig.values()] == [
        (p.name, p.default) for p in theirs_sig.values()
    ]


BAD_LAYER_NORM_CALLS = [
    ((4, 16), (32,), None, None),
    ((4, 16), (5, 16), None, None),
    ((4, 16), (), None, None),
    ((4, 16), 16, None, None),  # F.layer_norm wants a tuple of ints
    ((4, 16), (16.0,), None, None),
    ((4, 16), (16,), (8,), None),
    ((4, 16), (16,), None, (8,)),
    ((4, 16), (16,), (1, 16), None),
    ((), (1,), None, None),
]


@pytest.mark.parametrize(("x_shape", "shape", "w_shape", "b_shape"), BAD_LAYER_NORM_CALLS)
def test_layer_norm_errors_match_torch(x_shape, shape, w_shape, b_shape):
    x = np.ones(x_shape, np.float32)

    def call(lib, functional):
        w = None if w_shape is None else lib.ones(w_shape)
        b = None if b_shape is None else lib.ones(b_shape)
        return functional.layer_norm(lib.tensor(x), shape, w, b)

    assert_same_exception(lambda: call(mt, F), lambda: call(torch, TF))


def test_layer_norm_dtype_errors_match_torch():
    for x_dtype, w_dtype in [("int64", None), ("float32", "float64"), ("float64", "float32")]:

        def call(lib, functional, x_dtype=x_dtype, w_dtype=w_dtype):
            x = lib.ones((2, 3), dtype=getattr(lib, x_dtype))
            w = None if w_dtype is None else lib.ones(3, dtype=getattr(lib, w_dtype))
            return functional.layer_norm(x, (3,), w)

        assert_same_exception(lambda: call(mt, F), lambda: call(torch, TF))


def test_layer_norm_module_errors_and_edge_shapes_match_torch():
    for arg in [-3, 3.0, "3"]:
        assert_same_exception(
            lambda arg=arg: nn.LayerNorm(arg), lambda arg=arg: torch.nn.LayerNorm(arg)
        )
    for x_shape, shape in [((0, 16), (16,)), ((3, 0), (0,))]:
        result = outcomes(
            lambda x_shape=x_shape, shape=shape: F.layer_norm(mt.ones(x_shape), shape),
            lambda x_shape=x_shape, shape=shape: TF.layer_norm(torch.ones(x_shape), shape),
        )
        assert_same(*result)
    # constant rows: variance 0, the result is 0 (x - mean is exactly 0), as in torch
    assert_same(F.layer_norm(mt.ones(2, 3), (3,)), TF.layer_norm(torch.ones(2, 3), (3,)))


def test_layer_norm_without_grad_builds_no_graph():
    with mt.no_grad():
        out = nn.LayerNorm(4)(mt.randn(2, 4, requires_grad=True))
    assert not out.requires_grad


def test_layer_norm_gradients_match_finite_differences_in_float64():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 5))
    w, b = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    finite_difference_check(lambda x, w, b: F.layer_norm(x, (2, 5), w, b, 1e-3), [x, w, b])
    finite_difference_check(lambda x: F.layer_norm(x, (5,)), [x])


# ---------------------------------------------------------------------------------------------
# gelu / GELU
# ---------------------------------------------------------------------------------------------


def assert_within_units(got, expected, scale, dtype: str, what: str, approximate="") -> None:
    if dtype == "float32" and approximate:  # torch's kernels (oneDNN's, ATen's), replayed
        assert_same(got, expected, what=what)
        return
    got, expected = as_numpy(got).astype(np.float64), as_numpy(expected).astype(np.float64)
    unit = 2.0**-24 if dtype == "float32" else 2.0**-53
    assert np.array_equal(np.isnan(got), np.isnan(expected)), f"{what}: nan at other places"
    infinite = np.isinf(expected)
    assert np.array_equal(got[infinite], expected[infinite]), f"{what}: infinities differ"
    finite = np.isfinite(expected)
    error = np.abs(got - expected)[finite]
    allowed = GELU_UNITS * unit * scale[finite]
    assert (error <= allowed).all(), f"{what}: {error.max()} from torch's (allowed {allowed})"


@SETTINGS
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 200),
    FLOATS,
    st.sampled_from([1e-3, 1.0, 4.0, 30.0]),
    st.sampled_from(["none", "tanh"]),
)
def test_gelu_values_and_gradients_match_torch(seed, n, dtype, spread, approximate):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * spread).astype(dtype)
    xs = both(x, requires_grad=True)
    ours = F.gelu(xs[0], approximate=approximate)
    theirs = TF.gelu(xs[1], approximate=approximate)
    assert_same(ours, theirs, check_values=False)
    assert type(theirs.grad_fn).__name__ in repr(ours)  # GeluBackward0
    magnitude = np.abs(x.astype(np.float64))
    assert_within_units(ours, theirs, magnitude, dtype, "gelu", approximate)
    upstream = upstream_for(x.shape, dtype, seed % 7)
    backward_both(ours, theirs, upstream)
    scale = np.maximum(1.0, magnitude) * np.abs(upstream.astype(np.float64))
    assert_within_units(xs[0].grad, xs[1].grad, scale, dtype, "gelu grad", approximate)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_special_values_match_torch(approximate, dtype):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 5.0, -5.0, 12.0, -12.0])
    ours, theirs = both(x.astype(dtype))
    got = F.gelu(ours, approximate=approximate)
    expected = TF.gelu(theirs, approximate=approximate)
    assert_same(got, expected, check_values=False)
    magnitude = np.nan_to_num(np.abs(x), posinf=0.0)
    assert_within_units(got, expected, magnitude, dtype, "gelu", approximate)


@pytest.mark.parametrize("shape", [(), (1,), (2, 3, 4)])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_keeps_any_shape_as_torch(shape, approximate, dtype):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    ours, theirs = both(x, requires_grad=True)
    got = F.gelu(ours, approximate=approximate)
    expected = TF.gelu(theirs, approximate=approximate)
    assert_within_units(got, expected, np.abs(x.astype(np.float64)), dtype, "gelu", approximate)
    got.sum().backward()
    expected.sum().backward()
    scale = np.maximum(1.0, np.abs(x.astype(np.float64)))
    assert_within_units(ours.grad, theirs.grad, scale, dtype, "gelu grad", approximate)


def test_gelu_module_repr_and_errors_match_torch():
    for args in [(), ("tanh",), ("none",)]:
        assert repr(nn.GELU(*args)) == repr(torch.nn.GELU(*args))
    assert repr(nn.GELU(approximate="bad")) == repr(torch.nn.GELU(approximate="bad"))
    assert list(nn.GELU().state_dict()) == []
    x = np.linspace(-3, 3, 7).astype(np.float32)
    for call in [
        lambda lib, functional: functional.gelu(lib.tensor(x), approximate="bad"),
        lambda lib, functional: functional.gelu(lib.tensor(x), approximate=None),
        lambda lib, functional: functional.gelu(lib.tensor(x), "tanh"),  # keyword-only
        lambda lib, functional: functional.gelu(lib.tensor([1, 2])),
        lambda lib, functional: (lib.nn.GELU("bad"))(lib.tensor(x)),
    ]:
        assert_same_exception(lambda call=call: call(mt, F), lambda call=call: call(torch, TF))
    ours, theirs = nn.GELU("tanh"), torch.nn.GELU("tanh")
    a, b = both(x)
    assert_within_units(ours(a), theirs(b), np.abs(x), "float32", "module")


def test_gelu_gradients_match_finite_differences_in_float64():
    x = np.random.default_rng(3).standard_normal(12) * 2
    finite_difference_check(lambda x: F.gelu(x), [x])
    finite_difference_check(lambda x: F.gelu(x, approximate="tanh"), [x])


# ---------------------------------------------------------------------------------------------
# dropout / Dropout
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.integers(0, 2**63 - 1),
    st.lists(st.integers(1, 40), min_size=1, max_size=3),
    st.sampled_from([0.1, 0.2, 0.5, 0.9, 0.999, 1 / 3, 0.0, 1.0]),
    FLOATS,
)
def test_dropout_masks_values_and_gradients_match_torch_for_the_same_seed(seed, shape, p, dtype):
    x = np.random.default_rng(seed % 1000).standard_normal(shape).astype(dtype)
    xs = both(x, requires_grad=True)
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    outs = []
    for _ in range(2):  # two calls: the generator moves on the same way
        outs.append((F.dropout(xs[0], p), TF.dropout(xs[1], p)))
    for ours, theirs in outs:
        assert_same(ours, theirs)
        if 0 < p < 1:
            assert type(theirs.grad_fn).__name__ in repr(ours)  # MulBackward0
    assert_same(mt.rand(5), torch.rand(5))  # the same generator state afterwards
    ours_total = outs[0][0].sum() + outs[1][0].sum() * 2
    theirs_total = outs[0][1].sum() + outs[1][1].sum() * 2
    ours_total.backward()
    theirs_total.backward()
    assert_same(xs[0].grad, xs[1].grad)


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.booleans())
def test_dropout_module_train_and_eval_match_torch(seed, p, inplace):
    ours_m, theirs_m = nn.Dropout(p, inplace), torch.nn.Dropout(p, inplace)
    assert repr(ours_m) == repr(theirs_m)
    assert list(ours_m.state_dict()) == list(theirs_m.state_dict()) == []
    x = np.random.default_rng(seed).standard_normal((4, 9)).astype(np.float32)
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    ours_in, theirs_in = both(x)
    assert_same(ours_m(ours_in), theirs_m(theirs_in))
    assert_same(ours_in, theirs_in)  # inplace=True changed both inputs alike
    ours_m.eval()
    theirs_m.eval()
    ours_in, theirs_in = both(x)
    ours_out = ours_m(ours_in)
    assert ours_out is ours_in  # eval: the input itself, as torch returns it
    assert theirs_m(theirs_in) is theirs_in
    ours_m.train()
    theirs_m.train()
    assert_same(ours_m(mt.tensor(x)), theirs_m(torch.tensor(x)))
    assert_same(mt.rand(3), torch.rand(3))


def test_dropout_edge_cases_match_torch():
    x = np.array([np.nan, 1.0, -2.0, np.inf], np.float32)
    ours, theirs = both(x, requires_grad=True)
    assert F.dropout(ours, 0.0) is ours and TF.dropout(theirs, 0.0) is theirs
    assert F.dropout(ours, 0.7, training=False) is ours
    assert_same(F.dropout(ours, 1.0), TF.dropout(theirs, 1.0))  # nan * 0 stays nan
    assert_same(F.dropout(mt.zeros(0, 3), 0.5), TF.dropout(torch.zeros(0, 3), 0.5))
    assert_same(F.dropout(mt.arange(4), 1.0), TF.dropout(torch.arange(4), 1.0))
    assert_same(F.dropout(mt.arange(4), 0.5, False), TF.dropout(torch.arange(4), 0.5, False))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, functional: functional.dropout(lib.ones(3), 1.5),
        lambda lib, functional: functional.dropout(lib.ones(3), -0.1),
        lambda lib, functional: functional.dropout(lib.ones(3), float("nan")),
        lambda lib, functional: functional.dropout(lib.ones(3), "a"),
        lambda lib, functional: functional.dropout(lib.arange(3), 0.5),
        lambda lib, functional: functional.dropout(lib.ones(3).bool(), 0.5),
        lambda lib, functional: functional.dropout(
            lib.ones(3, requires_grad=True), 0.5, True, True
        ),
        lambda lib, functional: lib.nn.Dropout(2),
        lambda lib, functional: lib.nn.Dropout(-1),
    ],
)
def test_dropout_errors_match_torch(call):
    assert_same_exception(lambda: call(mt, F), lambda: call(torch, TF))


def test_dropout_signatures_match_torch():
    ours = inspect.signature(F.dropout).parameters
    theirs = inspect.signature(TF.dropout).parameters
    assert [(p.name, p.default) for p in ours.values()] == [
        (p.name, p.default) for p in theirs.values()
    ]
    ours = inspect.signature(nn.Dropout.__init__).parameters
    theirs = inspect.signature(torch.nn.Dropout.__init__).parameters
    assert [(p.name, p.default) for p in ours.values()] == [
        (p.name, p.default) for p in theirs.values()
    ]


# Outputs of MKL's own viRngBernoulli(VSL_RNG_METHOD_BERNOULLI_ICDF) on a VSL_BRNG_MCG31 stream
# (libmkl_rt 2026.2, called through ctypes): (seed, p, the first 96 values as 96 bits in hex). They pin the kernel
# PyTorch runs on Intel CPUs, which this (AMD) test machine's PyTorch does not use.
MKL_BERNOULLI = [
    (1, 0.5, "b86b07c7c5e27ec4faab2f0b"),
    (3133846279, 0.9, "ffeffdfffdffffffffffffff"),
    (94927150, 0.2997118905373848, "bcc110455a01e2c022004812"),
    (4294967295, 0.1, "800000800000088008082000"),
    (89, 0.010369256609291423, "800000000000000000010000"),
    (2147483647, 0.75, "feeb27dfc5effeddfbef7f7b"),
]


@pytest.mark.parametrize(("seed", "p", "expected"), MKL_BERNOULLI)
def test_mkl_kernel_replays_mkl_bernoulli(seed, p, expected):
    got = dropout_kernel._mcg31_bernoulli(seed, 96, p)
    assert f"{int(''.join('1' if b else '0' for b in got), 2):024x}" == expected


def test_mkl_kernel_takes_one_32_bit_draw_as_its_seed(monkeypatch):
    monkeypatch.setattr(dropout_kernel, "torch_kernel", lambda: "mkl")
    gen = mt.Generator().manual_seed(1234)
    twin = torch.Generator().manual_seed(1234)
    mask = dropout_kernel.bernoulli_mask((3, 40), 0.6, gen)
    # torch's first random() after manual_seed(1234): the first output of the same mt19937
    # (numpy's legacy seeding is init_genrand); torch.randint(0, 2**27) is random() % 2**27
    seed = int(np.random.RandomState(1234).randint(0, 2**32, dtype=np.uint64))
    low_bits = torch.randint(0, 2**27, (1,), generator=torch.Generator().manual_seed(1234))
    assert seed % 2**27 == int(low_bits)
    expected = dropout_kernel._mcg31_bernoulli(seed, 120, 0.6).reshape(3, 40)
    assert np.array_equal(mask, expected)
    # one draw consumed, as torch's generator->random(): both continue alike
    torch.randint(0, 2**27, (1,), generator=twin)  # one random() on torch's side
    assert_same(mt.rand(4, generator=gen), torch.rand(4, generator=twin))


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------

SDPA = F.scaled_dot_product_attention
TORCH_SDPA = TF.scaled_dot_product_attention


@st.composite
def attention_cases(draw):
    """(q, k, v, mask kind, mask array or None, scale, dtype)."""
    dtype = draw(FLOATS)
    batch = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    length, keys = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    width, value_width = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread = draw(st.sampled_from([0.1, 1.0, 3.0]))

    def normal(shape):
        return (rng.standard_normal(shape) * spread).astype(dtype)

    q, k = normal(batch + (length, width)), normal(batch + (keys, width))
    v = normal(batch + (keys, value_width))
    kind = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    mask = None
    if kind == "bool":
        mask = rng.random((length, keys)) < draw(st.sampled_from([0.3, 0.8, 1.0]))
    elif kind == "float":
        mask = normal(batch[-1:] + (length, keys))
        mask[rng.random(mask.shape) < 0.2] = -np.inf
    scale = draw(st.sampled_from([None, 0.5, 2.0, -0.7]))
    return q, k, v, kind, mask, scale, dtype


def run_attention(case, requires_grad: bool, mask_grad: bool = False):
    q, k, v, kind, mask, scale, _ = case
    ours_in = [mt.tensor(a.copy(), requires_grad=requires_grad) for a in (q, k, v)]
    theirs_in = [torch.tensor(a.copy(), requires_grad=requires_grad) for a in (q, k, v)]
    kwargs: dict = {"scale": scale, "is_causal": kind == "causal"}
    ours_mask = theirs_mask = None
    if mask is not None:
        grad = mask_grad and mask.dtype != np.bool_
        ours_mask = mt.tensor(mask.copy(), requires_grad=grad)
        theirs_mask = torch.tensor(mask.copy(), requires_grad=grad)
    ours = SDPA(*ours_in, attn_mask=ours_mask, **kwargs)
    if kwargs["is_causal"] and scale is not None and scale < 0 and q.ndim == 4:
        # torch's flash kernel multiplies its causal -inf by the scale: NaN everywhere (its
        # math kernel, and a lower-triangular mask, give the attention: what we compare with)
        kwargs["is_causal"] = False
        theirs_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    theirs = TORCH_SDPA(*theirs_in, attn_mask=theirs_mask, **kwargs)
    return ours, theirs, ours_in + [ours_mask], theirs_in + [theirs_mask]


def attention_condition(case) -> float:
    """How much attention amplifies rounding errors: the scores' largest possible size (an
    error of one rounding in a score moves the softmax by that relative amount)."""
    q, k, _, _, _, scale, _ = case
    width = q.shape[-1]
    factor = abs(scale) if scale is not None else 1 / math.sqrt(width)
    largest = float(np.abs(q).max(initial=0)) * float(np.abs(k).max(initial=0)) * width
    return 1.0 + factor * largest


def assert_attention_close(
    ours, theirs, scale_of: np.ndarray, dtype: str, what: str, condition: float = 1.0
) -> None:
    assert_same(ours, theirs, check_values=False)
    got, expected = as_numpy(ours), as_numpy(theirs)
    size = max(1.0, float(np.abs(scale_of).max(initial=0))) * condition
    np.testing.assert_allclose(got, expected, rtol=0, atol=SDPA_TOL[dtype] * size, err_msg=what)


@SETTINGS
@given(attention_cases())
# a causal call with a negative scale on 4-D inputs (torch's flash kernel gives NaN there)
@example(
    (
        np.array([[[[0.01257302]]]], np.float32),
        np.array([[[[-0.01321049], [0.06404226]]]], np.float32),
        np.array([[[[0.01049001], [-0.05356694]]]], np.float32),
        "causal",
        None,
        -0.7,
        "float32",
    )
)
def test_sdpa_values_and_gradients_match_torch(case):
    v, dtype = case[2], case[6]
    ours, theirs, ours_in, theirs_in = run_attention(case, requires_grad=True, mask_grad=True)
    condition = attention_condition(case)
    assert_attention_close(ours, theirs, v, dtype, "attention", condition)
    upstream = upstream_for(tuple(theirs.shape), dtype)
    backward_both(ours, theirs, upstream)
    for name, a, b in zip(["query", "key", "value", "attn_mask"], ours_in, theirs_in):
        if b is None or not b.requires_grad:
            continue
        expected = as_numpy(b.grad)
        assert_attention_close(a.grad, b.grad, expected, dtype, f"{name} grad", condition)


@SETTINGS
@given(attention_cases())
# a causal call with a negative scale on 4-D inputs (torch's flash kernel gives NaN there)
@example(
    (
        np.array([[[[0.01257302]]]], np.float32),
        np.array([[[[-0.01321049], [0.06404226]]]], np.float32),
        np.array([[[[0.01049001], [-0.05356694]]]], np.float32),
        "causal",
        None,
        -0.7,
        "float32",
    )
)
def test_sdpa_without_gradients_matches_torchs_flash_kernel(case):
    ours, theirs, _, _ = run_attention(case, requires_grad=False)
    assert not ours.requires_grad
    assert_attention_close(ours, theirs, case[2], case[6], "attention", attention_condition(case))


@SETTINGS
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.1, 0.5, 0.9, 1.0]),
    st.integers(1, 9),
    st.booleans(),
)
def test_sdpa_dropout_drops_the_same_weights_as_torch(seed, p, keys, causal):
    # value = identity: the output is the attention weights after dropout
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((2, 3, keys, 4)).astype(np.float32)
    k = rng.standard_normal((2, 3, keys, 4)).astype(np.float32)
    eye = np.broadcast_to(np.eye(keys, dtype=np.float32), (2, 3, keys, keys)).copy()
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    ours = SDPA(*both(q, True)[:1], mt.tensor(k), mt.tensor(eye), dropout_p=p, is_causal=causal)
    theirs = TORCH_SDPA(
        torch.tensor(q, requires_grad=True),
        torch.tensor(k),
        torch.tensor(eye),
        dropout_p=p,
        is_causal=causal,
    )
    got, expected = as_numpy(ours), as_numpy(theirs)
    assert np.array_equal(got == 0, expected == 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert_same(mt.rand(3), torch.rand(3))  # the generator moved on alike


def test_sdpa_grouped_query_attention_matches_torch():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in [(2, 6, 5, 4), (2, 2, 7, 4), (2, 2, 7, 3)]]
    ours_in = [mt.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = SDPA(*ours_in, enable_gqa=True)
    theirs = TORCH_SDPA(*theirs_in, enable_gqa=True)
    assert_attention_close(ours, theirs, arrays[2], "float64", "gqa")
    backward_both(ours, theirs, upstream_for((2, 6, 5, 3), "float64"))
    for a, b in zip(ours_in, theirs_in):
        assert_attention_close(a.grad, b.grad, as_numpy(b.grad), "float64", "gqa grad")


def test_sdpa_broadcast_batches_and_fully_masked_rows_match_torch():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    k = rng.standard_normal((1, 3, 6, 4)).astype(np.float32)
    v = rng.standard_normal((2, 1, 6, 7)).astype(np.float32)
    mask = np.ones((5, 6), bool)
    mask[2] = False  # a query that sees no key: 0, as torch's safe softmax gives
    ours = SDPA(*both(q, True)[:1], mt.tensor(k), mt.tensor(v), attn_mask=mt.tensor(mask))
    theirs = TORCH_SDPA(
        torch.tensor(q, requires_grad=True),
        torch.tensor(k),
        torch.tensor(v),
        attn_mask=torch.tensor(mask),
    )
    assert_attention_close(ours, theirs, v, "float32", "broadcast")
    assert not as_numpy(ours)[:, :, 2].any()
    for shape in [(2, 3, 0, 4), (2, 3, 5, 4)]:
        keys = 0 if shape[2] else 6
        args = [np.zeros(shape, np.float32), np.zeros((2, 3, keys, 4), np.float32)]
        args.append(np.zeros((2, 3, keys, 7), np.float32))
        result = outcomes(
            lambda args=args: SDPA(*map(mt.tensor, args)),
            lambda args=args: TORCH_SDPA(*map(torch.tensor, args)),
        )
        assert_same(*result)


BAD_ATTENTION_CALLS = [
    ((2, 3, 5, 4), (2, 3, 6, 5), (2, 3, 6, 7), {}),  # key width differs from query's
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 5, 7), {}),  # value length differs from key's
    ((2, 3, 5, 4), (3, 3, 6, 4), (3, 3, 6, 7), {}),  # batches that do not broadcast
    ((4,), (4,), (4,), {}),  # 1-D
    ((2, 3, 5, 4), (2, 2, 6, 4), (2, 2, 6, 7), {"enable_gqa": True}),  # 3 heads, 2 kv heads
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"dropout_p": 2.0}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"mask": ((5, 6), "bool"), "is_causal": True}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"mask": ((4, 6), "bool")}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"mask": ((5, 6), "int64")}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"mask": ((5, 6), "float64")}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"mask": ((7, 2, 3, 5, 6), "float32")}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"key_dtype": "float64"}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), {"key_dtype": "int64", "dtype": "int64"}),
]


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape", "options"), BAD_ATTENTION_CALLS)
def test_sdpa_errors_match_torch(q_shape, k_shape, v_shape, options):
    options = dict(options)
    dtype = options.pop("dtype", "float32")
    key_dtype = options.pop("key_dtype", dtype)
    mask_spec = options.pop("mask", None)

    def call(lib, functional):
        q = lib.ones(q_shape, dtype=getattr(lib, dtype))
        k = lib.ones(k_shape, dtype=getattr(lib, key_dtype))
        v = lib.ones(v_shape, dtype=getattr(lib, dtype))
        mask = None
        if mask_spec is not None:
            mask = lib.ones(mask_spec[0], dtype=getattr(lib, mask_spec[1]))
        return functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **options)

    assert_same_exception(lambda: call(mt, F), lambda: call(torch, TF))


def test_sdpa_signature_matches_torch():
    # torch's builtin has no inspectable signature: its docstring's two-line signature is read
    assert_same_signature(SDPA, TORCH_SDPA)


def test_sdpa_gradients_match_finite_differences_in_float64():
    rng = np.random.default_rng(11)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)])
    mask = rng.standard_normal((3, 5))
    finite_difference_check(
        lambda q, k, v, m: SDPA(q, k, v, attn_mask=m, scale=0.7), [q, k, v, mask]
    )
    q, k, v = (rng.standard_normal(s) for s in [(1, 2, 4, 3), (1, 2, 4, 3), (1, 2, 4, 2)])
    finite_difference_check(lambda q, k, v: SDPA(q, k, v, is_causal=True), [q, k, v])


# ---------------------------------------------------------------------------------------------
# The layers together, as a GPT block uses them
# ---------------------------------------------------------------------------------------------


def make_block(lib, width: int, heads: int, dropout: float):
    """A pre-norm transformer block written with `lib`'s nn (torch's or ours): causal
    self-attention through scaled_dot_product_attention, then a GELU MLP, each residual."""
    nn_ = lib.nn
    functional = nn_.functional

    class Block(nn_.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn_.LayerNorm(width)
            self.c_attn = nn_.Linear(width, 3 * width)
            self.c_proj = nn_.Linear(width, width)
            self.ln_2 = nn_.LayerNorm(width)
            self.c_fc = nn_.Linear(width, 4 * width)
            self.gelu = nn_.GELU()
            self.mlp_proj = nn_.Linear(4 * width, width)
            self.drop = nn_.Dropout(dropout)

        def attention(self, x):
            batch, steps, _ = x.shape
            qkv = self.c_attn(x)
            q, k, v = qkv[..., :width], qkv[..., width : 2 * width], qkv[..., 2 * width :]
            q, k, v = (
                t.view(batch, steps, heads, width // heads).transpose(1, 2) for t in (q, k, v)
            )
            p = dropout if self.training else 0.0
            y = functional.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(batch, steps, width)
            return self.drop(self.c_proj(y))

        def forward(self, x):
            x = x + self.attention(self.ln_1(x))
            return x + self.drop(self.mlp_proj(self.gelu(self.c_fc(self.ln_2(x)))))

    return Block()


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_a_gpt_block_matches_torch(dropout):
    torch.manual_seed(0)
    theirs = make_block(torch, 16, 4, dropout)
    ours = make_block(mt, 16, 4, dropout)
    ours.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 8, 16)).astype(np.float32)
    mt.manual_seed(42)
    torch.manual_seed(42)
    ours_out, theirs_out = ours(mt.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(as_numpy(ours_out), as_numpy(theirs_out), rtol=1e-4, atol=1e-5)
    (ours_out**2).mean().backward()
    (theirs_out**2).mean().backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(
            as_numpy(p.grad), as_numpy(q.grad), rtol=1e-3, atol=1e-5, err_msg=name
        )
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(
        as_numpy(ours(mt.tensor(x))), as_numpy(theirs(torch.tensor(x))), rtol=1e-4, atol=1e-5
    )
