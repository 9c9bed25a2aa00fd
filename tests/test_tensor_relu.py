"""ReLU's forward on the bits (functions.relu: each float ANDed with a mask) against torch 2.13
bit for bit, signed zeros and NaNs of either sign included, on contiguous and strided arrays of
both float dtypes, and against the plain `np.where(a < 0, 0, a)` it replaces."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import micrograd.tensor as mt
from micrograd.tensor.functions import relu

SPECIAL = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, 5e-324, -5e-324]


def bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.int32 if a.dtype == np.float32 else np.int64)


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=9),
    data=st.data(),
    view=st.sampled_from(["contiguous", "transposed", "strided"]),
)
def test_relu_is_torchs_bit_for_bit(dtype, shape, data, view):
    values = st.one_of(st.sampled_from(SPECIAL), st.floats(-1e6, 1e6, width=32))
    a = data.draw(hnp.arrays(dtype, shape, elements=values))
    if view == "transposed":
        a = a.T
    elif view == "strided" and a.ndim:
        a = a[..., ::2]
    ours = mt.relu(mt.from_numpy(a)).data
    theirs = torch.relu(torch.from_numpy(np.array(a, order="C"))).numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(bits(np.array(ours, order="C")), bits(theirs))
    old = np.where(a < 0, 0, a)
    np.testing.assert_array_equal(bits(np.array(relu(a), order="C")), bits(old))


def test_relu_keeps_signed_zeros_and_nans_and_the_gradient():
    a = np.array([-0.0, 0.0, -np.nan, np.nan, -2.0, 3.0], np.float32)
    x = mt.from_numpy(a.copy()).requires_grad_()
    out = x.relu()
    np.testing.assert_array_equal(bits(out.data), bits(torch.relu(torch.from_numpy(a)).numpy()))
    out.sum().backward()
    assert x.grad.data.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]  # torch: 0 at 0 and at nan
