"""PyTorch's CPU layer_norm, forward and backward, to the last bit (float32 and float64).

The scripts of the course print their losses with every digit, and a transformer normalises its
activations a few times per layer, so a layer_norm one unit of float32's precision away from
PyTorch's shows in the printed losses. This module replays PyTorch's CPU kernels
(layer_norm_kernel.cpp and the Welford statistics of moments_utils.h). PyTorch runs them with
vectors of 8 floats (4 doubles) even on AVX-512 machines, so `LANES` is 8 for float32 and 4 for
float64. The operations, for each row of N values:

Statistics (mean and 1 / sqrt(var + eps), var the biased variance):

* the whole vectors of the row, 16 at a time ("chunks"), each lane j of a chunk a Welford
  update: d = x - m1; m1 = fma(d, 1 / (k + 1), m1); m2 = fma(d, x - m1, m2) for the chunk's
  k-th vector, starting from zero;
* the chunks merged in a binary cascade (chunk 2i + 1 into chunk 2i, then pairs into pairs and
  so on; at the end the unpaired partial groups, the larger ones merged into the running one):
  merging (nb, m1, m2) with (na, m1a, m2a): c = na / (na + nb), d = m1a - m1,
  m1 = m1 + d * c, m2 = fma(d * c, d * nb, m2 + m2a);
* the last N mod LANES values, one after another: d = x - m1; m1 = m1 + d / k;
  m2 = m2 + d * (x - m1) (no fused multiply-add there);
* then the lanes added into that tail, lane 0 first: c = n / (n + m0), d = lane_m1 - m1,
  m1 = fma(c, d, m1), m2 = m2 + fma(d * d * c, m0, lane_m2), with n the number of whole vectors;
* var = m2 / N and rstd = 1 / sqrt(var + eps), eps rounded to the dtype.

Output: y = fma((x - mean) * rstd, weight, bias); without a weight y = fma(x - mean, rstd, bias),
without a bias the product plus +0.0 (so -0.0 becomes 0.0).

Backward (g the upstream gradient, a = rstd, s = 1 / N, sums in the vector order of
`vector_sum`): ds = sum(g * x * w), db = sum(g * w),
    b = (db * mean - ds) * a * a * a * s,  c = -b * mean - db * a * s,
    dx = a * g * w + b * x + c
with PyTorch's fused multiply-adds (see `backward`); d weight and d bias are accumulated over
the rows, per thread in PyTorch's split of the rows, then the threads' partial sums are added.

`forward` and `backward` use the compiled twin `_clayernorm` (the same operations in C) when it
is built and MICROGRAD_PURE is not set; `forward_numpy` and `backward_numpy` are the same
arithmetic on whole numpy arrays.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._fma import fma
from micrograd.tensor._torch_threads import default_threads

__all__ = ["LANES", "backward", "backward_numpy", "forward", "forward_numpy", "kernel_threads"]

# PyTorch's layer_norm kernels use 256-bit vectors: 8 floats or 4 doubles
LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}
_CHUNK = 16  # whole vectors per Welford chunk (moments_utils.h's kChunkSize)
# a float64 exactly halfway between two float32s: the 29 bits float32 drops are 10...0
_HALFWAY_MASK, _HALFWAY = 0x1FFFFFFF, 0x10000000
_FLOAT32_TINY = 2.0**-126  # float32's smallest normal
# inf, nan and overflow are intended results (PyTorch's kernels give them silently)
_QUIET = {"over": "ignore", "under": "ignore", "invalid": "ignore", "divide": "ignore"}


# The threads PyTorch would use (`torch.set_num_threads` sets it): the backward pass adds the
# weight and bias gradients per thread over its share of the rows, then adds those partial sums.
kernel_threads = default_threads()


def _compiled():
    """The C twin, or None (not built, or MICROGRAD_PURE=1)."""
    return _native.load("nn._clayernorm")


_C = _compiled()


# -- float32 fused multiply-adds, fast ------------------------------------------------------------


class _Float64Fma:
    """fma(a, b, c) of float32 values through float64: the product is exact there, so the sum
    is the exact value rounded once to float64, then to float32. Rounding twice differs from
    the FMA's single rounding only where the float64 sum was rounded onto a point halfway
    between two float32s, or lies below float32's normal range; `doubtful` records whether any
    sum was such a case (several times faster than `fma` on the replay's arrays, where exact
    halfway sums are common: x * 0.5 + y, x * 1 + y)."""

    def __init__(self):
        self.doubtful = False

    def __call__(self, a, b, c):
        product = np.multiply(a, b, dtype=np.float64)
        total = np.asarray(product + c)
        if not self.doubtful:
            halfway = (total.view(np.int64) & _HALFWAY_MASK) == _HALFWAY
            if halfway.any():  # was that sum rounded? (TwoSum's error: zero when exact)
                z = total - product
                error = (product - (total - z)) + (c - z)
                self.doubtful = bool((halfway & (error != 0)).any())
            magnitude = np.abs(total)
            self.doubtful |= bool(((magnitude < _FLOAT32_TINY) & (magnitude != 0)).any())
        return total.astype(np.float32)


def _doubtful(total: np.ndarray) -> bool:
    """Whether rounding these float64 sums to float32 may differ from rounding once (without
    the terms at hand: every halfway sum counts)."""
    magnitude = np.abs(total)
    halfway = (total.view(np.int64) & _HALFWAY_MASK) == _HALFWAY
    return bool((halfway | ((magnitude < _FLOAT32_TINY) & (magnitude != 0))).any())


def _with_fast_fma(dtype, replay):
    """replay(fma) with float32's fast fused multiply-adds, run again with exact ones in the
    rare case that one of them may have rounded differently (float64: exact ones)."""
    if dtype != np.float32:
        return replay(fma)
    fast = _Float64Fma()
    result = replay(fast)
    return replay(fma) if fast.doubtful else result


# -- forward ------------------------------------------------------------------------------------


def _merge_vec(na, m1a, m2a, nb, m1, m2, fma=fma):
    """Chunk statistics (na, m1a, m2a) merged into (nb, m1, m2): moments_utils' AddMomentsVec as
    PyTorch's compiled code rounds it."""
    dt = m1.dtype.type
    n = na + nb
    c = dt(0) if n == 0 else dt(na) / dt(n)
    d = m1a - m1
    dc = d * c
    return n, m1 + dc, fma(dc, d * dt(nb), m2 + m2a)


def _chunk_moments(vectors: np.ndarray, fma=fma) -> tuple[np.ndarray, np.ndarray]:
    """Welford updates along axis -2 of (..., k, lanes) vectors, k <= 16, from zero."""
    dt = vectors.dtype.type
    m1 = np.zeros(vectors.shape[:-2] + vectors.shape[-1:], vectors.dtype)
    m2 = np.zeros_like(m1)
    for k in range(vectors.shape[-2]):
        x = vectors[..., k, :]
        d = x - m1
        m1 = fma(d, dt(1) / dt(k + 1), m1)
        m2 = fma(d, x - m1, m2)
    return m1, m2


def row_moments(rows: np.ndarray, fma=fma) -> tuple[np.ndarray, np.ndarray]:
    """The mean and biased variance of each row of a 2-D float array, as PyTorch computes them
    (moments_utils.h's RowwiseMoments); both of shape (rows,). `fma` computes the fused
    multiply-adds (see `_Float64Fma`)."""
    dt = rows.dtype.type
    lanes = LANES[rows.dtype]
    m, size = rows.shape
    n = size // lanes  # whole vectors
    whole_chunks, rest = divmod(n, _CHUNK)
    chunks = []  # (count, m1, m2) of each chunk, in order
    if whole_chunks:
        block = rows[:, : whole_chunks * _CHUNK * lanes].reshape(m, whole_chunks, _CHUNK, lanes)
        m1, m2 = _chunk_moments(block, fma)
        chunks += [(_CHUNK, m1[:, i], m2[:, i]) for i in range(whole_chunks)]
    if rest:
        start = whole_chunks * _CHUNK * lanes
        m1, m2 = _chunk_moments(rows[:, start : n * lanes].reshape(m, rest, lanes), fma)
        chunks.append((rest, m1, m2))
    # the cascade: a stack of levels, level j holding up to 2**j chunks' merged statistics
    depth = 1 if len(chunks) <= 2 else (len(chunks) - 1).bit_length()
    zero = np.zeros((m, lanes), rows.dtype)
    stack = [(0, zero, zero) for _ in range(depth)]
    for i, chunk in enumerate(chunks):
        stack[0] = _merge_vec(*chunk, *stack[0], fma)
        mask, j = i + 1, 1
        while j < depth and mask & 1 == 0:
            stack[j] = _merge_vec(*stack[j - 1], *stack[j], fma)
            stack[j - 1] = (0, zero, zero)
            mask >>= 1
            j += 1
    for j in range(1, depth):
        stack[0] = _merge_vec(*stack[j], *stack[0], fma)
    lane_m1, lane_m2 = stack[0][1], stack[0][2]
    # the values after the last whole vector, one by one
    count = 0
    m1 = np.zeros(m, rows.dtype)
    m2 = np.zeros(m, rows.dtype)
    for i in range(n * lanes, size):
        x = rows[:, i]
        d = x - m1
        count += 1
        m1 = m1 + d / dt(count)
        m2 = m2 + d * (x - m1)
    # then the lanes, lane 0 first (moments_utils' scalar AddMoments)
    for lane in range(lanes):
        total = count + n
        c = dt(0) if total == 0 else dt(n) / dt(total)
        d = lane_m1[:, lane] - m1
        m1 = fma(c, d, m1)
        m2 = m2 + fma(d * d * c, dt(count), lane_m2[:, lane])
        count = total
    return m1, m2 / dt(size)


def forward_numpy(rows: np.ndarray, eps: float, weight=None, bias=None):
    """(y, mean, rstd) of layer_norm over the rows of a 2-D array; weight and bias 1-D or None.
    mean and rstd have shape (rows, 1)."""
    return _with_fast_fma(rows.dtype, lambda fma: _forward(rows, eps, weight, bias, fma))


def _forward(rows, eps, weight, bias, fma):
    dt = rows.dtype.type
    with np.errstate(**_QUIET):
        mean, var = row_moments(rows, fma)
        mean, rstd = mean[:, None], dt(1) / np.sqrt(var + dt(eps))[:, None]
        centred = rows - mean
        if weight is None and bias is not None:
            y = fma(centred, rstd, np.broadcast_to(bias, rows.shape))
        else:
            y = centred * rstd
            if weight is not None and bias is not None:
                y = fma(y, weight, np.broadcast_to(bias, rows.shape))
            else:
                if weight is not None:
                    y *= weight
                y += dt(0)  # PyTorch's `+ beta` with beta 0: -0.0 becomes 0.0
    return y, mean, rstd


def _suits_compiled(*arrays) -> bool:
    """Whether the C kernel can read these arrays (None: not given): it reads native, aligned
    floats only (a view at an odd byte offset, from from_numpy, runs the numpy twin)."""
    return all(a is None or (a.dtype.isnative and a.flags.aligned) for a in arrays)


def forward(rows: np.ndarray, eps: float, weight=None, bias=None):
    """`forward_numpy`, by the compiled twin when it is built."""
    if _C is None or not _suits_compiled(rows, weight, bias):
        return forward_numpy(rows, eps, weight, bias)
    m, size = rows.shape
    y = np.empty_like(rows)
    mean, rstd = np.empty((m, 1), rows.dtype), np.empty((m, 1), rows.dtype)
    _C.forward(rows, weight, bias, float(eps), y, mean, rstd, m, size)
    return y, mean, rstd


# -- backward -----------------------------------------------------------------------------------


def _lane_reduce(acc: np.ndarray) -> np.ndarray:
    """The lanes of (rows, lanes) vector accumulators added as PyTorch's `vec_reduce_all` does:
    for floats a shuffle tree (lane i plus lane i + 4, then i + 2, then i + 1), for doubles the
    generic loop (lane 0 plus lane 1, plus lane 2, ...)."""
    if acc.dtype == np.float64:
        total = acc[:, 0].copy()
        for lane in range(1, acc.shape[1]):
            total += acc[:, lane]
        return total
    width = acc.shape[1]
    while width > 1:
        width //= 2
        acc = acc[:, :width] + acc[:, width : 2 * width]
    return acc[:, 0]


def vector_sum(first: np.ndarray, second=None, fma=fma) -> np.ndarray:
    """The sums of the rows of first * second (of first when second is None) in the order of
    PyTorch's `vec::map2_reduce_all` / `reduce_all`: whole vectors added into one vector
    accumulator (the first vector is its start), a last partial vector added into its first
    lanes with its product fused into the addition, then the lanes reduced; a row shorter than a
    vector is added left to right. `second` may be 1-D (one vector for all rows)."""
    m, size = first.shape
    lanes = LANES[first.dtype]
    values = first if second is None else first * second
    if size < lanes:
        if size == 0:
            return np.zeros(m, first.dtype)
        total = values[:, 0].copy()
        for j in range(1, size):
            total += values[:, j]
        return total
    whole = size - size % lanes
    # numpy reduces a middle axis one slice after another, in order: the vector accumulator
    acc = np.add.reduce(values[:, :whole].reshape(m, whole // lanes, lanes), axis=1)
    if whole < size:
        if second is None:
            acc[:, : size - whole] += first[:, whole:]
        else:
            tail = second[..., whole:]
            acc[:, : size - whole] = fma(first[:, whole:], tail, acc[:, : size - whole])
    return _lane_reduce(acc)


def _thread_rows(m: int, threads: int) -> list[range]:
    """PyTorch's split of m rows among its threads (`at::parallel_for`, grain 1)."""
    if threads <= 1 or m <= 1:
        return [range(m)]
    share = -(-m // min(threads, m))
    return [range(start, min(m, start + share)) for start in range(0, m, share)]


def _fma_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """part = fma(a[i], b[i], part) for the rows i in order, from part = 0."""
    part = np.zeros(a.shape[1], a.dtype)
    if a.dtype == np.float32 and len(a):
        # float32 products are exact in float64, so each sum is rounded once in float64, then
        # to float32: twice, which differs from one rounding only on a float64 sum exactly
        # halfway between two float32s, or below float32's normal range. Rows are added that
        # way, every sum kept; if any sum is such a case, the rows are redone one FMA at a time.
        products = np.multiply(a, b, dtype=np.float64)
        sums = np.empty_like(products)
        for i in range(len(a)):
            np.add(part, products[i], out=sums[i])
            part = sums[i].astype(np.float32)
        if not _doubtful(sums):
            return part
        part = np.zeros(a.shape[1], a.dtype)
    for i in range(len(a)):
        part = fma(a[i], b[i], part)
    return part


def backward_numpy(g, rows, mean, rstd, weight=None, need=(True, True, True), threads=1):
    """(d rows, d weight, d bias) of layer_norm, each None unless `need` asks for it (d weight
    also None without a weight). g and rows 2-D, mean and rstd of shape (rows, 1)."""
    return _with_fast_fma(
        rows.dtype, lambda fma: _backward(g, rows, mean, rstd, weight, need, threads, fma)
    )


def _backward(g, rows, mean, rstd, weight, need, threads, fma):
    dt = rows.dtype.type
    m, size = rows.shape
    need_x, need_w, need_b = need
    need_w = need_w and weight is not None
    dx = dw = db = None
    with np.errstate(**_QUIET):
        if need_x:
            if weight is None:
                ds, dbias = vector_sum(g, rows, fma), vector_sum(g)
            else:
                ds, dbias = vector_sum(g * rows, weight, fma), vector_sum(g, weight, fma)
            a, mu, scale = rstd[:, 0], mean[:, 0], dt(1) / dt(size)
            b = fma(dbias, mu, -ds) * a * a * a * scale
            c = fma(-b, mu, -(dbias * a * scale))
            scaled = g * rstd if weight is None else g * rstd * weight
            dx = fma(np.broadcast_to(b[:, None], rows.shape), rows, scaled) + c[:, None]
        if need_w or need_b:
            # per thread: its rows added one after another (np.add.accumulate adds in order;
            # np.add.reduce may sum a single column pairwise); then the threads' sums, in order
            x_hat = fma(np.broadcast_to(rstd, rows.shape), rows, -rstd * mean) if need_w else None
            dw = np.zeros(size, rows.dtype) if need_w else None
            db = np.zeros(size, rows.dtype) if need_b else None
            for share in _thread_rows(m, threads):
                if need_w:
                    dw += _fma_rows(g[share.start : share.stop], x_hat[share.start : share.stop])
                if need_b and len(share):
                    db += np.add.accumulate(g[share.start : share.stop], axis=0)[-1]
    return dx, dw, db


def backward(g, rows, mean, rstd, weight=None, need=(True, True, True), threads=None):
    """`backward_numpy`, by the compiled twin when it is built; `threads` defaults to
    `kernel_threads`, the threads PyTorch would split the rows among."""
    threads = kernel_threads if threads is None else threads
    if _C is None or not _suits_compiled(g, rows, weight):
        return backward_numpy(g, rows, mean, rstd, weight, need, threads)
    m, size = rows.shape
    dx = np.empty_like(rows) if need[0] else None
    dw = np.empty(size, rows.dtype) if need[1] and weight is not None else None
    db = np.empty(size, rows.dtype) if need[2] else None
    _C.backward(g, rows, mean, rstd, weight, dx, dw, db, m, size, threads)
    return dx, dw, db
