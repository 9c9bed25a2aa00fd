"""Tests for micrograd.optim: step for step against torch.optim (float64) on the same parameters
and the same loss, schedules against torch.optim.lr_scheduler and the demo's formula, numpy-array
parameters (the tensor engine's case), state handling and hyper-parameter validation."""

from __future__ import annotations

import pytest

from micrograd.engine import Value
from micrograd.optim import (
    OPTIMIZERS,
    SCHEDULES,
    SGD,
    Adam,
    AdamW,
    Constant,
    CosineDecay,
    LinearDecay,
    StepDecay,
    make_optimizer,
    make_schedule,
)

torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)

START = [0.5, -1.5, 2.0, 0.25, -0.75]
TARGET = [1.0, 0.0, -1.0, 3.0, 0.5]
SCALE = [1.0, 0.3, 2.0, 0.7, 5.0]


def _loss(ps):
    """A small non-quadratic loss, written once for both engines (Values or 0-d tensors)."""
    total = ps[0] * ps[1]
    for p, t, c in zip(ps, TARGET, SCALE):
        total = total + c * (p - t) ** 2 + 0.1 * (p * p) * (p * p)
    return total


def _run_both(make_ours, make_theirs, steps=10):
    ours = [Value(x) for x in START]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt, topt = make_ours(ours), make_theirs(theirs)
    for _ in range(steps):
        opt.zero_grad()
        _loss(ours).backward()
        opt.step()
        topt.zero_grad()
        _loss(theirs).backward()
        topt.step()
        assert [p.data for p in ours] == pytest.approx(
            [t.item() for t in theirs], rel=1e-12, abs=1e-14
        )
    # the run did move the parameters
    assert [p.data for p in ours] != START


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "dampening": 0.3},
        {"momentum": 0.8, "nesterov": True},
        {"weight_decay": 0.05},
        {"momentum": 0.5, "nesterov": True, "weight_decay": 0.01},
    ],
)
def test_sgd_matches_torch(kwargs):
    _run_both(
        lambda ps: SGD(ps, lr=0.01, **kwargs),
        lambda ps: torch.optim.SGD(ps, lr=0.01, **kwargs),
    )


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"betas": (0.8, 0.99), "eps": 1e-6}, {"weight_decay": 0.1}],
)
def test_adam_matches_torch(kwargs):
    _run_both(
        lambda ps: Adam(ps, lr=0.05, **kwargs),
        lambda ps: torch.optim.Adam(ps, lr=0.05, **kwargs),
    )


@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.3, "betas": (0.5, 0.9)}])
def test_adamw_matches_torch(kwargs):
    _run_both(
        lambda ps: AdamW(ps, lr=0.05, **kwargs),
        lambda ps: torch.optim.AdamW(ps, lr=0.05, **kwargs),
    )


def test_plain_sgd_is_the_demos_update_bit_for_bit():
    ps = [Value(x) for x in START]
    for p, g in zip(ps, [0.1, -0.3, 1e-3, 7.0, 0.0]):
        p.grad = g
    SGD(ps, lr=0.37).step()
    assert [p.data for p in ps] == [
        x - 0.37 * g for x, g in zip(START, [0.1, -0.3, 1e-3, 7.0, 0.0])
    ]


class ArrayParam:
    """A stand-in for a numpy Tensor parameter: only `.data` and `.grad`, both arrays."""

    def __init__(self, data):
        self.data = data
        self.grad = None


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("sgd", {"momentum": 0.9}),
        ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("adam", {}),
        ("adamw", {"weight_decay": 0.1}),
    ],
)
def test_optimizers_work_on_numpy_array_parameters(name, kwargs):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 4))
    target = rng.normal(size=(3, 4))
    ours = ArrayParam(w0.copy())
    frozen = ArrayParam(np.ones(2))  # grad stays None: skipped
    theirs = torch.tensor(w0, requires_grad=True)
    opt = make_optimizer(name, [ours, frozen], lr=0.05, **kwargs)
    topt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name](
        [theirs], lr=0.05, **kwargs
    )
    for _ in range(10):
        # an engine that zeroes and accumulates into the same array in place: the optimizer's
        # state must not alias it
        if ours.grad is None:
            ours.grad = np.zeros_like(ours.data)
        ours.grad.fill(0.0)
        d = ours.data - target
        ours.grad += 2 * d * np.abs(ours.data) + d * d * np.sign(ours.data)
        opt.step()
        topt.zero_grad()
        ((theirs - torch.tensor(target)) ** 2 * theirs.abs()).sum().backward()
        topt.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert ours.data.shape == (3, 4)
    assert np.array_equal(frozen.data, np.ones(2)) and frozen.grad is None
    opt.zero_grad()
    assert np.array_equal(ours.grad, np.zeros((3, 4)))
    opt.zero_grad(set_to_none=True)
    assert ours.grad is None


def test_zero_grad_resets_value_grads_to_zero():
    ps = [Value(1.0), Value(2.0)]
    ps[0].grad, ps[1].grad = 3.0, -1.0
    Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0, 0]


def test_linear_decay_is_the_demos_schedule_bit_for_bit():
    opt = SGD([Value(0.0)], lr=1.0)
    sched = LinearDecay(opt, total_steps=100, end_factor=0.1)
    for k in range(101):
        assert opt.lr == 1.0 - 0.9 * k / 100, k
        assert sched.lr_at(k) == 1.0 - 0.9 * k / 100
        sched.step()
    assert opt.lr == pytest.approx(0.1)  # flat after the end


def _torch_lrs(make_sched, steps, lr=0.5):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_sched(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def _our_lrs(make_sched, steps, lr=0.5):
    opt = SGD([Value(0.0)], lr=lr)
    sched = make_sched(opt)
    lrs = []
    for k in range(steps):
        lrs.append(opt.lr)
        assert sched.lr_at(k) == opt.lr
        sched.step()
    return lrs


@pytest.mark.parametrize(
    "ours,theirs,steps",
    [
        (
            lambda o: LinearDecay(o, 40, end_factor=0.25),
            lambda o: torch.optim.lr_scheduler.LinearLR(o, 1.0, 0.25, total_iters=40),
            60,
        ),
        (
            lambda o: StepDecay(o, step_size=7, gamma=0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
            50,
        ),
        (
            lambda o: CosineDecay(o, 30, min_lr=0.01),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.01),
            31,  # torch's cosine climbs back after T_max; ours stays at min_lr
        ),
        (
            lambda o: Constant(o),
            lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0, total_iters=1),
            10,
        ),
    ],
)
def test_schedules_match_torch(ours, theirs, steps):
    assert _our_lrs(ours, steps) == pytest.approx(_torch_lrs(theirs, steps), rel=1e-12, abs=1e-15)


def test_cosine_stays_at_min_after_the_end():
    opt = SGD([Value(0.0)], lr=0.5)
    sched = CosineDecay(opt, 10, min_lr=0.01)
    assert sched.lr_at(10) == sched.lr_at(50) == pytest.approx(0.01)


def test_registries_and_factories():
    assert OPTIMIZERS == {"sgd": SGD, "adam": Adam, "adamw": AdamW}
    assert set(SCHEDULES) == {"constant", "linear", "step", "cosine"}
    ps = [Value(1.0)]
    opt = make_optimizer("adamw", ps, lr=0.1, weight_decay=0.5)
    assert isinstance(opt, AdamW) and opt.lr == 0.1 and opt.weight_decay == 0.5
    sched = make_schedule("step", opt, 30)
    assert isinstance(sched, StepDecay) and sched.step_size == 10
    assert (
        make_schedule("linear", make_optimizer("sgd", ps, 1.0), 100).lr_at(99)
        == 1.0 - 0.9 * 99 / 100
    )
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'; choose one of \['adam'"):
        make_optimizer("rmsprop", ps, 0.1)
    with pytest.raises(ValueError, match="unknown schedule 'exp'"):
        make_schedule("exp", opt, 10)


def test_state_dict_round_trip_continues_identically():
    def run(resume):
        ps = [Value(x) for x in START]
        opt = Adam(ps, lr=0.05)
        for k in range(6):
            if resume and k == 3:
                saved = opt.state_dict()
                opt = Adam(ps, lr=0.9)
                opt.load_state_dict(saved)
            opt.zero_grad()
            _loss(ps).backward()
            opt.step()
        return [p.data for p in ps]

    assert run(False) == run(True)
    with pytest.raises(ValueError, match="this is the state of a Adam"):
        SGD([Value(1.0)], lr=0.1).load_state_dict(Adam([Value(1.0)]).state_dict())
    with pytest.raises(ValueError, match="must list 2 entries"):
        Adam([Value(1.0), Value(2.0)]).load_state_dict(Adam([Value(1.0)]).state_dict())


def test_optimizer_accepts_a_model():
    from micrograd.nn import MLP

    model = MLP(2, [3, 1])
    assert SGD(model, lr=0.1).params == model.parameters()


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda ps: SGD(ps, lr=-0.1), "SGD: lr must be a number >= 0, got -0.1"),
        (lambda ps: SGD(ps, lr=float("nan")), "lr must be a number"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-1), "momentum must be"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (
            lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            "dampening == 0",
        ),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1e-3), "weight_decay must be"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), r"betas\[0\] must be a number in \[0, 1\)"),
        (lambda ps: AdamW(ps, betas=(0.9, -0.1)), r"AdamW: betas\[1\]"),
        (lambda ps: Adam(ps, betas=0.9), "betas must be a pair"),
        (lambda ps: Adam(ps, eps=-1.0), "eps must be"),
        # eps=0 divided 0 by 0 (ZeroDivisionError) at the first zero gradient
        (lambda ps: Adam(ps, eps=0), "Adam: eps must be > 0, got 0"),
        (lambda ps: AdamW(ps, eps=0.0), "AdamW: eps must be > 0, got 0.0"),
        (lambda ps: SGD([], lr=0.1), "empty parameter list"),
        (lambda ps: SGD(ps + ps[:1], lr=0.1), "parameter 2 is the same object as parameter 0"),
        (lambda ps: LinearDecay(SGD(ps, lr=1.0), 0), "total_steps must be a positive int"),
        (lambda ps: StepDecay(SGD(ps, lr=1.0), 2.5), "step_size must be a positive int"),
        (lambda ps: CosineDecay(SGD(ps, lr=1.0), 10, min_lr=-1), "min_lr must be"),
    ],
)
def test_bad_hyper_parameters_raise_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make([Value(1.0), Value(2.0)])


def test_non_parameters_raise_type_error():
    with pytest.raises(TypeError, match="parameter 1 is a float, which has no .data/.grad"):
        SGD([Value(1.0), 2.0], lr=0.1)


def _state_with(opt, **changes):
    """`opt.state_dict()` with some entries replaced: `hyper__lr=...`, `state__m=...`, `top=...`."""
    state = opt.state_dict()
    for key, value in changes.items():
        if "__" in key:
            part, name = key.split("__")
            state[part][name] = value
        else:
            state[key] = value
    return state


@pytest.mark.parametrize(
    "make,changes,match",
    [
        (lambda ps: SGD(ps, lr=0.1), {"hyper__lr": "abc"}, "lr must be a number >= 0, got 'abc'"),
        (lambda ps: SGD(ps, lr=0.1), {"hyper__lr": -1.0}, "lr must be a number >= 0"),
        (
            lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
            {"hyper__momentum": 0.0},
            "nesterov=True needs momentum > 0",
        ),
        (lambda ps: Adam(ps), {"hyper__betas": [0.9, 2.0]}, r"betas\[1\] must be a number"),
        (lambda ps: SGD(ps, lr=0.1), {"steps": "x"}, "steps must be an int >= 0, got 'x'"),
        (lambda ps: SGD(ps, lr=0.1), {"steps": -1}, "steps must be an int >= 0"),
        (lambda ps: SGD(ps, lr=0.1), {"state": None}, "'state' must be a dict"),
        (lambda ps: SGD(ps, lr=0.1), {"hyper": None}, "'hyper' must be a dict"),
        (lambda ps: Adam(ps), {"state__m": ["a", 0.0]}, r"state 'm'\[0\] is 'a', not a number"),
        (lambda ps: Adam(ps), {"state__v": [0.0, None]}, r"state 'v'\[1\] is None"),
        (lambda ps: Adam(ps), {"state__t": [1, 0.5]}, r"state 't'\[1\] is 0.5, not a step count"),
    ],
)
def test_load_state_dict_checks_values_and_changes_nothing_on_error(make, changes, match):
    ps = [Value(1.0), Value(2.0)]
    opt = make(ps)
    for p in ps:
        p.grad = 0.5
    opt.step()
    before = opt.state_dict()
    bad = _state_with(make([Value(1.0), Value(2.0)]), **changes)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    assert opt.state_dict() == before


def test_load_state_dict_from_json_gives_a_working_optimizer():
    import json

    ps = [Value(1.0), Value(2.0)]
    opt = Adam(ps, lr=0.1, betas=(0.8, 0.9))
    for p in ps:
        p.grad = 0.5
    opt.step()
    restored = Adam([Value(1.0), Value(2.0)])
    restored.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    assert restored.betas == (0.8, 0.9) and restored.lr == 0.1 and restored.t == [1, 1]


def test_schedules_and_optimizers_name_bad_objects():
    with pytest.raises(TypeError, match="LinearDecay: expected an optimizer .* got NoneType"):
        LinearDecay(None, 10)
    with pytest.raises(TypeError, match="SGD: params must be an iterable of parameters or a model"):
        SGD(Value(1.0), lr=0.1)
    with pytest.raises(TypeError, match="Adam: params must be an iterable .* got NoneType"):
        Adam(None)


def test_factories_name_a_bad_name():
    with pytest.raises(ValueError, match=r"unknown optimizer \['sgd'\]"):
        make_optimizer(["sgd"], [Value(1.0)], 0.1)
    with pytest.raises(ValueError, match=r"unknown schedule \{\}"):
        make_schedule({}, SGD([Value(1.0)], 0.1), 10)
