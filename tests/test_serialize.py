"""Saving and loading models: exact round trips, atomic writes, clear errors on bad files."""

from __future__ import annotations

import json
import os
import random
import stat
import threading
from pathlib import Path

import pytest

from micrograd import serialize
from micrograd.nn import MLP
from micrograd.serialize import load_checkpoint, load_model, save_model


def trained_like_model(fused: bool = True, activation: str = "relu") -> MLP:
    """A model whose parameters are arbitrary floats (as after training), biases included."""
    random.seed(7)
    model = MLP(3, [5, 4, 2], fused=fused, activation=activation)
    for p in model.parameters():
        p.data = random.gauss(0, 1) / 3  # full-precision floats: repr must round-trip them
    return model


POINTS = [[0.1, -0.2, 0.3], [1.5, 2.5, -3.5], [-1e-3, 7.0, 0.25]]


def outputs(model, points=POINTS):
    return [[v.data for v in model(x)] for x in points]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_round_trip_gives_identical_parameters_and_predictions(tmp_path, fused, activation):
    model = trained_like_model(fused, activation)
    path = tmp_path / "model.json"
    save_model(model, path, metadata={"loss": "cross_entropy", "features": ["a", "b", "c"]})
    loaded, meta = load_checkpoint(path)
    assert type(loaded) is MLP
    assert loaded.config() == model.config()
    assert [(n, p.data) for n, p in loaded.named_parameters()] == [
        (n, p.data) for n, p in model.named_parameters()
    ]
    assert outputs(loaded) == outputs(model)  # bit for bit
    assert meta == {"loss": "cross_entropy", "features": ["a", "b", "c"]}
    assert repr(loaded) == repr(model)


def test_file_is_versioned_json_with_names_in_order(tmp_path):
    model = trained_like_model()
    path = tmp_path / "m.json"
    save_model(model, path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "micrograd-model"
    assert doc["version"] == 1
    assert doc["engine"] == "scalar"
    assert doc["architecture"]["nouts"] == [5, 4, 2]
    assert [e["name"] for e in doc["parameters"]] == [n for n, _ in model.named_parameters()]
    assert len(doc["parameters"]) == (3 + 1) * 5 + (5 + 1) * 4 + (4 + 1) * 2
    assert doc["metadata"] == {}


def test_load_model_returns_model_and_keeps_global_random_state(tmp_path):
    path = tmp_path / "m.json"
    save_model(trained_like_model(), path)
    random.seed(123)
    expected = random.random()
    random.seed(123)
    load_model(path)  # rebuilding the architecture draws weights; the state must be restored
    assert random.random() == expected


def test_untrained_model_with_integer_biases_round_trips(tmp_path):
    random.seed(0)
    model = MLP(2, [3, 1])
    save_model(model, tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert [p.data for p in loaded.parameters()] == [p.data for p in model.parameters()]


# -- atomic writes --------------------------------------------------------------------------


def folder_state(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_failure_in_the_middle_of_writing_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    save_model(trained_like_model(), path)
    before = folder_state(tmp_path)

    # Fail after half of the bytes reached the temporary file.
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(serialize.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    other = MLP(3, [2, 1])
    with pytest.raises(OSError, match="No space"):
        save_model(other, path)
    monkeypatch.undo()
    assert folder_state(tmp_path) == before  # old file intact, no temporary file left
    assert outputs(load_model(path)) == outputs(trained_like_model())


def test_failure_at_the_rename_leaves_no_file(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(serialize.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save_model(trained_like_model(), tmp_path / "model.json")
    assert os.listdir(tmp_path) == []


def test_a_write_error_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    # A full disk at the rename (issue 9 trial: `micrograd data ... --out` on a full tmpfs said
    # only "No space left on device").
    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialize.os, "replace", full)
    path = tmp_path / "model.json"
    with pytest.raises(OSError) as info:
        save_model(trained_like_model(), path)
    assert info.value.errno == 28
    assert info.value.strerror == f"cannot write {path}: No space left on device"
    assert ".tmp" not in str(info.value) and os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_a_pipe_or_device_is_written_in_place_not_replaced(tmp_path):
    # `--out /dev/null` run as root used to rename a regular file over the device node itself.
    # A FIFO stands in for a device here: it is not a regular file, and must stay a FIFO.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    serialize.check_writable_file(pipe)  # no probe file beside it, nothing that blocks
    serialize.atomic_write(pipe, b"abc")
    reader.join(10)
    assert got == [b"abc"]
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to("real.json")
    serialize.check_writable_file(link)
    save_model(trained_like_model(), link)
    assert link.is_symlink() and os.readlink(link) == "real.json"
    assert outputs(load_model(real)) == outputs(trained_like_model())
    assert sorted(os.listdir(tmp_path)) == ["link.json", "real.json"]


def test_a_link_into_a_missing_folder_is_refused_before_the_work(tmp_path):
    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "gone" / "out.csv")
    with pytest.raises(OSError) as info:
        serialize.check_writable_file(link)
    assert str(info.value) == (
        f"cannot write {link}: it is a symbolic link to {tmp_path / 'gone' / 'out.csv'}, whose "
        f"folder {tmp_path / 'gone'} does not exist"
    )
    assert link.is_symlink() and os.listdir(tmp_path) == ["out.csv"]


def test_non_finite_parameter_is_refused_before_writing(tmp_path):
    path = tmp_path / "model.json"
    save_model(trained_like_model(), path)
    before = folder_state(tmp_path)
    bad = trained_like_model()
    name, p = bad.named_parameters()[-1]  # the last one: serialization fails part-way through
    p.data = float("nan")
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        save_model(bad, path)
    assert folder_state(tmp_path) == before


def test_unjsonable_metadata_is_a_value_error_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        save_model(trained_like_model(), tmp_path / "m.json", metadata={"x": object()})
    assert os.listdir(tmp_path) == []


def test_save_refuses_non_models(tmp_path):
    with pytest.raises(TypeError, match="list"):
        save_model([1, 2], tmp_path / "m.json")


def test_written_file_has_normal_permissions(tmp_path):
    path = tmp_path / "m.json"
    save_model(trained_like_model(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


# -- bad files ------------------------------------------------------------------------------


def good_text(tmp_path) -> str:
    path = tmp_path / "good.json"
    save_model(trained_like_model(), path)
    return path.read_text()


def edited(tmp_path, edit) -> str:
    doc = json.loads(good_text(tmp_path))
    edit(doc)
    return json.dumps(doc)


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


def _param(i, key, value):
    return lambda d: d["parameters"][i].__setitem__(key, value)


BAD_FILES = {
    "empty": (lambda t: "", "empty"),
    "truncated": (lambda t: good_text(t)[: len(good_text(t)) // 2], "truncated"),
    "not json": (lambda t: "hello, world\n", "invalid JSON"),
    "other json": (lambda t: json.dumps({"weights": [1, 2]}), "not a micrograd model file"),
    "json list": (lambda t: "[1, 2, 3]", "not a micrograd model file"),
    "other version": (lambda t: edited(t, _set("version", 2)), "version 2"),
    "no architecture": (lambda t: edited(t, lambda d: d.pop("architecture")), "architecture"),
    "bad architecture": (
        lambda t: edited(t, lambda d: d["architecture"].__setitem__("nouts", "x")),
        "architecture",
    ),
    "unknown engine": (lambda t: edited(t, _set("engine", "gpu")), "engine"),
    "missing parameter": (lambda t: edited(t, lambda d: d["parameters"].pop()), "parameters"),
    "renamed parameter": (lambda t: edited(t, _param(3, "name", "zzz")), "zzz"),
    "string value": (lambda t: edited(t, _param(0, "data", "0.5")), "not a number"),
    "NaN value": (lambda t: good_text(t).replace('"data": ', '"data": NaN, "x": ', 1), "NaN"),
    "binary": (lambda t: "\xff\xfe\x00garbage", "micrograd model file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_gives_value_error_naming_file_and_problem(tmp_path, case):
    make, problem = BAD_FILES[case]
    content = make(tmp_path)
    path = tmp_path / "bad.json"
    if case == "binary":
        path.write_bytes(b"\xff\xfe\x00garbage")
    else:
        path.write_text(content)
    before = path.read_bytes()
    random.seed(5)
    state = random.getstate()
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    assert problem.lower() in message.lower()
    assert "\n" not in message
    assert path.read_bytes() == before
    assert random.getstate() == state


def test_missing_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ValueError, match="folder"):
        load_model(tmp_path)


def test_a_run_folder_instead_of_its_model_file_names_the_file(tmp_path):
    # issue 9 trial: `predict --model runs/latest` said only "is a folder, not a model file".
    save_model(trained_like_model(), tmp_path / "model.json")
    with pytest.raises(ValueError) as info:
        load_model(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: is a folder, not a model file; a training run's model is "
        f"{tmp_path / 'model.json'}"
    )


# -- crafted files: checked before anything is built ----------------------------------------


def crafted(tmp_path, edit=None, text=None):
    """A good model file edited as a parsed document (`edit`) or as text (`text(good_text)`)."""
    path = tmp_path / "crafted.json"
    good = good_text(tmp_path)
    if text is not None:
        path.write_text(text(good))
    else:
        doc = json.loads(good)
        edit(doc)
        path.write_text(json.dumps(doc))
    return path


def load_error(path) -> str:
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def _arch(key, value):
    return lambda d: d["architecture"].__setitem__(key, value)


HUGE_ARCHITECTURES = {
    "huge layers": (_arch("nouts", [10000, 10000, 1]), "has 100,060,001 parameters"),
    "huge nin": (_arch("nin", 10**12), "has 5,000,000,000,039 parameters"),
    "many layers": (_arch("nouts", [1] * 100_000), "has 200,002 parameters"),
    "huge int size": (_arch("nin", 10**300), "has more than 10^18 parameters"),
}


@pytest.mark.parametrize("case", sorted(HUGE_ARCHITECTURES))
def test_an_architecture_larger_than_the_file_is_refused_before_building(tmp_path, case):
    import tracemalloc

    edit, problem = HUGE_ARCHITECTURES[case]
    path = crafted(tmp_path, edit)
    tracemalloc.start()
    try:
        message = load_error(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem in message and "the file holds 54" in message
    # Bounded by the file (a few MB for the 100,000-layer list), not by the architecture.
    assert peak < 100 * 2**20


def test_a_wrong_size_in_the_architecture_is_named(tmp_path):
    for value, shown in [(0, "got 0"), (-3, "got -3"), (2.5, "got 2.5"), (True, "got True")]:
        message = load_error(crafted(tmp_path, _arch("nouts", [5, value, 2])))
        assert "'nouts[1]' must be a whole number >= 1" in message and shown in message
    message = load_error(crafted(tmp_path, _arch("type", "Transformer")))
    assert "unknown model type 'Transformer'" in message


def test_deeply_nested_json_is_refused_without_recursion_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert "nested more than 32 levels deep" in load_error(path)
    # Brackets inside strings do not count; a nested metadata value within the limit loads.
    nested = crafted(
        tmp_path, lambda d: d.__setitem__("metadata", {"note": "[[[[" * 100, "x": [[[1]]]})
    )
    assert load_checkpoint(nested)[1]["x"] == [[[1]]]


NON_FINITE = ["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "9" * 4000, "-" + "9" * 400]


@pytest.mark.parametrize("number", NON_FINITE, ids=lambda n: n[:12])
def test_a_number_that_is_not_a_finite_float64_is_refused_naming_the_parameter(tmp_path, number):
    def put(good):
        return good.replace('"data": ', f'"data": {number}, "x": ', 3)  # the third parameter

    message = load_error(crafted(tmp_path, text=put))
    name = trained_like_model().named_parameters()[0][0]
    assert f"parameter {name!r} holds {number[:12]}" in message
    assert "not a finite float64 number" in message


def test_non_finite_numbers_elsewhere_are_refused(tmp_path):
    message = load_error(crafted(tmp_path, text=lambda g: g.replace('"nin": 3', '"nin": 1e999')))
    assert "'nin' must be a whole number >= 1, got 1e999" in message
    message = load_error(
        crafted(tmp_path, text=lambda g: g.replace('"metadata": {}', '"metadata": {"a": [NaN]}'))
    )
    assert "metadata entry ['a'][0] is NaN" in message


def test_largest_float64_numbers_still_load(tmp_path):
    # The edge of the range: 1.7976931348623157e308 and a 300-digit integer are float64-sized.
    path = tmp_path / "m.json"
    model = trained_like_model()
    model.parameters()[0].data = 1.7976931348623157e308
    model.parameters()[1].data = 10**300
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.parameters()[0].data == 1.7976931348623157e308
    assert loaded.parameters()[1].data == 10**300


# -- crafted tensor files -------------------------------------------------------------------


def tensor_file(tmp_path, edit=None) -> Path:
    np = pytest.importorskip("numpy")
    from micrograd.tensor.nn import MLP as TensorMLP

    model = TensorMLP(2, [16, 3], rng=np.random.default_rng(0))
    path = tmp_path / "tensor.json"
    save_model(model, path)
    if edit:
        doc = json.loads(path.read_text())
        edit(doc)
        path.write_text(json.dumps(doc))
    return path


def _tparam(i, key, value):
    return lambda d: d["parameters"][i].__setitem__(key, value)


TENSOR_CASES = {
    "huge dtype": (_tparam(0, "dtype", "S2000000000"), "dtype 'S2000000000'; a model file holds"),
    "object dtype": (_tparam(0, "dtype", "O"), "dtype 'O'"),
    "huge layers": (
        _arch("nouts", [100000, 100000, 3]),
        "has 10,000,700,003 parameters but the file holds 99",
    ),
    "declared shape": (_tparam(0, "shape", [3, 16]), "declares shape [3, 16] but its data has"),
    "ragged rows": (
        lambda d: d["parameters"][0]["data"][1].pop(),
        "parameter 'layers.0.weight' has rows of different lengths",
    ),
    "transposed": (
        lambda d: d["parameters"][0].update(
            shape=[16, 2], data=[list(r) for r in zip(*d["parameters"][0]["data"])]
        ),
        "parameter 'layers.0.weight' has shape [16, 2], the architecture needs [2, 16]",
    ),
    "text value": (
        lambda d: d["parameters"][1]["data"].__setitem__(4, "0.5"),
        "parameter 'layers.0.bias' is '0.5', not a number",
    ),
    "too big for float32": (
        lambda d: (
            d["architecture"].update(dtype="float32"),
            d["parameters"][1].update(dtype="float32"),
            d["parameters"][1]["data"].__setitem__(0, 1e300),
        ),
        "has values beyond float32",
    ),
}


@pytest.mark.parametrize("case", sorted(TENSOR_CASES))
def test_crafted_tensor_files_give_one_clear_error(tmp_path, case):
    edit, problem = TENSOR_CASES[case]
    message = load_error(tensor_file(tmp_path, edit))
    assert problem in message


def test_loading_a_tensor_model_leaves_numpy_random_state_alone(tmp_path):
    np = pytest.importorskip("numpy")
    path = tensor_file(tmp_path)
    np.random.seed(3)
    expected = np.random.random()
    np.random.seed(3)
    load_model(path)
    assert np.random.random() == expected
