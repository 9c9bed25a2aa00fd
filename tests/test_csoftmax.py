"""The compiled softmax kernels (micrograd/tensor/_csoftmax.c) against their numpy replay
(micrograd/tensor/_softmax32.py) and against torch 2.13, bit for bit.

Both implementations replay PyTorch's float32 softmax, log_softmax, nll_loss and cross-entropy
kernels (SLEEF's expf and logf, the 16-lane sums, nll_loss's cascade sum); the C one is used
whenever it is built. Every function is compared on generated float32 arrays: empty and odd
shapes (rows shorter and longer than a 16-float vector, with and without a partial last
vector), values from denormals to the largest floats, -inf (masked attention scores), +inf,
nan and zeros of both signs. tests/test_torchdiff_softmax_bitwise.py compares the engine's
functions, whichever implementation runs, with torch; here the attention case (-inf above the
diagonal) is checked against torch too, and bad arguments to the C functions fail cleanly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import micrograd.tensor as mt
from micrograd.tensor import _sleef, _softmax32

try:
    from micrograd.tensor import _csoftmax
except ImportError:  # not built: the comparisons below are skipped (and CI fails on a skip)
    _csoftmax = None

NUMPY = _softmax32.numpy_kernels
compiled_only = pytest.mark.skipif(
    _csoftmax is None, reason="micrograd.tensor._csoftmax is not built"
)


@pytest.fixture(autouse=True, scope="module")
def compiled_kernels():
    """The `_compiled_*` functions call the C module even under MICROGRAD_PURE=1 (which only
    stops the engine from choosing them), so both implementations are compared in either run.
    The thread count that softmax's backward follows is restored after the tests too."""
    saved = _softmax32._csoftmax, _softmax32.kernel_threads
    if _csoftmax is not None:
        _softmax32._csoftmax = _csoftmax
    yield
    _softmax32._csoftmax, _softmax32.kernel_threads = saved


def assert_same_bits(ours, reference, what: str) -> None:
    ours, reference = np.asarray(ours, np.float32), np.asarray(reference, np.float32)
    assert ours.shape == reference.shape, f"{what}: shape {ours.shape} vs {reference.shape}"
    # a nan is a nan (its sign and payload are not compared), every other float exactly
    differ = (ours.view(np.int32) != reference.view(np.int32)) & ~(
        np.isnan(ours) & np.isnan(reference)
    )
    where = np.flatnonzero(differ)
    assert where.size == 0, (
        f"{what}: {where.size} of {ours.size} floats differ, first at {where[0]}: "
        f"{ours.ravel()[where[0]]!r} vs {reference.ravel()[where[0]]!r}"
    )


@st.composite
def rows(draw, max_rows: int = 40, max_classes: int = 90):
    """float32 (n, c) arrays, n or c possibly 0: either any float32s (hypothesis's, which favour
    the special ones) or normal values at a drawn scale with special values sprinkled in."""
    n = draw(st.integers(0, max_rows))
    c = draw(st.one_of(st.integers(0, max_classes), st.sampled_from([15, 16, 17, 31, 32, 33, 257])))
    if draw(st.booleans()) and n * c <= 400:
        return draw(hnp.arrays(np.float32, (n, c), elements=st.floats(width=32)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1e-40, 1e-6, 0.1, 1.0, 5.0, 60.0, 1e4, 1e38]))
    with np.errstate(over="ignore"):  # (1e38: some become inf, as intended)
        x = (rng.standard_normal((n, c)) * scale).astype(np.float32)
    for value in draw(st.sets(st.sampled_from([-np.inf, np.inf, np.nan, 0.0, -0.0, 3.4e38]))):
        x[rng.random((n, c)) < draw(st.sampled_from([0.02, 0.3, 1.0]))] = value
    return x


def both(name: str, *args):
    """(the C implementation's result, the numpy replay's) of _softmax32's function `name`."""
    compiled = getattr(_softmax32, f"_compiled_{name}")
    with np.errstate(all="ignore"):
        return compiled(*args), getattr(NUMPY, name)(*args)


def test_the_engine_uses_the_compiled_kernels_when_built(monkeypatch):
    """`_softmax32`'s public functions are the C ones when the module is built, and the model's
    nodes call them; MICROGRAD_PURE=1 keeps the numpy replay."""
    pure_asked = os.environ.get("MICROGRAD_PURE", "") not in ("", "0")
    if os.environ.get("MICROGRAD_REQUIRE_COMPILED") == "1":
        assert _csoftmax is not None, "MICROGRAD_REQUIRE_COMPILED=1 but _csoftmax is not built"
    expected = _csoftmax is not None and not pure_asked
    assert _softmax32.compiled is expected
    for name in ("softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                 "nll_loss", "nll_loss_backward", "cross_entropy_backward"):  # fmt: skip
        chosen = getattr(_softmax32, name)
        assert (chosen is getattr(_softmax32, f"_compiled_{name}")) is expected, name
        assert (chosen is getattr(NUMPY, name)) is not expected, name
    for setting, compiled in (("1", False), ("0", _csoftmax is not None)):
        out = subprocess.run(
            [sys.executable, "-c", "from micrograd.tensor import _softmax32 as s; print(s.compiled)"],
            env={**os.environ, "MICROGRAD_PURE": setting},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert out.stdout.strip() == str(compiled)
    if expected:  # the training step's nodes go through the C functions
        calls = []
        for name in ("softmax", "log_softmax", "cross_entropy_backward", "nll_loss"):
            kernel = getattr(_csoftmax, name)
            monkeypatch.setattr(
                _csoftmax, name, lambda *a, _k=kernel, _n=name: calls.append(_n) or _k(*a)
            )
        x = mt.tensor(np.ones((4, 5), np.float32), requires_grad=True)
        mt.nn.functional.cross_entropy(x, mt.tensor(np.arange(4))).backward()
        mt.softmax(x, -1)
        assert calls == ["log_softmax", "nll_loss", "cross_entropy_backward", "softmax"]


@compiled_only
@settings(max_examples=300, deadline=None)
@given(x=rows(), g_seed=st.integers(0, 2**32 - 1), threads=st.sampled_from([1, 2]))
def test_softmax_and_log_softmax_and_their_gradients_are_the_numpy_replays_bits(x, g_seed, threads):
    _softmax32.kernel_threads = threads
    g = np.random.default_rng(g_seed).standard_normal(x.shape).astype(np.float32)
    for name in ("softmax", "log_softmax"):
        ours, reference = both(name, x)
        assert_same_bits(ours, reference, name)
        assert_same_bits(*both(f"{name}_backward", g, reference), f"{name} backward")
        # the backward passes on the special values themselves (as gradients and outputs)
        assert_same_bits(*both(f"{name}_backward", x, x), f"{name} backward of specials")


@compiled_only
@settings(max_examples=300, deadline=None)
@given(x=rows(max_rows=300), data=st.data())
def test_nll_loss_and_cross_entropy_backward_are_the_numpy_replays_bits(x, data):
    n, c = x.shape
    if c == 0:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    logp = NUMPY.log_softmax(x) if data.draw(st.booleans()) else x
    target = rng.integers(0, c, n)
    ignore = data.draw(st.sampled_from([-100, -1, 0, c - 1]))
    target[rng.random(n) < data.draw(st.sampled_from([0.0, 0.3, 1.0]))] = ignore
    weight = None
    if data.draw(st.booleans()):
        weight = rng.uniform(0.05, 4.0, c).astype(np.float32)
        weight[rng.random(c) < 0.1] = data.draw(st.sampled_from([0.0, np.inf, np.nan, 1e-40]))
    for reduction in ("mean", "sum", "none"):
        (loss, total), (loss_np, total_np) = both("nll_loss", logp, target, weight, ignore,
                                                  reduction)  # fmt: skip
        assert_same_bits(loss, loss_np, f"nll_loss {reduction}")
        assert_same_bits(total, total_np, f"nll_loss {reduction} total weight")
        if reduction == "none":
            g = rng.standard_normal(n).astype(np.float32)
        else:
            g = np.float32(data.draw(st.sampled_from([1.0, 0.37, -3.0, 0.0, np.inf])))
        grads = both("nll_loss_backward", g, target, weight, ignore, reduction, total, c)
        assert_same_bits(*grads, f"nll_loss backward {reduction}")
    # the fused cross-entropy's backward: -1 marks ignored rows
    labels = np.where(target == ignore, -1, target) if ignore < 0 else target
    _, total = NUMPY.nll_loss(logp, labels, None, -1, "mean")
    g = np.asarray(np.float32(data.draw(st.sampled_from([1.0, 0.37, -1.1231374, 0.0, -0.0]))))
    assert_same_bits(*both("cross_entropy_backward", g, logp, labels, total), "cross-entropy")


@compiled_only
@pytest.mark.parametrize("ignore", [2**70, -(2**70), 2**63 - 1, -(2**63)])
def test_an_ignored_class_beyond_int64_ignores_nothing_on_both_paths(ignore):
    x = NUMPY.log_softmax(np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32))
    target = np.array([0, 3, 1, 2, 2])
    for reduction in ("mean", "sum", "none"):
        (loss, total), (loss_np, total_np) = both("nll_loss", x, target, None, ignore, reduction)
        assert_same_bits(loss, loss_np, reduction)
        assert_same_bits(total, total_np, reduction)
        grads = both("nll_loss_backward", np.float32(1), target, None, ignore, "sum", total, 4)
        assert_same_bits(*grads, "backward")


@pytest.mark.parametrize("implementation", ["compiled", "numpy"])
@pytest.mark.parametrize("width", [5, 16, 17, 32, 40])
def test_gradients_of_negative_zeros_are_torch_bits(implementation, width):
    """A row of -0.0 gradients: PyTorch's lane sum starts from the first vector, so it is -0.0
    (numpy's add.reduce starts from +0.0, which the replay must not), and the gradient is
    fma(-exp(out), -0.0, -0.0) = +0.0 for log_softmax, (-0.0 - -0.0) * out = +0.0 for softmax."""
    if implementation == "compiled" and _csoftmax is None:
        pytest.skip("micrograd.tensor._csoftmax is not built")
    x = np.random.default_rng(width).standard_normal((3, width)).astype(np.float32)
    g = np.full(x.shape, -0.0, np.float32)
    for name in ("softmax", "log_softmax"):
        t = torch.tensor(x, requires_grad=True)
        getattr(torch, name)(t, -1).backward(torch.tensor(g))
        if implementation == "compiled":
            forward = getattr(_softmax32, f"_compiled_{name}")
            backward = getattr(_softmax32, f"_compiled_{name}_backward")
        else:
            forward, backward = getattr(NUMPY, name), getattr(NUMPY, f"{name}_backward")
        _softmax32.kernel_threads = torch.get_num_threads()
        assert_same_bits(backward(g, forward(x)), t.grad.numpy(), f"{name} backward")


@compiled_only
@settings(max_examples=200, deadline=None)
@given(x=rows(max_classes=300), fused=st.booleans())
def test_lane_sums_are_the_numpy_replays_bits(x, fused):
    y = np.flip(x, axis=1).copy()
    sums = np.empty(x.shape[0], np.float32)
    with np.errstate(all="ignore"):
        if fused:
            _csoftmax.lane_sum(x, sums, y)
            reference = NUMPY.lane_sum(x * y, (x, y))
        else:
            _csoftmax.lane_sum(x, sums)
            reference = NUMPY.lane_sum(x)
    assert_same_bits(sums, reference, "lane sums")


@compiled_only
def test_expf_and_logf_are_sleefs_on_their_hard_cases():
    """expf against the operation-by-operation emulation (`_sleef_expf`) over its whole range,
    tiny arguments and the ends of its range; logf against the numpy replay on every exponent,
    random mantissas, denormals and the special values."""
    rng = np.random.default_rng(7)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4e38, -3.4e38]
    d = np.concatenate([
        rng.uniform(-110, 110, 300_000),
        rng.uniform(-1e-3, 1e-3, 100_000),
        np.ldexp(rng.uniform(-1, 1, 100_000), rng.integers(-149, -10, 100_000)),
        [-87.3, -88.7, -103.9, -104, -104.1, 88.7, 89, 100, 100.1, *specials],
    ]).astype(np.float32)  # fmt: skip
    out = np.empty_like(d)
    _csoftmax.expf_u10(d, out)
    with np.errstate(all="ignore"):
        assert_same_bits(out, _sleef._sleef_expf(d), "expf")
        positive = rng.integers(0, 0x7F800000, 500_000, dtype=np.int32).view(np.float32)
        x = np.concatenate([positive, np.array([*specials, 1, 2, 0.75, 1.5], np.float32)])
        out = np.empty_like(x)
        _csoftmax.logf_u10(x, out)
        assert_same_bits(out, _sleef.logf_u10(x), "logf")


@compiled_only
@settings(max_examples=40, deadline=None)
@given(
    batch=st.integers(1, 4),
    block=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.3, 3.0, 40.0]),
)
def test_masked_attention_softmax_is_torch_bits(batch, block, seed, scale):
    """The GPT scripts' attention weights: scores with -inf above the diagonal (masked_fill),
    softmax along the last axis, and its backward, against torch on its current thread count."""
    _softmax32.kernel_threads = torch.get_num_threads()
    rng = np.random.default_rng(seed)
    scores = (rng.standard_normal((batch, block, block)) * scale).astype(np.float32)
    scores[:, np.triu(np.ones((block, block), bool), 1)] = -np.inf
    g = rng.standard_normal(scores.shape).astype(np.float32)
    rows_, grads = scores.reshape(-1, block), g.reshape(-1, block)
    out = _softmax32._compiled_softmax(rows_)
    expected = torch.softmax(torch.tensor(scores), -1)
    assert_same_bits(out.reshape(scores.shape), expected.numpy(), "softmax")
    t = torch.tensor(scores, requires_grad=True)
    torch.softmax(t, -1).backward(torch.tensor(g))
    grad = _softmax32._compiled_softmax_backward(grads, out)
    assert_same_bits(grad.reshape(scores.shape), t.grad.numpy(), "softmax backward")
    logp = _softmax32._compiled_log_softmax(rows_)
    assert_same_bits(logp.reshape(scores.shape), torch.log_softmax(torch.tensor(scores), -1),
                     "log_softmax")  # fmt: skip


@compiled_only
def test_bad_arguments_to_the_compiled_functions_raise_clear_errors():
    x = np.zeros((3, 4), np.float32)
    out = np.empty_like(x)
    with pytest.raises(TypeError, match="float32"):
        _csoftmax.softmax(x.astype(np.float64), out)
    with pytest.raises(ValueError, match="contiguous"):
        _csoftmax.softmax(np.zeros((4, 3), np.float32).T, out)
    with pytest.raises(ValueError, match="shapes differ"):
        _csoftmax.log_softmax(x, np.empty((3, 5), np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        _csoftmax.softmax(x.reshape(-1), out.reshape(-1))
    with pytest.raises(TypeError, match="takes 2 to 2 arguments"):
        _csoftmax.softmax(x)
    with pytest.raises((TypeError, ValueError), match="read-only|writable|not writ"):
        readonly = np.empty_like(x)
        readonly.setflags(write=False)
        _csoftmax.softmax(x, readonly)
    with pytest.raises(ValueError, match="must not share memory"):  # (it reads x after writing)
        _csoftmax.log_softmax(x, x)
    with pytest.raises(ValueError, match="must not share memory"):
        _csoftmax.softmax_backward(x, out, x, True)
    target = np.array([0, 4, 1], np.int64)  # 4 is no class of 4
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        _csoftmax.nll_loss(x, target, None, -100, 1, None)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        _csoftmax.cross_entropy_backward(1.0, x, target, 3.0, np.empty_like(x))
    with pytest.raises(TypeError, match="int64"):
        _csoftmax.nll_loss(x, target.astype(np.int32), None, -100, 1, None)
    with pytest.raises(ValueError, match="shapes do not fit"):
        _csoftmax.nll_loss(x, target[:2], None, -100, 1, None)
