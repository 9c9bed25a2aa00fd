"""PyTorch's dtype names as numpy dtypes: `dtype=torch.int32` and `t.dtype == torch.float32` work.

`float` is float32 and `int` int32, as in PyTorch (not Python's float and int, which numpy reads
as float64 and int64); `long` is int64, `double` float64.
"""

import numpy as np

__all__ = ["bool", "double", "float", "float32", "float64", "int", "int32", "int64", "long"]

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
double = float64
long = int64
# These three shadow builtins inside this module only; nothing below uses the builtins.
float = float32
int = int32
bool = np.dtype("bool")
