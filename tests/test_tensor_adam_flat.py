"""Adam and AdamW update a group of parameters laid end to end in flat arrays (a few numpy calls
per step instead of a dozen per parameter): the floats must be exactly those of the update one
parameter at a time (torch's single-tensor Adam, which the one-by-one path reproduces and
tests/test_torchdiff_optim.py checks against torch), through gradients that come and go, state
dicts saved and loaded mid-run, every option, and the flat arrays updated in pieces of any size;
and the state Tensors stay live views. (The numpy path: the compiled update, which takes over
when built, is checked against it in tests/test_optim_compiled.py.)"""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd.tensor.optim import _kernels, adam
from micrograd.tensor.optim.adam import Adam

SHAPES = st.lists(
    st.sampled_from([(), (1,), (3,), (2, 3), (4, 1, 2), (5, 4)]), min_size=1, max_size=6
)


@st.composite
def runs(draw):
    shapes = draw(SHAPES)
    dtype = draw(st.sampled_from(["float32", "float64"]))
    kind = draw(st.sampled_from(["Adam", "AdamW"]))
    options = {
        "lr": draw(st.sampled_from([1e-3, 0.1, 3e-4])),
        "betas": draw(st.sampled_from([(0.9, 0.999), (0.9, 0.99), (0.5, 0.6)])),
        "eps": draw(st.sampled_from([1e-8, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01, 0.5])),
        "maximize": draw(st.booleans()),
        "amsgrad": draw(st.booleans()),
    }
    steps = draw(st.integers(1, 4))
    # which parameters have a gradient at each step (one without makes step counts differ)
    present = [draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)))
               if draw(st.booleans()) else [True] * len(shapes) for _ in range(steps)]  # fmt: skip
    reload_at = draw(st.integers(-1, steps - 1))  # load a state_dict copy before this step
    seed = draw(st.integers(0, 2**16))
    piece = draw(st.sampled_from([1 << 16, 1, 5]))  # the update's pieces: whole, or cut anywhere
    return shapes, dtype, kind, options, present, reload_at, seed, piece


def train(run, flat: bool, monkeypatch):
    shapes, dtype, kind, options, present, reload_at, seed, piece = run
    rng = np.random.default_rng(seed)
    params = [mt.nn.Parameter(mt.tensor(rng.standard_normal(s).astype(dtype))) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in present]
    with monkeypatch.context() as patch:
        patch.setattr(adam, "_PIECE", piece)
        patch.setattr(_kernels, "compiled", None)
        if not flat:
            patch.setattr(Adam, "_step_flat", lambda self, index, group, params: False)
        opt = getattr(mt.optim, kind)(params, **options)
        for k, mask in enumerate(present):
            if k == reload_at:
                saved = opt.state_dict()
                copied = {
                    "state": {i: {n: t.clone() for n, t in s.items()} for i, s in saved["state"].items()},
                    "param_groups": saved["param_groups"],
                }  # fmt: skip
                opt = getattr(mt.optim, kind)(params, **options)
                opt.load_state_dict(copied)
            for p, g, has in zip(params, grads[k], mask):
                p.grad = mt.tensor(g.copy()) if has else None
            opt.step()
    return params, opt


def bits(a):
    a = np.asarray(a)
    return a.view(np.int64 if a.dtype == np.float64 else np.int32)


# each example patches inside its own `monkeypatch.context()`, undone before the next one
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(run=runs())
def test_the_flat_update_gives_the_floats_of_the_one_by_one_update(run, monkeypatch):
    flat_params, flat_opt = train(run, True, monkeypatch)
    ref_params, ref_opt = train(run, False, monkeypatch)
    for p, q in zip(flat_params, ref_params):
        assert p.data.dtype == q.data.dtype and p.data.shape == q.data.shape
        np.testing.assert_array_equal(bits(p.data), bits(q.data))
    ours, theirs = flat_opt.state_dict()["state"], ref_opt.state_dict()["state"]
    assert ours.keys() == theirs.keys()
    for i in ours:
        assert ours[i].keys() == theirs[i].keys()
        for name in ours[i]:
            a, b = ours[i][name].data, theirs[i][name].data
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_array_equal(bits(a), bits(b), err_msg=name)


def test_a_group_shares_one_flat_buffer_and_its_state_stays_live(monkeypatch):
    monkeypatch.setattr(_kernels, "compiled", None)
    rng = np.random.default_rng(0)
    params = [
        mt.nn.Parameter(mt.tensor(rng.standard_normal(s).astype("float32")))
        for s in [(3, 2), (4,), ()]
    ]
    opt = mt.optim.AdamW(params, lr=0.1)
    for _ in range(2):
        for p in params:
            p.grad = mt.ones_like(p)
        opt.step()
    moments = [opt.state[p]["exp_avg"].data for p in params]
    assert moments[0].base is not None and all(m.base is moments[0].base for m in moments)
    held = opt.state_dict()["state"][1]["exp_avg_sq"]  # a Tensor the user keeps
    before = held.data.copy()
    for p in params:
        p.grad = mt.ones_like(p)
    opt.step()
    assert not np.array_equal(held.data, before)  # updated in place, as torch's state is
    assert float(opt.state[params[2]]["step"].data) == 3.0
    steps = [opt.state[p]["step"] for p in params]
    assert len({id(s) for s in steps}) == 3  # one step Tensor per parameter, as torch keeps


def test_a_small_transformer_like_group_matches_torch_after_steps():
    # the flat path, against torch itself: AdamW with makemore.py's settings on a mix of shapes
    rng = np.random.default_rng(3)
    shapes = [(27, 16), (16, 48), (48,), (16, 16), (16,), (16,), (16,), (64, 16), (16, 27)]
    init = [rng.standard_normal(s).astype("float32") for s in shapes]
    grads = [[rng.standard_normal(s).astype("float32") for s in shapes] for _ in range(5)]
    ours = [mt.nn.Parameter(mt.tensor(a.copy())) for a in init]
    theirs = [torch.nn.Parameter(torch.tensor(a.copy())) for a in init]
    kwargs = {"lr": 5e-4, "weight_decay": 0.01, "betas": (0.9, 0.99), "eps": 1e-8}
    opt_ours, opt_theirs = mt.optim.AdamW(ours, **kwargs), torch.optim.AdamW(theirs, **kwargs)
    for step in grads:
        for p, q, g in zip(ours, theirs, step):
            p.grad, q.grad = mt.tensor(g.copy()), torch.tensor(g.copy())
        opt_ours.step()
        opt_theirs.step()
    for p, q in zip(ours, theirs):
        # the moments bit for bit; the parameters within torch's AVX-512 sqrt (see _kernels.py)
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=2e-6, atol=1e-9)
    for p, q in zip(ours, theirs):
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(
                bits(opt_ours.state[p][name].data), bits(opt_theirs.state[q][name].numpy())
            )
