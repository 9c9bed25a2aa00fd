"""float32 tanh, GELU (both forms) and sigmoid against torch 2.13, bit for bit, and the compiled kernels
(micrograd/tensor/_cmath32.c) against the numpy ones (micrograd/tensor/_math32.py).

Inputs are float32 arrays drawn from all bit patterns (tiny, denormal, huge, inf, nan, -0.0)
and from the functions' breakpoints (oneDNN's GELU intervals start at powers of two times 1,
1.25, 1.5, 1.75 from 2**-? up to its right bound near 5.54; exp underflows near -87.3), of lengths
that leave tails after whole 16- and 32-lane vectors. What must hold:

* F.gelu / nn.GELU, approximate 'none' and 'tanh': value and input gradient equal to torch's,
  bitwise, at one thread and at two (where torch splits the work and each thread has a tail);
* sigmoid: value and gradient equal to torch's, bitwise, at one thread and at two;
* tanh's backward (autograd of Tensor.tanh / torch.tanh / F.tanh / nn.Tanh): bitwise wherever
  the forward values agree; given torch's own tanh values, bitwise everywhere;
* tanh's forward: torch's is MKL's, not public; ours is correctly rounded. They agree but on
  inputs whose exact tanh lies within 2% of an ulp of halfway between two floats, and there by
  1 ulp;
* the compiled module (both variants of its loops: AVX2 with FMA, and plain x86-64 calling
  the C library's fmaf) and the numpy code: the same bits for every function, and the compiled
  one is what runs when it is built.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from pathlib import Path

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd.tensor import _math32
from micrograd.tensor import nn as mnn
from micrograd.tensor.nn import functional as F

# The compiled module itself, also under MICROGRAD_PURE=1 (which only stops the library from
# picking it): the tests compare it with the numpy code whichever path the library runs.
try:
    COMPILED = importlib.import_module("micrograd.tensor._cmath32")
except ImportError:  # not built: the tests of the compiled code skip (CI fails on a skip)
    COMPILED = None

COVERED = {
    "torch.tanh",
    "Tensor.tanh",
    "F.tanh",
    "nn.Tanh",
    "F.gelu",
    "nn.GELU",
    "torch.sigmoid",
    "Tensor.sigmoid",
    "F.sigmoid",
    "nn.Sigmoid",
}

# the `path` fixture only picks compiled or numpy code for the whole test: fine to share
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
F32 = np.float32


def _breakpoints() -> np.ndarray:
    """Starts of oneDNN's GELU intervals and the floats beside them, the right bound, exp's
    underflow edge, tanh's saturation, and signed zeros / infinities / nan."""
    starts = [m * 2.0**e for e in range(-24, 3) for m in (1.0, 1.25, 1.5, 1.75)]
    points = np.array(
        [*starts, 5.54, 6.0, 9.0, 13.2, 87.0, 88.8, 1e-38, 1e-45, 0.0, np.inf, np.nan], F32
    )
    points = np.concatenate([points, np.nextafter(points, F32(np.inf)), np.nextafter(points, 0)])
    points = np.concatenate([points, -points, np.array([np.uint32(0x80000000).view(F32)])])
    return points


BREAKPOINTS = _breakpoints()

# any float32 bit pattern, or a breakpoint, or an ordinary value, in arrays with vector tails
any_float = st.integers(0, 2**32 - 1).map(lambda b: np.uint32(b).view(F32))
breakpoint_float = st.sampled_from(list(BREAKPOINTS))
ordinary_float = st.floats(-12, 12, width=32)
float32_arrays = st.lists(
    st.one_of(any_float, breakpoint_float, ordinary_float), min_size=2, max_size=90
).map(lambda xs: np.array(xs, F32))


def same_bits(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Elementwise: the same float32 bits, any nan counting as equal to any nan."""
    ours, theirs = np.asarray(ours, F32), np.asarray(theirs, F32)
    return (ours.view(np.uint32) == theirs.view(np.uint32)) | (np.isnan(ours) & np.isnan(theirs))


def assert_bitwise(ours, theirs, what: str, inputs: np.ndarray) -> None:
    equal = same_bits(ours, theirs)
    assert equal.all(), (
        f"{what}: {np.count_nonzero(~equal)} elements differ, e.g. at x = "
        f"{inputs.reshape(-1)[~equal.reshape(-1)][:4]}: {np.asarray(ours)[~equal][:4]} "
        f"!= torch's {np.asarray(theirs)[~equal][:4]}"
    )


@pytest.fixture(params=["avx2+fma", "generic", "numpy"])
def path(request, monkeypatch):
    """Run a test with each compiled variant of the loops (skipped if not built, or if the
    processor lacks AVX2/FMA), then with the numpy code."""
    if request.param == "numpy":
        monkeypatch.setattr(_math32, "_compiled", None)
        yield request.param
        return
    compiled = COMPILED
    if compiled is None:
        pytest.skip("micrograd.tensor._cmath32 is not built")
    monkeypatch.setattr(_math32, "_compiled", compiled)
    before = compiled.variant()
    try:
        compiled.variant(request.param)
    except ValueError:
        pytest.skip(f"this processor runs no {request.param} code")
    yield request.param
    compiled.variant(before)


def _torch_gelu(x: np.ndarray, g: np.ndarray, approximate: str = "none"):
    xt = torch.from_numpy(x.copy()).requires_grad_()
    y = torch.nn.functional.gelu(xt, approximate=approximate)
    y.backward(torch.from_numpy(g.copy()))
    return y.detach().numpy(), xt.grad.numpy()


def _our_gelu(x: np.ndarray, g: np.ndarray, module: bool, approximate: str = "none"):
    xm = mt.tensor(x, requires_grad=True)
    y = mnn.GELU(approximate=approximate)(xm) if module else F.gelu(xm, approximate=approximate)
    y.backward(mt.tensor(g))
    return y.data, xm.grad.data


@pytest.fixture(params=[1, 2])
def threads(request):
    """torch and micrograd.tensor both at 1 thread, then both at 2, then back as they were."""
    torch_threads = torch.get_num_threads()
    ours = _math32.kernel_threads
    torch.set_num_threads(request.param)
    mt.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(torch_threads)
    mt.set_num_threads(ours)


APPROXIMATIONS = st.sampled_from(["none", "tanh"])


@SETTINGS
@given(float32_arrays, st.integers(0, 2**32 - 1), st.booleans(), APPROXIMATIONS)
def test_gelu_forward_and_backward_are_torchs_bit_for_bit(path, x, seed, module, approximate):
    g = np.random.default_rng(seed).standard_normal(x.size).astype(F32)
    value, grad = _our_gelu(x, g, module, approximate)
    expected_value, expected_grad = _torch_gelu(x, g, approximate)
    assert_bitwise(value, expected_value, f"gelu {approximate} ({path})", x)
    assert_bitwise(grad, expected_grad, f"gelu {approximate}'s gradient ({path})", x)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("n", [2, 15, 16, 17, 31, 32, 33, 1000, 16385, 40001, 70001])
def test_gelu_is_torchs_bit_for_bit_on_normal_data_of_every_tail_length(
    path, threads, approximate, n
):
    x = (np.random.default_rng(n).standard_normal(n) * 3).astype(F32)
    g = np.random.default_rng(n + 1).standard_normal(n).astype(F32)
    value, grad = _our_gelu(x, g, module=False, approximate=approximate)
    expected_value, expected_grad = _torch_gelu(x, g, approximate)
    assert_bitwise(value, expected_value, f"gelu {approximate} at {threads} threads", x)
    assert_bitwise(grad, expected_grad, f"gelu {approximate}'s gradient", x)


def test_sleef_tanhf_is_not_the_correctly_rounded_tanh():
    # why GELU's tanh form needs SLEEF's own tanhf: a correctly rounded tanh differs from it
    x = np.linspace(-9, 9, 200001, dtype=F32)
    correctly_rounded = np.tanh(x.astype(np.float64)).astype(F32)
    assert not same_bits(_math32.sleef_tanhf(x), correctly_rounded).all()


@pytest.mark.parametrize("v", [0.3, -1.7, 3.0, 1e-3, -7.0, 20.0, 0.0, -0.0])
def test_gelu_erf_of_one_element_takes_torchs_scalar_path(path, v):
    # torch sends a one-element tensor to ATen's scalar formula with erff / expf, not oneDNN
    x, g = np.array([v], F32), np.array([1.3], F32)
    value, grad = _our_gelu(x, g, module=False)
    expected_value, expected_grad = _torch_gelu(x, g)
    assert_bitwise(value, expected_value, "gelu of one element", x)
    assert_bitwise(grad, expected_grad, "gelu's gradient of one element", x)


def test_gelu_erf_breakpoints_are_torchs_bit_for_bit(path):
    g = np.linspace(-2, 2, BREAKPOINTS.size).astype(F32)
    value, grad = _our_gelu(BREAKPOINTS, g, module=True)
    expected_value, expected_grad = _torch_gelu(BREAKPOINTS, g)
    assert_bitwise(value, expected_value, "gelu", BREAKPOINTS)
    assert_bitwise(grad, expected_grad, "gelu's gradient", BREAKPOINTS)


SIGMOID_ENTRIES = {
    "torch.sigmoid": lambda lib, x: lib.sigmoid(x),
    "Tensor.sigmoid": lambda lib, x: x.sigmoid(),
    "F.sigmoid": lambda lib, x: lib.nn.functional.sigmoid(x),
    "nn.Sigmoid": lambda lib, x: lib.nn.Sigmoid()(x),
}


def _both_sigmoid(x: np.ndarray, g: np.ndarray, entry: str):
    call = SIGMOID_ENTRIES[entry]
    xm, xt = mt.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    ours, theirs = call(mt, xm), call(torch, xt)
    ours.backward(mt.tensor(g))
    theirs.backward(torch.from_numpy(g.copy()))
    return (ours.data, xm.grad.data), (theirs.detach().numpy(), xt.grad.numpy())


@SETTINGS
@given(float32_arrays, st.integers(0, 2**32 - 1), st.sampled_from(sorted(SIGMOID_ENTRIES)))
def test_sigmoid_forward_and_backward_are_torchs_bit_for_bit(path, x, seed, entry):
    g = np.random.default_rng(seed).standard_normal(x.size).astype(F32)
    (value, grad), (expected_value, expected_grad) = _both_sigmoid(x, g, entry)
    assert_bitwise(value, expected_value, f"{entry} ({path})", x)
    assert_bitwise(grad, expected_grad, f"{entry}'s gradient ({path})", x)


@pytest.mark.parametrize("n", [1, 7, 33, 1000, 32768, 40001, 100003])
def test_sigmoid_is_torchs_bit_for_bit_on_every_tail_length(path, threads, n):
    x = (np.random.default_rng(n).standard_normal(n) * 8).astype(F32)
    g = np.random.default_rng(n + 1).standard_normal(n).astype(F32)
    (value, grad), (expected_value, expected_grad) = _both_sigmoid(x, g, "torch.sigmoid")
    assert_bitwise(value, expected_value, f"sigmoid at {threads} threads", x)
    assert_bitwise(grad, expected_grad, "sigmoid's gradient", x)


TANH_ENTRIES = {
    "torch.tanh": lambda lib, x: lib.tanh(x),
    "Tensor.tanh": lambda lib, x: x.tanh(),
    "F.tanh": lambda lib, x: lib.nn.functional.tanh(x),
    "nn.Tanh": lambda lib, x: lib.nn.Tanh()(x),
}


def _near_halfway(x: np.ndarray) -> np.ndarray:
    """Where tanh(x) lies within 2% of an ulp of halfway between two float32s (float64 tanh is
    far more accurate than that)."""
    exact = np.tanh(x.astype(np.float64))
    below = exact.astype(F32)
    below = np.where(np.abs(below) > np.abs(exact), np.nextafter(below, F32(0)), below)
    ulp = np.spacing(np.abs(below)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        fraction = np.abs(exact - below.astype(np.float64)) / ulp
    return np.abs(fraction - 0.5) < 0.02


@SETTINGS
@given(float32_arrays, st.integers(0, 2**32 - 1), st.sampled_from(sorted(TANH_ENTRIES)))
def test_tanh_is_torchs_but_where_mkl_rounds_a_near_tie_the_other_way(path, x, seed, entry):
    call = TANH_ENTRIES[entry]
    g = np.random.default_rng(seed).standard_normal(x.size).astype(F32)
    xm, xt = mt.tensor(x, requires_grad=True), torch.from_numpy(x.copy()).requires_grad_()
    ours, theirs = call(mt, xm), call(torch, xt)
    ours.backward(mt.tensor(g))
    theirs.backward(torch.from_numpy(g.copy()))
    value, expected = ours.data, theirs.detach().numpy()
    equal = same_bits(value, expected)
    differ = ~equal
    assert (differ <= _near_halfway(x)).all(), (
        f"{entry}: differs at {x[differ & ~_near_halfway(x)]}"
    )
    if differ.any():
        steps = np.abs(value[differ].view(np.int32) - expected[differ].view(np.int32))
        assert (steps == 1).all()
    # the gradient: bitwise wherever the forward values agree
    assert_bitwise(xm.grad.data[equal], xt.grad.numpy()[equal], f"{entry}'s gradient", x[equal])


@SETTINGS
@given(float32_arrays, st.integers(0, 2**32 - 1))
def test_tanh_backward_of_torchs_own_values_is_torchs_bit_for_bit(path, x, seed):
    g = np.random.default_rng(seed).standard_normal(x.size).astype(F32)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    y = torch.tanh(xt)
    y.backward(torch.from_numpy(g.copy()))
    ours = _math32.tanh_backward32(g, y.detach().numpy())
    assert_bitwise(ours, xt.grad.numpy(), "tanh_backward", x)


@pytest.mark.parametrize("n", [1, 7, 16, 33, 100003])
def test_tanh_agrees_with_torch_on_nearly_every_normal_input(path, n):
    x = (np.random.default_rng(n).standard_normal(n) * 2).astype(F32)
    ours = mt.tensor(x).tanh().data
    theirs = torch.tanh(torch.from_numpy(x)).numpy()
    equal = same_bits(ours, theirs)
    assert (~equal <= _near_halfway(x)).all()
    assert equal.mean() >= 0.998  # numpy's own float32 tanh agreed on about 69%


def test_tanh_is_the_correctly_rounded_tanh(path):
    # every float below 9.1 was checked once (all 2**30 of them); here a dense grid, the
    # breakpoints and random bit patterns, against the C library's double tanh rounded
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            np.linspace(-10, 10, 400_001, dtype=F32),
            BREAKPOINTS,
            rng.integers(0, 2**32, 400_000, dtype=np.uint64).astype(np.uint32).view(F32),
        ]
    )
    with np.errstate(invalid="ignore"):
        expected = np.tanh(x.astype(np.float64)).astype(F32)
    assert_bitwise(_math32.tanh32(x), expected, f"tanh ({path})", x)


@SETTINGS
@given(float32_arrays, st.integers(0, 2**32 - 1))
def test_compiled_and_numpy_kernels_give_the_same_bits(x, seed):
    if COMPILED is None:
        pytest.skip("micrograd.tensor._cmath32 is not built")
    g = np.random.default_rng(seed).standard_normal(x.size).astype(F32)
    y = np.tanh(x.astype(np.float64)).astype(F32)
    functions = {
        "tanh": lambda: _math32.tanh32(x),
        "tanh_backward": lambda: _math32.tanh_backward32(g, y),
        "gelu_erf": lambda: _math32.gelu_erf32(x),
        "gelu_erf_backward": lambda: _math32.gelu_erf_backward32(g, x),
        "gelu_tanh": lambda: _math32.gelu_tanh32(x),
        "gelu_tanh_backward": lambda: _math32.gelu_tanh_backward32(g, x),
        "sigmoid": lambda: _math32.sigmoid32(x),
        "sigmoid_backward": lambda: _math32.sigmoid_backward32(g, y),
    }
    compiled, picked = COMPILED, _math32._compiled  # picked: None under MICROGRAD_PURE=1
    for name, call in functions.items():
        before = compiled.variant()
        try:
            _math32._compiled = compiled
            fast = call()
            compiled.variant("generic")
            generic = call()
            _math32._compiled = None
            slow = call()
        finally:
            _math32._compiled = picked
            compiled.variant(before)
        assert_bitwise(fast, slow, f"{name}: compiled vs numpy", x)
        assert_bitwise(generic, slow, f"{name}: generic compiled code vs numpy", x)


def test_the_compiled_module_is_used_when_built(monkeypatch):
    if importlib.util.find_spec("micrograd.tensor._cmath32") is None:
        pytest.skip("micrograd.tensor._cmath32 is not built")
    monkeypatch.delenv("MICROGRAD_PURE", raising=False)  # the suite also runs with it set
    assert _math32._load_compiled() is COMPILED
    calls = []

    class Recorder:
        def __getattr__(self, name):
            def record(*arrays):
                calls.append(name)
                return getattr(_math32._load_compiled(), name)(*arrays)

            return record

    monkeypatch.setattr(_math32, "_compiled", Recorder())
    x = mt.tensor(np.linspace(-3, 3, 40, dtype=F32), requires_grad=True)
    (x.tanh() + F.gelu(x) + F.gelu(x, approximate="tanh") + x.sigmoid()).sum().backward()
    assert sorted(calls) == [
        "gelu_erf",
        "gelu_erf_backward",
        "gelu_tanh",
        "gelu_tanh_backward",
        "sigmoid",
        "sigmoid_backward",
        "tanh",
        "tanh_backward",
    ]


def test_the_fastest_variant_is_picked_at_import():
    if COMPILED is None:
        pytest.skip("micrograd.tensor._cmath32 is not built")
    import subprocess
    import sys

    code = "from micrograd.tensor import _cmath32; print(_cmath32.variant())"
    repository = Path(__file__).resolve().parent.parent
    picked = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repository
    ).stdout.strip()
    try:
        COMPILED.variant("avx2+fma")
        expected = "avx2+fma"
    except ValueError:
        expected = "generic"
    finally:
        COMPILED.variant(picked)
    assert picked == expected
    with pytest.raises(ValueError, match="not available"):
        COMPILED.variant("avx512")


def test_micrograd_pure_switches_the_compiled_module_off(monkeypatch):
    monkeypatch.setenv("MICROGRAD_PURE", "1")
    assert _math32._load_compiled() is None


def test_the_compiled_kernels_refuse_wrong_buffers():
    if COMPILED is None:
        pytest.skip("micrograd.tensor._cmath32 is not built")
    x = np.zeros(4, F32)
    with pytest.raises(TypeError, match="float32"):
        COMPILED.tanh(np.zeros(4, np.float64), x)
    with pytest.raises(TypeError, match="one length"):
        COMPILED.gelu_erf(x, np.zeros(5, F32))
    with pytest.raises(TypeError, match="takes 3 arrays"):
        COMPILED.tanh_backward(x, x)
    with pytest.raises(ValueError, match="chunk must be at least 1"):
        COMPILED.gelu_tanh(x, x, 0)
    assert math.isnan(_math32.gelu_erf32(np.array([np.inf, 1], F32))[0])  # as oneDNN's kernel
