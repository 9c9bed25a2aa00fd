"""The `micrograd` command: `train`, `predict` and `graph` subcommands.

    micrograd train                        # the original demo: moons, MLP(2, [16, 16, 1]), 100 steps
    micrograd train --dataset circles --layers 32,32 --optimizer adam --lr 0.05 --steps 300
    micrograd train --dataset data.csv --label y --loss cross_entropy --val-split 0.2
    micrograd train --dataset digits --engine tensor --loss cross_entropy --optimizer adam ...
    micrograd predict --model runs/latest/model.json --data new.csv --out predictions.csv
    micrograd graph "a*b + c" --values a=2,b=-3,c=10 -o graph.svg

This file only turns flags into calls: the job is `micrograd/train.py`, saving and loading
`micrograd/serialize.py`, drawing `micrograd/viz_cli.py`. Handlers import what they need when
they run, so `micrograd --help` stays fast.

Errors are one line on stderr, `micrograd: error: ...`, and a non-zero exit code: 2 for input the
command cannot use (unknown flag, data set, loss, ...), 1 when the job fails (a malformed CSV,
labels that do not fit the loss, an output folder that cannot be written, a NaN loss, a bad
model file). Nothing is written unless the job succeeds.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]

USAGE_ERROR, FAILED = 2, 1


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (`micrograd: error: ...`), not usage + error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(USAGE_ERROR, f"micrograd: error: {message} (see '{self.prog} --help')\n")


def _layers(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.replace(" ", "").split(","))  # '16,,16' is a typo
    except ValueError:
        sizes = ()
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(
            f"invalid layer sizes {text!r}: give hidden layer widths like 16,16"
        )
    return sizes


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"invalid fraction {text!r}: give a number in [0, 1)")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give a whole number >= 1")
    return v


def _non_negative_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: give a whole number >= 0")
    return v


def _number(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"invalid number {text!r}")
    return v


def _add_train(subparsers) -> None:
    from micrograd import optim
    from micrograd.nn import ACTIVATIONS, INITS
    from micrograd.train import ENGINES, LOSS_NAMES, TrainConfig

    d = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train an MLP on a data set and save the model, plots and metrics",
        description=(
            "Train a multi-layer perceptron. With no flags this is the original micrograd demo: "
            "moons (100 samples), MLP(2, [16, 16, 1]), hinge loss + L2, SGD with linear "
            "learning-rate decay, 100 steps, seed 1337. At the end the output folder gets "
            "model.json, metrics.json, curves.png and (for 2-D data) decision_boundary.png."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--dataset",
        default=d.dataset,
        help="a built-in data set (moons, circles, blobs, spirals, xor, digits) or "
        "the path of a numeric CSV file with a header row",
    )
    p.add_argument("--label", default=d.label, help="the label column of a CSV data set")
    p.add_argument(
        "--samples",
        type=_positive_int,
        default=d.n_samples,
        help="number of points of a generated data set",
    )
    p.add_argument("--noise", type=_number, default=d.noise, help="noise of a generated data set")
    p.add_argument(
        "--layers",
        type=_layers,
        default=d.layers,
        help="hidden layer sizes, comma-separated; the output layer is added (1 "
        "output, or one per class for cross_entropy)",
    )
    p.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default=d.activation,
        help="activation of the hidden layers (the last layer is linear)",
    )
    p.add_argument(
        "--init",
        choices=sorted(INITS),
        default=d.init,
        help="weight initialisation: uniform is the original's U(-1, 1); xavier and "
        "he scale with the layer widths (better for wide or deep networks)",
    )
    p.add_argument(
        "--loss",
        choices=LOSS_NAMES,
        default=d.loss,
        help="hinge (labels +-1) and bce (0/1) for two classes; cross_entropy for "
        "two or more; mse on the label values",
    )
    p.add_argument(
        "--optimizer", choices=sorted(optim.OPTIMIZERS), default=d.optimizer, help="optimizer"
    )
    p.add_argument("--lr", type=_number, default=d.lr, help="initial learning rate")
    p.add_argument(
        "--schedule",
        choices=sorted(optim.SCHEDULES),
        default=d.schedule,
        help="learning-rate schedule over the steps (linear: down to 0.1 x lr)",
    )
    p.add_argument("--steps", type=_positive_int, default=d.steps, help="number of optimizer steps")
    p.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=d.batch_size,
        help="mini-batch size; 0 uses the whole training set at every step",
    )
    p.add_argument(
        "--val-split",
        type=_fraction,
        default=d.val_split,
        help="fraction of the data held out to measure validation accuracy",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help="seed for data, weights and batches (same seed, same metrics)",
    )
    p.add_argument(
        "--alpha",
        type=_number,
        default=d.alpha,
        help="L2 penalty: alpha * sum of squared parameters (0 turns it off)",
    )
    p.add_argument("--out", default=d.out, help="output folder (created if needed)")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default=d.engine,
        help="scalar: micrograd Values; tensor: the numpy engine (needs numpy)",
    )
    p.add_argument(
        "--no-fused",
        dest="fused",
        action="store_false",
        help="build the original graph of single * and + per weight instead of one "
        "node per neuron (same numbers, several times slower)",
    )
    p.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar (it is also off when stderr is not a terminal)",
    )
    p.set_defaults(func=_run_train)


def _add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="score a CSV file with a saved model",
        description=(
            "Load a model saved by 'micrograd train' and predict a class for every row of a "
            "CSV file whose columns include the model's features. If the label column is "
            "present, print the accuracy. Predictions go to --out, or to stdout as CSV."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, help="a model.json written by 'micrograd train'")
    p.add_argument("--data", required=True, help="a numeric CSV file with a header row")
    p.add_argument(
        "--label",
        default=None,
        help="the label column (default: the one the model was trained with)",
    )
    p.add_argument("--out", default=None, help="write predictions to this CSV file")
    p.set_defaults(func=_run_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="micrograd",
        description="micrograd: train small neural networks, score data, draw graphs.",
        epilog="Run 'micrograd COMMAND --help' for a command's flags.",
    )
    from micrograd import __version__
    from micrograd.engine import IMPLEMENTATION

    parser.add_argument(
        "--version",
        action="version",
        version=f"micrograd {__version__} ({IMPLEMENTATION} scalar engine)",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    _add_train(subparsers)
    _add_predict(subparsers)
    from micrograd import viz_cli

    viz_cli.add_subparser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `micrograd` command with `argv` (default: `sys.argv[1:]`); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return e.code if isinstance(e.code, int) else USAGE_ERROR
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    return args.func(args)


def _fail(message: str, code: int = FAILED) -> int:
    message = " ".join(str(message).split())  # one line, whatever the exception held
    print(f"micrograd: error: {message}", file=sys.stderr)
    return code


def _guarded(job) -> int:
    """Run `job()`, turning the errors users can cause into one line and an exit code."""
    from micrograd.train import ConfigError

    try:
        return job()
    except ConfigError as e:
        return _fail(str(e), USAGE_ERROR)
    except (ValueError, TypeError) as e:
        return _fail(str(e))
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return _fail(f"{e.strerror or e}{where}" if e.strerror else str(e))
    except ImportError as e:
        hint = "" if "pip install" in str(e) else " (pip install 'micrograd[train]')"
        return _fail(f"a required package is missing: {e}{hint}")
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was written", 130)


def _run_train(args: argparse.Namespace) -> int:
    from micrograd.train import TrainConfig, run

    config = TrainConfig(
        dataset=args.dataset,
        label=args.label,
        n_samples=args.samples,
        noise=args.noise,
        layers=args.layers,
        activation=args.activation,
        init=args.init,
        loss=args.loss,
        optimizer=args.optimizer,
        lr=args.lr,
        schedule=args.schedule,
        steps=args.steps,
        batch_size=args.batch_size,
        val_split=args.val_split,
        seed=args.seed,
        alpha=args.alpha,
        out=args.out,
        engine=args.engine,
        fused=args.fused,
    )

    def job() -> int:
        m = run(config, progress=args.progress)
        parts = [f"final loss {m['final_loss']:.6g}", f"train accuracy {m['train_accuracy']:.1%}"]
        for key in ("val_accuracy", "test_accuracy"):
            if key in m:
                parts.append(f"{key.replace('_', ' ')} {m[key]:.1%}")
        seconds = m["timing"]["total_seconds"]
        print(f"{', '.join(parts)} ({m['steps']} steps, {seconds:.2f} s)")
        print(f"wrote {os.path.join(config.out, '')}{{{', '.join(sorted(_outputs(config.out)))}}}")
        return 0

    return _guarded(job)


def _outputs(folder: str) -> list[str]:
    names = ("model.json", "metrics.json", "curves.png", "decision_boundary.png")
    return [n for n in names if os.path.exists(os.path.join(folder, n))]


def _run_predict(args: argparse.Namespace) -> int:
    return _guarded(lambda: _predict(args))


def _predict(args: argparse.Namespace) -> int:
    import csv
    import io

    from micrograd.data import load_csv
    from micrograd.serialize import atomic_write, load_checkpoint
    from micrograd.train import accuracy, decide, get_engine

    if args.out:  # fail before the work, not after it
        from micrograd.train import check_writable

        check_writable(os.path.dirname(os.path.abspath(args.out)))
    model, meta = load_checkpoint(args.model)
    first = next(iter(model.parameters()))
    engine_name = "tensor" if hasattr(first.data, "shape") else "scalar"
    engine = get_engine(engine_name)
    n_outputs = _n_outputs(model)
    loss = meta.get("loss") or ("hinge" if n_outputs == 1 else "cross_entropy")
    classes = meta.get("classes")
    features = meta.get("features") or []
    label = args.label or meta.get("label") or "label"

    header = _csv_header(args.data)
    has_label = label in header
    if has_label:
        X, y, names = load_csv(args.data, label=label)
    else:
        X, names = _load_unlabelled(args.data, header, label, load_csv)
        y = None
    if features:
        missing = [f for f in features if f not in names]
        if missing:
            raise ValueError(
                f"{args.data}: the model needs the feature columns {features}; missing {missing}"
            )
        order = [names.index(f) for f in features]
        X = [[row[i] for i in order] for row in X]
        names = list(features)
    nin = model.config().get("nin")
    if nin is not None and X and len(X[0]) != nin:
        raise ValueError(f"{args.data}: the model takes {nin} features, the file has {len(X[0])}")

    outputs = engine.predict(model, X)
    if hasattr(outputs, "tolist"):
        outputs = outputs.tolist()
    predicted = decide(outputs, loss, meta.get("n_classes") or None)
    if classes:
        predicted = [classes[c] for c in predicted]

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    score_cols = ["score"] if n_outputs == 1 else [f"score_{i}" for i in range(n_outputs)]
    writer.writerow([*names, *([label] if has_label else []), "prediction", *score_cols])
    for i, row in enumerate(X):
        out = outputs[i] if n_outputs > 1 else [outputs[i]]
        writer.writerow([*row, *([y[i]] if has_label else []), predicted[i], *out])

    summary = f"{len(X)} rows scored"
    if has_label:
        if loss == "mse":
            err = sum((float(o) - t) ** 2 for o, t in zip(outputs, y)) / len(y)
            summary += f", mean squared error {err:.6g}"
        else:
            truth = [classes.index(v) if classes else v for v in y] if classes else y
            if any(t not in range(max(n_outputs, 2)) for t in truth):
                raise ValueError(
                    f"{args.data}: labels in column {label!r} are not classes "
                    f"this model knows ({classes or list(range(max(n_outputs, 2)))})"
                )
            acc = accuracy(outputs, _targets(truth, loss), loss)
            summary += f", accuracy {acc:.1%}"
    if args.out:
        atomic_write(args.out, buf.getvalue().encode())
        print(f"{summary}; wrote {args.out}")
    else:
        sys.stdout.write(buf.getvalue())
        print(summary, file=sys.stderr)
    return 0


def _targets(truth: list, loss: str) -> list:
    from micrograd.train import targets_for_loss

    return targets_for_loss(truth, loss)


def _n_outputs(model) -> int:
    cfg = model.config()
    if "nouts" in cfg:
        return int(cfg["nouts"][-1])
    return int(cfg.get("nout", 1))


def _csv_header(path: str) -> list[str]:
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                if any(cell.strip() for cell in row):
                    return [h.strip() for h in row]
            return []
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None


def _load_unlabelled(path: str, header: list[str], label: str, load_csv) -> tuple[list, list]:
    """Features of a CSV without a label column (load_csv wants one: add a dummy column)."""
    import csv
    import tempfile

    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows or not header:
        raise ValueError(f"{path}: the file is empty (a header row naming the columns is needed)")
    dummy = "__micrograd_no_label__"
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, os.path.basename(path))
        with open(copy, "w", newline="") as f:
            w = csv.writer(f)
            seen_header = False
            for r in rows:
                # Blank rows stay blank (skipped by load_csv) so that line numbers in its
                # error messages are those of the user's file.
                if not any(cell.strip() for cell in r):
                    w.writerow([])
                else:
                    w.writerow([*r, "0" if seen_header else dummy])
                    seen_header = True
        try:
            X, _, names = load_csv(copy, label=dummy)
        except ValueError as e:
            raise ValueError(str(e).replace(copy, path)) from None
    return X, names
