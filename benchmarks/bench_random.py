"""`micrograd.tensor.random.Generator` against torch 2.13's CPU generator, call by call.

    python benchmarks/bench_random.py              # 5 interleaved rounds
    python benchmarks/bench_random.py --rounds 9

The calls are the makemore lectures' (both generators seeded with 2147483647 and checked to give
the same numbers first): `randn((27, 27))`, a `randn((30, 200))` layer, `rand(3)`,
`randint(0, 182625, (32,))` minibatch indices, `multinomial` of one sample from a 27-way row (the
sampling loop) and of 20 without replacement, `manual_seed`, and the bigram lecture's loop that
samples 20 names. Each round times every call for both generators back to back (torch on one
thread); we report the median time per call over rounds and the ratio ours / torch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from micrograd.tensor.random import Generator


def per_call(fn, budget: float = 0.05) -> float:
    """Seconds per call: repeat fn for about `budget` seconds of CPU time."""
    fn()
    n, start = 0, time.process_time()
    while (elapsed := time.process_time() - start) < budget:
        fn()
        n += 1
    return elapsed / n


def bigram_names(multinomial, P, count=20):
    names = []
    for _ in range(count):
        ix, out = 0, []
        while True:
            ix = multinomial(P[ix])
            if ix == 0:
                break
            out.append(ix)
        names.append(out)
    return names


def cases():
    g, tg = Generator().manual_seed(2147483647), torch.Generator().manual_seed(2147483647)
    counts = np.random.default_rng(0).integers(1, 500, (27, 27)).astype(np.float32)
    P = counts / counts.sum(1, keepdims=True)
    tP = torch.from_numpy(P.copy())

    def ours_sample(row):
        return int(g.multinomial(row, 1, True)[0])

    def torch_sample(row):
        return torch.multinomial(row, 1, True, generator=tg).item()

    assert bigram_names(ours_sample, P) == bigram_names(torch_sample, tP)
    return {
        "randn((27, 27))": (lambda: g.normal((27, 27)), lambda: torch.randn(27, 27, generator=tg)),
        "randn((30, 200))": (
            lambda: g.normal((30, 200)),
            lambda: torch.randn(30, 200, generator=tg),
        ),
        "rand(3)": (lambda: g.uniform(3), lambda: torch.rand(3, generator=tg)),
        "randint(0, 182625, (32,))": (
            lambda: g.randint(0, 182625, 32),
            lambda: torch.randint(0, 182625, (32,), generator=tg),
        ),
        "multinomial(row, 1)": (
            lambda: g.multinomial(P[5], 1, True),
            lambda: torch.multinomial(tP[5], 1, True, generator=tg),
        ),
        "multinomial(row, 20)": (
            lambda: g.multinomial(P[5], 20),
            lambda: torch.multinomial(tP[5], 20, generator=tg),
        ),
        "manual_seed": (lambda: g.manual_seed(42), lambda: tg.manual_seed(42)),
        "20 bigram names": (
            lambda: bigram_names(ours_sample, P),
            lambda: bigram_names(torch_sample, tP),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = cases()
    times = {name: ([], []) for name in table}
    for _ in range(args.rounds):
        for name, (ours, theirs) in table.items():
            times[name][0].append(per_call(ours))
            times[name][1].append(per_call(theirs))
    print(f"{'call':28s} {'micrograd':>12s} {'torch':>12s} {'ratio':>7s}")
    for name, (ours, theirs) in times.items():
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{name:28s} {a * 1e6:10.1f}us {b * 1e6:10.1f}us {a / b:7.1f}")


if __name__ == "__main__":
    main()
