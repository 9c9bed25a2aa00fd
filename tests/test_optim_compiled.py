"""The compiled optimizer update (micrograd/tensor/optim/_coptim.c) against the numpy path and
against torch 2.13: the same bits as the numpy path (its AVX2 loop and its plain loop alike) on
generated parameters, gradients and hyper-parameters over several steps, with parameter groups,
learning rates changed between steps, parameters without a gradient in some steps (so their step
counts differ) and arrays it cannot work on in place; and the proof that it is used when built."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import given, settings
from hypothesis import strategies as st

import micrograd.tensor as mt
from micrograd.tensor.optim import _kernels as K

torch.set_num_threads(1)

BUILT = importlib.util.find_spec("micrograd.tensor.optim._coptim") is not None
PURE = os.environ.get("MICROGRAD_PURE", "") not in ("", "0")
COMPILED = K.compiled


@contextlib.contextmanager
def path(name: str):
    """Run the optimizers on one path: 'numpy', 'compiled' (its vector loop where the CPU has
    AVX2 and FMA) or 'plain' (the compiled one-element-at-a-time loop)."""
    saved = K.compiled
    K.compiled = None if name == "numpy" else COMPILED
    if name == "plain":
        COMPILED.set_vector_path(False)
    try:
        yield
    finally:
        K.compiled = saved
        if COMPILED is not None:
            COMPILED.set_vector_path(True)


PATHS = ["numpy", "compiled", "plain"] if COMPILED is not None else ["numpy"]

# sizes around the vector loop's 8 lanes (a remainder, exactly 8, one element, a 0-d scalar)
shapes = st.sampled_from([(), (1,), (7,), (8,), (9,), (17,), (4, 9), (2, 3, 5), (64,)])


def bits(array: np.ndarray) -> np.ndarray:
    return array.view(np.int32 if array.dtype == np.float32 else np.int64)


def run(lib, which, kwargs, groups, dtype, steps, seed, lrs):
    """`steps` updates of `which` on fresh parameters; returns the parameters' and the state's
    arrays after every step. groups: per group, its shapes and its own lr factor (or None)."""
    rng = np.random.default_rng(seed)
    tensors, param_groups = [], []
    for shape_list, factor in groups:
        ps = [
            lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shape_list
        ]
        tensors += ps
        param_groups.append({"params": ps} if factor is None else {"params": ps, "lr": factor})
    opt = getattr(lib.optim, which)(param_groups, **kwargs)
    history = []
    for k in range(steps):
        for g, lr in zip(opt.param_groups, lrs[k]):
            g["lr"] = lr  # a schedule sets each group's lr between steps
        for p in tensors:
            # scales from zero through underflowing squares to large; sometimes no gradient
            scale = rng.choice([0.0, 1e-30, 1e-3, 1.0, 30.0])
            g = (rng.standard_normal(tuple(p.shape)) * scale).astype(dtype)
            p.grad = None if rng.random() < 0.15 else lib.tensor(g)
        opt.step()
        record = [np.array(p.detach().numpy() if lib is torch else p.data) for p in tensors]
        for p in tensors:
            for key, value in sorted(opt.state[p].items()):
                record.append(np.array(value.detach().numpy() if lib is torch else value.data))
        history.append(record)
    return history


common = {
    "dtype": st.sampled_from([np.float32, np.float64]),
    "groups": st.lists(
        st.tuples(st.lists(shapes, min_size=1, max_size=3), st.sampled_from([None, 0.5])),
        min_size=1,
        max_size=2,
    ),
    "lr_list": st.lists(st.sampled_from([1e-3, 3e-4, 0.1, 1.0]), min_size=4, max_size=4),
    "seed": st.integers(0, 2**32 - 1),
}


def lrs_for(groups, lr_list):
    return [[lr * (i + 1) for i in range(len(groups))] for lr in lr_list]


def check_paths_agree(which, kwargs, groups, dtype, lrs, seed):
    results = {}
    for name in PATHS:
        with path(name):
            results[name] = run(mt, which, kwargs, groups, dtype, len(lrs), seed, lrs)
    reference = results["numpy"]
    for name, history in results.items():
        for k, (ours, theirs) in enumerate(zip(history, reference)):
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_array_equal(bits(a), bits(b), err_msg=f"{name}, step {k + 1}")
    return reference


adam_kwargs = st.fixed_dictionaries(
    {
        "betas": st.tuples(st.sampled_from([0.0, 0.3, 0.5, 0.9]), st.sampled_from([0.9, 0.999])),
        "eps": st.sampled_from([1e-8, 1e-6]),
        "weight_decay": st.sampled_from([0.0, 0.01, 1.0]),
        "amsgrad": st.booleans(),
        "maximize": st.booleans(),
    }
)


@settings(max_examples=40, deadline=None)
@given(which=st.sampled_from(["Adam", "AdamW"]), kwargs=adam_kwargs, **common)
def test_adam_paths_give_the_same_bits_and_torchs_state(
    which, kwargs, dtype, groups, lr_list, seed
):
    lrs = lrs_for(groups, lr_list)
    ours = check_paths_agree(which, kwargs, groups, dtype, lrs, seed)
    theirs = run(torch, which, kwargs, groups, dtype, len(lrs), seed, lrs)
    n = sum(len(shape_list) for shape_list, _ in groups)
    for k, (a_step, b_step) in enumerate(zip(ours, theirs)):
        assert len(a_step) == len(b_step)
        for i, (a, b) in enumerate(zip(a_step, b_step)):
            if i < n:  # parameters: torch's float32 sqrt is sometimes a last bit off, and the
                # steps carry that into the moments; a bound relative to the largest element
                # (an update that cancels most of a parameter keeps the step's absolute error)
                scale = float(np.max(abs(b), initial=1.0))
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6 * scale, err_msg=f"{k + 1}")
            elif k == 0:  # the first step's state (moments from the same gradients) is exact;
                # but with beta1 = 0 (lerp's weight 1) torch gives a zero moment either sign,
                # depending on where the element falls in its vector loop (see _kernels.py)
                b = b.astype(a.dtype)
                np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(bits(a)[a != 0], bits(b)[a != 0])


@settings(max_examples=40, deadline=None)
@given(
    kwargs=st.fixed_dictionaries(
        {
            "momentum": st.sampled_from([0.0, 0.5, 0.9]),
            "dampening": st.sampled_from([0.0, 0.1]),
            "nesterov": st.booleans(),
            "weight_decay": st.sampled_from([0.0, 1e-4, 1.0]),
            "maximize": st.booleans(),
        }
    ),
    **common,
)
def test_sgd_paths_give_the_same_bits_as_each_other_and_torch(kwargs, dtype, groups, lr_list, seed):
    if kwargs["nesterov"] and (kwargs["momentum"] == 0 or kwargs["dampening"] != 0):
        kwargs = {**kwargs, "nesterov": False}
    lrs = lrs_for(groups, lr_list)
    ours = check_paths_agree("SGD", kwargs, groups, dtype, lrs, seed)
    theirs = run(torch, "SGD", kwargs, groups, dtype, len(lrs), seed, lrs)
    for k, (a_step, b_step) in enumerate(zip(ours, theirs)):
        assert len(a_step) == len(b_step)
        for a, b in zip(a_step, b_step):  # SGD has no square root: every bit
            np.testing.assert_array_equal(bits(a), bits(b), err_msg=f"step {k + 1}")


@pytest.mark.parametrize("which", ["Adam", "AdamW", "SGD"])
def test_arrays_it_cannot_update_in_place_take_the_numpy_path(which):
    """A parameter whose array is a transposed view, one listed twice, and a momentum buffer
    or moment replaced by a float64 array: the numpy path runs (same results as torch's)."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((5, 4)).astype(np.float32)
    extra = {"momentum": 0.9} if which == "SGD" else {}
    ours = mt.from_numpy(base.copy().T).requires_grad_()  # Fortran-ordered: not C-contiguous
    theirs = torch.from_numpy(base.copy().T).requires_grad_()
    assert not ours.data.flags.c_contiguous
    opt_ours = getattr(mt.optim, which)([ours], lr=0.1, **extra)
    opt_theirs = getattr(torch.optim, which)([theirs], lr=0.1, **extra)
    calls = []
    for _ in range(3):
        g = rng.standard_normal((4, 5)).astype(np.float32)
        ours.grad, theirs.grad = mt.from_numpy(g.copy()), torch.from_numpy(g.copy())
        with spying(calls):
            opt_ours.step()
        opt_theirs.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6)
    assert calls == []  # never given to the compiled kernel
    # a state entry of another dtype: refused by the kernel, so the numpy path runs it
    p = mt.zeros(3, requires_grad=True)
    opt = getattr(mt.optim, which)([p], lr=0.1, **extra)
    p.grad = mt.ones(3)
    opt.step()
    key = "momentum_buffer" if which == "SGD" else "exp_avg"
    opt.state[p][key] = mt.from_numpy(opt.state[p][key].data.astype(np.float64))
    with spying(calls):
        opt.step()
    assert calls == []
    if which != "SGD":  # a step count that `+= 1` would not update in place (a float64 array)
        q = mt.zeros(3, requires_grad=True)
        opt = getattr(mt.optim, which)([q], lr=0.1)
        q.grad = mt.ones(3)
        opt.step()
        opt.state[q]["step"] = mt.from_numpy(np.array(1.0))
        with spying(calls):
            opt.step()
        assert calls == [] and float(opt.state[q]["step"].data) == 2.0


@contextlib.contextmanager
def spying(calls: list):
    """Record every call into the compiled kernel (when it is built)."""
    if K.compiled is None:
        yield
        return

    class Spy:
        def __getattr__(self, name):
            function = getattr(COMPILED, name)

            def record(*args):
                result = function(*args)  # (a call that refuses its arrays is not counted)
                calls.append(name)
                return result

            return record

    saved, K.compiled = K.compiled, Spy()
    try:
        yield
    finally:
        K.compiled = saved


def test_the_compiled_update_is_used_when_built():
    if os.environ.get("MICROGRAD_REQUIRE_COMPILED") == "1" and not PURE:  # CI builds it
        assert BUILT, "MICROGRAD_REQUIRE_COMPILED=1 but micrograd.tensor.optim._coptim is not built"
    if PURE or not BUILT:
        # not built (no compiler) or switched off: the numpy path, and nothing claims otherwise
        assert K.compiled is None
        return
    assert K.compiled is not None and K.compiled.__name__ == "micrograd.tensor.optim._coptim"
    calls = []
    for which, name in [("Adam", "adam_"), ("AdamW", "adam_"), ("SGD", "sgd_")]:
        p = mt.ones(10, requires_grad=True)
        opt = (
            getattr(mt.optim, which)([p, mt.ones(3, requires_grad=True)], lr=0.1, momentum=0.9)
            if which == "SGD"
            else getattr(mt.optim, which)([p], lr=0.1)
        )
        p.grad = mt.ones(10)
        with spying(calls):
            opt.step()
        assert calls[-1] == name


def test_micrograd_pure_switches_the_compiled_update_off():
    code = "from micrograd.tensor.optim import _kernels as K; print(K.compiled is None)"
    env = {**os.environ, "MICROGRAD_PURE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == "True", out.stderr


@pytest.mark.parametrize("which", ["Adam", "AdamW"])
def test_a_refused_group_is_left_untouched_for_the_numpy_path(which):
    """The kernel checks every array before it changes any: when the last parameter's state
    does not suit it, the first parameter is not updated twice (once by the kernel, once by
    the numpy path) -- the step equals the numpy path's alone."""
    results = []
    for name in PATHS[:2]:
        with path(name):
            rng = np.random.default_rng(7)
            ps = [mt.from_numpy(rng.standard_normal(s).astype(np.float32)) for s in [(9,), (4,)]]
            for p in ps:
                p.requires_grad_()
            opt = getattr(mt.optim, which)(ps, lr=0.1, weight_decay=0.1)
            for k in range(3):
                for p in ps:
                    p.grad = mt.from_numpy(rng.standard_normal(p.data.shape).astype(np.float32))
                if k == 1:  # the second parameter's moment becomes float64: unsuitable
                    state = opt.state[ps[1]]
                    state["exp_avg"] = mt.from_numpy(state["exp_avg"].data.astype(np.float64))
                opt.step()
            results.append([p.data.copy() for p in ps] + [opt.state[ps[0]]["step"].data.copy()])
    for a, b in zip(results[0], results[-1]):  # (one path only when the kernel is not built)
        np.testing.assert_array_equal(a, b)
    assert float(results[-1][-1]) == 3.0
