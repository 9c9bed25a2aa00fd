"""Hostile inputs for micrograd.tensor's compiled float32 kernels, through the public API.

Each compiled kernel (setup.py's KERNELS: tanh / GELU / sigmoid, softmax / log_softmax /
nll_loss / cross_entropy, sum / mean, layer_norm, scaled_dot_product_attention, the Adam / AdamW
/ SGD updates) is fed arrays a C loop can get wrong: transposed, negative-stride, stepped and
broadcast (stride 0) views, zero-size, 0-d and 1-d arrays, views at an odd byte offset
(misaligned floats), read-only arrays, other dtypes, NaN and inf, rows long enough for the
multi-threaded plans. For every one the result (values, NaN positions, dtype, shape, the input's
gradient, or the exception's type) must be the numpy twin's (the same table run under
MICROGRAD_PURE=1 in a child process) and, for a view, the result of a contiguous copy of the same
values. Then: arrays a tensor cannot share (big-endian, float16) are refused by from_numpy, a sum
over more elements than a 32-bit index holds, two Python threads in one kernel at once, and
Ctrl-C during a long run of kernel calls.

.ci/sanitize runs this file against the kernels built with AddressSanitizer and
UndefinedBehaviorSanitizer, where a bad read or write stops the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (5, 37)


def _values(shape=SHAPE, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _misaligned(a: np.ndarray) -> np.ndarray:
    """`a`'s values in a buffer one byte past an aligned address: every float is misaligned."""
    buffer = bytearray(a.nbytes + 1)
    view = np.frombuffer(buffer, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    view[...] = a
    return view


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _special() -> np.ndarray:
    """NaN, +-inf, the largest floats, subnormals and signed zeros among ordinary values."""
    a = _values()
    a.ravel()[::7] = np.nan
    a.ravel()[1::11] = np.inf
    a.ravel()[2::13] = -np.inf
    a.ravel()[3::17] = 3.4e38
    a.ravel()[4::19] = 1e-42
    a.ravel()[5::23] = -0.0
    a[2] = np.float32(50.0) * np.arange(37, dtype=np.float32)  # a row without specials, wide
    return a


# name -> a new array each call (from_numpy shares it, an in-place update must not leak between
# cases); views of the same values as _values() where the name says a layout
INPUTS = {
    "contiguous": lambda: _values(),
    "transposed": lambda: np.asfortranarray(_values()),
    "negative_strides": lambda: _values()[::-1, ::-1].copy()[::-1, ::-1],
    "stepped": lambda: np.repeat(_values(), 2, axis=1)[:, ::2],
    "broadcast": lambda: np.broadcast_to(_values()[1:2], SHAPE),
    "misaligned": lambda: _misaligned(_values()),
    "read_only": lambda: _read_only(_values()),
    "zero_rows": lambda: np.zeros((0, 37), np.float32),
    "zero_columns": lambda: np.zeros((5, 0), np.float32),
    "zero_d": lambda: np.array(0.75, np.float32),
    "one_d": lambda: _values((37,))[::-1],
    "special": _special,
    "wide_rows": lambda: _values((3, 40_000), seed=1),  # past the threaded plans' grain
    "float64": lambda: _values().astype(np.float64),
    "int32": lambda: (_values() * 10).astype(np.int32),
}
# the layouts that hold the same values as "contiguous"
SAME_VALUES = ["transposed", "negative_strides", "stepped", "misaligned", "read_only"]


def _targets(t) -> object:
    """Class targets for a (rows, classes) input (a 0-d one for a 1-d input)."""
    if t.dim() == 1:
        return mt.tensor(3)
    rows, classes = t.shape[0], t.shape[-1] if t.dim() else 1
    return mt.tensor([(7 * i) % max(classes, 1) for i in range(rows)], dtype=mt.int64)


def _optimizer_steps(make):
    def run(t):
        p = mt.nn.Parameter(t)
        optimizer = make([p])
        for step in range(3):
            p.grad = mt.from_numpy(np.sin(np.arange(p.numel(), dtype=np.float32) + step))
            p.grad = p.grad.reshape(p.shape).to(p.dtype)
            optimizer.step()
        return p.detach()

    return run


# name -> (public call, whether to take the input's gradient through it)
OPS = {
    "tanh": (mt.tanh, True),
    "sigmoid": (mt.sigmoid, True),
    "gelu": (F.gelu, True),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), True),
    "softmax_last": (lambda t: F.softmax(t, dim=-1), True),
    "softmax_first": (lambda t: F.softmax(t, dim=0), True),
    "log_softmax": (lambda t: F.log_softmax(t, dim=-1), True),
    "cross_entropy": (lambda t: F.cross_entropy(t, _targets(t)), True),
    "nll_loss_none": (lambda t: F.nll_loss(t, _targets(t), reduction="none"), True),
    "sum": (lambda t: t.sum(), True),
    "sum_first": (lambda t: t.sum(0), True),
    "mean_last": (lambda t: t.mean(-1), True),
    "layer_norm": (lambda t: F.layer_norm(t, t.shape[-1:]), True),
    "layer_norm_affine": (
        lambda t: F.layer_norm(
            t, t.shape[-1:], mt.ones(t.shape[-1:]) * 1.5, mt.full(t.shape[-1:], 0.25)
        ),
        True,
    ),
    "attention": (lambda t: F.scaled_dot_product_attention(t, t, t), True),
    "attention_causal": (
        lambda t: F.scaled_dot_product_attention(t, t * 0.5, t, is_causal=True),
        True,
    ),
    "adam": (_optimizer_steps(lambda ps: mt.optim.Adam(ps, lr=0.01)), False),
    "adamw": (_optimizer_steps(lambda ps: mt.optim.AdamW(ps, lr=0.01, weight_decay=0.1)), False),
    "sgd_momentum": (
        _optimizer_steps(lambda ps: mt.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
        False,
    ),
}


def _digest(a) -> str:
    """dtype, shape and the values' bytes, every NaN written as one NaN (a NaN's sign and payload
    are not part of any result's contract)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = np.where(np.isnan(a), np.asarray(np.nan, a.dtype), a)
    data = np.ascontiguousarray(a).tobytes()
    return f"{a.dtype}{a.shape}:{hashlib.sha1(data).hexdigest()[:16]}"


def outcome(input_name: str, op_name: str) -> str:
    """One case's result: the output's digest and the input's gradient's, or the exception's type
    (its message may name a path; the type is the contract)."""
    op, differentiable = OPS[op_name]
    try:
        t = mt.from_numpy(INPUTS[input_name]())
        if differentiable and t.is_floating_point():
            t.requires_grad_(True)
        out = op(t)
        result = _digest(out.detach().numpy())
        if t.requires_grad:
            (out.sum() if out.dim() else out).backward()
            result += " grad " + _digest(t.grad.numpy())
        return result
    except Exception as e:  # noqa: BLE001 -- the exception's type is the outcome compared
        return f"raises {type(e).__name__}"


# the kernel threads PyTorch would use decide how its long sums, GELU loops and layer_norm
# gradients split (and round): fixed here, so that the child and this process agree whatever
# earlier tests set
THREADS = 2


@pytest.fixture(autouse=True)
def fixed_threads():
    saved = mt.get_num_threads()
    mt.set_num_threads(THREADS)
    yield
    mt.set_num_threads(saved)


def all_outcomes() -> dict:
    mt.set_num_threads(THREADS)
    return {f"{i}/{o}": outcome(i, o) for i in INPUTS for o in OPS}


@pytest.fixture(scope="module")
def numpy_twin_outcomes() -> dict:
    """The whole table on the numpy twins (MICROGRAD_PURE=1), in a child process (the switch is
    read when the modules load)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "import test_tensor_kernels_hostile as t; print(json.dumps(t.all_outcomes()))"
    )
    env = dict(os.environ, MICROGRAD_PURE="1")
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "tests")],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_every_compiled_kernel_is_in_use_unless_micrograd_pure_is_set():
    """Otherwise the table below compares the numpy twins with themselves (as it does, on
    purpose, when the whole suite runs under MICROGRAD_PURE=1)."""
    from micrograd.tensor import _math32, _reduce, _softmax32
    from micrograd.tensor.nn import _layernorm
    from micrograd.tensor.optim import _kernels

    in_use = [_math32._compiled, _softmax32._csoftmax, _reduce._ccore, _layernorm._C]
    in_use.append(_kernels.compiled)
    if os.environ.get("MICROGRAD_PURE", "") not in ("", "0"):
        assert in_use == [None] * 5
    else:
        assert None not in in_use


@pytest.mark.parametrize("input_name", list(INPUTS))
def test_compiled_kernels_give_the_numpy_twins_results(input_name, numpy_twin_outcomes):
    compiled = {o: outcome(input_name, o) for o in OPS}
    twin = {o: numpy_twin_outcomes[f"{input_name}/{o}"] for o in OPS}
    assert compiled == twin


# PyTorch sums in an order that follows the strides (its TensorIterator), so a sum of a view is
# compared with torch's sum of the same view instead; attention's products, like torch's, follow
# the layout too (compared with the twin only)
LAYOUT_DEPENDENT = {"sum", "sum_first", "mean_last", "attention", "attention_causal"}
# updates in place: a read-only parameter is refused
IN_PLACE = {"adam", "adamw", "sgd_momentum"}


@pytest.mark.parametrize("input_name", SAME_VALUES)
def test_a_view_gives_what_its_contiguous_copy_gives(input_name):
    for op_name in OPS:
        if op_name in LAYOUT_DEPENDENT or (input_name == "read_only" and op_name in IN_PLACE):
            continue
        assert outcome(input_name, op_name) == outcome("contiguous", op_name), op_name


@pytest.mark.parametrize("input_name", ["transposed", "stepped", "misaligned", "broadcast"])
def test_a_sum_of_a_view_is_torchs_sum_of_that_view(input_name):
    ours, theirs = mt.from_numpy(INPUTS[input_name]()), torch.from_numpy(INPUTS[input_name]())
    assert ours.sum().numpy().tobytes() == theirs.sum().numpy().tobytes()
    assert ours.sum(0).numpy().tobytes() == theirs.sum(0).numpy().tobytes()
    assert ours.mean(-1).numpy().tobytes() == theirs.mean(-1).numpy().tobytes()


def test_a_parameter_in_read_only_memory_is_refused_by_the_update():
    p = mt.nn.Parameter(mt.from_numpy(_read_only(_values())))
    optimizer = mt.optim.Adam([p])
    p.grad = mt.ones(SHAPE)
    with pytest.raises(ValueError, match="read-only"):
        optimizer.step()
    assert p.detach().numpy().tobytes() == _values().tobytes()


def test_results_are_not_all_errors():
    """The table means something only if the ordinary cases compute."""
    for input_name in ["contiguous", "misaligned", "wide_rows", "special", "float64"]:
        for op_name in OPS:
            if input_name == "float64" and op_name == "layer_norm_affine":
                continue  # float32 weight and bias: refused, as torch refuses mixed dtypes
            assert not outcome(input_name, op_name).startswith("raises"), (input_name, op_name)


def test_a_misaligned_sum_is_the_sum_of_its_values():
    """The compiled sum used to refuse a view at an odd byte offset ('serial: a and out must both
    be float32 or float64'), which numpy and PyTorch sum."""
    a = _values((3, 1000))
    expected = torch.from_numpy(a).sum(1).numpy()
    got = mt.from_numpy(_misaligned(a)).sum(1).numpy()
    assert got.tobytes() == expected.tobytes()
    assert mt.from_numpy(_misaligned(a)).mean().item() == torch.from_numpy(a).mean().item()


def test_from_numpy_refuses_the_other_byte_order_as_torch_does():
    a = _values().astype(">f4")
    with pytest.raises(ValueError, match="byte order") as ours:
        mt.from_numpy(a)
    with pytest.raises(ValueError, match="byte order") as theirs:
        torch.from_numpy(a)
    assert str(theirs.value).rstrip(".") in str(ours.value)
    with pytest.raises(ValueError, match="byte order"):
        mt.as_tensor(a)
    with pytest.raises(ValueError, match="byte order"):
        mt.from_numpy(_misaligned(a))


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.uint16, object])
def test_from_numpy_refuses_a_dtype_with_no_tensor_at_once(dtype):
    """Not at the first operation (a KeyError or a kernel's format error, before)."""
    a = np.zeros(3, dtype)
    with pytest.raises(TypeError, match="float16|no micrograd.tensor counterpart"):
        mt.from_numpy(a)
    with pytest.raises(TypeError, match="float16|no micrograd.tensor counterpart|numbers"):
        mt.as_tensor(a)


def test_a_sum_past_a_32_bit_index_matches_torch():
    """2**31 + 77 elements (a broadcast view: no memory) through the compiled loops' int64
    indices; PyTorch's cascade gives the same float."""
    n = 2**31 + 77
    ones = np.broadcast_to(np.float32(1.0), (n,))
    ours = mt.from_numpy(ones).sum()
    theirs = torch.from_numpy(np.ones(1, np.float32)).expand(n).sum()
    assert ours.item() == theirs.item()


def _thread_calls():
    a = _values((64, 300), seed=3)
    return [
        lambda: mt.tanh(mt.from_numpy(a)),
        lambda: F.gelu(mt.from_numpy(a), approximate="tanh"),
        lambda: F.log_softmax(mt.from_numpy(a), dim=-1),
        lambda: F.cross_entropy(mt.from_numpy(a), mt.arange(64) % 300),
        lambda: mt.from_numpy(a).sum(0),
        lambda: F.layer_norm(mt.from_numpy(a), (300,)),
    ]


def test_two_threads_in_one_kernel_get_their_own_results():
    """The kernels release the GIL: two threads in the same one at once must not share state."""
    for call in _thread_calls():
        expected = _digest(call().numpy())
        found = [[], []]

        def work(slot, call=call, found=found):
            for _ in range(30):
                found[slot].append(_digest(call().numpy()))

        threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert found[0] == found[1] == [expected] * 30


def test_two_threads_stepping_one_optimizer_each():
    def train(seed, out):
        p = mt.nn.Parameter(mt.from_numpy(_values((200, 100), seed)))
        optimizer = mt.optim.AdamW([p], lr=0.01)
        for step in range(20):
            p.grad = mt.from_numpy(_values((200, 100), seed + step + 1))
            optimizer.step()
        out.append(_digest(p.detach().numpy()))

    alone = [], []
    train(5, alone[0])
    train(9, alone[1])
    together = [], []
    threads = [threading.Thread(target=train, args=(s, o)) for s, o in zip((5, 9), together)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert together == alone


def test_ctrl_c_during_kernel_calls_leaves_them_working():
    """SIGINT arrives while the kernels run (they release the GIL): KeyboardInterrupt is raised
    between calls, never a crash, and the next call gives the same result."""
    program = textwrap.dedent(
        """
        import sys
        import numpy as np
        import micrograd.tensor as mt
        import micrograd.tensor.nn.functional as F

        a = mt.from_numpy(np.random.default_rng(0).standard_normal((256, 4096)).astype("f4"))
        expected = F.log_softmax(a, -1).sum().item(), F.layer_norm(a, (4096,)).sum().item()
        print("ready", flush=True)
        try:
            while True:
                F.log_softmax(a, -1).sum()
                F.layer_norm(a, (4096,))
                mt.tanh(a)
        except KeyboardInterrupt:
            again = F.log_softmax(a, -1).sum().item(), F.layer_norm(a, (4096,)).sum().item()
            print("interrupted", again == expected, flush=True)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", program],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        threading.Event().wait(0.5)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err[-3000:]
    assert out.strip() == "interrupted True"
