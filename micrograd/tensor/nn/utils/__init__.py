"""`nn.utils`: gradient clipping (`clip_grad_norm_`, `clip_grad_value_`, `get_total_norm`,
`clip_grads_with_norm_`), laid out as PyTorch's `torch.nn.utils` so that
`torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)` (nanoGPT's train.py) resolves.
Read `clip_grad.py`.
"""

from micrograd.tensor._missing import missing_name as _missing_name
from micrograd.tensor.nn.utils.clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]


def __getattr__(name: str):
    raise _missing_name(
        "micrograd.tensor.nn.utils",
        name,
        __all__,
        "{module} has no {name!r}{hint}; see its __all__",
    )
