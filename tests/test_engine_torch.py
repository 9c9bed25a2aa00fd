"""`Value` gradients against PyTorch (float64) and against finite differences: the original's two
reference tests written anew, and random expression graphs with shared sub-expressions over every
op (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from micrograd import Value, gradcheck

torch = pytest.importorskip("torch")


def test_sanity_check_against_torch():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert ymg.data == y.data.item()
    assert xmg.grad == x.grad.item()


def test_more_ops_against_torch():
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.double, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    tol = 1e-6
    assert abs(gmg.data - g.data.item()) < tol
    assert abs(amg.grad - a.grad.item()) < tol
    assert abs(bmg.grad - b.grad.item()) < tol
    # The README's numbers (from the original micrograd's README).
    assert round(gmg.data, 4) == 24.7041
    assert round(amg.grad, 4) == 138.8338
    assert round(bmg.grad, 4) == 645.5773


# -- random expression graphs --------------------------------------------------------------
#
# A program is a list of steps; each step applies one op to nodes picked from everything
# computed so far (so sub-expressions are shared), and the output sums the last few nodes. The
# same program runs on Values and on float64 torch tensors. Inputs of ops with a restricted
# domain are made safe by construction (log of a*a + 0.5, exp of tanh) so every step is defined.

UNARY = [
    "neg",
    "relu",
    "tanh",
    "sigmoid",
    "exp_tanh",
    "log_pos",
    "pow2",
    "pow3",
    "powhalf_pos",
    "powneg1_pos",
    "rsub",
    "rdiv_pos",
    "rpow",
]
BINARY = ["add", "sub", "mul", "div_pos", "valpow_pos", "radd_const", "rmul_const"]


def apply(op, a, b, c, lib):
    """One step of a program; `lib` gives tanh/exp/log/relu/sigmoid for the backend."""
    if op == "neg":
        return -a
    if op == "relu":
        return lib.relu(a)
    if op == "tanh":
        return lib.tanh(a)
    if op == "sigmoid":
        return lib.sigmoid(a)
    if op == "exp_tanh":
        return lib.exp(lib.tanh(a))
    if op == "log_pos":
        return lib.log(a * a + 0.5)
    if op == "pow2":
        return a**2
    if op == "pow3":
        return a**3
    if op == "powhalf_pos":
        return (a * a + 0.5) ** 0.5
    if op == "powneg1_pos":
        return (a * a + 0.5) ** -1
    if op == "rsub":
        return c - a
    if op == "rdiv_pos":
        return c / (a * a + 0.5)
    if op == "rpow":
        return 1.5 ** lib.tanh(a)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div_pos":
        return a / (b * b + 0.5)
    if op == "valpow_pos":
        return (a * a + 0.5) ** lib.tanh(b)
    if op == "radd_const":
        return c + a + b
    if op == "rmul_const":
        return c * a * b
    raise AssertionError(op)


class Methods:
    """Both engines spell these ops as methods (`v.tanh()`), so one table serves both."""

    relu = staticmethod(lambda v: v.relu())
    tanh = staticmethod(lambda v: v.tanh())
    sigmoid = staticmethod(lambda v: v.sigmoid())
    exp = staticmethod(lambda v: v.exp())
    log = staticmethod(lambda v: v.log())


@st.composite
def programs(draw):
    n_inputs = draw(st.integers(1, 4))
    inputs = draw(
        st.lists(
            st.floats(-2.0, 2.0, allow_nan=False).filter(lambda x: abs(x) > 1e-3),
            min_size=n_inputs,
            max_size=n_inputs,
        )
    )
    steps = []
    for k in range(draw(st.integers(1, 14))):
        available = n_inputs + k
        op = draw(st.sampled_from(UNARY + BINARY))
        i = draw(st.integers(0, available - 1))
        j = draw(st.integers(0, available - 1))
        c = draw(st.sampled_from([-1.5, 0.5, 2, 3.0]))
        steps.append((op, i, j, c))
    n_out = draw(st.integers(1, min(3, n_inputs + len(steps))))
    return inputs, steps, n_out


def run_program(program, make_leaf, lib):
    inputs, steps, n_out = program
    leaves = [make_leaf(x) for x in inputs]
    nodes = list(leaves)
    for op, i, j, c in steps:
        nodes.append(apply(op, nodes[i], nodes[j], c, lib))
    out = nodes[-1]
    for extra in nodes[-n_out:-1]:
        out = out + extra
    return leaves, nodes, out


def relu_inputs_away_from_zero(program) -> bool:
    """Finite differences are meaningless at a kink; keep relu inputs off zero."""
    _, nodes, _ = run_program(program, Value, Methods)
    return all(abs(n._prev[0].data) > 1e-4 for n in nodes if getattr(n, "_op", "") == "ReLU")


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    # The absolute part matters near 0: tanh is the lecture's (exp(2x) - 1) / (exp(2x) + 1),
    # whose subtraction cancels there (an absolute error of about 1e-16, so a relative one that
    # grows without bound as x -> 0), where torch.tanh is accurate relative to x itself.
    return abs(a - b) <= abs_ + rel * max(abs(a), abs(b))


@pytest.mark.parametrize("x", [0.0, 1e-300, -1e-12, 3e-9, -2e-6, 1e-3, 0.3, -0.8813735870195432])
def test_tanh_near_zero_is_within_an_absolute_2e_16_of_torch(x):
    # Not relative: exp(2x) - 1 loses the digits of x below 1e-16 (tanh(1e-300) is 0.0 here),
    # the price of printing the lecture's numbers (see test_cengine's lecture neuron).
    t = Value(x).tanh()
    expected = torch.tanh(torch.tensor(x, dtype=torch.float64)).item()
    assert abs(t.data - expected) <= 2e-16
    t.backward()
    assert abs(t._prev[0].grad - (1 - expected**2)) <= 4e-16


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_match_torch_float64(program):
    leaves, _, out = run_program(program, Value, Methods)
    out.backward()
    t_leaves, _, t_out = run_program(
        program, lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True), Methods
    )
    t_out.backward()
    assume(math.isfinite(t_out.item()))
    assert close(out.data, t_out.item())
    for ours, theirs in zip(leaves, t_leaves):
        expected = 0.0 if theirs.grad is None else theirs.grad.item()
        assert close(ours.grad, expected), (ours.grad, expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_match_finite_differences(program):
    assume(relu_inputs_away_from_zero(program))
    n = len(program[0])

    def f(*leaves):
        nodes = list(leaves)
        for op, i, j, c in program[1]:
            nodes.append(apply(op, nodes[i], nodes[j], c, Methods))
        out = nodes[-1]
        for extra in nodes[-program[2] : -1]:
            out = out + extra
        return out

    leaves = [Value(x) for x in program[0]]
    assume(abs(f(*leaves).data) < 1e6)
    assert gradcheck(f, leaves, eps=1e-6, atol=1e-5, rtol=1e-4)
    assert len(leaves) == n
