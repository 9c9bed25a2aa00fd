"""PyTorch's float32 CPU flash attention, forward and backward, to the last bit.

For 4-D float32 inputs without dropout PyTorch's `scaled_dot_product_attention` runs its CPU
flash-attention kernel (ATen's FlashAttentionKernel.cpp). `flash_forward` and `flash_backward`
replay its arithmetic with numpy, vectorised over batch and heads; `forward` and `backward` run
the compiled twin (`_cattention.c`, the same bits, much faster) when it is built.

* The queries go in blocks of 32 rows (64 from 192 rows on, 256 from 768), the keys in blocks of
  512; when causal, each query block sees the key blocks up to its last row.
* Forward, per key block: the scores q k^T (a matrix product, below), the causal part set to
  -inf, times the scale (with a mask: times the scale plus the mask, one rounding), the running
  row maximum, exp(score - max) -- `exp_u20`, the kernel's fast exp, on whole vectors of 16,
  a correctly rounded exp on the rest -- added in 16 lanes that are then summed in a fixed
  tree, the running sum and output rescaled by exp(old max - new max), then the product with
  v. At the end the output times 1 / sum, and logsumexp = max + logf(sum) (glibc's logf).
* Backward, query block after query block: rowsum(grad_out * out) in 16 lanes, the
  probabilities recomputed as SLEEF's exp(scale q k^T + mask - logsumexp), and five matrix
  products, grad_v, grad_k and grad_q accumulated block after block.

The matrix products are Intel MKL's `sgemm` (PyTorch's CPU BLAS), whose order of additions
depends on the shapes, the operands' layout and even the output's address. `_gemm` replays
what was measured for the calls this kernel makes (its docstring). Where it was not pinned
down, results may differ in the last bits (docs/pytorch-differences.md): a query block of one
row (a query length one more than a multiple of the block size), a last query block of fewer
than 12 rows (not a multiple of 4), fewer than 12 keys (not a multiple of 4), head sizes that are
not a multiple of 4, below 12 other than 8, or 12, and head sizes of 8 or less with an odd
query length below 32 (the kernel's work buffer then sits at an address MKL treats otherwise).
"""

from __future__ import annotations

import math

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._fma import fma32, fma64
from micrograd.tensor._sleef import expf_u10_unchecked

__all__ = ["backward", "flash_backward", "flash_forward", "forward", "query_split"]

_F32, _F64 = np.float32, np.float64
LANES = 16  # floats per AVX-512 vector: the kernel's vector loops go 16 at a time
KV_SPLIT = 512
_QUIET = {"over": "ignore", "under": "ignore", "invalid": "ignore", "divide": "ignore"}


def query_split(length: int) -> int:
    """Rows per query block, as the kernel picks its template by the query length."""
    return 256 if length >= 768 else 64 if length >= 192 else 32


# --- the kernel's exponentials and logarithm ------------------------------------------------


def _bits32(value: int) -> np.float32:
    return np.array([value], np.uint32).view(_F32)[0]


_LN_FLT_MIN, _LN_FLT_MAX = _bits32(0xC2AEAC50), _bits32(0x42B17218)
_LOG2E, _LN2F = _bits32(0x3FB8AA3B), _bits32(0x3F317218)
_FACTORS = [_F32(c) for c in (0.999999701, 0.499991506, 0.166676521, 0.0418978221, 0.00828929059)]


def exp_u20(x: np.ndarray) -> np.ndarray:
    """The vector class's `exp_u20` (within 20 ulps): exp(x) = 2**n * p(r) with x = n ln2 + r,
    p of degree 5 by Horner's rule in fused multiply-adds, 2**(n-1) built in the exponent bits
    and doubled; below ln(FLT_MIN) the result is 0."""
    below = x < _LN_FLT_MIN
    src = np.fmax(np.fmin(x, _LN_FLT_MAX), _LN_FLT_MIN)  # nan becomes the upper bound, as in minps
    n = np.floor(fma32(src, _LOG2E, _F32(0.5))).astype(_F32)
    r = fma32(-n, _LN2F, src)
    poly = fma32(r, _FACTORS[4], _FACTORS[3])
    for c in (_FACTORS[2], _FACTORS[1], _FACTORS[0], _F32(1)):
        poly = fma32(r, poly, c)
    exponent = (n.astype(np.int32) - 1 + 127).astype(np.uint32) << np.uint32(23)
    scale = np.where(below, _F32(0), exponent.view(_F32))
    return (poly * scale) * _F32(2)


def scalar_expf(x: np.ndarray) -> np.ndarray:
    """The scalar `exp` of the kernel's loops, as measured against PyTorch: correctly rounded
    (the exact exponential rounded once to float32; computed in double precision, whose error
    is far below float32's half ulp)."""
    return np.exp(np.asarray(x, _F32).astype(_F64)).astype(_F32)


_LOGF_INVC = np.array(
    [
        float.fromhex(v)
        for v in (
            "0x1.661ec79f8f3bep+0", "0x1.571ed4aaf883dp+0", "0x1.49539f0f010bp+0",
            "0x1.3c995b0b80385p+0", "0x1.30d190c8864a5p+0", "0x1.25e227b0b8eap+0",
            "0x1.1bb4a4a1a343fp+0", "0x1.12358f08ae5bap+0", "0x1.0953f419900a7p+0", "0x1p+0",
            "0x1.e608cfd9a47acp-1", "0x1.ca4b31f026aap-1", "0x1.b2036576afce6p-1",
            "0x1.9c2d163a1aa2dp-1", "0x1.886e6037841edp-1", "0x1.767dcf5534862p-1",
        )
    ]
)  # fmt: skip
_LOGF_LOGC = np.array(
    [
        float.fromhex(v)
        for v in (
            "-0x1.57bf7808caadep-2", "-0x1.2bef0a7c06ddbp-2", "-0x1.01eae7f513a67p-2",
            "-0x1.b31d8a68224e9p-3", "-0x1.6574f0ac07758p-3", "-0x1.1aa2bc79c81p-3",
            "-0x1.a4e76ce8c0e5ep-4", "-0x1.1973c5a611cccp-4", "-0x1.252f438e10c1ep-5", "0x0p+0",
            "0x1.aa5aa5df25984p-5", "0x1.c5e53aa362eb4p-4", "0x1.526e57720db08p-3",
            "0x1.bc2860d22477p-3", "0x1.1058bc8a07ee1p-2", "0x1.4043057b6ee09p-2",
        )
    ]
)  # fmt: skip
_LOGF_LN2 = float.fromhex("0x1.62e42fefa39efp-1")
_LOGF_POLY = tuple(
    float.fromhex(v)
    for v in ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2")
)


def glibc_logf(x: np.ndarray) -> np.ndarray:
    """The C library's `logf` (glibc's, FMA variant) of normal positive float32 values (the
    kernel takes it of row sums, which are at least 1): x = 2**k z, log(z/c) for c from a
    16-entry table by a cubic in double precision, plus log(c) + k ln2, rounded once."""
    ix = np.asarray(x, _F32).view(np.uint32).astype(np.int64)
    tmp = ix - 0x3F330000
    i = (tmp >> 19) % 16
    k = tmp >> 23
    z = (ix - (tmp & 0xFF800000)).astype(np.uint32).view(_F32).astype(_F64)
    r = fma64(z, _LOGF_INVC[i], -1.0)
    y0 = fma64(k.astype(_F64), _LOGF_LN2, _LOGF_LOGC[i])
    a0, a1, a2 = _LOGF_POLY
    r2 = r * r
    y = fma64(np.full_like(r, a1), r, a2)
    y = fma64(np.full_like(r, a0), r2, y)
    y = fma64(y, r2, y0 + r)
    return np.where(ix == 0x3F800000, _F32(0), y.astype(_F32))


def _exp_sum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """exp(x) of rows and their sums as `_exp_reduce_sum_fusion_kernel` computes them: whole
    vectors with exp_u20 added lane by lane, the lanes summed in the shuffle tree (i + i^8, i^4,
    i^2, i^1); then the remaining elements one by one with the scalar `exp`, added in order."""
    size = x.shape[-1]
    whole = size - size % LANES
    e = np.empty_like(x)
    e[..., :whole] = exp_u20(x[..., :whole])
    e[..., whole:] = scalar_expf(x[..., whole:])
    if whole:
        lanes = np.add.reduce(e[..., :whole].reshape(*x.shape[:-1], whole // LANES, LANES), -2)
        total = _lane_tree(lanes)
    else:
        total = np.zeros(x.shape[:-1], _F32)
    for j in range(whole, size):
        total = total + e[..., j]
    return e, total


def _lane_tree(lanes: np.ndarray) -> np.ndarray:
    """The sum of 16 lanes by `vec_reduce_all`'s shuffles: lane i plus lane i + 8, then + 4 ..."""
    width = lanes.shape[-1]
    while width > 1:
        width //= 2
        lanes = lanes[..., :width] + lanes[..., width : 2 * width]
    return lanes[..., 0]


def _row_dot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """rowsum(x * y) as `vec::map2_reduce_all`: products of whole vectors added lane by lane
    (the last partial vector's into the first lanes), the lanes in the shuffle tree; rows
    shorter than a vector add their products left to right."""
    size = x.shape[-1]
    products = x * y
    if size < LANES:
        total = products[..., 0]
        for j in range(1, size):
            total = total + products[..., j]
        return total
    whole = size - size % LANES
    lanes = np.add.reduce(products[..., :whole].reshape(*x.shape[:-1], whole // LANES, LANES), -2)
    if whole < size:
        tail = size - whole
        lanes[..., :tail] += products[..., whole:]
    return _lane_tree(lanes)


# --- MKL's sgemm as the kernel calls it ------------------------------------------------------


def _gemm(x, y, form: str, alpha=None, c=None) -> np.ndarray:
    """x @ y over the last two axes (x: (..., n, K), y: (..., K, m)) in MKL's order of
    operations for the kernel's calls. `form` names the layout of the call: "NT" for a product
    with a transposed right operand (q k^T, grad_out v^T), "NN" otherwise; `alpha` multiplies
    the product, `c` is added to it (beta = 1).

    Measured on MKL's AVX-512 code: with m >= 12 output columns, rows go four at a time
    through a kernel of fused multiply-add chains (the scale on the right operand first);
    from 12 rows on every row does, below that the last n % 4 rows go through a vector
    routine: plain multiplies and adds in order ("NN") or four interleaved partial sums added
    in a tree ("NT"). With fewer than 12 columns, "NT" takes four (for the last m % 4 columns
    eight) interleaved partial sums of plain products, scaled after; "NN" one plain chain,
    the scale on the left operand first, starting from c."""
    n, depth = x.shape[-2:]
    m = y.shape[-1]
    shape = np.broadcast_shapes(x.shape[:-2], y.shape[:-2]) + (n, m)
    if depth == 0:
        out = np.zeros(shape, _F32)
        return out if c is None else c + out
    if m < 12:
        if form == "NT":
            return _scaled_after(_lane_products(x, y, narrow=True), alpha, c)
        return _plain_chain(x if alpha is None else x * _F32(alpha), y, c)
    fused_rows = n if n >= 12 else n - n % 4
    if fused_rows == n:
        return _fused_chain(x, y, alpha, c)
    head = slice(0, fused_rows)
    tail = slice(fused_rows, n)
    out = np.empty(shape, _F32)
    if fused_rows:
        out[..., head, :] = _fused_chain(
            x[..., head, :], y, alpha, None if c is None else c[..., head, :]
        )
    c_tail = None if c is None else c[..., tail, :]
    if form == "NT" and m % 4 == 0:
        out[..., tail, :] = _scaled_after(
            _lane_products(x[..., tail, :], y, narrow=False), alpha, c_tail
        )
    elif form == "NT":  # measured to be neither; the fused chain is the nearest
        out[..., tail, :] = _fused_chain(x[..., tail, :], y, alpha, c_tail)
    else:
        out[..., tail, :] = _plain_chain(
            x[..., tail, :] if alpha is None else x[..., tail, :] * _F32(alpha), y, c_tail
        )
    return out


def _scaled_after(out, alpha, c):
    if alpha is not None:
        out = out * _F32(alpha)
    return out if c is None else c + out


def _lane_products(x, y, narrow: bool) -> np.ndarray:
    """x @ y as 4 interleaved partial sums of plain products (inner index j mod 4) added in a
    tree, (p0 + p2) + (p1 + p3); with `narrow`, the last m % 4 columns take 8 partial sums."""
    m = y.shape[-1]
    whole = m - m % 4 if narrow else m
    parts = []
    for cols, lanes in ((slice(0, whole), 4), (slice(whole, m), 8)):
        if cols.start == cols.stop:
            continue
        partial = [
            _plain_chain(x[..., :, j::lanes], y[..., j::lanes, cols], None) for j in range(lanes)
        ]
        while len(partial) > 1:
            half = len(partial) // 2
            partial = [partial[i] + partial[i + half] for i in range(half)]
        parts.append(partial[0])
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-1)


def _fused_chain(x, y, alpha, c) -> np.ndarray:
    """sum over j of x[:, j] * y[j] as one chain of fused multiply-adds (y scaled by alpha
    first); beyond 192 terms as the sums of two halves (and an odd last term) added in turn."""
    depth = x.shape[-1]
    shape = np.broadcast_shapes(x.shape[:-2], y.shape[:-2]) + (x.shape[-2], y.shape[-1])
    if alpha is not None:
        y = y * _F32(alpha)
    if depth <= 192:
        bounds = [0, depth]
    else:
        half = depth // 2
        bounds = [0, half, 2 * half] + ([depth] if depth % 2 else [])
    out = c
    for start, stop in zip(bounds[:-1], bounds[1:]):
        acc = np.zeros(shape, _F32)
        for j in range(start, stop):
            acc = fma32(x[..., :, j : j + 1], y[..., j : j + 1, :], acc)
        out = acc if out is None else out + acc
    return out


def _plain_chain(x, y, c) -> np.ndarray:
    """sum over j of x[:, j] * y[j] in order, each product rounded, starting from c (or 0)."""
    shape = np.broadcast_shapes(x.shape[:-2], y.shape[:-2]) + (x.shape[-2], y.shape[-1])
    acc = np.zeros(shape, _F32) if c is None else c.copy()
    for j in range(x.shape[-1]):
        acc += x[..., :, j : j + 1] * y[..., j : j + 1, :]
    return acc


def _gemm_rows(x, y, form: str, split: int, c=None) -> np.ndarray:
    """`_gemm` for all query rows at once, as the kernel multiplies them: one call per query
    block of `split` rows (MKL's order depends on the rows of a call), the last block on its
    own when it is shorter."""
    rows = x.shape[-2]
    whole = rows - rows % split
    parts = []
    if whole:
        blocks = x[..., :whole, :].reshape(*x.shape[:-2], whole // split, split, x.shape[-1])
        c_blocks = None
        if c is not None:
            c_blocks = c[..., :whole, :].reshape(*c.shape[:-2], whole // split, split, c.shape[-1])
        out = _gemm(blocks, y[..., None, :, :], form, None, c_blocks)
        parts.append(out.reshape(*out.shape[:-3], whole, out.shape[-1]))
    if whole < rows:
        parts.append(
            _gemm(x[..., whole:, :], y, form, None, None if c is None else c[..., whole:, :])
        )
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=-2)


# --- the kernel -------------------------------------------------------------------------------


def _causal_limits(length: int, keys: int, split: int) -> np.ndarray:
    """For each query row, the number of keys its query block visits when causal."""
    starts = np.arange(length) // split * split
    return np.minimum(np.minimum(starts + split, length), keys)


def flash_forward(q, k, v, scale: float, causal: bool, mask=None):
    """(output, logsumexp) of attention over float32 (B, H, L, E) inputs, `mask` a float32 bias
    broadcastable to (B, H, L, S) or None."""
    length, keys = q.shape[-2], k.shape[-2]
    split = min(query_split(length), length)
    kv_split = min(KV_SPLIT, keys)
    scale = _F32(scale)
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    row_max = np.full(lead + (length,), -np.inf, _F32)
    row_sum = np.zeros(lead + (length,), _F32)
    dst = np.zeros(lead + (length, v.shape[-1]), _F32)
    visits = _causal_limits(length, keys, split) if causal else np.full(length, keys)
    rows = np.arange(length)[:, None]
    kt = np.swapaxes(k, -1, -2)
    with np.errstate(**_QUIET):
        for start in range(0, keys, kv_split):
            size = min(kv_split, keys - start)
            active = visits > start  # query blocks whose keys reach this block
            if not active.any():
                break
            scores = _gemm_rows(q, kt[..., start : start + size], "NT", split)
            if causal:
                last_block = (visits - start <= kv_split)[:, None]
                cols = np.arange(start, start + size)[None, :]
                scores = np.where(last_block & (cols > rows), _F32(-np.inf), scores)
            if mask is not None:
                scores = fma32(scores, scale, mask[..., start : start + size])
            else:
                scores = scores * scale
            new_max = np.maximum(row_max, scores.max(axis=-1))
            dead = new_max == -np.inf  # nothing visible yet: the row stays 0
            e, block_sum = _exp_sum(scores - np.where(dead, _F32(0), new_max)[..., None])
            e = np.where(dead[..., None], _F32(0), e)
            rescale = scalar_expf(row_max - new_max)
            updated_sum = fma32(rescale, row_sum, block_sum)
            keep = ~active[:, None] if start else None
            live = ~dead if keep is None else (~dead & ~keep[:, 0])
            if start:
                dst = np.where(live[..., None], dst * rescale[..., None], dst)
                e = np.where(active[:, None], e, _F32(0))
            row_sum = np.where(live, updated_sum, row_sum)
            row_max = np.where(live, new_max, row_max)
            dst = _gemm_rows(
                e, v[..., start : start + size, :], "NN", split, c=dst if start else None
            )
        row_sum = np.where(row_sum == 0, _F32(1), row_sum)
        row_max = np.where(row_max == -np.inf, _F32(0), row_max)
        out = dst * (_F32(1) / row_sum)[..., None]
        lse = row_max + glibc_logf(row_sum)
    return out, lse


def flash_backward(grad_out, q, k, v, out, lse, scale: float, causal: bool, mask=None):
    """(grad_q, grad_k, grad_v) of `flash_forward`'s output."""
    length, keys, head = q.shape[-2], k.shape[-2], q.shape[-1]
    split = min(query_split(length), length)
    kv_split = min(KV_SPLIT, keys)
    scale = _F32(scale)
    lead = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], grad_out.shape[:-2])
    grad_q = np.zeros(lead + (length, head), _F32)
    grad_k = np.zeros(lead + (keys, head), _F32)
    grad_v = np.zeros(lead + (keys, v.shape[-1]), _F32)
    kt, vt = np.swapaxes(k, -1, -2), np.swapaxes(v, -1, -2)
    with np.errstate(**_QUIET):
        dsum = _row_dot(grad_out, out)
        for m in range(0, length, split):
            block = min(split, length - m)
            rows = slice(m, m + block)
            visits = min(m + block, keys) if causal else keys
            q_b, go_b = q[..., rows, :], grad_out[..., rows, :]
            for start in range(0, visits, kv_split):
                size = min(kv_split, keys - start)
                cols = slice(start, start + size)
                attn = _gemm(q_b, kt[..., cols], "NT", alpha=scale)
                if mask is not None:
                    attn = attn + mask[..., rows, cols]
                attn = expf_u10_unchecked(attn - lse[..., rows, None])
                if causal and visits - start <= kv_split:
                    hidden = (
                        np.arange(start, start + size)[None, :] > np.arange(m, m + block)[:, None]
                    )
                    attn = np.where(hidden, _F32(0), attn)
                attn_t = np.swapaxes(attn, -1, -2)
                grad_v[..., cols, :] = _gemm(attn_t, go_b, "NN", c=grad_v[..., cols, :])
                grad_attn = _gemm(go_b, vt[..., cols], "NT")
                grad_attn = attn * (grad_attn - dsum[..., rows, None])
                grad_q[..., rows, :] = _gemm(
                    grad_attn, k[..., cols, :], "NN", alpha=scale, c=grad_q[..., rows, :]
                )
                grad_k[..., cols, :] = _gemm(
                    np.swapaxes(grad_attn, -1, -2), q_b, "NN", alpha=scale, c=grad_k[..., cols, :]
                )
    return grad_q, grad_k, grad_v


# --- the compiled twin ------------------------------------------------------------------------


compiled = _native.load("nn._cattention")  # the same arithmetic in C, or None


def _heads(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, _F32).reshape(-1, *a.shape[-2:])


def forward(q, k, v, scale: float, causal: bool, mask=None):
    """`flash_forward`, by the compiled twin when it is built."""
    if compiled is None:
        return flash_forward(q, k, v, scale, causal, mask)
    lead, length, keys, head = q.shape[:-2], q.shape[-2], k.shape[-2], q.shape[-1]
    heads = math.prod(lead)
    out = np.empty(q.shape, _F32)
    lse = np.empty(lead + (length,), _F32)
    if mask is not None:
        mask = _heads(np.broadcast_to(mask, lead + (length, keys)))
    compiled.forward(
        _heads(q), _heads(k), _heads(v), mask, out, lse, heads, length, keys, head, scale, causal
    )
    return out, lse


def backward(grad_out, q, k, v, out, lse, scale: float, causal: bool, mask=None):
    """`flash_backward`, by the compiled twin when it is built."""
    if compiled is None:
        return flash_backward(grad_out, q, k, v, out, lse, scale, causal, mask)
    lead, length, keys, head = q.shape[:-2], q.shape[-2], k.shape[-2], q.shape[-1]
    heads = math.prod(lead)
    grads = [np.zeros(q.shape, _F32), np.zeros(k.shape, _F32), np.zeros(v.shape, _F32)]
    if mask is not None:
        mask = _heads(np.broadcast_to(mask, lead + (length, keys)))
    compiled.backward(
        _heads(grad_out), _heads(q), _heads(k), _heads(v), _heads(out),
        np.ascontiguousarray(lse, _F32), mask, *grads, heads, length, keys, head, scale, causal,
    )  # fmt: skip
    return tuple(grads)
