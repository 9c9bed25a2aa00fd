"""The scalar autograd engine: `Value`, one number that remembers how it was computed.

Every arithmetic operation on Values builds a node of a graph. Each node stores, next to its
result, the *local derivative* of that result with respect to each input, computed in the same
method as the result itself (read `__mul__`: the forward is `a * b`, the local derivatives are
`b` and `a`). `backward()` then walks the graph from the output back to the leaves and applies
the chain rule at every node: ``input.grad += local_derivative * node.grad``.

This is the original micrograd's algorithm and API, with three changes users can rely on:

* no recursion: graphs of any depth work (a chain of a million operations);
* inputs kept in a fixed order: the same program gives bit-identical gradients on every run;
* no reference cycles: a node does not hold a closure that refers back to itself, so a graph is
  freed by reference counting as soon as it is dropped instead of waiting for the cyclic garbage
  collector (the original's main cost, see the benchmarks page of the documentation).

Storage layout, for speed and memory (the documentation's benchmarks page has the figures):

* a node has at most two inputs in the common case, kept in the slots `_a` and `_b` with their
  local derivatives in `_da` and `_db`; a node with more inputs (`dot`, or one built by user code)
  keeps a tuple of them in `_a` and a tuple of derivatives in `_da`;
* a plain number in an operation (`x + 1`, `2 * x`) is an input like any other, but it stays a
  number in `_b` until somebody looks at the graph: `_prev` then turns it into the leaf Value the
  original would have made, with the gradient it would have had. Most graphs are never looked at,
  and not allocating a node per constant halves the cost of graphs such as `x = x + 1`.

`_prev` presents all of this as the tuple of input Values the original had.

Numbers are kept as given (an int stays an int, so `Value(2) * 3` prints `Value(data=6, ...)` as in
the original) with one exception: numpy's `float64` and `int64` scalars, which the original demo
feeds everywhere, become the Python float and int with the same value when they enter a Value (as
data, an operand or a `dot` input). They print the same digits and compute the same bits; other
numpy scalars (`float32`, ...) keep numpy's arithmetic.

This file is the specification of the engine. `micrograd/_cengine.c` is the same engine compiled:
the same ops, op by op under the same names, giving the same floats bit for bit. When it is built,
`Value` and `dot` name the compiled ones (see the end of this file); `MICROGRAD_PURE=1` in the
environment keeps the ones defined here. What "the same floats" promises: every data and gradient
float has the same bytes (signed zeros included) and every result the same type, repr and error.
It does not cover the sign and payload bits of a NaN: when both operands of an op are NaNs, which
one the result carries is up to the C compiler and the processor, and CPython builds differ there
themselves; a NaN stays a NaN in both engines. `tests/test_engine_fuzz.py` checks the promise on
random programs.

Only the standard library is used here. Read `micrograd/nn.py` next.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from typing import Iterable, Sequence

__all__ = ["IMPLEMENTATION", "PureValue", "Value", "dot", "pure_dot"]


def _from_numpy(x: object) -> object:
    """numpy's float64 and int64 scalars as the Python float and int of the same value; any
    other object unchanged. (Checked by the type's name: this module does not import numpy.)"""
    kind = type(x)
    if kind.__module__ == "numpy":
        if kind.__name__ == "float64":
            return float(x)
        if kind.__name__ == "int64":
            return int(x)
    return x


def _check_number(data: object) -> object:
    """Return the number a Value keeps for `data`, or raise a TypeError naming its type.

    The number is kept as given (an int stays an int, a numpy float32 stays a numpy float32) so
    that programs print exactly what they printed with the original micrograd; numpy's float64
    and int64 become Python numbers (see the module docstring).
    """
    if type(data) is float or type(data) is int:
        return data
    data = _from_numpy(data)
    if isinstance(data, numbers.Real):
        return data
    if type(data).__module__ == "numpy" and type(data).__name__ in ("bool", "bool_"):
        return data  # numpy's bool scalar is not registered as numbers.Real
    _check_data(data)
    raise TypeError(
        f"Value data must be a real number (int, float, bool or a numpy scalar), "
        f"got {type(data).__name__}: {data!r}"
    )


def _value_as_data(data: object) -> TypeError:
    """The error for a Value given as the number of a Value (constructor or `x.data = ...`).

    It is the learner's slip `p.data = p - lr * p.grad`, a new graph node where its number was
    meant: stored, it would nest one Value deeper at every step, and every operation would then
    recurse through all of them until the recursion limit.
    """
    return TypeError(
        f"Value data must be a number, not a Value ({data!r}): take its .data; to update a "
        f"parameter use p.data - lr * p.grad (a number), not p - lr * p.grad (a new node)"
    )


def _check_data(data: object) -> None:
    """Refuse a Value (of either engine) as data; any other object is left alone here."""
    if isinstance(data, _VALUE_TYPES):
        raise _value_as_data(data)


def _check_power(base: object, exponent: object, op: str) -> None:
    """Refuse the powers that have no real result, instead of a complex number or a crash."""
    if base < 0 and not float(exponent).is_integer():
        raise ValueError(
            f"{op}: a negative base ({base}) with a non-integer exponent has no real result"
        )
    if base == 0 and exponent < 0:
        raise ZeroDivisionError(f"{op}: zero base with a negative exponent ({exponent})")


def _too_large(op: str, *operands: object) -> ValueError:
    """The error for `op` when Python raised a bare OverflowError, typically "int too large to
    convert to float" for an int operand (`Value(10**400) * 1.5`)."""
    for x in operands:
        if isinstance(x, int):
            try:
                float(x)
            except OverflowError:
                return ValueError(f"{op}: an int of {x.bit_length()} bits is too large for a float")
    return ValueError(f"{op}: the result is too large for a float")


def _as_float(x: object, op: str) -> float:
    """float(x), or a ValueError naming `op` if x is an int too large for a float."""
    try:
        return float(x)
    except OverflowError:
        raise _too_large(op, x) from None


def _power(x: object, k: object, op: str) -> tuple[object, object]:
    """x ** k and its derivative d(x**k)/dx, or a ValueError naming the op if either is too
    large for a float (Python raises a bare OverflowError there)."""
    try:
        return x**k, _power_derivative(x, k)
    except OverflowError:
        raise ValueError(f"{op}: {x} ** {k} is too large for a float") from None


def _check_divisor(divisor: object, dividend: object) -> None:
    """`a / b` is `a * b**-1`, as in the original; say "division" when b is 0."""
    value = divisor.data if isinstance(divisor, Value) else divisor
    if isinstance(value, numbers.Real) and value == 0:
        raise ZeroDivisionError(f"division by zero: {dividend!r} / {divisor!r}")


def _power_both(x: object, y: object) -> tuple[object, object, object]:
    """x ** y for a Value exponent y, and its derivatives with respect to x and to y."""
    if x < 0:
        raise ValueError(
            f"Value ** Value: a negative base ({x}) is not allowed: the exponent's gradient "
            f"x**y * log(x) needs a positive base (use a number exponent instead)"
        )
    _check_power(x, y, "Value ** Value")
    out, dx = _power(x, y, "Value ** Value")
    # d(x**y)/dy = x**y * log(x), taken as 0 at x == 0 as PyTorch does
    dy = out * math.log(x) if x > 0 else 0.0
    return out, dx, dy


def _power_derivative(x: object, k: object) -> object:
    """d(x**k)/dx = k * x**(k-1), with its limits at x == 0, where x**(k-1) would divide by
    zero: 0 for k == 0 and infinite for 0 < k < 1 (the slope of a root at 0), as in PyTorch."""
    if x == 0 and k < 1:
        return 0.0 if k == 0 else math.inf
    return k * x ** (k - 1)


def _as_value(x: object) -> "Value":
    """Wrap a plain number as a leaf Value so that operators accept `2 * v` and `v + 1`."""
    return x if isinstance(x, Value) else Value(x)


class Value:
    """A scalar value and its gradient; a node of the computation graph."""

    # No per-instance dict unless user code sets an attribute of its own (`p.m = 0.0`); a label
    # set through the constructor or by assignment lives there too. `label` and `_backward` are
    # class attributes that an instance may shadow. The number is kept in the slot `_data`, which
    # the engine reads directly; users read and assign it as `data` (the property below), whose
    # setter refuses a Value.
    __slots__ = ("_data", "grad", "_op", "_a", "_b", "_da", "_db", "__dict__")

    label = ""

    @property
    def data(self) -> object:
        """The number this node holds."""
        try:
            return self._data
        except AttributeError:  # never set (a subclass's __init__ that skips this one's)
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute 'data'"
            ) from None

    @data.setter
    def data(self, data: object) -> None:
        if type(data) is not float and type(data) is not int:
            _check_data(data)
        self._data = data

    def __init__(
        self,
        data: object,
        _children: Iterable["Value"] = (),
        _op: str = "",
        label: str = "",
        *,
        _prev: Iterable["Value"] | None = None,
    ) -> None:
        if type(data) is not float and type(data) is not int:
            data = _check_number(data)
        self._data = data
        self.grad = 0
        self._op = _op
        if _prev is not None:
            _children = _prev
        if _children:
            self._prev = _children  # also clears the local derivatives: see the setter
        else:
            self._a = self._b = self._da = self._db = None
        if label:
            self.label = label

    # -- the inputs of this node, as the original exposed them ------------------------------

    @property
    def _prev(self) -> tuple:
        a = self._a
        if a is None:
            return ()
        if type(a) is tuple:
            return a
        b = self._b
        if b is None:
            return (a,)
        if not isinstance(b, Value):
            b = self._constant_as_value()
        return (a, b)

    def _constant_as_value(self) -> "Value":
        """Give the number in `_b` the leaf node the original would have made for it, once.

        Its grad is what backward() would have put there: local derivative * this node's grad
        (an unused constant has no other consumer). From now on it is an ordinary input."""
        constant = Value(self._b)
        if self.grad:
            constant.grad = self._db * self.grad
        self._b = constant
        return constant

    @_prev.setter
    def _prev(self, children: Iterable["Value"]) -> None:
        # Inputs set by user code come without local derivatives: as in the original, gradient
        # flows through such a node only by a `_backward` that the user assigns.
        self._da = self._db = None
        children = tuple(children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"Value children must be Values, got {type(child).__name__}")
        self._b = None
        if len(children) == 0:
            self._a = None
        elif len(children) == 1:
            self._a = children[0]
        elif len(children) == 2:
            self._a, self._b = children
        else:
            self._a = children

    # -- operations: each returns a new node with its local derivatives ---------------------

    def __add__(self, other) -> "Value":
        if isinstance(other, Value):
            y = other._data
        else:
            y = other = _check_number(other)  # a constant: see "Storage layout" above
        try:
            out = self._data + y
        except OverflowError:  # an int too large for a float, added to a float
            raise _too_large("x + y", self._data, y) from None
        # d(a+b)/da = 1, d(a+b)/db = 1
        return _node(out, "+", self, 1, other, 1)

    def __mul__(self, other) -> "Value":
        if isinstance(other, Value):
            y = other._data
        else:
            y = other = _check_number(other)
        try:
            out = self._data * y
        except OverflowError:
            raise _too_large("x * y", self._data, y) from None
        # d(a*b)/da = b, d(a*b)/db = a
        return _node(out, "*", self, y, other, self._data)

    def __pow__(self, other) -> "Value":
        if isinstance(other, Value):
            return self._pow_value(other)
        if not isinstance(other, numbers.Real):
            raise TypeError(
                f"Value ** exponent: the exponent must be an int, float or Value, "
                f"got {type(other).__name__}"
            )
        other = _from_numpy(other)
        x = self._data
        op = f"Value ** {other}"
        _check_power(x, other, op)
        out, derivative = _power(x, other, op)
        return _node(out, f"**{other}", self, derivative)

    def _pow_value(self, exponent: "Value") -> "Value":
        """x ** y where the exponent is a Value too: the gradient flows into both."""
        out, dx, dy = _power_both(self._data, exponent._data)
        return _node(out, "**", self, dx, exponent, dy)

    def relu(self) -> "Value":
        """max(0, x) as a new node; its gradient is 1 where x > 0, else 0."""
        x = self._data
        out = 0 if x < 0 else x
        # d relu(x)/dx = 1 where x > 0, else 0 (0 at x == 0, as in the original and PyTorch)
        return _node(out, "ReLU", self, 1 if out > 0 else 0)

    def tanh(self) -> "Value":
        """The hyperbolic tangent as a new node, by the lecture's formula (exp(2x)-1)/(exp(2x)+1);
        its gradient is 1 - tanh(x)**2."""
        x = _as_float(self._data, "tanh")
        if x > 354.0:
            t = 1.0  # exp(2x) would overflow (2x > 709.78); tanh(x) rounds to 1.0 long before
        else:
            # The lecture's formula, so that its numbers print the same (math.tanh can differ in
            # the last bit: 0.7071067811865477 instead of the lecture's ...476)
            e = math.exp(2 * x)
            t = (e - 1) / (e + 1)
        # d tanh(x)/dx = 1 - tanh(x)**2
        return _node(t, "tanh", self, 1 - t**2)

    def sigmoid(self) -> "Value":
        """The logistic function 1 / (1 + exp(-x)) as a new node, computed without overflow for
        any x; its gradient is s * (1 - s)."""
        x = _as_float(self._data, "sigmoid")
        # Two forms so that exp never sees a large positive argument (no overflow).
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        # d sigmoid(x)/dx = s * (1 - s)
        return _node(s, "sigmoid", self, s * (1.0 - s))

    def exp(self) -> "Value":
        """e**x as a new node (a ValueError if too large for a float); its gradient is e**x."""
        x = self._data
        try:
            e = math.exp(_as_float(x, "exp"))
        except OverflowError:
            raise ValueError(
                f"exp({x}): the result is too large for a float (x > 709.78)"
            ) from None
        # d exp(x)/dx = exp(x)
        return _node(e, "exp", self, e)

    def log(self) -> "Value":
        """The natural logarithm as a new node (a ValueError unless x > 0); its gradient is 1/x."""
        x = self._data
        if not x > 0:
            raise ValueError(f"log({x}): the logarithm needs a positive number")
        # d log(x)/dx = 1/x
        return _node(math.log(x), "log", self, 1 / x)

    # Everything below is built from the operations above, as in the original, so that the
    # graph (and a drawing of it) has the same nodes.

    def __neg__(self) -> "Value":  # -self
        return self * -1

    def __radd__(self, other) -> "Value":  # other + self
        return self + other

    def __sub__(self, other) -> "Value":  # self - other
        return self + (-other)

    def __rsub__(self, other) -> "Value":  # other - self
        return other + (-self)

    def __rmul__(self, other) -> "Value":  # other * self
        return self * other

    def __truediv__(self, other) -> "Value":  # self / other
        _check_divisor(other, self)
        return self * other**-1

    def __rtruediv__(self, other) -> "Value":  # other / self
        _check_divisor(self, other)
        return other * self**-1

    def __rpow__(self, other) -> "Value":  # other ** self
        return _as_value(other) ** self

    # -- backpropagation --------------------------------------------------------------------

    def _backward(self) -> None:
        """Apply the chain rule at this node: add (local derivative * this node's grad) into
        each input's grad. User code may assign its own `_backward` to a node; `backward()`
        calls that one instead."""
        a = self._a
        da = self._da
        if a is None or da is None:
            return  # a leaf, or a node made by user code with no `_backward` of its own
        g = self.grad
        if type(a) is tuple:
            # Last input first: that is the order in which the unfused chain of `+` nodes that
            # `dot` replaces would add into them, so a Value used twice gets the same float.
            for child, d in zip(reversed(a), reversed(da)):
                child.grad += d * g
        else:
            a.grad += da * g
            b = self._b
            if isinstance(b, Value):  # not None, nor a constant that nobody asked to see
                b.grad += self._db * g

    def backward(self) -> None:
        """Compute d self / d node for every node this Value depends on, into `node.grad`.

        As in PyTorch, gradients of leaves (Values made by the user) accumulate over calls, while
        every interior node's grad is recomputed: call `zero_grad()` (or set `p.grad = 0`)
        between steps.
        """
        order = self._topological_order()
        self.grad = 1
        for node in reversed(order):
            node._backward()

    def _topological_order(self) -> list["Value"]:
        """All nodes this Value depends on, each after its inputs, and every interior node's
        grad set to 0 on the way (see `backward`).

        This is the original's recursive `build_topo`, written with an explicit stack so that
        depth is unlimited. It reads the slots instead of `_prev` because it is the hottest loop
        of `backward()` (building a `_prev` tuple per node would cost a third of its time);
        `micrograd.graph.topological_order` is the same walk through `_prev` for any node, and
        the tests check that the two give the same order up to where leaves are placed.
        """
        order: list[Value] = []
        visited = set()
        stack = [self]
        entered: list[Value] = []  # nodes whose inputs are being walked, innermost last
        while stack:
            node = stack.pop()
            if node is _FINISHED:
                order.append(entered.pop())  # all its inputs are in `order` now
                continue
            # A node can be on the stack more than once (pushed by each consumer that reached
            # it before it was walked); only its first time off the stack counts.
            if node in visited:
                continue
            visited.add(node)
            a = node._a
            if a is None:
                # A leaf has no inputs to wait for, so it goes straight into the order; where
                # it stands does not change any gradient (its `_backward` passes nothing on).
                order.append(node)
                continue
            node.grad = 0
            entered.append(node)
            stack.append(_FINISHED)
            # Inputs are pushed in reverse so that they come off the stack in order.
            if type(a) is tuple:
                for child in reversed(a):
                    if child not in visited:
                        stack.append(child)
            else:
                b = node._b
                if isinstance(b, Value) and b not in visited:
                    stack.append(b)
                if a not in visited:
                    stack.append(a)
        return order

    def draw_dot(self, **kwargs):
        """Draw the graph that computed this Value (`micrograd.viz.draw_dot`; needs graphviz)."""
        from micrograd.viz import draw_dot

        return draw_dot(self, **kwargs)

    def __repr__(self) -> str:
        return f"Value(data={self._data}, grad={self.grad})"

    def __reduce_ex__(self, protocol: int) -> tuple:
        """copy and pickle: what Python makes of a class with `__slots__` (protocols 0 and 1
        refused), with the number saved under the name users know, `data` (loading sets it
        through the property), so that either engine loads what the other saved."""
        reduced = object.__reduce_ex__(self, protocol)
        state = reduced[2] if len(reduced) > 2 else None
        if type(state) is tuple and len(state) == 2 and type(state[1]) is dict:
            slots = {("data" if name == "_data" else name): v for name, v in state[1].items()}
            reduced = (*reduced[:2], (state[0], slots), *reduced[3:])
        return reduced


_new_object = object.__new__


def _node(data, op, a, da, b=None, db=None) -> Value:
    """Make an op's output node: `data` computed from input `a` (and `b`), with the local
    derivatives `da` = d data / d a (and `db` = d data / d b).

    Skips the constructor and its type check: every op computes `data` from numbers that were
    checked already. A plain function rather than a classmethod because this is the engine's
    most frequent call.
    """
    out = _new_object(Value)
    out._data = data
    out.grad = 0
    out._op = op
    out._a = a
    out._da = da
    out._b = b
    out._db = db
    return out


# Marks, on the stack of `_topological_order`, the point where a node's inputs are all done.
_FINISHED = object()

# What _check_data refuses: this file's Value, and the other engine's once both are loaded
# (see the end of this file).
_VALUE_TYPES: tuple = (Value,)


def dot(weights: Sequence[Value], inputs: Sequence[object], bias: Value) -> Value:
    """`bias + weights[0]*inputs[0] + weights[1]*inputs[1] + ...` as one graph node.

    The additions run in the same order as `sum((w*x for w, x in zip(weights, inputs)), bias)`,
    so the result and every gradient are the same floats, but the graph has one node instead of
    2n. This is what a fused neuron uses (`Neuron(..., fused=True)`). `inputs` may mix Values
    and plain numbers; plain numbers get no node and no gradient.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    bias = _as_value(bias)
    total = bias._data
    children: list[Value] = [bias]
    derivatives: list[object] = [1]  # d/d bias = 1
    for i, (w, x) in enumerate(zip(weights, inputs)):
        if not isinstance(w, Value):
            raise TypeError(f"dot: weights[{i}] must be a Value, got {type(w).__name__}")
        if isinstance(x, Value):
            y = x._data
            # d/dw = x, d/dx = w
            children += (w, x)
            derivatives += (y, w._data)
        else:
            y = x = _check_number(x)
            children.append(w)
            derivatives.append(x)
        try:
            total = total + w._data * y
        except OverflowError:
            raise _too_large("dot", total, w._data, y) from None
    return _node(total, "dot", tuple(children), tuple(derivatives))


def _constructor_arguments(self, data, _children=(), _op="", label="", *, _prev=None):
    """The compiled Value's constructor reads its arguments through this function when they are
    not plain positional ones, so that a wrong call raises the pure `Value.__init__`'s TypeError."""
    return data, _children, _op, label, _prev


def _dot_arguments(weights, inputs, bias):
    """The same for the compiled `dot`."""
    return weights, inputs, bias


def _rpow_arguments(self, other):
    """The same for the compiled `Value.__rpow__` called by hand (`v.__rpow__(2, 3)`)."""
    return other


_constructor_arguments.__qualname__ = "Value.__init__"
_dot_arguments.__qualname__ = "dot"
_rpow_arguments.__qualname__ = "Value.__rpow__"


# -- which implementation `Value` and `dot` name ----------------------------------------------
# Everything above is the pure-Python engine. If the compiled one (micrograd/_cengine.c) was built
# and MICROGRAD_PURE=1 is not set, `Value` and `dot` become the compiled ones. The pure ones stay
# reachable as `PureValue` and `pure_dot` (the tests compare the two): their code looks `Value`
# up in its module, so they then come from a second, pure copy of this file,
# `micrograd._pure_engine`.

IMPLEMENTATION = "pure"
PureValue, pure_dot = Value, dot


def _compiled_engine():
    """The compiled module, or None if it is not built or MICROGRAD_PURE=1 asks for the pure one."""
    if __name__ != "micrograd.engine" or os.environ.get("MICROGRAD_PURE", "") not in ("", "0"):
        return None
    try:
        from micrograd import _cengine
    except ImportError:
        return None
    return _cengine


def _pure_copy():
    """This file loaded again as the module `micrograd._pure_engine`, which stays pure."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("micrograd._pure_engine", __file__)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


if _compiled_engine() is not None:
    _pure = _pure_copy()
    PureValue, pure_dot = _pure.Value, _pure.dot
    Value, dot = _compiled_engine().Value, _compiled_engine().dot
    IMPLEMENTATION = "compiled"
    _VALUE_TYPES = _pure._VALUE_TYPES = (Value, PureValue)
