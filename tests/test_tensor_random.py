"""`micrograd.tensor.random.Generator` against torch 2.13's CPU generator: the same numbers, bit
for bit, and the same generator state (torch's 5056 bytes) after every call."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")

from micrograd.tensor import random as mrandom
from micrograd.tensor.random import Generator

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)

SEEDS = [0, 1, 7, 42, 2147483647, -1, -12345, 2**32 + 5, 2**64 - 1, -(2**63)]
SIZES = list(range(1, 41)) + [729, 1000, 1001, 4099]
DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


def pair(seed):
    return torch.Generator().manual_seed(seed), Generator().manual_seed(seed)


def assert_same_state(tg, mg):
    np.testing.assert_array_equal(tg.get_state().numpy(), mg.get_state())


def assert_bits_equal(ours, theirs):
    """Exact equality, dtype included (NaNs and signed zeros compared by their bits)."""
    theirs = theirs.numpy() if hasattr(theirs, "numpy") else theirs
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(
        ours.reshape(-1).view(np.uint8), theirs.reshape(-1).view(np.uint8)
    )


# ------------------------------------------------------------------------------ seeding, state


@pytest.mark.parametrize("seed", SEEDS + [5489, 2**32, 2**63])
def test_seeding_gives_torchs_state_bytes(seed):
    tg, mg = pair(seed)
    assert mg.initial_seed() == tg.initial_seed()
    assert_same_state(tg, mg)


def test_unseeded_generator_starts_from_torchs_default_seed():
    tg, mg = torch.Generator(), Generator()
    assert mg.initial_seed() == tg.initial_seed() == 67280421310721
    assert_bits_equal(mg.normal((5, 7)), torch.randn(5, 7, generator=tg))


@pytest.mark.parametrize("bad", [2**64, -(2**63) - 1])
def test_seed_out_of_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match="seed must be in"):
        Generator().manual_seed(bad)


@pytest.mark.parametrize("bad", [1.5, True, "3", None])
def test_generator_seed_must_be_an_int(bad):
    with pytest.raises(TypeError, match="manual_seed expects an int"):
        Generator().manual_seed(bad)


def test_module_manual_seed_converts_like_torch_manual_seed():
    for seed in (1.9, True, -1, 2147483647):
        torch.manual_seed(seed)
        assert mrandom.manual_seed(seed) is mrandom.default_generator
        assert mrandom.initial_seed() == torch.initial_seed()
        assert_bits_equal(mrandom.default_generator.normal(30), torch.randn(30))
        np.testing.assert_array_equal(mrandom.get_rng_state(), torch.get_rng_state().numpy())


def test_seed_is_fresh_and_reported():
    g = Generator()
    first, second = g.seed(), g.seed()
    assert first != second and g.initial_seed() == second and 0 <= second < 2**64
    assert_bits_equal(g.uniform(9), Generator().manual_seed(second).uniform(9))


def test_state_round_trips_with_torch_in_both_directions():
    tg, mg = pair(2147483647)
    mg.normal(3)  # leaves a cached normal in the state
    mg.uniform(700)  # and crosses a twist of the Mersenne Twister
    tg.set_state(torch.from_numpy(mg.get_state()))
    assert_bits_equal(mg.normal(5), torch.randn(5, generator=tg))
    assert_bits_equal(mg.randint(0, 27, 40), torch.randint(0, 27, (40,), generator=tg))
    tg.manual_seed(99)
    torch.randn(7, generator=tg)
    mg.set_state(tg.get_state().numpy())
    assert_bits_equal(mg.normal(3), torch.randn(3, generator=tg))
    assert_same_state(tg, mg)


def test_get_state_is_a_copy_and_set_state_restores_it():
    g = Generator().manual_seed(3)
    saved = g.get_state()
    first = g.normal(50)
    saved_again = g.get_state()
    g.set_state(saved)
    assert_bits_equal(g.normal(50), first)
    np.testing.assert_array_equal(g.get_state(), saved_again)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(10, np.uint8), "5056 bytes"),
        (np.zeros(5056, np.int64), "5056 bytes"),
        (np.zeros(5056, np.uint8), "invalid generator state"),  # left == 0
    ],
)
def test_set_state_rejects_what_is_not_a_state(bad, match):
    with pytest.raises(ValueError, match=match):
        Generator().set_state(bad)


# ----------------------------------------------------------------------------- uniform, normal


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype, tdtype", DTYPES)
def test_rand_and_randn_match_torch_for_every_size(seed, dtype, tdtype):
    tg, mg = pair(seed)
    for n in SIZES:  # one generator through all sizes: the stream position must stay in step
        assert_bits_equal(mg.uniform(n, dtype=dtype), torch.rand(n, generator=tg, dtype=tdtype))
        assert_bits_equal(mg.normal(n, dtype=dtype), torch.randn(n, generator=tg, dtype=tdtype))
    assert_same_state(tg, mg)


@pytest.mark.parametrize("seed", [0, 42, 2147483647])
def test_randn_float32_matches_torch_on_a_large_tensor(seed):
    tg, mg = pair(seed)
    assert_bits_equal(mg.normal((1000, 1001)), torch.randn(1000, 1001, generator=tg))


@pytest.mark.parametrize("draws", [623, 624, 625, 1248])
def test_state_bytes_at_the_twist_boundaries(draws):
    # torch keeps next = 0 after seeding but next = 624 after 624 draws; both twist next.
    tg, mg = pair(3)
    assert_bits_equal(mg.uniform(draws), torch.rand(draws, generator=tg))
    assert_same_state(tg, mg)
    assert_bits_equal(
        mg.uniform(draws // 2, dtype=np.float64),
        torch.rand(draws // 2, generator=tg, dtype=torch.float64),
    )
    assert_same_state(tg, mg)


def test_generators_are_independent():
    a, b = Generator().manual_seed(1), Generator().manual_seed(1)
    state = mrandom.get_rng_state()
    first = a.normal(100)
    assert_bits_equal(b.normal(100), first)  # drawing from a did not move b
    np.testing.assert_array_equal(mrandom.get_rng_state(), state)  # nor the default generator


DEFAULT_KERNEL_SCRIPT = """
import numpy as np, torch
from micrograd.tensor.random import Generator
assert torch.backends.cpu.get_cpu_capability() == "DEFAULT"
tg, mg = torch.Generator().manual_seed(2147483647), Generator().manual_seed(2147483647)
same = lambda a, b: np.array_equal(a.numpy(), b)
assert same(torch.rand(100, generator=tg), mg.uniform(100))
assert same(torch.randn(10, generator=tg), mg.normal(10))
assert same(torch.randn(100, generator=tg, dtype=torch.float64), mg.normal(100, dtype=np.float64))
assert same(torch.randint(0, 27, (100,), generator=tg), mg.randint(0, 27, 100))
assert same(torch.randperm(50, generator=tg), mg.randperm(50))
assert same(torch.empty(100).exponential_(generator=tg), mg.exponential(100))
p = np.random.default_rng(0).random((5, 27)).astype(np.float32)
for n, r in [(1, True), (20, True), (20, False)]:
    assert same(torch.multinomial(torch.from_numpy(p), n, r, generator=tg), mg.multinomial(p, n, r))
theirs, ours = torch.randn(27, 27, generator=tg).numpy(), mg.normal((27, 27))
print((theirs != ours).mean(), np.abs(theirs - ours).max())
"""


def test_torchs_portable_kernel_differs_only_where_the_readme_says():
    # Without AVX2 torch computes float32 randn (16 values or more) with the C library's float
    # functions: the README quotes the share of differing values and their size.
    import os
    import subprocess
    import sys

    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    out = subprocess.run(
        [sys.executable, "-c", DEFAULT_KERNEL_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    share, largest = map(float, out.stdout.split())
    assert 0.2 < share < 0.6 and 0 < largest <= 2e-6


@pytest.mark.parametrize("dtype, tdtype", DTYPES)
@pytest.mark.parametrize("n", [1, 5, 16, 29, 1000])
def test_uniform_and_normal_with_bounds_and_moments(dtype, tdtype, n):
    # x * (high - low) + low and z * std + mean are single-rounding FMAs in torch's build.
    for seed in (0, 42, 2147483647):
        tg, mg = pair(seed)
        theirs = torch.empty(n, dtype=tdtype).uniform_(-1.7, 3.3, generator=tg)
        assert_bits_equal(mg.uniform(n, -1.7, 3.3, dtype=dtype), theirs)
        theirs = torch.empty(n, dtype=tdtype).normal_(0.3, 2.5, generator=tg)
        assert_bits_equal(mg.normal(n, 0.3, 2.5, dtype=dtype), theirs)
        assert_same_state(tg, mg)


def test_randn_exact_fma_route_gives_the_same_numbers(monkeypatch):
    # The quick float64 FMAs fall back to exact ones when a sum is halfway between two float32s
    # (about 1% of 27x27 draws); force the fallback everywhere and compare with torch again.
    monkeypatch.setattr(mrandom, "_any_float32_halfway", lambda sums: True)
    for seed in (0, 2147483647):
        tg, mg = pair(seed)
        assert_bits_equal(mg.normal((27, 27)), torch.randn((27, 27), generator=tg))
        assert_bits_equal(mg.normal(37, 0.5, 3.0), torch.empty(37).normal_(0.5, 3.0, generator=tg))


@pytest.mark.parametrize(
    "low, high, mean, std",
    [(0.0, 1e308, 1e-310, 1e-300), (-1e307, 1e307, 0.0, 1e300), (0.0, 1e-310, 5.0, 1e-320)],
)
def test_extreme_bounds_and_moments_in_float64(low, high, mean, std):
    # The exact FMA emulation's split would overflow or lose bits there: it computes exactly.
    for n in (5, 100):
        tg, mg = pair(1)
        theirs = torch.empty(n, dtype=torch.float64).uniform_(low, high, generator=tg)
        assert_bits_equal(mg.uniform(n, low, high, dtype=np.float64), theirs)
        theirs = torch.empty(n, dtype=torch.float64).normal_(mean, std, generator=tg)
        assert_bits_equal(mg.normal(n, mean, std, dtype=np.float64), theirs)


def test_scalar_normal_cache_carries_between_calls():
    # randn of fewer than 16 values makes them in pairs and keeps the odd one for the next call.
    tg, mg = pair(2147483647)
    for n, dtype, tdtype in [(3, *DTYPES[0]), (1, *DTYPES[1]), (20, *DTYPES[0]), (5, *DTYPES[0])]:
        assert_bits_equal(mg.normal(n, dtype=dtype), torch.randn(n, generator=tg, dtype=tdtype))
        assert_same_state(tg, mg)
    mg.manual_seed(2147483647)  # reseeding drops the cached value, as in torch
    tg.manual_seed(2147483647)
    assert_bits_equal(mg.normal(1), torch.randn(1, generator=tg))


def test_shapes_and_empty_tensors():
    tg, mg = pair(1)
    assert_bits_equal(mg.normal((2, 3, 4)), torch.randn(2, 3, 4, generator=tg))
    assert_bits_equal(mg.uniform((0, 5)), torch.rand(0, 5, generator=tg))
    assert_bits_equal(mg.normal(()), torch.randn((), generator=tg))
    assert_same_state(tg, mg)


@pytest.mark.parametrize("seed", [0, 42, 2147483647])
@pytest.mark.parametrize("dtype, tdtype", DTYPES)
def test_exponential_matches_torch(seed, dtype, tdtype):
    tg, mg = pair(seed)
    for n, lambd in [(1, 1.0), (27, 1.0), (100, 0.5), (1000, 3.0)]:
        theirs = torch.empty(n, dtype=tdtype).exponential_(lambd, generator=tg)
        assert_bits_equal(mg.exponential(n, lambd, dtype=dtype), theirs)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda g: g.normal(-1), ValueError),
        (lambda g: g.normal((2, 1.5)), TypeError),
        (lambda g: g.normal(3, dtype=np.int64), TypeError),
        (lambda g: g.uniform(3, dtype=np.float16), TypeError),
        (lambda g: g.exponential(3, lambd=0.0), ValueError),
        (lambda g: g.normal(3, 0.0, -1.0), ValueError),
        (lambda g: g.normal(3, 0.0, float("nan")), ValueError),
        (lambda g: g.uniform(3, 2.0, 1.0), ValueError),
        (lambda g: g.uniform(3, 0.0, float("inf")), ValueError),
        (lambda g: g.uniform(3, float("nan"), 1.0), ValueError),
        (lambda g: g.uniform(3, -3e38, 3e38), ValueError),
    ],
)
def test_bad_sampling_arguments(call, error):
    with pytest.raises(error):
        call(Generator())


# ----------------------------------------------------------------------------------- integers

RANGES = [
    (0, 27),
    (-5, 5),
    (3, 4),
    (0, 2**28 - 1),  # the last range drawn from 32 bits
    (0, 2**28),  # the first drawn from 64 bits
    (0, 2**31),
    (0, 2**32 + 1),
    (-(2**40), 2**50),
    (-(2**63), 2**63 - 1),
]


@pytest.mark.filterwarnings("ignore:.*out of bounds:UserWarning")  # float64 past 2**53
@pytest.mark.parametrize("low, high", RANGES)
def test_randint_matches_torch(low, high):
    for seed in (0, 42, 2147483647, -5):
        for dtype, tdtype in [(np.int64, torch.int64), (np.float64, torch.float64)]:
            tg, mg = pair(seed)
            theirs = torch.randint(low, high, (3, 11), generator=tg, dtype=tdtype)
            assert_bits_equal(mg.randint(low, high, (3, 11), dtype=dtype), theirs)
            assert_same_state(tg, mg)


@pytest.mark.parametrize("low, high", [(0, 2**31), (0, 2**32), (-(2**40), 2**50), (-7, 2**25)])
def test_randint_float32_moves_bounds_it_cannot_hold(low, high):
    tg, mg = pair(2147483647)
    with pytest.warns(UserWarning) if high > 2**24 else _no_warning():
        theirs = torch.randint(low, high, (500,), generator=tg, dtype=torch.float32)
    assert_bits_equal(mg.randint(low, high, 500, dtype=np.float32), theirs)


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize("dtype, tdtype", [(np.int32, torch.int32), (np.int16, torch.int16)])
def test_randint_small_integer_dtypes(dtype, tdtype):
    tg, mg = pair(42)
    assert_bits_equal(
        mg.randint(-100, 100, 64, dtype=dtype),
        torch.randint(-100, 100, (64,), generator=tg, dtype=tdtype),
    )


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((5, 5, 3), ValueError, "low < high"),
        ((0, 2**31 + 1, 3, np.int32), ValueError, "out of bounds"),
        ((0.5, 3, 3), TypeError, "low must be an int"),
    ],
)
def test_randint_rejects_bad_ranges(args, error, match):
    with pytest.raises(error, match=match):
        Generator().randint(*args)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1000, 5000])
def test_randperm_matches_torch(n):
    for seed in (0, 2147483647):
        tg, mg = pair(seed)
        assert_bits_equal(mg.randperm(n), torch.randperm(n, generator=tg))
        assert_same_state(tg, mg)


# -------------------------------------------------------------------------------- multinomial


def _random_probs(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    p = rng.random(shape).astype(dtype)
    p[rng.random(shape) < 0.2] = 0  # some impossible categories
    p[..., 0] += dtype(0.01)  # but never a row of zeros
    return p


@pytest.mark.parametrize("shape", [(3,), (27,), (1, 27), (5, 27), (300,), (4, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multinomial_matches_torch(shape, dtype):
    probs = _random_probs(shape, dtype, seed=len(shape) * 1000 + shape[-1])
    nonzero = int((probs > 0).sum(-1).min())
    for seed in (0, 42, 2147483647):
        for num_samples in sorted({1, 2, 3, 20, nonzero}):
            for replacement in (True, False):
                if not replacement and num_samples > nonzero:
                    continue  # ties among zero-probability categories: see the tie test below
                tg, mg = pair(seed)
                theirs = torch.multinomial(
                    torch.from_numpy(probs), num_samples, replacement, generator=tg
                )
                assert_bits_equal(mg.multinomial(probs, num_samples, replacement), theirs)
                assert_same_state(tg, mg)


@pytest.mark.parametrize(
    "probs",
    [
        [0.0, 0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
        [1e-30, 1e-30, 0.0],
        [1e38] * 3,
    ],
)
def test_multinomial_degenerate_distributions(probs):
    for dtype, tdtype in DTYPES:
        p = np.array(probs, dtype)
        for num_samples, replacement in [(1, True), (1, False), (5, True)]:
            tg, mg = pair(2147483647)
            theirs = torch.multinomial(
                torch.tensor(probs, dtype=tdtype), num_samples, replacement, generator=tg
            )
            assert_bits_equal(mg.multinomial(p, num_samples, replacement), theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multinomial_ties_among_zero_probabilities_come_in_torchs_order(dtype):
    # More samples than non-zero categories: the rest are tied zeros, ordered the way torch.topk's
    # libstdc++ sort leaves them.
    rng = np.random.default_rng(5)
    for n_categories in (4, 27, 100, 700):
        probs = rng.random((3, n_categories)).astype(dtype)
        probs[rng.random(probs.shape) < 0.7] = 0
        probs[:, 1] = 0.5
        for num_samples in sorted({2, min(5, n_categories), n_categories // 2, n_categories}):
            tg, mg = pair(2147483647)
            theirs = torch.multinomial(torch.from_numpy(probs), num_samples, False, generator=tg)
            assert_bits_equal(mg.multinomial(probs, num_samples), theirs)


def test_topk_tie_order_matches_torch_topk():
    from micrograd.tensor._topk import topk_indices

    rng = np.random.default_rng(0)
    for trial in range(400):
        n = int(rng.integers(1, 300))
        values = rng.integers(0, int(rng.integers(1, 6)), n).astype(np.float32)
        if trial % 4 == 0:
            values[rng.random(n) < 0.1] = np.nan
        for k in {1, max(1, n // 64), int(rng.integers(1, n + 1)), n}:
            expected = torch.topk(torch.from_numpy(values), k).indices.tolist()
            assert topk_indices(values.tolist(), k) == expected


@pytest.mark.parametrize(
    "probs, num_samples, replacement, match",
    [
        ([0.0, 0.0], 1, True, "sum of probabilities"),
        ([[1.0, 1.0], [0.0, 0.0]], 1, False, "sum of probabilities"),
        ([[1.0, 1.0], [0.0, 0.0]], 3, True, "sum of probabilities"),
        ([1.0, -1.0], 1, False, "element < 0"),
        ([1.0, -1.0], 2, True, "entry < 0"),
        ([1.0, np.inf], 1, False, "`inf`, `nan`"),
        ([1.0, np.nan], 2, True, "infinity or NaN"),
        ([1.0, 1.0], 3, False, "without replacement"),
        ([1.0, 1.0], 0, True, "<= 0 samples"),
        ([[[1.0]]], 1, True, "1 or 2 dim"),
    ],
)
def test_multinomial_refuses_what_torch_refuses(probs, num_samples, replacement, match):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(probs), num_samples, replacement)
    with pytest.raises(ValueError, match=match):
        Generator().multinomial(np.array(probs, np.float32), num_samples, replacement)


def test_multinomial_wants_float_probabilities():
    with pytest.raises(TypeError, match="floating-point"):
        Generator().multinomial(np.array([1, 2]), 1)


# ------------------------------------------------------------------------- the lectures' calls


def test_bigram_lecture_sequence():
    """makemore part 1: a random distribution, samples from it, then the sampling loop."""
    tg, mg = pair(2147483647)
    p = mg.uniform(3)
    tp = torch.rand(3, generator=tg)
    assert_bits_equal(p, tp)
    p, tp = p / p.sum(), tp / tp.sum()
    theirs = torch.multinomial(tp, num_samples=100, replacement=True, generator=tg)
    assert_bits_equal(mg.multinomial(p, num_samples=100, replacement=True), theirs)

    counts = np.random.default_rng(0).integers(0, 500, (27, 27)).astype(np.float32) + 1
    P = counts / counts.sum(1, keepdims=True)
    tP = torch.from_numpy(P.copy())
    for _ in range(20):  # sample 20 names, one character at a time
        ix = tix = 0
        while True:
            ix = int(mg.multinomial(P[ix], num_samples=1, replacement=True)[0])
            tix = torch.multinomial(tP[tix], num_samples=1, replacement=True, generator=tg).item()
            assert ix == tix
            if ix == 0:
                break
    assert_same_state(tg, mg)


def test_mlp_lecture_sequence():
    """makemore parts 2-4: embeddings, layers scaled at init, minibatches, sampling."""
    tg, mg = pair(2147483647)
    n_embd, n_hidden, vocab = 10, 200, 27
    calls = [
        (lambda: mg.normal((vocab, n_embd)), lambda: torch.randn((vocab, n_embd), generator=tg)),
        (
            lambda: mg.normal((n_embd * 3, n_hidden)) * np.float32(5 / 3) / np.float32(30**0.5),
            lambda: torch.randn((n_embd * 3, n_hidden), generator=tg) * (5 / 3) / 30**0.5,
        ),
        (
            lambda: mg.normal(n_hidden) * np.float32(0.01),
            lambda: torch.randn(n_hidden, generator=tg) * 0.01,
        ),
        (
            lambda: mg.randint(0, 182625, (32,)),
            lambda: torch.randint(0, 182625, (32,), generator=tg),
        ),
    ]
    for ours, theirs in calls * 3:
        assert_bits_equal(ours(), theirs())
    logits = mg.normal((1, vocab))
    tlogits = torch.randn((1, vocab), generator=tg)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    tprobs = torch.from_numpy(probs.copy())
    assert_bits_equal(
        mg.multinomial(probs, 1), torch.multinomial(tprobs, num_samples=1, generator=tg)
    )
    assert_bits_equal(logits, tlogits)
    assert_same_state(tg, mg)


def test_default_generator_sequence_after_manual_seed_42():
    torch.manual_seed(42)
    mrandom.manual_seed(42)
    g = mrandom.default_generator
    assert_bits_equal(g.normal((4, 4)), torch.randn(4, 4))
    assert_bits_equal(g.normal(3), torch.randn(3))
    assert_bits_equal(g.uniform(17), torch.rand(17))


@pytest.mark.parametrize("seed", [0, 2147483647, -3])
def test_random_mixed_call_sequences(seed):
    """200 random calls of every kind on one generator: numbers and state stay torch's."""
    plan = np.random.default_rng(seed & 0xFFFF)
    tg, mg = pair(seed)
    for _ in range(200):
        kind = plan.integers(7)
        n = int(plan.choice([1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 729]))
        dtype, tdtype = DTYPES[plan.integers(2)]
        if kind == 0:
            ours, theirs = mg.normal(n, dtype=dtype), torch.randn(n, generator=tg, dtype=tdtype)
        elif kind == 1:
            ours, theirs = mg.uniform(n, dtype=dtype), torch.rand(n, generator=tg, dtype=tdtype)
        elif kind == 2:
            high = int(plan.choice([2, 27, 1000, 2**30, 2**40]))
            ours = mg.randint(-1, high, n)
            theirs = torch.randint(-1, high, (n,), generator=tg)
        elif kind == 3:
            ours = mg.exponential(n, dtype=dtype)
            theirs = torch.empty(n, dtype=tdtype).exponential_(generator=tg)
        elif kind == 4:
            ours, theirs = mg.randperm(n), torch.randperm(n, generator=tg)
        else:
            probs = plan.random((int(plan.integers(1, 4)), 27)).astype(dtype)
            samples = int(plan.integers(1, 10))
            replacement = bool(kind == 5)
            ours = mg.multinomial(probs, samples, replacement)
            theirs = torch.multinomial(torch.from_numpy(probs), samples, replacement, generator=tg)
        assert_bits_equal(ours, theirs)
    assert_same_state(tg, mg)


@pytest.mark.parametrize(
    "dtype, tdtype", [(np.float64, torch.float64), (np.float32, torch.float32)]
)
def test_exponential_and_large_float64_normals_match_torch_on_any_cpu(dtype, tdtype):
    """torch calls the C library's log1p/log; numpy's float64 versions differ from it in the last
    bit on CPUs where numpy uses its AVX-512 code, so these draws must not go through them."""
    tg, mg = pair(7)
    theirs = torch.empty(50_000, dtype=tdtype).exponential_(generator=tg)
    assert_bits_equal(mg.exponential(50_000, dtype=dtype), theirs)
    assert_bits_equal(
        mg.normal(50_000, dtype=dtype), torch.randn(50_000, generator=tg, dtype=tdtype)
    )
    assert_same_state(tg, mg)
