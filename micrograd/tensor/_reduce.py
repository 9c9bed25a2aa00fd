"""PyTorch's float32 and float64 `sum` on the CPU, to the last bit (and so `mean`, its quotient).

The course scripts print mean losses with every digit, and float additions give different bits
in a different order. PyTorch's sum (SumKernel.cpp, `cascade_sum`; on AVX-512 machines too it runs
its AVX2 build: vectors of 8 floats or 4 doubles) works in three layers:

1. The TensorIterator (TensorIterator.cpp) drops length-1 dims, orders the others with the reduced
   ones first (innermost), each group by input stride (the kept ones by output stride), and merges
   neighbours that are contiguous with each other. The two innermost dims form a 2-D kernel call
   (`size0` elements, `size1` rows) made once per index of the outer dims, and each call adds its
   results into the output (zeroed first): reduced outer dims are summed call after call.
2. The kernel call picks one of four loops by the strides of those two dims:
   * contiguous inner (`size0` is contiguous and >= one vector): each row as whole vectors, summed
     by `row_sum` (below) into one vector; the scalar tail added left to right, then the vector's
     lanes one by one;
   * contiguous outer (the rows are contiguous, `size1` >= one vector): columns in blocks of 4
     vectors each summed by the straight cascade, the other columns by `row_sum`;
   * scalar inner: each output by `row_sum`;
   * scalar outer: outputs in groups of 4 by the straight cascade, the rest by `row_sum`.
   `row_sum` splits a sequence into 4 interleaved partial sums (element i goes to i % 4), each a
   straight cascade over the whole groups of 4, adds the tail into the first, then the four left
   to right. The straight cascade (`multi_row_sum`) adds blocks of `2**p` elements left to right
   (p = max(4, ceil(log2 n) // 4)) and passes each finished block, group of blocks and group of
   groups one level up (four levels), then adds the levels.
3. With more than one thread and at least 32768 elements (`parallel_reduce`): a reduction to one
   number splits the elements in `threads` equal runs whose sums are added in order; otherwise
   the outermost kept dim is split between the threads (at multiples of 128 bytes when it is
   contiguous), which changes the kernel calls' column blocks.

`torch_sum` replays all of this with numpy on whole arrays (loops run over cascade levels, block
positions and vector lanes, never over elements); `micrograd/tensor/_creduce.c` is its compiled
twin for the kernel calls, with the same bits. `kernel_threads` is PyTorch's thread count, which
`set_num_threads` keeps in step with ours.

Every accumulator in PyTorch starts at +0.0; here the sums start at their first term, so they
differ only in the sign of a zero result, which one final `+ 0.0` settles.
"""

from __future__ import annotations

import numpy as np

from micrograd.tensor import _native
from micrograd.tensor._torch_threads import default_threads

__all__ = ["kernel_threads", "torch_mean", "torch_sum"]

kernel_threads = default_threads()
GRAIN_SIZE = 32768  # at::internal::GRAIN_SIZE: below it PyTorch reduces on one thread
_ILP = 4  # row_sum's interleaved partial sums (and multi_row_sum's rows per call)
_LEVELS = 4  # multi_row_sum's cascade levels
_LANES = {4: 8, 8: 4}  # vector lanes by item size (AVX2: 256 bits)
_QUIET = {"over": "ignore", "invalid": "ignore"}  # inf and nan are results here, as in PyTorch

_ccore = _native.load("_creduce")  # None: the numpy path gives the same bits


# -- the kernels, on numpy arrays: a sequence along axis -2, independent lanes along -1 ----------


def _ceil_log2(n: int) -> int:
    return 1 if n <= 2 else (n - 1).bit_length()


def _sequential(y: np.ndarray) -> np.ndarray:
    """Left-to-right sum along axis -2."""
    m = y.shape[-2]
    if m == 0:
        return np.zeros(y.shape[:-2] + y.shape[-1:], y.dtype)
    if m > 16:  # a running sum is left to right by definition, and one call
        return np.add.accumulate(y, axis=-2)[..., -1, :]
    total = y[..., 0, :].copy()
    for i in range(1, m):
        total += y[..., i, :]
    return total


def _grouped(y: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The left-to-right sums of the whole groups of `step` along axis -2, and of the rest."""
    m = y.shape[-2]
    whole = m - m % step
    groups = y[..., :whole, :].reshape(y.shape[:-2] + (whole // step, step) + y.shape[-1:])
    if whole:
        sums = groups[..., 0, :].copy()
        for i in range(1, step):
            sums += groups[..., i, :]
    else:
        sums = np.zeros(y.shape[:-2] + (0,) + y.shape[-1:], y.dtype)
    return sums, _sequential(y[..., whole:, :])


def cascade(y: np.ndarray) -> np.ndarray:
    """`multi_row_sum`: the straight cascade along axis -2 of `y`, each lane on its own."""
    step = 1 << max(4, _ceil_log2(y.shape[-2]) // _LEVELS)
    level = y
    rests = []
    for _ in range(_LEVELS - 1):  # elements -> blocks -> groups of blocks -> groups of groups
        level, rest = _grouped(level, step)
        rests.append(rest)
    total = rests[0] + rests[1]
    total += rests[2]
    total += _sequential(level)  # the top level keeps adding whatever reaches it
    return total


def row_sum(y: np.ndarray) -> np.ndarray:
    """`row_sum`: 4 interleaved cascades along axis -2, the tail into the first, then 4 added."""
    m, lanes = y.shape[-2:]
    whole = m - m % _ILP
    body = y[..., :whole, :].reshape(y.shape[:-2] + (whole // _ILP, _ILP * lanes))
    parts = cascade(body).reshape(y.shape[:-2] + (_ILP, lanes))
    first = parts[..., 0, :]
    for i in range(whole, m):
        first += y[..., i, :]
    for k in range(1, _ILP):
        first += parts[..., k, :]
    return first


def kernel(x: np.ndarray, lanes: int) -> np.ndarray:
    """One PyTorch kernel call on each (size1, size0) slice of `x`: sums along the last axis,
    shape `x.shape[:-1]`, by the loop PyTorch picks from the strides of the last two axes."""
    n1, n0 = x.shape[-2:]
    s1, s0 = x.strides[-2:]
    item = x.itemsize
    if s0 == item and n0 >= lanes:  # contiguous inner: vectors, then the tail and the lanes
        vectors = n0 // lanes
        body = x[..., : vectors * lanes].reshape(x.shape[:-1] + (vectors, lanes))
        acc = row_sum(body)
        tail = x[..., vectors * lanes :]
        # the tail's elements left to right, then the vector's lanes in order
        terms = [tail[..., i] for i in range(tail.shape[-1])] + [acc[..., k] for k in range(lanes)]
        total = terms[0].copy()
        for term in terms[1:]:
            total += term
        return total
    columns = x.swapaxes(-1, -2)  # the sequence on axis -2, one lane per output
    if s1 == item and n1 >= lanes:  # contiguous outer: blocks of 4 vectors of columns
        straight = n1 - n1 % (_ILP * lanes)
    elif s0 < s1:  # scalar inner
        straight = 0
    else:  # scalar outer: groups of 4 outputs
        straight = n1 - n1 % _ILP
    if straight == n1:
        return cascade(columns)
    if straight == 0:
        return row_sum(columns)
    return np.concatenate([cascade(columns[..., :straight]), row_sum(columns[..., straight:])], -1)


# -- the TensorIterator: which kernel calls, in which order --------------------------------------


class _Dim:
    """One iterator dim: its length, input stride and output stride (bytes; 0 = reduced)."""

    __slots__ = ("out", "size", "stride")

    def __init__(self, size: int, stride: int, out: int):
        self.size, self.stride, self.out = size, stride, out


def _iterator_dims(shape: tuple, strides: tuple, axes: tuple, item: int) -> list:
    """The dims as PyTorch's TensorIterator leaves them, innermost first."""
    out_strides = [0] * len(shape)
    step = item
    for d in reversed(range(len(shape))):  # the output: contiguous, reduced dims stride 0
        if d not in axes:
            out_strides[d] = step
            step *= shape[d]
    dims = [_Dim(shape[d], strides[d], out_strides[d]) for d in reversed(range(len(shape)))]
    dims = [d for d in dims if d.size != 1]

    def should_swap(a: _Dim, b: _Dim) -> int:
        if (a.out == 0) != (b.out == 0):  # reduced dims go first
            return 1 if b.out == 0 else -1
        for sa, sb in ((a.out, b.out), (a.stride, b.stride)):
            if sa == 0 or sb == 0:
                continue
            if sa != sb:
                return -1 if sa < sb else 1
            if a.size > b.size:
                return 1
        return 0

    for i in range(1, len(dims)):  # PyTorch's insertion sort, ambiguous comparisons included
        j = i
        for k in range(i - 1, -1, -1):
            c = should_swap(dims[k], dims[j])
            if c > 0:
                dims[k], dims[j] = dims[j], dims[k]
                j = k
            elif c < 0:
                break
    merged = dims[:1]
    for d in dims[1:]:
        last = merged[-1]
        if last.size * last.stride == d.stride and last.size * last.out == d.out:
            last.size *= d.size
        else:
            merged.append(d)
    return merged


def _view(a: np.ndarray, offset: int, dims: list) -> np.ndarray:
    """The elements of `a` that `dims` walk (innermost last), starting `offset` bytes in."""
    if offset:  # the memory from `a`'s first element on (its strides are not negative)
        base = np.lib.stride_tricks.as_strided(a, (offset // a.itemsize + 1,), (a.itemsize,))
        base = base[offset // a.itemsize :]
    else:
        base = a
    shape = tuple(d.size for d in reversed(dims))
    strides = tuple(d.stride for d in reversed(dims))
    return np.lib.stride_tricks.as_strided(base, shape, strides, writeable=False)


def _pad2(dims: list) -> list:
    # a 1-D iterator runs as a 2-D kernel call with one row of stride 0
    return dims if len(dims) >= 2 else dims + [_Dim(1, 0, 0)]


def _serial(a: np.ndarray, offset: int, dims: list, lanes: int) -> np.ndarray:
    """PyTorch's serial loop over `dims` (at least 2, dims[0] reduced): the sums, one per kept
    dim index, with the kept dims innermost last (the reduced ones summed away in order)."""
    results = kernel(_view(a, offset, dims), lanes)  # axes: outer dims reversed, then size1
    reduced = [i for i, d in enumerate(reversed(dims[1:])) if d.out == 0]
    if not reduced:
        return results
    kept = [i for i in range(results.ndim) if i not in reduced]
    results = results.transpose(kept + reduced)  # the reduced ones in counter order, last
    results = results.reshape(results.shape[: len(kept)] + (-1, 1))
    return _sequential(results)[..., 0]


def _two_pass_part(a: np.ndarray, dims: list, begin: int, end: int, lanes: int):
    """One thread's share of a reduction to one number: the elements begin..end in iterator
    order, walked by DimCounter as 2-D steps (a partial row, rows, whole slices...)."""
    dims = _pad2(dims)
    sizes = [d.size for d in dims]
    values = []
    rest = begin
    for n in sizes:
        values.append(rest % n)
        rest //= n
    parts = []
    offset = begin
    while offset < end:
        step0 = min(sizes[0] - values[0], end - offset)
        step1 = 1
        if step0 == sizes[0]:
            step1 = min(sizes[1] - values[1], (end - offset) // sizes[0])
        start = sum(v * d.stride for v, d in zip(values, dims))
        block = [_Dim(step0, dims[0].stride, 0), _Dim(step1, dims[1].stride, 0)]
        parts.append(_serial(a, start, block, lanes).reshape(1))
        offset += step0 * step1
        # DimCounter::increment: a step of whole rows carries from dim 1, else from dim 0
        i, overflow = (1, step1) if step1 != 1 else (0, step0)
        while i < len(sizes) and overflow > 0:
            values[i] += overflow
            overflow = 0
            if values[i] >= sizes[i]:
                values[i] -= sizes[i]
                overflow = 1
            i += 1
    return _sequential(np.concatenate(parts).reshape(-1, 1))[0]


def _split_dim(dims: list, threads: int) -> int:
    """find_split_dim: the outermost kept dim with at least `threads` indices, else the largest
    of the outer kept dims."""
    best = len(dims) - 1
    for i in range(len(dims) - 1, -1, -1):
        if dims[i].out == 0:
            break
        if dims[i].size >= threads:
            return i
        if dims[i].size > dims[best].size:
            best = i
    return best


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class _Call:
    """One run of PyTorch's serial loop: the iterator elements begin..end of `dims` (padded to
    2), from `in_offset` bytes into the input, adding into the output `out_offset` bytes in, or
    into the two-pass buffer's slot `slot` (then every output stride is 0)."""

    __slots__ = ("args", "begin", "dims", "end", "in_offset", "out_offset", "slot")

    def __init__(self, dims, in_offset=0, out_offset=0, begin=0, end=None, slot=None):
        self.dims = _pad2(list(dims))
        self.in_offset, self.out_offset, self.slot = in_offset, out_offset, slot
        self.begin = begin
        self.end = end if end is not None else int(np.prod([d.size for d in self.dims]))
        outs = [0] * len(self.dims) if slot is not None else [d.out for d in self.dims]
        # the compiled loops' arguments after the arrays
        self.args = (
            tuple(d.size for d in self.dims),
            tuple(d.stride for d in self.dims),
            tuple(outs),
            self.begin,
            self.end,
        )


def _column_methods(n1: int, dims: list, item: int, lanes: int) -> list:
    """How a kernel call over n1 columns (indices of dim 1) sums each column: by rows
    ("row", the two per-row loops), by the straight cascade or by row_sum."""
    s0, s1, n0 = dims[0].stride, dims[1].stride, dims[0].size
    if (s0 == item and n0 >= lanes) or not (s1 == item and n1 >= lanes) and s0 < s1:
        return ["row"] * n1
    group = _ILP * lanes if s1 == item and n1 >= lanes else _ILP
    straight = n1 - n1 % group
    return ["straight"] * straight + ["row_sum"] * (n1 - straight)


def _schedule(dims: tuple, numel: int, out_size: int, threads: int, item: int) -> tuple:
    """PyTorch's parallel_reduce: the serial runs and whether they fill a two-pass buffer."""
    if threads == 1 or numel < GRAIN_SIZE:
        return (_Call(dims),), False
    if out_size == 1:
        if numel == GRAIN_SIZE:  # parallel_for runs one chunk of exactly its grain inline
            return (_Call(dims),), False
        # two passes: each thread sums an equal run of elements; the runs' sums then added
        runs = min(threads, _ceil_div(numel, GRAIN_SIZE))
        length = _ceil_div(numel, runs)
        calls = tuple(
            _Call(dims, begin=t * length, end=min(numel, (t + 1) * length), slot=t)
            for t in range(runs)
            if t * length < numel
        )
        return calls, True
    split = _split_dim(dims, threads)
    cols = dims[split].size
    runs = min(threads, cols)
    length = _ceil_div(cols, runs)
    parts = []
    for t in range(runs):
        begin, end = t * length, min(cols, (t + 1) * length)
        if begin >= cols:
            continue
        if dims[split].stride == item:  # columns cut at multiples of 128 bytes
            begin -= begin % (128 // item)
            end = end if end == cols else end - end % (128 // item)
        if begin < end:
            parts.append((begin, end))
    padded = _pad2(list(dims))
    lanes = _LANES[item]
    if split >= 2 or _column_methods(cols, padded, item, lanes) == [
        m for b, e in parts for m in _column_methods(e - b, padded, item, lanes)
    ]:
        # an outer dim, or columns each summed as on one thread: the split changes nothing
        return (_Call(dims),), False
    calls = []
    for begin, end in parts:
        part = [_Dim(d.size, d.stride, d.out) for d in dims]
        part[split].size = end - begin
        calls.append(_Call(part, begin * dims[split].stride, begin * dims[split].out))
    return tuple(calls), False


class _Plan:
    """What `torch_sum` needs to know about one (shape, strides, axes, keepdims, item size)."""

    __slots__ = ("dims", "final_shape", "numel", "schedules", "serial_args", "trivial")

    def __init__(self, shape: tuple, strides: tuple, axes: tuple, keepdims: bool, item: int):
        kept_shape = tuple(1 if d in axes else n for d, n in enumerate(shape))
        self.final_shape = (
            kept_shape if keepdims else tuple(n for d, n in enumerate(shape) if d not in axes)
        )
        self.dims = tuple(_iterator_dims(shape, strides, axes, item))
        # nothing to add up (the reduced dims all have length 1): each output is 0 + its element
        self.trivial = not self.dims or self.dims[0].out != 0
        self.numel = int(np.prod(shape))
        self.schedules: dict = {}  # thread count -> (calls, two_pass)
        self.serial_args = None if self.trivial else _Call(self.dims).args

    def schedule(self, threads: int, item: int) -> tuple:
        found = self.schedules.get(threads)
        if found is None:
            out_size = int(np.prod(self.final_shape))
            found = self.schedules[threads] = _schedule(
                self.dims, self.numel, out_size, threads, item
            )
        return found


_plans: dict = {}


def torch_sum(a: np.ndarray, axes: tuple, keepdims: bool, threads: int | None = None):
    """`a.sum(axes, keepdims)` of a float32 or float64 array with PyTorch's bits; `axes` sorted
    and non-negative, `threads` PyTorch's thread count (default `kernel_threads`)."""
    if threads is None:
        threads = kernel_threads
    strides = a.strides
    if a.size == 0:  # an empty sum is 0
        if keepdims:
            return np.zeros(tuple(1 if d in axes else n for d, n in enumerate(a.shape)), a.dtype)
        return np.zeros(tuple(n for d, n in enumerate(a.shape) if d not in axes), a.dtype)
    if min(strides, default=0) < 0 or not (a.flags.aligned and a.dtype.isnative):
        # PyTorch has no negative strides (its flip copies); the compiled loops read aligned
        # native floats (a view at an odd byte offset, or in the other byte order, is copied:
        # the same values, so the same sums)
        a = np.array(a, a.dtype.newbyteorder("="), order="C")  # a new array is aligned
        strides = a.strides
    key = (a.shape, strides, axes, keepdims, a.itemsize)
    plan = _plans.get(key)
    if plan is None:
        if len(_plans) > 4096:  # a long-running process that meets ever new shapes
            _plans.clear()
        plan = _plans[key] = _Plan(a.shape, strides, axes, keepdims, a.itemsize)
    if plan.trivial:
        with np.errstate(**_QUIET):
            return (a + a.dtype.type(0)).reshape(plan.final_shape)
    # the result in its final shape at once (contiguous: the layout of the kept shape)
    out = np.zeros(plan.final_shape, a.dtype)
    if _ccore is not None and (plan.numel < GRAIN_SIZE or threads == 1):
        _ccore.serial(a, 0, out, 0, *plan.serial_args)  # the common case, straight on
        return out
    calls, two_pass = plan.schedule(threads, a.itemsize)
    if _ccore is not None and not two_pass and len(calls) == 1:
        _ccore.serial(a, 0, out, 0, *plan.serial_args)
        return out
    run = _run_numpy if _ccore is None else _run_compiled
    if two_pass:
        buffer = np.zeros(threads, a.dtype)  # one slot per thread, unused ones 0
        for call in calls:
            run(a, buffer[call.slot : call.slot + 1], call)
        out[...] = torch_sum(buffer, (0,), False, 1)
    else:
        for call in calls:
            run(a, out, call)
    return out


def _run_compiled(a: np.ndarray, out: np.ndarray, call: _Call) -> None:
    """Add the sums of one run into `out` (the compiled loops)."""
    _ccore.serial(a, call.in_offset, out, call.out_offset, *call.args)


def _run_numpy(a: np.ndarray, out: np.ndarray, call: _Call) -> None:
    """The same with numpy."""
    with np.errstate(**_QUIET):
        if call.slot is not None:  # a reduction to one number: a run of elements
            out[...] = _two_pass_part(a, call.dims, call.begin, call.end, _LANES[a.itemsize])
        else:
            results = _serial(a, call.in_offset, call.dims, _LANES[a.itemsize])
            _place(out, results, call.dims, call.out_offset)
        out += a.dtype.type(0)  # PyTorch's sums start at +0.0: a zero result is +0.0


def _place(out: np.ndarray, results: np.ndarray, dims: list, offset: int) -> None:
    """Write `_serial`'s results (kept dims innermost last) where the output strides say."""
    kept = [d for d in reversed(dims[1:]) if d.out != 0]
    base = out.reshape(-1)[offset // out.itemsize :]
    view = np.lib.stride_tricks.as_strided(
        base, tuple(d.size for d in kept), tuple(d.out for d in kept), writeable=True
    )
    view[...] = results.reshape(view.shape)


def torch_mean(a: np.ndarray, axes: tuple, keepdims: bool, threads: int | None = None):
    """PyTorch's mean: the sum divided by the count (the count rounded to the array's dtype)."""
    count = 1
    for d in axes:
        count *= a.shape[d]
    total = torch_sum(a, axes, keepdims, threads)
    if count == 0:  # an empty mean is nan, as in PyTorch
        return total * a.dtype.type("nan")
    # (a quotient of an inf or a nan by a positive count raises no floating-point warning)
    return total / a.dtype.type(count)
