"""Kept for compatibility: the ONNX half of the export moved to `micrograd.export.onnx`, inside the
export package beside its PyTorch half. `micrograd.export_onnx` is that same module (not a
copy), so everything that imported or patched it here still works.
"""

import sys

from micrograd.export import onnx as _moved

sys.modules[__name__] = _moved
