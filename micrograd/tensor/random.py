"""TEMPORARY numpy-backed stand-in for the torch-exact generator of branch `rng`.

It has the rng branch's interface (`Generator`, `default_generator`, `manual_seed`) so that the
factories can be written and tested; it does NOT give PyTorch's numbers. It is replaced by the
rng branch's module when that branch is merged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Generator", "default_generator", "manual_seed"]


class Generator:
    def __init__(self) -> None:
        self.manual_seed(67280421310721)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        return self._rng.bit_generator.state

    def set_state(self, state) -> Generator:
        self._rng.bit_generator.state = state
        return self

    def normal(self, shape, mean=0.0, std=1.0, dtype=np.float32):
        return self._rng.normal(mean, std, size=shape).astype(dtype)

    def uniform(self, shape, low=0.0, high=1.0, dtype=np.float32):
        return self._rng.uniform(low, high, size=shape).astype(dtype)

    def randint(self, low, high, shape, dtype=np.int64):
        return self._rng.integers(low, high, size=shape).astype(dtype)

    def multinomial(self, probs, num_samples, replacement=False):
        p = np.asarray(probs, dtype=np.float64)
        rows = p.reshape(-1, p.shape[-1])
        out = np.stack(
            [
                self._rng.choice(len(r), size=num_samples, replace=replacement, p=r / r.sum())
                for r in rows
            ]
        ).astype(np.int64)
        return out.reshape(p.shape[:-1] + (num_samples,))

    def randperm(self, n):
        return self._rng.permutation(n).astype(np.int64)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    return default_generator.manual_seed(seed)
