"""Tests for micrograd.losses: values and gradients against torch.nn.functional (float64), the
demo's exact floats for hinge + l2, numerical stability at large logits, and input validation."""

from __future__ import annotations

import math
import random

import pytest

from micrograd.engine import Value
from micrograd.losses import (
    LOSSES,
    bce_with_logits,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l2,
    mse,
)

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
F = torch.nn.functional


def _values(xs):
    return [Value(x) for x in xs]


def _t(xs):
    return torch.tensor(xs, dtype=torch.float64, requires_grad=True)


def _check(loss, vals, tloss, tleaf, rel=1e-12):
    """Our loss and the gradients of its inputs against torch's."""
    loss.backward()
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=rel, abs=1e-15)
    flat_grad = tleaf.grad.reshape(-1).tolist()
    assert [v.grad for v in vals] == pytest.approx(flat_grad, rel=rel, abs=1e-15)


SCORES = [0.3, -1.7, 2.5, 0.0, -0.2, 1.0, 0.999]


def test_hinge_matches_torch():
    labels = [1, 1, -1, -1, 1, 1, -1]
    s = _values(SCORES)
    ts = _t(SCORES)
    y = torch.tensor(labels, dtype=torch.float64)
    _check(hinge(s, labels), s, torch.relu(1 - y * ts).mean(), ts)


def test_mse_matches_torch_for_one_and_several_outputs():
    targets = [0.5, -1.0, 2.0, 0.0, 0.3, 1.0, -2.0]
    p = _values(SCORES)
    tp = _t(SCORES)
    _check(mse(p, targets), p, F.mse_loss(tp, torch.tensor(targets, dtype=torch.float64)), tp)
    rows = [[0.1, 0.2], [-0.5, 3.0], [1.0, 1.5]]
    trows = [[0.0, 1.0], [0.5, 2.0], [1.0, -1.0]]
    pv = [_values(r) for r in rows]
    tp = _t(rows)
    _check(
        mse(pv, trows),
        [v for r in pv for v in r],
        F.mse_loss(tp, torch.tensor(trows, dtype=torch.float64)),
        tp,
    )


def test_bce_with_logits_matches_torch():
    labels = [1, 0, 1, 0, 0, 1, 1]
    z = _values(SCORES)
    tz = _t(SCORES)
    y = torch.tensor(labels, dtype=torch.float64)
    _check(
        binary_cross_entropy_with_logits(z, labels),
        z,
        F.binary_cross_entropy_with_logits(tz, y),
        tz,
    )
    assert bce_with_logits is binary_cross_entropy_with_logits


def test_bce_gradient_at_zero_logit_is_sigmoid_minus_label():
    for label, expected in [(1, -0.5), (0, 0.5)]:
        z = Value(0.0)
        bce_with_logits([z], [label]).backward()
        assert z.grad == expected  # sigmoid(0) - y, the torch value


def test_cross_entropy_matches_torch():
    rows = [[0.2, -1.0, 3.0], [1.5, 1.5, 0.0], [-2.0, 0.1, 0.4], [0.0, 0.0, 0.0]]
    labels = [2, 0, 1, 2]
    vals = [_values(r) for r in rows]
    tl = _t(rows)
    _check(
        cross_entropy(vals, labels),
        [v for r in vals for v in r],
        F.cross_entropy(tl, torch.tensor(labels)),
        tl,
    )


def test_l2_matches_torch_and_the_demo_expression():
    ps = _values([0.5, -1.25, 2.0, 0.0])
    tp = _t([0.5, -1.25, 2.0, 0.0])
    _check(l2(ps, 1e-4), ps, 1e-4 * (tp * tp).sum(), tp)
    # the demo writes `alpha * sum((p*p for p in model.parameters()))`: same float
    assert l2(ps, 1e-4).data == (1e-4 * sum(p * p for p in ps)).data
    assert l2([], 0.1).data == 0.0


@pytest.mark.parametrize("big", [1000.0, -1000.0, 800.0])
def test_large_logits_do_not_overflow(big):
    z = [Value(big), Value(-big)]
    loss = bce_with_logits(z, [1, 1])
    loss.backward()
    tz = _t([big, -big])
    tl = F.binary_cross_entropy_with_logits(tz, torch.tensor([1.0, 1.0], dtype=torch.float64))
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-12)
    assert [v.grad for v in z] == pytest.approx(tz.grad.tolist(), abs=1e-15)

    rows = [[Value(big), Value(0.0), Value(-big)], [Value(-big), Value(big), Value(big)]]
    ce = cross_entropy(rows, [0, 2])
    ce.backward()
    tl = _t([[big, 0.0, -big], [-big, big, big]])
    tce = F.cross_entropy(tl, torch.tensor([0, 2]))
    tce.backward()
    assert ce.data == pytest.approx(tce.item(), rel=1e-12, abs=1e-15)
    grads = [v.grad for r in rows for v in r]
    assert grads == pytest.approx(tl.grad.reshape(-1).tolist(), abs=1e-15)


def test_hinge_plus_l2_reproduces_the_demo_first_loss():
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    from micrograd.nn import MLP

    random.seed(1337)
    np.random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], fused=True)
    scores = [model(list(map(Value, row))) for row in X]
    total = hinge(scores, y) + l2(model.parameters(), 1e-4)
    assert total.data == 0.8958441028683222  # the original demo's first loss


def test_losses_accept_one_element_lists_and_plain_number_logits():
    assert hinge([[Value(0.5)]], [1]).data == 0.5
    assert bce_with_logits([0.0], [1]).data == pytest.approx(0.6931471805599453, rel=1e-15)
    assert cross_entropy([[0.0, 0.0]], [1]).data == pytest.approx(0.6931471805599453, rel=1e-15)
    assert isinstance(mse([1.0, 2.0], [0.0, 0.0]), Value)
    assert mse([1.0, 2.0], [0.0, 0.0]).data == 2.5


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: hinge(_values([1, 2]), [1]), ValueError, "2 scores but 1 labels"),
        (lambda: mse(_values([1]), [1, 2, 3]), ValueError, "1 predictions but 3 targets"),
        (lambda: bce_with_logits(_values([1, 2, 3]), [1, 0]), ValueError, "3 logits but 2 labels"),
        (lambda: cross_entropy([], []), ValueError, "empty"),
        (lambda: hinge(_values([1, 2, 3]), [1, 0, -1]), ValueError, "label 0 at index 1"),
        (lambda: bce_with_logits(_values([1, 2]), [1, -1]), ValueError, "label -1 at index 1"),
        (lambda: bce_with_logits(_values([1]), [0.5]), ValueError, "label 0.5 at index 0"),
        (
            lambda: cross_entropy([_values([1, 2]), _values([1, 2])], [1, 2]),
            ValueError,
            r"label 2 at index 1 is not a class index in 0..1",
        ),
        (
            lambda: cross_entropy([_values([1, 2])], [0.5]),
            ValueError,
            "label 0.5 at index 0",
        ),
        (
            lambda: cross_entropy([_values([1, 2]), _values([1, 2, 3])], [0, 0]),
            ValueError,
            r"logits\[1\] has 3 classes but logits\[0\] has 2",
        ),
        (lambda: cross_entropy([Value(1.0)], [0]), TypeError, r"logits\[0\] must be a list"),
        (lambda: mse([[Value(1), Value(2)]], [[1.0]]), ValueError, "sample 0 has 2 predictions"),
        (lambda: mse([Value(1)], ["a"]), ValueError, "target 'a' at index 0"),
        (lambda: hinge([[Value(1), Value(2)]], [1]), ValueError, "output 0 has 2 values"),
        (lambda: hinge(Value(1.0), [1]), TypeError, "scores must be a sequence"),
        (lambda: l2([Value(1.0)], -1.0), ValueError, "alpha must be a finite number >= 0"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_registry_names_the_cli_losses():
    assert LOSSES == {
        "hinge": hinge,
        "mse": mse,
        "bce": binary_cross_entropy_with_logits,
        "cross_entropy": cross_entropy,
    }


def test_losses_pass_finite_difference_gradcheck():
    from micrograd.gradcheck import gradcheck

    z = _values([0.3, -1.2, 2.0, 0.7])
    assert gradcheck(lambda *v: hinge(list(v), [1, -1, 1, -1]), z)
    assert gradcheck(lambda *v: mse(list(v), [0.0, 1.0, -1.0, 0.5]), z)
    assert gradcheck(lambda *v: bce_with_logits(list(v), [1, 0, 0, 1]), z)
    assert gradcheck(lambda *v: cross_entropy([list(v[:2]), list(v[2:])], [1, 0]), z)
    assert gradcheck(lambda *v: l2(list(v), 0.1), z)


def test_hinge_accepts_plain_number_scores_like_the_other_losses():
    # bce and cross_entropy take plain numbers as outputs; hinge raised AttributeError (no relu)
    assert hinge([0.5, -2.0], [1, -1]).data == pytest.approx(0.25, rel=1e-15)
    assert hinge([Value(0.5), -2.0], [1, -1]).data == pytest.approx(0.25, rel=1e-15)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: hinge(["a"], [1]), TypeError, "hinge: output 0 is a str, not a Value or a number"),
        (lambda: hinge([None], [1]), TypeError, "hinge: output 0 is a NoneType"),
        (lambda: mse([None], [1.0]), TypeError, "mse: output 0 is a NoneType"),
        (lambda: mse([[Value(1.0), "x"]], [[1.0, 2.0]]), TypeError, "mse: output 0 is a str"),
        (lambda: mse([[]], [[]]), ValueError, "mse: sample 0 has no predictions"),
        (lambda: mse([Value(1.0)], [float("nan")]), ValueError, "target nan at index 0 is not a"),
        (lambda: mse([Value(1.0)], [math.inf]), ValueError, "target inf at index 0 is not a"),
        (lambda: cross_entropy([[Value(1.0), None]], [0]), TypeError, "output 0 is a NoneType"),
        (lambda: l2([Value(1.0)], float("nan")), ValueError, "alpha must be a finite number >= 0"),
        (lambda: l2([Value(1.0)], math.inf), ValueError, "alpha must be a finite number >= 0"),
        (lambda: l2([Value(1.0)], True), ValueError, "alpha must be a finite number >= 0"),
        (lambda: l2(Value(1.0), 0.1), TypeError, "l2: parameters must be a list of Values or a"),
        (lambda: l2(None, 0.1), TypeError, "l2: parameters must be a list of Values or a"),
        (lambda: l2([Value(1.0), 2.0], 0.1), TypeError, "l2: parameter 1 is a float, not a Value"),
    ],
)
def test_more_bad_inputs_raise_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_nan_and_infinite_logits_give_the_torch_loss_not_a_log_error():
    # A diverged model outputs NaN or inf; PyTorch's loss is then NaN (or inf), which the
    # training loop reports. The engine's log refuses NaN, so these raised "log(nan): ...".
    nan, inf = float("nan"), math.inf
    cases = [([[nan, 1.0]], [1]), ([[inf, 1.0]], [1]), ([[inf, 1.0]], [0])]
    cases += [([[-inf, 1.0]], [1]), ([[-inf, 1.0]], [0]), ([[1.0, 2.0], [nan, 0.0]], [0, 1])]
    for rows, labels in cases:
        expected = F.cross_entropy(torch.tensor(rows, dtype=torch.float64), torch.tensor(labels))
        got = cross_entropy([_values(r) for r in rows], labels).data
        assert got == pytest.approx(expected.item(), nan_ok=True), (rows, labels)
    for z, label in [(nan, 1), (nan, 0)]:
        assert math.isnan(bce_with_logits([Value(z)], [label]).data)
    # a confidently wrong infinite logit: the loss is inf (PyTorch agrees for inf, label 0)
    assert bce_with_logits([Value(inf)], [0]).data == inf
    assert bce_with_logits([Value(-inf)], [1]).data == inf
    # a confidently right one: the limit is 0; PyTorch gives NaN (inf - inf); either is fine
    for z, label in [(inf, 1), (-inf, 0)]:
        got = bce_with_logits([Value(z)], [label]).data
        assert got == 0.0 or math.isnan(got)


def test_a_batch_that_is_not_iterable_names_its_type():
    with pytest.raises(TypeError, match="hinge: scores must be a sequence .* got None"):
        hinge(None, [1])
    with pytest.raises(TypeError, match="mse: targets must be a sequence .* got 3"):
        mse([Value(1.0)], 3)


def test_mse_of_a_huge_prediction_is_inf_as_in_torch_not_an_overflow_error():
    # `d ** 2` raised OverflowError("Numerical result out of range") from inside the engine
    expected = F.mse_loss(
        torch.tensor([1e200], dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    )
    assert mse([Value(1e200)], [0.0]).data == expected.item() == math.inf
