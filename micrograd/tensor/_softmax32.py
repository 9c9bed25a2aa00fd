"""PyTorch's float32 softmax, log_softmax and nll_loss on the CPU, to the last bit.

The training scripts print their losses with every digit, so a loss one float32 ulp away from
PyTorch's shows. PyTorch's CPU kernels (SoftMaxKernel.cpp, on AVX-512: vectors of 16 floats)
compute, for each row along the last dimension:

* log_softmax: the row maximum m; the sum of exp(x - m), with SLEEF's vectorised `expf`, added
  vector by vector into 16 partial sums (a last partial vector adds into the first lanes only;
  a row shorter than 16 is summed left to right) which are then added pairwise in a fixed tree
  (lane i with lane i+8, then i+4, i+2, i+1); the output is `(x - m) - log(sum)` with SLEEF's
  vectorised `logf`;
* softmax: `exp(x - m)` the same way, times `1 / sum` (one reciprocal per row);
* their backward passes: `g - exp(out) * sum(g)` (the multiply-add fused) and
  `(g - sum(g * out)) * out`, each sum in the same lane order (softmax's: the products of the
  last partial vector fused into their addition, or not, as PyTorch runs on one thread or more).

`nll_loss` (LossNLL.cpp) adds the picked log-probabilities in a cascade of 8 partial sums,
level j flushed into level j+1 after each counted row whose index is a multiple of 16**(j+1),
then adds the levels, and divides by the number of counted rows (or their total weight).

Each function here replays those operations with numpy on whole arrays. `expf_u10` and
`logf_u10` (`_sleef.py`) replay SLEEF's functions bit for bit.

The compiled twin, `_csoftmax` (micrograd/tensor/_csoftmax.c), does the same operations in C
in one pass over each row, several times faster on a training step's small arrays. When it is
built (and MICROGRAD_PURE is not set) the module's public functions are its; the numpy replay
stays available as `numpy_kernels` (the tests compare the two on generated inputs, and both
with torch).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._fma import fma32
from micrograd.tensor._sleef import expf_u10_unchecked, logf_u10
from micrograd.tensor._torch_threads import default_threads

__all__ = [
    "compiled",
    "cross_entropy_backward",
    "lane_sum",
    "log_softmax",
    "log_softmax_backward",
    "nll_loss",
    "nll_loss_backward",
    "numpy_kernels",
    "softmax",
    "softmax_backward",
]

_F32 = np.float32
LANES = 16  # floats per AVX-512 vector, the width PyTorch's kernels use on this kind of CPU
_CASCADE_LEVELS = 8  # nll_loss's partial sums
_LEVEL_BITS = 4  # level j is flushed at row indices that are multiples of 16**(j+1)
# inf, nan and overflow are intended results here (PyTorch's kernels give them silently)
_QUIET = {"over": "ignore", "under": "ignore", "invalid": "ignore", "divide": "ignore"}


def lane_sum(a: np.ndarray, tail_factors: tuple | None = None) -> np.ndarray:
    """Sums of the rows of a 2-D float32 array in the order of PyTorch's `vec::reduce_all`.

    With `tail_factors` (x, y), `a` is x * y and the sum is `vec::map2_reduce_all`'s: the
    compiler fuses the last partial vector's product into its addition (one FMA), while the
    whole vectors' products are rounded before they are added."""
    n, c = a.shape
    if c < LANES:  # one partial vector: its lanes added left to right
        if c == 0:
            return np.zeros(n, _F32)
        total = a[:, 0].copy()
        for j in range(1, c):
            total += a[:, j]
        return total
    whole = c - c % LANES
    # numpy reduces a middle axis one slice after another, in order: the vector accumulator.
    # It starts from the first vector, as `-0.0 +` it does (numpy's own start, +0.0, would turn
    # a sum of -0.0s into +0.0)
    acc = np.add.reduce(a[:, :whole].reshape(n, whole // LANES, LANES), axis=1, initial=-0.0)
    if whole < c:
        if tail_factors is None:
            acc[:, : c - whole] += a[:, whole:]
        else:
            x, y = tail_factors
            acc[:, : c - whole] = fma32(x[:, whole:], y[:, whole:], acc[:, : c - whole])
    width = LANES
    while width > 1:  # the shuffle tree: lane i plus lane i + width/2
        width //= 2
        acc = acc[:, :width] + acc[:, width : 2 * width]
    return acc[:, 0]


def _row_max(x: np.ndarray) -> np.ndarray:
    # the maximum is the same in any order; nan wins, as in PyTorch's vec::maximum
    return np.maximum.reduce(x, axis=1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax of each row of a 2-D float32 array."""
    with np.errstate(**_QUIET):
        shifted = x - _row_max(x) if x.shape[1] else x.copy()
        log_sums = logf_u10(lane_sum(expf_u10_unchecked(shifted)))
        shifted -= log_sums[:, None]
    return shifted


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax of each row of a 2-D float32 array."""
    with np.errstate(**_QUIET):
        e = expf_u10_unchecked(x - _row_max(x)) if x.shape[1] else x.copy()
        e *= (_F32(1) / lane_sum(e))[:, None]
    return e


def log_softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of log_softmax's rows: g - exp(out) * sum(g), the product and the difference
    rounded once (the compiler fuses them into one FMA)."""
    with np.errstate(**_QUIET):
        e = expf_u10_unchecked(out)
        np.negative(e, out=e)
        return fma32(e, lane_sum(g)[:, None], g)


# The threads PyTorch would use (`set_num_threads` keeps it). Its softmax backward loop exists
# in two compiled copies: the one `parallel_for` calls directly (one thread, or one row) fuses
# the last partial vector's multiply-add, the one it hands to OpenMP threads does not.
kernel_threads = default_threads()


def softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of softmax's rows: (g - sum(g * out)) * out."""
    fused = kernel_threads == 1 or g.shape[0] == 1
    with np.errstate(invalid="ignore", over="ignore"):
        return (g - lane_sum(g * out, (g, out) if fused else None)[:, None]) * out


def _segment_sums(values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """Sequential float32 sums (each from +0) of the runs of `values` that end where `ends` is
    True, and the sum of the unfinished last run (+0 if none): the runs laid out as the rows of
    a zero-padded grid, summed by `np.add.accumulate`, which adds strictly left to right."""
    m = values.size
    closed = np.flatnonzero(ends)
    starts = np.empty(closed.size + 1, np.intp)
    starts[0] = 0
    np.add(closed, 1, out=starts[1:])
    run = np.cumsum(ends)
    run -= ends  # each value's run: the number of runs closed before it
    position = np.arange(m)
    position -= starts[run]
    grid = np.zeros((starts.size, int(position.max()) + 1), _F32)
    grid[run, position] = values
    # the padding zeros change no sum; `+ 0` turns a run of -0s into +0, as a sum from +0 is
    totals = np.add.accumulate(grid, axis=1)[:, -1] + _F32(0)
    return totals[:-1], totals[-1]


def _trailing_levels(row: int) -> int:
    """How many cascade levels row `row` flushes: its trailing zero hex digits (0 flushes all)."""
    if row == 0:
        return _CASCADE_LEVELS - 1
    return min(((row & -row).bit_length() - 1) // _LEVEL_BITS, _CASCADE_LEVELS - 1)


def _cascade_sum(values: np.ndarray, rows: np.ndarray) -> np.float32:
    """nll_loss's sum of `values` (float32, added in order) taken at the counted row indices
    `rows`: level 0 adds each value; after row b, level j is added into level j+1 and cleared
    while b is a multiple of 16**(j+1); the levels are then added from 0 to 7.

    The levels with many values are summed on whole arrays (the runs between flushes); once a
    level has few values left (a sixteenth of the level below), PyTorch's loop is replayed on
    them with float32 scalars."""
    total = _F32(0)
    level = 0
    incoming, at_rows = values, rows
    while incoming.size > 32 and level < _CASCADE_LEVELS - 1:
        ends = (at_rows & ((1 << (_LEVEL_BITS * (level + 1))) - 1)) == 0
        emitted, rest = _segment_sums(incoming, ends)
        total = total + rest
        incoming, at_rows = emitted, at_rows[ends]
        level += 1
    # the few values left: the levels from `level` up, as PyTorch's loop adds them
    sums = [_F32(0)] * _CASCADE_LEVELS
    for value, row in zip(incoming.tolist(), at_rows.tolist()):
        sums[level] = sums[level] + _F32(value)
        for j in range(level, _trailing_levels(row)):
            sums[j + 1] = sums[j + 1] + sums[j]
            sums[j] = _F32(0)
    for partial in sums[level:]:
        total = total + partial
    return _F32(total)


def nll_loss(
    logp: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore: int, reduction: str
) -> tuple[np.ndarray, np.float32]:
    """PyTorch's nll_loss of float32 log-probabilities (N, C) at int targets (N,) (already
    checked to lie in 0..C-1 where not `ignore`): the loss and the total weight."""
    n = target.shape[0]
    counted = target != ignore
    safe = np.where(counted, target, 0)
    picked = logp[np.arange(n), safe]
    w = np.ones(n, _F32) if weight is None else weight[safe]
    if reduction == "none":
        with np.errstate(invalid="ignore"):
            return np.where(counted, -picked * w, _F32(0)).astype(_F32), _F32(0)
    rows = np.flatnonzero(counted)
    if weight is None:
        terms = -picked[rows]
        total_weight = _F32(rows.size)
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            terms = -(picked[rows] * w[rows])
        total_weight = _cascade_sum(w[rows], rows)
    if n == 0:
        loss = _F32(np.nan) if reduction == "mean" else _F32(0)
        return np.asarray(loss), _F32(0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        loss = _cascade_sum(terms, rows)
        if reduction == "mean":
            loss = _F32(loss / total_weight)
    return np.asarray(loss, _F32), total_weight


def nll_loss_backward(
    g: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore: int,
    reduction: str,
    total_weight: np.float32,
    classes: int,
) -> np.ndarray:
    """d nll_loss / d logp (N, C) for the upstream gradient g (a scalar, or (N,) for 'none')."""
    n = target.shape[0]
    counted = target != ignore
    rows = np.flatnonzero(counted)
    labels = target[rows]
    grad = np.zeros((n, classes), _F32)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if reduction == "none":
            w = _F32(-1) if weight is None else -weight[labels]
            grad[rows, labels] = w * np.asarray(g, _F32).reshape(-1)[rows]
            return grad
        scale = -(_F32(g) / total_weight) if reduction == "mean" else -_F32(g)
        grad[rows, labels] = scale if weight is None else weight[labels] * scale
    return grad


def cross_entropy_backward(
    g: np.ndarray, logp: np.ndarray, labels: np.ndarray, total_weight: np.float32
) -> np.ndarray:
    """`log_softmax_backward(nll_loss_backward(g, ...mean...), logp)` for labels (N,) (-1 on
    ignored rows) without building the one-hot gradient: each row's gradient of the mean has
    one nonzero v at its label, so its lane sum is v (a -0.0 among +0.0s sums to +0.0), and
    the fused `0 - exp(out) * v` elsewhere is the rounded product, negated (+0.0 where it is
    exactly zero)."""
    n, c = logp.shape
    rows = np.flatnonzero(labels >= 0)
    cols = labels[rows]
    with np.errstate(**_QUIET):
        v = -(_F32(g) / total_weight)
        row_sums = np.zeros(n, _F32)
        row_sums[rows] = v + _F32(0) if c > 1 else v
        e = expf_u10_unchecked(logp)
        e_picked = e[rows, cols]
        exact_zero = e == 0
        exact_zero |= (row_sums == 0)[:, None] & np.isfinite(e)  # (nan * 0 stays nan)
        np.negative(e, out=e)
        e *= row_sums[:, None]
        # fma(-e, s, +0.0): the rounded product, except that an exactly zero product gives
        # +0.0 (-0.0 + 0.0); a product that underflows keeps its sign
        e[exact_zero] = 0
        e[rows, cols] = fma32(-e_picked, row_sums[rows], v)
    return e


# -- the compiled twin -------------------------------------------------------------------------

# the numpy replay of each kernel, whichever runs
numpy_kernels = SimpleNamespace(
    cross_entropy_backward=cross_entropy_backward,
    lane_sum=lane_sum,
    log_softmax=log_softmax,
    log_softmax_backward=log_softmax_backward,
    nll_loss=nll_loss,
    nll_loss_backward=nll_loss_backward,
    softmax=softmax,
    softmax_backward=softmax_backward,
)


_csoftmax = _native.load("_csoftmax")
compiled = _csoftmax is not None  # whether the functions below are the compiled ones

# the codes of nll_loss's reductions in the compiled module (PyTorch's own)
_REDUCTION_CODES = {"none": 0, "mean": 1, "sum": 2}


def _c_array(a, dtype=None) -> np.ndarray:
    """`np.ascontiguousarray(a, dtype)`, aligned: the C loops read aligned items (a view at an
    odd byte offset, from from_numpy, is copied)."""
    return np.require(np.ascontiguousarray(a, dtype), requirements="A")


def _rows_out(x: np.ndarray) -> np.ndarray:
    return np.empty(x.shape, _F32)


def _compiled_log_softmax(x: np.ndarray) -> np.ndarray:
    out = _rows_out(x)
    _csoftmax.log_softmax(_c_array(x), out)
    return out


def _compiled_softmax(x: np.ndarray) -> np.ndarray:
    out = _rows_out(x)
    _csoftmax.softmax(_c_array(x), out)
    return out


def _compiled_log_softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    grad = _rows_out(g)
    _csoftmax.log_softmax_backward(_c_array(g), _c_array(out), grad)
    return grad


def _compiled_softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    fused = kernel_threads == 1 or g.shape[0] == 1  # (see softmax_backward)
    grad = _rows_out(g)
    _csoftmax.softmax_backward(_c_array(g), _c_array(out), grad, fused)
    return grad


def _class_weights(weight: np.ndarray | None) -> np.ndarray | None:
    return None if weight is None else _c_array(weight, _F32)


def _int64_index(ignore: int) -> int:
    """The ignored class as an int64 for the compiled module: an index beyond int64's range
    equals no target, and neither does the nearest int64 (targets are checked to be classes)."""
    return min(max(int(ignore), -(2**63)), 2**63 - 1)


def _compiled_nll_loss(
    logp: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore: int, reduction: str
) -> tuple[np.ndarray, np.float32]:
    code = _REDUCTION_CODES[reduction]
    target = _c_array(target, np.int64)
    losses = np.empty(target.shape[0], _F32) if code == 0 else None
    loss, total_weight = _csoftmax.nll_loss(
        _c_array(logp),
        target,
        _class_weights(weight),
        _int64_index(ignore),
        code,
        losses,
    )
    if losses is not None:
        return losses, _F32(0)
    return np.asarray(loss, _F32), _F32(total_weight)


def _compiled_nll_loss_backward(
    g: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    ignore: int,
    reduction: str,
    total_weight: np.float32,
    classes: int,
) -> np.ndarray:
    code = _REDUCTION_CODES[reduction]
    target = _c_array(target, np.int64)
    grad = np.empty((target.shape[0], classes), _F32)
    upstream = _c_array(g, _F32).reshape(-1) if code == 0 else float(g)
    _csoftmax.nll_loss_backward(
        grad,
        target,
        _class_weights(weight),
        _int64_index(ignore),
        code,
        upstream,
        float(total_weight),
    )
    return grad


def _compiled_cross_entropy_backward(
    g: np.ndarray, logp: np.ndarray, labels: np.ndarray, total_weight: np.float32
) -> np.ndarray:
    grad = _rows_out(logp)
    _csoftmax.cross_entropy_backward(
        float(g),
        _c_array(logp),
        _c_array(labels, np.int64),
        float(total_weight),
        grad,
    )
    return grad


if compiled:
    cross_entropy_backward = _compiled_cross_entropy_backward
    log_softmax = _compiled_log_softmax
    log_softmax_backward = _compiled_log_softmax_backward
    nll_loss = _compiled_nll_loss
    nll_loss_backward = _compiled_nll_loss_backward
    softmax = _compiled_softmax
    softmax_backward = _compiled_softmax_backward
