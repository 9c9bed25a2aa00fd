"""How a tensor prints: PyTorch's `torch/_tensor_str.py`, ported to numpy arrays, so that
`print(t)` gives what PyTorch prints, byte for byte.

The rules, as PyTorch has them (`set_printoptions` changes the numbers):
* floats: 4 decimals; scientific notation (`1.0000e+05`) when the largest nonzero finite
  magnitude is over 1000 times the smallest, over 1e8, or the smallest under 1e-4; a tensor
  of whole numbers prints them as `1.` (no decimals); every element is padded to one width;
* at most 80 characters a line, wrapping rows of a vector with the opening bracket's indent;
* over 1000 elements, only the first and last 3 of each dimension, with `...` between;
* suffixes: `dtype=` unless float32, int64 or bool; `size=` for an empty tensor that is not
  1-D; `grad_fn=<MulBackward0>` for a result in a graph, else `requires_grad=True`.

`grad_fn_name` gives PyTorch's name of the backward function for a node of our graph
(`TanhBackward0`, `MmBackward0`, ...), from the primitive `Function` that made it. The printing
runs only when something is printed: no operation pays for it.

Read `micrograd/tensor/storage.py` (`t.storage()`) next.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["get_printoptions", "printoptions", "set_printoptions"]


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """PyTorch's `torch.set_printoptions`: digits after the point (`precision`, 4), elements
    before printing a summary (`threshold`, 1000), items at each end of a summarised dimension
    (`edgeitems`, 3), characters a line (`linewidth`, 80), `sci_mode` (True/False to force,
    None to choose per tensor), `profile` ('default', 'short' or 'full') to reset the first four.
    As in PyTorch, `sci_mode` goes back to None unless it is given."""
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, 1000
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 2, 1000
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold = 4, math.inf
            PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current options, as keywords `set_printoptions` accepts."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any):
    """`with torch.printoptions(precision=2):` -- options for the block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """One width and notation for all the elements of `data` (the summarised part of a
    tensor): PyTorch's `_Formatter`, reading a numpy array."""

    def __init__(self, data: np.ndarray) -> None:
        self.floating_dtype = data.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        values = data.reshape(-1)
        if not self.floating_dtype:
            for value in values.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        nonzero_finite = values[np.isfinite(values) & (values != 0)]
        if nonzero_finite.size == 0:
            return  # nothing to measure: zeros, nan and inf print as `0.`, `nan`, `inf`
        # magnitudes in float64, as PyTorch (a float16 would overflow at 1e8)
        magnitudes = np.abs(nonzero_finite.astype(np.float64))
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        self.sci_mode = (
            largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
            if PRINT_OPTS.sci_mode is None
            else PRINT_OPTS.sci_mode
        )
        precision = PRINT_OPTS.precision
        finite_values = nonzero_finite.tolist()  # Python floats: the values exactly
        if self.sci_mode:
            widths = (len(f"{value:.{precision}e}") for value in finite_values)
        elif self.int_mode:
            # whole numbers print with a trailing point (`3.`): one more character
            widths = (len(f"{value:.0f}") + 1 for value in finite_values)
        else:
            widths = (len(f"{value:.{precision}f}") for value in finite_values)
        self.max_width = max(self.max_width, *widths)

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        if self.floating_dtype:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _vector_str(data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter) -> str:
    element_length = formatter.width() + 2  # the element, a comma and a space
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        items = ["..."]
    elif summarize and data.shape[0] > 2 * edge:
        items = (
            [formatter.format(v) for v in data[:edge].tolist()]
            + [" ..."]
            + [formatter.format(v) for v in data[-edge:].tolist()]
        )
    else:
        items = [formatter.format(v) for v in data.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(
    data: np.ndarray, indent: int, summarize: bool, formatter: _Formatter
) -> str:
    dim = data.ndim
    if dim == 0:
        return formatter.format(data.item())
    if dim == 1:
        return _vector_str(data, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    if summarize and data.shape[0] > 2 * edge:
        rows = (
            [
                _tensor_str_with_formatter(data[i], indent + 1, summarize, formatter)
                for i in range(edge)
            ]
            + ["..."]
            + [
                _tensor_str_with_formatter(data[i], indent + 1, summarize, formatter)
                for i in range(len(data) - edge, len(data))
            ]
        )
    else:
        rows = [
            _tensor_str_with_formatter(data[i], indent + 1, summarize, formatter)
            for i in range(data.shape[0])
        ]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(rows) + "]"


def _summarized_data(data: np.ndarray) -> np.ndarray:
    """The elements a summary shows (the first and last `edgeitems` of every dimension)."""
    dim = data.ndim
    edge = PRINT_OPTS.edgeitems
    if dim == 0:
        return data
    if dim == 1:
        if data.shape[0] > 2 * edge:
            return np.concatenate((data[:edge], data[-edge:]))
        return data
    if not edge:
        return np.empty((0,) * dim, dtype=data.dtype)
    if data.shape[0] > 2 * edge:
        rows = [data[i] for i in range(edge)] + [
            data[i] for i in range(len(data) - edge, len(data))
        ]
    else:
        rows = list(data)
    return np.stack([_summarized_data(row) for row in rows])


def tensor_str(data: np.ndarray, indent: int) -> str:
    """The bracketed elements of `data`, continuation lines indented by `indent`."""
    if data.size == 0:
        return "[]"
    summarize = data.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized_data(data) if summarize else data)
    return _tensor_str_with_formatter(data, indent, summarize, formatter)


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


# dtypes printed without a `dtype=` suffix: the default float dtype, int64 and bool
_IMPLIED_DTYPES = ("float32", "int64", "bool")


def tensor_repr(t: Any) -> str:
    """`repr(t)` as PyTorch prints it (`str` is the same). A subclass of Tensor prints its own
    name instead of `tensor` (`Parameter` excepted, which adds its own header), as in PyTorch."""
    cls = type(t)
    plain = cls.__name__ in ("Tensor", "Parameter")
    prefix = "tensor(" if plain else f"{cls.__name__}("
    data = np.asarray(t.data)
    indent = len(prefix)
    suffixes = []
    dtype_name = data.dtype.name
    # numpy's name where the data has a dtype that no tensor should have: a repr never raises
    dtype_text = f"torch.{dtype_name}"
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append("size=" + str(tuple(data.shape)))
        if dtype_name != "float32":  # nothing to tell an int64 tensor apart by
            suffixes.append(f"dtype={dtype_text}")
        text = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(data.shape)))
        if dtype_name not in _IMPLIED_DTYPES:
            suffixes.append(f"dtype={dtype_text}")
        text = tensor_str(data, indent)
    if t.requires_grad and t._fn is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name(t)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + text, suffixes, indent)


# -- grad_fn names -------------------------------------------------------------------------

# Our primitive Function (by class name) -> PyTorch's backward node for the same operation.
# Where torch's name depends on how the operation was called, `_CONTEXT` refines it.
_GRAD_FN_NAMES = {
    "Add": "AddBackward0",
    "AddScalar": "AddBackward0",
    "Sub": "SubBackward0",
    "Mul": "MulBackward0",
    "MulScalar": "MulBackward0",
    "Div": "DivBackward0",
    "Pow": "PowBackward1",  # tensor ** tensor
    "PowScalar": "PowBackward0",  # tensor ** number
    "RPowScalar": "PowBackward2",  # number ** tensor
    "Neg": "NegBackward0",
    "Exp": "ExpBackward0",
    "Log": "LogBackward0",
    "Tanh": "TanhBackward0",
    "ReLU": "ReluBackward0",
    "Sigmoid": "SigmoidBackward0",
    "Sqrt": "SqrtBackward0",
    "Abs": "AbsBackward0",
    "Cast": "ToCopyBackward0",
    "Sum": "SumBackward0",
    "Mean": "MeanBackward0",
    "Var": "VarBackward0",
    "Std": "StdBackward0",
    "Reshape": "ViewBackward0",
    "Transpose": "TransposeBackward0",
    "Embedding": "IndexBackward0",
    "IndexPut": "CopySlices",
    "Concatenate": "CatBackward0",
    "Softmax": "SoftmaxBackward0",
    "LogSoftmax": "LogSoftmaxBackward0",
    "CrossEntropy": "NllLossBackward0",
    "NllLoss": "NllLossBackward0",
    "DivScalar": "DivBackward0",  # tensor / number
    "RDivScalar": "MulBackward0",  # number / tensor: torch multiplies by the reciprocal
    "NotDifferentiable": "NotImplemented",  # `//`: torch's node raises in backward
    "ZeroGrad": "DivBackward2",  # div(..., rounding_mode=...)
    "Where": "WhereBackward0",
    "AddScaled": "AddBackward0",  # add(..., alpha=)
    "Contiguous": "CloneBackward0",
    "MSE": "MseLossBackward0",
    "BCEWithLogits": "BinaryCrossEntropyWithLogitsBackward0",
}


def _matmul_name(fn: Any, t: Any) -> str:
    # torch.matmul dispatches on the operands' dimensions: dot, mv, mm; a 1-D left operand is
    # unsqueezed and the result squeezed; anything batched ends in a reshape of bmm's result
    a, b = fn.a, fn.b
    if a.ndim == 1 and b.ndim == 1:
        return "DotBackward0"
    if a.ndim == 2 and b.ndim == 1:
        return "MvBackward0"
    if a.ndim == 2 and b.ndim == 2:
        return "MmBackward0"
    if a.ndim == 1 and b.ndim == 2:
        return "SqueezeBackward4"
    return "UnsafeViewBackward0"


def _max_name(fn: Any, t: Any) -> str:
    # `max()` over everything is MaxBackward1; over a tuple of dims it is `amax`
    return "MaxBackward1" if np.ndim(t.data) == 0 else "AmaxBackward0"


def _index_name(fn: Any, t: Any) -> str:
    # torch applies an index's parts in order; the printed node is the last one applied:
    # advanced (tensor/list) indices last, then the last int (select) or slice
    if fn.advanced:
        return "IndexBackward0"
    index = fn.index if isinstance(fn.index, tuple) else (fn.index,)
    last = None
    for item in index:
        if item is None:
            last = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            last = "SliceBackward0"
        elif item is not Ellipsis:
            last = "SelectBackward0"
    return last or "AliasBackward0"


def _linear_name(fn: Any, t: Any) -> str:
    # F.linear on a matrix with a bias is one addmm; without a bias an mm; on a batch of
    # matrices the result is a view of the 2-D product
    if np.ndim(t.data) != 2:  # a bias-free product's 2-D result is viewed back unsafely
        return "ViewBackward0" if len(t._prev) == 3 else "UnsafeViewBackward0"
    return "AddmmBackward0" if len(t._prev) == 3 else "MmBackward0"


def _remainder_name(fn: Any, t: Any) -> str:
    # torch: `x % 2` is RemainderBackward0, `x % tensor` RemainderBackward1
    divisor = t._prev[1]
    scalar = np.ndim(divisor.data) == 0 and not divisor.requires_grad
    return "RemainderBackward0" if scalar else "RemainderBackward1"


def _clamp_name(fn: Any, t: Any) -> str:
    # torch: number bounds are ClampBackward1, tensor bounds ClampBackward0
    return "ClampBackward0" if fn.tensor_lo or fn.tensor_hi else "ClampBackward1"


_CONTEXT = {
    "Remainder": _remainder_name,
    "Clamp": _clamp_name,
    "MatMul": _matmul_name,
    "Max": _max_name,
    "MaxDim": lambda fn, t: "MaxBackward0",
    "Index": _index_name,
    "Linear": _linear_name,
    "LinearT": _linear_name,
}

# After backward() frees a node, only its `_op` (the drawing's label) is left: the names by op
_BY_OP = {
    "+": "AddBackward0",
    "-": "SubBackward0",
    "*": "MulBackward0",
    "/": "DivBackward0",
    "**": "PowBackward1",
    "rpow": "PowBackward2",
    "neg": "NegBackward0",
    "exp": "ExpBackward0",
    "log": "LogBackward0",
    "tanh": "TanhBackward0",
    "ReLU": "ReluBackward0",
    "sigmoid": "SigmoidBackward0",
    "sqrt": "SqrtBackward0",
    "abs": "AbsBackward0",
    "cast": "ToCopyBackward0",
    "var": "VarBackward0",
    "std": "StdBackward0",
    "reshape": "ViewBackward0",
    "transpose": "TransposeBackward0",
    "[]": "IndexBackward0",
    "embedding": "IndexBackward0",
    "index_put": "CopySlices",
    "cat": "CatBackward0",
    "softmax": "SoftmaxBackward0",
    "log_softmax": "LogSoftmaxBackward0",
    "cross_entropy": "NllLossBackward0",
    "layer_norm": "NativeLayerNormBackward0",
    "contiguous": "CloneBackward0",
    "mse": "MseLossBackward0",
    "bce_with_logits": "BinaryCrossEntropyWithLogitsBackward0",
    "linear": "AddmmBackward0",
    "not_differentiable": "NotImplemented",
    "div_rounded": "DivBackward2",
    "%": "RemainderBackward0",
    "where": "WhereBackward0",
    "clamp": "ClampBackward1",
    "@": "MmBackward0",
    "sum": "SumBackward0",
    "mean": "MeanBackward0",
    "max": "MaxBackward1",
}


# a freed matrix product, by the result's dimensions: 1-D @ 1-D, 2-D @ 1-D, 2-D @ 2-D
_MATMUL_BY_NDIM = {0: "DotBackward0", 1: "MvBackward0", 2: "MmBackward0"}


# Labels that operations built from other primitives give their result (`core._labelled`:
# `squeeze` is a reshape, `clone` a product by 1): the name of torch's node for each
_LABELS = {
    "-": "SubBackward0",
    "rsub": "RsubBackward1",
    "clone": "CloneBackward0",
    "log10": "Log10Backward0",
    "log2": "Log2Backward0",
    "sum_dim": "SumBackward1",
    "mean_dim": "MeanBackward1",
    "min": "MinBackward1",
    "min_dim": "MinBackward0",
    "amax": "AmaxBackward0",
    "amin": "AminBackward0",
    "maximum": "MaximumBackward0",
    "minimum": "MinimumBackward0",
    "squeeze": "SqueezeBackward0",
    "squeeze_dim": "SqueezeBackward1",
    "unsqueeze": "UnsqueezeBackward0",
    "permute": "PermuteBackward0",
    "t": "TBackward0",
    "unbind": "UnbindBackward0",
    "stack": "StackBackward0",
    "split": "SplitBackward0",
    "split_with_sizes": "SplitWithSizesBackward0",
    "masked_fill": "MaskedFillBackward0",
    "masked_fill_tensor": "MaskedFillBackward1",
    "topk": "TopkBackward0",
    "copy_": "CopyBackwards",
    "clamp_tensor": "ClampBackward0",
    "F.embedding": "EmbeddingBackward0",
    "nll_loss": "NllLossBackward0",
    "nll_loss2d": "NllLoss2DBackward0",
    # F.scaled_dot_product_attention: the node of the CPU kernel PyTorch would dispatch to
    "scaled_dot_product_attention": "UnsafeViewBackward0",
    "scaled_dot_product_attention_mm": "MmBackward0",
    "scaled_dot_product_attention_flash": "ScaledDotProductFlashAttentionForCpuBackward0",
}


def grad_fn_name(t: Any) -> str:
    """PyTorch's name of the backward node that made `t` (`grad_fn=<...>` in its repr)."""
    label = _LABELS.get(t._op)
    if label is not None:
        return label
    fn = t._fn
    cls = type(fn).__name__
    if cls == "_Freed":  # backward() freed it: name it by the op it recorded
        op = t._op
        if op.startswith("**") and op != "**":  # `**k`: a tensor to a number's power
            return "PowBackward0"
        if op in _BY_OP:
            name = _BY_OP[op]
            ndim = np.ndim(t.data)
            if op == "max" and ndim != 0:  # max(dim); amax is labelled
                name = "MaxBackward0"
            elif op == "@":  # the result's dimensions tell the common cases apart
                name = _MATMUL_BY_NDIM.get(ndim, "UnsafeViewBackward0")
            return name
        return f"{op[:1].upper()}{op[1:]}Backward0" if op else "Backward0"
    context = _CONTEXT.get(cls)
    if context is not None:
        try:
            return context(fn, t)
        except AttributeError:  # an attribute the Function keeps only in some versions
            pass
    return _GRAD_FN_NAMES.get(cls, f"{cls}Backward0")
