"""Datasets: anything with `__getitem__` and `__len__` (map-style) or `__iter__` (iterable),
and torch's helpers `TensorDataset`, `Subset`, `ConcatDataset`, `random_split`."""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

from micrograd.tensor.core import Tensor

__all__ = [
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset:
    """A map-style data set: subclasses implement `__getitem__` (and usually `__len__`)."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A data set read as a stream: subclasses implement `__iter__`."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")


class _SizeMismatchError(ValueError, AssertionError):
    """Tensors of a TensorDataset whose first sizes differ: a ValueError with a message, and the
    AssertionError PyTorch's `assert` raises there."""


class TensorDataset(Dataset):
    """Rows of tensors that share their first dimension: item i is `(t[i] for t in tensors)`."""

    def __init__(self, *tensors: Tensor) -> None:
        if any(not isinstance(t, Tensor) for t in tensors):
            raise TypeError("TensorDataset: every argument must be a Tensor")
        if any(tensors[0].size(0) != t.size(0) for t in tensors):
            sizes = [t.size(0) for t in tensors]
            raise _SizeMismatchError(
                f"TensorDataset: Size mismatch between tensors: their first sizes are {sizes}"
            )
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].size(0)


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style data sets one after the other."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")  # noqa: TRY004 -- torch's type
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if which == 0 else self.cumulative_sizes[which - 1]
        return self.datasets[which][idx - start]


def random_split(dataset: Dataset, lengths: Sequence[float], generator=None) -> list[Subset]:
    """Split `dataset` into non-overlapping random subsets of the given lengths (or fractions
    that sum to 1, the remainder going round-robin to the first subsets, as in torch); the
    permutation is `torch.randperm(len(dataset), generator=generator)`."""
    from micrograd.tensor import random as _random

    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, length in enumerate(counts):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = counts
    # torch checks the sum first: fractions not summing to 1 are lengths that do not add up
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    if any(not isinstance(x, numbers.Integral) for x in lengths):
        raise TypeError("random_split: lengths must be ints or fractions summing to 1")
    gen = _random.default_generator if generator is None else generator
    perm = gen.randperm(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset : offset + length]))
        offset += length
    return out
