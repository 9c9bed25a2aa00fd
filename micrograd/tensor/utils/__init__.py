"""`torch.utils` for `micrograd.tensor`: `data` (datasets, samplers, `DataLoader`) and
`tensorboard` (`SummaryWriter`, through the `tensorboard` package)."""

from micrograd.tensor.utils import data

__all__ = ["data", "tensorboard"]


def __getattr__(name: str):
    # `torch.utils.tensorboard` as an attribute (scripts usually import it): loaded on first use,
    # so the tensorboard package is only needed by those who write event files.
    if name == "tensorboard":
        import importlib

        return importlib.import_module("micrograd.tensor.utils.tensorboard")
    raise AttributeError(f"module 'micrograd.tensor.utils' has no attribute {name!r}")
