"""micrograd.gradcheck: finite differences agree with correct derivatives and catch wrong ones."""

from __future__ import annotations

import math

import pytest

from micrograd import GradcheckError, Value, gradcheck
from micrograd.gradcheck import numerical_gradients


def test_numerical_gradients_of_a_known_function():
    # f(a, b) = a**2 * b: df/da = 2ab = -12, df/db = a**2 = 9
    grads = numerical_gradients(lambda a, b: a**2 * b, [Value(3.0), Value(-2.0)])
    assert grads[0][0] == pytest.approx(-12.0, rel=1e-6)
    assert grads[1][0] == pytest.approx(9.0, rel=1e-6)


def test_inputs_are_restored():
    a = Value(0.3)
    numerical_gradients(lambda a: a.tanh(), [a])
    assert a.data == 0.3


def test_passes_for_correct_ops():
    assert gradcheck(lambda a, b: (a * b + a.exp()).tanh() / (b * b + 1), [Value(0.3), Value(-1.2)])


def test_catches_a_wrong_derivative():
    def wrong_square(v):
        out = Value(v.data**2, (v,), "square")

        def _backward():
            v.grad += 3 * v.data * out.grad  # should be 2 * v.data

        out._backward = _backward
        return out

    with pytest.raises(GradcheckError, match=r"input 0: backward\(\) gives 4.5"):
        gradcheck(wrong_square, [Value(1.5)])
    assert gradcheck(wrong_square, [Value(1.5)], raise_exception=False) is False


def test_needs_inputs():
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda: Value(1.0), [])


def test_tensor_inputs_with_numpy_arrays():
    np = pytest.importorskip("numpy")

    class Box:  # the smallest node with array data: enough for the numerical side
        def __init__(self, data):
            self.data = data

    grads = numerical_gradients(
        lambda x: Box(float(np.sum(np.sin(x.data)))), [Box(np.array([0.1, 0.5, 1.0]))]
    )
    assert grads[0] == pytest.approx([math.cos(0.1), math.cos(0.5), math.cos(1.0)], rel=1e-6)
