"""Saving and loading a trained model: its architecture and its parameters in one JSON file.

    save_model(model, "model.json", metadata={"loss": "hinge"})
    model = load_model("model.json")
    model, metadata = load_checkpoint("model.json")

The file (format "micrograd-model", version 1) holds `model.config()` (the architecture, which
`from_config` rebuilds), the parameters in `named_parameters()` order with their names, and any
JSON-able metadata. Scalar parameters are plain numbers; tensor parameters are nested lists with
their shape and dtype. Floats are written with `repr` precision, so a reloaded model computes
exactly the same numbers.

Writing is atomic: the file is first written to a temporary file in the same folder, then moved
over the target with `os.replace`, so a failed save never leaves a broken or partial file and
an existing file stays intact. Loading checks everything (format, version, architecture, names,
shapes, finite numbers) and raises a ValueError naming the file and what is wrong; it leaves the
global `random` state as it was, although rebuilding the architecture draws weights from it.

Standard library only (numpy is imported only for tensor models). `micrograd/train.py` uses this.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import tempfile
from typing import Any

__all__ = [
    "FORMAT",
    "VERSION",
    "atomic_write",
    "load_checkpoint",
    "load_model",
    "model_to_json",
    "save_model",
]

FORMAT = "micrograd-model"
VERSION = 1


def _is_tensor(data: Any) -> bool:
    return hasattr(data, "shape") and hasattr(data, "dtype") and hasattr(data, "tolist")


def model_to_json(model: Any, metadata: dict | None = None) -> str:
    """The file's text for `model` (what `save_model` writes). Raises ValueError, before anything
    is written, if a parameter is not a finite number or the metadata is not JSON-able."""
    if not hasattr(model, "config") or not hasattr(model, "named_parameters"):
        raise TypeError(
            f"save_model: expected a micrograd model with config() and named_parameters(), "
            f"got {type(model).__name__}"
        )
    named = list(model.named_parameters())
    engine = "tensor" if named and _is_tensor(named[0][1].data) else "scalar"
    parameters = []
    for name, p in named:
        data = p.data
        if engine == "tensor":
            values = data.tolist()
            if not all(math.isfinite(v) for v in data.reshape(-1).tolist()):
                raise ValueError(f"save_model: parameter {name!r} has NaN or infinite values")
            parameters.append(
                {"name": name, "shape": list(data.shape), "dtype": str(data.dtype), "data": values}
            )
        else:
            if isinstance(data, bool) or not isinstance(data, numbers.Real):
                raise ValueError(f"save_model: parameter {name!r} is {data!r}, not a number")
            value = data if isinstance(data, int) else float(data)
            if not math.isfinite(value):
                raise ValueError(f"save_model: parameter {name!r} is {value}, not a finite number")
            parameters.append({"name": name, "data": value})
    document = {
        "format": FORMAT,
        "version": VERSION,
        "engine": engine,
        "architecture": model.config(),
        "parameters": parameters,
        "metadata": metadata or {},
    }
    try:
        return json.dumps(document, indent=1, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"save_model: the metadata or architecture is not JSON-able: {e}"
        ) from None


def atomic_write(path: str | os.PathLike, content: bytes) -> None:
    """Write `content` to `path` so that readers see either the old file or the whole new one.

    The bytes go to a temporary file in the same folder (same file system, so that `os.replace`
    is an atomic rename), are flushed to disk, then the temporary file replaces `path`. On any
    failure the temporary file is removed and `path` is untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                # mkstemp makes the file private (0600); give it the mode a plain open() would.
                umask = os.umask(0)
                os.umask(umask)
                os.fchmod(f.fileno(), 0o666 & ~umask)
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def save_model(model: Any, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write `model` (architecture + parameters) and `metadata` to `path`, atomically."""
    atomic_write(path, model_to_json(model, metadata).encode("utf-8"))


def load_model(path: str | os.PathLike) -> Any:
    """The model saved in `path`, with its trained parameters."""
    return load_checkpoint(path)[0]


def load_checkpoint(path: str | os.PathLike) -> tuple[Any, dict]:
    """`(model, metadata)` from a file written by `save_model`.

    Raises ValueError naming the file and the problem for a file that is not a model file, is
    truncated or corrupt, or has another format version; OSError if it cannot be read.
    """
    path = os.fspath(path)

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except IsADirectoryError:
        raise bad("is a folder, not a model file") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not a micrograd model file (not UTF-8 text)") from None
    if not text.strip():
        raise bad("the file is empty, not a micrograd model file")
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as e:
        where = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        if f'"format": "{FORMAT}"' in text[:200]:
            # Our header, but broken JSON: a cut-off write (ours end with "}") or an edit.
            if not text.rstrip().endswith("}"):
                raise bad(f"the model file is truncated ({where})") from None
            raise bad(f"the model file is corrupt ({where})") from None
        raise bad(f"not a micrograd model file ({where})") from None
    except ValueError as e:
        raise bad(f"corrupt model file: {e}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise bad(f'not a micrograd model file (no "format": "{FORMAT}" entry)')
    version = document.get("version")
    if version != VERSION:
        raise bad(f"model file format version {version!r}; this micrograd reads version {VERSION}")
    for key in ("engine", "architecture", "parameters"):
        if key not in document:
            raise bad(f"corrupt model file: the {key!r} entry is missing")
    engine = document["engine"]
    metadata = document.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise bad("corrupt model file: 'metadata' is not an object")
    if engine == "scalar":
        from micrograd.nn import from_config
    elif engine == "tensor":
        try:
            from micrograd.tensor.nn import from_config
        except ImportError as e:
            raise bad(
                f"a tensor-engine model needs numpy (pip install 'micrograd-plus[tensor]'): {e}"
            )
    else:
        raise bad(f"corrupt model file: unknown engine {engine!r}")

    # Rebuilding the architecture draws (throw-away) weights from `random`: keep its state.
    state = random.getstate()
    try:
        model = from_config(document["architecture"])
    except (TypeError, ValueError) as e:
        raise bad(f"bad architecture: {e}") from None
    finally:
        random.setstate(state)
    _set_parameters(model, document["parameters"], engine, bad)
    return model, metadata


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _set_parameters(model: Any, saved: Any, engine: str, bad) -> None:
    """Check every saved parameter against the model first, then copy them in."""
    named = list(model.named_parameters())
    if not isinstance(saved, list) or len(saved) != len(named):
        n = len(saved) if isinstance(saved, list) else "no list of"
        raise bad(f"corrupt model file: {n} parameters saved, the architecture has {len(named)}")
    values = []
    for i, ((name, p), entry) in enumerate(zip(named, saved)):
        if not isinstance(entry, dict) or entry.get("name") != name:
            got = entry.get("name") if isinstance(entry, dict) else entry
            raise bad(f"corrupt model file: parameter {i} is {got!r}, expected {name!r}")
        data = entry.get("data")
        if engine == "tensor":
            values.append(_tensor_value(name, p, entry, bad))
        else:
            if isinstance(data, bool) or not isinstance(data, (int, float)):
                raise bad(f"corrupt model file: parameter {name!r} is {data!r}, not a number")
            values.append(data)
    for (_, p), value in zip(named, values):
        p.data = value


def _tensor_value(name: str, p: Any, entry: dict, bad) -> Any:
    import numpy as np

    try:
        dtype = np.dtype(entry.get("dtype"))
        value = np.array(entry.get("data"), dtype=dtype)
    except (TypeError, ValueError) as e:
        raise bad(f"corrupt model file: parameter {name!r}: {e}") from None
    if list(value.shape) != list(entry.get("shape", [])) or value.shape != p.data.shape:
        raise bad(
            f"corrupt model file: parameter {name!r} has shape {list(value.shape)}, the "
            f"architecture needs {list(p.data.shape)}"
        )
    if dtype.kind != "f" or not np.isfinite(value).all():
        raise bad(f"corrupt model file: parameter {name!r} is not finite floats ({dtype})")
    return value
