"""`DataLoader`: batches from a data set, in torch's order, collated by torch's rules.

An iteration over a loader first draws a base seed from `generator` (or the default one), as
torch's iterator does, then asks its sampler for indices: so with the same seeds, a shuffling
loader here and in torch give the same batches and leave the generators in the same state.
"""

from __future__ import annotations

import collections
import collections.abc
import itertools
import numbers
from typing import Any

import numpy as np

from micrograd.tensor.core import Tensor, stack
from micrograd.tensor.factories import from_numpy, tensor
from micrograd.tensor.utils.data._seeds import draw_seed
from micrograd.tensor.utils.data.dataset import IterableDataset
from micrograd.tensor.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
)

__all__ = ["DataLoader", "default_collate"]

_END = object()  # the end of a sampler's indices


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch: Tensors and numpy arrays are stacked (keeping their
    dtype), numbers become a 1-D tensor (float64 for Python floats, int64 for ints, as torch),
    strings stay a list, dicts are collated key by key, and tuples and lists field by field into
    a list (torch's rule, kept for its backward compatibility)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: batch must contain numbers, got dtype {elem.dtype}")
        return stack([from_numpy(b) for b in batch], 0)
    if isinstance(elem, np.generic):
        return from_numpy(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, numbers.Integral):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(samples) for samples in zip(*batch)]  # a list, tuples too
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem)}"
    )


class DataLoader:
    """Batches of `dataset`: `batch_size` items per batch, shuffled with `shuffle=True`.

    Same arguments as torch's (except `num_workers > 0` with an IterableDataset, refused).
    `num_workers`, `pin_memory`, `timeout`, `prefetch_factor`,
    `persistent_workers` and `multiprocessing_context` are accepted: loading happens in this
    process, giving the batches workers would give, in the same order, with the sampler running
    as far ahead as torch's (`prefetch_factor * num_workers` batches), so that random numbers
    are drawn in torch's order.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(  # torch's words, its missing space included
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2  # torch's default for worker loading
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and num_workers > 0:
            # torch's workers would each iterate their own copy of the stream (every item
            # num_workers times, unless the data set splits itself by worker): not what one
            # in-process reader gives, so refuse rather than give other batches
            raise ValueError(
                "DataLoader: an IterableDataset with num_workers > 0 is not supported (PyTorch's "
                "worker processes each read the whole stream; this engine loads in one process): "
                "use num_workers=0"
            )
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                    f"but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, "
                    f"but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.collate_fn = (
            collate_fn
            if collate_fn is not None
            else (
                default_collate if batch_size is not None or batch_sampler is not None else _convert
            )
        )

    def __iter__(self):
        if self._iterable:
            draw_seed(self.generator)  # torch's iterator draws its base seed first
            return self._iter_stream()
        # torch's iterator makes the sampler's iterator, then draws its base seed
        indices = iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)
        draw_seed(self.generator)
        if self.num_workers == 0:
            return self._iter_map(indices, collections.deque())
        # With workers, torch hands each one `prefetch_factor` batches of indices as the
        # iterator starts, then one more per batch delivered: the sampler runs that far ahead.
        # Its first draws (a shuffling sampler seeds itself from the default generator) thus
        # happen here, before any random number the caller draws between iter() and next().
        if self.prefetch_factor <= 0:
            raise AssertionError(
                "prefetch_factor must be greater than 0 for MultiProcessingDataLoaderIter"
            )
        ahead = collections.deque(
            itertools.islice(indices, self.prefetch_factor * self.num_workers)
        )
        return self._iter_map(indices, ahead)

    def _iter_map(self, indices, ahead: collections.deque):
        """Batches for the indices queued in `ahead` (keeping it as long as it started), then
        for the rest of `indices`."""
        while True:
            if ahead:
                index = ahead.popleft()
                ahead.extend(itertools.islice(indices, 1))
            else:
                index = next(indices, _END)
                if index is _END:
                    return
            if self.batch_sampler is not None:
                yield self.collate_fn([self.dataset[i] for i in index])
            else:
                yield self.collate_fn(self.dataset[index])

    def _iter_stream(self):
        stream = iter(self.dataset)
        if self.batch_size is None:
            for item in stream:
                yield self.collate_fn(item)
            return
        while True:
            batch = [item for _, item in zip(range(self.batch_size), stream)]
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                full, rest = divmod(length, self.batch_size)
                length = full if self.drop_last else full + bool(rest)
            return length
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)


def _convert(item: Any) -> Any:
    """Without batching, numpy arrays become tensors and the rest stays as it is (torch's
    `default_convert`)."""
    if isinstance(item, np.ndarray) and item.dtype.kind in "biuf":
        return from_numpy(item)
    return item
