"""The `micrograd` command-line application: the top room of the package.

It imports the library (`micrograd.engine`, `nn`, `losses`, `optim`, `data`, `serialize`), the
tensor engine and the bridges (`micrograd.viz`, `micrograd.export`); nothing outside this folder
imports it. `main` (the console script `micrograd`, and `python -m micrograd`) is in:

    command.py     the parser and `main`: flags become calls; `train`, `predict`, `data`
    errors.py      exit codes, one-line errors, Ctrl-C: how every subcommand ends
    train.py       the `train` job: data, model, loop, outputs (`TrainConfig`, `run`, `resume`)
    predict.py     the `predict` job: a saved model scores a CSV file
    graph.py       the `graph` subcommand: draw or animate an expression's graph
    export.py      the `export` subcommand: a saved model to ONNX or a PyTorch state dict
    runfolder.py   the run folder: outputs replace the previous run as one set
    resume.py      the state an interrupted run continues from
    memory.py      the memory a job will need, checked before it starts
    plots.py       the decision-boundary and learning-curve pictures

These modules were first at the package's top level (`micrograd.train`, `micrograd.viz_cli`, ...);
those paths still work and are the same modules.
"""

from micrograd.cli.command import FAILED, USAGE_ERROR, build_parser, main  # noqa: F401 (exit codes)

__all__ = ["build_parser", "main"]
