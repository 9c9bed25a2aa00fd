"""Differential tests of micrograd.tensor's construction against torch 2.13: `tensor`,
`as_tensor`, `from_numpy`, the `Tensor` constructor, the filled factories (`zeros`, `ones`,
`empty`, `full`, `eye`, the `_like` forms), `arange` and `linspace` (bit for bit: torch computes
them with fused multiply-adds), the random factories' keywords, `size=`, `device=` and `out=`.
"""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip("torch", reason="needs torch==2.13.0 (the test extra)")
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from torchdiff import arrays, assert_same, assert_same_exception, outcomes, shapes

import micrograd.tensor as mt

COVERED = {
    "torch.tensor", "torch.as_tensor", "torch.from_numpy", "torch.Tensor", "torch.zeros",
    "torch.ones", "torch.empty", "torch.full", "torch.eye", "torch.zeros_like",
    "torch.ones_like", "torch.full_like", "torch.arange", "torch.linspace", "torch.rand",
    "torch.randn", "torch.randint", "torch.randperm", "torch.rand_like", "torch.randn_like",
    "torch.float32", "torch.float64", "torch.int64", "torch.int32", "torch.bool",
    "torch.float", "torch.double", "torch.long", "torch.int", "Tensor.tolist",
}  # fmt: skip

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DTYPES = ("float32", "float64", "int64", "int32", "bool")


def dt(module, name):
    return getattr(module, name)


# -- Python data at the requested dtype (no rounding through float32) ---------------------------


python_floats = st.floats(allow_nan=False, allow_infinity=True, width=64)
python_numbers = st.one_of(python_floats, st.integers(-(2**63), 2**63 - 1), st.booleans())
nested = st.one_of(
    python_numbers,
    st.lists(python_numbers, min_size=0, max_size=5),
    st.lists(st.lists(python_floats, min_size=2, max_size=2), min_size=1, max_size=3),
)


@SETTINGS
@given(nested, st.sampled_from((None,) + DTYPES))
@example(data=[0.0, 9_007_199_254_740_993], dtype="int64")  # an int above 2**53 beside a float
def test_tensor_from_python_data_is_torchs(data, dtype):
    """`tensor(data, dtype=float64)` keeps 0.3 as the float64 0.3 (not the float32 one); every
    dtype converts Python numbers as torch does; the inferred dtypes are torch's."""
    kw = {} if dtype is None else {"dtype": dtype}
    pair = outcomes(
        lambda: mt.tensor(data, **{k: dt(mt, v) for k, v in kw.items()}),
        lambda: torch.tensor(data, **{k: dt(torch, v) for k, v in kw.items()}),
    )
    if pair is not None:
        ours, theirs = pair
        if dtype in ("int64", "int32") and not all(map(math.isfinite, np.ravel(data))):
            return  # inf to an integer: undefined in C (torch's value is whatever the CPU gives)
        assert_same(ours, theirs)
        assert ours.tolist() == theirs.tolist()


def test_float64_tensor_of_python_floats_is_not_rounded_through_float32():
    assert mt.tensor([0.3], dtype=mt.float64).tolist() == [0.3]
    assert mt.tensor(0.1, dtype=mt.float64).item() == 0.1
    assert mt.full((2,), 0.3, dtype=mt.float64).tolist() == [0.3, 0.3]
    assert mt.as_tensor([0.3], dtype=mt.float64).tolist() == [0.3]
    assert mt.tensor([2**53 + 1], dtype=mt.int64).tolist() == [2**53 + 1]


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, [1, 2**63], [[0], [2**64]]])
def test_ints_beyond_int64_are_refused_as_torch_refuses_them(value):
    assert_same_exception(lambda: mt.tensor(value), lambda: torch.tensor(value))
    assert_same_exception(lambda: mt.as_tensor(value), lambda: torch.as_tensor(value))


@SETTINGS
@given(nested, st.sampled_from((None,) + DTYPES))
def test_as_tensor_reads_data_as_torch(data, dtype):
    pair = outcomes(
        lambda: mt.as_tensor(data, dtype=None if dtype is None else dt(mt, dtype)),
        lambda: torch.as_tensor(data, dtype=None if dtype is None else dt(torch, dtype)),
    )
    if pair is not None and not (dtype in ("int64", "int32")):
        assert_same(*pair)


def test_as_tensor_shares_arrays_and_tensors_as_torch():
    assert mt.as_tensor([1, 2]).dtype == mt.int64
    assert mt.as_tensor([1.5]).dtype == mt.float32
    arr = np.array([1.0, 2.0])
    t = mt.as_tensor(arr)
    arr[0] = 7.0
    assert t.tolist() == [7.0, 2.0] and t.dtype == mt.float64  # shared, dtype kept
    x = mt.tensor([1.0, 2.0])
    assert mt.as_tensor(x) is x
    assert mt.as_tensor(x, dtype=mt.float64).dtype == mt.float64
    f = mt.from_numpy(arr)
    arr[1] = 5.0
    assert f.tolist() == [7.0, 5.0]


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 65535), min_size=2, max_size=40),
    st.data(),
    st.sampled_from(("from_numpy", "as_tensor")),
)
def test_numpy_memmaps_are_read_as_torch_reads_them(tmp_path_factory, tokens, data, factory):
    # nanoGPT's get_batch: torch.from_numpy(memmap[i:i+block].astype(np.int64)); a memmap (and
    # what its astype returns, a memmap without a file) is an ndarray subclass
    path = tmp_path_factory.mktemp("memmap") / "tokens.bin"
    np.array(tokens, dtype=np.uint16).tofile(path)
    np.array(tokens, dtype=np.int64).tofile(path.with_suffix(".i64"))
    tokens_file = np.memmap(path, dtype=np.uint16, mode="r")
    start = data.draw(st.integers(0, len(tokens) - 1))
    stop = data.draw(st.integers(start + 1, len(tokens)))
    sliced = tokens_file[start:stop].astype(np.int64)
    for array in (sliced, np.memmap(path.with_suffix(".i64"), np.int64, "r+")):
        assert isinstance(array, np.memmap)
        ours, theirs = getattr(mt, factory)(array), getattr(torch, factory)(array)
        assert_same(ours, theirs)
        assert type(ours.numpy()) is np.ndarray
        array[...] = array[::-1].copy()  # memory shared, as torch shares it
        assert_same(ours, theirs)
    del tokens_file


# -- the Tensor constructor -------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [(2, 3), (0,), (4,), (2, 0, 1), ([1.5, 2, 3],), ([[1, 2], [3, 4]],), ([True, False],), ((2, 3),), ()],
)  # fmt: skip
def test_tensor_constructor_is_torchs_legacy_constructor(args):
    """torch.Tensor(2, 3) is a 2x3 float32 tensor (its values uninitialised in torch: zeros here),
    torch.Tensor(list) a float32 copy; a tuple is data, not a shape."""
    if args == ():
        ours = mt.Tensor()
        assert ours.shape == (0,) and ours.dtype == mt.float32
        return
    ours, theirs = mt.Tensor(*args), torch.Tensor(*args)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype == mt.float32 and theirs.dtype == torch.float32
    if not all(isinstance(a, int) for a in args):
        assert_same(ours, theirs)
    else:
        assert not ours.requires_grad and ours.tolist() == np.zeros(ours.shape).tolist()


def test_tensor_constructor_sizes_from_a_size_and_numpy_ints():
    # a torch.Size (a tuple subclass) is a shape; a plain tuple is data
    assert tuple(mt.Tensor(torch.Size([2, 3])).shape) == (2, 3)
    assert tuple(mt.Tensor((2, 3)).shape) == (2,)
    assert mt.Tensor(np.int64(3)).shape == (3,)
    assert mt.Tensor(np.ones((2, 2))).dtype == mt.float32  # float64 data: float32, as torch


def test_tensor_constructor_of_a_tensor_shares_it():
    x = mt.tensor([1.0, 2.0], dtype=mt.float64)
    y = mt.Tensor(x)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64)
    ty = torch.Tensor(tx)
    assert y.dtype == mt.float64 and ty.dtype == torch.float64
    y[0] = 5.0
    ty[0] = 5.0
    assert x.tolist() == tx.tolist() == [5.0, 2.0]


@pytest.mark.parametrize("args", [(-1,), (2, -3), ([1, 2], [3])])
def test_tensor_constructor_refuses_what_torch_refuses(args):
    assert_same_exception(lambda: mt.Tensor(*args), lambda: torch.Tensor(*args))


def test_engine_constructor_form_is_kept():
    # Tensor(data, requires_grad=...) (a form torch refuses) stays the engine's: float arrays
    # wrapped as they are, lists float64
    w = np.ones(3, dtype=np.float32)
    assert mt.Tensor(w, requires_grad=True).data is w
    assert mt.Tensor([1.0, 2.0], requires_grad=True).dtype == mt.float64
    assert mt.Tensor([1, 2], dtype=mt.float32, label="x").label == "x"
    with pytest.raises(TypeError, match="one data argument"):
        mt.Tensor(2, 3, requires_grad=True)


# -- filled factories: size=, dtype=, device=, requires_grad=, out= ----------------------------


FILLED = ["zeros", "ones", "empty"]


@SETTINGS
@given(
    st.sampled_from(FILLED + ["rand", "randn"]),
    shapes(max_dims=3, min_side=0),
    st.sampled_from(["positional", "tuple", "size="]),
    st.sampled_from((None,) + DTYPES),
    st.booleans(),
)
def test_filled_factories_take_torchs_arguments(name, shape, form, dtype, requires_grad):
    args, kw = {
        "positional": (shape, {}),
        "tuple": ((shape,), {}),
        "size=": ((), {"size": shape}),
    }[form]
    kw = dict(kw, requires_grad=requires_grad, device="cpu")
    ours_kw = dict(kw, **({} if dtype is None else {"dtype": dt(mt, dtype)}))
    torch_kw = dict(kw, **({} if dtype is None else {"dtype": dt(torch, dtype)}))
    mt.manual_seed(7)
    torch.manual_seed(7)
    pair = outcomes(lambda: getattr(mt, name)(*args, **ours_kw), lambda: getattr(torch, name)(*args, **torch_kw))  # fmt: skip
    if pair is None:
        return
    ours, theirs = pair
    assert ours.requires_grad == theirs.requires_grad
    if name == "empty":
        assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype)  # fmt: skip
    else:
        assert_same(ours.detach(), theirs.detach())


@SETTINGS
@given(
    shapes(max_dims=2, min_side=0),
    st.one_of(st.floats(allow_nan=False), st.integers(-100, 100), st.booleans()),
    st.sampled_from((None,) + DTYPES),
)
def test_full_and_like_factories_are_torchs(shape, fill, dtype):
    assume(not (dtype in ("int64", "int32", "bool") and isinstance(fill, float) and not math.isfinite(fill)))  # fmt: skip
    assume(not (dtype in ("int64", "int32") and isinstance(fill, float) and abs(fill) >= 2**31))
    ours_dt = None if dtype is None else dt(mt, dtype)
    torch_dt = None if dtype is None else dt(torch, dtype)
    pair = outcomes(lambda: mt.full(shape, fill, dtype=ours_dt), lambda: torch.full(shape, fill, dtype=torch_dt))  # fmt: skip
    if pair is None:
        return
    assert_same(*pair)
    base, tbase = mt.zeros(shape, dtype=mt.float64), torch.zeros(shape, dtype=torch.float64)
    for name in ("zeros_like", "ones_like"):
        assert_same(getattr(mt, name)(base, dtype=ours_dt, device="cpu"), getattr(torch, name)(tbase, dtype=torch_dt, device="cpu"))  # fmt: skip
    if dtype not in ("int64", "int32", "bool") or math.isfinite(fill):
        assert_same(mt.full_like(base, fill, dtype=ours_dt), torch.full_like(tbase, fill, dtype=torch_dt))  # fmt: skip


def test_eye_and_requires_grad_keywords():
    assert_same(mt.eye(3, 2, dtype=mt.float64, device="cpu"), torch.eye(3, 2, dtype=torch.float64, device="cpu"))  # fmt: skip
    assert mt.eye(2, requires_grad=True).requires_grad
    assert mt.zeros_like(mt.ones(2), requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.zeros(2, out=m.zeros(2)),
        lambda m: m.ones(2, out=m.zeros(2)),
        lambda m: m.arange(3, out=m.zeros(3)),
        lambda m: m.randn(2, out=m.zeros(2)),
        lambda m: m.full((2,), 1.0, out=m.zeros(2)),
        lambda m: m.linspace(0, 1, 3, out=m.zeros(3)),
    ],
)
def test_out_is_refused_clearly(call):
    with pytest.raises(TypeError, match="out= is not supported"):
        call(mt)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, d: m.zeros(2, device=d),
        lambda m, d: m.tensor([1.0], device=d),
        lambda m, d: m.arange(3, device=d),
        lambda m, d: m.randn(2, device=d),
        lambda m, d: m.randint(0, 3, (2,), device=d),
        lambda m, d: m.full((2,), 1.0, device=d),
        lambda m, d: m.linspace(0, 1, 3, device=d),
        lambda m, d: m.eye(2, device=d),
        lambda m, d: m.as_tensor([1], device=d),
        lambda m, d: m.Tensor(2, device=d),
    ],
)
def test_device_cpu_is_accepted_and_other_devices_refused(call):
    assert tuple(call(mt, "cpu").shape) == tuple(call(torch, "cpu").shape)
    call(mt, "cpu:0")
    with pytest.raises(RuntimeError, match="CPU only"):
        call(mt, "cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        call(mt, "cuda:0")


# -- arange and linspace: torch's floats bit for bit -----------------------------------------


def _range_args(draw, integral):
    if integral:
        start = draw(st.integers(-50, 50))
        step = draw(st.integers(-7, 7).filter(bool))
        n = draw(st.integers(0, 300))
        return start, start + step * n + draw(st.integers(-1, 1)), step
    start = draw(st.floats(-1e3, 1e3, allow_nan=False) | st.sampled_from([0.0, -0.5, 0.1]))
    step = draw(
        st.floats(1e-3, 10, allow_nan=False) | st.sampled_from([0.1, 0.3, 1 / 3, 0.7, 1.1])
    ) * draw(st.sampled_from([1, -1]))
    n = draw(st.integers(0, 600))
    return start, start + step * n + draw(st.floats(-abs(step), abs(step))), step


@SETTINGS
@given(st.data(), st.booleans(), st.sampled_from([None, "float32", "float64", "int64"]))
def test_arange_is_torchs_bit_for_bit(data, integral, dtype):
    """torch computes element i as start + step * i with one fused multiply-add in double, in
    groups of the vector width; arange here does the same (up to 32768 elements, beyond which
    torch's own values depend on its thread count)."""
    start, end, step = _range_args(data.draw, integral)
    kw_ours = {} if dtype is None else {"dtype": dt(mt, dtype)}
    kw_torch = {} if dtype is None else {"dtype": dt(torch, dtype)}
    pair = outcomes(lambda: mt.arange(start, end, step, **kw_ours), lambda: torch.arange(start, end, step, **kw_torch))  # fmt: skip
    if pair is not None:
        assert_same(*pair)


@pytest.mark.parametrize(
    "args",
    [(0.0, 1.0, 0.1), (-3.0, 7.0, 0.3), (0.5, 1000.0, 0.7), (1.0, -100.0, -1 / 3), (0, 10, 3)],
)
def test_arange_examples_are_torchs(args):
    for dtype in (None, "float32", "float64"):
        kw = {} if dtype is None else {"dtype": dtype}
        ours = mt.arange(*args, **{k: dt(mt, v) for k, v in kw.items()})
        assert_same(ours, torch.arange(*args, **{k: dt(torch, v) for k, v in kw.items()}))


def test_arange_keywords_and_tensor_bounds():
    assert_same(mt.arange(end=4), torch.arange(end=4))
    assert_same(mt.arange(start=1, end=4), torch.arange(start=1, end=4))
    assert_same(mt.arange(mt.tensor(3)), torch.arange(torch.tensor(3)))  # int64, not float
    assert_same(mt.arange(mt.tensor(3.0)), torch.arange(torch.tensor(3.0)))
    assert_same(mt.arange(1, mt.tensor(4), 2), torch.arange(1, torch.tensor(4), 2))
    assert_same_exception(lambda: mt.arange(0, 5, 0), lambda: torch.arange(0, 5, 0))
    assert_same_exception(lambda: mt.arange(0, 5, -1), lambda: torch.arange(0, 5, -1))
    assert mt.arange(2, requires_grad=False, dtype=mt.float32).dtype == mt.float32


@SETTINGS
@given(
    st.floats(-1e4, 1e4) | st.integers(-100, 100),
    st.floats(-1e4, 1e4) | st.integers(-100, 100),
    st.integers(0, 2000),
    st.sampled_from([None, "float32", "float64", "int64"]),
)
def test_linspace_is_torchs_bit_for_bit(start, end, steps, dtype):
    """step = (end - start) / (steps - 1); the first half start + step * i, the second half
    end - step * (steps - 1 - i), each a fused multiply-add, as torch's kernel."""
    kw_ours = {} if dtype is None else {"dtype": dt(mt, dtype)}
    kw_torch = {} if dtype is None else {"dtype": dt(torch, dtype)}
    pair = outcomes(lambda: mt.linspace(start, end, steps, **kw_ours), lambda: torch.linspace(start, end, steps, **kw_torch))  # fmt: skip
    if pair is not None:
        assert_same(*pair)


def test_linspace_examples_from_the_issue():
    for n in (1000, 600, 5, 2, 1, 0):
        assert_same(mt.linspace(0, 1, n), torch.linspace(0, 1, n))
        assert_same(mt.linspace(-3.7, 11.2, n, dtype=mt.float64), torch.linspace(-3.7, 11.2, n, dtype=torch.float64))  # fmt: skip
    assert_same(mt.linspace(mt.tensor(0.0), mt.tensor(2.0), 7), torch.linspace(torch.tensor(0.0), torch.tensor(2.0), 7))  # fmt: skip


# -- random factories: torch's keywords, torch's numbers -----------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.randint(0, 10, size=(3,)),
        lambda m: m.randint(10, size=(2, 2)),
        lambda m: m.randint(low=2, high=10, size=(4,)),
        lambda m: m.randint(high=5, size=(4,)),
        lambda m: m.randint(3, 10, (5,), dtype=m.int32),
        lambda m: m.rand(size=(2, 3)),
        lambda m: m.randn(size=(4,), dtype=m.float64),
        lambda m: m.randn(2, 3, requires_grad=True),
        lambda m: m.rand_like(m.ones(3), dtype=m.float64),
        lambda m: m.randn_like(m.ones(2, 2), requires_grad=True),
        lambda m: m.randperm(6, dtype=m.int32),
    ],
)
def test_random_factories_take_torchs_keywords_and_draw_torchs_numbers(call):
    mt.manual_seed(1234)
    torch.manual_seed(1234)
    ours, theirs = call(mt), call(torch)
    assert ours.requires_grad == theirs.requires_grad
    assert_same(ours.detach(), theirs.detach())


def test_randint_refuses_an_empty_range_as_torch():
    assert_same_exception(lambda: mt.randint(5, 2, (3,)), lambda: torch.randint(5, 2, (3,)))
    assert_same_exception(lambda: mt.zeros(-1), lambda: torch.zeros(-1))


@SETTINGS
@given(arrays(shape=shapes(max_dims=2)), st.sampled_from((None,) + DTYPES))
def test_tensor_from_numpy_arrays_and_tensors_is_torchs(arr, dtype):
    ours_dt = None if dtype is None else dt(mt, dtype)
    torch_dt = None if dtype is None else dt(torch, dtype)
    if dtype in ("int64", "int32") and arr.dtype.kind == "f":
        # float -> int: finite values only (an array, not the numpy scalar clip makes of 0-d)
        arr = np.array(np.nan_to_num(arr, posinf=0, neginf=0).clip(-1e9, 1e9), dtype=arr.dtype)
    pair = outcomes(lambda: mt.tensor(arr, dtype=ours_dt), lambda: torch.tensor(arr, dtype=torch_dt))  # fmt: skip
    if pair is not None:
        assert_same(*pair)
    assert_same(mt.tensor(mt.tensor(arr), dtype=ours_dt), torch.tensor(torch.tensor(arr), dtype=torch_dt))  # fmt: skip
    assert_same(mt.from_numpy(arr.copy()), torch.from_numpy(arr.copy()))
