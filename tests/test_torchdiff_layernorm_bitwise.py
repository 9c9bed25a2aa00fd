"""layer_norm against torch 2.13, bit for bit: values and the input, weight and bias gradients.

The course's transformer scripts print their losses with every digit, and every block normalises
its activations twice, so layer_norm must give PyTorch's floats, not floats within an ulp of
them. Generated cases: rows x normalised sizes from 1 to a few hundred (shorter than an 8-float
vector, whole vectors, partial last vectors, one to several 16-vector chunks of the Welford
cascade), values with large offsets next to their spread, weight and bias each present or
absent, several eps, float32 and float64, one to three torch threads (the weight and bias
gradients are summed per thread). The compiled kernel (`_clayernorm`, both its FMA and its
generic build) and the numpy replay (`_layernorm`) are compared with each other on the same
cases, and the compiled one must be the one that runs when it is built."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import example, given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd.tensor import nn
from micrograd.tensor.nn import _layernorm
from micrograd.tensor.nn import functional as F

COVERED = {"F.layer_norm", "nn.LayerNorm"}

# PyTorch's layer_norm kernels work on 256-bit vectors (8 floats) on AVX2 and AVX-512 machines
pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"),
    reason="the replay follows PyTorch's 256-bit vector kernels (AVX2 and AVX-512 machines)",
)

SETTINGS = settings(max_examples=60, deadline=None)
# the widths the course's models use, and the edges of vectors (8) and Welford chunks (128)
WIDTHS = st.one_of(
    st.integers(1, 300),
    st.sampled_from([8, 16, 32, 64, 127, 128, 129, 256, 257, 384, 385, 513]),
)


@pytest.fixture(autouse=True, scope="module")
def threads_as_torchs():
    """The weight and bias gradients are summed per thread: the replay follows torch's count."""
    saved = _layernorm.kernel_threads
    _layernorm.kernel_threads = torch.get_num_threads()
    yield
    _layernorm.kernel_threads = saved


def bits(a) -> np.ndarray:
    """The values' bit patterns (nan compared as nan further down)."""
    if isinstance(a, (torch.Tensor, mt.Tensor)):
        a = a.detach().numpy()
    a = np.ascontiguousarray(a)
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


def assert_bitwise(ours, theirs, what: str) -> None:
    ours_bits, their_bits = bits(ours), bits(theirs)
    assert ours_bits.dtype == their_bits.dtype, f"{what}: dtypes differ"
    assert ours_bits.shape == their_bits.shape, f"{what}: shapes differ"
    dtype = np.float32 if ours_bits.dtype == np.int32 else np.float64
    both_nan = np.isnan(ours_bits.view(dtype)) & np.isnan(their_bits.view(dtype))
    differ = np.flatnonzero((ours_bits != their_bits) & ~both_nan)
    assert differ.size == 0, (
        f"{what}: {differ.size} of {ours_bits.size} values differ, first at {differ[0]}: "
        f"{ours_bits.view(dtype).ravel()[differ[0]]!r} vs "
        f"{their_bits.view(dtype).ravel()[differ[0]]!r}"
    )


@st.composite
def cases(draw):
    """(x, normalized_shape, weight or None, bias or None, eps, upstream gradient)."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    if draw(st.integers(0, 4)) == 0:  # a 2-D normalised shape now and then
        norm_shape = (draw(st.integers(1, 12)), draw(st.integers(1, 40)))
    else:
        norm_shape = (draw(WIDTHS),)
    lead = tuple(draw(st.lists(st.integers(1, 6), min_size=0, max_size=2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    offset = draw(st.sampled_from([0.0, 1.0, -3.0, 100.0, -1e4, 3e5]))
    spread = draw(st.sampled_from([1e-3, 0.1, 1.0, 50.0]))
    shape = lead + norm_shape
    # rows with their own offsets too, as a transformer's residual stream has
    row_offsets = rng.standard_normal(lead + (1,) * len(norm_shape)) * abs(offset) * 0.1
    x = (rng.standard_normal(shape) * spread + offset + row_offsets).astype(dtype)
    weight = rng.standard_normal(norm_shape).astype(dtype) if draw(st.booleans()) else None
    bias = rng.standard_normal(norm_shape).astype(dtype) if draw(st.booleans()) else None
    eps = draw(st.sampled_from([1e-5, 1e-6, 1e-3, 0.5]))
    upstream = rng.standard_normal(shape).astype(dtype)
    return x, norm_shape, weight, bias, eps, upstream


def run_both(x, norm_shape, weight, bias, eps, upstream):
    """(our leaves, output), (torch's leaves, output) after backward of both."""
    results = []
    for lib, functional in ((mt, F), (torch, torch.nn.functional)):
        leaves = [lib.tensor(x.copy(), requires_grad=True)]
        params = []
        for p in (weight, bias):
            params.append(None if p is None else lib.tensor(p.copy(), requires_grad=True))
        leaves += [p for p in params if p is not None]
        out = functional.layer_norm(leaves[0], norm_shape, params[0], params[1], eps)
        out.backward(lib.tensor(upstream.copy()))
        results.append((leaves, out))
    return results


def assert_layer_norm_bitwise(case, what=""):
    (ours, our_out), (theirs, their_out) = run_both(*case)
    assert_bitwise(our_out, their_out, f"layer_norm values{what}")
    for name, o, t in zip(("input", "weight", "bias"), ours, theirs):
        assert_bitwise(o.grad, t.grad, f"{name} gradient{what}")


@SETTINGS
@given(cases())
@example(  # a GPT block's width, torch's default eps
    (
        np.random.default_rng(0).standard_normal((16, 384)).astype(np.float32),
        (384,),
        np.ones(384, np.float32),
        np.zeros(384, np.float32),
        1e-5,
        np.random.default_rng(1).standard_normal((16, 384)).astype(np.float32),
    )
)
def test_layer_norm_values_and_gradients_are_torchs_bit_for_bit(case):
    assert_layer_norm_bitwise(case)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_weight_and_bias_gradients_follow_torchs_thread_count(threads):
    """PyTorch sums the weight and bias gradients over each thread's share of the rows, then
    adds the shares: set_num_threads tells the replay how many shares."""
    rng = np.random.default_rng(threads)
    x = (rng.standard_normal((37, 64)) * 3 + 20).astype(np.float32)
    w, b = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    g = rng.standard_normal((37, 64)).astype(np.float32)
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        mt.set_num_threads(threads)
        assert _layernorm.kernel_threads == threads
        assert_layer_norm_bitwise((x, (64,), w, b, 1e-5, g), f" on {threads} threads")
    finally:
        torch.set_num_threads(saved)
        mt.set_num_threads(saved)


@settings(max_examples=30, deadline=None)
@given(cases(), st.booleans(), st.booleans())
def test_layer_norm_module_is_torchs_bit_for_bit(case, affine, with_bias):
    x, norm_shape, _, _, eps, upstream = case
    dtype = x.dtype.name
    ours_m = nn.LayerNorm(norm_shape, eps, affine, with_bias, dtype=getattr(mt, dtype))
    theirs_m = torch.nn.LayerNorm(norm_shape, eps, affine, with_bias, dtype=getattr(torch, dtype))
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for p in theirs_m.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(dtype)))
    ours_m.load_state_dict({k: mt.tensor(v.numpy()) for k, v in theirs_m.state_dict().items()})
    xo, xt = mt.tensor(x.copy(), requires_grad=True), torch.tensor(x.copy(), requires_grad=True)
    yo, yt = ours_m(xo), theirs_m(xt)
    assert_bitwise(yo, yt, "LayerNorm values")
    yo.backward(mt.tensor(upstream.copy()))
    yt.backward(torch.tensor(upstream.copy()))
    assert_bitwise(xo.grad, xt.grad, "input gradient")
    for (name, p), q in zip(ours_m.named_parameters(), theirs_m.parameters()):
        assert_bitwise(p.grad, q.grad, f"{name} gradient")


# ---------------------------------------------------------------------------------------------
# the compiled kernel and the numpy replay


def compiled():
    """The compiled module itself, also under MICROGRAD_PURE=1 (which only stops layer_norm from
    picking it)."""
    try:
        return importlib.import_module("micrograd.tensor.nn._clayernorm")
    except ImportError:  # not built: these tests skip (and CI fails on a skip)
        pytest.skip("micrograd.tensor.nn._clayernorm is not built")


@contextlib.contextmanager
def kernels(variant: str):
    """layer_norm on the compiled kernels' FMA build or their generic one, for the duration."""
    module, picked = compiled(), _layernorm._C
    saved = module.get_variant()
    try:
        module.set_variant(variant)
    except RuntimeError:
        pytest.skip("this CPU has no FMA instructions")
    _layernorm._C = module
    try:
        yield
    finally:
        _layernorm._C = picked
        module.set_variant(saved)


@pytest.mark.parametrize("variant", ["fma", "generic"])
@settings(max_examples=60, deadline=None)
@given(case=cases(), threads=st.integers(1, 4))
def test_compiled_kernel_gives_the_numpy_replays_bits(variant, case, threads):
    x, norm_shape, weight, bias, eps, upstream = case
    size = int(np.prod(norm_shape))
    rows, g = x.reshape(-1, size), upstream.reshape(-1, size)
    w = None if weight is None else weight.reshape(-1)
    b = None if bias is None else bias.reshape(-1)
    slow = _layernorm.forward_numpy(rows, eps, w, b)
    need = (True, True, True)
    with kernels(variant):
        fast = _layernorm.forward(rows, eps, w, b)
        fast_grads = _layernorm.backward(g, rows, slow[1], slow[2], w, need, threads)
    for name, f, s in zip(("y", "mean", "rstd"), fast, slow):
        assert_bitwise(f, s, f"{variant} forward {name}")
    slow_grads = _layernorm.backward_numpy(g, rows, slow[1], slow[2], w, need, threads)
    for name, f, s in zip(("dx", "dw", "db"), fast_grads, slow_grads):
        assert (f is None) == (s is None), name
        if f is not None:
            assert_bitwise(f, s, f"{variant} backward {name}")


def test_the_compiled_kernel_runs_when_it_is_built(monkeypatch):
    """Built and not switched off, layer_norm runs `_clayernorm`, not the numpy replay."""
    assert importlib.util.find_spec("micrograd.tensor.nn._clayernorm") is not None, "not built"
    module = compiled()
    if os.environ.get("MICROGRAD_PURE", "") in ("", "0"):
        assert _layernorm._C is module  # picked at import
    monkeypatch.delenv("MICROGRAD_PURE", raising=False)  # the suite also runs with it set
    assert _layernorm._compiled() is module
    calls = []

    class Recording:
        def __getattr__(self, name):
            def call(*args):
                calls.append(name)
                return getattr(module, name)(*args)

            return call

    def numpy_path(*args, **kwargs):
        raise AssertionError("the numpy replay ran")

    monkeypatch.setattr(_layernorm, "_C", Recording())
    monkeypatch.setattr(_layernorm, "forward_numpy", numpy_path)
    monkeypatch.setattr(_layernorm, "backward_numpy", numpy_path)
    x = mt.randn(4, 10, requires_grad=True)
    w = mt.ones(10, requires_grad=True)
    F.layer_norm(x, (10,), w, None).sum().backward()
    assert calls == ["forward", "backward"]
    assert x.grad is not None and w.grad is not None


def test_micrograd_pure_runs_the_numpy_replay():
    code = (
        "from micrograd.tensor.nn import _layernorm; "
        "import micrograd.tensor as mt; "
        "print(_layernorm._C is None, mt.nn.functional.layer_norm(mt.ones(2, 3), (3,)).sum().item())"
    )
    env = dict(os.environ, MICROGRAD_PURE="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "0.0"]


def test_compiled_kernel_refuses_wrong_buffers():
    module = compiled()
    rows = np.ones((2, 3), np.float32)
    y, stats = np.empty_like(rows), np.empty((2, 1), np.float32)
    with pytest.raises(TypeError, match="float32"):
        module.forward(rows, np.ones(3), None, 1e-5, y, stats, stats.copy(), 2, 3)
    with pytest.raises(ValueError, match="weight has 4 values, expected 3"):
        module.forward(rows, np.ones(4, np.float32), None, 1e-5, y, stats, stats.copy(), 2, 3)
    with pytest.raises(ValueError, match="shape"):
        module.forward(rows, None, None, 1e-5, y, stats, stats.copy(), 3, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        module.forward(np.ones((2, 3), np.int32), None, None, 1e-5, y, stats, stats, 2, 3)
    with pytest.raises(ValueError, match="no layer_norm kernel variant"):
        module.set_variant("avx9000")


def test_weight_gradient_sums_round_once_where_float64_lands_halfway():
    """The numpy replay adds the weight gradient's rows through float64 sums and redoes them
    with exact FMAs when a float64 sum sits halfway between two float32s. Here (1 + 2**-23) +
    2**-24 * (1 - 2**-40) rounds to that halfway point in float64 and then, ties to even, one
    unit too high in float32; the FMA, rounding once, stays at 1 + 2**-23 (as torch's does)."""
    f32 = np.float32
    a = np.array([[1 + 2.0**-23], [2.0**-12 * (1 + 2.0**-20)]], f32)
    b = np.array([[1.0], [2.0**-12 * (1 - 2.0**-20)]], f32)
    twice = np.float32(np.float64(a[0, 0]) + np.float64(a[1, 0]) * np.float64(b[1, 0]))
    assert twice == f32(1 + 2.0**-22)  # the case is real: rounding twice goes up
    # the exact sum, 1 + 2**-23 + 2**-24 - 2**-64, is just below the halfway point
    assert _layernorm._fma_rows(a, b)[0] == f32(1 + 2.0**-23)


@pytest.mark.parametrize(
    "variables",
    [{}, {"OMP_NUM_THREADS": "1"}, {"OMP_NUM_THREADS": "64"}, {"MKL_NUM_THREADS": "1"}],
)
def test_default_thread_count_is_torchs(variables):
    """Without set_num_threads, the replay splits the rows as torch's default thread count
    does: the physical cores, or fewer if MKL_NUM_THREADS / OMP_NUM_THREADS ask for fewer."""
    code = (
        "import torch; from micrograd.tensor.nn import _layernorm; "
        "print(_layernorm.kernel_threads, torch.get_num_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(variables)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    ours, theirs = out.stdout.split()
    assert ours == theirs


def test_fast_float32_fma_notices_double_rounding_and_the_replay_redoes_it_exactly():
    """The numpy replay's float32 FMAs go through float64 sums; a sum rounded onto a halfway
    point between float32s marks the run doubtful, and the replay runs again with exact FMAs.
    An exact halfway sum (x * 2**-24 + 1: no float64 rounding) is no reason to."""
    f32 = np.float32
    a = np.array([2.0**-12 * (1 + 2.0**-20), 1.0], f32)
    b = np.array([2.0**-12 * (1 - 2.0**-20), 2.0**-24], f32)
    c = np.array([1 + 2.0**-23, 1.0], f32)
    exact_halfway = _layernorm._Float64Fma()
    assert exact_halfway(a[1:], b[1:], c[1:])[0] == f32(1.0)
    assert not exact_halfway.doubtful
    rounded_twice = _layernorm._Float64Fma()
    assert rounded_twice(a, b, c)[0] == f32(1 + 2.0**-22)  # one unit too high
    assert rounded_twice.doubtful
    runs = []

    def replay(fma):
        runs.append(fma)
        return fma(a, b, c)

    result = _layernorm._with_fast_fma(np.dtype(np.float32), replay)
    assert result[0] == f32(1 + 2.0**-23) and result[1] == f32(1.0)
    assert isinstance(runs[0], _layernorm._Float64Fma) and runs[1] is _layernorm.fma
