"""`micrograd.tensor.optim` against `torch.optim` 2.13 on generated parameters, gradients and
hyper-parameters: the same floats after every step (bit for bit on float32, where torch's fused
multiply-adds are reproduced exactly; within 1 ulp on float64), the same state, the same
`state_dict()` layout, signatures and errors."""

from __future__ import annotations

import inspect

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt

COVERED = {
    "torch.optim",
    "optim.SGD",
    "optim.Adam",
    "optim.AdamW",
    "optim.Optimizer",
}

torch.set_num_threads(1)

shapes = st.sampled_from([(), (1,), (3,), (7,), (8,), (13,), (4, 9), (2, 3, 5)])


def pair(array: np.ndarray):
    ours = mt.from_numpy(array.copy()).requires_grad_()
    theirs = torch.from_numpy(array.copy()).requires_grad_()
    return ours, theirs


def assert_close_bits(ours: np.ndarray, theirs, dtype, ulps: int = 0, before=None) -> None:
    """Bit for bit, or within `ulps` units in the last place of the largest of the parameter
    before the step, after it, and the step (an update that cancels most of the parameter keeps
    the step's absolute error)."""
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ulps:
        before = theirs if before is None else before
        scale = np.maximum(np.maximum(abs(theirs), abs(before)), abs(theirs - before))
        assert np.all(abs(ours - theirs) <= ulps * np.spacing(2 * scale)), (ours, theirs)
    else:
        ints = np.int32 if dtype == np.float32 else np.int64
        np.testing.assert_array_equal(ours.view(ints), theirs.view(ints))


def run_both(make_ours, make_theirs, dtype, shape_list, steps, seed, ulps=0):
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.standard_normal(s), dtype=dtype) for s in shape_list]
    pairs = [pair(a) for a in arrays]
    ours_params = [p for p, _ in pairs]
    theirs_params = [t for _, t in pairs]
    ours, theirs = make_ours(ours_params), make_theirs(theirs_params)
    for _ in range(steps):
        for p, t in pairs:
            scale = rng.choice([1e-3, 1.0, 30.0])
            g = np.asarray(rng.standard_normal(p.data.shape) * scale, dtype=dtype)
            p.grad = mt.from_numpy(g.copy())
            t.grad = torch.from_numpy(g.copy())
        before = [t.detach().numpy().copy() for _, t in pairs]
        ours.step()
        theirs.step()
        for (p, t), b in zip(pairs, before):
            assert_close_bits(p.data, t, dtype, ulps, before=b)
            # the next step starts from torch's parameters: a last-bit difference in one step
            # (see ulps) must not be carried into the next
            p.data[...] = t.detach().numpy()
    return ours, theirs, pairs


dtypes = st.sampled_from([np.float32, np.float64])
lrs = st.sampled_from([1e-3, 3e-4, 0.1, 1.0])


@settings(max_examples=40, deadline=None)
@given(
    dtype=dtypes,
    shape_list=st.lists(shapes, min_size=1, max_size=3),
    lr=lrs,
    beta1=st.sampled_from([0.0, 0.5, 0.9]),
    beta2=st.sampled_from([0.95, 0.99, 0.999]),
    eps=st.sampled_from([1e-8, 1e-6]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.1]),
    amsgrad=st.booleans(),
    maximize=st.booleans(),
    which=st.sampled_from(["Adam", "AdamW"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_adam_and_adamw_match_torch_step_by_step(
    dtype, shape_list, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, which, seed
):
    kwargs = {
        "lr": lr,
        "betas": (beta1, beta2),
        "eps": eps,
        "weight_decay": weight_decay,
        "amsgrad": amsgrad,
        "maximize": maximize,
    }
    ours, theirs, pairs = run_both(
        lambda ps: getattr(mt.optim, which)(ps, **kwargs),
        lambda ps: getattr(torch.optim, which)(ps, **kwargs),
        dtype,
        shape_list,
        4,
        seed,
        ulps=2,  # torch's float32 sqrt on AVX-512 is within 1 ulp of the correctly rounded one
    )
    for p, t in pairs:
        for key, value in theirs.state[t].items():
            assert_close_bits(
                ours.state[p][key].data, value, np.float32 if key == "step" else dtype
            )


@settings(max_examples=40, deadline=None)
@given(
    dtype=dtypes,
    shape_list=st.lists(shapes, min_size=1, max_size=3),
    lr=lrs,
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.1]),
    nesterov=st.booleans(),
    weight_decay=st.sampled_from([0.0, 1e-4, 0.1]),
    maximize=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_sgd_matches_torch_step_by_step(
    dtype, shape_list, lr, momentum, dampening, nesterov, weight_decay, maximize, seed
):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False
    kwargs = {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "nesterov": nesterov,
        "weight_decay": weight_decay,
        "maximize": maximize,
    }
    ours, theirs, pairs = run_both(
        lambda ps: mt.optim.SGD(ps, **kwargs),
        lambda ps: torch.optim.SGD(ps, **kwargs),
        dtype,
        shape_list,
        4,
        seed,
    )
    for p, t in pairs:
        assert set(ours.state[p]) == set(theirs.state[t])


def plain(value):
    """A state_dict value compared across the engines: Tensors as (dtype name, list)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, (mt.Tensor, torch.Tensor)):
        return (
            str(value.dtype).replace("torch.", ""),
            np.asarray(
                value.detach().numpy() if isinstance(value, torch.Tensor) else value.data
            ).tolist(),
        )
    return value


@pytest.mark.parametrize("which", ["SGD", "Adam", "AdamW"])
def test_param_groups_state_dict_and_reload_match_torch(which):
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in [(3,), (2, 2), ()])
    pa, pb, pc = pair(a), pair(b), pair(c)
    extra = {"momentum": 0.9} if which == "SGD" else {}

    def make(lib, params):
        return getattr(lib.optim, which)(
            [{"params": params[:2]}, {"params": params[2:], "lr": 0.5}], lr=0.1, **extra
        )

    ours = make(mt, [pa[0], pb[0], pc[0]])
    theirs = make(torch, [pa[1], pb[1], pc[1]])
    for _ in range(2):
        for p, t in (pa, pb, pc):
            g = rng.standard_normal(p.data.shape).astype(np.float32)
            p.grad, t.grad = mt.from_numpy(g.copy()), torch.from_numpy(g.copy())
        ours.step()
        theirs.step()
    assert plain(ours.state_dict()) == plain(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    # a group's lr set by hand (nanoGPT's schedule) is used by the next step
    for g1, g2 in zip(ours.param_groups, theirs.param_groups):
        g1["lr"] = g2["lr"] = 0.01
    # torch's own state dict loads into ours, and the next steps still agree
    for p, t in (pa, pb, pc):  # Adam's last bit may differ (see above): start level
        p.data[...] = t.detach().numpy()
    fresh = make(mt, [pa[0], pb[0], pc[0]])
    fresh.load_state_dict(
        {
            "state": {
                k: {n: mt.from_numpy(v.detach().numpy().copy()) for n, v in s.items()}
                for k, s in theirs.state_dict()["state"].items()
            },
            "param_groups": theirs.state_dict()["param_groups"],
        }
    )
    for p, t in (pa, pb, pc):
        g = rng.standard_normal(p.data.shape).astype(np.float32)
        p.grad, t.grad = mt.from_numpy(g.copy()), torch.from_numpy(g.copy())
    before = [t.detach().numpy().copy() for _, t in (pa, pb, pc)]
    fresh.step()
    theirs.step()
    for (p, t), b in zip((pa, pb, pc), before):
        assert_close_bits(p.data, t, np.float32, 0 if which == "SGD" else 2, before=b)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_as_torch(set_to_none):
    p, t = pair(np.ones(3, np.float32))
    p.grad, t.grad = mt.ones(3), torch.ones(3)
    ours, theirs = mt.optim.SGD([p], lr=0.1), torch.optim.SGD([t], lr=0.1)
    ours.zero_grad(set_to_none=set_to_none)
    theirs.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert p.grad is None and t.grad is None
    else:
        assert p.grad.data.tolist() == t.grad.tolist() == [0.0, 0.0, 0.0]
    ours.zero_grad()  # torch's default is set_to_none=True
    assert p.grad is None


@pytest.mark.parametrize("which", ["SGD", "Adam", "AdamW"])
def test_signatures_are_torchs(which):
    """nanoGPT reads `inspect.signature(torch.optim.AdamW).parameters` to decide on `fused`."""
    ours = inspect.signature(getattr(mt.optim, which)).parameters
    theirs = inspect.signature(getattr(torch.optim, which)).parameters
    assert list(ours) == list(theirs)
    for name in theirs:
        assert ours[name].kind == theirs[name].kind, name
        assert ours[name].default == theirs[name].default, name


BAD = [
    ("SGD", {"lr": -1.0}, ValueError),
    ("SGD", {"lr": 0.1, "momentum": -0.5}, ValueError),
    ("SGD", {"lr": 0.1, "nesterov": True}, ValueError),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}, ValueError),
    ("Adam", {"lr": -1e-3}, ValueError),
    ("Adam", {"betas": (1.0, 0.999)}, ValueError),
    ("Adam", {"betas": (0.9, -0.1)}, ValueError),
    ("AdamW", {"eps": -1.0}, ValueError),
    ("AdamW", {"weight_decay": -0.1}, ValueError),
]


@pytest.mark.parametrize("which, kwargs, error", BAD)
def test_bad_hyper_parameters_raise_what_torch_raises(which, kwargs, error):
    with pytest.raises(error) as theirs:
        getattr(torch.optim, which)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(error) as ours:
        getattr(mt.optim, which)([mt.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_bad_params_raise_what_torch_raises():
    for lib in (torch, mt):
        with pytest.raises(ValueError, match="empty parameter list"):
            lib.optim.SGD([], lr=0.1)
        with pytest.raises(TypeError):
            lib.optim.SGD(lib.zeros(2, requires_grad=True), lr=0.1)
        with pytest.raises(TypeError, match="ordered collections"):
            lib.optim.SGD([{"params": {lib.zeros(2, requires_grad=True)}}], lr=0.1)
        p = lib.zeros(2, requires_grad=True)
        with pytest.raises(ValueError, match="more than one parameter group"):
            lib.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_unsupported_flags_are_refused_in_one_line():
    p = mt.zeros(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="capturable=True is not supported"):
        mt.optim.AdamW([p], capturable=True)
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        mt.optim.SGD([p], differentiable=True)
    mt.optim.AdamW([p], fused=True)  # nanoGPT passes fused=... : accepted
