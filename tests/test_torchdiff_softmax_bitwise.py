"""float32 softmax, log_softmax, cross_entropy and nll_loss against torch 2.13, bit for bit.

The course's scripts print their losses with every digit, so these must be PyTorch's floats, not
floats within an ulp of them: the loss and every element of every gradient are compared on their
float32 bits, over generated logits of shapes (N, C) with C from 1 to 100 (shorter and longer
than a 16-float vector, with and without a partial last vector) and N up to 600 (several levels
of nll_loss's cascade sum), values from tiny to huge, ignored rows, per-class weights and the
three reductions. The replays of SLEEF's `expf` and `logf` are also checked directly on the
inputs where they are hardest (tiny arguments, the ends of expf's range, logf of integers)."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as MF
from micrograd.tensor import _sleef, _softmax32

COVERED = {
    "F.cross_entropy",
    "F.nll_loss",
    "F.softmax",
    "F.log_softmax",
    "torch.softmax",
    "torch.log_softmax",
    "Tensor.softmax",
    "Tensor.log_softmax",
}

# torch's kernels for the vector width this machine's torch chose: the replay reproduces AVX-512's
pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() != "AVX512",
    reason="the replay follows PyTorch's AVX-512 kernels (16-float vectors)",
)


@pytest.fixture(autouse=True, scope="module")
def same_thread_count_as_torch():
    """Softmax's backward rounds differently on one PyTorch thread and on several (two compiled
    copies of its loop): the replay follows the count it is told, here torch's own."""
    saved = _softmax32.kernel_threads
    _softmax32.kernel_threads = torch.get_num_threads()
    yield
    _softmax32.kernel_threads = saved


def bits(a) -> np.ndarray:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    return np.asarray(a, np.float32).view(np.int32)


def assert_bitwise(ours, theirs, what: str) -> None:
    ours_bits, their_bits = bits(ours), bits(theirs)
    assert ours_bits.shape == their_bits.shape, what
    # a nan is a nan (its sign and payload bits are not compared), every other float exactly
    both_nan = np.isnan(ours_bits.view(np.float32)) & np.isnan(their_bits.view(np.float32))
    differ = np.flatnonzero((ours_bits != their_bits).ravel() & ~both_nan.ravel())
    assert differ.size == 0, (
        f"{what}: {differ.size} of {ours_bits.size} floats differ, first at {differ[0]}: "
        f"{np.ravel(ours)[differ[0]]!r} vs {np.ravel(theirs.detach().numpy())[differ[0]]!r}"
    )


@st.composite
def logits(draw, max_rows: int = 600, max_classes: int = 100):
    """float32 logits (N, C): normal values at a drawn scale, some rows shifted far, a few
    exact ties and zeros of either sign."""
    n = draw(st.integers(1, max_rows))
    c = draw(st.integers(1, max_classes))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-6, 0.1, 1.0, 3.0, 20.0, 1e3, 1e6]))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * scale
    if draw(st.booleans()):  # large magnitudes: rows far from 0 (cancellation in x - max)
        x += rng.choice([0.0, 1e4, -3e5, 1e30], size=(n, 1))
    if draw(st.booleans()):  # ties and signed zeros
        x[rng.random((n, c)) < 0.1] = 0.0
        x[rng.random((n, c)) < 0.05] = -0.0
        x[:, -1] = x[:, 0]
    return x.astype(np.float32), rng


@st.composite
def targets(draw, n: int, c: int, rng):
    y = rng.integers(0, c, n)
    ignore_index = draw(st.sampled_from([-100, -1, 0, c - 1]))
    ignored = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    y[rng.random(n) < ignored] = ignore_index
    return y, ignore_index


def _backward_seed(loss, rng):
    """An upstream gradient: 1 for a scalar loss, as a training loop has, or generated values."""
    if loss.dim() == 0:
        return np.float32(rng.choice([1.0, 0.37, 3.0]))
    return rng.standard_normal(tuple(loss.shape)).astype(np.float32)


def _both_losses(fn_name, x, y, ignore_index, weight, reduction, rng):
    tx = torch.tensor(x, requires_grad=True)
    mx = mt.tensor(x, requires_grad=True)
    out = []
    for lib, F, t, tensor in (
        (torch, torch.nn.functional, tx, torch.tensor),
        (mt, MF, mx, mt.tensor),
    ):
        w = None if weight is None else tensor(weight)
        if fn_name == "cross_entropy":
            loss = F.cross_entropy(
                t, tensor(y), weight=w, ignore_index=ignore_index, reduction=reduction
            )
        else:
            loss = F.nll_loss(
                F.log_softmax(t, dim=1),
                tensor(y),
                weight=w,
                ignore_index=ignore_index,
                reduction=reduction,
            )
        out.append(loss)
    seed = _backward_seed(out[0], rng)
    out[0].backward(torch.tensor(seed))
    out[1].backward(mt.tensor(seed))
    return (out[1], mx.grad), (out[0], tx.grad)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), case=logits())
def test_cross_entropy_and_nll_loss_are_bitwise_torch(data, case):
    x, rng = case
    n, c = x.shape
    y, ignore_index = data.draw(targets(n, c, rng))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    weight = None
    if data.draw(st.booleans()):
        weight = rng.uniform(0.05, 4.0, c).astype(np.float32)
    fn_name = data.draw(st.sampled_from(["cross_entropy", "nll_loss"]))
    (loss, grad), (tloss, tgrad) = _both_losses(fn_name, x, y, ignore_index, weight, reduction, rng)
    assert loss.dtype == mt.float32
    assert_bitwise(loss.data, tloss, f"{fn_name} {reduction} loss")
    assert_bitwise(grad.data, tgrad, f"{fn_name} {reduction} gradient")


@settings(max_examples=80, deadline=None)
@given(
    case=logits(max_rows=300),
    ignore_index=st.sampled_from([None, -1, -100]),
    seed=st.sampled_from([1.0, 0.37, -1.1231374]),
)
def test_the_lectures_cross_entropy_is_bitwise_torch(case, ignore_index, seed):
    """The calls the scripts make (mean over int64 labels; makemore.py pads its targets with
    -1 and passes ignore_index=-1): the fused node, whose backward skips the one-hot gradient."""
    x, rng = case
    y = rng.integers(0, x.shape[1], x.shape[0])
    options = {}
    if ignore_index is not None:
        y[rng.random(y.size) < 0.3] = ignore_index
        options["ignore_index"] = ignore_index
    tx, mx = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(y), **options)
    loss = MF.cross_entropy(mx, mt.tensor(y), **options)
    tloss.backward(torch.tensor(np.float32(seed)))
    loss.backward(mt.tensor(np.float32(seed)))
    assert_bitwise(loss.data, tloss, "loss")
    assert_bitwise(mx.grad.data, tx.grad, "gradient")
    # and the Python float makemore prints (every row ignored: nan on both sides)
    assert repr(loss.item()) == repr(tloss.item())


@settings(max_examples=80, deadline=None)
@given(case=logits(max_rows=200), how=st.sampled_from(["F", "torch", "method"]))
def test_softmax_and_log_softmax_last_dim_are_bitwise_torch(case, how):
    x, rng = case
    g = rng.standard_normal(x.shape).astype(np.float32)
    for name in ("softmax", "log_softmax"):
        tx, mx = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
        if how == "F":
            tout = getattr(torch.nn.functional, name)(tx, dim=-1)
            out = getattr(MF, name)(mx, dim=-1)
        elif how == "torch":
            tout, out = getattr(torch, name)(tx, -1), getattr(mt, name)(mx, -1)
        else:
            tout, out = getattr(tx, name)(-1), getattr(mx, name)(-1)
        tout.backward(torch.tensor(g))
        out.backward(mt.tensor(g))
        assert_bitwise(out.data, tout, f"{name} ({how})")
        assert_bitwise(mx.grad.data, tx.grad, f"{name} gradient ({how})")


@settings(max_examples=30, deadline=None)
@given(
    lead=st.lists(st.integers(1, 5), min_size=1, max_size=2),
    c=st.integers(1, 70),
    seed=st.integers(0, 2**32 - 1),
)
def test_softmax_of_a_batch_of_sequences_is_bitwise_torch(lead, c, seed):
    """(B, T, vocab) logits, as the GPT scripts have them: rows along the last dimension."""
    x = (np.random.default_rng(seed).standard_normal((*lead, c)) * 4).astype(np.float32)
    tx, mx = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
    tout, out = torch.softmax(tx, -1), mt.softmax(mx, -1)
    (tout * tout).sum().backward()
    (out * out).sum().backward()
    assert_bitwise(out.data, tout, "softmax")
    assert_bitwise(mx.grad.data, tx.grad, "softmax gradient")


@pytest.mark.parametrize("row", [[np.inf, 0, 1], [-np.inf, 0, 1], [np.nan, 0, 1], [3e38, -3e38, 0]])
def test_non_finite_and_extreme_logits_are_torch_bits(row):
    x = np.array([row, [1, 2, 3]], np.float32)
    for name in ("softmax", "log_softmax"):
        tout = getattr(torch, name)(torch.tensor(x), -1)
        assert_bitwise(getattr(mt, name)(mt.tensor(x), -1).data, tout, name)


def test_expf_replay_matches_the_exact_emulation_around_its_hard_cases():
    """The fast expf (float64 steps, halfway sums redone) against the operation-by-operation
    emulation: random values over its whole range, tiny ones (where s is small and the float64
    sums are inexact) and the bounds of its result's range."""
    rng = np.random.default_rng(0)
    d = np.concatenate(
        [
            rng.uniform(-110, 110, 200_000),
            rng.uniform(-1e-3, 1e-3, 100_000),
            np.ldexp(rng.uniform(-1, 1, 50_000), rng.integers(-149, -10, 50_000)),
            [0.0, -0.0, np.inf, -np.inf, np.nan, -87.3, -88.7, -103.9, -104, -104.1, 88.7, 89],
            [100.0, 100.1, 3e38, -3e38, 1e-45, -1e-45],
        ]
    ).astype(np.float32)
    with np.errstate(all="ignore"):
        assert_bitwise(_sleef.expf_u10(d), torch.tensor(_sleef._sleef_expf(d)), "expf")


def test_log_softmax_of_rows_of_equal_logits_is_torch_bits():
    """Rows of k equal logits: every exponential is exactly 1, so the row sum is exactly k and
    the output is -logf(k): SLEEF's logf of each integer 1..600, through torch's kernel."""
    for k in range(1, 601):
        row = np.full((1, k), 0.5, np.float32)
        expected = torch.log_softmax(torch.tensor(row), -1)
        assert_bitwise(_softmax32.log_softmax(row), expected, f"{k} equal logits")


@pytest.mark.parametrize("threads", [1, 2])
def test_softmax_backward_follows_torchs_thread_count(threads):
    """On one thread PyTorch fuses the last partial vector's multiply-add in softmax's
    backward sum; on several it does not: set_num_threads tells the replay which."""
    rng = np.random.default_rng(threads)
    x = (rng.standard_normal((64, 43)) * 4).astype(np.float32)
    g = rng.standard_normal((64, 43)).astype(np.float32)
    saved_torch, saved_ours = torch.get_num_threads(), _softmax32.kernel_threads
    try:
        torch.set_num_threads(threads)
        mt.set_num_threads(threads)
        tx, mx = torch.tensor(x, requires_grad=True), mt.tensor(x, requires_grad=True)
        torch.softmax(tx, -1).backward(torch.tensor(g))
        mt.softmax(mx, -1).backward(mt.tensor(g))
        assert_bitwise(mx.grad.data, tx.grad, f"softmax gradient on {threads} threads")
    finally:
        torch.set_num_threads(saved_torch)
        mt.set_num_threads(saved_torch)
        _softmax32.kernel_threads = saved_ours
