"""Every compiled micrograd.tensor kernel has its numpy (or pure-Python) twin and a test comparing
the two: a table of setup.py's KERNELS, so a kernel cannot be added without them.

For each entry: the twin module picks the compiled module when it is built (and MICROGRAD_PURE is
unset), runs without it under MICROGRAD_PURE=1 (in a child process: the switch is read when the
modules load, and there no compiled kernel may be loaded at all), a call through the public API
works on both, and the named test files exist and name both the kernel and its twin. The
compiled `SlotAttribute` (`_cattrs`, behind Tensor.data and Tensor.requires_grad) has no numpy
path to replay, so its comparison with the pure-Python one is here.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")

ROOT = Path(__file__).resolve().parents[1]


def setup_kernels() -> list[str]:
    """The module names of setup.py's KERNELS table (read, not run: setup.py calls setup())."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "KERNELS" for t in node.targets
        ):
            return [entry.elts[0].value for entry in node.value.elts]
    raise AssertionError("setup.py has no KERNELS table")


def _cattrs_in_use(core) -> str | None:
    return None if core._SlotAttribute is core._PySlotAttribute else core._SlotAttribute.__module__


def _module_name(value) -> str | None:
    return None if value is None else value.__name__


# compiled module -> (its twin's module, what the twin runs: the compiled module's name or None,
# a call through the public API that reaches it, the test files comparing the two)
TWINS = {
    "micrograd.tensor._cattrs": (
        "micrograd.tensor.core",
        _cattrs_in_use,
        "t = mt.ones(2); t.data = np.zeros(2, np.float32); t.requires_grad = True; t.data.sum()",
        ["tests/test_tensor_kernels_twins.py"],
    ),
    "micrograd.tensor.optim._coptim": (
        "micrograd.tensor.optim._kernels",
        lambda m: _module_name(m.compiled),
        "p = mt.nn.Parameter(mt.ones(3)); o = mt.optim.AdamW([p]); p.grad = mt.ones(3); o.step()",
        ["tests/test_optim_compiled.py"],
    ),
    "micrograd.tensor.nn._clayernorm": (
        "micrograd.tensor.nn._layernorm",
        lambda m: _module_name(m._C),
        "F.layer_norm(mt.randn(4, 8, requires_grad=True), (8,)).sum().backward()",
        ["tests/test_torchdiff_layernorm_bitwise.py"],
    ),
    "micrograd.tensor._cmath32": (
        "micrograd.tensor._math32",
        lambda m: _module_name(m._compiled),
        "F.gelu(mt.tanh(mt.randn(4, 8, requires_grad=True)), approximate='tanh').sum().backward()",
        ["tests/test_torchdiff_math32.py"],
    ),
    "micrograd.tensor._csoftmax": (
        "micrograd.tensor._softmax32",
        lambda m: _module_name(m._csoftmax),
        "F.cross_entropy(mt.randn(4, 8, requires_grad=True), mt.tensor([1, 2, 3, 0])).backward()",
        ["tests/test_csoftmax.py"],
    ),
    "micrograd.tensor._creduce": (
        "micrograd.tensor._reduce",
        lambda m: _module_name(m._ccore),
        "mt.randn(40, 900).sum(0).mean()",
        ["tests/test_torchdiff_sum_bitwise.py"],
    ),
    "micrograd.tensor.nn._cattention": (
        "micrograd.tensor.nn._flash32",
        lambda m: _module_name(m.compiled),
        (
            "q = mt.randn(1, 2, 5, 4, requires_grad=True); "
            "F.scaled_dot_product_attention(q, q, q, is_causal=True).sum().backward()"
        ),
        ["tests/test_torchdiff_attention.py"],
    ),
}


def _built(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def test_the_kernels_table_is_read():
    kernels = setup_kernels()
    assert "micrograd.tensor._cmath32" in kernels and len(kernels) >= 6


@pytest.mark.parametrize("kernel", setup_kernels())
def test_every_kernel_has_a_twin_and_a_test_comparing_them(kernel):
    assert kernel in TWINS, (
        f"{kernel} is in setup.py's KERNELS but not in this file's TWINS: give it a numpy twin "
        f"that runs under MICROGRAD_PURE=1 and a test comparing the two, and list them here"
    )
    twin, _, _, test_files = TWINS[kernel]
    assert importlib.util.find_spec(twin) is not None, twin
    for test_file in test_files:
        text = (ROOT / test_file).read_text()
        for name in (kernel.rsplit(".", 1)[1], twin.rsplit(".", 1)[1]):
            assert name in text, f"{test_file} never names {name}"


@pytest.mark.parametrize("kernel", setup_kernels())
def test_the_twin_runs_the_compiled_kernel_unless_micrograd_pure_is_set(kernel):
    assert _built(kernel), f"{kernel} is not built (python setup.py build_ext --inplace)"
    twin, in_use, _, _ = TWINS[kernel]
    pure = os.environ.get("MICROGRAD_PURE", "") not in ("", "0")
    assert in_use(importlib.import_module(twin)) == (None if pure else kernel)


def _run_in_child(pure: bool) -> dict:
    code = f"""
import json, sys
import numpy as np
import micrograd.tensor as mt
import micrograd.tensor.nn.functional as F
sys.path.insert(0, {str(ROOT / "tests")!r})
import importlib
import test_tensor_kernels_twins as t

found = {{}}
for kernel in t.setup_kernels():
    twin, in_use, call, _ = t.TWINS[kernel]
    exec(call, {{"mt": mt, "F": F, "np": np}})
    found[kernel] = in_use(importlib.import_module(twin))
loaded = sorted(k for k in t.setup_kernels() if k in sys.modules)
print(json.dumps({{"in_use": found, "loaded": loaded}}))
"""
    env = dict(os.environ)
    env.pop("MICROGRAD_PURE", None)
    if pure:
        env["MICROGRAD_PURE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_every_twin_runs_alone_under_micrograd_pure():
    """The public calls work with MICROGRAD_PURE=1, each twin runs its own path, and no compiled
    kernel is even loaded."""
    result = _run_in_child(pure=True)
    assert result["in_use"] == {kernel: None for kernel in setup_kernels()}
    assert result["loaded"] == []


def test_the_same_calls_run_the_compiled_kernels():
    result = _run_in_child(pure=False)
    assert result["in_use"] == {kernel: kernel for kernel in setup_kernels()}


# -- _cattrs: the compiled SlotAttribute against the pure-Python one ------------------------------


def _descriptor_outcomes(make) -> list:
    """What a SlotAttribute does, step by step, on a class of its own: reads of an unset and a
    set slot, checked and unchecked assignments, a refused one, deletion, class access and an
    instance of another class."""

    class Holder:
        __slots__ = ("_hidden",)

    log = []

    def checker(obj, value):
        log.append(value)
        if value == "bad":
            raise ValueError("refused")
        return ("checked", value)

    same = object()
    Holder.public = make(Holder.__dict__["_hidden"], "public", checker, True)
    h = Holder()
    outcomes = []

    def step(action):
        try:
            outcomes.append(("ok", action()))
        except Exception as e:  # noqa: BLE001 -- the exception's type is what is compared
            outcomes.append(("raises", type(e).__name__))

    step(lambda: h.public)
    step(lambda: setattr(h, "public", 1))
    step(lambda: h.public)
    step(lambda: setattr(h, "public", "bad"))
    step(lambda: h.public)
    h._hidden = same
    step(lambda: setattr(h, "public", same))  # the value already there: stored unchecked
    step(lambda: h.public is same)
    step(lambda: delattr(h, "public"))
    step(lambda: Holder.public.__get__(None, Holder) is Holder.public)
    step(lambda: Holder.__dict__["public"].__get__(object(), object))
    step(lambda: Holder.__dict__["public"].__set__(object(), 1))
    return outcomes + [("checker saw", [v for v in log if v is not same])]


def test_the_compiled_slot_attribute_behaves_as_the_pure_python_one():
    if not _built("micrograd.tensor._cattrs"):
        pytest.fail("micrograd.tensor._cattrs is not built (python setup.py build_ext --inplace)")
    from micrograd.tensor._cattrs import SlotAttribute

    from micrograd.tensor import core

    compiled = _descriptor_outcomes(SlotAttribute)
    pure = _descriptor_outcomes(core._PySlotAttribute)
    assert compiled == pure
    assert ("ok", ("checked", 1)) in compiled  # the table is not all errors
