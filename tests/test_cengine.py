"""The compiled scalar engine (micrograd/_cengine.c) against its specification, engine.py.

Both implementations run side by side in this process, whichever one `micrograd.engine.Value`
names (these tests are the same under MICROGRAD_PURE=1): the same programs must give the same
floats bit for bit (signed zeros and NaN payloads included), the same result types, reprs and
errors. Then what only the compiled one has to prove: no input crashes the interpreter, deep
graphs, the collector's tracking switch (cycles are collected, memory stays flat).
"""

from __future__ import annotations

import copy
import math
import os
import pickle
import struct
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd import engine
from micrograd.engine import PureValue, pure_dot

try:
    from micrograd import _cengine
except ImportError:  # not built: every test below is skipped (and CI fails on a skip)
    _cengine = None

REQUIRED = os.environ.get("MICROGRAD_REQUIRE_COMPILED") == "1"


def test_the_engine_in_use_is_the_one_expected():
    pure_asked = os.environ.get("MICROGRAD_PURE", "") not in ("", "0")
    if REQUIRED:
        assert _cengine is not None, (
            "MICROGRAD_REQUIRE_COMPILED=1 but micrograd._cengine is not built"
        )
    expected = "compiled" if _cengine is not None and not pure_asked else "pure"
    assert engine.IMPLEMENTATION == expected
    assert (engine.Value is PureValue) == (expected == "pure")
    import micrograd

    assert micrograd.Value is engine.Value and micrograd.dot is engine.dot
    out = subprocess.run(
        [sys.executable, "-m", "micrograd", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and f"({expected} scalar engine)" in out.stdout


compiled = pytest.mark.skipif(_cengine is None, reason="micrograd._cengine is not built")
CValue = _cengine.Value if _cengine else None
cdot = _cengine.dot if _cengine else None
ENGINES = [(PureValue, pure_dot), (CValue, cdot)]


def bits(x):
    """A number as something == compares exactly: its type and, for floats, its bytes."""
    if isinstance(x, float):
        return (type(x).__name__, struct.pack("<d", x))
    return (type(x).__name__, repr(x))


def outcome(thunk):
    """What running `thunk` gave: ('ok', result) or ('error', type name, message)."""
    try:
        return ("ok", thunk())
    except Exception as e:  # noqa: BLE001 - any exception must match between the engines
        return ("error", type(e).__name__, str(e))


# -- random programs over every op, compared bit for bit ------------------------------------

numbers_ = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, 1e300, -3.0]),
    st.integers(-4, 4),
    st.sampled_from([True, False]),
)
constants = st.one_of(
    st.sampled_from([0, 1, -1, 2, 3, 0.0, -0.0, 0.5, -1.5, 2.0, 1e300, True]),
    st.floats(-5, 5),
)

UNARY = ["relu", "tanh", "exp", "log", "sigmoid", "neg", "pow_c"]
BINARY = ["add", "mul", "sub", "div", "pow"]
WITH_CONSTANT = [
    "add_c",
    "radd_c",
    "sub_c",
    "rsub_c",
    "mul_c",
    "rmul_c",
    "div_c",
    "rdiv_c",
    "rpow_c",
]


def apply(op, x, y, c, make, dot):
    if op == "relu":
        return x.relu()
    if op in ("tanh", "exp", "log", "sigmoid"):
        return getattr(x, op)()
    table = {
        "neg": lambda: -x,
        "pow_c": lambda: x**c,
        "add": lambda: x + y,
        "mul": lambda: x * y,
        "sub": lambda: x - y,
        "div": lambda: x / y,
        "pow": lambda: x**y,
        "add_c": lambda: x + c,
        "radd_c": lambda: c + x,
        "sub_c": lambda: x - c,
        "rsub_c": lambda: c - x,
        "mul_c": lambda: x * c,
        "rmul_c": lambda: c * x,
        "div_c": lambda: x / c,
        "rdiv_c": lambda: c / x,
        "rpow_c": lambda: c**x,
        "dot": lambda: dot([x, y, x], [y, c, make(c)], x),
    }
    return table[op]()


@st.composite
def programs(draw):
    inputs = draw(st.lists(numbers_, min_size=1, max_size=4))
    steps = []
    for k in range(draw(st.integers(1, 12))):
        available = len(inputs) + k
        op = draw(st.sampled_from(UNARY + BINARY + WITH_CONSTANT + ["dot"]))
        steps.append(
            (
                op,
                draw(st.integers(0, available - 1)),
                draw(st.integers(0, available - 1)),
                draw(constants),
            )
        )
    return inputs, steps


def run(program, make, dot):
    """Run a program on one engine; everything observable, as comparable data."""
    inputs, steps = program
    record = []
    nodes = [make(x) for x in inputs]
    for op, i, j, c in steps:
        result = outcome(lambda: apply(op, nodes[i], nodes[j], c, make, dot))  # noqa: B023
        if result[0] == "error":
            record.append(result)
            break
        nodes.append(result[1])
    root = nodes[-1]

    def state():
        return [(bits(n.data), bits(n.grad), n._op, repr(n)) for n in nodes]

    record.append(outcome(lambda: root.backward() or state()))
    # reading _prev turns constants into leaves; then backward again (leaves accumulate)
    record.append(outcome(lambda: [[bits(p.grad) for p in n._prev] for n in nodes]))
    record.append(outcome(lambda: root.backward() or state()))
    record.append([len(root._topological_order())])
    return record


@compiled
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_give_the_same_bits_in_both_engines(program):
    with _quiet_numpy():
        assert run(program, CValue, cdot) == run(program, PureValue, pure_dot)


class _quiet_numpy:
    """numpy's RuntimeWarnings (overflow in a float32 operation) are not what is tested."""

    def __enter__(self):
        try:
            import numpy as np
        except ImportError:
            self.old = None
            return
        self.np, self.old = np, np.seterr(all="ignore")

    def __exit__(self, *exc):
        if self.old is not None:
            self.np.seterr(**self.old)


@compiled
@pytest.mark.parametrize("x", [2.0, -0.0, 0.0, 3, True, 1e-310, float("nan"), float("inf")])
def test_every_op_alone_bit_for_bit(x):
    for op in UNARY + BINARY + WITH_CONSTANT + ["dot"]:
        for c in (2, -0.0, 0.5, 3.0):
            a = run(([x, 1.5], [(op, 0, 1, c)]), CValue, cdot)
            b = run(([x, 1.5], [(op, 0, 1, c)]), PureValue, pure_dot)
            assert a == b, (op, c)


def test_the_lecture_neuron_prints_the_lecture_numbers():
    # tanh is the lecture's (exp(2x) - 1) / (exp(2x) + 1), not math.tanh (1 ulp apart here)
    for make in (PureValue, CValue) if _cengine else (PureValue,):
        x1, x2, w1, w2 = make(2.0), make(0.0), make(-3.0), make(1.0)
        b = make(6.8813735870195432)
        o = (x1 * w1 + x2 * w2 + b).tanh()
        assert o.data == 0.7071067811865476
        assert 1 - o.data**2 == 0.4999999999999999
        o.backward()
        assert (x1.grad, w1.grad) == (-1.4999999999999996, 0.9999999999999998)


def test_data_changed_between_forward_and_backward_uses_the_forward_value():
    # The local derivatives are stored at forward time: 2 * 2.0, where the original's closure
    # reads x.data again at backward time (2 * 3.0). Documented in the README.
    for make in (PureValue, CValue) if _cengine else (PureValue,):
        x = make(2.0)
        y = x * x
        x.data = 3.0
        y.backward()
        assert x.grad == 4.0


# -- any operand: the same result or the same error -------------------------------------------


def _hostile_operands():
    from micrograd.tensor import Tensor

    out = [
        0,
        1,
        -1,
        2**62,
        10**400,
        -(10**400),
        0.5,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        True,
        False,
        "2",
        "",
        None,
        [1.0],
        (1.0,),
        {"a": 1},
        1 + 2j,
        object(),
        Tensor([1.0, 2.0]),
        Tensor(3.0),
        b"1",
    ]
    try:
        import numpy as np
    except ImportError:
        return out
    for name in (
        "bool_",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "longlong",
        "float16",
        "float32",
        "float64",
        "longdouble",
        "complex64",
        "complex128",
    ):
        kind = getattr(np, name)
        out += [kind(0), kind(1), kind(-1) if "uint" not in name and name != "bool_" else kind(3)]
    out += [np.float64("nan"), np.float32("inf"), np.str_("1"), np.array(2.0), np.array([1.0])]
    return out


def _operations(make, dot):
    """Every way an operand meets a Value."""
    return {
        "Value(x)": lambda x: make(x),
        "v + x": lambda x: make(1.5) + x,
        "x + v": lambda x: x + make(1.5),
        "v - x": lambda x: make(1.5) - x,
        "x - v": lambda x: x - make(1.5),
        "v * x": lambda x: make(1.5) * x,
        "x * v": lambda x: x * make(1.5),
        "int v * x": lambda x: make(3) * x,
        "v / x": lambda x: make(1.5) / x,
        "x / v": lambda x: x / make(1.5),
        "v ** x": lambda x: make(1.5) ** x,
        "x ** v": lambda x: x ** make(1.5),
        "pow(v, 2, x)": lambda x: pow(make(1.5), 2, x),
        "Value(x).tanh()": lambda x: make(x).tanh(),
        "Value(x).sigmoid()": lambda x: make(x).sigmoid(),
        "Value(x).exp()": lambda x: make(x).exp(),
        "Value(x).log()": lambda x: make(x).log(),
        "Value(x).relu()": lambda x: make(x).relu(),
        "Value(x) * 1.5": lambda x: make(x) * 1.5,
        "Value(x) + 0.5": lambda x: make(x) + 0.5,
        "dot input": lambda x: dot([make(2.0)], [x], make(0.5)),
        "dot bias": lambda x: dot([make(2.0)], [1.0], x),
        "dot weight": lambda x: dot([x], [1.0], make(0.5)),
        "Value(1, x)": lambda x: make(1.0, x),
        "Value(1.0, _op=x, label=x)": lambda x: make(1.0, _op=x, label=x),
    }


def _described(result):
    """An outcome made comparable: Values by data bits and grads; anything else by type."""
    if result[0] == "error":
        return result
    r = result[1]
    if type(r).__name__ == "Value":
        return ("Value", bits(r.data), bits(r.grad), r._op, [bits(p.data) for p in r._prev])
    return ("other", type(r).__name__)


@compiled
def test_any_operand_gives_the_same_result_or_the_same_error():
    ours, spec = _operations(CValue, cdot), _operations(PureValue, pure_dot)
    with _quiet_numpy():
        for x in _hostile_operands():
            for name in ours:
                a = _described(outcome(lambda: ours[name](x)))  # noqa: B023
                b = _described(outcome(lambda: spec[name](x)))  # noqa: B023
                assert a == b, (name, repr(x))


@compiled
def test_constructor_and_dot_argument_errors_are_the_pure_ones():
    calls = [
        lambda V, d: V(),
        lambda V, d: V(1.0, (), "", "", 5),
        lambda V, d: V(1.0, foo=1),
        lambda V, d: V(1.0, (), "", "", _prev=(V(2.0),)),
        lambda V, d: V(data=2.0, label="x").label,
        lambda V, d: V(1.0, 5),
        lambda V, d: V(1.0, [1.0]),
        lambda V, d: V(1.0, _prev=[V(1.0), 2]),
        lambda V, d: d([V(1.0)], [1.0]),
        lambda V, d: d([V(1.0)], [1.0], V(0.0), 4),
        lambda V, d: d(weights=[V(1.0)], inputs=[2.0], bias=1).data,
        lambda V, d: d(5, [1.0], V(0.0)),
        lambda V, d: d([V(1.0)], (x for x in [1.0]), V(0.0)),
        lambda V, d: d([V(1.0), V(2.0)], [1.0], V(0.0)),
    ]
    for call in calls:
        a = _described(outcome(lambda: call(CValue, cdot)))  # noqa: B023
        b = _described(outcome(lambda: call(PureValue, pure_dot)))  # noqa: B023
        assert a == b


def test_numpy_float64_and_int64_become_python_numbers_in_both_engines():
    np = pytest.importorskip("numpy")
    for make in (PureValue, CValue) if _cengine else (PureValue,):
        assert type(make(np.float64(1.5)).data) is float
        assert type(make(np.int64(3)).data) is int
        assert type((make(1.0) * np.float64(2.0)).data) is float
        assert type((np.int64(-1) * make(2.0)).data) is float
        assert type((make(2) * np.int64(3)).data) is int
        assert type(make(np.float32(1.5)).data) is np.float32  # other numpy scalars stay
        assert repr(make(np.float64(0.1)) * 3) == "Value(data=0.30000000000000004, grad=0)"


def test_ints_too_large_for_a_float_raise_a_value_error_naming_the_op():
    for make, dot in ENGINES if _cengine else ENGINES[:1]:
        big = make(10**400)
        for op, name in [
            (big.tanh, "tanh"),
            (big.sigmoid, "sigmoid"),
            (big.exp, "exp"),
            (lambda big=big: big * 1.5, r"x \* y"),
            (lambda big=big: 0.5 + big, r"x \+ y"),
            (lambda make=make, dot=dot: dot([make(1.5)], [10**400], make(0.0)), "dot"),
        ]:
            with pytest.raises(ValueError, match=name + ": an int of 1329 bits is too large"):
                op()
        assert (big * 2).data == 2 * 10**400  # int arithmetic stays exact, as in Python


# -- the rest of the contract ---------------------------------------------------------------


@compiled
def test_user_backward_that_raises_leaves_the_same_state_in_both_engines():
    def program(make):
        x = make(2.0)
        y = x * 3
        z = y * y + x

        def fails():
            raise RuntimeError("user code failed")

        y._backward = fails
        first = outcome(z.backward)
        state = (bits(x.grad), bits(y.grad), bits(z.grad))
        del y._backward
        z.backward()
        return first, state, bits(x.grad)

    assert program(CValue) == program(PureValue)
    assert program(CValue)[0] == ("error", "RuntimeError", "user code failed")


@compiled
def test_python_subclass_of_value():
    class Scaled(CValue):
        def double(self):
            return self * 2

        def _backward(self):  # a subclass's own rule is called by backward(), as in pure
            for child in self._prev:
                child.grad += 10 * self.grad

    class Custom(PureValue):
        def _backward(self):
            for child in self._prev:
                child.grad += 10 * self.grad

    for make, sub in ((CValue, Scaled), (PureValue, Custom)):
        x = make(1.5)
        s = sub(2.0, (x,), "scaled", label="s")
        assert isinstance(s, make) and s.label == "s" and s._prev == (x,)
        out = s * 3
        out.backward()
        assert (s.grad, x.grad) == (3, 30)
    d = Scaled(4.0).double()
    assert type(d) is CValue and d.data == 8.0


def test_copy_and_pickle_round_trip():
    Value = engine.Value
    x = Value(2.0, label="x")
    y = (x * 3 + 1).tanh()
    y.backward()
    y.note = 0.5
    for clone in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert type(clone) is Value and bits(clone.data) == bits(y.data)
        assert clone.note == 0.5 and clone._op == "tanh"
        (inner,) = clone._prev
        assert inner._prev[0]._prev[0].label == "x"
        clone.backward()
        assert bits(inner._prev[0]._prev[0].grad) == bits(2 * x.grad)  # a leaf accumulates
    shallow = copy.copy(x)
    assert shallow is not x and shallow.label == "x" and shallow.data == 2.0


def test_a_pickle_loads_in_the_other_engine():
    """The state is engine.py's slots and __dict__ in both engines."""
    x = engine.Value(2.0, label="x")
    y = x * 3 + 1
    y.backward()
    data = pickle.dumps((x, y))
    other = "0" if engine.IMPLEMENTATION == "pure" else "1"
    program = textwrap.dedent(
        """
        import pickle, sys
        from micrograd import engine
        x, y = pickle.loads(sys.stdin.buffer.read())
        print(engine.IMPLEMENTATION, x.label, x.grad, y.data, [p.data for p in y._prev])
        y.backward()
        print(x.grad)
        """
    )
    out = (
        subprocess.run(
            [sys.executable, "-c", program],
            input=data,
            capture_output=True,
            env={**os.environ, "MICROGRAD_PURE": other},
            check=True,
        )
        .stdout.decode()
        .split("\n")
    )
    if _cengine is not None:
        assert out[0].split()[0] == ("pure" if other == "1" else "compiled")
    assert out[0].split()[1:] == ["x", "3", "7.0", "[6.0,", "1]"]
    assert out[1] == "6"


@compiled
def test_crafted_state_is_refused_not_crashed():
    v = CValue(1.0)
    for state in [
        None,
        (1, 2),
        ({}, {"_a": 5}),
        ({}, {"_a": (CValue(1.0), 3)}),
        ({}, {"_a": (CValue(1.0), CValue(2.0)), "_da": 1.0}),
        ({}, {"_a": CValue(1.0), "_b": "text"}),
    ]:
        with pytest.raises(TypeError):
            v.__setstate__(state)
    v.backward()  # still a usable node


# -- depth, the collector and memory ----------------------------------------------------------


@compiled
def test_a_two_million_op_chain_builds_backpropagates_and_frees():
    # Deep enough that freeing it by nested calls would overflow the C stack (8 MB holds far
    # fewer frames); benchmarks/bench_engine.py times a chain of a million.
    x = CValue(1.0)
    y = x
    for _ in range(2_000_000):
        y = y + 1
    y.backward()
    assert y.data == 2_000_001.0 and x.grad == 1
    before = _cengine.live_values()
    del y  # freed by the trashcan's loop, not 2,000,000 nested calls
    assert _cengine.live_values() == before - 2_000_000


def _fresh(code: str) -> str:
    """Run `code` in a new interpreter (the tracking switch is one way, per process)."""
    prelude = "import gc\nfrom micrograd import _cengine\nfrom micrograd._cengine import Value\n"
    out = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


CYCLES = {
    "a Value as an attribute of a Value computed from it": "a = Value(1.0); b = a * 2; a.later = b",
    "a list filled later": "a = Value(1.0); a.items = []; b = a + 1; a.items.append(b)",
    "_prev reassigned": "a = Value(1.0); b = a * 2; a._prev = (b,)",
    "a closure as _backward": "a = Value(1.0); out = a * 2; out._backward = lambda: out.grad",
    "a write through __dict__": "a = Value(1.0); b = a * 2; a.__dict__['b'] = b",
    "a subclass": "V = type('V', (Value,), {}); a = V(1.0); b = a * 2; a.b = b",
}


@compiled
@pytest.mark.parametrize("make_cycle", CYCLES.values(), ids=CYCLES.keys())
def test_attributes_forming_cycles_are_collected(make_cycle):
    out = _fresh(
        f"""
        gc.collect()
        base = _cengine.live_values()
        untracked_before = not _cengine.tracking()
        {make_cycle}
        del a
        for name in ('b', 'out'):
            globals().pop(name, None)
        gc.collect()
        print(untracked_before, _cengine.tracking(), _cengine.live_values() - base)
        """
    )
    assert out == "True True 0"


@compiled
def test_numbers_as_attributes_keep_values_untracked():
    out = _fresh(
        """
        p = Value(1.0)
        p.m = 0.0; p.v = 0.25; p.label = "w"; p.grad = 1.0; p.data = 2.0; p.step = 3
        q = p * 2 + 1
        q.backward()
        print(_cengine.tracking(), gc.is_tracked(q))
        """
    )
    assert out == "False False"


@compiled
@pytest.mark.parametrize("mode", ["untracked", "tracked"])
def test_build_and_drop_loops_keep_memory_flat(mode):
    out = _fresh(
        f"""
        import tracemalloc
        if "{mode}" == "tracked":
            Value(0.0).switch = []  # a list as an attribute: tracked mode from here on
        def graph():
            xs = [Value(i / 100) for i in range(100)]
            out = Value(0.0)
            for i in range(2000):
                a, b = xs[i % 100], xs[(7 * i) % 100]
                out = out + (a * b + 1).tanh() * 0.5 - a.relu() / 3.0
            out.backward()
        tracemalloc.start()
        graph()
        first = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            graph()
        last = tracemalloc.get_traced_memory()[0]
        print(_cengine.tracking(), last - first, _cengine.live_values())
        """
    )
    tracking, growth, live = out.split()
    assert tracking == str(mode == "tracked")
    assert int(growth) < 20_000  # bytes, after 30 graphs of ~16,000 Values each
    assert int(live) == 0


@compiled
def test_nodes_are_untracked_until_needed_and_tracked_after():
    out = _fresh(
        """
        a = Value(1.0)
        b = a * 2
        before = (gc.is_tracked(a), gc.is_tracked(b))
        a.note = [b]
        c = b + 1
        print(before, gc.is_tracked(a), gc.is_tracked(b), gc.is_tracked(c))
        """
    )
    assert out == "(False, False) True True True"


@compiled
def test_ctrl_c_stops_a_long_backward_pass():
    out = _fresh(
        """
        import os, signal, threading, time
        x = Value(1.0)
        y = x
        for _ in range(5_000_000):
            y = y + 1
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.perf_counter()
        try:
            y.backward()
            print("finished")
        except KeyboardInterrupt:
            print("interrupted")
        y.backward()  # the graph is intact: a full pass afterwards gives the right gradient
        print(x.grad >= 1, y.data)
        """
    )
    assert out.split("\n") == ["interrupted", "True 5000001.0"]


@compiled
def test_threads_building_and_dropping_graphs_at_once():
    out = _fresh(
        """
        import threading
        base = _cengine.live_values()
        def work(seed):
            for _ in range(20):
                xs = [Value(seed + i / 7) for i in range(50)]
                out = xs[0]
                for i in range(2000):
                    out = (out * 0.5 + xs[i % 50]).tanh()
                out.backward()
        threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(_cengine.live_values() - base)
        """
    )
    assert out == "0"


@compiled
def test_the_collectors_own_functions_on_untracked_nodes():
    out = _fresh(
        """
        a = Value(1.0, label="a")
        b = a * 2 + 1
        refs = gc.get_referents(b)
        print(gc.is_tracked(b), a in gc.get_referents(b._prev[0]), len(gc.get_objects()) > 0)
        gc.collect()
        b.backward()
        print(a.grad)
        """
    )
    assert out.split("\n") == ["False True True", "2"]


@compiled
def test_wide_and_deep_dot_graphs():
    n = 200_000
    ws = [CValue(1.0) for _ in range(n)]
    total = cdot(ws, [0.5] * (n - 1) + [ws[0]], CValue(0.0))
    total.backward()
    # ws[0] is a weight (times 0.5) and the last input (times ws[-1] == 1.0)
    assert total.data == 0.5 * (n - 1) + 1.0 and ws[0].grad == 0.5 + 1.0
    chain = CValue(1.0)
    for _ in range(100_000):
        chain = cdot([chain], [1.0], 0.0)
    chain.backward()
    assert chain.data == 1.0


@compiled
def test_dot_state_is_engine_pys_tuple_of_derivatives():
    # The compiled dot keeps float and small-int derivatives in a C array; its state (pickles,
    # copies) shows the tuple engine.py keeps.
    def state(make, dot):
        ws = [make(0.5), make(2), make(-0.0)]
        node = dot(ws, [make(3), 1.5, make(0.25)], make(0))
        slots = node.__reduce_ex__(4)[2][1]
        return [bits(d) for d in slots["_da"]], [bits(v.data) for v in slots["_a"]]

    assert state(CValue, cdot) == state(PureValue, pure_dot)
    ws = [CValue(0.5), CValue(2)]
    node = cdot(ws, [CValue(3), 1.5], CValue(0))
    clone = pickle.loads(pickle.dumps(node)) if engine.IMPLEMENTATION == "compiled" else None
    for n in (node, clone) if clone is not None else (node,):
        n.backward()
        assert [bits(p.grad) for p in n._prev] == [bits(1), bits(3), bits(0.5), bits(1.5)]
