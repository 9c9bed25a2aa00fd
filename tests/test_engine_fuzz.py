"""Differential fuzzing: random programs of Value operations give the same results on both engines.

hypothesis builds programs from every operation a user can make on a `Value` (every op, powers
with int/float/Value exponents, operands of many types on both sides, nodes reused, `+=`, a
second `backward()`, assigned `.data` and `.grad`, custom `_backward` closures, `_prev` read and
written, copy and pickle, Python subclasses, one of which skips `Value.__init__`) and runs the SAME program on engine.py's Value and
on the compiled one (micrograd/_cengine.c), side by side in this process. Everything the program
observes is recorded and the two records must be equal: floats by their bytes (so signed zeros
count), NaN as NaN (the sign and payload of a NaN are outside the engines' bit-identity promise:
C compilers and CPython builds differ there), result types, reprs, exception types and messages.

The normal test run makes a short run (150 programs, a few seconds). Longer runs are commands:

    python -m pytest -q tests/test_engine_fuzz.py --hypothesis-profile=long   # 6,000 programs
    MICROGRAD_FUZZ_EXAMPLES=200000 nice python -m pytest -q tests/test_engine_fuzz.py

and the same with MICROGRAD_PURE=1 (then `micrograd.engine.Value` is engine.py's; both engines
are compared either way). 10,000 programs take about 7 minutes on a busy 2-core machine. Needs
numpy only for numpy operands, and no torch.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import pickle
import re
import struct
import sys
import types
from fractions import Fraction
from unittest import mock

import pytest

pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd import engine
from micrograd.engine import PureValue, pure_dot

try:
    from micrograd import _cengine
except ImportError:  # not built: nothing to compare (CI builds it and fails on a skip)
    _cengine = None

try:
    import numpy as np
except ImportError:
    np = None

# Three times the profile's examples (the suite's "default" profile: 150, a few seconds; the
# "long" one: 6000), or exactly MICROGRAD_FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("MICROGRAD_FUZZ_EXAMPLES", "0")) or 3 * settings().max_examples


# -- the two engines, each with its Python subclasses --------------------------------------------


def _world(name, value, dot):
    """A module holding one engine's Value, dot and subclasses under the same names as the other
    engine's, so that messages (and pickle, which finds a class by module and name) match."""
    module = types.ModuleType(name)
    sys.modules[name] = module

    class Sub(value):  # a subclass with a method and an attribute of its own
        tag = "sub"

        def double(self):
            return self * 2

    class SlotSub(value):  # a subclass with __slots__, as an optimizer's parameter
        __slots__ = ("m", "v")

    class OwnBackward(value):  # a subclass with its own chain rule
        def _backward(self):
            for child in self._prev:
                child.grad += 3 * self.grad

    class NoSuper(value):  # an __init__ that forgets super().__init__: its fields stay unset
        def __init__(self, x):
            self.given = x

    for cls in (Sub, SlotSub, OwnBackward, NoSuper):
        cls.__module__, cls.__qualname__ = name, cls.__name__
        setattr(module, cls.__name__, cls)
    module.Value, module.dot = value, dot
    return module


PURE = _world("micrograd_fuzz_engine_a", PureValue, pure_dot)
COMPILED = _world("micrograd_fuzz_engine_b", _cengine.Value, _cengine.dot) if _cengine else None


class Real(float):
    """A float subclass operand (not the exact float type: the generic path of both engines)."""


class Whole(int):
    """An int subclass operand."""


# -- constants: every kind of operand, on either side ---------------------------------------------

_POOL = [
    0, 1, -1, 2, 3, -2, 7, 2**53 + 1, 10**400, True, False,
    0.0, -0.0, 0.5, -1.5, 2.0, 3.0, 1e300, -1e300, 1e-310, 5e-324, 354.5, 710.0, -745.5,
    math.inf, -math.inf, math.nan,
    Fraction(1, 3), Fraction(-7, 2), Real(1.25), Real(-0.0), Whole(3), Whole(0),
    "2", None, 1j, [1.0],
]  # fmt: skip
if np is not None:
    _POOL += [
        np.float64(0.75), np.float64(-2.0), np.int64(3), np.int64(-1), np.int64(0),
        np.float32(1.5), np.float32(-0.0), np.int32(2), np.int8(-3), np.uint8(200),
        np.bool_(True), np.float16(0.1), np.longdouble(2.5), np.float64("nan"),
    ]  # fmt: skip

constants = st.one_of(
    st.sampled_from(_POOL),
    st.floats(width=64, allow_nan=True, allow_infinity=True),
    st.floats(-4, 4),
    st.integers(-6, 6),
)

BINARY = ["+", "-", "*", "/", "**"]
UNARY = ["relu", "tanh", "exp", "log", "sigmoid", "neg", "double"]
KINDS = (
    ["bin"] * 12
    + ["aug"] * 3
    + ["unary"] * 6
    + ["leaf", "construct", "dot", "dot", "pow3"]
    + ["backward"] * 3
    + ["set_data", "set_grad", "custom_backward", "call_backward", "read_prev", "write_prev"]
    + ["clone", "topo", "repr", "attr", "constant_as_value"]
)

step = st.tuples(
    st.sampled_from(KINDS),
    st.integers(0, 1000),  # picks a node, an op, a form: taken modulo what is there
    st.integers(0, 1000),
    st.integers(0, 1000),
    constants,
    constants,
)
programs = st.tuples(st.lists(constants, min_size=1, max_size=4), st.lists(step, max_size=25))


# -- running a program on one engine, recording everything it observes ---------------------------


def _number(x):
    """A number as something == compares exactly (floats by bytes, any NaN as NaN)."""
    kind = type(x).__name__
    if isinstance(x, float):
        return (kind, "nan") if math.isnan(x) else (kind, struct.pack("<d", x))
    if np is not None and isinstance(x, np.generic):
        if isinstance(x, np.inexact) and np.isnan(x):
            return (kind, "nan")
        if isinstance(x, (np.longdouble, np.clongdouble)):  # 80 bits in 16: padding is garbage
            return (kind, repr(x))
        return (kind, x.tobytes())
    return (kind, repr(x))


def _message(error):
    text = str(error)
    text = re.sub(r"0x[0-9a-fA-F]+", "0x?", text)  # object addresses
    text = text.replace("micrograd._pure_engine", "micrograd.engine")
    return re.sub(r"micrograd_fuzz_engine_[ab]", "fuzz", text)


class Run:
    def __init__(self, world):
        self.world = world
        self.V = world.Value
        self.nodes = []
        self.record = []

    def describe(self, x):
        if isinstance(x, self.V):
            for k, node in enumerate(self.nodes):
                if node is x:
                    return ("node", k)
            return ("Value", type(x).__name__, _number(x.data), _number(x.grad), x._op)
        if isinstance(x, (tuple, list)):
            return (type(x).__name__, [self.describe(y) for y in x])
        return _number(x)

    def state(self):
        return [(_number(n.data), _number(n.grad), n._op) for n in self.nodes]

    def node(self, i):
        return self.nodes[i % len(self.nodes)]

    def observe(self, thunk, keep=False):
        """Run one step: record its result (or error) and keep a new Value as a node."""
        try:
            result = thunk()
        except Exception as e:  # noqa: BLE001 - any exception must match between the engines
            self.record.append(("error", type(e).__name__, _message(e)))
            return
        if keep and isinstance(result, self.V):
            self.nodes.append(result)
        self.record.append(("ok", self.describe(result)))

    def step(self, kind, i, j, k, c, d):
        V, w = self.V, self.world
        x, y = self.node(i), self.node(j)
        if kind == "bin":
            op = BINARY[k % len(BINARY)]
            left, right = [(x, y), (x, c), (c, x)][(k // 5) % 3]
            if _unbounded(op, left, right):
                return
            self.observe(lambda: _binary(op, left, right), keep=True)
        elif kind == "aug":  # `x += ...` rebinds x to a new node (Value has no in-place ops)
            op = BINARY[k % len(BINARY)]
            other = y if k % 2 else c
            if _unbounded(op, x, other):
                return

            def augmented(x=x):
                if op == "+":
                    x += other
                elif op == "-":
                    x -= other
                elif op == "*":
                    x *= other
                elif op == "/":
                    x /= other
                else:
                    x **= other
                return x

            self.observe(augmented, keep=True)
        elif kind == "unary":
            op = UNARY[k % len(UNARY)]
            if op == "neg":
                self.observe(lambda: -x, keep=True)
            elif op == "double":
                self.observe(lambda: x.double(), keep=True)  # AttributeError unless a Sub
            else:
                self.observe(getattr(x, op), keep=True)
        elif kind == "leaf":
            cls = [V, w.Sub, w.SlotSub, w.OwnBackward, w.NoSuper][k % 5]
            self.observe(lambda: cls(c), keep=True)
        elif kind == "construct":  # the constructor's other arguments, as user-defined ops use
            cls = [V, w.Sub, w.OwnBackward][k % 3]
            children = [(), (x,), (x, y), (x, y, x), [y], (x, c)][j % 6]
            form = (k // 3) % 3
            if form == 0:
                self.observe(lambda: cls(c, children, "op", "lbl"), keep=True)
            elif form == 1:
                self.observe(lambda: cls(c, _prev=children, label="p"), keep=True)
            else:
                self.observe(lambda: cls(data=c, _children=children, _op=d), keep=True)
        elif kind == "dot":
            n = k % 4
            weights = [self.node(i + m) for m in range(n)]
            inputs = [self.node(j + m) if (k >> (m + 2)) % 2 else c for m in range(n)]
            if (k >> 7) % 8 == 0:
                weights.append(c)  # a weight that is no Value
                inputs.append(d)
            elif (k >> 7) % 8 == 1:
                inputs.append(d)  # one input too many
            bias = y if (k >> 10) % 2 else d
            if any(_unbounded("dot", a, b) for a in weights for b in inputs + [bias]):
                return
            self.observe(lambda: w.dot(weights, inputs, bias), keep=True)
        elif kind == "pow3":
            if _unbounded("**", x, c):
                return
            self.observe(lambda: pow(x, c, d), keep=True)
        elif kind == "backward":
            self.observe(lambda: x.backward() or self.state())
        elif kind == "set_data":
            self.observe(lambda: setattr(x, "data", c))
        elif kind == "set_grad":
            self.observe(lambda: setattr(x, "grad", c))
        elif kind == "custom_backward":  # the lecture's way of defining an op's chain rule
            node = x

            def _backward():
                for child in node._prev:
                    child.grad += c * node.grad

            self.observe(lambda: setattr(node, "_backward", _backward))
        elif kind == "call_backward":
            self.observe(lambda: x._backward() or self.state())
        elif kind == "read_prev":  # reading _prev turns a constant input into a leaf node
            self.observe(lambda: self.describe(x._prev))
            for child in x._prev if self.record[-1][0] != "error" else ():
                if not any(child is n for n in self.nodes):
                    self.nodes.append(child)
        elif kind == "write_prev":
            children = [(y,), (x, y), [y, y, y], (), (y, c)][k % 5]
            self.observe(lambda: setattr(x, "_prev", children))
        elif kind == "clone":
            how = k % 8
            if how == 0:
                self.observe(lambda: copy.copy(x), keep=True)
            elif how == 1:
                self.observe(lambda: copy.deepcopy(x), keep=True)
            else:
                self.observe(lambda: pickle.loads(pickle.dumps(x, how - 2)), keep=True)
        elif kind == "topo":
            self.observe(lambda: [self.describe(n) for n in x._topological_order()])
        elif kind == "repr":
            self.observe(lambda: repr(x))
        elif kind == "attr":
            which = k % 4
            if which == 0:
                self.observe(lambda: setattr(x, "label", f"n{j}") or x.label)
            elif which == 1:
                self.observe(lambda: setattr(x, "m", c) or _number(x.m))
            elif which == 2:
                self.observe(lambda: _number(x.v))  # set on a SlotSub only
            else:
                self.observe(lambda: (x.label, getattr(x, "tag", None)))
        elif kind == "constant_as_value":
            self.observe(lambda: x._constant_as_value(), keep=True)

    def finish(self):
        self.observe(lambda: self.state())
        self.observe(lambda: [repr(n) for n in self.nodes])
        self.observe(lambda: [(n.label, type(n).__name__) for n in self.nodes])


def _bits(x):
    """How many bits an exact (int or Fraction) number has; 0 for anything else. Exact
    arithmetic on huge numbers takes unbounded time in both engines alike (Python's own), which
    is not what is compared: such steps are skipped."""
    x = _data(x)
    if isinstance(x, int) or (np is not None and isinstance(x, np.integer)):
        return int(x).bit_length()
    if isinstance(x, Fraction):
        return int(x.numerator).bit_length() + int(x.denominator).bit_length()
    return 0


def _data(x):
    """A Value's data, or x itself (numpy scalars have a `data` attribute of their own)."""
    if isinstance(x, (PURE.Value, COMPILED.Value)):
        return getattr(x, "data", None)  # (a NoSuper may have none)
    return x


def _unbounded(op, a, b):
    """Would `a op b` (or a dot product of such numbers) make an exact number of huge size?"""
    if op in ("*", "/", "dot"):
        return _bits(a) + _bits(b) > 8192
    if op == "**":
        return _bits(a) > 1 and _bits(b) > 10
    return False


def _binary(op, a, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a**b


def run(program, world):
    inputs, steps = program
    r = Run(world)
    # engine.Value must name this engine's class for pickle to find it (MICROGRAD_PURE=1 makes
    # it engine.py's; engine.py's own copy lives in micrograd._pure_engine otherwise)
    patch = (
        mock.patch.object(engine, "Value", world.Value)
        if world.Value.__module__ == "micrograd.engine"
        else contextlib.nullcontext()
    )
    with patch, _quiet_numpy():
        for x in inputs:
            r.observe(lambda x=x: r.V(x), keep=True)
        if not r.nodes:
            r.nodes.append(r.V(1.0))
        for s in steps:
            r.step(*s)
        r.finish()
    return r.record


class _quiet_numpy:
    """numpy's RuntimeWarnings (overflow in float32 arithmetic) are not what is compared."""

    def __enter__(self):
        self.old = np.seterr(all="ignore") if np is not None else None

    def __exit__(self, *exc):
        if self.old is not None:
            np.seterr(**self.old)


@pytest.mark.skipif(_cengine is None, reason="micrograd._cengine is not built")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(programs)
def test_random_programs_observe_the_same_in_both_engines(program):
    compiled = run(program, COMPILED)
    pure = run(program, PURE)
    assert compiled == pure


def test_the_fuzzer_sees_what_it_compares():
    """The recorder tells apart what the engines must agree on (it is no always-equal check)."""
    r = Run(PURE)
    assert _number(0.0) != _number(-0.0) and _number(1) != _number(1.0)
    assert _number(math.nan) == _number(-math.nan)  # NaN signs and payloads are not compared
    program = ([2.0], [("bin", 0, 0, 0, 1.0, 0)])  # x + x
    assert run(program, PURE) != run(([2.0], [("bin", 0, 0, 2, 1.0, 0)]), PURE)  # x * x
    r.observe(lambda: 1 / 0)
    assert r.record == [("error", "ZeroDivisionError", "division by zero")]
