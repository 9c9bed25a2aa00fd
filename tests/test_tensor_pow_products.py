"""`x ** k` / `torch.pow(x, k)` for the exponents torch's CPU kernel computes as products
(3: x*x*x, -2: 1/(x*x), -0.5: 1/sqrt(x), and 2, -1) gives torch's floats bit for bit, float32
and float64, special values included; so do the gradients whose derivative is again such a
power (k * x**(k-1): 3, 2, -1), the others (-2, -0.5 need x**-3, x**-1.5: libm's pow against
torch's vectorised one) within 2 ulps. (makemore.py's tanh GELU raises x to 3.0 on every layer;
numpy's general power there was both slower and a few ulps from torch's.)"""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import arrays, assert_same

import micrograd.tensor as mt


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(["float32", "float64"]).flatmap(
        lambda dtype: arrays(dtype, st.integers(1, 30).map(lambda n: (n,)), max_magnitude=1e9)
    ),
    st.sampled_from([3, 3.0, -2, -2.0, -0.5, 2.0, -1.0]),
    st.sampled_from(["**", "torch.pow", "Tensor.pow"]),
)
def test_product_exponents_are_torch_bit_for_bit(x, k, spelling):
    if k == -0.5:
        x = np.abs(x)  # (a negative base with a fractional exponent is refused: its own test)
    ours = mt.tensor(x.copy(), requires_grad=True)
    theirs = torch.tensor(x.copy(), requires_grad=True)

    def apply(lib, t):
        if spelling == "**":
            return t**k
        return lib.pow(t, k) if spelling == "torch.pow" else t.pow(k)

    out_ours, out_theirs = apply(mt, ours), apply(torch, theirs)
    assert_same(out_ours, out_theirs, what=f"x ** {k!r}")
    g = np.linspace(-1, 1, x.size).astype(x.dtype)
    out_ours.backward(mt.tensor(g))
    out_theirs.backward(torch.tensor(g))
    if k in (3, 2, -1):
        assert_same(ours.grad, theirs.grad, what=f"grad of x ** {k!r}")
    else:
        assert_same(ours.grad, theirs.grad, bitwise=False, ulps=2, what=f"grad of x ** {k!r}")
