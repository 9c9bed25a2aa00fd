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
"""

from __future__ import annotations

import os

import numpy as np

from micrograd.tensor._fma import fma32
from micrograd.tensor._sleef import expf_u10, logf_u10

__all__ = [
    "cross_entropy_backward",
    "lane_sum",
    "log_softmax",
    "log_softmax_backward",
    "nll_loss",
    "nll_loss_backward",
    "softmax",
    "softmax_backward",
]

_F32 = np.float32
LANES = 16  # floats per AVX-512 vector, the width PyTorch's kernels use on this kind of CPU
_CASCADE_LEVELS = 8  # nll_loss's partial sums
_LEVEL_BITS = 4  # level j is flushed at row indices that are multiples of 16**(j+1)


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
    # numpy reduces a middle axis one slice after another, in order: the vector accumulator
    acc = np.add.reduce(a[:, :whole].reshape(n, whole // LANES, LANES), axis=1)
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
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = x - _row_max(x) if x.shape[1] else x.copy()
        log_sums = logf_u10(lane_sum(expf_u10(shifted)))
        shifted -= log_sums[:, None]
    return shifted


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax of each row of a 2-D float32 array."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = expf_u10(x - _row_max(x)) if x.shape[1] else x.copy()
        e *= (_F32(1) / lane_sum(e))[:, None]
    return e


def log_softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of log_softmax's rows: g - exp(out) * sum(g), the product and the difference
    rounded once (the compiler fuses them into one FMA)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return fma32(-expf_u10(out), lane_sum(g)[:, None], g)


def _default_threads() -> int:
    """PyTorch's default number of threads, as far as it matters here (one or more)."""
    try:
        return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    except ValueError:
        return os.cpu_count() or 1


# The threads PyTorch would use (`set_num_threads` keeps it). Its softmax backward loop exists
# in two compiled copies: the one `parallel_for` calls directly (one thread, or one row) fuses
# the last partial vector's multiply-add, the one it hands to OpenMP threads does not.
kernel_threads = _default_threads()


def softmax_backward(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of softmax's rows: (g - sum(g * out)) * out."""
    fused = kernel_threads == 1 or g.shape[0] == 1
    with np.errstate(invalid="ignore", over="ignore"):
        return (g - lane_sum(g * out, (g, out) if fused else None)[:, None]) * out


def _segment_sums(values: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """Sequential float32 sums (each from +0) of the runs of `values` that end where `ends` is
    True, and the sum of the unfinished last run (0 if none)."""
    m = values.size
    if m == 0:
        return np.zeros(0, _F32), _F32(0)
    run = np.zeros(m, np.intp)
    np.cumsum(ends[:-1], out=run[1:])
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    position = np.arange(m) - starts[run]
    grid = np.zeros((starts.size, int(position.max()) + 1), _F32)
    grid[run, position] = values
    # padding with +0 changes no sum: a running sum that starts at +0 never becomes -0
    total = np.zeros(starts.size, _F32)
    for column in grid.T:
        total += column
    if ends[-1]:
        return total, _F32(0)
    return total[:-1], total[-1]


def _cascade_sum(values: np.ndarray, rows: np.ndarray) -> np.float32:
    """nll_loss's sum of `values` (float32, added in order) taken at the counted row indices
    `rows`: level 0 adds each value; after row b, level j is added into level j+1 and cleared
    while b is a multiple of 16**(j+1); the levels are then added from 0 to 7."""
    # how many levels row b flushes: its trailing zero hex digits (row 0 flushes them all)
    flushes = np.full(rows.shape, _CASCADE_LEVELS - 1, np.intp)
    shifted = rows.copy()
    for level in range(_CASCADE_LEVELS - 1):
        nonzero = (shifted & 15) != 0
        flushes[nonzero & (flushes == _CASCADE_LEVELS - 1)] = level
        shifted >>= _LEVEL_BITS
    incoming, at = values, flushes
    total = _F32(0)
    for level in range(_CASCADE_LEVELS):
        if incoming.size == 0:
            break
        last = level == _CASCADE_LEVELS - 1
        if incoming.size <= _SCALAR_RUNS:  # a few values: a plain loop costs less
            emitted, partial = [], _F32(0)
            for value, flush in zip(incoming.tolist(), at.tolist()):
                partial = _F32(partial + _F32(value))
                if flush > level and not last:
                    emitted.append(partial)
                    partial = _F32(0)
            rest = partial
            ends = (at > level) if not last else np.zeros(at.shape, bool)
            emitted = np.array(emitted, _F32)
        else:
            ends = (at > level) if not last else np.zeros(at.shape, bool)
            emitted, rest = _segment_sums(incoming, ends)
        total = _F32(total + rest)
        incoming, at = emitted, at[ends]
    return total


_SCALAR_RUNS = 48  # below this many values, a level of the cascade is summed in a Python loop


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
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        v = -(_F32(g) / total_weight)
        row_sums = np.zeros(n, _F32)
        row_sums[rows] = v + _F32(0) if c > 1 else v
        e = expf_u10(logp)
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
