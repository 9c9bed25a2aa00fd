"""The scalar engine per Value: our pure and compiled `Value` against micrograd 0.1.0, in one run.

    python benchmarks/bench_engine.py                  # 5 interleaved rounds, medians and ratios
    python benchmarks/bench_engine.py --rounds 3
    python benchmarks/bench_engine.py --engines pure,compiled --no-original
    python benchmarks/bench_engine.py --quick --no-original   # a smoke test (small sizes)

Every measurement runs in a fresh process: ours with this interpreter (`MICROGRAD_PURE=1` for the
pure engine), the original in its own virtual environment (see peers.py). The engines alternate
within each round, in an order that rotates from round to round, and the garbage collector stays
on, as users run it. Cases:

* graph: 50,000 units of `(a*b + c).relu()` summed by a tree of additions: 200k operation nodes,
  350k Values with the leaves. Four graphs in a row in one process, as a training loop builds
  them: the first one (a fresh process) and the steady state (the median of graphs 2-4, each
  built after the previous one was dropped). Time to build and to run backward(), per Value;
* memory: bytes per Value of that graph, by tracemalloc and by the process's resident size,
  after building it and after backward();
* chain: `x = x + 1` repeated 1,000,000 times, then backward() (the original's recursive
  backward stops at about 1,000 ops: we report where).

Targets: compiled at least 20x the original on a first graph (aim 30x), at most 160 B
per node, the 1,000,000-op chain in at most 1 s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import choose_engines, implementation, median, rotated, run_worker

UNITS = 50_000
CHAIN = 1_000_000
GRAPHS = 4  # graphs built in a row by one process: the first, then the steady state
TARGET_FIRST_GRAPH = 20.0  # compiled vs original, first graph (aim for 30x)
TARGET_BYTES = 160.0
TARGET_CHAIN_S = 1.0


def build_graph(Value, units: int):
    """6*units Values: `units` x (3 leaves, mul, add, relu), then a balanced tree of additions."""
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


def values_in_graph(units: int) -> int:
    return 6 * units + (units - 1)  # leaves and ops of every unit, plus the tree's additions


def _rss_bytes() -> int:
    """This process's resident set size (Linux), 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            import os

            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def worker(case: str, units: int, chain: int) -> dict:
    """Run one case in this process and return its measurements."""
    import gc
    import time

    from micrograd.engine import Value

    result = {"implementation": implementation(), "gc_enabled": gc.isenabled()}
    n = values_in_graph(units)
    if case == "graph":
        for i in range(1, GRAPHS + 1):
            t0 = time.perf_counter()
            root = build_graph(Value, units)
            t1 = time.perf_counter()
            root.backward()
            t2 = time.perf_counter()
            del root
            result[f"build_ns_{i}"] = (t1 - t0) / n * 1e9
            result[f"backward_ns_{i}"] = (t2 - t1) / n * 1e9
        return result
    if case == "memory":
        import tracemalloc

        # The resident size first, without tracemalloc (its own bookkeeping would count), then
        # tracemalloc on a second graph (which reuses the memory the first one freed).
        rss0 = _rss_bytes()
        root = build_graph(Value, units)
        rss_built = _rss_bytes()
        root.backward()
        rss_after = _rss_bytes()
        del root
        tracemalloc.start()
        root = build_graph(Value, units)
        built = tracemalloc.get_traced_memory()[0]
        root.backward()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result.update(
            bytes_built=built / n,
            bytes_after_backward=after / n,
            rss_built=(rss_built - rss0) / n,
            rss_after_backward=(rss_after - rss0) / n,
        )
        return result
    if case == "chain":
        c0 = time.process_time()  # CPU time too: on a shared machine the wall time waits for others
        t0 = time.perf_counter()
        x = Value(1.0)
        try:
            for _ in range(chain):
                x = x + 1
            t1 = time.perf_counter()
            x.backward()
        except RecursionError:
            # The original's recursive backward: find the depth at which it gives up.
            del x
            depth = 900
            while True:
                y = Value(1.0)
                for _ in range(depth):
                    y = y + 1
                try:
                    y.backward()
                except RecursionError:
                    result["recursion_error_at"] = depth
                    return result
                depth += 1
        t2 = time.perf_counter()
        cpu = time.process_time() - c0
        if x.data != 1.0 + chain:
            raise AssertionError(f"chain: got {x.data}, expected {1.0 + chain}")
        result.update(build_s=t1 - t0, backward_s=t2 - t1, total_s=t2 - t0, cpu_s=cpu)
        return result
    raise ValueError(f"unknown case {case!r}")


FIRST_GRAPH = "first graph: build + backward (ns)"
MEMORY_BUILT = "memory after build, tracemalloc (B)"


def _fmt_ratio(num: float, den: float) -> str:
    return f"{num / den:.1f}x" if den else "-"


def report(results: dict, engines: list[str], units: int, rounds: int) -> list[str]:
    """The table of medians, and the targets; returns the targets that were missed."""

    def med(engine: str, case: str, key: str) -> float:
        return median([m[key] for m in results[engine, case]])

    def steady(engine: str, key: str) -> float:
        # per round, the median of graphs 2..GRAPHS; then the median over rounds
        per_round = [
            median([m[f"{key}_{i}"] for i in range(2, GRAPHS + 1)])
            for m in results[engine, "graph"]
        ]
        return median(per_round)

    rows: list[tuple[str, dict[str, float]]] = []
    for label, key in (("build", "build_ns"), ("backward", "backward_ns")):
        rows.append(
            (f"first graph: {label} (ns)", {e: med(e, "graph", f"{key}_1") for e in engines})
        )
    rows.append(
        (
            FIRST_GRAPH,
            {e: med(e, "graph", "build_ns_1") + med(e, "graph", "backward_ns_1") for e in engines},
        )
    )
    rows.append(
        (
            "steady state: build + backward (ns)",
            {e: steady(e, "build_ns") + steady(e, "backward_ns") for e in engines},
        )
    )
    for label, key in (
        (MEMORY_BUILT, "bytes_built"),
        ("memory after backward, tracemalloc (B)", "bytes_after_backward"),
        ("memory after build, RSS (B)", "rss_built"),
        ("memory after backward, RSS (B)", "rss_after_backward"),
    ):
        rows.append((label, {e: med(e, "memory", key) for e in engines}))

    ratios = [
        (a, b)
        for a, b in (("compiled", "original"), ("pure", "original"), ("compiled", "pure"))
        if a in engines and b in engines
    ]
    print(
        f"graph of {values_in_graph(units):,} Values ({4 * units - 1:,} op nodes), GC on, "
        f"medians of {rounds} interleaved rounds, per Value (lower is better):"
    )
    header = f"{'':40}" + "".join(f"{e:>10}" for e in engines)
    header += "".join(f"{a[:4] + ' vs ' + b[:4]:>14}" for a, b in ratios)
    print(header)
    for label, by_engine in rows:
        line = f"{label:40}" + "".join(f"{by_engine[e]:10.0f}" for e in engines)
        line += "".join(f"{_fmt_ratio(by_engine[b], by_engine[a]):>14}" for a, b in ratios)
        print(line)

    missed: list[str] = []
    if "compiled" in engines:
        first, mem = dict(rows)[FIRST_GRAPH], dict(rows)[MEMORY_BUILT]
        print("\ntargets, compiled engine:")
        if "original" in engines:
            x = first["original"] / first["compiled"]
            ok = x >= TARGET_FIRST_GRAPH
            print(
                f"  first graph >= {TARGET_FIRST_GRAPH:.0f}x the original (aim 30x): "
                f"{x:.1f}x  {'met' if ok else 'MISSED'}"
            )
            missed += [] if ok else ["first graph"]
        ok = mem["compiled"] <= TARGET_BYTES
        print(
            f"  <= {TARGET_BYTES:.0f} B per node (tracemalloc, built): "
            f"{mem['compiled']:.0f} B  {'met' if ok else 'MISSED'}"
        )
        missed += [] if ok else ["memory"]
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engines", help="comma-separated: pure,compiled,original (default: all)")
    parser.add_argument(
        "--no-original",
        action="store_true",
        help="leave out micrograd 0.1.0 (no peer virtual environment needed)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 round, 2,000 units, a 20,000-op chain"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        case, units, chain = args.worker
        print(json.dumps(worker(case, int(units), int(chain))))
        return

    units, chain, rounds = (2_000, 20_000, 1) if args.quick else (UNITS, CHAIN, args.rounds)
    engines = choose_engines(args.engines, original=not args.no_original)
    script = str(Path(__file__).resolve())
    sizes = [str(units), str(chain)]
    results: dict = {(e, c): [] for e in engines for c in ("graph", "memory", "chain")}
    for r in range(rounds):
        for case in ("graph", "memory", "chain"):
            for engine in rotated(engines, r):
                if case == "chain" and engine == "original" and results[engine, case]:
                    continue  # its recursion limit does not change from round to round
                results[engine, case].append(run_worker(engine, script, [case, *sizes]))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)

    for engine in engines:
        if not all(m["gc_enabled"] for c in ("graph", "memory") for m in results[engine, c]):
            raise SystemExit(f"{engine}: the garbage collector was off in a worker")
    missed = report(results, engines, units, rounds)

    print(
        f"\nchain of {chain:,} additions (x = x + 1), then backward(), GC on, median of {rounds}:"
    )
    for engine in engines:
        runs = results[engine, "chain"]
        if "recursion_error_at" in runs[0]:
            print(f"  {engine:10} RecursionError at a chain of {runs[0]['recursion_error_at']} ops")
            continue
        total = median([c["total_s"] for c in runs])
        cpu = median([c["cpu_s"] for c in runs])
        print(
            f"  {engine:10} build {median([c['build_s'] for c in runs]):.2f} s, "
            f"backward {median([c['backward_s'] for c in runs]):.2f} s, total {total:.2f} s "
            f"(CPU time {cpu:.2f} s)"
        )
        if engine == "compiled" and chain == CHAIN:
            ok = total <= TARGET_CHAIN_S
            verdict = "met" if ok else "MISSED"
            if not ok and cpu <= TARGET_CHAIN_S:
                verdict += f" in wall time, met in CPU time ({cpu:.2f} s): a busy machine"
            limit = f"{TARGET_CHAIN_S:.0f} s"
            print(f"  target: the 1,000,000-op chain in <= {limit}: {verdict}")
            missed += [] if ok else ["chain"]
    if missed:
        print(f"\ntargets missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
