"""`torch.utils.data` for `micrograd.tensor`: datasets, samplers and the `DataLoader`.

Same classes, arguments and defaults as torch's, and the same random draws: a shuffling loader
takes its seeds from the generator exactly where torch takes them (one 63-bit draw for the
iterator's base seed when it starts, one for the sampler's own generator on the first batch, or
as the iterator starts when there are workers, whose batches torch's sampler prepares ahead), so
after `torch.manual_seed(s)` the batches come in the order torch gives them.

Everything runs in this process: `num_workers > 0` loads the same batches, in the same order,
without worker processes (worker_init_fn is not called; there are no workers to seed). A stream
(`IterableDataset`) with workers is refused: torch's workers would each read all of it.
"""

from micrograd.tensor.utils.data.dataloader import DataLoader, default_collate
from micrograd.tensor.utils.data.dataset import (
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from micrograd.tensor.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "default_collate",
    "random_split",
]
