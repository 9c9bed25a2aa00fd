"""`micrograd.tensor.save` / `load` against torch 2.13: files we write load in real PyTorch with
`weights_only=True`, torch's files load here, and hostile files fail in one line without running
anything or reading outside their data."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict

import pytest

np = pytest.importorskip("numpy", reason="the tensor engine needs numpy (the tensor extra)")
torch = pytest.importorskip(
    "torch", reason="needs torch==2.13.0 (the test extra): results are checked against PyTorch"
)
pytest.importorskip("hypothesis", reason="needs hypothesis (the test extra)")

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import micrograd.tensor as mt

COVERED = {"torch.save", "torch.load"}

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]

arrays = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
)


def same(ours, theirs) -> None:
    """A loaded structure equals the torch one: same containers, same tensors (bits, dtype,
    shape, requires_grad)."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mt.Tensor)
        a, b = np.asarray(ours.data), theirs.detach().numpy()
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
        assert bool(ours.requires_grad) == theirs.requires_grad
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
    else:
        assert ours == theirs and type(ours) is type(theirs)


def as_pair(array: np.ndarray, transpose: bool):
    ours, theirs = mt.from_numpy(array.copy()), torch.from_numpy(array.copy())
    if transpose and array.ndim == 2:  # a non-contiguous view
        ours, theirs = ours.t(), theirs.t()
    return ours, theirs


@settings(max_examples=40, deadline=None)
@given(items=st.lists(arrays, min_size=1, max_size=4), transpose=st.booleans())
def test_files_we_write_load_in_torch_and_torchs_load_here(tmp_path_factory, items, transpose):
    tmp = tmp_path_factory.mktemp("ckpt")
    pairs = [as_pair(a, transpose) for a in items]
    ours_obj = {
        "model": OrderedDict((f"t{i}", p[0]) for i, p in enumerate(pairs)),
        "iter_num": 7,
        "best_val_loss": 1.25,
        "config": {"name": "x", "dims": [1, 2]},
    }
    theirs_obj = {
        "model": OrderedDict((f"t{i}", p[1]) for i, p in enumerate(pairs)),
        "iter_num": 7,
        "best_val_loss": 1.25,
        "config": {"name": "x", "dims": [1, 2]},
    }
    mt.save(ours_obj, tmp / "ours.pt")
    same(mt.load(tmp / "ours.pt"), theirs_obj)  # our round trip
    loaded_by_torch = torch.load(tmp / "ours.pt", weights_only=True)
    for k, t in loaded_by_torch["model"].items():
        theirs = theirs_obj["model"][k]
        assert t.dtype == theirs.dtype and t.shape == theirs.shape
        assert t.numpy().tobytes() == theirs.contiguous().numpy().tobytes()
    torch.save(theirs_obj, tmp / "theirs.pt")
    same(mt.load(tmp / "theirs.pt"), theirs_obj)


def test_parameters_requires_grad_and_shared_storage_from_torch(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    obj = {
        "p": torch.nn.Parameter(torch.ones(2, 3)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
        "view": base[1:, ::2],  # saved as the whole storage with an offset and strides
        "base": base,
        "grad": torch.zeros(3, requires_grad=True),
    }
    torch.save(obj, tmp_path / "t.pt")
    same(mt.load(tmp_path / "t.pt"), obj)
    # and back: our parameters load in torch as parameters that require grad
    mt.save(mt.load(tmp_path / "t.pt"), tmp_path / "o.pt")
    back = torch.load(tmp_path / "o.pt", weights_only=True)
    assert back["p"].requires_grad and not back["frozen"].requires_grad
    assert back["view"].tolist() == obj["view"].tolist()


def test_optimizer_checkpoint_round_trip_as_nanogpt_saves_it(tmp_path):
    p = mt.randn(3, requires_grad=True)
    opt = mt.optim.AdamW([p], lr=0.1)
    p.grad = mt.ones(3)
    opt.step()
    ckpt = {"model": {"w": p}, "optimizer": opt.state_dict(), "model_args": {"n_layer": 2}}
    mt.save(ckpt, tmp_path / "ckpt.pt")
    theirs = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert theirs["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert theirs["optimizer"]["state"][0]["step"].item() == 1.0
    back = mt.load(tmp_path / "ckpt.pt")
    fresh = mt.optim.AdamW([p], lr=0.5)
    fresh.load_state_dict(back["optimizer"])
    assert fresh.param_groups[0]["lr"] == 0.1
    assert fresh.state[p]["exp_avg"].tolist() == opt.state[p]["exp_avg"].tolist()


class Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def crafted(tmp_path, payload: bytes, extra: dict | None = None) -> str:
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", payload)
        for name, data in (extra or {}).items():
            z.writestr(f"evil/{name}", data)
        z.writestr("evil/version", "3\n")
    return str(path)


def test_a_file_that_would_run_code_is_refused_without_running_it(tmp_path):
    path = crafted(tmp_path, pickle.dumps({"w": Evil()}, protocol=2))
    os.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load posix\.system"):
        mt.load(path)
    with pytest.raises(pickle.UnpicklingError, match="never code"):
        mt.load(path, weights_only=False)  # never runs code, whatever the flag says
    assert not (tmp_path / "PWNED").exists()


def storage_pickle(size, stride, offset, numel=4, key="0") -> bytes:
    """A pickle of one tensor as torch writes it, with chosen size/stride/offset."""

    class G:
        def __init__(self, m, n):
            self.m, self.n = m, n

    out = io.BytesIO()

    class P(pickle._Pickler):
        dispatch = pickle._Pickler.dispatch.copy()

        def persistent_id(self, obj):
            return (
                ("storage", G("torch", "FloatStorage"), key, "cpu", numel) if obj == "S" else None
            )

        def g(self, obj):
            self.write(pickle.GLOBAL + f"{obj.m}\n{obj.n}\n".encode())

        dispatch[G] = g

    class Call:
        def __reduce__(self):
            return (
                G("torch._utils", "_rebuild_tensor_v2"),
                ("S", offset, size, stride, False, OrderedDict()),
            )

    G.__call__ = lambda self, *a: None
    P(out, 2).dump({"w": Call()})
    return out.getvalue()


@pytest.mark.parametrize(
    "size, stride, offset, record, message",
    [
        ((4,), (1,), 0, b"\0" * 16, None),  # well-formed: loads
        ((5,), (1,), 0, b"\0" * 16, "reaches element 4 of a storage of 4"),
        ((2,), (3,), 1, b"\0" * 16, "reaches element 4 of a storage of 4"),
        ((2,), (1,), 0, b"\0" * 15, "holds 15 bytes, not the 16"),
        ((2,), (-1,), 0, b"\0" * 16, "negative size, stride or offset"),
        ((10**12, 10**12), (1, 1), 0, b"\0" * 16, "reaches element"),
    ],
)
def test_crafted_sizes_and_strides_fail_in_one_line(
    tmp_path, size, stride, offset, record, message
):
    path = crafted(tmp_path, storage_pickle(size, stride, offset), {"data/0": record})
    if message is None:
        assert mt.load(path)["w"].tolist() == [0.0] * 4
        assert torch.load(path, weights_only=True)["w"].tolist() == [0.0] * 4
        return
    with pytest.raises(pickle.UnpicklingError) as e:
        mt.load(path)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a zip at all", "is not a PyTorch zip checkpoint"),
        (b"", "is not a PyTorch zip checkpoint"),
    ],
)
def test_not_a_checkpoint(tmp_path, content, message):
    (tmp_path / "x.pt").write_bytes(content)
    with pytest.raises(pickle.UnpicklingError, match=message):
        mt.load(tmp_path / "x.pt")


def test_truncated_and_legacy_files(tmp_path):
    mt.save({"w": mt.ones(100)}, tmp_path / "ok.pt")
    data = (tmp_path / "ok.pt").read_bytes()
    for cut in (len(data) // 3, len(data) - 30):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        with pytest.raises(pickle.UnpicklingError) as e:
            mt.load(tmp_path / "cut.pt")
        assert "\n" not in str(e.value)
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(pickle.UnpicklingError, match="legacy format, which is not supported"):
        mt.load(tmp_path / "legacy.pt")


def test_cuda_storages_need_map_location(tmp_path):
    payload = storage_pickle((2,), (1,), 0, numel=2).replace(
        b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
    )
    path = crafted(tmp_path, payload, {"data/0": b"\0" * 8})
    with pytest.raises(RuntimeError, match="map_location=torch.device\\('cpu'\\)"):
        mt.load(path)
    assert mt.load(path, map_location="cpu")["w"].tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="this engine runs on the CPU"):
        mt.load(path, map_location="cuda")


def test_a_failed_save_leaves_no_file(tmp_path):
    target = tmp_path / "ckpt.pt"
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        mt.save({"w": mt.ones(2), "f": lambda: 0}, target)
    assert list(tmp_path.iterdir()) == []
    mt.save({"w": mt.ones(2)}, target)
    before = target.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        mt.save({"w": mt.zeros(2), "f": lambda: 0}, target)
    assert target.read_bytes() == before  # the old checkpoint is intact


def test_save_to_a_file_object_and_kill_during_save_leaves_the_old_file(tmp_path):
    buffer = io.BytesIO()
    mt.save({"w": mt.arange(3)}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["w"].tolist() == [0, 1, 2]
    # a process killed while it saves: the target holds the old checkpoint or the new, whole
    target = tmp_path / "big.pt"
    mt.save({"w": mt.zeros(3)}, target)
    code = (
        "import micrograd.tensor as mt, sys\n"
        "while True: mt.save({'w': mt.ones(300000)}, sys.argv[1])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=os.getcwd())
    try:
        import time

        time.sleep(1.5)
    finally:
        proc.kill()
        proc.wait()
    loaded = mt.load(target)["w"]
    assert loaded.shape in ((3,), (300000,))


def test_dtypes_in_a_checkpoint_are_torchs_and_half_tensors_are_refused(tmp_path):
    mt.save({"dtype": mt.float32, "kinds": [mt.int64, mt.bool]}, tmp_path / "d.pt")
    theirs = torch.load(tmp_path / "d.pt", weights_only=True)
    assert theirs == {"dtype": torch.float32, "kinds": [torch.int64, torch.bool]}
    torch.save({"dtype": torch.float64}, tmp_path / "t.pt")
    assert mt.load(tmp_path / "t.pt")["dtype"] is mt.float64
    for dtype, name in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16")):
        torch.save({"w": torch.ones(2, dtype=dtype)}, tmp_path / "h.pt")
        with pytest.raises(pickle.UnpicklingError, match=f"holds {name} tensors"):
            mt.load(tmp_path / "h.pt")
