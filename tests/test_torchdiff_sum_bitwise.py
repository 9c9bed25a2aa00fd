"""float32 and float64 sum and mean against torch 2.13, bit for bit.

The course's scripts print mean losses with every digit (makemore's `torch.tensor(losses).mean()`,
nanoGPT's `losses.mean()`), so sums must add in PyTorch's order, not merely to within rounding.
Generated here: vector lengths from 1 to 5000 and the lengths around PyTorch's boundaries (its
8-lane vectors, the 4 interleaved partial sums, the cascade's blocks of 16 and 256), tensors of
up to 4 dims summed over any set of dims with and without keepdim, transposed and sliced
layouts, values of mixed magnitudes (where the order decides the last bits), one and several
threads for sums of 32768 elements or more (PyTorch splits those between its threads), and the
gradient reductions of broadcasting and of a linear layer's bias. The compiled loops
(`micrograd.tensor._creduce`) and the numpy replay (`micrograd.tensor._reduce`) must agree too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as MF
from micrograd.tensor import _reduce

COVERED = {"torch.sum", "torch.mean", "Tensor.sum", "Tensor.mean"}

# PyTorch's sum runs its 8-float-vector loops on x86-64 (its AVX-512 build reuses the AVX2 one)
pytestmark = pytest.mark.skipif(
    torch.backends.cpu.get_cpu_capability() not in ("DEFAULT", "AVX2", "AVX512"),
    reason="the replay follows PyTorch's x86-64 sum loops (8 floats, 4 doubles per vector)",
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# lengths where PyTorch's loops change course: vector multiples, 4 vectors, the cascade's blocks
BOUNDARIES = sorted(
    {
        n + d
        for m in (4, 8, 16, 32, 64, 128, 512, 2048, 4096)
        for n in (m, 3 * m)
        for d in (-1, 0, 1)
    }
    | {8192 - 1, 8192, 8192 + 8}
)
LENGTHS = st.one_of(st.integers(1, 5000), st.sampled_from(BOUNDARIES))
SIDES = st.one_of(st.integers(1, 70), st.sampled_from([7, 8, 9, 16, 31, 32, 33, 64, 65, 257]))
DTYPES = st.sampled_from(["float32", "float64"])


@pytest.fixture(autouse=True)
def threads_as_torch():
    """Our replay splits big sums as PyTorch's thread count says: keep both in step."""
    saved = _reduce.kernel_threads
    _reduce.kernel_threads = torch.get_num_threads()
    yield
    _reduce.kernel_threads = saved


def mixed(seed: int, shape: tuple, dtype: str) -> np.ndarray:
    """Values from 2**-20 to 2**20 in size, both signs, a few exact zeros of either sign."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    values = rng.standard_normal(n) * np.exp2(rng.integers(-20, 21, n))
    values[rng.random(n) < 0.02] = 0.0
    values[rng.random(n) < 0.02] = -0.0
    return values.astype(dtype).reshape(shape)


def assert_bitwise(ours, theirs, what: str) -> None:
    o = np.asarray(ours.detach().numpy() if hasattr(ours, "detach") else ours)
    t = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert o.shape == t.shape, f"{what}: shape {o.shape} != torch's {t.shape}"
    assert o.dtype == t.dtype, f"{what}: dtype {o.dtype} != torch's {t.dtype}"
    ints = np.int32 if o.dtype == np.float32 else np.int64
    nan = np.isnan(o) & np.isnan(t)  # a nan is a nan (sign and payload not compared)
    differ = np.flatnonzero((o.view(ints) != t.view(ints)).ravel() & ~nan.ravel())
    assert differ.size == 0, (
        f"{what}: {differ.size} of {o.size} differ, first at {differ[0]}: "
        f"{o.ravel()[differ[0]]!r} vs torch's {t.ravel()[differ[0]]!r}"
    )


def both_ways(a: np.ndarray, layout=lambda t: t):
    """Our tensor and torch's of `a`, each passed through `layout` (a permute or a slice)."""
    return layout(mt.tensor(a)), layout(torch.tensor(a))


def check_reductions(x, tx, dim, keepdim: bool, what: str) -> None:
    if dim is None:
        pairs = [
            (x.sum(), tx.sum()),
            (mt.sum(x), torch.sum(tx)),
            (x.mean(), tx.mean()),
            (mt.mean(x), torch.mean(tx)),
        ]
    else:
        pairs = [
            (x.sum(dim, keepdim), tx.sum(dim, keepdim)),
            (mt.sum(x, dim, keepdim=keepdim), torch.sum(tx, dim, keepdim=keepdim)),
            (x.mean(dim, keepdim), tx.mean(dim, keepdim)),
            (mt.mean(x, dim, keepdim=keepdim), torch.mean(tx, dim, keepdim=keepdim)),
        ]
    for (ours, theirs), name in zip(
        pairs, ["Tensor.sum", "torch.sum", "Tensor.mean", "torch.mean"]
    ):
        assert_bitwise(ours, theirs, f"{name} {what} dim={dim} keepdim={keepdim}")


@SETTINGS
@given(LENGTHS, DTYPES, st.integers(0, 2**32 - 1))
def test_whole_vectors(n, dtype, seed):
    a = mixed(seed, (n,), dtype)
    x, tx = both_ways(a)
    check_reductions(x, tx, None, False, f"of {n} {dtype}")
    check_reductions(x, tx, 0, False, f"of {n} {dtype}")
    assert x.mean().item() == tx.mean().item()  # what the scripts print


@SETTINGS
@given(LENGTHS, st.integers(1, 6), st.booleans(), DTYPES, st.integers(0, 2**32 - 1))
def test_long_rows_and_columns(n, rows, transposed, dtype, seed):
    """A few rows of 1 to 5000 elements, summed along them, across them and whole; transposed,
    the long dim is the strided one."""
    a = mixed(seed, (rows, n), dtype)
    x, tx = both_ways(a, (lambda t: t.t()) if transposed else (lambda t: t))
    for dim in (None, 0, 1, -1):
        check_reductions(x, tx, dim, False, f"of {tuple(tx.shape)} {dtype}")


@st.composite
def reductions(draw):
    """A shape of 1 to 4 dims (at most 20000 elements), a set of dims, a layout."""
    ndim = draw(st.integers(1, 4))
    shape = []
    for _ in range(ndim):
        room = 20000 // max(1, int(np.prod(shape)))
        shape.append(min(draw(SIDES), max(1, room)))
    dims = draw(
        st.one_of(
            st.none(),
            st.lists(
                st.integers(-ndim, ndim - 1),
                min_size=1,
                max_size=ndim,
                unique_by=lambda d: d % ndim,
            ),
        )
    )
    dim = (
        None
        if dims is None
        else (dims[0] if len(dims) == 1 and draw(st.booleans()) else tuple(dims))
    )
    layout = draw(st.sampled_from(["contiguous", "permuted", "sliced"]))
    perm = tuple(draw(st.permutations(range(ndim))))
    return tuple(shape), dim, layout, perm


@SETTINGS
@given(reductions(), st.booleans(), DTYPES, st.integers(0, 2**32 - 1))
def test_reductions_over_dims(case, keepdim, dtype, seed):
    shape, dim, layout, perm = case
    if layout == "permuted":  # a transposed view: PyTorch walks it in memory order
        a = mixed(seed, tuple(shape[p] for p in np.argsort(perm)), dtype)
        x, tx = both_ways(a, lambda t: t.permute(*perm))
    elif layout == "sliced":  # every other element of the last dim: not contiguous
        a = mixed(seed, shape[:-1] + (2 * shape[-1],), dtype)
        x, tx = both_ways(a, lambda t: t[..., ::2])
    else:
        a = mixed(seed, shape, dtype)
        x, tx = both_ways(a)
    check_reductions(x, tx, dim, keepdim, f"of {layout} {tuple(tx.shape)} {dtype}")


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "shape, dim",
    [
        ((40000,), None),
        ((100003,), None),
        ((70, 1000), 0),
        ((70, 1000), 1),
        ((300, 150), 0),
        ((3, 11000), 0),
        ((11000, 3), 0),
        ((9, 100, 50), (0, 2)),
        ((50, 1001), (0, 1)),
    ],
)
def test_sums_split_between_threads(shape, dim, threads):
    """From 32768 elements PyTorch splits a sum between its threads, which changes the order
    of the additions: a sum to one number in equal runs, others by output columns."""
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    _reduce.kernel_threads = threads
    try:
        for dtype in ("float32", "float64"):
            a = mixed(sum(shape) + threads, shape, dtype)
            x, tx = both_ways(a)
            check_reductions(x, tx, dim, False, f"of {shape} {dtype} on {threads} threads")
            x, tx = both_ways(a, lambda t: t.transpose(0, -1))
            check_reductions(x, tx, dim, True, f"of {shape}.T {dtype} on {threads} threads")
    finally:
        torch.set_num_threads(saved)


try:  # imported directly: it is compared with the numpy replay under MICROGRAD_PURE=1 too
    from micrograd.tensor import _creduce
except ImportError:  # not built: the two tests below are skipped (and CI fails on a skip)
    _creduce = None


@pytest.mark.skipif(_creduce is None, reason="micrograd.tensor._creduce is not built")
@SETTINGS
@given(reductions(), st.booleans(), DTYPES, st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_compiled_loops_and_numpy_replay_agree(case, keepdim, dtype, seed, threads):
    shape, dim, _, perm = case
    a = mixed(seed, shape, dtype).transpose(perm)
    axes = tuple(range(a.ndim)) if dim is None else dim if isinstance(dim, tuple) else (dim,)
    axes = tuple(sorted(d % a.ndim for d in axes))
    saved = _reduce._ccore
    try:
        _reduce._ccore = _creduce
        compiled = _reduce.torch_sum(a, axes, keepdim, threads)
        _reduce._ccore = None
        replayed = _reduce.torch_sum(a, axes, keepdim, threads)
    finally:
        _reduce._ccore = saved
    assert_bitwise(compiled, replayed, f"{a.shape} over {axes}")


def test_the_compiled_loops_are_used_when_built():
    if os.environ.get("MICROGRAD_REQUIRE_COMPILED") == "1":
        assert _creduce is not None, "MICROGRAD_REQUIRE_COMPILED=1 but _creduce is not built"
    if _creduce is None:
        pytest.skip("micrograd.tensor._creduce is not built")
    pure = os.environ.get("MICROGRAD_PURE", "") not in ("", "0")
    assert (_reduce._ccore is None) == pure
    code = "from micrograd.tensor import _reduce; print(_reduce._ccore is None)"
    for setting, expected in (("1", "True"), ("0", "False")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=dict(os.environ, MICROGRAD_PURE=setting),
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent.parent,
        )
        assert out.stdout.strip() == expected, f"MICROGRAD_PURE={setting}"


@SETTINGS
@given(
    st.sampled_from(
        [
            ((30, 17), (17,)),
            ((30, 17), (1, 17)),
            ((30, 17), (30, 1)),
            ((4, 9, 33), (33,)),
            ((4, 9, 33), (9, 1)),
            ((600, 40), (40,)),
        ]
    ),
    DTYPES,
    st.integers(0, 2**32 - 1),
)
def test_gradients_of_broadcasting_are_torchs_sums(shapes, dtype, seed):
    """The gradient of a broadcast input is PyTorch's sum over the broadcast dims."""
    big, small = shapes
    upstream = mixed(seed, big, dtype)
    x, tx = both_ways(mixed(seed + 1, big, dtype))
    b = mt.tensor(mixed(seed + 2, small, dtype), requires_grad=True)
    tb = torch.tensor(b.data, requires_grad=True)
    ((x + b) * mt.tensor(upstream)).sum().backward()
    ((tx + tb) * torch.tensor(upstream)).sum().backward()
    assert_bitwise(b.grad, tb.grad, f"grad of {small} broadcast to {big}")


@SETTINGS
@given(st.sampled_from([(32, 20, 7), (600, 5, 33), (4, 3, 9)]), st.integers(0, 2**32 - 1))
def test_linear_bias_gradient_is_torchs_column_sum(sizes, seed):
    n, nin, nout = sizes
    x, w, bias = (
        mixed(seed + i, s, "float32") for i, s in enumerate([(n, nin), (nout, nin), (nout,)])
    )
    upstream = mixed(seed + 3, (n, nout), "float32")
    b = mt.tensor(bias, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    (MF.linear(mt.tensor(x), mt.tensor(w), b) * mt.tensor(upstream)).sum().backward()
    (
        torch.nn.functional.linear(torch.tensor(x), torch.tensor(w), tb) * torch.tensor(upstream)
    ).sum().backward()
    assert_bitwise(b.grad, tb.grad, "linear's bias gradient")


@SETTINGS
@given(reductions(), st.booleans(), st.integers(0, 2**32 - 1))
def test_mean_gradients(case, keepdim, seed):
    shape, dim, _, _ = case
    a = mixed(seed, shape, "float32")
    x = mt.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    out, tout = (
        (x.mean(), tx.mean()) if dim is None else (x.mean(dim, keepdim), tx.mean(dim, keepdim))
    )
    upstream = mixed(seed + 1, tuple(tout.shape), "float32")
    out.backward(mt.tensor(upstream))
    tout.backward(torch.tensor(upstream))
    assert_bitwise(x.grad, tx.grad, "mean's gradient")


@SETTINGS
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_mean_of_a_list_of_python_floats(losses):
    """makemore's evaluation: a float32 tensor of Python floats (each rounded to float32 as
    PyTorch rounds it), then its mean, printed with every digit."""
    x, tx = mt.tensor(losses), torch.tensor(losses)
    assert_bitwise(x, tx, "torch.tensor(list of floats)")
    assert x.mean().item() == tx.mean().item()
    assert f"{x.mean().item():.17g}" == f"{tx.mean().item():.17g}"
    # nanoGPT's and the GPT lecture's estimate_loss: zeros, one loss stored per batch, the mean
    ours, theirs = mt.zeros(len(losses)), torch.zeros(len(losses))
    for k, loss in enumerate(losses):
        ours[k], theirs[k] = loss, loss
    assert_bitwise(ours.mean(), theirs.mean(), "losses.mean()")


def test_sign_of_zero_and_special_values():
    cases = [
        [-0.0],
        [-0.0, -0.0],
        [0.0, -0.0],
        [1e38, 1e38, 1e38, -np.inf],
        [np.inf, -np.inf],
        [np.nan, 1.0],
        [3e38] * 9 + [-np.inf],
        [-0.0] * 40,
    ]
    for case in cases:
        for dtype in ("float32", "float64"):
            x, tx = both_ways(np.array(case, dtype))
            check_reductions(x, tx, None, False, f"of {case}")
            x, tx = both_ways(np.array(case, dtype).reshape(-1, 1))
            check_reductions(x, tx, 1, True, f"of {case} over a dim of length 1")
