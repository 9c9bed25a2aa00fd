"""Shared helpers for the differential tests: micrograd.tensor against real torch 2.13.

Every tests/test_torchdiff_<area>.py file builds the same inputs for both engines, runs the same
call and checks that the two agree: values, dtype, shape, gradients, and the type of any exception.

    from torchdiff import arrays, assert_same, outcomes, to_both   # tests/ is on sys.path

    @given(arrays())
    def test_neg(a):
        ours, theirs = to_both(a)
        assert_same(-ours, -theirs)

Strategies (hypothesis):
    dtype_names()            "float32", "float64", "int64", "bool"
    shapes(...)              shapes with 0-d, size-0 (opt-in) and size-1 axes
    broadcast_shapes(n)      n mutually broadcastable shapes
    arrays(dtype, shape)     numpy arrays, float ones with special values (nan, +-inf, -0.0, tiny)
    dims(ndim)               a valid dim for a tensor of `ndim` dims, negative ones included

Conversions and comparisons:
    to_both(array, dtype=None, requires_grad=False) -> (ours, torch's)
    as_numpy(x)              a Tensor / torch.Tensor / number as a numpy array
    dtype_name(dtype)        "float32" for np.float32, torch.float32 or our dtype
    assert_same(ours, theirs, bitwise=True, ulps=0)
    assert_close(ours, theirs, rtol=None, atol=None)   as assert_same, values within a tolerance
    outcomes(fn_ours, fn_torch)            both results, or the same exception type on both sides
    assert_same_exception(fn_ours, fn_torch)
    assert_same_grads(ours_leaves, theirs_leaves, ...)
    assert_same_signature(ours_fn, torch_fn)   parameter names, kinds, order and defaults

Bitwise means the same bytes, except that any nan equals any nan (their payloads and signs are
not part of PyTorch's contract); -0.0 and 0.0 differ. Use `ulps=1` (not bitwise) only where
torch's result is not correctly rounded (float32 exp, tanh, ... through different libms) and say
why in the test.
"""

from __future__ import annotations

import ast
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import micrograd.tensor as mt

DTYPE_NAMES = ("float32", "float64", "int64", "bool")
FLOAT_NAMES = ("float32", "float64")


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


def dtype_names(names: Sequence[str] = DTYPE_NAMES) -> st.SearchStrategy[str]:
    return st.sampled_from(tuple(names))


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of 0 to 3 dims (0-d included) whose axes are often 1; pass min_side=0 for empty."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcast_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """`num_shapes` shapes that broadcast together (0-d and size-1 axes included)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda result: result.input_shapes)


# Special float values: both engines must agree on them, not only on ordinary numbers.
_SPECIAL_FLOATS = (0.0, -0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 1e-30, -1e30, 3.0e38)


def elements(dtype_name: str, special: bool = True, max_magnitude: float = 1e6):
    """Values of one dtype. Floats are exactly representable in that dtype (so building the
    array never rounds); `special` mixes in nan, infinities, -0.0, tiny and huge values."""
    if dtype_name == "bool":
        return st.booleans()
    if dtype_name == "int64":
        return st.integers(-1000, 1000)
    width = 32 if dtype_name == "float32" else 64
    ordinary = st.floats(
        -max_magnitude, max_magnitude, width=width, allow_nan=False, allow_infinity=False
    )
    if not special:
        return ordinary
    specials = st.sampled_from(_SPECIAL_FLOATS).map(lambda v: float(np.dtype(dtype_name).type(v)))
    return st.one_of(ordinary, ordinary, ordinary, specials)


@st.composite
def arrays(
    draw,
    dtype: str | st.SearchStrategy[str] | None = None,
    shape: tuple[int, ...] | st.SearchStrategy | None = None,
    special: bool = True,
    max_magnitude: float = 1e6,
) -> np.ndarray:
    """A numpy array: dtype a name or strategy (default: any of DTYPE_NAMES), shape a tuple or
    strategy (default: `shapes()`)."""
    if dtype is None:
        dtype = dtype_names()
    name = draw(dtype) if isinstance(dtype, st.SearchStrategy) else dtype
    if shape is None:
        shape = shapes()
    size = draw(shape) if isinstance(shape, st.SearchStrategy) else tuple(shape)
    return draw(hnp.arrays(np.dtype(name), size, elements=elements(name, special, max_magnitude)))


def dims(ndim: int) -> st.SearchStrategy[int]:
    """A valid `dim` argument for a tensor of `ndim` dims; torch accepts 0 and -1 for a 0-d one."""
    extent = max(ndim, 1)
    return st.integers(-extent, extent - 1)


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------


def dtype_name(dtype: Any) -> str:
    """'float32' for np.float32, np.dtype('float32'), torch.float32 or micrograd's float32."""
    if isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name.removeprefix("torch.")
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).removeprefix("torch.")


def to_both(
    array: Any, dtype: str | None = None, requires_grad: bool = False
) -> tuple[mt.Tensor, torch.Tensor]:
    """The same values as (our Tensor, torch's Tensor), each with its own copy of the data.
    `dtype` is a name ('float32', ...); None keeps the array's own dtype."""
    if isinstance(dtype, bool):
        raise TypeError("to_both: dtype is a name like 'float32'; pass requires_grad=True by name")
    arr = np.array(array, copy=True)
    if dtype is not None:
        arr = arr.astype(dtype)
    ours = mt.tensor(arr.copy(), requires_grad=requires_grad)
    theirs = torch.tensor(arr.copy(), requires_grad=requires_grad)
    return ours, theirs


def as_numpy(x: Any) -> np.ndarray:
    """The values of one of our Tensors, a torch Tensor, a numpy array or a Python number."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().resolve_conj().resolve_neg().numpy()
    if isinstance(x, mt.Tensor):
        return np.asarray(x.data)
    return np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------------


def ulp_distance(a: np.ndarray, b: np.ndarray) -> list[int]:
    """Elementwise distance in units in the last place between two float arrays of one dtype
    (0.0 and -0.0 are 0 apart). Floats are mapped to integers ordered as the floats are, one
    step per ulp; Python ints so nothing overflows."""
    int_type = np.int32 if a.dtype == np.float32 else np.int64
    magnitude = (1 << (8 * a.dtype.itemsize - 1)) - 1

    def ordered(x: np.ndarray) -> list[int]:
        bits = np.ascontiguousarray(x).view(int_type).ravel().tolist()
        return [v if v >= 0 else -(v & magnitude) for v in bits]

    return [abs(x - y) for x, y in zip(ordered(a), ordered(b))]


def _kind(x: Any) -> str:
    if isinstance(x, (torch.Tensor, mt.Tensor, np.ndarray, np.generic)):
        return "array"
    if isinstance(x, (bool, numbers.Number)):
        return "number"
    if isinstance(x, (tuple, list)):
        return "sequence"
    return "other"


def assert_same(
    ours: Any,
    theirs: Any,
    bitwise: bool = True,
    ulps: int = 0,
    check_dtype: bool = True,
    what: str = "result",
    check_values: bool = True,
) -> None:
    """Fail unless our result matches torch's: for tensors the same type of object, shape, dtype
    (by name) and values (bitwise, or within `ulps` units in the last place when bitwise is
    False); Python numbers the same type and value; tuples/lists/named tuples elementwise."""
    kind = _kind(theirs)
    if kind == "sequence":
        assert _kind(ours) == "sequence", (
            f"{what}: torch gives a {type(theirs).__name__}, we {ours!r}"
        )
        assert len(ours) == len(theirs), f"{what}: length {len(ours)} != torch's {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_same(o, t, bitwise, ulps, check_dtype, f"{what}[{i}]", check_values)
        return
    if kind == "number":
        # torch returns Python numbers from item(), tolist(), numel(), ...: the same type here.
        assert type(ours) is type(theirs), (
            f"{what}: {type(ours).__name__} {ours!r}, torch gives {type(theirs).__name__} {theirs!r}"
        )
        if check_values:
            _assert_values(np.asarray(ours), np.asarray(theirs), bitwise, ulps, what)
        return
    if kind == "other":
        assert ours == theirs, f"{what}: {ours!r} != torch's {theirs!r}"
        return
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mt.Tensor), (
            f"{what}: torch gives a Tensor, we a {type(ours).__name__}: {ours!r}"
        )
        assert tuple(ours.shape) == tuple(theirs.shape), (
            f"{what}: shape {tuple(ours.shape)} != torch's {tuple(theirs.shape)}"
        )
        if check_dtype:
            assert dtype_name(ours.dtype) == dtype_name(theirs.dtype), (
                f"{what}: dtype {dtype_name(ours.dtype)} != torch's {dtype_name(theirs.dtype)}"
            )
    if check_values:
        _assert_values(as_numpy(ours), as_numpy(theirs), bitwise, ulps, what)


# Default tolerances (rtol, atol) of assert_close by dtype name: a few roundings.
TOLERANCE = {"float32": (3e-5, 3e-6), "float64": (1e-11, 1e-12)}


def assert_close(
    ours: Any,
    theirs: Any,
    rtol: float | None = None,
    atol: float | None = None,
    what: str = "result",
) -> None:
    """As assert_same (types, shapes, dtypes, sequences elementwise, nan where torch has nan),
    but float values within rtol/atol (default TOLERANCE for the dtype): for results that
    depend on a summation order (BLAS products, reductions) or on a libm. Say why in the test."""
    if _kind(theirs) == "sequence":
        assert _kind(ours) == "sequence" and len(ours) == len(theirs), f"{what}: {ours!r}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_close(o, t, rtol, atol, f"{what}[{i}]")
        return
    assert_same(ours, theirs, what=what, check_values=False)
    expected, got = as_numpy(theirs), as_numpy(ours)
    if expected.dtype.kind != "f":
        assert_same(ours, theirs, what=what)
        return
    default_rtol, default_atol = TOLERANCE.get(expected.dtype.name, TOLERANCE["float32"])
    np.testing.assert_allclose(
        got,
        expected,
        rtol=default_rtol if rtol is None else rtol,
        atol=default_atol if atol is None else atol,
        err_msg=what,
    )


def _assert_values(a: np.ndarray, b: np.ndarray, bitwise: bool, ulps: int, what: str) -> None:
    assert a.shape == b.shape, f"{what}: shape {a.shape} != torch's {b.shape}"
    if a.dtype != b.dtype:
        # Only reached with check_dtype=False (or Python numbers): compare as the wider type.
        common = np.result_type(a, b)
        a, b = a.astype(common), b.astype(common)
    if a.dtype.kind != "f":
        assert np.array_equal(a, b), f"{what}: {a!r} != torch's {b!r}"
        return
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert np.array_equal(nan_a, nan_b), f"{what}: nan at different places: {a!r} vs torch's {b!r}"
    a_rest = np.ascontiguousarray(a[~nan_a])
    b_rest = np.ascontiguousarray(b[~nan_b])
    if bitwise and ulps == 0:
        assert a_rest.tobytes() == b_rest.tobytes(), (
            f"{what}: not bitwise equal:\n ours  {a!r}\n torch {b!r}"
        )
        return
    if a_rest.size:
        distance = ulp_distance(a_rest, b_rest)
        worst = max(distance)
        assert worst <= ulps, (
            f"{what}: {worst} ulps apart (allowed {ulps}):\n ours  {a!r}\n torch {b!r}"
        )


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def _run(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as error:  # noqa: BLE001 - the caller compares the exception itself
        return _Raised(error)


def _assert_raised_like(ours: Any, theirs: _Raised) -> None:
    expected = type(theirs.error)
    assert isinstance(ours, _Raised), (
        f"torch raises {expected.__name__}({theirs.error}), we return {ours!r}"
    )
    assert isinstance(ours.error, expected), (
        f"torch raises {expected.__name__}({theirs.error}); we raise "
        f"{type(ours.error).__name__}({ours.error})"
    )


def outcomes(fn_ours: Callable[[], Any], fn_torch: Callable[[], Any]) -> tuple[Any, Any] | None:
    """Run both. If torch raises, ours must raise an instance of torch's exception type (then
    None is returned); if torch does not raise, ours must not either, and (ours, torch's)
    results are returned for the caller to compare."""
    theirs = _run(fn_torch)
    ours = _run(fn_ours)
    if isinstance(theirs, _Raised):
        _assert_raised_like(ours, theirs)
        return None
    if isinstance(ours, _Raised):
        raise AssertionError(  # noqa: TRY004 - a test failure, not a type check
            f"torch returns {theirs!r}; we raise {type(ours.error).__name__}({ours.error})"
        ) from ours.error
    return ours, theirs


def assert_same_exception(fn_ours: Callable[[], Any], fn_torch: Callable[[], Any]) -> None:
    """Both must raise, ours an instance of the type torch raises."""
    theirs = _run(fn_torch)
    assert isinstance(theirs, _Raised), f"torch does not raise here (returns {theirs!r})"
    _assert_raised_like(_run(fn_ours), theirs)


def assert_same_grads(
    ours: Sequence[mt.Tensor],
    theirs: Sequence[torch.Tensor],
    bitwise: bool = True,
    ulps: int = 0,
    what: str = "grad",
) -> None:
    """Each leaf's `.grad`: None on both sides, or the same tensor (shape, dtype, values)."""
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if t.grad is None:
            assert o.grad is None, f"{what}[{i}]: torch has no gradient, we have {o.grad!r}"
            continue
        assert o.grad is not None, f"{what}[{i}]: torch has a gradient {t.grad!r}, we have None"
        assert_same(o.grad, t.grad, bitwise=bitwise, ulps=ulps, what=f"{what}[{i}]")


def signature_of(fn: Callable) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter, annotations left out. torch's builtins have no
    inspectable signature; their docstring's first line ('linear(input, weight, bias=None) ->
    Tensor') gives it."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except ValueError:
        lines = (fn.__doc__ or "").strip().splitlines()
        head = lines[0]
        for line in lines[1:]:  # a signature may continue on the next lines
            if head.count("(") <= head.count(")"):
                break
            head += " " + line.strip()
        head = head.split("->")[0].strip()
        tree = ast.parse(f"def {head}: pass")
        stub: dict = {}
        exec(compile(tree, "<signature>", "exec"), {}, stub)  # noqa: S102 - torch's own text
        parameters = inspect.signature(next(iter(stub.values()))).parameters.values()
    return [(p.name, p.kind, p.default) for p in parameters]


def assert_same_signature(ours: Callable, theirs: Callable, what: str = "") -> None:
    """The same parameter names, kinds, order and defaults as torch's function or class."""
    got, expected = signature_of(ours), signature_of(theirs)
    assert got == expected, (
        f"{what or getattr(ours, '__name__', ours)}: {got} != torch's {expected}"
    )
