"""`Generator`: PyTorch's CPU random numbers, bit for bit, in numpy.

A learner following the makemore lectures writes `g = torch.Generator().manual_seed(2147483647)`
and expects the video's numbers. This module reproduces what torch 2.13's CPU generator does
(`aten/src/ATen/CPUGeneratorImpl.cpp`), draw for draw, with numpy's own MT19937 doing the
heavy lifting, so a 27x27 `randn` costs microseconds. Numpy arrays in, numpy arrays out: the
torch-shaped factories (`randn`, `rand`, `randint`, `multinomial`, ...) are built on top of it.

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
    multiply-adds that GCC fuses into FMA instructions fused the same way;
  - float64 with 16 or more: the same blocks of 16 in double with the C library's log/cos/sin
    (numpy's float64 functions call the same glibc routines).
* Exponential (`transformation::exponential`): -log1p(-u) / lambda from a 53-bit uniform,
  rounded to the tensor's dtype.
* randint (`uniform_int_from_to_distribution` in DistributionsHelper.h): `(random() % range) +
  low`, or `random64()` when the range is 2**28 or more -- the modulo bias included.
* multinomial (`aten/src/ATen/native/Distributions.cpp`): without replacement, or with one
  sample, it is the Gumbel trick: q ~ Exp(1) of the probabilities' shape and dtype, then the
  top `num_samples` of p / q (argmax for one). With replacement and more than one sample
  (`aten/src/ATen/native/cpu/MultinomialKernel.cpp`): a float cumulative sum normalised by the
  row total, last bucket forced to 1, one 53-bit uniform per sample, and a binary search for
  the first bucket >= u.
* randperm (`aten/src/ATen/native/TensorFactories.cpp`, `randperm_cpu`): Fisher-Yates with
  `random() % (n - i)` swaps.

The state is torch's own 5056-byte layout (`CPUGeneratorImplState` in CPUGeneratorImpl.cpp), so
`torch.Generator().set_state(torch.from_numpy(g.get_state()))` continues exactly where `g` is.

Read `micrograd/tensor/tensor.py` for the Tensor these numbers fill.
"""

from __future__ import annotations

import math
import numbers
import operator
import secrets
from collections.abc import Sequence

import numpy as np

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
        x = self._uniform01(math.prod(dims), dtype)
        if low != 0.0 or high != 1.0:
            lo, hi = dtype.type(low), dtype.type(high)
            x = _fma(x, hi - lo, lo)
        return x.reshape(dims)

    def normal(self, shape, mean: float = 0.0, std: float = 1.0, dtype=np.float32) -> np.ndarray:
        """Normal samples: `torch.randn` (mean 0, std 1) and `Tensor.normal_`."""
        dims, dtype = _shape(shape), _float_dtype(dtype, "normal")
        n = math.prod(dims)
        if n < 16:
            out = np.array([self._scalar_normal(mean, std) for _ in range(n)]).astype(dtype)
        elif dtype == np.float32:
            out = self._normal_fill(n, _F32(mean), _F32(std), np.float32, _box_muller_avx2)
        else:
            out = self._normal_fill(n, float(mean), float(std), np.float64, _box_muller_double)
        return out.reshape(dims)

    def _normal_fill(self, n, mean, std, dtype, box_muller) -> np.ndarray:
        # n uniforms first, Box-Muller on the whole blocks of 16; then, if a partial block is
        # left, 16 fresh uniforms are drawn and recomputed into the last 16 places.
        out = box_muller(self._uniform01(n, dtype)[: n - n % 16], mean, std)
        if n % 16:
            tail = box_muller(self._uniform01(16, dtype), mean, std)
            out = np.concatenate([out[: n - 16], tail])
        return out

    def _scalar_normal(self, mean: float, std: float) -> float:
        """torch's `normal_distribution<double>`: Box-Muller in double, one value cached."""
        if self._next_double_normal is not None:
            z, self._next_double_normal = self._next_double_normal, None
        else:
            u1, u2 = self._uniform01(2, np.float64).tolist()
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            self._next_double_normal = r * math.sin(theta)
            z = r * math.cos(theta)
        if std == 1 and mean == 0:
            return z
        return _fma(np.array([z]), std, mean).item()

    def exponential(self, shape, lambd: float = 1.0, dtype=np.float32) -> np.ndarray:
        """Exponential samples with rate `lambd`: `Tensor.exponential_`."""
        dims, dtype = _shape(shape), _float_dtype(dtype, "exponential")
        if not lambd > 0:
            raise ValueError(f"exponential expects lambd > 0.0, but found lambd={lambd}")
        u = self._uniform01(math.prod(dims), np.float64)
        return ((-1.0 / lambd) * np.log1p(-u)).astype(dtype).reshape(dims)

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
        offsets = (self._random(max(n - 1, 0)) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        perm = list(range(n))
        for i, z in enumerate(offsets):
            j = i + z
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
        if not (rows.max() < np.inf and rows.min() >= 0):
            raise ValueError(
                "multinomial: probability tensor contains either `inf`, `nan` or element < 0"
            )
        if np.any(rows.sum(axis=1) == 0):
            raise ValueError(
                "multinomial: invalid multinomial distribution (sum of probabilities <= 0)"
            )
        q = self.exponential(rows.shape, dtype=rows.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = rows / q
        if num_samples == 1:
            return np.argmax(keys, axis=1)[:, None].astype(np.int64)
        # Largest first; a NaN key (0 / 0) counts as the largest, as in torch.topk.
        order = np.argsort(np.where(np.isnan(keys), -np.inf, -keys), axis=1, kind="stable")
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
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = info.min, info.max
    elif dtype.kind == "f":  # torch only warns past 2**digits; values round to the dtype
        lo, hi = -(1 << 63), (1 << 63) - 1
    elif dtype == np.bool_:
        lo, hi = 0, 1
    else:
        raise TypeError(f"randint does not support dtype {dtype}")
    if low < lo or high > hi:
        raise ValueError(f"randint: [{low}, {high}] is out of bounds for dtype {dtype}")


def _fma(a: np.ndarray, b, c) -> np.ndarray:
    """a * b + c rounded once in a's dtype, as the FMA instructions GCC emits for `x * y + z`.

    Boldo and Melquiond's emulation: the product is split exactly into p + e (in float64 for
    float32 inputs, by Dekker's TwoProduct for float64), c + p is summed exactly (TwoSum), the
    two small parts are added with rounding to odd, and only the last addition rounds to nearest.
    """
    if a.dtype == np.float32:
        # float32 products are exact in float64; one round-to-odd sum, then round to float32.
        return _add_round_to_odd(a.astype(np.float64) * np.float64(b), np.float64(c)).astype(
            np.float32
        )
    b, c = np.float64(b), np.float64(c)
    p = a * b
    e = _two_product_error(a, b, p)
    high = c + p
    low = (c - (high - (high - c))) + (p - (high - c))  # TwoSum: high + low == c + p exactly
    return high + _add_round_to_odd(e, low)


def _add_round_to_odd(x: np.ndarray, y) -> np.ndarray:
    """x + y rounded to odd: when inexact, the neighbour of the exact sum with an odd last bit."""
    s = x + y
    z = s - x
    err = (x - (s - z)) + (y - z)
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s = np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s


def _two_product_error(a: np.ndarray, b, p: np.ndarray) -> np.ndarray:
    """Dekker's TwoProduct: the exact a * b - p for p = fl(a * b) (no overflow assumed)."""
    split = 134217729.0  # 2**27 + 1
    ah = a * split
    ah = ah - (ah - a)
    al = a - ah
    bh = b * split
    bh = bh - (bh - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


# -------------------------------------------------------------------------------------------
# Box-Muller on blocks of 16 uniforms, as torch's normal_fill_16_AVX2 and normal_fill_16 do.


def _box_muller_avx2(u: np.ndarray, mean, std) -> np.ndarray:
    """float32 Box-Muller with avx_mathfun's log256_ps and sincos256_ps, 16 values a block."""
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(_F32(-2.0) * _log256_ps(_F32(1.0) - blocks[:, :8]))
    theta = _F32(2.0 * math.pi) * blocks[:, 8:]
    sin, cos = _sincos256_ps(theta)
    normal = np.concatenate([radius * cos, radius * sin], axis=1).ravel()
    if std == 1 and mean == 0:
        return normal
    return _fma(normal, std, mean)


def _box_muller_double(u: np.ndarray, mean, std) -> np.ndarray:
    """float64 Box-Muller with the C library's log, cos and sin, 16 values a block."""
    blocks = u.reshape(-1, 16)
    radius = np.sqrt(-2.0 * np.log(1.0 - blocks[:, :8]))
    theta = 2.0 * math.pi * blocks[:, 8:]
    normal = np.concatenate([radius * np.cos(theta), radius * np.sin(theta)], axis=1).ravel()
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
_MIN_NORM_POS = np.array(0x00800000, np.uint32).view(_F32)
_DP = [_F32(-0.78515625), _F32(-2.4187564849853515625e-4), _F32(-3.77489497744594108e-8)]
_SINCOF = [_F32(-1.9515295891e-4), _F32(8.3321608736e-3), _F32(-1.6666654611e-1)]
_COSCOF = [
    _F32(2.443315711809948e-005),
    _F32(-1.388731625493765e-003),
    _F32(4.166664568298827e-002),
]
_FOPI = _F32(1.27323954473516)  # 4 / pi
_SIGN = np.uint32(0x80000000)


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """log256_ps for x > 0: exponent split, then a degree-9 polynomial on [sqrt(1/2), sqrt(2))."""
    one = _F32(1.0)
    bits = np.maximum(x, _MIN_NORM_POS).view(np.uint32)
    e = ((bits >> 23).astype(np.int32) - 127).astype(_F32) + one
    m = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F32)  # in [0.5, 1)
    small = m < _SQRTHF
    # if m < sqrt(1/2): e -= 1, x = 2m - 1 else x = m - 1 (written as in the C source)
    x = (m - one) + np.where(small, m, _F32(0.0))
    e = e - np.where(small, one, _F32(0.0))
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for coefficient in _LOG_P[1:]:  # Horner's rule, each step one FMA
        y = _fma(y, x, coefficient)
    y = y * x
    y = _fma(y, z, e * _LOG_Q1)  # GCC fuses y*z into the add of e*q1
    y = y - z * _F32(0.5)
    return _fma(e, _LOG_Q2, x + y)


def _sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sincos256_ps: reduce by multiples of pi/4 (three-part pi/4), then Cephes polynomials."""
    sign_sin = x.view(np.uint32) & _SIGN
    x = np.abs(x)
    j = (x * _FOPI).astype(np.int32)
    j = (j + 1) & ~1  # round the octant up to even
    y = j.astype(_F32)
    swap_sign_sin = ((j & 4) << 29).astype(np.uint32)
    use_sin_poly = (j & 2) == 0
    for dp in _DP:
        x = _fma(y, dp, x)
    sign_cos = ((~(j - 2) & 4) << 29).astype(np.uint32)
    sign_sin ^= swap_sign_sin
    z = x * x
    cos_poly = _fma(_fma(np.full_like(z, _COSCOF[0]), z, _COSCOF[1]), z, _COSCOF[2])
    cos_poly = _fma(cos_poly * z, z, -(z * _F32(0.5))) + _F32(1.0)
    sin_poly = _fma(_fma(np.full_like(z, _SINCOF[0]), z, _SINCOF[1]), z, _SINCOF[2])
    sin_poly = _fma(sin_poly * z, x, x)
    # Select with and/andnot and recombine by adds, exactly as the C code (signed zeros too).
    zero = _F32(0.0)
    ysin2 = np.where(use_sin_poly, sin_poly, zero)
    ysin1 = np.where(use_sin_poly, zero, cos_poly)
    sin_rest = sin_poly - ysin2
    cos_rest = cos_poly - ysin1
    sin = ((ysin1 + ysin2).view(np.uint32) ^ sign_sin).view(_F32)
    cos = ((cos_rest + sin_rest).view(np.uint32) ^ sign_cos).view(_F32)
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
