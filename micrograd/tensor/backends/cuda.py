"""`torch.backends.cuda`: `matmul.allow_tf32` and friends, settable, with no effect here (no
GPU; see `micrograd/tensor/backends/__init__.py`)."""

from __future__ import annotations

__all__ = ["is_built", "matmul"]


class _MatmulFlags:
    """torch's `torch.backends.cuda.matmul`: the cuBLAS precision switches."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self) -> str:
        return f"<torch.backends.cuda.matmul allow_tf32={self.allow_tf32}>"


matmul = _MatmulFlags()


def is_built() -> bool:
    """False: this engine is not built with CUDA."""
    return False
