"""Saving and loading a trained model: its architecture and its parameters in one JSON file.

    save_model(model, "model.json", metadata={"loss": "hinge"})
    model = load_model("model.json")
    model, metadata = load_checkpoint("model.json")

The file (format "micrograd-model", version 1) holds `model.config()` (the architecture, which
`from_config` rebuilds), the parameters in `named_parameters()` order with their names, and any
JSON-able metadata. Scalar parameters are plain numbers; tensor parameters are nested lists with
their shape and dtype. Floats are written with `repr` precision, so a reloaded model computes
exactly the same numbers.

Writing is atomic (`atomic_write`, from micrograd/_files.py): the file is first written to a
temporary file in the same folder, then moved over the target with `os.replace`, so a failed save
never leaves a broken or partial file and an existing file stays intact. Loading checks everything
(format, version, architecture, names, shapes, finite numbers) and raises a ValueError naming the
file and what is wrong; a file from elsewhere is checked before anything is built (nesting depth,
float64-sized numbers, dtypes, and the architecture's size against the parameters the file lists),
so a crafted file fails fast in bounded memory. Loading leaves the global `random` state (and
numpy's) as it was, although rebuilding the architecture draws weights from it.

Standard library only (numpy is imported only for tensor models). The training job
(`micrograd/cli/train.py`) uses this.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import random
import re
from typing import Any

from micrograd._distribution import install_hint
from micrograd._files import atomic_write, check_writable_file

__all__ = [
    "FORMAT",
    "VERSION",
    "atomic_write",
    "check_writable_file",
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

    The file is checked before anything is built, so that a crafted file fails fast and in
    bounded memory: nesting no deeper than `MAX_DEPTH`; every number a finite float64 (no
    `1e999`, `NaN` or 400-digit integer); tensor dtypes float32 or float64; and the number of
    values the architecture needs equal to the number the file holds (a model file lists every
    parameter, so a `"nouts": [10000, 10000, 1]` in a small file is refused, not allocated).
    """
    path = os.fspath(path)

    def bad(problem: str) -> ValueError:
        return ValueError(f"{path}: {problem}")

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except IsADirectoryError:
        inside = os.path.join(path, "model.json")
        hint = f"; a training run's model is {inside}" if os.path.isfile(inside) else ""
        raise bad(f"is a folder, not a model file{hint}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not a micrograd model file (not UTF-8 text)") from None
    if not text.strip():
        raise bad("the file is empty, not a micrograd model file")
    document = _parse_json(text, bad)
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
    where = _find_unrepresentable(metadata)
    if where:
        raise bad(f"corrupt model file: metadata {where}")
    if engine == "scalar":
        from micrograd.nn import from_config
    elif engine == "tensor":
        try:
            from micrograd.tensor.nn import from_config
        except ImportError as e:
            raise bad(
                f"a tensor-engine model needs numpy ({install_hint('tensor')}): {e}"
            ) from None
    else:
        raise bad(f"corrupt model file: unknown engine {engine!r}")

    # Everything the file holds is checked against the architecture's sizes before it is built.
    saved = _saved_parameters(document["parameters"], engine, bad)
    architecture = document["architecture"]
    try:
        needed = architecture_size(architecture)
    except ValueError as e:
        raise bad(f"bad architecture: {e}") from None
    held = sum(len(values) for _, _, values in saved)
    if needed != held:
        shown = f"{needed:,}" if needed < 10**18 else "more than 10^18"
        raise bad(
            f"corrupt model file: the architecture has {shown} parameters but the file "
            f"holds {held:,} (a model file lists every parameter)"
        )
    model = _build(from_config, architecture, engine, bad)
    _set_parameters(model, saved, engine, bad)
    return model, metadata


# A model file nests: document > "parameters" > one entry > a tensor's nested lists (one level per
# dimension). Deeper JSON is refused before it is parsed: Python's parser recurses once per
# level and a crafted `[[[[...` would end in a RecursionError.
MAX_DEPTH = 32

# The only dtypes a saved tensor may declare (a dtype such as "S2000000000" would make numpy
# allocate gigabytes per element).
FLOAT_DTYPES = ("float32", "float64")

# A string (skipped whole, so brackets inside names do not count) or one bracket.
_BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _parse_json(text: str, bad) -> Any:
    depth = 0
    for match in _BRACKETS.finditer(text):
        c = match.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise bad(
                    f"not a micrograd model file (JSON nested more than {MAX_DEPTH} levels deep)"
                )
        elif c in "]}":
            depth -= 1
    try:
        return json.loads(
            text,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_Unrepresentable,
        )
    except json.JSONDecodeError as e:
        where = f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        if f'"format": "{FORMAT}"' in text[:200]:
            # Our header, but broken JSON: a cut-off write (ours end with "}") or an edit.
            if not text.rstrip().endswith("}"):
                raise bad(f"the model file is truncated ({where})") from None
            raise bad(f"the model file is corrupt ({where})") from None
        raise bad(f"not a micrograd model file ({where})") from None
    except (ValueError, RecursionError) as e:
        raise bad(f"corrupt model file: {e}") from None


class _Unrepresentable:
    """A number in the file that is not a finite float64 (`1e999`, `NaN`, `Infinity`, a 400-digit
    integer). The parser keeps its text in place of the value, so that the error can name the
    parameter or entry that holds it."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text if len(text) <= 24 else f"{text[:12]}...({len(text)} characters)"

    def __repr__(self) -> str:
        return self.text


# Integers longer than this are beyond float64's range (1.8e308); parsing one costs time
# quadratic in its length, so such a text is refused before int() sees it.
_MAX_INT_DIGITS = 309


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Unrepresentable(text)


def _parse_int(text: str) -> Any:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _Unrepresentable(text)
    value = int(text)
    return value if abs(value) <= _FLOAT_MAX else _Unrepresentable(text)


_FLOAT_MAX = 1.7976931348623157e308


def _find_unrepresentable(value: Any, where: str = "") -> str:
    """Where in `value` (a parsed JSON tree) a non-float64 number sits, as text; '' if nowhere."""
    stack = [(value, where)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, _Unrepresentable):
            return f"entry {where or 'value'} is {value}, not a finite float64 number"
        if isinstance(value, dict):
            stack.extend((v, f"{where}[{k!r}]") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return ""


def architecture_size(cfg: Any) -> int:
    """The number of parameter values (scalars) the architecture `cfg` (a `model.config()`)
    describes, computed from its sizes without building anything. Raises ValueError for sizes
    that are not whole numbers >= 1 or a model type it does not know."""
    if not isinstance(cfg, dict):
        raise ValueError(f"expected an object, got {_json_type(cfg)}")  # noqa: TRY004 (bad data)
    kind = cfg.get("type")

    def size(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key!r} must be a whole number >= 1, got {value!r}")
        return value

    bias = 0 if cfg.get("bias", True) is False else 1  # tensor layers may have no bias
    if kind == "MLP":
        nouts = cfg.get("nouts")
        if not isinstance(nouts, list) or not nouts:
            raise ValueError(f"'nouts' must be a non-empty list of layer sizes, got {nouts!r}")
        sizes = [size(cfg.get("nin"), "nin")]
        sizes += [size(n, f"nouts[{i}]") for i, n in enumerate(nouts)]
        return sum((fan_in + bias) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))
    if kind in ("Layer", "Linear"):
        return (size(cfg.get("nin"), "nin") + bias) * size(cfg.get("nout"), "nout")
    if kind == "Neuron":
        return size(cfg.get("nin"), "nin") + 1
    raise ValueError(f"unknown model type {kind!r}; expected one of MLP, Layer, Neuron, Linear")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else repr(value))


def _saved_parameters(saved: Any, engine: str, bad) -> list[tuple[str, list, list]]:
    """`(name, shape, values)` for every parameter entry of the file, checked: a name, finite
    float64 numbers, and for tensors a regular nested list of the declared shape and dtype."""
    if not isinstance(saved, list):
        raise bad(f"corrupt model file: 'parameters' is {_json_type(saved)}, not a list")
    out = []
    for i, entry in enumerate(saved):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise bad(f"corrupt model file: parameter {i} has no name")
        name = entry["name"]
        data = entry.get("data")
        if engine == "tensor":
            dtype = entry.get("dtype")
            if dtype not in FLOAT_DTYPES:
                raise bad(
                    f"corrupt model file: parameter {name!r} has dtype {dtype!r}; a model file "
                    f"holds {' or '.join(FLOAT_DTYPES)}"
                )
            shape, values = _nested_shape(data, name, bad)
            if entry.get("shape") != shape:
                raise bad(
                    f"corrupt model file: parameter {name!r} declares shape "
                    f"{entry.get('shape')!r} but its data has shape {shape}"
                )
        else:
            shape, values = [], [data]
        for v in values:
            if isinstance(v, _Unrepresentable):
                raise bad(
                    f"corrupt model file: parameter {name!r} holds {v}, not a finite float64 number"
                )
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise bad(f"corrupt model file: parameter {name!r} is {v!r}, not a number")
        out.append((name, shape, values))
    return out


def _nested_shape(data: Any, name: str, bad) -> tuple[list[int], list]:
    """The shape of a nested list (a tensor's `tolist()`) and its values in order, level by level
    without recursion; an error if its rows have different lengths."""
    shape: list[int] = []
    level = [data]
    while level and isinstance(level[0], list):
        n = len(level[0])
        if any(not isinstance(row, list) or len(row) != n for row in level):
            raise bad(f"corrupt model file: parameter {name!r} has rows of different lengths")
        shape.append(n)
        level = [v for row in level for v in row]
    if any(isinstance(v, list) for v in level):
        raise bad(f"corrupt model file: parameter {name!r} has rows of different lengths")
    return shape, level


def _build(from_config, architecture: dict, engine: str, bad) -> Any:
    """A fresh model of the architecture, leaving the global random state(s) as they were
    (building it draws throw-away weights from `random`, or from numpy's global generator)."""
    state = random.getstate()
    np_state = None
    if engine == "tensor":
        import numpy as np

        np_state = np.random.get_state()
    try:
        return from_config(architecture)
    except (TypeError, ValueError) as e:
        raise bad(f"bad architecture: {e}") from None
    finally:
        random.setstate(state)
        if np_state is not None:
            np.random.set_state(np_state)


def _set_parameters(model: Any, saved: list, engine: str, bad) -> None:
    """Check every saved parameter against the model first, then copy them in."""
    named = list(model.named_parameters())
    if len(saved) != len(named):
        raise bad(
            f"corrupt model file: {len(saved)} parameters saved, the architecture has {len(named)}"
        )
    values = []
    for i, ((name, p), (saved_name, shape, data)) in enumerate(zip(named, saved)):
        if saved_name != name:
            raise bad(f"corrupt model file: parameter {i} is {saved_name!r}, expected {name!r}")
        if engine == "tensor":
            values.append(_tensor_value(name, p, shape, data, bad))
        else:
            values.append(data[0])
    for (_, p), value in zip(named, values):
        p.data = value


def _tensor_value(name: str, p: Any, shape: list, data: list, bad) -> Any:
    import numpy as np

    needed = list(p.data.shape)
    if shape != needed:
        raise bad(
            f"corrupt model file: parameter {name!r} has shape {shape}, the architecture needs "
            f"{needed}"
        )
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf: refused
        value = np.array(data, dtype=np.float64).reshape(shape).astype(p.data.dtype)
    if not np.isfinite(value).all():
        raise bad(f"corrupt model file: parameter {name!r} has values beyond {p.data.dtype}")
    return value
