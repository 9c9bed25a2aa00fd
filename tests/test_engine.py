"""The compatibility contract of `micrograd.engine.Value` (../shared/docs/compat.md), item by item,
and the numeric edge cases and bad inputs of issue 2. Gradients against PyTorch and random graphs
are in test_engine_torch.py."""

from __future__ import annotations

import gc
import math
import random
import subprocess
import sys

import pytest

from micrograd import Value, engine
from micrograd.engine import dot
from micrograd.graph import topological_order

# -- constructor and attributes ------------------------------------------------------------


def test_positional_constructor_order_as_user_defined_ops_call_it():
    x = Value(0.5)
    t = math.tanh(x.data)
    out = Value(t, (x,), "tanh")  # what the lecture's own tanh does
    assert out.data == t and out._op == "tanh" and x in out._prev and out.label == ""


def test_label_keyword_and_assignment():
    a = Value(2.0, label="a")
    assert a.label == "a"
    e = a * 2
    assert e.label == ""
    e.label = "e"
    assert e.label == "e"


def test_prev_keyword_alias_of_children():
    a, b = Value(1.0), Value(2.0)
    out = Value(3.0, _prev=(a, b), _op="+")
    assert tuple(out._prev) == (a, b) and out._op == "+"


def test_prev_op_readable_for_each_operator():
    a, b = Value(2.0), Value(3.0)
    assert (a + b)._op == "+" and set((a + b)._prev) == {a, b}
    assert (a * b)._op == "*"
    assert (a**2)._op == "**2"
    assert (a**-1)._op == "**-1"
    assert a.relu()._op == "ReLU"
    assert a.tanh()._op == "tanh"
    assert a.exp()._op == "exp"
    assert a.log()._op == "log"
    assert a.sigmoid()._op == "sigmoid"
    assert a._op == "" and tuple(a._prev) == ()


def test_children_keep_their_order():
    a, b = Value(2.0), Value(3.0)
    assert tuple((a * b)._prev) == (a, b)
    assert tuple((b * a)._prev) == (b, a)


def test_constants_appear_in_prev_as_the_original_leaf_values():
    x = Value(2.0)
    y = 3 * x + 1  # the original makes Value(3) and Value(1) leaves
    y.backward()
    mul, one = y._prev
    assert one.data == 1 and one._op == "" and one.grad == 1
    assert mul._prev[0] is x
    three = mul._prev[1]
    assert three.data == 3 and three.grad == 2.0  # d y / d 3 = x
    assert mul._prev[1] is three  # the same node every time it is asked for


def test_writable_attributes_data_grad_and_arbitrary():
    p = Value(1.0)
    p.grad = 1.0
    p.data -= 0.1 * p.grad
    assert p.data == pytest.approx(0.9)
    p.m = 0.0  # the course version's AdamW keeps state on the Value
    p.v = 0.0
    p._vis_color = "red"
    assert (p.m, p.v, p._vis_color) == (0.0, 0.0, "red")


def test_grad_starts_at_zero_and_repr_as_original():
    v = Value(2.0)
    assert v.grad == 0 and repr(v) == "Value(data=2.0, grad=0)"
    w = v * 3
    w.backward()
    assert repr(v) == "Value(data=2.0, grad=3)"  # an int, as the original prints it


def test_identity_equality_and_hash():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a
    assert len({a, b}) == 2
    nodes = [a]
    assert b not in nodes and a in nodes


def test_user_assigned_backward_is_called_by_backward():
    x = Value(0.3)

    def my_tanh(v):
        t = math.tanh(v.data)
        out = Value(t, (v,), "tanh")

        def _backward():
            v.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    y = my_tanh(x) * 2
    y.backward()
    assert x.grad == pytest.approx(2 * (1 - math.tanh(0.3) ** 2))


def test_user_assigned_backward_overrides_a_builtin_node():
    x = Value(2.0)
    y = x * 3
    calls = []
    y._backward = lambda: calls.append("called")
    y.backward()
    assert calls == ["called"] and x.grad == 0


def test_user_node_without_backward_passes_no_gradient_like_the_original():
    x = Value(2.0)
    y = Value(x.data * 2, (x,), "custom")
    y.backward()
    assert x.grad == 0


def test_manual_backward_node_by_node_as_in_the_lecture():
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    n = x1w1 + x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: does nothing
    n._prev[0]._backward()
    x1w1._backward()
    x2w2._backward()
    assert n.grad == pytest.approx(0.5, abs=1e-6)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0), abs=1e-6)


# -- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, value, grad",
    [
        (lambda x: x + 2, 5.0, 1.0),
        (lambda x: 2 + x, 5.0, 1.0),
        (lambda x: x - 2, 1.0, 1.0),
        (lambda x: 2 - x, -1.0, -1.0),
        (lambda x: x * 2, 6.0, 2.0),
        (lambda x: 2 * x, 6.0, 2.0),
        (lambda x: x / 2, 1.5, 0.5),
        (lambda x: 10.0 / x, 10.0 / 3, -10.0 / 9),
        (lambda x: x**2, 9.0, 6.0),
        (lambda x: x**0.5, math.sqrt(3), 0.5 / math.sqrt(3)),
        (lambda x: 2**x, 8.0, 8.0 * math.log(2)),
        (lambda x: -x, -3.0, -1.0),
        (lambda x: x.exp(), math.exp(3), math.exp(3)),
        (lambda x: x.log(), math.log(3), 1 / 3),
        (lambda x: x.tanh(), math.tanh(3), 1 - math.tanh(3) ** 2),
        (lambda x: x.sigmoid(), 1 / (1 + math.exp(-3)), math.exp(-3) / (1 + math.exp(-3)) ** 2),
        (lambda x: x.relu(), 3.0, 1.0),
    ],
)
def test_operator_value_and_gradient(expr, value, grad):
    x = Value(3.0)
    y = expr(x)
    assert isinstance(y, Value)
    y.backward()
    assert y.data == pytest.approx(value, rel=1e-12)
    assert x.grad == pytest.approx(grad, rel=1e-12)


def test_value_power_value_gradient_for_both_sides():
    x, y = Value(2.0), Value(3.0)
    z = x**y
    z.backward()
    assert z.data == 8.0
    assert x.grad == pytest.approx(12.0) and y.grad == pytest.approx(8.0 * math.log(2.0))


def test_augmented_assignment_builds_a_new_node():
    c = Value(1.0)
    original = c
    c += c + 1
    assert c is not original and c.data == 3.0
    c.backward()
    assert original.grad == 2


def test_numpy_scalars_on_either_side():
    np = pytest.importorskip("numpy")
    score = Value(2.0)
    yi = np.int64(-1)
    out = -yi * score
    assert isinstance(out, Value) and out.data == 2.0
    assert isinstance(np.float64(2.0) * score, Value)
    assert isinstance(score * np.float32(2.0), Value)
    assert Value(np.float64(1.5)).data == 1.5
    assert Value(np.int64(3)).data == 3
    assert Value(np.bool_(True)).data


def test_bool_data_accepted():
    assert Value(True).data is True


# -- correctness beyond the original ---------------------------------------------------------


def test_chain_of_a_million_ops_does_not_recurse():
    x = Value(1.0)
    for _ in range(1_000_000):
        x = x + 1
    x.backward()
    assert x.data == 1_000_001.0


def test_deep_chain_of_values_frees_without_recursion_error():
    x = Value(1.0)
    y = x
    for _ in range(200_000):
        y = y * 1.0 + x  # a deep graph with a node shared at every level
    y.backward()
    assert x.grad == 200_001
    del y  # dropping a 400k-deep graph must not blow the C stack either


def test_second_backward_accumulates_leaves_not_interior_nodes():
    x = Value(3.0)
    y = x * x * x
    y.backward()
    assert x.grad == 27
    y.backward()
    assert x.grad == 54  # the original gives 72: it counted the interior x*x twice


def test_reused_nodes_get_exact_gradients():
    a = Value(3.0)
    assert _grad(lambda: a * a, a) == 6.0
    assert _grad(lambda: a + a, a) == 2.0
    b = Value(-2.0)
    assert _grad(lambda: (b * b) * b + b, b) == 3 * 4 + 1


def _grad(make, leaf):
    leaf.grad = 0
    make().backward()
    return leaf.grad


def test_node_feeding_many_consumers():
    x = Value(0.7)
    h = x.tanh()
    out = sum((h * k for k in range(1, 101)), Value(0.0))
    out.backward()
    assert x.grad == pytest.approx(sum(range(1, 101)) * (1 - math.tanh(0.7) ** 2), rel=1e-12)


def test_same_program_bit_identical_gradients_across_processes():
    program = (
        "import random\n"
        "from micrograd import Value\n"
        "random.seed(0)\n"
        "xs = [Value(random.uniform(-1, 1)) for _ in range(30)]\n"
        "acc = Value(0.0)\n"
        "for i in range(300):\n"
        "    a, b = random.choice(xs), random.choice(xs)\n"
        "    acc = acc + (a * b + acc * 0.01).tanh()\n"
        "acc.backward()\n"
        "print([x.grad.hex() for x in xs])\n"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(3)
    }
    assert len(runs) == 1


def _live_values() -> int:
    """How many Values are alive. The compiled engine's nodes are not tracked by the cyclic
    collector (that is its speed), so gc.get_objects() cannot see them: it counts them itself."""
    if engine.IMPLEMENTATION == "compiled":
        from micrograd import _cengine

        return _cengine.live_values()
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def test_graph_is_freed_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        before = _live_values()
        x = Value(1.0)
        y = (x * 2 + 1).tanh().exp() * x
        y.backward()
        assert len(y._prev) == 2  # (reading _prev materialises the constants too)
        assert _live_values() >= before + 5
        del y
        assert _live_values() == before + 1  # only x: freed by reference counting, no cycle
    finally:
        gc.enable()


def test_backward_order_matches_the_generic_topological_sort():
    random.seed(3)
    xs = [Value(random.uniform(-1, 1)) for _ in range(8)]
    nodes = list(xs)
    for _ in range(60):
        a, b = random.choice(nodes), random.choice(nodes)
        nodes.append(random.choice([a * b, a + b, (a + b).tanh(), a.relu() * 2]))
    root = sum(nodes[-10:], Value(0.0))
    generic = topological_order(root)  # (first: it turns constants into leaf Values)
    fast = root._topological_order()
    assert set(map(id, fast)) == set(map(id, generic))

    def interior(order):
        return [id(n) for n in order if n._prev]

    assert interior(fast) == interior(generic)


# -- numerics ----------------------------------------------------------------------------------


def test_relu_at_zero_has_zero_gradient():
    x = Value(0.0)
    y = x.relu()
    y.backward()
    assert y.data == 0.0 and x.grad == 0


@pytest.mark.parametrize("big", [800.0, -800.0, 1e308, -1e308])
def test_tanh_and_sigmoid_do_not_overflow(big):
    t = Value(big).tanh()
    s = Value(big).sigmoid()
    t.backward()
    s.backward()
    assert t.data == math.copysign(1.0, big)
    assert s.data == (1.0 if big > 0 else 0.0)
    assert not math.isnan(t._prev[0].grad) and not math.isnan(s._prev[0].grad)


def test_sigmoid_matches_the_formula_where_it_is_safe():
    for x in (-30.0, -1.0, 0.0, 0.5, 30.0):
        assert Value(x).sigmoid().data == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1.0, -1e-300])
def test_log_of_non_positive_raises_value_error_naming_op_and_value(bad):
    with pytest.raises(ValueError, match=r"log\(.*" + str(bad).replace("-", "-").split("e")[0]):
        Value(bad).log()


def test_negative_base_fractional_exponent_raises():
    with pytest.raises(ValueError, match="negative base"):
        Value(-8.0) ** (1 / 3)
    with pytest.raises(ValueError, match="negative base"):
        Value(-8.0) ** Value(0.5)
    assert (Value(-2.0) ** 3).data == -8.0  # integral exponents are fine
    assert (Value(-2.0) ** 2.0).data == 4.0


def test_power_at_zero_base():
    x = Value(0.0)
    y = x**2
    y.backward()
    assert (y.data, x.grad) == (0.0, 0.0)
    with pytest.raises(ZeroDivisionError, match="zero base"):
        Value(0.0) ** -1
    root = Value(0.0) ** 0.5
    root.backward()
    assert root._prev[0].grad == math.inf  # the slope of sqrt at 0, as in PyTorch


def test_exp_overflow_raises_value_error():
    with pytest.raises(ValueError, match=r"exp\(1000.0\)"):
        Value(1000.0).exp()


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], {"a": 1}, 1 + 2j, object()])
def test_non_number_data_raises_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], 2j])
def test_operators_with_non_numbers_raise_type_error(bad):
    x = Value(1.0)
    for op in (lambda: x + bad, lambda: x * bad, lambda: bad + x, lambda: bad * x):
        with pytest.raises(TypeError, match=type(bad).__name__):
            op()


def test_bad_exponent_type():
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** "2"


def test_children_must_be_values():
    with pytest.raises(TypeError, match="float"):
        Value(1.0, (1.0,), "+")


# -- dot: the fused weighted sum --------------------------------------------------------------


def test_dot_equals_the_unfused_sum_bit_for_bit():
    random.seed(1)
    ws = [Value(random.uniform(-1, 1)) for _ in range(7)]
    xs = [Value(random.uniform(-1, 1)) for _ in range(6)] + [0.25]  # Values and a plain number
    b = Value(0.1)
    fused = dot(ws, xs, b).tanh()
    fused.backward()
    fused_grads = [v.grad for v in ws + xs[:-1] + [b]]
    for v in ws + xs[:-1] + [b]:
        v.grad = 0
    plain = sum((w * x for w, x in zip(ws, xs)), b).tanh()
    plain.backward()
    assert fused.data == plain.data
    assert fused_grads == [v.grad for v in ws + xs[:-1] + [b]]


def test_dot_length_mismatch():
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        dot([Value(1.0), Value(2.0)], [1.0], Value(0.0))


def test_power_overflow_raises_value_error_naming_the_op():
    with pytest.raises(ValueError, match=r"Value \*\* 400: 10.0 \*\* 400 is too large"):
        Value(10.0) ** 400
    with pytest.raises(ValueError, match=r"Value \*\* Value: 2 \*\* 5000.0 is too large"):
        2 ** Value(5000.0)


@pytest.mark.parametrize(
    "divide",
    [lambda: Value(1.0) / 0, lambda: Value(1.0) / Value(0.0), lambda: 3 / Value(0)],
)
def test_division_by_zero_says_division(divide):
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        divide()
