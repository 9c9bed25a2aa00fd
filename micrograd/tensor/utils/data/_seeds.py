"""The 63-bit seeds torch draws with `torch.empty((), dtype=torch.int64).random_(generator)`:
one `random64()` of the generator, modulo 2**63."""

from __future__ import annotations

from micrograd.tensor import random as _random


def draw_seed(generator: _random.Generator | None) -> int:
    gen = _random.default_generator if generator is None else generator
    return int(gen._random64(1)[0]) % (1 << 63)


def seeded_generator(seed: int) -> _random.Generator:
    return _random.Generator().manual_seed(seed)
