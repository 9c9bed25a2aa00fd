"""The differential-test helpers (tests/torchdiff.py) catch the differences they are meant to:
a harness that cannot fail would make every test_torchdiff_* file pass vacuously."""

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import (
    arrays,
    assert_same,
    assert_same_exception,
    assert_same_grads,
    broadcast_shapes,
    dims,
    dtype_name,
    outcomes,
    shapes,
    to_both,
    ulp_distance,
)

import micrograd.tensor as mt

# These tests check the helpers, not the API (test_torch_api_coverage.py reads this set).
COVERED: set[str] = set()


@settings(max_examples=50, deadline=None)
@given(arrays())
def test_to_both_gives_equal_tensors(array):
    ours, theirs = to_both(array)
    assert_same(ours, theirs)
    assert dtype_name(ours.dtype) == array.dtype.name


def test_bitwise_tells_signed_zeros_apart_but_not_nans():
    assert_same(mt.tensor([np.nan, 1.0]), torch.tensor([-np.nan, 1.0]))
    with pytest.raises(AssertionError, match="bitwise"):
        assert_same(mt.tensor([-0.0]), torch.tensor([0.0]))
    with pytest.raises(AssertionError, match="nan at different places"):
        assert_same(mt.tensor([np.nan]), torch.tensor([1.0]))


def test_dtype_shape_and_type_differences_fail():
    with pytest.raises(AssertionError, match="dtype"):
        assert_same(mt.tensor([1.0], dtype=mt.float64), torch.tensor([1.0]))
    with pytest.raises(AssertionError, match="shape"):
        assert_same(mt.tensor([1.0]), torch.tensor(1.0))
    with pytest.raises(AssertionError, match="torch gives a Tensor"):
        assert_same(np.float32(1.0), torch.tensor(1.0))
    with pytest.raises(AssertionError, match="float"):
        assert_same(1, 1.0)  # a Python number of another type
    with pytest.raises(AssertionError, match="length"):
        assert_same((1, 2), (1, 2, 3))


def test_ulps():
    one = np.float32(1.0)
    next_up = np.nextafter(one, np.float32(2.0))
    assert ulp_distance(
        np.array([one, -0.0], np.float32), np.array([next_up, 0.0], np.float32)
    ) == [1, 0]
    assert ulp_distance(np.array([-1.0]), np.array([np.nextafter(-1.0, 0.0)])) == [1]
    assert_same(mt.tensor([next_up]), torch.tensor([1.0]), bitwise=False, ulps=1)
    with pytest.raises(AssertionError, match="ulps apart"):
        assert_same(mt.tensor([next_up]), torch.tensor([1.0]), bitwise=False, ulps=0)


def _raise(error_type):
    def fail():
        raise error_type("raised on purpose")

    return fail


def test_exceptions():
    assert outcomes(lambda: 1, lambda: 1) == (1, 1)
    assert outcomes(_raise(KeyError), _raise(LookupError)) is None
    with pytest.raises(AssertionError, match="we raise ValueError"):
        assert_same_exception(_raise(ValueError), _raise(IndexError))
    with pytest.raises(AssertionError, match="we return"):
        outcomes(lambda: 1, _raise(IndexError))
    with pytest.raises(AssertionError, match="torch returns"):
        outcomes(_raise(IndexError), lambda: 1)
    with pytest.raises(AssertionError, match="torch does not raise"):
        assert_same_exception(lambda: 1, lambda: 1)


def test_grads():
    ours, theirs = to_both(np.array([1.0, 2.0], np.float32), requires_grad=True)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    assert_same_grads([ours], [theirs])
    theirs.grad = None
    with pytest.raises(AssertionError, match="torch has no gradient"):
        assert_same_grads([ours], [theirs])


@settings(max_examples=30, deadline=None)
@given(broadcast_shapes(3), shapes(), st.data())
def test_strategies_give_what_they_say(three, shape, data):
    np.broadcast_shapes(*three)  # raises if they do not broadcast
    for dim in range(-max(len(shape), 1), max(len(shape), 1)):
        torch.zeros(shape).sum(dim)  # every dim dims() may draw is valid for torch
    torch.zeros(shape).sum(data.draw(dims(len(shape))))
