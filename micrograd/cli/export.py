"""The `micrograd export` command: a saved model to ONNX or to a PyTorch state dict.

    micrograd export runs/latest/model.json --to model.onnx
    micrograd export runs/latest/model.json --to model.onnx --dtype float32
    micrograd export runs/latest/model.json -o model.pt     # -o, --out, --output: as --to

The format follows the extension:

* `.onnx`: the ONNX graph of `micrograd.export.to_onnx` (input 'input' of shape (batch, nin),
  output 'output'); needs the `onnx` package only.
* `.pt` / `.pth`: `torch.save(to_torch(model).state_dict())`, the usual PyTorch checkpoint. It
  loads with `torch.load(path, weights_only=True)` (no pickled code runs) into the
  `torch.nn.Sequential` the command prints. Not TorchScript: `torch.jit.save`/`load` are
  deprecated in torch 2.13 and warn on every call.

`--dtype float32|float64` sets the float type of the weights, the input and the output (default:
the model's own). The model file is read before torch or onnx is imported (that takes seconds),
so a missing or broken file is reported at once. A model trained on standardized features
(`micrograd train`'s default for some data sets) is exported as it is, taking standardized
inputs: the command says so, and the mean and deviation are in model.json's metadata.

Like the other commands: the destination is checked before any work, the file is written
atomically (temporary file + rename, nothing partial), and an error is one line on stderr with
exit code 2 (usage: unknown extension) or 1 (bad model file, missing package, unwritable
destination). `micrograd/export/` does the conversion.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from micrograd._distribution import install_hint

__all__ = ["FORMATS", "add_subparser"]

# Extension -> what is written there.
FORMATS = {".onnx": "onnx", ".pt": "torch", ".pth": "torch"}


def _destination(text: str) -> str:
    ext = os.path.splitext(text)[1].lower()
    if ext not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"cannot tell the format of {text!r} from its extension {ext or '(none)'!r}: "
            f"use .onnx (ONNX graph) or .pt (PyTorch state dict)"
        )
    return text


def add_subparser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `export` on the `micrograd` command's subparsers (handler: `args.func(args)`)."""
    from micrograd.export import ONNX_OPSET

    parser = subparsers.add_parser(
        "export",
        help="convert a saved model to ONNX (.onnx) or a PyTorch state dict (.pt)",
        description=(
            "Convert a model saved by 'micrograd train' (model.json) for PyTorch or an ONNX "
            "runtime, with the same weights. .onnx writes an ONNX graph with a dynamic batch "
            "dimension; .pt writes torch.save(state_dict) of a torch.nn.Sequential of Linear "
            "and activation layers, which the command prints. Needs "
            f"{install_hint('export')}."
        ),
        epilog="example:  micrograd export runs/latest/model.json --to model.onnx",
    )
    parser.add_argument("model", help="a model.json written by 'micrograd train' or save_model")
    parser.add_argument(
        "--to",
        "-o",
        "--out",
        "--output",
        dest="to",
        required=True,
        type=_destination,
        metavar="PATH",
        help="the file to write; its extension picks the format: .onnx or .pt/.pth",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default=None,
        help="the float type of the weights and of the input and output (default: the "
        "model's own: float64 for a scalar-engine model, which loses nothing; float32 halves "
        "the file and is what most ONNX runtimes and GPUs run fastest)",
    )
    parser.add_argument(
        "--opset",
        type=int,
        default=ONNX_OPSET,
        help=f"ONNX operator set version, 13 or newer (.onnx only; default {ONNX_OPSET})",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from micrograd.cli.errors import guarded

    return guarded(lambda: _export(args))


def _export(args: argparse.Namespace) -> int:
    import io

    from micrograd import export
    from micrograd._files import atomic_write
    from micrograd.serialize import load_checkpoint

    destination = args.to
    _check_destination(destination)  # before any work
    kind = FORMATS[os.path.splitext(destination)[1].lower()]
    # The model file is read before torch or onnx is imported (seconds): a missing or bad file
    # is reported at once.
    model, metadata = load_checkpoint(args.model)
    export._require("onnx" if kind == "onnx" else "torch")  # the install hint
    if kind == "onnx":
        content = export.onnx_model(model, args.opset, dtype=args.dtype).SerializeToString()
        from micrograd.export.onnx import model_layers

        dtype = args.dtype or model_layers(model)[1]
        what = f"ONNX graph, opset {args.opset}, input 'input' (batch, {_nin(model)}), {dtype}"
    else:
        import torch

        module = export.to_torch(model)
        if args.dtype is not None:
            module = module.to(getattr(torch, args.dtype))
        buffer = io.BytesIO()
        torch.save(module.state_dict(), buffer)
        content = buffer.getvalue()
        layers = ", ".join(_short(m) for m in module)
        dtype = str(next(module.parameters()).dtype).replace("torch.", "")
        what = f"state dict of torch.nn.Sequential({layers}), {dtype}"
    atomic_write(destination, content)
    print(f"wrote {destination} ({what})")
    if isinstance(metadata.get("standardize"), dict):
        print(
            f"micrograd: note: this model was trained on standardized features: feed it "
            f"(x - mean) / std, with the mean and std of metadata 'standardize' in {args.model}",
            file=sys.stderr,
        )
    return 0


def _check_destination(destination: str) -> None:
    """Raise OSError unless a file can be created at `destination` (its folder must exist:
    unlike `train --out`, this writes one file and makes no folders)."""
    import tempfile

    if os.path.isdir(destination):
        raise OSError(f"cannot write {destination!r}: it is a folder")
    folder = os.path.dirname(os.path.abspath(destination))
    if not os.path.isdir(folder):
        problem = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise OSError(f"cannot write {destination!r}: the folder {folder!r} {problem}")
    try:  # a probe, since os.access says yes to root everywhere
        fd, probe = tempfile.mkstemp(prefix=".micrograd-probe-", dir=folder)
    except OSError as e:
        raise OSError(f"cannot write {destination!r}: {e.strerror or e}") from None
    os.close(fd)
    os.remove(probe)


def _nin(model: Any) -> int:
    return int(model.config()["nin"])


def _short(module: Any) -> str:
    """`Linear(2, 16)` for torch's `Linear(in_features=2, out_features=16, bias=True)`."""
    if type(module).__name__ == "Linear":
        bias = "" if module.bias is not None else ", bias=False"
        return f"Linear({module.in_features}, {module.out_features}{bias})"
    return f"{type(module).__name__}()"
