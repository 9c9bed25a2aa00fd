"""`torch.utils` for `micrograd.tensor`: `data` (datasets, samplers, `DataLoader`) and
`tensorboard` (`SummaryWriter`, through the `tensorboard` package)."""

from micrograd.tensor.utils import data

__all__ = ["data"]
