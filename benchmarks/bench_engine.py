"""The scalar engine against the original micrograd 0.1.0, side by side in one run.

    python benchmarks/bench_engine.py            # 5 interleaved rounds, medians and ratios
    python benchmarks/bench_engine.py --rounds 3

Each measurement runs in a fresh process (ours with this interpreter, the original in its own
virtual environment, see peers.py), alternating between the two, with the garbage collector left
on as users run it. Cases:

* graph: 50,000 units of `(a*b + c).relu()` summed by a tree of additions: 200k operation nodes,
  350k Values with the leaves; time to build it and to run backward(), per Value;
* memory: bytes per Value of that graph by tracemalloc, after building and after backward();
* chain: `x = x + 1` repeated 1,000,000 times, then backward() (the original stops at about 1,000).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import median, peer_python  # noqa: E402

UNITS = 50_000
CHAIN = 1_000_000


def build_graph(Value, units: int = UNITS):
    """350k Values: `units` x (3 leaves + mul + add + relu), then a balanced tree of additions."""
    import random

    rng = random.Random(0)
    outs = [
        (Value(rng.uniform(-1, 1)) * Value(rng.uniform(-1, 1)) + Value(rng.uniform(-1, 1))).relu()
        for _ in range(units)
    ]
    while len(outs) > 1:
        paired = [outs[i] + outs[i + 1] for i in range(0, len(outs) - 1, 2)]
        outs = paired + ([outs[-1]] if len(outs) % 2 else [])
    return outs[0]


def values_in_graph(units: int = UNITS) -> int:
    return 6 * units + (units - 1)  # leaves and ops of every unit, plus the tree's additions


def worker(case: str) -> dict:
    """Run one case in this process and return its measurements."""
    import time

    from micrograd.engine import Value

    if case == "graph":
        # Three graphs in a row, as a training loop builds them: the first in a fresh process,
        # the third after the previous graphs were dropped (the original's wait for the cyclic
        # garbage collector, ours are freed at once).
        n = values_in_graph()
        result = {}
        for i in (1, 2, 3):
            t0 = time.perf_counter()
            root = build_graph(Value)
            t1 = time.perf_counter()
            root.backward()
            t2 = time.perf_counter()
            del root
            if i in (1, 3):
                result[f"build_ns_{i}"] = (t1 - t0) / n * 1e9
                result[f"backward_ns_{i}"] = (t2 - t1) / n * 1e9
        return result
    if case == "memory":
        import tracemalloc

        tracemalloc.start()
        root = build_graph(Value)
        built = tracemalloc.get_traced_memory()[0]
        root.backward()
        after = tracemalloc.get_traced_memory()[0]
        n = values_in_graph()
        return {"bytes_built": built / n, "bytes_after_backward": after / n}
    if case == "chain":
        t0 = time.perf_counter()
        x = Value(1.0)
        try:
            for _ in range(CHAIN):
                x = x + 1
            t1 = time.perf_counter()
            x.backward()
        except RecursionError:
            # Find the depth at which the original's recursive backward gives up.
            depth = 1
            while True:
                y = Value(1.0)
                for _ in range(depth):
                    y = y + 1
                try:
                    y.backward()
                except RecursionError:
                    return {"recursion_error_at": depth}
                depth += 1
        t2 = time.perf_counter()
        return {"build_s": t1 - t0, "backward_s": t2 - t1, "total_s": t2 - t0}
    raise ValueError(f"unknown case {case!r}")


def run(python: str, case: str) -> dict:
    out = subprocess.run(
        [python, __file__, "--worker", case],
        check=True,
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parent),  # the original must not see our package
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return

    engines = {"ours": sys.executable, "original": peer_python()}
    results: dict = {(e, c): [] for e in engines for c in ("graph", "memory")}
    for r in range(args.rounds):
        for case in ("graph", "memory"):
            for engine, python in engines.items():
                results[engine, case].append(run(python, case))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    def med(engine, case, key):
        return median([m[key] for m in results[engine, case]])

    print(f"graph of {values_in_graph():,} Values ({4 * UNITS - 1:,} op nodes), GC on, "
          f"medians of {args.rounds} interleaved rounds, per Value:")
    print(f"{'':34}{'ours':>10}{'original':>10}{'ratio':>8}")
    for i, which in ((1, "first graph"), (3, "third graph")):
        for label, key in (("build (ns)", "build_ns"), ("backward (ns)", "backward_ns")):
            o, p = med("ours", "graph", f"{key}_{i}"), med("original", "graph", f"{key}_{i}")
            print(f"{which + ', ' + label:34}{o:10.0f}{p:10.0f}{p / o:7.1f}x")
        o = med("ours", "graph", f"build_ns_{i}") + med("ours", "graph", f"backward_ns_{i}")
        p = med("original", "graph", f"build_ns_{i}") + med("original", "graph", f"backward_ns_{i}")
        print(f"{which + ', build + backward (ns)':34}{o:10.0f}{p:10.0f}{p / o:7.1f}x")
    for label, key in (("memory built (B)", "bytes_built"), ("after backward (B)", "bytes_after_backward")):
        o, p = med("ours", "memory", key), med("original", "memory", key)
        print(f"{label:34}{o:10.0f}{p:10.0f}{p / o:7.1f}x")

    chains = [run(sys.executable, "chain") for _ in range(3)]
    original_chain = run(engines["original"], "chain")
    print(f"\nchain of {CHAIN:,} additions (ours, median of 3): "
          f"build {median([c['build_s'] for c in chains]):.2f} s, "
          f"backward {median([c['backward_s'] for c in chains]):.2f} s, "
          f"total {median([c['total_s'] for c in chains]):.2f} s")
    print(f"original: RecursionError at a chain of {original_chain['recursion_error_at']} ops")


if __name__ == "__main__":
    main()
