"""`torch.optim` for `micrograd.tensor`: `SGD`, `Adam`, `AdamW` with torch's signatures, parameter
groups, `state_dict()` layout and floats (`_kernels.py` reproduces torch's CPU arithmetic).

Read `optimizer.py` (groups, state, saving), then `sgd.py` and `adam.py` (the update rules).
"""

from micrograd.tensor.optim.adam import Adam, AdamW
from micrograd.tensor.optim.optimizer import Optimizer
from micrograd.tensor.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
