"""nanoGPT's plumbing against torch 2.13 on a machine without CUDA: `torch.amp.autocast` /
`torch.autocast` / `torch.cuda.amp.autocast`, `torch.amp.GradScaler` and
`torch.cuda.amp.GradScaler` (disabled pass-through and the real CPU scaler), `torch.compile`'s
refusal, the `torch.cuda` calls a script makes before choosing a device, AdamW with nanoGPT's two
parameter groups (`fused=` both ways), and nanoGPT's checkpoint dict saved and loaded in both
directions with `map_location='cpu'`.

Warnings are compared by category and text; values bit for bit (the operations compared are
elementwise, or optimizer steps that are bit for bit on float32)."""

from __future__ import annotations

import inspect
import math
import warnings

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiff import assert_same_exception

import micrograd.tensor as mt

COVERED = {
    "torch.amp",
    "torch.autocast",
    "torch.cuda.amp",
    "torch.compile",
    "torch.cuda.synchronize",
    "torch.cuda.set_device",
    "torch.cuda.current_device",
    "torch.cuda.empty_cache",
}

SETTINGS = settings(max_examples=40, deadline=None)
DTYPES = {"float32": (mt.float32, torch.float32), "float64": (mt.float64, torch.float64),
          "float16": (mt.float16, torch.float16), "bfloat16": (mt.bfloat16, torch.bfloat16),
          None: (None, None)}  # fmt: skip


def caught(make):
    """(result or exception, [(category, text)] of the warnings) of calling make()."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            result = make()
        except Exception as error:  # noqa: BLE001 - compared by the caller
            result = error
    return result, [(w.category, str(w.message)) for w in seen]


def names_and_defaults(fn):
    """Parameter names, kinds and defaults, a dtype default written as its name (ours and
    torch's dtypes are different objects)."""
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = p.default
        if isinstance(default, (mt.dtype, torch.dtype)):
            default = str(default)
        out.append((p.name, p.kind, default))
    return out


# -- autocast ------------------------------------------------------------------------------------


def test_autocast_signatures_are_torchs():
    assert mt.autocast is mt.amp.autocast
    assert names_and_defaults(mt.amp.autocast) == names_and_defaults(torch.amp.autocast)
    assert names_and_defaults(mt.cuda.amp.autocast) == names_and_defaults(torch.cuda.amp.autocast)


@SETTINGS
@given(
    st.sampled_from(["cpu", "cuda"]),
    st.sampled_from(sorted(DTYPES, key=str)),
    st.booleans(),
    st.sampled_from([None, True, False]),
)
def test_autocast_warns_and_disables_itself_as_torch_does(device_type, dtype, enabled, cache):
    ours_dtype, torch_dtype = DTYPES[dtype]
    theirs, their_warnings = caught(
        lambda: torch.autocast(device_type, torch_dtype, enabled, cache)
    )
    ours, our_warnings = caught(lambda: mt.autocast(device_type, ours_dtype, enabled, cache))
    if device_type == "cpu" and enabled and dtype in (None, "float16", "bfloat16"):
        # torch really autocasts here (bfloat16 matmuls on the CPU); we refuse, naming why
        assert theirs._enabled
        assert isinstance(ours, NotImplementedError)
        assert "micrograd.tensor computes in float32 and float64 only" in str(ours)
        assert "enabled=False" in str(ours)
        return
    assert our_warnings == their_warnings
    assert ours._enabled is theirs._enabled is False
    assert str(ours.fast_dtype) == str(theirs.fast_dtype)
    # inside the region, nothing changes: float32 products stay float32 and bit for bit
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    with ours as entered_ours, theirs as entered_theirs:
        assert entered_ours is ours and entered_theirs is theirs
        got = (mt.from_numpy(a) * 3).exp()
        expected = (torch.from_numpy(a) * 3).exp()
    assert got.dtype == mt.float32 and expected.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_autocast_as_a_decorator_and_exceptions_pass_through():
    for lib in (mt, torch):
        calls = []

        @lib.autocast("cpu", enabled=False)
        def double(x, calls=calls):
            """Doubles."""
            calls.append(x)
            return 2 * x

        assert double(21) == 42 and calls == [21] and double.__name__ == "double"
        assert double.__doc__ == "Doubles."
        with pytest.raises(KeyError), lib.autocast("cpu", enabled=False):
            raise KeyError("inside")


def test_autocast_bad_device_types():
    assert_same_exception(lambda: mt.autocast(3), lambda: torch.autocast(3))
    with pytest.raises(RuntimeError, match="runs on the CPU only"):
        mt.autocast("mps")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'gpu'"):
        mt.autocast("gpu")


def test_cuda_amp_autocast_warns_twice_as_torch_does():
    ours, our_warnings = caught(lambda: mt.cuda.amp.autocast())
    theirs, their_warnings = caught(lambda: torch.cuda.amp.autocast())
    assert our_warnings == their_warnings and len(our_warnings) == 2
    assert ours._enabled is theirs._enabled is False


# -- GradScaler ----------------------------------------------------------------------------------


def test_grad_scaler_signatures_are_torchs():
    assert names_and_defaults(mt.amp.GradScaler) == names_and_defaults(torch.amp.GradScaler)
    assert names_and_defaults(mt.cuda.amp.GradScaler) == names_and_defaults(
        torch.cuda.amp.GradScaler
    )


def two_sgd_runs(lr=0.1, momentum=0.0):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    ours = mt.from_numpy(w.copy()).requires_grad_()
    theirs = torch.from_numpy(w.copy()).requires_grad_()
    return (
        (ours, mt.optim.SGD([ours], lr=lr, momentum=momentum)),
        (theirs, torch.optim.SGD([theirs], lr=lr, momentum=momentum)),
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.cuda.amp.GradScaler(enabled=True),  # what nanoGPT makes on a CPU
        lambda lib: lib.cuda.amp.GradScaler(enabled=False),
        lambda lib: lib.amp.GradScaler(enabled=True),
        lambda lib: lib.amp.GradScaler("cuda", init_scale=8.0, enabled=True),
        lambda lib: lib.amp.GradScaler("cpu", enabled=False),
    ],
)
def test_a_disabled_scaler_passes_everything_through_as_torchs(make):
    ours, our_warnings = caught(lambda: make(mt))
    theirs, their_warnings = caught(lambda: make(torch))
    assert our_warnings == their_warnings
    assert ours.is_enabled() is theirs.is_enabled() is False
    assert ours.state_dict() == theirs.state_dict() == {}
    assert ours.get_scale() == theirs.get_scale() == 1.0
    (p, opt), (tp, topt) = two_sgd_runs()
    for step in range(3):
        x = np.full((4,), step + 0.5, np.float32)
        loss = (p @ mt.from_numpy(x)).sum()
        tloss = (tp @ torch.from_numpy(x)).sum()
        assert ours.scale(loss) is loss and theirs.scale(tloss) is tloss
        pair = [loss, loss]
        assert ours.scale(pair) is pair
        ours.scale(loss).backward()
        theirs.scale(tloss).backward()
        assert ours.unscale_(opt) is None and theirs.unscale_(topt) is None
        assert ours.step(opt) is None and theirs.step(topt) is None
        ours.update(), theirs.update()
        ours.update(1024.0), theirs.update(1024.0)
        opt.zero_grad(), topt.zero_grad()
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
    ours.load_state_dict({"anything": 1})
    theirs.load_state_dict({"anything": 1})
    assert ours.state_dict() == theirs.state_dict() == {}


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from([1e-3, 1.0, 1e3]), st.sampled_from([None, "inf", "nan"])),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([2.0**16, 3.0, 1e38]),
)
def test_the_cpu_scaler_scales_skips_and_updates_as_torchs(steps, interval, unscale, init):
    """`torch.amp.GradScaler("cpu")` is a real scaler in torch: the same scaled losses,
    unscaled gradients, skipped steps, scales and growth trackers, step by step."""
    ours = mt.amp.GradScaler("cpu", init_scale=init, growth_interval=interval)
    theirs = torch.amp.GradScaler("cpu", init_scale=init, growth_interval=interval)
    assert ours.is_enabled() and theirs.is_enabled()
    assert ours.state_dict() == theirs.state_dict()
    (p, opt), (tp, topt) = two_sgd_runs(momentum=0.9)
    rng = np.random.default_rng(1)
    for size, bad in steps:
        x = (rng.standard_normal(4) * size).astype(np.float32)
        if bad:
            x[rng.integers(4)] = np.inf if bad == "inf" else np.nan
        # an elementwise loss: gradients are bit for bit, whatever order sums take
        loss = ((p * mt.from_numpy(x)) ** 2).sum()
        tloss = ((tp * torch.from_numpy(x)) ** 2).sum()
        scaled, tscaled = ours.scale(loss), theirs.scale(tloss)
        assert scaled.dtype == mt.float32 and tscaled.dtype == torch.float32
        for big, small, scaler in ((scaled, loss, ours), (tscaled, tloss, theirs)):
            expected = np.float32(small.item()) * np.float32(scaler.get_scale())
            np.testing.assert_array_equal(np.float32(big.item()), expected)
        scaled.backward()
        tscaled.backward()
        if unscale:
            ours.unscale_(opt)
            theirs.unscale_(topt)
            np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
        assert (ours.step(opt) is None) and (theirs.step(topt) is None)
        ours.update()
        theirs.update()
        opt.zero_grad(), topt.zero_grad()
        np.testing.assert_array_equal(p.detach().numpy(), tp.detach().numpy())
        assert ours.state_dict() == theirs.state_dict()
        assert ours.get_scale() == theirs.get_scale()
    # a fresh scaler picks the state up
    again, tagain = mt.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
    again.load_state_dict(ours.state_dict())
    tagain.load_state_dict(theirs.state_dict())
    assert again.state_dict() == tagain.state_dict()


def test_the_cpu_scaler_refuses_misuse_as_torch_does():
    def misuse(lib, what):
        scaler = lib.amp.GradScaler("cpu")
        (p, opt), (tp, topt) = two_sgd_runs()
        param, optimizer = (p, opt) if lib is mt else (tp, topt)
        if what == "update first":
            return scaler.update()
        if what == "step first":
            return scaler.step(optimizer)
        if what == "bad growth":
            return lib.amp.GradScaler("cpu", growth_factor=1.0)
        if what == "bad backoff":
            return lib.amp.GradScaler("cpu", backoff_factor=1.0)
        if what == "empty state":
            return scaler.load_state_dict({})
        scaler.scale(param.sum()).backward()
        if what == "closure":
            return scaler.step(optimizer, closure=lambda: None)
        if what == "unscale twice":
            scaler.unscale_(optimizer)
            return scaler.unscale_(optimizer)
        if what == "step twice":
            scaler.step(optimizer)
            return scaler.step(optimizer)
        if what == "unscale after step":
            scaler.step(optimizer)
            return scaler.unscale_(optimizer)
        if what == "update without step":
            return scaler.update()
        raise AssertionError(what)

    for what in ["update first", "step first", "bad growth", "bad backoff", "empty state",
                 "closure", "unscale twice", "step twice", "unscale after step",
                 "update without step"]:  # fmt: skip
        ours, _ = caught(lambda what=what: misuse(mt, what))
        theirs, _ = caught(lambda what=what: misuse(torch, what))
        assert isinstance(theirs, Exception), what
        assert isinstance(ours, type(theirs)), (what, ours, theirs)
        assert str(ours).split()[:3] == str(theirs).split()[:3], (what, ours, theirs)


def test_cuda_grad_scaler_is_torch_amp_grad_scaler_for_cuda():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(mt.cuda.amp.GradScaler(), mt.amp.GradScaler)
        assert isinstance(torch.cuda.amp.GradScaler(), torch.amp.GradScaler)
    with pytest.raises(RuntimeError, match="runs on the CPU only"):
        mt.amp.GradScaler("mps")


# -- torch.compile -------------------------------------------------------------------------------


def test_compile_is_refused_in_one_line_naming_the_switch():
    model = mt.nn.Linear(2, 2)
    with pytest.raises(RuntimeError) as refused:
        mt.compile(model)
    message = str(refused.value)
    assert "\n" not in message and "no compiler" in message and "--compile=False" in message
    with pytest.raises(RuntimeError):
        mt.compile(model, mode="reduce-overhead")


def test_compile_with_disable_returns_the_model_as_torch_does():
    assert names_and_defaults(mt.compile) == names_and_defaults(torch.compile)
    model, tmodel = mt.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert mt.compile(model, disable=True) is model
    assert torch.compile(tmodel, disable=True) is tmodel
    assert mt.compile(disable=True)(len) is len


# -- torch.cuda ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.cuda.synchronize(),
        lambda lib: lib.cuda.current_device(),
        lambda lib: lib.cuda.set_device(0),
        lambda lib: lib.cuda.set_device("cuda:0"),
    ],
)
def test_asking_for_a_gpu_fails_in_one_line(call):
    # torch built without CUDA raises AssertionError (or AttributeError for set_device); ours
    # is an AssertionError and a RuntimeError, with one line that says why
    theirs, _ = caught(lambda: call(torch))
    ours, _ = caught(lambda: call(mt))
    assert isinstance(theirs, (AssertionError, AttributeError))
    assert isinstance(ours, AssertionError) and isinstance(ours, RuntimeError)
    assert "\n" not in str(ours) and "runs on the CPU only" in str(ours)


def test_empty_cache_and_the_cuda_answers_nanogpt_reads():
    assert mt.cuda.empty_cache() is None and torch.cuda.empty_cache() is None
    for lib in (mt, torch):
        # nanoGPT: dtype = 'bfloat16' if cuda and bf16 else 'float16'
        dtype = (
            "bfloat16" if lib.cuda.is_available() and lib.cuda.is_bf16_supported() else "float16"
        )
        assert dtype == "float16"
        lib.backends.cuda.matmul.allow_tf32 = True
        lib.backends.cudnn.allow_tf32 = True
        assert lib.backends.cuda.matmul.allow_tf32 is True and lib.backends.cudnn.allow_tf32
    for name in inspect.signature(torch.cuda.synchronize).parameters:
        assert name in inspect.signature(mt.cuda.synchronize).parameters
    import micrograd.tensor.cuda.amp as cuda_amp

    assert cuda_amp is mt.cuda.amp


# -- AdamW as nanoGPT configures it --------------------------------------------------------------


def nanogpt_groups(lib, arrays, weight_decay):
    """nanoGPT's configure_optimizers: 2-D parameters decay, the others do not."""
    params = [lib.from_numpy(a.copy()).requires_grad_() for a in arrays]
    decay = [p for p in params if p.dim() >= 2]
    nodecay = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": nodecay, "weight_decay": 0.0},
    ]
    return params, groups


@SETTINGS
@given(
    st.sampled_from([0.0, 0.1]),
    st.sampled_from([False, True, None]),
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
)
def test_adamw_with_nanogpts_param_groups_matches_torch(weight_decay, fused, steps, seed):
    assert "fused" in inspect.signature(mt.optim.AdamW).parameters
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (3,), (7, 5), (5,), (40,)]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours, ogroups = nanogpt_groups(mt, arrays, weight_decay)
    theirs, tgroups = nanogpt_groups(torch, arrays, weight_decay)
    extra = {} if fused is None else {"fused": fused}
    opt = mt.optim.AdamW(ogroups, lr=1e-3, betas=(0.9, 0.99), **extra)
    topt = torch.optim.AdamW(tgroups, lr=1e-3, betas=(0.9, 0.99), **extra)
    for it in range(steps):
        lr = 1e-3 * (it + 1) / (steps + 1)  # nanoGPT sets lr through param_groups each step
        for group, tgroup in zip(opt.param_groups, topt.param_groups):
            group["lr"] = tgroup["lr"] = lr
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad, tp.grad = mt.from_numpy(g.copy()), torch.from_numpy(g.copy())
        before = [tp.detach().numpy().copy() for tp in theirs]
        opt.step()
        topt.step()
        for p, tp, start in zip(ours, theirs, before):
            got, expected = p.detach().numpy(), tp.detach().numpy()
            # torch's float32 sqrt on AVX-512 machines is within 1 ulp of numpy's correctly
            # rounded one (micrograd/tensor/optim/_kernels.py), and its fused CPU kernel orders
            # its float32 operations differently from its for-each path, which we follow
            ulps = 4 if fused else 1
            scale = np.maximum(np.maximum(abs(expected), abs(start)), abs(expected - start))
            assert np.all(abs(got - expected) <= ulps * np.spacing(scale)), (got, expected)
            if not fused:  # the state is bit for bit
                ours_m, theirs_m = opt.state[p]["exp_avg"], topt.state[tp]["exp_avg"]
                np.testing.assert_array_equal(ours_m.numpy(), theirs_m.numpy())
            p.data[...] = expected  # each step starts from torch's parameters
    ours_state, theirs_state = opt.state_dict(), topt.state_dict()
    assert ours_state["param_groups"] == theirs_state["param_groups"]
    assert sorted(ours_state["state"]) == sorted(theirs_state["state"])


# -- nanoGPT's checkpoint ------------------------------------------------------------------------


def nanogpt_checkpoint(lib, model, optimizer):
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "model_args": {"n_layer": 2, "n_head": 4, "n_embd": 32, "block_size": 16,
                       "bias": False, "vocab_size": 65, "dropout": 0.0},
        "iter_num": 250,
        "best_val_loss": lib.tensor(1.4697265625),  # losses['val']: a 0-d tensor
        "config": {"out_dir": "out", "eval_interval": 250, "always_save_checkpoint": False,
                   "learning_rate": 1e-3, "betas": (0.9, 0.99), "dataset": "shakespeare_char",
                   "device": "cpu", "compile": False, "init_from": "scratch"},
    }  # fmt: skip


def small_model(lib):
    lib.manual_seed(3)
    model = lib.nn.Sequential(lib.nn.Embedding(10, 4), lib.nn.Linear(4, 3))
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    x = lib.tensor([[1, 2], [3, 4]])
    model(x).sum().backward()
    opt.step()
    return model, opt


def test_nanogpt_checkpoint_both_ways_with_map_location(tmp_path):
    model, opt = small_model(mt)
    tmodel, topt = small_model(torch)
    for a, b in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    ours_file, torch_file = tmp_path / "ours.pt", tmp_path / "torch.pt"
    mt.save(nanogpt_checkpoint(mt, model, opt), ours_file)
    torch.save(nanogpt_checkpoint(torch, tmodel, topt), torch_file)

    for loaded in (
        torch.load(ours_file, map_location="cpu", weights_only=True),
        torch.load(torch_file, map_location="cpu"),
        mt.load(ours_file, map_location="cpu"),
        mt.load(torch_file, map_location="cpu"),
    ):
        assert loaded["iter_num"] == 250 and isinstance(loaded["iter_num"], int)
        best = loaded["best_val_loss"]
        assert best.dim() == 0 and best.item() == 1.4697265625 and "float32" in str(best.dtype)
        assert best < 1.5  # train.py compares losses['val'] < best_val_loss
        assert loaded["model_args"]["n_layer"] == 2 and loaded["model_args"]["bias"] is False
        assert loaded["config"]["betas"] == (0.9, 0.99) and loaded["config"]["compile"] is False
        assert list(loaded["model"]) == ["0.weight", "1.weight", "1.bias"]
        assert loaded["optimizer"]["state"][0]["step"].item() == 1.0
        groups = loaded["optimizer"]["param_groups"]
        assert groups[0]["params"] == [0, 1, 2] and groups[0]["lr"] == 1e-3
        assert math.isclose(groups[0]["weight_decay"], 0.01)

    # resume as train.py does: model args -> model, state dict, optimizer state
    for lib, path in ((mt, torch_file), (torch, ours_file), (mt, ours_file)):
        checkpoint = lib.load(path, map_location="cpu")
        resumed, ropt = small_model(lib)
        resumed.load_state_dict(checkpoint["model"])
        ropt.load_state_dict(checkpoint["optimizer"])
        for a, b in zip(resumed.parameters(), tmodel.parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert ropt.state_dict()["param_groups"] == topt.state_dict()["param_groups"]


# -- nanoGPT's get_batch -------------------------------------------------------------------------


def test_from_numpy_of_memmap_slices_as_nanogpts_get_batch(tmp_path):
    """train.py reads each batch from np.memmap(...uint16) slices cast to int64: a memmap
    subclass, which torch.from_numpy takes (sharing its memory)."""
    ids = np.arange(100, dtype=np.uint16) * 3
    ids.tofile(tmp_path / "train.bin")
    data = np.memmap(tmp_path / "train.bin", dtype=np.uint16, mode="r")
    for lib in (mt, torch):
        lib.manual_seed(1337)
    batches = []
    for lib in (mt, torch):
        starts = lib.randint(len(data) - 8, (4,))
        rows = [lib.from_numpy(data[i : i + 8].astype(np.int64)) for i in starts]
        batches.append(lib.stack(rows))
        np.arange(6, dtype=np.int64).tofile(tmp_path / "shared.bin")
        shared = np.memmap(tmp_path / "shared.bin", dtype=np.int64, mode="r+")
        for view in (lib.as_tensor(shared), lib.from_numpy(shared)):
            shared[0] = 7  # the tensor shares the file's memory
            assert int(view[0]) == 7 and view.dtype == lib.int64
            shared[0] = 0
    ours, theirs = batches
    assert ours.dtype == mt.int64 and theirs.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
