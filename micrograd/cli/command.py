"""The `micrograd` command: `train`, `predict`, `data`, `graph` and `export` subcommands.

    micrograd train                        # the original demo: moons, MLP(2, [16, 16, 1]), 100 steps
    micrograd train --dataset digits       # digits with its own settings: over 95% on held-out images
    micrograd train --dataset circles --layers 32,32 --optimizer adam --lr 0.05 --steps 300
    micrograd train --dataset data.csv --label y --drop id --val-split 0.2 --epochs 50
    micrograd train --resume runs/latest   # continue a run stopped by Ctrl-C
    micrograd data moons --samples 20 --seed 7 --out new.csv     # columns x0, x1, label
    micrograd predict --model runs/latest/model.json --data new.csv --out predictions.csv
    micrograd graph "a*b + c" --values a=2,b=-3,c=10 -o graph.svg

This file only turns flags into calls. The jobs are modules beside it: training `train.py`,
scoring `predict.py`, drawing `graph.py`, exporting `export.py` (those two bring their own flags);
saving and loading is `micrograd/serialize.py`, data sets `micrograd/data.py`. Handlers import
what they need when they run, so `micrograd --help` stays fast.

Errors (`errors.py`, shared by every subcommand) are one line on stderr, `micrograd: error: ...`,
and a non-zero exit code: 2 for input the command cannot use (unknown flag, data set, loss, ...), 1
when the job fails (a malformed CSV, labels that do not fit the loss, an output folder that cannot
be written, a NaN loss, a bad model file). A failed job leaves the output folder as it was. Ctrl-C
during `train` stops after the current step, saves the steps done as an interrupted run and exits
with 130.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import re
import shlex
import sys
from collections.abc import Sequence

from micrograd.cli.errors import FAILED, USAGE_ERROR, caused_by_ctrl_c, fail, guarded

__all__ = ["FAILED", "USAGE_ERROR", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with: a usage error on one line (`micrograd: error: ...`) that points to the
    command's own help (`micrograd train --help`); no abbreviated flags (`--step 5` is an error,
    not `--steps 5`: an abbreviation would change meaning when a flag is added); and "did you
    mean" for a misspelled flag, command or choice."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)  # also for the subcommands' parsers
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        self.exit(USAGE_ERROR, f"micrograd: error: {message} (see '{self.prog} --help')\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        # Unknown flags are collected by the top-level parser; report them against the
        # subcommand they were given to, with its flags as suggestions.
        namespace, extras = self.parse_known_args(args, namespace)
        if extras:
            commands = getattr(self, "commands", {})
            parser = commands.get(getattr(namespace, "command", None), self)
            parser.error(_unrecognized(extras, parser))
        return namespace

    def _check_value(self, action, value):
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as e:
            choices = [str(c) for c in action.choices or ()]
            close = difflib.get_close_matches(str(value), choices, n=1)
            if close and "did you mean" not in e.message:
                raise argparse.ArgumentError(
                    action, f"{e.message}; did you mean {close[0]!r}?"
                ) from None
            raise


def _unrecognized(extras: list[str], parser: argparse.ArgumentParser) -> str:
    message = f"unrecognized arguments: {' '.join(extras)}"
    for arg in extras:
        # A value that starts with "-" (an expression such as -x*2) is read as a flag.
        graph = parser.prog.endswith(" graph")
        flag_like = re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", arg)
        if arg.startswith("-") and (not flag_like or (graph and not arg.startswith("--"))):
            quoted = f'"{arg}"' if '"' not in arg else shlex.quote(arg)
            example = f"micrograd graph -o graph.svg -- {quoted}"
            if not graph:
                example = f"{parser.prog} [flags] -- {quoted}"
            return (
                f"{message}; an argument that starts with '-' is read as a flag: put it after "
                f"'--', as in {example}"
            )
    # Compared without the leading "--", which every flag shares.
    names = [f[2:] for f in parser._option_string_actions if f.startswith("--")]
    for arg in extras:
        if arg.startswith("--"):
            close = difflib.get_close_matches(arg[2:].split("=", 1)[0], names, n=1, cutoff=0.7)
            if close and close[0] == arg[2:].split("=", 1)[0]:
                return f"{message}; a flag after '--' is read as a value: put {arg} before '--'"
            if close:
                return f"{message}; did you mean --{close[0]}?"
    return message


class _HelpFormatter(argparse.HelpFormatter):
    """`(default: X)` after a flag's help only where it tells something; never for a required
    flag, an on/off switch (`--no-fused`), a default decided at run time (None: the help text
    says what happens), or where the help already says it. Lists are shown as typed (`16,16`)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or action.required
            or default is None
            or default is argparse.SUPPRESS
            or default == ()
            or isinstance(default, bool)
            or "default:" in text
            or "%(default)" in text
        ):
            return text
        if isinstance(default, (list, tuple)):
            default = ",".join(map(str, default))
        return f"{text} (default: {str(default).replace('%', '%%')})"


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


def _columns(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"invalid column list {text!r}: give names like a,b,c")
    return names


def _per_dataset(key: str) -> str:
    """The help's default for a setting that fits the data set: moons' value and the others'."""
    from micrograd.cli.train import DATASET_DEFAULTS

    def shown(value) -> str:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, tuple):
            return ",".join(map(str, value))
        return str(value)

    by_value: dict[str, list[str]] = {}
    for name, table in DATASET_DEFAULTS.items():
        by_value.setdefault(shown(table[key]), []).append(name)
    parts = [f"{' '.join(names)}: {value}" for value, names in by_value.items()]
    return f" (default per data set: {'; '.join(parts)})"


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
    from micrograd.cli.train import ENGINES, LOSS_NAMES, TrainConfig
    from micrograd.nn import ACTIVATIONS, INITS

    d = TrainConfig()
    p = subparsers.add_parser(
        "train",
        help="train an MLP on a data set and save the model, plots and metrics",
        description=(
            "Train a multi-layer perceptron. With no flags this is the original micrograd demo: "
            "moons (100 samples), MLP(2, [16, 16, 1]), hinge loss + L2, SGD with linear "
            "learning-rate decay, 100 steps, seed 1337. Each data set gets the settings that "
            "fit it where no flag says otherwise ('default per data set' below): circles, "
            "spirals and xor train well with the demo's; blobs and digits standardize their "
            "features and train with Adam; a CSV file trains with the demo's settings when its "
            "features are within +-5, else like blobs. At the end the output folder gets model.json, metrics.json, "
            "curves.png and (for 2-D data) decision_boundary.png."
        ),
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--dataset",
        default=d.dataset,
        help="a built-in data set (moons, circles, blobs, spirals, xor, digits) or the path of "
        "a CSV file with a header row: numeric features, and labels that are numbers or class "
        "names (dog, cat)",
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
        default=None,
        help="hidden layer sizes, comma-separated; the output layer is added (1 "
        "output, or one per class for cross_entropy)" + _per_dataset("layers"),
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
        default=None,
        help="weight initialisation: uniform is the original's U(-1, 1); xavier and "
        "he scale with the layer widths (better for wide or deep networks)" + _per_dataset("init"),
    )
    p.add_argument(
        "--loss",
        choices=LOSS_NAMES,
        default=d.loss,
        help="hinge (labels +-1) and bce (0/1) for two classes; cross_entropy for "
        "two or more; mse on the label values (default: hinge for two classes, "
        "cross_entropy for more)",
    )
    p.add_argument(
        "--optimizer",
        choices=sorted(optim.OPTIMIZERS),
        default=None,
        help="optimizer" + _per_dataset("optimizer"),
    )
    p.add_argument(
        "--lr",
        type=_number,
        default=None,
        help="initial learning rate; with an --optimizer other than the data set's: "
        "sgd 0.1, adam and adamw 0.01" + _per_dataset("lr"),
    )
    p.add_argument(
        "--schedule",
        choices=sorted(optim.SCHEDULES),
        default=None,
        help="learning-rate schedule over the steps (linear: down to 0.1 x lr)"
        + _per_dataset("schedule"),
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=None,
        help="number of optimizer steps" + _per_dataset("steps"),
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train for N passes over the training set instead of a number of --steps "
        "(N steps in full batch; N x ceil(rows / batch size) with --batch-size)",
    )
    p.add_argument(
        "--batch-size",
        type=_non_negative_int,
        default=None,
        help="mini-batch size; 0 uses the whole training set at every step"
        + _per_dataset("batch_size"),
    )
    p.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scale every feature to mean 0 and standard deviation 1 (those of the training "
        "rows, kept in model.json: predict and the pictures apply them to new data); a CSV file "
        "is standardized when some value lies outside +-5" + _per_dataset("standardize"),
    )
    p.add_argument(
        "--features",
        type=_columns,
        default=None,
        metavar="A,B,...",
        help="the CSV columns to train on, in this order (default: every column but the label "
        "and the --drop ones; columns of text, such as an id, are left out with a note)",
    )
    p.add_argument(
        "--drop",
        type=_columns,
        default=(),
        metavar="A,B,...",
        help="CSV columns to leave out of the features (an id, a note)",
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
        default=None,
        help="L2 penalty: alpha * sum of squared parameters (0 turns it off)"
        + _per_dataset("alpha"),
    )
    p.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        metavar="FOLDER",
        default=None,
        help=f"output folder, created if needed; a run replaces the folder's previous run as a "
        f"whole (default: {d.out}, or the RUN given to --resume)",
    )
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
    p.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="write no pictures: trains without numpy and matplotlib on the scalar engine",
    )
    p.add_argument(
        "--resume",
        metavar="RUN",
        default=None,
        help="continue the interrupted run in the folder RUN (stopped by Ctrl-C) with its own "
        "settings, to the same final model as an uninterrupted run",
    )
    p.set_defaults(func=_run_train)


def _add_predict(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="score a CSV file with a saved model",
        description=(
            "Load a model saved by 'micrograd train' and predict a class for every row of a CSV "
            "file that has the model's feature columns (by name, in any order). The output is "
            "the input table, every column copied as it is (an id, the label, ...), plus "
            "'prediction' (the class label the model was trained with) and the scores: 'score' "
            "for a one-output model, else 'score_<class>' per class, or with --proba "
            "'proba_<class>'. A model trained on standardized features scales the columns "
            "with the training rows' mean and deviation kept in its file. If the label column "
            "is present, the accuracy is printed. The table goes to --out, or to stdout."
        ),
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--model", required=True, metavar="FILE", help="a model.json written by 'micrograd train'"
    )
    p.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="the CSV file to score (a header row naming the columns)",
    )
    p.add_argument(
        "--label",
        metavar="COLUMN",
        help="the label column, for the accuracy (default: the one the model was trained with, "
        "if the file has it)",
    )
    p.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        metavar="FILE",
        help="write the table to this CSV file (default: stdout)",
    )
    p.add_argument(
        "--proba",
        action="store_true",
        help="give each class's probability (columns proba_<class>) instead of the raw "
        "scores: softmax for a cross_entropy model, sigmoid for bce (a hinge or mse model "
        "gives no probabilities)",
    )
    p.set_defaults(func=_run_predict)


def _add_data(subparsers) -> None:
    from micrograd.cli.train import TrainConfig
    from micrograd.data import DATASETS

    d = TrainConfig()
    p = subparsers.add_parser(
        "data",
        help="write a built-in data set (moons, digits, ...) to a CSV file",
        description=(
            "Write a built-in data set to a CSV file: the features x0, x1, ... (pixel_0 .. "
            "pixel_63 for digits) and the class in the column 'label'. The same --samples, "
            "--noise and --seed give the points 'micrograd train --dataset NAME' trains on; "
            "the file can be scored with 'micrograd predict' or trained on with "
            "'micrograd train --dataset FILE'."
        ),
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "name",
        choices=sorted(DATASETS),
        metavar="NAME",
        help=f"one of {', '.join(sorted(DATASETS))}",
    )
    p.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        required=True,
        metavar="FILE",
        help="the CSV file to write",
    )
    p.add_argument(
        "--samples",
        type=_positive_int,
        metavar="N",
        help=f"number of points (default: {d.n_samples}; digits: all 1,797 images)",
    )
    p.add_argument("--noise", type=_number, default=d.noise, help="noise of a generated data set")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the generator")
    p.set_defaults(func=_run_data)


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
        version=f"micrograd-plus {__version__} ({IMPLEMENTATION} scalar engine)",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    _add_train(subparsers)
    _add_predict(subparsers)
    _add_data(subparsers)
    from micrograd.cli import graph

    graph.add_subparser(subparsers)
    from micrograd.cli import export

    export.add_subparser(subparsers)
    parser.commands = subparsers.choices  # for error messages: the parser of each command
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `micrograd` command with `argv` (default: `sys.argv[1:]`); return the exit code.

    Ctrl-C at any moment gives one line on stderr and exit code 130, never a traceback (see
    micrograd/_interrupts.py); a job may catch the KeyboardInterrupt first to stop cleanly.
    """
    from micrograd import _distribution, _interrupts

    try:
        _interrupts.raise_on_ctrl_c()
        clash = _distribution.warn_once(everywhere=True)
        if clash:
            if not _files_intact():
                # The original was installed over ours: nothing here can run, and a traceback
                # from its half-replaced files would hide the one fix that works.
                return fail(clash)
            print(f"micrograd: warning: {clash}", file=sys.stderr)
        return _main(argv)
    except Exception as e:
        # Python 3.11 wraps a Ctrl-C that lands in a class's `__set_name__` (a dataclass being
        # defined while a module imports) in a RuntimeError: still a Ctrl-C.
        if not caused_by_ctrl_c(e):
            raise
        return _interrupted()
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        _interrupts.quiet_again()


def _files_intact() -> bool:
    """False if the original's install replaced our `__init__.py`, `engine.py` or `nn.py`.

    The original's three files have no module docstring; ours all do. Importing them may fail
    outright (our `__init__.py` imports names the original's `engine.py` lacks): also False.
    """
    try:
        import micrograd
        import micrograd.engine
        import micrograd.nn
    except Exception:  # noqa: BLE001 -- any failure means replaced files
        return False
    modules = (micrograd, micrograd.engine, micrograd.nn)
    return all(m.__doc__ for m in modules) and hasattr(micrograd, "__version__")


def _interrupted() -> int:
    from micrograd import _interrupts

    _interrupts.quiet_again()
    print("micrograd: interrupted", file=sys.stderr)
    return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed
        return e.code if isinstance(e.code, int) else USAGE_ERROR
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    return args.func(args)


# Flags that describe the job: with --resume, the run's own settings are used instead.
_JOB_FLAGS = {
    "dataset": "dataset",
    "label": "label",
    "samples": "n_samples",
    "noise": "noise",
    "layers": "layers",
    "activation": "activation",
    "init": "init",
    "loss": "loss",
    "optimizer": "optimizer",
    "lr": "lr",
    "schedule": "schedule",
    "steps": "steps",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "standardize": "standardize",
    "features": "features",
    "drop": "drop",
    "val_split": "val_split",
    "seed": "seed",
    "alpha": "alpha",
    "engine": "engine",
    "fused": "fused",
    "plots": "plots",
}


def _run_train(args: argparse.Namespace) -> int:
    from micrograd.cli.train import TrainConfig, resume, run

    fields = {key: getattr(args, flag) for flag, key in _JOB_FLAGS.items()}
    defaults = TrainConfig()
    if args.resume is not None:
        changed = [
            "--" + flag.replace("_", "-")
            for flag, key in _JOB_FLAGS.items()
            if fields[key] != getattr(defaults, key)
        ]
        if changed:
            return fail(
                f"--resume continues a run with its own settings; drop {', '.join(changed)}",
                USAGE_ERROR,
            )
    out = args.out if args.out is not None else (args.resume or defaults.out)

    def log(message: str) -> None:
        print(f"micrograd: {message}", file=sys.stderr, flush=True)

    def job() -> int:
        try:
            # The scalar engine that runs (compiled or pure, and why) opens the output.
            announce = functools.partial(print, flush=True)
            if args.resume is not None:
                m = resume(args.resume, out=out, progress=args.progress, log=log, announce=announce)
            else:
                config = TrainConfig(**fields, out=out)
                m = run(config, progress=args.progress, log=log, announce=announce)
        except MemoryError as e:
            from micrograd.cli.train import MemoryBudgetError

            if isinstance(e, MemoryBudgetError):
                return fail(str(e))
            return fail(
                "out of memory; try a smaller --batch-size, --engine tensor, smaller --layers "
                "or fewer --samples; nothing was written"
            )
        except KeyboardInterrupt as e:
            if getattr(e, "run_written", False):
                return fail(f"interrupted just after the run was written to {out}", 130)
            return fail(f"interrupted; nothing was written to {out}", 130)
        return _report(m, out)

    return guarded(job)


def _report(m: dict, out: str) -> int:
    """The run's summary on stdout; exit code 130 for a run stopped by Ctrl-C."""
    from micrograd.cli.train import format_accuracy

    parts = [
        f"final loss {m['final_loss']:.6g}",
        f"train accuracy {format_accuracy(m['train_accuracy'])}",
    ]
    for key in ("val_accuracy", "test_accuracy"):
        if key in m:
            parts.append(f"{key.replace('_', ' ')} {format_accuracy(m[key])}")
    seconds = m["timing"]["total_seconds"]
    done = f"{m['steps_done']} of {m['steps']}" if m["interrupted"] else str(m["steps"])
    print(f"{', '.join(parts)} ({done} steps, {seconds:.2f} s)")
    print(f"wrote {os.path.join(out, '')}{{{', '.join(sorted(_outputs(out)))}}}")
    if m["interrupted"]:
        print(
            f"micrograd: interrupted after {m['steps_done']} of {m['steps']} steps; continue "
            f"with: micrograd train --resume {out}",
            file=sys.stderr,
        )
        return 130
    return 0


def _outputs(folder: str) -> list[str]:
    from micrograd.cli.runfolder import RUN_FILES

    return [n for n in RUN_FILES if os.path.exists(os.path.join(folder, n))]


def _run_predict(args: argparse.Namespace) -> int:
    return guarded(lambda: _predict(args))


def _predict(args: argparse.Namespace) -> int:
    import csv
    import io

    from micrograd._files import atomic_write, check_writable_file
    from micrograd.cli.predict import load_for_prediction, predict_table

    if args.out is not None:  # fail before the work, not after it
        check_writable_file(args.out)
        for flag, given in (("--model", args.model), ("--data", args.data)):
            both = os.path.exists(given) and os.path.exists(args.out)
            if both and os.path.samefile(given, args.out):
                raise ValueError(f"--out {args.out} would overwrite the {flag} file")
    saved = load_for_prediction(args.model)
    header, rows, summary = predict_table(saved, args.data, label=args.label, proba=args.proba)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if args.out is not None:
        atomic_write(args.out, buf.getvalue().encode())
        print(f"{summary}; wrote {args.out}")
    else:
        sys.stdout.write(buf.getvalue())
        print(summary, file=sys.stderr)
    return 0


def _run_data(args: argparse.Namespace) -> int:
    def job() -> int:
        from micrograd._files import check_writable_file
        from micrograd.data import generate, save_csv

        check_writable_file(args.out)
        X, y, names = generate(args.name, args.samples, args.noise, args.seed)
        save_csv(args.out, X, y, names)
        shown = ", ".join(names) if len(names) <= 3 else f"{names[0]} .. {names[-1]}"
        print(f"wrote {args.out}: {len(X)} rows, columns {shown}, label")
        return 0

    return guarded(job)
