"""The compiled engine agrees with engine.py where a hostile trial found them apart.

Each test runs the same code on both engines side by side in this process (engine.py's Value is
`PureValue`, the compiled one `micrograd._cengine.Value`), whichever one `micrograd.engine.Value`
names, so the file gives the same verdict with and without MICROGRAD_PURE=1: floats compared by
their bytes, exceptions by type and message. `tests/test_engine_fuzz.py` compares random programs
the same way.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import pickle
import random
import re
import struct
from unittest import mock

import pytest

from micrograd import engine
from micrograd.engine import PureValue

try:
    from micrograd import _cengine
except ImportError:  # not built: nothing to compare (CI builds it and fails on a skip)
    _cengine = None

pytestmark = pytest.mark.skipif(_cengine is None, reason="micrograd._cengine is not built")
CValue = _cengine.Value if _cengine else None
BOTH = [PureValue, CValue]


def bits(x):
    """A number as something == compares exactly: its type and, for floats, its bytes."""
    if isinstance(x, float):
        return (type(x).__name__, struct.pack("<d", x))
    return (type(x).__name__, repr(x))


def outcome(thunk):
    """('ok', result) or ('error', type name, message)."""
    try:
        return ("ok", thunk())
    except Exception as e:  # noqa: BLE001 - any exception must match between the engines
        return ("error", type(e).__name__, str(e))


def same_in_both(program):
    """Run program(Value) on both engines and return the common outcome (asserting it is one)."""
    pure, compiled = (outcome(lambda V=V: program(V)) for V in BOTH)
    assert compiled == pure
    return pure


# -- every op computes its floats as CPython computes them ------------------------------------


def test_tanh_gradient_is_the_pure_engines_bit_for_bit():
    # 1 - t**2 with Python's t**2, which calls the C library's pow: a compiler turns a visible
    # pow(t, 2.0) into t*t, one ulp away for this input
    def grad(V):
        x = V(0.5686)
        x.tanh().backward()
        return bits(x.grad)

    assert same_in_both(grad) == ("ok", bits(0.7354642709290147))


@pytest.mark.parametrize("op", ["tanh", "sigmoid", "exp", "log", "relu", "pow2", "pow3", "powh"])
def test_every_unary_op_over_a_large_sample_bit_for_bit(op):
    rng = random.Random(op)
    xs = [rng.uniform(-5, 5) for _ in range(30000)] + [rng.uniform(-1e-3, 1e-3) for _ in range(300)]
    if op in ("log", "powh"):
        xs = [abs(x) + 1e-300 for x in xs]
    apply = {
        "pow2": lambda v: v**2,
        "pow3": lambda v: v**3,
        "powh": lambda v: v**0.5,
    }.get(op, lambda v: getattr(v, op)())

    def run(V):
        out = []
        for x in xs:
            v = V(x)
            y = apply(v)
            y.backward()
            out.append((struct.pack("<d", y.data), struct.pack("<d", v.grad)))
        return out

    pure, compiled = run(PureValue), run(CValue)
    differing = [x for x, a, b in zip(xs, pure, compiled) if a != b]
    assert differing == []


# -- gradients accumulate with += ---------------------------------------------------------------


def test_gradient_accumulation_is_in_place_add():
    np = pytest.importorskip("numpy")

    def program(V):
        x = V(2.0)
        grad = np.zeros(2)
        x.grad = grad  # an in-place type: `x.grad += ...` updates this very array
        (x * 3).backward()
        return x.grad is grad, grad.tolist()

    assert same_in_both(program) == ("ok", (True, [3.0, 3.0]))


def test_accumulating_into_a_grad_set_to_none_names_the_operator():
    def program(V):
        x = V(2.0)
        y = x * x
        x.grad = None
        y.backward()

    assert same_in_both(program) == (
        "error",
        "TypeError",
        "unsupported operand type(s) for +=: 'NoneType' and 'float'",
    )


# -- the interpreter's messages name the class 'Value' -----------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "V(2.0) @ 3",
        "V(2.0) < 3",
        "V(2.0) // 3",
        "abs(V(2.0))",
        "float(V(2.0))",
        "V(2.0).nothing",
        "pow(2, V(2.0), 3)",
        "V(2.0).__rpow__(2, 3)",
        "V(2.0).__rpow__(2)",
        "-V(3)",
    ],
)
def test_interpreter_made_errors_name_the_class_as_engine_py(expression):
    result = same_in_both(lambda V: repr(eval(expression, {"V": V})))
    assert result[0] == "error" or expression in ("V(2.0).__rpow__(2)", "-V(3)")


# -- docstrings and signatures ------------------------------------------------------------------


def _public_methods():
    return sorted(
        name
        for name, member in vars(PureValue).items()
        if not name.startswith("_") and inspect.isfunction(member)
    )


def _parameters(signature):
    """A signature without annotations (a compiled signature has none): names, kinds, defaults."""
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


def test_every_public_method_has_the_pure_docstring_and_signature():
    names = _public_methods()
    assert {"backward", "tanh", "relu", "exp", "log", "sigmoid", "draw_dot"} <= set(names)
    for name in names:
        pure, compiled = getattr(PureValue, name), getattr(CValue, name)
        assert inspect.getdoc(compiled) == inspect.getdoc(pure), name
        assert inspect.getdoc(pure), f"engine.py's Value.{name} has no docstring"
        # bound to an instance: `self` is not a parameter any more in either engine
        bound = [_parameters(inspect.signature(getattr(V(1.0), name))) for V in BOTH]
        assert bound[1] == bound[0], name
        assert compiled.__text_signature__.startswith("($self, /")


def test_the_class_has_the_pure_docstring_and_constructor_signature():
    assert inspect.getdoc(CValue) == inspect.getdoc(PureValue)
    assert _parameters(inspect.signature(CValue)) == _parameters(inspect.signature(PureValue))
    assert CValue.__text_signature__ == "(data, _children=(), _op='', label='', *, _prev=None)"
    assert (CValue.__module__, CValue.__qualname__) == ("micrograd.engine", "Value")


def test_help_shows_the_signatures_and_docstrings():
    text = pydoc_text(CValue)
    assert "tanh(self, /)" in text and "1 - tanh(x)**2" in text
    assert "Value(data, _children=(), _op='', label='', *, _prev=None)" in text


def pydoc_text(thing):
    import pydoc

    return pydoc.plain(pydoc.render_doc(thing))


# -- copy and pickle ----------------------------------------------------------------------------


@contextlib.contextmanager
def findable(V):
    """Let pickle find V under its name `micrograd.engine.Value` (under MICROGRAD_PURE=1 that
    name is engine.py's class; a pickle made by either engine names that one)."""
    if V.__module__ != "micrograd.engine" or engine.Value is V:
        yield
        return
    with mock.patch.object(engine, "Value", V):
        yield


def _with_slots(V):
    class AdamParameter(V):  # an optimizer keeping its state in slots, as the course's AdamW
        __slots__ = ("m", "unset", "v")

    p = AdamParameter(2.0, label="p")
    p.m, p.v = 0.25, 0.5
    return p


@pytest.mark.parametrize(
    "clone", [copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x, 2))]
)
def test_copy_and_pickle_keep_a_subclass_slots(clone):
    def program(V):
        p = _with_slots(V)
        if clone is not copy.copy and clone is not copy.deepcopy:
            globals()["AdamParameter"] = type(p)  # pickle finds a class by its name
            type(p).__qualname__ = "AdamParameter"
        with findable(V):
            c = clone(p)
        return (type(c).__name__, c.m, c.v, hasattr(c, "unset"), c.label, bits(c.data))

    try:
        assert same_in_both(program) == ("ok", ("AdamParameter", 0.25, 0.5, False, "p", bits(2.0)))
    finally:
        globals().pop("AdamParameter", None)


@pytest.mark.parametrize("protocol", [0, 1])
def test_pickle_protocols_0_and_1_refuse_as_engine_py(protocol):
    def program(V):
        with findable(V):
            return pickle.dumps(V(2.0) * 3, protocol)

    result = same_in_both(program)
    assert result[:2] == ("error", "TypeError") and "__slots__" in result[2]


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_protocols_from_2_round_trip(protocol):
    def program(V):
        x = V(2.0, label="x")
        y = (x * 3).tanh()
        y.backward()
        with findable(V):
            z = pickle.loads(pickle.dumps(y, protocol))
        z.backward()
        return bits(z.data), bits(z._prev[0]._prev[0].grad)

    assert same_in_both(program)[0] == "ok"


def _state(V, **changes):
    """A node's state as pickle saves it, with some slots changed ("missing": left out)."""
    slots = {"data": 3.0, "grad": 0, "_op": "*", "_a": V(1.0), "_b": V(2.0), "_da": 2.0}
    slots["_db"] = 1.0
    slots.update(changes)
    if slots["_a"] == "two":
        slots["_a"] = (V(1.0), V(2.0))
    return (None, {k: v for k, v in slots.items() if not (isinstance(v, str) and v == "missing")})


CRAFTED = [
    {"_db": None},
    {"_db": "missing"},
    {"_da": "missing"},
    {"_b": "text"},  # a constant input must be a number (engine.py would ignore it)
    {"_a": "two", "_b": None, "_da": (1.0,)},  # engine.py would zip the shorter
    {"_a": "two", "_b": None, "_da": (1.0, None)},
]


@pytest.mark.parametrize("changes", CRAFTED)
def test_a_crafted_state_is_refused_with_a_type_error(changes):
    v = CValue(5.0)
    with pytest.raises(TypeError, match=r"Value.__setstate__: .*(_da|_db)|got str"):
        v.__setstate__(_state(CValue, **changes))
    assert (v.data, v._prev) == (5.0, ())  # a refused state changes nothing
    v.backward()


@pytest.mark.parametrize("changes", [CRAFTED[i] for i in (0, 1, 2, 5)])
def test_engine_py_fails_on_the_same_states_at_their_first_use(changes):
    # engine.py has no __setstate__: pickle makes the object without __init__ and sets the slots
    # one by one, so the state fails where backward() (or arithmetic on data) reads it
    pure = PureValue.__new__(PureValue)
    for name, value in _state(PureValue, **changes)[1].items():
        setattr(pure, name, value)
    with pytest.raises((TypeError, AttributeError)):
        pure.backward()
        pure + 1


def test_whatever_engine_py_can_make_copies_in_both():
    # user code may assign any data (engine.py's slot takes it); ops then keep it as a derivative
    def program(V):
        x = V(2.0)
        x.data = 1j
        y = x * 3
        z = copy.deepcopy(y)
        return repr(z), [repr(p) for p in z._prev]

    assert same_in_both(program)[0] == "ok"


def test_a_valid_state_with_no_derivatives_is_a_user_node():
    def program(V):
        v = V(5.0)
        v.__setstate__(_state(V, _da=None, _db=None))
        v.backward()
        return [bits(p.grad) for p in v._prev]

    assert CValue(1.0).__setstate__(_state(CValue)) is None
    assert program(CValue) == [bits(0), bits(0)]


# -- numbers kept as given ----------------------------------------------------------------------


def test_data_assigned_a_numpy_int64_stays_one_as_in_engine_py():
    np = pytest.importorskip("numpy")

    def program(V):
        x = V(2.0)
        x.data = np.int64(3)
        kind = type(x.data).__name__
        return kind, repr((1 / x).data)

    result = same_in_both(program)
    assert result[0] == "error" and "negative integer powers" in result[2]


# -- a subclass whose __init__ does not call Value.__init__ -------------------------------------


def test_a_subclass_that_skips_value_init_has_unset_fields_as_in_engine_py():
    def program(V):
        class Forgetful(V):
            def __init__(self, x):
                self.given = x  # no super().__init__(x)

        n = Forgetful(2.0)
        seen = []
        for probe in (
            lambda: n.data,
            lambda: n.grad,
            lambda: n._op,
            lambda: n._prev,
            lambda: repr(n),
            lambda: n * 2,
            lambda: 2 - n,
            lambda: V(1.0) / n,
            lambda: n.tanh(),
            lambda: n.backward(),
            lambda: (V(1.0) * n).backward(),
        ):
            seen.append(outcome(probe)[1:])
        n.data = 3.0  # now data is set, and only data
        seen.append(outcome(lambda: (n * 2).data))
        seen.append(outcome(lambda: (V(1.0) * n).backward())[1:])
        return seen

    result = same_in_both(program)
    assert result[1][0] == ("AttributeError", "'Forgetful' object has no attribute 'data'")
    # the slot's own error: Python 3.13 names the class by its qualified name
    assert result[1][5][0] == "AttributeError"
    assert re.fullmatch(r"'(\S*\.)?Forgetful' object has no attribute '_data'", result[1][5][1])
    assert result[1][-2] == ("ok", 6.0)
