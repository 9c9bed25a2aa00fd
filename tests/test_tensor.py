"""Tests for micrograd/tensor/core.py and functions.py: every differentiable op's gradient against
finite differences (micrograd.gradcheck) and against PyTorch, in float64, on broadcast shapes and
edge cases; plus the table check (an op without a gradient test fails), errors, no_grad, freeing
the graph, accumulation and dtypes."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
import micrograd.tensor.nn.functional as MF
from micrograd import gradcheck
from micrograd.graph import backward_order, topological_order
from micrograd.tensor import Tensor, concatenate, linear, no_grad, stack
from micrograd.tensor import functions as F
from micrograd.tensor import losses as L

RNG = np.random.default_rng(1234)
CLAMP_LO = np.array([-0.5, -0.5, 0.0, 1.0, 0.0])  # equal to the input at two places, one above max
COND = np.array([[True, False, True], [False, False, True]])
_IDX2 = np.array([[0, 3, 3], [1, 0, 2]])  # an (n, 3) block of indices with repeats, as C[X]
_LAB = np.array([2, 0, 1, 2])


def _arange(n):
    return mt.arange(n)


def _const_t(a):
    return mt.tensor(a)


def _setitem_ours(a, v):
    b = a * 2.0
    b[1, 1:3] = v
    b[0] = 5.0
    return b * a


def _setitem_torch(a, v):
    b = a * 2.0
    b[1, 1:3] = v
    b[0] = 5.0
    return b * a


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def pos(*shape):
    return RNG.uniform(0.5, 2.0, size=shape)


def away_from_zero(*shape):
    """Values with |x| in [0.2, 2]: finite differences are exact away from relu's kink."""
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


def distinct(*shape):
    """A permutation of well separated values: no ties for max."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.37 - n * 0.1).reshape(shape)


# The cases of div/remainder/clamp/where draw from their own generator, so that the data of the
# other cases (and of the tests that draw from RNG later) stays what it was before they came.
_RNG2 = np.random.default_rng(4321)


def _rand2(*shape):
    return _RNG2.uniform(-2.0, 2.0, size=shape)


def _pos2(*shape):
    return _RNG2.uniform(0.5, 2.0, size=shape)


def _away2(*shape):
    return _RNG2.uniform(0.2, 2.0, size=shape) * _RNG2.choice([-1.0, 1.0], size=shape)


IDX = np.array([2, 0, 2, -1])  # repeats and a negative index
MASK = np.array([True, False, True])
CLASSES = np.array([2, 0, 1, 2])
PM1 = np.array([1.0, -1.0, -1.0, 1.0, 1.0])
BITS = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]])
ARR = rand(2, 3)
BASE = pos(3)

# name -> (our function, torch function, input arrays). Names start with the Tensor method or
# operator they test (checked by test_every_public_op_has_a_gradient_case).
CASES = {
    "add broadcast (2,3)+(3,)": (lambda a, b: a + b, lambda a, b: a + b, [rand(2, 3), rand(3)]),
    "add broadcast (2,1)+(1,3)": (lambda a, b: a + b, lambda a, b: a + b, [rand(2, 1), rand(1, 3)]),
    "add 0-d + (2,3)": (lambda a, b: a + b, lambda a, b: a + b, [rand(), rand(2, 3)]),
    "add number": (lambda a: a + 2.5, lambda a: a + 2.5, [rand(2, 3)]),
    "radd number": (lambda a: 2.5 + a, lambda a: 2.5 + a, [rand(2, 3)]),
    "radd array": (lambda a: ARR + a, lambda a: torch.from_numpy(ARR) + a, [rand(3)]),
    "sub broadcast": (lambda a, b: a - b, lambda a, b: a - b, [rand(2, 3), rand(2, 1)]),
    "sub number": (lambda a: a - 1.5, lambda a: a - 1.5, [rand(3)]),
    "rsub number": (lambda a: 1.5 - a, lambda a: 1.5 - a, [rand(3)]),
    "rsub array": (lambda a: ARR - a, lambda a: torch.from_numpy(ARR) - a, [rand(2, 1)]),
    "mul broadcast (3,1,2)*(4,2)": (lambda a, b: a * b, lambda a, b: a * b, [rand(3, 1, 2), rand(4, 2)]),
    "mul same input twice": (lambda a: a * a, lambda a: a * a, [rand(2, 3)]),
    "mul number": (lambda a: a * -3.0, lambda a: a * -3.0, [rand(2, 2)]),
    "rmul numpy scalar": (lambda a: np.float64(2.0) * a, lambda a: 2.0 * a, [rand(3)]),
    "truediv broadcast": (lambda a, b: a / b, lambda a, b: a / b, [rand(2, 3), pos(3)]),
    "truediv number": (lambda a: a / 4.0, lambda a: a / 4.0, [rand(3)]),
    "rtruediv number": (lambda a: 2.0 / a, lambda a: 2.0 / a, [pos(2, 2)]),
    "rtruediv array": (lambda a: ARR / a, lambda a: torch.from_numpy(ARR) / a, [pos(2, 3)]),
    "div tensor": (lambda a, b: a.div(b), lambda a, b: a.div(b), [_rand2(2, 3), _pos2(3)]),
    "divide number": (lambda a: a.divide(4.0), lambda a: a.divide(4.0), [_rand2(3)]),
    "true_divide tensor": (lambda a, b: a.true_divide(b), lambda a, b: a.true_divide(b), [_rand2(3), _pos2(3)]),
    "div rounding trunc (zero gradient)": (lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: a.div(b, rounding_mode="trunc"), [_away2(2, 3) * 3, _pos2(3)]),
    "remainder tensor": (lambda a, b: a.remainder(b), lambda a, b: a.remainder(b), [_away2(2, 3), np.array([0.7, -0.9, 1.3])]),
    "multiply tensor": (lambda a, b: a.multiply(b), lambda a, b: a.multiply(b), [_rand2(2, 3), _rand2(3)]),
    "subtract alpha": (lambda a, b: a.subtract(b, alpha=0.5), lambda a, b: a.subtract(b, alpha=0.5), [_rand2(2, 3), _rand2(3)]),
    "clamp numbers": (lambda a: a.clamp(-0.5, 0.75), lambda a: a.clamp(-0.5, 0.75), [_rand2(3, 4)]),
    "clamp at the bounds (array min)": (lambda a: a.clamp(CLAMP_LO, 0.5), lambda a: a.clamp(torch.from_numpy(CLAMP_LO), torch.tensor(0.5, dtype=torch.float64)), [np.array([[-1.0, -0.5, 0.0, 0.5, 2.0]])]),
    "clamp tensor bounds": (lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi), [_rand2(2, 3), _rand2(3) - 1, _rand2(2, 1) + 1]),
    "clip max only": (lambda a: a.clip(max=0.25), lambda a: a.clip(max=0.25), [_rand2(4)]),
    "where broadcast": (lambda a, b: mt.where(mt.tensor(COND), a, b), lambda a, b: torch.where(torch.from_numpy(COND), a, b), [_rand2(2, 3), _rand2(3)]),
    "pow 2": (lambda a: a**2, lambda a: a**2, [rand(2, 3)]),
    "pow 3": (lambda a: a**3, lambda a: a**3, [rand(2, 3)]),
    "pow 0.5": (lambda a: a**0.5, lambda a: a**0.5, [pos(3)]),
    "pow -1": (lambda a: a**-1, lambda a: a**-1, [pos(3)]),
    "pow tensor exponent": (lambda a, b: a**b, lambda a, b: a**b, [pos(2, 3), rand(3)]),
    "rpow number": (lambda a: 2.0**a, lambda a: 2.0**a, [rand(3)]),
    "rpow array": (lambda a: BASE ** a, lambda a: torch.from_numpy(BASE) ** a, [rand(3)]),
    "matmul 2-D": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(2, 3), rand(3, 4)]),
    "matmul vector @ matrix": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(3), rand(3, 4)]),
    "matmul matrix @ vector": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(2, 3), rand(3)]),
    "matmul vector @ vector": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(3), rand(3)]),
    "matmul batched broadcast": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(2, 2, 3), rand(3, 4)]),
    "matmul batch dims broadcast": (lambda a, b: a @ b, lambda a, b: a @ b, [rand(3, 1, 2, 3), rand(2, 3, 2)]),
    "rmatmul array": (lambda a: ARR @ a, lambda a: torch.from_numpy(ARR) @ a, [rand(3, 2)]),
    "neg": (lambda a: -a, lambda a: -a, [rand(2, 3)]),
    "exp": (lambda a: a.exp(), torch.exp, [rand(2, 3)]),
    "log": (lambda a: a.log(), torch.log, [pos(2, 3)]),
    "tanh": (lambda a: a.tanh(), torch.tanh, [rand(2, 3)]),
    "relu": (lambda a: a.relu(), torch.relu, [away_from_zero(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, [rand(2, 3, low=-6, high=6)]),
    "sum all": (lambda a: a.sum(), torch.sum, [rand(2, 3)]),
    "sum axis 0": (lambda a: a.sum(0), lambda a: a.sum(0), [rand(2, 3)]),
    "sum axis -1 keepdims": (lambda a: a.sum(-1, keepdims=True), lambda a: a.sum(-1, keepdim=True), [rand(2, 3)]),
    "sum axes (0,2)": (lambda a: a.sum((0, 2)), lambda a: a.sum((0, 2)), [rand(2, 3, 4)]),
    "sum empty axes ()": (lambda a: a.sum(()), lambda a: a * 1, [rand(2, 3)]),
    "mean all": (lambda a: a.mean(), torch.mean, [rand(2, 3)]),
    "mean axis 1 keepdims": (lambda a: a.mean(1, keepdims=True), lambda a: a.mean(1, keepdim=True), [rand(2, 3)]),
    "mean axes (-1,-3)": (lambda a: a.mean((-1, -3)), lambda a: a.mean((-1, -3)), [rand(2, 3, 4)]),
    "max all": (lambda a: a.max(), torch.amax, [distinct(2, 3)]),
    "max axis 1": (lambda a: a.max(1).values, lambda a: a.max(1).values, [distinct(2, 3)]),
    "max dim keepdim": (lambda a: a.max(dim=0, keepdim=True).values, lambda a: a.max(0, keepdim=True).values, [distinct(3, 2)]),
    "max dim with ties": (lambda a: a.max(1).values, lambda a: a.max(1).values, [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])]),
    "max of two tensors": (lambda a, b: a.max(b), lambda a, b: torch.max(a, b), [distinct(2, 3), distinct(2, 3) + 0.05]),
    "min all": (lambda a: a.min(), torch.amin, [distinct(2, 3)]),
    "min dim": (lambda a: a.min(1).values, lambda a: a.min(1).values, [distinct(2, 3)]),
    "amax axes": (lambda a: a.amax((0, 2)), lambda a: a.amax((0, 2)), [distinct(2, 3, 4)]),
    "amin": (lambda a: a.amin(1, keepdim=True), lambda a: a.amin(1, keepdim=True), [distinct(2, 3)]),
    "var all": (lambda a: a.var(), lambda a: a.var(), [rand(2, 3)]),
    "var dim keepdim unbiased=False": (lambda a: a.var(0, keepdim=True, unbiased=False), lambda a: a.var(0, keepdim=True, unbiased=False), [rand(4, 3)]),
    "var tuple dim correction=0": (lambda a: a.var((0, 1), correction=0), lambda a: a.var((0, 1), correction=0), [rand(4, 3, 2)]),
    "std dim": (lambda a: a.std(1), lambda a: a.std(1), [rand(3, 5)]),
    "std keepdims numpy names": (lambda a: a.std(axis=0, keepdims=True), lambda a: a.std(0, keepdim=True), [rand(5, 2)]),
    "sqrt": (lambda a: a.sqrt(), torch.sqrt, [pos(2, 3)]),
    "abs": (lambda a: a.abs(), torch.abs, [away_from_zero(2, 3)]),
    "log10": (lambda a: a.log10(), torch.log10, [pos(3)]),
    "log2": (lambda a: a.log2(), torch.log2, [pos(3)]),
    "pow method": (lambda a: a.pow(3), lambda a: a.pow(3), [rand(3)]),
    "sum dim keepdim torch names": (lambda a: a.sum(dim=1, keepdim=True), lambda a: a.sum(1, keepdim=True), [rand(2, 3)]),
    "mean tuple dim": (lambda a: a.mean((0, 1)), lambda a: a.mean((0, 1)), [rand(2, 3, 2)]),
    "view -1": (lambda a: a.view(-1, 6), lambda a: a.view(-1, 6), [rand(2, 3, 2)]),
    "flatten": (lambda a: a.flatten(1), lambda a: a.flatten(1), [rand(2, 3, 2)]),
    "squeeze": (lambda a: a.squeeze(1), lambda a: a.squeeze(1), [rand(2, 1, 3)]),
    "unsqueeze": (lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), [rand(2, 3)]),
    "permute": (lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), [rand(2, 3, 4)]),
    "transpose torch swap": (lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), [rand(2, 3, 4)]),
    "t": (lambda a: a.t(), lambda a: a.t(), [rand(2, 3)]),
    "mT": (lambda a: a.mT, lambda a: a.mT, [rand(2, 3, 4)]),
    "swapaxes": (lambda a: a.swapaxes(-1, 0), lambda a: a.swapaxes(-1, 0), [rand(2, 3, 4)]),
    "swapdims": (lambda a: a.swapdims(0, 1), lambda a: a.swapdims(0, 1), [rand(2, 3)]),
    "clone": (lambda a: a.clone() * a, lambda a: a.clone() * a, [rand(3)]),
    "unbind": (lambda a: a.unbind(1)[2] * 2 + a.unbind(1)[0], lambda a: a.unbind(1)[2] * 2 + a.unbind(1)[0], [rand(2, 3)]),
    "double": (lambda a: a.double() * 2, lambda a: a.double() * 2, [rand(3).astype(np.float32)]),
    "float": (lambda a: a.float() * 2, lambda a: a.float() * 2, [rand(3)]),
    "to float32": (lambda a: a.to(np.float32) * 2, lambda a: a.to(torch.float32) * 2, [rand(3)]),
    "getitem int tensor (embedding)": (lambda a: a[_IDX2], lambda a: a[torch.from_numpy(_IDX2)], [rand(4, 3)]),
    "getitem arange and labels": (lambda a: a[_arange(4), _LAB], lambda a: a[torch.arange(4), torch.from_numpy(_LAB)], [rand(4, 3)]),
    "getitem range": (lambda a: a[range(3), [0, 2, 1]], lambda a: a[range(3), [0, 2, 1]], [rand(3, 3)]),
    "setitem in the graph": (_setitem_ours, _setitem_torch, [rand(3, 4), rand(2)]),
    "F.linear": (lambda x, w, b: MF.linear(x, w, b), lambda x, w, b: torch.nn.functional.linear(x, w, b), [rand(5, 3), rand(4, 3), rand(4)]),
    "F.linear 3-D no bias": (lambda x, w: MF.linear(x, w), lambda x, w: torch.nn.functional.linear(x, w), [rand(2, 5, 3), rand(4, 3)]),
    "F.cross_entropy": (lambda z: MF.cross_entropy(z, _const_t(CLASSES)), lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(CLASSES)), [rand(4, 3)]),
    "F.cross_entropy sum": (lambda z: MF.cross_entropy(z, _const_t(CLASSES), reduction="sum"), lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(CLASSES), reduction="sum"), [rand(4, 3)]),
    "F.cross_entropy none": (lambda z: MF.cross_entropy(z, _const_t(CLASSES), reduction="none"), lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(CLASSES), reduction="none"), [rand(4, 3)]),
    "F.mse_loss": (lambda a, b: MF.mse_loss(a, b), lambda a, b: torch.nn.functional.mse_loss(a, b), [rand(3, 2), rand(3, 2)]),
    "F.mse_loss constant target": (lambda a: MF.mse_loss(a, _const_t(BITS[:3])), lambda a: torch.nn.functional.mse_loss(a, torch.from_numpy(BITS[:3])), [rand(3, 1)]),
    "F.mse_loss sum": (lambda a, b: MF.mse_loss(a, b, reduction="sum"), lambda a, b: torch.nn.functional.mse_loss(a, b, reduction="sum"), [rand(3, 2), rand(3, 2)]),
    "F.softmax": (lambda a: MF.softmax(a, dim=1), lambda a: torch.nn.functional.softmax(a, dim=1), [rand(2, 4)]),
    "F.log_softmax": (lambda a: MF.log_softmax(a, 0), lambda a: torch.nn.functional.log_softmax(a, 0), [rand(2, 4)]),
    "F.nll_loss float32": (lambda a: MF.nll_loss(a.log_softmax(1), _const_t(CLASSES), reduction="sum"), lambda a: torch.nn.functional.nll_loss(a.log_softmax(1), torch.from_numpy(CLASSES), reduction="sum"), [rand(4, 3).astype(np.float32)]),
    "F.nll_loss": (lambda a: MF.nll_loss(a.log_softmax(1), _const_t(CLASSES)), lambda a: torch.nn.functional.nll_loss(a.log_softmax(1), torch.from_numpy(CLASSES)), [rand(4, 3)]),
    "F.relu": (lambda a: MF.relu(a), torch.nn.functional.relu, [away_from_zero(2, 3)]),
    "F.tanh": (lambda a: MF.tanh(a), torch.tanh, [rand(2, 3)]),
    "F.sigmoid": (lambda a: MF.sigmoid(a), torch.sigmoid, [rand(2, 3)]),
    "F.embedding": (lambda w: MF.embedding(_const_t(_IDX2), w), lambda w: torch.nn.functional.embedding(torch.from_numpy(_IDX2), w), [rand(4, 3)]),
    "max axes (0,2) keepdims": (lambda a: a.max((0, 2), keepdims=True), lambda a: a.amax((0, 2), keepdim=True), [distinct(2, 3, 4)]),
    "masked_fill number": (lambda a: a.masked_fill(_const_t(COND), -1.5), lambda a: a.masked_fill(torch.from_numpy(COND), -1.5), [rand(2, 3)]),
    "masked_fill broadcast mask, tensor value": (lambda a, v: a.masked_fill(_const_t(MASK), v.reshape(())), lambda a, v: a.masked_fill(torch.from_numpy(MASK), v.reshape(())), [rand(2, 3), rand(1)]),
    "tril": (lambda a: a.tril(), lambda a: a.tril(), [rand(3, 4)]),
    "tril batched diagonal -1": (lambda a: a.tril(-1), lambda a: a.tril(-1), [rand(2, 3, 3)]),
    "triu diagonal 1": (lambda a: a.triu(1), lambda a: a.triu(1), [rand(3, 4)]),
    "roll dims": (lambda a: a.roll((1, -2), (0, 1)), lambda a: a.roll((1, -2), (0, 1)), [rand(3, 4)]),
    "roll flattened": (lambda a: a.roll(4), lambda a: a.roll(4), [rand(3, 2)]),
    "split sizes": (lambda a: concatenate([p * (i + 1) for i, p in enumerate(a.split([1, 3], 1))], 1), lambda a: torch.cat([p * (i + 1) for i, p in enumerate(a.split([1, 3], 1))], 1), [rand(2, 4)]),
    "split size": (lambda a: a.split(2)[1], lambda a: a.split(2)[1], [rand(3, 2)]),
    "chunk": (lambda a: a.chunk(2, -1)[0] * a.chunk(2, -1)[1], lambda a: a.chunk(2, -1)[0] * a.chunk(2, -1)[1], [rand(3, 4)]),
    "expand": (lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), [rand(3, 1)]),
    "expand_as": (lambda a, b: a.expand_as(b) * b, lambda a, b: a.expand_as(b) * b, [rand(1, 3), rand(2, 3)]),
    "topk": (lambda a: a.topk(2, dim=0).values, lambda a: a.topk(2, dim=0).values, [distinct(3, 4)]),
    "topk smallest unsorted": (lambda a: a.topk(3, largest=False, sorted=False).values, lambda a: a.topk(3, largest=False, sorted=False).values, [distinct(2, 5)]),
    "copy_ broadcast into a node": (lambda a, b: (a * 1).copy_(b) * a, lambda a, b: (a * 1).copy_(b) * a, [rand(2, 3), rand(3)]),
    "reshape": (lambda a: a.reshape(3, 2), lambda a: a.reshape(3, 2), [rand(2, 3)]),
    "reshape -1 tuple": (lambda a: a.reshape((-1,)), lambda a: a.reshape(-1), [rand(2, 3)]),
    "transpose": (lambda a: a.transpose(), lambda a: a.permute(2, 1, 0), [rand(2, 3, 4)]),
    "transpose axes": (lambda a: a.transpose(1, 0, 2), lambda a: a.permute(1, 0, 2), [rand(2, 3, 4)]),
    "transpose negative axes": (lambda a: a.transpose((-1, 0, 1)), lambda a: a.permute(2, 0, 1), [rand(2, 3, 4)]),
    "T": (lambda a: a.T, lambda a: a.T, [rand(2, 3)]),
    "getitem int": (lambda a: a[1], lambda a: a[1], [rand(3, 2)]),
    "getitem negative int": (lambda a: a[-1, -2], lambda a: a[-1, -2], [rand(3, 2)]),
    "getitem slices": (lambda a: a[1:, ::2], lambda a: a[1:, ::2], [rand(3, 4)]),
    "getitem None and Ellipsis": (lambda a: a[None, ..., 0], lambda a: a[None, ..., 0], [rand(3, 4)]),
    "getitem int array with repeats": (lambda a: a[IDX], lambda a: a[torch.from_numpy(IDX)], [rand(3, 2)]),
    "getitem list": (lambda a: a[[0, 0, 1]], lambda a: a[[0, 0, 1]], [rand(3, 2)]),
    "getitem mixed slice and array": (lambda a: a[:, IDX], lambda a: a[:, torch.from_numpy(IDX)], [rand(2, 3)]),
    "getitem two arrays": (lambda a: a[IDX, IDX], lambda a: a[torch.from_numpy(IDX), torch.from_numpy(IDX)], [rand(3, 3)]),
    "getitem bool mask": (lambda a: a[MASK], lambda a: a[torch.from_numpy(MASK)], [rand(3, 2)]),
    "concatenate axis 0": (lambda a, b, c: concatenate([a, b, c]), lambda a, b, c: torch.cat([a, b, c]), [rand(1, 3), rand(2, 3), rand(3, 3)]),
    "concatenate axis -1": (lambda a, b: concatenate([a, b], axis=-1), lambda a, b: torch.cat([a, b], -1), [rand(2, 1), rand(2, 3)]),
    "stack axis 0": (lambda a, b: stack([a, b]), lambda a, b: torch.stack([a, b]), [rand(2, 3), rand(2, 3)]),
    "stack axis -1": (lambda a, b: stack([a, b], axis=-1), lambda a, b: torch.stack([a, b], -1), [rand(2, 3), rand(2, 3)]),
    "softmax": (lambda a: a.softmax(), lambda a: a.softmax(-1), [rand(3, 4)]),
    "softmax axis 0 large": (lambda a: a.softmax(0), lambda a: a.softmax(0), [rand(3, 4) * 300]),
    "log_softmax": (lambda a: a.log_softmax(), lambda a: a.log_softmax(-1), [rand(3, 4)]),
    "log_softmax large logits": (lambda a: a.log_softmax(1), lambda a: a.log_softmax(1), [rand(2, 4) * 500]),
    "linear": (lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [rand(4, 3), rand(3, 2), rand(2)]),
    "linear no bias": (lambda x, w: linear(x, w), lambda x, w: x @ w, [rand(4, 3), rand(3, 2)]),
    "linear relu": (lambda x, w, b: linear(x, w, b, relu=True), lambda x, w, b: torch.relu(x @ w + b), [away_from_zero(4, 3), away_from_zero(3, 2), away_from_zero(2)]),
    "linear 1-D input": (lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [rand(3), rand(3, 2), rand(2)]),
    "linear 3-D input": (lambda x, w, b: linear(x, w, b), lambda x, w, b: x @ w + b, [rand(2, 4, 3), rand(3, 2), rand(2)]),
    "cast float32 + float64": (lambda a, b: a + b, lambda a, b: a + b, [rand(2, 3).astype(np.float32), rand(3)]),
    "loss hinge": (lambda s: L.hinge(s, PM1), lambda s: torch.relu(1 - torch.from_numpy(PM1)[:, None] * s).mean(), [rand(5, 1, low=-0.9, high=0.9) + 0.05]),
    "loss mse": (lambda p: L.mse(p, BITS), lambda p: ((p - torch.from_numpy(BITS)) ** 2).mean(), [rand(5, 1)]),
    "loss bce": (lambda z: L.binary_cross_entropy_with_logits(z, BITS), lambda z: torch.nn.functional.binary_cross_entropy_with_logits(z, torch.from_numpy(BITS)), [rand(5, 1, low=-40, high=40)]),
    "loss cross_entropy": (lambda z: L.cross_entropy(z, CLASSES), lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(CLASSES)), [rand(4, 3)]),
    "loss cross_entropy large logits": (lambda z: L.cross_entropy(z, CLASSES), lambda z: torch.nn.functional.cross_entropy(z, torch.from_numpy(CLASSES)), [rand(4, 3) * 1000]),
    "loss l2": (lambda a, b: L.l2([a, b], 0.3), lambda a, b: 0.3 * ((a * a).sum() + (b * b).sum()), [rand(2, 3), rand(4)]),
}  # fmt: skip

# Cases whose output has exactly equal inputs for the finite differences of float32, or where
# exp(500) differences are meaningless: checked against PyTorch only, or with looser tolerances.
FD_SKIP = {"softmax axis 0 large", "log_softmax large logits", "loss cross_entropy large logits",
           # float64 inputs rounded to float32: finite differences of 1e-6 vanish in the rounding
           "float", "to float32",
           # a tie: max(dim) is not differentiable there (the gradient goes to the first index)
           "max dim with ties",
           # inputs exactly at clamp's bounds: a kink, where PyTorch's gradient is 1
           "clamp at the bounds (array min)"}  # fmt: skip


def _weights(shape):
    """Fixed random weights: sum(w * out) makes every output element count differently."""
    return np.random.default_rng(7).uniform(0.5, 1.5, size=shape)


def _ours(name, arrays):
    fn = CASES[name][0]
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*ts)
    w = _weights(out.shape).astype(out.data.dtype)
    return ts, out, w


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_torch(name):
    _, tfn, arrays = CASES[name]
    ts, out, w = _ours(name, arrays)
    (out * Tensor(w, requires_grad=False)).sum().backward()
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = tfn(*tts)
    np.testing.assert_allclose(
        out.data,
        tout.detach().numpy(),
        rtol=1e-6 if out.data.dtype == np.float32 else 1e-12,
        atol=1e-12,
    )
    (tout * torch.from_numpy(w)).sum().backward()
    for t, tt in zip(ts, tts):
        assert t.grad is not None
        assert t.grad.shape == t.data.shape
        assert t.grad.dtype == t.data.dtype
        np.testing.assert_allclose(
            t.grad, tt.grad.numpy(), rtol=1e-6 if t.data.dtype == np.float32 else 1e-10, atol=1e-12
        )


@pytest.mark.parametrize(
    "name", sorted(n for n in CASES if "float32" not in n and "array" not in n and "large" not in n)
)
def test_float32_gradient_matches_torch_float32(name):
    """The same cases in float32 on both sides: values and gradients to float32 precision."""
    _, tfn, arrays = CASES[name]
    arrays = [a.astype(np.float32) for a in arrays]
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = CASES[name][0](*ts)
    w = _weights(out.shape).astype(np.float32)
    (out * Tensor(w)).sum().backward()
    tts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = tfn(*tts)
    (tout * torch.from_numpy(w).to(tout.dtype)).sum().backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=2e-5, atol=1e-6)
    for t, tt in zip(ts, tts):
        assert t.grad.dtype == tt.grad.numpy().dtype
        np.testing.assert_allclose(t.grad, tt.grad.numpy(), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name", sorted(set(CASES) - FD_SKIP))
def test_gradient_matches_finite_differences(name):
    fn, _, arrays = CASES[name]
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    w = Tensor(_weights(fn(*ts).shape), requires_grad=False)
    low_precision = any(a.dtype == np.float32 for a in arrays)
    gradcheck(
        lambda *xs: (fn(*xs) * w).sum(),
        ts,
        eps=1e-2 if low_precision else 1e-6,
        atol=1e-3 if low_precision else 1e-6,
        rtol=1e-2 if low_precision else 1e-5,
    )


def _functions_in(name):
    _, out, _ = _ours(name, CASES[name][2])
    return {type(node._fn).__name__ for node in topological_order(out) if node._fn is not None}


def test_every_primitive_has_a_gradient_case():
    covered = set().union(*(_functions_in(name) for name in CASES))
    missing = set(F.FUNCTIONS) - covered
    assert not missing, f"primitives without a gradient test: {sorted(missing)}"


# Public Tensor methods that compute no gradient of their own.
NOT_DIFFERENTIABLE = {
    "backward", "detach", "draw_dot", "item", "numpy", "tolist", "zero_grad", "data", "grad",
    "requires_grad", "label", "shape", "ndim", "size", "dtype", "dim", "numel", "nelement",
    "is_leaf", "retain_grad", "requires_grad_", "contiguous", "is_contiguous", "type", "long",
    "int", "bool",
    "argmax", "argmin", "all", "any",
    # in-place forms: tested with the tensor outside the graph, in test_tensor_api.py
    "add_", "sub_", "mul_", "div_", "zero_", "fill_", "clamp_", "clip_",
    # (and against torch in test_torchdiff_ops.py)
    "masked_fill_", "tril_", "triu_",
    # random initialisers (under no_grad in nn.init): their draws in test_torchdiff_modules.py
    "normal_", "uniform_",
    # the device (always the CPU), dtype queries and the storage printout
    "cpu", "cuda", "device", "element_size", "get_device", "is_cpu", "is_cuda",
    "is_floating_point", "storage", "itemsize", "nbytes",
    # PyTorch has no derivative for it: a backward pass through it raises (test_tensor_api.py)
    "floor_divide",
}  # fmt: skip
OPERATORS = {
    "__add__": "add", "__radd__": "radd", "__sub__": "sub", "__rsub__": "rsub", "__mul__": "mul",
    "__rmul__": "rmul", "__truediv__": "truediv", "__rtruediv__": "rtruediv", "__pow__": "pow",
    "__rpow__": "rpow", "__matmul__": "matmul", "__rmatmul__": "rmatmul", "__neg__": "neg",
    "__getitem__": "getitem", "__setitem__": "setitem", "__abs__": "abs",
}  # fmt: skip


def test_every_public_op_has_a_gradient_case():
    names = {n for n in dir(Tensor) if not n.startswith("_")} - NOT_DIFFERENTIABLE
    names |= {OPERATORS[n] for n in OPERATORS if n in vars(Tensor)}
    names |= {"concatenate", "stack", "linear"}
    case_ops = {name.split()[0] for name in CASES}
    aliases = {"matmul"}  # Tensor.matmul is `self @ other`
    missing = names - case_ops - aliases
    assert not missing, f"ops without a gradient test: {sorted(missing)}"


def test_max_shares_the_gradient_between_ties_like_torch_amax():
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for axis in (None, 1, 0):
        a = Tensor(data.copy(), requires_grad=True)
        ta = torch.tensor(data, requires_grad=True)
        (a.amax(() if axis is None else axis) * 2.0).sum().backward()
        ((ta.amax() if axis is None else ta.amax(axis)) * 2.0).sum().backward()
        np.testing.assert_allclose(a.grad, ta.grad.numpy())


def test_relu_gradient_at_zero_is_zero_like_torch():
    a = Tensor([-1.0, 0.0, 1.0], requires_grad=True)
    a.relu().sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0, 1.0])


def test_sigmoid_does_not_overflow():
    a = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise"):
        s = a.sigmoid()
        s.sum().backward()
    np.testing.assert_array_equal(s.data, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(a.grad, [0.0, 0.25, 0.0])


def test_log_softmax_is_finite_for_huge_logits():
    z = Tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    out = z.log_softmax()
    assert np.isfinite(out.data).all()
    np.testing.assert_allclose(out.data, [[0.0, -1000.0, -2000.0]])


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (
            lambda: (
                Tensor(np.ones((2, 3)), requires_grad=True)
                @ Tensor(np.ones((4, 5)), requires_grad=True)
            ),
            ["matmul", "(2, 3)", "(4, 5)"],
        ),
        (
            lambda: (
                Tensor(np.ones((2, 3)), requires_grad=True)
                + Tensor(np.ones((4,)), requires_grad=True)
            ),
            ["add", "(2, 3)", "(4,)"],
        ),
        (
            lambda: Tensor(np.ones((2, 3)), requires_grad=True) - np.ones((3, 2)),
            ["sub", "(2, 3)", "(3, 2)"],
        ),
        (
            lambda: (
                Tensor(np.ones((2, 3)), requires_grad=True)
                * Tensor(np.ones((2,)), requires_grad=True)
            ),
            ["mul", "(2, 3)", "(2,)"],
        ),
        (
            lambda: (
                Tensor(np.ones((2, 3)), requires_grad=True)
                / Tensor(np.ones((5,)), requires_grad=True)
            ),
            ["div", "(2, 3)", "(5,)"],
        ),
        (
            lambda: Tensor(np.ones((2, 3)), requires_grad=True).reshape(4, 2),
            ["reshape", "(2, 3)", "(4, 2)"],
        ),
        (
            lambda: concatenate(
                [
                    Tensor(np.ones((2, 3)), requires_grad=True),
                    Tensor(np.ones((2, 4)), requires_grad=True),
                ]
            ),
            ["concatenate", "(2, 3)", "(2, 4)"],
        ),
        (
            lambda: stack(
                [
                    Tensor(np.ones((2, 3)), requires_grad=True),
                    Tensor(np.ones((3, 2)), requires_grad=True),
                ]
            ),
            ["stack", "(2, 3)", "(3, 2)"],
        ),
        (
            lambda: linear(
                Tensor(np.ones((2, 3)), requires_grad=True),
                Tensor(np.ones((4, 5)), requires_grad=True),
            ),
            ["linear", "(2, 3)", "(4, 5)"],
        ),
        (lambda: Tensor(np.ones((2, 3)), requires_grad=True).sum(axis=2), ["sum", "axis 2"]),
        (
            lambda: Tensor(np.ones((2, 3)), requires_grad=True).transpose((0, 0)),
            ["transpose", "(0, 0)"],
        ),
        (lambda: Tensor(np.ones((2, 3)), requires_grad=True).backward(), ["backward", "(2, 3)"]),
        (
            lambda: Tensor(np.ones((2, 3)), requires_grad=True).backward(np.ones(3)),
            ["backward", "(3,)", "(2, 3)"],
        ),
    ],
)
def test_shape_errors_name_the_op_and_shapes(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize(
    "make, word",
    [
        (lambda: Tensor("abc", requires_grad=True), "str"),
        (lambda: Tensor(None, requires_grad=True), "NoneType"),
        (lambda: Tensor({"a": 1}, requires_grad=True), "dict"),
        (lambda: Tensor(np.array(["a"]), requires_grad=True), "<U1"),
        (lambda: Tensor([1.0], requires_grad=True) + "x", "str"),
        (lambda: Tensor([1.0], requires_grad=True) * None, "NoneType"),
        (lambda: Tensor([1.0], requires_grad=True) @ "x", "str"),
        (lambda: Tensor([1.0], requires_grad=True)[1.5], "float"),
        (lambda: Tensor([1.0], requires_grad=True)[np.array([0.0])], "float64"),
    ],
)
def test_bad_types_raise_type_error_naming_the_type(make, word):
    with pytest.raises(TypeError) as info:
        make()
    assert word in str(info.value)


# -- graph semantics --------------------------------------------------------------------------


def test_leaf_gradients_accumulate_and_interior_ones_are_recomputed():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.retain_grad()
    w = y * 3.0  # an interior node that keeps no gradient
    z = w.sum()
    z.backward(retain_graph=True)
    assert w.grad is None
    np.testing.assert_array_equal(x.grad, [6.0, 12.0, 18.0])
    np.testing.assert_array_equal(y.grad, [3.0, 3.0, 3.0])
    z.backward()
    np.testing.assert_array_equal(x.grad, [12.0, 24.0, 36.0])  # leaf: accumulated
    np.testing.assert_array_equal(y.grad, [3.0, 3.0, 3.0])  # interior: recomputed
    x.zero_grad()
    assert x.grad is None


def test_a_scalar_cube_like_the_compat_doc():
    x = Tensor(3.0, requires_grad=True)
    y = x * x * x
    y.backward(retain_graph=True)
    assert x.grad == 27.0
    y.backward()
    assert x.grad == 54.0  # the original micrograd gave 72 (interior over-counting)


def test_graph_is_freed_after_backward():
    x = Tensor(rand(3, 2), requires_grad=True)
    h = (x * 2.0).exp()
    ref = weakref.ref(h)
    loss = h.sum()
    del h
    gc.disable()  # freeing must not need the cyclic collector: no reference cycles
    try:
        loss.backward()
        assert ref() is None
    finally:
        gc.enable()
    assert loss._prev == ()
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


@pytest.mark.parametrize(
    "make, words",
    [
        (
            lambda: Tensor([1.0, 0.0, 2.0], requires_grad=True).log(),
            ["log", "positive", "1 of 3", "0.0"],
        ),
        (lambda: Tensor([[1.0], [-2.0]], requires_grad=True).log(), ["log", "positive", "-2.0"]),
        (
            lambda: Tensor([4.0, -8.0], requires_grad=True) ** 0.5,
            ["**0.5", "negative base", "-8.0"],
        ),
        (
            lambda: Tensor([-2.0], requires_grad=True) ** Tensor([2.0], requires_grad=True),
            ["**", "negative base", "-2.0"],
        ),
    ],
)
def test_undefined_math_raises_value_error_instead_of_nan(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


def test_integral_powers_of_negative_numbers_are_fine():
    out = Tensor([-2.0, 3.0], requires_grad=True) ** 3
    out.sum().backward()
    assert out.data.tolist() == [-8.0, 27.0]


def test_second_backward_through_a_freed_part_raises():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.sum().backward()
    with pytest.raises(RuntimeError, match="freed"):
        (y * 2.0).sum().backward()


def test_a_copied_node_and_its_original_backpropagate_together():
    # copies share the creation number the backward pass orders nodes by; ties must not compare
    # the tensors themselves (elementwise) and the gradients must still be right
    import copy

    a = Tensor([1.0, 2.0], requires_grad=True)
    b = a * 2.0
    c = copy.deepcopy(b)  # a new graph: its own copy of `a`
    a_copy = c._prev[0]
    assert a_copy is not a and c._seq == b._seq
    (b * 3.0 + c).sum().backward()
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])
    np.testing.assert_array_equal(a_copy.grad, [2.0, 2.0])


def test_retained_root_gradient_is_a_tensor_of_ones():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.retain_grad()
    loss.backward()
    assert type(loss.grad) is Tensor and loss.grad.item() == 1.0  # as torch's loss.grad


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(32, 200), (5, 3), (1, 4), (0, 3), (4, 0)])
def test_row_and_column_sums_match_numpy_and_torch(shape, dtype):
    # 2-D sums over one axis go through BLAS (reduce_sum): same values, same shapes
    a = RNG.standard_normal(shape).astype(dtype)
    t, ta = mt.from_numpy(a), torch.from_numpy(a)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            for op in ("sum", "mean"):
                ours = getattr(t, op)(dim, keepdim=keepdim)
                theirs = getattr(ta, op)(dim, keepdim=keepdim).numpy()
                assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
                np.testing.assert_allclose(ours.data, theirs, rtol=rtol, atol=1e-6)


def test_std_of_a_constant_column_gives_torchs_zero_gradient_without_a_warning():
    import warnings

    a = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]])
    x, tx = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's RuntimeWarning would fail the test
        x.std(0).sum().backward()
    tx.std(0).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
    assert (x.grad.data[:, 0] == 0).all()  # PyTorch masks the 0/0 where the spread is 0
    x1, tx1 = Tensor(a[:1], requires_grad=True), torch.tensor(a[:1], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x1.std(0).sum().backward()  # one row: the unbiased std is nan, and so is its gradient
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns that one row has no degrees of freedom
        tx1.std(0).sum().backward()
    np.testing.assert_allclose(x1.grad.data, tx1.grad.numpy(), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("classes", [2, 27, 7000])
def test_cross_entropy_of_any_size_of_logits_matches_torch_without_warnings(classes, dtype):
    # small losses take the label-shifted sums, large ones (capped differences) the row maxima
    import warnings

    for scale in (0.01, 1.0, 10.0, 100.0, 1e6):
        z = (RNG.standard_normal((16, classes)) * scale).astype(dtype)
        y = RNG.integers(0, classes, 16)
        x, tx = mt.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning: PyTorch gives none
            loss = MF.cross_entropy(x, mt.tensor(y))
            loss.backward()
        tloss = torch.nn.functional.cross_entropy(tx, torch.tensor(y))
        tloss.backward()
        rtol = 1e-6 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=rtol)
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=rtol)


@pytest.mark.parametrize("label", [0, 1])
@pytest.mark.parametrize(
    "row",
    [[0.0, np.inf, 1.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [np.nan, 0.0, 1.0],
     [-np.inf, -np.inf, -np.inf], [1e30, -1e30, 0.0]],
)  # fmt: skip
def test_cross_entropy_of_infinite_and_nan_logits_matches_torch(row, label):
    import warnings

    z = np.array([row, [0.5, 0.1, 0.2]], dtype=np.float32)
    x, tx = mt.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's invalid-value warnings for inf - inf
        loss = MF.cross_entropy(x, mt.tensor([label, 2]))
        loss.backward()
    tloss = torch.nn.functional.cross_entropy(tx, torch.tensor([label, 2]))
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("vocab", [5, 100, 2000])  # the three ways the backward scatters
def test_embedding_lookup_with_negative_indices_backpropagates_like_torch(vocab):
    # -1 is the last row, as in the lookup; the gradient must reach that row
    table = RNG.standard_normal((vocab, 2)).astype(np.float32)
    idx = np.array([[-1, 0], [2, -2], [-vocab, vocab - 1]])
    weights = RNG.standard_normal((3, 2, 2)).astype(np.float32)
    c, tc = mt.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    (c[mt.tensor(idx)] * mt.tensor(weights)).sum().backward()
    (tc[torch.tensor(idx)] * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(c.grad.data, tc.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("vocab", [5, 100, 2000])
@pytest.mark.parametrize("idx_shape", [(0,), (0, 3), (2, 0)])
def test_embedding_lookup_with_no_indices_gives_a_zero_gradient_like_torch(vocab, idx_shape):
    table = RNG.standard_normal((vocab, 4))
    idx = np.zeros(idx_shape, dtype=np.int64)
    c, tc = mt.tensor(table, requires_grad=True), torch.tensor(table, requires_grad=True)
    out, tout = c[mt.tensor(idx)], tc[torch.tensor(idx)]
    assert out.shape == tuple(tout.shape)
    (out.sum() + c.sum()).backward()
    (tout.sum() + tc.sum()).backward()
    np.testing.assert_array_equal(c.grad.data, tc.grad.numpy())


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint64, np.int64])
def test_any_integer_labels_and_indices_train_like_int64(dtype):
    # uint64 plus the int64 row positions would be float64: the pick and the scatter must not
    logits = RNG.standard_normal((4, 3))
    table = RNG.standard_normal((5, 2))
    labels, idx = np.array([0, 2, 1, 1]), np.array([[0, 4], [4, 3]])
    grads = {}
    for dt in (np.int64, dtype):
        x, c = Tensor(logits, requires_grad=True), Tensor(table, requires_grad=True)
        loss = (
            MF.cross_entropy(x, mt.tensor(labels.astype(dt))) + c[mt.tensor(idx.astype(dt))].sum()
        )
        loss.backward()
        grads[dt] = (loss.item(), x.grad.data, c.grad.data)
    assert grads[dtype][0] == grads[np.int64][0]
    np.testing.assert_array_equal(grads[dtype][1], grads[np.int64][1])
    np.testing.assert_array_equal(grads[dtype][2], grads[np.int64][2])


def test_long_sums_are_not_cached():
    # the BLAS sums keep their vectors of ones for batch-sized axes only
    F._CACHE.clear()
    Tensor(np.ones((100_000, 3))).sum(0)
    Tensor(np.ones((3, 100_000))).mean(1)
    assert all(a.size <= F._CACHED_SIZE for a in F._CACHE.values())
    assert Tensor(np.ones((100_000, 3))).sum(0).tolist() == [100_000.0] * 3


def test_an_interrupted_backward_leaves_tensor_gradients_that_accumulate():
    class CtrlC(F.Function):  # a Ctrl-C arriving inside a node's backward
        __slots__ = ()

        def backward(self, g, prev):
            raise KeyboardInterrupt

    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    e = (a * b).exp()
    e._fn = CtrlC()
    with pytest.raises(KeyboardInterrupt):
        (e + b).sum().backward()  # b's gradient from `+ b` arrives before the interruption
    assert type(b.grad) is Tensor and a.grad is None
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    (a * b).sum().backward()  # a new graph: accumulates onto the kept gradient
    assert type(b.grad) is Tensor and type(a.grad) is Tensor
    np.testing.assert_array_equal(b.grad, [2.0, 3.0])
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_leaf_gradient_is_its_own_array():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 1.0  # an optimizer may update gradients in place
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    c = Tensor([[1.0, 2.0]], requires_grad=True)
    c.reshape(2).sum().backward()
    assert c.grad.data.flags.writeable and c.grad.data.base is None
    assert type(c.grad) is Tensor and not c.grad.requires_grad  # a Tensor, as in PyTorch


def test_backward_with_explicit_gradient_matches_torch():
    a = rand(2, 3)
    g = rand(2, 3)
    x = Tensor(a.copy(), requires_grad=True)
    (x.tanh() * 2.0).backward(g)
    tx = torch.tensor(a, requires_grad=True)
    (tx.tanh() * 2.0).backward(torch.from_numpy(g))
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)


def test_no_grad_builds_no_graph_and_restores_the_mode():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (x * 2.0).exp()
    assert not y.requires_grad and y._prev == () and y._op == ""
    with pytest.raises(RuntimeError, match="does not require"):
        y.sum().backward()
    z = x * 2.0
    assert z.requires_grad and z._prev == (x,)

    @no_grad()
    def evaluate(t):
        return t * 3.0

    assert not evaluate(x).requires_grad
    with pytest.raises(KeyError), no_grad():
        raise KeyError("inside")
    assert (x * 1.0).requires_grad


def test_inputs_without_requires_grad_get_no_gradient():
    data = Tensor([1.0, 2.0], requires_grad=False)
    w = Tensor([3.0, 4.0], requires_grad=True)
    (data * w).sum().backward()
    assert data.grad is None
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_graph_protocol_serves_micrograd_graph_and_per_node_backward():
    x = Tensor([0.5, -1.0], requires_grad=True)
    y = (x * x + x).tanh()
    loss = y.sum()
    order = topological_order(loss)
    assert order[0] is x and order[-1] is loss
    assert [n._op for n in order] == ["", "*", "+", "tanh", "sum"]
    # the per-node chain rule, driven by hand as the animated backward pass does
    loss.grad = np.ones(())
    for node in backward_order(loss):
        node._backward()
    by_hand = x.grad.copy()
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(by_hand, x.grad, rtol=1e-15)


def test_draw_dot_draws_the_tensor_graph():
    pytest.importorskip("graphviz")
    x = Tensor([1.0, 2.0], label="x", requires_grad=True)
    loss = (x * 2.0).relu().sum()
    dot = loss.draw_dot()
    for text in ("ReLU", "sum", "x"):
        assert text in dot.source


# -- dtypes and inputs ------------------------------------------------------------------------


def test_dtypes():
    assert Tensor([1, 2], requires_grad=True).dtype == np.float64
    assert Tensor(3, requires_grad=True).dtype == np.float64
    assert Tensor(np.arange(3), requires_grad=True).dtype == np.float64
    a32 = np.ones(3, dtype=np.float32)
    t = Tensor(a32, requires_grad=True)
    assert t.data is a32  # wrapped, not copied
    assert (t * 2.0).dtype == np.float32
    assert (np.float64(2.0) * t).dtype == np.float32  # numpy scalars stay "weak" like 2.0


@pytest.mark.parametrize(
    "name", sorted(n for n in CASES if "float32" not in n and "array" not in n and n != "double")
)  # (an operand that is a float64 numpy array promotes the result to float64, as in PyTorch)
def test_float32_in_float32_out(name):
    fn, _, arrays = CASES[name]
    ts = [Tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    out = fn(*ts)
    assert out.data.dtype == np.float32
    out.sum().backward()
    for t in ts:
        assert t.grad.dtype == np.float32, name


def test_cast_gradient_comes_back_in_each_dtype():
    a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_import_micrograd_does_not_load_numpy():
    code = "import sys, micrograd; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_repr_and_helpers():
    t = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(t) == "tensor([1., 2.], dtype=torch.float64, requires_grad=True)"
    assert t.shape == (2,) and t.ndim == 1 and t.size() == (2,) and len(t) == 2
    assert t.numel() == 2 and t.nelement() == 2 and t.dim() == 1 and t.size(-1) == 2
    assert t.tolist() == [1.0, 2.0]
    assert Tensor(2.5, requires_grad=True).item() == 2.5
    d = t.detach()
    assert d.data is t.data and not d.requires_grad


# -- broadcasting, on random shape pairs ---------------------------------------------------------


@st.composite
def broadcastable_shapes(draw):
    """Two shapes numpy can broadcast: a common shape, each side dropping leading axes and
    setting some lengths to 1."""
    full = draw(st.lists(st.integers(1, 3), min_size=0, max_size=4))
    sides = []
    for _ in range(2):
        keep = draw(st.integers(0, len(full)))
        shape = [n if not draw(st.booleans()) else 1 for n in full[len(full) - keep :]]
        sides.append(tuple(shape))
    return sides


@settings(max_examples=60, deadline=None)
@given(shapes=broadcastable_shapes(), op=st.sampled_from(["+", "-", "*", "/", "**"]))
def test_broadcast_gradients_match_torch_on_random_shapes(shapes, op):
    rng = np.random.default_rng(abs(hash((tuple(shapes), op))) % 2**32)
    a = rng.uniform(0.5, 2.0, size=shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes[1])
    fns = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
        "**": lambda x, y: x**y,
    }
    ta, tb = Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)
    out = fns[op](ta, tb)
    w = _weights(out.shape)
    (out * Tensor(w, requires_grad=False)).sum().backward()
    xa, xb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (fns[op](xa, xb) * torch.from_numpy(w)).sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    np.testing.assert_allclose(ta.grad, xa.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad, xb.grad.numpy(), rtol=1e-10, atol=1e-12)
