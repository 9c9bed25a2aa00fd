"""`Generator`: PyTorch's CPU random numbers, bit for bit, in numpy.

A learner following the makemore lectures writes `g = torch.Generator().manual_seed(2147483647)`
and expects the video's numbers. This module reproduces what torch 2.13's CPU generator does
(`aten/src/ATen/CPUGeneratorImpl.cpp`), draw for draw, with numpy's own MT19937 drawing the raw
32-bit numbers in bulk and whole-array numpy doing the rest (`benchmarks/bench_random.py` times it
against torch). Numpy arrays in, numpy arrays out: the torch-shaped factories (`randn`, `rand`,
`randint`, `multinomial`, ...) are built on top of it.

How torch turns the Mersenne Twister into numbers (paths are in the pytorch repository):

* Engine (`aten/src/ATen/core/MT19937RNGEngine.h`): a standard mt19937 seeded with
  `init_genrand(seed & 0xffffffff)` -- the same seeding as `numpy.random.RandomState(seed)`.
  `random()` is one 32-bit output, `random64()` is two of them, the first one high.
  `manual_seed` takes any integer in [-2**63, 2**64) (negatives wrap to their uint64) and also
  clears the cached normal sample.
* Uniform (`aten/src/ATen/core/TransformationHelper.h`, `uniform_real`): float32 takes the low
  24 bits of one `random()` times 2**-24; float64 the low 53 bits of one `random64()` times
  2**-53; then `x * (high - low) + low` in that precision, fused into one rounding (an FMA, as
  GCC compiles it).
* Normal (`aten/src/ATen/native/cpu/DistributionTemplates.h`, `normal_kernel`), three paths:
  - fewer than 16 elements: one `normal_distribution<double>` per element
    (`aten/src/ATen/core/DistributionsHelper.h`): two 53-bit uniforms u1, u2,
    r = sqrt(-2 log1p(-u2)), theta = 2 pi u1, returns r cos(theta) and caches r sin(theta) in
    the generator for the next scalar normal (the cache survives between calls);
  - float32 with 16 or more: `normal_fill_AVX2` (the kernel torch picks on an AVX2 CPU): draw
    all the float32 uniforms first, then Box-Muller on blocks of 16 (the first 8 give the radius
    from `1 - u`, the last 8 the angle; cosines fill the first 8, sines the last 8). If the size
    is not a multiple of 16, 16 fresh uniforms replace the last 16 values and that block is
    recomputed. log, sin and cos are Julien Pommier's Cephes polynomials in float32
    (`aten/src/ATen/native/cpu/avx_mathfun.h`), ported here operation by operation, with the
    multiply-adds that GCC fuses into FMA instructions fused the same way (emulated in float64,
    `_box_muller_avx2` says how that stays exact). Torch's kernels for other CPUs differ in the
    last bits (the documentation's page on determinism says where);
  - float64 with 16 or more: the same blocks of 16 in double with the C library's log/cos/sin
    (numpy's float64 functions call the same glibc routines).
* Exponential (`transformation::exponential`): -log1p(-u) / lambda from a 53-bit uniform,
  rounded to the tensor's dtype.
* randint (`uniform_int_from_to_distribution` in DistributionsHelper.h): `(random() % range) +
  low`, or `random64()` when the range is 2**28 or more -- the modulo bias included.
* multinomial (`aten/src/ATen/native/Distributions.cpp`): without replacement, or with one
  sample, it is the Gumbel trick: q ~ Exp(1) of the probabilities' shape and dtype, then the
  top `num_samples` of p / q (argmax for one; tied values come in the order libstdc++'s sort
  leaves them, which `micrograd/tensor/_topk.py` replays). With replacement and more than one
  sample (`aten/src/ATen/native/cpu/MultinomialKernel.cpp`): a float cumulative sum normalised
  by the row total, last bucket forced to 1, one 53-bit uniform per sample, and a binary search
  for the first bucket >= u.
* randperm (`aten/src/ATen/native/TensorFactories.cpp`, `randperm_cpu`): Fisher-Yates with
  `random() % (n - i)` swaps.

The state is torch's own 5056-byte layout (`CPUGeneratorImplState` in CPUGeneratorImpl.cpp), so
`torch.Generator().set_state(torch.from_numpy(g.get_state()))` continues exactly where `g` is.

Read `micrograd/tensor/tensor.py` for the Tensor these numbers fill.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import secrets
from collections.abc import Sequence

import numpy as np

from micrograd.tensor._fma import fma as _fma
from micrograd.tensor._topk import topk_indices

__all__ = [
    "Generator",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]

# torch's seed for a `torch.Generator()` nobody seeded (c10::detail::default_rng_seed_val).
DEFAULT_SEED = 67280421310721

_MT_N = 624  # words in the Mersenne Twister state
_U64 = (1 << 64) - 1
_F32 = np.float32

# torch's CPUGeneratorImplState: the legacy THGeneratorState followed by the float normal cache.
_STATE_DTYPE = np.dtype(
    [
        ("the_initial_seed", "<u8"),
        ("left", "<i4"),  # draws until the next twist, plus one
        ("seeded", "<i4"),
        ("next", "<u8"),  # index of the next state word to temper
        ("state", "<u8", (_MT_N,)),  # the 624 32-bit words, each stored in 64 bits
        ("normal_x", "<f8"),
        ("normal_y", "<f8"),  # the cached double normal sample
        ("normal_rho", "<f8"),
        ("normal_is_valid", "<i4"),
        ("_pad", "<i4"),
        ("next_float_normal_sample", "<f4"),
        ("is_next_float_normal_sample_valid", "u1"),
        ("_pad2", "u1", (3,)),
    ]
)
STATE_SIZE = _STATE_DTYPE.itemsize  # 5056, as torch.Generator().get_state().numel()


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    """A shape as a tuple of non-negative ints (an int is a 1-D shape)."""
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, checked quickly
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        if any(isinstance(d, bool) for d in dims):
            raise TypeError
        dims = tuple(operator.index(d) for d in dims)
    except TypeError:
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must not have negative dimensions, got {dims}")
    return dims


def _float_dtype(dtype, what: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{what} supports float32 and float64, got {dtype}")
    return dtype


class Generator:
    """A torch-compatible CPU random number generator (see the module docstring).

    `Generator()` starts from torch's default seed 67280421310721, as `torch.Generator()` does.
    """

    def __init__(self) -> None:
        self._bits = np.random.MT19937()
        self.manual_seed(DEFAULT_SEED)

    # ----------------------------------------------------------------------------- seeding

    def manual_seed(self, seed: int) -> Generator:
        """Seed the generator as `torch.Generator.manual_seed`; returns the generator."""
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise TypeError(f"manual_seed expects an int, got {type(seed).__name__}")
        seed = int(seed)
        if not -(1 << 63) <= seed <= _U64:
            raise ValueError(f"seed must be in [-2**63, 2**64), got {seed}")
        self._initial_seed = seed & _U64
        # RandomState's integer seeding is init_genrand, std::mt19937's seeding.
        if hasattr(self._bits, "_legacy_seeding"):  # numpy's own init_genrand, 2 us
            self._bits._legacy_seeding(seed & 0xFFFFFFFF)
        else:  # the public route, a few hundred us
            legacy = np.random.RandomState(seed & 0xFFFFFFFF)
            self._bits.state = legacy.get_state(legacy=False)
        self._next_double_normal: float | None = None
        self._next_float_normal: float | None = None
        return self

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with (as an unsigned 64-bit int)."""
        return self._initial_seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy and return the new seed."""
        new_seed = secrets.randbits(64)
        self.manual_seed(new_seed)
        return new_seed

    # ------------------------------------------------------------------------------- state

    def get_state(self) -> np.ndarray:
        """A copy of the state: a uint8 array of 5056 bytes in torch's `get_state()` layout."""
        mt = self._bits.state["state"]
        key = mt["key"].astype(np.uint64)
        pos = int(mt["pos"])
        state = np.zeros((), _STATE_DTYPE)
        state["the_initial_seed"] = self._initial_seed
        state["seeded"] = 1
        state["state"] = key
        if pos >= _MT_N:  # the next draw twists the state first
            state["left"] = 1
            state["next"] = 0 if self._freshly_seeded(key) else _MT_N
        else:
            state["left"] = _MT_N + 1 - pos
            state["next"] = pos
        if self._next_double_normal is not None:
            state["normal_y"] = self._next_double_normal
            state["normal_is_valid"] = 1
        if self._next_float_normal is not None:
            state["next_float_normal_sample"] = self._next_float_normal
            state["is_next_float_normal_sample_valid"] = 1
        return np.frombuffer(state.tobytes(), np.uint8).copy()

    def _freshly_seeded(self, key: np.ndarray) -> bool:
        # torch keeps `next = 0` right after seeding and `next = 624` after 624 draws; both
        # twist on the next draw. A fresh key still satisfies init_genrand's first step.
        k0 = int(key[0])
        return (
            k0 == self._initial_seed & 0xFFFFFFFF
            and int(key[1]) == (1812433253 * (k0 ^ (k0 >> 30)) + 1) & 0xFFFFFFFF
        )

    def set_state(self, new_state) -> Generator:
        """Restore a state from `get_state()` (ours or torch's bytes, e.g. `t.numpy()`)."""
        raw = np.asarray(new_state)
        if raw.dtype != np.uint8 or raw.shape != (STATE_SIZE,):
            raise ValueError(
                f"the state must be a uint8 array of {STATE_SIZE} bytes (from get_state()), "
                f"got dtype {raw.dtype} and shape {raw.shape}"
            )
        state = np.frombuffer(raw.tobytes(), _STATE_DTYPE)[0]
        left, nxt = int(state["left"]), int(state["next"])
        if not 1 <= left <= _MT_N or nxt > _MT_N:
            raise ValueError(f"invalid generator state (left={left}, next={nxt})")
        if np.any(state["state"] > 0xFFFFFFFF):
            raise ValueError("invalid generator state (a state word exceeds 32 bits)")
        pos = _MT_N if left == 1 else nxt
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": state["state"].astype(np.uint32), "pos": pos},
        }
        self._initial_seed = int(state["the_initial_seed"])
        self._next_double_normal = float(state["normal_y"]) if state["normal_is_valid"] else None
        self._next_float_normal = (
            float(state["next_float_normal_sample"])
            if state["is_next_float_normal_sample_valid"]
            else None
        )
        return self

    # -------------------------------------------------------------------------- raw draws

    def _random(self, n: int) -> np.ndarray:
        """n draws of torch's `random()`: 32-bit outputs, as uint64."""
        return self._bits.random_raw(n)

    def _random64(self, n: int) -> np.ndarray:
        """n draws of torch's `random64()`: two outputs each, the first one the high half."""
        raw = self._bits.random_raw(2 * n)
        return (raw[0::2] << np.uint64(32)) | raw[1::2]

    def _uniform01(self, n: int, dtype: np.dtype) -> np.ndarray:
        """n uniforms in [0, 1): 24 bits per float32, 53 bits per float64."""
        if dtype == np.float32:
            return (self._random(n) & np.uint64(0xFFFFFF)).astype(_F32) * _F32(2.0**-24)
        return (self._random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53

    # ---------------------------------------------------------------------------- sampling

    def uniform(self, shape, low: float = 0.0, high: float = 1.0, dtype=np.float32) -> np.ndarray:
        """Uniform samples in [low, high): `torch.rand` and `Tensor.uniform_`."""
        dims, dtype = _shape(shape), _float_dtype(dtype, "uniform")
        if low == 0.0 and high == 1.0:  # torch.rand
            return self._uniform01(math.prod(dims), dtype).reshape(dims)
        limit = _float_max(dtype)
        for name, bound in (("low", low), ("high", high)):
            if not -limit <= bound <= limit:
                raise ValueError(f"uniform: {name}={bound} is out of bounds for {dtype}")
        if low > high:
            raise ValueError(f"uniform expects low <= high, but found low={low} > high={high}")
        if high - low > limit:
            raise ValueError(f"uniform: high - low = {high - low} exceeds the largest {dtype}")
        x = self._uniform01(math.prod(dims), dtype)
        lo, hi = dtype.type(low), dtype.type(high)
        return _fma(x, hi - lo, lo).reshape(dims)

    def normal(self, shape, mean: float = 0.0, std: float = 1.0, dtype=np.float32) -> np.ndarray:
        """Normal samples: `torch.randn` (mean 0, std 1) and `Tensor.normal_`."""
        dims, dtype = _shape(shape), _float_dtype(dtype, "normal")
        if not std >= 0:
            raise ValueError(f"normal expects std >= 0.0, but found std={std}")
        n = math.prod(dims)
        if n < 16:
            out = self._scalar_normals(n, float(mean), float(std)).astype(dtype)
        elif dtype == np.float32:
            out = self._normal_fill(n, _F32(mean), _F32(std), np.float32, _box_muller_avx2)
        else:
            out = self._normal_fill(n, float(mean), float(std), np.float64, _box_muller_double)
        return out.reshape(dims)

    def _normal_fill(self, n, mean, std, dtype, box_muller) -> np.ndarray:
        # n uniforms first, Box-Muller on the whole blocks of 16; then, if a partial block is
        # left, 16 fresh uniforms are drawn and recomputed into the last 16 places. Both steps
        # go through box_muller together, as one more block.
        whole = n - n % 16
        u = self._uniform01(n, dtype)[:whole]
        if whole == n:
            return box_muller(u, mean, std)
        out = box_muller(np.concatenate([u, self._uniform01(16, dtype)]), mean, std)
        return np.concatenate([out[: n - 16], out[-16:]])

    def _scalar_normals(self, n: int, mean: float, std: float) -> np.ndarray:
        """n calls of torch's `normal_distribution<double>`: Box-Muller in double, each pair of
        uniforms (u1, u2) giving r cos(theta) now and r sin(theta) cached for the next call."""
        cached: list[float] = []
        if n and self._next_double_normal is not None:
            cached.append(self._next_double_normal)
            self._next_double_normal = None
        fresh = n - len(cached)
        out = np.array(cached, np.float64)
        if fresh:
            # `_libm` gives the C library's log1p/cos/sin, the functions torch calls (numpy's
            # own where they agree), on all pairs at once
            u = self._uniform01(2 * ((fresh + 1) // 2), np.float64)
            r = np.sqrt(-2.0 * _libm("log1p", -u[1::2]))
            theta = 2.0 * math.pi * u[0::2]
            pairs = np.stack([r * _libm("cos", theta), r * _libm("sin", theta)], axis=1).ravel()
            if fresh % 2:
                self._next_double_normal = float(pairs[-1])
                pairs = pairs[:-1]
            out = np.concatenate([out, pairs])
        if std == 1 and mean == 0:
            return out
        return _fma(out, std, mean)

    def exponential(self, shape, lambd: float = 1.0, dtype=np.float32) -> np.ndarray:
        """Exponential samples with rate `lambd`: `Tensor.exponential_`."""
        dims, dtype = _shape(shape), _float_dtype(dtype, "exponential")
        if not lambd > 0:
            raise ValueError(f"exponential expects lambd > 0.0, but found lambd={lambd}")
        u = self._uniform01(math.prod(dims), np.float64)
        return ((-1.0 / lambd) * _libm("log1p", -u)).astype(dtype).reshape(dims)

    def randint(self, low: int, high: int, shape, dtype=np.int64) -> np.ndarray:
        """Integers in [low, high): `torch.randint(low, high, size)` (modulo of raw draws)."""
        dims, dtype = _shape(shape), np.dtype(dtype)
        for name, v in (("low", low), ("high", high)):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"randint: {name} must be an int, got {type(v).__name__}")
        low, high = int(low), int(high)
        if low >= high:
            raise ValueError(f"randint expects low < high, but got low={low} >= high={high}")
        if dtype.kind == "f":
            low, high = _float_int_range(low, high, dtype)
        _check_fits(low, high - 1, dtype)
        n, span = math.prod(dims), high - low
        # torch's public builds switch to 64-bit draws from a range of 2**28 (any dtype), to keep
        # the modulo bias near 5% at most (DistributionsHelper.h, the non-FBCODE branch).
        raw = self._random64(n) if span >= 1 << 28 else self._random(n)
        values = (raw % np.uint64(span) + np.uint64(low & _U64)).view(np.int64)
        return values.astype(dtype).reshape(dims)

    def randperm(self, n: int) -> np.ndarray:
        """A random permutation of range(n) as int64: `torch.randperm`."""
        if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
            raise ValueError(f"randperm expects n to be a non-negative int, got {n!r}")
        n = int(n)
        if n >= 0xFFFFFFFF // 20:
            raise ValueError(f"randperm supports n < {0xFFFFFFFF // 20}, got {n}")
        # Every draw is known in advance (random() % (n - i)); only the swaps are sequential.
        steps = max(n - 1, 0)
        offsets = self._random(steps) % np.arange(n, 1, -1, dtype=np.uint64)
        targets = (offsets.astype(np.int64) + np.arange(steps)).tolist()
        perm = list(range(n))
        for i, j in enumerate(targets):  # swap i with i + random() % (n - i)
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)

    def multinomial(self, probs, num_samples: int, replacement: bool = False) -> np.ndarray:
        """Indices drawn from rows of (unnormalised) probabilities: `torch.multinomial`.

        `probs` is a 1-D or 2-D float array; the result is int64 of shape (num_samples,) or
        (rows, num_samples).
        """
        probs = np.asarray(probs)
        if probs.ndim not in (1, 2):
            raise ValueError(f"multinomial: prob_dist must be 1 or 2 dim, got {probs.ndim} dims")
        if probs.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"multinomial only supports floating-point dtypes for input, got {probs.dtype}"
            )
        if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool):
            raise TypeError(f"multinomial: num_samples must be an int, got {num_samples!r}")
        if num_samples <= 0:
            raise ValueError(f"multinomial: cannot sample num_samples={num_samples} <= 0 samples")
        n_categories = probs.shape[-1]
        if not replacement and num_samples > n_categories:
            raise ValueError(
                f"multinomial: cannot sample num_samples={num_samples} > prob_dist.size(-1)="
                f"{n_categories} samples without replacement"
            )
        if n_categories > 1 << 24:
            raise ValueError("multinomial: number of categories cannot exceed 2^24")
        rows = probs.reshape(-1, n_categories)
        if rows.shape[0] == 0:
            return np.zeros(probs.shape[:-1] + (num_samples,), np.int64)
        if n_categories == 0:
            raise ValueError("multinomial: invalid multinomial distribution (no categories)")
        if not replacement or num_samples == 1:
            out = self._multinomial_gumbel(rows, num_samples)
        else:
            out = self._multinomial_cdf(rows, num_samples)
        return out.reshape(probs.shape[:-1] + (num_samples,))

    def _multinomial_gumbel(self, rows: np.ndarray, num_samples: int) -> np.ndarray:
        # argmax / top-k of p / q with q ~ Exp(1): each index is picked with probability p_i.
        row_max = rows.max(axis=1)  # nan if a row has a nan
        if not (row_max.max() < np.inf and rows.min() >= 0):
            raise ValueError(
                "multinomial: probability tensor contains either `inf`, `nan` or element < 0"
            )
        if not row_max.all():  # a row of non-negative numbers sums to 0 when its max is 0
            raise ValueError(
                "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
            )
        # q = exponential_(1) of the probabilities' shape and dtype
        q = (-_libm("log1p", -self._uniform01(rows.size, np.float64))).astype(rows.dtype)
        q = q.reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            keys = rows / q  # q == 0 gives inf (or nan for p == 0): torch divides the same
        if num_samples == 1:
            return np.argmax(keys, axis=1)[:, None].astype(np.int64)
        # torch.topk: largest first, a NaN key (0 / 0) counts as the largest. Without ties the
        # order is unique; with ties (zero probabilities, when num_samples exceeds the non-zero
        # ones) it is whatever libstdc++'s unstable algorithms leave, replayed by `_topk`.
        ranked = np.where(np.isnan(keys), -np.inf, -keys)
        order = np.argsort(ranked, axis=1, kind="stable")
        top = np.take_along_axis(ranked, order[:, : num_samples + 1], axis=1)
        tied = (top[:, 1:] == top[:, :-1]).any(axis=1)
        for row in np.flatnonzero(tied):
            order[row, :num_samples] = topk_indices(keys[row].tolist(), num_samples)
        return order[:, :num_samples].astype(np.int64)

    def _multinomial_cdf(self, rows: np.ndarray, num_samples: int) -> np.ndarray:
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for i, p in enumerate(rows):
            if np.any(p < 0):
                raise ValueError(
                    "multinomial: invalid multinomial distribution "
                    "(encountering probability entry < 0)"
                )
            if not np.all(np.isfinite(p)):
                raise ValueError(
                    "multinomial: invalid multinomial distribution "
                    "(encountering probability entry = infinity or NaN)"
                )
            cdf = np.cumsum(p)  # sequential, in the probabilities' dtype, like torch's loop
            total = cdf[-1]
            if not total > 0:
                raise ValueError(
                    "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
                )
            cdf /= total
            cdf[-1] = 1
            u = self._uniform01(num_samples, np.float64)
            out[i] = np.searchsorted(cdf.astype(np.float64), u, side="left")
        return out


def _float_int_range(low: int, high: int, dtype: np.dtype) -> tuple[int, int]:
    """torch's update_from / update_to: move bounds that the float dtype would round outward.

    When `low + 1` or `high - 1` is not representable, torch steps the bound inward to a value
    the dtype can hold, so no sample rounds to outside [low, high).
    """
    digits = np.finfo(dtype).nmant + 1
    low_plus_1 = int(dtype.type(low + 1))
    if low_plus_1 < low:
        low = low_plus_1 + (1 << (abs(low + 1).bit_length() - 1 - digits + 1))
    high_minus_1 = int(dtype.type(high - 1))
    if high_minus_1 >= high:
        high = high_minus_1 - (1 << (abs(high - 1).bit_length() - 1 - digits + 1))
    if low >= high:
        raise ValueError(
            f"randint expects low < high after rounding to {dtype}, got low={low} >= high={high}"
        )
    return low, high


def _check_fits(low: int, high: int, dtype: np.dtype) -> None:
    lo, hi = _int_bounds(dtype)
    if low < lo or high > hi:
        raise ValueError(f"randint: [{low}, {high}] is out of bounds for dtype {dtype}")


@functools.cache
def _int_bounds(dtype: np.dtype) -> tuple[int, int]:
    """The integers randint may produce in a dtype (as torch's check_from_to_in_range)."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min), int(info.max)
    if dtype.kind == "f":  # torch only warns past 2**digits; values round to the dtype
        return -(1 << 63), (1 << 63) - 1
    if dtype == np.bool_:
        return 0, 1
    raise TypeError(f"randint does not support dtype {dtype}")


@functools.cache
def _float_max(dtype: np.dtype) -> float:
    return float(np.finfo(dtype).max)


# -------------------------------------------------------------------------------------------
# Box-Muller on blocks of 16 uniforms, as torch's normal_fill_16_AVX2 and normal_fill_16 do.


def _box_muller_avx2(u: np.ndarray, mean, std) -> np.ndarray:
    """float32 Box-Muller with avx_mathfun's log256_ps and sincos256_ps, 16 values a block.

    The FMAs take the quick route first (exact float64 product, float64 sum, one rounding to
    float32). That can differ from a true FMA only when a float64 sum lies exactly halfway
    between two float32s (and was itself rounded); the blocks of 16 where a sum is halfway are
    redone with the exact `_fma` (each block is computed on its own, so the others keep their
    values; a million normals have a few dozen such sums, and redoing all of them took 5x the
    time).
    """
    sums = []

    def quick_fma(a, b, c):
        s = a.astype(np.float64)
        s *= b  # exact: a product of float32s has at most 48 bits
        s += c
        sums.append(s)
        return s.astype(np.float32)

    normal = _box_muller_avx2_with(u, quick_fma)
    n_blocks = u.size // 16
    if all(s.shape == (n_blocks, 8) for s in sums):
        halfway = np.zeros(n_blocks, bool)
        for s in sums:
            halfway |= ((s.view(np.int64) & 0x1FFFFFFF) == 0x10000000).any(axis=1)
        if halfway.any():
            normal = normal.reshape(n_blocks, 16)
            exact = _box_muller_avx2_with(u.reshape(n_blocks, 16)[halfway].ravel(), _fma)
            normal[halfway] = exact.reshape(-1, 16)
            normal = normal.ravel()
    elif _any_float32_halfway(np.concatenate([s.ravel() for s in sums])):
        normal = _box_muller_avx2_with(u, _fma)
    if std == 1 and mean == 0:
        return normal
    return _fma(normal, std, mean)


def _any_float32_halfway(s: np.ndarray) -> bool:
    """Whether some float64 lies exactly halfway between two float32s (29 dropped bits 10...0)."""
    return bool(np.any((s.view(np.int64) & 0x1FFFFFFF) == 0x10000000))


def _fma_exact_in_float64(a, b, c) -> np.ndarray:
    """a * b + c rounded once to float32, for operands whose exact sum fits float64's 53 bits."""
    s = a.astype(np.float64)
    s *= b  # in float64 whatever numpy's promotion rules (1.x would keep a float32 * scalar)
    s += c
    return s.astype(np.float32)


def _box_muller_avx2_with(u: np.ndarray, fma) -> np.ndarray:
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(_F32(-2.0) * _log256_ps(_F32(1.0) - blocks[:, :8], fma))
    theta = _F32(2.0 * math.pi) * blocks[:, 8:]
    sin, cos = _sincos256_ps(theta, fma)
    return np.concatenate([radius * cos, radius * sin], axis=1).ravel()


def _libm(name: str, x: np.ndarray) -> np.ndarray:
    """The C library's float64 `name` (what torch calls) on every element of `x`.

    numpy's own float64 log, log1p and exp differ from the C library's in the last bit for some
    inputs on CPUs where numpy picks its AVX-512 versions; there the values go through `math`,
    one element at a time. Where numpy agrees with `math` on a fixed probe of inputs (the common
    case), numpy's whole-array function is used.
    """
    if _numpy_is_libm(name):
        return getattr(np, name)(x)
    fn = getattr(math, name)
    flat = np.fromiter((fn(v) for v in x.ravel().tolist()), np.float64, count=x.size)
    return flat.reshape(x.shape)


@functools.cache
def _numpy_is_libm(name: str) -> bool:
    probe = np.random.default_rng(12345).random(8192)
    if name in ("log1p", "log"):
        probe = probe if name == "log" else -probe
    elif name in ("cos", "sin"):
        probe = probe * (2 * math.pi)
    fn = getattr(math, name)
    return bool(np.array_equal(getattr(np, name)(probe), [fn(v) for v in probe.tolist()]))


def _box_muller_double(u: np.ndarray, mean, std) -> np.ndarray:
    """float64 Box-Muller with the C library's log, cos and sin, 16 values a block."""
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(-2.0 * _libm("log", 1.0 - blocks[:, :8]))
    theta = 2.0 * math.pi * blocks[:, 8:]
    cos, sin = _libm("cos", theta), _libm("sin", theta)
    normal = np.concatenate([radius * cos, radius * sin], axis=1).ravel()
    return _fma(normal, std, mean)


# Cephes coefficients from avx_mathfun.h, rounded to float32 as the C initialisers round them.
_LOG_P = [
    _F32(c)
    for c in (
        7.0376836292e-2,
        -1.1514610310e-1,
        1.1676998740e-1,
        -1.2420140846e-1,
        1.4249322787e-1,
        -1.6668057665e-1,
        2.0000714765e-1,
        -2.4999993993e-1,
        3.3333331174e-1,
    )
]
_LOG_Q1, _LOG_Q2 = _F32(-2.12194440e-4), _F32(0.693359375)
_SQRTHF = _F32(0.707106781186547524)
_DP = [_F32(-0.78515625), _F32(-2.4187564849853515625e-4), _F32(-3.77489497744594108e-8)]
_SINCOF = [_F32(-1.9515295891e-4), _F32(8.3321608736e-3), _F32(-1.6666654611e-1)]
_COSCOF = [
    _F32(2.443315711809948e-005),
    _F32(-1.388731625493765e-003),
    _F32(4.166664568298827e-002),
]
_FOPI = _F32(1.27323954473516)  # 4 / pi
# The same float32 values as float64, the type the quick FMAs compute in.
_LOG_P64 = [np.float64(c) for c in _LOG_P]
_SINCOF64 = [np.float64(c) for c in _SINCOF]
_COSCOF64 = [np.float64(c) for c in _COSCOF]


def _log256_ps(x: np.ndarray, fma=None) -> np.ndarray:
    """log256_ps for x in [2**-24, 1] (1 - u for a float32 uniform u), as avx_mathfun computes it.

    Exponent split, then a degree-9 polynomial on [sqrt(1/2) - 1, sqrt(2) - 1). `fma(a, b, c)`
    computes a * b + c rounded once (where GCC fused the C code's mul and add), with b given in
    float64.
    """
    fma = fma or _fma
    # The C code masks the exponent bits: x = m * 2**e with m in [0.5, 1), which is frexp (x is
    # never denormal here, so the C code's clamp to the smallest normal float does nothing).
    m, e = np.frexp(x)
    small = (m < _SQRTHF).astype(_F32)  # 1.0 or 0.0, the C code's and-mask
    # if m < sqrt(1/2): e -= 1, x = 2m - 1 else x = m - 1 (in the C code's order of operations)
    x = (m - _F32(1.0)) + m * small
    e = e.astype(_F32) - small
    z = x * x
    x64, z64 = x.astype(np.float64), z.astype(np.float64)  # the float32 values, as FMA factors
    y = fma(x, _LOG_P64[0], _LOG_P64[1])
    for coefficient in _LOG_P64[2:]:  # Horner's rule, each step one FMA
        y = fma(y, x64, coefficient)
    y = y * x
    y = fma(y, z64, (e * _LOG_Q1).astype(np.float64))  # GCC fuses y*z into the add of e*q1
    y = y - z * _F32(0.5)
    # fma(e, q2, x + y) in the C code; e * q2 is exact in float32 (|e| <= 24 has 5 bits, q2 =
    # 355/512 has 9), so the fused result is a single float32 addition.
    return (x + y) + e * _LOG_Q2


# sincos256_ps's octant bookkeeping for x >= 0, by k = j / 2 for the even octant j = 0, 2, .., 8:
# the sign of the sine (j & 4), the sign of the cosine (~(j - 2) & 4) and whether the sine gets
# the sine polynomial ((j & 2) == 0). Multiplying by -1 flips the sign bit as the C code's xor.
_SIN_SIGN = np.array([1, 1, -1, -1, 1], _F32)
_COS_SIGN = np.array([1, -1, -1, 1, 1], _F32)
_SIN_POLY_FOR_SIN = np.array([1, 0, 1, 0, 1], _F32)  # and its complement, as 0/1 masks:
_COS_POLY_FOR_SIN = 1 - _SIN_POLY_FOR_SIN


def _sincos256_ps(x: np.ndarray, fma=None) -> tuple[np.ndarray, np.ndarray]:
    """sincos256_ps for x in [0, 2 pi): reduce by multiples of pi/4, then Cephes polynomials."""
    fma = fma or _fma
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1  # the octant, rounded up to even
    y = j.astype(_F32)
    k = j >> 1
    # x - y * pi/4 in three parts, each a fused multiply-add in the C code. y is an even integer
    # <= 8 and the parts have 8, 11 and 24 bits: y * dp1 and y * dp2 are exact in float32 (so a
    # float32 addition is the FMA), and the last exact sum spans at most 48 bits, so float64
    # holds it exactly and one rounding to float32 is the FMA's rounding.
    x = x + y * _DP[0]
    x = x + y * _DP[1]
    x = _fma_exact_in_float64(y, np.float64(_DP[2]), x)
    z = x * x
    z64 = z.astype(np.float64)
    cos_poly = fma(fma(z, _COSCOF64[0], _COSCOF64[1]), z64, _COSCOF64[2])
    cos_poly = fma(cos_poly * z, z64, (z * _F32(-0.5)).astype(np.float64)) + _F32(1.0)
    sin_poly = fma(fma(z, _SINCOF64[0], _SINCOF64[1]), z64, _SINCOF64[2])
    x64 = x.astype(np.float64)
    sin_poly = fma(sin_poly * z, x64, x64)
    # Select and recombine by adds as the C code's and/andnot masks do. Multiplying by a 0/1
    # mask gives the same values, signed zeros included: cos_poly > 0 (|x| <= pi/4), and the
    # sign of a zero sin_poly * 0 is lost in the additions exactly as in the C code.
    ysin2 = sin_poly * _SIN_POLY_FOR_SIN[k]
    ysin1 = cos_poly * _COS_POLY_FOR_SIN[k]
    sin = (ysin1 + ysin2) * _SIN_SIGN[k]
    cos = ((cos_poly - ysin1) + (sin_poly - ysin2)) * _COS_SIGN[k]
    return sin, cos


# -------------------------------------------------------------------------------------------
# The default generator and torch's module-level functions around it.

default_generator = Generator()
default_generator.seed()  # torch seeds its default CPU generator non-deterministically


def manual_seed(seed) -> Generator:
    """Seed the default generator (`torch.manual_seed`: floats and bools go through int())."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Reseed the default generator non-deterministically and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The default generator's seed."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """A copy of the default generator's state (torch's 5056-byte layout)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator's state."""
    default_generator.set_state(new_state)
