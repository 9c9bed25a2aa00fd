"""A linear layer on a batch of sequences -- `x @ W`, `F.linear`, `nn.Linear` and
`micrograd.tensor.linear` with x of shape (..., K) and a 2-D weight -- is ONE 2-D product of
`x.reshape(-1, K)` with the weight, forward and backward, as PyTorch computes it (one GEMM):
not numpy's stack of small products, whose weight gradient is a sum over the stack.

Two checks per case:
* bit for bit against numpy's own 2-D product of the reshaped operands, which is what one 2-D
  product means (a stack of products summed afterwards adds in another order, so its last bits
  differ: these assertions fail on the stacked computation);
* against torch 2.13 within the rounding bound of a K-term dot product (numpy's BLAS and
  torch's kernels sum in different orders, so neither is the correctly rounded result):
  |ours - torch| <= 2 K eps (|x| @ |W|), elementwise.
"""

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
import micrograd.tensor.nn.functional as MF

SETTINGS = settings(max_examples=40, deadline=None)

# the five spellings of a linear layer; `run` applies one with either library (`lib`).
# `w` is (K, N); F.linear and nn.Linear take it transposed, (N, K), as torch stores it;
# nn.Linear returns (output, layer) so that its own parameters' gradients can be read.
SPELLINGS = ["@", "matmul", "F.linear", "nn.Linear", "mt.linear"]


def run(spelling, lib, x, w, b):
    if spelling == "@":
        out = x @ w
        return out if b is None else out + b
    if spelling == "matmul":
        out = lib.matmul(x, w)
        return out if b is None else out + b
    if spelling == "mt.linear":  # our fused x @ W + b node (weight (K, N)); torch: addmm's math
        return mt.linear(x, w, b) if lib is mt else torch.nn.functional.linear(x, w.t(), b)
    wt = w.t() if lib is torch else w.T
    if spelling == "F.linear":
        F = MF if lib is mt else torch.nn.functional
        return F.linear(x, wt, b)
    layer = lib.nn.Linear(w.shape[0], w.shape[1], bias=b is not None)
    # torch's layout: the weight stored (N, K), contiguous
    layer.weight = lib.nn.Parameter(wt.detach().contiguous())
    if b is not None:
        layer.bias = lib.nn.Parameter(b.detach())
    return layer(x), layer


@st.composite
def cases(draw):
    dtype = draw(st.sampled_from(["float32", "float64"]))
    lead = draw(st.lists(st.integers(1, 5), min_size=2, max_size=3))  # 3-D or 4-D inputs
    k, n = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    values = st.floats(-4, 4, width=32, allow_subnormal=False)
    x = draw(hnp.arrays(dtype, (*lead, k), elements=values))
    w = draw(hnp.arrays(dtype, (k, n), elements=values))
    g = draw(hnp.arrays(dtype, (*lead, n), elements=values))
    bias = draw(st.booleans())
    b = draw(hnp.arrays(dtype, (n,), elements=values)) if bias else None
    transposed = draw(st.booleans()) and len(lead) >= 2  # x a non-contiguous view
    spelling = draw(st.sampled_from(SPELLINGS))
    return spelling, x, w, b, g, transposed


def both(array, requires_grad=True):
    if array is None:
        return None, None
    return (
        mt.tensor(array.copy(), requires_grad=requires_grad),
        torch.tensor(array.copy(), requires_grad=requires_grad),
    )


def as_np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data)


@SETTINGS
@given(cases())
def test_a_stack_times_a_matrix_is_one_2d_product_forward_and_backward(case):
    spelling, x, w, b, g, transposed = case
    x_view = x.transpose(1, 0, *range(2, x.ndim)) if transposed else x
    g_view = g  # the upstream gradient has the layer output's shape (x_view's leading axes)
    if transposed:
        g_view = g.reshape(x_view.shape[:-1] + (w.shape[1],))
    k, n = w.shape
    rows = int(np.prod(x_view.shape[:-1]))
    x2 = np.ascontiguousarray(x_view).reshape(rows, k)
    g2 = g_view.reshape(rows, n)
    if spelling == "nn.Linear":
        # the layer stores its weight (N, K), contiguous; a product's last bits depend on the
        # operands' memory layout, so the reference uses the same one
        wn = np.ascontiguousarray(w.T)
        expected_out = x2.dot(wn.T)
        expected_gx = g2.dot(wn)
    else:
        expected_out = x2.dot(w)
        expected_gx = g2.dot(w.T)
    expected_out = expected_out.reshape(x_view.shape[:-1] + (n,))
    expected_gx = expected_gx.reshape(x_view.shape)
    if b is not None:
        expected_out = expected_out + b
    if spelling in ("F.linear", "nn.Linear"):  # torch's layout: the (N, K) gradient, one product
        expected_gw = g2.T.dot(x2).T
    else:
        expected_gw = x2.T.dot(g2)
    if transposed:
        expected_gx = expected_gx.transpose(1, 0, *range(2, x.ndim))

    xs, ws, bs = both(x), both(w), both(b)
    gs = both(g_view, requires_grad=False)
    results = {}
    for i, lib in enumerate((mt, torch)):
        xi = xs[i].transpose(0, 1) if transposed else xs[i]
        out = run(spelling, lib, xi, ws[i], bs[i])
        out, layer = out if isinstance(out, tuple) else (out, None)
        (out * gs[i]).sum().backward()
        if layer is not None:
            gw = layer.weight.grad.T if lib is mt else layer.weight.grad.t()
            gb = None if b is None else layer.bias.grad
        else:
            gw, gb = ws[i].grad, None if b is None else bs[i].grad
        results[lib.__name__] = [out, xs[i].grad, gw, gb]

    ours = [None if t is None else as_np(t) for t in results["micrograd.tensor"]]
    theirs = [None if t is None else as_np(t) for t in results["torch"]]
    expected = (expected_out, expected_gx, expected_gw)
    for name, got, want in zip(("output", "grad x", "grad W"), ours, expected):
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=f"{spelling}: {name}")

    # against torch: the rounding bound of a K-term (or rows-term) dot product
    eps = np.finfo(x.dtype).eps
    ax2, aw, ag2 = np.abs(x2), np.abs(w), np.abs(g2)
    bounds = [
        2 * k * eps * (ax2.dot(aw).reshape(expected_out.shape) + (0 if b is None else np.abs(b))),
        None,
        2 * rows * eps * ax2.T.dot(ag2),
    ]
    gx_bound = 2 * n * eps * ag2.dot(aw.T).reshape(x_view.shape)
    bounds[1] = gx_bound.transpose(1, 0, *range(2, x.ndim)) if transposed else gx_bound
    tiny = np.finfo(x.dtype).tiny
    for name, got, want, bound in zip(("output", "grad x", "grad W"), ours, theirs, bounds):
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.all(np.abs(got - want) <= bound + tiny), f"{spelling}: {name} vs torch"
    if b is not None:
        bias_bound = 2 * rows * eps * ag2.sum(0)
        assert np.all(np.abs(ours[3] - theirs[3]) <= bias_bound + tiny), f"{spelling}: grad b"
