"""The state that lets an interrupted training run continue exactly where it stopped
(`micrograd train --resume RUN`): the file `resume.json` of an interrupted run's folder.

It holds what the model file does not: the optimizer's state (momentum buffers, Adam's moments
and step counts), the learning-rate schedule's position, the number of steps done, and a
fingerprint of the training data, plus the parameters themselves (so that the file is complete
on its own). The order of the mini-batches is a function of the seed and the step number (see
`micrograd.cli.train._batch_stream`), and nothing else in a step draws random numbers, so this is
all it takes for a resumed run to compute, float for float, what the uninterrupted run would
have computed: floats are written with `repr` precision and read back unchanged.

Standard library only (numpy is imported only for tensor-engine state). Used by
`micrograd/cli/train.py`.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from typing import Any

__all__ = ["FORMAT", "VERSION", "data_fingerprint", "load_state", "state_to_json"]

FORMAT = "micrograd-resume"
VERSION = 1


def data_fingerprint(X: list, y: list) -> str:
    """A hash of the training rows and targets, to refuse resuming on other data."""
    h = hashlib.sha256()
    for row, target in zip(X, y):
        h.update(repr((list(row), target)).encode())
    h.update(str(len(X)).encode())
    return h.hexdigest()


def _encode(value: Any) -> Any:
    """A parameter or optimizer state entry as JSON: numbers as they are, arrays with their
    dtype and shape, lists and tuples entry by entry."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "data": value.tolist()}
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    raise TypeError(f"resume state: cannot save a {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"dtype", "shape", "data"}:
        import numpy as np

        array = np.array(value["data"], dtype=np.dtype(value["dtype"]))
        if list(array.shape) != list(value["shape"]):
            raise ValueError(f"an array of shape {list(array.shape)}, saved as {value['shape']}")
        return array
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def state_to_json(
    step: int, schedule_step: int, model: Any, optimizer: Any, fingerprint: str
) -> str:
    """The text of `resume.json` after `step` completed steps."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "step": step,
        "schedule_step": schedule_step,
        "data_fingerprint": fingerprint,
        "parameters": [[name, _encode(p.data)] for name, p in model.named_parameters()],
        "optimizer": _encode(optimizer.state_dict()),
    }
    return json.dumps(document, allow_nan=False) + "\n"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def load_state(text: str, model: Any, optimizer: Any, where: str) -> dict:
    """Check `resume.json`'s text against the freshly built `model` and `optimizer`, then load
    the parameters and optimizer state into them. Returns `{"step", "schedule_step",
    "data_fingerprint"}`. Raises ValueError naming `where` (the file) on any problem, before
    changing anything."""

    def bad(problem: str) -> ValueError:
        return ValueError(f"{where}: {problem}")

    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as e:
        raise bad(f"not a readable resume file ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise bad(f'not a micrograd resume file (no "format": "{FORMAT}" entry)')
    if doc.get("version") != VERSION:
        raise bad(f"resume file version {doc.get('version')!r}; this micrograd reads {VERSION}")
    step, schedule_step = doc.get("step"), doc.get("schedule_step")
    for name, v in (("step", step), ("schedule_step", schedule_step)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise bad(f"{name!r} must be a whole number >= 0, got {v!r}")
    named = model.named_parameters()
    saved = doc.get("parameters")
    names = [e[0] if isinstance(e, list) and len(e) == 2 else None for e in saved or []]
    if not isinstance(saved, list) or names != [n for n, _ in named]:
        raise bad("the saved parameters do not match the run's model architecture")
    try:
        values = {name: _decode(value) for name, value in saved}
        state = _decode(doc.get("optimizer"))
        snapshot = model.state_dict()
        model.load_state_dict(values)
        try:
            optimizer.load_state_dict(state)
        except ValueError:
            model.load_state_dict(snapshot)
            raise
    except (TypeError, ValueError) as e:
        raise bad(str(e)) from None
    return {
        "step": step,
        "schedule_step": schedule_step,
        "data_fingerprint": doc.get("data_fingerprint"),
    }
