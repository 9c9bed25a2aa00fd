"""`micrograd train --dataset NAME` with no other flag, for every built-in data set and the README's
pets recipe, on both engines: the test accuracy the defaults reach and the time they take.

    python benchmarks/bench_defaults.py              # 3 rounds, compiled scalar and tensor engines
    python benchmarks/bench_defaults.py --pure       # also the pure-Python scalar engine
    python benchmarks/bench_defaults.py --quick      # a smoke test: blobs, one round

Test accuracy is measured on data the model did not see: digits' held-out fifth (360 images);
1,000 fresh points of each generated set (another seed; blobs' cluster centres come from the
seed, so for blobs the training seed and 1,000 samples: the same clusters, new points); xor's
fresh points are noise-free, since with the default noise 0.1 about 8% of noisy points have
crossed an axis away from their quadrant's class (no model exceeds ~92% on those; the noisy
figure is printed too); pets: 600 new animals from the same generator as the training file.

Every run is a fresh process (`peers.run_worker`), the variants interleaved in an order that
rotates each round; the times are the job's (data, model, training, evaluation: `run()` end to
end with no pictures) and the process's wall time, medians over the rounds. The accuracies do
not vary between rounds (same seed, same numbers).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import compiled_available, implementation, median, rotated, run_worker

DATA_SETS = ("moons", "circles", "blobs", "spirals", "xor", "digits", "pets")


def pets_csv(path: str, n: int, seed: int) -> str:
    """Animals as a user's file has them: a text id, the weight in kg, the height in m and the
    species (dog, cat, bird), with small dogs and large cats overlapping a little."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "weight", "height", "species"])
        for i in range(n):
            species = ("dog", "cat", "bird")[i % 3]
            if species == "dog":
                weight, height = max(4.0, rng.gauss(20, 8)), max(0.25, rng.gauss(0.55, 0.12))
            elif species == "cat":
                weight, height = max(2.0, rng.gauss(4.5, 1.0)), rng.gauss(0.25, 0.03)
            else:
                weight, height = max(0.02, rng.gauss(0.3, 0.15)), max(0.05, rng.gauss(0.2, 0.06))
            w.writerow([f"a{i}", f"{weight:.2f}", f"{height:.3f}", species])
    return path


def worker(name: str, engine: str) -> None:
    from micrograd.data import generate, save_csv
    from micrograd.predict import load_for_prediction, predict_table
    from micrograd.train import TrainConfig, run

    def accuracy(model: str, data: str, label: str = "label") -> float:
        summary = predict_table(load_for_prediction(model), data, label=label)[2]
        return float(summary.split("accuracy ")[1].rstrip("%")) / 100

    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "run")
        settings = {"dataset": name}
        if name == "pets":
            settings = {
                "dataset": pets_csv(f"{tmp}/pets.csv", 150, seed=1),
                "label": "species",
                "loss": "cross_entropy",
            }
        t0 = time.perf_counter()
        metrics = run(
            TrainConfig(**settings, engine=engine, plots=False, out=out),
            progress=False,
            log=lambda message: None,
        )
        job = time.perf_counter() - t0
        noisy = None
        if name == "digits":
            test = metrics["test_accuracy"]
        elif name == "pets":
            test = accuracy(f"{out}/model.json", pets_csv(f"{tmp}/new.csv", 600, 2), "species")
        else:
            seed = 1337 if name == "blobs" else 99
            fresh = {}
            for noise in (0.1, 0.0) if name == "xor" else (0.1,):
                X, y, names = generate(name, 1000, noise, seed)
                save_csv(f"{tmp}/fresh.csv", X, y, names)
                fresh[noise] = accuracy(f"{out}/model.json", f"{tmp}/fresh.csv")
            test, noisy = fresh[min(fresh)], (fresh[0.1] if name == "xor" else None)
    c = metrics["config"]
    print(
        json.dumps(
            {
                "implementation": implementation(),
                "test": test,
                "noisy": noisy,
                "job_s": job,
                "steps": metrics["steps"],
                "settings": f"{c['optimizer']} lr {c['lr']}, {c['steps']} steps, batch "
                f"{c['batch_size'] or 'all'}, standardize {'on' if c['standardize'] else 'off'}",
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pure", action="store_true", help="also the pure-Python scalar engine")
    parser.add_argument("--quick", action="store_true", help="blobs only, one round")
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    names = ("blobs",) if args.quick else DATA_SETS
    rounds = 1 if args.quick else args.rounds
    scalar = "compiled" if compiled_available() else "pure"
    # (label, peers engine that runs the worker, the training engine)
    variants = [(f"scalar ({scalar})", scalar, "scalar"), ("tensor", scalar, "tensor")]
    if args.pure and scalar == "compiled":
        variants.append(("scalar (pure)", "pure", "scalar"))
    runs = [(name, v) for name in names for v in variants]
    results: dict = {key: [] for key in runs}
    for r in range(rounds):
        for name, variant in rotated(runs, r):
            label, peer_engine, train_engine = variant
            results[(name, variant)].append(run_worker(peer_engine, __file__, [name, train_engine]))
            print(f"round {r + 1}: {name} on {label} done", file=sys.stderr, flush=True)
    print(
        f"micrograd train --dataset NAME with no other flag: test accuracy, job and process "
        f"time (medians of {rounds} round{'s' * (rounds > 1)}; a machine shared with other "
        f"jobs, so times are noisy)"
    )
    print(f"{'data set':9} {'engine':18} {'test acc':>9} {'job s':>7} {'wall s':>7}  settings")
    for name in names:
        for variant in variants:
            rs = results[(name, variant)]
            first = rs[0]
            extra = f" (noisy points: {first['noisy']:.1%})" if first["noisy"] is not None else ""
            print(
                f"{name:9} {variant[0]:18} {first['test']:>9.1%} "
                f"{median([x['job_s'] for x in rs]):>7.2f} "
                f"{median([x['wall_s'] for x in rs]):>7.2f}  {first['settings']}{extra}"
            )
            if any(x["test"] != first["test"] for x in rs):
                print(f"  warning: {name} on {variant[0]}: the accuracy differed between rounds")


if __name__ == "__main__":
    main()
