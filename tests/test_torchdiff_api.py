"""Differential tests of the rest of `micrograd.tensor`'s API against torch 2.13: elementwise math,
reductions (dim, negative dims, keepdim, 0-d inputs, every dtype), softmaxes, matmul,
cat/stack, squeeze/unsqueeze, allclose, histogram, the random functions (the same numbers for the
same seed), and the Python protocol of a Tensor (len, iter, bool, float, int, index, item,
tolist, numpy).

Values: bitwise where torch's result is correctly rounded or exact (abs, neg, sqrt, max/min,
argmax, sums of small integers, lookups, random draws); float32 exp/log/tanh/sigmoid within 1 ulp
(different libms); float sums and means bitwise too (PyTorch's order of additions); products
of arbitrary floats within a tolerance. Gradients are compared on inputs of one dimension or
more (0-d gradients belong to the autograd tests)."""

# ruff: noqa: B023 -- the lambdas in loops are called at once, inside the iteration

from __future__ import annotations

import functools
import warnings

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import (
    TOLERANCE,
    arrays,
    as_numpy,
    assert_close,
    assert_same,
    broadcast_shapes,
    dims,
    outcomes,
    shapes,
    to_both,
)

import micrograd.tensor as mt

COVERED = {
    # elementwise
    "torch.abs", "torch.exp", "torch.log", "torch.sqrt", "torch.tanh", "torch.sigmoid",
    "torch.relu", "Tensor.abs", "Tensor.exp", "Tensor.log", "Tensor.log10", "Tensor.log2",
    "Tensor.sqrt", "Tensor.tanh", "Tensor.sigmoid", "Tensor.relu", "Tensor.neg",
    "Tensor.__neg__", "Tensor.__abs__",
    "torch.maximum", "torch.minimum",
    # reductions
    "torch.sum", "torch.mean", "torch.std", "torch.var", "torch.max", "torch.min",
    "torch.argmax", "torch.all", "torch.any", "Tensor.sum", "Tensor.mean", "Tensor.std",
    "Tensor.var", "Tensor.max", "Tensor.min", "Tensor.amax", "Tensor.amin", "Tensor.argmax",
    "Tensor.argmin", "Tensor.all", "Tensor.any",
    # softmaxes, matmul, joining, shapes
    "torch.softmax", "torch.log_softmax", "Tensor.softmax", "Tensor.log_softmax",
    "torch.matmul", "Tensor.matmul", "Tensor.__matmul__", "Tensor.__rmatmul__",
    "torch.cat", "torch.concatenate", "torch.stack", "torch.squeeze", "torch.unsqueeze",
    "Tensor.squeeze", "Tensor.unsqueeze",
    "torch.allclose", "torch.histogram", "torch.numel", "torch.is_tensor",
    # random numbers
    "torch.manual_seed", "torch.Generator", "torch.default_generator", "torch.randn",
    "torch.rand", "torch.randint", "torch.randperm", "torch.multinomial", "torch.randn_like",
    "torch.rand_like",
    # the Python protocol and conversions out
    "Tensor.__len__", "Tensor.__iter__", "Tensor.__bool__", "Tensor.__float__",
    "Tensor.__int__", "Tensor.__index__", "Tensor.__hash__", "Tensor.__array__",
    "Tensor.item", "Tensor.tolist", "Tensor.numpy", "Tensor.numel", "Tensor.nelement",
    "Tensor.dim", "Tensor.ndim", "Tensor.size", "Tensor.shape",
    "torch.is_grad_enabled",
}  # fmt: skip

SETTINGS = settings(max_examples=60, deadline=None)


def both(fn_ours, fn_torch, compare=assert_same, **options):
    """Run both; the same exception type, or results compared by `compare`. Returns the pair."""
    result = outcomes(fn_ours, fn_torch)
    if result is not None:
        compare(*result, **options)
    return result


# ---------------------------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------------------------

# name -> ulps allowed for float results (0: bitwise)
UNARY = {
    "abs": 0,
    "neg": 0,
    "sqrt": 1,  # numpy's float32 sqrt is correctly rounded; ours goes through float64 first
    "relu": 0,
    "exp": 1,
    "log": 1,
    "log10": 2,  # float64 log10/log2: numpy's and torch's libms, up to 2 ulps apart
    "log2": 2,
    "tanh": 1,
    "sigmoid": 2,  # float64: correctly rounded, torch's is not (float32: torch's own, 1 ulp)
}


# Outside their domain these raise the engine's DomainError (a ValueError naming the function
# and the first bad value) where torch returns nan or -inf: a documented refusal.
DOMAIN = ("log", "log10", "log2", "sqrt")


@SETTINGS
# every dtype: a bool or integer input gives torch's result dtype, or its refusal (relu and -
# of bools, abs of bools); log/sqrt outside their domain are the documented DomainError
@given(
    arrays(st.sampled_from(["float32", "float64", "int64", "bool"])), st.sampled_from(sorted(UNARY))
)
def test_unary_methods_and_functions(a, name):
    x, tx = to_both(a)
    ulps = 1 if name == "sigmoid" and a.dtype == np.float32 else UNARY[name]
    options = {"bitwise": ulps == 0, "ulps": ulps}
    if (
        name in DOMAIN
        # log: anything not > 0 (nan included); sqrt: negative numbers
        and (~(a > 0) if name != "sqrt" else (a < 0)).any()
    ):
        with pytest.raises(ValueError, match=name.rstrip("210")):
            getattr(x, name)()
        return
    both(lambda: getattr(x, name)(), lambda: getattr(tx, name)(), **options)
    if hasattr(mt, name):
        both(lambda: getattr(mt, name)(x), lambda: getattr(torch, name)(tx), **options)
    if name == "neg":
        both(lambda: -x, lambda: -tx)
    if name == "abs":
        both(lambda: abs(x), lambda: abs(tx))


@SETTINGS
@given(
    arrays(st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False),
    st.sampled_from(sorted(UNARY)),
)
def test_unary_gradients(a, name):
    if name in ("log", "log10", "log2", "sqrt"):
        a = np.abs(a) + 0.5  # inside the domain
    x, tx = to_both(a, requires_grad=True)
    getattr(x, name)().sum().backward()
    getattr(tx, name)().sum().backward()
    assert_close(x.grad, tx.grad, what="grad")


@SETTINGS
@given(broadcast_shapes(2), st.sampled_from(["float32", "float64", "int64"]), st.data())
def test_maximum_minimum(two, dtype, data):
    # finite values (maximum/minimum with an infinity is in the list of differences found) and
    # no bools (the autograd and dims tests compare those)
    a = data.draw(arrays(dtype, two[0], special=False))
    b = data.draw(arrays(dtype, two[1], special=False))
    (x, tx), (y, ty) = to_both(a), to_both(b)
    for name in ("maximum", "minimum"):
        # 0.0 and -0.0 tie: which one comes out is not part of the comparison
        both(lambda: getattr(mt, name)(x, y), lambda: getattr(torch, name)(tx, ty), bitwise=False)


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def _dim_argument(data, ndim: int):
    """None, an int (negative ones too) or a tuple of distinct dims."""
    return data.draw(
        st.one_of(
            st.none(),
            dims(ndim),
            st.lists(
                dims(ndim), min_size=1, max_size=max(ndim, 1), unique_by=lambda d: d % max(ndim, 1)
            ).map(tuple),
        )
    )


@SETTINGS
@given(
    # dims of 0-d tensors and max/min of bools: the autograd and dims tests
    arrays(st.sampled_from(["float32", "float64", "int64"]), shapes(min_dims=1)),
    st.data(),
    st.booleans(),
    st.sampled_from(["sum", "mean", "amax", "amin", "all", "any"]),
)
def test_reductions_over_dims(a, data, keepdim, name):
    dim = _dim_argument(data, a.ndim)
    x, tx = to_both(a)
    if dim is None:
        call, tcall = (lambda: getattr(x, name)()), (lambda: getattr(tx, name)())
    else:
        call = lambda: getattr(x, name)(dim, keepdim=keepdim)
        tcall = lambda: getattr(tx, name)(dim, keepdim=keepdim)
    if name in ("amax", "amin", "all", "any") or a.dtype.kind != "f":
        # (bitwise=False: 0.0 and -0.0 tie in amax/amin, and either may come out)
        compare = functools.partial(assert_same, bitwise=False)
    else:
        # float sums and means add in PyTorch's order: its bits, overflows and nans included
        compare = assert_same
    both(call, tcall, compare=compare)
    if hasattr(mt, name):
        args = () if dim is None else (dim,)
        kwargs = {} if dim is None else {"keepdim": keepdim}
        both(
            lambda: getattr(mt, name)(x, *args, **kwargs),
            lambda: getattr(torch, name)(tx, *args, **kwargs),
            compare=compare,
        )


@SETTINGS
@given(arrays("int64", shapes(min_dims=1), max_magnitude=100), st.data(), st.booleans())
def test_sums_and_means_of_small_integers_are_bitwise(a, data, keepdim):
    """Small integers as floats: every partial sum is exact, so the results are too."""
    dim = data.draw(dims(a.ndim))
    for dtype in ("float32", "float64"):
        x, tx = to_both(a.astype(dtype), requires_grad=True)
        both(lambda: x.sum(dim, keepdim), lambda: tx.sum(dim, keepdim))
        both(lambda: x.mean(dim, keepdim), lambda: tx.mean(dim, keepdim))
        x.mean(dim, keepdim).sum().backward()
        tx.mean(dim, keepdim).sum().backward()
        assert_same(x.grad, tx.grad)


@SETTINGS
@given(
    arrays(st.sampled_from(["float32", "float64", "int64"])),  # bools: the autograd tests
    st.data(),
    st.booleans(),
    st.sampled_from(["max", "min", "argmax", "argmin"]),
)
def test_max_min_arg_with_and_without_dim(a, data, keepdim, name):
    x, tx = to_both(a)
    zeros = {"bitwise": False}  # 0.0 and -0.0 tie: either may come out, in torch too
    both(lambda: getattr(x, name)(), lambda: getattr(tx, name)(), **zeros)
    if a.ndim == 0:
        return  # dims of 0-d tensors: the autograd and dims tests
    dim = data.draw(dims(a.ndim))
    both(lambda: getattr(x, name)(dim, keepdim), lambda: getattr(tx, name)(dim, keepdim), **zeros)
    both(lambda: getattr(x, name)(dim=dim), lambda: getattr(tx, name)(dim=dim), **zeros)
    if hasattr(mt, name):
        both(
            lambda: getattr(mt, name)(x, dim, keepdim),
            lambda: getattr(torch, name)(tx, dim, keepdim),
            **zeros,
        )


@SETTINGS
@given(
    arrays(st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False),
    st.data(),
    st.booleans(),
    st.sampled_from(["std", "var"]),
    st.sampled_from([None, 0, 1, 2]),
)
def test_std_var(a, data, keepdim, name, correction):
    dim = _dim_argument(data, a.ndim)
    x, tx = to_both(a, requires_grad=True)
    kwargs = {"keepdim": keepdim}
    if correction is not None:
        kwargs["correction"] = correction
    # torch accumulates float32 statistics in float64; ours stay in the input's dtype, so the
    # mean carries a rounding error of the data's scale: allow a few of those
    scale = float(np.abs(a).max()) * 4 * np.finfo(a.dtype).eps

    def compare(ours, theirs):
        values = np.abs(as_numpy(theirs))
        spread = float(np.sqrt(values.max())) if name == "var" and values.size else 0.0
        atol = scale * (2 * spread + scale) if name == "var" else scale
        assert_close(ours, theirs, atol=atol + TOLERANCE[a.dtype.name][1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns when the degrees of freedom are <= 0
        result = both(
            lambda: getattr(x, name)(dim, **kwargs),
            lambda: getattr(tx, name)(dim, **kwargs),
            compare=compare,
        )
        both(
            lambda: getattr(mt, name)(x, dim, keepdim=keepdim),
            lambda: getattr(torch, name)(tx, dim, keepdim=keepdim),
            compare=compare,
        )
        # gradients where the spread is well above the rounding of the mean (at a constant
        # row torch's std gradient is 0/0)
        # (and where squares of the values stay normal numbers: torch squares them in float64)
        squares_normal = (np.abs(a)[a != 0] > np.sqrt(np.finfo(a.dtype).tiny)).all()
        if (
            result is not None
            and squares_normal
            and np.isfinite(as_numpy(result[1])).all()  # no degrees of freedom: inf or nan
            and (np.abs(as_numpy(result[1])) > 1e3 * scale).all()
        ):
            result[0].sum().backward()
            result[1].sum().backward()
            assert_close(x.grad, tx.grad, rtol=1e-3 if a.dtype == np.float32 else 1e-8, what="grad")


# ---------------------------------------------------------------------------------------------
# Softmaxes, matmul, joining and shape functions
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    # (dims of 0-d tensors: the autograd and dims tests)
    arrays(
        st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False, max_magnitude=50
    ),
    st.data(),
)
def test_softmaxes(a, data):
    dim = data.draw(dims(a.ndim))
    for name in ("softmax", "log_softmax"):
        x, tx = to_both(a, requires_grad=True)
        both(lambda: getattr(x, name)(dim), lambda: getattr(tx, name)(dim), compare=assert_close)
        both(
            lambda: getattr(mt, name)(x, dim),
            lambda: getattr(torch, name)(tx, dim),
            compare=assert_close,
        )
        if a.ndim:
            upstream = np.linspace(-1, 1, a.size).reshape(a.shape).astype(a.dtype)
            (getattr(x, name)(dim) * mt.tensor(upstream)).sum().backward()
            (getattr(tx, name)(dim) * torch.tensor(upstream)).sum().backward()
            assert_close(x.grad, tx.grad, what="grad")


MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((1, 2, 3), (4, 3, 2)), ((2, 3), (4, 3)),
    ((), (3,)), ((3,), (4,)),
]  # fmt: skip


@SETTINGS
@given(st.sampled_from(MATMUL_SHAPES), st.sampled_from(["float32", "float64"]), st.data())
def test_matmul(shapes_pair, dtype, data):
    a = data.draw(arrays(dtype, shapes_pair[0], special=False, max_magnitude=10))
    b = data.draw(arrays(dtype, shapes_pair[1], special=False, max_magnitude=10))
    (x, tx), (y, ty) = to_both(a, requires_grad=True), to_both(b, requires_grad=True)
    shapes_match = {"compare": assert_close}
    result = both(lambda: x @ y, lambda: tx @ ty, **shapes_match)
    both(lambda: mt.matmul(x, y), lambda: torch.matmul(tx, ty), **shapes_match)
    both(lambda: x.matmul(y), lambda: tx.matmul(ty), **shapes_match)
    both(lambda: y.__rmatmul__(x), lambda: ty.__rmatmul__(tx), **shapes_match)
    if result is not None:
        result[0].sum().backward()
        result[1].sum().backward()
        assert_close(x.grad, tx.grad, what="grad a")
        assert_close(y.grad, ty.grad, what="grad b")


@SETTINGS
@given(
    shapes(min_dims=1),
    st.integers(1, 3),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.data(),
)
def test_cat_concatenate_stack(shape, count, dtype, data):
    dim = data.draw(dims(len(shape)))
    pieces = []
    for _ in range(count):
        grown = list(shape)
        grown[dim] = data.draw(st.integers(0, 3))  # cat joins along dim: other sizes may differ
        pieces.append(data.draw(arrays(dtype, tuple(grown))))
    ours, theirs = zip(*(to_both(p) for p in pieces))
    both(lambda: mt.cat(list(ours), dim), lambda: torch.cat(list(theirs), dim))
    both(lambda: mt.cat(ours, dim=dim), lambda: torch.cat(theirs, dim=dim))
    both(lambda: mt.concatenate(ours, dim), lambda: torch.concatenate(theirs, dim))
    same = [data.draw(arrays(dtype, shape)) for _ in range(count)]
    ours, theirs = zip(*(to_both(p) for p in same))
    stack_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    both(lambda: mt.stack(ours, stack_dim), lambda: torch.stack(theirs, stack_dim))


@SETTINGS
@given(shapes(max_side=2, max_dims=4), st.data())
def test_squeeze_unsqueeze(shape, data):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    x, tx = to_both(a, requires_grad=True)
    both(lambda: x.squeeze(), lambda: tx.squeeze())
    both(lambda: mt.squeeze(x), lambda: torch.squeeze(tx))
    dim = data.draw(st.integers(-len(shape) - 2, len(shape) + 1))
    if not shape:
        dim = data.draw(st.sampled_from([0, -1]))  # other dims of 0-d tensors: the dims tests
    both(lambda: x.squeeze(dim), lambda: tx.squeeze(dim))
    both(lambda: mt.squeeze(x, dim), lambda: torch.squeeze(tx, dim))
    both(lambda: x.unsqueeze(dim), lambda: tx.unsqueeze(dim))
    both(lambda: mt.unsqueeze(x, dim), lambda: torch.unsqueeze(tx, dim))
    result = both(lambda: x.unsqueeze(dim), lambda: tx.unsqueeze(dim))
    if result is not None and len(shape):
        result[0].sum().backward()
        result[1].sum().backward()
        assert_same(x.grad, tx.grad)


@SETTINGS
@given(broadcast_shapes(2), st.data(), st.booleans())
def test_allclose(two, data, equal_nan):
    a = data.draw(arrays("float64", two[0]))
    b = data.draw(st.one_of(st.just(None), arrays("float64", two[1])))
    b = a + 1e-9 if b is None else b
    (x, tx), (y, ty) = to_both(a), to_both(b)
    both(
        lambda: mt.allclose(x, y, equal_nan=equal_nan),
        lambda: torch.allclose(tx, ty, equal_nan=equal_nan),
    )
    both(lambda: mt.allclose(x, y, 1e-3, 1e-3), lambda: torch.allclose(tx, ty, 1e-3, 1e-3))


@SETTINGS
@given(
    arrays(st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False),
    st.integers(1, 10),
)
def test_histogram(a, bins):
    x, tx = to_both(a)

    def compare(ours, theirs):
        # torch's bins: edges from torch's linspace (bit for bit once linspace is torch's, which
        # is the construction tests' part); counts compared where no element is within a
        # rounding of an interior edge (another last bit of an edge moves it to the next bin)
        edges = as_numpy(theirs.bin_edges)
        width = float(np.abs(edges).max()) * 8 * np.finfo(a.dtype).eps
        assert_close(ours.bin_edges, theirs.bin_edges, atol=width)  # roundings of the range
        if not (np.abs(a.reshape(-1, 1) - edges[1:-1].reshape(1, -1)) <= width).any():
            assert_close(ours.hist, theirs.hist)

    both(lambda: mt.histogram(x, bins), lambda: torch.histogram(tx, bins), compare=compare)
    both(
        lambda: mt.histogram(x, bins, range=(-1.0, 1.0), density=True),
        lambda: torch.histogram(tx, bins, range=(-1.0, 1.0), density=True),
        compare=compare,
    )
    ours, theirs = mt.histogram(x, bins), torch.histogram(tx, bins)
    assert type(ours).__name__ == type(theirs).__name__ and ours._fields == ("hist", "bin_edges")
    given_edges, tgiven_edges = to_both(np.linspace(-2, 2, bins + 1).astype(a.dtype))
    both(lambda: mt.histogram(x, given_edges), lambda: torch.histogram(tx, tgiven_edges))


# ---------------------------------------------------------------------------------------------
# Random numbers: the same seed, the same numbers
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(
    st.integers(0, 2**32), shapes(max_dims=2, max_side=20), st.sampled_from(["float32", "float64"])
)
def test_random_draws_match_torch_for_a_seed(seed, shape, dtype):
    for name in ("randn", "rand"):
        mt.manual_seed(seed)
        torch.manual_seed(seed)
        both(
            lambda: getattr(mt, name)(shape, dtype=getattr(mt, dtype)),
            lambda: getattr(torch, name)(shape, dtype=getattr(torch, dtype)),
        )
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    both(lambda: mt.randint(0, 27, shape), lambda: torch.randint(0, 27, shape))
    g, tg = mt.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    both(lambda: mt.randn(shape, generator=g), lambda: torch.randn(shape, generator=tg))
    both(
        lambda: mt.randperm(len(shape) * 7 + 1, generator=g),
        lambda: torch.randperm(len(shape) * 7 + 1, generator=tg),
    )
    like, tlike = to_both(np.zeros(shape, dtype))
    mt.manual_seed(seed)
    torch.manual_seed(seed)
    both(lambda: mt.randn_like(like), lambda: torch.randn_like(tlike))
    both(lambda: mt.rand_like(like), lambda: torch.rand_like(tlike))
    assert mt.default_generator.initial_seed() == torch.default_generator.initial_seed() == seed


@SETTINGS
@given(
    st.integers(0, 2**32), st.integers(1, 5), st.integers(1, 8), st.booleans(), st.integers(1, 5)
)
def test_multinomial_matches_torch_for_a_seed(seed, rows, classes, replacement, samples):
    weights = np.random.default_rng(seed).random((rows, classes)).astype(np.float32) + 0.01
    w, tw = to_both(weights)
    g, tg = mt.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    both(
        lambda: mt.multinomial(w, samples, replacement, generator=g),
        lambda: torch.multinomial(tw, samples, replacement, generator=tg),
    )


# ---------------------------------------------------------------------------------------------
# The Python protocol and conversions out
# ---------------------------------------------------------------------------------------------


@SETTINGS
@given(arrays())
def test_python_protocol(a):
    x, tx = to_both(a)
    both(lambda: len(x), lambda: len(tx))
    both(lambda: [t for t in x], lambda: [t for t in tx])
    both(lambda: bool(x), lambda: bool(tx))
    both(lambda: float(x), lambda: float(tx))
    both(lambda: int(x), lambda: int(tx))
    both(lambda: [0, 1, 2][x], lambda: [0, 1, 2][tx])
    both(lambda: x.item(), lambda: tx.item())
    both(lambda: x.tolist(), lambda: tx.tolist())
    both(lambda: x.numel(), lambda: tx.numel())
    both(lambda: x.nelement(), lambda: tx.nelement())
    both(lambda: mt.numel(x), lambda: torch.numel(tx))
    both(lambda: x.dim(), lambda: tx.dim())
    both(lambda: x.ndim, lambda: tx.ndim)
    both(lambda: tuple(x.shape), lambda: tuple(tx.shape))
    both(lambda: tuple(x.size()), lambda: tuple(tx.size()))
    if a.ndim:
        both(lambda: x.size(-1), lambda: tx.size(-1))
    both(lambda: x.numpy(), lambda: tx.numpy())
    both(lambda: np.asarray(x), lambda: np.asarray(tx))
    assert hash(x) == hash(x) and hash(x) != hash(to_both(a)[0])  # by identity, as torch
    assert mt.is_tensor(x) and torch.is_tensor(tx) and not mt.is_tensor(a)


def test_is_grad_enabled_follows_no_grad():
    assert mt.is_grad_enabled() is torch.is_grad_enabled() is True
    with mt.no_grad(), torch.no_grad():
        assert mt.is_grad_enabled() is torch.is_grad_enabled() is False


# ---------------------------------------------------------------------------------------------
# Comparisons, logical operators, in-place updates, clone/detach, flatten, retain_grad
# ---------------------------------------------------------------------------------------------

COVERED |= {
    "Tensor.__eq__", "Tensor.__ne__", "Tensor.__lt__", "Tensor.__le__", "Tensor.__gt__",
    "Tensor.__ge__", "Tensor.__and__", "Tensor.__or__", "Tensor.__invert__",
    "Tensor.__imul__", "Tensor.__isub__", "Tensor.__itruediv__", "Tensor.div_",
    "Tensor.fill_", "Tensor.zero_", "Tensor.clone", "Tensor.detach", "Tensor.flatten",
    "Tensor.retain_grad",
}  # fmt: skip

COMPARISONS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


@SETTINGS
@given(
    broadcast_shapes(2),
    st.sampled_from(["float32", "float64", "int64", "bool"]),
    st.sampled_from(["float32", "int64", "bool"]),
    st.sampled_from(sorted(COMPARISONS)),
    st.data(),
)
def test_comparisons(two, dtype_a, dtype_b, op, data):
    (x, tx) = to_both(data.draw(arrays(dtype_a, two[0])))
    (y, ty) = to_both(data.draw(arrays(dtype_b, two[1])))
    compare = COMPARISONS[op]
    both(lambda: compare(x, y), lambda: compare(tx, ty))
    number = data.draw(st.sampled_from([0, 1, -1.5, 2.0, True, float("nan")]))
    both(lambda: compare(x, number), lambda: compare(tx, number))
    both(lambda: compare(number, x), lambda: compare(number, tx))


@pytest.mark.parametrize("op", sorted(COMPARISONS))
def test_comparisons_happen_in_pytorchs_common_dtype(op):
    """A float64 0-d tensor meets a float32 vector in float32 (524288.97 rounds to 524289), and
    an integer tensor meets a float number in float32 (16777217 rounds to 16777216): found by
    hypothesis where numpy's wider comparison answered differently."""
    compare = COMPARISONS[op]
    for make in (lambda lib: (lib.tensor(524288.97, dtype=lib.float64), lib.tensor([524289.0])),
                 lambda lib: (lib.tensor([16777217, 3]), 16777216.0)):  # fmt: skip
        (x, y), (tx, ty) = make(mt), make(torch)
        both(lambda: compare(x, y), lambda: compare(tx, ty))
        both(lambda: compare(y, x), lambda: compare(ty, tx))


@SETTINGS
@given(broadcast_shapes(2), st.sampled_from(["int64", "bool"]), st.data())
def test_logical_operators(two, dtype, data):
    (x, tx) = to_both(data.draw(arrays(dtype, two[0])))
    (y, ty) = to_both(data.draw(arrays(dtype, two[1])))
    both(lambda: x & y, lambda: tx & ty)
    both(lambda: x | y, lambda: tx | ty)
    both(lambda: ~x, lambda: ~tx)
    floats, tfloats = to_both(np.zeros(2, np.float32))
    both(lambda: ~floats, lambda: ~tfloats)  # refused in both


@SETTINGS
@given(
    broadcast_shapes(2).filter(lambda s: np.broadcast_shapes(*s) == s[0]),
    st.sampled_from(["float32", "float64"]),
    st.data(),
)
def test_in_place_updates(two, dtype, data):
    a = data.draw(arrays(dtype, two[0], special=False))
    b = data.draw(arrays(dtype, two[1], special=False)) + 0.5
    updates = {
        "*=": lambda u, v: u.__imul__(v),
        "-=": lambda u, v: u.__isub__(v),
        "/=": lambda u, v: u.__itruediv__(v),
        "div_": lambda u, v: u.div_(v),
        "fill_": lambda u, v: u.fill_(2.5),
        "zero_": lambda u, v: u.zero_(),
    }
    for name, update in updates.items():
        (x, tx), (y, ty) = to_both(a), to_both(b)
        result = both(lambda: update(x, y), lambda: update(tx, ty))
        if result is not None:
            assert (result[0] is x) is (result[1] is tx), name
            assert_same(x, tx, what=name)


@SETTINGS
@given(arrays(st.sampled_from(["float32", "float64"]), shapes(min_dims=1), special=False))
def test_clone_detach_and_retain_grad(a):
    x, tx = to_both(a, requires_grad=True)
    cloned, tcloned = x.clone(), tx.clone()
    assert_same(cloned, tcloned)
    assert cloned.requires_grad is tcloned.requires_grad and cloned.is_leaf is tcloned.is_leaf
    detached, tdetached = x.detach(), tx.detach()
    assert_same(detached, tdetached)
    assert detached.requires_grad is tdetached.requires_grad is False
    # detach shares the memory, clone copies it
    with mt.no_grad(), torch.no_grad():
        detached.fill_(7.0)
        tdetached.fill_(7.0)
    assert_same(x.detach(), tx.detach())
    assert_same(cloned, tcloned)
    middle, tmiddle = x * 2, tx * 2
    middle.retain_grad()
    tmiddle.retain_grad()
    (middle * middle).sum().backward()
    (tmiddle * tmiddle).sum().backward()
    assert_same(middle.grad, tmiddle.grad)
    assert_same(x.grad, tx.grad)


@SETTINGS
@given(arrays("float64", shapes(min_dims=1, max_dims=4), special=False), st.data())
def test_flatten(a, data):
    start = data.draw(st.integers(-a.ndim, a.ndim - 1))
    end = data.draw(st.integers(start % a.ndim - a.ndim, -1))
    x, tx = to_both(a, requires_grad=True)
    result = both(lambda: x.flatten(start, end), lambda: tx.flatten(start, end))
    both(lambda: x.flatten(), lambda: tx.flatten())
    result[0].sum().backward()
    result[1].sum().backward()
    assert_same(x.grad, tx.grad)
