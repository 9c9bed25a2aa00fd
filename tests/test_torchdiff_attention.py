"""`F.scaled_dot_product_attention` on PyTorch's flash path, bit for bit against torch 2.13.

For float32 4-D inputs without dropout PyTorch's CPU dispatch runs its flash-attention kernel;
ours replays it (micrograd/tensor/nn/_flash32.py, compiled twin _cattention.c). Here forward
values and the gradients of query, key and value must equal torch's to the bit, for generated
batch and head counts, sequence lengths across the kernel's block sizes (32 and 64 query rows,
the switch at 192 rows), head sizes, value spreads, causal or not, boolean and float masks and
explicit scales, and for the strided views nanoGPT passes. The shapes are drawn from the region
where MKL's order of additions was pinned down (`replayed_exactly`); outside it (single-row
query blocks, some short last blocks and head sizes, listed in docs/pytorch-differences.md)
values agree within the tolerances of tests/test_torchdiff_transformer.py, which keeps testing
every shape. The numpy replay and the compiled twin must agree bit for bit everywhere.
"""

from __future__ import annotations

import math
import os

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd.tensor.nn import _flash32
from micrograd.tensor.nn import functional as F

TF = torch.nn.functional

try:  # imported directly: MICROGRAD_PURE=1 turns off its use, not its tests
    from micrograd.tensor.nn import _cattention
except ImportError:  # not built (no compiler): its tests skip, and CI fails on a skip
    _cattention = None

COVERED = {"F.scaled_dot_product_attention"}

SETTINGS = settings(max_examples=40, deadline=None)


def replayed_exactly(length: int, keys: int, head: int) -> bool:
    """Whether the shapes fall where MKL's order of additions in the kernel's products was
    measured and replayed (the module docstring of _flash32 lists the rest)."""
    split = min(_flash32.query_split(length), length)
    last = length % split or split
    if last < 12 and last % 4:  # a short last query block: MKL's vector routines
        return False
    if keys < 12 and keys % 4:
        return False
    if head % 4 or (head < 12 and head % 8) or head == 12:
        return False
    # head sizes of 8 or less: the work buffer of the product with v must sit 16-byte aligned
    return head > 8 or split * (min(keys, _flash32.KV_SPLIT) + 2) % 4 == 0


LENGTHS = st.one_of(
    st.integers(2, 200),
    st.sampled_from([2, 16, 31, 32, 34, 63, 64, 65, 96, 191, 192, 193, 194, 200, 256]),
)
HEADS = st.sampled_from([8, 16, 20, 24, 32, 40, 48, 64])


def bits(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, np.float32)).view(np.int32)


def assert_bitwise(ours, theirs, what: str) -> None:
    got, expected = bits(ours), bits(theirs)
    differ = int((got != expected).sum())
    assert differ == 0, f"{what}: {differ} of {got.size} values differ from torch's"


def run_both(q, k, v, grad, **kwargs):
    """Our and torch's output and input gradients for the same arrays and keywords."""
    mask = kwargs.pop("attn_mask", None)
    ours_in = [mt.tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    theirs_in = [torch.tensor(a.copy(), requires_grad=True) for a in (q, k, v)]
    ours = F.scaled_dot_product_attention(
        *ours_in, attn_mask=None if mask is None else mt.tensor(mask), **kwargs
    )
    theirs = TF.scaled_dot_product_attention(
        *theirs_in, attn_mask=None if mask is None else torch.tensor(mask), **kwargs
    )
    ours.backward(mt.tensor(grad))
    theirs.backward(torch.tensor(grad))
    return ours, theirs, ours_in, theirs_in


def assert_run_bitwise(ours, theirs, ours_in, theirs_in) -> None:
    assert type(theirs.grad_fn).__name__ == "ScaledDotProductFlashAttentionForCpuBackward0"
    assert "grad_fn=<ScaledDotProductFlashAttentionForCpuBackward0>" in repr(ours)
    assert_bitwise(ours.detach().numpy(), theirs.detach().numpy(), "attention")
    for name, a, b in zip(["query", "key", "value"], ours_in, theirs_in):
        assert_bitwise(a.grad.numpy(), b.grad.numpy(), f"{name} grad")


@st.composite
def flash_cases(draw, masks: bool = False):
    """(q, k, v, upstream gradient, keywords) of a flash-path call in the replayed region."""
    batch, heads = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    length, head = draw(LENGTHS), draw(HEADS)
    kind = draw(st.sampled_from(["causal", "none"] + (["bool", "float"] if masks else [])))
    keys = length if kind == "causal" else draw(st.one_of(st.just(length), st.integers(2, 120)))
    assume(replayed_exactly(length, keys, head))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread = draw(st.sampled_from([0.1, 1.0, 3.0]))

    def normal(*shape):
        return (rng.standard_normal(shape) * spread).astype(np.float32)

    q, k = normal(batch, heads, length, head), normal(batch, heads, keys, head)
    v = normal(batch, heads, keys, head)
    kwargs: dict = {"is_causal": kind == "causal"}
    if kind == "bool":
        kwargs["attn_mask"] = rng.random((length, keys)) < draw(st.sampled_from([0.3, 0.8]))
    elif kind == "float":
        mask = normal(batch, 1, length, keys)
        mask[rng.random(mask.shape) < 0.2] = -np.inf
        kwargs["attn_mask"] = mask
    scale = draw(st.sampled_from([None, 0.5, 2.0] + ([] if kind == "causal" else [-0.7])))
    if scale is not None:
        kwargs["scale"] = scale
    return q, k, v, normal(batch, heads, length, head), kwargs


@SETTINGS
@given(flash_cases())
def test_flash_attention_values_and_gradients_are_torchs_bit_for_bit(case):
    q, k, v, grad, kwargs = case
    assert_run_bitwise(*run_both(q, k, v, grad, **kwargs))


@SETTINGS
@given(flash_cases(masks=True))
def test_flash_attention_with_masks_and_scales_is_torchs_bit_for_bit(case):
    q, k, v, grad, kwargs = case
    assert_run_bitwise(*run_both(q, k, v, grad, **kwargs))


@pytest.mark.parametrize(
    "shape",
    [
        (8, 4, 16, 8),
        (8, 6, 32, 64),
        (4, 6, 64, 64),
        (2, 6, 256, 64),
        (4, 4, 32, 16),
        (1, 4, 192, 8),
    ],
)
def test_flash_attention_at_the_courses_sizes_is_torchs_bit_for_bit(shape):
    # nanoGPT's call: q, k, v split from one (B, T, 3C) projection and viewed per head
    batch, heads, length, head = shape
    rng = np.random.default_rng(sum(shape))
    qkv = rng.standard_normal((batch, length, 3 * heads * head)).astype(np.float32)
    grad = rng.standard_normal(shape).astype(np.float32)
    results = []
    for lib in (mt, torch):
        x = lib.tensor(qkv.copy(), requires_grad=True)
        q, k, v = x.split(heads * head, dim=2)
        q, k, v = (t.view(batch, length, heads, head).transpose(1, 2) for t in (q, k, v))
        y = lib.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.backward(lib.tensor(grad))
        results.append((y.detach().numpy(), x.grad.numpy()))
    assert_bitwise(results[0][0], results[1][0], "attention")
    assert_bitwise(results[0][1], results[1][1], "projection grad")


@SETTINGS
@given(
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 200),
    st.integers(1, 64),
    st.sampled_from(["causal", "none", "float"]),
    st.integers(0, 2**32 - 1),
)
def test_numpy_replay_and_compiled_twin_agree_bit_for_bit(batch, heads, length, head, kind, seed):
    if _cattention is None:
        pytest.skip("micrograd.tensor.nn._cattention is not built")
    rng = np.random.default_rng(seed)
    keys = length if kind == "causal" else int(rng.integers(1, 140))
    q = rng.standard_normal((batch, heads, length, head)).astype(np.float32)
    k, v = (rng.standard_normal((batch, heads, keys, head)).astype(np.float32) for _ in "kv")
    grad = rng.standard_normal(q.shape).astype(np.float32)
    mask = None
    if kind == "float":
        mask = rng.standard_normal((batch, 1, length, keys)).astype(np.float32)
        mask[rng.random(mask.shape) < 0.3] = -np.inf
    scale, causal = 1 / math.sqrt(head), kind == "causal"
    out_np, lse_np = _flash32.flash_forward(q, k, v, scale, causal, mask)
    grads_np = _flash32.flash_backward(grad, q, k, v, out_np, lse_np, scale, causal, mask)
    in_use = _flash32.compiled
    try:
        _flash32.compiled = _cattention
        out_c, lse_c = _flash32.forward(q, k, v, scale, causal, mask)
        grads_c = _flash32.backward(grad, q, k, v, out_c, lse_c, scale, causal, mask)
    finally:
        _flash32.compiled = in_use
    assert_bitwise(out_c, out_np, "output")
    assert_bitwise(lse_c, lse_np, "logsumexp")
    for name, a, b in zip(["query", "key", "value"], grads_c, grads_np):
        assert_bitwise(a, b, f"{name} grad")


def test_the_compiled_twin_is_used_when_built(monkeypatch):
    if os.environ.get("MICROGRAD_REQUIRE_COMPILED") == "1":
        assert _cattention is not None, "MICROGRAD_REQUIRE_COMPILED=1 but _cattention is not built"
    if os.environ.get("MICROGRAD_PURE", "") not in ("", "0") or _cattention is None:
        assert _flash32.compiled is None  # the numpy replay runs
        return
    assert _flash32.compiled is _cattention
    calls, real = [], _flash32.compiled

    def forward(*args):
        calls.append("forward")
        return real.forward(*args)

    def backward(*args):
        calls.append("backward")
        return real.backward(*args)

    class Spy:
        pass

    spy = Spy()
    spy.forward, spy.backward = forward, backward
    monkeypatch.setattr(_flash32, "compiled", spy)
    q = mt.randn(1, 2, 5, 8, requires_grad=True)
    F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()
    assert calls == ["forward", "backward"]


def test_without_the_compiled_twin_the_numpy_replay_runs(monkeypatch):
    monkeypatch.setattr(_flash32, "compiled", None)
    rng = np.random.default_rng(5)
    q, k, v, grad = (rng.standard_normal((2, 4, 16, 8)).astype(np.float32) for _ in range(4))
    assert_run_bitwise(*run_both(q, k, v, grad, is_causal=True))


def test_the_log_sum_exp_uses_the_c_librarys_logf():
    ctypes = pytest.importorskip("ctypes")
    try:
        libm = ctypes.CDLL("libm.so.6")
    except OSError:
        pytest.skip("no GNU C library to compare with")
    libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(0)
    sums = np.concatenate([1 + rng.random(20000) * 500, [1.0, 2.0, 511.75]]).astype(np.float32)
    expected = np.array([libm.logf(float(s)) for s in sums], np.float32)
    assert_bitwise(_flash32.glibc_logf(sums), expected, "logf")
