"""`micrograd.tensor.utils.data` against `torch.utils.data` 2.13: the same batches, in the same
order, from the same seeds (shuffled or not, with or without a generator, with replacement,
dropping the last batch), the same generator state afterwards, and torch's collation rules."""

from __future__ import annotations

import itertools
import warnings

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt

COVERED = {
    "torch.utils",
    "utils.data",
    "utils.data.DataLoader",
    "utils.data.Dataset",
    "utils.data.IterableDataset",
    "utils.data.TensorDataset",
    "utils.data.Subset",
    "utils.data.ConcatDataset",
    "utils.data.random_split",
    "utils.data.Sampler",
    "utils.data.SequentialSampler",
    "utils.data.RandomSampler",
    "utils.data.SubsetRandomSampler",
    "utils.data.BatchSampler",
    "utils.data.default_collate",
}


def batches(lib, loader):
    out = []
    for batch in loader:
        xs, ys = batch
        out.append((xs.tolist(), ys.tolist(), str(xs.dtype).replace("torch.", "")))
    return out


def datasets(n, seed):
    x = np.random.default_rng(seed).standard_normal((n, 3)).astype(np.float32)
    y = np.arange(n)
    return (
        mt.utils.data.TensorDataset(mt.from_numpy(x.copy()), mt.from_numpy(y.copy())),
        torch.utils.data.TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy())),
    )


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 70),
    batch_size=st.integers(1, 16),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    own_generator=st.booleans(),
    seed=st.integers(0, 2**63 - 1),
    passes=st.integers(1, 2),
)
def test_dataloader_gives_torchs_batches(
    n, batch_size, shuffle, drop_last, own_generator, seed, passes
):
    ours_ds, theirs_ds = datasets(n, seed % 1000)
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    gens = (mt.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 1))
    kw = {"batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last}
    ours = mt.utils.data.DataLoader(ours_ds, generator=gens[0] if own_generator else None, **kw)
    theirs = torch.utils.data.DataLoader(
        theirs_ds, generator=gens[1] if own_generator else None, **kw
    )
    assert len(ours) == len(theirs)
    for _ in range(passes):
        assert batches(mt, ours) == batches(torch, theirs)
    # the generators were left in the same state
    assert mt.randint(0, 2**31 - 1, (4,)).tolist() == torch.randint(0, 2**31 - 1, (4,)).tolist()
    assert (
        gens[0].randint(0, 1000, (3,)).tolist()
        == torch.randint(0, 1000, (3,), generator=gens[1]).tolist()
    )


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 50), num_samples=st.integers(1, 100), seed=st.integers(0, 2**32))
def test_random_sampler_with_replacement_as_makemore_uses_it(n, num_samples, seed):
    """makemore.py's InfiniteDataLoader: RandomSampler(replacement=True, num_samples=...)."""
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    ours = list(mt.utils.data.RandomSampler(range(n), replacement=True, num_samples=num_samples))
    theirs = list(
        torch.utils.data.RandomSampler(range(n), replacement=True, num_samples=num_samples)
    )
    assert ours == theirs


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 40), seed=st.integers(0, 2**32), fractions=st.booleans())
def test_random_split_and_subset_random_sampler(n, seed, fractions):
    lengths = [0.5, 0.3, 0.2] if fractions else [n // 2, n - n // 2]
    g1, g2 = mt.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = mt.utils.data.random_split(range(n), lengths, generator=g1)
    with warnings.catch_warnings(record=True) as theirs_warned:
        warnings.simplefilter("always")
        theirs = torch.utils.data.random_split(range(n), lengths, generator=g2)
    assert [str(w.message) for w in ours_warned] == [str(w.message) for w in theirs_warned]
    assert [list(s) for s in ours] == [list(s) for s in theirs]
    assert list(mt.utils.data.SubsetRandomSampler([5, 6, 7, 8], generator=g1)) == list(
        torch.utils.data.SubsetRandomSampler([5, 6, 7, 8], generator=g2)
    )


SAMPLES = [
    [1.5, 2.5],
    [1, 2, 3],
    [True, False],
    [(1, 2.0), (3, 4.0)],
    [{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
    [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
    [np.float32(1.5), np.float32(2.5)],
    ["x", "y"],
]


def describe(value):
    if isinstance(value, (mt.Tensor, torch.Tensor)):
        return ("tensor", str(value.dtype).replace("torch.", ""), value.tolist())
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [describe(v) for v in value])
    return value


@pytest.mark.parametrize("samples", SAMPLES)
def test_default_collate_as_torch(samples):
    ours = mt.utils.data.default_collate(list(samples))
    theirs = torch.utils.data.default_collate(list(samples))
    assert describe(ours) == describe(theirs)


class Words:
    """A map-style data set of (x, y) rows built with the library's own tensors, as makemore's
    CharDataset (a plain class: the DataLoader only needs __getitem__ and __len__)."""

    def __init__(self, lib, n):
        self.lib, self.n = lib, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = self.lib.zeros(4, dtype=self.lib.long)
        x[1:3] = self.lib.tensor([i, i + 1])
        return x, self.lib.tensor(i % 3)


def loader_draws(lib, seed, n, batch_size, num_workers, prefetch_factor, n_batches, shuffle):
    """makemore's two loaders: the endless training one (a RandomSampler with replacement and
    10**10 samples, pinned memory, workers) or evaluate()'s shuffling one, with random numbers
    drawn between iter() and the first batch, and after the last one."""
    lib.manual_seed(seed)
    options = {"batch_size": batch_size, "num_workers": num_workers, "pin_memory": True}
    if num_workers:
        options["prefetch_factor"] = prefetch_factor
    data = Words(lib, n)
    if shuffle:
        loader = lib.utils.data.DataLoader(data, shuffle=True, **options)
    else:
        sampler = lib.utils.data.RandomSampler(data, replacement=True, num_samples=int(1e10))
        loader = lib.utils.data.DataLoader(data, sampler=sampler, **options)
    batches = iter(loader)
    between = lib.rand(2).tolist()
    got = []
    for batch in itertools.islice(batches, n_batches):
        got.append([t.tolist() for t in batch])
    return len(loader), between, got, lib.rand(2).tolist()


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    n=st.integers(1, 40),
    batch_size=st.integers(1, 8),
    num_workers=st.sampled_from([0, 1, 2, 4]),
    prefetch_factor=st.sampled_from([None, 1, 3]),
    n_batches=st.integers(1, 6),
    shuffle=st.booleans(),
)
def test_makemore_loaders_draw_in_torchs_order(
    seed, n, batch_size, num_workers, prefetch_factor, n_batches, shuffle
):
    """With workers, torch's sampler runs prefetch_factor * num_workers batches ahead from
    iter() on, so a shuffling sampler seeds itself before the caller's next random draw."""
    args = (seed, n, batch_size, num_workers, prefetch_factor, n_batches, shuffle)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pin_memory.*")
        warnings.filterwarnings("ignore", message=".*worker processes in total.*")
        theirs = loader_draws(torch, *args)
    assert loader_draws(mt, *args) == theirs


def test_a_sampler_that_draws_when_iterated_draws_before_the_base_seed():
    """torch's iterator makes the sampler's iterator first, then draws its base seed."""

    def eager(lib):
        class Eager(lib.utils.data.Sampler):
            def __iter__(self):
                return iter(lib.randperm(5).tolist())

            def __len__(self):
                return 5

        lib.manual_seed(7)
        loader = lib.utils.data.DataLoader(list(range(5)), sampler=Eager(), batch_size=2)
        batches = iter(loader)
        drawn = lib.rand(1).item()
        return [b.tolist() for b in batches], drawn

    assert eager(mt) == eager(torch)


def test_iterable_dataset_batches_and_errors():
    class Stream(mt.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(7))

    for drop_last in (False, True):
        ours = [b.tolist() for b in mt.utils.data.DataLoader(Stream(), 3, drop_last=drop_last)]
        theirs = [
            b.tolist() for b in torch.utils.data.DataLoader(TorchStream(), 3, drop_last=drop_last)
        ]
        assert ours == theirs
    for lib, ds in ((mt, Stream()), (torch, TorchStream())):
        with pytest.raises(ValueError, match="expected unspecified shuffle option"):
            lib.utils.data.DataLoader(ds, shuffle=True)
    # torch's two workers each read the whole stream: every item twice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twice = [b.tolist() for b in torch.utils.data.DataLoader(TorchStream(), 3, num_workers=2)]
    assert sorted(x for batch in twice for x in batch) == sorted(list(range(7)) * 2)
    with pytest.raises(ValueError, match="IterableDataset with num_workers > 0 is not supported"):
        mt.utils.data.DataLoader(Stream(), 3, num_workers=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"sampler": [0, 1], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"prefetch_factor": 2},
        {"num_workers": 2, "prefetch_factor": -1},
        {"persistent_workers": True},
    ],
)
def test_bad_loader_arguments_raise_what_torch_raises(kwargs):
    with pytest.raises(ValueError) as theirs:
        torch.utils.data.DataLoader(range(4), **kwargs)
    with pytest.raises(ValueError) as ours:
        mt.utils.data.DataLoader(range(4), **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_concat_and_subset():
    a, b = list(range(3)), list(range(10, 14))
    ours = mt.utils.data.ConcatDataset([a, b])
    theirs = torch.utils.data.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 7
    assert [ours[i] for i in range(-7, 7)] == [theirs[i] for i in range(-7, 7)]
    assert list(mt.utils.data.Subset(a, [2, 0])) == list(torch.utils.data.Subset(a, [2, 0]))
